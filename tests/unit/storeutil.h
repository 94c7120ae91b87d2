/*
 * storeutil.h - what the unit tests of the collector's store have in
 * common: a store on a real SQLite file in a scratch directory (as a
 * cmocka fixture, or embedded in a test's own), the parts of a
 * struct store_report (one policy "base", results, controls, evidence),
 * reading the file directly through sqlite3 as an operator's shell would,
 * reading a whole file (a fixture, a log), and the alerts the store queues.
 *
 * What a test checks stays in the test: these build inputs and read
 * outputs, and assert only that building and reading worked.  They
 * assert with cmocka, so they are for use inside a test.
 */
#ifndef POSTURE_STOREUTIL_H
#define POSTURE_STOREUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

#define T0 1764000000000000LL /* 2025-11-24T16:00:00Z in microseconds */
#define SEC 1000000LL

/* --- a store in a scratch directory --- */

struct su_store {
	char *dir;       /* the scratch directory (heap) */
	char path[512];  /* dir/store.db */
	char spec[600];  /* "sqlite:" path */
	struct store *s;
};

/* A fresh scratch directory and a store opened on dir/store.db; 0, or -1 with the reason on stderr. */
int su_store_open(struct su_store *st);

/* Close the store (if open) and remove the scratch directory. */
void su_store_close(struct su_store *st);

/* cmocka setup and teardown: *state is a heap struct su_store opened by su_store_open. */
int su_setup(void **state);
int su_teardown(void **state);

/* --- building reports --- */

/* strdup that asserts. */
char *su_strdup(const char *s);

/*
 * A report of agent with seq and scan_id, one policy "base" 1.0.0 (sha256
 * all 0xab) and nresults zeroed results; times, facts and results are the
 * caller's to fill.  Free with store_report_free().
 */
struct store_report *su_report(const char *agent, uint64_t seq, const char *scan_id,
			       size_t nresults);

/* Set r's facts (each copied). */
void su_facts(struct store_report *r, const char *hostname, const char *os_id,
	      const char *os_version, const char *kernel);

/* Set res: check check_id of policy "base" (each string copied). */
void su_result(struct store_result *res, const char *check_id, const char *title,
	       const char *category, enum store_status status, enum store_severity sev);

/*
 * Give res the controls in spec, "framework:id,framework:id,...": ids of
 * one framework gather under it, in the order given (at most 8 frameworks,
 * 8 ids each).
 */
void su_controls(struct store_result *res, const char *spec);

/* Give res one piece of evidence; location NULL: none. */
void su_evidence(struct store_result *res, const char *subject, const char *observed,
		 const char *expected, const char *location, bool ok);

/*
 * The report of agent ("web-1" host, Debian 12) with checks c1..cN of
 * policy "base", "A check" in access_control, with statuses st and
 * severities sev (NULL: all high), each with evidence on
 * /etc/ssh/sshd_config ("no" expected, "yes" observed unless it passes).
 * Started at T0 + seq s, finished 500 us later, received 1 ms after that.
 */
struct store_report *su_checks_report(const char *agent, uint64_t seq,
				      const enum store_status *st,
				      const enum store_severity *sev, size_t n);

/* --- reading the file directly --- */

/* Run sql (one or more statements) on db; fails the test on an error. */
void su_sql_exec(sqlite3 *db, const char *sql);

/* The one integer sql returns on db; -1 for NULL. */
long long su_sql_int(sqlite3 *db, const char *sql);

/* su_sql_int on the file at path, opened and closed around it. */
long long su_raw_int(const char *path, const char *sql);

/* The whole file at path (at most 1 MiB), NUL-terminated, heap; asserts that it reads. */
char *su_file_text(const char *path);

/* --- alerts --- */

/* Free n alerts as store_alerts_due() gives them. */
void su_free_alerts(struct store_alert *a, size_t n);

#endif
