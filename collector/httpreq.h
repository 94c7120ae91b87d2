/*
 * httpreq.h - assembles one HTTP/1.x request at a time from the bytes a
 * client sent, with llhttp doing all the parsing, and decides what the
 * server must answer when the bytes are not an acceptable request.  No
 * I/O and no libuv: http.c feeds it decrypted bytes and gets back a
 * complete request or a status to answer with, and the same code runs
 * under the unit tests and the fuzzer.
 *
 * Limits: the method, target, version and every header name and value
 * together (plus four bytes a header for its separators) may not exceed
 * max_header_bytes (431), nor the count HTTP_MAX_HEADERS (431); a body
 * declared longer than max_body_bytes is refused before any of it is read,
 * a chunked one when it grows past the limit (413).  The target must be in
 * origin form ("/path?query"); its path is percent-decoded and refused
 * (400) when it holds an encoded '/', a NUL or control byte, an empty,
 * "." or ".." segment, or a malformed escape; the query's escapes are
 * checked too.  HTTP/1.1 requests need exactly one Host header.
 */
#ifndef POSTURE_HTTPREQ_H
#define POSTURE_HTTPREQ_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct httpreq_limits {
	uint32_t max_header_bytes;
	uint32_t max_body_bytes;
};

enum httpreq_status {
	HTTPREQ_MORE = 0, /* every byte taken; the request is not complete yet */
	HTTPREQ_DONE = 1, /* a complete request; bytes after *used are the next one's */
	HTTPREQ_ERROR = 2 /* answer httpreq_error_status() and close */
};

struct httpreq {
	llhttp_t parser;
	llhttp_settings_t settings;
	struct httpreq_limits lim;
	/* Strings of the request (method excepted), NUL-terminated, in one block. */
	char *text;
	size_t text_len, text_cap;
	size_t header_bytes;
	size_t url_off, path_off, query_off;
	size_t name_off[HTTP_MAX_HEADERS], value_off[HTTP_MAX_HEADERS];
	size_t nheaders;
	uint8_t *body;
	size_t body_len, body_cap;
	bool started;  /* some byte of this request has arrived */
	bool complete;
	bool keep_alive;
	int err_status; /* 0, or the status to answer */
	char err_msg[160];
};

/* Ready for the first request; PST_E_NOMEM. */
int httpreq_init(struct httpreq *q, const struct httpreq_limits *lim);
void httpreq_cleanup(struct httpreq *q);

/*
 * Parse data[0..len).  HTTPREQ_MORE: all of it was taken.  HTTPREQ_DONE:
 * the first *used bytes completed a request (httpreq_fill describes it);
 * call httpreq_next before feeding the rest.  HTTPREQ_ERROR: the request
 * is refused; *used is meaningless and the connection must close after
 * the answer.  Once DONE or ERROR, further feeds return the same.
 */
enum httpreq_status httpreq_feed(struct httpreq *q, const uint8_t *data, size_t len,
				 size_t *used);

/* Some byte of the current request has been fed (for the request timeout). */
bool httpreq_started(const struct httpreq *q);

/* The status (400, 413, 417, 431, 505, ...) and message for HTTPREQ_ERROR. */
int httpreq_error_status(const struct httpreq *q);
const char *httpreq_error_message(const struct httpreq *q);

/*
 * Describe the complete request in r (method, target, path, query,
 * headers, body; peer fields untouched), borrowing q's storage: valid
 * until httpreq_next or httpreq_cleanup.
 */
void httpreq_fill(const struct httpreq *q, struct http_request *r);

/* Whether the connection may carry another request after this one. */
bool httpreq_keep_alive(const struct httpreq *q);

/* Forget the complete request and get ready for the next one. */
void httpreq_next(struct httpreq *q);

/*
 * Percent-decode a request path (len bytes, no query) into out (cap
 * bytes, NUL-terminated).  0, PST_E_TOOBIG when it does not fit, or
 * PST_E_PARSE with a reason in *why when it is not an acceptable path:
 * not starting with '/', a malformed escape, an encoded '/', a NUL or
 * control byte, an empty, "." or ".." segment (a final '/' is allowed).
 */
int httpreq_decode_path(const char *in, size_t len, char *out, size_t cap, const char **why);

#endif
