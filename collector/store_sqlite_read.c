/*
 * store_sqlite_read.c - the SQLite backend's readers of schema version 2:
 * each builds the jansson document its comment in store.h gives (the HTTP
 * API's shape), from the tallies, violations and result_controls that
 * the write path keeps.  Pages are walked by key, never by offset: a
 * cursor is the base64url of a small JSON array holding the last key
 * served, so it stays opaque to clients and is checked when it comes back.
 *
 * Reads prepare their own statements, so they may run on any handle.
 */
#include "store_sqlite.h"
#include "timefmt.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_DEFAULT 100
#define DAY_US 86400000000LL

/* --- natural order of control ids (A.5.2 before A.5.10) --------------------- */

int sq_natural_cmp(void *arg, int la, const void *va, int lb, const void *vb)
{
	const unsigned char *a = va, *b = vb;
	int i = 0, j = 0;

	(void)arg;
	while (i < la && j < lb) {
		if (isdigit(a[i]) && isdigit(b[j])) {
			int si, sj, ni, nj, c;

			while (i < la && a[i] == '0' && i + 1 < la && isdigit(a[i + 1]))
				i++;
			while (j < lb && b[j] == '0' && j + 1 < lb && isdigit(b[j + 1]))
				j++;
			for (si = i; i < la && isdigit(a[i]); i++)
				;
			for (sj = j; j < lb && isdigit(b[j]); j++)
				;
			ni = i - si;
			nj = j - sj;
			if (ni != nj)
				return ni < nj ? -1 : 1;
			c = memcmp(a + si, b + sj, (size_t)ni);
			if (c != 0)
				return c < 0 ? -1 : 1;
			continue;
		}
		if (a[i] != b[j])
			return a[i] < b[j] ? -1 : 1;
		i++;
		j++;
	}
	if (la - i != lb - j)
		return la - i < lb - j ? -1 : 1;
	/* Equal by number but not by text ("A.05" and "A.5"): keep them apart. */
	if (la != lb)
		return la < lb ? -1 : 1;
	i = memcmp(a, b, (size_t)la);
	return i < 0 ? -1 : i > 0;
}

/* --- small pieces ------------------------------------------------------------- */

static int nomem(struct sqlite_store *q, struct pst_err *e, const char *what)
{
	return pst_err_set(e, PST_E_NOMEM, "store %.300s: %s: out of memory", q->path, what);
}

static int read_fail(struct sqlite_store *q, int rc, struct pst_err *e, const char *what)
{
	rc = sq_fail(q, rc, e, what);
	pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

/*
 * A read transaction, so that the parts of one document agree with one
 * commit; inside a transaction the caller opened (an evidence snapshot
 * being taken) that one is used and left open.
 */
static int read_begin(struct sqlite_store *q, bool *own, struct pst_err *e)
{
	int rc;

	*own = sqlite3_get_autocommit(q->db) != 0;
	if (!*own)
		return 0;
	if ((rc = sq_exec(q, "BEGIN", e, "starting a read")) < 0)
		pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

static void read_end(struct sqlite_store *q, bool own)
{
	if (own)
		sq_exec(q, "COMMIT", NULL, "ending a read");
}

/* {"score", "pass", "fail"} */
static json_t *tally_obj(int64_t pass, int64_t fail)
{
	return json_pack("{s:o, s:I, s:I}", "score", sq_json_score(pass, fail), "pass",
			 (json_int_t)pass, "fail", (json_int_t)fail);
}

/* A JSON column parsed, or fallback (a new empty array or object) when absent or damaged. */
static json_t *json_col(sqlite3_stmt *st, int i, bool object)
{
	const char *t = sq_col_text(st, i);
	json_t *v = t != NULL ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;

	if (v == NULL || (object ? !json_is_object(v) : !json_is_array(v))) {
		json_decref(v);
		v = object ? json_object() : json_array();
	}
	return v;
}

static json_t *col_str(sqlite3_stmt *st, int i)
{
	return sq_json_str(sq_col_text(st, i));
}

static json_t *col_int_or_null(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return json_null();
	return json_integer((json_int_t)sqlite3_column_int64(st, i));
}

static bool known_status(const char *s)
{
	return sq_status_parse(s) != STORE_STATUS_UNKNOWN;
}

static bool known_severity(const char *s)
{
	return sq_severity_parse(s) != STORE_SEV_UNKNOWN;
}

static const char *const std_categories[] = {"access_control", "patch", "backup"};
static const char *const severities[] = {"critical", "high", "medium", "low"};

/* Bind the view: ?1 now, ?2 stale intervals, ?3 default interval (as store_mark_stale). */
static void bind_view(sqlite3_stmt *st, const struct store_view *v)
{
	sqlite3_bind_int64(st, 1, v->now_us);
	sqlite3_bind_int64(st, 2, v->stale_intervals > 0 ? v->stale_intervals : 1);
	sqlite3_bind_int64(st, 3, v->default_interval_s > 0 ? v->default_interval_s : 3600);
}

#define STALE_EXPR                                                                         \
	"(?1 - coalesce(h.last_report, h.first_seen) >"                                    \
	" ?2 * coalesce(h.scan_interval_s, ?3) * 1000000)"

/* --- cursors: base64url of a compact JSON array ---------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static json_t *cursor_make(json_t *key)
{
	char *text = key != NULL ? json_dumps(key, JSON_COMPACT) : NULL;
	size_t n, i, o = 0;
	json_t *out = NULL;
	char *enc;

	json_decref(key);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	enc = malloc(4 * (n / 3 + 1) + 1);
	if (enc != NULL) {
		for (i = 0; i + 2 < n; i += 3) {
			uint32_t v = (uint32_t)(unsigned char)text[i] << 16 |
				     (uint32_t)(unsigned char)text[i + 1] << 8 |
				     (unsigned char)text[i + 2];

			enc[o++] = b64[v >> 18];
			enc[o++] = b64[(v >> 12) & 63];
			enc[o++] = b64[(v >> 6) & 63];
			enc[o++] = b64[v & 63];
		}
		if (n - i == 1) {
			uint32_t v = (uint32_t)(unsigned char)text[i] << 16;

			enc[o++] = b64[v >> 18];
			enc[o++] = b64[(v >> 12) & 63];
		} else if (n - i == 2) {
			uint32_t v = (uint32_t)(unsigned char)text[i] << 16 |
				     (uint32_t)(unsigned char)text[i + 1] << 8;

			enc[o++] = b64[v >> 18];
			enc[o++] = b64[(v >> 12) & 63];
			enc[o++] = b64[(v >> 6) & 63];
		}
		enc[o] = '\0';
		out = json_string(enc);
		free(enc);
	}
	free(text);
	return out;
}

#define CURSOR_MAX 4096

/*
 * Decode a cursor into its JSON array of nkeys elements; NULL cursor: *key
 * = NULL.  PST_E_INVAL naming the cursor when it is not one we made.
 */
static int cursor_parse(struct sqlite_store *q, const char *cursor, size_t nkeys, json_t **key,
			struct pst_err *e)
{
	size_t n, i, o = 0;
	unsigned char *raw;
	uint32_t acc = 0;
	int bits = 0;

	*key = NULL;
	if (cursor == NULL)
		return 0;
	n = strnlen(cursor, CURSOR_MAX + 1);
	if (n == 0 || n > CURSOR_MAX)
		goto bad;
	raw = malloc(n);
	if (raw == NULL)
		return nomem(q, e, "decoding a cursor");
	for (i = 0; i < n; i++) {
		const char *p = memchr(b64, cursor[i], 64);

		if (p == NULL || cursor[i] == '\0') {
			free(raw);
			goto bad;
		}
		acc = acc << 6 | (uint32_t)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*key = json_loadb((const char *)raw, o, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (*key == NULL || !json_is_array(*key) || json_array_size(*key) != nkeys) {
		json_decref(*key);
		*key = NULL;
		goto bad;
	}
	return 0;
bad:
	return pst_err_set(e, PST_E_INVAL, "cursor \"%.100s%s\" is not one this server gave: "
			   "ask for the first page again, without a cursor", cursor,
			   n > 100 ? "..." : "");
}

static const char *key_str(json_t *key, size_t i)
{
	return json_string_value(json_array_get(key, i));
}

static bool key_int(json_t *key, size_t i, int64_t *v)
{
	json_t *x = json_array_get(key, i);

	if (!json_is_integer(x))
		return false;
	*v = json_integer_value(x);
	return true;
}

static uint32_t page_limit(const struct store_page *pg)
{
	return pg != NULL && pg->limit >= 1 && pg->limit <= 1000 ? pg->limit : PAGE_DEFAULT;
}

/* --- hosts ------------------------------------------------------------------------- */

#define HOST_SELECT                                                                        \
	"SELECT h.agent_id, h.hostname, h.os_id, h.os_version, h.kernel, h.architecture,"  \
	"  h.agent_version, h.machine_id, h.first_seen, h.last_seen,"                      \
	"  coalesce(h.last_report, 0), h.last_seq, h.scan_interval_s, " STALE_EXPR ","     \
	"  total(r.status = 'pass'), total(r.status = 'fail'), total(r.status = 'error'),"   \
	"  total(r.status = 'not_applicable'),"                                            \
	"  total(r.status = 'fail' AND r.severity = 'critical'),"                          \
	"  total(r.status = 'fail' AND r.severity = 'high'),"                              \
	"  total(r.status = 'fail' AND r.severity = 'medium'),"                            \
	"  total(r.status = 'fail' AND r.severity = 'low')"                                \
	" FROM hosts h LEFT JOIN results r ON r.agent_id = h.agent_id"

/* HOST of store.h from a HOST_SELECT row. */
static json_t *host_obj(sqlite3_stmt *st)
{
	int64_t pass = sqlite3_column_int64(st, 14), fail = sqlite3_column_int64(st, 15);

	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o,"
			 " s:b, s:o, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}",
			 "id", col_str(st, 0), "hostname", col_str(st, 1), "os_id", col_str(st, 2),
			 "os_version", col_str(st, 3), "kernel", col_str(st, 4), "architecture",
			 col_str(st, 5), "agent_version", col_str(st, 6), "machine_id",
			 col_str(st, 7), "first_seen", sq_json_time(sqlite3_column_int64(st, 8)),
			 "last_seen", sq_json_time(sqlite3_column_int64(st, 9)), "last_report",
			 sq_json_time(sqlite3_column_int64(st, 10)), "last_seq",
			 (json_int_t)sqlite3_column_int64(st, 11), "scan_interval_s",
			 col_int_or_null(st, 12), "stale", sqlite3_column_int(st, 13) != 0,
			 "score", sq_json_score(pass, fail), "pass", (json_int_t)pass, "fail",
			 (json_int_t)fail, "error", (json_int_t)sqlite3_column_int64(st, 16),
			 "not_applicable", (json_int_t)sqlite3_column_int64(st, 17), "failing",
			 "critical", (json_int_t)sqlite3_column_int64(st, 18), "high",
			 (json_int_t)sqlite3_column_int64(st, 19), "medium",
			 (json_int_t)sqlite3_column_int64(st, 20), "low",
			 (json_int_t)sqlite3_column_int64(st, 21));
}

/*
 * The end of a paginated read: the statement and the cursor's key are
 * released, and doc is handed to *out (rc 0) or freed (rc < 0).
 */
static int page_finish(sqlite3_stmt *st, json_t *key, json_t *doc, int rc, json_t **out)
{
	sqlite3_finalize(st);
	json_decref(key);
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

int sq_hosts(struct store *s, const struct store_view *v, const struct store_host_filter *f,
	     const struct store_page *pg, json_t **out, struct pst_err *e)
{
	static const char sql[] =
		HOST_SELECT
		" WHERE h.agent_id > ?4"
		"  AND (?5 IS NULL OR instr(lower(h.agent_id), lower(?5)) > 0"
		"       OR instr(lower(coalesce(h.hostname, '')), lower(?5)) > 0)"
		"  AND (?6 IS NULL OR h.os_id = ?6)"
		"  AND (?7 = 0 OR " STALE_EXPR ")"
		" GROUP BY h.agent_id"
		" HAVING (?8 = 0 OR total(r.status = 'fail') > 0)"
		" ORDER BY h.agent_id LIMIT ?9";
	static const struct store_host_filter none = {0};
	struct sqlite_store *q = sq(s);
	uint32_t limit = page_limit(pg);
	json_t *doc = NULL, *list, *key = NULL, *last = NULL;
	sqlite3_stmt *st = NULL;
	uint32_t cnt = 0;
	int rc;

	if (f == NULL)
		f = &none;
	if ((rc = cursor_parse(q, pg != NULL ? pg->cursor : NULL, 1, &key, e)) < 0)
		return rc;
	if (key != NULL && key_str(key, 0) == NULL) {
		json_decref(key);
		return cursor_parse(q, "!", 1, &key, e);
	}
	if ((rc = sq_prepare(q, sql, &st, e, "reading hosts")) < 0)
		goto out;
	bind_view(st, v);
	sq_bind_text(st, 4, key != NULL ? key_str(key, 0) : "");
	sq_bind_text(st, 5, f->search != NULL && *f->search != '\0' ? f->search : NULL);
	sq_bind_text(st, 6, f->os_id);
	sqlite3_bind_int(st, 7, f->stale_only);
	sqlite3_bind_int(st, 8, f->failing_only);
	sqlite3_bind_int64(st, 9, (int64_t)limit + 1);
	list = json_array();
	doc = json_pack("{s:o, s:n}", "hosts", list, "next_cursor");
	if (doc == NULL) {
		rc = nomem(q, e, "reading hosts");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *h;

		if (cnt == limit) {
			/* The key is the last host served, not this one. */
			json_object_set_new(doc, "next_cursor", cursor_make(json_pack("[O]", last)));
			break;
		}
		h = host_obj(st);
		if (h == NULL || json_array_append_new(list, h) != 0) {
			rc = nomem(q, e, "reading hosts");
			goto out;
		}
		last = json_object_get(h, "id");
		cnt++;
	}
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : read_fail(q, rc, e, "reading hosts");
out:
	return page_finish(st, key, doc, rc, out);
}

/* {"access_control": {...}, "patch": ..., "backup": ..., others seen} from rows (name, pass, fail). */
static int categories_obj(struct sqlite_store *q, sqlite3_stmt *st, json_t **out,
			  struct pst_err *e, const char *what)
{
	json_t *o = json_object();
	int rc;

	if (o == NULL)
		return nomem(q, e, what);
	for (size_t i = 0; i < sizeof(std_categories) / sizeof(std_categories[0]); i++)
		json_object_set_new(o, std_categories[i], tally_obj(0, 0));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = sq_col_text(st, 0);

		if (name == NULL)
			continue;
		if (json_object_set_new(o, name, tally_obj(sqlite3_column_int64(st, 1),
							   sqlite3_column_int64(st, 2))) != 0) {
			json_decref(o);
			return nomem(q, e, what);
		}
	}
	if (rc != SQLITE_DONE) {
		json_decref(o);
		return read_fail(q, rc, e, what);
	}
	*out = o;
	return 0;
}

/* Run a prepared statement that yields one integer. */
static int one_int(struct sqlite_store *q, sqlite3_stmt *st, int64_t *v, struct pst_err *e,
		   const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		return 0;
	}
	return read_fail(q, rc, e, what);
}

/* Policies of a host's results: [{"id", "version", "sha256", "score", "pass", "fail"}]. */
static int host_policies(struct sqlite_store *q, const char *agent_id, json_t **out,
			 struct pst_err *e)
{
	/* The version and hash come from the host's newest scan that named the policy. */
	static const char sql[] =
		"SELECT r.policy_id, p.version, p.sha256, total(r.status = 'pass'),"
		"  total(r.status = 'fail')"
		" FROM results r LEFT JOIN policies p ON p.id = ("
		"   SELECT sp.policy FROM scans sc JOIN scan_policies sp ON sp.scan = sc.id"
		"   JOIN policies pp ON pp.id = sp.policy"
		"   WHERE sc.agent_id = ?1 AND pp.policy_id = r.policy_id"
		"   ORDER BY sc.seq DESC LIMIT 1)"
		" WHERE r.agent_id = ?1 GROUP BY r.policy_id ORDER BY r.policy_id";
	sqlite3_stmt *st;
	json_t *a = json_array();
	int rc;

	if (a == NULL)
		return nomem(q, e, "reading a host's policies");
	if ((rc = sq_prepare(q, sql, &st, e, "reading a host's policies")) < 0) {
		json_decref(a);
		return rc;
	}
	sq_bind_text(st, 1, agent_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t pass = sqlite3_column_int64(st, 3), fail = sqlite3_column_int64(st, 4);
		json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I}", "id", col_str(st, 0),
				      "version", col_str(st, 1), "sha256", col_str(st, 2), "score",
				      sq_json_score(pass, fail), "pass", (json_int_t)pass, "fail",
				      (json_int_t)fail);

		if (o == NULL || json_array_append_new(a, o) != 0) {
			rc = nomem(q, e, "reading a host's policies");
			goto out;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : read_fail(q, rc, e, "reading a host's policies");
out:
	sqlite3_finalize(st);
	if (rc < 0) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return 0;
}

int sq_host(struct store *s, const struct store_view *v, const char *agent_id, json_t **out,
	    struct pst_err *e)
{
	static const char sql[] = HOST_SELECT " WHERE h.agent_id = ?4 GROUP BY h.agent_id";
	static const char cats[] =
		"SELECT category, total(status = 'pass'), total(status = 'fail') FROM results"
		" WHERE agent_id = ?1 AND category IS NOT NULL GROUP BY category ORDER BY category";
	static const char open[] =
		"SELECT count(*) FROM violations WHERE agent_id = ?1 AND resolved_at IS NULL";
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL, *x = NULL;
	int64_t nopen = 0;
	int rc;

	if ((rc = sq_prepare(q, sql, &st, e, "reading a host")) < 0)
		return rc;
	bind_view(st, v);
	sq_bind_text(st, 4, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = pst_err_set(e, PST_E_NOENT, "no host \"%.200s\" in the store", agent_id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = read_fail(q, rc, e, "reading a host");
		goto out;
	}
	if ((doc = host_obj(st)) == NULL) {
		rc = nomem(q, e, "reading a host");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = sq_prepare(q, cats, &st, e, "reading a host's categories")) < 0)
		goto out;
	sq_bind_text(st, 1, agent_id);
	if ((rc = categories_obj(q, st, &x, e, "reading a host's categories")) < 0)
		goto out;
	json_object_set_new(doc, "categories", x);
	if ((rc = host_policies(q, agent_id, &x, e)) < 0)
		goto out;
	json_object_set_new(doc, "policies", x);
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = sq_prepare(q, open, &st, e, "counting a host's violations")) < 0)
		goto out;
	sq_bind_text(st, 1, agent_id);
	if ((rc = one_int(q, st, &nopen, e, "counting a host's violations")) < 0)
		goto out;
	if (json_object_set_new(doc, "open_violations", json_integer((json_int_t)nopen)) != 0)
		rc = nomem(q, e, "reading a host");
out:
	sqlite3_finalize(st);
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

/* PST_E_NOENT when agent_id is no host. */
static int need_host(struct sqlite_store *q, const char *agent_id, struct pst_err *e)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prepare(q, "SELECT 1 FROM hosts WHERE agent_id = ?1", &st, e,
			     "looking a host up")) < 0)
		return rc;
	sq_bind_text(st, 1, agent_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return pst_err_set(e, PST_E_NOENT, "no host \"%.200s\" in the store", agent_id);
	return read_fail(q, rc, e, "looking a host up");
}

int sq_host_results(struct store *s, const char *agent_id, const struct store_result_filter *f,
		    const struct store_page *pg, json_t **out, struct pst_err *e)
{
	static const char sql[] =
		"SELECT policy_id, check_id, title, category, severity, status, controls, evidence,"
		"  remediation, reason, seq, changed_at, checked_at, duration_us FROM results"
		" WHERE agent_id = ?1 AND (policy_id, check_id) > (?2, ?3)"
		"  AND (?4 IS NULL OR status = ?4) AND (?5 IS NULL OR category = ?5)"
		"  AND (?6 IS NULL OR severity = ?6)"
		" ORDER BY policy_id, check_id LIMIT ?7";
	static const struct store_result_filter none = {0};
	struct sqlite_store *q = sq(s);
	uint32_t limit = page_limit(pg), cnt = 0;
	json_t *doc = NULL, *list, *key = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (f == NULL)
		f = &none;
	if (f->status != NULL && !known_status(f->status))
		return pst_err_set(e, PST_E_INVAL, "status \"%.50s\" is unknown (one of: pass, "
				   "fail, error, not_applicable)", f->status);
	if (f->severity != NULL && !known_severity(f->severity))
		return pst_err_set(e, PST_E_INVAL, "severity \"%.50s\" is unknown (one of: low, "
				   "medium, high, critical)", f->severity);
	if ((rc = cursor_parse(q, pg != NULL ? pg->cursor : NULL, 2, &key, e)) < 0)
		return rc;
	if (key != NULL && (key_str(key, 0) == NULL || key_str(key, 1) == NULL)) {
		json_decref(key);
		return cursor_parse(q, "!", 2, &key, e);
	}
	if ((rc = need_host(q, agent_id, e)) < 0 ||
	    (rc = sq_prepare(q, sql, &st, e, "reading a host's results")) < 0)
		goto out;
	sq_bind_text(st, 1, agent_id);
	sq_bind_text(st, 2, key != NULL ? key_str(key, 0) : "");
	sq_bind_text(st, 3, key != NULL ? key_str(key, 1) : "");
	sq_bind_text(st, 4, f->status);
	sq_bind_text(st, 5, f->category);
	sq_bind_text(st, 6, f->severity);
	sqlite3_bind_int64(st, 7, (int64_t)limit + 1);
	list = json_array();
	doc = json_pack("{s:s, s:o, s:n}", "host", agent_id, "results", list, "next_cursor");
	if (doc == NULL) {
		rc = nomem(q, e, "reading a host's results");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o, *prev;

		if (cnt == limit) {
			prev = json_array_get(list, cnt - 1);
			json_object_set_new(doc, "next_cursor",
					    cursor_make(json_pack("[OO]",
								  json_object_get(prev, "policy_id"),
								  json_object_get(prev, "check_id"))));
			break;
		}
		o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o,"
			      " s:I}",
			      "policy_id", col_str(st, 0), "check_id", col_str(st, 1), "title",
			      col_str(st, 2), "category", col_str(st, 3), "severity",
			      col_str(st, 4), "status", col_str(st, 5), "controls",
			      json_col(st, 6, true), "evidence", json_col(st, 7, false),
			      "remediation", col_str(st, 8), "reason", col_str(st, 9), "seq",
			      (json_int_t)sqlite3_column_int64(st, 10), "changed_at",
			      sq_json_time(sqlite3_column_int64(st, 11)), "checked_at",
			      sq_json_time(sqlite3_column_int64(st, 12)), "duration_us",
			      (json_int_t)sqlite3_column_int64(st, 13));
		if (o == NULL || json_array_append_new(list, o) != 0) {
			rc = nomem(q, e, "reading a host's results");
			goto out;
		}
		cnt++;
	}
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW
		     ? 0 : read_fail(q, rc, e, "reading a host's results");
out:
	return page_finish(st, key, doc, rc, out);
}

/* --- violations ---------------------------------------------------------------------- */

int sq_violations(struct store *s, const struct store_view *v,
		  const struct store_violation_filter *f, const struct store_page *pg,
		  json_t **out, struct pst_err *e)
{
	static const char sql[] =
		"SELECT v.id, v.agent_id, h.hostname, v.policy_id, v.check_id, v.title,"
		"  v.category, v.severity, v.controls, v.opened_at, v.opened_seq, v.resolved_at,"
		"  v.resolved_seq, v.resolved_by, v.evidence, v.remediation"
		" FROM violations v LEFT JOIN hosts h ON h.agent_id = v.agent_id"
		" WHERE (v.opened_at, v.id) < (?1, ?2)"
		"  AND (?3 IS NULL OR (?3 = 'open') = (v.resolved_at IS NULL))"
		"  AND (?4 IS NULL OR v.severity = ?4)"
		"  AND (?5 IS NULL OR v.agent_id = ?5)"
		"  AND (?6 IS NULL OR v.category = ?6)"
		"  AND v.opened_at >= ?7"
		"  AND (?8 IS NULL OR EXISTS (SELECT 1 FROM json_each(v.controls) fw,"
		"       json_each(fw.value) c WHERE c.value = ?8 AND (?9 IS NULL OR fw.key = ?9)))"
		" ORDER BY v.opened_at DESC, v.id DESC LIMIT ?10";
	static const struct store_violation_filter none = {0};
	struct sqlite_store *q = sq(s);
	uint32_t limit = page_limit(pg), cnt = 0;
	json_t *doc = NULL, *list, *key = NULL;
	int64_t k_at = INT64_MAX, k_id = INT64_MAX, last_at = 0;
	char *framework = NULL;
	const char *control = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (f == NULL)
		f = &none;
	if (f->status != NULL && strcmp(f->status, "open") != 0 &&
	    strcmp(f->status, "resolved") != 0)
		return pst_err_set(e, PST_E_INVAL, "violation status \"%.50s\" is unknown (one of: "
				   "open, resolved)", f->status);
	if (f->severity != NULL && !known_severity(f->severity))
		return pst_err_set(e, PST_E_INVAL, "severity \"%.50s\" is unknown (one of: low, "
				   "medium, high, critical)", f->severity);
	if (f->control != NULL && *f->control != '\0') {
		const char *colon = strchr(f->control, ':');

		control = f->control;
		if (colon != NULL) {
			framework = strndup(f->control, (size_t)(colon - f->control));
			if (framework == NULL)
				return nomem(q, e, "reading violations");
			control = colon + 1;
		}
		if (*control == '\0' || (framework != NULL && *framework == '\0')) {
			free(framework);
			return pst_err_set(e, PST_E_INVAL, "control \"%.100s\": give an id "
					   "(\"A.8.8\") or framework:id (\"iso27001:A.8.8\")",
					   f->control);
		}
	}
	if ((rc = cursor_parse(q, pg != NULL ? pg->cursor : NULL, 2, &key, e)) < 0)
		goto out;
	if (key != NULL && (!key_int(key, 0, &k_at) || !key_int(key, 1, &k_id))) {
		json_decref(key);
		key = NULL;
		rc = cursor_parse(q, "!", 2, &key, e);
		goto out;
	}
	if ((rc = sq_prepare(q, sql, &st, e, "reading violations")) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, k_at);
	sqlite3_bind_int64(st, 2, k_id);
	sq_bind_text(st, 3, f->status);
	sq_bind_text(st, 4, f->severity);
	sq_bind_text(st, 5, f->host);
	sq_bind_text(st, 6, f->category);
	sqlite3_bind_int64(st, 7, f->since_us);
	sq_bind_text(st, 8, control);
	sq_bind_text(st, 9, framework);
	sqlite3_bind_int64(st, 10, (int64_t)limit + 1);
	list = json_array();
	doc = json_pack("{s:o, s:n}", "violations", list, "next_cursor");
	if (doc == NULL) {
		rc = nomem(q, e, "reading violations");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t opened = sqlite3_column_int64(st, 9);
		bool resolved = sqlite3_column_type(st, 11) != SQLITE_NULL;
		int64_t resolved_at = resolved ? sqlite3_column_int64(st, 11) : 0;
		int64_t age = ((resolved ? resolved_at : v->now_us) - opened) / 1000000;
		json_t *o;

		if (cnt == limit) {
			json_t *prev = json_array_get(list, cnt - 1);

			json_object_set_new(
				doc, "next_cursor",
				cursor_make(json_pack("[IO]", (json_int_t)last_at,
						      json_object_get(prev, "id"))));
			break;
		}
		o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:I, s:o,"
			      " s:o, s:o, s:I, s:o, s:o}",
			      "id", (json_int_t)sqlite3_column_int64(st, 0), "host", col_str(st, 1),
			      "hostname", col_str(st, 2), "policy_id", col_str(st, 3), "check_id",
			      col_str(st, 4), "title", col_str(st, 5), "category", col_str(st, 6),
			      "severity", col_str(st, 7), "controls", json_col(st, 8, true),
			      "status", resolved ? "resolved" : "open", "opened_at",
			      sq_json_time(opened), "opened_seq",
			      (json_int_t)sqlite3_column_int64(st, 10), "resolved_at",
			      resolved ? sq_json_time(resolved_at) : json_null(), "resolved_seq",
			      col_int_or_null(st, 12), "resolved_by", col_str(st, 13), "age_s",
			      (json_int_t)(age < 0 ? 0 : age), "evidence", json_col(st, 14, false),
			      "remediation", col_str(st, 15));
		if (o == NULL || json_array_append_new(list, o) != 0) {
			rc = nomem(q, e, "reading violations");
			goto out;
		}
		last_at = opened;
		cnt++;
	}
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : read_fail(q, rc, e, "reading violations");
out:
	free(framework);
	return page_finish(st, key, doc, rc, out);
}

/* --- controls -------------------------------------------------------------------------- */

int sq_controls(struct store *s, const char *framework, json_t **out, struct pst_err *e)
{
	static const char per_control[] =
		"SELECT rc.framework, rc.control, total(r.status = 'pass'),"
		"  total(r.status = 'fail'),"
		"  count(DISTINCT CASE WHEN r.status = 'fail' THEN rc.agent_id END),"
		"  count(DISTINCT rc.agent_id)"
		" FROM result_controls rc JOIN results r ON r.agent_id = rc.agent_id"
		"  AND r.policy_id = rc.policy_id AND r.check_id = rc.check_id"
		" WHERE (?1 IS NULL OR rc.framework = ?1)"
		" GROUP BY rc.framework, rc.control"
		" ORDER BY rc.framework, rc.control COLLATE posture_natural";
	static const char per_check[] =
		"SELECT rc.framework, rc.control, rc.policy_id, rc.check_id, max(r.title),"
		"  max(r.severity), total(r.status = 'pass'), total(r.status = 'fail')"
		" FROM result_controls rc JOIN results r ON r.agent_id = rc.agent_id"
		"  AND r.policy_id = rc.policy_id AND r.check_id = rc.check_id"
		" WHERE (?1 IS NULL OR rc.framework = ?1)"
		" GROUP BY rc.framework, rc.control, rc.policy_id, rc.check_id"
		" ORDER BY rc.policy_id, rc.check_id";
	struct sqlite_store *q = sq(s);
	json_t *doc = NULL, *list, *index = NULL;
	sqlite3_stmt *st = NULL;
	char *k = NULL;
	int rc;

	list = json_array();
	doc = json_pack("{s:o}", "controls", list);
	index = json_object();
	if (doc == NULL || index == NULL) {
		rc = nomem(q, e, "reading controls");
		goto out;
	}
	if ((rc = sq_prepare(q, per_control, &st, e, "reading controls")) < 0)
		goto out;
	sq_bind_text(st, 1, framework);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t pass = sqlite3_column_int64(st, 2), fail = sqlite3_column_int64(st, 3);
		json_t *o = json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:[]}", "framework",
				      col_str(st, 0), "id", col_str(st, 1), "score",
				      sq_json_score(pass, fail), "pass", (json_int_t)pass, "fail",
				      (json_int_t)fail, "hosts_failing",
				      (json_int_t)sqlite3_column_int64(st, 4), "hosts",
				      (json_int_t)sqlite3_column_int64(st, 5), "checks");
		size_t len = strlen(sq_col_text(st, 0)) + strlen(sq_col_text(st, 1)) + 2;

		free(k);
		k = malloc(len);
		if (o == NULL || k == NULL || json_array_append_new(list, o) != 0) {
			rc = nomem(q, e, "reading controls");
			goto out;
		}
		snprintf(k, len, "%s\n%s", sq_col_text(st, 0), sq_col_text(st, 1));
		json_object_set(index, k, o);
	}
	if (rc != SQLITE_DONE) {
		rc = read_fail(q, rc, e, "reading controls");
		goto out;
	}
	sqlite3_finalize(st);
	if ((rc = sq_prepare(q, per_check, &st, e, "reading controls' checks")) < 0)
		goto out;
	sq_bind_text(st, 1, framework);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = strlen(sq_col_text(st, 0)) + strlen(sq_col_text(st, 1)) + 2;
		json_t *c, *ctl;

		free(k);
		k = malloc(len);
		if (k == NULL) {
			rc = nomem(q, e, "reading controls");
			goto out;
		}
		snprintf(k, len, "%s\n%s", sq_col_text(st, 0), sq_col_text(st, 1));
		ctl = json_object_get(index, k);
		if (ctl == NULL)
			continue;
		c = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I}", "policy_id", col_str(st, 2),
			      "check_id", col_str(st, 3), "title", col_str(st, 4), "severity",
			      col_str(st, 5), "pass", (json_int_t)sqlite3_column_int64(st, 6),
			      "fail", (json_int_t)sqlite3_column_int64(st, 7));
		if (c == NULL || json_array_append_new(json_object_get(ctl, "checks"), c) != 0) {
			rc = nomem(q, e, "reading controls");
			goto out;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : read_fail(q, rc, e, "reading controls' checks");
out:
	sqlite3_finalize(st);
	json_decref(index);
	free(k);
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

/* --- trend ---------------------------------------------------------------------------- */

int sq_trend(struct store *s, const struct store_view *v, uint32_t days, json_t **out,
	     struct pst_err *e)
{
	static const char sql[] =
		"SELECT day, scope, pass, fail FROM trend WHERE day >= ?1 AND day <= ?2"
		"  AND pass + fail + error + not_applicable > 0"
		" ORDER BY day, scope";
	struct sqlite_store *q = sq(s);
	json_t *doc = NULL, *points, *pt = NULL;
	sqlite3_stmt *st = NULL;
	char from[16], to[16];
	int rc;

	(void)timefmt_day(v->now_us - (int64_t)(days - 1) * DAY_US, from, sizeof(from));
	(void)timefmt_day(v->now_us, to, sizeof(to));
	points = json_array();
	doc = json_pack("{s:I, s:o}", "days", (json_int_t)days, "points", points);
	if (doc == NULL) {
		rc = nomem(q, e, "reading the trend");
		goto out;
	}
	if ((rc = sq_prepare(q, sql, &st, e, "reading the trend")) < 0)
		goto out;
	sq_bind_text(st, 1, from);
	sq_bind_text(st, 2, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *day = sq_col_text(st, 0), *scope = sq_col_text(st, 1);
		int64_t pass = sqlite3_column_int64(st, 2), fail = sqlite3_column_int64(st, 3);

		if (day == NULL || scope == NULL)
			continue;
		if (pt == NULL || strcmp(json_string_value(json_object_get(pt, "day")), day) != 0) {
			pt = json_pack("{s:s, s:n, s:I, s:I, s:{}, s:{}}", "day", day, "score",
				       "pass", (json_int_t)0, "fail", (json_int_t)0, "categories",
				       "severities");
			if (pt == NULL || json_array_append_new(points, pt) != 0) {
				rc = nomem(q, e, "reading the trend");
				goto out;
			}
		}
		if (strcmp(scope, "fleet") == 0) {
			json_object_set_new(pt, "score", sq_json_score(pass, fail));
			json_object_set_new(pt, "pass", json_integer((json_int_t)pass));
			json_object_set_new(pt, "fail", json_integer((json_int_t)fail));
		} else if (strncmp(scope, "category:", 9) == 0) {
			json_object_set_new(json_object_get(pt, "categories"), scope + 9,
					    tally_obj(pass, fail));
		} else if (strncmp(scope, "severity:", 9) == 0 && known_severity(scope + 9)) {
			json_object_set_new(json_object_get(pt, "severities"), scope + 9,
					    tally_obj(pass, fail));
		}
	}
	rc = rc == SQLITE_DONE ? 0 : read_fail(q, rc, e, "reading the trend");
out:
	sqlite3_finalize(st);
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

/* --- summary ---------------------------------------------------------------------------- */

/* Rows (scope, pass, fail, error, not_applicable) of the tallies. */
static int summary_tallies(struct sqlite_store *q, json_t *doc, struct pst_err *e)
{
	static const char sql[] = "SELECT scope, pass, fail, error, not_applicable FROM tallies"
				  " ORDER BY scope";
	json_t *cats = json_object_get(doc, "categories"), *sevs = json_object_get(doc, "severities");
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prepare(q, sql, &st, e, "reading the tallies")) < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *scope = sq_col_text(st, 0);
		int64_t pass = sqlite3_column_int64(st, 1), fail = sqlite3_column_int64(st, 2);
		int64_t err = sqlite3_column_int64(st, 3), na = sqlite3_column_int64(st, 4);

		if (scope == NULL)
			continue;
		if (strcmp(scope, "fleet") == 0) {
			json_object_set_new(doc, "score", sq_json_score(pass, fail));
			json_object_set_new(doc, "pass", json_integer((json_int_t)pass));
			json_object_set_new(doc, "fail", json_integer((json_int_t)fail));
			json_object_set_new(doc, "error", json_integer((json_int_t)err));
			json_object_set_new(doc, "not_applicable", json_integer((json_int_t)na));
		} else if (strncmp(scope, "category:", 9) == 0) {
			if (pass + fail + err + na > 0 || json_object_get(cats, scope + 9) != NULL)
				json_object_set_new(cats, scope + 9, tally_obj(pass, fail));
		} else if (strncmp(scope, "severity:", 9) == 0 && known_severity(scope + 9)) {
			json_object_set_new(sevs, scope + 9, tally_obj(pass, fail));
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : read_fail(q, rc, e, "reading the tallies");
}

static int summary_hosts(struct sqlite_store *q, const struct store_view *v, json_t *doc,
			 struct pst_err *e)
{
	static const char sql[] = "SELECT count(*), total(" STALE_EXPR ") FROM hosts h";
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prepare(q, sql, &st, e, "counting hosts")) < 0)
		return rc;
	bind_view(st, v);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t total = sqlite3_column_int64(st, 0), stale = sqlite3_column_int64(st, 1);

		json_object_set_new(doc, "hosts",
				    json_pack("{s:I, s:I, s:I}", "total", (json_int_t)total,
					      "stale", (json_int_t)stale, "reporting",
					      (json_int_t)(total - stale)));
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : read_fail(q, rc, e, "counting hosts");
}

static int summary_violations(struct sqlite_store *q, const struct store_view *v, json_t *doc,
			      struct pst_err *e)
{
	static const char open_sql[] =
		"SELECT severity, count(*), total(?1 - opened_at < ?2),"
		"  total(?1 - opened_at >= ?2 AND ?1 - opened_at < 7 * ?2),"
		"  total(?1 - opened_at >= 7 * ?2 AND ?1 - opened_at < 30 * ?2),"
		"  total(?1 - opened_at >= 30 * ?2)"
		" FROM violations WHERE resolved_at IS NULL GROUP BY severity";
	static const char mttr_sql[] =
		"SELECT 'severity', severity, avg(resolved_at - opened_at) FROM violations"
		" WHERE resolved_at IS NOT NULL GROUP BY severity"
		" UNION ALL SELECT 'category', category, avg(resolved_at - opened_at)"
		" FROM violations WHERE resolved_at IS NOT NULL AND category IS NOT NULL"
		" GROUP BY category";
	json_t *vio, *by_sev, *by_age, *mttr_sev, *mttr_cat;
	int64_t nopen = 0, age[4] = {0};
	sqlite3_stmt *st;
	int rc;
	size_t i;

	vio = json_pack("{s:I, s:{}, s:{}, s:{s:{}, s:{}}}", "open", (json_int_t)0,
			"open_by_severity", "open_by_age", "mttr_s", "by_severity", "by_category");
	if (vio == NULL || json_object_set_new(doc, "violations", vio) != 0)
		return nomem(q, e, "summing violations");
	by_sev = json_object_get(vio, "open_by_severity");
	by_age = json_object_get(vio, "open_by_age");
	mttr_sev = json_object_get(json_object_get(vio, "mttr_s"), "by_severity");
	mttr_cat = json_object_get(json_object_get(vio, "mttr_s"), "by_category");
	for (i = 0; i < 4; i++) {
		json_object_set_new(by_sev, severities[i], json_integer(0));
		json_object_set_new(mttr_sev, severities[i], json_null());
	}
	for (i = 0; i < sizeof(std_categories) / sizeof(std_categories[0]); i++)
		json_object_set_new(mttr_cat, std_categories[i], json_null());

	if ((rc = sq_prepare(q, open_sql, &st, e, "summing open violations")) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, v->now_us);
	sqlite3_bind_int64(st, 2, DAY_US);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *sev = sq_col_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);

		nopen += n;
		if (sev != NULL && known_severity(sev))
			json_object_set_new(by_sev, sev, json_integer((json_int_t)n));
		for (i = 0; i < 4; i++)
			age[i] += sqlite3_column_int64(st, 2 + (int)i);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return read_fail(q, rc, e, "summing open violations");
	json_object_set_new(vio, "open", json_integer((json_int_t)nopen));
	json_object_set_new(by_age, "lt_1d", json_integer((json_int_t)age[0]));
	json_object_set_new(by_age, "1d_7d", json_integer((json_int_t)age[1]));
	json_object_set_new(by_age, "7d_30d", json_integer((json_int_t)age[2]));
	json_object_set_new(by_age, "gt_30d", json_integer((json_int_t)age[3]));

	if ((rc = sq_prepare(q, mttr_sql, &st, e, "summing times to remediate")) < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = sq_col_text(st, 0), *name = sq_col_text(st, 1);
		double mean_s = sqlite3_column_double(st, 2) / 1e6;

		if (kind == NULL || name == NULL)
			continue;
		if (strcmp(kind, "severity") == 0 && !known_severity(name))
			continue;
		json_object_set_new(strcmp(kind, "severity") == 0 ? mttr_sev : mttr_cat, name,
				    json_real(round(mean_s * 10.0) / 10.0));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : read_fail(q, rc, e, "summing times to remediate");
}

static int summary_policies(struct sqlite_store *q, json_t *doc, struct pst_err *e)
{
	/* Counts over all latest results; version and hash of the newest seen. */
	static const char sql[] =
		"SELECT r.policy_id, p.version, p.sha256, r.pass, r.fail FROM"
		" (SELECT policy_id, total(status = 'pass') AS pass, total(status = 'fail') AS fail"
		"  FROM results GROUP BY policy_id) r"
		" LEFT JOIN policies p ON p.id ="
		"  (SELECT max(id) FROM policies WHERE policy_id = r.policy_id)"
		" ORDER BY r.policy_id";
	json_t *a = json_array();
	sqlite3_stmt *st;
	int rc;

	if (a == NULL || json_object_set_new(doc, "policies", a) != 0)
		return nomem(q, e, "summing policies");
	if ((rc = sq_prepare(q, sql, &st, e, "summing policies")) < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t pass = sqlite3_column_int64(st, 3), fail = sqlite3_column_int64(st, 4);
		json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:I, s:I}", "id", col_str(st, 0),
				      "version", col_str(st, 1), "sha256", col_str(st, 2), "score",
				      sq_json_score(pass, fail), "pass", (json_int_t)pass, "fail",
				      (json_int_t)fail);

		if (o == NULL || json_array_append_new(a, o) != 0) {
			sqlite3_finalize(st);
			return nomem(q, e, "summing policies");
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : read_fail(q, rc, e, "summing policies");
}

int sq_summary(struct store *s, const struct store_view *v, json_t **out, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	json_t *doc, *sevs;
	size_t i;
	bool own;
	int rc;

	/* One read transaction: the parts agree with one commit. */
	if ((rc = read_begin(q, &own, e)) < 0)
		return rc;
	doc = json_pack("{s:o, s:n, s:I, s:I, s:I, s:I, s:{}, s:{}}", "generated_at",
			sq_json_time(v->now_us), "score", "pass", (json_int_t)0, "fail",
			(json_int_t)0, "error", (json_int_t)0, "not_applicable", (json_int_t)0,
			"categories", "severities");
	if (doc == NULL) {
		rc = nomem(q, e, "summing up");
		goto out;
	}
	for (i = 0; i < sizeof(std_categories) / sizeof(std_categories[0]); i++)
		json_object_set_new(json_object_get(doc, "categories"), std_categories[i],
				    tally_obj(0, 0));
	sevs = json_object_get(doc, "severities");
	for (i = 0; i < 4; i++)
		json_object_set_new(sevs, severities[i], tally_obj(0, 0));
	if ((rc = summary_tallies(q, doc, e)) < 0 || (rc = summary_hosts(q, v, doc, e)) < 0 ||
	    (rc = summary_violations(q, v, doc, e)) < 0 || (rc = summary_policies(q, doc, e)) < 0)
		goto out;
out:
	read_end(q, own);
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

/* --- metrics -------------------------------------------------------------------------------- */

struct mrow {
	int (*cb)(void *arg, const struct store_metric_row *m);
	void *arg;
};

static int emit(struct mrow *m, const char *name, double value, const char *k1, const char *v1,
		const char *k2, const char *v2, const char *k3, const char *v3)
{
	struct store_metric_row r = {.name = name, .value = value};

	r.labels[0][0] = k1;
	r.labels[0][1] = v1;
	r.labels[1][0] = k2;
	r.labels[1][1] = v2;
	r.labels[2][0] = k3;
	r.labels[2][1] = v3;
	return m->cb(m->arg, &r);
}

/* A grouped query; row(st, m) emits each row; non-zero from it stops. */
static int metric_query(struct sqlite_store *q, const struct store_view *v, const char *sql,
			int (*row)(sqlite3_stmt *st, struct mrow *m), struct mrow *m,
			struct pst_err *e)
{
	sqlite3_stmt *st;
	int rc, stop = 0;

	if ((rc = sq_prepare(q, sql, &st, e, "reading metrics")) < 0)
		return rc;
	if (sqlite3_bind_parameter_count(st) >= 3)
		bind_view(st, v);
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = row(st, m);
	sqlite3_finalize(st);
	if (stop != 0)
		return stop;
	return rc == SQLITE_DONE ? 0 : read_fail(q, rc, e, "reading metrics");
}

static int row_results(sqlite3_stmt *st, struct mrow *m)
{
	return emit(m, "results", sqlite3_column_double(st, 3), "status", sq_col_text(st, 0),
		    "category", sq_col_text(st, 1), "severity", sq_col_text(st, 2));
}

static int row_score(sqlite3_stmt *st, struct mrow *m)
{
	const char *scope = sq_col_text(st, 0);
	double pass = sqlite3_column_double(st, 1), fail = sqlite3_column_double(st, 2);

	if (scope == NULL || pass + fail <= 0)
		return 0;
	if (strcmp(scope, "fleet") == 0)
		return emit(m, "score", 100.0 * pass / (pass + fail), "scope", "fleet", NULL, NULL,
			    NULL, NULL);
	if (strncmp(scope, "category:", 9) == 0)
		return emit(m, "score", 100.0 * pass / (pass + fail), "category", scope + 9, NULL,
			    NULL, NULL, NULL);
	return 0;
}

static int row_hosts(sqlite3_stmt *st, struct mrow *m)
{
	double total = sqlite3_column_double(st, 0), stale = sqlite3_column_double(st, 1);
	int rc = emit(m, "hosts", total - stale, "state", "reporting", NULL, NULL, NULL, NULL);

	return rc != 0 ? rc : emit(m, "hosts", stale, "state", "stale", NULL, NULL, NULL, NULL);
}

static int row_open(sqlite3_stmt *st, struct mrow *m)
{
	return emit(m, "violations_open", sqlite3_column_double(st, 1), "severity",
		    sq_col_text(st, 0), NULL, NULL, NULL, NULL);
}

static int row_totals(sqlite3_stmt *st, struct mrow *m)
{
	int rc = emit(m, "violations_opened_total", sqlite3_column_double(st, 0), NULL, NULL, NULL,
		      NULL, NULL, NULL);

	if (rc == 0)
		rc = emit(m, "violations_resolved_total", sqlite3_column_double(st, 1), NULL, NULL,
			  NULL, NULL, NULL, NULL);
	if (rc == 0)
		rc = emit(m, "alerts_pending", sqlite3_column_double(st, 2), NULL, NULL, NULL, NULL,
			  NULL, NULL);
	return rc;
}

static int row_host_score(sqlite3_stmt *st, struct mrow *m)
{
	double pass = sqlite3_column_double(st, 1), fail = sqlite3_column_double(st, 2);

	if (pass + fail <= 0)
		return 0;
	return emit(m, "host_score", 100.0 * pass / (pass + fail), "host", sq_col_text(st, 0),
		    NULL, NULL, NULL, NULL);
}

int sq_metric_rows(struct store *s, const struct store_view *v,
		   int (*cb)(void *arg, const struct store_metric_row *m), void *arg,
		   struct pst_err *e)
{
	static const struct {
		const char *sql;
		int (*row)(sqlite3_stmt *st, struct mrow *m);
	} queries[] = {
		{"SELECT status, coalesce(category, ''), severity, count(*) FROM results"
		 " GROUP BY status, category, severity ORDER BY 1, 2, 3", row_results},
		{"SELECT scope, pass, fail FROM tallies ORDER BY scope", row_score},
		{"SELECT count(*), total(" STALE_EXPR ") FROM hosts h", row_hosts},
		{"SELECT s.name, (SELECT count(*) FROM violations v WHERE v.resolved_at IS NULL"
		 "  AND v.severity = s.name)"
		 " FROM (SELECT 'low' AS name UNION ALL SELECT 'medium' UNION ALL SELECT 'high'"
		 "  UNION ALL SELECT 'critical') s", row_open},
		{"SELECT (SELECT count(*) FROM violations),"
		 "  (SELECT count(*) FROM violations WHERE resolved_at IS NOT NULL),"
		 "  (SELECT count(*) FROM alerts)", row_totals},
		{"SELECT agent_id, total(status = 'pass'), total(status = 'fail') FROM results"
		 " GROUP BY agent_id ORDER BY agent_id", row_host_score},
	};
	struct sqlite_store *q = sq(s);
	struct mrow m = {cb, arg};
	bool own;
	int rc = 0;

	if ((rc = read_begin(q, &own, e)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < sizeof(queries) / sizeof(queries[0]); i++)
		rc = metric_query(q, v, queries[i].sql, queries[i].row, &m, e);
	read_end(q, own);
	return rc;
}

/* The cursors above, for the other files of the backend. */
json_t *sq_cursor_make(json_t *key)
{
	return cursor_make(key);
}

int sq_cursor_parse(struct sqlite_store *q, const char *cursor, size_t nkeys, json_t **key,
		    struct pst_err *e)
{
	return cursor_parse(q, cursor, nkeys, key, e);
}
