/*
 * test_accounts.c - unit tests of the accounts probe on fixture roots under
 * tests/fixtures/probes/accounts/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_accounts;

static int validate(const char *json, struct pst_err *e)
{
	return tu_validate(&probe_accounts, json, e);
}

/* Validate and run on fixture root `root` (a case name). */
static int run(const char *root, const char *json, struct probe_out *out)
{
	return tu_run(&probe_accounts, tu_fixture("probes/accounts/%s", root), json, out);
}

/* An integer observation without a note. */
static void expect_int(const struct probe_out *out, size_t i, const char *subject,
		       const char *key, const char *location, int64_t value)
{
	char text[32];

	snprintf(text, sizeof(text), "%lld", (long long)value);
	tu_expect_obs(out, i, subject, key, location, text, NULL);
	tu_expect_kind(out, i, VALUE_INT);
}

static void test_validate(void **state)
{
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(validate("{\"select\":\"uid0\"}", &e), 0);
	assert_int_equal(validate("{\"select\":\"group_members\",\"group\":\"sudo\"}", &e), 0);
	assert_int_equal(validate("{\"select\":\"group_members\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "select \"group_members\" needs \"group\" (the group whose members to list)");
	assert_int_equal(validate("{\"select\":\"uid0\",\"group\":\"sudo\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"group\" applies only to select \"group_members\"");
	assert_int_equal(validate("{\"select\":\"uid0\",\"uid_min\":500}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"uid_min\" applies only to select \"system_interactive_shell\"");
	assert_int_equal(validate("{\"select\":\"system_interactive_shell\",\"uid_min\":-1}", &e),
			 PST_E_INVAL);
	assert_string_equal(e.msg, "\"uid_min\" must be between 0 and 4294967295");
	assert_int_equal(validate("{\"select\":\"system_interactive_shell\",\"uid_min\":500}", &e), 0);
}

static void test_uid0(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"uid0\"}", &out), 0);
	assert_int_equal(out.n, 2);
	tu_expect_str(&out, 0, "root", "uid", "/etc/passwd:1", "root", NULL);
	tu_expect_str(&out, 1, "toor", "uid", "/etc/passwd:5", "toor", NULL);
	probe_out_cleanup(&out);

	/* uid0 needs only /etc/passwd. */
	assert_int_equal(run("noshadow", "{\"select\":\"uid0\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "root", "uid", "/etc/passwd:1", "root", NULL);
	probe_out_cleanup(&out);
}

static void test_empty_password(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"empty_password\"}", &out), 0);
	assert_int_equal(out.n, 2);
	tu_expect_str(&out, 0, "carol", "password", "/etc/shadow:10", "carol",
		      "the password hash in /etc/shadow is empty: no password is asked");
	tu_expect_str(&out, 1, "nopw", "password", "/etc/passwd:11", "nopw",
		      "the password field in /etc/passwd is empty: no password is asked");
	probe_out_cleanup(&out);
}

static void test_shadowless(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"shadowless\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "ghost", "password", "/etc/passwd:12", "ghost",
		      "the password field is 'x' but /etc/shadow has no entry for ghost");
	probe_out_cleanup(&out);
}

static void test_missing_shadow_fails(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("noshadow", "{\"select\":\"empty_password\"}", &out), PST_E_NOENT);
	assert_string_equal(out.reason, "cannot read /etc/shadow: no such file in the scanned root");
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
	assert_int_equal(run("noshadow", "{\"select\":\"password_max_days\"}", &out), PST_E_NOENT);
	assert_string_equal(out.reason, "cannot read /etc/shadow: no such file in the scanned root");
	probe_out_cleanup(&out);
	assert_int_equal(run("noshadow", "{\"select\":\"group_password\"}", &out), PST_E_NOENT);
	assert_string_equal(out.reason, "cannot read /etc/gshadow: no such file in the scanned root");
	probe_out_cleanup(&out);
}

/*
 * Aging: one observation per account with a usable hash; locked ("!", "*",
 * "!$6$...") and empty hashes are skipped, unset fields are absent.
 */
static void test_password_aging(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"password_max_days\"}", &out), 0);
	assert_int_equal(out.n, 3);
	expect_int(&out, 0, "root", "max_days", "/etc/shadow:1", 99999);
	tu_expect_str(&out, 1, "toor", "max_days", "/etc/shadow:5", NULL, "not set");
	expect_int(&out, 2, "alice", "max_days", "/etc/shadow:8", 90);
	probe_out_cleanup(&out);

	assert_int_equal(run("basic", "{\"select\":\"password_min_days\"}", &out), 0);
	assert_int_equal(out.n, 3);
	expect_int(&out, 0, "root", "min_days", "/etc/shadow:1", 0);
	tu_expect_str(&out, 1, "toor", "min_days", "/etc/shadow:5", NULL, "not set");
	expect_int(&out, 2, "alice", "min_days", "/etc/shadow:8", 1);
	probe_out_cleanup(&out);

	assert_int_equal(run("basic", "{\"select\":\"password_warn_days\"}", &out), 0);
	assert_int_equal(out.n, 3);
	expect_int(&out, 0, "root", "warn_days", "/etc/shadow:1", 7);
	expect_int(&out, 2, "alice", "warn_days", "/etc/shadow:8", 14);
	probe_out_cleanup(&out);

	assert_int_equal(run("basic", "{\"select\":\"password_inactive_days\"}", &out), 0);
	assert_int_equal(out.n, 3);
	tu_expect_str(&out, 0, "root", "inactive_days", "/etc/shadow:1", NULL, "not set");
	tu_expect_str(&out, 1, "toor", "inactive_days", "/etc/shadow:5", NULL, "not set");
	expect_int(&out, 2, "alice", "inactive_days", "/etc/shadow:8", 30);
	probe_out_cleanup(&out);
}

static void test_duplicates(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"duplicate_uid\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "/etc/passwd", "uid", "/etc/passwd:5", "0",
		      "uid 0 is used by 2 entries: root (/etc/passwd:1), toor (/etc/passwd:5)");
	probe_out_cleanup(&out);

	assert_int_equal(run("basic", "{\"select\":\"duplicate_user_name\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "/etc/passwd", "name", "/etc/passwd:13", "alice",
		      "user name alice is used by 2 entries: uid 1000 (/etc/passwd:8), uid 1005 (/etc/passwd:13)");
	probe_out_cleanup(&out);

	assert_int_equal(run("basic", "{\"select\":\"duplicate_gid\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "/etc/group", "gid", "/etc/group:7", "0",
		      "gid 0 is used by 2 entries: root (/etc/group:1), admins (/etc/group:7)");
	probe_out_cleanup(&out);

	assert_int_equal(run("basic", "{\"select\":\"duplicate_group_name\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "/etc/group", "name", "/etc/group:8", "sudo",
		      "group name sudo is used by 2 entries: gid 27 (/etc/group:3), gid 28 (/etc/group:8)");
	probe_out_cleanup(&out);

	/* No duplicates: an empty set. */
	assert_int_equal(run("noshadow", "{\"select\":\"duplicate_uid\"}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
}

static void test_system_interactive_shell(void **state)
{
	struct probe_out out;

	(void)state;
	/* UID_MIN 1000 from login.defs (the last of two settings). */
	assert_int_equal(run("basic", "{\"select\":\"system_interactive_shell\"}", &out), 0);
	assert_int_equal(out.n, 3);
	tu_expect_str(&out, 0, "bin", "shell", "/etc/passwd:3", "bin",
		      "shell /bin/sh; uid 2 is below 1000 (UID_MIN in /etc/login.defs)");
	/* An empty shell field is /bin/sh to login(1), so it counts. */
	tu_expect_str(&out, 1, "games", "shell", "/etc/passwd:6", "games",
		      "shell /bin/sh (empty field); uid 5 is below 1000 (UID_MIN in /etc/login.defs)");
	tu_expect_str(&out, 2, "svc", "shell", "/etc/passwd:7", "svc",
		      "shell /bin/bash; uid 999 is below 1000 (UID_MIN in /etc/login.defs)");
	probe_out_cleanup(&out);

	/* The rule's uid_min and nologin_shells win. */
	assert_int_equal(run("basic", "{\"select\":\"system_interactive_shell\",\"uid_min\":1001,"
				      "\"nologin_shells\":[\"/bin/sh\"]}", &out), 0);
	assert_int_equal(out.n, 4);
	tu_expect_str(&out, 0, "daemon", "shell", "/etc/passwd:2", "daemon",
		      "shell /usr/sbin/nologin; uid 1 is below 1001 (uid_min in the rule)");
	tu_expect_str(&out, 1, "sync", "shell", "/etc/passwd:4", "sync",
		      "shell /bin/sync; uid 4 is below 1001 (uid_min in the rule)");
	tu_expect_str(&out, 2, "svc", "shell", "/etc/passwd:7", "svc",
		      "shell /bin/bash; uid 999 is below 1001 (uid_min in the rule)");
	tu_expect_str(&out, 3, "alice", "shell", "/etc/passwd:8", "alice",
		      "shell /bin/bash; uid 1000 is below 1001 (uid_min in the rule)");
	probe_out_cleanup(&out);

	/* No login.defs: the default 1000. */
	assert_int_equal(run("noshadow", "{\"select\":\"system_interactive_shell\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "svc", "shell", "/etc/passwd:2", "svc",
		      "shell /bin/bash; uid 999 is below 1000 (the default; there is no /etc/login.defs)");
	probe_out_cleanup(&out);

	assert_int_equal(run("badlogindefs", "{\"select\":\"system_interactive_shell\"}", &out),
			 PST_E_PARSE);
	assert_string_equal(out.reason, "/etc/login.defs:1: UID_MIN \"thousand\" is not a uid; "
					"fix it or set uid_min in the rule");
	probe_out_cleanup(&out);
}

static void test_group_members(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"group_members\",\"group\":\"sudo\"}", &out), 0);
	assert_int_equal(out.n, 4);
	tu_expect_str(&out, 0, "sudo", "member", "/etc/group:3", "alice",
		      "listed in /etc/group:3");
	tu_expect_str(&out, 1, "sudo", "member", "/etc/group:3", "bob",
		      "listed in /etc/group:3; listed in /etc/gshadow:2");
	tu_expect_str(&out, 2, "sudo", "member", "/etc/passwd:10", "carol",
		      "primary group in /etc/passwd:10");
	tu_expect_str(&out, 3, "sudo", "member", "/etc/gshadow:2", "dave",
		      "listed in /etc/gshadow:2");
	probe_out_cleanup(&out);

	/* A group that does not exist has no members. */
	assert_int_equal(run("basic", "{\"select\":\"group_members\",\"group\":\"wheel\"}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);

	/* Without /etc/gshadow: members from group and passwd only. */
	assert_int_equal(run("noshadow", "{\"select\":\"group_members\",\"group\":\"sudo\"}", &out), 0);
	assert_int_equal(out.n, 2);
	tu_expect_str(&out, 0, "sudo", "member", "/etc/group:2", "alice", "listed in /etc/group:2");
	tu_expect_str(&out, 1, "sudo", "member", "/etc/passwd:3", "web",
		      "primary group in /etc/passwd:3");
	probe_out_cleanup(&out);
}

static void test_group_password(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"group_password\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "users", "password", "/etc/gshadow:3", "users",
		      "the group has a password: whoever knows it can join with newgrp");
	probe_out_cleanup(&out);
}

static void test_malformed(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"malformed\"}", &out), 0);
	assert_int_equal(out.n, 4);
	tu_expect_str(&out, 0, "/etc/passwd", NULL, "/etc/passwd:14", "/etc/passwd:14",
		      "the line is not an entry of /etc/passwd (expected 7 colon-separated fields "
		      "with a numeric uid and gid) and is ignored by the system");
	tu_expect_str(&out, 1, "/etc/shadow", NULL, "/etc/shadow:11", "/etc/shadow:11",
		      "the line is not an entry of /etc/shadow (expected 9 colon-separated fields "
		      "with numeric day counts) and is ignored by the system");
	tu_expect_str(&out, 2, "/etc/group", NULL, "/etc/group:9", "/etc/group:9",
		      "the line is not an entry of /etc/group (expected 4 colon-separated fields "
		      "with a numeric gid) and is ignored by the system");
	tu_expect_str(&out, 3, "/etc/gshadow", NULL, "/etc/gshadow:6", "/etc/gshadow:6",
		      "the line is not an entry of /etc/gshadow (expected 4 colon-separated fields) "
		      "and is ignored by the system");
	probe_out_cleanup(&out);

	/* /etc/shadow is required for malformed; /etc/gshadow is not. */
	assert_int_equal(run("noshadow", "{\"select\":\"malformed\"}", &out), PST_E_NOENT);
	assert_string_equal(out.reason, "cannot read /etc/shadow: no such file in the scanned root");
	probe_out_cleanup(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_uid0),
		cmocka_unit_test(test_empty_password),
		cmocka_unit_test(test_shadowless),
		cmocka_unit_test(test_missing_shadow_fails),
		cmocka_unit_test(test_password_aging),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_system_interactive_shell),
		cmocka_unit_test(test_group_members),
		cmocka_unit_test(test_group_password),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
