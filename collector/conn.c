/*
 * conn.c - one agent connection; see conn.h for the states.
 *
 * Bytes flow network -> uv read -> rbio -> SSL_read_ex -> frame reader ->
 * dispatch, and back dispatch -> SSL_write_ex -> wbio -> uv_write.  After
 * every SSL call the write BIO is flushed (flush_out), each chunk freed in
 * its write callback.  Store work goes to the ingest thread; its answers
 * come back on the loop through callbacks that hold a reference on the
 * connection, so a connection closed meanwhile is never touched after it
 * is freed.
 */
#include "conn.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "tlsbio.h"
#include "timefmt.h"

/* Queued write bytes above which reading pauses, and below which it resumes. */
#define CONN_WRITE_HIGH (1024u * 1024)
#define CONN_WRITE_LOW (256u * 1024)
/* How long a closing connection may take to flush its last frames. */
#define CONN_CLOSE_GRACE_MS 2000

static void conn_pump(struct conn *c);
static void conn_start_reading(struct conn *c);

static const char *who(const struct conn *c)
{
	return c->agent_id[0] ? c->agent_id : "(unauthenticated)";
}

static void maybe_free(struct conn *c)
{
	if (c->refs > 0)
		return;
	server_conn_gone(c->srv, c);
	SSL_free(c->ssl); /* frees both BIOs */
	frame_reader_cleanup(&c->fr);
	free(c);
}

static void unref(struct conn *c)
{
	c->refs--;
	maybe_free(c);
}

static void close_cb(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles_open == 0)
		unref(c);
}

static void close_handles(struct conn *c)
{
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	uv_close((uv_handle_t *)&c->tcp, close_cb);
	uv_close((uv_handle_t *)&c->timer, close_cb);
}

static void write_cb(uv_write_t *req, int status)
{
	size_t len;
	struct conn *c = tlsbio_write_done(req, &len);

	c->write_bytes -= len;
	if (status < 0 && status != UV_ECANCELED && !c->closing) {
		log_info("agent %s (%s): write failed: %s; closing", who(c), c->peer,
			 uv_strerror(status));
		conn_close(c, NULL);
		return;
	}
	if (!c->closing && c->write_bytes < CONN_WRITE_LOW)
		conn_update_reading(c);
}

/* Send whatever TLS has produced. */
static void flush_out(struct conn *c)
{
	int rc = tlsbio_flush(c->wbio, (uv_stream_t *)&c->tcp, c, write_cb, &c->write_bytes);

	if (rc == 0)
		return;
	if (rc == PST_E_NOMEM)
		log_error("agent %s (%s): out of memory sending; closing", who(c), c->peer);
	else if (!c->closing)
		log_info("agent %s (%s): write failed: %s; closing", who(c), c->peer, uv_strerror(rc));
	c->closing = true;
	close_handles(c);
}

static void send_frame(struct conn *c, uint8_t *frame, size_t len)
{
	size_t written;

	if (SSL_write_ex(c->ssl, frame, len, &written) != 1) {
		char detail[256];

		log_info("agent %s (%s): TLS write failed: %s; closing", who(c), c->peer,
			 tls_errors(detail, sizeof(detail)));
		free(frame);
		conn_close(c, NULL);
		return;
	}
	free(frame);
	flush_out(c);
}

/* Tell the peer what went wrong, then close. */
static void fail(struct conn *c, Posture__V1__Error__Code code, const char *msg)
{
	uint8_t *frame;
	size_t len;

	c->srv->stats.protocol_errors++;
	log_warn("agent %s (%s): %s; closing the connection", who(c), c->peer, msg);
	if (c->state != CONN_HANDSHAKE && session_frame_error(code, msg, &frame, &len) == 0)
		send_frame(c, frame, len);
	conn_close(c, NULL);
}

/*
 * The store being behind pauses only connections past Hello, the ones that
 * would submit reports: a connection still in its TLS handshake or before
 * its Hello adds nothing to the store's queue but a Hello, and pausing it
 * would run it into the handshake timeout.
 */
static bool should_pause(const struct conn *c)
{
	return c->state == CONN_HELLO_WAIT ||
	       c->pending >= c->srv->cfg->conn_max_pending ||
	       c->write_bytes >= CONN_WRITE_HIGH ||
	       (c->state == CONN_READY && server_store_behind(c->srv));
}

void conn_update_reading(struct conn *c)
{
	if (c->closing || c->draining)
		return;
	if (should_pause(c)) {
		if (c->reading) {
			uv_read_stop((uv_stream_t *)&c->tcp);
			c->reading = false;
			log_debug("agent %s (%s): reading paused (%zu reports at the store)",
				  who(c), c->peer, c->pending);
		}
		return;
	}
	if (!c->reading) {
		/* Frames received before the pause come first. */
		conn_pump(c);
		if (c->closing || should_pause(c))
			return;
		conn_start_reading(c);
	}
}

static void arm_timer(struct conn *c, uint64_t ms);

static void hello_cb(void *ctx, int status, uint64_t last_seq, const char *msg)
{
	struct conn *c = ctx;
	const struct collector_config *cfg = c->srv->cfg;
	uint8_t *frame;
	size_t len;

	if (c->closing) {
		unref(c);
		return;
	}
	if (status < 0) {
		log_error("agent %s (%s): cannot record its Hello: %s", who(c), c->peer,
			  msg ? msg : pst_strerror(status));
		fail(c, POSTURE__V1__ERROR__CODE__CODE_UNAVAILABLE,
		     "the collector cannot record this agent now; it will retry");
		unref(c);
		return;
	}
	if (session_frame_hello_ack(c->srv->collector_id, last_seq, cfg->heartbeat_interval_s,
				    cfg->max_frame_bytes, &frame, &len) != 0) {
		fail(c, POSTURE__V1__ERROR__CODE__CODE_INTERNAL, "cannot build HelloAck");
		unref(c);
		return;
	}
	c->state = CONN_READY;
	c->last_acked = last_seq;
	frame_reader_raise_max(&c->fr, cfg->max_frame_bytes);
	arm_timer(c, cfg->idle_timeout_ms);
	log_info("agent %s (%s): session open; %llu reports stored before", who(c), c->peer,
		 (unsigned long long)last_seq);
	send_frame(c, frame, len);
	unref(c);
	if (c->closing)
		return;
	if (c->draining)
		conn_drain(c);
	else
		conn_update_reading(c);
}

static void report_cb(void *ctx, uint64_t seq, int status)
{
	struct conn *c = ctx;
	struct server *srv = c->srv;
	uint8_t *frame;
	size_t len;

	c->pending--;
	if (!c->closing && status >= 0) {
		if (session_frame_ack(seq, &frame, &len) == 0) {
			if (seq > c->last_acked)
				c->last_acked = seq;
			srv->stats.acks++;
			send_frame(c, frame, len);
		} else {
			fail(c, POSTURE__V1__ERROR__CODE__CODE_INTERNAL, "cannot build Ack");
		}
	} else if (!c->closing && status == PST_E_INVAL) {
		char msg[160];

		snprintf(msg, sizeof(msg), "report %llu can never be stored (see the collector's "
			 "log); set it aside", (unsigned long long)seq);
		fail(c, POSTURE__V1__ERROR__CODE__CODE_MALFORMED, msg);
	} else if (!c->closing) {
		/* The store stopped before it could commit: no ack; the agent resends. */
		conn_close(c, "the store stopped before the report was committed");
	}
	if (!c->closing) {
		if (c->draining && c->pending == 0)
			conn_close(c, "collector stopping; every received report acknowledged");
		else
			conn_update_reading(c);
	}
	unref(c);
	server_store_progress(srv);
}

static void on_hello(struct conn *c, const Posture__V1__Hello *h)
{
	struct store_facts facts;
	struct pst_err e = {0};
	int rc;

	rc = session_hello_facts(h, &facts, &e);
	if (rc != 0) {
		fail(c,
		     h->protocol_version != SESSION_PROTOCOL_VERSION
			     ? POSTURE__V1__ERROR__CODE__CODE_VERSION
			     : POSTURE__V1__ERROR__CODE__CODE_MALFORMED,
		     e.msg);
		return;
	}
	c->state = CONN_HELLO_WAIT;
	c->refs++;
	/* The ingest takes the facts' strings, even when it refuses. */
	rc = ingest_hello(c->srv->ingest, c->agent_id, &facts, timefmt_now_us(), hello_cb, c);
	if (rc != 0) {
		c->refs--;
		fail(c, POSTURE__V1__ERROR__CODE__CODE_UNAVAILABLE,
		     "the collector is stopping; retry later");
		return;
	}
	conn_update_reading(c);
}

static void on_report(struct conn *c, const Posture__V1__Report *w, size_t wire_bytes)
{
	struct store_report *r;
	struct pst_err e = {0};
	int rc;

	rc = session_report_from_wire(w, c->agent_id, timefmt_now_us(), wire_bytes, &r, &e);
	if (rc != 0) {
		fail(c, POSTURE__V1__ERROR__CODE__CODE_MALFORMED, e.msg);
		return;
	}
	c->refs++;
	c->pending++;
	rc = ingest_submit(c->srv->ingest, r, report_cb, c);
	if (rc != 0) {
		c->refs--;
		c->pending--;
		fail(c, POSTURE__V1__ERROR__CODE__CODE_UNAVAILABLE,
		     "the collector is stopping; the report will be resent");
		return;
	}
	c->srv->stats.reports++;
	/* The queue grows here: this is where the high-water mark is first seen. */
	server_store_progress(c->srv);
	log_debug("agent %s: report %llu (%zu results) queued for the store", c->agent_id,
		  (unsigned long long)w->seq, (size_t)w->n_results);
}

static void on_heartbeat(struct conn *c)
{
	uint8_t *frame;
	size_t len;

	if (session_frame_heartbeat(timefmt_now_us(), c->last_acked, &frame, &len) == 0)
		send_frame(c, frame, len);
}

static const char *body_name(Posture__V1__Envelope__BodyCase k)
{
	switch (k) {
	case POSTURE__V1__ENVELOPE__BODY_HELLO: return "Hello";
	case POSTURE__V1__ENVELOPE__BODY_HELLO_ACK: return "HelloAck";
	case POSTURE__V1__ENVELOPE__BODY_REPORT: return "Report";
	case POSTURE__V1__ENVELOPE__BODY_ACK: return "Ack";
	case POSTURE__V1__ENVELOPE__BODY_HEARTBEAT: return "Heartbeat";
	case POSTURE__V1__ENVELOPE__BODY_POLICY_BUNDLE: return "PolicyBundle";
	case POSTURE__V1__ENVELOPE__BODY_ERROR: return "Error";
	default: return "an empty envelope";
	}
}

static void dispatch(struct conn *c, Posture__V1__Envelope *env)
{
	char msg[256];

	if (c->state == CONN_READY)
		arm_timer(c, c->srv->cfg->idle_timeout_ms);
	if (env->body_case == POSTURE__V1__ENVELOPE__BODY_ERROR) {
		log_warn("agent %s (%s): the agent reported error %d: %.200s; closing", who(c),
			 c->peer, (int)env->error->code,
			 env->error->message ? env->error->message : "");
		conn_close(c, NULL);
		return;
	}
	if (c->state == CONN_HELLO && env->body_case == POSTURE__V1__ENVELOPE__BODY_HELLO) {
		on_hello(c, env->hello);
		return;
	}
	if (c->state == CONN_READY && env->body_case == POSTURE__V1__ENVELOPE__BODY_REPORT) {
		on_report(c, env->report, frame_reader_last_size(&c->fr));
		return;
	}
	if (c->state == CONN_READY && env->body_case == POSTURE__V1__ENVELOPE__BODY_HEARTBEAT) {
		on_heartbeat(c);
		return;
	}
	snprintf(msg, sizeof(msg), "unexpected %s %s", body_name(env->body_case),
		 c->state == CONN_READY ? "after Hello" : "before Hello");
	fail(c, POSTURE__V1__ERROR__CODE__CODE_UNEXPECTED, msg);
}

static void frame_error(struct conn *c, int rc)
{
	char msg[160];

	if (rc == PST_E_TOOBIG) {
		snprintf(msg, sizeof(msg), "frame larger than the limit of %zu bytes", c->fr.max);
		fail(c, POSTURE__V1__ERROR__CODE__CODE_TOO_LARGE, msg);
	} else {
		snprintf(msg, sizeof(msg), "malformed frame: %s", pst_strerror(rc));
		fail(c, POSTURE__V1__ERROR__CODE__CODE_MALFORMED, msg);
	}
}

static void handshake_done(struct conn *c)
{
	struct pst_err e = {0};

	/* tls_peer_cn leaves agent_id empty on failure, so logs say "unauthenticated". */
	if (tls_peer_cn(c->ssl, c->agent_id, sizeof(c->agent_id), &e) != 0) {
		c->srv->stats.tls_failed++;
		log_warn("agent (%s): refused: %s", c->peer, e.msg);
		conn_close(c, NULL);
		return;
	}
	c->state = CONN_HELLO;
	log_debug("agent %s (%s): TLS established (%s, %s)", c->agent_id, c->peer,
		  SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
}

/* Move bytes from the read BIO through TLS and the frame reader to dispatch. */
static void conn_pump(struct conn *c)
{
	uint8_t buf[16 * 1024];
	Posture__V1__Envelope *env;
	size_t n;
	int rc;

	if (c->closing)
		return;
	if (c->state == CONN_HANDSHAKE) {
		rc = SSL_do_handshake(c->ssl);
		flush_out(c);
		if (rc != 1) {
			int err = SSL_get_error(c->ssl, rc);
			char detail[512];

			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				return;
			c->srv->stats.tls_failed++;
			log_warn("agent (%s): TLS handshake failed: %s; check that the agent's "
				 "certificate was issued by this collector's CA",
				 c->peer, tls_errors(detail, sizeof(detail)));
			conn_close(c, NULL);
			return;
		}
		handshake_done(c);
		if (c->closing)
			return;
	}
	while (!c->closing && (c->draining || !should_pause(c))) {
		rc = frame_reader_next(&c->fr, &env);
		if (rc != 0) {
			frame_error(c, rc);
			return;
		}
		if (env != NULL) {
			dispatch(c, env);
			frame_envelope_free(env);
			continue;
		}
		if (SSL_read_ex(c->ssl, buf, sizeof(buf), &n) == 1) {
			rc = frame_reader_feed(&c->fr, buf, n);
			if (rc != 0) {
				frame_error(c, rc);
				return;
			}
			continue;
		}
		rc = SSL_get_error(c->ssl, 0);
		if (rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE)
			break;
		if (rc == SSL_ERROR_ZERO_RETURN) {
			conn_close(c, "the agent closed the session");
		} else {
			char detail[256];

			log_info("agent %s (%s): TLS error: %s; closing", who(c), c->peer,
				 tls_errors(detail, sizeof(detail)));
			conn_close(c, NULL);
		}
		return;
	}
	flush_out(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	(void)buf;
	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_EOF)
			conn_close(c, c->state == CONN_HANDSHAKE ? "the peer left during the TLS "
							       "handshake" : "the agent disconnected");
		else
			conn_close(c, uv_strerror((int)nread));
		return;
	}
	if (BIO_write(c->rbio, c->rbuf, (int)nread) != (int)nread) {
		conn_close(c, "out of memory buffering TLS input");
		return;
	}
	conn_pump(c);
	if (!c->closing && should_pause(c) && !c->draining)
		conn_update_reading(c);
}

static void conn_start_reading(struct conn *c)
{
	int rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);

	if (rc != 0) {
		conn_close(c, uv_strerror(rc));
		return;
	}
	c->reading = true;
}

static void timer_cb(uv_timer_t *t)
{
	struct conn *c = t->data;

	if (c->closing) {
		/* The peer did not take our last frames in time. */
		close_handles(c);
		return;
	}
	switch (c->state) {
	case CONN_HANDSHAKE:
	case CONN_HELLO:
	case CONN_HELLO_WAIT:
		if (c->state != CONN_HELLO_WAIT) {
			c->srv->stats.protocol_errors++;
			conn_close(c, c->state == CONN_HANDSHAKE
					      ? "TLS handshake not finished within the handshake timeout"
					      : "no Hello within the handshake timeout");
		}
		break;
	case CONN_READY:
		if (c->pending > 0) {
			/* Waiting on the store is not idleness. */
			arm_timer(c, c->srv->cfg->idle_timeout_ms);
			break;
		}
		conn_close(c, "idle timeout: no frame within the configured idle time");
		break;
	}
}

static void arm_timer(struct conn *c, uint64_t ms)
{
	uv_timer_start(&c->timer, timer_cb, ms, 0);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;

	(void)status;
	close_handles(c);
}

void conn_close(struct conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	if (why != NULL)
		log_info("agent %s (%s): closing: %s", who(c), c->peer, why);
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
	if (c->state != CONN_HANDSHAKE && SSL_is_init_finished(c->ssl)) {
		ERR_clear_error();
		SSL_shutdown(c->ssl);
		flush_out(c);
	}
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	/* Let queued frames (an Error, the last Acks) reach the peer, within a grace period. */
	uv_timer_start(&c->timer, timer_cb, CONN_CLOSE_GRACE_MS, 0);
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, shutdown_cb) != 0)
		close_handles(c);
}

void conn_drain(struct conn *c)
{
	if (c->closing)
		return;
	if (c->state != CONN_READY && c->state != CONN_HELLO_WAIT) {
		conn_close(c, "collector stopping");
		return;
	}
	c->draining = true;
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
	if (c->state == CONN_HELLO_WAIT)
		return; /* hello_cb comes back here */
	conn_pump(c);
	if (!c->closing && c->pending == 0)
		conn_close(c, "collector stopping; every received report acknowledged");
}

int conn_accept(struct server *srv)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	int len = sizeof(ss), rc;

	if (c == NULL)
		return PST_E_NOMEM;
	c->srv = srv;
	c->id = ++srv->next_conn_id;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	c->refs = 1;
	frame_reader_init(&c->fr, srv->cfg->max_hello_bytes);
	/* Linked now, so that server_conn_gone always finds it. */
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	rc = uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp);
	if (rc != 0) {
		log_warn("agent listener: accept failed: %s", uv_strerror(rc));
		c->closing = true;
		close_handles(c);
		return 0;
	}
	snprintf(c->peer, sizeof(c->peer), "unknown peer");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		char ip[48];

		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

			uv_ip4_name(a, ip, sizeof(ip));
			snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(a->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

			uv_ip6_name(a, ip, sizeof(ip));
			snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip, ntohs(a->sin6_port));
		}
	}
	if (srv->stopping || srv->nconns > srv->cfg->max_connections) {
		srv->stats.refused_full++;
		log_warn("agent (%s): refused: %s", c->peer,
			 srv->stopping ? "collector stopping"
				       : "max_connections reached; raise limits.max_connections");
		c->closing = true;
		close_handles(c);
		return 0;
	}
	srv->stats.accepted++;
	uv_tcp_nodelay(&c->tcp, 1);
	if (tlsbio_session(srv->ssl_ctx, &c->ssl, &c->rbio, &c->wbio) != 0) {
		log_error("agent (%s): out of memory for TLS; closing", c->peer);
		c->closing = true;
		close_handles(c);
		return 0;
	}
	arm_timer(c, srv->cfg->handshake_timeout_ms);
	conn_start_reading(c);
	return 0;
}
