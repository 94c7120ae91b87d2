/*
 * patchroot.h - scratch roots for the patch probes' tests: a dpkg status
 * file, apt lists with their Release files, and times relative to now, built
 * at test time (git keeps no mtimes).  Header-only: each test includes it.
 */
#ifndef POSTURE_PATCHROOT_H
#define POSTURE_PATCHROOT_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"

#define PR_LISTS "var/lib/apt/lists/"

/* A dpkg status stanza (heap); status NULL is "install ok installed". */
static inline char *pr_stanza(const char *name, const char *version, const char *arch,
			      const char *status)
{
	char *s;

	assert_true(asprintf(&s,
			     "Package: %s\nStatus: %s\nPriority: optional\nArchitecture: %s\n"
			     "Version: %s\nDescription: %s\n a test package\n .\n more text\n\n",
			     name, status ? status : "install ok installed", arch, version, name) > 0);
	return s;
}

/* A Packages-list stanza (heap). */
static inline char *pr_list_stanza(const char *name, const char *version, const char *arch)
{
	char *s;

	assert_true(asprintf(&s, "Package: %s\nVersion: %s\nArchitecture: %s\nSize: 10\n"
				 "Description: %s\n\n", name, version, arch, name) > 0);
	return s;
}

/* Concatenate NULL-terminated heap strings, freeing them; heap result. */
static inline char *pr_cat(char *first, ...)
{
	va_list ap;
	char *acc = strdup(""), *s;

	assert_non_null(acc);
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, char *)) {
		char *n;

		assert_true(asprintf(&n, "%s%s", acc, s) > 0);
		free(acc);
		free(s);
		acc = n;
	}
	va_end(ap);
	return acc;
}

static inline void pr_write(const char *root, const char *rel, const char *content)
{
	assert_int_equal(tu_write(root, rel, content, 0644), 0);
}

static inline void pr_write_take(const char *root, const char *rel, char *content)
{
	pr_write(root, rel, content);
	free(content);
}

/* Set root/rel's mtime to days (and seconds) ago. */
static inline void pr_age(const char *root, const char *rel, long days, long seconds)
{
	struct timespec ts[2];
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - days * 86400 - seconds;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* RFC 2822 date days ago (static buffer). */
static inline const char *pr_date(long days)
{
	static char buf[64];
	time_t t = time(NULL) - days * 86400 - 60;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S UTC", &tm);
	return buf;
}

/*
 * A Release file (or clear-signed InRelease when signed) at rel; date_days < 0:
 * no Date field.
 */
static inline void pr_release(const char *root, const char *rel, const char *suite,
			      const char *codename, const char *label, long date_days, bool signed_)
{
	char *s, date[96] = "";

	if (date_days >= 0)
		snprintf(date, sizeof(date), "Date: %s\n", pr_date(date_days));
	assert_true(asprintf(&s, "%sOrigin: Debian\nLabel: %s\nSuite: %s\nCodename: %s\n%s"
				 "Architectures: all amd64 i386\nComponents: main\nSHA256:\n"
				 " 0000 10 main/binary-amd64/Packages\n%s",
			     signed_ ? "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" : "",
			     label, suite, codename, date,
			     signed_ ? "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n=AAAA\n-----END PGP SIGNATURE-----\n"
				     : "") > 0);
	pr_write_take(root, rel, s);
}

#endif
