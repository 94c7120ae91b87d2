/*
 * store_sqlite_write.c - the write path of the SQLite backend:
 * store_put_reports() stores a batch of reports in one transaction, and
 * with them what follows from each result's change of status (store.h,
 * schema version 2): violations opened and resolved, the alerts these
 * cause, the tallies of latest results and today's trend rows, and the
 * result's controls one per row.  Every statement here is prepared once
 * at open (store_sqlite.c); nothing scans a table per commit.
 */
#include "store_sqlite.h"

#include <stdlib.h>
#include <string.h>

/* --- JSON of evidence and controls ---------------------------------------- */

static int set_str(json_t *o, const char *key, const char *v)
{
	return v == NULL ? 0 : json_object_set_new(o, key, json_string(v));
}

/* JSON text of the evidence items, [{subject, observed, expected, location, ok}]. */
static char *evidence_json(const struct store_result *r)
{
	json_t *a = json_array();
	char *text = NULL;
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < r->nevidence; i++) {
		const struct store_evidence *ev = &r->evidence[i];
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(a, o) != 0 ||
		    set_str(o, "subject", ev->subject) != 0 ||
		    set_str(o, "observed", ev->observed) != 0 ||
		    set_str(o, "expected", ev->expected) != 0 ||
		    set_str(o, "location", ev->location) != 0 ||
		    json_object_set_new(o, "ok", json_boolean(ev->ok)) != 0)
			goto out;
	}
	text = json_dumps(a, JSON_COMPACT);
out:
	json_decref(a);
	return text;
}

/* JSON text of the control mappings, {"iso27001": ["A.8.2"], ...}. */
static char *controls_json(const struct store_result *r)
{
	json_t *o = json_object();
	char *text = NULL;
	size_t i, j;

	if (o == NULL)
		return NULL;
	for (i = 0; i < r->ncontrols; i++) {
		const struct store_control *c = &r->controls[i];
		json_t *ids = json_object_get(o, c->framework);

		if (ids == NULL) {
			ids = json_array();
			if (ids == NULL || json_object_set_new(o, c->framework, ids) != 0)
				goto out;
		}
		for (j = 0; j < c->nids; j++)
			if (c->ids[j] != NULL && json_array_append_new(ids, json_string(c->ids[j])) != 0)
				goto out;
	}
	text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return text;
}

/* --- reports --------------------------------------------------------------- */

static int put_policies(struct sqlite_store *q, const struct store_report *r, int64_t scan,
			struct pst_err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < r->npolicies; i++) {
		const struct store_policy *p = &r->policies[i];
		sqlite3_stmt *st = q->stmt[S_POLICY_INSERT];
		char hex[65];
		int64_t id;

		sq_hex32(p->sha256, hex);
		sq_bind_text(st, 1, p->id);
		sq_bind_text(st, 2, p->version);
		sq_bind_text(st, 3, hex);
		sqlite3_bind_int64(st, 4, r->received_us);
		rc = sq_step(q, st, e, "recording a policy");
		if (rc < 0)
			return rc;
		st = q->stmt[S_POLICY_ID];
		sq_bind_text(st, 1, p->id);
		sq_bind_text(st, 2, p->version);
		sq_bind_text(st, 3, hex);
		rc = sqlite3_step(st);
		id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_ROW)
			return sq_fail(q, rc, e, "finding a policy");
		st = q->stmt[S_SCAN_POLICY];
		sqlite3_bind_int64(st, 1, scan);
		sqlite3_bind_int64(st, 2, id);
		rc = sq_step(q, st, e, "linking a scan to its policy");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * The latest result of one check, and a transition when its status
 * changed.  A report older than the stored result (delivered late) keeps
 * its scan row but changes neither.
 */
static int put_result(struct sqlite_store *q, const struct store_report *r,
		      const struct store_result *res, int64_t at, struct pst_err *e)
{
	const char *status = store_status_name(res->status);
	char *evidence = NULL, *controls = NULL;
	char *old_status = NULL;
	bool exists = false;
	int64_t old_seq = 0, changed_at = at;
	sqlite3_stmt *st;
	int rc;

	st = q->stmt[S_RESULT_GET];
	sq_bind_text(st, 1, r->agent_id);
	sq_bind_text(st, 2, res->policy_id);
	sq_bind_text(st, 3, res->check_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *s0 = (const char *)sqlite3_column_text(st, 0);

		exists = true;
		old_status = strdup(s0 != NULL ? s0 : "unknown");
		old_seq = sqlite3_column_int64(st, 1);
		changed_at = sqlite3_column_int64(st, 2);
		rc = old_status != NULL ? SQLITE_DONE : SQLITE_NOMEM;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		rc = sq_fail(q, rc, e, "reading a check's latest result");
		goto out;
	}
	if (exists && old_seq > (int64_t)r->seq) {
		rc = 0;
		goto out;
	}
	evidence = evidence_json(res);
	controls = controls_json(res);
	if (evidence == NULL || controls == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	if (!exists || strcmp(old_status, status) != 0) {
		changed_at = at;
		st = q->stmt[S_TRANSITION];
		sq_bind_text(st, 1, r->agent_id);
		sq_bind_text(st, 2, res->policy_id);
		sq_bind_text(st, 3, res->check_id);
		sq_bind_text(st, 4, old_status);
		sq_bind_text(st, 5, status);
		sqlite3_bind_int64(st, 6, at);
		sqlite3_bind_int64(st, 7, (int64_t)r->seq);
		sq_bind_text(st, 8, evidence);
		rc = sq_step(q, st, e, "recording a status transition");
		if (rc < 0)
			goto out;
	}
	st = q->stmt[S_RESULT_PUT];
	sq_bind_text(st, 1, r->agent_id);
	sq_bind_text(st, 2, res->policy_id);
	sq_bind_text(st, 3, res->check_id);
	sq_bind_text(st, 4, res->title);
	sq_bind_text(st, 5, res->category);
	sq_bind_text(st, 6, store_severity_name(res->severity));
	sq_bind_text(st, 7, status);
	sq_bind_text(st, 8, controls);
	sq_bind_text(st, 9, evidence);
	sq_bind_text(st, 10, res->remediation);
	sq_bind_text(st, 11, res->reason);
	sqlite3_bind_int64(st, 12, res->duration_us > INT64_MAX ? INT64_MAX
								 : (int64_t)res->duration_us);
	sqlite3_bind_int64(st, 13, (int64_t)r->seq);
	sqlite3_bind_int64(st, 14, changed_at);
	sqlite3_bind_int64(st, 15, at);
	rc = sq_step(q, st, e, "recording a check's latest result");
out:
	free(old_status);
	free(evidence);
	free(controls);
	if (rc < 0)
		pst_err_prefix(e, "check %.200s/%.200s", res->policy_id, res->check_id);
	return rc;
}

/* Store one report that is not yet stored. */
static int put_report(struct sqlite_store *q, const struct store_report *r, struct pst_err *e)
{
	size_t i, count[STORE_NOT_APPLICABLE + 1] = {0};
	/* When a check was seen: the scan's end as the agent measured it;
	 * the collector's clock only when the agent gave none. */
	int64_t at = r->finished_us != 0 ? r->finished_us : r->received_us;
	sqlite3_stmt *st;
	int64_t scan;
	int rc;

	for (i = 0; i < r->nresults; i++)
		count[r->results[i].status]++;

	st = q->stmt[S_HOST_REPORT];
	sq_bind_text(st, 1, r->agent_id);
	sq_bind_facts(st, &r->facts);
	sqlite3_bind_int64(st, 9, r->received_us);
	sqlite3_bind_int64(st, 10, (int64_t)r->seq);
	sq_bind_int_or_null(st, 11, r->facts.scan_interval_s, 0);
	rc = sq_step(q, st, e, "updating the host");
	if (rc < 0)
		return rc;

	st = q->stmt[S_SCAN_INSERT];
	sq_bind_text(st, 1, r->agent_id);
	sqlite3_bind_int64(st, 2, (int64_t)r->seq);
	sq_bind_text(st, 3, r->scan_id);
	sqlite3_bind_int64(st, 4, r->started_us);
	sqlite3_bind_int64(st, 5, r->finished_us);
	sqlite3_bind_int64(st, 6, r->received_us);
	sqlite3_bind_int64(st, 7, (int64_t)count[STORE_PASS]);
	sqlite3_bind_int64(st, 8, (int64_t)count[STORE_FAIL]);
	sqlite3_bind_int64(st, 9, (int64_t)count[STORE_ERROR]);
	sqlite3_bind_int64(st, 10, (int64_t)count[STORE_NOT_APPLICABLE]);
	if (count[STORE_PASS] + count[STORE_FAIL] > 0)
		sqlite3_bind_double(st, 11, 100.0 * (double)count[STORE_PASS] /
						    (double)(count[STORE_PASS] + count[STORE_FAIL]));
	else
		sqlite3_bind_null(st, 11);
	rc = sq_step(q, st, e, "recording the scan");
	if (rc < 0)
		return rc;
	scan = sqlite3_last_insert_rowid(q->db);

	rc = put_policies(q, r, scan, e);
	for (i = 0; rc == 0 && i < r->nresults; i++)
		rc = put_result(q, r, &r->results[i], at, e);
	return rc;
}

int sq_put_reports(struct store *s, struct store_report *const *reports, size_t n,
		   bool *duplicate, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	size_t i;
	int rc;

	rc = sq_step(q, q->stmt[S_BEGIN], e, "starting a transaction");
	if (rc < 0) {
		pst_err_prefix(e, "store %.300s", q->path);
		return rc;
	}
	for (i = 0; i < n; i++) {
		const struct store_report *r = reports[i];
		sqlite3_stmt *st = q->stmt[S_SCAN_EXISTS];

		/* Also finds a report stored earlier in this same batch. */
		sq_bind_text(st, 1, r->agent_id);
		sqlite3_bind_int64(st, 2, (int64_t)r->seq);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			rc = sq_fail(q, rc, e, "looking for a stored report");
			goto out;
		}
		duplicate[i] = rc == SQLITE_ROW;
		if (duplicate[i])
			continue;
		rc = put_report(q, r, e);
		if (rc < 0) {
			pst_err_prefix(e, "report %llu of %.200s", (unsigned long long)r->seq,
				       r->agent_id);
			goto out;
		}
	}
	rc = sq_step(q, q->stmt[S_COMMIT], e, "committing");
out:
	if (rc < 0) {
		/* A failed COMMIT may leave the transaction open: end it. */
		if (!sqlite3_get_autocommit(q->db))
			sq_step(q, q->stmt[S_ROLLBACK], NULL, "rolling back");
		for (i = 0; i < n; i++)
			duplicate[i] = false;
		pst_err_prefix(e, "store %.300s", q->path);
	}
	return rc;
}

