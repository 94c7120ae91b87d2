/*
 * test_sshd_config.c - unit tests of the sshd_config probe on fixture roots
 * under tests/fixtures/probes/sshd_config/.
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

extern const struct probe probe_sshd_config;

#define MAIN "/etc/ssh/sshd_config"

static int validate(const char *json, struct pst_err *e)
{
	return tu_validate(&probe_sshd_config, json, e);
}

static int run(const char *root, const char *json, struct probe_out *out)
{
	return tu_run(&probe_sshd_config, tu_fixture("probes/sshd_config/%s", root), json, out);
}

/*
 * Run with key `key` (and extra JSON members) on root and expect exactly one
 * observation; value NULL means absent, note NULL means no note.
 */
static void expect_one(const char *root, const char *params, const char *subject,
		       const char *key, const char *location, const char *value,
		       const char *note)
{
	struct probe_out out;
	enum value_kind kind;

	assert_int_equal(run(root, params, &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_obs(&out, 0, subject, key, location, value, note);
	/* Time keywords are observed as integer seconds; others as text. */
	kind = out.items[0].v.kind;
	if (value != NULL)
		assert_true(kind == VALUE_STRING || kind == VALUE_INT);
	probe_out_cleanup(&out);
}

static void expect_fail(const char *root, const char *params, int code, const char *reason)
{
	tu_expect_fail(&probe_sshd_config, tu_fixture("probes/sshd_config/%s", root), params,
		       code, reason);
}

static void test_validate(void **state)
{
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(validate("{\"key\":\"PermitRootLogin\",\"default\":\"prohibit-password\"}", &e), 0);
	assert_int_equal(validate("{\"key\":\"\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"key\" must name an sshd keyword");
	assert_int_equal(validate("{\"key\":\"Permit RootLogin\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"key\" \"Permit RootLogin\" is not an sshd keyword (letters and digits only)");
	assert_int_equal(validate("{\"key\":\"include\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"key\" \"include\" structures the file and has no value of its own");
	assert_int_equal(validate("{\"key\":\"Port\",\"path\":\"etc/ssh/sshd_config\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"path\" must be absolute (as seen inside the root)");
}

/* A drop-in included before the main file's line wins; 10-* before 20-*. */
static void test_include_before_main_wins(void **state)
{
	(void)state;
	expect_one("debian", "{\"key\":\"PermitRootLogin\"}",
		   "/etc/ssh/sshd_config.d/10-root.conf", "PermitRootLogin",
		   "/etc/ssh/sshd_config.d/10-root.conf:2", "no",
		   "set in a file included from /etc/ssh/sshd_config:2");
	expect_one("debian", "{\"key\":\"Ciphers\"}",
		   "/etc/ssh/sshd_config.d/20-ciphers.conf", "Ciphers",
		   "/etc/ssh/sshd_config.d/20-ciphers.conf:2",
		   "aes256-gcm@openssh.com,chacha20-poly1305@openssh.com",
		   "set in a file included from /etc/ssh/sshd_config:2");
	/* ignored.txt does not match *.conf. */
	expect_one("debian", "{\"key\":\"UseDNS\"}", MAIN, "UseDNS", MAIN, NULL, "not set");
}

static void test_case_and_syntax(void **state)
{
	(void)state;
	/* The key as spelled in the policy; the file's spelling does not matter. */
	expect_one("debian", "{\"key\":\"PORT\"}", MAIN, "PORT", MAIN ":4", "22", NULL);
	expect_one("debian", "{\"key\":\"permitrootlogin\"}",
		   "/etc/ssh/sshd_config.d/10-root.conf", "permitrootlogin",
		   "/etc/ssh/sshd_config.d/10-root.conf:2", "no",
		   "set in a file included from /etc/ssh/sshd_config:2");
	expect_one("debian", "{\"key\":\"PasswordAuthentication\"}", MAIN,
		   "PasswordAuthentication", MAIN ":6", "no", NULL);
	expect_one("debian", "{\"key\":\"X11Forwarding\"}", MAIN, "X11Forwarding",
		   MAIN ":7", "yes", NULL);
	/* Quotes around a single argument are removed. */
	expect_one("debian", "{\"key\":\"Banner\"}", MAIN, "Banner", MAIN ":8",
		   "/etc/issue net", NULL);
	/* Several arguments stay as written; a trailing comment is cut. */
	expect_one("debian", "{\"key\":\"AllowUsers\"}", MAIN, "AllowUsers", MAIN ":9",
		   "alice bob", NULL);
	expect_one("debian", "{\"key\":\"Subsystem\"}", MAIN, "Subsystem", MAIN ":11",
		   "sftp /usr/lib/openssh/sftp-server", NULL);
}

static void test_match_blocks(void **state)
{
	(void)state;
	/* Only set inside "Match User backup": not a global value. */
	expect_one("debian", "{\"key\":\"MaxSessions\"}", MAIN, "MaxSessions", MAIN, NULL,
		   "not set");
	expect_one("debian", "{\"key\":\"MaxSessions\",\"default\":\"10\"}", MAIN,
		   "MaxSessions", MAIN, "10", "not set; sshd default 10");
	/* A Match block in an included file ends with that file. */
	expect_one("debian", "{\"key\":\"MaxAuthTries\"}", MAIN, "MaxAuthTries", MAIN ":10",
		   "6", NULL);
	expect_one("debian", "{\"key\":\"LoginGraceTime\"}",
		   "/etc/ssh/sshd_config.d/10-root.conf", "LoginGraceTime",
		   "/etc/ssh/sshd_config.d/10-root.conf:3", "30",
		   "set in a file included from /etc/ssh/sshd_config:2");
	/* A file included inside a Match block is inside it, even after its own "Match all". */
	expect_one("matchinclude", "{\"key\":\"PermitEmptyPasswords\"}", MAIN,
		   "PermitEmptyPasswords", MAIN, NULL, "not set");
	expect_one("matchinclude", "{\"key\":\"AllowTcpForwarding\"}", MAIN,
		   "AllowTcpForwarding", MAIN, NULL, "not set");
	/* "Match all" in the main file returns to the global context. */
	expect_one("matchinclude", "{\"key\":\"PermitTTY\"}", MAIN, "PermitTTY", MAIN ":4",
		   "no", NULL);
}

/* sshd reads LoginGraceTime and friends as times: "2m" is 120 seconds. */
static void test_time_keywords(void **state)
{
	struct probe_out out;

	(void)state;
	expect_one("times", "{\"key\":\"LoginGraceTime\"}", MAIN, "LoginGraceTime", MAIN ":1",
		   "120", "\"2m\" is 120 seconds");
	expect_one("times", "{\"key\":\"clientaliveinterval\"}", MAIN, "clientaliveinterval",
		   MAIN ":2", "5400", "\"1h30M\" is 5400 seconds");
	/* Not a time sshd accepts: kept as text, so a numeric rule fails on it. */
	assert_int_equal(run("times", "{\"key\":\"UnusedConnectionTimeout\"}", &out), 0);
	assert_int_equal(out.items[0].v.kind, VALUE_STRING);
	assert_string_equal(out.items[0].v.s, "5x");
	probe_out_cleanup(&out);
	/* A default is read the same way. */
	expect_one("debian", "{\"key\":\"ClientAliveInterval\",\"default\":\"0\"}", MAIN,
		   "ClientAliveInterval", MAIN, "0", "not set; sshd default 0");
}

static void test_other_path(void **state)
{
	(void)state;
	expect_one("debian", "{\"key\":\"PermitRootLogin\",\"path\":\"/etc/ssh/sshd_alt\"}",
		   "/etc/ssh/sshd_alt", "PermitRootLogin", "/etc/ssh/sshd_alt:2",
		   "forced-commands-only", NULL);
}

static void test_failures(void **state)
{
	(void)state;
	expect_fail("loop", "{\"key\":\"PermitRootLogin\"}", PST_E_LIMIT,
		    "/etc/ssh/a.conf:1: cannot include /etc/ssh/a.conf: Include nesting deeper "
		    "than 16 levels (does a file include itself?)");
	expect_fail("missing", "{\"key\":\"PermitRootLogin\"}", PST_E_NOENT,
		    "cannot read /etc/ssh/sshd_config: no such file (is openssh-server installed? "
		    "use applicable_if to skip hosts without it)");
	/* Found before the bad Include, but sshd would not start: still an error. */
	expect_fail("badinclude", "{\"key\":\"PermitRootLogin\"}", PST_E_INVAL,
		    "cannot read /etc/ssh/conf.d/sub: not a regular file "
		    "(included from /etc/ssh/sshd_config:2)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_include_before_main_wins),
		cmocka_unit_test(test_case_and_syntax),
		cmocka_unit_test(test_match_blocks),
		cmocka_unit_test(test_time_keywords),
		cmocka_unit_test(test_other_path),
		cmocka_unit_test(test_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
