/*
 * uplink.c - the agent's connection to the collector (uplink.h).
 *
 * Blocking in effect, nonblocking underneath: every wait is a poll(2) with
 * a deadline, so a silent collector or a half-open TCP connection costs at
 * most a timeout, and a signal's wake fd interrupts the idle wait.  Frames
 * are written whole before anything else happens, so a stop request never
 * leaves half a frame on the wire.
 */
#include "uplink.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "tls.h"
#include "timefmt.h"

/* Frames from the collector: acks and heartbeats, some day policy bundles. */
#define UPLINK_MAX_IN FRAME_DEFAULT_MAX

struct uplink {
	const struct agent_config *c;
	struct spool *sp;
	const char *version;
	char name[300];           /* "host:port" for messages */
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	struct frame_reader rd;
	struct hostinfo facts;
	bool have_facts;
	unsigned failures;
	char collector_id[128];
	uint32_t hb_ms;           /* the heartbeat interval in force */
	size_t max_out;           /* the collector's max_frame_bytes */
	uint64_t last_sent;       /* highest seq sent on this connection */
	int64_t last_rx, last_tx; /* uplink_now_ms() of the last frame each way */
	bool greeting;            /* between the handshake and the HelloAck */
	int eof;                  /* the collector closed: 1 cleanly, 2 not; frames may remain */
	int eof_errno;
};

int64_t uplink_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int uplink_new(const struct agent_config *c, struct spool *sp, const char *agent_version,
	       struct uplink **out, struct pst_err *e)
{
	struct uplink *u;
	int rc;

	*out = NULL;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	u->c = c;
	u->sp = sp;
	u->version = agent_version;
	u->fd = -1;
	snprintf(u->name, sizeof(u->name), "%s", c->collector);
	rc = tls_ctx_new_client(c->ca, c->cert, c->key, &u->ctx, e);
	if (rc != 0) {
		free(u);
		return rc;
	}
	*out = u;
	return 0;
}

static void drop_connection(struct uplink *u)
{
	if (u->ssl != NULL) {
		SSL_free(u->ssl);
		u->ssl = NULL;
	}
	if (u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
		frame_reader_cleanup(&u->rd);
	}
}

void uplink_free(struct uplink *u)
{
	if (u == NULL)
		return;
	drop_connection(u);
	SSL_CTX_free(u->ctx);
	free(u);
}

void uplink_set_facts(struct uplink *u, const struct hostinfo *h)
{
	u->facts = *h;
	u->have_facts = true;
}

bool uplink_connected(const struct uplink *u)
{
	return u->ssl != NULL;
}

const char *uplink_collector_id(const struct uplink *u)
{
	return u->collector_id;
}

uint32_t uplink_backoff_ms(struct uplink *u)
{
	uint64_t ceiling = u->c->backoff_min_ms, span, r = 0;

	for (unsigned i = 0; i < u->failures && ceiling < u->c->backoff_max_ms; i++)
		ceiling *= 2;
	if (ceiling > u->c->backoff_max_ms)
		ceiling = u->c->backoff_max_ms;
	if (u->failures < 64)
		u->failures++;
	span = ceiling - u->c->backoff_min_ms;
	if (span == 0)
		return u->c->backoff_min_ms;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint64_t)uplink_now_ms();
	return (uint32_t)(u->c->backoff_min_ms + r % (span + 1));
}

/* Fail: close the connection and say what failed on which collector. */
static int fail(struct uplink *u, struct pst_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct uplink *u, struct pst_err *e, int code, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	drop_connection(u);
	return pst_err_set(e, code, "collector %s: %s", u->name, msg);
}

/*
 * A connection lost in the greeting is most often the collector refusing
 * our certificate: TLS 1.3 judges it after the client's handshake is done,
 * and the alert saying so can race with the reset.  Look for the alert
 * and say what to check either way.
 */
static int greeting_lost(struct uplink *u, struct pst_err *e, const char *what, int err)
{
	char detail[512];
	uint8_t b[512];
	size_t got;

	ERR_clear_error();
	if (SSL_read_ex(u->ssl, b, sizeof(b), &got) != 1) {
		tls_errors(detail, sizeof(detail));
		if (strstr(detail, "alert") != NULL)
			return fail(u, e, PST_E_TLS, "the collector refused us: %s (was %s issued "
				    "by the collector's CA, and is it still valid?)", detail,
				    u->c->cert);
	}
	return fail(u, e, PST_E_TLS, "%s: %s, right after the TLS handshake (does the "
		    "collector accept %s? its log says why it closed)", what,
		    err ? strerror(err) : "connection closed", u->c->cert);
}

static int remaining(int64_t deadline)
{
	int64_t left = deadline - uplink_now_ms();

	return left <= 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
}

/* Wait for events on the socket until deadline: 1 ready, 0 timed out, <0 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	for (;;) {
		n = poll(&p, 1, remaining(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -1 : n;
	}
}

static int tcp_connect(struct uplink *u, int64_t deadline, struct pst_err *e)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char port[8], why[256] = "no address";
	int rc, one = 1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%u", (unsigned)u->c->collector_port);
	rc = getaddrinfo(u->c->collector_host, port, &hints, &res);
	if (rc != 0)
		return fail(u, e, PST_E_SYS, "cannot resolve %s: %s", u->c->collector_host,
			    gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd, err = 0;
		socklen_t len = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, sizeof(why), "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			close(fd);
			continue;
		}
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc == 0) {
			snprintf(why, sizeof(why), "timed out after %u s",
				 u->c->connect_timeout_s);
			close(fd);
			continue;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			snprintf(why, sizeof(why), "%s", strerror(err ? err : errno));
			close(fd);
			continue;
		}
		/* Acks and heartbeats are small; do not hold them back. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		u->fd = fd;
		break;
	}
	freeaddrinfo(res);
	if (u->fd < 0)
		return fail(u, e, PST_E_SYS, "cannot connect: %s (is the collector running and "
			    "is the port open?)", why);
	frame_reader_init(&u->rd, UPLINK_MAX_IN);
	return 0;
}

/* The hint a person needs for a failed handshake. */
static int handshake_error(struct uplink *u, struct pst_err *e)
{
	long v = SSL_get_verify_result(u->ssl);
	char detail[512];

	if (v != X509_V_OK) {
		char h[600];

		if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
			snprintf(h, sizeof(h), "does the collector's certificate name %s? set "
				 "server_name to a name it carries", u->c->server_name);
		else if (v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID)
			snprintf(h, sizeof(h), "check this host's clock, or renew the collector's "
				 "certificate");
		else
			snprintf(h, sizeof(h), "is %s the collector's CA?", u->c->ca);
		ERR_clear_error();
		return fail(u, e, PST_E_TLS, "TLS handshake failed: certificate verify failed: "
			    "%s (%s)", X509_verify_cert_error_string(v), h);
	}
	tls_errors(detail, sizeof(detail));
	if (strstr(detail, "alert") != NULL)
		return fail(u, e, PST_E_TLS, "TLS handshake failed: the collector refused us: %s "
			    "(was %s issued by the collector's CA, and is it still valid?)",
			    detail, u->c->cert);
	return fail(u, e, PST_E_TLS, "TLS handshake failed: %s", detail);
}

static int tls_handshake(struct uplink *u, int64_t deadline, struct pst_err *e)
{
	struct pst_err te = {0};
	int rc, err;

	u->ssl = SSL_new(u->ctx);
	if (u->ssl == NULL)
		return fail(u, e, PST_E_NOMEM, "cannot create a TLS session");
	if (tls_client_expect_host(u->ssl, u->c->server_name, &te) != 0)
		return fail(u, e, PST_E_TLS, "%s", te.msg);
	SSL_set_fd(u->ssl, u->fd);
	ERR_clear_error();
	for (;;) {
		rc = SSL_connect(u->ssl);
		if (rc == 1)
			return 0;
		err = SSL_get_error(u->ssl, rc);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			rc = wait_fd(u->fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (rc == 0)
				return fail(u, e, PST_E_TLS, "TLS handshake timed out after %u s",
					    u->c->connect_timeout_s);
			if (rc < 0)
				return fail(u, e, PST_E_SYS, "poll: %s", strerror(errno));
			continue;
		}
		if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			return fail(u, e, PST_E_TLS, "TLS handshake failed: the connection was "
				    "closed (%s)", errno ? strerror(errno) : "end of stream");
		return handshake_error(u, e);
	}
}

static void take_last_acks(struct uplink *u);

/* Write all of p[0..n) before deadline. */
static int tls_write_all(struct uplink *u, const uint8_t *p, size_t n, int64_t deadline,
			 struct pst_err *e)
{
	char detail[512];
	size_t done;
	int err, rc;

	while (n > 0) {
		ERR_clear_error();
		if (SSL_write_ex(u->ssl, p, n, &done) == 1) {
			p += done;
			n -= done;
			continue;
		}
		err = SSL_get_error(u->ssl, 0);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
				int send_errno = errno;

				if (u->greeting)
					return greeting_lost(u, e, "send failed", send_errno);
				take_last_acks(u);
				return fail(u, e, PST_E_SYS, "send failed: %s",
					    send_errno ? strerror(send_errno) : "connection closed");
			}
			return fail(u, e, PST_E_TLS, "send failed: %s",
				    tls_errors(detail, sizeof(detail)));
		}
		rc = wait_fd(u->fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (rc == 0)
			return fail(u, e, PST_E_SYS, "send timed out: the collector takes no data");
		if (rc < 0)
			return fail(u, e, PST_E_SYS, "poll: %s", strerror(errno));
	}
	u->last_tx = uplink_now_ms();
	return 0;
}

static int send_env(struct uplink *u, const Posture__V1__Envelope *env, int64_t deadline,
		    struct pst_err *e)
{
	uint8_t *frame;
	size_t len;
	int rc;

	rc = frame_encode(env, FRAME_DEFAULT_MAX, &frame, &len);
	if (rc != 0)
		return fail(u, e, rc, "cannot encode a frame: %s", pst_strerror(rc));
	rc = tls_write_all(u, frame, len, deadline, e);
	free(frame);
	return rc;
}

/*
 * Read what has arrived (without waiting) into the frame reader.  1 when
 * something came, 0 when nothing did, <0 on failure (connection dropped).
 */
static int read_some(struct uplink *u, struct pst_err *e)
{
	uint8_t buf[16384];
	char detail[512];
	size_t got;
	int any = 0, err, rc;

	/* The frames that came before the end are taken first (an Error says why). */
	if (u->eof == 1)
		return fail(u, e, PST_E_PROTO, "closed the connection");
	if (u->eof == 2 && u->greeting)
		return greeting_lost(u, e, "connection lost", u->eof_errno);
	if (u->eof == 2)
		return fail(u, e, PST_E_SYS, "connection lost: %s",
			    u->eof_errno ? strerror(u->eof_errno) : "closed without TLS goodbye");
	for (;;) {
		ERR_clear_error();
		if (SSL_read_ex(u->ssl, buf, sizeof(buf), &got) == 1) {
			rc = frame_reader_feed(&u->rd, buf, got);
			if (rc != 0)
				return fail(u, e, PST_E_PROTO, "sent a frame we refuse: %s",
					    pst_strerror(rc));
			any = 1;
			/* Leave room: the caller drains whole frames between reads. */
			if (u->rd.buf.len > UPLINK_MAX_IN)
				return 1;
			continue;
		}
		err = SSL_get_error(u->ssl, 0);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			return any;
		if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
			u->eof = err == SSL_ERROR_ZERO_RETURN ? 1 : 2;
			u->eof_errno = errno;
			return any ? 1 : read_some(u, e);
		}
		tls_errors(detail, sizeof(detail));
		/* TLS 1.3 judges the client's certificate after the client's handshake ends. */
		if (strstr(detail, "alert") != NULL)
			return fail(u, e, PST_E_TLS, "the collector refused us: %s (was %s issued "
				    "by the collector's CA, and is it still valid?)", detail,
				    u->c->cert);
		return fail(u, e, PST_E_TLS, "receive failed: %s", detail);
	}
}

static const char *error_code_name(Posture__V1__Error__Code c)
{
	switch (c) {
	case POSTURE__V1__ERROR__CODE__CODE_MALFORMED: return "malformed";
	case POSTURE__V1__ERROR__CODE__CODE_TOO_LARGE: return "too large";
	case POSTURE__V1__ERROR__CODE__CODE_UNEXPECTED: return "unexpected message";
	case POSTURE__V1__ERROR__CODE__CODE_VERSION: return "protocol version";
	case POSTURE__V1__ERROR__CODE__CODE_UNAUTHORIZED: return "unauthorized";
	case POSTURE__V1__ERROR__CODE__CODE_UNAVAILABLE: return "unavailable";
	case POSTURE__V1__ERROR__CODE__CODE_INTERNAL: return "internal error";
	default: return "unspecified";
	}
}

static int peer_error(struct uplink *u, const Posture__V1__Error *er, struct pst_err *e)
{
	char msg[256];

	/* The peer's text is untrusted: keep it short and printable. */
	snprintf(msg, sizeof(msg), "%s", er->message ? er->message : "");
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	return fail(u, e, PST_E_PROTO, "refused the connection: %s: %s",
		    error_code_name(er->code), msg[0] ? msg : "(no message)");
}

/* Wait for and take the next frame, until deadline. */
static int next_frame(struct uplink *u, int64_t deadline, Posture__V1__Envelope **env,
		      struct pst_err *e)
{
	int rc;

	for (;;) {
		rc = frame_reader_next(&u->rd, env);
		if (rc != 0)
			return fail(u, e, PST_E_PROTO, "sent a frame that does not decode: %s",
				    pst_strerror(rc));
		if (*env != NULL) {
			u->last_rx = uplink_now_ms();
			return 0;
		}
		rc = read_some(u, e);
		if (rc < 0)
			return rc;
		if (rc > 0 || SSL_pending(u->ssl) > 0)
			continue;
		rc = wait_fd(u->fd, POLLIN, deadline);
		if (rc == 0)
			return fail(u, e, PST_E_PROTO, "no answer within %u s",
				    u->c->connect_timeout_s);
		if (rc < 0)
			return fail(u, e, PST_E_SYS, "poll: %s", strerror(errno));
	}
}

/* Apply HelloAck's last_stored_seq to the spool. */
static int apply_stored(struct uplink *u, uint64_t stored, struct pst_err *e)
{
	struct pst_err se = {0};
	int rc;

	if (stored < spool_acked_seq(u->sp))
		log_warn("collector %s holds reports up to seq %" PRIu64 " only, but acknowledged "
			 "up to %" PRIu64 " before; it has lost reports (restored from a backup?)",
			 u->name, stored, spool_acked_seq(u->sp));
	if (stored > spool_last_seq(u->sp))
		rc = spool_jump(u->sp, stored, &se);
	else
		rc = spool_ack(u->sp, stored, &se);
	if (rc != 0)
		return fail(u, e, rc, "%s", se.msg);
	return 0;
}

static int hello(struct uplink *u, int64_t deadline, struct pst_err *e)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT, *in = NULL;
	Posture__V1__Hello h = POSTURE__V1__HELLO__INIT;
	Posture__V1__HostFacts f = POSTURE__V1__HOST_FACTS__INIT;
	const Posture__V1__HelloAck *ack;
	int rc;

	if (u->have_facts) {
		f.hostname = u->facts.hostname;
		f.os_id = u->facts.os_id;
		f.os_version = u->facts.os_version;
		f.kernel = u->facts.kernel;
		f.machine_id = u->facts.machine_id;
		f.root = u->facts.root;
		f.architecture = u->facts.arch;
	}
	h.agent_version = (char *)u->version;
	h.protocol_version = UPLINK_PROTOCOL_VERSION;
	h.facts = &f;
	h.last_acked_seq = spool_acked_seq(u->sp);
	h.scan_interval_s = u->c->interval_s;
	env.body_case = POSTURE__V1__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	if ((rc = send_env(u, &env, deadline, e)) != 0)
		return rc;
	if ((rc = next_frame(u, deadline, &in, e)) != 0)
		return rc;
	if (in->body_case == POSTURE__V1__ENVELOPE__BODY_ERROR) {
		rc = peer_error(u, in->error, e);
		goto out;
	}
	if (in->body_case != POSTURE__V1__ENVELOPE__BODY_HELLO_ACK) {
		rc = fail(u, e, PST_E_PROTO, "answered Hello with message %d, not HelloAck",
			  (int)in->body_case);
		goto out;
	}
	ack = in->hello_ack;
	if (ack->protocol_version != UPLINK_PROTOCOL_VERSION) {
		rc = fail(u, e, PST_E_PROTO, "speaks protocol version %u, this agent %u; "
			  "upgrade the older side", ack->protocol_version, UPLINK_PROTOCOL_VERSION);
		goto out;
	}
	snprintf(u->collector_id, sizeof(u->collector_id), "%s",
		 ack->collector_id ? ack->collector_id : "");
	u->hb_ms = u->c->heartbeat_s * 1000u;
	if (ack->heartbeat_interval_s > 0 && ack->heartbeat_interval_s < u->c->heartbeat_s)
		u->hb_ms = ack->heartbeat_interval_s * 1000u;
	u->max_out = ack->max_frame_bytes > 0 ? ack->max_frame_bytes : FRAME_DEFAULT_MAX;
	if ((rc = apply_stored(u, ack->last_stored_seq, e)) != 0)
		goto out;
	u->last_sent = spool_acked_seq(u->sp);
	log_info("collector %s (%s): connected; it holds up to seq %" PRIu64 ", %zu reports "
		 "to send", u->name, u->collector_id, ack->last_stored_seq, spool_count(u->sp));
out:
	frame_envelope_free(in);
	return rc;
}

int uplink_connect(struct uplink *u, struct pst_err *e)
{
	int64_t deadline = uplink_now_ms() + (int64_t)u->c->connect_timeout_s * 1000;
	int rc;

	drop_connection(u);
	u->collector_id[0] = '\0';
	u->eof = 0;
	if ((rc = tcp_connect(u, deadline, e)) != 0 || (rc = tls_handshake(u, deadline, e)) != 0)
		return rc;
	u->greeting = true;
	rc = hello(u, deadline, e);
	u->greeting = false;
	if (rc != 0)
		return rc;
	u->failures = 0;
	u->last_rx = uplink_now_ms();
	return 0;
}

void uplink_close(struct uplink *u)
{
	if (u->ssl != NULL) {
		/* One close_notify; do not wait for the collector's. */
		SSL_shutdown(u->ssl);
		log_info("collector %s: connection closed", u->name);
	}
	drop_connection(u);
}

/* Send spooled reports while the window has room. */
static int send_reports(struct uplink *u, struct pst_err *e)
{
	struct pst_err se = {0};
	uint64_t seq;
	uint8_t *frame;
	size_t len;
	int rc;

	while (spool_count_between(u->sp, spool_acked_seq(u->sp), u->last_sent) < UPLINK_WINDOW &&
	       spool_next_after(u->sp, u->last_sent, &seq)) {
		rc = spool_read(u->sp, seq, &frame, &len, &se);
		if (rc != 0)
			return fail(u, e, rc, "%s", se.msg);
		if (len - FRAME_HEADER_LEN > u->max_out) {
			char why[160];

			free(frame);
			snprintf(why, sizeof(why), "%zu bytes, over the collector's max_frame_bytes "
				 "%zu; it can never be delivered", len - FRAME_HEADER_LEN, u->max_out);
			if ((rc = spool_set_aside(u->sp, seq, why, &se)) != 0)
				return fail(u, e, rc, "%s", se.msg);
			continue;
		}
		rc = tls_write_all(u, frame, len, uplink_now_ms() + 3 * (int64_t)u->hb_ms, e);
		free(frame);
		if (rc != 0)
			return rc;
		log_debug("collector %s: sent report seq %" PRIu64, u->name, seq);
		u->last_sent = seq;
	}
	return 0;
}

static int handle(struct uplink *u, const Posture__V1__Envelope *env, struct pst_err *e)
{
	struct pst_err se = {0};
	int rc;

	switch (env->body_case) {
	case POSTURE__V1__ENVELOPE__BODY_ACK:
		if (env->ack->seq > u->last_sent)
			return fail(u, e, PST_E_PROTO, "acknowledged seq %" PRIu64 ", beyond the "
				    "highest sent (%" PRIu64 ")", env->ack->seq, u->last_sent);
		rc = spool_ack(u->sp, env->ack->seq, &se);
		if (rc != 0)
			return fail(u, e, rc, "%s", se.msg);
		log_debug("collector %s: stored up to seq %" PRIu64, u->name, env->ack->seq);
		return 0;
	case POSTURE__V1__ENVELOPE__BODY_HEARTBEAT:
		return 0;
	case POSTURE__V1__ENVELOPE__BODY_ERROR:
		return peer_error(u, env->error, e);
	case POSTURE__V1__ENVELOPE__BODY_POLICY_BUNDLE:
		log_warn("collector %s: sent a policy bundle; this agent applies local policies "
			 "only and ignores it", u->name);
		return 0;
	default:
		return fail(u, e, PST_E_PROTO, "sent message %d, which an agent does not take",
			    (int)env->body_case);
	}
}

static int heartbeat(struct uplink *u, struct pst_err *e)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__Heartbeat hb = POSTURE__V1__HEARTBEAT__INIT;

	hb.sent_at_us = timefmt_now_us();
	hb.last_seq = spool_last_seq(u->sp);
	env.body_case = POSTURE__V1__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	return send_env(u, &env, uplink_now_ms() + 3 * (int64_t)u->hb_ms, e);
}

/* Handle every whole frame that has arrived, without waiting for more. */
static int take_frames(struct uplink *u, int *handled, struct pst_err *e)
{
	Posture__V1__Envelope *env;
	int rc;

	*handled = 0;
	for (;;) {
		rc = frame_reader_next(&u->rd, &env);
		if (rc != 0)
			return fail(u, e, PST_E_PROTO, "sent a frame that does not decode: %s",
				    pst_strerror(rc));
		if (env == NULL) {
			rc = read_some(u, e);
			if (rc <= 0)
				return rc;
			continue;
		}
		u->last_rx = uplink_now_ms();
		rc = handle(u, env, e);
		frame_envelope_free(env);
		if (rc != 0)
			return rc;
		(*handled)++;
	}
}

/*
 * A send failed because the collector closed the connection.  A stopping
 * collector acknowledges what it stored before it closes, and those Acks
 * may be waiting unread: take them, so those reports are not sent again.
 */
static void take_last_acks(struct uplink *u)
{
	struct pst_err ignored = {0};
	int handled;

	(void)take_frames(u, &handled, &ignored);
}

int uplink_run(struct uplink *u, int64_t deadline_ms, int wake_fd, uint64_t until_acked,
	       struct pst_err *e)
{
	struct pollfd p[2];
	int64_t now, wake;
	int rc, handled;

	if (u->ssl == NULL)
		return pst_err_set(e, PST_E_INVAL, "collector %s: not connected", u->name);
	/*
	 * Time spent outside (a scan) was not spent listening: the collector
	 * answers heartbeats only, so count at most one interval of it.
	 */
	now = uplink_now_ms();
	if (u->last_rx < now - (int64_t)u->hb_ms)
		u->last_rx = now - (int64_t)u->hb_ms;
	for (;;) {
		if ((rc = send_reports(u, e)) != 0)
			return rc;
		/* Take every whole frame already here before waiting. */
		if ((rc = take_frames(u, &handled, e)) != 0)
			return rc;
		if (until_acked != 0 && spool_count_between(u->sp, 0, until_acked) == 0)
			return 0;
		now = uplink_now_ms();
		if (now - u->last_rx >= 3 * (int64_t)u->hb_ms)
			return fail(u, e, PST_E_PROTO, "no frame for %" PRId64 " s (3 heartbeat "
				    "intervals); the connection is dead", (now - u->last_rx) / 1000);
		if (now - u->last_tx >= u->hb_ms) {
			if ((rc = heartbeat(u, e)) != 0)
				return rc;
			continue;
		}
		if (now >= deadline_ms)
			return 0;
		/* Acks opened the window: send before waiting. */
		if (handled > 0)
			continue;
		wake = u->last_tx + u->hb_ms;
		if (u->last_rx + 3 * (int64_t)u->hb_ms < wake)
			wake = u->last_rx + 3 * (int64_t)u->hb_ms;
		if (deadline_ms < wake)
			wake = deadline_ms;
		p[0] = (struct pollfd){.fd = u->fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
		rc = poll(p, wake_fd >= 0 ? 2 : 1, remaining(wake));
		if (rc < 0 && errno != EINTR)
			return fail(u, e, PST_E_SYS, "poll: %s", strerror(errno));
		if (rc > 0 && wake_fd >= 0 && (p[1].revents & POLLIN))
			return 0;
	}
}
