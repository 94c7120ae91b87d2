/*
 * ingest.h - the store thread.  The loop hands decoded reports over with
 * ingest_submit(); the thread takes whatever is queued (up to a batch
 * limit, waiting a few milliseconds to fill a batch), commits it with
 * store_put_reports(), and only then passes each report's outcome back to
 * the loop, where the done callback runs (on the loop thread, through a
 * uv_async_t) and the connection sends its Ack.  Nothing is acked before
 * it is committed.
 *
 * Memory stays bounded: ingest_queued_bytes() is what the loop compares
 * with its high-water mark to pause reading on every connection.
 *
 * When a commit fails (disk full, database locked past its timeout), the
 * batch is retried with backoff; the reports stay queued and unacked, and
 * their connections stay paused, so nothing acked is lost and nothing is
 * dropped.  Hello's store_host_hello() also runs on this thread
 * (ingest_hello), so one handle writes.
 */
#ifndef POSTURE_INGEST_H
#define POSTURE_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store.h"

/*
 * Outcome of one submitted report: status 0 stored, 1 already stored
 * (acknowledge it all the same), negative PST_E_* when the ingest was shut
 * down before it could be stored (do not acknowledge).
 */
typedef void (*ingest_report_cb)(void *ctx, uint64_t seq, int status);

/* Outcome of a Hello: status 0 with last_seq, or a negative code and msg. */
typedef void (*ingest_hello_cb)(void *ctx, int status, uint64_t last_seq, const char *msg);

struct ingest_limits {
	uint32_t batch_max_reports;
	uint32_t batch_delay_ms;
};

struct ingest; /* opaque */

/*
 * Start the thread with store st (owned by the ingest from now on, closed
 * by ingest_free, or at once when ingest_new fails).  The loop must be the
 * one the callbacks run on.
 */
int ingest_new(uv_loop_t *loop, struct store *st, const struct ingest_limits *lim,
	       struct ingest **out, struct pst_err *e);

/*
 * Queue a report (taken: the ingest frees it, also when it refuses it).
 * cb(ctx, seq, status) runs later on the loop thread, exactly once, in
 * submission order (across all ctx as well).  Returns PST_E_INVAL after
 * ingest_stop(), PST_E_NOMEM; then cb is never called.
 *
 * Besides the statuses above, cb may get PST_E_INVAL for a report that can
 * never be stored (store_report_check), or the store's error for reports
 * still failing when ingest_stop() gave up on them: neither is acked.
 */
int ingest_submit(struct ingest *ig, struct store_report *r, ingest_report_cb cb, void *ctx);

/*
 * Queue a Hello: facts is taken (freed by the ingest, also on refusal).  It
 * runs in order with the reports; it is not retried: on failure cb gets the
 * error and a message, and the connection should close.
 */
int ingest_hello(struct ingest *ig, const char *agent_id, struct store_facts *facts,
		 int64_t now_us, ingest_hello_cb cb, void *ctx);

/* Bytes (store_report.wire_bytes) queued and not yet committed. */
size_t ingest_queued_bytes(const struct ingest *ig);

/*
 * Commit everything queued, run every callback, stop the thread, then call
 * done(arg) on the loop thread.  Submissions after this are refused.  A
 * store that still fails is tried a few more times, then the reports left
 * are answered with its error (not acked) so that shutdown ends.
 */
void ingest_stop(struct ingest *ig, void (*done)(void *arg), void *arg);

/* Free after done ran (or if the thread never started); NULL accepted. */
void ingest_free(struct ingest *ig);

/* Totals since start, for logs and tests. */
struct ingest_stats {
	uint64_t batches, stored, duplicates, commit_failures;
};
void ingest_get_stats(const struct ingest *ig, struct ingest_stats *st);

#endif
