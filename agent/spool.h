/*
 * spool.h - the agent's durable queue of reports (DESIGN 4, 5).
 *
 * A directory (mode 0700, locked by one agent at a time) holding:
 *   state                   "seq N\nacked M\nacked_status HEX|-\n": the
 *                           highest sequence number ever assigned, the
 *                           highest the collector acknowledged, and the
 *                           status digest of that acknowledged report
 *   00000000000000000042.frame   one frame (length prefix + Envelope with a
 *                           Report) per report, named by its sequence number
 *   corrupt/                files found unreadable at start-up, kept for a person
 *   undeliverable/          reports the collector can never take (too large)
 * Every file is written to a ".tmp." file, fsync'd, renamed into place, and
 * the directory fsync'd.  The counter is persisted before a report carrying
 * its number is spooled, so numbers never repeat across restarts or power
 * loss.  A report is deleted only when acknowledged (spool_ack).
 *
 * Start-up recovery: ".tmp." leftovers are removed; a report file that is
 * truncated, does not decode, holds no Report, carries another seq than its
 * name, or has bytes after its frame is moved to corrupt/ with a log line,
 * never deleted.  A damaged state file is moved aside likewise and the
 * counter restarts from the highest spooled seq (the collector's HelloAck
 * then moves it past anything it already holds).
 *
 * Bound and compaction.  The spool holds at most max_bytes of report files.
 * Each report's "status digest" is a SHA-256 over its (policy, check,
 * status) triples in order; two reports with equal digests have the same
 * status for every check.  When a new report would exceed the bound:
 *  1. Spooled reports whose digest equals that of the report before them
 *     (the previous spooled report, or for the oldest the last acknowledged
 *     one) carry no status change and are dropped, oldest first, until the
 *     new report fits.  Every transition keeps the report, and so the time,
 *     at which it was first seen.
 *  2. If that is not enough and the newest spooled report has the new
 *     report's digest, the new report supersedes it: the change it carries
 *     is carried by the new report too, only seen one scan later.
 *  3. If it still does not fit, every spooled report carries a status
 *     change.  None is dropped: the new report is spooled over the bound and
 *     an error is logged naming what was refused (compaction of N reports,
 *     B bytes over the bound) and why.  Only the disk (ENOSPC) stops the
 *     spool then, and that failure is returned to the caller.
 * The new report is always kept.  Every compaction is logged with the
 * sequence numbers and bytes dropped.
 *
 * Functions return 0 or a negative PST_E_* code with a message in e.
 */
#ifndef POSTURE_SPOOL_H
#define POSTURE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Largest report frame payload the spool accepts (the protocol default). */
#define SPOOL_MAX_FRAME (4u * 1024 * 1024)

struct spool;

/*
 * Open (creating it with mode 0700 when missing; its parent must exist) and
 * recover the spool at dir.  Refuses a directory another process holds
 * (PST_E_LIMIT).  A directory open to group or others is narrowed to 0700
 * with a warning.
 */
int spool_open(const char *dir, uint64_t max_bytes, struct spool **out, struct pst_err *e);

/* Close; NULL is accepted. */
void spool_free(struct spool *sp);

/* Assign the next sequence number and persist it before returning it. */
int spool_next_seq(struct spool *sp, uint64_t *seq, struct pst_err *e);

/*
 * Store env[0..len), one packed Envelope holding a Report whose seq is seq
 * (from spool_next_seq, above every spooled one), durably, compacting as
 * spool.h says.  PST_E_INVAL when env is not such a Report, PST_E_TOOBIG
 * over SPOOL_MAX_FRAME.
 */
int spool_put(struct spool *sp, uint64_t seq, const uint8_t *env, size_t len,
	      struct pst_err *e);

/*
 * The collector holds every report up to and including seq: delete those
 * files and persist seq as acknowledged.  A seq at or below the last
 * acknowledged one changes nothing.
 */
int spool_ack(struct spool *sp, uint64_t seq, struct pst_err *e);

/*
 * The collector already holds sequence numbers up to last_stored, at or
 * beyond what this spool assigned (its state was lost or restored): move
 * the counter to last_stored, so the next report gets last_stored + 1, and
 * delete spooled reports up to it, logging which.
 */
int spool_jump(struct spool *sp, uint64_t last_stored, struct pst_err *e);

/* The first spooled seq above after; false when there is none. */
bool spool_next_after(const struct spool *sp, uint64_t after, uint64_t *seq);

/* Spooled reports with after < seq <= upto. */
size_t spool_count_between(const struct spool *sp, uint64_t after, uint64_t upto);

/*
 * The spooled frame of seq (length prefix included) in a new buffer (free
 * it); PST_E_NOENT when seq is not spooled.
 */
int spool_read(struct spool *sp, uint64_t seq, uint8_t **frame, size_t *len,
	       struct pst_err *e);

/* Move seq's file to undeliverable/, logging reason. */
int spool_set_aside(struct spool *sp, uint64_t seq, const char *reason, struct pst_err *e);

size_t spool_count(const struct spool *sp);
uint64_t spool_bytes(const struct spool *sp);
/* Highest seq ever assigned (0 for none). */
uint64_t spool_last_seq(const struct spool *sp);
/* Highest seq acknowledged (0 for none). */
uint64_t spool_acked_seq(const struct spool *sp);
const char *spool_dir(const struct spool *sp);

#endif
