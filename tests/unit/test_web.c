/*
 * test_web.c - the dashboard's assets: the embedded table matches
 * collector/web/ byte for byte with SHA-256 ETags; web_handle answers GET
 * and HEAD with the right content type, the strict CSP, no-cache and an
 * ETag, 304 on a matching If-None-Match (lists, weak tags, "*"), redirects
 * "/" to "/ui/", 404 for unknown or nested names, 405 for other methods,
 * and leaves the API's paths alone.  The assets themselves keep to what the
 * CSP allows: no inline script or style, no innerHTML.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "testutil.h"
#include "web.h"

static struct http_request req(const char *method, const char *path, const char *inm)
{
	struct http_request r;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = path;
	r.target = path;
	r.query = "";
	if (inm != NULL) {
		r.headers[0].name = "if-none-match";
		r.headers[0].value = inm;
		r.nheaders = 1;
	}
	return r;
}

static void res_free(struct http_response *res)
{
	free(res->body);
	free(res->headers);
	memset(res, 0, sizeof(*res));
}

/* The value of header name in res->headers ("Name: value\r\n"...), in buf. */
static const char *hdr(const struct http_response *res, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);

	for (const char *l = res->headers; l != NULL && *l != '\0';) {
		const char *end = strstr(l, "\r\n");

		assert_non_null(end);
		if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
			snprintf(buf, size, "%.*s", (int)(end - l - n - 2), l + n + 2);
			return buf;
		}
		l = end + 2;
	}
	return NULL;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_table_matches_sources(void **state)
{
	(void)state;
	assert_true(web_nassets >= 4);
	for (size_t i = 0; i < web_nassets; i++) {
		const struct web_asset *a = &web_assets[i];
		char path[512], want[40] = "\"";
		unsigned char md[32];
		unsigned int mdlen = 0;
		size_t len;
		char *src;

		snprintf(path, sizeof(path), "%s/collector/web/%s", POSTURE_SOURCE_DIR, a->name);
		src = slurp(path, &len);
		assert_int_equal(a->len, len);
		assert_memory_equal(a->data, src, len);
		assert_int_equal(EVP_Digest(src, len, md, &mdlen, EVP_sha256(), NULL), 1);
		for (int k = 0; k < 16; k++)
			snprintf(want + 1 + 2 * k, 3, "%02x", md[k]);
		strcat(want, "\"");
		assert_string_equal(a->etag, want);
		assert_ptr_equal(web_asset_find(a->name, strlen(a->name)), a);
		if (strstr(a->name, ".js") != NULL)
			assert_string_equal(a->content_type, "text/javascript; charset=utf-8");
		if (strstr(a->name, ".css") != NULL)
			assert_string_equal(a->content_type, "text/css; charset=utf-8");
		if (strstr(a->name, ".html") != NULL)
			assert_string_equal(a->content_type, "text/html; charset=utf-8");
		/* What the CSP would refuse, and what would turn API data into markup. */
		assert_null(strstr(src, "innerHTML"));
		assert_null(strstr(src, "outerHTML"));
		assert_null(strstr(src, "insertAdjacentHTML"));
		assert_null(strstr(src, "document.write"));
		assert_null(strstr(src, "eval("));
		/* Nothing from another origin (the SVG namespace is a name, not a fetch). */
		assert_null(strstr(src, "https://"));
		assert_null(strstr(src, "url(http"));
		assert_null(strstr(src, " style="));
		assert_null(strstr(src, "<style"));
		assert_null(strstr(src, "<script>"));
		assert_null(strstr(src, " onclick="));
		assert_null(strstr(src, " onload="));
		free(src);
	}
	assert_null(web_asset_find("index.htm", 9));
	assert_null(web_asset_find("index.html", 9)); /* a prefix is not a name */
	assert_null(web_asset_find("", 0));
}

static void test_get_index(void **state)
{
	struct http_request r = req("GET", "/ui/", NULL);
	struct http_response res = {0};
	const struct web_asset *idx = web_asset_find("index.html", 10);
	char buf[512];

	(void)state;
	assert_non_null(idx);
	assert_true(web_handle(&r, &res));
	assert_int_equal(res.status, 200);
	assert_string_equal(res.content_type, "text/html; charset=utf-8");
	assert_int_equal(res.body_len, idx->len);
	assert_memory_equal(res.body, idx->data, idx->len);
	assert_string_equal(hdr(&res, "Content-Security-Policy", buf, sizeof(buf)),
			    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
			    "data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
			    "frame-ancestors 'none'");
	assert_string_equal(hdr(&res, "Cache-Control", buf, sizeof(buf)), "no-cache");
	assert_string_equal(hdr(&res, "ETag", buf, sizeof(buf)), idx->etag);
	res_free(&res);

	r = req("GET", "/ui/app.js", NULL);
	assert_true(web_handle(&r, &res));
	assert_int_equal(res.status, 200);
	assert_string_equal(res.content_type, "text/javascript; charset=utf-8");
	res_free(&res);
}

static void test_head_and_304(void **state)
{
	const struct web_asset *a = web_asset_find("app.css", 7);
	struct http_request r = req("HEAD", "/ui/app.css", NULL);
	struct http_response res = {0};
	char inm[128], buf[128];

	(void)state;
	assert_non_null(a);
	assert_true(web_handle(&r, &res));
	assert_int_equal(res.status, 200);
	assert_null(res.body);
	assert_int_equal(res.body_len, a->len); /* HEAD: the GET's Content-Length */
	assert_string_equal(hdr(&res, "ETag", buf, sizeof(buf)), a->etag);
	res_free(&res);

	const char *const match[] = {a->etag, inm, "*", NULL};
	snprintf(inm, sizeof(inm), "\"other\", W/%s", a->etag);
	for (size_t i = 0; match[i] != NULL; i++) {
		r = req("GET", "/ui/app.css", match[i]);
		assert_true(web_handle(&r, &res));
		assert_int_equal(res.status, 304);
		assert_null(res.body);
		assert_non_null(hdr(&res, "ETag", buf, sizeof(buf)));
		assert_non_null(hdr(&res, "Content-Security-Policy", buf, sizeof(buf)));
		res_free(&res);
	}
	r = req("GET", "/ui/app.css", "\"0123\"");
	assert_true(web_handle(&r, &res));
	assert_int_equal(res.status, 200);
	res_free(&res);

	assert_false(web_etag_matches(NULL, 0, a->etag));
	assert_false(web_etag_matches("", 0, a->etag));
	assert_false(web_etag_matches(",,, ", 4, a->etag));
	inm[0] = '\0';
	strcat(inm, " ,  \"x\" ,W/\"y\"");
	assert_true(web_etag_matches(inm, strlen(inm), "\"y\""));
	assert_false(web_etag_matches(inm, strlen(inm) - 1, "\"y\""));
	assert_true(web_etag_matches("\"y\" ", 4, "\"y\""));
	assert_false(web_etag_matches("\"y", 2, "\"y\""));
	assert_false(web_etag_matches("\"y\"", 2, "\"y\"")); /* the length, not the NUL, ends it */
	assert_false(web_etag_matches("W/", 2, "\"y\""));
}

static void test_redirects_and_refusals(void **state)
{
	static const char *const missing[] = {"/ui/nope.js", "/ui/web/app.js", "/ui/app.js/",
					      "/ui/index.html.bak", "/ui//", NULL};
	struct http_request r = req("GET", "/", NULL);
	struct http_response res = {0};
	char buf[128];

	(void)state;
	assert_true(web_handle(&r, &res));
	assert_int_equal(res.status, 308);
	assert_string_equal(hdr(&res, "Location", buf, sizeof(buf)), "/ui/");
	res_free(&res);
	r = req("HEAD", "/ui", NULL);
	assert_true(web_handle(&r, &res));
	assert_int_equal(res.status, 308);
	res_free(&res);

	for (size_t i = 0; missing[i] != NULL; i++) {
		r = req("GET", missing[i], NULL);
		assert_true(web_handle(&r, &res));
		assert_int_equal(res.status, 404);
		assert_non_null(strstr(res.body, "not_found"));
		res_free(&res);
	}
	r = req("POST", "/ui/", NULL);
	assert_true(web_handle(&r, &res));
	assert_int_equal(res.status, 405);
	assert_string_equal(hdr(&res, "Allow", buf, sizeof(buf)), "GET, HEAD");
	res_free(&res);

	/* The API's paths, and look-alikes, are not the dashboard's. */
	static const char *const api[] = {"/api/v1/summary", "/metrics", "/uix", "/ui.js",
					  "/api/v1/ui/", NULL};
	for (size_t i = 0; api[i] != NULL; i++) {
		r = req("GET", api[i], NULL);
		assert_false(web_handle(&r, &res));
		assert_int_equal(res.status, 0);
		assert_null(res.headers);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_sources),
		cmocka_unit_test(test_get_index),
		cmocka_unit_test(test_head_and_304),
		cmocka_unit_test(test_redirects_and_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
