/*
 * pkg_min_version.c - the `pkg_min_version` probe: whether a package is
 * installed at or above a version, in its package manager's order (dpkg's
 * for a dpkg root, rpm's for an rpm root).
 */
#include <stdio.h>
#include <string.h>

#include "dpkgver.h"
#include "pkgdb.h"
#include "probe.h"

static const struct probe_param params[] = {
	{"name", PARAM_STRING, true, NULL, NULL,
	 "The package, e.g. \"openssl\" (each installed architecture is observed)."},
	{"min_version", PARAM_STRING, true, NULL, NULL,
	 "The lowest acceptable version, as the package manager writes it, e.g. "
	 "\"3.0.15-1~deb12u1\" (dpkg) or \"1:3.0.7-27.el9\" (rpm: [epoch:]version-release)."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	const char *min = probe_param_str(p, "min_version");
	const char *name = probe_param_str(p, "name");
	struct dpkgver v;
	const char *why;

	if (name == NULL || name[0] == '\0')
		return pst_err_set(e, PST_E_INVAL, "name must not be empty");
	if (min == NULL || dpkgver_parse(&v, min, strlen(min), &why) != 0)
		return pst_err_set(e, PST_E_INVAL, "min_version \"%s\" is not a version: %s",
				   min ? min : "", min ? why : "missing");
	return 0;
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const char *name = probe_param_str(p, "name");
	const char *min = probe_param_str(p, "min_version");
	struct pkgdb *own = NULL;
	const struct pkgdb *db;
	const char *why = NULL;
	size_t first, n, i;
	int rc;

	if (name == NULL || min == NULL)
		return probe_out_fail(out, PST_E_INVAL, "name and min_version are required");
	rc = pkgdb_get(ctx, out, &db, &own);
	if (rc < 0)
		return rc;
	n = pkgdb_find(db, name, &first);
	if (n == 0) {
		rc = probe_out_add(out, name, "installed", db->path, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "not installed (%s database)",
					    pkgdb_family_name(db->family));
	}
	for (i = first; i < first + n && rc == 0; i++) {
		const struct pkgdb_pkg *pkg = &db->pkgs[i];
		int cmp;

		rc = pkgdb_vercmp(db->family, pkg->version, min, &cmp, &why);
		if (rc < 0) {
			rc = probe_out_fail(out, rc, "cannot compare %s with %s: %s", pkg->version,
					    min, why ? why : "not a version");
			break;
		}
		rc = probe_out_add(out, pkg->name, pkg->arch, db->path, pkg->line,
				   value_bool(cmp >= 0));
		if (rc == 0)
			rc = probe_out_note(out, "installed %s %s %s (%s order)", pkg->version,
					    cmp >= 0 ? ">=" : "<", min, pkgdb_family_name(db->family));
	}
	pkgdb_free(own);
	return rc;
}

const struct probe probe_pkg_min_version = {
	.name = "pkg_min_version",
	.summary = "Whether a package is installed at or above a minimum version, compared in "
		   "dpkg's order on a dpkg root and rpm's on an rpm root.",
	.value_doc = "One boolean per installed architecture of the package: true when the "
		     "installed version is at or above min_version; subject the package, key its "
		     "architecture, location the status file and line, note both versions. Absent "
		     "(noted \"not installed\") when the package is not installed, which fails eq "
		     "true.",
	.params = params,
	.validate = validate,
	.run = run,
};
