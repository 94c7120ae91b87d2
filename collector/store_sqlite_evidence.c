/*
 * store_sqlite_evidence.c - evidence snapshots in the SQLite backend
 * (store.h, schema version 3): the transaction a snapshot is taken in,
 * the insert of its sealed envelope, the list newest first and the
 * envelope read back byte for byte.  The table's triggers refuse UPDATE
 * and DELETE; nothing here tries either.
 */
#include "store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVIDENCE_PAGE_DEFAULT 100

static int fail(struct sqlite_store *q, int rc, struct pst_err *e, const char *what)
{
	rc = sq_fail(q, rc, e, what);
	pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

static int read_last(struct sqlite_store *q, struct store_evidence_head *last,
		     struct pst_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(last, 0, sizeof(*last));
	if ((rc = sq_prepare(q, "SELECT seq, sha256 FROM evidence ORDER BY seq DESC LIMIT 1", &st,
			     e, "reading the last evidence snapshot")) < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *h = sq_col_text(st, 1);

		last->seq = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(last->sha256, sizeof(last->sha256), "%s", h != NULL ? h : "");
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = fail(q, rc, e, "reading the last evidence snapshot");
	}
	sqlite3_finalize(st);
	return rc;
}

int sq_evidence_begin(struct store *s, struct store_evidence_head *last, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	int rc;

	if (!sqlite3_get_autocommit(q->db))
		return pst_err_set(e, PST_E_STORE, "store %.300s: a transaction is already open; "
				   "an evidence snapshot needs its own", q->path);
	if ((rc = sq_step(q, q->stmt[S_BEGIN], e, "starting an evidence snapshot")) < 0) {
		pst_err_prefix(e, "store %.300s", q->path);
		return rc;
	}
	if ((rc = read_last(q, last, e)) < 0)
		sq_step(q, q->stmt[S_ROLLBACK], NULL, "rolling back");
	return rc;
}

int sq_evidence_last(struct store *s, struct store_evidence_head *last, struct pst_err *e)
{
	return read_last(sq(s), last, e);
}

int sq_evidence_insert(struct store *s, const struct store_evidence_put *p, struct pst_err *e)
{
	static const char sql[] =
		"INSERT INTO evidence (seq, id, taken_at, sha256, previous_sha256, scope, taken_by,"
		"  size, envelope) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_get_autocommit(q->db))
		return pst_err_set(e, PST_E_STORE, "store %.300s: evidence snapshot %s is inserted "
				   "outside store_evidence_begin()'s transaction", q->path, p->id);
	if (p->seq == 0 || p->seq > (uint64_t)INT64_MAX || p->len > (size_t)INT32_MAX)
		return pst_err_set(e, PST_E_INVAL, "store %.300s: evidence snapshot %s: sequence "
				   "number or size out of range", q->path, p->id);
	if ((rc = sq_prepare(q, sql, &st, e, "storing an evidence snapshot")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, (int64_t)p->seq);
	sq_bind_text(st, 2, p->id);
	sqlite3_bind_int64(st, 3, p->taken_at_us);
	sq_bind_text(st, 4, p->sha256);
	sq_bind_text(st, 5, p->previous_sha256);
	sq_bind_text(st, 6, p->scope_json);
	sq_bind_text(st, 7, p->taken_by_json);
	sqlite3_bind_int64(st, 8, (int64_t)p->len);
	sqlite3_bind_blob(st, 9, p->envelope, (int)p->len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : fail(q, rc, e, "storing an evidence snapshot");
	sqlite3_finalize(st);
	if (rc < 0)
		pst_err_prefix(e, "evidence snapshot %s", p->id);
	return rc;
}

/* A JSON column the collector wrote, as a value; null if it does not parse. */
static json_t *col_json(sqlite3_stmt *st, int i)
{
	const char *t = sq_col_text(st, i);
	json_t *v = t != NULL ? json_loads(t, JSON_REJECT_DUPLICATES, NULL) : NULL;

	return v != NULL ? v : json_null();
}

int sq_evidence_list(struct store *s, const struct store_page *pg, json_t **out,
		     struct pst_err *e)
{
	static const char sql[] =
		"SELECT seq, id, sha256, previous_sha256, taken_at, size, scope, taken_by"
		" FROM evidence WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2";
	struct sqlite_store *q = sq(s);
	uint32_t limit = pg != NULL && pg->limit >= 1 && pg->limit <= 1000 ? pg->limit
									   : EVIDENCE_PAGE_DEFAULT;
	json_t *doc = NULL, *list, *key = NULL;
	sqlite3_stmt *st = NULL;
	int64_t below = INT64_MAX, last = 0;
	uint32_t cnt = 0;
	int rc;

	*out = NULL;
	if ((rc = sq_cursor_parse(q, pg != NULL ? pg->cursor : NULL, 1, &key, e)) < 0)
		return rc;
	if (key != NULL) {
		json_t *k = json_array_get(key, 0);

		if (!json_is_integer(k) || json_integer_value(k) < 1) {
			json_decref(key);
			return sq_cursor_parse(q, "!", 1, &key, e);
		}
		below = json_integer_value(k);
		json_decref(key);
	}
	if ((rc = sq_prepare(q, sql, &st, e, "listing evidence snapshots")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, below);
	sqlite3_bind_int64(st, 2, (int64_t)limit + 1);
	list = json_array();
	doc = json_pack("{s:o, s:n}", "evidence", list, "next_cursor");
	if (doc == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "store %.300s: listing evidence: out of memory",
				 q->path);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *m;

		if (cnt == limit) {
			json_object_set_new(doc, "next_cursor",
					    sq_cursor_make(json_pack("[I]", (json_int_t)last)));
			break;
		}
		last = sqlite3_column_int64(st, 0);
		m = json_pack("{s:s, s:I, s:s, s:o, s:o, s:I, s:o, s:o}", "id", sq_col_text(st, 1),
			      "seq", (json_int_t)last, "sha256", sq_col_text(st, 2),
			      "previous_sha256", sq_json_str(sq_col_text(st, 3)), "taken_at",
			      sq_json_time(sqlite3_column_int64(st, 4)), "size",
			      (json_int_t)sqlite3_column_int64(st, 5), "scope", col_json(st, 6),
			      "taken_by", col_json(st, 7));
		if (m == NULL || json_array_append_new(list, m) != 0) {
			rc = pst_err_set(e, PST_E_NOMEM,
					 "store %.300s: listing evidence: out of memory", q->path);
			goto out;
		}
		cnt++;
	}
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(q, rc, e, "listing evidence snapshots");
out:
	sqlite3_finalize(st);
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

int sq_evidence_get(struct store *s, const char *id, char **env, size_t *len, char sha256[65],
		    struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sq_prepare(q, "SELECT envelope, sha256 FROM evidence WHERE id = ?1", &st, e,
			     "reading an evidence snapshot")) < 0)
		return rc;
	sq_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		const char *h = sq_col_text(st, 1);

		*env = malloc((size_t)n + 1);
		if (*env == NULL) {
			rc = pst_err_set(e, PST_E_NOMEM, "store %.300s: evidence snapshot %.64s: "
					 "out of memory", q->path, id);
		} else {
			if (n > 0)
				memcpy(*env, b, (size_t)n);
			(*env)[n] = '\0';
			*len = (size_t)n;
			snprintf(sha256, 65, "%s", h != NULL ? h : "");
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		rc = pst_err_set(e, PST_E_NOENT, "no evidence snapshot %.64s (GET /api/v1/evidence "
				 "lists them)", id);
	} else {
		rc = fail(q, rc, e, "reading an evidence snapshot");
	}
	sqlite3_finalize(st);
	return rc;
}
