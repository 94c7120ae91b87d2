/*
 * show.h - what the store holds, for a person or a script: the
 * `posture-collector show --config FILE` command.
 */
#ifndef POSTURE_SHOW_H
#define POSTURE_SHOW_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

/*
 * Open the store named by store_spec (store_open) and print every host,
 * ordered by agent id: agent id, host name, OS, last report (RFC 3339
 * UTC), score (one decimal), pass/fail/error/n.a. counts, then its failing
 * checks (fail first, by severity, then error) with the first evidence
 * item's observed and expected values.
 *
 * json=true prints one JSON document instead:
 *   {"format": "posture.show/v1", "store": SPEC, "hosts": [
 *     {"agent_id", "hostname", "os_id", "os_version", "kernel",
 *      "first_seen", "last_seen", "last_report" (null when none), "last_seq",
 *      "summary": {"pass", "fail", "error", "not_applicable", "score" (absent
 *                  when pass + fail = 0)},
 *      "problems": [{"policy", "check", "title", "status", "severity",
 *                    "category", "since", "seq", "evidence": [...]}]}]}
 * Returns 0, or a negative PST_E_* code with the message in e.
 */
int show_store(const char *store_spec, FILE *out, bool json, struct pst_err *e);

#endif
