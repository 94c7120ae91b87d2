/*
 * pam.c - the `pam` probe: what a PAM service's stack does, read from
 * /etc/pam.d the way Linux-PAM reads it.
 *
 * The service file is read with Linux-PAM's rules: '#' anywhere starts a
 * comment, a line ending in '\' continues on the next one (comment lines
 * in between are skipped), tokens are separated by white space except
 * inside "[...]" (where "\]" is a literal ']').  "@include file" pulls in a
 * file's lines of every type being read; "type include file" and "type
 * substack file" only its lines of that type.  Files are looked up in
 * /etc/pam.d, then /usr/lib/pam.d (the vendor directory), or taken as
 * absolute paths.  A line PAM cannot use (unknown type, no control, no
 * module, an open '[') fails the probe, naming file:line: PAM would make
 * the whole stack fail, and the check must not pass on a guess.
 *
 * select "pwquality" and "faillock" are scalar: the effective value of one
 * setting.  libpwquality reads /etc/security/pwquality.conf.d/ *.conf in
 * name order first and /etc/security/pwquality.conf last, so the main file
 * overrides the drop-ins; arguments on the pam_pwquality.so line override
 * both.  pam_faillock reads /etc/security/faillock.conf (or the file named
 * by conf=) and its arguments override it.  Both read their files alike:
 * '#' anywhere starts a comment, "name value", "name = value" and "name"
 * alone (a flag) are all accepted, quotes are not special.  Where several
 * module lines set the setting, the first in stack order wins and the note
 * names the others that disagree.  select "module" is a set: one
 * observation per line using the module.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lines.h"
#include "probe.h"
#include "strbuf.h"

/* Include nesting followed before giving up (an include loop). */
#define PAM_MAX_DEPTH 8
/* Module lines collected from one service, includes and all. */
#define PAM_MAX_LINES 4096
/* One logical line (continuations joined). */
#define PAM_MAX_LINE (64u * 1024)
/* Largest PAM or module configuration file read. */
#define PAM_MAX_READ (1024u * 1024)
/* Longest line text kept in a note. */
#define PAM_MAX_SHOWN 512

static const char *const select_choices[] = {"pwquality", "faillock", "module", NULL};
static const char *const type_choices[] = {"auth", "account", "password", "session", NULL};

static const struct probe_param params[] = {
	{"select", PARAM_STRING, true, NULL, select_choices,
	 "What to observe: \"pwquality\" (a password quality setting of "
	 "pam_pwquality), \"faillock\" (a lockout setting of pam_faillock), "
	 "or \"module\" (the lines of a service that use a module)."},
	{"key", PARAM_STRING, false, NULL, NULL,
	 "For pwquality and faillock (required there): the setting, e.g. "
	 "minlen, minclass, dcredit, ucredit, lcredit, ocredit, maxrepeat, "
	 "retry, enforce_for_root (pwquality) or deny, unlock_time, "
	 "fail_interval, even_deny_root (faillock)."},
	{"service", PARAM_STRING, false, NULL, NULL,
	 "The service file in /etc/pam.d to start from, e.g. \"sshd\". "
	 "Default for pwquality: \"common-password\"; for faillock: "
	 "\"common-auth\" (Debian names; Red Hat systems use "
	 "\"system-auth\" or \"password-auth\"). Required for module."},
	{"module", PARAM_STRING, false, NULL, NULL,
	 "For module (required there): the module, matched by file name, "
	 "e.g. \"pam_faillock.so\"."},
	{"type", PARAM_STRING, false, NULL, type_choices,
	 "For module: only lines of this type. Default: all types."},
	{"default", PARAM_STRING, false, NULL, NULL,
	 "For pwquality and faillock: the value the module uses when the "
	 "setting is set nowhere (e.g. \"8\" for minlen); reported with the "
	 "note \"not set; default ...\". Without it an unset setting is absent."},
	{NULL, 0, false, NULL, NULL, NULL},
};

enum pam_select { SEL_PWQUALITY, SEL_FAILLOCK, SEL_MODULE };

/* A module line of the stack, includes resolved. */
struct pam_line {
	char *file;
	unsigned line;
	char type[16];   /* auth, account, password or session */
	char *control;   /* "required", "[default=die]" */
	char *module;    /* as written */
	char *text;      /* the line for evidence, cut at PAM_MAX_SHOWN */
	char **argv;
	size_t argc;
};

struct stack {
	const struct probe_ctx *ctx;
	struct probe_out *out;
	struct pam_line *v;
	size_t n, cap;
};

/* --- the settings the modules know --- */

enum setting_kind { SET_INT, SET_STR, SET_FLAG };

struct setting {
	const char *name;
	enum setting_kind kind;
};

/* libpwquality's settings (settings.c); an unknown one stops its reading. */
static const struct setting pwq_settings[] = {
	{"difok", SET_INT}, {"minlen", SET_INT}, {"dcredit", SET_INT},
	{"ucredit", SET_INT}, {"lcredit", SET_INT}, {"ocredit", SET_INT},
	{"minclass", SET_INT}, {"maxrepeat", SET_INT},
	{"maxclassrepeat", SET_INT}, {"maxsequence", SET_INT},
	{"gecoscheck", SET_INT}, {"dictcheck", SET_INT},
	{"usercheck", SET_INT}, {"usersubstr", SET_INT},
	{"enforcing", SET_INT}, {"retry", SET_INT},
	{"badwords", SET_STR}, {"dictpath", SET_STR},
	{"enforce_for_root", SET_FLAG}, {"local_users_only", SET_FLAG},
	{NULL, SET_STR},
};

/* pam_faillock's flags: present means on, whatever value follows. */
static const char *const faillock_flags[] = {
	"even_deny_root", "audit", "silent", "no_log_info",
	"local_users_only", "nodelay", NULL,
};

static const struct setting *pwq_setting(const char *name, size_t n)
{
	const struct setting *s;

	for (s = pwq_settings; s->name != NULL; s++)
		if (strlen(s->name) == n && strncasecmp(s->name, name, n) == 0)
			return s;
	return NULL;
}

static bool is_faillock_flag(const char *name, size_t n)
{
	const char *const *f;

	for (f = faillock_flags; *f != NULL; f++)
		if (strlen(*f) == n && strncmp(*f, name, n) == 0)
			return true;
	return false;
}

/* --- validation --- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static enum pam_select parse_select(const char *s)
{
	if (s != NULL && strcmp(s, "faillock") == 0)
		return SEL_FAILLOCK;
	if (s != NULL && strcmp(s, "module") == 0)
		return SEL_MODULE;
	return SEL_PWQUALITY;
}

static int validate(const json_t *p, struct pst_err *e)
{
	const char *sel = probe_param_str(p, "select");
	const char *key = probe_param_str(p, "key");
	const char *service = probe_param_str(p, "service");
	const char *module = probe_param_str(p, "module");
	enum pam_select s = parse_select(sel);
	const char *c;

	if (service != NULL) {
		if (service[0] == '\0' || strcmp(service, ".") == 0 ||
		    strcmp(service, "..") == 0)
			return pst_err_set(e, PST_E_INVAL,
					   "service \"%s\" is not a file name in /etc/pam.d",
					   service);
		if (strlen(service) > NAME_MAX)
			return pst_err_set(e, PST_E_INVAL,
					   "service is longer than %d bytes", NAME_MAX);
		for (c = service; *c != '\0'; c++)
			if (*c == '/' || is_ws(*c))
				return pst_err_set(e, PST_E_INVAL,
						   "service \"%s\" must be a file name in /etc/pam.d (no '/' or white space), e.g. \"sshd\"",
						   service);
	}
	if (s == SEL_MODULE) {
		if (module == NULL || module[0] == '\0')
			return pst_err_set(e, PST_E_INVAL,
					   "select \"module\" needs module, e.g. \"pam_faillock.so\"");
		for (c = module; *c != '\0'; c++)
			if (is_ws(*c))
				return pst_err_set(e, PST_E_INVAL,
						   "module \"%s\" holds white space", module);
		if (module[strlen(module) - 1] == '/')
			return pst_err_set(e, PST_E_INVAL,
					   "module \"%s\" ends in '/'; name the module file",
					   module);
		if (service == NULL)
			return pst_err_set(e, PST_E_INVAL,
					   "select \"module\" needs service, the file in /etc/pam.d to read, e.g. \"sshd\"");
		if (key != NULL)
			return pst_err_set(e, PST_E_INVAL,
					   "key applies to select \"pwquality\" and \"faillock\" only");
		if (probe_param_str(p, "default") != NULL)
			return pst_err_set(e, PST_E_INVAL,
					   "default applies to select \"pwquality\" and \"faillock\" only");
		return 0;
	}
	if (key == NULL || key[0] == '\0')
		return pst_err_set(e, PST_E_INVAL,
				   "select \"%s\" needs key, the setting to read, e.g. \"%s\"",
				   sel != NULL ? sel : "", s == SEL_FAILLOCK ? "deny" : "minlen");
	for (c = key; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			return pst_err_set(e, PST_E_INVAL,
					   "key \"%s\" is not a setting name (letters, digits and '_')",
					   key);
	if (module != NULL)
		return pst_err_set(e, PST_E_INVAL,
				   "module applies to select \"module\" only (select \"%s\" reads %s)",
				   sel, s == SEL_FAILLOCK ? "pam_faillock.so" : "pam_pwquality.so");
	if (probe_param_str(p, "type") != NULL)
		return pst_err_set(e, PST_E_INVAL, "type applies to select \"module\" only");
	return 0;
}

/* --- reading the stack --- */

static void pam_line_cleanup(struct pam_line *l)
{
	size_t i;

	free(l->file);
	free(l->control);
	free(l->module);
	free(l->text);
	for (i = 0; i < l->argc; i++)
		free(l->argv[i]);
	free(l->argv);
}

static void stack_cleanup(struct stack *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		pam_line_cleanup(&st->v[i]);
	free(st->v);
	st->v = NULL;
	st->n = st->cap = 0;
}

/*
 * Linux-PAM's _pam_tokenize on the NUL-terminated text at *cur: the next
 * token, NUL-terminated in place.  "[...]" is one token without its
 * brackets.  Returns 1, 0 at the end, PST_E_PARSE for an open '['.
 */
static int next_token(char **cur, char **tok, bool *bracketed)
{
	char *p = *cur, *end, *to;

	*tok = NULL;
	*bracketed = false;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p == '\0') {
		*cur = p;
		return 0;
	}
	if (*p == '[') {
		for (to = end = ++p; *end != '\0' && *end != ']'; ++to, ++end) {
			if (*end == '\\' && end[1] == ']')
				++end;
			*to = *end;
		}
		if (*end != ']')
			return PST_E_PARSE;
		*to = '\0';
		*tok = p;
		*bracketed = true;
		*cur = end + 1;
		return 1;
	}
	for (end = p; *end != '\0' && *end != ' ' && *end != '\t' && *end != '\n'; end++)
		;
	if (*end != '\0')
		*end++ = '\0';
	*tok = p;
	*cur = end;
	return 1;
}

/*
 * The next logical line, per Linux-PAM's _pam_assemble_line, into sb.
 * *start receives the number of its first physical line.  Returns 1, 0 at
 * the end, or fails the probe (a continuation at the end of the file, an
 * over-long line, a NUL byte).
 */
static int next_logical(struct stack *st, struct line_iter *it,
			struct strbuf *sb, const char *file, unsigned *start)
{
	const char *s, *hash;
	size_t n;
	bool cont = false;
	int rc;

	strbuf_reset(sb);
	while (lines_next(it, &s, &n)) {
		if (memchr(s, '\0', n) != NULL)
			return probe_out_fail(st->out, PST_E_PARSE,
					      "%s:%u: the line holds a NUL byte; fix the file",
					      file, it->lineno);
		while (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		if (n == 0 || *s == '#')
			continue; /* nothing here; a continuation goes on */
		if (!cont)
			*start = it->lineno;
		hash = memchr(s, '#', n);
		if (hash != NULL) {
			rc = strbuf_append(sb, s, (size_t)(hash - s));
			goto done;
		}
		while (n > 0 && is_ws(s[n - 1]))
			n--;
		if (n == 0)
			continue; /* only white space that the first trim does not know */
		if (s[n - 1] == '\\') {
			rc = strbuf_append(sb, s, n - 1);
			if (rc == 0)
				rc = strbuf_appendc(sb, ' ');
			if (rc < 0)
				goto done;
			cont = true;
			continue;
		}
		rc = strbuf_append(sb, s, n);
		goto done;
	}
	if (cont)
		return probe_out_fail(st->out, PST_E_PARSE,
				      "%s:%u: the file ends inside a line continued with '\\'; fix the file",
				      file, *start);
	return 0;
done:
	if (rc == PST_E_TOOBIG)
		return probe_out_fail(st->out, rc,
				      "%s:%u: a line longer than %u bytes; fix the file",
				      file, *start, PAM_MAX_LINE);
	if (rc < 0)
		return probe_out_fail(st->out, rc, "out of memory");
	return 1;
}

static bool type_name(const char *tok, char *out, size_t outn)
{
	static const char *const types[] = {"auth", "account", "password", "session"};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(tok, types[i]) == 0) {
			snprintf(out, outn, "%s", types[i]);
			return true;
		}
	return false;
}

/* Text of a line for evidence: tokens joined by one space, cut. Heap. */
static char *shown(const char *type, bool dash, const char *control,
		   const char *module, char *const *argv, size_t argc)
{
	struct strbuf sb;
	size_t i;
	char *s;

	strbuf_init(&sb, PAM_MAX_LINE);
	(void)strbuf_appendf(&sb, "%s%s %s %s", dash ? "-" : "", type, control, module);
	for (i = 0; i < argc; i++)
		(void)strbuf_appendf(&sb, " %s", argv[i]);
	if (sb.len > PAM_MAX_SHOWN) {
		size_t keep = PAM_MAX_SHOWN;

		while (keep > 0 && ((unsigned char)sb.data[keep] & 0xc0) == 0x80)
			keep--;
		sb.len = keep;
		sb.data[keep] = '\0';
		(void)strbuf_appends(&sb, "...");
	}
	s = strbuf_take(&sb);
	strbuf_cleanup(&sb);
	return s;
}

/* "[a  b]" -> "[a b]": the control as it reads in evidence. Heap. */
static char *control_text(const char *tok, bool bracketed)
{
	size_t n = strlen(tok), i;
	char *s = malloc(n + 3), *w;

	if (s == NULL)
		return NULL;
	if (!bracketed) {
		memcpy(s, tok, n + 1);
		return s;
	}
	w = s;
	*w++ = '[';
	for (i = 0; i < n; i++) {
		if (!is_ws(tok[i]))
			*w++ = tok[i];
		else if (w[-1] != ' ' && w[-1] != '[')
			*w++ = ' ';
	}
	if (w[-1] == ' ')
		w--;
	*w++ = ']';
	*w = '\0';
	return s;
}

static int walk(struct stack *st, const char *name, const char *filter,
		unsigned depth, const char *from, unsigned from_line,
		char **resolved);

/* Record a module line. Takes nothing over; copies what it keeps. */
static int add_line(struct stack *st, const char *file, unsigned lineno,
		    const char *type, bool dash, const char *ctl, bool bracketed,
		    const char *module, char *cur)
{
	struct pam_line l = {0};
	char *tok;
	bool br;
	int rc;

	if (st->n == PAM_MAX_LINES)
		return probe_out_fail(st->out, PST_E_LIMIT,
				      "more than %d module lines in the stack", PAM_MAX_LINES);
	snprintf(l.type, sizeof(l.type), "%s", type);
	l.line = lineno;
	l.file = strdup(file);
	l.control = control_text(ctl, bracketed);
	l.module = strdup(module);
	if (l.file == NULL || l.control == NULL || l.module == NULL)
		goto nomem;
	for (;;) {
		char **nv;

		rc = next_token(&cur, &tok, &br);
		if (rc == PST_E_PARSE) {
			pam_line_cleanup(&l);
			return probe_out_fail(st->out, rc,
					      "%s:%u: an argument opens '[' without its ']'; fix the line",
					      file, lineno);
		}
		if (rc == 0)
			break;
		nv = realloc(l.argv, (l.argc + 1) * sizeof(*nv));
		if (nv == NULL)
			goto nomem;
		l.argv = nv;
		l.argv[l.argc] = strdup(tok);
		if (l.argv[l.argc] == NULL)
			goto nomem;
		l.argc++;
	}
	l.text = shown(type, dash, l.control, module, l.argv, l.argc);
	if (l.text == NULL)
		goto nomem;
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 16;
		struct pam_line *nv = realloc(st->v, ncap * sizeof(*nv));

		if (nv == NULL)
			goto nomem;
		st->v = nv;
		st->cap = ncap;
	}
	st->v[st->n++] = l;
	return 0;
nomem:
	pam_line_cleanup(&l);
	return probe_out_fail(st->out, PST_E_NOMEM, "out of memory");
}

/* One logical line of a PAM file (mutable, NUL-terminated). */
static int handle_line(struct stack *st, const char *file, unsigned lineno,
		       char *text, const char *filter, unsigned depth)
{
	char *cur = text, *tok, *ctl, *mod, type[16];
	bool br, ctl_br, dash = false;
	int rc;

	rc = next_token(&cur, &tok, &br);
	if (rc == 0)
		return 0;
	if (rc < 0)
		goto open_bracket;
	if (strcmp(tok, "@include") == 0) {
		rc = next_token(&cur, &tok, &br);
		if (rc < 0)
			goto open_bracket;
		if (rc == 0)
			return probe_out_fail(st->out, PST_E_PARSE,
					      "%s:%u: @include without a file name; fix the line",
					      file, lineno);
		return walk(st, tok, filter, depth + 1, file, lineno, NULL);
	}
	if (tok[0] == '-') {
		dash = true;
		tok++;
	}
	if (br || !type_name(tok, type, sizeof(type)))
		return probe_out_fail(st->out, PST_E_PARSE,
				      "%s:%u: unknown type \"%.64s\" (auth, account, password or session); PAM fails the whole stack on this line",
				      file, lineno, tok);
	if (filter != NULL && strcmp(filter, type) != 0)
		return 0;
	rc = next_token(&cur, &ctl, &ctl_br);
	if (rc < 0)
		goto open_bracket;
	if (rc == 0)
		return probe_out_fail(st->out, PST_E_PARSE,
				      "%s:%u: no control (required, requisite, sufficient, optional, include, substack or [...]); PAM fails the whole stack on this line",
				      file, lineno);
	rc = next_token(&cur, &mod, &br);
	if (rc < 0)
		goto open_bracket;
	if (!ctl_br && (strcasecmp(ctl, "include") == 0 ||
			strcasecmp(ctl, "substack") == 0)) {
		if (rc == 0)
			return probe_out_fail(st->out, PST_E_PARSE,
					      "%s:%u: %s without a file name; fix the line",
					      file, lineno, ctl);
		return walk(st, mod, type, depth + 1, file, lineno, NULL);
	}
	if (rc == 0)
		return probe_out_fail(st->out, PST_E_PARSE,
				      "%s:%u: no module after the control; PAM fails the whole stack on this line",
				      file, lineno);
	return add_line(st, file, lineno, type, dash, ctl, ctl_br, mod, cur);
open_bracket:
	return probe_out_fail(st->out, PST_E_PARSE,
			      "%s:%u: '[' without its ']'; fix the line", file, lineno);
}

/*
 * Read the PAM file `name` (a name in /etc/pam.d or /usr/lib/pam.d, or an
 * absolute path) and the files it includes, adding its module lines of
 * type filter (NULL: all).  from/from_line name the including line, NULL
 * for the service itself.  *resolved (when asked) receives the path read.
 */
static int walk(struct stack *st, const char *name, const char *filter,
		unsigned depth, const char *from, unsigned from_line,
		char **resolved)
{
	struct line_iter it;
	struct strbuf sb;
	char path[PATH_MAX], *data = NULL;
	size_t len = 0;
	unsigned start = 0;
	int rc;

	if (depth > PAM_MAX_DEPTH)
		return probe_out_fail(st->out, PST_E_LIMIT,
				      "%s:%u: includes nest deeper than %d files (an include loop?); fix the PAM configuration",
				      from, from_line, PAM_MAX_DEPTH);
	if (strlen(name) > PATH_MAX - 32)
		return probe_out_fail(st->out, PST_E_TOOBIG,
				      "%s:%u: an include name longer than %d bytes; fix the line",
				      from, from_line, PATH_MAX - 32);
	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/etc/pam.d/%s", name);
	rc = probe_read_file(st->ctx, st->out, path, PAM_MAX_READ, &data, &len);
	if (rc == PST_E_NOENT && name[0] != '/') {
		char vendor[PATH_MAX];

		snprintf(vendor, sizeof(vendor), "/usr/lib/pam.d/%s", name);
		rc = probe_read_file(st->ctx, st->out, vendor, PAM_MAX_READ, &data, &len);
		if (rc == 0)
			memcpy(path, vendor, sizeof(path));
	}
	if (rc == PST_E_NOENT) {
		if (from == NULL)
			return probe_out_fail(st->out, rc,
					      "cannot read %s: it does not exist; set service to the PAM file that holds the stack (Red Hat systems use system-auth or password-auth)",
					      path);
		return probe_out_fail(st->out, rc,
				      "%s:%u: includes %s, which does not exist; PAM fails the whole stack",
				      from, from_line, path);
	}
	if (rc < 0) {
		if (from != NULL) {
			char why[sizeof(st->out->reason)];

			memcpy(why, st->out->reason, sizeof(why));
			probe_out_fail(st->out, rc, "%s:%u: %s", from, from_line, why);
		}
		return rc;
	}
	if (resolved != NULL) {
		*resolved = strdup(path);
		if (*resolved == NULL) {
			free(data);
			return probe_out_fail(st->out, PST_E_NOMEM, "out of memory");
		}
	}

	strbuf_init(&sb, PAM_MAX_LINE);
	lines_init(&it, data, len);
	while ((rc = next_logical(st, &it, &sb, path, &start)) == 1) {
		if (sb.data == NULL)
			continue;
		rc = handle_line(st, path, start, sb.data, filter, depth);
		if (rc < 0)
			break;
	}
	strbuf_cleanup(&sb);
	free(data);
	return rc;
}

/* True when the line's module is `module`, compared by file name. */
static bool module_is(const struct pam_line *l, const char *module)
{
	const char *a = strrchr(l->module, '/'), *b = strrchr(module, '/');

	return strcmp(a ? a + 1 : l->module, b ? b + 1 : module) == 0;
}

/* --- settings from module arguments and configuration files --- */

struct found {
	char *value;
	char *file;
	unsigned line;
};

static void found_cleanup(struct found *f)
{
	free(f->value);
	free(f->file);
	memset(f, 0, sizeof(*f));
}

static int found_set(struct found *f, const char *value, size_t vn,
		     const char *file, unsigned line)
{
	char *v = malloc(vn + 1), *p = strdup(file);

	if (v == NULL || p == NULL) {
		free(v);
		free(p);
		return PST_E_NOMEM;
	}
	memcpy(v, value, vn);
	v[vn] = '\0';
	found_cleanup(f);
	f->value = v;
	f->file = p;
	f->line = line;
	return 0;
}

static bool name_eq(enum pam_select sel, const char *a, size_t an, const char *key)
{
	if (strlen(key) != an)
		return false;
	return sel == SEL_PWQUALITY ? strncasecmp(a, key, an) == 0
				    : strncmp(a, key, an) == 0;
}

/* Is (name, n) a flag, on whenever it appears? */
static bool is_flag(enum pam_select sel, const char *name, size_t n)
{
	const struct setting *s;

	if (sel == SEL_FAILLOCK)
		return is_faillock_flag(name, n);
	s = pwq_setting(name, n);
	return s != NULL && s->kind == SET_FLAG;
}

/*
 * The key's value among a module line's arguments: the last "key=value"
 * or bare "key" ("true") wins, as the modules read them in order.
 */
static bool arg_value(enum pam_select sel, const struct pam_line *l,
		      const char *key, const char **v, size_t *vn)
{
	bool hit = false;
	size_t i;

	for (i = 0; i < l->argc; i++) {
		const char *a = l->argv[i], *eq = strchr(a, '=');
		size_t an = eq ? (size_t)(eq - a) : strlen(a);

		if (!name_eq(sel, a, an, key))
			continue;
		hit = true;
		if (eq == NULL || is_flag(sel, a, an)) {
			*v = "true";
			*vn = 4;
		} else {
			*v = eq + 1;
			*vn = strlen(eq + 1);
		}
	}
	return hit;
}

/* Does (v, n) read as an integer, as libpwquality's strtol check wants? */
static bool is_int(const char *v, size_t n)
{
	char num[32];
	int64_t i;

	if (n == 0 || n >= sizeof(num))
		return false;
	memcpy(num, v, n);
	num[n] = '\0';
	return value_parse_int(num, &i);
}

/*
 * Read a module configuration file as libpwquality's read_config_file and
 * pam_faillock's read_config_file do, recording the last setting of key
 * in *f.  For pwquality an unknown setting or a bad integer stops
 * libpwquality's reading (and everything read after it), so it fails the
 * probe.
 */
static int read_conf(struct stack *st, enum pam_select sel, const char *path,
		     const char *key, struct found *f, bool missing_ok)
{
	struct line_iter it;
	const char *line;
	char *data = NULL;
	size_t len = 0, n;
	int rc;

	rc = probe_read_file(st->ctx, st->out, path, PAM_MAX_READ, &data, &len);
	if ((rc == PST_E_NOENT && missing_ok) || rc == PST_E_INVAL) {
		st->out->reason[0] = '\0';
		return 0; /* missing, or a directory: the module reads nothing */
	}
	if (rc < 0)
		return rc;
	lines_init(&it, data, len);
	while (lines_next(&it, &line, &n)) {
		const char *s = line, *hash = memchr(line, '#', n), *name, *v;
		size_t nn, vn;
		bool eq = false;

		if (memchr(s, '\0', n) != NULL) {
			rc = probe_out_fail(st->out, PST_E_PARSE,
					    "%s:%u: the line holds a NUL byte; fix the file",
					    path, it.lineno);
			goto out;
		}
		if (hash != NULL)
			n = (size_t)(hash - s);
		lines_trim(&s, &n);
		if (n == 0)
			continue;
		name = s;
		for (nn = 0; nn < n && !is_ws(s[nn]) && s[nn] != '='; nn++)
			;
		v = s + nn;
		vn = n - nn;
		if (vn > 0) {
			eq = *v == '=';
			v++;
			vn--;
		}
		while (vn > 0 && (is_ws(*v) || (*v == '=' && !eq))) {
			if (*v == '=')
				eq = true;
			v++;
			vn--;
		}
		if (sel == SEL_PWQUALITY) {
			const struct setting *set = pwq_setting(name, nn);

			if (set == NULL) {
				rc = probe_out_fail(st->out, PST_E_PARSE,
						    "%s:%u: unknown setting \"%.*s\": libpwquality stops reading its configuration there, so later settings are ignored; fix the line",
						    path, it.lineno, (int)(nn > 64 ? 64 : nn), name);
				goto out;
			}
			if (set->kind == SET_INT && !is_int(v, vn)) {
				rc = probe_out_fail(st->out, PST_E_PARSE,
						    "%s:%u: %s needs an integer: libpwquality stops reading its configuration there, so later settings are ignored; fix the line",
						    path, it.lineno, set->name);
				goto out;
			}
		}
		if (!name_eq(sel, name, nn, key))
			continue;
		if (is_flag(sel, name, nn) || (vn == 0 && !eq)) {
			v = "true";
			vn = 4;
		}
		if (found_set(f, v, vn, path, it.lineno) < 0) {
			rc = probe_out_fail(st->out, PST_E_NOMEM, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	free(data);
	return rc;
}

/* libpwquality: pwquality.conf.d/ *.conf by name, then pwquality.conf. */
static int read_pwquality_conf(struct stack *st, const char *key, struct found *f)
{
	static const char dir[] = "/etc/security/pwquality.conf.d";
	char **names = NULL, path[PATH_MAX];
	size_t nn = 0, i;
	int rc;

	rc = rootfs_list(st->ctx->root, dir, 0, &names, &nn);
	if (rc == PST_E_NOENT || rc == PST_E_NOTDIR) {
		rc = 0;
	} else if (rc < 0) {
		return probe_out_fail(st->out, rc, "cannot list %s: %s", dir,
				      rootfs_strerror(rc));
	}
	for (i = 0; i < nn && rc == 0; i++) {
		const char *c = strstr(names[i], ".conf");

		/* libpwquality's filter: the first ".conf" ends the name. */
		if (c == NULL || c[5] != '\0')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		rc = read_conf(st, SEL_PWQUALITY, path, key, f, true);
	}
	rootfs_glob_free(names, nn);
	if (rc < 0)
		return rc;
	return read_conf(st, SEL_PWQUALITY, "/etc/security/pwquality.conf", key, f, true);
}

static int run_module(struct stack *st, const json_t *p, const char *service)
{
	const char *module = probe_param_str(p, "module");
	const char *type = probe_param_str(p, "type");
	size_t i;
	int rc;

	for (i = 0; i < st->n; i++) {
		const struct pam_line *l = &st->v[i];

		if (!module_is(l, module) || (type != NULL && strcmp(type, l->type) != 0))
			continue;
		rc = probe_out_add(st->out, service, module, l->file, l->line,
				   value_str(l->control));
		if (rc == 0 && st->out->items[st->out->n - 1].v.kind != VALUE_STRING)
			rc = probe_out_fail(st->out, PST_E_NOMEM, "out of memory");
		if (rc == 0)
			rc = probe_out_note(st->out, "%s", l->text);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int run_setting(struct stack *st, enum pam_select sel, const json_t *p,
		       const char *service, const char *service_name)
{
	const char *key = probe_param_str(p, "key");
	const char *dflt = probe_param_str(p, "default");
	const char *modname = sel == SEL_FAILLOCK ? "pam_faillock.so" : "pam_pwquality.so";
	const struct pam_line *first = NULL, *winner = NULL;
	struct found f = {0};
	struct strbuf note;
	struct value v;
	size_t i, vn = 0;
	const char *val = NULL;
	int rc = 0;

	strbuf_init(&note, 4096);
	/* Arguments: the first module line that sets the key wins. */
	for (i = 0; i < st->n; i++) {
		const struct pam_line *l = &st->v[i];
		const char *a;
		size_t an;

		if (!module_is(l, modname))
			continue;
		if (sel == SEL_PWQUALITY && strcmp(l->type, "password") != 0)
			continue;
		if (sel == SEL_FAILLOCK && strcmp(l->type, "auth") != 0 &&
		    strcmp(l->type, "account") != 0)
			continue;
		if (first == NULL)
			first = l;
		if (!arg_value(sel, l, key, &a, &an))
			continue;
		if (winner == NULL) {
			winner = l;
			val = a;
			vn = an;
		} else if (an != vn || memcmp(a, val, vn) != 0) {
			(void)strbuf_appendf(&note, "%salso set to \"%.*s\" at %s:%u",
					     note.len ? "; " : "", (int)an, a, l->file, l->line);
		}
	}
	if (winner != NULL) {
		rc = found_set(&f, val, vn, winner->file, winner->line);
		if (rc < 0) {
			rc = probe_out_fail(st->out, rc, "out of memory");
			goto out;
		}
	} else if (sel == SEL_PWQUALITY) {
		rc = read_pwquality_conf(st, key, &f);
	} else {
		/* pam_faillock reads conf= when given, else faillock.conf. */
		const char *conf = "/etc/security/faillock.conf";
		bool dflt_conf = true;

		for (i = 0; first != NULL && i < first->argc; i++)
			if (strncmp(first->argv[i], "conf=", 5) == 0) {
				conf = first->argv[i] + 5;
				dflt_conf = false;
			}
		if (conf[0] != '/') {
			rc = probe_out_fail(st->out, PST_E_PARSE,
					    "%s:%u: conf=%s is not an absolute path; fix the line",
					    first->file, first->line, conf);
			goto out;
		}
		rc = read_conf(st, sel, conf, key, &f, dflt_conf);
		if (rc == PST_E_NOENT)
			rc = probe_out_fail(st->out, rc,
					    "%s:%u: conf=%s does not exist; pam_faillock fails on this line",
					    first->file, first->line, conf);
	}
	if (rc < 0)
		goto out;

	if (f.value != NULL) {
		v = value_str(f.value);
		if (v.kind != VALUE_STRING) {
			rc = probe_out_fail(st->out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		rc = probe_out_add(st->out, service, key, f.file, f.line, v);
	} else if (dflt != NULL) {
		v = value_str(dflt);
		if (v.kind != VALUE_STRING) {
			rc = probe_out_fail(st->out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		rc = probe_out_add(st->out, service, key, NULL, 0, v);
	} else {
		rc = probe_out_add(st->out, service, key, NULL, 0, value_absent());
	}
	if (rc < 0)
		goto out;

	/* The note: why unset, whether the module is there at all. */
	{
		struct strbuf n2;
		char *s;

		strbuf_init(&n2, 8192);
		if (f.value == NULL)
			(void)strbuf_appends(&n2, "not set");
		if (first == NULL)
			(void)strbuf_appendf(&n2, "%s(%s not in %s)",
					     n2.len ? " " : "", modname, service_name);
		if (f.value == NULL && dflt != NULL)
			(void)strbuf_appendf(&n2, "; default %s", dflt);
		if (note.len > 0)
			(void)strbuf_appendf(&n2, "%s%s", n2.len ? "; " : "",
					     strbuf_peek(&note));
		if (n2.len > 0) {
			s = strbuf_take(&n2);
			rc = s ? probe_out_note(st->out, "%s", s)
			       : probe_out_fail(st->out, PST_E_NOMEM, "out of memory");
			free(s);
		}
		strbuf_cleanup(&n2);
	}
out:
	strbuf_cleanup(&note);
	found_cleanup(&f);
	return rc;
}

static int run(const struct probe_ctx *ctx, const json_t *p,
	       struct probe_out *out)
{
	struct stack st = {ctx, out, NULL, 0, 0};
	enum pam_select sel = parse_select(probe_param_str(p, "select"));
	const char *service = probe_param_str(p, "service");
	char *path = NULL;
	int rc;

	if (service == NULL)
		service = sel == SEL_FAILLOCK ? "common-auth" :
			  sel == SEL_PWQUALITY ? "common-password" : NULL;
	if (service == NULL)
		return probe_out_fail(out, PST_E_INVAL, "service is required");
	if (sel != SEL_MODULE && probe_param_str(p, "key") == NULL)
		return probe_out_fail(out, PST_E_INVAL, "key is required");
	if (sel == SEL_MODULE && probe_param_str(p, "module") == NULL)
		return probe_out_fail(out, PST_E_INVAL, "module is required");
	rc = walk(&st, service, NULL, 0, NULL, 0, &path);
	if (rc < 0)
		goto out;
	if (sel == SEL_MODULE)
		rc = run_module(&st, p, path);
	else
		rc = run_setting(&st, sel, p, path, service);
out:
	free(path);
	stack_cleanup(&st);
	return rc;
}

const struct probe probe_pam = {
	.name = "pam",
	.summary = "How a PAM service is configured: an effective pam_pwquality "
		   "or pam_faillock setting, or the lines that use a module, "
		   "following includes as Linux-PAM does.",
	.value_doc = "pwquality, faillock: one observation, subject the "
		     "service file, key the setting, value its effective text "
		     "(a flag such as enforce_for_root reads \"true\"; integers "
		     "compare as numbers), location the file:line that set it: "
		     "an argument on the module's line beats the module's "
		     "configuration files. Absent, or the rule's default, when "
		     "set nowhere. When the module is not in the service at all "
		     "the value still comes from its configuration file and the "
		     "note says \"(pam_pwquality.so not in common-password)\": "
		     "pair the rule with select module and exists to require "
		     "the module. module: one observation per line using the "
		     "module, value its control (\"required\", \"[default=die]\"), "
		     "location file:line, note the whole line; none when unused, "
		     "so exists means the module is used. A PAM line that PAM "
		     "itself would reject makes the check an error.",
	.params = params,
	.validate = validate,
	.run = run,
};
