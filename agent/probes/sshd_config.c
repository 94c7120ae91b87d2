/*
 * sshd_config.c - the `sshd_config` probe: the global value of one sshd
 * keyword, read the way sshd reads its configuration.
 *
 * sshd's rules, followed here: keywords are case-insensitive; a line is
 * "Keyword value" or "Keyword=value"; '#' starts a comment at the start of a
 * line or of an argument; the first value obtained for a keyword wins;
 * "Include" takes one or more globs (relative ones are relative to /etc/ssh),
 * expanded in sorted order and read in place, so a drop-in included before a
 * line of the main file overrides it (Debian's sshd_config.d); nesting is
 * limited to 16 levels.  A "Match" line starts a block that lasts until the
 * next Match line or the end of the file it is in; lines inside are not
 * global values, and files included inside the block are inside it too.
 * "Match all" returns to the global context, as in sshd.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lines.h"
#include "probe.h"

/* sshd's SERVCONF_MAX_DEPTH. */
#define SSHD_MAX_DEPTH 16
/* Where relative Include paths start (sshd's SSHDIR). */
#define SSHD_DIR "/etc/ssh"
/* Matches of one Include glob. */
#define SSHD_MAX_GLOB 4096

static const struct probe_param params[] = {
	{"key", PARAM_STRING, true, NULL, NULL,
	 "The sshd keyword to observe, e.g. \"PermitRootLogin\"; matched case-insensitively."},
	{"default", PARAM_STRING, false, NULL, NULL,
	 "sshd's compiled-in default for the keyword, reported (with the note \"not set; sshd "
	 "default ...\") when no global line sets it. Without it an unset keyword is absent."},
	{"path", PARAM_STRING, false, "\"/etc/ssh/sshd_config\"", NULL,
	 "The main configuration file."},
	{NULL, PARAM_STRING, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	const char *key = probe_param_str(p, "key");
	const char *path = probe_param_str(p, "path");
	const char *c;

	if (key == NULL || *key == '\0')
		return pst_err_set(e, PST_E_INVAL, "\"key\" must name an sshd keyword");
	for (c = key; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9')))
			return pst_err_set(e, PST_E_INVAL,
					   "\"key\" \"%s\" is not an sshd keyword (letters and digits only)",
					   key);
	if (strcasecmp(key, "Include") == 0 || strcasecmp(key, "Match") == 0)
		return pst_err_set(e, PST_E_INVAL,
				   "\"key\" \"%s\" structures the file and has no value of its own", key);
	if (path != NULL && path[0] != '/')
		return pst_err_set(e, PST_E_INVAL, "\"path\" must be absolute (as seen inside the root)");
	return 0;
}

struct scan {
	const struct probe_ctx *ctx;
	struct probe_out *out;
	const char *key;
	/* The first global value found, and where. */
	char *value;
	char *file;
	unsigned line;
	char *included_from; /* "path:line" of the Include that read `file`; NULL for the main file */
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

/*
 * The next argument of (s, n) from *pos, as sshd's argv_split sees it:
 * white space separates arguments except inside quotes; a backslash
 * escapes a quote, a backslash or (outside quotes) a space.  *start and
 * *end delimit the raw text.  False at the end of the line or at a comment (an
 * argument that starts with '#').
 */
static bool next_arg(const char *s, size_t n, size_t *pos, size_t *start, size_t *end)
{
	size_t i = *pos;
	char quote = 0;

	while (i < n && is_ws(s[i]))
		i++;
	if (i >= n || s[i] == '#')
		return false;
	*start = i;
	for (; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n &&
		    (s[i + 1] == '"' || s[i + 1] == '\'' || s[i + 1] == '\\' ||
		     (quote == 0 && s[i + 1] == ' '))) {
			i++;
			continue;
		}
		if (quote != 0) {
			if (s[i] == quote)
				quote = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			quote = s[i];
		} else if (is_ws(s[i])) {
			break;
		}
	}
	*end = i;
	*pos = i;
	return true;
}

/* A heap copy of the raw argument (s, n) with quotes and escapes removed. */
static char *unquote(const char *s, size_t n)
{
	char *r = malloc(n + 1), quote = 0;
	size_t i, o = 0;

	if (r == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n &&
		    (s[i + 1] == '"' || s[i + 1] == '\'' || s[i + 1] == '\\' ||
		     (quote == 0 && s[i + 1] == ' '))) {
			r[o++] = s[++i];
		} else if (quote != 0 && s[i] == quote) {
			quote = 0;
		} else if (quote == 0 && (s[i] == '"' || s[i] == '\'')) {
			quote = s[i];
		} else {
			r[o++] = s[i];
		}
	}
	r[o] = '\0';
	return r;
}

static int oom(struct scan *sc)
{
	return probe_out_fail(sc->out, PST_E_NOMEM, "out of memory");
}

static int parse_file(struct scan *sc, const char *path, int depth, bool active,
		      const char *from);

/* "Include" at path:lineno with its arguments (s, n). */
static int do_include(struct scan *sc, const char *path, unsigned lineno,
		      const char *s, size_t n, int depth, bool active)
{
	size_t pos = 0, a, b, i, nmatch = 0;
	char **matches = NULL, *from = NULL, *pattern = NULL, *arg = NULL;
	int rc = 0;

	if (asprintf(&from, "%s:%u", path, lineno) < 0)
		return oom(sc);
	while (next_arg(s, n, &pos, &a, &b)) {
		arg = unquote(s + a, b - a);
		if (arg == NULL) {
			rc = oom(sc);
			goto out;
		}
		if (arg[0] == '/') {
			pattern = arg;
			arg = NULL;
		} else if (asprintf(&pattern, "%s/%s", SSHD_DIR, arg) < 0) {
			pattern = NULL;
			rc = oom(sc);
			goto out;
		}
		rc = rootfs_glob(sc->ctx->root, pattern, SSHD_MAX_GLOB, &matches, &nmatch);
		if (rc == PST_E_NOENT || rc == PST_E_NOTDIR) {
			/* Nothing matches: fine for sshd too. */
			matches = NULL;
			nmatch = 0;
			rc = 0;
		} else if (rc < 0) {
			rc = probe_out_fail(sc->out, rc, "%s: cannot expand Include %s: %s",
					    from, pattern, rootfs_strerror(rc));
			goto out;
		}
		for (i = 0; i < nmatch; i++) {
			if (depth + 1 > SSHD_MAX_DEPTH) {
				rc = probe_out_fail(sc->out, PST_E_LIMIT,
						    "%s: cannot include %s: Include nesting deeper than %d levels "
						    "(does a file include itself?)",
						    from, matches[i], SSHD_MAX_DEPTH);
				goto out;
			}
			rc = parse_file(sc, matches[i], depth + 1, active, from);
			if (rc < 0)
				goto out;
		}
		rootfs_glob_free(matches, nmatch);
		matches = NULL;
		nmatch = 0;
		free(pattern);
		pattern = NULL;
		free(arg);
		arg = NULL;
	}
out:
	rootfs_glob_free(matches, nmatch);
	free(pattern);
	free(arg);
	free(from);
	return rc;
}

/* True when the Match arguments (s, n) are "all" alone. */
static bool match_all(const char *s, size_t n)
{
	size_t pos = 0, a, b;

	if (!next_arg(s, n, &pos, &a, &b))
		return false;
	if (b - a != 3 || strncasecmp(s + a, "all", 3) != 0)
		return false;
	return !next_arg(s, n, &pos, &a, &b);
}

/* Record the value (s, n) found at path:lineno. */
static int take_value(struct scan *sc, const char *path, unsigned lineno,
		      const char *s, size_t n, const char *from)
{
	size_t pos = 0, a, b, first = 0, last = 0, count = 0;

	while (next_arg(s, n, &pos, &a, &b)) {
		if (count++ == 0)
			first = a;
		last = b;
	}
	if (count == 0)
		return 0; /* "Keyword" alone: sshd refuses it; it sets nothing */
	if (count == 1 && last - first >= 2 &&
	    (s[first] == '"' || s[first] == '\'') && s[last - 1] == s[first])
		sc->value = unquote(s + first, last - first);
	else
		sc->value = strndup(s + first, last - first);
	sc->file = strdup(path);
	sc->included_from = from ? strdup(from) : NULL;
	if (sc->value == NULL || sc->file == NULL || (from && sc->included_from == NULL))
		return oom(sc);
	sc->line = lineno;
	return 0;
}

/*
 * Read one file.  active: lines are global (not inside a Match block of
 * this file or of an including one).  from: "path:line" of the Include that
 * led here, NULL for the main file.
 */
static int parse_file(struct scan *sc, const char *path, int depth, bool active,
		      const char *from)
{
	const bool inherited = active;
	struct line_iter it;
	const char *line;
	char *data = NULL;
	size_t len, n;
	int rc;

	rc = probe_read_config(sc->ctx, sc->out, path, from,
			       "is openssh-server installed? use applicable_if to skip hosts without it",
			       &data, &len);
	if (rc < 0)
		return rc;
	lines_init(&it, data, len);
	while (lines_next(&it, &line, &n)) {
		size_t kw, rest;

		/* sshd reads C strings: a NUL ends the line. */
		n = strnlen(line, n);
		lines_trim(&line, &n);
		if (n == 0 || line[0] == '#')
			continue;
		for (kw = 0; kw < n && !is_ws(line[kw]) && line[kw] != '='; kw++)
			;
		rest = kw;
		while (rest < n && is_ws(line[rest]))
			rest++;
		if (rest < n && line[rest] == '=')
			rest++;
		if (kw == 0)
			continue; /* "=value": no keyword */

		if (kw == 5 && strncasecmp(line, "Match", 5) == 0) {
			active = inherited && match_all(line + rest, n - rest);
		} else if (kw == 7 && strncasecmp(line, "Include", 7) == 0) {
			rc = do_include(sc, path, it.lineno, line + rest, n - rest,
					depth, active);
			if (rc < 0)
				goto out;
		} else if (active && sc->value == NULL && kw == strlen(sc->key) &&
			   strncasecmp(line, sc->key, kw) == 0) {
			rc = take_value(sc, path, it.lineno, line + rest, n - rest, from);
			if (rc < 0)
				goto out;
		}
	}
	rc = 0;
out:
	free(data);
	return rc;
}

/*
 * Keywords that sshd reads as a time (convtime() in OpenSSH's misc.c): a
 * sequence of numbers each with an optional unit s, m, h, d or w, so that
 * "2m" is 120 seconds.  Their values are observed as seconds, so that a
 * rule "le 60" compares what sshd will do, not the text.
 */
static const char *const time_keywords[] = {
	"LoginGraceTime", "ClientAliveInterval", "UnusedConnectionTimeout", NULL,
};

static bool is_time_keyword(const char *key)
{
	size_t i;

	for (i = 0; time_keywords[i] != NULL; i++)
		if (strcasecmp(time_keywords[i], key) == 0)
			return true;
	return false;
}

/* sshd's convtime: true with *secs, or false when s is not a time. */
static bool parse_sshd_time(const char *s, int64_t *secs, bool *has_unit)
{
	int64_t total = 0;

	*has_unit = false;
	if (*s == '\0')
		return false;
	while (*s != '\0') {
		int64_t n = 0, mult = 1;

		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9') {
			if (n > (INT32_MAX - (*s - '0')) / 10)
				return false;
			n = n * 10 + (*s++ - '0');
		}
		switch (*s) {
		case '\0': break;
		case 's': case 'S': s++; *has_unit = true; break;
		case 'm': case 'M': mult = 60; s++; *has_unit = true; break;
		case 'h': case 'H': mult = 3600; s++; *has_unit = true; break;
		case 'd': case 'D': mult = 86400; s++; *has_unit = true; break;
		case 'w': case 'W': mult = 604800; s++; *has_unit = true; break;
		default: return false;
		}
		if (n > (INT32_MAX - total) / mult)
			return false;
		total += n * mult;
	}
	*secs = total;
	return true;
}

/* Observe a time keyword's text as seconds, saying so when it had units. */
static int add_value(struct probe_out *out, const char *key, const char *file, unsigned line,
		     char *text)
{
	int64_t secs;
	bool unit;
	int rc;

	if (!is_time_keyword(key) || !parse_sshd_time(text, &secs, &unit))
		return probe_out_add(out, file, key, file, line, value_take_str(text));
	rc = probe_out_add(out, file, key, file, line, value_int(secs));
	if (rc == 0 && unit)
		rc = probe_out_note(out, "\"%s\" is %lld seconds", text, (long long)secs);
	free(text);
	return rc;
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const char *key = probe_param_str(p, "key");
	const char *dflt = probe_param_str(p, "default");
	const char *path = probe_param_str(p, "path");
	struct scan sc = {0};
	int rc;

	if (path == NULL)
		path = "/etc/ssh/sshd_config";
	if (key == NULL)
		return probe_out_fail(out, PST_E_INVAL, "missing parameter \"key\"");
	sc.ctx = ctx;
	sc.out = out;
	sc.key = key;

	/*
	 * The whole tree is read even after the value is found: a broken
	 * Include anywhere stops sshd from starting, and the probe's answer
	 * must not depend on which keyword was asked for.
	 */
	rc = parse_file(&sc, path, 0, true, NULL);
	if (rc < 0)
		goto out;

	if (sc.value != NULL) {
		rc = add_value(out, key, sc.file, sc.line, sc.value);
		sc.value = NULL;
		if (rc == 0 && sc.included_from != NULL) {
			const char *unit_note = out->items[out->n - 1].note;
			rc = probe_out_note(out, "%s%sset in a file included from %s",
					    unit_note ? unit_note : "", unit_note ? "; " : "",
					    sc.included_from);
		}
	} else if (dflt != NULL) {
		char *d = strdup(dflt);

		if (d == NULL) {
			rc = oom(&sc);
			goto out;
		}
		rc = add_value(out, key, path, 0, d);
		if (rc == 0)
			rc = probe_out_note(out, "not set; sshd default %s", dflt);
	} else {
		rc = probe_out_add(out, path, key, path, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "not set");
	}
out:
	free(sc.value);
	free(sc.file);
	free(sc.included_from);
	return rc;
}

const struct probe probe_sshd_config = {
	.name = "sshd_config",
	.summary = "The global value of one OpenSSH server keyword, read as sshd reads "
		   "sshd_config: case-insensitive keywords, the first value wins, Include "
		   "files read in place, Match blocks excluded.",
	.value_doc = "One string: the keyword's arguments as written (quotes around a single "
		     "argument removed), located at the file and line that set it; the given "
		     "default when no line sets it; absent (\"not set\") otherwise. Keywords "
		     "sshd reads as a time (LoginGraceTime, ClientAliveInterval, "
		     "UnusedConnectionTimeout) are observed as integer seconds, as sshd "
		     "reads them (\"2m\" is 120), with a note giving the text.",
	.params = params,
	.validate = validate,
	.run = run,
};
