/*
 * dpkgstatus.h - dpkg's record of installed packages, /var/lib/dpkg/status,
 * a deb822 file (deb822.h): one stanza per package with Package, Status
 * ("want flag status", e.g. "install ok installed"), Version, Architecture
 * and Source.
 */
#ifndef POSTURE_DPKGSTATUS_H
#define POSTURE_DPKGSTATUS_H

#include <stddef.h>

#include "pkgdb.h"

#define DPKGSTATUS_PATH "/var/lib/dpkg/status"

/*
 * Parse a status file (data, len) into db (family, path and packages set;
 * db zeroed by the caller).  Packages whose status is not-installed or
 * config-files are left out: their files are gone.  A stanza without
 * Package, with a Status that is not three words, or, when present, without
 * a Version that dpkg would accept is an error: PST_E_PARSE with "line N:
 * ..." in e.  Free with pkgdb_free.
 */
int dpkgstatus_parse(struct pkgdb *db, const char *data, size_t len, struct pst_err *e);

#endif
