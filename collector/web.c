/*
 * web.c - the dashboard's assets over HTTP (see web.h).
 *
 * Only GET and HEAD; the path has been percent-decoded and cleaned of "."
 * and ".." segments by http.c (400 before we see it), and an asset name is
 * looked up in the embedded table, never on the file system, so there is no
 * path to traverse.  A 304 carries no body but the Content-Length of the
 * 200, as RFC 9110 allows.
 */
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct web_asset *web_asset_find(const char *name, size_t len)
{
	for (size_t i = 0; i < web_nassets; i++)
		if (strlen(web_assets[i].name) == len && memcmp(web_assets[i].name, name, len) == 0)
			return &web_assets[i];
	return NULL;
}

bool web_etag_matches(const char *inm, size_t len, const char *etag)
{
	size_t elen = strlen(etag), i = 0;

	if (inm == NULL)
		return false;
	while (i < len) {
		size_t start, end;

		while (i < len && (inm[i] == ' ' || inm[i] == '\t' || inm[i] == ','))
			i++;
		if (i == len)
			break;
		if (inm[i] == '*')
			return true;
		/* If-None-Match compares weakly: W/"x" matches "x". */
		if (len - i >= 2 && inm[i] == 'W' && inm[i + 1] == '/')
			i += 2;
		start = i;
		while (i < len && inm[i] != ',')
			i++;
		end = i;
		while (end > start && (inm[end - 1] == ' ' || inm[end - 1] == '\t'))
			end--;
		if (end - start == elen && memcmp(inm + start, etag, elen) == 0)
			return true;
	}
	return false;
}

static void common_headers(struct http_response *res)
{
	http_response_header(res, "Content-Security-Policy", WEB_CSP);
	http_response_header(res, "Cross-Origin-Opener-Policy", "same-origin");
	http_response_header(res, "Cross-Origin-Resource-Policy", "same-origin");
}

static void redirect(struct http_response *res, int status, const char *to)
{
	res->status = status;
	snprintf(res->content_type, sizeof(res->content_type), "text/plain; charset=utf-8");
	http_response_header(res, "Location", to);
	common_headers(res);
}

static void not_found(const struct http_request *req, struct http_response *res)
{
	http_response_error(res, 404, "not_found", "no such page: %s (the dashboard is at /ui/)",
			    req->path);
	common_headers(res);
}

bool web_handle(const struct http_request *req, struct http_response *res)
{
	const char *p = req->path;
	const struct web_asset *a;
	const char *inm;
	bool head = strcmp(req->method, "HEAD") == 0;

	if (strcmp(p, "/") != 0 && strcmp(p, "/ui") != 0 && strncmp(p, "/ui/", 4) != 0)
		return false;
	if (!head && strcmp(req->method, "GET") != 0) {
		http_response_error(res, 405, "method_not_allowed",
				    "%s is not allowed on %s; the dashboard answers GET and HEAD",
				    req->method, p);
		http_response_header(res, "Allow", "GET, HEAD");
		common_headers(res);
		return true;
	}
	if (strcmp(p, "/") == 0 || strcmp(p, "/ui") == 0) {
		redirect(res, 308, "/ui/");
		return true;
	}
	p += 4;
	a = *p == '\0' ? web_asset_find("index.html", 10) : web_asset_find(p, strlen(p));
	if (a == NULL) {
		not_found(req, res);
		return true;
	}
	snprintf(res->content_type, sizeof(res->content_type), "%s", a->content_type);
	http_response_header(res, "ETag", a->etag);
	http_response_header(res, "Cache-Control", "no-cache");
	common_headers(res);
	res->body_len = a->len;
	inm = http_header(req, "If-None-Match");
	if (inm != NULL && web_etag_matches(inm, strlen(inm), a->etag)) {
		res->status = 304;
		return true;
	}
	res->status = 200;
	if (head)
		return true;
	res->body = malloc(a->len);
	if (res->body == NULL) {
		free(res->headers);
		res->headers = NULL;
		res->body_len = 0;
		http_response_error(res, 500, "internal", "out of memory serving %s", a->name);
		return true;
	}
	memcpy(res->body, a->data, a->len);
	return true;
}
