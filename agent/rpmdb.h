/*
 * rpmdb.h - the installed packages of an rpm-family root, read with librpm
 * (the database format is rpm's own: sqlite, ndb or Berkeley DB, and only
 * librpm reads all of them), and rpm's version ordering.
 *
 * librpm opens files by path, not through our root's directory handle: the
 * database directory is first resolved inside the root (rootfs_realpath),
 * so a symbolic link in the image cannot lead the read outside it, and the
 * database is opened read-only.
 */
#ifndef POSTURE_RPMDB_H
#define POSTURE_RPMDB_H

#include "pkgdb.h"

/* Database directories, newest layout first, as seen inside the root. */
extern const char *const rpmdb_paths[];

/*
 * Read every installed package (name, [epoch:]version-release, arch,
 * source rpm, install time) from the database in dbpath (inside r) into db.
 * PST_E_SYS with librpm's words in e when the database cannot be opened.
 */
int rpmdb_load(struct pkgdb *db, const struct rootfs *r, const char *dbpath, struct pst_err *e);

/* rpm's order of two [epoch:]version[-release] strings: <0, 0, >0. */
int rpmdb_vercmp(const char *a, const char *b);

#endif
