/*
 * loadgen.h - posture-loadgen, a fleet simulator for benchmarking the
 * collector: N agent connections over real mutual TLS (OpenSSL memory BIOs
 * on libuv, the pattern of collector/conn.c) speaking the real protocol
 * (proto/frame.h framing of posture.proto Envelopes), plus malicious
 * clients for the drip scenario.  It measures; it asserts nothing.
 *
 * Files: main.c (options, scenarios, output), agent.c (one TLS agent
 * connection), evil.c (raw-TCP malicious clients), payload.c (the report
 * a simulated agent sends), stats.c (counters and latency percentiles).
 */
#ifndef POSTURE_LOADGEN_H
#define POSTURE_LOADGEN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "frame.h"

/* Kinds of error counted, by what went wrong. */
enum lg_err {
	LG_E_CONNECT,     /* TCP connect failed */
	LG_E_TLS,         /* TLS handshake failed */
	LG_E_CLOSED,      /* the collector closed a live agent connection */
	LG_E_DECODE,      /* a frame from the collector did not decode */
	LG_E_WRITE,       /* a write failed */
	LG_E_REMOTE,      /* the collector sent an Error (by code in err_code) */
	LG_E_ACK_TIMEOUT, /* a report not acked within the ack timeout */
	LG_E_COUNT
};

/* Latency samples in microseconds. */
struct lg_lat {
	uint32_t *v;
	size_t n, cap;
};

/* The figures of one phase of a scenario. */
struct lg_stats {
	const char *name;
	double t_start, t_end;          /* seconds on the loop clock */
	uint64_t connects, handshakes;
	double hs_first, hs_last;       /* times of the first and last handshake */
	uint64_t hellos_acked;
	uint64_t reports_sent, reports_acked, results_acked, bytes_sent;
	uint64_t heartbeats, skipped;   /* skipped: interval came with a report unacked */
	uint64_t err[LG_E_COUNT];
	uint64_t err_code[8];           /* Error.code values received */
	struct lg_lat lat;              /* report send -> Ack */
	struct lg_lat hs_lat;           /* TCP connect start -> TLS handshake done */
};

enum lg_role {
	LG_ROLE_AGENT,    /* a well-behaved agent */
	LG_ROLE_GARBAGE,  /* authenticated, then a frame of random bytes */
	LG_ROLE_OVERSIZE, /* authenticated, then a header declaring 2 GiB */
};

enum lg_state { LG_IDLE, LG_CONNECTING, LG_HANDSHAKE, LG_HELLO, LG_READY, LG_CLOSING };

struct lg;

/* One simulated agent (or an authenticated malicious client). */
struct lg_agent {
	struct lg *lg;
	size_t idx;
	enum lg_role role;
	enum lg_state state;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_timer_t timer;       /* reconnect backoff, report interval */
	bool timer_init;
	SSL *ssl;
	BIO *rbio, *wbio;
	struct frame_reader fr;
	X509 *cert;
	uint64_t seq;           /* last sequence number sent */
	uint64_t pending_seq;   /* unacked report, 0 when none */
	double pending_at;      /* when it was sent */
	double conn_started;
	double last_send;
	unsigned backoff_ms;
	bool reconnect;         /* reconnect when closed */
	bool done;              /* storm: its report was acked */
	bool evil_server_closed;
	bool counted;           /* counted in lg->held */
};

struct lg_opts {
	const char *config;     /* collector.json */
	const char *scenario;   /* steady | storm | drip */
	size_t agents;
	double interval_s;      /* steady: report interval */
	double duration_s;      /* steady/drip: measured window (drip: each half) */
	size_t checks;          /* results per report */
	double connect_rate;    /* steady: new connections per second while ramping */
	double evil_rate;       /* drip: malicious connections per second */
	double evil_hold_s;     /* drip: a malicious client gives up after this */
	double timeout_s;       /* storm: give up after this; ack timeout */
	unsigned sources;       /* source addresses 127.0.0.1 .. 127.0.0.N */
	bool json;
	const char *host;       /* collector address (127.0.0.1) */
	uint16_t port;
};

/* The report template (payload.c). */
struct lg_payload {
	uint8_t *rest;          /* packed Report fields after seq and scan_id */
	size_t rest_len;
	size_t nresults;
	uint8_t *hello;         /* a whole Hello frame */
	size_t hello_len;
	uint8_t *scratch;       /* a whole Report frame is assembled here */
	size_t scratch_cap;
};

struct lg {
	struct lg_opts o;
	uv_loop_t *loop;
	SSL_CTX *ctx;
	EVP_PKEY *key;          /* one key shared by every simulated agent */
	struct sockaddr_in dst;
	struct lg_payload pl;
	struct lg_agent *agents;
	size_t nagents;
	struct lg_agent *evil_tls;  /* pool for the authenticated malicious roles */
	size_t nevil_tls;
	X509 **evil_certs;
	size_t nevil_certs;
	struct lg_stats *cur;   /* the phase being measured */
	size_t ready;           /* agents past HelloAck now */
	size_t held;            /* agent connections open now */
	size_t held_max;
	size_t storm_done;
	uint32_t hb_interval_s; /* from HelloAck */
	bool stopping;
	double cert_issue_s;
	/* drip: malicious clients */
	uint64_t evil_started[5], evil_server_closed[5], evil_gave_up[5], evil_refused[5];
	size_t evil_open, evil_open_max;
	unsigned evil_next;
	uint8_t *client_hello;  /* a real ClientHello, for the raw malicious kinds */
	size_t client_hello_len;
};

double lg_now(const struct lg *lg);

/* stats.c */
void lg_lat_add(struct lg_lat *l, double seconds);
uint32_t lg_lat_pct(struct lg_lat *l, double pct); /* sorts; microseconds */
void lg_stats_err(struct lg *lg, enum lg_err kind);
const char *lg_err_name(enum lg_err kind);

/* payload.c */
int lg_payload_init(struct lg_payload *p, size_t nchecks);
void lg_payload_cleanup(struct lg_payload *p);
/* Assemble the Report frame with seq into p->scratch; returns its length. */
size_t lg_payload_report(struct lg_payload *p, uint64_t seq, uint32_t agent);
/* A Heartbeat frame into buf (at least 32 bytes); returns its length. */
size_t lg_payload_heartbeat(uint8_t *buf, int64_t now_us, uint64_t last_seq);

/* agent.c */
void lg_agent_start(struct lg_agent *a);
void lg_agent_schedule(struct lg_agent *a, double delay_s);
void lg_agent_send_report(struct lg_agent *a);
void lg_agent_send_heartbeat(struct lg_agent *a);
void lg_agent_close(struct lg_agent *a);
void lg_agent_on_ready(struct lg_agent *a); /* main.c: scenario hook after HelloAck */
void lg_agent_on_acked(struct lg_agent *a); /* main.c: scenario hook after an Ack */

/* evil.c: start one malicious client of the next kind. */
void lg_evil_start(struct lg *lg);
int lg_evil_prepare(struct lg *lg);
extern const char *const lg_evil_kind_name[5];

#endif
