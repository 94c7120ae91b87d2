/*
 * accountsdb.h - the account databases of a root: passwd, shadow, group,
 * gshadow, read from files (never through NSS, which would describe the
 * scanning host instead of the scanned root).
 *
 * Each entry keeps the line it came from, for evidence.  Numeric fields that
 * are empty in the file read as -1.  Lines that do not have the right number
 * of fields are kept in `malformed` (file:line) rather than silently skipped,
 * so that checks can report them.
 */
#ifndef POSTURE_ACCOUNTSDB_H
#define POSTURE_ACCOUNTSDB_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rootfs.h"

enum accountsdb_file {
	ACCOUNTSDB_PASSWD = 1 << 0,
	ACCOUNTSDB_SHADOW = 1 << 1,
	ACCOUNTSDB_GROUP = 1 << 2,
	ACCOUNTSDB_GSHADOW = 1 << 3,
	ACCOUNTSDB_ALL = 0xf,
};

struct pw_entry {
	char *name, *passwd, *gecos, *home, *shell;
	int64_t uid, gid;
	unsigned line;
};

struct sp_entry {
	char *name, *hash;
	int64_t lastchg, min, max, warn, inactive, expire; /* days; -1 when empty */
	unsigned line;
};

struct gr_entry {
	char *name, *passwd;
	int64_t gid;
	char **members;
	size_t nmembers;
	unsigned line;
};

struct gs_entry {
	char *name, *passwd;
	char **admins, **members;
	size_t nadmins, nmembers;
	unsigned line;
};

struct accountsdb {
	struct pw_entry *pw;
	size_t npw;
	struct sp_entry *sp;
	size_t nsp;
	struct gr_entry *gr;
	size_t ngr;
	struct gs_entry *gs;
	size_t ngs;
	char **malformed; /* "path:line" of lines that could not be parsed */
	size_t nmalformed;
	unsigned loaded;  /* ACCOUNTSDB_* bits of the files read */
};

/*
 * Read the files named by `which` (ACCOUNTSDB_* bits) from /etc under the
 * root.  A file that cannot be read is an error naming it (PST_E_NOENT,
 * PST_E_ACCES, ...), message in e.  Free with accountsdb_cleanup, also after
 * a failure.
 */
int accountsdb_load(struct accountsdb *db, const struct rootfs *r,
		    unsigned which, struct pst_err *e);
void accountsdb_cleanup(struct accountsdb *db);

/* Lookups; NULL when absent. The first entry wins, as in the C library. */
const struct pw_entry *accountsdb_user_by_uid(const struct accountsdb *db, int64_t uid);
const struct pw_entry *accountsdb_user_by_name(const struct accountsdb *db, const char *name);
const struct gr_entry *accountsdb_group_by_gid(const struct accountsdb *db, int64_t gid);
const struct gr_entry *accountsdb_group_by_name(const struct accountsdb *db, const char *name);
const struct sp_entry *accountsdb_shadow_by_name(const struct accountsdb *db, const char *name);

#endif
