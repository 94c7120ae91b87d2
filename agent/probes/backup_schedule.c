/*
 * backup_schedule.c - the `backup_schedule` probe: is a backup job
 * scheduled?  Either a systemd timer enabled the way `systemctl enable`
 * leaves it (a link named after the unit in a *.wants directory under
 * /etc/systemd/system, and the unit file in one of the unit directories,
 * not masked), or a cron entry matching a regular expression in
 * /etc/crontab, the files in /etc/cron.d or the users' crontabs.
 *
 * A set probe: one observation per schedule found; when none is found, one
 * absent observation per thing looked for says where the probe looked, so
 * the evidence of a failure is as concrete as that of a pass.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "probe.h"

/* Unit directories in systemd's order of precedence (systemd.unit(5)). */
static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system", "/lib/systemd/system", NULL,
};

/* Crontab files cron reads; cron.d names with other characters are ignored by cron. */
#define CRON_MAX_BYTES (1024 * 1024)
#define CRON_LINE_SHOWN 512

static const struct probe_param params[] = {
	{"timer", PARAM_STRING, false, NULL, NULL,
	 "A systemd timer unit, e.g. \"restic-backup.timer\" or \"borgmatic@daily.timer\". "
	 "Found when a link of that name stands in a *.wants directory under "
	 "/etc/systemd/system (as `systemctl enable` makes it, usually timers.target.wants) "
	 "and the unit file (or, for an instance, its template) exists in /etc/systemd/system, "
	 "/run/systemd/system, /usr/local/lib/systemd/system, /usr/lib/systemd/system or "
	 "/lib/systemd/system, and is not masked (a link to /dev/null). \"\" means none."},
	{"cron_pattern", PARAM_STRING, false, NULL, NULL,
	 "POSIX extended regular expression matched against each line of /etc/crontab, "
	 "/etc/cron.d/* (names of letters, digits, '-' and '_' only, as cron reads them) and "
	 "/var/spool/cron/crontabs/*, comments and blank lines skipped, e.g. "
	 "\"^[^=]*[[:space:]]borg[[:space:]]+create\". \"\" means none."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static bool unit_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 7 || n > 255 || strcmp(s + n - 6, ".timer") != 0)
		return false;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && strchr(":-_.@\\", s[i]) == NULL)
			return false;
	return true;
}

static int validate(const json_t *p, struct pst_err *e)
{
	const char *timer = probe_param_str(p, "timer");
	const char *pat = probe_param_str(p, "cron_pattern");
	regex_t re;
	int rc;

	if (timer == NULL && pat == NULL)
		return pst_err_set(e, PST_E_INVAL, "give \"timer\", \"cron_pattern\" or both");
	if (timer != NULL && timer[0] != '\0' && !unit_name_valid(timer))
		return pst_err_set(e, PST_E_INVAL,
				   "timer \"%s\" must be a unit name ending in .timer (letters, digits, \":-_.@\\\")",
				   timer);
	if (pat != NULL && pat[0] != '\0') {
		rc = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char msg[256];
			regerror(rc, &re, msg, sizeof(msg));
			return pst_err_set(e, PST_E_INVAL, "cron_pattern \"%s\": %s", pat, msg);
		}
		regfree(&re);
	}
	return 0;
}

/* The unit file for name, or for its template ("a@b.timer" -> "a@.timer"): 0, NOENT, or masked. */
static int find_unit(const struct probe_ctx *ctx, const char *name, char *found, size_t n,
		     bool *masked, struct probe_out *out)
{
	char tmpl[300];
	const char *at = strchr(name, '@');
	const char *const *d;
	const char *names[2] = {name, NULL};
	size_t k;
	int rc;

	if (at != NULL && strncmp(at, "@.timer", 7) != 0) {
		snprintf(tmpl, sizeof(tmpl), "%.*s@.timer", (int)(at - name), name);
		names[1] = tmpl;
	}
	*masked = false;
	for (k = 0; k < 2 && names[k] != NULL; k++) {
		for (d = unit_dirs; *d != NULL; d++) {
			struct stat st;
			char *real = NULL;
			snprintf(found, n, "%s/%s", *d, names[k]);
			rc = rootfs_stat(ctx->root, found, false, &st);
			if (rc == PST_E_NOENT || rc == PST_E_NOTDIR)
				continue;
			if (rc < 0)
				return probe_out_fail(out, rc, "cannot examine %s: %s", found, rootfs_strerror(rc));
			/* `systemctl mask` links the unit to /dev/null: that disables it. */
			if (S_ISLNK(st.st_mode) && rootfs_realpath(ctx->root, found, &real) == 0 &&
			    strcmp(real, "/dev/null") == 0)
				*masked = true;
			free(real);
			return 0;
		}
	}
	return PST_E_NOENT;
}

static int look_timer(const struct probe_ctx *ctx, const char *timer, struct probe_out *out,
		      bool *any)
{
	char **names = NULL, link[1024], unit[1024];
	size_t n = 0, i;
	struct stat st;
	bool linked = false, masked;
	int rc;

	rc = rootfs_list(ctx->root, "/etc/systemd/system", 0, &names, &n);
	if (rc < 0 && rc != PST_E_NOENT)
		return probe_out_fail(out, rc, "cannot list /etc/systemd/system: %s", rootfs_strerror(rc));
	for (i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (len < 7 || strcmp(names[i] + len - 6, ".wants") != 0)
			continue;
		snprintf(link, sizeof(link), "/etc/systemd/system/%s/%s", names[i], timer);
		rc = rootfs_stat(ctx->root, link, false, &st);
		if (rc == PST_E_NOENT || rc == PST_E_NOTDIR)
			continue;
		if (rc < 0) {
			probe_out_fail(out, rc, "cannot examine %s: %s", link, rootfs_strerror(rc));
			goto out;
		}
		linked = true;
		break;
	}
	if (!linked) {
		rc = probe_out_add(out, timer, "timer", NULL, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "%s is not enabled: no link in any *.wants directory under /etc/systemd/system",
					    timer);
		goto out;
	}
	rc = find_unit(ctx, timer, unit, sizeof(unit), &masked, out);
	if (rc < 0 && rc != PST_E_NOENT)
		goto out;
	if (rc == PST_E_NOENT || masked) {
		rc = probe_out_add(out, link, "timer", link, 0, value_absent());
		if (rc == 0 && masked)
			rc = probe_out_note(out, "enabled but masked: %s links to /dev/null", unit);
		else if (rc == 0)
			rc = probe_out_note(out, "enabled, but no unit file %s in /etc/systemd/system, /run/systemd/system, "
					    "/usr/local/lib/systemd/system, /usr/lib/systemd/system or /lib/systemd/system",
					    timer);
		goto out;
	}
	*any = true;
	rc = probe_out_add(out, link, "timer", link, 0, value_str(timer));
	if (rc == 0)
		rc = probe_out_note(out, "enabled in %s; unit file %s", names[i], unit);
out:
	rootfs_glob_free(names, n);
	return rc;
}

/* Does cron read a file of this name in /etc/cron.d?  (Debian cron: [A-Za-z0-9_-]+.) */
static bool cron_d_name(const char *s)
{
	for (; *s != '\0'; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '-' && *s != '_')
			return false;
	return true;
}

static int scan_crontab(const struct probe_ctx *ctx, const char *path, const regex_t *re,
			struct probe_out *out, bool *any)
{
	struct line_iter it;
	const char *line;
	size_t len;
	char *data = NULL, *copy;
	size_t dlen;
	int rc;

	rc = rootfs_read(ctx->root, path, CRON_MAX_BYTES, &data, &dlen);
	if (rc == PST_E_NOENT)
		return 0;
	if (rc == PST_E_TOOBIG)
		return probe_out_fail(out, rc, "cannot read %s: larger than %d bytes; is it a crontab?",
				      path, CRON_MAX_BYTES);
	if (rc == PST_E_INVAL)
		return probe_out_fail(out, rc, "cannot read %s: not a regular file", path);
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot read %s: %s", path, rootfs_strerror(rc));
	lines_init(&it, data, dlen);
	while (rc == 0 && lines_next(&it, &line, &len)) {
		bool hit;
		lines_trim(&line, &len);
		if (lines_is_blank_or_comment(line, len, '#'))
			continue;
		copy = strndup(line, len);
		if (copy == NULL) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			break;
		}
		hit = regexec(re, copy, 0, NULL, 0) == 0;
		if (hit && len > CRON_LINE_SHOWN)
			strcpy(copy + CRON_LINE_SHOWN - 3, "...");
		if (hit) {
			*any = true;
			rc = probe_out_add(out, path, "cron", path, it.lineno, value_take_str(copy));
		} else {
			free(copy);
		}
	}
	free(data);
	return rc;
}

static int look_cron(const struct probe_ctx *ctx, const char *pattern, struct probe_out *out,
		     bool *any)
{
	static const char *const dirs[] = {"/etc/cron.d", "/var/spool/cron/crontabs", NULL};
	const char *const *d;
	bool found = false;
	regex_t re;
	char path[1024];
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return probe_out_fail(out, PST_E_INVAL, "cron_pattern \"%s\" does not compile", pattern);
	rc = scan_crontab(ctx, "/etc/crontab", &re, out, &found);
	for (d = dirs; rc == 0 && *d != NULL; d++) {
		rc = rootfs_list(ctx->root, *d, 0, &names, &n);
		if (rc == PST_E_NOENT || rc == PST_E_NOTDIR) {
			rc = 0;
			continue;
		}
		if (rc < 0) {
			probe_out_fail(out, rc, "cannot list %s: %s", *d, rootfs_strerror(rc));
			break;
		}
		for (i = 0; rc == 0 && i < n; i++) {
			if (d == dirs && !cron_d_name(names[i]))
				continue;
			snprintf(path, sizeof(path), "%s/%s", *d, names[i]);
			rc = scan_crontab(ctx, path, &re, out, &found);
		}
		rootfs_glob_free(names, n);
		names = NULL;
		n = 0;
	}
	regfree(&re);
	if (rc == 0 && !found) {
		rc = probe_out_add(out, "cron", "cron", NULL, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "no line matches /%s/ in /etc/crontab, /etc/cron.d/* or /var/spool/cron/crontabs/*",
					    pattern);
	}
	*any = *any || found;
	return rc;
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const char *timer = probe_param_str(p, "timer");
	const char *pat = probe_param_str(p, "cron_pattern");
	bool any = false;
	int rc = 0;

	if (timer != NULL && timer[0] == '\0')
		timer = NULL;
	if (pat != NULL && pat[0] == '\0')
		pat = NULL;
	if (timer == NULL && pat == NULL)
		return probe_out_fail(out, PST_E_INVAL,
				      "no schedule to look for: timer and cron_pattern are both empty (set the policy variable that names the job's timer or cron entry)");
	if (timer != NULL)
		rc = look_timer(ctx, timer, out, &any);
	if (rc == 0 && pat != NULL)
		rc = look_cron(ctx, pat, out, &any);
	return rc;
}

const struct probe probe_backup_schedule = {
	.name = "backup_schedule",
	.summary = "A backup job is scheduled: a systemd timer enabled in a *.wants directory with "
		   "its unit file present, or a cron line matching a pattern.",
	.value_doc = "One observation per schedule found: for the timer, subject and location the "
		     "link in the *.wants directory, value the unit name, note the unit file; for "
		     "cron, subject the crontab, location file:line, value the line. When nothing is "
		     "found, absent observations say where the probe looked (or that the timer is "
		     "masked, or enabled without a unit file), so use exists.",
	.params = params,
	.validate = validate,
	.run = run,
};
