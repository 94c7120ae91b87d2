/*
 * fuzz_http.c - libFuzzer target for collector/httpreq.c.
 *
 * The input is a byte stream as a client would send it on one connection.
 * It is fed in chunks whose sizes come from the input, request after
 * request as the server does (httpreq_next after each), under small
 * limits so that every limit is reached from short inputs.  Every request
 * that completes must be within the limits, its path must decode to
 * itself again and never hold "/../", "/./", "//" or a control byte, and
 * every query parameter lookup must end.  The whole stream is fed again in
 * one piece and must give the same requests, and refuse if the other did.  Any broken property aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 64

#define check(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n",      \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

static const struct httpreq_limits LIM = {512, 128};

static unsigned long hash_request(const struct http_request *r)
{
	unsigned long h = 5381;
	const char *parts[] = {r->method, r->target, r->path, r->query};

	for (size_t i = 0; i < 4; i++)
		for (const char *s = parts[i]; *s; s++)
			h = h * 33 + (unsigned char)*s;
	for (size_t i = 0; i < r->body_len; i++)
		h = h * 33 + r->body[i];
	return h * 33 + r->nheaders;
}

static void check_request(const struct http_request *r)
{
	size_t hbytes = strlen(r->method) + strlen(r->target);
	char again[1024], buf[64];
	const char *why;
	int err;

	for (size_t i = 0; i < r->nheaders; i++)
		hbytes += strlen(r->headers[i].name) + strlen(r->headers[i].value);
	check(hbytes <= LIM.max_header_bytes);
	check(r->nheaders <= HTTP_MAX_HEADERS);
	check(r->body_len <= LIM.max_body_bytes);
	check(r->path[0] == '/');
	check(strstr(r->path, "/../") == NULL && strstr(r->path, "/./") == NULL);
	check(strstr(r->path, "//") == NULL);
	for (const char *s = r->path; *s; s++)
		check((unsigned char)*s >= 0x20 && *s != 0x7f);
	{
		size_t n = strlen(r->path);

		check(!(n >= 3 && strcmp(r->path + n - 3, "/..") == 0));
		check(!(n >= 2 && strcmp(r->path + n - 2, "/.") == 0));
	}
	/* A decoded path without a '%' left decodes to itself. */
	if (strchr(r->path, '%') == NULL) {
		check(httpreq_decode_path(r->path, strlen(r->path), again, sizeof(again), &why) == 0);
		check(strcmp(again, r->path) == 0);
	}
	(void)http_query_param(r, "limit", buf, sizeof(buf), &err);
	check(err == 0 || err == PST_E_PARSE || err == PST_E_TOOBIG);
	(void)http_query_param(r, "", buf, sizeof(buf), &err);
	(void)http_header(r, "host");
}

/* Feed the stream in chunks of sizes taken from seed; record each request's hash. */
static size_t run(const uint8_t *data, size_t size, unsigned seed, unsigned long *hashes,
		  int *final)
{
	struct httpreq q;
	size_t off = 0, n = 0, pending_end = 0;

	if (httpreq_init(&q, &LIM) != 0)
		return 0;
	*final = -1;
	while (off < size && n < MAX_REQUESTS) {
		size_t chunk = seed ? 1 + (seed = seed * 1103515245u + 12345u) % 97 : size - off;
		size_t used;
		enum httpreq_status st;

		if (pending_end <= off)
			pending_end = off + chunk < size ? off + chunk : size;
		st = httpreq_feed(&q, data + off, pending_end - off, &used);
		if (st == HTTPREQ_ERROR) {
			int status = httpreq_error_status(&q);

			check(status >= 400 && status <= 505);
			*final = status;
			break;
		}
		check(used <= pending_end - off);
		off += used;
		if (st == HTTPREQ_DONE) {
			struct http_request r;

			memset(&r, 0, sizeof(r));
			httpreq_fill(&q, &r);
			check_request(&r);
			hashes[n++] = hash_request(&r);
			if (!httpreq_keep_alive(&q))
				break;
			httpreq_next(&q);
		}
	}
	httpreq_cleanup(&q);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long a[MAX_REQUESTS], b[MAX_REQUESTS];
	int fa, fb;
	size_t na, nb;

	na = run(data, size, 0, a, &fa);
	nb = run(data, size, size ? 1u + data[0] : 1u, b, &fb);
	check(na == nb);
	/* Which refusal may differ: llhttp reports a span at its end or at the end of a chunk, so
	   a limit can be seen before or after a bad byte further on; but both refuse. */
	check((fa == -1) == (fb == -1));
	check(memcmp(a, b, na * sizeof(a[0])) == 0);
	return 0;
}
