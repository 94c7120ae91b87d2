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

int agent_config_load(const char *path, struct agent_config *c, struct pst_err *e);
void agent_config_cleanup(struct agent_config *c);
void agent_config_defaults(struct agent_config *c);

#endif
