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
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "store.h"
#include "tls.h"

static void check_stopped(struct server *s);

bool server_store_behind(struct server *s)
{
	return s->store_behind;
}

void server_store_progress(struct server *s)
{
	size_t queued = ingest_queued_bytes(s->ingest);
	struct conn *c, *next;

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
}

static void check_stopped(struct server *s)
{
	if (!s->stopping || s->nconns > 0 || s->ingest_stopping)
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
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		conn_drain(c);
	}
	check_stopped(s);
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
		   struct pst_err *e)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res;
	char portstr[8];
	int rc;

	if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ||
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0)
		return pst_err_set(e, PST_E_INVAL, "agent_listen %s: cannot resolve: %s", host,
				   gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
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
	rc = resolve(cfg->agent_host, cfg->agent_port, &ss, e);
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
	uv_signal_init(&loop, &s->sigterm);
	uv_signal_init(&loop, &s->sigint);
	s->sigterm.data = s;
	s->sigint.data = s;
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	log_info("listening for agents on %s:%u (TLS, client certificates from %s); store %s",
		 cfg->agent_host, cfg->agent_port, cfg->ca_cert, cfg->store);

	uv_run(&loop, UV_RUN_DEFAULT);
	ingest_free(s->ingest);
	rc = 0;
out_handles:
	uv_walk(&loop, close_walk_cb, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
out_loop:
	SSL_CTX_free(s->ssl_ctx);
	if (uv_loop_close(&loop) != 0)
		log_warn("event loop closed with handles still open");
	free(s);
	return rc;
}
