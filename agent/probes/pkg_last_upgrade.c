/*
 * pkg_last_upgrade.c - the `pkg_last_upgrade` probe: whole days since a
 * package was last upgraded or installed.
 *
 * dpkg root: the last "upgrade" or "status installed" line of
 * /var/log/dpkg.log (or of dpkg.log.1 right after rotation).  dpkg writes
 * its log in the host's local time; it is read as UTC, which can shift the
 * count by a day at most.  rpm root: the newest install time in the rpm
 * database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lines.h"
#include "pkgdb.h"
#include "probe.h"

static const char *const logs[] = {"/var/log/dpkg.log", "/var/log/dpkg.log.1", NULL};
/* Largest dpkg.log read. */
#define MAX_LOG (64u * 1024 * 1024)

static const struct probe_param params[] = {
	{NULL, 0, false, NULL, NULL, NULL},
};

static long long days_since(int64_t t)
{
	int64_t now = (int64_t)time(NULL);

	return now > t ? (long long)((now - t) / 86400) : 0;
}

/* "2026-11-20 10:11:12 upgrade ..." -> seconds since the epoch, read as UTC. */
static bool parse_stamp(const char *s, size_t n, int64_t *t)
{
	struct tm tm;
	char buf[20];
	int y, mo, d, h, mi, se;
	char tail;

	if (n < 19)
		return false;
	memcpy(buf, s, 19);
	buf[19] = '\0';
	if (sscanf(buf, "%4d-%2d-%2d %2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &tail) != 6)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (int64_t)timegm(&tm);
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && *t != -1;
}

static bool is_event(const char *s, size_t n)
{
	const char *rest = s + 20;
	size_t k = n - 20;

	if (n <= 20)
		return false;
	return (k > 8 && memcmp(rest, "upgrade ", 8) == 0) ||
	       (k > 17 && memcmp(rest, "status installed ", 17) == 0);
}

static int from_dpkg_log(const struct probe_ctx *ctx, struct probe_out *out)
{
	size_t i;

	for (i = 0; logs[i] != NULL; i++) {
		struct line_iter it;
		const char *line, *last = NULL;
		size_t n, last_n = 0;
		unsigned last_no = 0;
		char *data = NULL;
		size_t len;
		int64_t t;
		int rc;

		rc = probe_read_file(ctx, out, logs[i], MAX_LOG, &data, &len);
		if (rc == PST_E_NOENT)
			continue;
		if (rc < 0)
			return rc;
		lines_init(&it, data, len);
		while (lines_next(&it, &line, &n))
			if (is_event(line, n)) {
				last = line;
				last_n = n;
				last_no = it.lineno;
			}
		if (last == NULL || !parse_stamp(last, last_n, &t)) {
			free(data);
			continue;
		}
		rc = probe_out_add(out, logs[i], "days", logs[i], last_no, value_int(days_since(t)));
		if (rc == 0)
			rc = probe_out_note(out, "last package change: %.*s (local time read as UTC)",
					    (int)(last_n > 200 ? 200 : last_n), last);
		free(data);
		return rc;
	}
	{
		int rc = probe_out_add(out, logs[0], "days", logs[0], 0, value_absent());

		return rc == 0 ? probe_out_note(out, "no upgrade or install recorded in %s or %s",
						logs[0], logs[1])
			       : rc;
	}
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	struct pkgdb *own = NULL;
	const struct pkgdb *db;
	const struct pkgdb_pkg *newest = NULL;
	size_t i;
	int rc;

	(void)p;
	rc = pkgdb_get(ctx, out, &db, &own);
	if (rc < 0)
		return rc;
	if (db->family == PKGDB_DPKG) {
		rc = from_dpkg_log(ctx, out);
		goto out;
	}
	for (i = 0; i < db->n; i++)
		if (newest == NULL || db->pkgs[i].installtime > newest->installtime)
			newest = &db->pkgs[i];
	if (newest == NULL) {
		rc = probe_out_add(out, db->path, "days", db->path, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "the rpm database holds no package");
		goto out;
	}
	rc = probe_out_add(out, db->path, "days", db->path, 0,
			   value_int(days_since(newest->installtime)));
	if (rc == 0)
		rc = probe_out_note(out, "newest install: %s-%s.%s", newest->name, newest->version,
				    newest->arch);
out:
	pkgdb_free(own);
	return rc;
}

const struct probe probe_pkg_last_upgrade = {
	.name = "pkg_last_upgrade",
	.summary = "Whole days since a package was last upgraded or installed.",
	.value_doc = "One integer. dpkg: from the last \"upgrade\" or \"status installed\" line "
		     "of /var/log/dpkg.log (dpkg.log.1 when the current log has none), location "
		     "that file:line, note the line (its local time is read as UTC). rpm: from the "
		     "newest install time in the rpm database, note the package. Absent (noted) "
		     "when nothing is recorded.",
	.params = params,
	.run = run,
};
