/*
 * pkgdb.h - the installed packages of the scanned root, whichever package
 * manager keeps them: dpkg (/var/lib/dpkg/status, read as a file through the
 * root) or rpm (its database, read with librpm; see rpmdb.h).  The probes
 * ask this module and never care which it was, except to compare versions
 * by that family's rules (dpkg's order or rpmvercmp).
 *
 * The database is read once per scan and kept in the probe cache.
 */
#ifndef POSTURE_PKGDB_H
#define POSTURE_PKGDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

/* Largest dpkg status file read (a full desktop's is a few MiB). */
#define PKGDB_MAX_STATUS_BYTES (64u * 1024 * 1024)
/* Most installed packages kept. */
#define PKGDB_MAX_PACKAGES 200000

enum pkgdb_family {
	PKGDB_DPKG = 1,
	PKGDB_RPM,
};

struct pkgdb_pkg {
	char *name;
	char *version;   /* dpkg: [epoch:]upstream[-revision]; rpm: [epoch:]version-release */
	char *arch;      /* "amd64", "all", "x86_64", "noarch"; "" when the database has none */
	char *source;    /* dpkg Source without its version, or the package name; rpm: the source rpm */
	char *state;     /* dpkg's status word ("installed", "unpacked", ...); rpm: "installed" */
	unsigned line;   /* dpkg: line of the stanza in the status file; rpm: 0 */
	int64_t installtime; /* rpm: INSTALLTIME (seconds since the epoch); dpkg: -1 */
};

struct pkgdb {
	enum pkgdb_family family;
	char *path;         /* what was read: "/var/lib/dpkg/status" or the rpm database directory */
	char *native_arch;  /* dpkg: the Architecture of the dpkg package; rpm: NULL */
	struct pkgdb_pkg *pkgs; /* present packages (dpkg: neither not-installed nor config-files), sorted by name, arch, version text */
	size_t n, cap;
};

/*
 * The root's package database, read on the first call of a scan and cached
 * in ctx->cache (when there is one; otherwise *db is owned by *owned and the
 * caller frees it with pkgdb_free).  dpkg is chosen when
 * /var/lib/dpkg/status exists, else rpm when its database does.  Neither:
 * PST_E_NOENT with out->reason saying so.  Other failures fill out->reason.
 */
int pkgdb_get(const struct probe_ctx *ctx, struct probe_out *out, const struct pkgdb **db,
	      struct pkgdb **owned);
void pkgdb_free(struct pkgdb *db);

/* Which family the root has, without reading it; 0 when none. */
enum pkgdb_family pkgdb_detect(const struct rootfs *r, char **rpm_dbpath);

/* The packages called name: index of the first in *first, and how many. */
size_t pkgdb_find(const struct pkgdb *db, const char *name, size_t *first);

/*
 * Compare two versions by the family's rules into *result (<0, 0, >0).
 * PST_E_PARSE when a dpkg version does not parse (*why says why).
 */
int pkgdb_vercmp(enum pkgdb_family f, const char *a, const char *b, int *result,
		 const char **why);

/* The family's name for evidence: "dpkg" or "rpm". */
const char *pkgdb_family_name(enum pkgdb_family f);

/* --- building (dpkgstatus.c, rpmdb.c) --- */

/* Append a package (strings copied; source NULL means name). PST_E_NOMEM, PST_E_LIMIT. */
int pkgdb_add(struct pkgdb *db, const char *name, size_t name_len, const char *version,
	      size_t version_len, const char *arch, size_t arch_len, const char *source,
	      size_t source_len, const char *state, unsigned line, int64_t installtime);
/* Sort by name and arch once everything is added. */
void pkgdb_sort(struct pkgdb *db);

#endif
