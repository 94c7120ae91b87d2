/*
 * evil.c - the malicious clients of the drip scenario, one of each kind in
 * turn: a half-open TLS handshake (the first bytes of a ClientHello, then
 * silence), a slow-loris (a ClientHello one byte a second), plain garbage
 * instead of TLS, and - through agent.c with a valid certificate, as a
 * compromised agent - a frame of random bytes and a header declaring a
 * 2 GiB frame.  Each counts whether the collector closed it or it gave up
 * after --evil-hold seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "loadgen.h"
#include "tls.h"

const char *const lg_evil_kind_name[5] = {
	"half_open_tls", "slow_loris", "plain_garbage", "garbage_frame", "oversized_frame",
};

struct evil {
	struct lg *lg;
	int kind;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_timer_t hold, drip;
	int open_handles;
	size_t sent;
	bool closing;
};

static uint8_t ebuf[4096];

int lg_evil_prepare(struct lg *lg)
{
	SSL *ssl = SSL_new(lg->ctx);
	BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
	struct pst_err e = {0};
	size_t n;

	if (ssl == NULL || r == NULL || w == NULL) {
		BIO_free(r);
		BIO_free(w);
		SSL_free(ssl);
		return -1;
	}
	SSL_set_bio(ssl, r, w);
	SSL_set_connect_state(ssl);
	tls_client_expect_host(ssl, lg->o.host, &e);
	SSL_do_handshake(ssl);
	n = BIO_ctrl_pending(w);
	lg->client_hello = malloc(n ? n : 1);
	if (lg->client_hello == NULL || n == 0) {
		SSL_free(ssl);
		return -1;
	}
	lg->client_hello_len = (size_t)BIO_read(w, lg->client_hello, (int)n);
	SSL_free(ssl);
	return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct evil *v = h->data;

	if (--v->open_handles == 0) {
		v->lg->evil_open--;
		free(v);
	}
}

static void evil_close(struct evil *v)
{
	if (v->closing)
		return;
	v->closing = true;
	uv_close((uv_handle_t *)&v->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&v->hold, on_handle_closed);
	uv_close((uv_handle_t *)&v->drip, on_handle_closed);
}

static void on_write(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

static void send_raw(struct evil *v, const uint8_t *p, size_t n)
{
	uv_write_t *w = malloc(sizeof(*w) + n);
	uv_buf_t b;

	if (w == NULL)
		return;
	memcpy(w + 1, p, n);
	b = uv_buf_init((char *)(w + 1), (unsigned)n);
	if (uv_write(w, (uv_stream_t *)&v->tcp, &b, 1, on_write) != 0)
		free(w);
}

static void on_hold(uv_timer_t *t)
{
	struct evil *v = t->data;

	v->lg->evil_gave_up[v->kind]++;
	evil_close(v);
}

static void on_drip(uv_timer_t *t)
{
	struct evil *v = t->data;

	if (v->sent < v->lg->client_hello_len) {
		send_raw(v, v->lg->client_hello + v->sent, 1);
		v->sent++;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = (char *)ebuf;
	b->len = sizeof(ebuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct evil *v = s->data;

	(void)b;
	if (nread < 0) {
		v->lg->evil_server_closed[v->kind]++;
		evil_close(v);
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct evil *v = req->data;

	if (v->closing)
		return;
	if (status < 0) {
		v->lg->evil_refused[v->kind]++;
		evil_close(v);
		return;
	}
	uv_read_start((uv_stream_t *)&v->tcp, on_alloc, on_read);
	uv_timer_start(&v->hold, on_hold, (uint64_t)(v->lg->o.evil_hold_s * 1000.0), 0);
	switch (v->kind) {
	case 0:
		send_raw(v, v->lg->client_hello,
			 v->lg->client_hello_len < 40 ? v->lg->client_hello_len : 40);
		break;
	case 1:
		uv_timer_start(&v->drip, on_drip, 0, 1000);
		break;
	case 2:
		if (getrandom(ebuf, sizeof(ebuf), 0) != (ssize_t)sizeof(ebuf))
			memset(ebuf, 0x41, sizeof(ebuf));
		send_raw(v, ebuf, sizeof(ebuf));
		break;
	}
}

static void start_tls_role(struct lg *lg, enum lg_role role)
{
	size_t i;
	int kind = role == LG_ROLE_GARBAGE ? 3 : 4;

	for (i = 0; i < lg->nevil_tls; i++) {
		struct lg_agent *a = &lg->evil_tls[i];
		if (a->state != LG_IDLE)
			continue;
		a->role = role;
		a->reconnect = false;
		lg->evil_started[kind]++;
		lg_agent_start(a);
		return;
	}
	lg->evil_refused[kind]++; /* pool exhausted: counted as not started */
}

void lg_evil_start(struct lg *lg)
{
	unsigned kind = lg->evil_next++ % 5;
	struct evil *v;

	if (kind == 3) {
		start_tls_role(lg, LG_ROLE_GARBAGE);
		return;
	}
	if (kind == 4) {
		start_tls_role(lg, LG_ROLE_OVERSIZE);
		return;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return;
	v->lg = lg;
	v->kind = (int)kind;
	uv_tcp_init(lg->loop, &v->tcp);
	uv_timer_init(lg->loop, &v->hold);
	uv_timer_init(lg->loop, &v->drip);
	v->tcp.data = v->hold.data = v->drip.data = v;
	v->creq.data = v;
	v->open_handles = 3;
	lg->evil_started[kind]++;
	if (++lg->evil_open > lg->evil_open_max)
		lg->evil_open_max = lg->evil_open;
	if (uv_tcp_connect(&v->creq, &v->tcp, (const struct sockaddr *)&lg->dst, on_connect) != 0) {
		lg->evil_refused[kind]++;
		evil_close(v);
	}
}
