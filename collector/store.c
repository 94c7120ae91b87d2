/*
 * store.c - the store's front: parse the spec, pick the backend, check
 * what comes in, and dispatch through the backend's table
 * (store_backend.h).  No database library is known here.
 */
#include "store_backend.h"

#include <stdlib.h>
#include <string.h>

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int store_open(const char *spec, struct store **out, struct pst_err *e)
{
	const struct store_ops *ops = NULL;
	const char *target = spec;
	struct store *s = NULL;
	char *dup;
	int rc;

	*out = NULL;
	if (spec == NULL || *spec == '\0')
		return pst_err_set(e, PST_E_INVAL,
				   "store: no store given: set \"store\" to \"sqlite:PATH\" or a path");
	if (starts_with(spec, "postgresql://") || starts_with(spec, "postgres://"))
		return pst_err_set(e, PST_E_INVAL,
				   "store \"%.200s\": the PostgreSQL backend is not built into this "
				   "collector yet: use \"sqlite:PATH\"", spec);
	if (starts_with(spec, "sqlite:")) {
		ops = &store_sqlite_ops;
		target = spec + strlen("sqlite:");
		/* "sqlite:///var/lib/x.db" reads as a URL; take the path it names. */
		if (starts_with(target, "//"))
			target += 2;
	} else if (strstr(spec, "://") != NULL) {
		return pst_err_set(e, PST_E_INVAL,
				   "store \"%.200s\": unknown kind of store (one of: sqlite:PATH, a "
				   "path, postgresql://...)", spec);
	} else {
		ops = &store_sqlite_ops;
	}
	if (*target == '\0')
		return pst_err_set(e, PST_E_INVAL, "store \"%.200s\": no path after \"sqlite:\"",
				   spec);
	dup = strdup(spec);
	if (dup == NULL)
		return pst_err_set(e, PST_E_NOMEM, "store \"%.200s\": out of memory", spec);
	rc = ops->open(target, &s, e);
	if (rc < 0) {
		free(dup);
		return rc;
	}
	s->ops = ops;
	s->spec = dup;
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	char *spec;

	if (s == NULL)
		return;
	spec = s->spec;
	s->ops->close(s);
	free(spec);
}

const char *store_spec(const struct store *s)
{
	return s->spec;
}

int store_schema_version(struct store *s)
{
	return s->ops->schema_version(s);
}

void store_set_busy_timeout(struct store *s, int ms)
{
	s->ops->set_busy_timeout(s, ms < 0 ? 0 : ms);
}

static int bad_enum(int v, int max)
{
	return v < 0 || v > max;
}

int store_report_check(const struct store_report *r, struct pst_err *e)
{
	size_t i, j;

	if (r->agent_id == NULL || *r->agent_id == '\0')
		return pst_err_set(e, PST_E_INVAL, "report: no agent id");
	if (r->seq == 0 || r->seq > (uint64_t)INT64_MAX)
		return pst_err_set(e, PST_E_INVAL,
				   "report %llu of %.200s: the sequence number must be in 1..2^63-1",
				   (unsigned long long)r->seq, r->agent_id);
	for (i = 0; i < r->npolicies; i++)
		if (r->policies[i].id == NULL || r->policies[i].version == NULL)
			return pst_err_set(e, PST_E_INVAL,
					   "report %llu of %.200s: policies[%zu] has no id or version",
					   (unsigned long long)r->seq, r->agent_id, i);
	for (i = 0; i < r->nresults; i++) {
		const struct store_result *res = &r->results[i];

		if (res->policy_id == NULL || *res->policy_id == '\0' || res->check_id == NULL ||
		    *res->check_id == '\0')
			return pst_err_set(e, PST_E_INVAL,
					   "report %llu of %.200s: results[%zu] has no policy or check id",
					   (unsigned long long)r->seq, r->agent_id, i);
		if (bad_enum((int)res->status, STORE_NOT_APPLICABLE) ||
		    bad_enum((int)res->severity, STORE_SEV_CRITICAL))
			return pst_err_set(e, PST_E_INVAL,
					   "report %llu of %.200s: results[%zu] \"%.200s\" has an "
					   "unknown status or severity",
					   (unsigned long long)r->seq, r->agent_id, i, res->check_id);
		for (j = 0; j < res->ncontrols; j++)
			if (res->controls[j].framework == NULL)
				return pst_err_set(e, PST_E_INVAL,
						   "report %llu of %.200s: results[%zu] \"%.200s\": "
						   "controls[%zu] has no framework",
						   (unsigned long long)r->seq, r->agent_id, i,
						   res->check_id, j);
	}
	return 0;
}

int store_begin(struct store *s, struct pst_err *e)
{
	return s->ops->begin(s, e);
}

int store_commit(struct store *s, struct pst_err *e)
{
	return s->ops->commit(s, e);
}

void store_rollback(struct store *s)
{
	s->ops->rollback(s);
}

int store_host_hello(struct store *s, const char *agent_id, const struct store_facts *facts,
		     int64_t now_us, uint64_t *last_seq, struct pst_err *e)
{
	*last_seq = 0;
	if (agent_id == NULL || *agent_id == '\0')
		return pst_err_set(e, PST_E_INVAL, "store %s: hello without an agent id", s->spec);
	return s->ops->host_hello(s, agent_id, facts, now_us, last_seq, e);
}

int store_put_reports(struct store *s, struct store_report *const *reports, size_t n,
		      bool *duplicate, struct pst_err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		duplicate[i] = false;
		rc = store_report_check(reports[i], e);
		if (rc < 0) {
			pst_err_prefix(e, "store %s", s->spec);
			return rc;
		}
	}
	if (n == 0)
		return 0;
	return s->ops->put_reports(s, reports, n, duplicate, e);
}

int store_each_host(struct store *s, int (*cb)(void *arg, const struct store_host_row *h),
		    void *arg, struct pst_err *e)
{
	return s->ops->each_host(s, cb, arg, e);
}

int store_each_result(struct store *s, const char *agent_id,
		      int (*cb)(void *arg, const struct store_result_row *r), void *arg,
		      struct pst_err *e)
{
	return s->ops->each_result(s, agent_id, cb, arg, e);
}

int store_counts(struct store *s, struct store_counts *c, struct pst_err *e)
{
	*c = (struct store_counts){0};
	return s->ops->counts(s, c, e);
}

/* --- schema version 2 ------------------------------------------------------ */

/* A backend that lacks an operation says so rather than crash. */
#define NEED_OP(s, op, e)                                                                  \
	do {                                                                               \
		if ((s)->ops->op == NULL)                                                  \
			return pst_err_set((e), PST_E_STORE,                               \
					   "store %s: the %s backend cannot do " #op " yet", \
					   (s)->spec, (s)->ops->name);                     \
	} while (0)

#define NEED_VIEW(s, v, e)                                                                 \
	do {                                                                               \
		if ((v) == NULL)                                                           \
			return pst_err_set((e), PST_E_INVAL, "store %s: no view given",      \
					   (s)->spec);                                     \
	} while (0)

static int check_page(struct store *s, const struct store_page *pg, struct pst_err *e)
{
	if (pg == NULL)
		return 0;
	if (pg->limit < 1 || pg->limit > 1000)
		return pst_err_set(e, PST_E_INVAL, "store %s: limit %u is out of range (1..1000)",
				   s->spec, pg->limit);
	return 0;
}

int store_summary(struct store *s, const struct store_view *v, json_t **out, struct pst_err *e)
{
	*out = NULL;
	NEED_OP(s, summary, e);
	NEED_VIEW(s, v, e);
	return s->ops->summary(s, v, out, e);
}

int store_hosts(struct store *s, const struct store_view *v, const struct store_host_filter *f,
		const struct store_page *pg, json_t **out, struct pst_err *e)
{
	int rc;

	*out = NULL;
	NEED_OP(s, hosts, e);
	NEED_VIEW(s, v, e);
	if ((rc = check_page(s, pg, e)) < 0)
		return rc;
	return s->ops->hosts(s, v, f, pg, out, e);
}

int store_host(struct store *s, const struct store_view *v, const char *agent_id, json_t **out,
	       struct pst_err *e)
{
	*out = NULL;
	NEED_OP(s, host, e);
	NEED_VIEW(s, v, e);
	if (agent_id == NULL)
		return pst_err_set(e, PST_E_INVAL, "store %s: no host id given", s->spec);
	return s->ops->host(s, v, agent_id, out, e);
}

int store_host_results(struct store *s, const char *agent_id, const struct store_result_filter *f,
		       const struct store_page *pg, json_t **out, struct pst_err *e)
{
	int rc;

	*out = NULL;
	NEED_OP(s, host_results, e);
	if (agent_id == NULL)
		return pst_err_set(e, PST_E_INVAL, "store %s: no host id given", s->spec);
	if ((rc = check_page(s, pg, e)) < 0)
		return rc;
	return s->ops->host_results(s, agent_id, f, pg, out, e);
}

int store_violations(struct store *s, const struct store_view *v,
		     const struct store_violation_filter *f, const struct store_page *pg,
		     json_t **out, struct pst_err *e)
{
	int rc;

	*out = NULL;
	NEED_OP(s, violations, e);
	NEED_VIEW(s, v, e);
	if ((rc = check_page(s, pg, e)) < 0)
		return rc;
	return s->ops->violations(s, v, f, pg, out, e);
}

int store_controls(struct store *s, const char *framework, json_t **out, struct pst_err *e)
{
	*out = NULL;
	NEED_OP(s, controls, e);
	return s->ops->controls(s, framework, out, e);
}

int store_trend(struct store *s, const struct store_view *v, uint32_t days, json_t **out,
		struct pst_err *e)
{
	*out = NULL;
	NEED_OP(s, trend, e);
	NEED_VIEW(s, v, e);
	if (days < 1 || days > 3660)
		return pst_err_set(e, PST_E_INVAL, "store %s: days %u is out of range (1..3660)",
				   s->spec, days);
	return s->ops->trend(s, v, days, out, e);
}

int store_metric_rows(struct store *s, const struct store_view *v,
		      int (*cb)(void *arg, const struct store_metric_row *m), void *arg,
		      struct pst_err *e)
{
	NEED_OP(s, metric_rows, e);
	NEED_VIEW(s, v, e);
	return s->ops->metric_rows(s, v, cb, arg, e);
}

int store_mark_stale(struct store *s, const struct store_view *v, size_t *n, struct pst_err *e)
{
	*n = 0;
	NEED_OP(s, mark_stale, e);
	NEED_VIEW(s, v, e);
	return s->ops->mark_stale(s, v, n, e);
}

void store_alert_cleanup(struct store_alert *a)
{
	if (a == NULL)
		return;
	free(a->body);
	a->body = NULL;
}

int store_alerts_due(struct store *s, int64_t now_us, size_t max, struct store_alert **out,
		     size_t *n, struct pst_err *e)
{
	*out = NULL;
	*n = 0;
	NEED_OP(s, alerts_due, e);
	if (max == 0)
		return 0;
	return s->ops->alerts_due(s, now_us, max, out, n, e);
}

int store_alert_logged(struct store *s, int64_t id, struct pst_err *e)
{
	NEED_OP(s, alert_logged, e);
	return s->ops->alert_logged(s, id, e);
}

int store_alert_delivered(struct store *s, int64_t id, int64_t now_us, struct pst_err *e)
{
	NEED_OP(s, alert_delivered, e);
	return s->ops->alert_delivered(s, id, now_us, e);
}

int store_alert_failed(struct store *s, int64_t id, int64_t next_us, const char *error,
		       struct pst_err *e)
{
	NEED_OP(s, alert_failed, e);
	return s->ops->alert_failed(s, id, next_us, error, e);
}

int store_alerts_pending(struct store *s, uint64_t *n, struct pst_err *e)
{
	*n = 0;
	NEED_OP(s, alerts_pending, e);
	return s->ops->alerts_pending(s, n, e);
}

static const char *const role_names[] = {
	[STORE_ROLE_NONE] = "none",
	[STORE_ROLE_ISO] = "iso",
	[STORE_ROLE_AUDITOR] = "auditor",
	[STORE_ROLE_ADMIN] = "admin",
	[STORE_ROLE_ENROLL] = "enroll",
};

const char *store_role_name(enum store_role r)
{
	if ((int)r < 0 || (size_t)r >= sizeof(role_names) / sizeof(role_names[0]))
		return "none";
	return role_names[r];
}

int store_role_parse(const char *name, enum store_role *out)
{
	*out = STORE_ROLE_NONE;
	for (int r = STORE_ROLE_ISO; r <= STORE_ROLE_ENROLL; r++)
		if (name != NULL && strcmp(name, role_names[r]) == 0) {
			*out = (enum store_role)r;
			return 0;
		}
	return PST_E_INVAL;
}

int store_token_add(struct store *s, const uint8_t hash[32], const struct store_token *t,
		    int64_t *id, struct pst_err *e)
{
	*id = 0;
	NEED_OP(s, token_add, e);
	if (t->role < STORE_ROLE_ISO || t->role > STORE_ROLE_ENROLL)
		return pst_err_set(e, PST_E_INVAL, "store %s: token \"%.128s\" has no role "
				   "(one of: iso, auditor, admin, enroll)", s->spec, t->name);
	if (memchr(t->name, '\0', sizeof(t->name)) == NULL || t->name[0] == '\0')
		return pst_err_set(e, PST_E_INVAL, "store %s: a token needs a name of 1..%zu "
				   "characters", s->spec, sizeof(t->name) - 1);
	if (t->uses_left < -1)
		return pst_err_set(e, PST_E_INVAL, "store %s: token \"%s\": uses_left %lld "
				   "(-1 for unlimited, or 0 and more)", s->spec, t->name,
				   (long long)t->uses_left);
	return s->ops->token_add(s, hash, t, id, e);
}

int store_token_find(struct store *s, const uint8_t hash[32], int64_t now_us,
		     struct store_token *t, struct pst_err *e)
{
	*t = (struct store_token){0};
	NEED_OP(s, token_find, e);
	return s->ops->token_find(s, hash, now_us, t, e);
}

int store_token_spend(struct store *s, const uint8_t hash[32], int64_t now_us,
		      struct store_token *t, struct pst_err *e)
{
	*t = (struct store_token){0};
	NEED_OP(s, token_spend, e);
	return s->ops->token_spend(s, hash, now_us, t, e);
}

int store_tokens(struct store *s, json_t **out, struct pst_err *e)
{
	*out = NULL;
	NEED_OP(s, tokens, e);
	return s->ops->tokens(s, out, e);
}

int store_token_revoke(struct store *s, int64_t id, struct pst_err *e)
{
	NEED_OP(s, token_revoke, e);
	return s->ops->token_revoke(s, id, e);
}

int store_enrollment_add(struct store *s, const char *agent_id, int64_t token_id,
			 const char *cert_sha256_hex, const char *peer, int64_t now_us,
			 struct pst_err *e)
{
	NEED_OP(s, enrollment_add, e);
	if (agent_id == NULL || *agent_id == '\0' || cert_sha256_hex == NULL ||
	    strlen(cert_sha256_hex) != 64)
		return pst_err_set(e, PST_E_INVAL, "store %s: an enrollment needs an agent id and "
				   "the certificate's SHA-256 in 64 hex digits", s->spec);
	return s->ops->enrollment_add(s, agent_id, token_id, cert_sha256_hex, peer, now_us, e);
}

int store_agent_id_taken(struct store *s, const char *agent_id, bool *taken, struct pst_err *e)
{
	*taken = false;
	NEED_OP(s, agent_id_taken, e);
	if (agent_id == NULL)
		return pst_err_set(e, PST_E_INVAL, "store %s: no agent id given", s->spec);
	return s->ops->agent_id_taken(s, agent_id, taken, e);
}

int store_evidence_begin(struct store *s, struct store_evidence_head *last, struct pst_err *e)
{
	return s->ops->evidence_begin(s, last, e);
}

int store_evidence_last(struct store *s, struct store_evidence_head *last, struct pst_err *e)
{
	return s->ops->evidence_last(s, last, e);
}

int store_evidence_insert(struct store *s, const struct store_evidence_put *p,
			  struct pst_err *e)
{
	return s->ops->evidence_insert(s, p, e);
}

int store_evidence_list(struct store *s, const struct store_page *pg, json_t **out,
			struct pst_err *e)
{
	return s->ops->evidence_list(s, pg, out, e);
}

int store_evidence_get(struct store *s, const char *id, char **env, size_t *len,
		       char sha256[65], struct pst_err *e)
{
	*env = NULL;
	*len = 0;
	return s->ops->evidence_get(s, id, env, len, sha256, e);
}
