/*
 * test_http.c - the HTTPS server live on 127.0.0.1: a loop in its own
 * thread runs three servers (general, room for four connections only,
 * a short request timeout), with a certificate made by pki_init at test
 * time, and clients speak to them with libcurl or with a raw OpenSSL
 * connection for bytes curl will not send.  The last test stops the
 * servers while a handler is still running and checks that its answer
 * still arrives.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "testutil.h"

#include "http.h"
#include "pki.h"
#include "tls.h"

struct fx {
	char *tmp;
	char ca[512], cert[512], key[512];
	SSL_CTX *sctx, *cctx;
	uv_loop_t loop;
	uv_async_t stop_async;
	pthread_t thread;
	struct http_server *a, *b, *c;
	uint16_t port_a, port_b, port_c;
	int done_calls;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool blocked, release, stop_called;
	struct http_stats stats_a, stats_b, stats_c; /* taken on the loop just before the stop */
};

static struct fx *F;

/* --- the handler ------------------------------------------------------------- */

static void handler(void *arg, const struct http_request *req, struct http_response *res)
{
	struct fx *f = arg;
	json_t *doc;

	if (strcmp(req->path, "/block") == 0) {
		pthread_mutex_lock(&f->mu);
		f->blocked = true;
		pthread_cond_broadcast(&f->cv);
		while (!f->release)
			pthread_cond_wait(&f->cv, &f->mu);
		pthread_mutex_unlock(&f->mu);
	}
	if (strcmp(req->path, "/missing") == 0) {
		http_response_error(res, 404, "not_found", "no such thing: %s", req->path);
		return;
	}
	doc = json_pack("{s:s,s:s,s:s,s:I,s:s?}", "method", req->method, "path", req->path,
			"query", req->query, "body_len", (json_int_t)req->body_len, "host",
			http_header(req, "host"));
	res->body = json_dumps(doc, JSON_COMPACT);
	res->body_len = strlen(res->body);
	json_decref(doc);
	if (strcmp(req->path, "/cached") == 0)
		http_response_header(res, "Cache-Control", "max-age=60");
}

/* --- the loop thread ------------------------------------------------------------- */

static void server_done(void *arg)
{
	struct fx *f = arg;

	if (++f->done_calls == 3)
		uv_close((uv_handle_t *)&f->stop_async, NULL);
}

static void on_stop(uv_async_t *h)
{
	struct fx *f = h->data;

	http_server_stats(f->a, &f->stats_a);
	http_server_stats(f->b, &f->stats_b);
	http_server_stats(f->c, &f->stats_c);
	http_server_stop(f->a, server_done, f);
	http_server_stop(f->b, server_done, f);
	http_server_stop(f->c, server_done, f);
	pthread_mutex_lock(&f->mu);
	f->stop_called = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void *loop_main(void *arg)
{
	struct fx *f = arg;

	uv_run(&f->loop, UV_RUN_DEFAULT);
	return NULL;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pki_init_opts o = {0};
	struct pst_err e = {0};
	struct http_limits la, lb, lc;
	char dir[256];

	assert_non_null(f);
	f->tmp = tu_mkdtemp();
	snprintf(dir, sizeof(dir), "%s/c", f->tmp);
	snprintf(f->ca, sizeof(f->ca), "%s/ca.crt", dir);
	snprintf(f->cert, sizeof(f->cert), "%s/collector.crt", dir);
	snprintf(f->key, sizeof(f->key), "%s/collector.key", dir);
	o.dir = dir;
	o.agent_listen = "127.0.0.1:1";
	o.api_listen = "127.0.0.1:2";
	o.collector_id = "test-collector";
	if (pki_init(&o, &e) != 0)
		fail_msg("init: %s", e.msg);
	if (tls_ctx_new_server(f->ca, f->cert, f->key, false, &f->sctx, &e) != 0)
		fail_msg("server context: %s", e.msg);
	if (tls_ctx_new_client(f->ca, NULL, NULL, &f->cctx, &e) != 0)
		fail_msg("client context: %s", e.msg);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_async_init(&f->loop, &f->stop_async, on_stop);
	f->stop_async.data = f;

	http_limits_defaults(&la);
	la.max_header_bytes = 1024;
	la.max_body_bytes = 256;
	la.max_requests_per_conn = 3;
	if (http_server_start(&f->loop, f->sctx, "127.0.0.1", 0, &la, handler, f, &f->a, &e) != 0)
		fail_msg("start a: %s", e.msg);
	http_limits_defaults(&lb);
	lb.max_connections = 4;
	if (http_server_start(&f->loop, f->sctx, "127.0.0.1", 0, &lb, handler, f, &f->b, &e) != 0)
		fail_msg("start b: %s", e.msg);
	/* Only for slow clients: under valgrind, curl can take longer than this. */
	http_limits_defaults(&lc);
	lc.request_timeout_ms = 300;
	if (http_server_start(&f->loop, f->sctx, "127.0.0.1", 0, &lc, handler, f, &f->c, &e) != 0)
		fail_msg("start c: %s", e.msg);
	f->port_c = http_server_port(f->c);
	f->port_a = http_server_port(f->a);
	f->port_b = http_server_port(f->b);
	assert_true(f->port_a != 0 && f->port_b != 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	assert_int_equal(pthread_create(&f->thread, NULL, loop_main, f), 0);
	F = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	/* test_stop_in_flight stopped the servers; the loop thread has ended. */
	assert_int_equal(uv_loop_close(&f->loop), 0);
	SSL_CTX_free(f->sctx);
	SSL_CTX_free(f->cctx);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	curl_global_cleanup();
	tu_rmrf(f->tmp);
	free(f->tmp);
	free(f);
	return 0;
}

/* --- clients --------------------------------------------------------------------- */

struct buf {
	char *data;
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *nd = realloc(b->data, b->len + size * n + 1);

	assert_non_null(nd);
	memcpy(nd + b->len, p, size * n);
	b->len += size * n;
	nd[b->len] = '\0';
	b->data = nd;
	return size * n;
}

static CURL *client(struct fx *f, struct buf *body, struct buf *head)
{
	CURL *c = curl_easy_init();

	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_CAINFO, f->ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, head);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	return c;
}

static void reset(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

static long perform(CURL *c, const char *url)
{
	long status = 0;
	CURLcode rc;

	curl_easy_setopt(c, CURLOPT_URL, url);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s: %s", url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static const char *url(uint16_t port, const char *path)
{
	static char u[4096];

	snprintf(u, sizeof(u), "https://127.0.0.1:%u%s", port, path);
	return u;
}

/* A TLS connection to port, handshake done; returns the socket and the SSL in *out. */
static int tls_connect(struct fx *f, uint16_t port, SSL **out)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 30};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	SSL *ssl;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ssl = SSL_new(f->cctx);
	assert_non_null(ssl);
	assert_int_equal(tls_client_expect_host(ssl, "127.0.0.1", NULL), 0);
	SSL_set_fd(ssl, fd);
	assert_int_equal(SSL_connect(ssl), 1);
	*out = ssl;
	return fd;
}

/* Read until the server closes; heap string. */
static char *read_all(SSL *ssl)
{
	struct buf b = {0};
	char chunk[4096];
	size_t n;

	while (SSL_read_ex(ssl, chunk, sizeof(chunk), &n) == 1)
		collect(chunk, 1, n, &b);
	if (b.data == NULL)
		b.data = strdup("");
	return b.data;
}

static void raw_close(SSL *ssl, int fd)
{
	SSL_free(ssl);
	close(fd);
}

/* Send raw bytes (several writes when parts has several), read until close. */
static char *exchange(struct fx *f, uint16_t port, const char *bytes, size_t len)
{
	SSL *ssl;
	int fd = tls_connect(f, port, &ssl);
	size_t w;
	char *out;

	if (len > 0)
		assert_int_equal(SSL_write_ex(ssl, bytes, len, &w), 1);
	out = read_all(ssl);
	raw_close(ssl, fd);
	return out;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* --- tests ----------------------------------------------------------------------- */

static void test_keepalive_get(void **state)
{
	struct fx *f = *state;
	struct buf body = {0}, head = {0};
	CURL *c = client(f, &body, &head);
	long conns = -1;

	assert_int_equal(perform(c, url(f->port_a, "/api/v1/summary?days=7")), 200);
	assert_non_null(strstr(body.data, "\"path\":\"/api/v1/summary\""));
	assert_non_null(strstr(body.data, "\"query\":\"days=7\""));
	assert_non_null(strstr(head.data, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(head.data, "Cache-Control: no-store\r\n"));
	assert_non_null(strstr(head.data, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(head.data, "Referrer-Policy: no-referrer\r\n"));
	assert_non_null(strstr(head.data, "Connection: keep-alive\r\n"));
	assert_non_null(strstr(head.data, "Date: "));
	reset(&body);
	reset(&head);
	/* The second request on the same connection; the handler's own Cache-Control wins. */
	assert_int_equal(perform(c, url(f->port_a, "/cached")), 200);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
	assert_int_equal(conns, 0);
	assert_non_null(strstr(head.data, "Cache-Control: max-age=60\r\n"));
	assert_null(strstr(head.data, "no-store"));
	reset(&body);
	reset(&head);
	/* max_requests_per_conn is 3: the third answer closes. */
	assert_int_equal(perform(c, url(f->port_a, "/missing")), 404);
	assert_string_equal(body.data,
			    "{\"error\":{\"code\":\"not_found\",\"message\":\"no such thing: /missing\"}}");
	assert_non_null(strstr(head.data, "Connection: close\r\n"));
	reset(&body);
	reset(&head);
	curl_easy_cleanup(c);
}

static void test_head_and_post(void **state)
{
	struct fx *f = *state;
	struct buf body = {0}, head = {0};
	CURL *c = client(f, &body, &head);
	static const char data[] = "{\"note\":\"hello\"}";

	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	assert_int_equal(perform(c, url(f->port_a, "/h")), 200);
	assert_null(body.data);
	assert_non_null(strstr(head.data, "Content-Length: "));
	assert_null(strstr(head.data, "Content-Length: 0\r\n"));
	reset(&head);
	curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	assert_int_equal(perform(c, url(f->port_a, "/p")), 200);
	assert_non_null(strstr(body.data, "\"method\":\"POST\""));
	assert_non_null(strstr(body.data, "\"body_len\":16"));
	reset(&body);
	reset(&head);
	curl_easy_cleanup(c);
}

static void test_limits(void **state)
{
	struct fx *f = *state;
	struct buf body = {0}, head = {0};
	CURL *c = client(f, &body, &head);
	struct curl_slist *hl = NULL;
	char big[2048], post[1000];

	memset(big, 'a', sizeof(big));
	memcpy(big, "X-Big: ", 7);
	big[sizeof(big) - 1] = '\0';
	hl = curl_slist_append(hl, big);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	assert_int_equal(perform(c, url(f->port_a, "/x")), 431);
	assert_non_null(strstr(body.data, "\"code\":\"headers_too_large\""));
	assert_non_null(strstr(head.data, "Connection: close\r\n"));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	reset(&body);
	reset(&head);

	memset(post, 'b', sizeof(post));
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)sizeof(post));
	assert_int_equal(perform(c, url(f->port_a, "/x")), 413);
	assert_non_null(strstr(body.data, "\"code\":\"body_too_large\""));
	reset(&body);
	reset(&head);
	curl_easy_cleanup(c);
}

static void test_raw(void **state)
{
	struct fx *f = *state;
	static const char two[] = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
				  "GET /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	static const char slow[] = "GET /slow HTTP/1.1\r\nHost: h\r\n";
	char *out;

	/* Two requests in one write: two answers, in order. */
	out = exchange(f, f->port_a, two, strlen(two));
	assert_int_equal(count(out, "HTTP/1.1 200 OK\r\n"), 2);
	assert_non_null(strstr(out, "/one"));
	assert_true(strstr(out, "/one") < strstr(out, "/two"));
	free(out);

	/* Half a request, then nothing: 408 once the request timeout (300 ms) passes. */
	out = exchange(f, f->port_c, slow, strlen(slow));
	assert_true(strncmp(out, "HTTP/1.1 408 ", 13) == 0);
	assert_non_null(strstr(out, "\"code\":\"request_timeout\""));
	free(out);

	out = exchange(f, f->port_a, "hello there\r\n\r\n", 15);
	assert_true(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
	assert_non_null(strstr(out, "\"code\":\"bad_request\""));
	free(out);

	out = exchange(f, f->port_a, "BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", 31);
	assert_true(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
	free(out);

	out = exchange(f, f->port_a, "GET /a/%2e%2e/b HTTP/1.1\r\nHost: h\r\n\r\n", 37);
	assert_true(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
	free(out);

	out = exchange(f, f->port_a, "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 27);
	assert_true(strncmp(out, "HTTP/1.1 505 ", 13) == 0);
	free(out);

	/* A TLS connection that never sends a request is closed quietly. */
	out = exchange(f, f->port_c, NULL, 0);
	assert_string_equal(out, "");
	free(out);
}

static void test_plain_http_on_tls(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(f->port_a)};
	struct timeval tv = {.tv_sec = 30};
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	char buf[256];
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	/* At most a TLS alert, never an HTTP answer; then the end. */
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		assert_null(strstr(buf, "HTTP/"));
	}
	assert_true(n == 0 || n == -1);
	close(fd);
}

static void test_connection_limit(void **state)
{
	struct fx *f = *state;
	SSL *held[4];
	int fds[4];
	char *out;

	for (int i = 0; i < 4; i++)
		fds[i] = tls_connect(f, f->port_b, &held[i]);
	out = exchange(f, f->port_b, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27);
	assert_true(strncmp(out, "HTTP/1.1 503 ", 13) == 0);
	free(out);
	for (int i = 0; i < 4; i++)
		raw_close(held[i], fds[i]);
}

static void *blocked_client(void *arg)
{
	struct fx *f = arg;
	struct buf body = {0}, head = {0};
	CURL *c = client(f, &body, &head);
	long *status = malloc(sizeof(*status));

	*status = perform(c, url(f->port_a, "/block"));
	if (body.data == NULL || strstr(body.data, "\"path\":\"/block\"") == NULL ||
	    strstr(head.data, "Connection: close\r\n") == NULL)
		*status = -1;
	reset(&body);
	reset(&head);
	curl_easy_cleanup(c);
	return status;
}

static void test_stop_in_flight(void **state)
{
	struct fx *f = *state;
	pthread_t t;
	void *ret;

	assert_int_equal(pthread_create(&t, NULL, blocked_client, f), 0);
	pthread_mutex_lock(&f->mu);
	while (!f->blocked)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
	/* Stop with the handler still running, then let it finish. */
	uv_async_send(&f->stop_async);
	pthread_mutex_lock(&f->mu);
	while (!f->stop_called)
		pthread_cond_wait(&f->cv, &f->mu);
	f->release = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal(*(long *)ret, 200);
	free(ret);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	assert_int_equal(f->done_calls, 3);
	assert_int_equal(f->stats_b.refused_full, 1);
	assert_int_equal(f->stats_b.responses_5xx, 1);
	assert_int_equal(f->stats_c.timeouts, 1);
	assert_int_equal(f->stats_c.responses_4xx, 1);
	assert_true(f->stats_a.tls_failed >= 1);
	assert_true(f->stats_a.requests >= 7);
	assert_true(f->stats_a.responses_4xx >= 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keepalive_get),
		cmocka_unit_test(test_head_and_post),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_plain_http_on_tls),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_stop_in_flight),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
