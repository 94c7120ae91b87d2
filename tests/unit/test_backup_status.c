/*
 * test_backup_status.c - the timestamp parsers and backup_status_parse:
 * RFC 3339 strictness, borg's local form, JSON pointers, the newest
 * element, sizes, and malformed documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backup.h"
#include "timestamp.h"

#define NOON 1795608000LL /* 2026-11-25T12:00:00Z */

static bool rfc(const char *s, int64_t *us)
{
	return timestamp_parse_rfc3339(s, strlen(s), us);
}

static void test_rfc3339(void **state)
{
	static const char *const bad[] = {
		"2026-11-25T12:00:00", "2026-11-25 12:00:00Z", "2026-13-01T00:00:00Z",
		"2026-04-31T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-25T24:00:00Z",
		"2026-11-25T12:60:00Z", "2026-11-25T12:00:61Z", "2026-11-25T12:00:00.Z",
		"2026-11-25T12:00:00+1:00", "2026-11-25T12:00:00+24:00", "2026-11-25T12:00:00Zx",
		" 2026-11-25T12:00:00Z", "2026-11-25T12:00Z", "26-11-25T12:00:00Z", "",
		"2026-11-25T12:00:00.1234567890123456789Z",
	};
	int64_t us;
	size_t i;

	(void)state;
	assert_true(rfc("2026-11-25T12:00:00Z", &us));
	assert_int_equal(us, NOON * 1000000);
	assert_true(rfc("2026-11-25t14:00:00.123456789+02:00", &us));
	assert_int_equal(us, NOON * 1000000 + 123456);
	assert_true(rfc("2026-11-25T06:30:00.5-05:30", &us));
	assert_int_equal(us, NOON * 1000000 + 500000);
	assert_true(rfc("2024-02-29T00:00:00z", &us));
	assert_true(rfc("1970-01-01T00:00:00Z", &us));
	assert_int_equal(us, 0);
	/* A leap second counts as the next minute's first. */
	assert_true(rfc("2016-12-31T23:59:60Z", &us));
	assert_int_equal(us / 1000000, 1483228800);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(rfc(bad[i], &us));
	/* The length bounds the parse: no terminator needed, nothing read past. */
	assert_true(timestamp_parse_rfc3339("2026-11-25T12:00:00Zjunk", 20, &us));
	assert_false(timestamp_parse_rfc3339("2026-11-25T12:00:00Z", 19, &us));
}

static void test_local_and_format(void **state)
{
	char buf[TIMESTAMP_TEXT_MAX];
	int64_t us;
	int off;

	(void)state;
	assert_true(timestamp_parse_local("2026-11-25T12:00:00.123456", 26, 0, &us));
	assert_int_equal(us, NOON * 1000000 + 123456);
	assert_true(timestamp_parse_local("2026-11-25T13:00:00", 19, 3600, &us));
	assert_int_equal(us, NOON * 1000000);
	/* An offset in the text wins over the assumed one. */
	assert_true(timestamp_parse_local("2026-11-25T12:00:00Z", 20, 3600, &us));
	assert_int_equal(us, NOON * 1000000);
	assert_false(timestamp_parse_local("2026-11-25", 10, 0, &us));
	assert_true(timestamp_parse_offset("-05:30", 6, &off));
	assert_int_equal(off, -19800);
	assert_false(timestamp_parse_offset("+0530", 5, &off));
	assert_string_equal(timestamp_format_utc(NOON * 1000000 + 999999, buf), "2026-11-25T12:00:00Z");
	assert_string_equal(timestamp_format_utc(-1, buf), "1969-12-31T23:59:59Z");
	assert_string_equal(timestamp_format_utc(300000000000LL * 1000000, buf), "out of range");
}

static void test_pointers(void **state)
{
	json_t *doc = json_loads("{\"a/b\": [{\"~c\": 1}, 2], \"\": 3, \"x\": {\"0\": 4}}", 0, NULL);

	(void)state;
	assert_true(backup_pointer_valid(""));
	assert_true(backup_pointer_valid("/a~1b/0/~0c"));
	assert_false(backup_pointer_valid("a"));
	assert_false(backup_pointer_valid("/a~2"));
	assert_false(backup_pointer_valid("/a~"));
	assert_ptr_equal(backup_pointer_get(doc, ""), doc);
	assert_int_equal(json_integer_value(backup_pointer_get(doc, "/a~1b/0/~0c")), 1);
	assert_int_equal(json_integer_value(backup_pointer_get(doc, "/a~1b/1")), 2);
	assert_int_equal(json_integer_value(backup_pointer_get(doc, "/")), 3);
	assert_int_equal(json_integer_value(backup_pointer_get(doc, "/x/0")), 4);
	assert_null(backup_pointer_get(doc, "/a~1b/01"));
	assert_null(backup_pointer_get(doc, "/a~1b/2"));
	assert_null(backup_pointer_get(doc, "/a~1b/-"));
	assert_null(backup_pointer_get(doc, "/nope"));
	json_decref(doc);
}

static int parse(const char *doc, const struct backup_query *q, struct backup_found *f,
		 struct pst_err *e)
{
	return backup_status_parse(doc, strlen(doc), q, f, e);
}

static void test_restic(void **state)
{
	const struct backup_query q = {"", "/time", "/summary/total_bytes_processed", "/short_id",
				       BACKUP_TIME_RFC3339, 0};
	struct backup_found f;
	struct pst_err e = {0};

	(void)state;
	/* The newest by time, wherever it stands in the array. */
	assert_int_equal(parse("[{\"time\": \"2026-11-24T12:00:00Z\", \"short_id\": \"aa\", \"summary\": {\"total_bytes_processed\": 5}},"
			       " {\"time\": \"2026-11-25T13:00:00.999+01:00\", \"short_id\": \"bb\", \"summary\": {\"total_bytes_processed\": 7}},"
			       " {\"time\": \"2026-11-23T12:00:00Z\", \"short_id\": \"cc\"}]", &q, &f, &e), 0);
	assert_true(f.found);
	assert_int_equal(f.time_us, NOON * 1000000 + 999000);
	assert_int_equal(f.count, 3);
	assert_string_equal(f.what, "/1 (bb)");
	assert_true(f.has_size);
	assert_int_equal(f.size, 7);

	assert_int_equal(parse("[]", &q, &f, &e), 0);
	assert_false(f.found);
	assert_string_equal(f.why_none, "the status lists no backups (the array is empty)");

	/* One malformed element spoils the document: it is not believed in part. */
	assert_int_equal(parse("[{\"time\": \"2026-11-24T12:00:00Z\"}, {\"time\": \"2026-11-24 12:00:00Z\"}]", &q, &f, &e),
			 PST_E_PARSE);
	assert_string_equal(e.msg, "/1/time: \"2026-11-24 12:00:00Z\" is not an RFC 3339 time with an offset");
	assert_int_equal(parse("[{\"tim\": 1}]", &q, &f, &e), PST_E_PARSE);
	assert_string_equal(e.msg, "/0/time: no such field");
	assert_int_equal(parse("{\"time\": 1}", &q, &f, &e), PST_E_PARSE);
	assert_string_equal(e.msg, "the document: expected an array of backups, found an object");
	assert_int_equal(parse("[{\"time\": \"2026-11-24T12:00:00Z\", \"summary\": {\"total_bytes_processed\": -1}}]", &q, &f, &e),
			 PST_E_PARSE);
	assert_string_equal(e.msg, "/0/summary/total_bytes_processed: -1 is not a size in bytes (a non-negative integer)");
	assert_int_equal(parse("[{\"time\": \"2026-11-24T12:00:00Z\"}]", &q, &f, &e), 0);
	assert_true(f.found);
	assert_false(f.has_size);
	assert_string_equal(f.why_none, "the status has no size at /0/summary/total_bytes_processed");
	assert_int_equal(parse("[{\"time\": \"2026-11-24T12:00:00Z\"}", &q, &f, &e), PST_E_PARSE);
	assert_int_equal(parse("[{\"time\": \"a\", \"time\": \"b\"}]", &q, &f, &e), PST_E_PARSE);
}

static void test_borg(void **state)
{
	const struct backup_query archives = {"/archives", "/start", "/stats/original_size", "/name",
					      BACKUP_TIME_LOCAL, 3600};
	const struct backup_query repo = {NULL, "/repository/last_modified", NULL, NULL, BACKUP_TIME_LOCAL, 0};
	const char *doc = "{\"archives\": [{\"name\": \"web-1\", \"start\": \"2026-11-25T13:00:00.000000\","
			  " \"stats\": {\"original_size\": 1024}}],"
			  " \"repository\": {\"last_modified\": \"2026-11-25T11:00:00.000000\"}}";
	struct backup_found f;
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(parse(doc, &archives, &f, &e), 0);
	assert_true(f.found);
	assert_int_equal(f.time_us, NOON * 1000000); /* 13:00 at +01:00 */
	assert_string_equal(f.what, "/archives/0 (web-1)");
	assert_int_equal(f.size, 1024);
	assert_int_equal(parse(doc, &repo, &f, &e), 0);
	assert_true(f.found);
	assert_int_equal(f.time_us, (NOON - 3600) * 1000000);
	assert_string_equal(f.what, "");
	assert_int_equal(parse("{\"repository\": {}}", &repo, &f, &e), 0);
	assert_false(f.found);
	assert_string_equal(f.why_none, "the status has no field /repository/last_modified");
	assert_int_equal(parse("{}", &archives, &f, &e), 0);
	assert_false(f.found);
	assert_string_equal(f.why_none, "the status has no field /archives");
}

static void test_unix(void **state)
{
	const struct backup_query q = {NULL, "/last_success", NULL, NULL, BACKUP_TIME_UNIX, 0};
	struct backup_found f;
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(parse("{\"last_success\": 1795608000}", &q, &f, &e), 0);
	assert_int_equal(f.time_us, NOON * 1000000);
	assert_int_equal(parse("{\"last_success\": \"1795608000\"}", &q, &f, &e), PST_E_PARSE);
	assert_int_equal(parse("{\"last_success\": 9223372036854775807}", &q, &f, &e), PST_E_PARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_local_and_format),
		cmocka_unit_test(test_pointers),
		cmocka_unit_test(test_restic),
		cmocka_unit_test(test_borg),
		cmocka_unit_test(test_unix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
