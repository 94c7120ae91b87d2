/*
 * engine.h - evaluating policies against a root.
 *
 * For each check the engine first evaluates `applicable_if` (all must pass,
 * else the check is not_applicable), then each rule: it runs the rule's
 * probe, compares every observation with the rule's operator, and records
 * evidence (what was read, where, what was found, what was expected).
 * Rules combine by the check's match mode:
 *   all:  fail if any rule fails; else error if any errs; else pass.
 *   any:  pass if any rule passes; else error if any errs; else fail.
 *   none: fail if any rule passes; else error if any errs; else pass.
 * A probe that cannot read what it needs makes its rule error, never pass.
 */
#ifndef POSTURE_ENGINE_H
#define POSTURE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "hostinfo.h"
#include "policy.h"
#include "probe.h"

/* Evidence items kept per rule; the rest are summarised in one more item. */
#define ENGINE_MAX_EVIDENCE_PER_RULE 50

enum check_status {
	CHECK_PASS = 1,
	CHECK_FAIL,
	CHECK_ERROR,
	CHECK_NOT_APPLICABLE,
};

struct evidence {
	char *subject, *observed, *expected, *location; /* location may be NULL */
	bool ok; /* this item agrees with what its rule expects */
};

struct check_result {
	const struct policy *policy;
	const struct check *check;
	enum check_status status;
	struct evidence *ev;
	size_t nev;
	char *reason;         /* why, for error and not_applicable; else NULL */
	uint64_t duration_us;
};

struct scan {
	struct hostinfo host;
	int64_t started_us, finished_us;  /* Unix time, microseconds */
	struct policy *const *policies;   /* borrowed */
	size_t npolicies;
	struct check_result *results;
	size_t nresults;
	size_t counts[CHECK_NOT_APPLICABLE + 1]; /* indexed by enum check_status */
};

/*
 * Evaluate every check of every policy against ctx->root.  Fills s (which
 * borrows the policies; keep them alive as long as s).  Returns 0, or
 * PST_E_NOMEM; check-level problems are results, not errors.
 */
int engine_scan(struct scan *s, struct policy *const *policies, size_t npolicies,
		const struct probe_ctx *ctx, const struct hostinfo *host);
void engine_scan_cleanup(struct scan *s);

const char *engine_status_name(enum check_status st);

/* 100 * pass / (pass + fail); false when pass + fail is 0. */
bool engine_score(const struct scan *s, double *score);

#endif
