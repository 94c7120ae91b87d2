/*
 * aptlists.h - what apt knows is available: the Packages lists under
 * /var/lib/apt/lists (plain, or kept compressed with .gz or .lz4) and the
 * InRelease or Release file of the archive each came from, which names the
 * suite (Suite, Codename, Origin, Label) and when the archive was made
 * (Date).  InRelease is clear-signed: the fields are read and the signature
 * is not checked (apt checked it when it fetched the file).
 *
 * For every installed package (pkgdb.h, dpkg family) this finds the
 * candidate apt would pick absent pinning: the highest version in any list
 * for the package's architecture (or "all"), and separately the highest
 * from a security suite.  Read once per scan, kept in the probe cache.
 */
#ifndef POSTURE_APTLISTS_H
#define POSTURE_APTLISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkgdb.h"

#define APTLISTS_DIR "/var/lib/apt/lists"
/* Largest list once decompressed (Debian main for one arch is about 50 MiB). */
#define APTLISTS_MAX_LIST_BYTES (512u * 1024 * 1024)
/* Largest Release or InRelease file. */
#define APTLISTS_MAX_RELEASE_BYTES (16u * 1024 * 1024)

struct aptlists_source {
	char *path;      /* the Packages list, as seen inside the root */
	char *release;   /* the InRelease or Release file read for it; NULL when none */
	char *suite, *codename, *origin, *label; /* "" when not given */
	int64_t date;    /* the Release Date, seconds since the epoch; -1 when none */
	int64_t mtime;   /* of the Packages list file */
	bool security;
};

struct aptlists_cand {
	char *version;   /* NULL: no list has the package */
	size_t source;   /* index into aptlists.src */
	unsigned line;   /* of the stanza in the list */
};

struct aptlists {
	struct aptlists_source *src;
	size_t nsrc;
	/* One per package of the pkgdb it was built for, same index. */
	struct aptlists_cand *best, *best_security;
	size_t npkgs;
};

/*
 * The lists of the root, matched against db (cached in ctx->cache; without
 * a cache *owned receives what the caller frees with aptlists_free).  No
 * list at all is success with nsrc 0.  A list that cannot be read,
 * decompressed or parsed fails with out->reason naming it (file:line).
 */
int aptlists_get(const struct probe_ctx *ctx, struct probe_out *out, const struct pkgdb *db,
		 const struct aptlists **lists, struct aptlists **owned);
void aptlists_free(struct aptlists *l);

/*
 * What the pending-update probes start from: the root's dpkg database and
 * apt's lists matched to it (both through the scan's cache; *own_db and
 * *own_lists receive what the caller frees when there is no cache).  Fails,
 * with out->reason saying so, on an rpm root ("what are read from apt's
 * lists") and when apt has no list at all.
 */
int aptlists_get_dpkg(const struct probe_ctx *ctx, struct probe_out *out, const char *what,
		      const struct pkgdb **db, struct pkgdb **own_db,
		      const struct aptlists **lists, struct aptlists **own_lists);

/* True when name is one of the strings of the JSON array list (an `exclude` parameter). */
bool aptlists_name_in(const json_t *list, const char *name);

/* True when a Release with these fields is a security suite ("-security", Debian-Security). */
bool aptlists_is_security(const char *suite, const char *codename, const char *label);

/*
 * Parse an RFC 2822 date as in Release files ("Sat, 09 Nov 2024 10:06:52
 * UTC", numeric zones too) from (s, n) into seconds since the epoch.
 */
int aptlists_parse_date(const char *s, size_t n, int64_t *out);

/*
 * A human description of a source for evidence: "bookworm-security
 * (Debian, Debian-Security)".  Heap; NULL when out of memory.
 */
char *aptlists_describe(const struct aptlists_source *s);

#endif
