/*
 * store_sqlite_admin.c - the SQLite backend's small tables that are not
 * written by reports (store.h, schema version 2): the alert queue and its
 * log (alerts.h takes from it), hosts going stale, API tokens (kept as
 * the hex of their SHA-256) and enrollments.  None of these is on the
 * report path, so each prepares its statements as it goes; those that
 * write more than one row do so in one transaction.
 */
#include "store_sqlite.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "log.h"
#include "timefmt.h"

/* --- transactions ---------------------------------------------------------- */

static int tx_begin(struct sqlite_store *q, struct pst_err *e)
{
	return sq_step(q, q->stmt[S_BEGIN], e, "starting a transaction");
}

/* Commit when rc is 0, else roll back; returns rc or the commit's failure. */
static int tx_end(struct sqlite_store *q, int rc, struct pst_err *e)
{
	if (rc == 0)
		rc = sq_step(q, q->stmt[S_COMMIT], e, "committing");
	if (rc < 0 && !sqlite3_get_autocommit(q->db))
		sq_step(q, q->stmt[S_ROLLBACK], NULL, "rolling back");
	return rc;
}

/* Run st (bound) to completion; *changes receives the rows it changed. */
static int run(struct sqlite_store *q, sqlite3_stmt *st, int *changes, struct pst_err *e,
	       const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(q, rc, e, what);
	if (changes != NULL)
		*changes = sqlite3_changes(q->db);
	return 0;
}

/* --- alerts ------------------------------------------------------------------ */

int sq_alerts_due(struct store *s, int64_t now_us, size_t max, struct store_alert **out,
		  size_t *n, struct pst_err *e)
{
	static const char sql[] =
		"SELECT id, kind, created, body, attempts, next_attempt, logged FROM alerts"
		" WHERE logged = 0 OR next_attempt <= ?1 ORDER BY id LIMIT ?2";
	struct sqlite_store *q = sq(s);
	struct store_alert *v = NULL;
	sqlite3_stmt *st;
	size_t cnt = 0;
	int rc;

	if ((rc = sq_prepare(q, sql, &st, e, "reading due alerts")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, now_us);
	sqlite3_bind_int64(st, 2, max > 100000 ? 100000 : (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_alert *a;
		const char *body = sq_col_text(st, 3);

		if (cnt % 16 == 0) {
			struct store_alert *nv = realloc(v, (cnt + 16) * sizeof(*v));

			if (nv == NULL)
				goto nomem;
			v = nv;
		}
		a = &v[cnt];
		*a = (struct store_alert){
			.id = sqlite3_column_int64(st, 0),
			.created_us = sqlite3_column_int64(st, 2),
			.attempts = (uint32_t)sqlite3_column_int64(st, 4),
			.next_attempt_us = sqlite3_column_int64(st, 5),
			.logged = sqlite3_column_int64(st, 6) != 0,
		};
		snprintf(a->kind, sizeof(a->kind), "%s",
			 sq_col_text(st, 1) != NULL ? sq_col_text(st, 1) : "");
		a->body = strdup(body != NULL ? body : "{}");
		if (a->body == NULL)
			goto nomem;
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		rc = sq_fail(q, rc, e, "reading due alerts");
		pst_err_prefix(e, "store %.300s", q->path);
		goto fail;
	}
	sqlite3_finalize(st);
	*out = v;
	*n = cnt;
	return 0;
nomem:
	rc = pst_err_set(e, PST_E_NOMEM, "store %.300s: reading due alerts: out of memory",
			 q->path);
fail:
	sqlite3_finalize(st);
	for (size_t i = 0; i < cnt; i++)
		store_alert_cleanup(&v[i]);
	free(v);
	return rc;
}

/* Run a one-row update of alert id: PST_E_NOENT when no such alert. */
static int alert_update(struct sqlite_store *q, const char *sql, int64_t id, int64_t a2,
			const char *a3, struct pst_err *e, const char *what)
{
	sqlite3_stmt *st;
	int rc, changes = 0;

	if ((rc = sq_prepare(q, sql, &st, e, what)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_bind_parameter_count(st) >= 3) {
		sqlite3_bind_int64(st, 2, a2);
		sq_bind_text(st, 3, a3);
	}
	rc = run(q, st, &changes, e, what);
	sqlite3_finalize(st);
	if (rc == 0 && changes == 0)
		rc = pst_err_set(e, PST_E_NOENT, "%s: no alert %lld in the queue (delivered or "
				 "given up already?)", what, (long long)id);
	if (rc < 0)
		pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

int sq_alert_logged(struct store *s, int64_t id, struct pst_err *e)
{
	return alert_update(sq(s), "UPDATE alerts SET logged = 1 WHERE id = ?1", id, 0, NULL, e,
			    "marking an alert logged");
}

/* Move alert id from the queue to the log with outcome, at, and the final attempt count. */
static int alert_retire(struct sqlite_store *q, int64_t id, const char *outcome, int64_t at_us,
			uint32_t more_attempts, const char *error, struct pst_err *e)
{
	static const char ins[] =
		"INSERT INTO alert_log (id, kind, created, body, attempts, outcome, at, last_error)"
		" SELECT id, kind, created, body, attempts + ?3, ?4, ?2, coalesce(?5, last_error)"
		" FROM alerts WHERE id = ?1";
	sqlite3_stmt *st = NULL;
	int rc, changes = 0;

	if ((rc = tx_begin(q, e)) < 0)
		goto out;
	if ((rc = sq_prepare(q, ins, &st, e, "logging an alert")) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at_us);
	sqlite3_bind_int64(st, 3, more_attempts);
	sq_bind_text(st, 4, outcome);
	sq_bind_text(st, 5, error);
	rc = run(q, st, &changes, e, "logging an alert");
	sqlite3_finalize(st);
	st = NULL;
	if (rc == 0 && changes == 0)
		rc = pst_err_set(e, PST_E_NOENT, "no alert %lld in the queue (delivered or given "
				 "up already?)", (long long)id);
	if (rc < 0)
		goto out;
	if ((rc = sq_prepare(q, "DELETE FROM alerts WHERE id = ?1", &st, e,
			     "removing an alert from the queue")) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	rc = run(q, st, NULL, e, "removing an alert from the queue");
out:
	sqlite3_finalize(st);
	rc = tx_end(q, rc, e);
	if (rc < 0)
		pst_err_prefix(e, "store %.300s: alert %lld", q->path, (long long)id);
	return rc;
}

int sq_alert_delivered(struct store *s, int64_t id, int64_t now_us, struct pst_err *e)
{
	return alert_retire(sq(s), id, "delivered", now_us, 0, NULL, e);
}

int sq_alert_failed(struct store *s, int64_t id, int64_t next_us, const char *error,
		    struct pst_err *e)
{
	if (next_us == 0)
		return alert_retire(sq(s), id, "given_up", timefmt_now_us(), 1,
				    error != NULL ? error : "given up", e);
	return alert_update(sq(s),
			    "UPDATE alerts SET attempts = attempts + 1, next_attempt = ?2,"
			    " last_error = ?3 WHERE id = ?1",
			    id, next_us, error, e, "recording a failed delivery");
}

int sq_alerts_pending(struct store *s, uint64_t *n, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	int64_t v = 0;
	int rc = sq_query_int(q, "SELECT count(*) FROM alerts", &v, e);

	if (rc < 0) {
		pst_err_prefix(e, "store %.300s", q->path);
		return rc;
	}
	*n = (uint64_t)v;
	return 0;
}

/* --- hosts going stale --------------------------------------------------------- */

static char *stale_body(const char *agent_id, const char *hostname, int64_t now_us,
			int64_t last_report_us, int64_t stale_after_s)
{
	json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:I}", "kind", "host_stale", "at",
			      sq_json_time(now_us), "host", agent_id, "hostname",
			      sq_json_str(hostname), "last_report", sq_json_time(last_report_us),
			      "stale_after_s", (json_int_t)stale_after_s);
	char *text;

	if (o == NULL)
		return NULL;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

int sq_mark_stale(struct store *s, const struct store_view *v, size_t *n, struct pst_err *e)
{
	/* Not per commit: a timer's scan over the hosts. */
	static const char sql[] =
		"SELECT agent_id, hostname, coalesce(last_report, 0),"
		"  ?3 * coalesce(scan_interval_s, ?2)"
		" FROM hosts WHERE stale_at IS NULL"
		"  AND ?1 - coalesce(last_report, first_seen) > ?3 * coalesce(scan_interval_s, ?2) * 1000000"
		" ORDER BY agent_id";
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st = NULL, *mark = NULL;
	size_t cnt = 0;
	int rc;

	if ((rc = tx_begin(q, e)) < 0)
		goto out;
	if ((rc = sq_prepare(q, sql, &st, e, "finding stale hosts")) < 0 ||
	    (rc = sq_prepare(q, "UPDATE hosts SET stale_at = ?2 WHERE agent_id = ?1", &mark, e,
			     "marking a host stale")) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, v->now_us);
	sqlite3_bind_int64(st, 2, v->default_interval_s > 0 ? v->default_interval_s : 3600);
	sqlite3_bind_int64(st, 3, v->stale_intervals > 0 ? v->stale_intervals : 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = sq_col_text(st, 0);
		char *body = stale_body(id, sq_col_text(st, 1), v->now_us,
					sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
		sqlite3_stmt *ins = q->stmt[S_ALERT_INSERT];

		if (body == NULL) {
			rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
			goto out;
		}
		sq_bind_text(ins, 1, "host_stale");
		sqlite3_bind_int64(ins, 2, v->now_us);
		sq_bind_text(ins, 3, body);
		rc = sq_step(q, ins, e, "queueing a host_stale alert");
		free(body);
		if (rc < 0)
			goto out;
		sq_bind_text(mark, 1, id);
		sqlite3_bind_int64(mark, 2, v->now_us);
		rc = run(q, mark, NULL, e, "marking a host stale");
		sqlite3_reset(mark);
		if (rc < 0)
			goto out;
		cnt++;
	}
	rc = rc == SQLITE_DONE ? 0 : sq_fail(q, rc, e, "finding stale hosts");
out:
	sqlite3_finalize(st);
	sqlite3_finalize(mark);
	rc = tx_end(q, rc, e);
	if (rc < 0) {
		pst_err_prefix(e, "store %.300s", q->path);
		return rc;
	}
	*n = cnt;
	return 0;
}

/* --- tokens -------------------------------------------------------------------- */

#define TOKEN_COLS                                                                        \
	"id, name, role, created, coalesce(expires, 0), coalesce(uses_left, -1),"          \
	" coalesce(last_used, 0), revoked"

static void token_fill(sqlite3_stmt *st, struct store_token *t)
{
	const char *name = sq_col_text(st, 1);

	*t = (struct store_token){
		.id = sqlite3_column_int64(st, 0),
		.created_us = sqlite3_column_int64(st, 3),
		.expires_us = sqlite3_column_int64(st, 4),
		.uses_left = sqlite3_column_int64(st, 5),
		.last_used_us = sqlite3_column_int64(st, 6),
		.revoked = sqlite3_column_int64(st, 7) != 0,
	};
	snprintf(t->name, sizeof(t->name), "%s", name != NULL ? name : "");
	store_role_parse(sq_col_text(st, 2), &t->role);
}

int sq_token_add(struct store *s, const uint8_t hash[32], const struct store_token *t,
		 int64_t *id, struct pst_err *e)
{
	static const char sql[] =
		"INSERT INTO tokens (hash, name, role, created, expires, uses_left, last_used,"
		"  revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)";
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st;
	char hex[65];
	int rc;

	if ((rc = sq_prepare(q, sql, &st, e, "adding a token")) < 0)
		return rc;
	hex_encode(hash, 32, hex);
	sq_bind_text(st, 1, hex);
	sq_bind_text(st, 2, t->name);
	sq_bind_text(st, 3, store_role_name(t->role));
	sqlite3_bind_int64(st, 4, t->created_us);
	sq_bind_int_or_null(st, 5, t->expires_us, 0);
	sq_bind_int_or_null(st, 6, t->uses_left, -1);
	sqlite3_bind_int(st, 7, t->revoked ? 1 : 0);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && sqlite3_extended_errcode(q->db) == SQLITE_CONSTRAINT_UNIQUE)
		rc = pst_err_set(e, PST_E_INVAL, "token \"%s\": a token with the same hash exists: "
				 "make a new token", t->name);
	else if (rc != SQLITE_DONE)
		rc = sq_fail(q, rc, e, "adding a token");
	else
		rc = 0;
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(q->db);
	sqlite3_finalize(st);
	if (rc < 0)
		pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

/* Look a token up by hash into t: 0, PST_E_NOENT or a store error (no prefix). */
static int token_get(struct sqlite_store *q, const char *hex, struct store_token *t,
		     struct pst_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prepare(q, "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?1", &st, e,
			     "looking a token up")) < 0)
		return rc;
	sq_bind_text(st, 1, hex);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		token_fill(st, t);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = pst_err_set(e, PST_E_NOENT, "unknown token: check that it was copied whole, "
				 "or make a new one");
	} else {
		rc = sq_fail(q, rc, e, "looking a token up");
	}
	sqlite3_finalize(st);
	return rc;
}

/* PST_E_ACCES with the reason when t may not be used at now_us. */
static int token_usable(const struct store_token *t, int64_t now_us, bool spending,
			struct pst_err *e)
{
	char when[64];

	if (t->revoked)
		return pst_err_set(e, PST_E_ACCES, "token \"%s\" (id %lld) was revoked: ask an "
				   "admin for a new one", t->name, (long long)t->id);
	if (t->expires_us != 0 && now_us >= t->expires_us) {
		timefmt_rfc3339(t->expires_us, when, sizeof(when));
		return pst_err_set(e, PST_E_ACCES, "token \"%s\" (id %lld) expired at %s: ask an "
				   "admin for a new one", t->name, (long long)t->id, when);
	}
	if (spending && t->uses_left == 0)
		return pst_err_set(e, PST_E_ACCES, "token \"%s\" (id %lld) is spent: it has no "
				   "uses left; ask an admin for a new one", t->name,
				   (long long)t->id);
	return 0;
}

#define LAST_USED_GRAIN_US 60000000LL

int sq_token_find(struct store *s, const uint8_t hash[32], int64_t now_us,
		  struct store_token *t, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	struct pst_err we = {0};
	sqlite3_stmt *st;
	char hex[65];
	int rc;

	hex_encode(hash, 32, hex);
	rc = token_get(q, hex, t, e);
	if (rc == 0)
		rc = token_usable(t, now_us, false, e);
	if (rc < 0) {
		if (rc != PST_E_NOENT && rc != PST_E_ACCES)
			pst_err_prefix(e, "store %.300s", q->path);
		return rc;
	}
	if (t->last_used_us != 0 && now_us - t->last_used_us < LAST_USED_GRAIN_US)
		return 0;
	/* Bookkeeping: a failure here does not refuse the request. */
	if (sq_prepare(q, "UPDATE tokens SET last_used = ?2 WHERE id = ?1"
		       " AND (last_used IS NULL OR last_used < ?2)", &st, &we,
		       "recording a token's use") == 0) {
		sqlite3_bind_int64(st, 1, t->id);
		sqlite3_bind_int64(st, 2, now_us);
		if (run(q, st, NULL, &we, "recording a token's use") == 0)
			t->last_used_us = now_us;
		else
			log_warn("store %s: token %lld: %s", q->path, (long long)t->id, we.msg);
		sqlite3_finalize(st);
	} else {
		log_warn("%s", we.msg);
	}
	return 0;
}

int sq_token_spend(struct store *s, const uint8_t hash[32], int64_t now_us,
		   struct store_token *t, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	char hex[65];
	int rc;

	hex_encode(hash, 32, hex);
	/* Read and decrement under the write lock, so two enrollments cannot
	 * spend the same last use. */
	if ((rc = tx_begin(q, e)) < 0)
		goto out;
	if ((rc = token_get(q, hex, t, e)) < 0 || (rc = token_usable(t, now_us, true, e)) < 0)
		goto out;
	if ((rc = sq_prepare(q, "UPDATE tokens SET uses_left = uses_left - 1, last_used = ?2"
			     " WHERE id = ?1", &st, e, "spending a token's use")) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, t->id);
	sqlite3_bind_int64(st, 2, now_us);
	rc = run(q, st, NULL, e, "spending a token's use");
	if (rc == 0) {
		if (t->uses_left > 0)
			t->uses_left--;
		t->last_used_us = now_us;
	}
out:
	sqlite3_finalize(st);
	rc = tx_end(q, rc, e);
	if (rc < 0 && rc != PST_E_NOENT && rc != PST_E_ACCES)
		pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

int sq_tokens(struct store *s, json_t **out, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	json_t *doc = NULL, *list;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prepare(q, "SELECT " TOKEN_COLS " FROM tokens ORDER BY id", &st, e,
			     "listing tokens")) < 0)
		return rc;
	list = json_array();
	doc = json_pack("{s:o}", "tokens", list);
	if (doc == NULL)
		goto nomem;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_token t;
		json_t *o;

		token_fill(st, &t);
		o = json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:b}", "id", (json_int_t)t.id,
			      "name", t.name, "role", store_role_name(t.role), "created_at",
			      sq_json_time(t.created_us), "expires_at", sq_json_time(t.expires_us),
			      "uses_left",
			      t.uses_left < 0 ? json_null() : json_integer((json_int_t)t.uses_left),
			      "last_used_at", sq_json_time(t.last_used_us), "revoked",
			      (int)t.revoked);
		if (o == NULL || json_array_append_new(list, o) != 0)
			goto nomem;
	}
	if (rc != SQLITE_DONE) {
		rc = sq_fail(q, rc, e, "listing tokens");
		pst_err_prefix(e, "store %.300s", q->path);
		goto fail;
	}
	sqlite3_finalize(st);
	*out = doc;
	return 0;
nomem:
	rc = pst_err_set(e, PST_E_NOMEM, "store %.300s: listing tokens: out of memory", q->path);
fail:
	sqlite3_finalize(st);
	json_decref(doc);
	return rc;
}

int sq_token_revoke(struct store *s, int64_t id, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st;
	int rc, changes = 0;

	if ((rc = sq_prepare(q, "UPDATE tokens SET revoked = 1 WHERE id = ?1", &st, e,
			     "revoking a token")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = run(q, st, &changes, e, "revoking a token");
	sqlite3_finalize(st);
	if (rc == 0 && changes == 0)
		rc = pst_err_set(e, PST_E_NOENT, "no token with id %lld (see `token list`)",
				 (long long)id);
	if (rc < 0)
		pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

/* --- enrollments ------------------------------------------------------------------ */

int sq_enrollment_add(struct store *s, const char *agent_id, int64_t token_id,
		      const char *cert_sha256_hex, const char *peer, int64_t now_us,
		      struct pst_err *e)
{
	static const char sql[] =
		"INSERT INTO enrollments (agent_id, token, cert_sha256, peer, at)"
		" VALUES (?1, ?2, lower(?3), ?4, ?5)";
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prepare(q, sql, &st, e, "recording an enrollment")) < 0)
		return rc;
	sq_bind_text(st, 1, agent_id);
	sq_bind_int_or_null(st, 2, token_id, 0);
	sq_bind_text(st, 3, cert_sha256_hex);
	sq_bind_text(st, 4, peer);
	sqlite3_bind_int64(st, 5, now_us);
	rc = run(q, st, NULL, e, "recording an enrollment");
	sqlite3_finalize(st);
	if (rc < 0)
		pst_err_prefix(e, "store %.300s: agent %.200s", q->path, agent_id);
	return rc;
}

int sq_agent_id_taken(struct store *s, const char *agent_id, bool *taken, struct pst_err *e)
{
	static const char sql[] =
		"SELECT EXISTS (SELECT 1 FROM hosts WHERE agent_id = ?1)"
		"  OR EXISTS (SELECT 1 FROM enrollments WHERE agent_id = ?1)";
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prepare(q, sql, &st, e, "looking an agent id up")) < 0)
		return rc;
	sq_bind_text(st, 1, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*taken = sqlite3_column_int(st, 0) != 0;
		rc = 0;
	} else {
		rc = sq_fail(q, rc, e, "looking an agent id up");
		pst_err_prefix(e, "store %.300s", q->path);
	}
	sqlite3_finalize(st);
	return rc;
}
