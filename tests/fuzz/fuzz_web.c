/*
 * fuzz_web.c - libFuzzer target for collector/web.c.
 *
 * The input is a method selector byte, then a path and an If-None-Match
 * value separated by a NUL byte (as http.c hands them over: decoded,
 * NUL-free strings).  web_handle must answer every path under "/" and
 * "/ui" with a known status, never a body for HEAD or 304, exactly an
 * embedded asset's bytes for a 200, and must leave every other path alone.
 * web_etag_matches is also fed the raw bytes, by length, with no NUL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n",      \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"};
	struct http_request r;
	struct http_response res;
	char *copy, *nul;
	bool mine, head;

	if (size < 1 || size > 4096)
		return 0;
	/* By length: the bytes end where size says, with no NUL after them. */
	copy = malloc(size - 1 > 0 ? size - 1 : 1);
	check(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	(void)web_etag_matches(copy, size - 1, web_assets[0].etag);
	free(copy);

	copy = malloc(size);
	check(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	r.method = methods[data[0] % 6];
	head = strcmp(r.method, "HEAD") == 0;
	r.path = copy;
	r.target = copy;
	r.query = "";
	nul = memchr(copy, '\0', size - 1);
	if (nul != NULL && nul + 1 < copy + size - 1) {
		r.headers[0].name = "If-None-Match";
		r.headers[0].value = nul + 1;
		r.nheaders = 1;
	}
	mine = web_handle(&r, &res);
	if (!mine) {
		check(res.status == 0 && res.body == NULL && res.headers == NULL);
		check(strcmp(r.path, "/") != 0 && strncmp(r.path, "/ui/", 4) != 0 &&
		      strcmp(r.path, "/ui") != 0);
	} else {
		check(res.status == 200 || res.status == 304 || res.status == 308 ||
		      res.status == 404 || res.status == 405 || res.status == 500);
		check(res.headers != NULL && strstr(res.headers, "Content-Security-Policy: ") != NULL);
		if (res.status == 304 || (head && res.status == 200))
			check(res.body == NULL);
		if (res.status == 200 && !head) {
			const struct web_asset *a = NULL;

			for (size_t i = 0; i < web_nassets; i++)
				if (web_assets[i].len == res.body_len &&
				    memcmp(web_assets[i].data, res.body, res.body_len) == 0)
					a = &web_assets[i];
			check(a != NULL);
		}
	}
	free(res.body);
	free(res.headers);
	free(copy);
	return 0;
}
