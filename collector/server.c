/*
 * server.c - see server.h.  Start-up order matters: the TLS context and
 * the listening socket come first (a wrong key or a port in use is told
 * before anything is opened), then the store and its thread, then the
 * loop runs until a signal stops it.
 */
#include "server.h"

#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "conf.h"
#include "evidence.h"
#include "log.h"
#include "store.h"
#include "tls.h"
#include "timefmt.h"

static void check_stopped(struct server *s);

bool server_store_behind(struct server *s)
{
	return s->store_behind;
}

void server_store_progress(struct server *s)
{
	size_t queued = ingest_queued_bytes(s->ingest);
	struct conn *c, *next;

	/* A commit may have queued alerts (violations opened or resolved). */
	alerts_wake(s->alerts);

	if (s->store_behind && queued <= s->cfg->queue_max_bytes / 2) {
		s->store_behind = false;
		log_info("store caught up (%zu bytes queued); connections read again", queued);
		for (c = s->conns; c != NULL; c = next) {
			next = c->next;
			conn_update_reading(c);
		}
	} else if (!s->store_behind && queued >= s->cfg->queue_max_bytes) {
		s->store_behind = true;
		log_warn("store behind (%zu bytes queued, limit %llu); connections pause reading",
			 queued, (unsigned long long)s->cfg->queue_max_bytes);
	}
}

void server_conn_gone(struct server *s, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	check_stopped(s);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct server *s = listener->data;

	if (status < 0) {
		log_warn("agent listener: %s", uv_strerror(status));
		return;
	}
	if (conn_accept(s) != 0)
		log_error("agent listener: out of memory accepting a connection");
}

static void ingest_stopped(void *arg)
{
	struct server *s = arg;

	log_info("stopped: %llu connections, %llu reports received, %llu acknowledged, "
		 "%llu TLS failures, %llu protocol errors",
		 (unsigned long long)s->stats.accepted, (unsigned long long)s->stats.reports,
		 (unsigned long long)s->stats.acks, (unsigned long long)s->stats.tls_failed,
		 (unsigned long long)s->stats.protocol_errors);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->live_timer, NULL);
	uv_close((uv_handle_t *)&s->stale_timer, NULL);
	uv_close((uv_handle_t *)&s->evidence_timer, NULL);
}

static void http_stopped(void *arg)
{
	struct server *s = arg;

	s->http = NULL;
	check_stopped(s);
}

/* Publish what only the loop knows, for /metrics. */
static void live_cb(uv_timer_t *t)
{
	struct server *s = t->data;
	struct api_live l = {0};
	struct ingest_stats is;
	struct alerts_stats as = {0};

	ingest_get_stats(s->ingest, &is);
	if (s->alerts != NULL)
		alerts_get_stats(s->alerts, &as);
	l.agent_connections = s->nconns;
	l.agent_accepted = s->stats.accepted;
	l.agent_refused_full = s->stats.refused_full;
	l.agent_tls_failed = s->stats.tls_failed;
	l.agent_protocol_errors = s->stats.protocol_errors;
	l.reports_received = s->stats.reports;
	l.acks_sent = s->stats.acks;
	l.ingest_batches = is.batches;
	l.ingest_stored = is.stored;
	l.ingest_duplicates = is.duplicates;
	l.ingest_commit_failures = is.commit_failures;
	l.ingest_queued_bytes = ingest_queued_bytes(s->ingest);
	l.alerts_logged = as.logged;
	l.alerts_delivered = as.delivered;
	l.alerts_failed_attempts = as.failed_attempts;
	l.alerts_given_up = as.given_up;
	if (s->http != NULL)
		http_server_stats(s->http, &l.http);
	l.started_us = s->started_us;
	api_set_live(s->api, &l);
}

/* Off the loop: mark hosts gone stale, which queues their alerts. */
static void stale_work_cb(uv_work_t *w)
{
	struct server *s = w->data;
	struct store_view v = {
		.now_us = timefmt_now_us(),
		.stale_intervals = s->cfg->stale_intervals,
		.default_interval_s = s->cfg->default_interval_s,
	};
	struct pst_err e = {0};
	size_t n = 0;

	if (s->stale_store == NULL && store_open(s->cfg->store, &s->stale_store, &e) != 0) {
		log_error("stale hosts: cannot open the store: %s", e.msg);
		return;
	}
	if (store_mark_stale(s->stale_store, &v, &n, &e) != 0) {
		log_error("stale hosts: %s (tried again in %u s)", e.msg, s->cfg->stale_check_s);
		return;
	}
	if (n > 0) {
		log_warn("%zu host%s went stale (no report for %u scan intervals)", n,
			 n == 1 ? "" : "s", s->cfg->stale_intervals);
		alerts_wake(s->alerts);
	}
}

static void stale_done_cb(uv_work_t *w, int status)
{
	struct server *s = w->data;

	(void)status;
	s->stale_busy = false;
	check_stopped(s);
}

static void stale_cb(uv_timer_t *t)
{
	struct server *s = t->data;

	if (s->stale_busy || s->stopping)
		return;
	s->stale_work.data = s;
	if (uv_queue_work(s->loop, &s->stale_work, stale_work_cb, stale_done_cb) == 0)
		s->stale_busy = true;
}

/* Off the loop: a fleet-wide evidence snapshot, one log line either way. */
static void evidence_work_cb(uv_work_t *w)
{
	struct server *s = w->data;
	struct pst_err e = {0};
	json_t *meta = NULL;

	if (s->evidence_store == NULL &&
	    store_open(s->cfg->store, &s->evidence_store, &e) != 0) {
		log_error("scheduled evidence snapshot: cannot open the store: %s", e.msg);
		return;
	}
	if (evidence_take(api_evidence(s->api), s->evidence_store, timefmt_now_us(), NULL, NULL,
			  &meta, &e) != 0) {
		log_error("scheduled evidence snapshot failed (tried again in %u s): %s",
			  s->cfg->evidence_schedule_s, e.msg);
		return;
	}
	log_info("scheduled evidence snapshot %s taken: sha256 %s, %lld bytes",
		 json_string_value(json_object_get(meta, "id")),
		 json_string_value(json_object_get(meta, "sha256")),
		 (long long)json_integer_value(json_object_get(meta, "size")));
	json_decref(meta);
}

static void evidence_done_cb(uv_work_t *w, int status)
{
	struct server *s = w->data;

	(void)status;
	s->evidence_busy = false;
	check_stopped(s);
}

static void evidence_cb(uv_timer_t *t)
{
	struct server *s = t->data;

	if (s->evidence_busy || s->stopping)
		return;
	s->evidence_work.data = s;
	if (uv_queue_work(s->loop, &s->evidence_work, evidence_work_cb, evidence_done_cb) == 0)
		s->evidence_busy = true;
}

static void check_stopped(struct server *s)
{
	if (!s->stopping || s->nconns > 0 || s->http != NULL || s->stale_busy ||
	    s->evidence_busy || s->ingest_stopping)
		return;
	s->ingest_stopping = true;
	log_info("every connection closed; committing what the store holds");
	ingest_stop(s->ingest, ingest_stopped, s);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct server *s = h->data;
	struct conn *c, *next;

	if (++s->signals > 1) {
		/* Acknowledged reports are committed; unacknowledged ones will be resent. */
		log_warn("second signal (%s): exiting now", strsignal(signum));
		_exit(1);
	}
	log_info("%s: stopping; finishing the reports already received (signal again to "
		 "exit at once)", strsignal(signum));
	s->stopping = true;
	uv_close((uv_handle_t *)&s->listener, NULL);
	uv_timer_stop(&s->stale_timer);
	uv_timer_stop(&s->evidence_timer);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		conn_drain(c);
	}
	if (s->http != NULL)
		http_server_stop(s->http, http_stopped, s);
	check_stopped(s);
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void http_limits_from(const struct collector_config *cfg, struct http_limits *l)
{
	http_limits_defaults(l);
	l->max_header_bytes = cfg->api_max_header_bytes;
	l->max_body_bytes = cfg->api_max_body_bytes;
	l->request_timeout_ms = cfg->api_request_timeout_ms;
	l->keepalive_timeout_ms = cfg->api_keepalive_timeout_ms;
	l->handshake_timeout_ms = cfg->handshake_timeout_ms;
	l->max_connections = cfg->api_max_connections;
}

/* The API: its TLS context, the route handler, the listener; then alerts and timers. */
static int start_api(struct server *s, struct pst_err *e)
{
	const struct collector_config *cfg = s->cfg;
	struct http_limits lim;
	int rc;

	s->started_us = timefmt_now_us();
	rc = tls_ctx_new_server(cfg->ca_cert, cfg->cert, cfg->key, false, &s->api_ctx, e);
	if (rc != 0)
		return rc;
	/* Browsers and posturectl authenticate with tokens: ask for no certificate. */
	SSL_CTX_set_verify(s->api_ctx, SSL_VERIFY_NONE, NULL);
	if ((rc = api_new(cfg, s->collector_id, &s->api, e)) != 0)
		return rc;
	http_limits_from(cfg, &lim);
	rc = http_server_start(s->loop, s->api_ctx, cfg->api_host, cfg->api_port, &lim,
			       api_handle, s->api, &s->http, e);
	if (rc != 0) {
		pst_err_prefix(e, "api_listen %s:%u", cfg->api_host, cfg->api_port);
		return rc;
	}
	if ((rc = alerts_start(cfg, &s->alerts, e)) != 0)
		return rc;
	uv_timer_init(s->loop, &s->live_timer);
	uv_timer_init(s->loop, &s->stale_timer);
	s->live_timer.data = s;
	s->stale_timer.data = s;
	uv_timer_start(&s->live_timer, live_cb, 0, 1000);
	uv_timer_start(&s->stale_timer, stale_cb, 1000, (uint64_t)cfg->stale_check_s * 1000);
	uv_timer_init(s->loop, &s->evidence_timer);
	s->evidence_timer.data = s;
	if (cfg->evidence_schedule_s > 0) {
		uint64_t every = (uint64_t)cfg->evidence_schedule_s * 1000;

		uv_timer_start(&s->evidence_timer, evidence_cb, every, every);
		log_info("evidence snapshots every %u s (key id %s)", cfg->evidence_schedule_s,
			 evidence_key_id(api_evidence(s->api)));
	}
	log_info("API on https://%s:%u (%u webhook%s for alerts)", cfg->api_host,
		 http_server_port(s->http), (unsigned)cfg->nwebhooks, cfg->nwebhooks == 1 ? "" : "s");
	return 0;
}

int server_run(const struct collector_config *cfg, struct pst_err *e)
{
	struct server *s;
	struct store *st = NULL;
	struct sockaddr_storage ss;
	struct ingest_limits lim;
	uv_loop_t loop;
	int rc;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	rc = uv_loop_init(&loop);
	if (rc != 0) {
		free(s);
		return pst_err_set(e, PST_E_SYS, "event loop: %s", uv_strerror(rc));
	}
	signal(SIGPIPE, SIG_IGN);
	s->loop = &loop;
	s->cfg = cfg;
	if (cfg->collector_id != NULL)
		snprintf(s->collector_id, sizeof(s->collector_id), "%s", cfg->collector_id);
	else if (gethostname(s->collector_id, sizeof(s->collector_id) - 1) != 0)
		snprintf(s->collector_id, sizeof(s->collector_id), "posture-collector");

	rc = tls_ctx_new_server(cfg->ca_cert, cfg->cert, cfg->key, true, &s->ssl_ctx, e);
	if (rc != 0)
		goto out_loop;
	rc = conf_resolve_listen("agent_listen", cfg->agent_host, cfg->agent_port, &ss, e);
	if (rc != 0)
		goto out_loop;
	uv_tcp_init(&loop, &s->listener);
	s->listener.data = s;
	rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
	if (rc != 0) {
		rc = pst_err_set(e, PST_E_SYS,
				 "agent_listen %s:%u: cannot listen: %s; is another collector "
				 "running there?",
				 cfg->agent_host, cfg->agent_port, uv_strerror(rc));
		goto out_handles;
	}
	rc = store_open(cfg->store, &st, e);
	if (rc != 0)
		goto out_handles;
	lim.batch_max_reports = cfg->batch_max_reports;
	lim.batch_delay_ms = cfg->batch_delay_ms;
	rc = ingest_new(&loop, st, &lim, &s->ingest, e);
	if (rc != 0) {
		store_close(st);
		goto out_handles;
	}
	rc = start_api(s, e);
	if (rc != 0)
		goto out_ingest;
	uv_signal_init(&loop, &s->sigterm);
	uv_signal_init(&loop, &s->sigint);
	s->sigterm.data = s;
	s->sigint.data = s;
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	log_info("listening for agents on %s:%u (TLS, client certificates from %s); store %s",
		 cfg->agent_host, cfg->agent_port, cfg->ca_cert, cfg->store);

	uv_run(&loop, UV_RUN_DEFAULT);
	rc = 0;
out_ingest:
	if (rc != 0) {
		/* The API failed to start: stop the store thread before the loop closes. */
		s->stopping = true;
		/* The agent listener would keep the loop running for ever. */
		uv_close((uv_handle_t *)&s->listener, NULL);
		if (s->http != NULL)
			http_server_stop(s->http, http_stopped, s);
		ingest_stop(s->ingest, NULL, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	alerts_stop(s->alerts);
	ingest_free(s->ingest);
	store_close(s->stale_store);
	store_close(s->evidence_store);
	api_free(s->api);
out_handles:
	uv_walk(&loop, close_walk_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
out_loop:
	SSL_CTX_free(s->ssl_ctx);
	SSL_CTX_free(s->api_ctx);
	if (uv_loop_close(&loop) != 0)
		log_warn("event loop closed with handles still open");
	free(s);
	return rc;
}
