/*
 * http.c - the HTTPS server of http.h.
 *
 * A connection goes HANDSHAKE -> WAIT (no byte of a request yet) -> READ
 * (part of a request arrived) -> HANDLING (the handler runs on the thread
 * pool; reading is paused) -> WAIT again after the response is queued, or
 * closing.  Bytes flow network -> uv read -> rbio -> SSL_read_ex -> inbuf
 * -> httpreq (llhttp), and a response goes SSL_write_ex -> wbio ->
 * uv_write, the write BIO flushed after every SSL call, each chunk freed
 * in its write callback.  Bytes of a pipelined request stay in inbuf (and
 * in TLS) until the response before them is queued.
 *
 * One timer a connection: the handshake timeout, then the request timeout
 * from the first byte of a request (408), the keep-alive timeout while
 * waiting (quiet close), and the grace period of a closing connection.
 * Memory is freed when both handles have been closed and no work item
 * holds the connection (refs), as in conn.c; the server is freed once its
 * own handles are closed and its last connection is gone.
 */
#include "http.h"

#include <jansson.h>
#include <netdb.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "httpreq.h"
#include "conf.h"
#include "log.h"
#include "tls.h"
#include "tlsbio.h"

/* Queued response bytes above which the next pipelined request waits. */
#define HTTP_WRITE_HIGH (1024u * 1024)
#define HTTP_WRITE_LOW (256u * 1024)
/* How long a closing connection may take to flush its last response. */
#define HTTP_CLOSE_GRACE_MS 2000
/* How long http_server_stop waits for handlers and their responses. */
#define HTTP_STOP_GRACE_MS 10000
/* Connections past max_connections still answered 503 (after TLS); beyond, closed at once. */
#define HTTP_REFUSE_SLOTS 16
#define HTTP_INBUF 16384

enum hstate { H_HANDSHAKE, H_WAIT, H_READ, H_HANDLING };

struct hconn {
	struct http_server *srv;
	struct hconn *prev, *next;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shutdown_req;
	uv_work_t work;
	SSL *ssl;
	BIO *rbio, *wbio;
	enum hstate state;
	int refs, handles_open;
	bool closing, reading, refuse, close_after, is_head;
	size_t write_bytes;
	uint32_t nrequests;
	struct httpreq q;
	struct http_request req;
	struct http_response res;
	uint8_t inbuf[HTTP_INBUF];
	size_t in_start, in_end;
	uint8_t rbuf[16384];
	char peer[64], peer_ip[48];
	bool loopback;
};

struct http_server {
	uv_loop_t *loop;
	SSL_CTX *ctx;
	uv_tcp_t listener;
	uv_timer_t stop_timer;
	struct http_limits lim;
	http_handler handler;
	void *arg;
	struct hconn *conns;
	size_t nconns, nserving;
	int handles_open;
	bool stopping, done_called, failed;
	void (*done)(void *);
	void *done_arg;
	uint16_t port;
	struct http_stats stats;
};

static void pump(struct hconn *c);
static void hconn_close(struct hconn *c, const char *why);
static void start_reading(struct hconn *c);
static void server_check_done(struct http_server *s);

/* --- responses ---------------------------------------------------------------- */

void http_limits_defaults(struct http_limits *l)
{
	l->max_header_bytes = 16384;
	l->max_body_bytes = 1024 * 1024;
	l->request_timeout_ms = 10000;
	l->keepalive_timeout_ms = 30000;
	l->handshake_timeout_ms = 10000;
	l->max_connections = 256;
	l->max_requests_per_conn = 1000;
}

void http_response_error(struct http_response *res, int status, const char *code,
			 const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *doc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
	res->status = status;
	snprintf(res->content_type, sizeof(res->content_type), "application/json");
	doc = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	if (doc != NULL) {
		res->body = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
	}
	if (res->body != NULL) {
		res->body_len = strlen(res->body);
	} else {
		/* Out of memory, or a message that is not UTF-8: a fixed body still says why. */
		static const char fallback[] = "{\"error\":{\"code\":\"internal\",\"message\":\"\"}}";

		res->body = strdup(fallback);
		res->body_len = res->body ? sizeof(fallback) - 1 : 0;
	}
}

static bool header_text_ok(const char *s, bool name)
{
	if (name && *s == '\0')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\r' || c == '\n' || c == '\0' || (name && (c <= ' ' || c == ':')))
			return false;
	}
	return true;
}

int http_response_header(struct http_response *res, const char *name, const char *value)
{
	size_t old = res->headers ? strlen(res->headers) : 0;
	size_t add = strlen(name) + strlen(value) + 4;
	char *h;

	if (!header_text_ok(name, true) || !header_text_ok(value, false))
		return PST_E_INVAL;
	h = realloc(res->headers, old + add + 1);
	if (h == NULL)
		return PST_E_NOMEM;
	snprintf(h + old, add + 1, "%s: %s\r\n", name, value);
	res->headers = h;
	return 0;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

static const char *error_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 408: return "request_timeout";
	case 413: return "body_too_large";
	case 417: return "expectation_failed";
	case 431: return "headers_too_large";
	case 503: return "unavailable";
	case 505: return "http_version";
	default: return "error";
	}
}

/* An IMF-fixdate, without the locale's help. */
static void http_date(char *buf, size_t cap)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

static bool has_header(const char *headers, const char *name)
{
	size_t n = strlen(name);
	const char *line = headers;

	while (line != NULL && *line) {
		if (strncasecmp(line, name, n) == 0 && line[n] == ':')
			return true;
		line = strstr(line, "\r\n");
		if (line != NULL)
			line += 2;
	}
	return false;
}

/* --- connection plumbing -------------------------------------------------------- */

static void maybe_free(struct hconn *c)
{
	struct http_server *s = c->srv;

	if (c->refs > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	if (!c->refuse)
		s->nserving--;
	SSL_free(c->ssl);
	httpreq_cleanup(&c->q);
	free(c->res.body);
	free(c->res.headers);
	free(c);
	server_check_done(s);
}

static void unref(struct hconn *c)
{
	c->refs--;
	maybe_free(c);
}

static void close_cb(uv_handle_t *h)
{
	struct hconn *c = h->data;

	if (--c->handles_open == 0)
		unref(c);
}

static void close_handles(struct hconn *c)
{
	c->closing = true;
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	uv_close((uv_handle_t *)&c->tcp, close_cb);
	uv_close((uv_handle_t *)&c->timer, close_cb);
}

static bool write_paused(const struct hconn *c)
{
	return c->write_bytes >= HTTP_WRITE_HIGH;
}

static void write_cb(uv_write_t *req, int status)
{
	size_t len;
	struct hconn *c = tlsbio_write_done(req, &len);
	bool was_paused = write_paused(c);

	c->write_bytes -= len;
	if (status < 0 && !c->closing) {
		log_debug("api (%s): write failed: %s; closing", c->peer, uv_strerror(status));
		close_handles(c);
		return;
	}
	if (was_paused && !c->closing && c->write_bytes < HTTP_WRITE_LOW &&
	    (c->state == H_WAIT || c->state == H_READ))
		pump(c);
}

static void flush_out(struct hconn *c)
{
	int rc = tlsbio_flush(c->wbio, (uv_stream_t *)&c->tcp, c, write_cb, &c->write_bytes);

	if (rc == 0)
		return;
	if (rc == PST_E_NOMEM)
		log_error("api (%s): out of memory sending; closing", c->peer);
	else
		log_debug("api (%s): write failed: %s; closing", c->peer, uv_strerror(rc));
	close_handles(c);
}

static int tls_send(struct hconn *c, const void *data, size_t len)
{
	size_t written;

	if (len == 0)
		return 0;
	if (SSL_write_ex(c->ssl, data, len, &written) != 1) {
		char detail[256];

		log_info("api (%s): TLS write failed: %s; closing", c->peer,
			 tls_errors(detail, sizeof(detail)));
		return PST_E_TLS;
	}
	return 0;
}

static void stop_reading(struct hconn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

static void timer_cb(uv_timer_t *t);

static void arm_timer(struct hconn *c, uint64_t ms)
{
	uv_timer_start(&c->timer, timer_cb, ms, 0);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	struct hconn *c = req->data;

	/* The peer has our last bytes; its own end of file (or the grace timer) closes. */
	if (status < 0)
		close_handles(c);
}

/*
 * Close after the queued bytes (and a TLS close_notify) reach the peer.
 * Reading goes on, discarding, until the peer closes or the grace period
 * ends: closing a socket with unread input sends a reset, which can
 * destroy the answer (a 413, say) before the client reads it.
 */
static void hconn_close(struct hconn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	if (why != NULL)
		log_debug("api (%s): closing: %s", c->peer, why);
	if (c->state != H_HANDSHAKE && SSL_is_init_finished(c->ssl)) {
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		flush_out(c);
	}
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	if (c->state == H_HANDLING)
		return; /* the work item's callback comes back to close the handles */
	arm_timer(c, HTTP_CLOSE_GRACE_MS);
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, shutdown_cb) != 0) {
		close_handles(c);
		return;
	}
	if (!c->reading)
		start_reading(c);
}

/* Write the response in c->res for a request (or a refusal), then free its parts. */
static void send_response(struct hconn *c, bool keep_alive)
{
	struct http_response *res = &c->res;
	char head[1024], date[64];
	const char *ctype = res->content_type[0] ? res->content_type : "application/json";
	int n, rc;

	if (res->status < 100 || res->status > 999)
		res->status = res->status == 0 ? 200 : 500;
	if (res->status >= 500)
		c->srv->stats.responses_5xx++;
	else if (res->status >= 400)
		c->srv->stats.responses_4xx++;
	http_date(date, sizeof(date));
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\n"
		     "Date: %s\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: %s\r\n"
		     "X-Content-Type-Options: nosniff\r\n"
		     "Referrer-Policy: no-referrer\r\n"
		     "Strict-Transport-Security: max-age=31536000\r\n"
		     "X-Frame-Options: DENY\r\n"
		     "%s%s",
		     res->status, reason_phrase(res->status), date, ctype, res->body_len,
		     keep_alive ? "keep-alive" : "close",
		     res->headers && has_header(res->headers, "cache-control")
			     ? ""
			     : "Cache-Control: no-store\r\n",
		     /* JSON is never a document to render; the dashboard sets its own. */
		     res->headers && has_header(res->headers, "content-security-policy")
			     ? ""
			     : "Content-Security-Policy: default-src 'none'; frame-ancestors "
			       "'none'\r\n");
	if (n < 0 || (size_t)n >= sizeof(head)) {
		log_error("api (%s): response head too long (content type \"%.40s\"); closing",
			  c->peer, ctype);
		rc = PST_E_TOOBIG;
	} else {
		rc = tls_send(c, head, (size_t)n);
	}
	if (rc == 0 && res->headers != NULL)
		rc = tls_send(c, res->headers, strlen(res->headers));
	if (rc == 0)
		rc = tls_send(c, "\r\n", 2);
	if (rc == 0 && !c->is_head && res->body != NULL)
		rc = tls_send(c, res->body, res->body_len);
	free(res->body);
	free(res->headers);
	memset(res, 0, sizeof(*res));
	flush_out(c);
	if (rc != 0)
		close_handles(c);
}

/* Answer a refused request (or connection) with status and close. */
static void refuse(struct hconn *c, int status, const char *msg)
{
	if (c->closing)
		return;
	log_info("api (%s): %d: %s; closing", c->peer, status, msg);
	c->is_head = false;
	http_response_error(&c->res, status, error_code(status), "%s", msg);
	send_response(c, false);
	hconn_close(c, NULL);
}

/* --- requests ------------------------------------------------------------------- */

static void work_cb(uv_work_t *w)
{
	struct hconn *c = w->data;

	c->srv->handler(c->srv->arg, &c->req, &c->res);
}

static void after_work_cb(uv_work_t *w, int status)
{
	struct hconn *c = w->data;
	struct http_server *s = c->srv;
	bool keep;

	(void)status;
	if (c->closing) {
		/* The stop's grace period ended while the handler ran. */
		c->state = H_WAIT;
		free(c->res.body);
		free(c->res.headers);
		memset(&c->res, 0, sizeof(c->res));
		close_handles(c);
		unref(c);
		return;
	}
	c->nrequests++;
	keep = httpreq_keep_alive(&c->q) && !s->stopping && !c->close_after &&
	       c->nrequests < s->lim.max_requests_per_conn;
	if (c->res.status == 0)
		c->res.status = 200;
	log_debug("api (%s): %s %s -> %d", c->peer, c->req.method, c->req.target, c->res.status);
	send_response(c, keep);
	httpreq_next(&c->q);
	c->state = H_WAIT;
	if (!c->closing) {
		if (!keep) {
			hconn_close(c, "not keep-alive");
		} else {
			arm_timer(c, s->lim.keepalive_timeout_ms);
			pump(c);
		}
	}
	unref(c);
}

static void dispatch(struct hconn *c)
{
	struct http_server *s = c->srv;
	int rc;

	s->stats.requests++;
	memset(&c->req, 0, sizeof(c->req));
	memset(&c->res, 0, sizeof(c->res));
	httpreq_fill(&c->q, &c->req);
	snprintf(c->req.peer, sizeof(c->req.peer), "%s", c->peer);
	c->req.peer_ip = c->peer_ip;
	c->req.peer_loopback = c->loopback;
	c->is_head = strcmp(c->req.method, "HEAD") == 0;
	c->state = H_HANDLING;
	stop_reading(c);
	uv_timer_stop(&c->timer);
	c->work.data = c;
	c->refs++;
	rc = uv_queue_work(s->loop, &c->work, work_cb, after_work_cb);
	if (rc != 0) {
		c->refs--;
		c->state = H_READ;
		refuse(c, 503, "cannot queue the request");
	}
}

/* Feed what inbuf holds to the request parser; true when the request is now complete or refused. */
static bool parse_buffered(struct hconn *c)
{
	size_t used;
	enum httpreq_status st;

	if (c->in_start == c->in_end)
		return false;
	if (c->state == H_WAIT) {
		c->state = H_READ;
		arm_timer(c, c->srv->lim.request_timeout_ms);
	}
	st = httpreq_feed(&c->q, c->inbuf + c->in_start, c->in_end - c->in_start, &used);
	switch (st) {
	case HTTPREQ_MORE:
		c->in_start = c->in_end = 0;
		return false;
	case HTTPREQ_DONE:
		c->in_start += used;
		if (c->in_start == c->in_end)
			c->in_start = c->in_end = 0;
		dispatch(c);
		return true;
	case HTTPREQ_ERROR:
	default:
		refuse(c, httpreq_error_status(&c->q), httpreq_error_message(&c->q));
		return true;
	}
}

static void handshake_done(struct hconn *c)
{
	struct http_server *s = c->srv;

	log_debug("api (%s): TLS established (%s, %s)", c->peer, SSL_get_version(c->ssl),
		  SSL_get_cipher_name(c->ssl));
	c->state = H_WAIT;
	if (c->refuse) {
		refuse(c, 503, "too many connections; retry later");
		return;
	}
	/* A client connects to send a request: the first one is due within the request timeout. */
	arm_timer(c, s->lim.request_timeout_ms);
}

/* Move bytes through TLS and the parser until a request is complete or input runs out. */
static void pump(struct hconn *c)
{
	size_t n;
	int rc;

	if (c->closing)
		return;
	if (c->state == H_HANDSHAKE) {
		ERR_clear_error();
		rc = SSL_do_handshake(c->ssl);
		flush_out(c);
		if (rc != 1) {
			int err = SSL_get_error(c->ssl, rc);
			char detail[512];

			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				return;
			c->srv->stats.tls_failed++;
			log_info("api (%s): TLS handshake failed: %s", c->peer,
				 tls_errors(detail, sizeof(detail)));
			c->closing = true;
			close_handles(c);
			return;
		}
		handshake_done(c);
		if (c->closing)
			return;
	}
	while (!c->closing && c->state != H_HANDLING) {
		if (parse_buffered(c))
			return;
		if (write_paused(c)) {
			stop_reading(c);
			return;
		}
		ERR_clear_error();
		if (SSL_read_ex(c->ssl, c->inbuf, sizeof(c->inbuf), &n) == 1) {
			c->in_start = 0;
			c->in_end = n;
			continue;
		}
		rc = SSL_get_error(c->ssl, 0);
		if (rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE)
			break;
		if (rc == SSL_ERROR_ZERO_RETURN) {
			hconn_close(c, "the client closed the session");
		} else {
			char detail[256];

			log_info("api (%s): TLS error: %s; closing", c->peer,
				 tls_errors(detail, sizeof(detail)));
			hconn_close(c, NULL);
		}
		return;
	}
	flush_out(c);
	if (!c->closing && c->state != H_HANDLING && !c->reading)
		start_reading(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct hconn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct hconn *c = st->data;

	(void)buf;
	if (nread == 0)
		return;
	if (nread < 0) {
		/* A half-sent request is abandoned; nothing useful can be answered. */
		stop_reading(c);
		if (c->state != H_HANDLING)
			close_handles(c);
		else
			c->closing = true;
		return;
	}
	if (c->closing)
		return; /* discarded: see hconn_close */
	if (BIO_write(c->rbio, c->rbuf, (int)nread) != (int)nread) {
		hconn_close(c, "out of memory buffering TLS input");
		return;
	}
	pump(c);
}

static void start_reading(struct hconn *c)
{
	int rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);

	if (rc != 0) {
		if (c->closing)
			close_handles(c);
		else
			hconn_close(c, uv_strerror(rc));
		return;
	}
	c->reading = true;
}

static void timer_cb(uv_timer_t *t)
{
	struct hconn *c = t->data;

	if (c->closing) {
		/* The peer did not take our last bytes in time. */
		close_handles(c);
		return;
	}
	switch (c->state) {
	case H_HANDSHAKE:
		c->srv->stats.timeouts++;
		log_info("api (%s): TLS handshake not finished within %u ms; closing", c->peer,
			 c->srv->lim.handshake_timeout_ms);
		close_handles(c);
		break;
	case H_WAIT:
		hconn_close(c, "idle");
		break;
	case H_READ:
		c->srv->stats.timeouts++;
		refuse(c, 408, "the request did not arrive within the request timeout");
		break;
	case H_HANDLING:
		break;
	}
}

/* --- the server ------------------------------------------------------------------ */

static void peer_name(struct hconn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	snprintf(c->peer, sizeof(c->peer), "unknown peer");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		uv_ip4_name(a, c->peer_ip, sizeof(c->peer_ip));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", c->peer_ip, ntohs(a->sin_port));
		c->loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		uv_ip6_name(a, c->peer_ip, sizeof(c->peer_ip));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", c->peer_ip, ntohs(a->sin6_port));
		c->loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	}
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct http_server *s = listener->data;
	struct httpreq_limits ql = {s->lim.max_header_bytes, s->lim.max_body_bytes};
	struct hconn *c;

	if (status < 0) {
		log_warn("api listener: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || httpreq_init(&c->q, &ql) != 0) {
		uv_tcp_t *tmp;

		free(c);
		log_error("api listener: out of memory accepting a connection");
		/* Accept and drop it, or libuv calls again at once. */
		tmp = malloc(sizeof(*tmp));
		if (tmp != NULL) {
			uv_tcp_init(s->loop, tmp);
			(void)uv_accept(listener, (uv_stream_t *)tmp);
			uv_close((uv_handle_t *)tmp, free_handle);
		}
		return;
	}
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	c->refs = 1;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->nserving++;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
		close_handles(c);
		return;
	}
	peer_name(c);
	s->stats.connections++;
	if (s->nserving > s->lim.max_connections) {
		s->nserving--;
		c->refuse = true;
		s->stats.refused_full++;
		if (s->nconns - s->nserving > HTTP_REFUSE_SLOTS) {
			log_warn("api (%s): refused before TLS: max_connections (%u) reached",
				 c->peer, s->lim.max_connections);
			close_handles(c);
			return;
		}
		log_warn("api (%s): max_connections (%u) reached; answering 503", c->peer,
			 s->lim.max_connections);
	}
	uv_tcp_nodelay(&c->tcp, 1);
	if (tlsbio_session(s->ctx, &c->ssl, &c->rbio, &c->wbio) != 0) {
		log_error("api (%s): out of memory for TLS; closing", c->peer);
		close_handles(c);
		return;
	}
	SSL_set_min_proto_version(c->ssl, TLS1_2_VERSION);
	c->state = H_HANDSHAKE;
	arm_timer(c, s->lim.handshake_timeout_ms);
	start_reading(c);
}

static void server_handle_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;

	s->handles_open--;
	server_check_done(s);
}

static void server_check_done(struct http_server *s)
{
	if (!s->stopping || s->nconns > 0)
		return;
	if (!uv_is_closing((uv_handle_t *)&s->stop_timer)) {
		uv_close((uv_handle_t *)&s->stop_timer, server_handle_closed);
		return;
	}
	if (s->handles_open > 0 || s->done_called)
		return;
	s->done_called = true;
	if (!s->failed)
		log_info("api stopped: %llu connections, %llu requests, %llu 4xx, %llu 5xx, "
			 "%llu TLS failures, %llu refused (full), %llu timeouts",
			 (unsigned long long)s->stats.connections, (unsigned long long)s->stats.requests,
			 (unsigned long long)s->stats.responses_4xx,
			 (unsigned long long)s->stats.responses_5xx,
			 (unsigned long long)s->stats.tls_failed,
			 (unsigned long long)s->stats.refused_full, (unsigned long long)s->stats.timeouts);
	if (s->done != NULL)
		s->done(s->done_arg);
	free(s);
}

int http_server_start(uv_loop_t *loop, SSL_CTX *ctx, const char *host, uint16_t port,
		      const struct http_limits *lim, http_handler handler, void *arg,
		      struct http_server **out, struct pst_err *e)
{
	struct http_server *s;
	struct sockaddr_storage ss;
	int len = sizeof(ss), rc;

	*out = NULL;
	if (lim->max_connections == 0 || lim->max_requests_per_conn == 0 ||
	    lim->max_header_bytes < 256 || handler == NULL)
		return pst_err_set(e, PST_E_INVAL, "api_listen %s:%u: invalid limits", host, port);
	rc = conf_resolve_listen("api_listen", host, port, &ss, e);
	if (rc != 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	s->loop = loop;
	s->ctx = ctx;
	s->lim = *lim;
	s->handler = handler;
	s->arg = arg;
	uv_tcp_init(loop, &s->listener);
	uv_timer_init(loop, &s->stop_timer);
	s->listener.data = s;
	s->stop_timer.data = s;
	s->handles_open = 2;
	rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
	if (rc == 0)
		rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
	if (rc != 0) {
		rc = pst_err_set(e, PST_E_SYS,
				 "api_listen %s:%u: cannot listen: %s; is another collector "
				 "running there?",
				 host, port, uv_strerror(rc));
		/* Both handles live in s: it is freed in their close callbacks, on the loop. */
		s->stopping = true;
		s->failed = true;
		uv_close((uv_handle_t *)&s->listener, server_handle_closed);
		uv_close((uv_handle_t *)&s->stop_timer, server_handle_closed);
		return rc;
	}
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	log_info("API listening on %s:%u (HTTPS)", host, s->port);
	*out = s;
	return 0;
}

static void stop_timer_cb(uv_timer_t *t)
{
	struct http_server *s = t->data;
	struct hconn *c, *next;

	log_warn("api: stop grace period over; closing %zu connections", s->nconns);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		c->closing = true;
		if (c->state != H_HANDLING)
			close_handles(c);
		/* A running handler cannot be stopped; its callback closes the connection. */
	}
}

void http_server_stop(struct http_server *s, void (*done)(void *arg), void *arg)
{
	struct hconn *c, *next;

	if (s->stopping)
		return;
	s->stopping = true;
	s->done = done;
	s->done_arg = arg;
	uv_close((uv_handle_t *)&s->listener, server_handle_closed);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == H_HANDLING)
			c->close_after = true; /* answered with Connection: close, then closed */
		else
			hconn_close(c, "server stopping");
	}
	uv_timer_start(&s->stop_timer, stop_timer_cb, HTTP_STOP_GRACE_MS, 0);
	server_check_done(s);
}

uint16_t http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_stats(const struct http_server *s, struct http_stats *st)
{
	*st = s->stats;
}
