/*
 * file_content.c - the `file_content` probe: lines of a text file inside the
 * scanned root that match an extended regular expression.
 *
 * A set probe: one observation per matching line, with the file and line
 * number as location, so "exists" means some line matches and "absent" that
 * none does.  A file that cannot be read (missing unless missing_ok, too
 * large, binary) fails the probe rather than reading as "no match".
 */
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "probe.h"

/* Longest line text kept in an observation; longer lines end in "...". */
#define FILE_CONTENT_MAX_SHOWN 512
/* Ceiling on max_bytes. */
#define FILE_CONTENT_MAX_BYTES (256LL * 1024 * 1024)

static const struct probe_param params[] = {
	{"path", PARAM_STRING, true, NULL, NULL,
	 "Absolute path of a text file inside the scanned root, or a glob "
	 "(*, ?, [...]; a leading dot must be matched explicitly) whose "
	 "matches are all searched."},
	{"pattern", PARAM_STRING, true, NULL, NULL,
	 "POSIX extended regular expression matched against each line "
	 "(without its line ending), e.g. \"^[[:space:]]*PermitRootLogin[[:space:]]+yes\". "
	 "It matches anywhere in the line unless anchored with ^ and $."},
	{"ignore_case", PARAM_BOOL, false, "false", NULL,
	 "Match letters regardless of case."},
	{"skip_comments", PARAM_BOOL, false, "false", NULL,
	 "Ignore lines whose first non-blank character is '#'."},
	{"missing_ok", PARAM_BOOL, false, "false", NULL,
	 "Treat a missing file (or a glob without matches) as a file with no "
	 "lines. When false, a missing file makes the check an error."},
	{"max_bytes", PARAM_INT, false, "4194304", NULL,
	 "Largest file read, in bytes; a larger file makes the check an error."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int compile(regex_t *re, const json_t *p, struct pst_err *e)
{
	const char *pattern = probe_param_str(p, "pattern");
	int flags = REG_EXTENDED | REG_NOSUB;
	char msg[256];
	int rc;

	if (pattern == NULL)
		return pst_err_set(e, PST_E_INVAL, "pattern is required");
	if (probe_param_bool(p, "ignore_case", false))
		flags |= REG_ICASE;
	rc = regcomp(re, pattern, flags);
	if (rc != 0) {
		regerror(rc, re, msg, sizeof(msg));
		return pst_err_set(e, PST_E_INVAL,
				   "pattern \"%s\" is not a valid extended regular expression: %s",
				   pattern, msg);
	}
	return 0;
}

static int validate(const json_t *p, struct pst_err *e)
{
	const char *path = probe_param_str(p, "path");
	long long max = probe_param_int(p, "max_bytes", 4194304);
	regex_t re;
	int rc;

	if (path == NULL || path[0] != '/')
		return pst_err_set(e, PST_E_INVAL,
				   "path \"%s\" must be absolute (start with '/')",
				   path != NULL ? path : "");
	if (strlen(path) >= PATH_MAX)
		return pst_err_set(e, PST_E_INVAL, "path is longer than %d bytes",
				   PATH_MAX - 1);
	if (max < 1 || max > FILE_CONTENT_MAX_BYTES)
		return pst_err_set(e, PST_E_INVAL,
				   "max_bytes %lld is out of range (1 to %lld)", max,
				   FILE_CONTENT_MAX_BYTES);
	rc = compile(&re, p, e);
	if (rc < 0)
		return rc;
	regfree(&re);
	return 0;
}

static bool is_comment(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < n && s[i] == '#';
}

/* The line as shown in evidence: at most FILE_CONTENT_MAX_SHOWN bytes. */
static struct value shown_line(const char *s, size_t n)
{
	char buf[FILE_CONTENT_MAX_SHOWN + 4];
	size_t keep;

	if (n <= FILE_CONTENT_MAX_SHOWN)
		return value_strn(s, n);
	keep = FILE_CONTENT_MAX_SHOWN;
	/* Do not cut a UTF-8 sequence: back off over continuation bytes. */
	while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
		keep--;
	memcpy(buf, s, keep);
	memcpy(buf + keep, "...", 3);
	return value_strn(buf, keep + 3);
}

struct scan {
	const struct probe_ctx *ctx;
	regex_t re;
	bool skip_comments, missing_ok;
	size_t max_bytes;
	char *line;      /* NUL-terminated copy of the current line */
	size_t line_cap;
};

static int scan_file(struct scan *sc, struct probe_out *out, const char *path)
{
	struct line_iter it;
	struct value v;
	const char *line;
	char *data = NULL;
	size_t len = 0, n;
	int rc;

	rc = probe_read_file(sc->ctx, out, path, sc->max_bytes, &data, &len);
	if (rc == PST_E_NOENT) {
		if (sc->missing_ok)
			return 0;
		return probe_out_fail(out, rc,
				      "cannot read %s: it does not exist; set missing_ok to treat a missing file as empty",
				      path);
	}
	if (rc < 0)
		return rc;
	if (memchr(data, '\0', len) != NULL) {
		rc = probe_out_fail(out, PST_E_PARSE,
				    "cannot search %s: it holds NUL bytes (binary data, not text)",
				    path);
		goto out;
	}
	lines_init(&it, data, len);
	while (lines_next(&it, &line, &n)) {
		if (sc->skip_comments && is_comment(line, n))
			continue;
		if (n + 1 > sc->line_cap) {
			char *p = realloc(sc->line, n + 1);
			if (p == NULL) {
				rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
				goto out;
			}
			sc->line = p;
			sc->line_cap = n + 1;
		}
		memcpy(sc->line, line, n);
		sc->line[n] = '\0';
		if (regexec(&sc->re, sc->line, 0, NULL, 0) != 0)
			continue;
		v = shown_line(line, n);
		if (v.kind == VALUE_ABSENT) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		rc = probe_out_add(out, path, NULL, path, it.lineno, v);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	free(data);
	return rc;
}

static int run(const struct probe_ctx *ctx, const json_t *p,
	       struct probe_out *out)
{
	struct scan sc = {0};
	struct pst_err e = {0};
	const char *path = probe_param_str(p, "path");
	char **paths = NULL;
	size_t n = 0, i;
	long long max;
	int rc;

	if (path == NULL)
		return probe_out_fail(out, PST_E_INVAL, "path is required");
	sc.ctx = ctx;
	sc.skip_comments = probe_param_bool(p, "skip_comments", false);
	sc.missing_ok = probe_param_bool(p, "missing_ok", false);
	max = probe_param_int(p, "max_bytes", 4194304);
	if (max < 1 || max > FILE_CONTENT_MAX_BYTES)
		return probe_out_fail(out, PST_E_INVAL,
				      "max_bytes %lld is out of range (1 to %lld)",
				      max, FILE_CONTENT_MAX_BYTES);
	sc.max_bytes = (size_t)max;
	rc = compile(&sc.re, p, &e);
	if (rc < 0)
		return probe_out_fail(out, rc, "%s", e.msg);

	rc = probe_expand(ctx, out, path, &paths, &n);
	if (rc < 0)
		goto out;
	if (n == 0 && !sc.missing_ok) {
		rc = probe_out_fail(out, PST_E_NOENT,
				    "no file matches %s; set missing_ok to treat that as no lines",
				    path);
		goto out;
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = scan_file(&sc, out, paths[i]);
out:
	rootfs_glob_free(paths, n);
	free(sc.line);
	regfree(&sc.re);
	return rc;
}

const struct probe probe_file_content = {
	.name = "file_content",
	.summary = "Lines of a text file inside the scanned root that match a "
		   "regular expression.",
	.value_doc = "One observation per matching line: subject the file, "
		     "location file:line, value the line's text (cut at 512 "
		     "bytes with \"...\"). exists: some line matches; absent: "
		     "none does; count: how many lines match.",
	.params = params,
	.validate = validate,
	.run = run,
};
