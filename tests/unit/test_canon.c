/*
 * test_canon.c - the canonical JSON form of evidence snapshots
 * (common/canon.c, docs/evidence.md): escapes, key order, numbers, limits,
 * and the pinned bytes and SHA-256 of a small known snapshot.  The pinned
 * text was derived independently (Python's json.dumps with sorted keys and
 * no white space), so a change in canon.c that alters any byte fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "canon.h"

/* Canonical bytes of v (asserts success); caller frees. */
static char *dump(const json_t *v)
{
	struct strbuf b;
	struct pst_err e = {0};

	strbuf_init(&b, 1 << 20);
	assert_int_equal(canon_dump(v, &b, &e), 0);
	return strbuf_take(&b);
}

/* Parse text (asserting it parses), dump it canonically; caller frees. */
static char *recanon(const char *text)
{
	struct pst_err e = {0};
	json_t *v;
	char *out;

	assert_int_equal(canon_parse(text, strlen(text), 1 << 20, &v, &e), 0);
	out = dump(v);
	json_decref(v);
	return out;
}

static void expect(const char *text, const char *want)
{
	char *got = recanon(text);

	assert_string_equal(got, want);
	/* Canonical bytes are a fixed point. */
	free(recanon(got));
	{
		char *again = recanon(got);

		assert_string_equal(again, got);
		free(again);
	}
	free(got);
}

static void test_strings(void **state)
{
	(void)state;
	expect("\"a\\\"b\\\\c\"", "\"a\\\"b\\\\c\"");
	expect("\"\\b\\t\\n\\f\\r\"", "\"\\b\\t\\n\\f\\r\"");
	expect("\"\\u0001\\u001F\\u007f\"", "\"\\u0001\\u001f\\u007f\"");
	/* No escaped slash, non-ASCII as raw UTF-8, escaped non-ASCII unescaped. */
	expect("\"a\\/b \\u00e9 \xc3\xa9 \\ud83d\\ude00\"",
	       "\"a/b \xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80\"");
}

static void test_key_order(void **state)
{
	(void)state;
	/* Byte order: upper case before lower, "a" before "ab", UTF-8 after ASCII. */
	expect("{ \"b\": 1, \"\xc3\xa9\": 2, \"a\": 3, \"ab\": 4, \"B\": 5, \"\": 6 }",
	       "{\"\":6,\"B\":5,\"a\":3,\"ab\":4,\"b\":1,\"\xc3\xa9\":2}");
	expect("[ {\"z\":[],\"y\":{}} , true,false ,null ]", "[{\"y\":{},\"z\":[]},true,false,null]");
}

static void test_numbers(void **state)
{
	(void)state;
	expect("[0, -1, 9223372036854775807, -9223372036854775808]",
	       "[0,-1,9223372036854775807,-9223372036854775808]");
	/* Whole-valued reals as integers; fractions shortest. */
	expect("[100.0, 1E2, -0.0, 87.5, 0.1, 12.3, 33.333333333333336, 1e300, 5e-324]",
	       "[100,100,0,87.5,0.1,12.3,33.333333333333336,1e+300,5e-324]");
	expect("[9007199254740992.0, 1e20, 2251799813685248.5]",
	       "[9007199254740992,1e+20,2251799813685248.5]");
}

static void test_refusals(void **state)
{
	struct pst_err e = {0};
	struct strbuf b;
	json_t *v, *deep, *inner;
	int i;

	(void)state;
	strbuf_init(&b, 1 << 20);
	/* U+0000 inside a string. */
	v = json_pack("{s:[s%]}", "evidence", "a\0b", (size_t)3);
	assert_non_null(v);
	assert_int_equal(canon_dump(v, &b, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "$.evidence[0]"));
	assert_int_equal(b.len, 0);
	json_decref(v);
	/* Nesting deeper than CANON_MAX_DEPTH. */
	deep = json_array();
	for (inner = deep, i = 0; i < CANON_MAX_DEPTH + 1; i++) {
		json_t *a = json_array();

		json_array_append_new(inner, a);
		inner = a;
	}
	assert_int_equal(canon_dump(deep, &b, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "64 levels"));
	json_decref(deep);
	/* A buffer limit is honoured and leaves the buffer as it was. */
	strbuf_cleanup(&b);
	strbuf_init(&b, 8);
	v = json_pack("{s:s}", "key", "a value longer than eight bytes");
	assert_int_equal(canon_dump(v, &b, &e), PST_E_TOOBIG);
	assert_int_equal(b.len, 0);
	json_decref(v);
	strbuf_cleanup(&b);
	/* Parsing: duplicates, U+0000, size, not JSON. */
	assert_int_equal(canon_parse("{\"a\":1,\"a\":2}", 13, 100, &v, &e), PST_E_PARSE);
	assert_null(v);
	assert_int_equal(canon_parse("\"\\u0000\"", 8, 100, &v, &e), PST_E_PARSE);
	assert_int_equal(canon_parse("[1,2,3]", 7, 6, &v, &e), PST_E_TOOBIG);
	assert_int_equal(canon_parse("{\"a\":", 5, 100, &v, &e), PST_E_PARSE);
	assert_non_null(strstr(e.msg, "line 1"));
	/* Explicit length: bytes past len are not read. */
	assert_int_equal(canon_parse("[1]garbage", 3, 100, &v, &e), 0);
	json_decref(v);
}

/* A small snapshot, written in another key order with white space. */
static const char known_snapshot[] =
	"{\"seq\": 1, \"id\": \"ev-00000001\", \"format\": \"posture.snapshot.v1\",\n"
	" \"taken_by\": {\"kind\": \"schedule\"}, \"taken_at\": \"2026-11-25T16:00:00Z\",\n"
	" \"previous_sha256\": null,\n"
	" \"collector\": {\"id\": \"c1\", \"evidence_key_id\": "
	"\"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\",\n"
	"   \"ca_sha256\": \"abababababababababababababababababababababababababababababababab\"},\n"
	" \"scope\": {\"search\": null, \"host\": null, \"control\": null},\n"
	" \"policies\": [{\"version\": \"1.2.0\", \"id\": \"debian-baseline\", \"sha256\": "
	"\"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef\"}],\n"
	" \"hosts\": [{\"stale\": false, \"score\": 87.5, \"pass\": 7, \"fail\": 1, \"id\": \"web-01\",\n"
	"   \"hostname\": \"web-01.example\", \"results\": [{\"status\": \"fail\", \"severity\": \"high\",\n"
	"   \"check_id\": \"ssh-root-login\", \"score\": 100.0, \"evidence\": [{\"subject\": "
	"\"/etc/ssh/sshd_config\",\n"
	"   \"observed\": \"PermitRootLogin yes\\t# \\\"legacy\\\"\", \"expected\": \"no\",\n"
	"   \"location\": \"line 12\", \"ok\": false}]}]}],\n"
	" \"violations\": [],\n"
	" \"metrics\": {\"scope\": {\"score\": 87.5, \"pass\": 7, \"fail\": 1}, \"fleet\": {\"score\": 87.5}}}\n";

static const char known_canonical[] =
	"{\"collector\":{\"ca_sha256\":\"abababababababababababababababababababababababababababababababab\","
	"\"evidence_key_id\":\"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\","
	"\"id\":\"c1\"},\"format\":\"posture.snapshot.v1\",\"hosts\":[{\"fail\":1,\"hostname\":"
	"\"web-01.example\",\"id\":\"web-01\",\"pass\":7,\"results\":[{\"check_id\":\"ssh-root-login\","
	"\"evidence\":[{\"expected\":\"no\",\"location\":\"line 12\",\"observed\":\"PermitRootLogin "
	"yes\\t# \\\"legacy\\\"\",\"ok\":false,\"subject\":\"/etc/ssh/sshd_config\"}],\"score\":100,"
	"\"severity\":\"high\",\"status\":\"fail\"}],\"score\":87.5,\"stale\":false}],\"id\":"
	"\"ev-00000001\",\"metrics\":{\"fleet\":{\"score\":87.5},\"scope\":{\"fail\":1,\"pass\":7,"
	"\"score\":87.5}},\"policies\":[{\"id\":\"debian-baseline\",\"sha256\":"
	"\"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef\",\"version\":\"1.2.0\"}],"
	"\"previous_sha256\":null,\"scope\":{\"control\":null,\"host\":null,\"search\":null},\"seq\":1,"
	"\"taken_at\":\"2026-11-25T16:00:00Z\",\"taken_by\":{\"kind\":\"schedule\"},\"violations\":[]}";

static const char known_sha256[] =
	"e9424604af0a041a46990c97dd061609e0b0854e4cc83f3e51909112295fcaed";

static void test_known_snapshot(void **state)
{
	unsigned char md[32];
	char hex[65];
	char *got = recanon(known_snapshot);
	int i;

	(void)state;
	assert_string_equal(got, known_canonical);
	assert_int_equal(EVP_Digest(got, strlen(got), md, NULL, EVP_sha256(), NULL), 1);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(hex, known_sha256);
	free(got);
}

/* The same state built twice, in different insertion orders, gives the same bytes. */
static void test_stable(void **state)
{
	json_t *a = json_pack("{s:i,s:s,s:{s:f,s:[i,i]}}", "seq", 3, "id", "ev-00000003", "m",
			      "score", 66.7, "n", 1, 2);
	json_t *b = json_pack("{s:{s:[i,i],s:f},s:s,s:i}", "m", "n", 1, 2, "score", 66.7, "id",
			      "ev-00000003", "seq", 3);
	char *da = dump(a), *db = dump(b), *da2 = dump(a);

	(void)state;
	assert_string_equal(da, db);
	assert_string_equal(da, da2);
	assert_string_equal(da, "{\"id\":\"ev-00000003\",\"m\":{\"n\":[1,2],\"score\":66.7},\"seq\":3}");
	free(da);
	free(db);
	free(da2);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),     cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_numbers),     cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_known_snapshot), cmocka_unit_test(test_stable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
