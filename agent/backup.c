/*
 * backup.c - the newest backup from files or from a status document
 * (backup.h).
 *
 * JSON pointers are resolved by hand (jansson has none): a token is
 * unescaped ("~1" is '/', "~0" is '~'), names an object member, or, on an
 * array, a decimal index without leading zeros.
 */
#include "backup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timestamp.h"
#include "timefmt.h"

const char *const backup_sources[] = {"files", "status_json", NULL};
const char *const backup_time_formats[] = {"rfc3339", "local", "unix", NULL};

/* Longest pointer accepted; a token longer than this cannot be a key we look up. */
#define POINTER_MAX 1024

bool backup_pointer_valid(const char *p)
{
	size_t i;

	if (p == NULL || strlen(p) > POINTER_MAX)
		return false;
	if (p[0] == '\0')
		return true;
	if (p[0] != '/')
		return false;
	for (i = 0; p[i] != '\0'; i++)
		if (p[i] == '~' && p[i + 1] != '0' && p[i + 1] != '1')
			return false;
	return true;
}

/* An array index token: "0" or digits without a leading zero, in range. */
static bool index_token(const char *t, size_t n, size_t *idx)
{
	size_t i, v = 0;

	if (n == 0 || (n > 1 && t[0] == '0') || n > 9)
		return false;
	for (i = 0; i < n; i++) {
		if (t[i] < '0' || t[i] > '9')
			return false;
		v = v * 10 + (size_t)(t[i] - '0');
	}
	*idx = v;
	return true;
}

json_t *backup_pointer_get(json_t *doc, const char *p)
{
	char tok[POINTER_MAX + 1];

	if (!backup_pointer_valid(p))
		return NULL;
	while (doc != NULL && *p == '/') {
		size_t n = 0, idx;

		for (p++; *p != '\0' && *p != '/'; p++) {
			if (*p == '~') {
				tok[n++] = p[1] == '1' ? '/' : '~';
				p++;
			} else {
				tok[n++] = *p;
			}
		}
		tok[n] = '\0';
		if (json_is_object(doc))
			doc = json_object_getn(doc, tok, n);
		else if (json_is_array(doc) && index_token(tok, n, &idx))
			doc = json_array_get(doc, idx);
		else
			doc = NULL;
	}
	return doc;
}

/* The text of a JSON value for messages, cut short. */
static void value_text(const json_t *v, char *buf, size_t n)
{
	char *s;

	if (json_is_string(v)) {
		snprintf(buf, n, "\"%.*s\"", (int)(json_string_length(v) > 64 ? 64 : json_string_length(v)),
			 json_string_value(v));
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	snprintf(buf, n, "%.64s%s", s ? s : "a value", s && strlen(s) > 64 ? "..." : "");
	free(s);
}

/* Read the timestamp at v; at names the place for messages. */
static int read_time(const json_t *v, const struct backup_query *q, const char *at,
		     int64_t *us, struct pst_err *e)
{
	char shown[96];
	bool ok = false;

	if (v == NULL)
		return pst_err_set(e, PST_E_PARSE, "%s: no such field", at);
	switch (q->format) {
	case BACKUP_TIME_RFC3339:
		ok = json_is_string(v) &&
		     timestamp_parse_rfc3339(json_string_value(v), json_string_length(v), us);
		break;
	case BACKUP_TIME_LOCAL:
		ok = json_is_string(v) &&
		     timestamp_parse_local(json_string_value(v), json_string_length(v),
					   q->assumed_offset_s, us);
		break;
	case BACKUP_TIME_UNIX:
		/* Years 0 to 9999: keeps the microsecond product far from overflow. */
		ok = json_is_integer(v) && json_integer_value(v) >= -62167219200LL &&
		     json_integer_value(v) <= 253402300799LL;
		if (ok)
			*us = (int64_t)json_integer_value(v) * 1000000;
		break;
	}
	if (ok)
		return 0;
	value_text(v, shown, sizeof(shown));
	return pst_err_set(e, PST_E_PARSE, "%s: %s is not %s", at, shown,
			   q->format == BACKUP_TIME_RFC3339 ? "an RFC 3339 time with an offset"
			   : q->format == BACKUP_TIME_LOCAL ? "an ISO 8601 time (YYYY-MM-DDTHH:MM:SS[.frac][offset])"
							    : "an integer count of seconds since 1970");
}

static int read_size(json_t *base, const struct backup_query *q, const char *prefix,
		     struct backup_found *f, struct pst_err *e)
{
	json_t *v;
	char shown[96];

	if (q->size == NULL)
		return 0;
	v = backup_pointer_get(base, q->size);
	if (v == NULL) {
		snprintf(f->why_none, sizeof(f->why_none), "the status has no size at %s%s",
			 prefix, q->size);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		value_text(v, shown, sizeof(shown));
		return pst_err_set(e, PST_E_PARSE, "%s%s: %s is not a size in bytes (a non-negative integer)",
				   prefix, q->size, shown);
	}
	f->has_size = true;
	f->size = (int64_t)json_integer_value(v);
	return 0;
}

int backup_status_parse(const char *buf, size_t len, const struct backup_query *q,
			struct backup_found *f, struct pst_err *e)
{
	json_error_t jerr;
	json_t *doc, *arr, *item, *newest = NULL;
	size_t i, inewest = 0;
	char at[POINTER_MAX + 64];
	int rc = 0;

	memset(f, 0, sizeof(*f));
	if (q->time == NULL || !backup_pointer_valid(q->time) ||
	    (q->array != NULL && !backup_pointer_valid(q->array)) ||
	    (q->size != NULL && !backup_pointer_valid(q->size)) ||
	    (q->name != NULL && !backup_pointer_valid(q->name)))
		return pst_err_set(e, PST_E_INVAL, "malformed JSON pointer in the query");
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (doc == NULL)
		return pst_err_set(e, PST_E_PARSE, "not JSON: line %d column %d: %s", jerr.line,
				   jerr.column, jerr.text);
	if (q->array == NULL) {
		json_t *v = backup_pointer_get(doc, q->time);
		if (v == NULL) {
			snprintf(f->why_none, sizeof(f->why_none), "the status has no field %s", q->time);
			goto out;
		}
		rc = read_time(v, q, q->time, &f->time_us, e);
		if (rc != 0)
			goto out;
		f->found = true;
		f->count = 1;
		rc = read_size(doc, q, "", f, e);
		goto out;
	}
	arr = backup_pointer_get(doc, q->array);
	if (arr == NULL) {
		snprintf(f->why_none, sizeof(f->why_none), "the status has no field %s",
			 q->array[0] ? q->array : "(document)");
		goto out;
	}
	if (!json_is_array(arr)) {
		rc = pst_err_set(e, PST_E_PARSE, "%s: expected an array of backups, found %s",
				 q->array[0] ? q->array : "the document",
				 json_is_object(arr) ? "an object" : "a scalar");
		goto out;
	}
	json_array_foreach(arr, i, item) {
		int64_t t;
		snprintf(at, sizeof(at), "%s/%zu%s", q->array, i, q->time);
		rc = read_time(backup_pointer_get(item, q->time), q, at, &t, e);
		if (rc != 0)
			goto out;
		/* Ties go to the later element: tools append in order. */
		if (newest == NULL || t >= f->time_us) {
			newest = item;
			inewest = i;
			f->time_us = t;
		}
	}
	f->count = json_array_size(arr);
	if (newest == NULL) {
		snprintf(f->why_none, sizeof(f->why_none), "the status lists no backups (%s is empty)",
			 q->array[0] ? q->array : "the array");
		goto out;
	}
	f->found = true;
	{
		json_t *nm = q->name ? backup_pointer_get(newest, q->name) : NULL;
		if (json_is_string(nm))
			snprintf(f->what, sizeof(f->what), "%s/%zu (%.128s)", q->array, inewest,
				 json_string_value(nm));
		else
			snprintf(f->what, sizeof(f->what), "%s/%zu", q->array, inewest);
	}
	snprintf(at, sizeof(at), "%s/%zu", q->array, inewest);
	rc = read_size(newest, q, at, f, e);
out:
	json_decref(doc);
	return rc;
}

/* --- the probes' side --- */

int64_t backup_now_us(const struct probe_ctx *ctx)
{
	if (ctx->now_us != 0)
		return ctx->now_us;
	return timefmt_now_us();
}

void backup_note(const struct backup_found *f, const char *path, char *buf, size_t n)
{
	char when[TIMESTAMP_TEXT_MAX];

	timestamp_format_utc(f->time_us, when);
	if (strcmp(f->what, path) == 0 && f->count > 1)
		snprintf(buf, n, "modified %s, newest of %zu files", when, f->count);
	else if (strcmp(f->what, path) == 0)
		snprintf(buf, n, "modified %s", when);
	else if (f->what[0] != '\0')
		snprintf(buf, n, "backup %s at %s, newest of %zu", f->what, when, f->count);
	else
		snprintf(buf, n, "backup time %s", when);
}

static bool is_status(const json_t *params)
{
	const char *s = probe_param_str(params, "source");

	return s != NULL && strcmp(s, "status_json") == 0;
}

int backup_validate(const json_t *params, bool with_size, struct pst_err *e)
{
	static const char *const ptrs[] = {"array", "time", "name", "size", NULL};
	const char *path = probe_param_str(params, "path");
	const char *off = probe_param_str(params, "utc_offset");
	const char *const *k;
	long long max = probe_param_int(params, "max_bytes", BACKUP_STATUS_DEFAULT_MAX);
	int secs;

	/* An empty path is a policy variable left unset: the check's applicable_if decides. */
	if (path != NULL && path[0] != '\0' && path[0] != '/')
		return pst_err_set(e, PST_E_INVAL, "path \"%s\" must be absolute (start with '/')", path);
	for (k = ptrs; *k != NULL; k++) {
		const char *p = probe_param_str(params, *k);
		if (p != NULL && !backup_pointer_valid(p))
			return pst_err_set(e, PST_E_INVAL,
					   "%s \"%s\" is not a JSON pointer (RFC 6901: \"\" or \"/key/0/key\", '~' only as ~0 or ~1)",
					   *k, p);
	}
	if (off != NULL && !timestamp_parse_offset(off, strlen(off), &secs))
		return pst_err_set(e, PST_E_INVAL, "utc_offset \"%s\" must look like \"+01:00\", \"-05:30\" or \"Z\"", off);
	if (max < 1 || max > BACKUP_STATUS_MAX_CEILING)
		return pst_err_set(e, PST_E_INVAL, "max_bytes must be between 1 and %lld", BACKUP_STATUS_MAX_CEILING);
	if (is_status(params)) {
		if (path != NULL && rootfs_has_glob(path))
			return pst_err_set(e, PST_E_INVAL, "source status_json reads one file: path \"%s\" must not be a glob", path);
		if (probe_param_str(params, "time") == NULL)
			return pst_err_set(e, PST_E_INVAL, "source status_json needs \"time\", a JSON pointer to the backup's timestamp");
		if (with_size && probe_param_str(params, "size") == NULL)
			return pst_err_set(e, PST_E_INVAL, "source status_json needs \"size\", a JSON pointer to the backup's size in bytes");
		if (probe_param_str(params, "name") != NULL && probe_param_str(params, "array") == NULL)
			return pst_err_set(e, PST_E_INVAL, "\"name\" labels elements of \"array\": give array too");
	} else {
		for (k = ptrs; *k != NULL; k++)
			if (probe_param_str(params, *k) != NULL)
				return pst_err_set(e, PST_E_INVAL, "\"%s\" is for source status_json", *k);
	}
	return 0;
}

static int locate_files(const struct probe_ctx *ctx, const char *pattern, struct probe_out *out,
			struct backup_found *f, const char **path)
{
	char **paths = NULL;
	size_t n = 0, i;
	int rc;

	rc = probe_expand(ctx, out, pattern, &paths, &n);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		struct stat st;
		int64_t t;
		rc = rootfs_stat(ctx->root, paths[i], true, &st);
		if (rc == PST_E_NOENT || rc == PST_E_LOOP || rc == PST_E_NOTDIR)
			continue; /* a dangling link or a vanished file is no backup */
		if (rc < 0) {
			probe_out_fail(out, rc, "cannot examine %s: %s", paths[i], rootfs_strerror(rc));
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		f->count++;
		t = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
		/* Ties go to the later name: glob order is sorted. */
		if (!f->found || t >= f->time_us) {
			f->found = true;
			f->time_us = t;
			f->has_size = true;
			f->size = (int64_t)st.st_size;
			snprintf(f->what, sizeof(f->what), "%s", paths[i]);
		}
	}
	rc = 0;
	if (!f->found)
		snprintf(f->why_none, sizeof(f->why_none), "no regular file %s %s",
			 rootfs_has_glob(pattern) ? "matches" : "at", pattern);
	*path = f->found ? f->what : pattern;
out:
	rootfs_glob_free(paths, n);
	return rc;
}

int backup_locate(const struct probe_ctx *ctx, const json_t *params, struct probe_out *out,
		  struct backup_found *f, const char **path)
{
	const char *p = probe_param_str(params, "path");
	const char *fmt = probe_param_str(params, "time_format");
	const char *off = probe_param_str(params, "utc_offset");
	struct backup_query q = {0};
	struct pst_err e = {0};
	char *data = NULL;
	size_t len = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	*path = p;
	if (p == NULL || p[0] == '\0')
		return probe_out_fail(out, PST_E_INVAL, "no backup path given (the rule's path is empty: set the policy variable that names it)");
	if (!is_status(params))
		return locate_files(ctx, p, out, f, path);

	q.array = probe_param_str(params, "array");
	q.time = probe_param_str(params, "time");
	q.size = probe_param_str(params, "size");
	q.name = probe_param_str(params, "name");
	q.format = fmt == NULL || strcmp(fmt, "rfc3339") == 0 ? BACKUP_TIME_RFC3339
		   : strcmp(fmt, "local") == 0		   ? BACKUP_TIME_LOCAL
							   : BACKUP_TIME_UNIX;
	if (off != NULL && !timestamp_parse_offset(off, strlen(off), &q.assumed_offset_s))
		return probe_out_fail(out, PST_E_INVAL, "utc_offset \"%s\" is not an offset", off);
	rc = rootfs_read(ctx->root, p, (size_t)probe_param_int(params, "max_bytes", BACKUP_STATUS_DEFAULT_MAX),
			 &data, &len);
	if (rc == PST_E_NOENT) {
		snprintf(f->why_none, sizeof(f->why_none), "the status file %s does not exist", p);
		return 0;
	}
	if (rc == PST_E_TOOBIG)
		return probe_out_fail(out, rc, "cannot read %s: larger than %lld bytes; raise the rule's max_bytes or check the file",
				      p, probe_param_int(params, "max_bytes", BACKUP_STATUS_DEFAULT_MAX));
	if (rc == PST_E_INVAL)
		return probe_out_fail(out, rc, "cannot read %s: not a regular file", p);
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot read %s: %s", p, rootfs_strerror(rc));
	rc = backup_status_parse(data, len, &q, f, &e);
	free(data);
	if (rc < 0)
		return probe_out_fail(out, rc, "status file %s: %s", p, e.msg);
	return 0;
}
