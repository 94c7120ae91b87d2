/*
 * config.h - collector.json, the collector's one configuration file
 * (DESIGN 8).  Read strictly (common/conf.h); relative paths are taken
 * relative to the file's directory, so `init --dir DIR` makes a directory
 * that can be moved as a whole.
 */
#ifndef POSTURE_COLLECTOR_CONFIG_H
#define POSTURE_COLLECTOR_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define COLLECTOR_DEFAULT_AGENT_LISTEN "0.0.0.0:7443"
#define COLLECTOR_DEFAULT_API_LISTEN "127.0.0.1:8443"
#define COLLECTOR_DEFAULT_STORE "sqlite:posture.db"

struct collector_config {
	char *path;               /* the file read */
	char *collector_id;       /* name in HelloAck and logs; default: the host name */
	char agent_host[256];     /* "agent_listen": "HOST:PORT" */
	uint16_t agent_port;
	char api_host[256];       /* "api_listen" */
	uint16_t api_port;
	char *ca_cert, *ca_key;   /* "ca" (required), "ca_key" (NULL when absent: this
				     collector cannot issue certificates) */
	char *cert, *key;         /* the collector's own certificate and key (required) */
	char *evidence_key;       /* Ed25519 private key for evidence snapshots; NULL when absent */
	char *evidence_pub;       /* NULL when absent */
	char *store;              /* after load always "sqlite:PATH" (PATH resolved, or
				     ":memory:") or a "postgresql://" / "postgres://" URI
				     as written; the file may say "sqlite:PATH" or a bare path */
	int log_level;            /* enum log_level; "log_level": "info" */

	/* "limits": {...} */
	uint32_t handshake_timeout_ms; /* default 10000 */
	uint32_t idle_timeout_ms;      /* default 300000; no frame for this long closes */
	uint32_t max_frame_bytes;      /* default FRAME_DEFAULT_MAX */
	uint32_t max_hello_bytes;      /* before Hello is accepted; default 64 KiB */
	uint32_t max_connections;      /* default 10000 */
	uint32_t heartbeat_interval_s; /* told to agents in HelloAck; default 60 */

	/* "store_tuning": {...} */
	uint32_t batch_max_reports;    /* reports per commit; default 256 */
	uint32_t batch_delay_ms;       /* wait this long to fill a batch; default 5 */
	uint64_t queue_max_bytes;      /* decoded reports waiting for the store before
					  every connection pauses reading; default 64 MiB */
	uint32_t conn_max_pending;     /* reports of one connection waiting; default 16 */

	/* "api": {...} the HTTPS listener (http.h) */
	uint32_t api_max_header_bytes;     /* default 16384 */
	uint32_t api_max_body_bytes;       /* default 1 MiB */
	uint32_t api_request_timeout_ms;   /* default 10000 */
	uint32_t api_keepalive_timeout_ms; /* default 30000 */
	uint32_t api_max_connections;      /* default 256 */
	char **metrics_allow;              /* "metrics_allow": addresses that may read
					      /metrics without a token; NULL-terminated,
					      NULL when absent */

	/* "metrics": {...} */
	uint32_t stale_intervals;      /* a host is stale after this many scan intervals
					  without a report; default 3 */
	uint32_t default_interval_s;   /* for agents that do not say theirs; default 3600 */
	uint32_t stale_check_s;        /* how often the loop looks for stale hosts; 60 */

	/* "alerts": {...} */
	struct collector_webhook {
		char *url;             /* http:// or https:// */
		char *ca;              /* CA file for an https webhook; NULL: system CAs */
		uint32_t timeout_ms;   /* default 5000 */
	} *webhooks;
	size_t nwebhooks;
	uint32_t alert_max_attempts;   /* default 10, then given up (logged) */
	uint32_t alert_min_backoff_ms; /* default 1000, doubling per attempt */
	uint32_t alert_max_backoff_ms; /* default 300000 */
	uint32_t alert_poll_ms;        /* the delivery thread looks this often; default 1000 */

	/* "evidence": {...} */
	uint32_t evidence_schedule_s;  /* a fleet-wide snapshot this often; 0: never;
					  default 86400 */
	uint32_t evidence_max_bytes;   /* largest envelope; default 64 MiB, at most
					  EVSIG_MAX_BYTES */
};

/*
 * Load path into c (zeroed first).  On error c holds nothing to free.
 * Paths in c are absolute when path is (a relative path is made absolute
 * against the working directory first), so they stay valid after a chdir.
 */
int collector_config_load(const char *path, struct collector_config *c, struct pst_err *e);

/*
 * The same on a parsed document (conf_load / conf_load_buffer): name is the
 * file named in messages and the base of relative paths.  c is zeroed
 * first; on error it holds nothing to free.
 */
int collector_config_from_json(const char *name, const json_t *doc, struct collector_config *c,
			       struct pst_err *e);

void collector_config_cleanup(struct collector_config *c);

/*
 * Set every default (used by load, and by init before it writes the file):
 * the listen addresses above, log level info, the limits and tuning noted
 * in the struct; collector_id the host name (NULL if it could not be
 * copied), no paths (store stays NULL until a file is read).
 */
void collector_config_defaults(struct collector_config *c);

#endif
