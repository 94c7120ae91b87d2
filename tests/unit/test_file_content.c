/*
 * test_file_content.c - the `file_content` probe on the fixture root
 * tests/fixtures/probes/file_content/root (plain text files, nothing that
 * needs modes, so no scratch copy).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe.h"
#include "testutil.h"

extern const struct probe probe_file_content;

#define ROOT "probes/file_content/root"

static int run(const char *json, struct probe_out *out)
{
	return tu_run(&probe_file_content, tu_fixture(ROOT), json, out);
}

/* Observation i is a matching line: no key, the line as text, no note. */
static void assert_line(const struct probe_out *o, size_t i, const char *path,
			const char *location, const char *text)
{
	tu_expect_str(o, i, path, NULL, location, text, NULL);
}

static void expect_fail(const char *json, int code, const char *reason)
{
	tu_expect_fail(&probe_file_content, tu_fixture(ROOT), json, code, reason);
}

static void expect_none(const char *json)
{
	struct probe_out out;

	assert_int_equal(run(json, &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
}

static void test_matches(void **state)
{
	struct probe_out out;

	(void)state;
	/* Comments count unless skipped. */
	assert_int_equal(run("{\"path\":\"/etc/ssh/sshd_config\",\"pattern\":\"PermitRootLogin\"}",
			     &out), 0);
	assert_int_equal(out.n, 3);
	assert_line(&out, 0, "/etc/ssh/sshd_config", "/etc/ssh/sshd_config:2",
		    "#PermitRootLogin yes");
	assert_line(&out, 1, "/etc/ssh/sshd_config", "/etc/ssh/sshd_config:3",
		    "  \t# PermitRootLogin in an indented comment");
	assert_line(&out, 2, "/etc/ssh/sshd_config", "/etc/ssh/sshd_config:4",
		    "PermitRootLogin no");
	probe_out_cleanup(&out);

	assert_int_equal(run("{\"path\":\"/etc/ssh/sshd_config\",\"pattern\":\"PermitRootLogin\","
			     "\"skip_comments\":true}", &out), 0);
	assert_int_equal(out.n, 1);
	assert_line(&out, 0, "/etc/ssh/sshd_config", "/etc/ssh/sshd_config:4",
		    "PermitRootLogin no");
	probe_out_cleanup(&out);

	assert_int_equal(run("{\"path\":\"/etc/ssh/sshd_config\",\"pattern\":\"^permitrootlogin[[:space:]]+(yes|no)$\","
			     "\"skip_comments\":true,\"ignore_case\":true}", &out), 0);
	assert_int_equal(out.n, 2);
	assert_line(&out, 0, "/etc/ssh/sshd_config", "/etc/ssh/sshd_config:4",
		    "PermitRootLogin no");
	assert_line(&out, 1, "/etc/ssh/sshd_config", "/etc/ssh/sshd_config:5",
		    "permitrootlogin YES");
	probe_out_cleanup(&out);

	expect_none("{\"path\":\"/etc/ssh/sshd_config\",\"pattern\":\"^X11Forwarding\"}");
}

static void test_line_endings(void **state)
{
	struct probe_out out;

	(void)state;
	/* "$" anchors before the CR of a CRLF line: the CR is not part of the line. */
	assert_int_equal(run("{\"path\":\"/etc/crlf.conf\",\"pattern\":\"^Key value$\"}",
			     &out), 0);
	assert_int_equal(out.n, 1);
	assert_line(&out, 0, "/etc/crlf.conf", "/etc/crlf.conf:2", "Key value");
	probe_out_cleanup(&out);
	assert_int_equal(run("{\"path\":\"/etc/no-newline.conf\",\"pattern\":\"newline$\"}",
			     &out), 0);
	assert_int_equal(out.n, 1);
	assert_line(&out, 0, "/etc/no-newline.conf", "/etc/no-newline.conf:2",
		    "last line without newline");
	probe_out_cleanup(&out);
}

static void test_glob(void **state)
{
	struct probe_out out;

	(void)state;
	/* Files in sorted order; the hidden file is not matched by "*". */
	assert_int_equal(run("{\"path\":\"/etc/conf.d/*.conf\",\"pattern\":\"^Include \"}",
			     &out), 0);
	assert_int_equal(out.n, 2);
	assert_line(&out, 0, "/etc/conf.d/10-a.conf", "/etc/conf.d/10-a.conf:1",
		    "Include /etc/one");
	assert_line(&out, 1, "/etc/conf.d/20-b.conf", "/etc/conf.d/20-b.conf:2",
		    "Include /etc/two");
	probe_out_cleanup(&out);

	expect_fail("{\"path\":\"/etc/nothing.d/*.conf\",\"pattern\":\"x\"}", PST_E_NOENT,
		    "no file matches /etc/nothing.d/*.conf; set missing_ok to treat that as no lines");
	expect_none("{\"path\":\"/etc/nothing.d/*.conf\",\"pattern\":\"x\",\"missing_ok\":true}");
}

static void test_missing(void **state)
{
	(void)state;
	expect_fail("{\"path\":\"/etc/none.conf\",\"pattern\":\"x\"}", PST_E_NOENT,
		    "cannot read /etc/none.conf: it does not exist; set missing_ok to treat a missing file as empty");
	expect_none("{\"path\":\"/etc/none.conf\",\"pattern\":\"x\",\"missing_ok\":true}");
}

static void test_long_lines(void **state)
{
	struct probe_out out;
	char want[600];

	(void)state;
	assert_int_equal(run("{\"path\":\"/etc/long.conf\",\"pattern\":\"^(x+|a+.*b)$\"}",
			     &out), 0);
	assert_int_equal(out.n, 2);
	/* Cut at 512 bytes ... */
	memset(want, 'x', 512);
	strcpy(want + 512, "...");
	assert_line(&out, 0, "/etc/long.conf", "/etc/long.conf:1", want);
	/* ... but never inside a UTF-8 sequence (a 2-byte letter at 511). */
	memset(want, 'a', 511);
	strcpy(want + 511, "...");
	assert_line(&out, 1, "/etc/long.conf", "/etc/long.conf:2", want);
	probe_out_cleanup(&out);
}

static void test_unreadable(void **state)
{
	(void)state;
	expect_fail("{\"path\":\"/etc/binary.dat\",\"pattern\":\"text\"}", PST_E_PARSE,
		    "cannot search /etc/binary.dat: it holds NUL bytes (binary data, not text)");
	expect_fail("{\"path\":\"/etc/ssh/sshd_config\",\"pattern\":\"x\",\"max_bytes\":10}",
		    PST_E_TOOBIG,
		    "cannot read /etc/ssh/sshd_config: larger than 10 bytes; raise the rule's limit or check the file");
	expect_fail("{\"path\":\"/etc/ssh\",\"pattern\":\"x\"}", PST_E_INVAL,
		    "cannot read /etc/ssh: not a regular file");
}

static void expect_invalid(const char *json, const char *msg)
{
	struct pst_err e = {0};

	assert_int_equal(tu_validate(&probe_file_content, json, &e), PST_E_INVAL);
	assert_string_equal(e.msg, msg);
}

static void test_validate(void **state)
{
	(void)state;
	expect_invalid("{\"path\":\"/etc/x\",\"pattern\":\"(\"}",
		       "pattern \"(\" is not a valid extended regular expression: Unmatched ( or \\(");
	expect_invalid("{\"path\":\"etc/x\",\"pattern\":\"x\"}",
		       "path \"etc/x\" must be absolute (start with '/')");
	expect_invalid("{\"path\":\"/etc/x\",\"pattern\":\"x\",\"max_bytes\":0}",
		       "max_bytes 0 is out of range (1 to 268435456)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
