/*
 * alerts.h - delivery of alert events, off the event loop.
 *
 * The store writes an alert row in the same transaction as what caused it
 * (a violation opened or resolved, a critical check failing) or when the
 * loop's stale-host timer finds a host gone quiet (store_mark_stale), so a
 * restart loses none.  One thread, with its own store handle, takes the
 * due alerts: it writes each to the log once as one JSON line
 * ({"alert": KIND, ...the event}), then POSTs the JSON event to every
 * configured webhook with libcurl (Content-Type: application/json, a
 * timeout, TLS verified against the system's or the configured CA).  A
 * 2xx from every webhook delivers it; otherwise it is retried with
 * exponential backoff (min_backoff_ms doubling up to max_backoff_ms), up
 * to max_attempts, then given up with an error line in the log.  Webhook
 * URLs may carry secrets: the log names a webhook by its scheme, host and
 * port only.
 */
#ifndef POSTURE_ALERTS_H
#define POSTURE_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

struct alerts;

/*
 * Start the delivery thread on the store named by store_spec (it opens
 * its own handle) with the webhooks and retry settings of cfg (borrowed;
 * must outlive the thread).  Also started with no webhook: alerts are
 * then logged and marked delivered.
 */
int alerts_start(const struct collector_config *cfg, struct alerts **out, struct pst_err *e);

/* New alerts may be due: look now rather than at the next poll (thread-safe). */
void alerts_wake(struct alerts *a);

/*
 * Stop: the delivery in progress ends (within its timeout), the thread
 * exits, the handle closes.  Undelivered alerts stay in the store for the
 * next start.  NULL accepted.
 */
void alerts_stop(struct alerts *a);

struct alerts_stats {
	uint64_t logged, delivered, failed_attempts, given_up;
};
void alerts_get_stats(struct alerts *a, struct alerts_stats *st);

#endif
