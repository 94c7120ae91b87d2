/* test_kvparse.c - unit tests of kvparse.c, one key-value line at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "kvparse.h"

static const struct kv_options ws_opt = {KV_WHITESPACE, false, false};
static const struct kv_options ws_inline = {KV_WHITESPACE, true, false};
static const struct kv_options eq_opt = {KV_EQUALS, false, false};
static const struct kv_options eq_inline = {KV_EQUALS, true, false};
static const struct kv_options eq_semi = {KV_EQUALS, false, true};

/* Parse s (as a line without its newline) and expect a key and a value. */
static void expect_kv(const char *s, const struct kv_options *opt,
		      const char *key, const char *value)
{
	struct kv_pair kv;

	assert_int_equal(kv_parse_line(s, strlen(s), opt, &kv), 1);
	assert_string_equal(kv.key, key);
	assert_string_equal(kv.value, value);
	kv_pair_cleanup(&kv);
	assert_null(kv.key);
	assert_null(kv.value);
}

/* Parse (s, n) and expect rc with nothing allocated. */
static void expect_rc_n(const char *s, size_t n, const struct kv_options *opt,
			int rc)
{
	struct kv_pair kv = {(char *)"junk", (char *)"junk"};

	assert_int_equal(kv_parse_line(s, n, opt, &kv), rc);
	assert_null(kv.key);
	assert_null(kv.value);
}

static void expect_rc(const char *s, const struct kv_options *opt, int rc)
{
	expect_rc_n(s, strlen(s), opt, rc);
}

static void test_whitespace_basic(void **state)
{
	(void)state;
	expect_kv("PASS_MAX_DAYS 90", &ws_opt, "PASS_MAX_DAYS", "90");
	expect_kv("PASS_MAX_DAYS\t90", &ws_opt, "PASS_MAX_DAYS", "90");
	expect_kv("PASS_MAX_DAYS \t  \t90", &ws_opt, "PASS_MAX_DAYS", "90");
	expect_kv("  \tUMASK   027   \t", &ws_opt, "UMASK", "027");
	/* White space inside an unquoted value is kept as written. */
	expect_kv("ENV_PATH  a  b\tc ", &ws_opt, "ENV_PATH", "a  b\tc");
}

static void test_whitespace_no_value(void **state)
{
	(void)state;
	expect_kv("USERGROUPS_ENAB", &ws_opt, "USERGROUPS_ENAB", "");
	expect_kv("USERGROUPS_ENAB   \t", &ws_opt, "USERGROUPS_ENAB", "");
	/* "key=value" is one word in whitespace style, as shadow reads it. */
	expect_kv("KEY=value", &ws_opt, "KEY=value", "");
}

static void test_blank_and_comment(void **state)
{
	(void)state;
	expect_rc("", &ws_opt, 0);
	expect_rc("   \t ", &ws_opt, 0);
	expect_rc("# PASS_MAX_DAYS 90", &ws_opt, 0);
	expect_rc("\t  #PASS_MAX_DAYS 90", &ws_opt, 0);
	expect_rc("#", &eq_opt, 0);
	expect_rc("  # minlen = 8", &eq_opt, 0);
	/* ';' is a comment only where asked. */
	expect_rc("; kernel.foo = 1", &eq_semi, 0);
	expect_rc("  ;x", &eq_semi, 0);
	expect_rc("; kernel.foo = 1", &eq_opt, PST_E_PARSE);
	expect_kv(";x 1", &ws_opt, ";x", "1");
	expect_rc_n(NULL, 0, &ws_opt, 0);
}

static void test_inline_comments(void **state)
{
	(void)state;
	expect_kv("PASS_MAX_DAYS 90 # x", &ws_inline, "PASS_MAX_DAYS", "90");
	expect_kv("PASS_MAX_DAYS 90\t#x", &ws_inline, "PASS_MAX_DAYS", "90");
	/* Not allowed: the comment is part of the value. */
	expect_kv("PASS_MAX_DAYS 90 # x", &ws_opt, "PASS_MAX_DAYS", "90 # x");
	/* '#' not after white space is not a comment. */
	expect_kv("KEY a#b", &ws_inline, "KEY", "a#b");
	/* Nothing but a comment after the key: empty value. */
	expect_kv("KEY # x", &ws_inline, "KEY", "");
	expect_kv("KEY\t#", &ws_inline, "KEY", "");
	expect_kv("minlen = 8 # x", &eq_inline, "minlen", "8");
	expect_kv("minlen = # x", &eq_inline, "minlen", "");
	expect_kv("minlen =#x", &eq_inline, "minlen", "#x");
	expect_kv("minlen=8#x", &eq_inline, "minlen", "8#x");
	expect_kv("minlen = 8 # x", &eq_opt, "minlen", "8 # x");
}

static void test_quotes(void **state)
{
	(void)state;
	expect_kv("KEY \"a b\"", &ws_opt, "KEY", "a b");
	expect_kv("KEY 'a b'", &ws_opt, "KEY", "a b");
	expect_kv("KEY \"\"", &ws_opt, "KEY", "");
	expect_kv("KEY ''", &ws_opt, "KEY", "");
	expect_kv("key = \"  padded  \"  ", &eq_opt, "key", "  padded  ");
	/* Escapes in double quotes. */
	expect_kv("KEY \"say \\\"hi\\\"\"", &ws_opt, "KEY", "say \"hi\"");
	expect_kv("KEY \"a\\\\b\"", &ws_opt, "KEY", "a\\b");
	expect_kv("KEY \"\\$HOME \\`x\\`\"", &ws_opt, "KEY", "$HOME `x`");
	/* Other backslashes are kept, as in the shell. */
	expect_kv("KEY \"^a\\.b$\"", &ws_opt, "KEY", "^a\\.b$");
	/* No escapes in single quotes. */
	expect_kv("KEY 'a\\nb'", &ws_opt, "KEY", "a\\nb");
	expect_kv("KEY 'it\\'", &ws_opt, "KEY", "it\\");
	/* The other quote inside is plain text. */
	expect_kv("KEY \"it's\"", &ws_opt, "KEY", "it's");
	expect_kv("KEY 'say \"x\"'", &ws_opt, "KEY", "say \"x\"");
	/* A quote not at the start of the value is plain text. */
	expect_kv("KEY a\"b", &ws_opt, "KEY", "a\"b");
	/* '#' inside quotes is kept, with or without inline comments. */
	expect_kv("KEY \"a # b\"", &ws_inline, "KEY", "a # b");
	expect_kv("KEY '#x' # real comment", &ws_inline, "KEY", "#x");
	expect_kv("key = \"#\"", &eq_inline, "key", "#");
}

static void test_quote_errors(void **state)
{
	(void)state;
	expect_rc("KEY \"abc", &ws_opt, PST_E_PARSE);
	expect_rc("KEY 'abc", &ws_opt, PST_E_PARSE);
	expect_rc("KEY \"", &ws_opt, PST_E_PARSE);
	expect_rc("key = 'x", &eq_opt, PST_E_PARSE);
	/* An escaped closing quote does not close. */
	expect_rc("KEY \"abc\\\"", &ws_opt, PST_E_PARSE);
	/* A backslash at the very end inside quotes. */
	expect_rc("KEY \"abc\\", &ws_opt, PST_E_PARSE);
	/* Mismatched quotes. */
	expect_rc("KEY \"abc'", &ws_opt, PST_E_PARSE);
	/* Text after the closing quote. */
	expect_rc("KEY \"a\" b", &ws_opt, PST_E_PARSE);
	expect_rc("KEY \"a\"b", &ws_opt, PST_E_PARSE);
	expect_rc("KEY \"a\" # c", &ws_opt, PST_E_PARSE);
	expect_rc("KEY \"a\"# c", &ws_inline, PST_E_PARSE);
	expect_kv("KEY \"a\" # c", &ws_inline, "KEY", "a");
}

static void test_equals(void **state)
{
	(void)state;
	expect_kv("minlen=14", &eq_opt, "minlen", "14");
	expect_kv("minlen = 14", &eq_opt, "minlen", "14");
	expect_kv("  minlen\t=\t14  ", &eq_opt, "minlen", "14");
	expect_kv("net.ipv4.ip_forward = 0", &eq_opt, "net.ipv4.ip_forward", "0");
	expect_kv("key = ", &eq_opt, "key", "");
	expect_kv("key=", &eq_opt, "key", "");
	/* Only the first '=' separates. */
	expect_kv("key = a=b", &eq_opt, "key", "a=b");
	expect_kv("key==x", &eq_opt, "key", "=x");
	expect_kv("net.ipv4.tcp_rmem = 4096\t87380   6291456", &eq_opt,
		  "net.ipv4.tcp_rmem", "4096\t87380   6291456");
}

static void test_equals_errors(void **state)
{
	(void)state;
	expect_rc("=", &eq_opt, PST_E_PARSE);
	expect_rc("  =  ", &eq_opt, PST_E_PARSE);
	expect_rc("= value", &eq_opt, PST_E_PARSE);
	expect_rc("minlen 14", &eq_opt, PST_E_PARSE);
	expect_rc("enforce_for_root", &eq_opt, PST_E_PARSE);
	expect_rc("two words = x", &eq_opt, PST_E_PARSE);
	/* A line of only "=" in whitespace style is a key "=" with no value. */
	expect_kv("=", &ws_opt, "=", "");
}

static void test_explicit_length(void **state)
{
	const char buf[] = "PASS_MAX_DAYS 90GARBAGE";
	const char nul[] = "KEY a\0b";
	struct kv_pair kv;

	(void)state;
	/* Only len bytes are read; nothing relies on a terminator. */
	assert_int_equal(kv_parse_line(buf, 16, &ws_opt, &kv), 1);
	assert_string_equal(kv.key, "PASS_MAX_DAYS");
	assert_string_equal(kv.value, "90");
	kv_pair_cleanup(&kv);
	assert_int_equal(kv_parse_line(buf, 13, &ws_opt, &kv), 1);
	assert_string_equal(kv.key, "PASS_MAX_DAYS");
	assert_string_equal(kv.value, "");
	kv_pair_cleanup(&kv);
	/* An embedded NUL would silently truncate: malformed. */
	expect_rc_n(nul, sizeof(nul) - 1, &ws_opt, PST_E_PARSE);
	/* A trailing CR (lines.c strips it; a stray one is white space). */
	expect_kv("KEY v\r", &ws_opt, "KEY", "v");
	kv_pair_cleanup(NULL);
}

static void test_long_line(void **state)
{
	size_t n = 1024 * 1024, i;
	char *line = malloc(n);
	struct kv_pair kv;

	(void)state;
	assert_non_null(line);
	memcpy(line, "LONG_KEY ", 9);
	for (i = 9; i < n; i++)
		line[i] = (char)('a' + i % 26);
	assert_int_equal(kv_parse_line(line, n, &ws_opt, &kv), 1);
	assert_string_equal(kv.key, "LONG_KEY");
	assert_int_equal(strlen(kv.value), n - 9);
	assert_memory_equal(kv.value, line + 9, n - 9);
	kv_pair_cleanup(&kv);

	/* The same length as a quoted value, left open. */
	line[9] = '"';
	assert_int_equal(kv_parse_line(line, n, &ws_opt, &kv), PST_E_PARSE);
	line[n - 1] = '"';
	assert_int_equal(kv_parse_line(line, n, &ws_opt, &kv), 1);
	assert_int_equal(strlen(kv.value), n - 11);
	kv_pair_cleanup(&kv);

	/* A key as long as the line. */
	memset(line, 'K', n);
	assert_int_equal(kv_parse_line(line, n, &ws_opt, &kv), 1);
	assert_int_equal(strlen(kv.key), n);
	assert_string_equal(kv.value, "");
	kv_pair_cleanup(&kv);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whitespace_basic),
		cmocka_unit_test(test_whitespace_no_value),
		cmocka_unit_test(test_blank_and_comment),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_quote_errors),
		cmocka_unit_test(test_equals),
		cmocka_unit_test(test_equals_errors),
		cmocka_unit_test(test_explicit_length),
		cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
