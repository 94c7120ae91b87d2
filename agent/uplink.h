/*
 * uplink.h - the agent's TLS connection to the collector (DESIGN 4).
 *
 * One connection at a time, over a nonblocking socket driven with poll(2):
 * TCP connect (a numeric address or a name through getaddrinfo), TLS with
 * the agent's certificate and the collector's verified against the CA and
 * server_name, then Hello / HelloAck.  After that the uplink sends the
 * spooled reports in sequence order, up to UPLINK_WINDOW unacknowledged at
 * a time, deletes them from the spool as Acks arrive, sends a Heartbeat
 * after a heartbeat interval without sending, and calls the connection
 * dead after three intervals without a frame from the collector.  Every
 * reconnect starts again from the spool, so whatever was not acknowledged
 * is resent in order; the collector acknowledges again what it already has.
 *
 * The caller ignores SIGPIPE.  Errors name the collector and what failed:
 * "collector 127.0.0.1:7443: TLS handshake failed: certificate verify
 * failed: ... (is ca.crt the collector's CA?)".  A failed call leaves the
 * uplink disconnected; the caller waits uplink_backoff_ms() and connects
 * again.
 */
#ifndef POSTURE_UPLINK_H
#define POSTURE_UPLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "agentconf.h"
#include "err.h"
#include "hostinfo.h"
#include "spool.h"

#define UPLINK_PROTOCOL_VERSION 1
/* Reports in flight before the uplink waits for an Ack. */
#define UPLINK_WINDOW 16

struct uplink;

/*
 * A disconnected uplink for c (borrowed, must outlive it) delivering from
 * sp (borrowed).  Loads the TLS context: a bad CA, certificate or key is
 * reported here, before any connection is tried.
 */
int uplink_new(const struct agent_config *c, struct spool *sp, const char *agent_version,
	       struct uplink **out, struct pst_err *e);

/* Close (without the TLS goodbye) and free; NULL is accepted. */
void uplink_free(struct uplink *u);

/* Facts sent in every Hello from now on. */
void uplink_set_facts(struct uplink *u, const struct hostinfo *h);

/*
 * Connect, handshake and exchange Hello / HelloAck, all within the
 * configured connect_timeout_s.  The HelloAck's last_stored_seq is applied
 * to the spool (spool_ack, or spool_jump when it is at or beyond the
 * spool's next seq).  An Error from the collector is returned as PST_E_PROTO
 * with its code and message.
 */
int uplink_connect(struct uplink *u, struct pst_err *e);

bool uplink_connected(const struct uplink *u);

/*
 * Exchange frames until deadline_ms (uplink_now_ms() clock), until wake_fd
 * (may be -1) is readable, or, when until_acked is not 0, until the spool
 * holds nothing at or below until_acked.  Returns 0 with the connection
 * kept in those cases; on any failure the connection is closed and the
 * error returned.
 */
int uplink_run(struct uplink *u, int64_t deadline_ms, int wake_fd, uint64_t until_acked,
	       struct pst_err *e);

/* Close cleanly (TLS close_notify, then the socket); nothing when disconnected. */
void uplink_close(struct uplink *u);

/*
 * The wait before the next connection attempt: full jitter, uniformly in
 * [backoff_min_ms, min(backoff_max_ms, backoff_min_ms * 2^failures)]; each
 * call counts a failure, a completed HelloAck resets the count.
 */
uint32_t uplink_backoff_ms(struct uplink *u);

/* The collector's id from the last HelloAck ("" before one). */
const char *uplink_collector_id(const struct uplink *u);

/* Milliseconds on the monotonic clock. */
int64_t uplink_now_ms(void);

#endif
