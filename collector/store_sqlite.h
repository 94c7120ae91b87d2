/*
 * store_sqlite.h - private to the SQLite backend, shared by its files:
 * store_sqlite.c (open, schema, hosts, counts, the ops table),
 * store_sqlite_write.c (reports, violations, tallies, trend, alerts they
 * cause), store_sqlite_read.c (the JSON documents of the API) and
 * store_sqlite_admin.c (alert queue, tokens, enrollments, stale hosts) and
 * store_sqlite_evidence.c (evidence snapshots).
 * Nothing outside these files includes it or sqlite3.h.
 */
#ifndef POSTURE_STORE_SQLITE_H
#define POSTURE_STORE_SQLITE_H

#include <jansson.h>
#include <stdbool.h>
#include <sqlite3.h>

#include "store_backend.h"

/* Statements of the write path, prepared once at open (stmt_sql in store_sqlite.c). */
enum stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_HOST_HELLO,
	S_HOST_REPORT,
	S_HOST_LAST_SEQ,
	S_SCAN_EXISTS,
	S_SCAN_INSERT,
	S_POLICY_INSERT,
	S_POLICY_ID,
	S_SCAN_POLICY,
	S_RESULT_GET,
	S_RESULT_PUT,
	S_TRANSITION,
	S_VIOLATION_OPEN,
	S_VIOLATION_RESOLVE,
	S_TALLY_MOVE,
	S_TREND_UPSERT,
	S_ALERT_INSERT,
	S_CONTROLS_DELETE,
	S_CONTROLS_INSERT,
	S_HOSTNAME,
	S_COUNT
};

struct sqlite_store {
	struct store base; /* first: store.c sees only this */
	sqlite3 *db;
	char *path;
	int version;
	sqlite3_stmt *stmt[S_COUNT];
	bool writer_tuned; /* the writer's cache and checkpoint settings are in force */
};

static inline struct sqlite_store *sq(struct store *s)
{
	return (struct sqlite_store *)s;
}

/* Set e from the connection's last error (what = what was being done); PST_E_NOMEM or PST_E_STORE. */
int sq_fail(struct sqlite_store *q, int rc, struct pst_err *e, const char *what);
/* sqlite3_exec of sql; 0 or sq_fail. */
int sq_exec(struct sqlite_store *q, const char *sql, struct pst_err *e, const char *what);
/* Run a statement whose rows are ignored, then reset it and clear its bindings. */
int sq_step(struct sqlite_store *q, sqlite3_stmt *st, struct pst_err *e, const char *what);
/* The single integer a PRAGMA or SELECT returns. */
int sq_query_int(struct sqlite_store *q, const char *sql, int64_t *out, struct pst_err *e);
/* Prepare a one-off statement; 0 or sq_fail prefixed with the store's path. */
int sq_prepare(struct sqlite_store *q, const char *sql, sqlite3_stmt **st, struct pst_err *e,
	       const char *what);
/* Bind text or NULL. */
void sq_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Bind a host's facts to parameters 2..8 (hostname .. agent_version). */
void sq_bind_facts(sqlite3_stmt *st, const struct store_facts *f);
/* Bind an integer, or NULL when v == null_value. */
void sq_bind_int_or_null(sqlite3_stmt *st, int i, int64_t v, int64_t null_value);
const char *sq_col_text(sqlite3_stmt *st, int i);
enum store_status sq_status_parse(const char *s);
enum store_severity sq_severity_parse(const char *s);

/* RFC 3339 UTC with a Z; milliseconds shown when not zero. */

/* A time as a JSON string, or null when us == 0. */
json_t *sq_json_time(int64_t us);
/* A string, or null. */
json_t *sq_json_str(const char *s);
/* 100*pass/(pass+fail) rounded to 0.1, or null when pass + fail = 0. */
json_t *sq_json_score(int64_t pass, int64_t fail);

/* store_sqlite_write.c */
int sq_put_reports(struct store *s, struct store_report *const *reports, size_t n,
		   bool *duplicate, struct pst_err *e);

/* store_sqlite_read.c */
/* The posture_natural collation: digit runs compare as numbers (A.5.2 < A.5.10). */
int sq_natural_cmp(void *arg, int la, const void *a, int lb, const void *b);
int sq_summary(struct store *s, const struct store_view *v, json_t **out, struct pst_err *e);
int sq_hosts(struct store *s, const struct store_view *v, const struct store_host_filter *f,
	     const struct store_page *pg, json_t **out, struct pst_err *e);
int sq_host(struct store *s, const struct store_view *v, const char *agent_id, json_t **out,
	    struct pst_err *e);
int sq_host_results(struct store *s, const char *agent_id, const struct store_result_filter *f,
		    const struct store_page *pg, json_t **out, struct pst_err *e);
int sq_violations(struct store *s, const struct store_view *v,
		  const struct store_violation_filter *f, const struct store_page *pg,
		  json_t **out, struct pst_err *e);
int sq_controls(struct store *s, const char *framework, json_t **out, struct pst_err *e);
int sq_trend(struct store *s, const struct store_view *v, uint32_t days, json_t **out,
	     struct pst_err *e);
int sq_metric_rows(struct store *s, const struct store_view *v,
		   int (*cb)(void *arg, const struct store_metric_row *m), void *arg,
		   struct pst_err *e);

/* store_sqlite_admin.c */
int sq_mark_stale(struct store *s, const struct store_view *v, size_t *n, struct pst_err *e);
int sq_alerts_due(struct store *s, int64_t now_us, size_t max, struct store_alert **out,
		  size_t *n, struct pst_err *e);
int sq_alert_logged(struct store *s, int64_t id, struct pst_err *e);
int sq_alert_delivered(struct store *s, int64_t id, int64_t now_us, struct pst_err *e);
int sq_alert_failed(struct store *s, int64_t id, int64_t next_us, const char *error,
		    struct pst_err *e);
int sq_alerts_pending(struct store *s, uint64_t *n, struct pst_err *e);
int sq_token_add(struct store *s, const uint8_t hash[32], const struct store_token *t,
		 int64_t *id, struct pst_err *e);
int sq_token_find(struct store *s, const uint8_t hash[32], int64_t now_us,
		  struct store_token *t, struct pst_err *e);
int sq_token_spend(struct store *s, const uint8_t hash[32], int64_t now_us,
		   struct store_token *t, struct pst_err *e);
int sq_tokens(struct store *s, json_t **out, struct pst_err *e);
int sq_token_revoke(struct store *s, int64_t id, struct pst_err *e);
int sq_enrollment_add(struct store *s, const char *agent_id, int64_t token_id,
		      const char *cert_sha256_hex, const char *peer, int64_t now_us,
		      struct pst_err *e);
int sq_agent_id_taken(struct store *s, const char *agent_id, bool *taken, struct pst_err *e);

/* store_sqlite_read.c: page cursors for the other readers. */
json_t *sq_cursor_make(json_t *key);
int sq_cursor_parse(struct sqlite_store *q, const char *cursor, size_t nkeys, json_t **key,
		    struct pst_err *e);

/* store_sqlite_evidence.c */
int sq_evidence_begin(struct store *s, bool write, struct store_evidence_head *last,
		      struct pst_err *e);
int sq_evidence_last(struct store *s, struct store_evidence_head *last, struct pst_err *e);
int sq_evidence_insert(struct store *s, const struct store_evidence_put *p, struct pst_err *e);
int sq_evidence_list(struct store *s, const struct store_page *pg, json_t **out,
		     struct pst_err *e);
int sq_evidence_get(struct store *s, const char *id, char **env, size_t *len, char sha256[65],
		    struct pst_err *e);

#endif
