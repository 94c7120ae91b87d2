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
