/*
 * agentconf.c - agent.json (agentconf.h), read with common/conf.h so it is
 * as strict as the collector's file: unknown keys, wrong types and values
 * out of range are refused with the file and the key named.
 */
#include "agentconf.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"

static const char *const agent_keys[] = {
	"collector", "server_name", "ca", "cert", "key", "policies", "root",
	"interval_s", "splay_s", "spool_dir", "spool_max_bytes", "heartbeat_s",
	"connect_timeout_s", "ack_timeout_s", "backoff_min_ms", "backoff_max_ms",
	"log_level", NULL,
};

#define DEFAULT_SPOOL_DIR "/var/lib/posture/spool"

void agent_config_defaults(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->interval_s = 3600;
	c->splay_s = 300;
	c->spool_max_bytes = 64ull * 1024 * 1024;
	c->heartbeat_s = 60;
	c->connect_timeout_s = 10;
	c->ack_timeout_s = 60;
	c->backoff_min_ms = 1000;
	c->backoff_max_ms = 300000;
	c->log_level = LOG_LVL_INFO;
}

void agent_config_cleanup(struct agent_config *c)
{
	free(c->path);
	free(c->collector);
	free(c->server_name);
	free(c->ca);
	free(c->cert);
	free(c->key);
	conf_strv_free(c->policies);
	free(c->root);
	free(c->spool_dir);
	memset(c, 0, sizeof(*c));
}

/* Replace *p, a path as written, by the path resolved against the file's directory. */
static int resolve(const char *file, char **p, struct pst_err *e)
{
	char *r;

	if (*p == NULL)
		return 0;
	r = conf_path(file, *p);
	if (r == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	free(*p);
	*p = r;
	return 0;
}

static int get_u32(const char *file, const json_t *doc, const char *key, int64_t min,
		   int64_t max, uint32_t *out, struct pst_err *e)
{
	int64_t v = *out;
	int rc = conf_get_int(file, doc, key, false, min, max, &v, e);

	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

static int read_doc(const char *file, const json_t *doc, struct agent_config *c,
		    struct pst_err *e)
{
	char *level = NULL;
	int64_t v;
	size_t i;
	int rc;

	if ((rc = conf_check_keys(file, "", doc, agent_keys, e)) != 0 ||
	    (rc = conf_get_string(file, doc, "collector", true, &c->collector, e)) != 0 ||
	    (rc = conf_split_hostport(file, "collector", c->collector, c->collector_host,
				      sizeof(c->collector_host), &c->collector_port, e)) != 0 ||
	    (rc = conf_get_string(file, doc, "server_name", false, &c->server_name, e)) != 0 ||
	    (rc = conf_get_string(file, doc, "ca", true, &c->ca, e)) != 0 ||
	    (rc = conf_get_string(file, doc, "cert", true, &c->cert, e)) != 0 ||
	    (rc = conf_get_string(file, doc, "key", true, &c->key, e)) != 0 ||
	    (rc = conf_get_strv(file, doc, "policies", true, &c->policies, &c->npolicies, e)) != 0 ||
	    (rc = conf_get_string(file, doc, "root", false, &c->root, e)) != 0 ||
	    (rc = conf_get_string(file, doc, "spool_dir", false, &c->spool_dir, e)) != 0 ||
	    (rc = get_u32(file, doc, "interval_s", 1, 7 * 86400, &c->interval_s, e)) != 0 ||
	    (rc = get_u32(file, doc, "splay_s", 0, 86400, &c->splay_s, e)) != 0 ||
	    (rc = get_u32(file, doc, "heartbeat_s", 1, 3600, &c->heartbeat_s, e)) != 0 ||
	    (rc = get_u32(file, doc, "connect_timeout_s", 1, 600, &c->connect_timeout_s, e)) != 0 ||
	    (rc = get_u32(file, doc, "ack_timeout_s", 1, 86400, &c->ack_timeout_s, e)) != 0 ||
	    (rc = get_u32(file, doc, "backoff_min_ms", 10, 3600000, &c->backoff_min_ms, e)) != 0 ||
	    (rc = get_u32(file, doc, "backoff_max_ms", 10, 86400000, &c->backoff_max_ms, e)) != 0 ||
	    (rc = conf_get_string(file, doc, "log_level", false, &level, e)) != 0)
		goto out;
	v = (int64_t)c->spool_max_bytes;
	/* Smaller than one report is no spool at all. */
	rc = conf_get_int(file, doc, "spool_max_bytes", false, 64 * 1024,
			  INT64_C(1) << 40, &v, e);
	if (rc != 0)
		goto out;
	c->spool_max_bytes = (uint64_t)v;
	if (c->backoff_min_ms > c->backoff_max_ms) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "config %s: \"backoff_min_ms\" (%u) is larger than "
				 "\"backoff_max_ms\" (%u)",
				 file, c->backoff_min_ms, c->backoff_max_ms);
		goto out;
	}
	if (level != NULL) {
		c->log_level = log_level_parse(level);
		if (c->log_level < 0) {
			rc = pst_err_set(e, PST_E_INVAL,
					 "config %s: \"log_level\" is \"%s\" (one of: error, warn, "
					 "info, debug)",
					 file, level);
			goto out;
		}
	}
	if (c->server_name == NULL && (c->server_name = strdup(c->collector_host)) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	if (c->root == NULL && (c->root = strdup("/")) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	if (c->spool_dir == NULL && (c->spool_dir = strdup(DEFAULT_SPOOL_DIR)) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = resolve(file, &c->ca, e)) != 0 || (rc = resolve(file, &c->cert, e)) != 0 ||
	    (rc = resolve(file, &c->key, e)) != 0 || (rc = resolve(file, &c->root, e)) != 0 ||
	    (rc = resolve(file, &c->spool_dir, e)) != 0)
		goto out;
	for (i = 0; i < c->npolicies; i++)
		if ((rc = resolve(file, &c->policies[i], e)) != 0)
			goto out;
out:
	free(level);
	return rc;
}

/* Fill c from a parsed document (its reference is dropped); c holds nothing on error. */
static int load_doc(const char *path, json_t *doc, struct agent_config *c, struct pst_err *e)
{
	int rc;

	c->path = strdup(path);
	if (c->path == NULL)
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
	else
		rc = read_doc(path, doc, c, e);
	json_decref(doc);
	if (rc != 0)
		agent_config_cleanup(c);
	return rc;
}

int agent_config_load_buffer(const char *path, const char *buf, size_t len,
			     struct agent_config *c, struct pst_err *e)
{
	json_t *doc = NULL;
	int rc;

	agent_config_defaults(c);
	rc = conf_load_buffer(path, buf, len, &doc, e);
	return rc != 0 ? rc : load_doc(path, doc, c, e);
}

int agent_config_load(const char *path, struct agent_config *c, struct pst_err *e)
{
	json_t *doc = NULL;
	int rc;

	agent_config_defaults(c);
	rc = conf_load(path, &doc, e);
	return rc != 0 ? rc : load_doc(path, doc, c, e);
}
