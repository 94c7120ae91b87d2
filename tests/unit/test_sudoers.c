/*
 * test_sudoers.c - unit tests of the sudoers probe on fixture roots under
 * tests/fixtures/probes/sudoers/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "err.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_sudoers;

static int validate(const char *json, struct pst_err *e)
{
	return tu_validate(&probe_sudoers, json, e);
}

static int run(const char *root, const char *json, struct probe_out *out)
{
	return tu_run(&probe_sudoers, tu_fixture("probes/sudoers/%s", root), json, out);
}

/* select defaults on the basic root: exactly one observation. */
static void expect_default(const char *key, const char *subject, const char *location,
			   const char *value, const char *note)
{
	struct probe_out out;
	char params[256];

	snprintf(params, sizeof(params), "{\"select\":\"defaults\",\"key\":\"%s\"}", key);
	assert_int_equal(run("basic", params, &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, subject, key, location, value, note);
	probe_out_cleanup(&out);
}

static void test_validate(void **state)
{
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(validate("{\"select\":\"nopasswd\"}", &e), 0);
	assert_int_equal(validate("{\"select\":\"defaults\",\"key\":\"use_pty\"}", &e), 0);
	assert_int_equal(validate("{\"select\":\"defaults\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "select \"defaults\" needs \"key\" (the Defaults setting, e.g. \"use_pty\")");
	assert_int_equal(validate("{\"select\":\"nopasswd\",\"key\":\"use_pty\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"key\" applies only to select \"defaults\"");
	assert_int_equal(validate("{\"select\":\"defaults\",\"key\":\"!use_pty\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"key\" \"!use_pty\" is not a Defaults setting name "
				   "(letters, digits and '_' only; no '!')");
	assert_int_equal(validate("{\"select\":\"includes\",\"path\":\"sudoers\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"path\" must be absolute (as seen inside the root)");
}

#define NOPW_NOTE "commands tagged NOPASSWD run without asking for a password"

/*
 * NOPASSWD grants, including one continued over two lines, one with a
 * "#1000" uid, and one in an included file; the commented-out grant and
 * those in "foo~", "x.bak" and a subdirectory of sudoers.d are not read.
 */
static void test_nopasswd(void **state)
{
	struct probe_out out;
	struct stat st;

	(void)state;
	/* The skipped names must really be in the fixture (a global gitignore could drop them). */
	assert_int_equal(stat(tu_fixture("probes/sudoers/basic/etc/sudoers.d/foo~"), &st), 0);
	assert_int_equal(stat(tu_fixture("probes/sudoers/basic/etc/sudoers.d/x.bak"), &st), 0);

	assert_int_equal(run("basic", "{\"select\":\"nopasswd\"}", &out), 0);
	assert_int_equal(out.n, 3);
	tu_expect_str(&out, 0, "/etc/sudoers", "NOPASSWD", "/etc/sudoers:12",
		      "%admin ALL=(ALL) NOPASSWD: ALL", NOPW_NOTE);
	tu_expect_str(&out, 1, "/etc/sudoers", "NOPASSWD", "/etc/sudoers:13",
		      "#1000 ALL = (root) NOPASSWD: /usr/bin/systemctl restart nginx", NOPW_NOTE);
	tu_expect_str(&out, 2, "/etc/sudoers.d/10-ops", "NOPASSWD", "/etc/sudoers.d/10-ops:2",
		      "ops ALL=(ALL) NOPASSWD:ALL", NOPW_NOTE);
	probe_out_cleanup(&out);
}

#define AUTH_NOTE "sudo asks no password where this Defaults line applies"

static void test_no_authenticate(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"no_authenticate\"}", &out), 0);
	assert_int_equal(out.n, 4);
	tu_expect_str(&out, 0, "/etc/sudoers", "authenticate", "/etc/sudoers:6",
		      "Defaults:alice !authenticate", AUTH_NOTE);
	tu_expect_str(&out, 1, "/etc/sudoers", "authenticate", "/etc/sudoers:7",
		      "Defaults@db1 !authenticate, !lecture", AUTH_NOTE);
	tu_expect_str(&out, 2, "/etc/sudoers", "authenticate", "/etc/sudoers:19",
		      "Defaults>root !authenticate", AUTH_NOTE);
	tu_expect_str(&out, 3, "/etc/sudoers", "authenticate", "/etc/sudoers:21",
		      "Defaults!/usr/bin/less !authenticate", AUTH_NOTE);
	probe_out_cleanup(&out);
}

static void test_defaults(void **state)
{
	(void)state;
	/* use_pty at :5, !use_pty at :17, use_pty again in sudoers.d/10-ops: the last wins. */
	expect_default("use_pty", "/etc/sudoers.d/10-ops", "/etc/sudoers.d/10-ops:3", "true", NULL);
	expect_default("env_reset", "/etc/sudoers", "/etc/sudoers:2", "true", NULL);
	/* "key = value" with quotes and a trailing comment. */
	expect_default("logfile", "/etc/sudoers", "/etc/sudoers:8", "/var/log/sudo.log", NULL);
	expect_default("secure_path", "/etc/sudoers", "/etc/sudoers:4",
		       "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", NULL);
	/* Only generic Defaults lines: Defaults:bob's 30 does not count. */
	expect_default("timestamp_timeout", "/etc/sudoers.local", "/etc/sudoers.local:1", "0", NULL);
	/* A list: += twice on :9, -= TZ in 10-ops. */
	expect_default("env_keep", "/etc/sudoers.d/10-ops", "/etc/sudoers.d/10-ops:4", "LANG LC_ALL",
		       "a list built with += / -= over Defaults lines; last changed here");
	/* Set only in Defaults@db1. */
	expect_default("lecture", "/etc/sudoers", "/etc/sudoers", NULL, "not set");
	expect_default("requiretty", "/etc/sudoers", "/etc/sudoers", NULL, "not set");
}

static void test_includes(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("basic", "{\"select\":\"includes\"}", &out), 0);
	assert_int_equal(out.n, 3);
	tu_expect_str(&out, 0, "/etc/sudoers.d/10-ops", "include", "/etc/sudoers:18",
		      "/etc/sudoers.d/10-ops",
		      "read through @includedir /etc/sudoers.d at /etc/sudoers:18");
	tu_expect_str(&out, 1, "/etc/sudoers.d/20-empty", "include", "/etc/sudoers:18",
		      "/etc/sudoers.d/20-empty",
		      "read through @includedir /etc/sudoers.d at /etc/sudoers:18");
	/* "#include" with a path relative to the including file's directory. */
	tu_expect_str(&out, 2, "/etc/sudoers.local", "include", "/etc/sudoers:20",
		      "/etc/sudoers.local",
		      "read through #include /etc/sudoers.local at /etc/sudoers:20");
	probe_out_cleanup(&out);
}

static void test_failures(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run("loop", "{\"select\":\"nopasswd\"}", &out), PST_E_LIMIT);
	assert_string_equal(out.reason, "/etc/sudoers:1: cannot include /etc/sudoers: include "
					"nesting deeper than 8 levels (does a file include itself?)");
	probe_out_cleanup(&out);

	assert_int_equal(run("missing", "{\"select\":\"includes\"}", &out), PST_E_NOENT);
	assert_string_equal(out.reason, "cannot read /etc/sudoers: no such file (is sudo installed? "
					"use applicable_if to skip hosts without it)");
	probe_out_cleanup(&out);

	/* A missing @includedir directory is fine; a missing @include file is not. */
	assert_int_equal(run("badinclude", "{\"select\":\"includes\"}", &out), PST_E_NOENT);
	assert_string_equal(out.reason, "cannot read /etc/missing.conf: no such file or entry "
					"(included from /etc/sudoers:2)");
	probe_out_cleanup(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_nopasswd),
		cmocka_unit_test(test_no_authenticate),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
