/* test_keyvalue.c - the keyvalue probe on fixture roots under probes/keyvalue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe.h"
#include "testutil.h"

extern const struct probe probe_keyvalue;

/* Validate and run the probe on fixture root probes/keyvalue/<root>. */
static int run_on(const char *root, const char *text, struct probe_out *out)
{
	return tu_run(&probe_keyvalue, tu_fixture("probes/keyvalue/%s", root), text, out);
}

/* Expect exactly one observation with these fields (value NULL: absent). */
static void expect_one(const struct probe_out *out, const char *subject,
		       const char *key, const char *location,
		       const char *value, const char *note)
{
	assert_int_equal(out->n, 1);
	tu_expect_str(out, 0, subject, key, location, value, note);
}

static void check(const char *root, const char *params, const char *key,
		  const char *location, const char *value, const char *note)
{
	struct probe_out out;

	assert_int_equal(run_on(root, params, &out), 0);
	expect_one(&out, "/etc/login.defs", key, location, value, note);
	probe_out_cleanup(&out);
}

static void test_last_wins(void **state)
{
	(void)state;
	check("logindefs", "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\"}",
	      "PASS_MAX_DAYS", "/etc/login.defs:16", "90", NULL);
	check("logindefs",
	      "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\", \"occurrence\": \"first\"}",
	      "PASS_MAX_DAYS", "/etc/login.defs:8", "99999", NULL);
}

static void test_values(void **state)
{
	(void)state;
	/* Tab separated. */
	check("logindefs", "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_WARN_AGE\"}",
	      "PASS_WARN_AGE", "/etc/login.defs:10", "7", NULL);
	/* Quoted. */
	check("logindefs", "{\"path\": \"/etc/login.defs\", \"key\": \"ENCRYPT_METHOD\"}",
	      "ENCRYPT_METHOD", "/etc/login.defs:13", "SHA512", NULL);
	/* A key without a value. */
	check("logindefs", "{\"path\": \"/etc/login.defs\", \"key\": \"USERGROUPS_ENAB\"}",
	      "USERGROUPS_ENAB", "/etc/login.defs:14", "", NULL);
	/* An inline comment is part of the value unless allowed. */
	check("logindefs", "{\"path\": \"/etc/login.defs\", \"key\": \"UMASK\"}",
	      "UMASK", "/etc/login.defs:12", "022 # group and other cannot write", NULL);
	check("logindefs",
	      "{\"path\": \"/etc/login.defs\", \"key\": \"UMASK\", \"inline_comments\": true}",
	      "UMASK", "/etc/login.defs:12", "022", NULL);
}

static void test_case(void **state)
{
	(void)state;
	check("logindefs", "{\"path\": \"/etc/login.defs\", \"key\": \"LOGIN_RETRIES\"}",
	      "LOGIN_RETRIES", "/etc/login.defs", NULL, "not set");
	check("logindefs",
	      "{\"path\": \"/etc/login.defs\", \"key\": \"LOGIN_RETRIES\", \"case_insensitive\": true}",
	      "LOGIN_RETRIES", "/etc/login.defs:15", "5", NULL);
}

static void test_commented(void **state)
{
	(void)state;
	/* Set only on commented lines (17 and 18 of the fixture). */
	check("logindefs", "{\"path\": \"/etc/login.defs\", \"key\": \"SHA_CRYPT_MIN_ROUNDS\"}",
	      "SHA_CRYPT_MIN_ROUNDS", "/etc/login.defs", NULL, "not set");
	/* A commented setting after the last real one does not win. */
	check("logindefs", "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\"}",
	      "PASS_MAX_DAYS", "/etc/login.defs:16", "90", NULL);
}

static void test_not_set(void **state)
{
	(void)state;
	check("logindefs", "{\"path\": \"/etc/login.defs\", \"key\": \"SHA_CRYPT_MIN_ROUNDS\"}",
	      "SHA_CRYPT_MIN_ROUNDS", "/etc/login.defs", NULL, "not set");
	check("logindefs",
	      "{\"path\": \"/etc/login.defs\", \"key\": \"SHA_CRYPT_MIN_ROUNDS\", \"default\": \"5000\"}",
	      "SHA_CRYPT_MIN_ROUNDS", "/etc/login.defs", "5000", "not set; default 5000");
}

static void test_missing_file(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run_on("equals", "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\"}",
				&out),
			 PST_E_NOENT);
	assert_int_equal(out.n, 0);
	assert_string_equal(out.reason,
			    "cannot read /etc/login.defs: it does not exist; set missing_ok to treat a missing file as the key not set");
	probe_out_cleanup(&out);

	check("equals",
	      "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\", \"missing_ok\": true}",
	      "PASS_MAX_DAYS", "/etc/login.defs", NULL, "not set (file does not exist)");
	check("equals",
	      "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\", \"missing_ok\": true,"
	      " \"default\": \"99999\"}",
	      "PASS_MAX_DAYS", "/etc/login.defs", "99999",
	      "not set (file does not exist); default 99999");
}

static void test_malformed(void **state)
{
	struct probe_out out;

	(void)state;
	/* The key is on a good line, but the file is broken: error, not pass. */
	assert_int_equal(run_on("malformed", "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\"}",
				&out),
			 PST_E_PARSE);
	assert_int_equal(out.n, 0);
	assert_string_equal(out.reason,
			    "/etc/login.defs:2: cannot read the line as KEY value: a quote without its closing quote, or text after the closing quote; fix the line or the rule's style");
	probe_out_cleanup(&out);

	/* login.defs read as key = value: the first line has no '='. */
	assert_int_equal(run_on("logindefs",
				"{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\", \"style\": \"equals\"}",
				&out),
			 PST_E_PARSE);
	assert_string_equal(out.reason,
			    "/etc/login.defs:4: cannot read the line as key = value: no '=' (expected key = value); fix the line or the rule's style");
	probe_out_cleanup(&out);

	/* Not a file. */
	assert_int_equal(run_on("logindefs", "{\"path\": \"/etc\", \"key\": \"A\"}", &out),
			 PST_E_INVAL);
	assert_string_equal(out.reason, "cannot read /etc: not a regular file");
	probe_out_cleanup(&out);
}

static void test_equals(void **state)
{
	struct probe_out out;
	const char *base = "{\"path\": \"/etc/default/useradd\", \"style\": \"equals\","
			   " \"inline_comments\": true, \"key\": ";
	char buf[256];

	(void)state;
	snprintf(buf, sizeof(buf), "%s\"INACTIVE\"}", base);
	assert_int_equal(run_on("equals", buf, &out), 0);
	expect_one(&out, "/etc/default/useradd", "INACTIVE", "/etc/default/useradd:7", "35", NULL);
	probe_out_cleanup(&out);

	snprintf(buf, sizeof(buf), "%s\"EXPIRE\"}", base);
	assert_int_equal(run_on("equals", buf, &out), 0);
	expect_one(&out, "/etc/default/useradd", "EXPIRE", "/etc/default/useradd:4", "", NULL);
	probe_out_cleanup(&out);

	snprintf(buf, sizeof(buf), "%s\"SKEL\"}", base);
	assert_int_equal(run_on("equals", buf, &out), 0);
	expect_one(&out, "/etc/default/useradd", "SKEL", "/etc/default/useradd:5", "/etc/skel", NULL);
	probe_out_cleanup(&out);

	/* Without inline comments the text after the closing quote is an error. */
	assert_int_equal(run_on("equals",
				"{\"path\": \"/etc/default/useradd\", \"style\": \"equals\", \"key\": \"SHELL\"}",
				&out),
			 PST_E_PARSE);
	assert_string_equal(out.reason,
			    "/etc/default/useradd:5: cannot read the line as key = value: a quote without its closing quote, or text after the closing quote; fix the line or the rule's style");
	probe_out_cleanup(&out);
}

static void test_crlf(void **state)
{
	(void)state;
	check("crlf", "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\"}",
	      "PASS_MAX_DAYS", "/etc/login.defs:1", "60", NULL);
	check("crlf", "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MIN_DAYS\"}",
	      "PASS_MIN_DAYS", "/etc/login.defs:2", "2", NULL);
}

static void expect_invalid(const char *text, const char *msg)
{
	struct pst_err e = {0};

	assert_int_equal(tu_validate(&probe_keyvalue, text, &e), PST_E_INVAL);
	assert_string_equal(e.msg, msg);
}

static void test_validate(void **state)
{
	(void)state;
	expect_invalid("{\"path\": \"etc/login.defs\", \"key\": \"A\"}",
		       "path \"etc/login.defs\" must be absolute (start with '/')");
	expect_invalid("{\"path\": \"/etc/*.defs\", \"key\": \"A\"}",
		       "path \"/etc/*.defs\" holds glob characters; name one file");
	expect_invalid("{\"path\": \"/etc/login.defs\", \"key\": \"\"}",
		       "key must not be empty");
	expect_invalid("{\"path\": \"/etc/login.defs\", \"key\": \"PASS MAX\"}",
		       "key \"PASS MAX\" holds white space; a key is one word");
	expect_invalid("{\"path\": \"/etc/login.defs\", \"key\": \"#A\"}",
		       "key \"#A\" starts with '#', which starts a comment");
	expect_invalid("{\"path\": \"/etc/x\", \"key\": \"a=b\", \"style\": \"equals\"}",
		       "key \"a=b\" holds '=', which separates key and value in style \"equals\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_last_wins),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_commented),
		cmocka_unit_test(test_not_set),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_equals),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
