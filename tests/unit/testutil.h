/*
 * testutil.h - small helpers shared by the unit tests: fixture paths,
 * scratch trees built at test time (git keeps neither modes nor owners),
 * and running a probe on a root with parameters given as JSON text, the
 * way the policy loader hands them over, with assertions on what it saw.
 *
 * The probe helpers assert with cmocka, so they are for use inside a test.
 */
#ifndef POSTURE_TESTUTIL_H
#define POSTURE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "probe.h"

/*
 * POSTURE_FIXTURES "/" and the printf-style rest, in a static buffer (valid
 * until the next call): tu_fixture("probes/pam/%s", root).
 */
const char *tu_fixture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A fresh directory under $TMPDIR (or /tmp); heap string; aborts the test run on failure. */
char *tu_mkdtemp(void);

/* Remove a tree (no symlinks followed). */
void tu_rmrf(const char *path);

/* Write content to root/rel with mode, creating parent directories (0755). 0 or -1. */
int tu_write(const char *root, const char *rel, const char *content, mode_t mode);

/* Copy the host file src (at most 64 KiB) to root/rel as tu_write does. 0 or -1. */
int tu_copy(const char *src, const char *root, const char *rel, mode_t mode);

/* --- probes --- */

/*
 * Parameters for probe p from JSON text with the parameter table's defaults
 * applied, as the policy loader does (no type checks).  Asserts that the
 * text parses.  The caller owns the result (json_decref).
 */
json_t *tu_params(const struct probe *p, const char *json);

/* p's validate on tu_params(p, json): 0, or its code with a message in e. */
int tu_validate(const struct probe *p, const char *json, struct pst_err *e);

/*
 * Run p on the tree at root_dir (a host path) with tu_params(p, json):
 * out is initialised first; asserts that validate passes and the root
 * opens.  Returns run()'s code; the caller cleans out up, also on failure.
 */
int tu_run(const struct probe *p, const char *root_dir, const char *json,
	   struct probe_out *out);

/* tu_run fails with code and reason and adds no observation. */
void tu_expect_fail(const struct probe *p, const char *root_dir, const char *json,
		    int code, const char *reason);

/*
 * Observation i of out (which must exist) has this subject, key, location
 * and note; key, location or note NULL: it must have none.  value NULL: the
 * value is absent; otherwise it is present and value_format() gives value
 * (so integers, modes and booleans compare as text: "90", "0640", "true").
 */
void tu_expect_obs(const struct probe_out *out, size_t i, const char *subject,
		   const char *key, const char *location, const char *value,
		   const char *note);

/* tu_expect_obs, and a value that is given is a string (VALUE_STRING). */
void tu_expect_str(const struct probe_out *out, size_t i, const char *subject,
		   const char *key, const char *location, const char *value,
		   const char *note);

/* The value of observation i of out is of kind kind. */
void tu_expect_kind(const struct probe_out *out, size_t i, enum value_kind kind);

#endif
