/*
 * dpkgver.h - Debian package versions, parsed and ordered exactly as dpkg
 * does (lib/dpkg/version.c and parsehelp.c of dpkg 1.21).
 *
 * A version is [epoch:]upstream[-revision].  The epoch is a decimal number
 * (0 when left out); the revision is what follows the last '-'.  Upstream and
 * revision compare part by part: a run of non-digits, compared character by
 * character where '~' sorts before everything (even the end of the string),
 * the end before letters and letters before every other character; then a
 * run of digits compared as a number of any length.
 *
 * Parsing takes an explicit length and never reads past it.  It refuses
 * what dpkg refuses (empty string, embedded blanks, a bad epoch, an empty
 * upstream or revision) and, like dpkg, accepts versions dpkg only warns
 * about (an upstream not starting with a digit, odd characters), which can
 * stand in a status file.  A NUL byte inside the length is refused too.
 */
#ifndef POSTURE_DPKGVER_H
#define POSTURE_DPKGVER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Longest version accepted, in bytes (Debian's are a few dozen). */
#define DPKGVER_MAX_LEN 1024

/* A parsed version: views into the string given to dpkgver_parse. */
struct dpkgver {
	unsigned epoch;
	const char *upstream;
	size_t upstream_len;
	const char *revision; /* "" (length 0) when there is none */
	size_t revision_len;
};

/*
 * Parse s (len bytes, no NUL needed) into *v, which borrows from s.
 * Returns 0, or PST_E_PARSE with *why (may be NULL) set to dpkg's words for
 * the fault ("epoch in version is not number"), or PST_E_TOOBIG past
 * DPKGVER_MAX_LEN.
 */
int dpkgver_parse(struct dpkgver *v, const char *s, size_t len, const char **why);

/* <0, 0, >0 as a sorts before, equal to or after b in dpkg's order. */
int dpkgver_cmp(const struct dpkgver *a, const struct dpkgver *b);

/*
 * Parse both NUL-terminated strings and compare them into *result (-1, 0,
 * 1).  Returns 0 or dpkgver_parse's code for the first that does not parse.
 */
int dpkgver_compare_str(const char *a, const char *b, int *result);

#endif
