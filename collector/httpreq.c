/*
 * httpreq.c - see httpreq.h.  llhttp calls back with spans of the method,
 * URL, version, header names and values (a span may come in several
 * pieces when the bytes arrive in several reads); they are copied into one
 * block sized from the header limit when the request starts, so a request
 * never allocates beyond its limits.  The request's end pauses llhttp, so
 * bytes of a pipelined next request stay unparsed until the server has
 * answered this one.
 */
#include "httpreq.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

/* Bytes a header costs beyond its name and value (": " and CRLF). */
#define HEADER_OVERHEAD 4

static struct httpreq *of(llhttp_t *p)
{
	return p->data;
}

/* Refuse the request with status; returns the value llhttp callbacks use to stop. */
static int refuse(struct httpreq *q, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct httpreq *q, int status, const char *fmt, ...)
{
	va_list ap;

	if (q->err_status == 0) {
		q->err_status = status;
		va_start(ap, fmt);
		vsnprintf(q->err_msg, sizeof(q->err_msg), fmt, ap);
		va_end(ap);
	}
	return HPE_USER;
}

static int count_header_bytes(struct httpreq *q, size_t len)
{
	q->header_bytes += len;
	if (q->header_bytes > q->lim.max_header_bytes)
		return refuse(q, 431, "the request line and headers exceed %u bytes",
			      q->lim.max_header_bytes);
	return 0;
}

static int append(struct httpreq *q, const char *at, size_t len)
{
	if (len > q->text_cap - q->text_len)
		return refuse(q, 431, "the request line and headers exceed %u bytes",
			      q->lim.max_header_bytes);
	memcpy(q->text + q->text_len, at, len);
	q->text_len += len;
	return 0;
}

static int terminate(struct httpreq *q)
{
	return append(q, "", 1);
}

static int on_message_begin(llhttp_t *p)
{
	of(p)->started = true;
	return 0;
}

static int on_method(llhttp_t *p, const char *at, size_t len)
{
	(void)at;
	return count_header_bytes(of(p), len);
}

static int on_version(llhttp_t *p, const char *at, size_t len)
{
	(void)at;
	return count_header_bytes(of(p), len);
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct httpreq *q = of(p);
	int rc = count_header_bytes(q, len);

	return rc != 0 ? rc : append(q, at, len);
}

static int on_url_complete(llhttp_t *p)
{
	return terminate(of(p));
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct httpreq *q = of(p);
	int rc;

	if (q->nheaders == HTTP_MAX_HEADERS)
		return refuse(q, 431, "more than %d headers", HTTP_MAX_HEADERS);
	if (q->name_off[q->nheaders] == SIZE_MAX) {
		q->name_off[q->nheaders] = q->text_len;
		rc = count_header_bytes(q, HEADER_OVERHEAD);
		if (rc != 0)
			return rc;
	}
	rc = count_header_bytes(q, len);
	return rc != 0 ? rc : append(q, at, len);
}

/* RFC 9110 tchar: llhttp lets a space through in a name ("Host : x"), which must be refused. */
static bool is_token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr("!#$%&'*+-.^_`|~", c) != NULL) || c == '\0')
			return false;
	}
	return true;
}

static int on_header_field_complete(llhttp_t *p)
{
	struct httpreq *q = of(p);

	if (q->nheaders == HTTP_MAX_HEADERS)
		return refuse(q, 431, "more than %d headers", HTTP_MAX_HEADERS);
	if (q->name_off[q->nheaders] == SIZE_MAX)
		q->name_off[q->nheaders] = q->text_len;
	if (!is_token(q->text + q->name_off[q->nheaders], q->text_len - q->name_off[q->nheaders]))
		return refuse(q, 400, "malformed header name");
	q->value_off[q->nheaders] = q->text_len + 1;
	return terminate(q);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct httpreq *q = of(p);
	int rc = count_header_bytes(q, len);

	return rc != 0 ? rc : append(q, at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
	struct httpreq *q = of(p);
	size_t start = q->value_off[q->nheaders];
	int rc;

	/* Optional whitespace after a value is not part of it. */
	while (q->text_len > start &&
	       (q->text[q->text_len - 1] == ' ' || q->text[q->text_len - 1] == '\t'))
		q->text_len--;
	rc = terminate(q);
	if (rc != 0)
		return rc;
	q->nheaders++;
	if (q->nheaders < HTTP_MAX_HEADERS)
		q->name_off[q->nheaders] = SIZE_MAX;
	return 0;
}

static const char *header_at(const struct httpreq *q, size_t i, const char **value)
{
	*value = q->text + q->value_off[i];
	return q->text + q->name_off[i];
}

static bool is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool bad_segment(const char *seg, size_t len)
{
	return len == 0 || (len == 1 && seg[0] == '.') ||
	       (len == 2 && seg[0] == '.' && seg[1] == '.');
}

int httpreq_decode_path(const char *in, size_t len, char *out, size_t cap, const char **why)
{
	size_t o = 0, seg = 0;

	*why = NULL;
	if (cap == 0)
		return PST_E_TOOBIG;
	out[0] = '\0';
	if (len == 0 || in[0] != '/') {
		*why = "the path must start with '/'";
		return PST_E_PARSE;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool raw_slash = c == '/';

		if (c == '%') {
			if (len - i < 3 || !is_hex(in[i + 1]) || !is_hex(in[i + 2])) {
				*why = "malformed percent escape in the path";
				return PST_E_PARSE;
			}
			c = (unsigned char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
			i += 2;
			if (c == '/') {
				*why = "encoded '/' in the path";
				return PST_E_PARSE;
			}
			if (c == '\0') {
				*why = "NUL byte in the path";
				return PST_E_PARSE;
			}
		}
		if (c < 0x20 || c == 0x7f) {
			*why = "control character in the path";
			return PST_E_PARSE;
		}
		if (raw_slash && o > 0) {
			if (bad_segment(out + seg, o - seg)) {
				*why = "empty, '.' or '..' segment in the path";
				return PST_E_PARSE;
			}
		}
		if (o + 1 >= cap)
			return PST_E_TOOBIG;
		out[o++] = (char)c;
		if (raw_slash)
			seg = o;
	}
	/* A final '/' leaves an empty last segment, which is allowed. */
	if (o > seg && bad_segment(out + seg, o - seg)) {
		*why = "'.' or '..' segment in the path";
		return PST_E_PARSE;
	}
	out[o] = '\0';
	if (!utf8_valid((const unsigned char *)out, o)) {
		*why = "the decoded path is not valid UTF-8";
		return PST_E_PARSE;
	}
	return 0;
}

static bool query_valid(const char *s)
{
	for (; *s; s++) {
		if (*s == '%') {
			if (!is_hex(s[1]) || !is_hex(s[2]))
				return false;
			s += 2;
		}
	}
	return true;
}

static int check_target(struct httpreq *q)
{
	const char *url = q->text + q->url_off;
	const char *qm = strchr(url, '?');
	size_t plen = qm ? (size_t)(qm - url) : strlen(url);
	const char *why;
	int rc;

	if (url[0] != '/')
		return refuse(q, 400, "the request target must be a path starting with '/'");
	if (strchr(url, '#') != NULL)
		return refuse(q, 400, "a fragment ('#') in the request target");
	q->path_off = q->text_len;
	rc = httpreq_decode_path(url, plen, q->text + q->text_len, q->text_cap - q->text_len,
				 &why);
	if (rc == PST_E_TOOBIG)
		return refuse(q, 431, "the request line and headers exceed %u bytes",
			      q->lim.max_header_bytes);
	if (rc != 0)
		return refuse(q, 400, "%s", why);
	q->text_len += strlen(q->text + q->path_off) + 1;
	q->query_off = qm ? q->url_off + plen + 1 : q->url_off + strlen(url);
	if (!query_valid(q->text + q->query_off))
		return refuse(q, 400, "malformed percent escape in the query");
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct httpreq *q = of(p);
	size_t nhost = 0;
	const char *expect = NULL;

	if (p->http_major != 1) {
		refuse(q, 505, "only HTTP/1.0 and HTTP/1.1 are served");
		return -1;
	}
	if (check_target(q) != 0)
		return -1;
	for (size_t i = 0; i < q->nheaders; i++) {
		const char *v, *n = header_at(q, i, &v);

		if (strcasecmp(n, "host") == 0)
			nhost++;
		else if (strcasecmp(n, "expect") == 0)
			expect = v;
	}
	if (nhost > 1 || (nhost == 0 && p->http_minor == 1)) {
		refuse(q, 400, "an HTTP/1.1 request needs exactly one Host header");
		return -1;
	}
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > q->lim.max_body_bytes) {
		refuse(q, 413, "the body (%llu bytes) exceeds the limit of %u bytes",
		       (unsigned long long)p->content_length, q->lim.max_body_bytes);
		return -1;
	}
	if (expect != NULL) {
		refuse(q, 417, "Expect is not supported; send the body without waiting");
		return -1;
	}
	q->keep_alive = llhttp_should_keep_alive(p) != 0;
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0) {
		q->body = malloc(p->content_length);
		if (q->body == NULL) {
			refuse(q, 503, "out of memory for the body");
			return -1;
		}
		q->body_cap = p->content_length;
	}
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct httpreq *q = of(p);

	if (len > q->lim.max_body_bytes - q->body_len)
		return refuse(q, 413, "the body exceeds the limit of %u bytes",
			      q->lim.max_body_bytes);
	if (len > q->body_cap - q->body_len) {
		size_t cap = q->body_cap ? q->body_cap : 4096;
		uint8_t *nb;

		while (cap - q->body_len < len)
			cap *= 2;
		if (cap > q->lim.max_body_bytes)
			cap = q->lim.max_body_bytes;
		nb = realloc(q->body, cap);
		if (nb == NULL)
			return refuse(q, 503, "out of memory for the body");
		q->body = nb;
		q->body_cap = cap;
	}
	memcpy(q->body + q->body_len, at, len);
	q->body_len += len;
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	of(p)->complete = true;
	return HPE_PAUSED;
}

static void reset_request(struct httpreq *q)
{
	q->text_len = 0;
	q->header_bytes = 0;
	q->url_off = 0;
	q->path_off = 0;
	q->query_off = 0;
	q->nheaders = 0;
	q->name_off[0] = SIZE_MAX;
	free(q->body);
	q->body = NULL;
	q->body_len = 0;
	q->body_cap = 0;
	q->started = false;
	q->complete = false;
	q->keep_alive = false;
}

int httpreq_init(struct httpreq *q, const struct httpreq_limits *lim)
{
	memset(q, 0, sizeof(*q));
	q->lim = *lim;
	/* Every string of the request, their NULs, and the decoded path (not longer than the URL). */
	q->text_cap = 2 * (size_t)lim->max_header_bytes + 2 * HTTP_MAX_HEADERS + 8;
	q->text = malloc(q->text_cap);
	if (q->text == NULL)
		return PST_E_NOMEM;
	llhttp_settings_init(&q->settings);
	q->settings.on_message_begin = on_message_begin;
	q->settings.on_method = on_method;
	q->settings.on_url = on_url;
	q->settings.on_url_complete = on_url_complete;
	q->settings.on_version = on_version;
	q->settings.on_header_field = on_header_field;
	q->settings.on_header_field_complete = on_header_field_complete;
	q->settings.on_header_value = on_header_value;
	q->settings.on_header_value_complete = on_header_value_complete;
	q->settings.on_headers_complete = on_headers_complete;
	q->settings.on_body = on_body;
	q->settings.on_message_complete = on_message_complete;
	llhttp_init(&q->parser, HTTP_REQUEST, &q->settings);
	q->parser.data = q;
	reset_request(q);
	return 0;
}

void httpreq_cleanup(struct httpreq *q)
{
	free(q->text);
	free(q->body);
	q->text = NULL;
	q->body = NULL;
}

static void llhttp_refused(struct httpreq *q, llhttp_errno_t err)
{
	const char *reason = llhttp_get_error_reason(&q->parser);

	if (err == HPE_INVALID_VERSION)
		refuse(q, 505, "only HTTP/1.0 and HTTP/1.1 are served");
	else if (err == HPE_INVALID_METHOD)
		refuse(q, 400, "unknown request method");
	else
		refuse(q, 400, "malformed request: %s", reason ? reason : llhttp_errno_name(err));
}

enum httpreq_status httpreq_feed(struct httpreq *q, const uint8_t *data, size_t len,
				 size_t *used)
{
	llhttp_errno_t err;

	*used = 0;
	if (q->err_status != 0)
		return HTTPREQ_ERROR;
	if (q->complete)
		return HTTPREQ_DONE;
	if (len == 0)
		return HTTPREQ_MORE;
	q->started = true;
	err = llhttp_execute(&q->parser, (const char *)data, len);
	if (err == HPE_OK) {
		*used = len;
		return HTTPREQ_MORE;
	}
	if ((err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) && q->complete) {
		const char *pos = llhttp_get_error_pos(&q->parser);

		*used = pos != NULL ? (size_t)(pos - (const char *)data) : len;
		if (*used > len)
			*used = len;
		if (err == HPE_PAUSED_UPGRADE) {
			/* Protocol upgrades are not served; the connection ends after the answer. */
			q->keep_alive = false;
		}
		return HTTPREQ_DONE;
	}
	if (q->err_status == 0)
		llhttp_refused(q, err);
	return HTTPREQ_ERROR;
}

bool httpreq_started(const struct httpreq *q)
{
	return q->started;
}

int httpreq_error_status(const struct httpreq *q)
{
	return q->err_status;
}

const char *httpreq_error_message(const struct httpreq *q)
{
	return q->err_msg;
}

void httpreq_fill(const struct httpreq *q, struct http_request *r)
{
	r->method = llhttp_method_name((llhttp_method_t)q->parser.method);
	r->target = q->text + q->url_off;
	r->path = q->text + q->path_off;
	r->query = q->text + q->query_off;
	r->nheaders = q->nheaders;
	for (size_t i = 0; i < q->nheaders; i++)
		r->headers[i].name = header_at(q, i, &r->headers[i].value);
	r->body = q->body;
	r->body_len = q->body_len;
}

bool httpreq_keep_alive(const struct httpreq *q)
{
	return q->keep_alive;
}

void httpreq_next(struct httpreq *q)
{
	if (q->err_status != 0)
		return;
	reset_request(q);
	if (llhttp_get_errno(&q->parser) == HPE_PAUSED)
		llhttp_resume(&q->parser);
	else if (llhttp_get_errno(&q->parser) == HPE_PAUSED_UPGRADE)
		refuse(q, 400, "no request may follow a protocol upgrade");
}

/* --- helpers of http.h that need no server ---------------------------------- */

const char *http_header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/*
 * Decode a form-encoded component s[0..len) into out (cap bytes, with the
 * NUL).  0, PST_E_TOOBIG or PST_E_PARSE.
 */
static int form_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (len - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				return PST_E_PARSE;
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
			if (c == '\0')
				return PST_E_PARSE;
		}
		if (o + 1 >= cap)
			return PST_E_TOOBIG;
		out[o++] = c;
	}
	if (cap == 0)
		return PST_E_TOOBIG;
	out[o] = '\0';
	return 0;
}

const char *http_query_param(const struct http_request *r, const char *name, char *buf,
			     size_t size, int *err)
{
	const char *s = r->query ? r->query : "";
	int dummy;

	if (err == NULL)
		err = &dummy;
	*err = 0;
	while (*s) {
		const char *amp = strchr(s, '&');
		size_t plen = amp ? (size_t)(amp - s) : strlen(s);
		const char *eq = memchr(s, '=', plen);
		size_t klen = eq ? (size_t)(eq - s) : plen;
		char key[128];

		if (form_decode(s, klen, key, sizeof(key)) == 0 && strcmp(key, name) == 0) {
			const char *v = eq ? eq + 1 : s + plen;
			int rc = form_decode(v, (size_t)(s + plen - v), buf, size);

			if (rc != 0) {
				*err = rc;
				return NULL;
			}
			return buf;
		}
		s += plen;
		if (*s == '&')
			s++;
	}
	return NULL;
}
