/*
 * sudoers.c - the `sudoers` probe: NOPASSWD grants, Defaults that turn
 * authentication off, the value of one Defaults setting, and the files
 * that make up the policy.
 *
 * The files are read as sudo reads them: "@include"/"#include" of a file
 * (relative paths relative to the including file's directory) and
 * "@includedir"/"#includedir" of a directory (its files in sorted order,
 * skipping names that end in '~' or contain '.') are read in place; a line
 * ending in a backslash continues on the next; '#' starts a comment except
 * in the include directives and in "#<digits>" (a uid).  The sudoers grammar
 * is large: a line this probe does not understand is passed over, not an
 * error; an include whose target cannot be read is an error (a missing
 * @includedir directory is not: sudo ignores it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "probe.h"
#include "strbuf.h"

/* Include nesting accepted (sudo allows 128; real policies use one or two). */
#define SUDOERS_MAX_DEPTH 8
/* Ceiling on one logical line (continuations joined). */
#define SUDOERS_MAX_LINE (1024u * 1024)
/* Ceiling on the value of one Defaults setting built with += and -=. */
#define SUDOERS_MAX_VALUE (64u * 1024)

static const char *const select_choices[] = {
	"nopasswd", "no_authenticate", "defaults", "includes", NULL,
};

static const struct probe_param params[] = {
	{"select", PARAM_STRING, true, NULL, select_choices,
	 "What to observe: nopasswd (one observation per user specification with a NOPASSWD tag; "
	 "the value is the line with white space collapsed), no_authenticate (one per Defaults "
	 "line of any kind - Defaults, Defaults:user, Defaults@host, Defaults>runas, Defaults!cmnd - "
	 "that sets !authenticate; the value is the line), defaults (the value of the setting `key` "
	 "from generic Defaults lines, the last one winning as in sudo: \"true\" for a flag, \"false\" "
	 "for a negated one, the text of key=value; absent when not set), includes (one per file read "
	 "through an include directive; the value is its path)."},
	{"key", PARAM_STRING, false, NULL, NULL,
	 "For select defaults: the Defaults setting, e.g. \"use_pty\", \"logfile\", \"timestamp_timeout\"."},
	{"path", PARAM_STRING, false, "\"/etc/sudoers\"", NULL, "The main sudoers file."},
	{NULL, PARAM_STRING, false, NULL, NULL, NULL},
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r' || c == '\n';
}

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

static int validate(const json_t *p, struct pst_err *e)
{
	const char *sel = probe_param_str(p, "select");
	const char *key = probe_param_str(p, "key");
	const char *path = probe_param_str(p, "path");
	bool defaults = sel != NULL && strcmp(sel, "defaults") == 0;
	const char *c;

	if (defaults && key == NULL)
		return pst_err_set(e, PST_E_INVAL,
				   "select \"defaults\" needs \"key\" (the Defaults setting, e.g. \"use_pty\")");
	if (!defaults && json_object_get(p, "key") != NULL)
		return pst_err_set(e, PST_E_INVAL, "\"key\" applies only to select \"defaults\"");
	if (key != NULL) {
		if (*key == '\0')
			return pst_err_set(e, PST_E_INVAL, "\"key\" must name a Defaults setting");
		for (c = key; *c != '\0'; c++)
			if (!is_word(*c))
				return pst_err_set(e, PST_E_INVAL,
						   "\"key\" \"%s\" is not a Defaults setting name "
						   "(letters, digits and '_' only; no '!')", key);
	}
	if (path != NULL && path[0] != '/')
		return pst_err_set(e, PST_E_INVAL, "\"path\" must be absolute (as seen inside the root)");
	return 0;
}

struct scan {
	const struct probe_ctx *ctx;
	struct probe_out *out;
	const char *select;
	const char *key;
	/* select defaults: the current value of key, and where it was last changed */
	bool dset;
	struct strbuf dval;
	char *dfile;
	unsigned dline;
	bool dlist; /* changed with += or -= */
};

static int oom(struct scan *sc)
{
	return probe_out_fail(sc->out, PST_E_NOMEM, "out of memory");
}

/* A heap copy of (s, n) with white space runs collapsed to one space, trimmed. */
static char *collapse(const char *s, size_t n)
{
	char *r = malloc(n + 1);
	size_t i, o = 0;
	bool space = false;

	if (r == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (is_ws(s[i])) {
			space = o > 0;
			continue;
		}
		if (space)
			r[o++] = ' ';
		space = false;
		r[o++] = s[i];
	}
	r[o] = '\0';
	return r;
}

/*
 * Length of (s, n) before its comment: a '#' outside double quotes that is
 * not followed by a digit ("#1000" is a uid).  A backslash escapes the next
 * character.
 */
static size_t comment_start(const char *s, size_t n)
{
	bool quoted = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == '#' && !quoted && !(i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9'))
			return i;
	}
	return n;
}

/* A heap copy of (s, n) without surrounding double quotes and with backslash escapes removed. */
static char *unquote(const char *s, size_t n)
{
	char *r = malloc(n + 1);
	size_t i, o = 0;

	if (r == NULL)
		return NULL;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		r[o++] = s[i];
	}
	r[o] = '\0';
	return r;
}

static int parse_file(struct scan *sc, const char *path, int depth, const char *from);

/* The directory part of path ("/etc" for "/etc/sudoers"), heap. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* A file read through an include directive: recurse and record it. */
static int include_file(struct scan *sc, const char *target, int depth,
			const char *from, const char *how)
{
	int rc;

	if (depth + 1 > SUDOERS_MAX_DEPTH)
		return probe_out_fail(sc->out, PST_E_LIMIT,
				      "%s: cannot include %s: include nesting deeper than %d levels "
				      "(does a file include itself?)", from, target, SUDOERS_MAX_DEPTH);
	if (strcmp(sc->select, "includes") == 0) {
		struct value v = value_str(target);
		const char *colon = strrchr(from, ':');
		char *fpath;

		if (v.kind != VALUE_STRING)
			return oom(sc);
		fpath = strndup(from, colon ? (size_t)(colon - from) : strlen(from));
		if (fpath == NULL) {
			value_cleanup(&v);
			return oom(sc);
		}
		rc = probe_out_add(sc->out, target, "include", fpath,
				   colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0, v);
		free(fpath);
		if (rc == 0)
			rc = probe_out_note(sc->out, "read through %s", how);
		if (rc < 0)
			return rc;
	}
	return parse_file(sc, target, depth + 1, from);
}

/* "@include"/"#include" (dir = false) or "...includedir" (dir = true) with argument (s, n). */
static int do_include(struct scan *sc, const char *path, unsigned lineno, int depth,
		      bool dir, const char *directive, const char *s, size_t n)
{
	char *arg = NULL, *target = NULL, *from = NULL, *how = NULL, *base = NULL;
	char **names = NULL;
	size_t i, nnames = 0;
	int rc = 0;

	n = comment_start(s, n);
	lines_trim(&s, &n);
	if (n == 0)
		return 0; /* not understood: passed over */
	arg = unquote(s, n);
	if (arg == NULL || asprintf(&from, "%s:%u", path, lineno) < 0) {
		from = NULL;
		rc = oom(sc);
		goto out;
	}
	if (arg[0] == '/') {
		target = arg;
		arg = NULL;
	} else {
		base = dir_of(path);
		if (base == NULL || asprintf(&target, "%s%s%s", base,
					     strcmp(base, "/") == 0 ? "" : "/", arg) < 0) {
			target = NULL;
			rc = oom(sc);
			goto out;
		}
	}
	if (asprintf(&how, "%s %s at %s", directive, target, from) < 0) {
		how = NULL;
		rc = oom(sc);
		goto out;
	}
	if (!dir) {
		rc = include_file(sc, target, depth, from, how);
		goto out;
	}

	rc = rootfs_list(sc->ctx->root, target, 0, &names, &nnames);
	if (rc == PST_E_NOENT) {
		rc = 0; /* sudo ignores a missing include directory */
		goto out;
	}
	if (rc < 0) {
		rc = probe_out_fail(sc->out, rc, "%s: cannot list %s %s: %s", from, directive,
				    target, rootfs_strerror(rc));
		goto out;
	}
	for (i = 0; i < nnames; i++) {
		const char *name = names[i];
		size_t len = strlen(name);
		struct stat st;
		char *file;

		if (len == 0 || name[len - 1] == '~' || strchr(name, '.') != NULL)
			continue;
		if (asprintf(&file, "%s/%s", target, name) < 0) {
			rc = oom(sc);
			goto out;
		}
		/* Like sudo, only regular files (after links) are read. */
		rc = rootfs_stat(sc->ctx->root, file, true, &st);
		if (rc == 0 && !S_ISREG(st.st_mode)) {
			free(file);
			continue;
		}
		if (rc < 0 && rc != PST_E_NOENT && rc != PST_E_LOOP) {
			rc = probe_out_fail(sc->out, rc, "%s: cannot read %s: %s", from, file,
					    rootfs_strerror(rc));
			free(file);
			goto out;
		}
		rc = include_file(sc, file, depth, from, how);
		free(file);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	rootfs_glob_free(names, nnames);
	free(arg);
	free(target);
	free(from);
	free(how);
	free(base);
	return rc;
}

/* Apply one generic Defaults setting for select defaults. */
static int apply_default(struct scan *sc, const char *path, unsigned lineno, bool neg,
			 const char *op, const char *val, size_t vlen)
{
	char *v = NULL;
	int rc = 0;

	if (neg || op == NULL) {
		strbuf_reset(&sc->dval);
		rc = strbuf_appends(&sc->dval, neg ? "false" : "true");
		sc->dlist = false;
	} else {
		v = unquote(val, vlen);
		if (v == NULL)
			return oom(sc);
		if (strcmp(op, "=") == 0 || !sc->dset) {
			strbuf_reset(&sc->dval);
			rc = strcmp(op, "-=") == 0 ? 0 : strbuf_appends(&sc->dval, v);
			sc->dlist = strcmp(op, "=") != 0;
		} else if (strcmp(op, "+=") == 0) {
			/* A list: add the words not there yet. */
			char *save = NULL, *w;

			for (w = strtok_r(v, " \t", &save); w != NULL && rc == 0;
			     w = strtok_r(NULL, " \t", &save)) {
				const char *cur = strbuf_peek(&sc->dval);
				const char *hit = strstr(cur, w);
				size_t wl = strlen(w);
				bool present = false;

				while (hit != NULL && !present) {
					present = (hit == cur || hit[-1] == ' ') &&
						  (hit[wl] == '\0' || hit[wl] == ' ');
					hit = strstr(hit + 1, w);
				}
				if (!present)
					rc = strbuf_appendf(&sc->dval, "%s%s",
							    sc->dval.len ? " " : "", w);
			}
			sc->dlist = true;
		} else {
			/* -=: remove the words given. */
			struct strbuf next;
			char *copy = strdup(strbuf_peek(&sc->dval)), *save = NULL, *w;

			if (copy == NULL) {
				free(v);
				return oom(sc);
			}
			strbuf_init(&next, SUDOERS_MAX_VALUE);
			for (w = strtok_r(copy, " \t", &save); w != NULL && rc == 0;
			     w = strtok_r(NULL, " \t", &save)) {
				char *save2 = NULL, *tmp = strdup(v), *x;
				bool drop = false;

				if (tmp == NULL) {
					rc = PST_E_NOMEM;
					break;
				}
				for (x = strtok_r(tmp, " \t", &save2); x != NULL && !drop;
				     x = strtok_r(NULL, " \t", &save2))
					drop = strcmp(x, w) == 0;
				free(tmp);
				if (!drop)
					rc = strbuf_appendf(&next, "%s%s", next.len ? " " : "", w);
			}
			free(copy);
			if (rc == 0) {
				strbuf_reset(&sc->dval);
				rc = strbuf_appends(&sc->dval, strbuf_peek(&next));
			}
			strbuf_cleanup(&next);
			sc->dlist = true;
		}
	}
	free(v);
	if (rc == PST_E_TOOBIG)
		return probe_out_fail(sc->out, rc, "%s:%u: the value of Defaults %s exceeds %u bytes",
				      path, lineno, sc->key, SUDOERS_MAX_VALUE);
	if (rc < 0)
		return oom(sc);
	free(sc->dfile);
	sc->dfile = strdup(path);
	if (sc->dfile == NULL)
		return oom(sc);
	sc->dline = lineno;
	sc->dset = true;
	return 0;
}

/*
 * A Defaults line (s, n), comments removed; i is the index after
 * "Defaults".  Settings are separated by commas outside double quotes.
 */
static int do_defaults(struct scan *sc, const char *path, unsigned lineno,
		       const char *s, size_t n, size_t i)
{
	bool generic = i >= n || is_ws(s[i]);
	bool want_auth = strcmp(sc->select, "no_authenticate") == 0;
	int rc;

	if (!want_auth && !(generic && strcmp(sc->select, "defaults") == 0))
		return 0;
	if (!generic) {
		/* The binding list: "Defaults:alice,bob", also with spaces after commas. */
		for (;;) {
			char last = 0;
			size_t j;

			while (i < n && !is_ws(s[i]))
				last = s[i++];
			j = i;
			while (j < n && is_ws(s[j]))
				j++;
			if (j < n && (last == ',' || s[j] == ',')) {
				i = j + (s[j] == ',' ? 1 : 0);
				while (i < n && is_ws(s[i]))
					i++;
				continue;
			}
			break;
		}
	}
	while (i < n) {
		size_t start, end, nm, q;
		bool quoted = false, neg = false;
		const char *op = NULL;

		/* One setting: up to a comma outside quotes. */
		for (start = i; i < n; i++) {
			if (s[i] == '\\' && i + 1 < n) {
				i++;
				continue;
			}
			if (s[i] == '"')
				quoted = !quoted;
			else if (s[i] == ',' && !quoted)
				break;
		}
		end = i;
		if (i < n)
			i++; /* the comma */
		while (start < end && is_ws(s[start]))
			start++;
		while (end > start && is_ws(s[end - 1]))
			end--;
		while (start < end && s[start] == '!') {
			neg = !neg;
			start++;
			while (start < end && is_ws(s[start]))
				start++;
		}
		for (nm = start; nm < end && is_word(s[nm]); nm++)
			;
		if (nm == start)
			continue; /* not understood */
		q = nm;
		while (q < end && is_ws(s[q]))
			q++;
		if (q < end && s[q] == '=') {
			op = "=";
			q++;
		} else if (q + 1 < end && (s[q] == '+' || s[q] == '-') && s[q + 1] == '=') {
			op = s[q] == '+' ? "+=" : "-=";
			q += 2;
		} else if (q < end) {
			continue; /* not understood */
		}
		while (q < end && is_ws(s[q]))
			q++;

		if (want_auth) {
			char *line;
			struct value v;

			if (!neg || op != NULL || nm - start != 12 ||
			    strncmp(s + start, "authenticate", 12) != 0)
				continue;
			line = collapse(s, n);
			v = value_take_str(line);
			if (line == NULL)
				return oom(sc);
			rc = probe_out_add(sc->out, path, "authenticate", path, lineno, v);
			if (rc == 0)
				rc = probe_out_note(sc->out, "sudo asks no password where this Defaults line applies");
			if (rc < 0)
				return rc;
			return 0; /* one observation per line */
		}
		if (nm - start != strlen(sc->key) || strncmp(s + start, sc->key, nm - start) != 0)
			continue;
		rc = apply_default(sc, path, lineno, neg, op, s + q, end - q);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* True when (s, n) starts with word w followed by white space (or the end when end_ok). */
static bool starts_with_word(const char *s, size_t n, const char *w, bool end_ok)
{
	size_t l = strlen(w);

	if (n < l || strncmp(s, w, l) != 0)
		return false;
	return n == l ? end_ok : is_ws(s[l]);
}

/* A user specification (s, n) with a NOPASSWD tag becomes an observation. */
static int do_userspec(struct scan *sc, const char *path, unsigned lineno,
		       const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 8 <= n; i++) {
		size_t j = i + 8;
		char *line;
		struct value v;
		int rc;

		if (strncmp(s + i, "NOPASSWD", 8) != 0 || (i > 0 && is_word(s[i - 1])))
			continue;
		while (j < n && is_ws(s[j]))
			j++;
		if (j >= n || s[j] != ':')
			continue;
		line = collapse(s, n);
		v = value_take_str(line);
		if (line == NULL)
			return oom(sc);
		rc = probe_out_add(sc->out, path, "NOPASSWD", path, lineno, v);
		if (rc == 0)
			rc = probe_out_note(sc->out, "commands tagged NOPASSWD run without asking for a password");
		return rc;
	}
	return 0;
}

/* One logical line (s, n) that started on physical line lineno. */
static int do_line(struct scan *sc, const char *path, unsigned lineno, int depth,
		   const char *s, size_t n)
{
	static const char *const aliases[] = {
		"User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias", "Cmd_Alias", NULL,
	};
	static const struct {
		const char *word;
		bool dir;
	} directives[] = {
		{"@includedir", true}, {"#includedir", true},
		{"@include", false}, {"#include", false},
	};
	size_t i;

	lines_trim(&s, &n);
	for (i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
		size_t l = strlen(directives[i].word);

		if (starts_with_word(s, n, directives[i].word, false))
			return do_include(sc, path, lineno, depth, directives[i].dir,
					  directives[i].word, s + l, n - l);
	}
	n = comment_start(s, n);
	lines_trim(&s, &n);
	if (n == 0)
		return 0;
	if (n >= 8 && strncmp(s, "Defaults", 8) == 0 &&
	    (n == 8 || is_ws(s[8]) || strchr(":@>!", s[8]) != NULL))
		return do_defaults(sc, path, lineno, s, n, 8);
	for (i = 0; aliases[i] != NULL; i++)
		if (starts_with_word(s, n, aliases[i], true))
			return 0;
	if (strcmp(sc->select, "nopasswd") == 0)
		return do_userspec(sc, path, lineno, s, n);
	return 0;
}

static int parse_file(struct scan *sc, const char *path, int depth, const char *from)
{
	struct strbuf logical;
	struct line_iter it;
	const char *line;
	char *data = NULL;
	size_t len, n;
	unsigned start = 0;
	int rc;

	strbuf_init(&logical, SUDOERS_MAX_LINE);
	rc = probe_read_config(sc->ctx, sc->out, path, from,
			       "is sudo installed? use applicable_if to skip hosts without it",
			       &data, &len);
	if (rc < 0)
		return rc;
	lines_init(&it, data, len);
	while (lines_next(&it, &line, &n)) {
		bool cont;

		n = strnlen(line, n);
		if (logical.len == 0)
			start = it.lineno;
		cont = n > 0 && line[n - 1] == '\\';
		rc = strbuf_append(&logical, line, cont ? n - 1 : n);
		if (rc == 0 && cont)
			rc = strbuf_appendc(&logical, ' ');
		if (rc == PST_E_TOOBIG) {
			rc = probe_out_fail(sc->out, rc, "%s:%u: line longer than %u bytes",
					    path, start, SUDOERS_MAX_LINE);
			goto out;
		}
		if (rc < 0) {
			rc = oom(sc);
			goto out;
		}
		if (cont && it.p < it.end)
			continue;
		rc = do_line(sc, path, start, depth, strbuf_peek(&logical), logical.len);
		if (rc < 0)
			goto out;
		strbuf_reset(&logical);
	}
	rc = 0;
out:
	strbuf_cleanup(&logical);
	free(data);
	return rc;
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const char *path = probe_param_str(p, "path");
	struct scan sc = {0};
	int rc;

	sc.ctx = ctx;
	sc.out = out;
	sc.select = probe_param_str(p, "select");
	sc.key = probe_param_str(p, "key");
	strbuf_init(&sc.dval, SUDOERS_MAX_VALUE);
	if (path == NULL)
		path = "/etc/sudoers";
	if (sc.select == NULL || (strcmp(sc.select, "defaults") == 0 && sc.key == NULL)) {
		rc = probe_out_fail(out, PST_E_INVAL, "missing parameter \"%s\"",
				    sc.select == NULL ? "select" : "key");
		goto out;
	}
	rc = parse_file(&sc, path, 0, NULL);
	if (rc < 0 || strcmp(sc.select, "defaults") != 0)
		goto out;

	if (sc.dset) {
		struct value v = value_str(strbuf_peek(&sc.dval));

		if (v.kind != VALUE_STRING) {
			rc = oom(&sc);
			goto out;
		}
		rc = probe_out_add(out, sc.dfile, sc.key, sc.dfile, sc.dline, v);
		if (rc == 0 && sc.dlist)
			rc = probe_out_note(out, "a list built with += / -= over Defaults lines; last changed here");
	} else {
		rc = probe_out_add(out, path, sc.key, path, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "not set");
	}
out:
	strbuf_cleanup(&sc.dval);
	free(sc.dfile);
	return rc;
}

const struct probe probe_sudoers = {
	.name = "sudoers",
	.summary = "Grants and settings of sudo's policy: NOPASSWD rules, Defaults that turn "
		   "authentication off, the value of a Defaults setting, and the files included, "
		   "read from /etc/sudoers and the files it includes.",
	.value_doc = "nopasswd and no_authenticate: one string per matching line (the line with "
		     "white space collapsed), at its file and line; includes: one path per file "
		     "read; defaults: one string, \"true\"/\"false\" for flags or the setting's "
		     "value, absent (\"not set\") when no generic Defaults line sets it.",
	.params = params,
	.validate = validate,
	.run = run,
};
