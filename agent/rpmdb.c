/* rpmdb.c - installed packages from an rpm database through librpm (rpmdb.h). */
#include "rpmdb.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>
#include <rpm/rpmver.h>

const char *const rpmdb_paths[] = {"/usr/lib/sysimage/rpm", "/var/lib/rpm", NULL};

/* librpm's configuration (macros) is process-wide: read it once. */
static int rpm_ready;

/* librpm reports through rpmlog; keep its last error for our message instead of stderr. */
static char rpm_lasterr[256];

static int log_cb(rpmlogRec rec, rpmlogCallbackData data)
{
	const char *msg = rpmlogRecMessage(rec);
	size_t n;

	(void)data;
	if (msg != NULL && rpmlogRecPriority(rec) <= RPMLOG_WARNING) {
		snprintf(rpm_lasterr, sizeof(rpm_lasterr), "%s", msg);
		n = strlen(rpm_lasterr);
		while (n > 0 && rpm_lasterr[n - 1] == '\n')
			rpm_lasterr[--n] = '\0';
	}
	return 0; /* handled: librpm prints nothing */
}

static int ensure_rpm(struct pst_err *e)
{
	rpmlogSetCallback(log_cb, NULL);
	if (rpm_ready)
		return 0;
	if (rpmReadConfigFiles(NULL, NULL) != 0)
		return pst_err_set(e, PST_E_SYS, "librpm cannot read its configuration: %s",
				   rpm_lasterr[0] ? rpm_lasterr : "unknown error");
	rpm_ready = 1;
	return 0;
}

int rpmdb_load(struct pkgdb *db, const struct rootfs *r, const char *dbpath, struct pst_err *e)
{
	rpmts ts = NULL;
	rpmdbMatchIterator mi = NULL;
	Header h;
	char *real = NULL, *host = NULL;
	int rc, pushed = 0;

	db->family = PKGDB_RPM;
	rpm_lasterr[0] = '\0';
	rc = ensure_rpm(e);
	if (rc < 0)
		return rc;
	/* Resolve the directory inside the root, then hand librpm the host path. */
	rc = rootfs_realpath(r, dbpath, &real);
	if (rc < 0)
		return pst_err_set(e, rc, "%s", rootfs_strerror(rc));
	if (asprintf(&host, "%s%s", strcmp(r->path, "/") == 0 ? "" : r->path, real) < 0) {
		host = NULL;
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	db->path = strdup(dbpath);
	if (db->path == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	rpmPushMacro(NULL, "_dbpath", NULL, host, RMIL_CMDLINE);
	pushed = 1;
	ts = rpmtsCreate();
	if (ts == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	rpmtsSetRootDir(ts, "/");
	rpmtsSetVSFlags(ts, RPMVSF_MASK_NOSIGNATURES);
	if (rpmtsOpenDB(ts, O_RDONLY) != 0) {
		rc = pst_err_set(e, PST_E_SYS, "%s", rpm_lasterr[0] ? rpm_lasterr : "cannot open it");
		goto out;
	}
	mi = rpmtsInitIterator(ts, RPMDBI_PACKAGES, NULL, 0);
	while (mi != NULL && (h = rpmdbNextIterator(mi)) != NULL) {
		const char *name = headerGetString(h, RPMTAG_NAME);
		const char *arch = headerGetString(h, RPMTAG_ARCH);
		const char *srpm = headerGetString(h, RPMTAG_SOURCERPM);
		char *evr;

		/* Imported signing keys are pseudo-packages without an arch. */
		if (name == NULL || strcmp(name, "gpg-pubkey") == 0)
			continue;
		evr = headerGetAsString(h, RPMTAG_EVR);
		if (evr == NULL) {
			rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
			goto out;
		}
		if (arch == NULL)
			arch = "";
		rc = pkgdb_add(db, name, strlen(name), evr, strlen(evr), arch, strlen(arch),
			       srpm, srpm ? strlen(srpm) : 0, "installed", 0,
			       (int64_t)headerGetNumber(h, RPMTAG_INSTALLTIME));
		free(evr);
		if (rc < 0) {
			rc = pst_err_set(e, rc, rc == PST_E_LIMIT ? "too many packages" : "out of memory");
			goto out;
		}
	}
	pkgdb_sort(db);
	rc = 0;
out:
	rpmdbFreeIterator(mi);
	if (ts != NULL) {
		rpmtsCloseDB(ts);
		rpmtsFree(ts);
	}
	if (pushed)
		rpmPopMacro(NULL, "_dbpath");
	free(real);
	free(host);
	return rc;
}

int rpmdb_vercmp(const char *a, const char *b)
{
	rpmver va = rpmverParse(a), vb = rpmverParse(b);
	int r;

	if (va != NULL && vb != NULL)
		r = rpmverCmp(va, vb);
	else
		r = rpmvercmp(a, b);
	rpmverFree(va);
	rpmverFree(vb);
	return r;
}
