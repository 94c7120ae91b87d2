/*
 * pkg_updates.c - the `pkg_updates` probe: installed packages for which
 * apt's lists hold a higher version (dpkg family).
 *
 * A set probe: one observation per pending update.  The candidate is the
 * highest version for the package's architecture (or "all") in any list, in
 * dpkg's order, as apt picks it absent pinning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aptlists.h"
#include "dpkgver.h"
#include "pkgdb.h"
#include "probe.h"

static const struct probe_param params[] = {
	{"exclude", PARAM_STRING_LIST, false, "[]", NULL,
	 "Package names to leave out (exact names), e.g. packages held back on purpose."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const json_t *exclude = probe_param_list(p, "exclude");
	struct pkgdb *own_db = NULL;
	struct aptlists *own_lists = NULL;
	const struct pkgdb *db;
	const struct aptlists *l;
	size_t i;
	int rc;

	rc = aptlists_get_dpkg(ctx, out, "pending updates", &db, &own_db, &l, &own_lists);
	if (rc < 0)
		goto out;
	for (i = 0; i < db->n && rc == 0; i++) {
		const struct pkgdb_pkg *pkg = &db->pkgs[i];
		const struct aptlists_cand *c = &l->best[i];
		const struct aptlists_source *s;
		char *desc;
		int cmp;

		if (c->version == NULL || aptlists_name_in(exclude, pkg->name))
			continue;
		if (dpkgver_compare_str(c->version, pkg->version, &cmp) != 0 || cmp <= 0)
			continue;
		s = &l->src[c->source];
		rc = probe_out_add(out, pkg->name, pkg->arch, s->path, c->line,
				   value_str(c->version));
		if (rc < 0)
			break;
		desc = aptlists_describe(s);
		rc = probe_out_note(out, "installed %s (%s:%u), candidate %s from %s",
				    pkg->version, db->path, pkg->line, c->version,
				    desc ? desc : "?");
		free(desc);
	}
out:
	aptlists_free(own_lists);
	pkgdb_free(own_db);
	return rc;
}

const struct probe probe_pkg_updates = {
	.name = "pkg_updates",
	.summary = "Installed packages (dpkg status) for which apt's package lists hold a "
		   "higher version: the updates apt would install.",
	.value_doc = "One observation per pending update: subject the package, key its "
		     "architecture, value the candidate version, location the list file and line "
		     "of the candidate's stanza, note the installed version (status file:line) and "
		     "the suite. The candidate is the highest version for the architecture (or "
		     "\"all\") in any list under /var/lib/apt/lists (plain, .gz or .lz4), in "
		     "dpkg's order, as apt picks absent pinning. None when up to date: use absent, "
		     "or count. No list at all, or an rpm root, makes the check an error.",
	.params = params,
	.run = run,
};
