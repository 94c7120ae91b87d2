/*
 * pkg_installed.c - the `pkg_installed` probe: which of the named packages
 * are installed (dpkg or rpm, whichever the root has).
 *
 * A set probe, made for "absent": one observation per installed package
 * whose name matches, none when none is installed.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "pkgdb.h"
#include "probe.h"

static const struct probe_param params[] = {
	{"names", PARAM_STRING_LIST, true, NULL, NULL,
	 "Package names, or fnmatch patterns such as \"rsh-*\", e.g. [\"telnetd\", "
	 "\"rsh-server\", \"nis\"]. On an rpm root the same names are looked up in the rpm "
	 "database."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	const json_t *names = probe_param_list(p, "names");
	size_t i;
	json_t *v;

	if (names == NULL || json_array_size(names) == 0)
		return pst_err_set(e, PST_E_INVAL, "names must hold at least one package name");
	json_array_foreach(names, i, v)
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 255)
			return pst_err_set(e, PST_E_INVAL,
					   "names[%zu] must be a package name of 1 to 255 bytes", i);
	return 0;
}

static bool wanted(const json_t *names, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v)
		if (fnmatch(json_string_value(v), name, 0) == 0)
			return true;
	return false;
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const json_t *names = probe_param_list(p, "names");
	struct pkgdb *own = NULL;
	const struct pkgdb *db;
	size_t i;
	int rc;

	if (names == NULL)
		return probe_out_fail(out, PST_E_INVAL, "names is required");
	rc = pkgdb_get(ctx, out, &db, &own);
	if (rc < 0)
		return rc;
	for (i = 0; i < db->n && rc == 0; i++) {
		const struct pkgdb_pkg *pkg = &db->pkgs[i];

		if (!wanted(names, pkg->name))
			continue;
		rc = probe_out_add(out, pkg->name, pkg->arch, db->path, pkg->line,
				   value_str(pkg->version));
		if (rc == 0)
			rc = probe_out_note(out, "%s package, state %s", pkgdb_family_name(db->family),
					    pkg->state);
	}
	pkgdb_free(own);
	return rc;
}

const struct probe probe_pkg_installed = {
	.name = "pkg_installed",
	.summary = "Installed packages whose names match a list, from the dpkg status file or "
		   "the rpm database.",
	.value_doc = "One observation per installed package that matches: subject its name, "
		     "key its architecture, value its version, location the status file and line "
		     "of its stanza (the rpm database directory for rpm), note the package "
		     "manager and dpkg's state. A dpkg package whose state is config-files or "
		     "not-installed has no files left and does not count. None when no such "
		     "package is installed: use absent. A root with neither database makes the "
		     "check an error.",
	.params = params,
	.validate = validate,
	.run = run,
};
