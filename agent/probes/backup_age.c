/*
 * backup_age.c - the `backup_age` probe: how old the newest backup is,
 * measured from the scan's start (probe_ctx.now_us), from a file's
 * modification time or from a timestamp in a backup job's status JSON
 * (backup.h finds it).
 *
 * A scalar probe: one observation, the age as an integer in the rule's
 * unit, rounded up, so that "le 24" holds exactly while the backup is at
 * most 24 hours old.  No backup at all is an absent value (which fails
 * every comparison), noted with why.  A backup time more than an hour in
 * the future is not believed: a wrong clock, or a status file that would
 * pass forever, makes the check an error.
 */
#include <stdio.h>
#include <string.h>

#include "backup.h"
#include "probe.h"
#include "timestamp.h"

static const char *const units[] = {"hours", "minutes", "days", NULL};

static const struct probe_param params[] = {
	BACKUP_COMMON_PARAMS,
	{"unit", PARAM_STRING, false, "\"hours\"", units,
	 "The unit of the observed age, rounded up (25 hours and 1 second is 26 hours)."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	return backup_validate(p, false, e);
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const char *unit = probe_param_str(p, "unit");
	int64_t per = 3600LL * 1000000, now = backup_now_us(ctx), age_us, age;
	struct backup_found f;
	const char *path;
	char when[TIMESTAMP_TEXT_MAX], key[32], note[700];
	int rc;

	if (unit != NULL && strcmp(unit, "minutes") == 0)
		per = 60LL * 1000000;
	else if (unit != NULL && strcmp(unit, "days") == 0)
		per = 86400LL * 1000000;
	snprintf(key, sizeof(key), "age_%s", unit != NULL ? unit : "hours");
	rc = backup_locate(ctx, p, out, &f, &path);
	if (rc < 0)
		return rc;
	if (!f.found) {
		rc = probe_out_add(out, path, key, path, 0, value_absent());
		return rc < 0 ? rc : probe_out_note(out, "no backup: %s", f.why_none);
	}
	timestamp_format_utc(f.time_us, when);
	age_us = now - f.time_us;
	if (age_us < -BACKUP_FUTURE_SLACK_US)
		return probe_out_fail(out, PST_E_INVAL,
				      "%s: the backup time %s is more than an hour after the scan's start; "
				      "the clock of this host or of the backup job is wrong",
				      f.what[0] ? f.what : path, when);
	if (age_us < 0)
		age_us = 0;
	age = age_us / per + (age_us % per != 0);
	rc = probe_out_add(out, path, key, path, 0, value_int(age));
	if (rc < 0)
		return rc;
	backup_note(&f, path, note, sizeof(note));
	return probe_out_note(out, "%s", note);
}

const struct probe probe_backup_age = {
	.name = "backup_age",
	.summary = "Age of the newest backup, from the modification time of the newest file a path "
		   "or glob matches, or from a timestamp in a backup job's status JSON "
		   "(restic snapshots --json, borg info --json), measured from the scan's start.",
	.value_doc = "One observation: key age_hours (age_minutes, age_days), the age as an integer "
		     "rounded up; subject and location the file found or the status file; the note "
		     "gives the backup's time (RFC 3339 UTC), the element of the status that holds it, "
		     "and how many backups were considered. Absent, noted \"no backup: ...\", when no "
		     "file matches, the status file is missing or lists no backup. A status file that "
		     "is not JSON, a timestamp that does not parse strictly, or a backup time more "
		     "than an hour after the scan's start makes the check an error.",
	.params = params,
	.validate = validate,
	.run = run,
};
