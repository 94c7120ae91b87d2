/*
 * pkg_security_updates.c - the `pkg_security_updates` probe: installed
 * packages for which a security suite's list holds a higher version, and
 * for how long the fix has been available.
 *
 * How long: the Date of the security archive's Release file the candidate
 * came from (the mtime of the list when the Release has no Date).  The
 * archive is regenerated whenever anything in it changes, so the fix was
 * published at or before that Date: now - Date is a lower bound on how long
 * the update has been pending, never more than the truth, so a check on it
 * fails only when the update is provably overdue.  On a host that stopped
 * fetching lists it also grows, as it should: the host has known of the fix
 * at least that long.  The list's mtime is what apt set from the server's
 * Last-Modified and is easily disturbed by copying a root, which is why the
 * Release Date, inside the signed file, comes first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aptlists.h"
#include "dpkgver.h"
#include "pkgdb.h"
#include "probe.h"
#include "timefmt.h"

static const struct probe_param params[] = {
	{"exclude", PARAM_STRING_LIST, false, "[]", NULL,
	 "Package names to leave out (exact names)."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const json_t *exclude = probe_param_list(p, "exclude");
	struct pkgdb *own_db = NULL;
	struct aptlists *own_lists = NULL;
	const struct pkgdb *db;
	const struct aptlists *l;
	/* The scan's reference time, so every check of a scan measures from one instant. */
	int64_t now = ctx->now_us != 0 ? ctx->now_us / 1000000 : (int64_t)time(NULL);
	size_t i;
	int rc;

	rc = aptlists_get_dpkg(ctx, out, "pending security updates", &db, &own_db, &l, &own_lists);
	if (rc < 0)
		goto out;
	for (i = 0; i < db->n && rc == 0; i++) {
		const struct pkgdb_pkg *pkg = &db->pkgs[i];
		const struct aptlists_cand *c = &l->best_security[i];
		const struct aptlists_source *s;
		int64_t since, days;
		char when[32], *desc;
		int cmp;

		if (c->version == NULL || aptlists_name_in(exclude, pkg->name))
			continue;
		if (dpkgver_compare_str(c->version, pkg->version, &cmp) != 0 || cmp <= 0)
			continue;
		s = &l->src[c->source];
		since = s->date >= 0 ? s->date : s->mtime;
		days = now > since ? (now - since) / 86400 : 0;
		rc = probe_out_add(out, pkg->name, pkg->arch, s->path, c->line, value_int(days));
		if (rc < 0)
			break;
		timefmt_rfc3339(since * 1000000, when, sizeof(when));
		desc = aptlists_describe(s);
		rc = probe_out_note(out,
				    "installed %s (%s:%u), security update %s from %s; pending at "
				    "least %lld days (%s %s of %s)",
				    pkg->version, db->path, pkg->line, c->version, desc ? desc : "?",
				    (long long)days, s->date >= 0 ? "Release Date" : "list modified",
				    when, s->date >= 0 ? s->release : s->path);
		free(desc);
	}
out:
	aptlists_free(own_lists);
	pkgdb_free(own_db);
	return rc;
}

const struct probe probe_pkg_security_updates = {
	.name = "pkg_security_updates",
	.summary = "Installed packages (dpkg status) for which a security suite's list holds a "
		   "higher version, with the number of days the fix has been available.",
	.value_doc = "One observation per pending security update: subject the package, key "
		     "its architecture, value the number of whole days the update has been "
		     "pending at least, location the list file and line of the update's stanza, "
		     "note the installed and fixed versions and where the age comes from. A "
		     "security suite is one whose Release file has a Suite or Codename ending in "
		     "\"-security\" (or \"/updates\") or the Label \"Debian-Security\". The age is "
		     "now minus the Date of that Release file (the list file's modification time "
		     "when it has none): the archive was generated at that Date with the fix in "
		     "it, so the age is a lower bound. None when no security update is pending: "
		     "use absent, count, or le with a number of days.",
	.params = params,
	.run = run,
};
