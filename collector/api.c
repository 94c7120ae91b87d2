/*
 * api.c - routes of the HTTPS JSON API (see api.h).
 *
 * Each request: find the route (404, or 405 with Allow), check the query
 * against the route's accepted parameters (400), authenticate the bearer
 * token (401) and check its role (403), take a store handle from the pool,
 * run the route, map a store error to a status.  Routes build nothing
 * themselves beyond parameters: the documents come from the store (store.h)
 * in the shape docs/openapi.yaml describes.
 */
#include "api.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "enroll.h"
#include "evidence.h"
#include "log.h"
#include "prom.h"
#include "store.h"
#include "tokens.h"
#include "timefmt.h"
#include "web.h"

#define API_POOL_MAX 8
#define API_PARAM_MAX 512
#define API_MAX_SEGMENTS 8

#define ROLE(r) (1u << (r))
#define READERS (ROLE(STORE_ROLE_ISO) | ROLE(STORE_ROLE_AUDITOR) | ROLE(STORE_ROLE_ADMIN))
#define ADMINS ROLE(STORE_ROLE_ADMIN)
#define AUDITORS (ROLE(STORE_ROLE_AUDITOR) | ROLE(STORE_ROLE_ADMIN))
#define PUBLIC 0u

struct api {
	const struct collector_config *cfg;
	char *collector_id;
	struct evidence *ev;      /* the evidence key, loaded once */
	pthread_mutex_t lock;     /* guards pool and live */
	struct store *pool[API_POOL_MAX];
	size_t npool;
	struct api_live live;
};

struct call {
	struct api *api;
	const struct http_request *req;
	struct http_response *res;
	struct store *st;
	struct store_token tok;   /* role NONE on public routes */
	const char *arg;          /* the {} segment of the path, decoded */
	int64_t now_us;
};

struct route {
	const char *method;
	const char *pattern;      /* segments; "{}" matches one */
	unsigned roles;           /* who may call it; PUBLIC: anyone */
	void (*fn)(struct call *c);
	const char *const *params; /* accepted query parameters, NULL-terminated */
};

/* --- the store pool --- */

static struct store *pool_take(struct api *a, struct pst_err *e)
{
	struct store *st = NULL;

	pthread_mutex_lock(&a->lock);
	if (a->npool > 0)
		st = a->pool[--a->npool];
	pthread_mutex_unlock(&a->lock);
	if (st != NULL)
		return st;
	if (store_open(a->cfg->store, &st, e) != 0)
		return NULL;
	store_set_busy_timeout(st, 5000);
	return st;
}

static void pool_give(struct api *a, struct store *st)
{
	if (st == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	if (a->npool < API_POOL_MAX) {
		a->pool[a->npool++] = st;
		st = NULL;
	}
	pthread_mutex_unlock(&a->lock);
	store_close(st);
}

/* --- answers --- */

static void send_json(struct call *c, int status, json_t *doc)
{
	char *body;

	if (doc == NULL) {
		http_response_error(c->res, 500, "internal", "out of memory building the answer");
		return;
	}
	body = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (body == NULL) {
		http_response_error(c->res, 500, "internal", "out of memory building the answer");
		return;
	}
	free(c->res->body);
	c->res->status = status;
	snprintf(c->res->content_type, sizeof(c->res->content_type), "application/json");
	c->res->body_len = strlen(body);
	c->res->body = body;
}

/* A store failure: the client learns the kind, the log the details. */
static void store_failed(struct call *c, int rc, const struct pst_err *e)
{
	switch (rc) {
	case PST_E_NOENT:
		http_response_error(c->res, 404, "not_found", "%s", e->msg);
		break;
	case PST_E_INVAL:
	case PST_E_PARSE:
		http_response_error(c->res, 400, "invalid_parameter", "%s", e->msg);
		break;
	default:
		log_error("api %s %s: %s", c->req->method, c->req->path, e->msg);
		http_response_error(c->res, 503, "store_unavailable",
				    "the store failed to answer; the collector's log says why; "
				    "try again");
	}
}

/* --- parameters --- */

/* "a, b, c" of a NULL-terminated list, cut to fit. */
static const char *join(const char *const *v, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; v[i] != NULL && len < size; i++) {
		int n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", v[i]);

		if (n < 0)
			break;
		len += (size_t)n;
	}
	return buf[0] != '\0' ? buf : "none";
}

/* Query parameter name, or NULL when absent; false (answered 400) when unreadable. */
static bool param(struct call *c, const char *name, char *buf, size_t size, const char **out)
{
	int err = 0;

	*out = http_query_param(c->req, name, buf, size, &err);
	if (err != 0) {
		http_response_error(c->res, 400, "invalid_parameter",
				    "query parameter \"%s\" is %s", name,
				    err == PST_E_TOOBIG ? "too long" : "not validly encoded");
		return false;
	}
	return true;
}

static bool param_uint(struct call *c, const char *name, uint32_t min, uint32_t max,
		       uint32_t *out)
{
	char buf[32], *end;
	const char *v;
	unsigned long long n;

	if (!param(c, name, buf, sizeof(buf), &v))
		return false;
	if (v == NULL)
		return true;
	n = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || n < min || n > max) {
		http_response_error(c->res, 400, "invalid_parameter",
				    "query parameter \"%s\" is \"%s\"; expected a whole number from "
				    "%u to %u", name, v, min, max);
		return false;
	}
	*out = (uint32_t)n;
	return true;
}

static bool param_enum(struct call *c, const char *name, const char *const *allowed, char *buf,
		       size_t size, const char **out)
{
	char list[256];

	if (!param(c, name, buf, size, out) || *out == NULL)
		return *out == NULL && c->res->status == 0;
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(*out, allowed[i]) == 0)
			return true;
	http_response_error(c->res, 400, "invalid_parameter",
			    "query parameter \"%s\" is \"%s\"; expected one of %s", name, *out,
			    join(allowed, list, sizeof(list)));
	return false;
}

static bool param_bool(struct call *c, const char *name, bool *out)
{
	static const char *const v[] = {"true", "false", "1", "0", NULL};
	char buf[8];
	const char *s;

	if (!param_enum(c, name, v, buf, sizeof(buf), &s))
		return false;
	if (s != NULL)
		*out = strcmp(s, "true") == 0 || strcmp(s, "1") == 0;
	return true;
}

/* "2026-11-25", "2026-11-25T10:00:00Z" or seconds since the epoch. */
static bool param_time(struct call *c, const char *name, int64_t *out_us)
{
	char buf[40], *end;
	const char *v;
	struct tm tm;
	long long secs;

	if (!param(c, name, buf, sizeof(buf), &v))
		return false;
	if (v == NULL)
		return true;
	memset(&tm, 0, sizeof(tm));
	secs = strtoll(v, &end, 10);
	if (*v >= '0' && *v <= '9' && *end == '\0' && secs >= 0 && secs < 253402300800LL) {
		*out_us = (int64_t)secs * 1000000;
		return true;
	}
	end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(v, "%Y-%m-%d", &tm);
	}
	if (end == NULL || *end != '\0' || tm.tm_year < 70 || tm.tm_year > 8099) {
		http_response_error(c->res, 400, "invalid_parameter",
				    "query parameter \"%s\" is \"%s\"; expected a date (2026-11-25), "
				    "a UTC time (2026-11-25T10:00:00Z) or seconds since the epoch",
				    name, v);
		return false;
	}
	*out_us = (int64_t)timegm(&tm) * 1000000;
	return true;
}

static bool page(struct call *c, struct store_page *pg, char *cursor, size_t size)
{
	pg->limit = 100;
	pg->cursor = NULL;
	return param_uint(c, "limit", 1, 1000, &pg->limit) &&
	       param(c, "cursor", cursor, size, &pg->cursor);
}

static void view(struct call *c, struct store_view *v)
{
	v->now_us = c->now_us;
	v->stale_intervals = c->api->cfg->stale_intervals;
	v->default_interval_s = c->api->cfg->default_interval_s;
}

static const char *const severities[] = {"low", "medium", "high", "critical", "unknown", NULL};
static const char *const statuses[] = {"pass", "fail", "error", "not_applicable", "unknown",
				       NULL};

/* --- routes --- */

static void r_health(struct call *c)
{
	send_json(c, 200, json_pack("{s:s, s:s, s:s}", "status", "ok", "collector_id",
				    c->api->collector_id, "version", POSTURE_VERSION));
}

static void r_summary(struct call *c)
{
	struct store_view v;
	struct pst_err e = {0};
	json_t *doc = NULL;
	int rc;

	view(c, &v);
	if ((rc = store_summary(c->st, &v, &doc, &e)) != 0)
		return store_failed(c, rc, &e);
	send_json(c, 200, doc);
}

static void r_hosts(struct call *c)
{
	struct store_host_filter f = {0};
	struct store_page pg;
	struct store_view v;
	struct pst_err e = {0};
	char cursor[API_PARAM_MAX], search[256], os[128];
	json_t *doc = NULL;
	int rc;

	if (!page(c, &pg, cursor, sizeof(cursor)) ||
	    !param(c, "search", search, sizeof(search), &f.search) ||
	    !param(c, "os", os, sizeof(os), &f.os_id) || !param_bool(c, "stale", &f.stale_only) ||
	    !param_bool(c, "failing", &f.failing_only))
		return;
	view(c, &v);
	if ((rc = store_hosts(c->st, &v, &f, &pg, &doc, &e)) != 0)
		return store_failed(c, rc, &e);
	send_json(c, 200, doc);
}

static void r_host(struct call *c)
{
	struct store_view v;
	struct pst_err e = {0};
	json_t *doc = NULL;
	int rc;

	view(c, &v);
	if ((rc = store_host(c->st, &v, c->arg, &doc, &e)) != 0)
		return store_failed(c, rc, &e);
	send_json(c, 200, doc);
}

static void r_host_results(struct call *c)
{
	struct store_result_filter f = {0};
	struct store_page pg;
	struct pst_err e = {0};
	char cursor[API_PARAM_MAX], st[32], cat[64], sev[32];
	json_t *doc = NULL;
	int rc;

	if (!page(c, &pg, cursor, sizeof(cursor)) ||
	    !param_enum(c, "status", statuses, st, sizeof(st), &f.status) ||
	    !param(c, "category", cat, sizeof(cat), &f.category) ||
	    !param_enum(c, "severity", severities, sev, sizeof(sev), &f.severity))
		return;
	if ((rc = store_host_results(c->st, c->arg, &f, &pg, &doc, &e)) != 0)
		return store_failed(c, rc, &e);
	send_json(c, 200, doc);
}

static void r_violations(struct call *c)
{
	static const char *const vstatus[] = {"open", "resolved", NULL};
	struct store_violation_filter f = {0};
	struct store_page pg;
	struct store_view v;
	struct pst_err e = {0};
	char cursor[API_PARAM_MAX], st[16], sev[32], host[256], ctl[128], cat[64];
	json_t *doc = NULL;
	int rc;

	if (!page(c, &pg, cursor, sizeof(cursor)) ||
	    !param_enum(c, "status", vstatus, st, sizeof(st), &f.status) ||
	    !param_enum(c, "severity", severities, sev, sizeof(sev), &f.severity) ||
	    !param(c, "host", host, sizeof(host), &f.host) ||
	    !param(c, "control", ctl, sizeof(ctl), &f.control) ||
	    !param(c, "category", cat, sizeof(cat), &f.category) ||
	    !param_time(c, "since", &f.since_us))
		return;
	view(c, &v);
	if ((rc = store_violations(c->st, &v, &f, &pg, &doc, &e)) != 0)
		return store_failed(c, rc, &e);
	send_json(c, 200, doc);
}

static void r_controls(struct call *c)
{
	struct pst_err e = {0};
	char fw[64];
	const char *framework;
	json_t *doc = NULL;
	int rc;

	if (!param(c, "framework", fw, sizeof(fw), &framework))
		return;
	if ((rc = store_controls(c->st, framework, &doc, &e)) != 0)
		return store_failed(c, rc, &e);
	send_json(c, 200, doc);
}

static void r_trend(struct call *c)
{
	struct store_view v;
	struct pst_err e = {0};
	uint32_t days = 30;
	json_t *doc = NULL;
	int rc;

	if (!param_uint(c, "days", 1, 3660, &days))
		return;
	view(c, &v);
	if ((rc = store_trend(c->st, &v, days, &doc, &e)) != 0)
		return store_failed(c, rc, &e);
	send_json(c, 200, doc);
}

static void r_tokens(struct call *c)
{
	struct pst_err e = {0};
	json_t *doc = NULL;
	int rc;

	if ((rc = store_tokens(c->st, &doc, &e)) != 0)
		return store_failed(c, rc, &e);
	send_json(c, 200, doc);
}

static void r_token_create(struct call *c)
{
	struct store_token t = {0};
	struct pst_err e = {0};
	json_error_t jerr;
	json_t *body;
	const char *role = NULL, *name = "";
	json_int_t expires_in = 0, uses = -1;
	char text[TOKEN_TEXT_SIZE];
	uint8_t hash[32];
	int64_t id;
	int rc;

	body = json_loadb((const char *)c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (body == NULL || json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s, s?s, s?I, s?I}",
					   "role", &role, "name", &name, "expires_in_s",
					   &expires_in, "uses", &uses) != 0) {
		http_response_error(c->res, 400, "invalid_body",
				    "the body must be {\"role\": \"iso|auditor|admin|enroll\", "
				    "\"name\": \"...\", \"expires_in_s\": N, \"uses\": N}: %s",
				    jerr.text);
		json_decref(body);
		return;
	}
	if (store_role_parse(role, &t.role) != 0 || strlen(name) >= sizeof(t.name) ||
	    expires_in < 0 || expires_in > 10LL * 366 * 86400 || uses < -1 || uses == 0 ||
	    uses > 1000000) {
		http_response_error(c->res, 400, "invalid_body",
				    "role must be iso, auditor, admin or enroll; name under %zu "
				    "bytes; expires_in_s 0 (never) to ten years; uses -1 "
				    "(unlimited) or 1 to 1000000", sizeof(t.name));
		json_decref(body);
		return;
	}
	snprintf(t.name, sizeof(t.name), "%s", *name != '\0' ? name : store_role_name(t.role));
	json_decref(body);
	t.created_us = c->now_us;
	t.expires_us = expires_in > 0 ? c->now_us + (int64_t)expires_in * 1000000 : 0;
	t.uses_left = uses;
	if ((rc = token_new(text, hash, &e)) != 0 ||
	    (rc = store_token_add(c->st, hash, &t, &id, &e)) != 0)
		return store_failed(c, rc, &e);
	log_info("api: token %" PRId64 " (%s, role %s) created by token %" PRId64, id, t.name,
		 store_role_name(t.role), c->tok.id);
	send_json(c, 201, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "name", t.name,
				    "role", store_role_name(t.role), "token", text));
}

static void r_token_revoke(struct call *c)
{
	struct pst_err e = {0};
	char *end;
	long long id = strtoll(c->arg, &end, 10);
	int rc;

	if (*c->arg < '0' || *c->arg > '9' || *end != '\0') {
		http_response_error(c->res, 404, "not_found", "no token %s", c->arg);
		return;
	}
	if ((rc = store_token_revoke(c->st, id, &e)) != 0)
		return store_failed(c, rc, &e);
	log_info("api: token %lld revoked by token %" PRId64, id, c->tok.id);
	c->res->status = 204;
}

/* --- evidence snapshots (evidence.h, docs/evidence.md) --- */

static void r_evidence_take(struct call *c)
{
	struct evidence_scope scope;
	struct evidence_taker by = {.name = c->tok.name, .role = store_role_name(c->tok.role)};
	struct pst_err e = {0};
	json_t *meta = NULL;
	char loc[128];
	int rc;

	if (evidence_request_parse((const char *)c->req->body, c->req->body_len, &scope, &e) != 0) {
		http_response_error(c->res, 400, "invalid_body", "%s", e.msg);
		return;
	}
	rc = evidence_take(c->api->ev, c->st, c->now_us, &scope, &by, &meta, &e);
	evidence_scope_cleanup(&scope);
	if (rc == PST_E_TOOBIG) {
		http_response_error(c->res, 400, "snapshot_too_large", "%s", e.msg);
		return;
	}
	if (rc != 0)
		return store_failed(c, rc, &e);
	log_info("evidence: snapshot %s taken by token %" PRId64 " (%s), sha256 %s",
		 json_string_value(json_object_get(meta, "id")), c->tok.id, c->tok.name,
		 json_string_value(json_object_get(meta, "sha256")));
	snprintf(loc, sizeof(loc), "/api/v1/evidence/%s",
		 json_string_value(json_object_get(meta, "id")));
	send_json(c, 201, meta);
	if (c->res->status == 201)
		http_response_header(c->res, "Location", loc);
}

static void r_evidence_list(struct call *c)
{
	struct store_page pg;
	struct pst_err e = {0};
	char cursor[API_PARAM_MAX];
	json_t *doc = NULL;
	int rc;

	if (!page(c, &pg, cursor, sizeof(cursor)))
		return;
	if ((rc = store_evidence_list(c->st, &pg, &doc, &e)) != 0)
		return store_failed(c, rc, &e);
	send_json(c, 200, doc);
}

static void r_evidence_key(struct call *c)
{
	const char *pem = evidence_public_pem(c->api->ev);

	c->res->body = strdup(pem);
	if (c->res->body == NULL) {
		http_response_error(c->res, 500, "internal", "out of memory");
		return;
	}
	c->res->body_len = strlen(pem);
	c->res->status = 200;
	snprintf(c->res->content_type, sizeof(c->res->content_type), "application/x-pem-file");
	http_response_header(c->res, "X-Posture-Key-Id", evidence_key_id(c->api->ev));
}

/* "ev-" and 8 to 20 digits. */
static bool evidence_id_valid(const char *id)
{
	size_t n;

	if (strncmp(id, "ev-", 3) != 0)
		return false;
	n = strspn(id + 3, "0123456789");
	return n >= 8 && n <= 20 && id[3 + n] == '\0';
}

static void r_evidence_get(struct call *c)
{
	struct pst_err e = {0};
	char sha[65], etag[72];
	char *env = NULL;
	size_t len = 0;
	int rc;

	if (!evidence_id_valid(c->arg)) {
		http_response_error(c->res, 400, "invalid_parameter",
				    "\"%.64s\" is not an evidence snapshot id (\"ev-\" and 8 to 20 "
				    "digits, as GET /api/v1/evidence lists them)", c->arg);
		return;
	}
	if ((rc = store_evidence_get(c->st, c->arg, &env, &len, sha, &e)) != 0)
		return store_failed(c, rc, &e);
	free(c->res->body);
	c->res->body = env;
	c->res->body_len = len;
	c->res->status = 200;
	snprintf(c->res->content_type, sizeof(c->res->content_type), "application/json");
	snprintf(etag, sizeof(etag), "\"%s\"", sha);
	http_response_header(c->res, "ETag", etag);
	http_response_header(c->res, "Cache-Control", "private, immutable");
}

static void r_enroll(struct call *c)
{
	enroll_route(c->st, c->api->cfg, c->now_us, c->req, c->res);
}

/* --- /metrics --- */

struct metric_ctx {
	struct prom *p;
	int rc;
};

static int metric_row(void *arg, const struct store_metric_row *m)
{
	struct metric_ctx *mc = arg;
	const char *labels[4][2];
	char name[128];
	size_t n = 0;

	while (n < 4 && m->labels[n][0] != NULL) {
		labels[n][0] = m->labels[n][0];
		labels[n][1] = m->labels[n][1];
		n++;
	}
	snprintf(name, sizeof(name), "posture_%s", m->name);
	mc->rc = prom_sample(mc->p, name, (const char *const(*)[2])labels, n, m->value);
	if (mc->rc != 0)
		log_warn("metrics: series %s refused (%s); the store gave it twice or named it "
			 "badly", name, pst_strerror(mc->rc));
	return 0;
}

static const struct {
	const char *name, *help;
	enum prom_type type;
} store_families[] = {
	{"posture_results", "Latest check results, by status, category and severity.", PROM_GAUGE},
	{"posture_score", "Compliance score, 100 * pass / (pass + fail), by scope.", PROM_GAUGE},
	{"posture_hosts", "Hosts, by state (reporting or stale).", PROM_GAUGE},
	{"posture_violations_open", "Open violations, by severity.", PROM_GAUGE},
	{"posture_violations_opened_total", "Violations ever opened.", PROM_COUNTER},
	{"posture_violations_resolved_total", "Violations ever resolved.", PROM_COUNTER},
	{"posture_host_score", "Compliance score of each host.", PROM_GAUGE},
	{"posture_alerts_pending", "Alerts waiting for delivery.", PROM_GAUGE},
};

static int live_families(struct prom *p, const struct api_live *l, int64_t now)
{
	static const char *const none[1][2] = {{NULL, NULL}};
	const struct {
		const char *name, *help;
		enum prom_type type;
		double v;
	} f[] = {
		{"posture_agent_connections", "Agent connections open.", PROM_GAUGE,
		 (double)l->agent_connections},
		{"posture_agent_connections_accepted_total", "Agent connections accepted.",
		 PROM_COUNTER, (double)l->agent_accepted},
		{"posture_agent_connections_refused_total",
		 "Agent connections refused at max_connections.", PROM_COUNTER,
		 (double)l->agent_refused_full},
		{"posture_agent_tls_failures_total", "Agent TLS handshakes that failed.",
		 PROM_COUNTER, (double)l->agent_tls_failed},
		{"posture_agent_protocol_errors_total", "Agent connections closed for a protocol "
		 "error (malformed, oversized or unexpected frames).", PROM_COUNTER,
		 (double)l->agent_protocol_errors},
		{"posture_reports_received_total", "Reports received from agents.", PROM_COUNTER,
		 (double)l->reports_received},
		{"posture_acks_sent_total", "Reports acknowledged to agents after their commit.",
		 PROM_COUNTER, (double)l->acks_sent},
		{"posture_store_batches_total", "Store transactions committed.", PROM_COUNTER,
		 (double)l->ingest_batches},
		{"posture_store_reports_stored_total", "Reports stored.", PROM_COUNTER,
		 (double)l->ingest_stored},
		{"posture_store_duplicates_total", "Reports received again and not stored twice.",
		 PROM_COUNTER, (double)l->ingest_duplicates},
		{"posture_store_commit_failures_total", "Store commits that failed and were "
		 "retried.", PROM_COUNTER, (double)l->ingest_commit_failures},
		{"posture_store_queue_bytes", "Report bytes waiting for the store.", PROM_GAUGE,
		 (double)l->ingest_queued_bytes},
		{"posture_alerts_delivered_total", "Alerts delivered to every webhook.",
		 PROM_COUNTER, (double)l->alerts_delivered},
		{"posture_alerts_delivery_failures_total", "Failed webhook delivery attempts.",
		 PROM_COUNTER, (double)l->alerts_failed_attempts},
		{"posture_alerts_given_up_total", "Alerts given up after max_attempts.",
		 PROM_COUNTER, (double)l->alerts_given_up},
		{"posture_http_connections_total", "API connections accepted.", PROM_COUNTER,
		 (double)l->http.connections},
		{"posture_http_requests_total", "API requests handled.", PROM_COUNTER,
		 (double)l->http.requests},
		{"posture_uptime_seconds", "Seconds since the collector started.", PROM_GAUGE,
		 l->started_us > 0 ? (double)(now - l->started_us) / 1e6 : 0},
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]) && rc == 0; i++) {
		rc = prom_family(p, f[i].name, f[i].type, f[i].help);
		if (rc == 0)
			rc = prom_sample(p, f[i].name, none, 0, f[i].v);
	}
	if (rc == 0)
		rc = prom_family(p, "posture_http_responses_total", PROM_COUNTER,
				 "API responses, by class of status.");
	if (rc == 0) {
		const char *const c4[1][2] = {{"class", "4xx"}}, *const c5[1][2] = {{"class", "5xx"}};

		rc = prom_sample(p, "posture_http_responses_total", c4, 1,
				 (double)l->http.responses_4xx);
		if (rc == 0)
			rc = prom_sample(p, "posture_http_responses_total", c5, 1,
					 (double)l->http.responses_5xx);
	}
	return rc;
}

static void r_metrics(struct call *c)
{
	struct metric_ctx mc = {0};
	struct store_view v;
	struct api_live live;
	struct pst_err e = {0};
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (prom_new(&mc.p) != 0) {
		http_response_error(c->res, 500, "internal", "out of memory");
		return;
	}
	pthread_mutex_lock(&c->api->lock);
	live = c->api->live;
	pthread_mutex_unlock(&c->api->lock);
	rc = 0;
	for (size_t i = 0; i < sizeof(store_families) / sizeof(store_families[0]) && rc == 0; i++)
		rc = prom_family(mc.p, store_families[i].name, store_families[i].type,
				 store_families[i].help);
	if (rc == 0)
		rc = live_families(mc.p, &live, c->now_us);
	if (rc != 0) {
		prom_free(mc.p);
		http_response_error(c->res, 500, "internal", "cannot build the metrics: %s",
				    pst_strerror(rc));
		return;
	}
	view(c, &v);
	rc = store_metric_rows(c->st, &v, metric_row, &mc, &e);
	if (rc != 0) {
		prom_free(mc.p);
		return store_failed(c, rc, &e);
	}
	rc = prom_render(mc.p, &text, &len);
	prom_free(mc.p);
	if (rc != 0) {
		http_response_error(c->res, 500, "internal", "cannot render the metrics");
		return;
	}
	c->res->status = 200;
	snprintf(c->res->content_type, sizeof(c->res->content_type), "%s", PROM_CONTENT_TYPE);
	c->res->body = text;
	c->res->body_len = len;
}

/* --- the table --- */

static const char *const p_none[] = {NULL};
static const char *const p_hosts[] = {"limit", "cursor", "search", "os", "stale", "failing",
				      NULL};
static const char *const p_results[] = {"limit", "cursor", "status", "category", "severity",
					NULL};
static const char *const p_violations[] = {"limit", "cursor", "status", "severity", "host",
					   "control", "category", "since", NULL};
static const char *const p_controls[] = {"framework", NULL};
static const char *const p_trend[] = {"days", NULL};
static const char *const p_page[] = {"limit", "cursor", NULL};

#define METRICS_ROLES (READERS | 0x80000000u) /* the flag: also metrics_allow addresses */

static const struct route routes[] = {
	{"GET", "/api/v1/health", PUBLIC, r_health, p_none},
	{"GET", "/api/v1/summary", READERS, r_summary, p_none},
	{"GET", "/api/v1/hosts", READERS, r_hosts, p_hosts},
	{"GET", "/api/v1/hosts/{}", READERS, r_host, p_none},
	{"GET", "/api/v1/hosts/{}/results", READERS, r_host_results, p_results},
	{"GET", "/api/v1/violations", READERS, r_violations, p_violations},
	{"GET", "/api/v1/controls", READERS, r_controls, p_controls},
	{"GET", "/api/v1/trend", READERS, r_trend, p_trend},
	{"GET", "/api/v1/tokens", ADMINS, r_tokens, p_none},
	{"POST", "/api/v1/tokens", ADMINS, r_token_create, p_none},
	{"DELETE", "/api/v1/tokens/{}", ADMINS, r_token_revoke, p_none},
	{"POST", "/api/v1/enroll", PUBLIC, r_enroll, p_none},
	{"POST", "/api/v1/evidence", AUDITORS, r_evidence_take, p_none},
	{"GET", "/api/v1/evidence", READERS, r_evidence_list, p_page},
	/* Before "{}", which "key" would match too. */
	{"GET", "/api/v1/evidence/key", READERS, r_evidence_key, p_none},
	{"GET", "/api/v1/evidence/{}", READERS, r_evidence_get, p_none},
	{"GET", "/metrics", METRICS_ROLES, r_metrics, p_none},
};

/* Does path match pattern?  *arg receives the {} segment (a pointer into argbuf). */
static bool match(const char *pattern, const char *path, char *argbuf, size_t size,
		  const char **arg)
{
	*arg = NULL;
	while (*pattern != '\0' && *path != '\0') {
		if (strncmp(pattern, "{}", 2) == 0) {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= size)
				return false;
			memcpy(argbuf, path, n);
			argbuf[n] = '\0';
			*arg = argbuf;
			path += n;
			pattern += 2;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

/* Every query parameter must be one the route takes, and given once. */
static bool query_ok(struct call *c, const char *const *accepted)
{
	const char *q = c->req->query;
	char list[256];

	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&"), k = strcspn(q, "=&");
		bool known = false;

		if (k > 0) {
			for (size_t i = 0; accepted[i] != NULL; i++)
				if (strlen(accepted[i]) == k && strncmp(accepted[i], q, k) == 0)
					known = true;
			if (!known) {
				http_response_error(c->res, 400, "invalid_parameter",
						    "unknown query parameter \"%.*s\"; this route "
						    "takes: %s", (int)(k > 64 ? 64 : k), q,
						    join(accepted, list, sizeof(list)));
				return false;
			}
			/* Given twice? */
			for (const char *r = q + n; *r != '\0';) {
				r += *r == '&';
				if (strncmp(r, q, k) == 0 && (r[k] == '=' || r[k] == '&' || r[k] == '\0')) {
					http_response_error(c->res, 400, "invalid_parameter",
							    "query parameter \"%.*s\" is given twice",
							    (int)k, q);
					return false;
				}
				r += strcspn(r, "&");
			}
		}
		q += n;
		q += *q == '&';
	}
	return true;
}

static bool peer_allowed(const struct api *a, const struct http_request *req)
{
	unsigned char want[16], got[16];

	if (a->cfg->metrics_allow == NULL || req->peer_ip == NULL)
		return false;
	for (char **p = a->cfg->metrics_allow; *p != NULL; p++) {
		int fam = strchr(*p, ':') != NULL ? AF_INET6 : AF_INET;

		if (inet_pton(fam, *p, want) == 1 && inet_pton(fam, req->peer_ip, got) == 1 &&
		    memcmp(want, got, fam == AF_INET ? 4 : 16) == 0)
			return true;
	}
	return false;
}

static void unauthenticated(struct call *c, const char *error, const char *msg)
{
	char hdr[160];

	http_response_error(c->res, 401, "unauthenticated", "%s", msg);
	snprintf(hdr, sizeof(hdr), "Bearer realm=\"posture\"%s%s%s", error ? ", error=\"" : "",
		 error ? error : "", error ? "\"" : "");
	http_response_header(c->res, "WWW-Authenticate", hdr);
}

/* 0 and c->tok filled, or the answer is set (401 / 403 / 503). */
static int authorize(struct call *c, unsigned roles)
{
	const char *h = http_header(c->req, "Authorization");
	struct pst_err e = {0};
	uint8_t hash[32];
	int rc;

	if (h == NULL) {
		if ((roles & 0x80000000u) && peer_allowed(c->api, c->req))
			return 0;
		unauthenticated(c, NULL, "this route needs a token: send "
			       "\"Authorization: Bearer TOKEN\"");
		return -1;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		unauthenticated(c, "invalid_request", "the Authorization header must be "
			       "\"Bearer TOKEN\"");
		return -1;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if (token_hash(h, strlen(h), hash) != 0) {
		unauthenticated(c, "invalid_token", "this is not a posture token (they "
			       "start with \"pst_\" and have 47 characters)");
		return -1;
	}
	rc = store_token_find(c->st, hash, c->now_us, &c->tok, &e);
	if (rc == PST_E_NOENT) {
		unauthenticated(c, "invalid_token", "unknown token: ask an admin for one "
			       "(posture-collector token create)");
		return -1;
	}
	if (rc == PST_E_ACCES) {
		unauthenticated(c, "invalid_token", c->tok.revoked
			       ? "token revoked; ask an admin for a new one"
			       : "token expired; ask an admin for a new one");
		return -1;
	}
	if (rc != 0) {
		store_failed(c, rc, &e);
		return -1;
	}
	if (!(roles & ROLE(c->tok.role))) {
		http_response_error(c->res, 403, "forbidden",
				    "a token of role %s may not use %s %s", store_role_name(c->tok.role),
				    c->req->method, c->req->path);
		return -1;
	}
	return 0;
}

void api_handle(void *arg, const struct http_request *req, struct http_response *res)
{
	struct call c = {.api = arg, .req = req, .res = res, .now_us = timefmt_now_us()};
	const struct route *rt = NULL;
	char argbuf[256], allow[128] = "";
	struct pst_err e = {0};
	const char *seg = NULL;

	if (web_handle(req, res)) /* the dashboard's pages: no token, no store */
		return;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!match(routes[i].pattern, req->path, argbuf, sizeof(argbuf), &seg))
			continue;
		if (strcmp(routes[i].method, req->method) == 0 ||
		    (strcmp(req->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
			rt = &routes[i];
			c.arg = seg;
			break;
		}
		/* "/api/v1/evidence/key" matches two GET patterns: name GET once. */
		if (strstr(allow, routes[i].method) == NULL)
			snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
				 allow[0] ? ", " : "", routes[i].method);
	}
	if (rt == NULL && allow[0] != '\0') {
		http_response_error(res, 405, "method_not_allowed", "%s is not allowed on %s; use %s",
				    req->method, req->path, allow);
		http_response_header(res, "Allow", allow);
		return;
	}
	if (rt == NULL) {
		http_response_error(res, 404, "not_found", "no such route: %s (see docs/openapi.yaml)",
				    req->path);
		return;
	}
	if (!query_ok(&c, rt->params))
		return;
	c.st = pool_take(c.api, &e);
	if (c.st == NULL) {
		log_error("api: cannot open the store: %s", e.msg);
		http_response_error(res, 503, "store_unavailable",
				    "the store cannot be opened; the collector's log says why");
		return;
	}
	if (rt->roles == PUBLIC || authorize(&c, rt->roles) == 0)
		rt->fn(&c);
	pool_give(c.api, c.st);
	if (res->status == 0)
		res->status = 200;
}

int api_new(const struct collector_config *cfg, const char *collector_id, struct api **out,
	    struct pst_err *e)
{
	struct api *a = calloc(1, sizeof(*a));
	struct store *st;

	*out = NULL;
	if (a == NULL || (a->collector_id = strdup(collector_id)) == NULL) {
		free(a);
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	a->cfg = cfg;
	pthread_mutex_init(&a->lock, NULL);
	/* The evidence key once, now: a missing or exposed key fails the start. */
	if (evidence_new(cfg, collector_id, &a->ev, e) != 0) {
		int rc = e != NULL ? e->code : PST_E_INVAL;

		api_free(a);
		return rc;
	}
	/* Open one handle now, so that a store the API cannot read fails the start. */
	st = pool_take(a, e);
	if (st == NULL) {
		api_free(a);
		return e != NULL ? e->code : PST_E_STORE;
	}
	pool_give(a, st);
	*out = a;
	return 0;
}

void api_free(struct api *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->npool; i++)
		store_close(a->pool[i]);
	pthread_mutex_destroy(&a->lock);
	evidence_free(a->ev);
	free(a->collector_id);
	free(a);
}

struct evidence *api_evidence(struct api *a)
{
	return a->ev;
}

void api_set_live(struct api *a, const struct api_live *l)
{
	pthread_mutex_lock(&a->lock);
	a->live = *l;
	pthread_mutex_unlock(&a->lock);
}
