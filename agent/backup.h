/*
 * backup.h - finding the newest backup, shared by the backup_age and
 * backup_size probes.
 *
 * Two sources.  "files": the newest regular file (by modification time)
 * among those a path or glob matches inside the scanned root.  "status_json":
 * a JSON document a backup job saved (`restic snapshots --json`, `borg info
 * --json`, a job's own status file), in which JSON pointers (RFC 6901) name
 * the fields: either one timestamp (`time` from the document root), or an
 * array (`array`) whose elements each carry a timestamp (`time`, relative to
 * the element), the newest element being the backup.  The status document
 * is untrusted input: it is read with a size cap and parsed by
 * backup_status_parse, which takes (ptr, len) and is fuzzed.
 */
#ifndef POSTURE_BACKUP_H
#define POSTURE_BACKUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "probe.h"

/* Default and ceiling of the status file size (parameter max_bytes). */
#define BACKUP_STATUS_DEFAULT_MAX (16 * 1024 * 1024)
#define BACKUP_STATUS_MAX_CEILING (256LL * 1024 * 1024)
/* A backup time this far past the scan's time is not believed: the probe errs. */
#define BACKUP_FUTURE_SLACK_US (3600LL * 1000000)

enum backup_time_format {
	BACKUP_TIME_RFC3339,  /* "2026-11-24T10:00:00.123456789+01:00" */
	BACKUP_TIME_LOCAL,    /* borg 1.x: "2026-11-24T10:00:00.123456", offset optional */
	BACKUP_TIME_UNIX,     /* a JSON integer: seconds since the epoch */
};

/* What to take from a status document.  Pointers are RFC 6901; NULL: not given. */
struct backup_query {
	const char *array; /* pointer to an array of backups, or NULL for one backup */
	const char *time;  /* pointer to the timestamp (within each element with array) */
	const char *size;  /* pointer to a size in bytes (within the newest element), or NULL */
	const char *name;  /* pointer to a label for evidence (within each element), or NULL */
	enum backup_time_format format;
	int assumed_offset_s; /* for BACKUP_TIME_LOCAL without an offset */
};

/* The newest backup found, or why there is none. */
struct backup_found {
	bool found;
	int64_t time_us;   /* its time, Unix microseconds */
	bool has_size;
	int64_t size;      /* bytes */
	size_t count;      /* files matched, or array elements */
	char what[512];    /* the file, or "[3] name 3f2a1b9c" for an element; "" for one field */
	char why_none[512]; /* when !found (or !has_size when asked): for the note */
};

/*
 * Is p a well-formed JSON pointer ("" or "/a/b~1c/0"; '~' only in "~0"
 * and "~1")?
 */
bool backup_pointer_valid(const char *p);

/*
 * Resolve pointer p in doc; NULL when it names nothing (a missing key, an
 * index out of range or not a number, "-").  Borrowed.
 */
json_t *backup_pointer_get(json_t *doc, const char *p);

/*
 * Parse a status document (len bytes at buf, no terminator needed) and
 * find the newest backup per q.  An empty array, or a missing single field,
 * is success with f->found false and f->why_none said.  A document that is
 * not JSON, a pointer to an array that is not one, or an element whose
 * timestamp is missing or malformed is PST_E_PARSE with e saying where
 * ("/archives/3/start: ...").  When q->size is given and the newest backup
 * has no such field, f->has_size is false and f->why_none says so; a size
 * that is not a non-negative integer is PST_E_PARSE.
 */
int backup_status_parse(const char *buf, size_t len, const struct backup_query *q,
			struct backup_found *f, struct pst_err *e);

/* --- for the probes --- */

/*
 * The parameters both probes share (their table entries are in
 * BACKUP_COMMON_PARAMS), checked at load time: pointers well formed, the
 * offset readable, path absolute.  with_size: the probe measures size, so
 * status_json needs the size pointer.
 */
int backup_validate(const json_t *params, bool with_size, struct pst_err *e);

/*
 * Find the newest backup per the rule's parameters through ctx->root.  A
 * failure to read fills out->reason and returns the code; nothing found is
 * success with f->found false.  *path receives the path shown as the
 * evidence's subject (the file found, the status file, or the pattern when
 * nothing matched); borrowed from params or f.
 */
int backup_locate(const struct probe_ctx *ctx, const json_t *params, struct probe_out *out,
		  struct backup_found *f, const char **path);

/*
 * The words of the evidence note for a found backup at path: "modified
 * 2026-11-24T10:00:00Z, newest of 3 files", "backup /archives/2 (web-1)
 * at ..., newest of 3", "backup time ...".
 */
void backup_note(const struct backup_found *f, const char *path, char *buf, size_t n);

/* The scan's reference time: ctx->now_us, or the clock when the caller gave none. */
int64_t backup_now_us(const struct probe_ctx *ctx);

extern const char *const backup_sources[];
extern const char *const backup_time_formats[];

#define BACKUP_COMMON_PARAMS \
	{"path", PARAM_STRING, true, NULL, NULL, \
	 "With source files: the backup file, or a glob (*, ?, [...] in any component, " \
	 "resolved inside the scanned root) whose newest regular file by modification " \
	 "time is the backup, e.g. \"/srv/backup/host-*.tar.zst\". With source status_json: " \
	 "the status file a backup job saves, e.g. the output of `restic snapshots --json` " \
	 "(no glob)."}, \
	{"source", PARAM_STRING, false, "\"files\"", backup_sources, \
	 "Where the backup's time and size come from: \"files\" (modification time and " \
	 "size of the newest matching file) or \"status_json\" (fields of a JSON status " \
	 "document, named by the pointers below)."}, \
	{"array", PARAM_STRING, false, NULL, NULL, \
	 "For status_json: a JSON pointer (RFC 6901) to an array of backups, e.g. \"\" " \
	 "(the document itself, as restic prints it) or \"/archives\" (borg). The newest " \
	 "element by its time is the backup; an empty array means no backup. Without it, " \
	 "time and size are pointers from the document root to one backup's fields."}, \
	{"time", PARAM_STRING, false, NULL, NULL, \
	 "For status_json (required there): a JSON pointer to the backup's timestamp, " \
	 "within each element when array is given, e.g. \"/time\" (restic, borg list), " \
	 "\"/start\" (borg info), \"/repository/last_modified\" (borg, no array)."}, \
	{"name", PARAM_STRING, false, NULL, NULL, \
	 "For status_json with array: a JSON pointer within each element to a label " \
	 "shown in the evidence, e.g. \"/short_id\" (restic) or \"/name\" (borg)."}, \
	{"time_format", PARAM_STRING, false, "\"rfc3339\"", backup_time_formats, \
	 "How the timestamp is written: \"rfc3339\" (an offset or Z is required; up to 18 " \
	 "fraction digits, as restic writes 9), \"local\" (ISO 8601 with the " \
	 "offset optional, as borg 1.x writes local time without one; a time without " \
	 "an offset is taken at utc_offset), or \"unix\" (a JSON integer, seconds since " \
	 "1970-01-01 UTC)."}, \
	{"utc_offset", PARAM_STRING, false, "\"+00:00\"", NULL, \
	 "For time_format local: the UTC offset of times written without one, e.g. " \
	 "\"+01:00\". The agent cannot know the job's time zone: run borg with TZ=UTC " \
	 "and keep the default, or give the host's offset (a daylight saving change " \
	 "then shifts ages by an hour)."}, \
	{"max_bytes", PARAM_INT, false, "16777216", NULL, \
	 "For status_json: the largest status file read, in bytes (at most 268435456); " \
	 "a larger one makes the check an error."}

#endif
