/*
 * test_store_metrics.c - what store_put_reports() derives from results
 * (schema version 2) and the documents the store's readers build, on a
 * real SQLite file in a scratch directory: three hosts, two categories
 * and four severities with known statuses give exact figures in the
 * summary, hosts, host, results, controls, violations and trend; a check
 * failing, passing and failing again opens, resolves and reopens its
 * violation with the alerts for each; a duplicate report changes nothing
 * and a late one does not regress; hosts go stale and come back;
 * pagination visits every host once; a version-1 file migrates with its
 * data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "storeutil.h"
#include "testutil.h"

#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

/* --- building reports ------------------------------------------------------ */

/* The four checks of policy "base" every report carries, in this order. */
static const struct chk {
	const char *id, *category;
	enum store_severity sev;
	const char *controls; /* "framework:id,framework:id" */
} checks[4] = {
	{"ssh.root", "access_control", STORE_SEV_HIGH,
	 "iso27001:A.8.2,iso27001:A.5.15,cis_debian12:5.1.20"},
	{"ssh.password", "access_control", STORE_SEV_CRITICAL, "iso27001:A.8.5,iso27001:A.5.2"},
	{"pkg.security", "patch", STORE_SEV_MEDIUM, "iso27001:A.8.8"},
	{"pkg.reboot", "patch", STORE_SEV_LOW, "iso27001:A.8.8,iso27001:A.5.10"},
};

/* A report of agent (hostname "<agent>.example") with st[i] for checks[i]. */
static struct store_report *mk(const char *agent, uint64_t seq, int64_t received,
			       const enum store_status st[4])
{
	struct store_report *r = su_report(agent, seq, "scan", 4);
	char host[64];

	snprintf(host, sizeof(host), "%s.example", agent);
	r->received_us = received;
	r->finished_us = received - SEC;
	r->started_us = received - 2 * SEC;
	su_facts(r, host, agent[strlen(agent) - 1] == '3' ? "rhel" : "debian", "12", "6.1.0");
	for (size_t i = 0; i < 4; i++) {
		struct store_result *res = &r->results[i];

		su_result(res, checks[i].id, checks[i].id, checks[i].category, st[i], checks[i].sev);
		res->remediation = su_strdup("fix it");
		su_controls(res, checks[i].controls);
		su_evidence(res, "/etc/x", st[i] == STORE_PASS ? "good" : "bad", "good", NULL,
			    st[i] == STORE_PASS);
	}
	return r;
}

/* Store one report; returns whether it was a duplicate. */
static bool put1(struct store *s, struct store_report *r)
{
	struct pst_err e = {0};
	bool dup = false;
	int rc = store_put_reports(s, &r, 1, &dup, &e);

	if (rc != 0)
		fail_msg("put: %s", e.msg);
	store_report_free(r);
	return dup;
}

#define P STORE_PASS
#define F STORE_FAIL
#define E STORE_ERROR
#define N STORE_NOT_APPLICABLE

/*
 * The fleet:          ssh.root  ssh.password  pkg.security  pkg.reboot
 *   h1 (debian)        pass      pass          pass          pass
 *   h2 (debian)        fail      pass          fail          n/a
 *   h3 (rhel)          fail      fail          error         pass
 * received at T0 + 1 s, + 2 s, + 3 s.
 */
static void put_fleet(struct store *s)
{
	static const enum store_status st[3][4] = {{P, P, P, P}, {F, P, F, N}, {F, F, E, P}};

	assert_false(put1(s, mk("h1", 1, T0 + 1 * SEC, st[0])));
	assert_false(put1(s, mk("h2", 1, T0 + 2 * SEC, st[1])));
	assert_false(put1(s, mk("h3", 1, T0 + 3 * SEC, st[2])));
}

static struct store_view view_at(int64_t now)
{
	return (struct store_view){.now_us = now, .stale_intervals = 3, .default_interval_s = 3600};
}

/* --- JSON paths: "a/b/0/c" ------------------------------------------------------ */

static json_t *jget(json_t *doc, const char *path)
{
	char buf[256], *save = NULL, *tok;
	json_t *v = doc;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok != NULL && v != NULL;
	     tok = strtok_r(NULL, "/", &save)) {
		if (json_is_array(v))
			v = json_array_get(v, strtoul(tok, NULL, 10));
		else
			v = json_object_get(v, tok);
	}
	if (v == NULL)
		fail_msg("no %s in the document", path);
	return v;
}

static void jint(json_t *doc, const char *path, long long want)
{
	json_t *v = jget(doc, path);

	if (!json_is_integer(v) || json_integer_value(v) != want)
		fail_msg("%s: want %lld, got %s", path, want, json_dumps(v, JSON_ENCODE_ANY));
}

static void jreal(json_t *doc, const char *path, double want)
{
	json_t *v = jget(doc, path);

	if (!json_is_number(v) || fabs(json_number_value(v) - want) > 1e-9)
		fail_msg("%s: want %.1f, got %s", path, want, json_dumps(v, JSON_ENCODE_ANY));
}

static void jnull(json_t *doc, const char *path)
{
	if (!json_is_null(jget(doc, path)))
		fail_msg("%s: want null", path);
}

static void jstr(json_t *doc, const char *path, const char *want)
{
	json_t *v = jget(doc, path);

	if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
		fail_msg("%s: want \"%s\", got %s", path, want, json_dumps(v, JSON_ENCODE_ANY));
}

static void jbool(json_t *doc, const char *path, bool want)
{
	json_t *v = jget(doc, path);

	if (!json_is_boolean(v) || json_is_true(v) != want)
		fail_msg("%s: want %s", path, want ? "true" : "false");
}

static size_t jlen(json_t *doc, const char *path)
{
	json_t *v = jget(doc, path);

	return json_is_array(v) ? json_array_size(v) : json_object_size(v);
}

/* --- the fleet's figures ---------------------------------------------------------- */

static void test_summary(void **state)
{
	struct su_store *f = *state;
	struct store_view v = view_at(T0 + HOUR);
	struct pst_err e = {0};
	json_t *d = NULL;
	uint64_t pending = 0;
	char sha[65];

	put_fleet(f->s);
	assert_int_equal(store_summary(f->s, &v, &d, &e), 0);
	jstr(d, "generated_at", "2025-11-24T17:00:00Z");
	jreal(d, "score", 60.0);
	jint(d, "pass", 6);
	jint(d, "fail", 4);
	jint(d, "error", 1);
	jint(d, "not_applicable", 1);
	jreal(d, "categories/access_control/score", 50.0);
	jint(d, "categories/access_control/pass", 3);
	jint(d, "categories/access_control/fail", 3);
	jreal(d, "categories/patch/score", 75.0);
	jint(d, "categories/patch/pass", 3);
	jint(d, "categories/patch/fail", 1);
	jnull(d, "categories/backup/score");
	jint(d, "categories/backup/pass", 0);
	assert_int_equal(jlen(d, "categories"), 3);
	jreal(d, "severities/high/score", 33.3);
	jreal(d, "severities/critical/score", 66.7);
	jreal(d, "severities/medium/score", 50.0);
	jreal(d, "severities/low/score", 100.0);
	jint(d, "severities/low/pass", 2);
	jint(d, "severities/low/fail", 0);
	jint(d, "hosts/total", 3);
	jint(d, "hosts/stale", 0);
	jint(d, "hosts/reporting", 3);
	jint(d, "violations/open", 4);
	jint(d, "violations/open_by_severity/critical", 1);
	jint(d, "violations/open_by_severity/high", 2);
	jint(d, "violations/open_by_severity/medium", 1);
	jint(d, "violations/open_by_severity/low", 0);
	jint(d, "violations/open_by_age/lt_1d", 4);
	jint(d, "violations/open_by_age/1d_7d", 0);
	jint(d, "violations/open_by_age/gt_30d", 0);
	jnull(d, "violations/mttr_s/by_severity/high");
	jnull(d, "violations/mttr_s/by_category/patch");
	assert_int_equal(jlen(d, "policies"), 1);
	jstr(d, "policies/0/id", "base");
	jstr(d, "policies/0/version", "1.0.0");
	memset(sha, 'a', 64);
	for (int i = 1; i < 64; i += 2)
		sha[i] = 'b';
	sha[64] = '\0';
	jstr(d, "policies/0/sha256", sha);
	jreal(d, "policies/0/score", 60.0);
	jint(d, "policies/0/pass", 6);
	jint(d, "policies/0/fail", 4);
	json_decref(d);

	/* 4 violations opened, one of them critical. */
	assert_int_equal(store_alerts_pending(f->s, &pending, &e), 0);
	assert_int_equal(pending, 5);

	/* An empty store has a score of null and zero counts. */
	store_close(f->s);
	tu_rmrf(f->dir);
	free(f->dir);
	f->dir = tu_mkdtemp();
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	snprintf(f->spec, sizeof(f->spec), "sqlite:%s", f->path);
	assert_int_equal(store_open(f->spec, &f->s, &e), 0);
	assert_int_equal(store_summary(f->s, &v, &d, &e), 0);
	jnull(d, "score");
	jint(d, "pass", 0);
	jint(d, "hosts/total", 0);
	jint(d, "violations/open", 0);
	assert_int_equal(jlen(d, "policies"), 0);
	json_decref(d);
}

static void test_hosts_and_host(void **state)
{
	struct su_store *f = *state;
	struct store_view v = view_at(T0 + HOUR);
	struct store_host_filter flt = {0};
	struct store_page pg = {.limit = 100};
	struct pst_err e = {0};
	json_t *d = NULL;

	put_fleet(f->s);
	assert_int_equal(store_hosts(f->s, &v, NULL, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "hosts"), 3);
	jnull(d, "next_cursor");
	jstr(d, "hosts/0/id", "h1");
	jstr(d, "hosts/1/id", "h2");
	jstr(d, "hosts/2/id", "h3");
	jstr(d, "hosts/1/hostname", "h2.example");
	jstr(d, "hosts/1/os_id", "debian");
	jstr(d, "hosts/1/os_version", "12");
	jstr(d, "hosts/1/kernel", "6.1.0");
	jnull(d, "hosts/1/architecture");
	jnull(d, "hosts/1/agent_version");
	jnull(d, "hosts/1/machine_id");
	jstr(d, "hosts/1/first_seen", "2025-11-24T16:00:02Z");
	jstr(d, "hosts/1/last_seen", "2025-11-24T16:00:02Z");
	jstr(d, "hosts/1/last_report", "2025-11-24T16:00:02Z");
	jint(d, "hosts/1/last_seq", 1);
	jnull(d, "hosts/1/scan_interval_s");
	jbool(d, "hosts/1/stale", false);
	jreal(d, "hosts/1/score", 33.3);
	jint(d, "hosts/1/pass", 1);
	jint(d, "hosts/1/fail", 2);
	jint(d, "hosts/1/error", 0);
	jint(d, "hosts/1/not_applicable", 1);
	jint(d, "hosts/1/failing/critical", 0);
	jint(d, "hosts/1/failing/high", 1);
	jint(d, "hosts/1/failing/medium", 1);
	jint(d, "hosts/1/failing/low", 0);
	jreal(d, "hosts/0/score", 100.0);
	jint(d, "hosts/2/error", 1);
	jint(d, "hosts/2/failing/critical", 1);
	json_decref(d);

	flt.os_id = "rhel";
	assert_int_equal(store_hosts(f->s, &v, &flt, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "hosts"), 1);
	jstr(d, "hosts/0/id", "h3");
	json_decref(d);
	flt = (struct store_host_filter){.failing_only = true};
	assert_int_equal(store_hosts(f->s, &v, &flt, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "hosts"), 2);
	jstr(d, "hosts/0/id", "h2");
	json_decref(d);
	flt = (struct store_host_filter){.search = "H1.EX"};
	assert_int_equal(store_hosts(f->s, &v, &flt, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "hosts"), 1);
	jstr(d, "hosts/0/id", "h1");
	json_decref(d);
	flt = (struct store_host_filter){.stale_only = true};
	assert_int_equal(store_hosts(f->s, &v, &flt, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "hosts"), 0);
	json_decref(d);
	/* Three default intervals (3 h) later every host is stale. */
	v = view_at(T0 + 3 * HOUR + 10 * SEC);
	assert_int_equal(store_hosts(f->s, &v, &flt, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "hosts"), 3);
	jbool(d, "hosts/0/stale", true);
	json_decref(d);

	v = view_at(T0 + HOUR);
	assert_int_equal(store_host(f->s, &v, "h3", &d, &e), 0);
	jstr(d, "id", "h3");
	jstr(d, "os_id", "rhel");
	jreal(d, "score", 33.3);
	jreal(d, "categories/access_control/score", 0.0);
	jint(d, "categories/access_control/fail", 2);
	jreal(d, "categories/patch/score", 100.0);
	jint(d, "categories/patch/pass", 1);
	jnull(d, "categories/backup/score");
	assert_int_equal(jlen(d, "policies"), 1);
	jstr(d, "policies/0/id", "base");
	jstr(d, "policies/0/version", "1.0.0");
	jreal(d, "policies/0/score", 33.3);
	jint(d, "policies/0/pass", 1);
	jint(d, "policies/0/fail", 2);
	jint(d, "open_violations", 2);
	json_decref(d);
	assert_int_equal(store_host(f->s, &v, "nope", &d, &e), PST_E_NOENT);
	assert_null(d);
	assert_non_null(strstr(e.msg, "nope"));
}

static void test_host_results(void **state)
{
	struct su_store *f = *state;
	struct store_result_filter flt = {.status = "fail"};
	struct store_page pg = {.limit = 1};
	struct pst_err e = {0};
	json_t *d = NULL;
	char cursor[256];

	put_fleet(f->s);
	assert_int_equal(store_host_results(f->s, "h2", &flt, &pg, &d, &e), 0);
	jstr(d, "host", "h2");
	assert_int_equal(jlen(d, "results"), 1);
	jstr(d, "results/0/policy_id", "base");
	jstr(d, "results/0/check_id", "pkg.security");
	jstr(d, "results/0/status", "fail");
	jstr(d, "results/0/severity", "medium");
	jstr(d, "results/0/category", "patch");
	jstr(d, "results/0/controls/iso27001/0", "A.8.8");
	jstr(d, "results/0/evidence/0/observed", "bad");
	jbool(d, "results/0/evidence/0/ok", false);
	jstr(d, "results/0/remediation", "fix it");
	jnull(d, "results/0/reason");
	jint(d, "results/0/seq", 1);
	jstr(d, "results/0/changed_at", "2025-11-24T16:00:01Z"); /* the scan's end */
	jstr(d, "results/0/checked_at", "2025-11-24T16:00:01Z");
	jint(d, "results/0/duration_us", 0);
	assert_true(json_is_string(jget(d, "next_cursor")));
	snprintf(cursor, sizeof(cursor), "%s", json_string_value(jget(d, "next_cursor")));
	json_decref(d);

	pg.cursor = cursor;
	assert_int_equal(store_host_results(f->s, "h2", &flt, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "results"), 1);
	jstr(d, "results/0/check_id", "ssh.root");
	jstr(d, "results/0/controls/iso27001/1", "A.5.15");
	jstr(d, "results/0/controls/cis_debian12/0", "5.1.20");
	jnull(d, "next_cursor");
	json_decref(d);

	pg = (struct store_page){.limit = 10};
	flt = (struct store_result_filter){.category = "patch", .severity = "low"};
	assert_int_equal(store_host_results(f->s, "h2", &flt, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "results"), 1);
	jstr(d, "results/0/status", "not_applicable");
	json_decref(d);
	assert_int_equal(store_host_results(f->s, "h2", NULL, NULL, &d, &e), 0);
	assert_int_equal(jlen(d, "results"), 4);
	json_decref(d);

	flt = (struct store_result_filter){.status = "broken"};
	assert_int_equal(store_host_results(f->s, "h2", &flt, &pg, &d, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "broken"));
	assert_int_equal(store_host_results(f->s, "nope", NULL, &pg, &d, &e), PST_E_NOENT);
	assert_null(d);
}

static void test_controls(void **state)
{
	struct su_store *f = *state;
	static const char *const order[] = {"A.5.2", "A.5.10", "A.5.15", "A.8.2", "A.8.5", "A.8.8"};
	struct pst_err e = {0};
	json_t *d = NULL;
	char path[64];

	put_fleet(f->s);
	assert_int_equal(store_controls(f->s, NULL, &d, &e), 0);
	assert_int_equal(jlen(d, "controls"), 7);
	jstr(d, "controls/0/framework", "cis_debian12");
	jstr(d, "controls/0/id", "5.1.20");
	jreal(d, "controls/0/score", 33.3);
	jint(d, "controls/0/pass", 1);
	jint(d, "controls/0/fail", 2);
	jint(d, "controls/0/hosts_failing", 2);
	jint(d, "controls/0/hosts", 3);
	for (size_t i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "controls/%zu/id", i + 1);
		jstr(d, path, order[i]);
		snprintf(path, sizeof(path), "controls/%zu/framework", i + 1);
		jstr(d, path, "iso27001");
	}
	/* A.5.2: ssh.password pass, pass, fail. */
	jreal(d, "controls/1/score", 66.7);
	jint(d, "controls/1/hosts_failing", 1);
	assert_int_equal(jlen(d, "controls/1/checks"), 1);
	jstr(d, "controls/1/checks/0/check_id", "ssh.password");
	jstr(d, "controls/1/checks/0/severity", "critical");
	/* A.8.8: pkg.security pass, fail, error; pkg.reboot pass, n/a, pass. */
	jreal(d, "controls/6/score", 75.0);
	jint(d, "controls/6/pass", 3);
	jint(d, "controls/6/fail", 1);
	jint(d, "controls/6/hosts", 3);
	jint(d, "controls/6/hosts_failing", 1);
	assert_int_equal(jlen(d, "controls/6/checks"), 2);
	jstr(d, "controls/6/checks/0/policy_id", "base");
	jstr(d, "controls/6/checks/0/check_id", "pkg.reboot");
	jstr(d, "controls/6/checks/0/title", "pkg.reboot");
	jint(d, "controls/6/checks/0/pass", 2);
	jint(d, "controls/6/checks/0/fail", 0);
	jstr(d, "controls/6/checks/1/check_id", "pkg.security");
	jint(d, "controls/6/checks/1/pass", 1);
	jint(d, "controls/6/checks/1/fail", 1);
	json_decref(d);

	assert_int_equal(store_controls(f->s, "cis_debian12", &d, &e), 0);
	assert_int_equal(jlen(d, "controls"), 1);
	json_decref(d);
	assert_int_equal(store_controls(f->s, "nist80053", &d, &e), 0);
	assert_int_equal(jlen(d, "controls"), 0);
	json_decref(d);
}

/* How many violations store_violations gives for flt. */
static size_t nviol(struct store *s, const struct store_violation_filter *flt)
{
	struct store_view v = view_at(T0 + HOUR);
	struct store_page pg = {.limit = 1000};
	struct pst_err e = {0};
	json_t *d = NULL;
	size_t n;

	if (store_violations(s, &v, flt, &pg, &d, &e) != 0)
		fail_msg("violations: %s", e.msg);
	n = jlen(d, "violations");
	json_decref(d);
	return n;
}

static void test_violations(void **state)
{
	struct su_store *f = *state;
	struct store_view v = view_at(T0 + HOUR);
	struct store_violation_filter flt = {0};
	struct store_page pg = {.limit = 3};
	struct pst_err e = {0};
	json_t *d = NULL;
	char cursor[256];

	put_fleet(f->s);
	assert_int_equal(store_violations(f->s, &v, NULL, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "violations"), 3);
	/* Newest first: h3's two (password opened after root), then h2's. */
	jstr(d, "violations/0/host", "h3");
	jstr(d, "violations/0/check_id", "ssh.password");
	jstr(d, "violations/1/host", "h3");
	jstr(d, "violations/1/check_id", "ssh.root");
	jstr(d, "violations/2/host", "h2");
	jstr(d, "violations/2/check_id", "pkg.security");
	jstr(d, "violations/2/hostname", "h2.example");
	jstr(d, "violations/2/policy_id", "base");
	jstr(d, "violations/2/title", "pkg.security");
	jstr(d, "violations/2/category", "patch");
	jstr(d, "violations/2/severity", "medium");
	jstr(d, "violations/2/controls/iso27001/0", "A.8.8");
	jstr(d, "violations/2/status", "open");
	jstr(d, "violations/2/opened_at", "2025-11-24T16:00:02Z");
	jint(d, "violations/2/opened_seq", 1);
	jnull(d, "violations/2/resolved_at");
	jnull(d, "violations/2/resolved_seq");
	jnull(d, "violations/2/resolved_by");
	jint(d, "violations/2/age_s", 3598);
	jstr(d, "violations/2/evidence/0/observed", "bad");
	jstr(d, "violations/2/remediation", "fix it");
	assert_true(json_is_integer(jget(d, "violations/0/id")));
	snprintf(cursor, sizeof(cursor), "%s", json_string_value(jget(d, "next_cursor")));
	json_decref(d);
	pg.cursor = cursor;
	assert_int_equal(store_violations(f->s, &v, NULL, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "violations"), 1);
	jstr(d, "violations/0/host", "h2");
	jstr(d, "violations/0/check_id", "ssh.root");
	jnull(d, "next_cursor");
	json_decref(d);

	assert_int_equal(nviol(f->s, &flt), 4);
	flt = (struct store_violation_filter){.severity = "critical"};
	assert_int_equal(nviol(f->s, &flt), 1);
	flt = (struct store_violation_filter){.host = "h2"};
	assert_int_equal(nviol(f->s, &flt), 2);
	flt = (struct store_violation_filter){.control = "A.8.8"};
	assert_int_equal(nviol(f->s, &flt), 1);
	flt = (struct store_violation_filter){.control = "iso27001:A.8.8"};
	assert_int_equal(nviol(f->s, &flt), 1);
	flt = (struct store_violation_filter){.control = "cis_debian12:5.1.20"};
	assert_int_equal(nviol(f->s, &flt), 2);
	flt = (struct store_violation_filter){.control = "nist80053:A.8.8"};
	assert_int_equal(nviol(f->s, &flt), 0);
	flt = (struct store_violation_filter){.category = "patch"};
	assert_int_equal(nviol(f->s, &flt), 1);
	flt = (struct store_violation_filter){.status = "open", .host = "h3"};
	assert_int_equal(nviol(f->s, &flt), 2);
	flt = (struct store_violation_filter){.status = "resolved"};
	assert_int_equal(nviol(f->s, &flt), 0);
	flt = (struct store_violation_filter){.since_us = T0 + 3 * SEC};
	assert_int_equal(nviol(f->s, &flt), 2);

	flt = (struct store_violation_filter){.status = "closed"};
	pg = (struct store_page){.limit = 10};
	assert_int_equal(store_violations(f->s, &v, &flt, &pg, &d, &e), PST_E_INVAL);
	flt = (struct store_violation_filter){.control = "iso27001:"};
	assert_int_equal(store_violations(f->s, &v, &flt, &pg, &d, &e), PST_E_INVAL);
	assert_null(d);
}



/* --- a violation's life ------------------------------------------------------------ */

/* The kinds of all queued alerts, "a,b,c", in a static buffer. */
static const char *alert_kinds(struct store *s, struct store_alert **out, size_t *n)
{
	static char buf[512];
	struct pst_err e = {0};
	size_t len = 0;

	assert_int_equal(store_alerts_due(s, INT64_MAX, 100, out, n, &e), 0);
	buf[0] = '\0';
	for (size_t i = 0; i < *n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "",
					(*out)[i].kind);
	return buf;
}

static void test_violation_lifecycle(void **state)
{
	struct su_store *f = *state;
	struct store_view v = view_at(T0 + DAY + 4 * HOUR);
	struct store_violation_filter flt = {.host = "h1"};
	struct store_page pg = {.limit = 10};
	struct pst_err e = {0};
	struct store_alert *a = NULL;
	json_t *d = NULL, *body, *before;
	size_t n = 0;

	assert_false(put1(f->s, mk("h1", 1, T0, (enum store_status[]){P, P, P, P})));
	assert_string_equal(alert_kinds(f->s, &a, &n), "");
	su_free_alerts(a, n);
	/* fail opens, error keeps it open, pass resolves, fail opens a new one. */
	assert_false(put1(f->s, mk("h1", 2, T0 + DAY, (enum store_status[]){F, P, P, P})));
	assert_false(put1(f->s, mk("h1", 3, T0 + DAY + HOUR, (enum store_status[]){E, P, P, P})));
	assert_int_equal(nviol(f->s, &(struct store_violation_filter){.status = "open"}), 1);
	assert_false(put1(f->s, mk("h1", 4, T0 + DAY + 2 * HOUR, (enum store_status[]){P, P, P, P})));
	assert_int_equal(nviol(f->s, &(struct store_violation_filter){.status = "open"}), 0);
	assert_false(put1(f->s, mk("h1", 5, T0 + DAY + 3 * HOUR, (enum store_status[]){F, F, P, P})));

	assert_string_equal(alert_kinds(f->s, &a, &n),
			    "violation_opened,violation_resolved,violation_opened,"
			    "violation_opened,critical_failure");
	body = json_loads(a[0].body, 0, NULL);
	assert_non_null(body);
	jstr(body, "kind", "violation_opened");
	jstr(body, "at", "2025-11-25T16:00:00Z");
	jstr(body, "host", "h1");
	jstr(body, "hostname", "h1.example");
	jstr(body, "policy_id", "base");
	jstr(body, "check_id", "ssh.root");
	jstr(body, "title", "ssh.root");
	jstr(body, "severity", "high");
	jstr(body, "category", "access_control");
	jstr(body, "controls/iso27001/0", "A.8.2");
	jstr(body, "status", "fail");
	jstr(body, "evidence/0/observed", "bad");
	jint(body, "violation_id", 1);
	assert_int_equal(a[0].created_us, T0 + DAY);
	assert_int_equal(a[0].attempts, 0);
	assert_false(a[0].logged);
	json_decref(body);
	body = json_loads(a[1].body, 0, NULL);
	jstr(body, "kind", "violation_resolved");
	jstr(body, "status", "pass");
	jstr(body, "evidence/0/observed", "good");
	jint(body, "violation_id", 1);
	json_decref(body);
	body = json_loads(a[2].body, 0, NULL);
	jint(body, "violation_id", 2);
	json_decref(body);
	body = json_loads(a[4].body, 0, NULL);
	jstr(body, "kind", "critical_failure");
	jstr(body, "check_id", "ssh.password");
	jstr(body, "severity", "critical");
	jint(body, "violation_id", 3);
	json_decref(body);
	su_free_alerts(a, n);

	assert_int_equal(store_violations(f->s, &v, &flt, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "violations"), 3);
	jstr(d, "violations/2/status", "resolved");
	jint(d, "violations/2/id", 1);
	jstr(d, "violations/2/opened_at", "2025-11-25T16:00:00Z");
	jstr(d, "violations/2/resolved_at", "2025-11-25T18:00:00Z");
	jint(d, "violations/2/resolved_seq", 4);
	jstr(d, "violations/2/resolved_by", "pass");
	jint(d, "violations/2/age_s", 7200);
	jstr(d, "violations/1/status", "open");
	jint(d, "violations/1/age_s", 3600);
	json_decref(d);

	assert_int_equal(store_summary(f->s, &v, &d, &e), 0);
	jreal(d, "violations/mttr_s/by_severity/high", 7200.0);
	jnull(d, "violations/mttr_s/by_severity/critical");
	jreal(d, "violations/mttr_s/by_category/access_control", 7200.0);
	jint(d, "violations/open", 2);
	jreal(d, "score", 50.0);

	/* The same report again: a duplicate, and nothing moves. */
	assert_true(put1(f->s, mk("h1", 5, T0 + DAY + 3 * HOUR, (enum store_status[]){F, F, P, P})));
	before = d;
	assert_int_equal(store_summary(f->s, &v, &d, &e), 0);
	assert_true(json_equal(before, d));
	json_decref(d);
	assert_string_equal(alert_kinds(f->s, &a, &n),
			    "violation_opened,violation_resolved,violation_opened,"
			    "violation_opened,critical_failure");
	su_free_alerts(a, n);

	/* A late report (seq 6 after 7) regresses nothing: root stays resolved. */
	assert_false(put1(f->s, mk("h1", 7, T0 + DAY + 5 * HOUR, (enum store_status[]){P, F, P, P})));
	assert_false(put1(f->s, mk("h1", 6, T0 + DAY + 6 * HOUR, (enum store_status[]){F, F, F, F})));
	assert_int_equal(nviol(f->s, &(struct store_violation_filter){.status = "open"}), 1);
	assert_int_equal(store_summary(f->s, &v, &d, &e), 0);
	jint(d, "pass", 3);
	jint(d, "fail", 1);
	jreal(d, "score", 75.0);
	json_decref(d);
	json_decref(before);
	assert_int_equal(su_raw_int(f->path, "SELECT count(*) FROM scans"), 7);
	assert_int_equal(su_raw_int(f->path, "SELECT pass FROM tallies WHERE scope = 'fleet'"), 3);
}

static void test_trend_and_metrics_rows(void **state)
{
	struct su_store *f = *state;
	struct store_view v = view_at(T0 + DAY + 4 * HOUR);
	struct pst_err e = {0};
	json_t *d = NULL;

	assert_false(put1(f->s, mk("h1", 1, T0, (enum store_status[]){P, P, P, P})));
	assert_false(put1(f->s, mk("h2", 1, T0 + HOUR, (enum store_status[]){F, P, N, E})));
	assert_false(put1(f->s, mk("h1", 2, T0 + DAY, (enum store_status[]){F, F, P, P})));

	assert_int_equal(store_trend(f->s, &v, 7, &d, &e), 0);
	jint(d, "days", 7);
	assert_int_equal(jlen(d, "points"), 2);
	jstr(d, "points/0/day", "2025-11-24");
	jint(d, "points/0/pass", 5);
	jint(d, "points/0/fail", 1);
	jreal(d, "points/0/score", 83.3);
	jreal(d, "points/0/categories/access_control/score", 75.0);
	jint(d, "points/0/categories/patch/pass", 2);
	jint(d, "points/0/severities/high/fail", 1);
	jstr(d, "points/1/day", "2025-11-25");
	jint(d, "points/1/pass", 3);
	jint(d, "points/1/fail", 3);
	jreal(d, "points/1/score", 50.0);
	jint(d, "points/1/severities/critical/fail", 1);
	json_decref(d);
	assert_int_equal(store_trend(f->s, &v, 1, &d, &e), 0);
	assert_int_equal(jlen(d, "points"), 1);
	jstr(d, "points/0/day", "2025-11-25");
	json_decref(d);
	assert_int_equal(store_trend(f->s, &v, 0, &d, &e), PST_E_INVAL);
}

/* --- metrics ------------------------------------------------------------------------- */

struct mseen {
	char lines[64][160];
	size_t n;
};

static int metric_cb(void *arg, const struct store_metric_row *m)
{
	struct mseen *s = arg;
	size_t len;

	assert_true(s->n < 64);
	len = (size_t)snprintf(s->lines[s->n], 160, "%s", m->name);
	for (int i = 0; i < 4 && m->labels[i][0] != NULL; i++)
		len += (size_t)snprintf(s->lines[s->n] + len, 160 - len, "%s%s=%s",
					i ? "," : "{", m->labels[i][0], m->labels[i][1]);
	if (m->labels[0][0] != NULL)
		len += (size_t)snprintf(s->lines[s->n] + len, 160 - len, "}");
	snprintf(s->lines[s->n] + len, 160 - len, " %g", m->value);
	s->n++;
	return 0;
}

static bool has_line(const struct mseen *s, const char *line)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->lines[i], line) == 0)
			return true;
	return false;
}

static void test_metric_rows(void **state)
{
	struct su_store *f = *state;
	struct store_view v = view_at(T0 + HOUR);
	struct pst_err e = {0};
	struct mseen *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	put_fleet(f->s);
	assert_int_equal(store_metric_rows(f->s, &v, metric_cb, m, &e), 0);
	assert_true(has_line(m, "results{status=fail,category=access_control,severity=high} 2"));
	assert_true(has_line(m, "results{status=pass,category=patch,severity=low} 2"));
	assert_true(has_line(m, "results{status=error,category=patch,severity=medium} 1"));
	assert_true(has_line(m, "score{scope=fleet} 60"));
	assert_true(has_line(m, "score{category=patch} 75"));
	assert_true(has_line(m, "hosts{state=reporting} 3"));
	assert_true(has_line(m, "hosts{state=stale} 0"));
	assert_true(has_line(m, "violations_open{severity=critical} 1"));
	assert_true(has_line(m, "violations_open{severity=high} 2"));
	assert_true(has_line(m, "violations_open{severity=low} 0"));
	assert_true(has_line(m, "violations_opened_total 4"));
	assert_true(has_line(m, "violations_resolved_total 0"));
	assert_true(has_line(m, "host_score{host=h1} 100"));
	assert_true(has_line(m, "alerts_pending 5"));
	free(m);
}

/* --- stale hosts ------------------------------------------------------------------------ */

static void test_stale(void **state)
{
	struct su_store *f = *state;
	struct store_facts facts = {.hostname = "h1.example", .scan_interval_s = 600};
	struct store_view v;
	struct pst_err e = {0};
	struct store_alert *a = NULL;
	uint64_t last = 0;
	size_t n = 99, na = 0;
	json_t *d = NULL, *body;

	assert_int_equal(store_host_hello(f->s, "h1", &facts, T0, &last, &e), 0);
	facts = (struct store_facts){.hostname = "h2.example"};
	assert_int_equal(store_host_hello(f->s, "h2", &facts, T0, &last, &e), 0);
	assert_false(put1(f->s, mk("h1", 1, T0 + SEC, (enum store_status[]){P, P, P, P})));
	assert_false(put1(f->s, mk("h3", 1, T0, (enum store_status[]){P, P, P, P})));

	v = view_at(T0 + 10 * 60 * SEC);
	assert_int_equal(store_mark_stale(f->s, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	/* h1 said 600 s: three of them without a report make it stale. */
	v = view_at(T0 + 31 * 60 * SEC);
	assert_int_equal(store_mark_stale(f->s, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_mark_stale(f->s, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_string_equal(alert_kinds(f->s, &a, &na), "host_stale");
	body = json_loads(a[0].body, 0, NULL);
	jstr(body, "kind", "host_stale");
	jstr(body, "at", "2025-11-24T16:31:00Z");
	jstr(body, "host", "h1");
	jstr(body, "hostname", "h1.example");
	jstr(body, "last_report", "2025-11-24T16:00:01Z");
	jint(body, "stale_after_s", 1800);
	json_decref(body);
	su_free_alerts(a, na);

	assert_int_equal(store_host(f->s, &v, "h1", &d, &e), 0);
	jbool(d, "stale", true);
	jint(d, "scan_interval_s", 600);
	json_decref(d);
	assert_int_equal(store_host(f->s, &v, "h2", &d, &e), 0);
	jbool(d, "stale", false);
	jnull(d, "last_report");
	jnull(d, "scan_interval_s");
	json_decref(d);

	/* The default interval (3600 s) for h2, never reported, and h3. */
	v = view_at(T0 + 3 * HOUR + SEC);
	assert_int_equal(store_mark_stale(f->s, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_summary(f->s, &v, &d, &e), 0);
	jint(d, "hosts/stale", 3);
	jint(d, "hosts/reporting", 0);
	json_decref(d);

	/* A report clears the mark: h1 can go stale again. */
	assert_false(put1(f->s, mk("h1", 2, T0 + 4 * HOUR, (enum store_status[]){P, P, P, P})));
	v = view_at(T0 + 4 * HOUR + 60 * SEC);
	assert_int_equal(store_summary(f->s, &v, &d, &e), 0);
	jint(d, "hosts/stale", 2);
	jint(d, "hosts/reporting", 1);
	json_decref(d);
	assert_int_equal(store_mark_stale(f->s, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	v = view_at(T0 + 4 * HOUR + 31 * 60 * SEC);
	assert_int_equal(store_mark_stale(f->s, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(su_raw_int(f->path, "SELECT count(*) FROM alerts WHERE kind = 'host_stale'"), 4);
}

/* --- pagination ---------------------------------------------------------------------------- */

static void test_pagination(void **state)
{
	struct su_store *f = *state;
	struct store_view v = view_at(T0 + HOUR);
	struct store_page pg = {.limit = 7};
	struct pst_err e = {0};
	char cursor[256] = "", id[16], prev[16] = "";
	int seen[26] = {0};
	size_t pages = 0, total = 0;
	json_t *d = NULL;

	for (int i = 1; i <= 25; i++) {
		snprintf(id, sizeof(id), "p%02d", i);
		assert_false(put1(f->s, mk(id, 1, T0 + i * SEC, (enum store_status[]){P, F, P, P})));
	}
	do {
		size_t n;

		pg.cursor = pages == 0 ? NULL : cursor;
		assert_int_equal(store_hosts(f->s, &v, NULL, &pg, &d, &e), 0);
		n = jlen(d, "hosts");
		assert_true(n >= 1 && n <= 7);
		for (size_t i = 0; i < n; i++) {
			json_t *h = json_array_get(json_object_get(d, "hosts"), i);
			const char *hid = json_string_value(json_object_get(h, "id"));

			assert_true(strcmp(hid, prev) > 0);
			snprintf(prev, sizeof(prev), "%s", hid);
			seen[atoi(hid + 1)]++;
			total++;
		}
		pages++;
		if (json_is_string(json_object_get(d, "next_cursor")))
			snprintf(cursor, sizeof(cursor), "%s",
				 json_string_value(json_object_get(d, "next_cursor")));
		else
			cursor[0] = '\0';
		json_decref(d);
	} while (cursor[0] != '\0' && pages < 10);
	assert_int_equal(pages, 4);
	assert_int_equal(total, 25);
	for (int i = 1; i <= 25; i++)
		assert_int_equal(seen[i], 1);

	/* Cursors that are not ours, and limits out of range. */
	pg.cursor = "!!not-base64!!";
	assert_int_equal(store_hosts(f->s, &v, NULL, &pg, &d, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "cursor"));
	pg.cursor = "WzFd"; /* [1]: base64url of JSON, but no host key */
	assert_int_equal(store_hosts(f->s, &v, NULL, &pg, &d, &e), PST_E_INVAL);
	pg.cursor = "eyJhIjoxfQ"; /* {"a":1} */
	assert_int_equal(store_hosts(f->s, &v, NULL, &pg, &d, &e), PST_E_INVAL);
	assert_null(d);
	pg = (struct store_page){.limit = 0};
	assert_int_equal(store_hosts(f->s, &v, NULL, &pg, &d, &e), PST_E_INVAL);
	pg.limit = 1001;
	assert_int_equal(store_hosts(f->s, &v, NULL, &pg, &d, &e), PST_E_INVAL);
	pg.limit = 1000;
	assert_int_equal(store_hosts(f->s, &v, NULL, &pg, &d, &e), 0);
	assert_int_equal(jlen(d, "hosts"), 25);
	jnull(d, "next_cursor");
	json_decref(d);
	/* Exactly a page's worth: no next page. */
	pg.limit = 25;
	assert_int_equal(store_hosts(f->s, &v, NULL, &pg, &d, &e), 0);
	jnull(d, "next_cursor");
	json_decref(d);
}

/* --- migration from schema version 1 ------------------------------------------------------ */

/*
 * A version-1 file is built from tests/fixtures/store/schema-v1.sql: a
 * frozen copy of what migration 1 created, so that it stays what old files
 * hold however the migrations change later.
 */
static void test_migrate_from_v1(void **state)
{
	struct su_store *f = *state;
	struct store_view v = view_at(T0 + HOUR);
	struct store_page pg = {.limit = 10};
	struct pst_err e = {0};
	struct store_counts c;
	json_t *d = NULL;
	sqlite3 *db = NULL;
	char *schema1 = su_file_text(tu_fixture("store/schema-v1.sql"));

	/* A store as version 1 left it: one host, a failing and a passing check. */
	store_close(f->s);
	f->s = NULL;
	unlink(f->path);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	su_sql_exec(db, "BEGIN");
	su_sql_exec(db, schema1);
	free(schema1);
	su_sql_exec(db, "PRAGMA user_version = 1; PRAGMA application_id = 1347638354");
	su_sql_exec(db, "COMMIT");
	su_sql_exec(db,
		"INSERT INTO hosts (agent_id, hostname, first_seen, last_seen, last_report, last_seq)"
		" VALUES ('old', 'old.example', 1764000000000000, 1764000000000000,"
		"  1764000000000000, 3);"
		"INSERT INTO scans (agent_id, seq, received, pass, fail, error, not_applicable,"
		"  score) VALUES ('old', 3, 1764000000000000, 1, 1, 0, 0, 50.0);"
		"INSERT INTO results (agent_id, policy_id, check_id, title, category, severity,"
		"  status, controls, evidence, seq, changed_at, checked_at) VALUES"
		" ('old', 'base', 'pkg.security', 't', 'patch', 'medium', 'fail',"
		"  '{\"iso27001\":[\"A.8.8\"]}', '[{\"subject\":\"s\"}]', 3, 1763900000000000,"
		"  1764000000000000),"
		" ('old', 'base', 'ssh.root', 't', 'access_control', 'high', 'pass',"
		"  '{\"iso27001\":[\"A.8.2\",\"A.5.15\"]}', '[]', 3, 1763900000000000,"
		"  1764000000000000);");
	sqlite3_close(db);

	assert_int_equal(store_open(f->spec, &f->s, &e), 0);
	assert_int_equal(store_schema_version(f->s), 3);
	assert_int_equal(store_counts(f->s, &c, &e), 0);
	assert_int_equal(c.hosts, 1);
	assert_int_equal(c.scans, 1);
	assert_int_equal(c.results, 2);
	assert_int_equal(su_raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name IN"
				 " ('violations', 'tallies', 'trend', 'alerts', 'alert_log',"
				 "  'tokens', 'enrollments', 'result_controls')"), 8);
	assert_int_equal(su_raw_int(f->path, "SELECT count(*) FROM result_controls"), 3);

	/* What version 1 held shows in the new documents. */
	assert_int_equal(store_summary(f->s, &v, &d, &e), 0);
	jint(d, "pass", 1);
	jint(d, "fail", 1);
	jreal(d, "score", 50.0);
	jint(d, "categories/patch/fail", 1);
	jint(d, "severities/high/pass", 1);
	jint(d, "violations/open", 1);
	json_decref(d);
	assert_int_equal(store_controls(f->s, "iso27001", &d, &e), 0);
	assert_int_equal(jlen(d, "controls"), 3);
	jstr(d, "controls/0/id", "A.5.15");
	jstr(d, "controls/2/id", "A.8.8");
	jint(d, "controls/2/fail", 1);
	json_decref(d);
	assert_int_equal(store_violations(f->s, &v, NULL, &pg, &d, &e), 0);
	jstr(d, "violations/0/check_id", "pkg.security");
	jint(d, "violations/0/opened_seq", 3);
	json_decref(d);

	/* And the store goes on from there: a pass resolves the carried-over violation. */
	{
		struct store_report *r = mk("old", 4, T0 + HOUR, (enum store_status[]){P, P, P, P});
		struct store_alert *a = NULL;
		size_t n = 0;

		assert_false(put1(f->s, r));
		assert_string_equal(alert_kinds(f->s, &a, &n), "violation_resolved");
		su_free_alerts(a, n);
	}
	assert_int_equal(nviol(f->s, &(struct store_violation_filter){.status = "open"}), 0);
	assert_int_equal(store_summary(f->s, &v, &d, &e), 0);
	jint(d, "pass", 4);
	jint(d, "fail", 0);
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_summary, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_hosts_and_host, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_host_results, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_controls, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_violations, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_violation_lifecycle, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_trend_and_metrics_rows, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_metric_rows, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_stale, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_pagination, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_v1, su_setup, su_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
