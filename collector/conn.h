/*
 * conn.h - one agent connection: TLS through memory BIOs on a libuv TCP
 * stream, the frame reader, and the protocol state machine
 *
 *   CONN_HANDSHAKE  TLS handshake; the client certificate is required and
 *                   verified against the CA; its CN becomes the agent id
 *   CONN_HELLO      waiting for Hello (frames limited to max_hello_bytes)
 *   CONN_HELLO_WAIT Hello handed to the store thread; reading paused
 *   CONN_READY      Reports (acknowledged after commit), Heartbeats
 *
 * Any bad input (a frame that does not decode, one over the limit, a
 * message in the wrong state) is answered with an Error frame and closes
 * this connection only.  Reading pauses while this connection has too
 * many reports at the store, while the store as a whole is behind, or
 * while too many bytes wait to be written; it resumes below the marks.
 *
 * Memory is freed only when both handles have closed and every store
 * callback that names the connection has run.
 */
#ifndef POSTURE_CONN_H
#define POSTURE_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "frame.h"

struct server;

enum conn_state {
	CONN_HANDSHAKE,
	CONN_HELLO,
	CONN_HELLO_WAIT,
	CONN_READY,
};

struct conn {
	uv_tcp_t tcp;             /* first: handle->data is the conn */
	uv_timer_t timer;
	uv_shutdown_t shutdown_req;
	struct server *srv;
	struct conn *prev, *next;
	uint64_t id;
	SSL *ssl;
	BIO *rbio;                /* network -> TLS */
	BIO *wbio;                /* TLS -> network */
	struct frame_reader fr;
	enum conn_state state;
	char peer[64];            /* "127.0.0.1:40022" */
	char agent_id[128];       /* certificate CN, after the handshake */
	size_t pending;           /* reports at the store, not yet answered */
	size_t write_bytes;       /* queued in uv_write, not yet written */
	uint64_t last_acked;
	unsigned refs;            /* handles (1) + store callbacks outstanding */
	unsigned handles_open;
	bool reading;
	bool closing;             /* close started: nothing more is sent or read */
	bool draining;            /* collector stopping: finish what was received */
	uint8_t rbuf[16 * 1024];
};

/* Accept a pending connection on the server's listener and start its handshake. */
int conn_accept(struct server *srv);

/* Start closing (idempotent); why is logged. */
void conn_close(struct conn *c, const char *why);

/*
 * The collector is stopping: stop reading from the network, store and
 * acknowledge the reports already received, then close.
 */
void conn_drain(struct conn *c);

/* Re-evaluate whether c should read (after the store caught up). */
void conn_update_reading(struct conn *c);

#endif
