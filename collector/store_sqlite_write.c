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
#include "hex.h"
#include "timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- JSON of evidence and controls ---------------------------------------- */

static int set_str(json_t *o, const char *key, const char *v)
{
	return v == NULL ? 0 : json_object_set_new(o, key, json_string(v));
}

/* The evidence items, [{subject, observed, expected, location, ok}]; NULL: out of memory. */
static json_t *evidence_json(const struct store_result *r)
{
	json_t *a = json_array();
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
		    json_object_set_new(o, "ok", json_boolean(ev->ok)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The control mappings, {"iso27001": ["A.8.2"], ...}; NULL: out of memory. */
static json_t *controls_json(const struct store_result *r)
{
	json_t *o = json_object();
	size_t i, j;

	if (o == NULL)
		return NULL;
	for (i = 0; i < r->ncontrols; i++) {
		const struct store_control *c = &r->controls[i];
		json_t *ids = json_object_get(o, c->framework);

		if (ids == NULL) {
			ids = json_array();
			if (ids == NULL || json_object_set_new(o, c->framework, ids) != 0)
				goto fail;
		}
		for (j = 0; j < c->nids; j++)
			if (c->ids[j] != NULL && json_array_append_new(ids, json_string(c->ids[j])) != 0)
				goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* --- what a batch moves: tallies ------------------------------------------- */

enum { T_PASS, T_FAIL, T_ERROR, T_NA, T_N };

struct tally {
	char *scope;
	int64_t d[T_N];
};

/* State of one put_reports call, beyond the transaction. */
struct batch {
	struct tally *t;
	size_t nt, capt;
	bool stored;              /* a report was stored: the trend is due */
	int64_t last_received_us; /* the newest stored report's: its UTC day gets the trend */
};

static void batch_cleanup(struct batch *b)
{
	for (size_t i = 0; i < b->nt; i++)
		free(b->t[i].scope);
	free(b->t);
	*b = (struct batch){0};
}

static int tally_index(enum store_status st)
{
	switch (st) {
	case STORE_PASS: return T_PASS;
	case STORE_FAIL: return T_FAIL;
	case STORE_ERROR: return T_ERROR;
	case STORE_NOT_APPLICABLE: return T_NA;
	case STORE_STATUS_UNKNOWN: break;
	}
	return -1;
}

/* Add by to scope prefix+name's count of status (a handful of scopes: a linear search). */
static int tally_add(struct batch *b, const char *prefix, const char *name, int idx, int by)
{
	size_t plen = strlen(prefix), nlen = strlen(name);
	char *scope;
	size_t i;

	/* Called twice or more per result: compare in place, copy only a new scope. */
	for (i = 0; i < b->nt; i++)
		if (strncmp(b->t[i].scope, prefix, plen) == 0 &&
		    strcmp(b->t[i].scope + plen, name) == 0)
			break;
	if (i == b->nt) {
		if (b->nt == b->capt) {
			size_t cap = b->capt ? 2 * b->capt : 16;
			struct tally *nt = realloc(b->t, cap * sizeof(*nt));

			if (nt == NULL)
				return PST_E_NOMEM;
			b->t = nt;
			b->capt = cap;
		}
		scope = malloc(plen + nlen + 1);
		if (scope == NULL)
			return PST_E_NOMEM;
		memcpy(scope, prefix, plen);
		memcpy(scope + plen, name, nlen + 1);
		b->t[b->nt++] = (struct tally){.scope = scope};
	}
	b->t[i].d[idx] += by;
	return 0;
}

/* Move one latest result (status in category and severity) in or out (by = +1 / -1). */
static int tally_move(struct batch *b, enum store_status status, const char *category,
		      const char *severity, int by)
{
	int idx = tally_index(status), rc;

	if (idx < 0)
		return 0;
	if ((rc = tally_add(b, "fleet", "", idx, by)) < 0 ||
	    (rc = tally_add(b, "severity:", severity, idx, by)) < 0)
		return rc;
	if (category != NULL && (rc = tally_add(b, "category:", category, idx, by)) < 0)
		return rc;
	return 0;
}

/* Write the batch's tallies, then copy them all into the trend rows of its day. */
static int batch_flush(struct sqlite_store *q, struct batch *b, struct pst_err *e)
{
	char day[16];
	int rc;

	for (size_t i = 0; i < b->nt; i++) {
		const struct tally *t = &b->t[i];
		sqlite3_stmt *st = q->stmt[S_TALLY_MOVE];

		if (t->d[T_PASS] == 0 && t->d[T_FAIL] == 0 && t->d[T_ERROR] == 0 && t->d[T_NA] == 0)
			continue;
		sq_bind_text(st, 1, t->scope);
		for (int k = 0; k < T_N; k++)
			sqlite3_bind_int64(st, 2 + k, t->d[k]);
		if ((rc = sq_step(q, st, e, "moving the tallies")) < 0)
			return rc;
	}
	if (!b->stored)
		return 0;
	if (timefmt_day(b->last_received_us, day, sizeof(day)) != 0)
		return pst_err_set(e, PST_E_INVAL, "a report's received time is out of range");
	sq_bind_text(q->stmt[S_TREND_UPSERT], 1, day);
	return sq_step(q, q->stmt[S_TREND_UPSERT], e, "recording today's trend");
}

/* --- reports --------------------------------------------------------------- */

/* State of one report while its results are written. */
struct rctx {
	const struct store_report *r;
	char *hostname;           /* the host's, looked up for the first alert */
	bool have_hostname;
};

/* Run a statement that returns at most one id (RETURNING id); *id = 0 when no row. */
static int step_id(struct sqlite_store *q, sqlite3_stmt *st, int64_t *id, struct pst_err *e,
		   const char *what)
{
	int rc = sqlite3_step(st);

	*id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return sq_fail(q, rc, e, what);
}

static int rctx_hostname(struct sqlite_store *q, struct rctx *c, struct pst_err *e)
{
	sqlite3_stmt *st = q->stmt[S_HOSTNAME];
	int rc;

	if (c->have_hostname)
		return 0;
	sq_bind_text(st, 1, c->r->agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sq_col_text(st, 0) != NULL) {
		c->hostname = strdup(sq_col_text(st, 0));
		if (c->hostname == NULL)
			rc = SQLITE_NOMEM;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(q, rc, e, "reading the host's name");
	c->have_hostname = true;
	return 0;
}

/*
 * Queue an alert of kind about res, at the report's received time:
 * {"kind", "at", "host", "hostname", "policy_id", "check_id", "title",
 *  "severity", "category", "controls", "status", "evidence", "violation_id"}.
 */
static int put_alert(struct sqlite_store *q, struct rctx *c, const char *kind,
		     const struct store_result *res, json_t *controls, json_t *evidence,
		     int64_t violation_id, struct pst_err *e)
{
	const struct store_report *r = c->r;
	sqlite3_stmt *st = q->stmt[S_ALERT_INSERT];
	json_t *o;
	char *body;
	int rc;

	if ((rc = rctx_hostname(q, c, e)) < 0)
		return rc;
	o = json_pack("{s:s, s:o, s:s, s:o, s:s, s:s, s:o, s:s, s:o, s:O, s:s, s:O, s:I}",
		      "kind", kind, "at", sq_json_time(r->received_us), "host", r->agent_id,
		      "hostname", sq_json_str(c->hostname), "policy_id", res->policy_id,
		      "check_id", res->check_id, "title", sq_json_str(res->title), "severity",
		      store_severity_name(res->severity), "category", sq_json_str(res->category),
		      "controls", controls, "status", store_status_name(res->status), "evidence",
		      evidence, "violation_id", (json_int_t)violation_id);
	body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (body == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory building a %s alert", kind);
	sq_bind_text(st, 1, kind);
	sqlite3_bind_int64(st, 2, r->received_us);
	sq_bind_text(st, 3, body);
	rc = sq_step(q, st, e, "queueing an alert");
	free(body);
	return rc;
}

/* Replace the check's rows in result_controls with its controls now. */
static int put_controls(struct sqlite_store *q, const struct store_report *r,
			const struct store_result *res, struct pst_err *e)
{
	sqlite3_stmt *st = q->stmt[S_CONTROLS_DELETE];
	int rc;

	sq_bind_text(st, 1, r->agent_id);
	sq_bind_text(st, 2, res->policy_id);
	sq_bind_text(st, 3, res->check_id);
	if ((rc = sq_step(q, st, e, "replacing a check's controls")) < 0)
		return rc;
	st = q->stmt[S_CONTROLS_INSERT];
	for (size_t i = 0; i < res->ncontrols; i++)
		for (size_t j = 0; j < res->controls[i].nids; j++) {
			if (res->controls[i].ids[j] == NULL)
				continue;
			sq_bind_text(st, 1, r->agent_id);
			sq_bind_text(st, 2, res->policy_id);
			sq_bind_text(st, 3, res->check_id);
			sq_bind_text(st, 4, res->controls[i].framework);
			sq_bind_text(st, 5, res->controls[i].ids[j]);
			if ((rc = sq_step(q, st, e, "recording a check's controls")) < 0)
				return rc;
		}
	return 0;
}

/*
 * A status change's violation and alerts: entering fail opens a violation
 * unless one is open (error in between keeps it open), with
 * violation_opened and, for a critical check, critical_failure; pass or
 * not_applicable resolves the open one with violation_resolved.
 */
static int put_violation(struct sqlite_store *q, struct rctx *c, const struct store_result *res,
			 json_t *controls, const char *controls_text, json_t *evidence,
			 const char *evidence_text, struct pst_err *e)
{
	const struct store_report *r = c->r;
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	if (res->status == STORE_FAIL) {
		st = q->stmt[S_VIOLATION_OPEN];
		sq_bind_text(st, 1, r->agent_id);
		sq_bind_text(st, 2, res->policy_id);
		sq_bind_text(st, 3, res->check_id);
		sq_bind_text(st, 4, store_severity_name(res->severity));
		sq_bind_text(st, 5, res->category);
		sq_bind_text(st, 6, res->title);
		sq_bind_text(st, 7, controls_text);
		sq_bind_text(st, 8, evidence_text);
		sq_bind_text(st, 9, res->remediation);
		sqlite3_bind_int64(st, 10, r->received_us);
		sqlite3_bind_int64(st, 11, (int64_t)r->seq);
		if ((rc = step_id(q, st, &id, e, "opening a violation")) < 0 || id == 0)
			return rc;
		rc = put_alert(q, c, "violation_opened", res, controls, evidence, id, e);
		if (rc == 0 && res->severity == STORE_SEV_CRITICAL)
			rc = put_alert(q, c, "critical_failure", res, controls, evidence, id, e);
		return rc;
	}
	if (res->status != STORE_PASS && res->status != STORE_NOT_APPLICABLE)
		return 0;
	st = q->stmt[S_VIOLATION_RESOLVE];
	sq_bind_text(st, 1, r->agent_id);
	sq_bind_text(st, 2, res->policy_id);
	sq_bind_text(st, 3, res->check_id);
	sqlite3_bind_int64(st, 4, r->received_us);
	sqlite3_bind_int64(st, 5, (int64_t)r->seq);
	sq_bind_text(st, 6, store_status_name(res->status));
	if ((rc = step_id(q, st, &id, e, "resolving a violation")) < 0 || id == 0)
		return rc;
	return put_alert(q, c, "violation_resolved", res, controls, evidence, id, e);
}

/* The stored latest result of a check, as S_RESULT_GET reads it. */
struct old_result {
	bool exists;
	enum store_status status;
	int64_t seq, changed_at;
	char *category, *severity, *controls;
};

static void old_result_cleanup(struct old_result *o)
{
	free(o->category);
	free(o->severity);
	free(o->controls);
}

static char *dup_col(sqlite3_stmt *st, int i, bool *nomem)
{
	const char *t = sq_col_text(st, i);
	char *d;

	if (t == NULL)
		return NULL;
	if ((d = strdup(t)) == NULL)
		*nomem = true;
	return d;
}

static int get_old(struct sqlite_store *q, const struct store_report *r,
		   const struct store_result *res, struct old_result *o, struct pst_err *e)
{
	sqlite3_stmt *st = q->stmt[S_RESULT_GET];
	bool nomem = false;
	int rc;

	*o = (struct old_result){0};
	sq_bind_text(st, 1, r->agent_id);
	sq_bind_text(st, 2, res->policy_id);
	sq_bind_text(st, 3, res->check_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		o->exists = true;
		o->status = sq_status_parse(sq_col_text(st, 0));
		o->seq = sqlite3_column_int64(st, 1);
		o->changed_at = sqlite3_column_int64(st, 2);
		o->category = dup_col(st, 3, &nomem);
		o->severity = dup_col(st, 4, &nomem);
		o->controls = dup_col(st, 5, &nomem);
		rc = nomem ? SQLITE_NOMEM : SQLITE_DONE;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sq_fail(q, rc, e, "reading a check's latest result");
	return 0;
}

/*
 * The latest result of one check, a transition when its status changed,
 * and what follows (violations, alerts, tallies, controls).  A report
 * older than the stored result (delivered late) keeps its scan row but
 * changes none of these.
 */
static int put_result(struct sqlite_store *q, struct batch *b, struct rctx *c,
		      const struct store_result *res, int64_t at, struct pst_err *e)
{
	const struct store_report *r = c->r;
	const char *status = store_status_name(res->status);
	const char *severity = store_severity_name(res->severity);
	json_t *evidence = NULL, *controls = NULL;
	char *evidence_text = NULL, *controls_text = NULL;
	struct old_result old;
	int64_t changed_at = at;
	bool changed;
	sqlite3_stmt *st;
	int rc;

	if ((rc = get_old(q, r, res, &old, e)) < 0)
		goto out;
	if (old.exists && old.seq > (int64_t)r->seq)
		goto out;
	evidence = evidence_json(res);
	controls = controls_json(res);
	if (evidence != NULL)
		evidence_text = json_dumps(evidence, JSON_COMPACT);
	if (controls != NULL)
		controls_text = json_dumps(controls, JSON_COMPACT);
	if (evidence_text == NULL || controls_text == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory (or text that is not UTF-8)");
		goto out;
	}
	if ((old.exists &&
	     (rc = tally_move(b, old.status, old.category,
			      old.severity != NULL ? old.severity : "unknown", -1)) < 0) ||
	    (rc = tally_move(b, res->status, res->category, severity, +1)) < 0) {
		rc = pst_err_set(e, rc, "out of memory");
		goto out;
	}
	changed = !old.exists || old.status != res->status;
	if (changed) {
		st = q->stmt[S_TRANSITION];
		sq_bind_text(st, 1, r->agent_id);
		sq_bind_text(st, 2, res->policy_id);
		sq_bind_text(st, 3, res->check_id);
		sq_bind_text(st, 4, old.exists ? store_status_name(old.status) : NULL);
		sq_bind_text(st, 5, status);
		sqlite3_bind_int64(st, 6, at);
		sqlite3_bind_int64(st, 7, (int64_t)r->seq);
		sq_bind_text(st, 8, evidence_text);
		if ((rc = sq_step(q, st, e, "recording a status transition")) < 0)
			goto out;
		rc = put_violation(q, c, res, controls, controls_text, evidence, evidence_text, e);
		if (rc < 0)
			goto out;
	} else {
		changed_at = old.changed_at;
	}
	if (!old.exists || old.controls == NULL || strcmp(old.controls, controls_text) != 0) {
		if ((rc = put_controls(q, r, res, e)) < 0)
			goto out;
	}
	st = q->stmt[S_RESULT_PUT];
	sq_bind_text(st, 1, r->agent_id);
	sq_bind_text(st, 2, res->policy_id);
	sq_bind_text(st, 3, res->check_id);
	sq_bind_text(st, 4, res->title);
	sq_bind_text(st, 5, res->category);
	sq_bind_text(st, 6, severity);
	sq_bind_text(st, 7, status);
	sq_bind_text(st, 8, controls_text);
	sq_bind_text(st, 9, evidence_text);
	sq_bind_text(st, 10, res->remediation);
	sq_bind_text(st, 11, res->reason);
	sqlite3_bind_int64(st, 12, res->duration_us > INT64_MAX ? INT64_MAX
								 : (int64_t)res->duration_us);
	sqlite3_bind_int64(st, 13, (int64_t)r->seq);
	sqlite3_bind_int64(st, 14, changed_at);
	sqlite3_bind_int64(st, 15, at);
	rc = sq_step(q, st, e, "recording a check's latest result");
out:
	old_result_cleanup(&old);
	json_decref(evidence);
	json_decref(controls);
	free(evidence_text);
	free(controls_text);
	if (rc < 0)
		pst_err_prefix(e, "check %.200s/%.200s", res->policy_id, res->check_id);
	return rc;
}

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

		hex_encode(p->sha256, 32, hex);
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

/* Store one report that is not yet stored. */
static int put_report(struct sqlite_store *q, struct batch *b, const struct store_report *r,
		      struct pst_err *e)
{
	struct rctx c = {.r = r};
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
		rc = put_result(q, b, &c, &r->results[i], at, e);
	free(c.hostname);
	if (rc == 0) {
		b->stored = true;
		if (r->received_us > b->last_received_us)
			b->last_received_us = r->received_us;
	}
	return rc;
}

/*
 * Settings for the handle that stores reports, made on its first batch
 * (readers keep SQLite's defaults).  A batch writes tens of MiB: with the
 * default 2 MiB page cache SQLite spills dirty pages into the WAL in the
 * middle of the transaction and writes the same pages again and again; 64
 * MiB holds a batch.  The WAL is checkpointed every 64 MiB rather than
 * every 4 MiB (the default 1000 pages), after nearly every batch: a page
 * that several batches change is copied into the database once.
 */
static int writer_tune(struct sqlite_store *q, struct pst_err *e)
{
	int rc;

	if (q->writer_tuned)
		return 0;
	rc = sq_exec(q, "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384", e,
		     "setting the writer's page cache");
	if (rc == 0)
		q->writer_tuned = true;
	return rc;
}

int sq_put_reports(struct store *s, struct store_report *const *reports, size_t n,
		   bool *duplicate, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	struct batch b = {0};
	/* Inside store_begin()'s transaction: join it, and leave its end to
	 * the caller (store.h). */
	bool joined = !sqlite3_get_autocommit(q->db);
	size_t i;
	int rc;

	rc = writer_tune(q, e);
	if (rc == 0 && !joined)
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
		rc = put_report(q, &b, r, e);
		if (rc < 0) {
			pst_err_prefix(e, "report %llu of %.200s", (unsigned long long)r->seq,
				       r->agent_id);
			goto out;
		}
	}
	rc = batch_flush(q, &b, e);
	if (rc == 0 && !joined)
		rc = sq_step(q, q->stmt[S_COMMIT], e, "committing");
out:
	batch_cleanup(&b);
	if (rc < 0) {
		/* A failed COMMIT may leave the transaction open: end it. */
		if (!joined && !sqlite3_get_autocommit(q->db))
			sq_step(q, q->stmt[S_ROLLBACK], NULL, "rolling back");
		for (i = 0; i < n; i++)
			duplicate[i] = false;
		pst_err_prefix(e, "store %.300s", q->path);
	}
	return rc;
}

