/*
 * unattended_upgrades.c - the `unattended_upgrades` probe: whether apt
 * fetches lists and installs updates by itself (Debian family).
 *
 * apt's daily timer (apt.systemd.daily) fetches lists when
 * APT::Periodic::Update-Package-Lists is set and not "0", and runs
 * unattended-upgrade when APT::Periodic::Unattended-Upgrade is too, which
 * needs the unattended-upgrades package; APT::Periodic::Enable "0" turns
 * all of it off.  Each condition is one observation so that the evidence
 * says which one is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aptconf.h"
#include "pkgdb.h"
#include "probe.h"

static const struct probe_param params[] = {
	{NULL, 0, false, NULL, NULL, NULL},
};

/* One APT::Periodic setting; unset reads as off unless optional. */
static int setting(const struct probe_ctx *ctx, struct probe_out *out, const char *name,
		   bool optional)
{
	char *value = NULL, *path = NULL;
	unsigned line = 0;
	int rc;

	rc = aptconf_lookup(ctx, out, name, &value, &path, &line);
	if (rc < 0)
		return rc;
	if (value == NULL) {
		if (!optional) {
			rc = probe_out_add(out, name, "enabled", APTCONF_PARTS_DIR, 0,
					   value_bool(false));
			if (rc == 0)
				rc = probe_out_note(out, "not set in %s or %s: apt's default is off",
						    APTCONF_PARTS_DIR, APTCONF_MAIN);
		}
		goto out;
	}
	rc = probe_out_add(out, name, "enabled", path, line,
			   value_bool(value[0] != '\0' && strcmp(value, "0") != 0));
	if (rc == 0)
		rc = probe_out_note(out, "%s \"%s\"", name, value);
out:
	free(value);
	free(path);
	return rc;
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	struct pkgdb *own = NULL;
	const struct pkgdb *db;
	size_t first, n;
	int rc;

	(void)p;
	rc = pkgdb_get(ctx, out, &db, &own);
	if (rc < 0)
		return rc;
	if (db->family != PKGDB_DPKG) {
		rc = probe_out_fail(out, PST_E_INVAL,
				    "unattended upgrades are apt's; this root has an %s database",
				    pkgdb_family_name(db->family));
		goto out;
	}
	rc = setting(ctx, out, "APT::Periodic::Enable", true);
	if (rc == 0)
		rc = setting(ctx, out, "APT::Periodic::Update-Package-Lists", false);
	if (rc == 0)
		rc = setting(ctx, out, "APT::Periodic::Unattended-Upgrade", false);
	if (rc < 0)
		goto out;
	n = pkgdb_find(db, "unattended-upgrades", &first);
	rc = probe_out_add(out, "unattended-upgrades", "installed", db->path,
			   n ? db->pkgs[first].line : 0, value_bool(n > 0));
	if (rc == 0)
		rc = n ? probe_out_note(out, "version %s, state %s", db->pkgs[first].version,
					db->pkgs[first].state)
		       : probe_out_note(out, "package not installed");
out:
	pkgdb_free(own);
	return rc;
}

const struct probe probe_unattended_upgrades = {
	.name = "unattended_upgrades",
	.summary = "Whether apt fetches package lists and installs updates unattended: the "
		   "APT::Periodic settings and the unattended-upgrades package.",
	.value_doc = "Booleans, one per condition, each with its evidence: "
		     "APT::Periodic::Enable (only when set; \"0\" turns the daily job off), "
		     "APT::Periodic::Update-Package-Lists and APT::Periodic::Unattended-Upgrade "
		     "(true when set and not \"0\"; location the apt.conf.d file and line of the "
		     "winning assignment, apt.conf.d files read in name order, then apt.conf), and "
		     "the package unattended-upgrades (true when installed). Use eq true: every "
		     "condition must hold.",
	.params = params,
	.run = run,
};
