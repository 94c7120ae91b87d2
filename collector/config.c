/*
 * config.c - reading collector.json (see config.h).
 *
 * The document is checked key by key with common/conf.h: unknown keys,
 * wrong types and values out of range are refused with the file and the key
 * named.  Ranges are those a working deployment can use; a few values are
 * also checked against each other (the Hello limit within the frame limit,
 * the idle timeout longer than the heartbeat interval, the store queue able
 * to hold one frame), because each alone would pass and the pair would
 * fail at run time in a way that is hard to trace back to the file.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "evsig.h"
#include "frame.h"
#include "log.h"
#include "pki.h"

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * 1024 * 1024)

static const char *const top_keys[] = {
	"collector_id", "agent_listen", "api_listen", "ca", "ca_key", "cert", "key",
	"evidence_key", "evidence_pub", "store", "log_level", "limits", "store_tuning", "api",
	"metrics", "alerts", "evidence", NULL,
};

static const char *const evidence_keys[] = { "schedule_s", "max_bytes", NULL };

static const char *const api_keys[] = {
	"max_header_bytes", "max_body_bytes", "request_timeout_ms", "keepalive_timeout_ms",
	"max_connections", "metrics_allow", NULL,
};

static const char *const metrics_keys[] = {
	"stale_intervals", "default_interval_s", "stale_check_s", NULL,
};

static const char *const alerts_keys[] = {
	"webhooks", "max_attempts", "min_backoff_ms", "max_backoff_ms", "poll_ms", NULL,
};

static const char *const webhook_keys[] = { "url", "ca", "timeout_ms", NULL };

static const char *const limit_keys[] = {
	"handshake_timeout_ms", "idle_timeout_ms", "max_frame_bytes", "max_hello_bytes",
	"max_connections", "heartbeat_interval_s", NULL,
};

static const char *const tuning_keys[] = {
	"batch_max_reports", "batch_delay_ms", "queue_max_bytes", "conn_max_pending", NULL,
};

void collector_config_defaults(struct collector_config *c)
{
	char host[256];

	memset(c, 0, sizeof(*c));
	if (gethostname(host, sizeof(host)) != 0 || !pki_name_valid(host))
		snprintf(host, sizeof(host), "collector");
	host[sizeof(host) - 1] = '\0';
	c->collector_id = strdup(host);
	/* The defaults are well formed, so splitting them cannot fail. */
	(void)conf_split_hostport("(default)", "agent_listen", COLLECTOR_DEFAULT_AGENT_LISTEN,
				  c->agent_host, sizeof(c->agent_host), &c->agent_port, NULL);
	(void)conf_split_hostport("(default)", "api_listen", COLLECTOR_DEFAULT_API_LISTEN,
				  c->api_host, sizeof(c->api_host), &c->api_port, NULL);
	c->log_level = LOG_LVL_INFO;
	c->handshake_timeout_ms = 10000;
	c->idle_timeout_ms = 300000;
	c->max_frame_bytes = FRAME_DEFAULT_MAX;
	c->max_hello_bytes = 64 * KIB;
	c->max_connections = 10000;
	c->heartbeat_interval_s = 60;
	c->batch_max_reports = 256;
	c->batch_delay_ms = 5;
	c->queue_max_bytes = 64 * MIB;
	c->conn_max_pending = 16;
	c->api_max_header_bytes = 16 * KIB;
	c->api_max_body_bytes = MIB;
	c->api_request_timeout_ms = 10000;
	c->api_keepalive_timeout_ms = 30000;
	c->api_max_connections = 256;
	c->stale_intervals = 3;
	c->default_interval_s = 3600;
	c->stale_check_s = 60;
	c->alert_max_attempts = 10;
	c->alert_min_backoff_ms = 1000;
	c->alert_max_backoff_ms = 300000;
	c->alert_poll_ms = 1000;
	c->evidence_schedule_s = 86400;
	c->evidence_max_bytes = 64 * MIB;
}

void collector_config_cleanup(struct collector_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->collector_id);
	free(c->ca_cert);
	free(c->ca_key);
	free(c->cert);
	free(c->key);
	free(c->evidence_key);
	free(c->evidence_pub);
	free(c->store);
	conf_strv_free(c->metrics_allow);
	for (size_t i = 0; i < c->nwebhooks; i++) {
		free(c->webhooks[i].url);
		free(c->webhooks[i].ca);
	}
	free(c->webhooks);
	memset(c, 0, sizeof(*c));
}

/* A path key: read it and resolve it against the config file's directory. */
static int get_path(const char *file, const char *base, const json_t *doc, const char *key,
		    bool required, char **out, struct pst_err *e)
{
	char *raw = NULL;
	int rc;

	rc = conf_get_string(file, doc, key, required, &raw, e);
	if (rc != 0 || raw == NULL)
		return rc;
	free(*out);
	*out = conf_path(base, raw);
	free(raw);
	return *out != NULL ? 0 : pst_err_set(e, PST_E_NOMEM, "out of memory");
}

static int get_u32(const char *file, const json_t *obj, const char *key, int64_t min,
		   int64_t max, uint32_t *out, struct pst_err *e)
{
	int64_t v = *out;
	int rc = conf_get_int(file, obj, key, false, min, max, &v, e);

	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

/* "sqlite:PATH", a bare path, or a PostgreSQL URI; see config.h. */
static int get_store(const char *file, const char *base, const json_t *doc, char **out,
		     struct pst_err *e)
{
	char *raw = NULL, *path = NULL;
	const char *p;
	int rc;

	rc = conf_get_string(file, doc, "store", false, &raw, e);
	if (rc != 0)
		return rc;
	if (raw == NULL && (raw = strdup(COLLECTOR_DEFAULT_STORE)) == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	if (strncmp(raw, "postgresql://", 13) == 0 || strncmp(raw, "postgres://", 11) == 0) {
		*out = raw;
		return 0;
	}
	p = strncmp(raw, "sqlite:", 7) == 0 ? raw + 7 : raw;
	if (*p == '\0' || strstr(raw, "://") != NULL) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "config %s: \"store\" is \"%s\"; expected \"sqlite:PATH\", a path, "
				 "or a postgresql:// URI",
				 file, raw);
		free(raw);
		return rc;
	}
	if (strcmp(p, ":memory:") == 0)
		path = strdup(p);
	else
		path = conf_path(base, p);
	free(raw);
	if (path == NULL || asprintf(out, "sqlite:%s", path) < 0) {
		*out = NULL;
		free(path);
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	free(path);
	return 0;
}

/* An optional nested object; *out NULL when absent. */
static int get_object(const char *file, const json_t *doc, const char *key, const json_t **out,
		      struct pst_err *e)
{
	const json_t *v = json_object_get(doc, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		return pst_err_set(e, PST_E_INVAL,
				   "config %s: \"%s\" must be an object of settings", file, key);
	*out = v;
	return 0;
}

static int read_limits(const char *file, const json_t *doc, struct collector_config *c,
		       struct pst_err *e)
{
	const json_t *o;
	char *where = NULL;
	bool hello_given;
	int rc;

	if ((rc = get_object(file, doc, "limits", &o, e)) != 0 || o == NULL)
		return rc;
	if ((rc = conf_check_keys(file, "limits", o, limit_keys, e)) != 0)
		return rc;
	/* The getters name the file; "FILE: limits" places the key in it. */
	if (asprintf(&where, "%s: limits", file) < 0)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	hello_given = json_object_get(o, "max_hello_bytes") != NULL;
	if ((rc = get_u32(where, o, "handshake_timeout_ms", 100, 600000,
			  &c->handshake_timeout_ms, e)) != 0 ||
	    (rc = get_u32(where, o, "idle_timeout_ms", 1000, 86400000, &c->idle_timeout_ms,
			  e)) != 0 ||
	    (rc = get_u32(where, o, "max_frame_bytes", KIB, 64 * MIB, &c->max_frame_bytes,
			  e)) != 0 ||
	    (rc = get_u32(where, o, "max_hello_bytes", 256, 64 * MIB, &c->max_hello_bytes,
			  e)) != 0 ||
	    (rc = get_u32(where, o, "max_connections", 1, 1000000, &c->max_connections, e)) != 0 ||
	    (rc = get_u32(where, o, "heartbeat_interval_s", 5, 86400, &c->heartbeat_interval_s,
			  e)) != 0)
		goto out;
	/* A smaller frame limit lowers the default Hello limit with it. */
	if (!hello_given && c->max_hello_bytes > c->max_frame_bytes)
		c->max_hello_bytes = c->max_frame_bytes;
	if (c->max_hello_bytes > c->max_frame_bytes) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "config %s: \"max_hello_bytes\" is %u; it must not exceed "
				 "\"max_frame_bytes\" (%u)",
				 where, c->max_hello_bytes, c->max_frame_bytes);
		goto out;
	}
out:
	free(where);
	return rc;
}

static int read_tuning(const char *file, const json_t *doc, struct collector_config *c,
		       struct pst_err *e)
{
	const json_t *o;
	char *where = NULL;
	int64_t q;
	int rc;

	if ((rc = get_object(file, doc, "store_tuning", &o, e)) != 0 || o == NULL)
		return rc;
	if ((rc = conf_check_keys(file, "store_tuning", o, tuning_keys, e)) != 0)
		return rc;
	if (asprintf(&where, "%s: store_tuning", file) < 0)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	q = (int64_t)c->queue_max_bytes;
	if ((rc = get_u32(where, o, "batch_max_reports", 1, 65536, &c->batch_max_reports, e)) !=
		    0 ||
	    (rc = get_u32(where, o, "batch_delay_ms", 0, 10000, &c->batch_delay_ms, e)) != 0 ||
	    (rc = conf_get_int(where, o, "queue_max_bytes", false, (int64_t)(64 * KIB),
			       (int64_t)(64 * GIB), &q, e)) != 0 ||
	    (rc = get_u32(where, o, "conn_max_pending", 1, 4096, &c->conn_max_pending, e)) != 0)
		goto out;
	c->queue_max_bytes = (uint64_t)q;
out:
	free(where);
	return rc;
}

static int read_api(const char *file, const json_t *doc, struct collector_config *c,
		    struct pst_err *e)
{
	const json_t *o;
	char *where = NULL;
	size_t n = 0;
	int rc;

	if ((rc = get_object(file, doc, "api", &o, e)) != 0 || o == NULL)
		return rc;
	if ((rc = conf_check_keys(file, "api", o, api_keys, e)) != 0)
		return rc;
	if (asprintf(&where, "%s: api", file) < 0)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	if ((rc = get_u32(where, o, "max_header_bytes", 1024, MIB, &c->api_max_header_bytes,
			  e)) != 0 ||
	    (rc = get_u32(where, o, "max_body_bytes", 1024, 64 * MIB, &c->api_max_body_bytes,
			  e)) != 0 ||
	    (rc = get_u32(where, o, "request_timeout_ms", 100, 600000, &c->api_request_timeout_ms,
			  e)) != 0 ||
	    (rc = get_u32(where, o, "keepalive_timeout_ms", 100, 3600000,
			  &c->api_keepalive_timeout_ms, e)) != 0 ||
	    (rc = get_u32(where, o, "max_connections", 1, 100000, &c->api_max_connections,
			  e)) != 0 ||
	    (rc = conf_get_strv(where, o, "metrics_allow", false, &c->metrics_allow, &n, e)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		unsigned char buf[16];

		if (inet_pton(AF_INET, c->metrics_allow[i], buf) != 1 &&
		    inet_pton(AF_INET6, c->metrics_allow[i], buf) != 1) {
			rc = pst_err_set(e, PST_E_INVAL,
					 "config %s: \"metrics_allow\" holds \"%s\", which is not "
					 "an IPv4 or IPv6 address; list the scrapers' addresses",
					 where, c->metrics_allow[i]);
			goto out;
		}
	}
out:
	free(where);
	return rc;
}

static int read_metrics(const char *file, const json_t *doc, struct collector_config *c,
			struct pst_err *e)
{
	const json_t *o;
	char *where = NULL;
	int rc;

	if ((rc = get_object(file, doc, "metrics", &o, e)) != 0 || o == NULL)
		return rc;
	if ((rc = conf_check_keys(file, "metrics", o, metrics_keys, e)) != 0)
		return rc;
	if (asprintf(&where, "%s: metrics", file) < 0)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	if ((rc = get_u32(where, o, "stale_intervals", 1, 1000, &c->stale_intervals, e)) == 0 &&
	    (rc = get_u32(where, o, "default_interval_s", 1, 7 * 86400, &c->default_interval_s,
			  e)) == 0)
		rc = get_u32(where, o, "stale_check_s", 1, 86400, &c->stale_check_s, e);
	free(where);
	return rc;
}

static int read_webhook(const char *where, const char *base, const json_t *w, size_t i,
			struct collector_webhook *out, struct pst_err *e)
{
	char *at = NULL;
	int rc;

	if (asprintf(&at, "%s: webhooks[%zu]", where, i) < 0)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	out->timeout_ms = 5000;
	if (!json_is_object(w)) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "config %s: a webhook is an object {\"url\": ..., \"ca\": ..., "
				 "\"timeout_ms\": ...}", at);
		goto out;
	}
	if ((rc = conf_check_keys(at, "", w, webhook_keys, e)) != 0 ||
	    (rc = conf_get_string(at, w, "url", true, &out->url, e)) != 0 ||
	    (rc = get_path(at, base, w, "ca", false, &out->ca, e)) != 0 ||
	    (rc = get_u32(at, w, "timeout_ms", 100, 120000, &out->timeout_ms, e)) != 0)
		goto out;
	if (strncmp(out->url, "http://", 7) != 0 && strncmp(out->url, "https://", 8) != 0)
		rc = pst_err_set(e, PST_E_INVAL,
				 "config %s: \"url\" must start with http:// or https://", at);
out:
	free(at);
	return rc;
}

static int read_alerts(const char *file, const char *base, const json_t *doc,
		       struct collector_config *c, struct pst_err *e)
{
	const json_t *o, *hooks;
	char *where = NULL;
	int rc;

	if ((rc = get_object(file, doc, "alerts", &o, e)) != 0 || o == NULL)
		return rc;
	if ((rc = conf_check_keys(file, "alerts", o, alerts_keys, e)) != 0)
		return rc;
	if (asprintf(&where, "%s: alerts", file) < 0)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	if ((rc = get_u32(where, o, "max_attempts", 1, 1000, &c->alert_max_attempts, e)) != 0 ||
	    (rc = get_u32(where, o, "min_backoff_ms", 10, 3600000, &c->alert_min_backoff_ms,
			  e)) != 0 ||
	    (rc = get_u32(where, o, "max_backoff_ms", 10, 86400000, &c->alert_max_backoff_ms,
			  e)) != 0 ||
	    (rc = get_u32(where, o, "poll_ms", 10, 60000, &c->alert_poll_ms, e)) != 0)
		goto out;
	if (c->alert_max_backoff_ms < c->alert_min_backoff_ms) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "config %s: \"max_backoff_ms\" (%u) is below \"min_backoff_ms\" (%u)",
				 where, c->alert_max_backoff_ms, c->alert_min_backoff_ms);
		goto out;
	}
	hooks = json_object_get(o, "webhooks");
	if (hooks != NULL && (!json_is_array(hooks) || json_array_size(hooks) > 32)) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "config %s: \"webhooks\" must be an array of at most 32 webhooks",
				 where);
		goto out;
	}
	if (hooks != NULL && json_array_size(hooks) > 0) {
		c->webhooks = calloc(json_array_size(hooks), sizeof(*c->webhooks));
		if (c->webhooks == NULL) {
			rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < json_array_size(hooks); i++) {
			c->nwebhooks = i + 1;
			rc = read_webhook(where, base, json_array_get(hooks, i), i, &c->webhooks[i], e);
			if (rc != 0)
				goto out;
		}
	}
out:
	free(where);
	return rc;
}

static int read_evidence(const char *file, const json_t *doc, struct collector_config *c,
			 struct pst_err *e)
{
	const json_t *o;
	char *where = NULL;
	int rc;

	if ((rc = get_object(file, doc, "evidence", &o, e)) != 0 || o == NULL)
		return rc;
	if ((rc = conf_check_keys(file, "evidence", o, evidence_keys, e)) != 0)
		return rc;
	if (asprintf(&where, "%s: evidence", file) < 0)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	/* 0 turns the schedule off. */
	rc = get_u32(where, o, "schedule_s", 0, 366 * 86400, &c->evidence_schedule_s, e);
	if (rc == 0)
		rc = get_u32(where, o, "max_bytes", 64 * KIB, EVSIG_MAX_BYTES,
			     &c->evidence_max_bytes, e);
	free(where);
	return rc;
}

/* Checks between values that pass alone; see the top of the file. */
static int cross_check(const char *file, const struct collector_config *c, struct pst_err *e)
{
	if ((uint64_t)c->idle_timeout_ms <= (uint64_t)c->heartbeat_interval_s * 1000)
		return pst_err_set(e, PST_E_INVAL,
				   "config %s: limits: \"idle_timeout_ms\" (%u) must be longer than "
				   "\"heartbeat_interval_s\" (%u s), or idle agents are cut off "
				   "between heartbeats",
				   file, c->idle_timeout_ms, c->heartbeat_interval_s);
	if (c->queue_max_bytes < c->max_frame_bytes)
		return pst_err_set(e, PST_E_INVAL,
				   "config %s: store_tuning: \"queue_max_bytes\" (%llu) must hold "
				   "at least one frame (limits.max_frame_bytes %u)",
				   file, (unsigned long long)c->queue_max_bytes, c->max_frame_bytes);
	return 0;
}

static int read_listen(const char *file, const json_t *doc, const char *key, char *host,
		       size_t hostcap, uint16_t *port, struct pst_err *e)
{
	char *s = NULL;
	int rc;

	if ((rc = conf_get_string(file, doc, key, false, &s, e)) != 0 || s == NULL)
		return rc;
	rc = conf_split_hostport(file, key, s, host, hostcap, port, e);
	free(s);
	return rc;
}

/* Parse doc into c, which holds the defaults; base resolves relative paths. */
static int read_doc(const char *file, const char *base, const json_t *doc,
		    struct collector_config *c, struct pst_err *e)
{
	char *level = NULL;
	int rc;

	if (!json_is_object(doc))
		return pst_err_set(e, PST_E_INVAL, "config %s: the document must be an object",
				   file);
	if ((rc = conf_check_keys(file, "", doc, top_keys, e)) != 0)
		return rc;
	if ((rc = conf_get_string(file, doc, "collector_id", false, &c->collector_id, e)) != 0)
		return rc;
	if (c->collector_id == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	if (!pki_name_valid(c->collector_id))
		return pst_err_set(e, PST_E_INVAL,
				   "config %s: \"collector_id\" is \"%s\"; use 1 to 64 of "
				   "A-Z a-z 0-9 . _ -, not starting with . or -",
				   file, c->collector_id);
	if ((rc = read_listen(file, doc, "agent_listen", c->agent_host, sizeof(c->agent_host),
			      &c->agent_port, e)) != 0 ||
	    (rc = read_listen(file, doc, "api_listen", c->api_host, sizeof(c->api_host),
			      &c->api_port, e)) != 0)
		return rc;
	if ((rc = get_path(file, base, doc, "ca", true, &c->ca_cert, e)) != 0 ||
	    (rc = get_path(file, base, doc, "ca_key", false, &c->ca_key, e)) != 0 ||
	    (rc = get_path(file, base, doc, "cert", true, &c->cert, e)) != 0 ||
	    (rc = get_path(file, base, doc, "key", true, &c->key, e)) != 0 ||
	    (rc = get_path(file, base, doc, "evidence_key", false, &c->evidence_key, e)) != 0 ||
	    (rc = get_path(file, base, doc, "evidence_pub", false, &c->evidence_pub, e)) != 0)
		return rc;
	if ((rc = get_store(file, base, doc, &c->store, e)) != 0)
		return rc;
	if ((rc = conf_get_string(file, doc, "log_level", false, &level, e)) != 0)
		return rc;
	if (level != NULL) {
		c->log_level = log_level_parse(level);
		if (c->log_level < 0)
			rc = pst_err_set(e, PST_E_INVAL,
					 "config %s: \"log_level\" is \"%s\"; expected error, warn, "
					 "info or debug",
					 file, level);
		free(level);
		if (rc != 0)
			return rc;
	}
	if ((rc = read_limits(file, doc, c, e)) != 0 || (rc = read_tuning(file, doc, c, e)) != 0 ||
	    (rc = read_api(file, doc, c, e)) != 0 || (rc = read_metrics(file, doc, c, e)) != 0 ||
	    (rc = read_alerts(file, base, doc, c, e)) != 0 ||
	    (rc = read_evidence(file, doc, c, e)) != 0)
		return rc;
	return cross_check(file, c, e);
}

static int from_json(const char *name, const char *base, const json_t *doc,
		     struct collector_config *c, struct pst_err *e)
{
	int rc;

	collector_config_defaults(c);
	c->path = strdup(name);
	if (c->path == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	rc = read_doc(name, base, doc, c, e);
out:
	if (rc != 0)
		collector_config_cleanup(c);
	return rc;
}

int collector_config_from_json(const char *name, const json_t *doc, struct collector_config *c,
			       struct pst_err *e)
{
	return from_json(name, name, doc, c, e);
}

int collector_config_load(const char *path, struct collector_config *c, struct pst_err *e)
{
	char cwd[PATH_MAX];
	char *base = NULL;
	json_t *doc = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = conf_load(path, &doc, e)) != 0)
		return rc;
	/* An absolute base keeps resolved paths valid after the daemon changes directory. */
	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		base = strdup(path);
	else if (asprintf(&base, "%s/%s", cwd, path) < 0)
		base = NULL;
	if (base == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	rc = from_json(path, base, doc, c, e);
out:
	free(base);
	json_decref(doc);
	return rc;
}
