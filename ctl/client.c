/*
 * client.c - the collector API over libcurl (see client.h).
 */
#include "client.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct sink {
	struct client_resp *r;
	bool over;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (strbuf_append(&s->r->body, p, size * n) != 0) {
		s->over = true;
		return 0;
	}
	return size * n;
}

/* Keep one header's value (trimmed) when its name matches. */
static void header_value(const char *line, size_t len, const char *name, char *dst, size_t cap)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return;
	line += n + 1;
	len -= n + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
		len--;
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, line, len);
	dst[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct client_resp *r = arg;

	header_value(p, size * n, "ETag", r->etag, sizeof(r->etag));
	header_value(p, size * n, "Content-Type", r->content_type, sizeof(r->content_type));
	return size * n;
}

int client_init(struct client *c, const char *url, const char *token, const char *cacert,
		struct pst_err *e)
{
	size_t n;

	memset(c, 0, sizeof(*c));
	if (url == NULL)
		return pst_err_set(e, PST_E_USAGE,
				   "no collector URL: give --url https://HOST:PORT, set POSTURE_URL, "
				   "or put \"url\" in the config file");
	if (strncmp(url, "https://", 8) != 0 || url[8] == '\0' || url[8] == '/')
		return pst_err_set(e, PST_E_USAGE,
				   "URL %s: posturectl speaks only https://HOST[:PORT] (TLS is "
				   "always verified)",
				   url);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return pst_err_set(e, PST_E_USAGE, "URL %s: holds a space or control character", url);
	n = strlen(url);
	while (n > 8 && url[n - 1] == '/')
		n--;
	if ((c->base = strndup(url, n)) == NULL || (c->curl = curl_easy_init()) == NULL) {
		client_cleanup(c);
		return pst_err_set(e, PST_E_NOMEM, "cannot set up libcurl");
	}
	c->token = token;
	c->cacert = cacert;
	return 0;
}

void client_cleanup(struct client *c)
{
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->base);
	memset(c, 0, sizeof(*c));
}

char *client_escape(struct client *c, const char *s)
{
	char *t = curl_easy_escape(c->curl, s, 0);
	char *r;

	if (t == NULL)
		return NULL;
	r = strdup(t);
	curl_free(t);
	return r;
}

int client_request(struct client *c, const char *method, const char *path, const char *body,
		   size_t max, struct client_resp *r, struct pst_err *e)
{
	struct curl_slist *hdr = NULL;
	struct sink sink = {r, false};
	char errbuf[CURL_ERROR_SIZE] = "";
	char *url = NULL, *auth = NULL;
	CURL *h = c->curl;
	CURLcode cc;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	strbuf_init(&r->body, max);
	if (asprintf(&url, "%s%s", c->base, path) < 0) {
		url = NULL;
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	if (c->token != NULL && asprintf(&auth, "Authorization: Bearer %s", c->token) < 0) {
		auth = NULL;
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	if ((hdr = curl_slist_append(hdr, "Accept: application/json")) == NULL ||
	    (body != NULL && (hdr = curl_slist_append(hdr, "Content-Type: application/json")) == NULL) ||
	    (auth != NULL && (hdr = curl_slist_append(hdr, auth)) == NULL)) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	if (body != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "posturectl");
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cacert != NULL) {
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		goto out;
	}
	if (sink.over) {
		rc = pst_err_set(e, PST_E_TOOBIG,
				 "%s: the answer is larger than %zu bytes, posturectl's limit; "
				 "narrow the request (--limit, --host, ...)",
				 url, max);
	} else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR ||
		   cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CERTPROBLEM) {
		rc = pst_err_set(e, PST_E_TLS,
				 "%s: TLS failed, nothing was sent: %s; check that --cacert (%s) "
				 "is the CA that signed the collector's certificate (ca.crt of "
				 "the collector's directory) and that the host name in the URL is "
				 "one the certificate names",
				 url, errbuf[0] ? errbuf : curl_easy_strerror(cc),
				 c->cacert ? c->cacert : "the system's CA store");
	} else {
		rc = pst_err_set(e, PST_E_SYS,
				 "cannot reach the collector at %s: %s; check the URL (--url or "
				 "POSTURE_URL) and that the collector runs and listens there",
				 url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	}
out:
	curl_slist_free_all(hdr);
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	free(url);
	return rc;
}

void client_resp_cleanup(struct client_resp *r)
{
	strbuf_cleanup(&r->body);
}

int client_json(const struct client_resp *r, const char *path, json_t **out, struct pst_err *e)
{
	json_error_t je;

	*out = json_loadb(r->body.data ? r->body.data : "", r->body.len,
			  JSON_REJECT_DUPLICATES, &je);
	if (*out == NULL)
		return pst_err_set(e, PST_E_PARSE,
				   "%s: the collector's answer is not JSON (line %d, column %d: "
				   "%s)",
				   path, je.line, je.column, je.text);
	return 0;
}

void client_error_message(const struct client_resp *r, const char *path, struct pst_err *e)
{
	json_t *doc = json_loadb(r->body.data ? r->body.data : "", r->body.len,
				 JSON_REJECT_DUPLICATES, NULL);
	json_t *err = json_object_get(doc, "error");
	json_t *code = json_object_get(err, "code");
	json_t *msg = json_object_get(err, "message");

	if (json_is_string(msg))
		pst_err_set(e, PST_E_PROTO, "%s: the collector answered %ld (%s): %s", path,
			    r->status, json_is_string(code) ? json_string_value(code) : "error",
			    json_string_value(msg));
	else
		pst_err_set(e, PST_E_PROTO, "%s: the collector answered %ld with no error message",
			    path, r->status);
	json_decref(doc);
}
