/*
 * server.h - `posture-collector run`: one libuv loop holding the agent
 * listener, every agent connection (conn.c), the store thread (ingest.c)
 * and the signal handlers.  SIGTERM or SIGINT stops it cleanly: the
 * listener closes, each connection's reports already received are
 * committed and acknowledged, then connections close, then the store.
 * A second signal exits at once; nothing unacknowledged is lost, since
 * agents resend what was not acknowledged.
 *
 * The same loop serves the HTTPS API (http.h, api.h); a timer looks for
 * hosts gone stale on a thread-pool thread, another takes the scheduled
 * evidence snapshots there (evidence.h); alerts are delivered by their
 * own thread (alerts.h).
 */
#ifndef POSTURE_SERVER_H
#define POSTURE_SERVER_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "alerts.h"
#include "api.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "ingest.h"

struct conn;

struct server {
	uv_loop_t *loop;
	const struct collector_config *cfg;
	char collector_id[256];
	SSL_CTX *ssl_ctx;
	struct ingest *ingest;
	SSL_CTX *api_ctx;         /* the API's TLS: the same certificate, no client certificates */
	struct api *api;
	struct http_server *http; /* NULL once stopped */
	struct alerts *alerts;
	uv_timer_t live_timer;    /* publishes the loop's figures to the API */
	uv_timer_t stale_timer;   /* looks for hosts gone stale */
	uv_work_t stale_work;
	bool stale_busy;
	struct store *stale_store; /* the stale check's own handle, used off the loop */
	uv_timer_t evidence_timer; /* scheduled evidence snapshots (evidence.schedule_s) */
	uv_work_t evidence_work;
	bool evidence_busy;
	struct store *evidence_store; /* the schedule's own handle, used off the loop */
	int64_t started_us;
	uv_tcp_t listener;
	uv_signal_t sigterm, sigint;
	struct conn *conns;       /* every connection not yet freed */
	size_t nconns;
	uint64_t next_conn_id;
	bool stopping;            /* a signal came: no new connections */
	bool ingest_stopping;
	bool store_behind;        /* queued bytes above the high-water mark */
	int signals;
	struct {
		uint64_t accepted, refused_full, tls_failed, protocol_errors, reports, acks;
	} stats;
};

/* Run until stopped by a signal.  Returns 0 after a clean stop. */
int server_run(const struct collector_config *cfg, struct pst_err *e);

/* --- for conn.c --- */

/* A connection's memory is about to be freed: unlink it. */
void server_conn_gone(struct server *s, struct conn *c);

/*
 * The store finished some work: re-evaluate the high-water mark and let
 * paused connections read again when it is below the low one.
 */
void server_store_progress(struct server *s);

/* True while the store is behind and every connection should pause. */
bool server_store_behind(struct server *s);

#endif
