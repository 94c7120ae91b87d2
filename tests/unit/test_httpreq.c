/*
 * test_httpreq.c - request assembly without I/O: requests split at every
 * byte, pipelined requests, each limit exactly at and one past it, path
 * decoding (escapes, NUL, empty, "." and ".." segments, overlong UTF-8)
 * and query parameters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "httpreq.h"

static const struct httpreq_limits LIM = {1024, 64};

static void init(struct httpreq *q, const struct httpreq_limits *l)
{
	assert_int_equal(httpreq_init(q, l ? l : &LIM), 0);
}

/* Feed all of s in one call; returns the status. */
static enum httpreq_status feed_all(struct httpreq *q, const char *s, size_t *used)
{
	return httpreq_feed(q, (const uint8_t *)s, strlen(s), used);
}

static int refused(const char *req, const struct httpreq_limits *l)
{
	struct httpreq q;
	size_t used;
	int st;

	init(&q, l);
	st = feed_all(&q, req, &used) == HTTPREQ_ERROR ? httpreq_error_status(&q) : 0;
	assert_true(httpreq_error_message(&q)[0] != '\0' || st == 0);
	httpreq_cleanup(&q);
	return st;
}

static const char POST[] = "POST /api/v1/x?a=1&b=two%20words HTTP/1.1\r\n"
			   "Host: example\r\n"
			   "Content-Type: application/json\r\n"
			   "X-Trailing: v  \r\n"
			   "Content-Length: 11\r\n"
			   "\r\n"
			   "{\"k\": true}";

static void check_post(const struct httpreq *q)
{
	struct http_request r;

	memset(&r, 0, sizeof(r));
	httpreq_fill(q, &r);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.target, "/api/v1/x?a=1&b=two%20words");
	assert_string_equal(r.path, "/api/v1/x");
	assert_string_equal(r.query, "a=1&b=two%20words");
	assert_int_equal(r.nheaders, 4);
	assert_string_equal(http_header(&r, "host"), "example");
	assert_string_equal(http_header(&r, "CONTENT-TYPE"), "application/json");
	assert_string_equal(http_header(&r, "x-trailing"), "v");
	assert_null(http_header(&r, "cookie"));
	assert_int_equal(r.body_len, 11);
	assert_memory_equal(r.body, "{\"k\": true}", 11);
	assert_true(httpreq_keep_alive(q));
}

static void test_whole(void **state)
{
	struct httpreq q;
	size_t used;

	(void)state;
	init(&q, NULL);
	assert_false(httpreq_started(&q));
	assert_int_equal(feed_all(&q, POST, &used), HTTPREQ_DONE);
	assert_int_equal(used, strlen(POST));
	check_post(&q);
	httpreq_cleanup(&q);
}

/* The same request split in two at every byte, and fed one byte at a time. */
static void test_split_everywhere(void **state)
{
	size_t len = strlen(POST);

	(void)state;
	for (size_t cut = 1; cut < len; cut++) {
		struct httpreq q;
		size_t used;

		init(&q, NULL);
		assert_int_equal(httpreq_feed(&q, (const uint8_t *)POST, cut, &used), HTTPREQ_MORE);
		assert_int_equal(used, cut);
		assert_true(httpreq_started(&q));
		assert_int_equal(httpreq_feed(&q, (const uint8_t *)POST + cut, len - cut, &used),
				 HTTPREQ_DONE);
		assert_int_equal(used, len - cut);
		check_post(&q);
		httpreq_cleanup(&q);
	}
	{
		struct httpreq q;
		size_t used;
		enum httpreq_status st = HTTPREQ_MORE;

		init(&q, NULL);
		for (size_t i = 0; i < len; i++) {
			st = httpreq_feed(&q, (const uint8_t *)POST + i, 1, &used);
			assert_int_equal(used, 1);
			if (i + 1 < len)
				assert_int_equal(st, HTTPREQ_MORE);
		}
		assert_int_equal(st, HTTPREQ_DONE);
		check_post(&q);
		httpreq_cleanup(&q);
	}
}

static void test_pipelined(void **state)
{
	static const char two[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
				  "HEAD /b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"
				  "GET /c HTTP/1.1\r\nHo";
	struct httpreq q;
	struct http_request r;
	size_t used, off = 0, len = strlen(two);

	(void)state;
	init(&q, NULL);
	assert_int_equal(httpreq_feed(&q, (const uint8_t *)two, len, &used), HTTPREQ_DONE);
	assert_int_equal(used, strlen("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"));
	httpreq_fill(&q, &r);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/a");
	assert_string_equal(r.query, "");
	assert_true(httpreq_keep_alive(&q));
	/* Not told to go on: the same answer, nothing taken. */
	assert_int_equal(httpreq_feed(&q, (const uint8_t *)two + used, len - used, &off),
			 HTTPREQ_DONE);
	assert_int_equal(off, 0);
	off = used;
	httpreq_next(&q);
	assert_false(httpreq_started(&q));
	assert_int_equal(httpreq_feed(&q, (const uint8_t *)two + off, len - off, &used),
			 HTTPREQ_DONE);
	httpreq_fill(&q, &r);
	assert_string_equal(r.method, "HEAD");
	assert_string_equal(r.path, "/b");
	assert_string_equal(r.query, "x=1");
	assert_true(httpreq_keep_alive(&q));
	off += used;
	httpreq_next(&q);
	assert_int_equal(httpreq_feed(&q, (const uint8_t *)two + off, len - off, &used),
			 HTTPREQ_MORE);
	assert_int_equal(used, len - off);
	assert_int_equal(feed_all(&q, "st: h\r\n\r\n", &used), HTTPREQ_DONE);
	httpreq_fill(&q, &r);
	assert_string_equal(r.path, "/c");
	httpreq_cleanup(&q);

	/* After "Connection: close" (or HTTP/1.0 without keep-alive), no further request. */
	init(&q, NULL);
	assert_int_equal(feed_all(&q, "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
				      "GET /b HTTP/1.1\r\nHost: h\r\n\r\n", &used),
			 HTTPREQ_DONE);
	assert_false(httpreq_keep_alive(&q));
	httpreq_cleanup(&q);
	init(&q, NULL);
	assert_int_equal(feed_all(&q, "GET /a HTTP/1.0\r\n\r\n", &used), HTTPREQ_DONE);
	assert_false(httpreq_keep_alive(&q));
	httpreq_cleanup(&q);
	init(&q, NULL);
	assert_int_equal(feed_all(&q, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &used),
			 HTTPREQ_DONE);
	assert_true(httpreq_keep_alive(&q));
	httpreq_cleanup(&q);
}

static void test_chunked(void **state)
{
	static const char req[] = "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	struct httpreq q;
	struct http_request r;
	size_t used;

	(void)state;
	init(&q, NULL);
	assert_int_equal(feed_all(&q, req, &used), HTTPREQ_DONE);
	httpreq_fill(&q, &r);
	assert_int_equal(r.body_len, 11);
	assert_memory_equal(r.body, "hello world", 11);
	httpreq_cleanup(&q);
	/* A chunked body that grows past the limit of 64. */
	{
		char big[512];

		snprintf(big, sizeof(big),
			 "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "20\r\n%032d\r\n20\r\n%032d\r\n1\r\nx\r\n0\r\n\r\n", 0, 0);
		assert_int_equal(refused(big, NULL), 413);
	}
}

static void test_limits(void **state)
{
	struct httpreq_limits l = {256, 16};
	char req[1024];
	char pad[512];
	size_t base, used;
	struct httpreq q;

	(void)state;
	/* Header bytes: method + target + version + (name + value + 4) per header. */
	base = strlen("GET") + strlen("/") + strlen("1.1") + (strlen("Host") + strlen("h") + 4) +
	       strlen("X") + 4;
	memset(pad, 'a', sizeof(pad));
	pad[256 - base] = '\0';
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: h\r\nX: %s\r\n\r\n", pad);
	init(&q, &l);
	assert_int_equal(feed_all(&q, req, &used), HTTPREQ_DONE);
	httpreq_cleanup(&q);
	pad[256 - base] = 'a';
	pad[256 - base + 1] = '\0';
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: h\r\nX: %s\r\n\r\n", pad);
	assert_int_equal(refused(req, &l), 431);
	/* A long target alone. */
	memset(pad, 'p', 300);
	pad[300] = '\0';
	snprintf(req, sizeof(req), "GET /%s HTTP/1.1\r\nHost: h\r\n\r\n", pad);
	assert_int_equal(refused(req, &l), 431);

	/* Body: 16 is fine, 17 is refused before any of it arrives. */
	init(&q, &l);
	assert_int_equal(feed_all(&q, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\n"
				      "0123456789abcdef", &used), HTTPREQ_DONE);
	httpreq_cleanup(&q);
	assert_int_equal(refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n", &l),
			 413);
	assert_int_equal(refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
				 "99999999999999999999\r\n\r\n", &l), 400);

	/* Header count. */
	{
		struct httpreq_limits wide = {16384, 16};
		char many[4096];
		size_t n = 0;

		n += (size_t)snprintf(many + n, sizeof(many) - n, "GET / HTTP/1.1\r\nHost: h\r\n");
		for (int i = 0; i < HTTP_MAX_HEADERS - 1; i++)
			n += (size_t)snprintf(many + n, sizeof(many) - n, "X%d: v\r\n", i);
		snprintf(many + n, sizeof(many) - n, "\r\n");
		init(&q, &wide);
		assert_int_equal(feed_all(&q, many, &used), HTTPREQ_DONE);
		httpreq_cleanup(&q);
		snprintf(many + n, sizeof(many) - n, "Y: v\r\n\r\n");
		assert_int_equal(refused(many, &wide), 431);
	}
}

static void test_refusals(void **state)
{
	(void)state;
	assert_int_equal(refused("BREW / HTTP/1.1\r\nHost: h\r\n\r\n", NULL), 400);
	assert_int_equal(refused("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", NULL), 400);
	assert_int_equal(refused("hello world\r\n\r\n", NULL), 400);
	assert_int_equal(refused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", NULL), 505);
	assert_int_equal(refused("GET / HTTP/3.1\r\nHost: h\r\n\r\n", NULL), 505);
	assert_int_equal(refused("GET / HTTP/1.1\r\n\r\n", NULL), 400);
	assert_int_equal(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", NULL), 400);
	assert_int_equal(refused("GET http://evil/ HTTP/1.1\r\nHost: h\r\n\r\n", NULL), 400);
	assert_int_equal(refused("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", NULL), 400);
	assert_int_equal(refused("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", NULL), 400);
	assert_int_equal(refused("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
				 "Content-Length: 3\r\n\r\n", NULL), 417);
	assert_int_equal(refused("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
				 "Content-Length: 300\r\n\r\n", NULL), 413);
	assert_int_equal(refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
				 "Content-Length: 4\r\n\r\n", NULL), 400);
	assert_int_equal(refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
				 "Transfer-Encoding: chunked\r\n\r\n", NULL), 400);
	assert_int_equal(refused("GET /a/../b HTTP/1.1\r\nHost: h\r\n\r\n", NULL), 400);
	assert_int_equal(refused("GET /a/%2e%2e/b HTTP/1.1\r\nHost: h\r\n\r\n", NULL), 400);
	assert_int_equal(refused("GET /a?x=%zz HTTP/1.1\r\nHost: h\r\n\r\n", NULL), 400);
	assert_int_equal(refused("GET / HTTP/1.1\r\nBad Header: v\r\nHost: h\r\n\r\n", NULL), 400);
	assert_int_equal(refused("GET / HTTP/1.1\r\nHost : h\r\n\r\n", NULL), 400);
	/* HTTP/1.0 needs no Host. */
	assert_int_equal(refused("GET / HTTP/1.0\r\n\r\n", NULL), 0);
	/* An error sticks. */
	{
		struct httpreq q;
		size_t used;

		init(&q, NULL);
		assert_int_equal(feed_all(&q, "BREW", &used), HTTPREQ_ERROR);
		assert_int_equal(feed_all(&q, "GET / HTTP/1.1\r\n\r\n", &used), HTTPREQ_ERROR);
		httpreq_next(&q);
		assert_int_equal(feed_all(&q, "GET / HTTP/1.1\r\n\r\n", &used), HTTPREQ_ERROR);
		httpreq_cleanup(&q);
	}
}

static int decode(const char *in, char *out, size_t cap)
{
	const char *why;
	int rc = httpreq_decode_path(in, strlen(in), out, cap, &why);

	assert_true(rc != PST_E_PARSE || why != NULL);
	return rc;
}

static void test_paths(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(decode("/", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(decode("/api/v1/hosts/", out, sizeof(out)), 0);
	assert_string_equal(out, "/api/v1/hosts/");
	assert_int_equal(decode("/a%20b/%41%7e", out, sizeof(out)), 0);
	assert_string_equal(out, "/a b/A~");
	assert_int_equal(decode("/.well-known/x..y/...", out, sizeof(out)), 0);
	assert_int_equal(decode("/caf%C3%A9", out, sizeof(out)), 0);
	assert_string_equal(out, "/caf\xc3\xa9");

	assert_int_equal(decode("", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("a/b", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a/../b", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a/..", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/..", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a/%2e%2e/b", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a/%2E%2e", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a/.%2e/b", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a/./b", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a/.", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a//b", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("//etc/passwd", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a%2fb", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a%2F..%2Fb", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a%00b", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a%0ab", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a%7f", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a%", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a%2", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/a%g0", out, sizeof(out)), PST_E_PARSE);
	/* Overlong UTF-8 for '.' and '/', a lone continuation byte, a surrogate. */
	assert_int_equal(decode("/%c0%ae%c0%ae/x", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/%c0%af", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/%e0%80%ae", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/%80", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/%ed%a0%80", out, sizeof(out)), PST_E_PARSE);
	assert_int_equal(decode("/%f4%90%80%80", out, sizeof(out)), PST_E_PARSE);
	/* Too long for the buffer: exactly fits, then one over. */
	assert_int_equal(decode("/abcdef", out, 8), 0);
	assert_int_equal(decode("/abcdefg", out, 8), PST_E_TOOBIG);
	assert_int_equal(decode("/abc%41efg", out, 8), PST_E_TOOBIG);
}

static void test_query_param(void **state)
{
	struct http_request r;
	char buf[16];
	int err;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.query = "limit=10&q=a+b%20c&empty=&flag&x%5Fy=1&limit=20&bad=%zz&nul=%00"
		  "&long=0123456789abcdef&trunc=%4";
	assert_string_equal(http_query_param(&r, "limit", buf, sizeof(buf), &err), "10");
	assert_int_equal(err, 0);
	assert_string_equal(http_query_param(&r, "q", buf, sizeof(buf), &err), "a b c");
	assert_string_equal(http_query_param(&r, "empty", buf, sizeof(buf), &err), "");
	assert_string_equal(http_query_param(&r, "flag", buf, sizeof(buf), &err), "");
	assert_string_equal(http_query_param(&r, "x_y", buf, sizeof(buf), &err), "1");
	assert_null(http_query_param(&r, "missing", buf, sizeof(buf), &err));
	assert_int_equal(err, 0);
	assert_null(http_query_param(&r, "lim", buf, sizeof(buf), NULL));
	assert_null(http_query_param(&r, "bad", buf, sizeof(buf), &err));
	assert_int_equal(err, PST_E_PARSE);
	assert_null(http_query_param(&r, "nul", buf, sizeof(buf), &err));
	assert_int_equal(err, PST_E_PARSE);
	assert_null(http_query_param(&r, "trunc", buf, sizeof(buf), &err));
	assert_int_equal(err, PST_E_PARSE);
	assert_null(http_query_param(&r, "long", buf, sizeof(buf), &err));
	assert_int_equal(err, PST_E_TOOBIG);
	{
		char fits[17];

		assert_string_equal(http_query_param(&r, "long", fits, sizeof(fits), &err),
				    "0123456789abcdef");
	}
	r.query = "";
	assert_null(http_query_param(&r, "limit", buf, sizeof(buf), &err));
	r.query = NULL;
	assert_null(http_query_param(&r, "limit", buf, sizeof(buf), &err));
	assert_int_equal(err, 0);
}

static void test_response_helpers(void **state)
{
	struct http_response res;

	(void)state;
	memset(&res, 0, sizeof(res));
	http_response_error(&res, 404, "not_found", "no host %s", "web-\"1\"");
	assert_int_equal(res.status, 404);
	assert_string_equal(res.content_type, "application/json");
	assert_string_equal(res.body,
			    "{\"error\":{\"code\":\"not_found\",\"message\":\"no host web-\\\"1\\\"\"}}");
	assert_int_equal(res.body_len, strlen(res.body));
	assert_int_equal(http_response_header(&res, "Location", "/a"), 0);
	assert_int_equal(http_response_header(&res, "Cache-Control", "max-age=60"), 0);
	assert_string_equal(res.headers, "Location: /a\r\nCache-Control: max-age=60\r\n");
	assert_int_equal(http_response_header(&res, "X", "a\r\nSet-Cookie: b"), PST_E_INVAL);
	assert_int_equal(http_response_header(&res, "Bad Name", "v"), PST_E_INVAL);
	assert_int_equal(http_response_header(&res, "", "v"), PST_E_INVAL);
	free(res.body);
	free(res.headers);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_query_param),
		cmocka_unit_test(test_response_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
