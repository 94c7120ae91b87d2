/*
 * http.h - the collector's HTTPS server: TLS (the collector's certificate)
 * through OpenSSL memory BIOs on libuv streams, requests parsed by llhttp,
 * on the same loop as the agent listener.  No request parsing of our own:
 * llhttp gives the method, the URL, the headers and the body; this file
 * enforces the limits and keep-alive, and hands each complete request to
 * a handler that runs on libuv's thread pool (so that a slow query never
 * stalls the agents' acknowledgements), then writes its response.
 *
 * Limits (config "api_limits"): header bytes (URL and every header
 * together), body bytes, requests per connection, a timeout for a whole
 * request to arrive (slow clients), an idle keep-alive timeout, maximum
 * connections.  Over a limit: 431 (headers), 413 (body), 408 (timeout),
 * 400 (llhttp refused the bytes), 505 (not HTTP/1.x), 503 (too many
 * connections); then the connection closes.  Pipelined requests are
 * answered one at a time, in order.
 */
#ifndef POSTURE_HTTP_H
#define POSTURE_HTTP_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"

#define HTTP_MAX_HEADERS 64

struct http_header {
	const char *name, *value; /* NUL-terminated; name as received */
};

/* A complete request, valid for the handler call only. */
struct http_request {
	const char *method;       /* "GET", "POST", ... (llhttp's name) */
	const char *target;       /* the request target as received: path and query */
	const char *path;         /* percent-decoded path, without the query; never
				     contains NUL, "//" or a "." or ".." segment (those
				     are refused with 400 before the handler) */
	const char *query;        /* raw query string after '?', or "" */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	const uint8_t *body;
	size_t body_len;
	char peer[64];            /* "127.0.0.1:54321" */
	bool peer_loopback;
	const char *peer_ip;      /* "127.0.0.1" */
};

/* Case-insensitive header lookup; NULL when absent. */
const char *http_header(const struct http_request *r, const char *name);

/*
 * Query parameter `name`, percent-decoded ('+' as space) into buf; returns
 * buf, or NULL when absent.  PST_E_TOOBIG via *err when it does not fit,
 * PST_E_PARSE on a bad escape or a NUL byte (err may be NULL).
 */
const char *http_query_param(const struct http_request *r, const char *name, char *buf,
			     size_t size, int *err);

/* The response a handler fills; http.c frees it after writing. */
struct http_response {
	int status;               /* 200 when the handler leaves it 0 */
	char content_type[96];    /* "application/json" when empty */
	char *body;               /* malloc'd; may be NULL */
	size_t body_len;
	/* Extra headers, "Name: value\r\n" each, malloc'd; may be NULL. */
	char *headers;
};

/* Set a JSON error body {"error": {"code": code, "message": msg}} and status. */
void http_response_error(struct http_response *res, int status, const char *code,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Append "name: value\r\n" to res->headers. */
int http_response_header(struct http_response *res, const char *name, const char *value);

/*
 * The handler: runs on a thread-pool thread, one call per request.  It
 * must not touch the loop.  arg is what http_server_start was given.
 */
typedef void (*http_handler)(void *arg, const struct http_request *req,
			     struct http_response *res);

struct http_limits {
	uint32_t max_header_bytes;     /* default 16384 */
	uint32_t max_body_bytes;       /* default 1 MiB */
	uint32_t request_timeout_ms;   /* a whole request must arrive within: 10000 */
	uint32_t keepalive_timeout_ms; /* idle between requests: 30000 */
	uint32_t handshake_timeout_ms; /* 10000 */
	uint32_t max_connections;      /* 256 */
	uint32_t max_requests_per_conn;/* 1000 */
};
void http_limits_defaults(struct http_limits *l);

struct http_server;

/*
 * Listen on host:port on loop with TLS context ctx (server side, not
 * requiring client certificates; borrowed, must outlive the server).
 */
int http_server_start(uv_loop_t *loop, SSL_CTX *ctx, const char *host, uint16_t port,
		      const struct http_limits *lim, http_handler handler, void *arg,
		      struct http_server **out, struct pst_err *e);

/*
 * Stop listening, let requests being handled finish and their responses
 * be written (within a grace period), close every connection, then call
 * done(arg) on the loop; the server is freed after done returns.
 */
void http_server_stop(struct http_server *s, void (*done)(void *arg), void *arg);

/* The port actually bound (for port 0 in tests). */
uint16_t http_server_port(const struct http_server *s);

struct http_stats {
	uint64_t connections, requests, responses_4xx, responses_5xx, tls_failed,
		refused_full, timeouts;
};
void http_server_stats(const struct http_server *s, struct http_stats *st);

#endif
