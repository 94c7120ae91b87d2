/*
 * agentconf.h - agent.json, the agent daemon's configuration (DESIGN 8),
 * read strictly (common/conf.h).  Relative paths are taken relative to the
 * file's directory.
 */
#ifndef POSTURE_AGENTCONF_H
#define POSTURE_AGENTCONF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct agent_config {
	char *path;               /* the file read */
	char *collector;          /* "host:port" as written */
	char collector_host[256];
	uint16_t collector_port;
	char *server_name;        /* name the collector's certificate must carry; default collector_host */
	char *ca, *cert, *key;
	char **policies;          /* files or directories, NULL-terminated */
	size_t npolicies;
	char *root;               /* default "/" */
	uint32_t interval_s;      /* default 3600 */
	uint32_t splay_s;         /* default 300 */
	char *spool_dir;          /* default /var/lib/posture/spool */
	uint64_t spool_max_bytes; /* default 64 MiB */
	uint32_t heartbeat_s;     /* default 60 (the collector's HelloAck may lower it) */
	uint32_t connect_timeout_s; /* default 10 */
	uint32_t ack_timeout_s;   /* --once waits this long for the ack; default 60 */
	uint32_t backoff_min_ms;  /* default 1000 */
	uint32_t backoff_max_ms;  /* default 300000 */
	int log_level;            /* enum log_level */
};

/*
 * Load path into c (set to the defaults first).  Keys: collector,
 * server_name, ca, cert, key, policies, root, interval_s, splay_s,
 * spool_dir, spool_max_bytes, heartbeat_s, connect_timeout_s,
 * ack_timeout_s, backoff_min_ms, backoff_max_ms, log_level; collector, ca,
 * cert, key and policies are required.  On error c holds nothing to free
 * and e says which file and key, and what is accepted.
 */
int agent_config_load(const char *path, struct agent_config *c, struct pst_err *e);

/*
 * The same from buf[0..len); path names the file in messages and is the
 * base for relative paths.
 */
int agent_config_load_buffer(const char *path, const char *buf, size_t len,
			     struct agent_config *c, struct pst_err *e);

/* Free what load allocated; c is zeroed.  Accepts a zeroed c. */
void agent_config_cleanup(struct agent_config *c);

/* Zero c and set every default (no allocation). */
void agent_config_defaults(struct agent_config *c);

#endif
