/*
 * config.h - collector.json, the collector's one configuration file
 * (DESIGN 8).  Read strictly (common/conf.h); relative paths are taken
 * relative to the file's directory, so `init --dir DIR` makes a directory
 * that can be moved as a whole.
 */
#ifndef POSTURE_COLLECTOR_CONFIG_H
#define POSTURE_COLLECTOR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct collector_config {
	char *path;               /* the file read */
	char *collector_id;       /* name in HelloAck and logs; default: the host name */
	char agent_host[256];     /* "agent_listen": "HOST:PORT" */
	uint16_t agent_port;
	char api_host[256];       /* "api_listen" */
	uint16_t api_port;
	char *ca_cert, *ca_key;   /* "ca", "ca_key" */
	char *cert, *key;         /* the collector's own certificate and key */
	char *evidence_key;       /* Ed25519 private key for evidence snapshots */
	char *evidence_pub;
	char *store;              /* "sqlite:PATH" or a path (SQLite); later "postgresql://..." */
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
};

/* Load path into c (zeroed first).  On error c holds nothing to free. */
int collector_config_load(const char *path, struct collector_config *c, struct pst_err *e);

void collector_config_cleanup(struct collector_config *c);

/* Set every default (used by load, and by init before it writes the file). */
void collector_config_defaults(struct collector_config *c);

#endif
