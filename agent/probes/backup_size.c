/*
 * backup_size.c - the `backup_size` probe: the size of the newest backup,
 * so that a policy can demand a minimum (an empty archive is no backup).
 *
 * The newest backup is found as backup_age finds it (backup.h): the newest
 * regular file by modification time, with its size, or the newest element
 * of a status JSON, with the size field a pointer names.
 */
#include <stdio.h>
#include <string.h>

#include "backup.h"
#include "probe.h"

static const struct probe_param params[] = {
	BACKUP_COMMON_PARAMS,
	{"size", PARAM_STRING, false, NULL, NULL,
	 "For status_json (required there): a JSON pointer to the backup's size in bytes, "
	 "within the newest element when array is given, e.g. "
	 "\"/summary/total_bytes_processed\" (restic 0.17 and later) or "
	 "\"/stats/original_size\" (borg info)."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	return backup_validate(p, true, e);
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	struct backup_found f;
	const char *path;
	char note[700];
	int rc;

	rc = backup_locate(ctx, p, out, &f, &path);
	if (rc < 0)
		return rc;
	if (!f.found || !f.has_size) {
		rc = probe_out_add(out, path, "size_bytes", path, 0, value_absent());
		return rc < 0 ? rc : probe_out_note(out, "no backup: %s", f.why_none);
	}
	rc = probe_out_add(out, path, "size_bytes", path, 0, value_int(f.size));
	if (rc < 0)
		return rc;
	backup_note(&f, path, note, sizeof(note));
	return probe_out_note(out, "%s", note);
}

const struct probe probe_backup_size = {
	.name = "backup_size",
	.summary = "Size in bytes of the newest backup: the newest file a path or glob matches, or "
		   "a size field of the newest backup in a backup job's status JSON.",
	.value_doc = "One observation: key size_bytes, an integer; subject and location the file "
		     "found or the status file; the note names the backup and its time (RFC 3339 UTC). "
		     "Absent, noted \"no backup: ...\", when there is no backup or the status has no "
		     "size field for it; a size that is not a non-negative integer makes the check an "
		     "error.",
	.params = params,
	.validate = validate,
	.run = run,
};
