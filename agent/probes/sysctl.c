/*
 * sysctl.c - the `sysctl` probe: a kernel parameter, either as the running
 * kernel has it (/proc/sys) or as the configuration applies it at boot
 * (sysctl.d and sysctl.conf).
 *
 * A scalar probe: one observation.  Keys are compared in systemd's
 * normalised form: when the first separator of a key is '.', dots and
 * slashes swap ("net.ipv4.conf.eth0/100.rp_filter" is
 * "net/ipv4/conf/eth0.100/rp_filter"); when it is '/', the key is already
 * a path.  Both spellings of a key therefore name the same file under
 * /proc/sys, including interface names with dots in them.
 *
 * source "persisted" follows systemd-sysctl: *.conf files from the
 * directories of sysctl_dirs[], a name found in an earlier directory
 * hiding the same name in later ones (a link to /dev/null, or an empty
 * file, hides it without setting anything), read in order of file name.
 * /etc/sysctl.conf is read where a sysctl.d entry links to it (Debian's
 * 99-sysctl.conf), else last of all, as `sysctl --system` does.  Within
 * that order a later assignment overrides an earlier one; an exact key
 * overrides glob assignments ("net.ipv4.conf.*.rp_filter = 1"), of which
 * the one systemd would apply last wins; "-key" without a value keeps
 * globs off a key.  A line that is not an assignment is a failure naming
 * file:line: systemd-sysctl skips it with a warning, so the setting the
 * author meant is not applied, and the check should say so loudly.
 */
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"
#include "probe.h"

/* Longest key accepted in a rule. */
#define SYSCTL_MAX_KEY 512
/* Largest /proc/sys file or sysctl.d file read. */
#define SYSCTL_MAX_READ (4u * 1024 * 1024)
/* sysctl.d entries considered, over all directories. */
#define SYSCTL_MAX_FILES 4096

static const char *const source_choices[] = {"live", "persisted", NULL};

static const char *const sysctl_dirs[] = {
	"/etc/sysctl.d",
	"/run/sysctl.d",
	"/usr/local/lib/sysctl.d",
	"/usr/lib/sysctl.d",
	"/lib/sysctl.d",
};

static const struct probe_param params[] = {
	{"key", PARAM_STRING, true, NULL, NULL,
	 "Kernel parameter, dotted (\"net.ipv4.ip_forward\") or as a path "
	 "under /proc/sys (\"net/ipv4/ip_forward\", needed when a component "
	 "holds a dot, e.g. \"net/ipv4/conf/eth0.100/rp_filter\"). Letters, "
	 "digits, '_', '-', '.' and '/' only; no glob patterns."},
	{"source", PARAM_STRING, false, "\"live\"", source_choices,
	 "\"live\": the running kernel's value from /proc/sys. "
	 "\"persisted\": the value applied at boot by systemd-sysctl from "
	 "/etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, "
	 "/usr/lib/sysctl.d, /lib/sysctl.d and /etc/sysctl.conf."},
	{NULL, 0, false, NULL, NULL, NULL},
};

/*
 * systemd's sysctl_normalize: the slash form of a key, in a heap copy with
 * repeated, leading and trailing slashes dropped.
 */
static char *normalise(const char *key, size_t n)
{
	char *s = malloc(n + 1), *w;
	const char *sep;
	bool swap;
	size_t i;

	if (s == NULL)
		return NULL;
	sep = NULL;
	for (i = 0; i < n; i++)
		if (key[i] == '.' || key[i] == '/') {
			sep = key + i;
			break;
		}
	swap = sep != NULL && *sep == '.';
	w = s;
	for (i = 0; i < n; i++) {
		char c = key[i];

		if (swap && c == '.')
			c = '/';
		else if (swap && c == '/')
			c = '.';
		if (c == '/' && (w == s || w[-1] == '/'))
			continue;
		*w++ = c;
	}
	while (w > s && w[-1] == '/')
		w--;
	*w = '\0';
	return s;
}

static int validate(const json_t *p, struct pst_err *e)
{
	const char *key = probe_param_str(p, "key");
	const char *c;
	size_t n;

	if (key == NULL || key[0] == '\0')
		return pst_err_set(e, PST_E_INVAL, "key must not be empty");
	n = strlen(key);
	if (n > SYSCTL_MAX_KEY)
		return pst_err_set(e, PST_E_INVAL, "key is longer than %d bytes",
				   SYSCTL_MAX_KEY);
	if (strchr(key, '*') != NULL)
		return pst_err_set(e, PST_E_INVAL,
				   "key \"%s\": glob patterns are not supported; name one key, e.g. net.ipv4.conf.all.rp_filter (glob assignments in sysctl.d still count for it)",
				   key);
	for (c = key; *c != '\0'; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' ||
		    *c == '.' || *c == '/')
			continue;
		return pst_err_set(e, PST_E_INVAL,
				   "key \"%s\" holds '%c'; use letters, digits, '_', '-', '.' and '/' only",
				   key, *c);
	}
	if (key[0] == '/' || key[0] == '.')
		return pst_err_set(e, PST_E_INVAL,
				   "key \"%s\" must not start with '%c'; write it relative to /proc/sys, e.g. net.ipv4.ip_forward",
				   key, key[0]);
	if (key[0] == '-')
		return pst_err_set(e, PST_E_INVAL,
				   "key \"%s\" must not start with '-' (that is sysctl.d syntax for ignoring errors)",
				   key);
	if (strstr(key, "..") != NULL || strstr(key, "//") != NULL ||
	    strstr(key, "/.") != NULL || strstr(key, "./") != NULL ||
	    key[n - 1] == '.' || key[n - 1] == '/')
		return pst_err_set(e, PST_E_INVAL,
				   "key \"%s\" has an empty or relative component", key);
	return 0;
}

/* Copy (s, n) with runs of white space made one space, trimmed. Heap. */
static char *collapse(const char *s, size_t n)
{
	char *out = malloc(n + 1), *w = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		bool ws = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
			  s[i] == '\r' || s[i] == '\v' || s[i] == '\f';

		if (!ws)
			*w++ = s[i];
		else if (w > out && w[-1] != ' ')
			*w++ = ' ';
	}
	while (w > out && w[-1] == ' ')
		w--;
	*w = '\0';
	return out;
}

static int run_live(const struct probe_ctx *ctx, const char *key,
		    const char *norm, struct probe_out *out)
{
	struct stat st;
	char *path = NULL, *data = NULL, *v;
	size_t len = 0;
	int rc;

	if (asprintf(&path, "/proc/sys/%s", norm) < 0)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	rc = probe_read_file(ctx, out, path, SYSCTL_MAX_READ, &data, &len);
	if (rc == PST_E_NOENT || rc == PST_E_NOTDIR) {
		if (rootfs_stat(ctx->root, "/proc/sys", true, &st) != 0 ||
		    !S_ISDIR(st.st_mode)) {
			rc = probe_out_fail(out, PST_E_NOENT,
					    "cannot read %s: /proc/sys is not there (a root without /proc mounted); use source \"persisted\" for an image",
					    path);
			goto out;
		}
		rc = probe_out_add(out, path, key, path, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "not present in /proc/sys (module not loaded or key unknown)");
		goto out;
	}
	if (rc < 0)
		goto out;
	v = collapse(data, len);
	if (v == NULL) {
		rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
		goto out;
	}
	rc = probe_out_add(out, path, key, path, 0, value_take_str(v));
out:
	free(data);
	free(path);
	return rc;
}

/* --- persisted --- */

/* An assignment that applies to the key asked for. */
struct assign {
	char *file;
	unsigned line;
	char *value;      /* as written, trimmed; NULL for "-key" */
	char *written;    /* the key as written (for glob notes) */
	char *norm;       /* normalised key or pattern */
	unsigned long seq; /* position in systemd's ordered map */
};

struct persisted {
	const char *want; /* normalised key */
	struct assign exact;
	bool have_exact;
	struct assign *globs;
	size_t nglobs, cap;
	unsigned long seq;
};

static void assign_cleanup(struct assign *a)
{
	free(a->file);
	free(a->value);
	free(a->written);
	free(a->norm);
	memset(a, 0, sizeof(*a));
}

static bool same_value(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * Record an assignment in slot a (exact or one glob pattern), the way
 * systemd's ordered map does: the same value again keeps its place (we
 * move the evidence to the later line); a different value takes a new
 * place at the end.  Takes over the heap strings of n.
 */
static void upsert(struct persisted *ps, struct assign *a, bool existing,
		   struct assign *n)
{
	if (existing && same_value(a->value, n->value)) {
		free(a->file);
		a->file = n->file;
		a->line = n->line;
		n->file = NULL;
		assign_cleanup(n);
		return;
	}
	if (existing)
		assign_cleanup(a);
	*a = *n;
	a->seq = ++ps->seq;
	memset(n, 0, sizeof(*n));
}

static int record(struct persisted *ps, struct assign *n, bool glob)
{
	size_t i;

	if (!glob) {
		upsert(ps, &ps->exact, ps->have_exact, n);
		ps->have_exact = true;
		return 0;
	}
	for (i = 0; i < ps->nglobs; i++)
		if (strcmp(ps->globs[i].norm, n->norm) == 0) {
			upsert(ps, &ps->globs[i], true, n);
			return 0;
		}
	if (ps->nglobs == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 4;
		struct assign *p = realloc(ps->globs, ncap * sizeof(*p));

		if (p == NULL)
			return PST_E_NOMEM;
		ps->globs = p;
		ps->cap = ncap;
	}
	upsert(ps, &ps->globs[ps->nglobs++], false, n);
	return 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* One line of a sysctl.d file, as systemd-sysctl's parse_file reads it. */
static int parse_line(struct persisted *ps, struct probe_out *out,
		      const char *file, unsigned lineno, const char *s, size_t n)
{
	struct assign a = {0};
	const char *eq, *k, *v = NULL;
	size_t kn, vn = 0;
	bool glob;
	int rc;

	lines_trim(&s, &n);
	if (n == 0 || s[0] == '#' || s[0] == ';')
		return 0;
	if (memchr(s, '\0', n) != NULL)
		return probe_out_fail(out, PST_E_PARSE,
				      "%s:%u: the line holds a NUL byte; fix the file",
				      file, lineno);
	eq = memchr(s, '=', n);
	k = s;
	if (eq != NULL) {
		kn = (size_t)(eq - s);
		v = eq + 1;
		vn = n - kn - 1;
		lines_trim(&v, &vn);
	} else if (s[0] == '-') {
		kn = n; /* "-key": keep glob assignments off key */
	} else {
		return probe_out_fail(out, PST_E_PARSE,
				      "%s:%u: not a key = value assignment (systemd-sysctl ignores this line); fix or remove it",
				      file, lineno);
	}
	if (kn > 0 && k[0] == '-') {
		k++;
		kn--;
	}
	lines_trim(&k, &kn);
	if (kn == 0)
		return probe_out_fail(out, PST_E_PARSE,
				      "%s:%u: no key before '='; fix or remove the line",
				      file, lineno);

	a.norm = normalise(k, kn);
	if (a.norm == NULL)
		goto nomem;
	glob = strpbrk(a.norm, "*?[") != NULL;
	/* A "-pattern" without a value has no effect in systemd. */
	if (glob ? (v == NULL || fnmatch(a.norm, ps->want, FNM_PATHNAME | FNM_PERIOD) != 0)
		 : strcmp(a.norm, ps->want) != 0) {
		assign_cleanup(&a);
		return 0;
	}
	a.file = strdup(file);
	a.written = dup_n(k, kn);
	a.line = lineno;
	if (v != NULL)
		a.value = dup_n(v, vn);
	if (a.file == NULL || a.written == NULL || (v != NULL && a.value == NULL))
		goto nomem;
	rc = record(ps, &a, glob);
	if (rc < 0)
		goto nomem;
	return 0;
nomem:
	assign_cleanup(&a);
	return probe_out_fail(out, PST_E_NOMEM, "out of memory");
}

/*
 * Read one file of the list.  A file that is gone or not a regular file
 * (a dangling link, a directory, /dev/null itself) sets nothing, as for
 * systemd-sysctl, which logs and goes on; anything else that stops the
 * read fails the probe, since the file may set the key.
 */
static int parse_file(const struct probe_ctx *ctx, struct persisted *ps,
		      struct probe_out *out, const char *path)
{
	struct line_iter it;
	const char *line;
	char *data = NULL;
	size_t len = 0, n;
	int rc;

	rc = probe_read_file(ctx, out, path, SYSCTL_MAX_READ, &data, &len);
	if (rc == PST_E_NOENT || rc == PST_E_INVAL || rc == PST_E_NOTDIR ||
	    rc == PST_E_LOOP) {
		out->reason[0] = '\0';
		return 0;
	}
	if (rc < 0)
		return rc;
	lines_init(&it, data, len);
	while (lines_next(&it, &line, &n)) {
		rc = parse_line(ps, out, path, it.lineno, line, n);
		if (rc < 0)
			break;
	}
	free(data);
	return rc;
}

struct entry {
	char *name;
	const char *dir;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

static bool is_conf_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

/* True when path is a symbolic link whose target is /dev/null. */
static bool links_to_dev_null(const struct probe_ctx *ctx, const char *path)
{
	struct stat st;
	char target[PATH_MAX], *real = NULL;
	ssize_t n;
	bool yes = false;
	int fd;

	if (rootfs_stat(ctx->root, path, false, &st) != 0 || !S_ISLNK(st.st_mode))
		return false;
	if (rootfs_openat(ctx->root, path, O_PATH, false, &fd) == 0) {
		n = readlinkat(fd, "", target, sizeof(target) - 1);
		close(fd);
		if (n > 0) {
			target[n] = '\0';
			yes = strcmp(target, "/dev/null") == 0;
		}
	}
	if (!yes && rootfs_realpath(ctx->root, path, &real) == 0)
		yes = strcmp(real, "/dev/null") == 0;
	free(real);
	return yes;
}

/* The sysctl.d files in the order systemd-sysctl reads them. */
static int list_files(const struct probe_ctx *ctx, struct probe_out *out,
		      struct entry **list, size_t *count)
{
	struct entry *v = NULL;
	size_t nv = 0, cap = 0, d, i, j;
	int rc = 0;

	for (d = 0; d < sizeof(sysctl_dirs) / sizeof(sysctl_dirs[0]); d++) {
		char **names = NULL;
		size_t nn = 0;

		rc = rootfs_list(ctx->root, sysctl_dirs[d], 0, &names, &nn);
		if (rc == PST_E_NOENT || rc == PST_E_NOTDIR) {
			rc = 0;
			continue;
		}
		if (rc < 0) {
			rc = probe_out_fail(out, rc, "cannot list %s: %s",
					    sysctl_dirs[d], rootfs_strerror(rc));
			goto out;
		}
		for (i = 0; i < nn && rc == 0; i++) {
			bool seen = false;

			if (!is_conf_name(names[i]))
				continue;
			for (j = 0; j < nv && !seen; j++)
				seen = strcmp(v[j].name, names[i]) == 0;
			if (seen)
				continue;
			if (nv == SYSCTL_MAX_FILES) {
				rc = probe_out_fail(out, PST_E_LIMIT,
						    "more than %d files in the sysctl.d directories",
						    SYSCTL_MAX_FILES);
				break;
			}
			if (nv == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct entry *p = realloc(v, ncap * sizeof(*p));

				if (p == NULL) {
					rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
					break;
				}
				v = p;
				cap = ncap;
			}
			v[nv].name = names[i];
			v[nv].dir = sysctl_dirs[d];
			names[i] = NULL;
			nv++;
		}
		rootfs_glob_free(names, nn);
		if (rc < 0)
			goto out;
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), cmp_entry);
out:
	if (rc < 0) {
		for (i = 0; i < nv; i++)
			free(v[i].name);
		free(v);
		v = NULL;
		nv = 0;
	}
	*list = v;
	*count = nv;
	return rc;
}

static int run_persisted(const struct probe_ctx *ctx, const char *key,
			 const char *norm, struct probe_out *out)
{
	struct persisted ps = {0};
	struct entry *list = NULL;
	const struct assign *win = NULL;
	size_t nlist = 0, i;
	bool conf_read = false;
	char *v;
	int rc;

	ps.want = norm;
	rc = list_files(ctx, out, &list, &nlist);
	if (rc < 0)
		goto out;
	for (i = 0; i < nlist; i++) {
		char path[PATH_MAX], *real = NULL;

		snprintf(path, sizeof(path), "%s/%s", list[i].dir, list[i].name);
		if (links_to_dev_null(ctx, path))
			continue; /* masked */
		if (rootfs_realpath(ctx->root, path, &real) == 0 &&
		    strcmp(real, "/etc/sysctl.conf") == 0)
			conf_read = true;
		free(real);
		rc = parse_file(ctx, &ps, out, path);
		if (rc < 0)
			goto out;
	}
	if (!conf_read) {
		rc = parse_file(ctx, &ps, out, "/etc/sysctl.conf");
		if (rc < 0)
			goto out;
	}

	if (ps.have_exact) {
		if (ps.exact.value == NULL) {
			rc = probe_out_add(out, "/etc/sysctl.d", key, NULL, 0, value_absent());
			if (rc == 0)
				rc = probe_out_note(out,
						    "not set in sysctl.conf or sysctl.d (kept from glob assignments by \"-%s\" at %s:%u)",
						    ps.exact.written, ps.exact.file, ps.exact.line);
			goto out;
		}
		win = &ps.exact;
	} else {
		for (i = 0; i < ps.nglobs; i++)
			if (win == NULL || ps.globs[i].seq > win->seq)
				win = &ps.globs[i];
	}
	if (win == NULL) {
		rc = probe_out_add(out, "/etc/sysctl.d", key, NULL, 0, value_absent());
		if (rc == 0)
			rc = probe_out_note(out, "not set in sysctl.conf or sysctl.d");
		goto out;
	}
	v = collapse(win->value, strlen(win->value));
	if (v == NULL) {
		rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
		goto out;
	}
	rc = probe_out_add(out, win->file, key, win->file, win->line, value_take_str(v));
	if (rc == 0 && win != &ps.exact)
		rc = probe_out_note(out, "set by the glob assignment %s", win->written);
out:
	for (i = 0; i < nlist; i++)
		free(list[i].name);
	free(list);
	assign_cleanup(&ps.exact);
	for (i = 0; i < ps.nglobs; i++)
		assign_cleanup(&ps.globs[i]);
	free(ps.globs);
	return rc;
}

static int run(const struct probe_ctx *ctx, const json_t *p,
	       struct probe_out *out)
{
	const char *key = probe_param_str(p, "key");
	const char *source = probe_param_str(p, "source");
	char *norm;
	int rc;

	if (key == NULL)
		return probe_out_fail(out, PST_E_INVAL, "key is required");
	norm = normalise(key, strlen(key));
	if (norm == NULL)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	if (source != NULL && strcmp(source, "persisted") == 0)
		rc = run_persisted(ctx, key, norm, out);
	else
		rc = run_live(ctx, key, norm, out);
	free(norm);
	return rc;
}

const struct probe probe_sysctl = {
	.name = "sysctl",
	.summary = "A kernel parameter: the running kernel's value from "
		   "/proc/sys, or the value the sysctl.d and sysctl.conf files "
		   "apply at boot.",
	.value_doc = "One observation: key the parameter as the rule names it, "
		     "value its text with runs of white space made one space "
		     "(\"4096 131072 6291456\"; integers compare as numbers). "
		     "live: subject and location the /proc/sys file; absent "
		     "when the kernel does not have the key. persisted: "
		     "subject and location the file and line of the winning "
		     "assignment (a glob assignment such as "
		     "net.ipv4.conf.*.rp_filter counts, with a note); absent "
		     "when no file sets it. A line in sysctl.d or sysctl.conf "
		     "that is not an assignment makes the check an error.",
	.params = params,
	.validate = validate,
	.run = run,
};
