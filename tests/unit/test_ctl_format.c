/*
 * test_ctl_format.c - posturectl's tables and CSV (ctl/format.c): column
 * widths fitted to content and capped with the cut marked, numbers
 * right-aligned, scores with one decimal, control characters kept off the
 * terminal; CSV quoting by RFC 4180 and the formula guard on text only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format.h"

static const struct fmt_col cols[] = {
	{"ID", "id", FMT_TEXT, 0},
	{"SCORE", "score", FMT_SCORE, 0},
	{"N", "n", FMT_INT, 0},
	{"OK", "ok", FMT_BOOL, 0},
	{"DEEP", "a.b", FMT_TEXT, 0},
};
static const struct fmt_view view = {"t", cols, 5};

static char *render_table(const char *json, size_t maxw)
{
	json_t *rows = json_loads(json, 0, NULL);
	struct strbuf b;
	struct pst_err e = {0};

	assert_non_null(rows);
	strbuf_init(&b, 1 << 20);
	assert_int_equal(fmt_table(&view, rows, maxw, &b, &e), 0);
	json_decref(rows);
	return strbuf_take(&b);
}

static char *render_csv(const char *json)
{
	json_t *rows = json_loads(json, 0, NULL);
	struct strbuf b;
	struct pst_err e = {0};

	assert_non_null(rows);
	strbuf_init(&b, 1 << 20);
	assert_int_equal(fmt_csv(&view, rows, &b, &e), 0);
	json_decref(rows);
	return strbuf_take(&b);
}

static void test_table_widths(void **state)
{
	(void)state;
	char *t = render_table("[{\"id\":\"web-1\",\"score\":93.25,\"n\":7,\"ok\":true,\"a\":{\"b\":\"x\"}},"
			       "{\"id\":\"a\",\"score\":100,\"n\":1234,\"ok\":false},"
			       "{\"id\":\"b\",\"score\":null}]",
			       0);

	/* Widths: ID 5 (web-1), SCORE 5, N 4, OK 3; the last column unpadded, no trailing blanks. */
	assert_string_equal(t, "ID     SCORE     N  OK   DEEP\n"
			       "web-1   93.2     7  yes  x\n"
			       "a      100.0  1234  no   -\n"
			       "b          -     -  -    -\n");
	free(t);
}

static void test_table_truncation(void **state)
{
	(void)state;
	char *t = render_table("[{\"id\":\"abcdefghijklmnop\",\"a\":{\"b\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}}]", 8);

	/* Cut to 8 display characters, the last one the mark; UTF-8 counted by code point. */
	assert_string_equal(t, "ID        SCORE  N  OK  DEEP\n"
			       "abcdefg~      -  -  -   \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9~\n");
	free(t);
}

static void test_table_controls(void **state)
{
	(void)state;
	/* ESC, newline, DEL and a C1 control from a host name never reach the terminal. */
	char *t = render_table("[{\"id\":\"a\\u001b[2Jb\\nc\\u007fd\\u009be\"}]", 0);

	assert_null(strchr(t, '\x1b'));
	assert_non_null(strstr(t, "a?[2Jb?c?d?e"));
	assert_null(strstr(t, "\xc2\x9b"));
	free(t);
}

static void test_table_not_rows(void **state)
{
	(void)state;
	/* Not an array, rows that are not objects, members of other types: no crash. */
	char *t = render_table("{\"id\":1}", 0);

	assert_string_equal(t, "ID  SCORE  N  OK  DEEP\n");
	free(t);
	t = render_table("[1, \"x\", null, {\"id\":[1,2],\"score\":\"high\",\"n\":1.5,\"ok\":\"y\",\"a\":3}]", 0);
	assert_non_null(strstr(t, "[1,2]   high  1.5  y   -"));
	free(t);
}

static void test_csv_quoting(void **state)
{
	(void)state;
	char *t = render_csv("[{\"id\":\"a,b\",\"score\":50,\"n\":-3,\"a\":{\"b\":\"say \\\"hi\\\"\\r\\nbye\"}},"
			     "{\"id\":\"plain\"}]");

	assert_string_equal(t, "ID,SCORE,N,OK,DEEP\r\n"
			       "\"a,b\",50.0,-3,,\"say \"\"hi\"\"\r\nbye\"\r\n"
			       "plain,,,,\r\n");
	free(t);
}

static void test_csv_formula_guard(void **state)
{
	(void)state;
	char *t = render_csv("[{\"id\":\"=1+1\"},{\"id\":\"+x\"},{\"id\":\"-y\"},{\"id\":\"@SUM(A1)\"},"
			     "{\"id\":\"\\tz\"},{\"id\":\"=HYPERLINK(\\\"u\\\",\\\"v\\\")\"},{\"id\":\"a=b\"},"
			     "{\"id\":\"x\",\"n\":-5,\"score\":-1.5}]");

	assert_string_equal(t, "ID,SCORE,N,OK,DEEP\r\n"
			       "'=1+1,,,,\r\n"
			       "'+x,,,,\r\n"
			       "'-y,,,,\r\n"
			       "'@SUM(A1),,,,\r\n"
			       "'\tz,,,,\r\n"
			       "\"'=HYPERLINK(\"\"u\"\",\"\"v\"\")\",,,,\r\n"
			       "a=b,,,,\r\n"
			       "x,-1.5,-5,,\r\n");
	free(t);
}

static void test_summary_rows(void **state)
{
	(void)state;
	json_t *s = json_loads("{\"score\":90.0,\"pass\":9,\"fail\":1,\"error\":0,\"not_applicable\":2,"
			       "\"categories\":{\"patch\":{\"score\":null,\"pass\":0,\"fail\":0}},"
			       "\"severities\":{},\"hosts\":{\"total\":2,\"stale\":0,\"reporting\":2},"
			       "\"violations\":{\"open\":1,\"open_by_severity\":{\"high\":1}}}",
			       0, NULL);
	json_t *rows = NULL;
	struct strbuf b;
	struct pst_err e = {0};

	assert_int_equal(fmt_summary_rows(s, &rows), 0);
	/* fleet, 1 category, error, not_applicable, 3 host counts, open, 1 severity. */
	assert_int_equal(json_array_size(rows), 9);
	strbuf_init(&b, 1 << 16);
	assert_int_equal(fmt_csv(fmt_view_find("summary"), rows, &b, &e), 0);
	assert_non_null(strstr(b.data, "fleet,all,90.0,9,1,\r\n"));
	assert_non_null(strstr(b.data, "category,patch,,0,0,\r\n"));
	assert_non_null(strstr(b.data, "violations,severity.high,,,,1\r\n"));
	strbuf_cleanup(&b);
	json_decref(rows);
	json_decref(s);
}

static void test_output_limit(void **state)
{
	(void)state;
	json_t *rows = json_loads("[{\"id\":\"0123456789012345678901234567890123456789\"}]", 0, NULL);
	struct strbuf b;
	struct pst_err e = {0};

	strbuf_init(&b, 32);
	assert_int_equal(fmt_table(&view, rows, 0, &b, &e), PST_E_TOOBIG);
	strbuf_cleanup(&b);
	strbuf_init(&b, 32);
	assert_int_equal(fmt_csv(&view, rows, &b, &e), PST_E_TOOBIG);
	strbuf_cleanup(&b);
	json_decref(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_widths),      cmocka_unit_test(test_table_truncation),
		cmocka_unit_test(test_table_controls),    cmocka_unit_test(test_table_not_rows),
		cmocka_unit_test(test_csv_quoting),       cmocka_unit_test(test_csv_formula_guard),
		cmocka_unit_test(test_summary_rows),      cmocka_unit_test(test_output_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
