/*
 * test_store.c - the store on a real SQLite file in a scratch directory:
 * specs, migrations from empty and on re-open, a newer schema and a
 * foreign file refused, the file's mode, Hello, reports stored once
 * (duplicates across and within batches), latest results, transitions
 * only on a change, late reports, scan counts and score, a failed batch
 * leaving nothing behind, and the readers.
 *
 * The test itself reads and tampers with the file through sqlite3 (as an
 * operator's shell would); the store code never lets sqlite3.h out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "show.h"
#include "store.h"
#include "storeutil.h"
#include "testutil.h"

/* --- building reports ----------------------------------------------------- */

/*
 * A report of agent: checks "c1".."cN" of policy "base" with statuses
 * st[0..n), all high, each under iso27001 A.8.2 with its evidence's line.
 */
static struct store_report *mk_report(const char *agent, uint64_t seq,
				      const enum store_status *st, size_t n)
{
	struct store_report *r = su_checks_report(agent, seq, st, NULL, n);

	for (size_t i = 0; i < n; i++) {
		su_controls(&r->results[i], "iso27001:A.8.2");
		r->results[i].evidence[0].location = su_strdup("/etc/ssh/sshd_config:32");
	}
	return r;
}

static int put(struct store *s, struct store_report **r, size_t n, bool *dup,
	       struct pst_err *e)
{
	return store_put_reports(s, r, n, dup, e);
}

static void free_all(struct store_report **r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_report_free(r[i]);
}

/* --- reading the file directly -------------------------------------------- */

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

static double raw_double(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	double v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The rows of sql as "a|b|c;" lines, in a static buffer. */
static const char *raw_rows(sqlite3 *db, const char *sql)
{
	static char buf[4096];
	sqlite3_stmt *st;
	size_t n = 0;

	buf[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);

			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "|" : "",
					      v ? v : "NULL");
		}
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ";");
	}
	sqlite3_finalize(st);
	return buf;
}

/* --- readers' callbacks ------------------------------------------------------ */

#define MAX_ROWS 16

struct hosts_seen {
	size_t n;
	char agent[MAX_ROWS][64], hostname[MAX_ROWS][64], os[MAX_ROWS][64];
	struct store_host_row row[MAX_ROWS]; /* strings not valid after the call */
};

static int on_host(void *arg, const struct store_host_row *h)
{
	struct hosts_seen *hs = arg;

	assert_true(hs->n < MAX_ROWS);
	snprintf(hs->agent[hs->n], 64, "%s", h->agent_id);
	snprintf(hs->hostname[hs->n], 64, "%s", h->hostname ? h->hostname : "NULL");
	snprintf(hs->os[hs->n], 64, "%s %s", h->os_id ? h->os_id : "NULL",
		 h->os_version ? h->os_version : "NULL");
	hs->row[hs->n++] = *h;
	return 0;
}

struct results_seen {
	size_t n;
	char check[MAX_ROWS][32], evidence[MAX_ROWS][256];
	struct store_result_row row[MAX_ROWS];
};

static int on_result(void *arg, const struct store_result_row *r)
{
	struct results_seen *rs = arg;

	assert_true(rs->n < MAX_ROWS);
	assert_string_equal(r->policy_id, "base");
	snprintf(rs->check[rs->n], 32, "%s", r->check_id);
	snprintf(rs->evidence[rs->n], 256, "%s", r->evidence_json);
	rs->row[rs->n++] = *r;
	return 0;
}

static int stop_at_first(void *arg, const struct store_host_row *h)
{
	(void)h;
	(*(int *)arg)++;
	return 7;
}

/* --- tests -------------------------------------------------------------------- */

static void test_specs(void **state)
{
	struct su_store *f = *state;
	struct store *s = NULL;
	struct pst_err e = {0};
	char spec[600];

	(void)f;
	assert_int_equal(store_open("postgresql://db.example/posture", &s, &e), PST_E_INVAL);
	assert_null(s);
	assert_non_null(strstr(e.msg, "not built"));
	assert_int_equal(store_open("mysql://db/posture", &s, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "unknown kind of store"));
	assert_int_equal(store_open("sqlite:", &s, &e), PST_E_INVAL);
	assert_int_equal(store_open("", &s, &e), PST_E_INVAL);

	/* A bare path is SQLite too, and the same file as "sqlite:PATH". */
	assert_int_equal(store_open(f->path, &s, &e), 0);
	assert_string_equal(store_spec(s), f->path);
	assert_int_equal(store_schema_version(s), store_schema_version(f->s));
	store_close(s);

	/* A missing directory says so. */
	snprintf(spec, sizeof(spec), "sqlite:%s/missing/store.db", f->dir);
	assert_int_equal(store_open(spec, &s, &e), PST_E_NOENT);
	assert_non_null(strstr(e.msg, "create its directory"));
}

static void test_migrate_and_reopen(void **state)
{
	struct su_store *f = *state;
	struct store_counts c;
	struct pst_err e = {0};
	sqlite3 *db;
	int v = store_schema_version(f->s);

	assert_true(v >= 1);
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_int_equal(c.hosts + c.scans + c.results + c.transitions, 0);

	db = raw_open(f->path);
	assert_int_equal(su_sql_int(db, "PRAGMA user_version"), v);
	assert_string_equal(raw_rows(db, "PRAGMA journal_mode"), "wal;");
	assert_int_equal(su_sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
				 "('hosts','policies','scans','results','transitions')"), 5);
	sqlite3_close(db);

	/* Re-opening finds the version and changes nothing. */
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->spec, &f->s, &e), 0);
	assert_int_equal(store_schema_version(f->s), v);
	db = raw_open(f->path);
	assert_int_equal(su_sql_int(db, "PRAGMA user_version"), v);
	sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
	struct su_store *f = *state;
	struct store *s = NULL;
	struct pst_err e = {0};
	sqlite3 *db;

	store_close(f->s);
	f->s = NULL;
	db = raw_open(f->path);
	su_sql_exec(db, "PRAGMA user_version = 999");
	sqlite3_close(db);
	assert_int_equal(store_open(f->spec, &s, &e), PST_E_STORE);
	assert_null(s);
	assert_non_null(strstr(e.msg, "newer than this collector"));
	assert_non_null(strstr(e.msg, f->path));
	/* Nothing was changed by the refusal. */
	db = raw_open(f->path);
	assert_int_equal(su_sql_int(db, "PRAGMA user_version"), 999);
	sqlite3_close(db);
}

static void test_foreign_file_refused(void **state)
{
	struct su_store *f = *state;
	struct store *s = NULL;
	struct pst_err e = {0};
	char path[600];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	db = raw_open(path);
	su_sql_exec(db, "CREATE TABLE songs (title TEXT)");
	sqlite3_close(db);
	assert_int_equal(store_open(path, &s, &e), PST_E_STORE);
	assert_non_null(strstr(e.msg, "no posture store"));

	snprintf(path, sizeof(path), "%s/app.db", f->dir);
	db = raw_open(path);
	su_sql_exec(db, "PRAGMA application_id = 42");
	sqlite3_close(db);
	assert_int_equal(store_open(path, &s, &e), PST_E_STORE);
	assert_non_null(strstr(e.msg, "another program"));
}

static void test_file_mode(void **state)
{
	struct su_store *f = *state;
	struct store *s = NULL;
	struct pst_err e = {0};
	struct stat sb;
	char path[600], wal[620];
	mode_t old;

	/* A umask that would leave the file unreadable to its owner. */
	snprintf(path, sizeof(path), "%s/private.db", f->dir);
	old = umask(0277);
	assert_int_equal(store_open(path, &s, &e), 0);
	umask(old);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	store_close(s);

	/* And with a permissive one. */
	snprintf(path, sizeof(path), "%s/open.db", f->dir);
	old = umask(0);
	assert_int_equal(store_open(path, &s, &e), 0);
	umask(old);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	store_close(s);
}

static void test_hello(void **state)
{
	struct su_store *f = *state;
	struct store_facts facts = {
		.hostname = "db-1", .os_id = "debian", .os_version = "12",
		.kernel = "6.1.0-18-amd64", .machine_id = "5c0a1d7e", .architecture = "x86_64",
		.agent_version = "0.1.0",
	};
	static const enum store_status st[] = {STORE_PASS};
	struct store_report *r[1];
	struct hosts_seen hs = {0};
	struct store_counts c;
	struct pst_err e = {0};
	uint64_t last = 99;
	bool dup[1];
	sqlite3 *db;

	assert_int_equal(store_host_hello(f->s, "agent-a", &facts, T0, &last, &e), 0);
	assert_int_equal(last, 0);
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_int_equal(c.hosts, 1);

	r[0] = mk_report("agent-a", 5, st, 1);
	assert_int_equal(put(f->s, r, 1, dup, &e), 0);
	free_all(r, 1);

	/* A second Hello updates the facts it gives and keeps the others. */
	facts.hostname = "db-1.example.net";
	facts.machine_id = NULL;
	assert_int_equal(store_host_hello(f->s, "agent-a", &facts, T0 + 60000000, &last, &e), 0);
	assert_int_equal(last, 5);
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_int_equal(c.hosts, 1);
	assert_int_equal(store_each_host(f->s, on_host, &hs, &e), 0);
	assert_int_equal(hs.n, 1);
	assert_string_equal(hs.hostname[0], "db-1.example.net");
	assert_int_equal(hs.row[0].first_seen_us, T0);
	assert_int_equal(hs.row[0].last_seen_us, T0 + 60000000);
	assert_int_equal(hs.row[0].last_seq, 5);
	db = raw_open(f->path);
	assert_string_equal(raw_rows(db, "SELECT machine_id, agent_version, architecture "
				     "FROM hosts"), "5c0a1d7e|0.1.0|x86_64;");
	sqlite3_close(db);

	assert_int_equal(store_host_hello(f->s, "", &facts, T0, &last, &e), PST_E_INVAL);
}

static void test_duplicates(void **state)
{
	struct su_store *f = *state;
	static const enum store_status st[] = {STORE_PASS, STORE_FAIL};
	struct store_report *r[4];
	struct store_counts c;
	struct pst_err e = {0};
	bool dup[4];

	/* seq 1 twice in one batch, and a second agent's seq 1. */
	r[0] = mk_report("agent-a", 1, st, 2);
	r[1] = mk_report("agent-a", 2, st, 2);
	r[2] = mk_report("agent-a", 1, st, 2);
	r[3] = mk_report("agent-b", 1, st, 2);
	assert_int_equal(put(f->s, r, 4, dup, &e), 0);
	assert_false(dup[0]);
	assert_false(dup[1]);
	assert_true(dup[2]);
	assert_false(dup[3]);
	free_all(r, 4);
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_int_equal(c.hosts, 2); /* created without a Hello */
	assert_int_equal(c.scans, 3);
	assert_int_equal(c.results, 4);
	assert_int_equal(c.transitions, 4);

	/* Across batches: stored ones again are duplicates, nothing written. */
	r[0] = mk_report("agent-b", 1, st, 2);
	r[1] = mk_report("agent-a", 2, st, 2);
	r[2] = mk_report("agent-a", 3, st, 2);
	assert_int_equal(put(f->s, r, 3, dup, &e), 0);
	assert_true(dup[0]);
	assert_true(dup[1]);
	assert_false(dup[2]);
	free_all(r, 3);
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_int_equal(c.scans, 4);
	assert_int_equal(c.transitions, 4);
}

static void test_results_and_transitions(void **state)
{
	struct su_store *f = *state;
	static const enum store_status s1[] = {STORE_PASS, STORE_FAIL, STORE_ERROR};
	static const enum store_status s2[] = {STORE_PASS, STORE_PASS, STORE_ERROR,
					       STORE_NOT_APPLICABLE};
	static const enum store_status s4[] = {STORE_PASS, STORE_FAIL, STORE_ERROR,
					       STORE_NOT_APPLICABLE};
	static const enum store_status s3[] = {STORE_FAIL, STORE_PASS, STORE_PASS,
					       STORE_PASS};
	struct store_report *r[2];
	struct results_seen rs = {0};
	struct hosts_seen hs = {0};
	struct store_counts c;
	struct pst_err e = {0};
	int64_t fin1, fin2, fin4;
	bool dup[2];
	sqlite3 *db;

	r[0] = mk_report("agent-a", 1, s1, 3);
	fin1 = r[0]->finished_us;
	assert_int_equal(put(f->s, r, 1, dup, &e), 0);
	free_all(r, 1);
	r[0] = mk_report("agent-a", 2, s2, 4);
	fin2 = r[0]->finished_us;
	assert_int_equal(put(f->s, r, 1, dup, &e), 0);
	free_all(r, 1);

	db = raw_open(f->path);
	/* New checks come from nothing; c2 went fail -> pass; c1, c3 did not change. */
	assert_string_equal(raw_rows(db, "SELECT check_id, from_status, to_status, seq FROM "
				     "transitions ORDER BY id"),
			    "c1|NULL|pass|1;c2|NULL|fail|1;c3|NULL|error|1;"
			    "c2|fail|pass|2;c4|NULL|not_applicable|2;");
	assert_string_equal(raw_rows(db, "SELECT seq, pass, fail, error, not_applicable "
				     "FROM scans ORDER BY seq"), "1|1|1|1|0;2|2|0|1|1;");
	assert_true(raw_double(db, "SELECT score FROM scans WHERE seq = 1") == 50.0);
	assert_true(raw_double(db, "SELECT score FROM scans WHERE seq = 2") == 100.0);
	assert_string_equal(raw_rows(db, "SELECT controls FROM results WHERE check_id = 'c1'"),
			    "{\"iso27001\":[\"A.8.2\"]};");
	assert_string_equal(raw_rows(db, "SELECT p.policy_id, p.version, substr(p.sha256, 1, 8) "
				     "FROM scan_policies sp JOIN policies p ON p.id = sp.policy "
				     "JOIN scans s ON s.id = sp.scan WHERE s.seq = 2"),
			    "base|1.0.0|abababab;");
	assert_int_equal(su_sql_int(db, "SELECT count(*) FROM policies"), 1);

	/* The readers: latest per check, when it reached its status. */
	assert_int_equal(store_each_result(f->s, "agent-a", on_result, &rs, &e), 0);
	assert_int_equal(rs.n, 4);
	assert_string_equal(rs.check[0], "c1");
	assert_int_equal(rs.row[0].status, STORE_PASS);
	assert_int_equal(rs.row[0].changed_us, fin1);
	assert_int_equal(rs.row[0].seq, 2);
	assert_int_equal(rs.row[0].severity, STORE_SEV_HIGH);
	assert_string_equal(rs.check[1], "c2");
	assert_int_equal(rs.row[1].status, STORE_PASS);
	assert_int_equal(rs.row[1].changed_us, fin2);
	assert_string_equal(rs.evidence[1],
			    "[{\"subject\":\"/etc/ssh/sshd_config\",\"observed\":\"no\","
			    "\"expected\":\"no\",\"location\":\"/etc/ssh/sshd_config:32\","
			    "\"ok\":true}]");
	assert_int_equal(rs.row[2].status, STORE_ERROR);
	assert_int_equal(rs.row[3].status, STORE_NOT_APPLICABLE);
	assert_int_equal(store_each_host(f->s, on_host, &hs, &e), 0);
	assert_int_equal(hs.n, 1);
	assert_int_equal(hs.row[0].pass, 2);
	assert_int_equal(hs.row[0].fail, 0);
	assert_int_equal(hs.row[0].error, 1);
	assert_int_equal(hs.row[0].not_applicable, 1);
	assert_true(hs.row[0].has_score);
	assert_true(hs.row[0].score == 100.0);
	assert_int_equal(hs.row[0].last_seq, 2);

	/* seq 4, then seq 3 delivered late: 3 is kept as a scan but is not
	 * the latest, so it changes no result and makes no transition. */
	r[0] = mk_report("agent-a", 4, s4, 4);
	fin4 = r[0]->finished_us;
	r[1] = mk_report("agent-a", 3, s3, 4);
	assert_int_equal(put(f->s, r, 2, dup, &e), 0);
	free_all(r, 2);
	assert_string_equal(raw_rows(db, "SELECT check_id, from_status, to_status FROM "
				     "transitions WHERE seq > 2 ORDER BY id"), "c2|pass|fail;");
	assert_string_equal(raw_rows(db, "SELECT check_id, status, seq FROM results "
				     "ORDER BY check_id"),
			    "c1|pass|4;c2|fail|4;c3|error|4;c4|not_applicable|4;");
	assert_int_equal(su_sql_int(db, "SELECT changed_at FROM results WHERE check_id = 'c2'"),
			 fin4);
	assert_int_equal(su_sql_int(db, "SELECT last_seq FROM hosts"), 4);
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_int_equal(c.scans, 4);
	assert_int_equal(c.results, 4);
	assert_int_equal(c.transitions, 6);
	sqlite3_close(db);

	memset(&hs, 0, sizeof(hs));
	assert_int_equal(store_each_host(f->s, on_host, &hs, &e), 0);
	assert_int_equal(hs.row[0].fail, 1);
	assert_true(hs.row[0].score == 50.0);
}

static void test_failed_batch_leaves_nothing(void **state)
{
	struct su_store *f = *state;
	static const enum store_status st[] = {STORE_PASS, STORE_FAIL};
	struct store_report *r[3];
	struct store_counts c, before;
	struct pst_err e = {0};
	bool dup[3];
	sqlite3 *db;

	r[0] = mk_report("agent-a", 1, st, 2);
	assert_int_equal(put(f->s, r, 1, dup, &e), 0);
	free_all(r, 1);
	assert_int_equal(store_counts(f->s, &before, &e), 0);

	/* The third report's results fail after two reports (one of a new
	 * host) and its own scan row were written. */
	db = raw_open(f->path);
	su_sql_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON results WHEN NEW.seq = 12 "
		     "BEGIN SELECT RAISE(ABORT, 'forced failure'); END");
	r[0] = mk_report("agent-a", 2, st, 2);
	r[1] = mk_report("agent-new", 11, st, 2);
	r[2] = mk_report("agent-a", 12, st, 2);
	assert_int_equal(put(f->s, r, 3, dup, &e), PST_E_STORE);
	assert_non_null(strstr(e.msg, "forced failure"));
	assert_non_null(strstr(e.msg, "report 12 of agent-a"));
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_int_equal(su_sql_int(db, "SELECT last_seq FROM hosts WHERE agent_id = 'agent-a'"), 1);

	/* The same batch goes through once the cause is gone. */
	su_sql_exec(db, "DROP TRIGGER refuse");
	assert_int_equal(put(f->s, r, 3, dup, &e), 0);
	free_all(r, 3);
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_int_equal(c.hosts, 2);
	assert_int_equal(c.scans, 4);

	/* A writer holding the lock past the busy timeout: a clean failure. */
	store_set_busy_timeout(f->s, 10);
	su_sql_exec(db, "BEGIN IMMEDIATE");
	r[0] = mk_report("agent-a", 20, st, 2);
	assert_int_equal(put(f->s, r, 1, dup, &e), PST_E_STORE);
	assert_non_null(strstr(e.msg, "lock"));
	su_sql_exec(db, "COMMIT");
	assert_int_equal(put(f->s, r, 1, dup, &e), 0);
	free_all(r, 1);
	sqlite3_close(db);
}

static void test_unstorable_report(void **state)
{
	struct su_store *f = *state;
	static const enum store_status st[] = {STORE_PASS};
	struct store_report *r[2];
	struct store_counts c;
	struct pst_err e = {0};
	bool dup[2];

	r[0] = mk_report("agent-a", 1, st, 1);
	r[1] = mk_report("agent-a", 2, st, 1);
	free(r[1]->results[0].check_id);
	r[1]->results[0].check_id = NULL;
	assert_int_equal(store_report_check(r[0], &e), 0);
	assert_int_equal(put(f->s, r, 2, dup, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "results[0] has no policy or check id"));
	r[1]->results[0].check_id = su_strdup("c1");
	r[1]->results[0].status = (enum store_status)9;
	assert_int_equal(store_report_check(r[1], &e), PST_E_INVAL);
	r[1]->results[0].status = STORE_PASS;
	r[1]->seq = 0;
	assert_int_equal(store_report_check(r[1], &e), PST_E_INVAL);
	free_all(r, 2);
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_int_equal(c.scans, 0);
}

static void test_readers(void **state)
{
	struct su_store *f = *state;
	static const enum store_status st[] = {STORE_FAIL};
	struct store_report *r[3];
	struct hosts_seen hs = {0};
	struct results_seen rs = {0};
	struct pst_err e = {0};
	bool dup[3];
	int calls = 0;

	/* No host yet: nothing called. */
	assert_int_equal(store_each_host(f->s, on_host, &hs, &e), 0);
	assert_int_equal(hs.n, 0);

	r[0] = mk_report("zeta", 1, st, 1);
	r[1] = mk_report("alpha", 1, st, 1);
	r[2] = mk_report("mid", 1, st, 0);
	assert_int_equal(put(f->s, r, 3, dup, &e), 0);
	free_all(r, 3);
	assert_int_equal(store_each_host(f->s, on_host, &hs, &e), 0);
	assert_int_equal(hs.n, 3);
	assert_string_equal(hs.agent[0], "alpha");
	assert_string_equal(hs.agent[1], "mid");
	assert_string_equal(hs.agent[2], "zeta");
	assert_string_equal(hs.hostname[0], "web-1");
	assert_string_equal(hs.os[0], "debian 12");
	assert_false(hs.row[1].has_score); /* no pass, no fail */
	assert_true(hs.row[2].has_score);
	assert_true(hs.row[2].score == 0.0);
	assert_int_equal(hs.row[2].last_report_us, T0 + 1000000 + 1500);

	/* A callback's non-zero answer stops the walk and is returned. */
	assert_int_equal(store_each_host(f->s, stop_at_first, &calls, &e), 7);
	assert_int_equal(calls, 1);

	assert_int_equal(store_each_result(f->s, "nobody", on_result, &rs, &e), 0);
	assert_int_equal(rs.n, 0);
	assert_int_equal(store_each_result(f->s, "zeta", on_result, &rs, &e), 0);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.row[0].status, STORE_FAIL);
}

/* show output of the store at spec, as a heap string. */
static char *show(const char *spec, bool json)
{
	struct pst_err e = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	if (show_store(spec, out, json, &e) != 0)
		fail_msg("%s", e.msg);
	fclose(out);
	return buf;
}

static void test_show(void **state)
{
	struct su_store *f = *state;
	static const enum store_status st[] = {STORE_PASS, STORE_FAIL, STORE_ERROR,
					       STORE_NOT_APPLICABLE};
	struct store_facts facts = {.hostname = "idle-1", .os_id = "rhel", .os_version = "9"};
	struct store_report *r[1];
	struct pst_err e = {0};
	json_t *doc, *h, *p;
	uint64_t last;
	bool dup[1];
	char *text;

	r[0] = mk_report("agent-a", 3, st, 4);
	r[0]->results[2].severity = STORE_SEV_CRITICAL; /* an error sorts after failures */
	assert_int_equal(put(f->s, r, 1, dup, &e), 0);
	free_all(r, 1);
	assert_int_equal(store_host_hello(f->s, "agent-b", &facts, T0, &last, &e), 0);

	text = show(f->spec, false);
	assert_non_null(strstr(text, ": 2 hosts, 1 report stored\n"));
	assert_non_null(strstr(text, "\nagent-a  web-1  debian 12  kernel 6.1.0-18-amd64\n"
				   "  last report 2025-11-24T16:00:03.001Z (seq 3)  score 50.0  "
				   "pass 1  fail 1  error 1  n/a 1\n"
				   "  high      fail   c2  A check\n"
				   "                   observed: yes; expected: no\n"
				   "  critical  error  c3  A check\n"));
	assert_non_null(strstr(text, "\nagent-b  idle-1  rhel 9  kernel -\n"
				   "  last report never (seq 0)  score -  pass 0  fail 0  error 0  "
				   "n/a 0\n"));
	free(text);

	text = show(f->spec, true);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "posture.show/v1");
	assert_int_equal(json_array_size(json_object_get(doc, "hosts")), 2);
	h = json_array_get(json_object_get(doc, "hosts"), 0);
	assert_string_equal(json_string_value(json_object_get(h, "agent_id")), "agent-a");
	assert_string_equal(json_string_value(json_object_get(h, "last_report")),
			    "2025-11-24T16:00:03.001Z");
	assert_true(json_real_value(json_object_get(json_object_get(h, "summary"), "score")) ==
		    50.0);
	assert_non_null(strstr(text, "\"score\": 50.0"));
	assert_int_equal(json_array_size(json_object_get(h, "problems")), 2);
	p = json_array_get(json_object_get(h, "problems"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "check")), "c2");
	assert_string_equal(json_string_value(json_object_get(p, "status")), "fail");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(p, "evidence"), 0), "observed")), "yes");
	h = json_array_get(json_object_get(doc, "hosts"), 1);
	assert_true(json_is_null(json_object_get(h, "last_report")));
	assert_null(json_object_get(json_object_get(h, "summary"), "score"));
	json_decref(doc);
	free(text);

	assert_int_equal(show_store("postgresql://x/y", stdout, false, &e), PST_E_INVAL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(store_status_name(STORE_NOT_APPLICABLE), "not_applicable");
	assert_string_equal(store_status_name((enum store_status)42), "unknown");
	assert_string_equal(store_severity_name(STORE_SEV_CRITICAL), "critical");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_specs, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_and_reopen, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_file_refused, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_file_mode, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_hello, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_results_and_transitions, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_failed_batch_leaves_nothing, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_unstorable_report, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_readers, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_show, su_setup, su_teardown),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
