/*
 * testutil.h - small helpers shared by the unit tests: fixture paths,
 * scratch trees built at test time (git keeps neither modes nor owners),
 * and running a probe on a root with parameters given as JSON text.
 */
#ifndef POSTURE_TESTUTIL_H
#define POSTURE_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "probe.h"

/* POSTURE_FIXTURES "/" rel, in a static buffer (valid until the next call). */
const char *tu_fixture(const char *rel);

/* A fresh directory under $TMPDIR (or /tmp); heap string; aborts the test run on failure. */
char *tu_mkdtemp(void);

/* Remove a tree (no symlinks followed). */
void tu_rmrf(const char *path);

/* Write content to root/rel with mode, creating parent directories (0755). 0 or -1. */
int tu_write(const char *root, const char *rel, const char *content, mode_t mode);

/*
 * Run probe `name` on the tree at root with parameters params_json (loader
 * defaults are NOT applied: give every parameter the probe reads, or use
 * tu_run_rule_probe).  Returns run()'s code; out must be cleaned up.
 */
int tu_run_probe(const char *root, const char *name, const char *params_json,
		 struct probe_out *out);

#endif
