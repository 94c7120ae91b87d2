/*
 * agent.c - one simulated agent connection: TCP on libuv, TLS through two
 * OpenSSL memory BIOs (network -> rbio -> SSL_read_ex -> frame reader, and
 * SSL_write_ex -> wbio -> uv_write), the way collector/conn.c runs the
 * server side.  After the handshake an agent sends Hello, waits for
 * HelloAck, then sends Reports (one unacknowledged at a time, as the real
 * agent's spool does) and Heartbeats; an Ack closes the latency sample of
 * the report it covers.  The malicious roles of the drip scenario use the
 * same code up to the handshake and then send what a broken or hostile
 * authenticated client would.
 */
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "loadgen.h"
#include "tls.h"

static uint8_t rbuf[64 * 1024]; /* one loop thread: every read is consumed at once */

static void on_closed(uv_handle_t *h);

static bool counts(const struct lg_agent *a)
{
	return a->role == LG_ROLE_AGENT;
}

void lg_agent_close(struct lg_agent *a)
{
	if (a->state == LG_IDLE || a->state == LG_CLOSING)
		return;
	if (a->state == LG_READY && counts(a))
		a->lg->ready--;
	a->state = LG_CLOSING;
	uv_close((uv_handle_t *)&a->tcp, on_closed);
}

static void on_timer(uv_timer_t *t)
{
	struct lg_agent *a = t->data;

	if (a->state == LG_IDLE) {
		if (!a->lg->stopping && a->reconnect)
			lg_agent_start(a);
		return;
	}
	if (a->role != LG_ROLE_AGENT) {
		/* a malicious client held this long without the collector closing it */
		a->lg->evil_gave_up[a->role == LG_ROLE_GARBAGE ? 3 : 4]++;
		lg_agent_close(a);
		return;
	}
	if (a->state == LG_READY)
		lg_agent_send_report(a);
}

void lg_agent_schedule(struct lg_agent *a, double delay_s)
{
	uint64_t ms = delay_s <= 0 ? 0 : (uint64_t)(delay_s * 1000.0);
	uint64_t rep = 0;

	if (a->role == LG_ROLE_AGENT && a->state == LG_READY && a->lg->o.interval_s > 0 &&
	    strcmp(a->lg->o.scenario, "storm") != 0)
		rep = (uint64_t)(a->lg->o.interval_s * 1000.0);
	uv_timer_start(&a->timer, on_timer, ms, rep);
}

static void on_closed(uv_handle_t *h)
{
	struct lg_agent *a = h->data;
	struct lg *lg = a->lg;

	SSL_free(a->ssl); /* frees both BIOs */
	a->ssl = NULL;
	frame_reader_cleanup(&a->fr);
	if (a->counted)
		lg->held--;
	a->counted = false;
	a->conn_started = 0;
	a->pending_seq = 0;
	a->state = LG_IDLE;
	uv_timer_stop(&a->timer);
	if (a->role != LG_ROLE_AGENT && a->evil_server_closed)
		lg->evil_server_closed[a->role == LG_ROLE_GARBAGE ? 3 : 4]++;
	if (a->reconnect && !lg->stopping) {
		unsigned jitter;
		if (getrandom(&jitter, sizeof(jitter), 0) != sizeof(jitter))
			jitter = 0;
		a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : 250;
		if (a->backoff_ms > 4000)
			a->backoff_ms = 4000;
		uv_timer_start(&a->timer, on_timer, a->backoff_ms / 2 + jitter % (a->backoff_ms / 2 + 1), 0);
	}
}

static void on_write(uv_write_t *w, int status)
{
	struct lg_agent *a = w->data;

	free(w);
	if (status < 0 && status != UV_ECANCELED && a->state != LG_CLOSING &&
	    a->state != LG_IDLE) {
		if (counts(a))
			lg_stats_err(a->lg, LG_E_WRITE);
		else
			a->evil_server_closed = true;
		lg_agent_close(a);
	}
}

/* Move what TLS produced to the socket. */
static int flush(struct lg_agent *a)
{
	size_t pending;

	while ((pending = BIO_ctrl_pending(a->wbio)) > 0) {
		uv_write_t *w = malloc(sizeof(*w) + pending);
		uv_buf_t b;
		int n, rc;

		if (w == NULL)
			return -1;
		b.base = (char *)(w + 1);
		n = BIO_read(a->wbio, b.base, (int)pending);
		if (n <= 0) {
			free(w);
			return -1;
		}
		b.len = (size_t)n;
		w->data = a;
		if ((rc = uv_write(w, (uv_stream_t *)&a->tcp, &b, 1, on_write)) != 0) {
			free(w);
			return rc;
		}
	}
	return 0;
}

static int send_bytes(struct lg_agent *a, const void *p, size_t n)
{
	size_t written;

	if (SSL_write_ex(a->ssl, p, n, &written) != 1 || written != n)
		return -1;
	return flush(a);
}

void lg_agent_send_report(struct lg_agent *a)
{
	struct lg *lg = a->lg;
	size_t n;

	if (a->state != LG_READY || a->role != LG_ROLE_AGENT)
		return;
	if (a->pending_seq != 0) {
		lg->cur->skipped++;
		return;
	}
	n = lg_payload_report(&lg->pl, a->seq + 1, (uint32_t)a->idx);
	if (send_bytes(a, lg->pl.scratch, n) != 0) {
		lg_stats_err(lg, LG_E_WRITE);
		lg_agent_close(a);
		return;
	}
	a->seq++;
	a->pending_seq = a->seq;
	a->pending_at = lg_now(lg);
	a->last_send = a->pending_at;
	lg->cur->reports_sent++;
	lg->cur->bytes_sent += n;
}

void lg_agent_send_heartbeat(struct lg_agent *a)
{
	uint8_t buf[48];
	double now = lg_now(a->lg);
	size_t n;

	if (a->state != LG_READY || a->role != LG_ROLE_AGENT)
		return;
	n = lg_payload_heartbeat(buf, (int64_t)(now * 1e6), a->seq);
	if (send_bytes(a, buf, n) != 0) {
		lg_stats_err(a->lg, LG_E_WRITE);
		lg_agent_close(a);
		return;
	}
	a->last_send = now;
	a->lg->cur->heartbeats++;
}

static void dispatch(struct lg_agent *a, Posture__V1__Envelope *env)
{
	struct lg *lg = a->lg;
	double now = lg_now(lg);

	switch (env->body_case) {
	case POSTURE__V1__ENVELOPE__BODY_HELLO_ACK:
		if (a->state != LG_HELLO || a->role != LG_ROLE_AGENT)
			break;
		if (env->hello_ack->last_stored_seq > a->seq)
			a->seq = env->hello_ack->last_stored_seq;
		if (env->hello_ack->heartbeat_interval_s > 0)
			lg->hb_interval_s = env->hello_ack->heartbeat_interval_s;
		if (env->hello_ack->max_frame_bytes > 0 &&
		    lg->pl.rest_len + 96 > env->hello_ack->max_frame_bytes) {
			fprintf(stderr, "posture-loadgen: a report of %zu bytes exceeds the "
				"collector's max_frame_bytes %u; use fewer --checks\n",
				lg->pl.rest_len + 96, env->hello_ack->max_frame_bytes);
		}
		lg->cur->hellos_acked++;
		a->state = LG_READY;
		a->backoff_ms = 0;
		a->last_send = now;
		lg->ready++;
		lg_agent_on_ready(a);
		break;
	case POSTURE__V1__ENVELOPE__BODY_ACK:
		if (a->pending_seq != 0 && env->ack->seq >= a->pending_seq) {
			lg_lat_add(&lg->cur->lat, now - a->pending_at);
			lg->cur->reports_acked++;
			lg->cur->results_acked += lg->pl.nresults;
			a->pending_seq = 0;
			lg_agent_on_acked(a);
		}
		break;
	case POSTURE__V1__ENVELOPE__BODY_ERROR:
		if (counts(a)) {
			lg_stats_err(lg, LG_E_REMOTE);
			lg->cur->err_code[(unsigned)env->error->code & 7u]++;
		} else {
			a->evil_server_closed = true;
		}
		break;
	default:
		break;
	}
}

static void after_handshake(struct lg_agent *a)
{
	struct lg *lg = a->lg;
	double now = lg_now(lg);
	uint8_t junk[4 + 100];

	if (counts(a)) {
		lg->cur->handshakes++;
		if (lg->cur->hs_first == 0)
			lg->cur->hs_first = now;
		lg->cur->hs_last = now;
		lg_lat_add(&lg->cur->hs_lat, now - a->conn_started);
	}
	switch (a->role) {
	case LG_ROLE_AGENT:
		a->state = LG_HELLO;
		if (send_bytes(a, lg->pl.hello, lg->pl.hello_len) != 0) {
			lg_stats_err(lg, LG_E_WRITE);
			lg_agent_close(a);
		}
		return;
	case LG_ROLE_GARBAGE:
		junk[0] = 0;
		junk[1] = 0;
		junk[2] = 0;
		junk[3] = 100;
		if (getrandom(junk + 4, 100, 0) != 100)
			memset(junk + 4, 0xff, 100);
		break;
	case LG_ROLE_OVERSIZE:
		junk[0] = 0x7f;
		junk[1] = junk[2] = junk[3] = 0xff;
		memset(junk + 4, 0x0a, 100);
		break;
	}
	a->state = LG_READY;
	if (send_bytes(a, junk, sizeof(junk)) != 0)
		lg_agent_close(a);
}

static void pump(struct lg_agent *a)
{
	size_t n;
	int rc;

	if (a->state == LG_HANDSHAKE) {
		rc = SSL_do_handshake(a->ssl);
		if (rc != 1) {
			int err = SSL_get_error(a->ssl, rc);
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
				if (flush(a) != 0)
					lg_agent_close(a);
				return;
			}
			ERR_clear_error();
			if (counts(a))
				lg_stats_err(a->lg, LG_E_TLS);
			else
				a->evil_server_closed = true;
			flush(a);
			lg_agent_close(a);
			return;
		}
		after_handshake(a);
		if (a->state == LG_CLOSING || a->state == LG_IDLE)
			return;
	}
	for (;;) {
		if (SSL_read_ex(a->ssl, rbuf, sizeof(rbuf), &n) == 1) {
			Posture__V1__Envelope *env = NULL;

			if (frame_reader_feed(&a->fr, rbuf, n) != 0)
				goto bad_frame;
			while ((rc = frame_reader_next(&a->fr, &env)) == 0 && env != NULL) {
				dispatch(a, env);
				frame_envelope_free(env);
				env = NULL;
				if (a->state == LG_CLOSING || a->state == LG_IDLE)
					return;
			}
			if (rc != 0)
				goto bad_frame;
			continue;
		}
		rc = SSL_get_error(a->ssl, 0);
		if (rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE)
			break;
		ERR_clear_error();
		/* close_notify or a TLS alert: the collector ended the connection */
		if (counts(a)) {
			if (!a->lg->stopping)
				lg_stats_err(a->lg, LG_E_CLOSED);
		} else {
			a->evil_server_closed = true;
		}
		lg_agent_close(a);
		return;
	}
	if (flush(a) != 0)
		lg_agent_close(a);
	return;
bad_frame:
	if (counts(a))
		lg_stats_err(a->lg, LG_E_DECODE);
	lg_agent_close(a);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = (char *)rbuf;
	b->len = sizeof(rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct lg_agent *a = s->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (counts(a)) {
			if (!a->lg->stopping)
				lg_stats_err(a->lg, a->state == LG_HANDSHAKE ? LG_E_TLS : LG_E_CLOSED);
		} else {
			a->evil_server_closed = true;
		}
		lg_agent_close(a);
		return;
	}
	if (BIO_write(a->rbio, b->base, (int)nread) != (int)nread) {
		lg_agent_close(a);
		return;
	}
	pump(a);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct lg_agent *a = req->data;
	struct lg *lg = a->lg;
	struct pst_err e = {0};

	if (a->state != LG_CONNECTING)
		return;
	if (status < 0) {
		if (counts(a))
			lg_stats_err(lg, LG_E_CONNECT);
		lg_agent_close(a);
		return;
	}
	a->ssl = SSL_new(lg->ctx);
	a->rbio = BIO_new(BIO_s_mem());
	a->wbio = BIO_new(BIO_s_mem());
	if (a->ssl == NULL || a->rbio == NULL || a->wbio == NULL ||
	    SSL_use_certificate(a->ssl, a->cert) != 1 || SSL_use_PrivateKey(a->ssl, lg->key) != 1) {
		BIO_free(a->rbio);
		BIO_free(a->wbio);
		SSL_free(a->ssl);
		a->ssl = NULL;
		lg_stats_err(lg, LG_E_TLS);
		lg_agent_close(a);
		return;
	}
	BIO_set_mem_eof_return(a->rbio, -1);
	BIO_set_mem_eof_return(a->wbio, -1);
	SSL_set_bio(a->ssl, a->rbio, a->wbio);
	SSL_set_connect_state(a->ssl);
	if (tls_client_expect_host(a->ssl, lg->o.host, &e) != 0) {
		lg_stats_err(lg, LG_E_TLS);
		lg_agent_close(a);
		return;
	}
	frame_reader_init(&a->fr, FRAME_DEFAULT_MAX);
	a->state = LG_HANDSHAKE;
	if (counts(a)) {
		lg->cur->connects++;
		a->counted = true;
		if (++lg->held > lg->held_max)
			lg->held_max = lg->held;
	}
	if (a->role != LG_ROLE_AGENT)
		uv_timer_start(&a->timer, on_timer, (uint64_t)(lg->o.evil_hold_s * 1000.0), 0);
	uv_read_start((uv_stream_t *)&a->tcp, on_alloc, on_read);
	pump(a);
}

void lg_agent_start(struct lg_agent *a)
{
	struct lg *lg = a->lg;
	int rc;

	if (a->state != LG_IDLE)
		return;
	if (!a->timer_init) {
		uv_timer_init(lg->loop, &a->timer);
		a->timer.data = a;
		a->timer_init = true;
	}
	uv_tcp_init(lg->loop, &a->tcp);
	a->tcp.data = a;
	a->creq.data = a;
	a->state = LG_CONNECTING;
	a->evil_server_closed = false;
	a->conn_started = 0;
	uv_tcp_nodelay(&a->tcp, 1);
	if (lg->o.sources > 1) {
		struct sockaddr_in src;
		char ip[32];
		snprintf(ip, sizeof(ip), "127.0.0.%u", 1 + (unsigned)(a->idx % lg->o.sources));
		uv_ip4_addr(ip, 0, &src);
		uv_tcp_bind(&a->tcp, (const struct sockaddr *)&src, 0);
	}
	rc = uv_tcp_connect(&a->creq, &a->tcp, (const struct sockaddr *)&lg->dst, on_connect);
	if (rc != 0) {
		if (counts(a))
			lg_stats_err(lg, LG_E_CONNECT);
		lg_agent_close(a);
		return;
	}
	a->conn_started = lg_now(lg);
}
