/*
 * test_uplink.c - the agent's uplink against a real TLS peer.
 *
 * The peer is a small collector stand-in in a thread: an OpenSSL server on
 * 127.0.0.1 with certificates made at test time (a CA, a server
 * certificate for IP 127.0.0.1, an agent certificate, and a second CA with
 * its own server certificate), speaking the protocol as the collector
 * does: it checks Hello, answers HelloAck, stores and acknowledges
 * reports in order, answers heartbeats, and can be told to misbehave.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentconf.h"
#include "daemon.h"
#include "frame.h"
#include "log.h"
#include "spool.h"
#include "testutil.h"
#include "tls.h"
#include "uplink.h"

#define MAX_SEEN 64

/* --- certificates ---------------------------------------------------------- */

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed CA). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       const char *san)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints,
		issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
	add_ext(x, issuer ? issuer : x, NID_key_usage,
		issuer ? "critical,digitalSignature" : "critical,keyCertSign,cRLSign");
	if (san != NULL)
		add_ext(x, issuer, NID_subject_alt_name, san);
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void write_cert(const char *dir, const char *name, X509 *x)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
}

static void write_key(const char *dir, const char *name, EVP_PKEY *k)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

/*
 * ca.crt, server.{crt,key}, agent.{crt,key}; and from another CA,
 * other-ca.crt, other-server.{crt,key}, other-agent.{crt,key}.
 */
static void make_pki(const char *dir)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256"),
		 *agent_key = EVP_EC_gen("P-256"), *oca_key = EVP_EC_gen("P-256"),
		 *osrv_key = EVP_EC_gen("P-256"), *oagent_key = EVP_EC_gen("P-256");
	X509 *ca, *srv, *agent, *oca, *osrv, *oagent;

	assert_non_null(ca_key);
	assert_non_null(osrv_key);
	ca = make_cert(ca_key, "posture test CA", NULL, NULL, NULL);
	srv = make_cert(srv_key, "collector", ca, ca_key, "IP:127.0.0.1");
	agent = make_cert(agent_key, "agent-1", ca, ca_key, NULL);
	oca = make_cert(oca_key, "some other CA", NULL, NULL, NULL);
	osrv = make_cert(osrv_key, "impostor", oca, oca_key, "IP:127.0.0.1");
	write_cert(dir, "ca.crt", ca);
	write_cert(dir, "server.crt", srv);
	write_key(dir, "server.key", srv_key);
	write_cert(dir, "agent.crt", agent);
	write_key(dir, "agent.key", agent_key);
	write_cert(dir, "other-ca.crt", oca);
	write_cert(dir, "other-server.crt", osrv);
	write_key(dir, "other-server.key", osrv_key);
	oagent = make_cert(oagent_key, "agent-1", oca, oca_key, NULL);
	write_cert(dir, "other-agent.crt", oagent);
	write_key(dir, "other-agent.key", oagent_key);
	X509_free(oagent);
	EVP_PKEY_free(oagent_key);
	X509_free(ca), X509_free(srv), X509_free(agent), X509_free(oca), X509_free(osrv);
	EVP_PKEY_free(ca_key), EVP_PKEY_free(srv_key), EVP_PKEY_free(agent_key);
	EVP_PKEY_free(oca_key), EVP_PKEY_free(osrv_key);
}

/* --- the collector stand-in -------------------------------------------------- */

enum peer_mode {
	PEER_NORMAL,
	PEER_ERROR_ON_HELLO,  /* answer Hello with Error{UNAVAILABLE} and close */
	PEER_DROP,            /* on the first connection, ack drop_after reports, then hang up */
	PEER_SILENT,          /* after HelloAck, read but never answer */
};

struct peer {
	/* set by the test */
	enum peer_mode mode;
	int conns;                 /* connections to serve */
	uint64_t stored;           /* last_stored_seq in the first HelloAck */
	uint32_t hb_s;             /* heartbeat_interval_s in HelloAck */
	uint32_t max_frame;        /* max_frame_bytes in HelloAck; 0: the default */
	int drop_after;
	bool other_ca;             /* present the other CA's certificate */
	const char *dir;
	/* run */
	int lfd;
	uint16_t port;
	pthread_t thread;
	/* seen, per connection */
	uint64_t seen[4][MAX_SEEN];
	size_t results[4][MAX_SEEN]; /* checks in each report */
	int nseen[4];
	uint64_t hello_acked[4];
	uint32_t hello_version[4];
	char hello_root[4][256];      /* HostFacts.root of the Hello */
	char peer_cn[4][64];
	int heartbeats[4];
	bool clean_close[4];
	int handshakes_failed;
};

/* Blocking read of one frame; NULL at end of stream (*clean: close_notify). */
static Posture__V1__Envelope *peer_read(SSL *ssl, struct frame_reader *rd, bool *clean)
{
	Posture__V1__Envelope *env;
	uint8_t buf[4096];
	size_t got;

	for (;;) {
		if (frame_reader_next(rd, &env) != 0)
			return NULL;
		if (env != NULL)
			return env;
		if (SSL_read_ex(ssl, buf, sizeof(buf), &got) != 1) {
			*clean = SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN;
			return NULL;
		}
		if (frame_reader_feed(rd, buf, got) != 0)
			return NULL;
	}
}

static void peer_send(SSL *ssl, const Posture__V1__Envelope *env)
{
	uint8_t *frame;
	size_t len, done;

	if (frame_encode(env, FRAME_DEFAULT_MAX, &frame, &len) != 0)
		return;
	(void)SSL_write_ex(ssl, frame, len, &done);
	free(frame);
}

static void peer_conn(struct peer *p, SSL *ssl, int k)
{
	Posture__V1__Envelope *in, out = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__HelloAck ha = POSTURE__V1__HELLO_ACK__INIT;
	Posture__V1__Ack ack = POSTURE__V1__ACK__INIT;
	Posture__V1__Heartbeat hb = POSTURE__V1__HEARTBEAT__INIT;
	Posture__V1__Error er = POSTURE__V1__ERROR__INIT;
	struct frame_reader rd;
	bool clean = false;
	int reports = 0;

	frame_reader_init(&rd, FRAME_DEFAULT_MAX);
	tls_peer_cn(ssl, p->peer_cn[k], sizeof(p->peer_cn[k]), NULL);
	in = peer_read(ssl, &rd, &clean);
	if (in == NULL || in->body_case != POSTURE__V1__ENVELOPE__BODY_HELLO)
		goto out;
	p->hello_acked[k] = in->hello->last_acked_seq;
	p->hello_version[k] = in->hello->protocol_version;
	if (in->hello->facts != NULL)
		snprintf(p->hello_root[k], sizeof(p->hello_root[k]), "%s", in->hello->facts->root);
	frame_envelope_free(in);
	if (p->mode == PEER_ERROR_ON_HELLO) {
		er.code = POSTURE__V1__ERROR__CODE__CODE_UNAVAILABLE;
		er.message = (char *)"store is behind";
		out.body_case = POSTURE__V1__ENVELOPE__BODY_ERROR;
		out.error = &er;
		peer_send(ssl, &out);
		SSL_shutdown(ssl);
		goto out_reader;
	}
	ha.protocol_version = 1;
	ha.collector_id = (char *)"test-collector";
	ha.last_stored_seq = p->stored;
	ha.heartbeat_interval_s = p->hb_s;
	ha.max_frame_bytes = p->max_frame ? p->max_frame : FRAME_DEFAULT_MAX;
	out.body_case = POSTURE__V1__ENVELOPE__BODY_HELLO_ACK;
	out.hello_ack = &ha;
	peer_send(ssl, &out);
	while ((in = peer_read(ssl, &rd, &clean)) != NULL) {
		if (p->mode == PEER_SILENT) {
			frame_envelope_free(in);
			continue;
		}
		if (in->body_case == POSTURE__V1__ENVELOPE__BODY_REPORT) {
			uint64_t seq = in->report->seq;

			if (p->nseen[k] < MAX_SEEN) {
				p->results[k][p->nseen[k]] = in->report->n_results;
				p->seen[k][p->nseen[k]++] = seq;
			}
			reports++;
			if (p->mode == PEER_DROP && k == 0 && reports > p->drop_after) {
				/* Gone without a word, as a crashing collector is. */
				frame_envelope_free(in);
				goto out_reader;
			}
			if (seq > p->stored)
				p->stored = seq;
			ack.seq = seq;
			out.body_case = POSTURE__V1__ENVELOPE__BODY_ACK;
			out.ack = &ack;
			peer_send(ssl, &out);
		} else if (in->body_case == POSTURE__V1__ENVELOPE__BODY_HEARTBEAT) {
			p->heartbeats[k]++;
			hb.sent_at_us = in->heartbeat->sent_at_us;
			hb.last_seq = p->stored;
			out.body_case = POSTURE__V1__ENVELOPE__BODY_HEARTBEAT;
			out.heartbeat = &hb;
			peer_send(ssl, &out);
		}
		frame_envelope_free(in);
	}
	p->clean_close[k] = clean;
	goto out_reader;
out:
	frame_envelope_free(in);
out_reader:
	frame_reader_cleanup(&rd);
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	char cert[4096], key[4096], ca[4096];
	SSL_CTX *ctx;

	snprintf(ca, sizeof(ca), "%s/ca.crt", p->dir);
	snprintf(cert, sizeof(cert), "%s/%s", p->dir, p->other_ca ? "other-server.crt" : "server.crt");
	snprintf(key, sizeof(key), "%s/%s", p->dir, p->other_ca ? "other-server.key" : "server.key");
	if (tls_ctx_new_server(ca, cert, key, true, &ctx, NULL) != 0)
		return NULL;
	for (int k = 0; k < p->conns && k < 4; k++) {
		struct pollfd pfd = {.fd = p->lfd, .events = POLLIN};
		SSL *ssl;
		int fd;

		/* Never hang the test run when the agent does not come. */
		if (poll(&pfd, 1, 30000) != 1)
			break;
		fd = accept(p->lfd, NULL, NULL);
		if (fd < 0)
			break;
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1)
			peer_conn(p, ssl, k);
		else
			p->handshakes_failed++;
		SSL_free(ssl);
		close(fd);
	}
	SSL_CTX_free(ctx);
	return NULL;
}

static void peer_start(struct peer *p)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);

	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->lfd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->lfd, 8), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&sa, &len), 0);
	p->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void peer_join(struct peer *p)
{
	pthread_join(p->thread, NULL);
	close(p->lfd);
}

/* --- the agent side ----------------------------------------------------------- */

struct fixture {
	char *dir;
	struct agent_config c;
	struct spool *sp;
	struct uplink *up;
	struct peer peer;
};

static char *cat(const char *dir, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pst_err e = {0};

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	make_pki(f->dir);
	agent_config_defaults(&f->c);
	f->c.ca = cat(f->dir, "ca.crt");
	f->c.cert = cat(f->dir, "agent.crt");
	f->c.key = cat(f->dir, "agent.key");
	f->c.spool_dir = cat(f->dir, "spool");
	f->c.server_name = strdup("127.0.0.1");
	snprintf(f->c.collector_host, sizeof(f->c.collector_host), "127.0.0.1");
	f->c.connect_timeout_s = 10;
	f->c.heartbeat_s = 30;
	f->c.backoff_min_ms = 10;
	f->c.backoff_max_ms = 80;
	if (spool_open(f->c.spool_dir, 1 << 20, &f->sp, &e) != 0)
		fail_msg("%s", e.msg);
	f->peer.dir = f->dir;
	f->peer.conns = 1;
	*state = f;
	return 0;
}

/* Start the peer as configured and point the agent at it. */
static void start(struct fixture *f)
{
	struct pst_err e = {0};

	peer_start(&f->peer);
	f->c.collector_port = f->peer.port;
	free(f->c.collector);
	assert_true(asprintf(&f->c.collector, "127.0.0.1:%u", (unsigned)f->peer.port) > 0);
	if (uplink_new(&f->c, f->sp, "0.1.0-test", &f->up, &e) != 0)
		fail_msg("%s", e.msg);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uplink_free(f->up);
	spool_free(f->sp);
	agent_config_cleanup(&f->c);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static uint64_t spool_one(struct spool *sp, Posture__V1__Status st)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__Report rep = POSTURE__V1__REPORT__INIT;
	Posture__V1__CheckResult res = POSTURE__V1__CHECK_RESULT__INIT, *resp = &res;
	struct pst_err e = {0};
	uint64_t seq;
	uint8_t *buf;
	size_t len;

	assert_int_equal(spool_next_seq(sp, &seq, &e), 0);
	res.check_id = (char *)"ssh.permit-root-login";
	res.policy_id = (char *)"linux-baseline";
	res.status = st;
	rep.seq = seq;
	rep.scan_id = (char *)"0b6d3c9e-3f0a-4c1b-8d52-2a9f6e7d1c40";
	rep.n_results = 1;
	rep.results = &resp;
	env.body_case = POSTURE__V1__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	len = posture__v1__envelope__get_packed_size(&env);
	buf = malloc(len);
	assert_non_null(buf);
	posture__v1__envelope__pack(&env, buf);
	if (spool_put(sp, seq, buf, len, &e) != 0)
		fail_msg("%s", e.msg);
	free(buf);
	return seq;
}

static void expect_seen(const struct peer *p, int k, const char *want)
{
	char got[512] = "";
	size_t n = 0;

	for (int i = 0; i < p->nseen[k]; i++)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%llu", i ? "," : "",
				      (unsigned long long)p->seen[k][i]);
	assert_string_equal(got, want);
}

static void connect_ok(struct fixture *f)
{
	struct pst_err e = {0};

	if (uplink_connect(f->up, &e) != 0)
		fail_msg("uplink_connect: %s", e.msg);
	assert_true(uplink_connected(f->up));
}

/* Run until everything up to seq is acknowledged (a generous bound, not a timing). */
static void deliver(struct fixture *f, uint64_t seq)
{
	struct pst_err e = {0};

	if (uplink_run(f->up, uplink_now_ms() + 60000, -1, seq, &e) != 0)
		fail_msg("uplink_run: %s", e.msg);
	assert_true(spool_acked_seq(f->sp) >= seq);
}

static void reopen_spool(struct fixture *f)
{
	struct pst_err e = {0};

	if (spool_open(f->c.spool_dir, 1 << 20, &f->sp, &e) != 0)
		fail_msg("%s", e.msg);
}

/* --- cases ---------------------------------------------------------------------- */

static void test_delivery(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 20; i++)
		spool_one(f->sp, i % 3 ? POSTURE__V1__STATUS__STATUS_PASS
				       : POSTURE__V1__STATUS__STATUS_FAIL);
	start(f);
	connect_ok(f);
	assert_string_equal(uplink_collector_id(f->up), "test-collector");
	/* More than one window's worth, in order, each once. */
	deliver(f, 20);
	assert_int_equal(spool_count(f->sp), 0);
	assert_int_equal(spool_acked_seq(f->sp), 20);
	/* A report spooled while connected goes out on the same connection. */
	spool_one(f->sp, POSTURE__V1__STATUS__STATUS_PASS);
	deliver(f, 21);
	uplink_close(f->up);
	assert_false(uplink_connected(f->up));
	peer_join(&f->peer);
	expect_seen(&f->peer, 0, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21");
	assert_int_equal(f->peer.hello_version[0], 1);
	assert_int_equal(f->peer.hello_acked[0], 0);
	/* The collector knows the agent by its certificate. */
	assert_string_equal(f->peer.peer_cn[0], "agent-1");
	assert_true(f->peer.clean_close[0]);
}

static void test_reconnect_resends_in_order(void **state)
{
	struct fixture *f = *state;
	struct pst_err e = {0};
	int rc;

	for (int i = 0; i < 5; i++)
		spool_one(f->sp, POSTURE__V1__STATUS__STATUS_PASS);
	f->peer.mode = PEER_DROP;
	f->peer.drop_after = 2;
	f->peer.conns = 2;
	start(f);
	connect_ok(f);
	rc = uplink_run(f->up, uplink_now_ms() + 60000, -1, 5, &e);
	/* The collector hung up with reports unacknowledged. */
	assert_true(rc < 0);
	assert_non_null(strstr(e.msg, f->c.collector));
	assert_false(uplink_connected(f->up));
	assert_true(spool_count(f->sp) >= 3);
	connect_ok(f);
	deliver(f, 5);
	uplink_close(f->up);
	peer_join(&f->peer);
	/* The peer hung up on reading the third report, unacknowledged. */
	expect_seen(&f->peer, 0, "1,2,3");
	/*
	 * The second connection resends from after what the collector stored,
	 * in order; the Hello says what the agent saw acknowledged (the last
	 * acks may be lost with the connection).
	 */
	assert_true(f->peer.hello_acked[1] <= 2);
	expect_seen(&f->peer, 1, "3,4,5");
	assert_int_equal(spool_count(f->sp), 0);
}

static void test_collector_ahead(void **state)
{
	struct fixture *f = *state;
	uint64_t seq;

	/* A reinstalled agent: its new spool numbers from 1, the collector holds up to 100. */
	spool_one(f->sp, POSTURE__V1__STATUS__STATUS_PASS);
	spool_one(f->sp, POSTURE__V1__STATUS__STATUS_PASS);
	f->peer.stored = 100;
	start(f);
	connect_ok(f);
	assert_int_equal(spool_count(f->sp), 0);
	assert_int_equal(spool_last_seq(f->sp), 100);
	seq = spool_one(f->sp, POSTURE__V1__STATUS__STATUS_FAIL);
	assert_int_equal(seq, 101);
	deliver(f, 101);
	uplink_close(f->up);
	peer_join(&f->peer);
	/* Nothing the collector would have taken for a duplicate was sent. */
	expect_seen(&f->peer, 0, "101");
	/* And the jump is durable. */
	spool_free(f->sp);
	f->sp = NULL;
	reopen_spool(f);
	assert_int_equal(spool_last_seq(f->sp), 101);
}

static void test_wrong_ca_refused(void **state)
{
	struct fixture *f = *state;
	struct pst_err e = {0};
	char want[256];

	spool_one(f->sp, POSTURE__V1__STATUS__STATUS_PASS);
	f->peer.other_ca = true;
	start(f);
	assert_int_equal(uplink_connect(f->up, &e), PST_E_TLS);
	assert_false(uplink_connected(f->up));
	snprintf(want, sizeof(want), "collector 127.0.0.1:%u: TLS handshake failed: certificate "
		 "verify failed", (unsigned)f->peer.port);
	if (strstr(e.msg, want) == NULL || strstr(e.msg, "the collector's CA?") == NULL ||
	    strstr(e.msg, f->c.ca) == NULL)
		fail_msg("unexpected message: %s", e.msg);
	print_message("%s\n", e.msg);
	peer_join(&f->peer);
	assert_int_equal(f->peer.handshakes_failed, 1);
	/* Nothing left the host, nothing was lost. */
	assert_int_equal(spool_count(f->sp), 1);
}

static void test_agent_cert_refused(void **state)
{
	struct fixture *f = *state;
	struct pst_err e = {0};
	int rc;

	/* An agent certificate the collector's CA did not issue. */
	free(f->c.cert);
	free(f->c.key);
	f->c.cert = cat(f->dir, "other-agent.crt");
	f->c.key = cat(f->dir, "other-agent.key");
	start(f);
	rc = uplink_connect(f->up, &e);
	assert_int_equal(rc, PST_E_TLS);
	assert_false(uplink_connected(f->up));
	/*
	 * The collector's alert usually arrives, and is quoted; when the reset
	 * beats it, the message still names the certificate to check.
	 */
	if (strstr(e.msg, "other-agent.crt") == NULL ||
	    (strstr(e.msg, "the collector refused us: ") == NULL &&
	     strstr(e.msg, "right after the TLS handshake") == NULL))
		fail_msg("unexpected message: %s", e.msg);
	peer_join(&f->peer);
	assert_int_equal(f->peer.handshakes_failed, 1);
}

static void test_error_frame(void **state)
{
	struct fixture *f = *state;
	struct pst_err e = {0};

	spool_one(f->sp, POSTURE__V1__STATUS__STATUS_PASS);
	f->peer.mode = PEER_ERROR_ON_HELLO;
	start(f);
	assert_int_equal(uplink_connect(f->up, &e), PST_E_PROTO);
	assert_false(uplink_connected(f->up));
	if (strstr(e.msg, "refused the connection: unavailable: store is behind") == NULL)
		fail_msg("unexpected message: %s", e.msg);
	peer_join(&f->peer);
	assert_int_equal(spool_count(f->sp), 1);
}

static void test_too_large_set_aside(void **state)
{
	struct fixture *f = *state;
	struct pst_err e = {0};
	char *aside;

	/* A collector that takes frames of 32 bytes at most: no report fits. */
	spool_one(f->sp, POSTURE__V1__STATUS__STATUS_PASS);
	spool_one(f->sp, POSTURE__V1__STATUS__STATUS_FAIL);
	f->peer.max_frame = 32;
	start(f);
	connect_ok(f);
	assert_int_equal(uplink_run(f->up, uplink_now_ms() + 60000, -1, 2, &e), 0);
	/* Set aside for a person, not resent forever and not deleted. */
	assert_int_equal(spool_count(f->sp), 0);
	aside = cat(f->c.spool_dir, "undeliverable/00000000000000000002.frame");
	assert_int_equal(access(aside, F_OK), 0);
	free(aside);
	uplink_close(f->up);
	peer_join(&f->peer);
	expect_seen(&f->peer, 0, "");
}

static void test_heartbeats(void **state)
{
	struct fixture *f = *state;
	struct pst_err e = {0};

	/* The collector asks for a shorter interval than the agent's 30 s. */
	f->peer.hb_s = 1;
	start(f);
	connect_ok(f);
	/*
	 * Idle for two and a half intervals: a heartbeat is due after one, and
	 * the answers keep the connection from being called dead after three.
	 */
	assert_int_equal(uplink_run(f->up, uplink_now_ms() + 2500, -1, 0, &e), 0);
	assert_true(uplink_connected(f->up));
	uplink_close(f->up);
	peer_join(&f->peer);
	assert_true(f->peer.heartbeats[0] >= 1);
}

static void test_silent_collector_is_dead(void **state)
{
	struct fixture *f = *state;
	struct pst_err e = {0};

	f->peer.hb_s = 1;
	f->peer.mode = PEER_SILENT;
	start(f);
	connect_ok(f);
	assert_int_equal(uplink_run(f->up, uplink_now_ms() + 60000, -1, 0, &e), PST_E_PROTO);
	if (strstr(e.msg, "the connection is dead") == NULL)
		fail_msg("unexpected message: %s", e.msg);
	assert_false(uplink_connected(f->up));
	peer_join(&f->peer);
}

static void test_no_collector(void **state)
{
	struct fixture *f = *state;
	struct pst_err e = {0};
	uint32_t w;

	/* A port nobody listens on: bind one, and close it before connecting. */
	f->peer.conns = 0;
	start(f);
	peer_join(&f->peer);
	assert_true(uplink_connect(f->up, &e) < 0);
	if (strstr(e.msg, "cannot connect: Connection refused") == NULL)
		fail_msg("unexpected message: %s", e.msg);
	/* Backoff stays within its bounds, whatever the jitter draws. */
	for (int i = 0; i < 50; i++) {
		w = uplink_backoff_ms(f->up);
		assert_true(w >= f->c.backoff_min_ms && w <= f->c.backoff_max_ms);
	}
}

/* --- the daemon, --once ------------------------------------------------------- */

static void daemon_config(struct fixture *f)
{
	/* The daemon opens the spool itself. */
	spool_free(f->sp);
	f->sp = NULL;
	f->c.policies = calloc(2, sizeof(char *));
	assert_non_null(f->c.policies);
	f->c.policies[0] = strdup(POSTURE_SOURCE_DIR "/policies/linux-baseline.json");
	f->c.npolicies = 1;
	f->c.root = strdup(POSTURE_FIXTURES "/roots/compliant");
	f->c.ack_timeout_s = 30;
}

static void test_daemon_once_delivers(void **state)
{
	struct fixture *f = *state;

	daemon_config(f);
	start(f);
	assert_int_equal(daemon_run(&f->c, true, "0.1.0-test"), DAEMON_EXIT_OK);
	peer_join(&f->peer);
	expect_seen(&f->peer, 0, "1");
	/* The Hello says which host and root the reports are about. */
	assert_string_equal(f->peer.hello_root[0], POSTURE_FIXTURES "/roots/compliant");
	/* A real scan: every check of the baseline has its result. */
	assert_true(f->peer.results[0][0] > 50);
	assert_true(f->peer.clean_close[0]);
	reopen_spool(f);
	assert_int_equal(spool_count(f->sp), 0);
	assert_int_equal(spool_acked_seq(f->sp), 1);
}

static void test_daemon_once_keeps_undelivered(void **state)
{
	struct fixture *f = *state;

	daemon_config(f);
	/* Nobody listens: the report stays spooled and the exit says so. */
	f->peer.conns = 0;
	start(f);
	peer_join(&f->peer);
	f->c.ack_timeout_s = 1;
	assert_int_equal(daemon_run(&f->c, true, "0.1.0-test"), DAEMON_EXIT_UNDELIVERED);
	reopen_spool(f);
	assert_int_equal(spool_count(f->sp), 1);
	spool_free(f->sp);
	f->sp = NULL;

	/* The next run delivers the old report first, then its own. */
	memset(&f->peer, 0, sizeof(f->peer));
	f->peer.dir = f->dir;
	f->peer.conns = 1;
	uplink_free(f->up);
	f->up = NULL;
	start(f);
	f->c.ack_timeout_s = 30;
	assert_int_equal(daemon_run(&f->c, true, "0.1.0-test"), DAEMON_EXIT_OK);
	peer_join(&f->peer);
	expect_seen(&f->peer, 0, "1,2");
}

static void test_daemon_config_errors(void **state)
{
	struct fixture *f = *state;

	daemon_config(f);
	free(f->c.policies[0]);
	f->c.policies[0] = strdup(POSTURE_SOURCE_DIR "/policies/no-such-policy.json");
	assert_int_equal(daemon_run(&f->c, true, "0.1.0-test"), DAEMON_EXIT_CONFIG);
	free(f->c.policies[0]);
	f->c.policies[0] = strdup(POSTURE_SOURCE_DIR "/policies/linux-baseline.json");
	free(f->c.key);
	f->c.key = cat(f->dir, "missing.key");
	assert_int_equal(daemon_run(&f->c, true, "0.1.0-test"), DAEMON_EXIT_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_resends_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collector_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_ca_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_cert_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_heartbeats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_collector_is_dead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_collector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_once_delivers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_once_keeps_undelivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_config_errors, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test_uplink", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
