/*
 * accounts.c - the `accounts` probe: facts about the local account
 * databases (passwd, shadow, group, gshadow) read from files through
 * accountsdb, never through NSS.
 *
 * One parameter, `select`, picks the question.  Most are set questions
 * (accounts with uid 0, duplicated ids, members of a group, ...), one
 * observation per member found; the password_*_days selections are a scalar
 * per account with a usable password, so that a rule such as "le 365" is
 * judged account by account.  Only the files a selection needs are read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accountsdb.h"
#include "kvparse.h"
#include "lines.h"
#include "probe.h"
#include "strbuf.h"

#define PASSWD_PATH "/etc/passwd"
#define SHADOW_PATH "/etc/shadow"
#define GROUP_PATH "/etc/group"
#define GSHADOW_PATH "/etc/gshadow"
#define LOGIN_DEFS_PATH "/etc/login.defs"

/* UID_MIN when neither the rule nor /etc/login.defs sets it (shadow-utils' default). */
#define DEFAULT_UID_MIN 1000
/* Entries named in one duplicate note before "and N more". */
#define NOTE_MAX_ENTRIES 20
/* Ceiling on one note. */
#define NOTE_MAX_BYTES 4096

static const char *const select_choices[] = {
	"uid0", "empty_password", "shadowless", "password_max_days",
	"password_min_days", "password_warn_days", "password_inactive_days",
	"duplicate_uid", "duplicate_gid", "duplicate_user_name",
	"duplicate_group_name", "system_interactive_shell", "group_members",
	"group_password", "malformed", NULL,
};

static const struct probe_param params[] = {
	{"select", PARAM_STRING, true, NULL, select_choices,
	 "What to observe. Set selections (one observation per member found, none when there is none): "
	 "uid0 (accounts with uid 0 in /etc/passwd), "
	 "empty_password (accounts whose password field is empty in /etc/shadow, or in /etc/passwd when it is not 'x'), "
	 "shadowless (accounts whose /etc/passwd password field is 'x' but that have no /etc/shadow entry), "
	 "duplicate_uid, duplicate_gid, duplicate_user_name, duplicate_group_name (one per value used by more than one entry of /etc/passwd or /etc/group), "
	 "system_interactive_shell (accounts with 0 < uid < uid_min whose shell (an empty field is /bin/sh to login) is not one of nologin_shells), "
	 "group_members (members of `group` from /etc/group, /etc/gshadow and primary groups in /etc/passwd), "
	 "group_password (groups with a usable password hash in /etc/gshadow), "
	 "malformed (lines of passwd, shadow, group or gshadow that cannot be parsed). "
	 "Per-account selections (one observation per account in /etc/shadow with a usable password hash, i.e. "
	 "not empty and not starting with '!' or '*'): password_max_days, password_min_days, "
	 "password_warn_days, password_inactive_days; the value is the number of days, absent when the field is empty."},
	{"group", PARAM_STRING, false, NULL, NULL,
	 "The group whose members to list; required with select group_members and not accepted otherwise."},
	{"uid_min", PARAM_INT, false, NULL, NULL,
	 "For select system_interactive_shell: the lowest uid of a regular account. "
	 "Default: UID_MIN from /etc/login.defs, or 1000 when it does not set it."},
	{"nologin_shells", PARAM_STRING_LIST, false,
	 "[\"/usr/sbin/nologin\",\"/sbin/nologin\",\"/bin/false\",\"/usr/bin/false\","
	 "\"/bin/sync\",\"/sbin/shutdown\",\"/sbin/halt\"]",
	 NULL,
	 "For select system_interactive_shell: shells that do not give an interactive login."},
	{NULL, PARAM_STRING, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	const char *sel = probe_param_str(p, "select");
	const json_t *uid_min = json_object_get(p, "uid_min");
	bool members = sel != NULL && strcmp(sel, "group_members") == 0;

	if (members && probe_param_str(p, "group") == NULL)
		return pst_err_set(e, PST_E_INVAL,
				   "select \"group_members\" needs \"group\" (the group whose members to list)");
	if (!members && json_object_get(p, "group") != NULL)
		return pst_err_set(e, PST_E_INVAL,
				   "\"group\" applies only to select \"group_members\"");
	if (uid_min != NULL) {
		if (sel == NULL || strcmp(sel, "system_interactive_shell") != 0)
			return pst_err_set(e, PST_E_INVAL,
					   "\"uid_min\" applies only to select \"system_interactive_shell\"");
		if (json_integer_value(uid_min) < 0 ||
		    json_integer_value(uid_min) > 4294967295LL)
			return pst_err_set(e, PST_E_INVAL,
					   "\"uid_min\" must be between 0 and 4294967295");
	}
	return 0;
}

/* --- helpers --- */

static int load(const struct probe_ctx *ctx, struct probe_out *out,
		struct accountsdb *db, unsigned which)
{
	struct pst_err e = {0};
	int rc = accountsdb_load(db, ctx->root, which, &e);

	if (rc < 0)
		return probe_out_fail(out, rc, "%s", e.msg);
	return 0;
}

/* /etc/gshadow is absent on some systems; a missing one reads as empty. */
static int load_optional_gshadow(const struct probe_ctx *ctx,
				 struct probe_out *out, struct accountsdb *db)
{
	struct pst_err e = {0};
	int rc = accountsdb_load(db, ctx->root, ACCOUNTSDB_GSHADOW, &e);

	if (rc == PST_E_NOENT) {
		accountsdb_cleanup(db);
		return 0;
	}
	if (rc < 0)
		return probe_out_fail(out, rc, "%s", e.msg);
	return 0;
}

static int add_str(struct probe_out *out, const char *subject, const char *key,
		   const char *path, unsigned line, const char *s)
{
	struct value v = value_str(s);

	if (v.kind != VALUE_STRING)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	return probe_out_add(out, subject, key, path, line, v);
}

/* A password field that lets someone log in with a password. */
static bool usable_hash(const char *h)
{
	return h[0] != '\0' && h[0] != '!' && h[0] != '*';
}

/* --- the selections --- */

static int sel_uid0(const struct accountsdb *db, struct probe_out *out)
{
	size_t i;
	int rc;

	for (i = 0; i < db->npw; i++) {
		const struct pw_entry *pw = &db->pw[i];

		if (pw->uid != 0)
			continue;
		rc = add_str(out, pw->name, "uid", PASSWD_PATH, pw->line, pw->name);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int sel_empty_password(const struct accountsdb *db, struct probe_out *out)
{
	size_t i;
	int rc;

	for (i = 0; i < db->npw; i++) {
		const struct pw_entry *pw = &db->pw[i];
		const struct sp_entry *sp;

		if (pw->passwd[0] == '\0') {
			rc = add_str(out, pw->name, "password", PASSWD_PATH, pw->line, pw->name);
			if (rc == 0)
				rc = probe_out_note(out, "the password field in /etc/passwd is empty: no password is asked");
			if (rc < 0)
				return rc;
			continue;
		}
		if (strcmp(pw->passwd, "x") != 0)
			continue;
		sp = accountsdb_shadow_by_name(db, pw->name);
		if (sp == NULL || sp->hash[0] != '\0')
			continue;
		rc = add_str(out, pw->name, "password", SHADOW_PATH, sp->line, pw->name);
		if (rc == 0)
			rc = probe_out_note(out, "the password hash in /etc/shadow is empty: no password is asked");
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int sel_shadowless(const struct accountsdb *db, struct probe_out *out)
{
	size_t i;
	int rc;

	for (i = 0; i < db->npw; i++) {
		const struct pw_entry *pw = &db->pw[i];

		if (strcmp(pw->passwd, "x") != 0 ||
		    accountsdb_shadow_by_name(db, pw->name) != NULL)
			continue;
		rc = add_str(out, pw->name, "password", PASSWD_PATH, pw->line, pw->name);
		if (rc == 0)
			rc = probe_out_note(out, "the password field is 'x' but /etc/shadow has no entry for %s",
					    pw->name);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int sel_aging(const struct accountsdb *db, const char *sel,
		     struct probe_out *out)
{
	const char *key;
	size_t i;
	int rc;

	if (strcmp(sel, "password_max_days") == 0)
		key = "max_days";
	else if (strcmp(sel, "password_min_days") == 0)
		key = "min_days";
	else if (strcmp(sel, "password_warn_days") == 0)
		key = "warn_days";
	else
		key = "inactive_days";

	for (i = 0; i < db->nsp; i++) {
		const struct sp_entry *sp = &db->sp[i];
		int64_t days;

		if (!usable_hash(sp->hash))
			continue;
		if (strcmp(key, "max_days") == 0)
			days = sp->max;
		else if (strcmp(key, "min_days") == 0)
			days = sp->min;
		else if (strcmp(key, "warn_days") == 0)
			days = sp->warn;
		else
			days = sp->inactive;
		if (days < 0) {
			rc = probe_out_add(out, sp->name, key, SHADOW_PATH, sp->line,
					   value_absent());
			if (rc == 0)
				rc = probe_out_note(out, "not set");
		} else {
			rc = probe_out_add(out, sp->name, key, SHADOW_PATH, sp->line,
					   value_int(days));
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- duplicates --- */

struct dup_item {
	char *key;   /* the compared value: a name or a decimal id (heap) */
	char *label; /* how the note names the entry: its name, or its id (heap) */
	unsigned line;
	size_t idx;       /* position in the file, for stable order */
};

static int cmp_dup_key(const void *a, const void *b)
{
	const struct dup_item *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct dup_group {
	size_t start, n; /* a run in the sorted items */
	size_t first_idx;
};

static int cmp_dup_group(const void *a, const void *b)
{
	const struct dup_group *x = a, *y = b;

	return x->first_idx < y->first_idx ? -1 : x->first_idx > y->first_idx;
}

/*
 * One observation per key shared by more than one item, in the order of
 * its first appearance in the file; the location is the line of the second
 * entry (the first duplicate), the note lists all of them.
 */
static int report_dups(struct dup_item *items, size_t n, const char *path,
		       const char *key, const char *what, struct probe_out *out)
{
	struct dup_group *groups = NULL;
	struct strbuf note;
	size_t i, j, ngroups = 0;
	int rc = 0;

	strbuf_init(&note, NOTE_MAX_BYTES);
	if (n < 2)
		goto out;
	qsort(items, n, sizeof(*items), cmp_dup_key);
	groups = calloc(n / 2, sizeof(*groups));
	if (groups == NULL) {
		rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(items[j].key, items[i].key) == 0; j++)
			;
		if (j - i > 1) {
			groups[ngroups].start = i;
			groups[ngroups].n = j - i;
			groups[ngroups].first_idx = items[i].idx;
			ngroups++;
		}
	}
	qsort(groups, ngroups, sizeof(*groups), cmp_dup_group);
	for (i = 0; i < ngroups; i++) {
		const struct dup_item *g = &items[groups[i].start];
		size_t k;

		strbuf_reset(&note);
		rc = strbuf_appendf(&note, "%s %s is used by %zu entries:", what,
				    g[0].key, groups[i].n);
		for (k = 0; rc == 0 && k < groups[i].n && k < NOTE_MAX_ENTRIES; k++)
			rc = strbuf_appendf(&note, "%s %s (%s:%u)", k ? "," : "",
					    g[k].label, path, g[k].line);
		if (rc == 0 && groups[i].n > NOTE_MAX_ENTRIES)
			rc = strbuf_appendf(&note, " and %zu more",
					    groups[i].n - NOTE_MAX_ENTRIES);
		/* A note that reaches its ceiling is cut short, not an error. */
		if (rc == PST_E_NOMEM) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		rc = add_str(out, path, key, path, g[1].line, g[0].key);
		if (rc == 0)
			rc = probe_out_note(out, "%s", strbuf_peek(&note));
		if (rc < 0)
			goto out;
	}
out:
	strbuf_cleanup(&note);
	free(groups);
	return rc;
}

static int sel_duplicates(const struct accountsdb *db, const char *sel,
			  struct probe_out *out)
{
	bool users = strcmp(sel, "duplicate_uid") == 0 ||
		     strcmp(sel, "duplicate_user_name") == 0;
	bool by_name = strcmp(sel, "duplicate_user_name") == 0 ||
		       strcmp(sel, "duplicate_group_name") == 0;
	size_t i, n = users ? db->npw : db->ngr, nitems = 0;
	struct dup_item *items;
	int rc = 0;

	items = calloc(n ? n : 1, sizeof(*items));
	if (items == NULL)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const char *name = users ? db->pw[i].name : db->gr[i].name;
		unsigned line = users ? db->pw[i].line : db->gr[i].line;
		int64_t id = users ? db->pw[i].uid : db->gr[i].gid;
		struct dup_item *it = &items[nitems];

		char *idtext;

		/* An empty id field is not a value that can be shared. */
		if (!by_name && id < 0)
			continue;
		if (asprintf(&idtext, "%s %lld", users ? "uid" : "gid", (long long)id) < 0) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		if (by_name) {
			it->key = strdup(name);
			it->label = idtext;
		} else {
			it->key = strdup(idtext + 4);
			it->label = strdup(name);
			free(idtext);
		}
		if (it->key == NULL || it->label == NULL) {
			free(it->key);
			free(it->label);
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		it->line = line;
		it->idx = i;
		nitems++;
	}
	if (strcmp(sel, "duplicate_uid") == 0)
		rc = report_dups(items, nitems, PASSWD_PATH, "uid", "uid", out);
	else if (strcmp(sel, "duplicate_gid") == 0)
		rc = report_dups(items, nitems, GROUP_PATH, "gid", "gid", out);
	else if (users)
		rc = report_dups(items, nitems, PASSWD_PATH, "name", "user name", out);
	else
		rc = report_dups(items, nitems, GROUP_PATH, "name", "group name", out);
out:
	for (i = 0; i < nitems; i++) {
		free(items[i].key);
		free(items[i].label);
	}
	free(items);
	return rc;
}

/* --- system accounts with a login shell --- */

/*
 * UID_MIN from /etc/login.defs (the last setting wins, as in shadow-utils'
 * getdef); *from says where the value came from.  A missing file or key
 * gives the default.
 */
static int read_uid_min(const struct probe_ctx *ctx, struct probe_out *out,
			int64_t *uid_min, const char **from)
{
	static const struct kv_options opt = {KV_WHITESPACE, false, false};
	struct line_iter it;
	struct kv_pair kv;
	const char *line;
	char *data = NULL;
	size_t len, n;
	int rc;

	*uid_min = DEFAULT_UID_MIN;
	*from = "the default; /etc/login.defs does not set UID_MIN";
	rc = probe_read_file(ctx, out, LOGIN_DEFS_PATH, 0, &data, &len);
	if (rc == PST_E_NOENT) {
		out->reason[0] = '\0';
		*from = "the default; there is no /etc/login.defs";
		return 0;
	}
	if (rc < 0)
		return rc;
	lines_init(&it, data, len);
	while (lines_next(&it, &line, &n)) {
		int64_t v;

		rc = kv_parse_line(line, n, &opt, &kv);
		if (rc == PST_E_NOMEM)
			goto out;
		if (rc <= 0)
			continue; /* blank, comment, or a line that is not ours */
		if (strcmp(kv.key, "UID_MIN") == 0) {
			if (!value_parse_int(kv.value, &v) || v < 0 || v > 4294967295LL) {
				rc = probe_out_fail(out, PST_E_PARSE,
						    "%s:%u: UID_MIN \"%s\" is not a uid; fix it or set uid_min in the rule",
						    LOGIN_DEFS_PATH, it.lineno, kv.value);
				kv_pair_cleanup(&kv);
				goto out;
			}
			*uid_min = v;
			*from = "UID_MIN in /etc/login.defs";
		}
		kv_pair_cleanup(&kv);
	}
	rc = 0;
out:
	if (rc == PST_E_NOMEM)
		rc = probe_out_fail(out, rc, "out of memory");
	free(data);
	return rc;
}

static bool in_list(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static int sel_system_shell(const struct probe_ctx *ctx, const json_t *p,
			    const struct accountsdb *db, struct probe_out *out)
{
	const json_t *shells = probe_param_list(p, "nologin_shells");
	const char *from = "uid_min in the rule";
	int64_t uid_min;
	size_t i;
	int rc;

	if (json_object_get(p, "uid_min") != NULL) {
		uid_min = probe_param_int(p, "uid_min", DEFAULT_UID_MIN);
	} else {
		rc = read_uid_min(ctx, out, &uid_min, &from);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < db->npw; i++) {
		const struct pw_entry *pw = &db->pw[i];

		/* An empty shell field means /bin/sh to login(1): it is a login shell. */
		const char *shell = pw->shell[0] != '\0' ? pw->shell : "/bin/sh";

		if (pw->uid <= 0 || pw->uid >= uid_min)
			continue;
		if (shells != NULL && in_list(shells, shell))
			continue;
		rc = add_str(out, pw->name, "shell", PASSWD_PATH, pw->line, pw->name);
		if (rc == 0)
			rc = probe_out_note(out, "shell %s%s; uid %lld is below %lld (%s)",
					    shell, pw->shell[0] != '\0' ? "" : " (empty field)",
					    (long long)pw->uid, (long long)uid_min, from);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- group members --- */

enum member_source { SRC_GROUP, SRC_GSHADOW, SRC_PRIMARY };

struct member {
	const char *name;
	enum member_source src;
	unsigned line;
};

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static const char *source_path(enum member_source s)
{
	return s == SRC_GROUP ? GROUP_PATH : s == SRC_GSHADOW ? GSHADOW_PATH : PASSWD_PATH;
}

static int sel_group_members(const json_t *p, const struct accountsdb *db,
			     const struct accountsdb *gsdb, struct probe_out *out)
{
	const char *group = probe_param_str(p, "group");
	const struct gr_entry *gr = accountsdb_group_by_name(db, group);
	const struct gs_entry *gs = NULL;
	struct member *m = NULL;
	struct strbuf note;
	size_t i, j, n = 0, cap;
	int rc = 0;

	strbuf_init(&note, NOTE_MAX_BYTES);
	if (gr == NULL || group == NULL)
		goto out;
	for (i = 0; i < gsdb->ngs; i++) {
		if (strcmp(gsdb->gs[i].name, group) == 0) {
			gs = &gsdb->gs[i];
			break;
		}
	}
	cap = gr->nmembers + (gs ? gs->nmembers : 0) + db->npw;
	m = calloc(cap ? cap : 1, sizeof(*m));
	if (m == NULL) {
		rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < gr->nmembers; i++)
		m[n++] = (struct member){gr->members[i], SRC_GROUP, gr->line};
	for (i = 0; gs != NULL && i < gs->nmembers; i++)
		m[n++] = (struct member){gs->members[i], SRC_GSHADOW, gs->line};
	for (i = 0; i < db->npw; i++)
		if (gr->gid >= 0 && db->pw[i].gid == gr->gid)
			m[n++] = (struct member){db->pw[i].name, SRC_PRIMARY, db->pw[i].line};
	qsort(m, n, sizeof(*m), cmp_member);

	for (i = 0; i < n; i = j) {
		strbuf_reset(&note);
		for (j = i; j < n && strcmp(m[j].name, m[i].name) == 0; j++) {
			if (j > i && m[j].src == m[j - 1].src &&
			    m[j].line == m[j - 1].line)
				continue; /* listed twice on one line */
			rc = strbuf_appendf(&note, "%s%s %s:%u", j > i ? "; " : "",
					    m[j].src == SRC_PRIMARY ? "primary group in" : "listed in",
					    source_path(m[j].src), m[j].line);
			if (rc == PST_E_NOMEM) {
				rc = probe_out_fail(out, rc, "out of memory");
				goto out;
			}
		}
		rc = add_str(out, group, "member", source_path(m[i].src), m[i].line,
			     m[i].name);
		if (rc == 0)
			rc = probe_out_note(out, "%s", strbuf_peek(&note));
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	strbuf_cleanup(&note);
	free(m);
	return rc;
}

static int sel_group_password(const struct accountsdb *db, struct probe_out *out)
{
	size_t i;
	int rc;

	for (i = 0; i < db->ngs; i++) {
		const struct gs_entry *gs = &db->gs[i];

		if (!usable_hash(gs->passwd))
			continue;
		rc = add_str(out, gs->name, "password", GSHADOW_PATH, gs->line, gs->name);
		if (rc == 0)
			rc = probe_out_note(out, "the group has a password: whoever knows it can join with newgrp");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- malformed lines --- */

static const char *expected_form(const char *path)
{
	if (strcmp(path, PASSWD_PATH) == 0)
		return "7 colon-separated fields with a numeric uid and gid";
	if (strcmp(path, SHADOW_PATH) == 0)
		return "9 colon-separated fields with numeric day counts";
	if (strcmp(path, GROUP_PATH) == 0)
		return "4 colon-separated fields with a numeric gid";
	return "4 colon-separated fields";
}

static int report_malformed(const struct accountsdb *db, struct probe_out *out)
{
	size_t i;
	int rc;

	for (i = 0; i < db->nmalformed; i++) {
		const char *loc = db->malformed[i];
		const char *colon = strrchr(loc, ':');
		char path[64];
		size_t plen;

		if (colon == NULL || (plen = (size_t)(colon - loc)) >= sizeof(path))
			continue; /* cannot happen: accountsdb writes "path:line" */
		memcpy(path, loc, plen);
		path[plen] = '\0';
		rc = add_str(out, path, NULL, path, (unsigned)strtoul(colon + 1, NULL, 10), loc);
		if (rc == 0)
			rc = probe_out_note(out, "the line is not an entry of %s (expected %s) and is ignored by the system",
					    path, expected_form(path));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* --- run --- */

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	const char *sel = probe_param_str(p, "select");
	struct accountsdb db, gsdb;
	unsigned which;
	int rc;

	memset(&db, 0, sizeof(db));
	memset(&gsdb, 0, sizeof(gsdb));
	if (sel == NULL)
		return probe_out_fail(out, PST_E_INVAL, "missing parameter \"select\"");

	if (strcmp(sel, "uid0") == 0 || strcmp(sel, "duplicate_uid") == 0 ||
	    strcmp(sel, "duplicate_user_name") == 0 ||
	    strcmp(sel, "system_interactive_shell") == 0)
		which = ACCOUNTSDB_PASSWD;
	else if (strcmp(sel, "empty_password") == 0 || strcmp(sel, "shadowless") == 0)
		which = ACCOUNTSDB_PASSWD | ACCOUNTSDB_SHADOW;
	else if (strncmp(sel, "password_", 9) == 0)
		which = ACCOUNTSDB_SHADOW;
	else if (strcmp(sel, "duplicate_gid") == 0 ||
		 strcmp(sel, "duplicate_group_name") == 0)
		which = ACCOUNTSDB_GROUP;
	else if (strcmp(sel, "group_members") == 0)
		which = ACCOUNTSDB_PASSWD | ACCOUNTSDB_GROUP;
	else if (strcmp(sel, "group_password") == 0)
		which = ACCOUNTSDB_GSHADOW;
	else if (strcmp(sel, "malformed") == 0)
		which = ACCOUNTSDB_PASSWD | ACCOUNTSDB_SHADOW | ACCOUNTSDB_GROUP;
	else
		return probe_out_fail(out, PST_E_INVAL, "unknown select \"%s\"", sel);

	rc = load(ctx, out, &db, which);
	if (rc < 0)
		goto out;
	if (strcmp(sel, "group_members") == 0 || strcmp(sel, "malformed") == 0) {
		rc = load_optional_gshadow(ctx, out, &gsdb);
		if (rc < 0)
			goto out;
	}

	if (strcmp(sel, "uid0") == 0)
		rc = sel_uid0(&db, out);
	else if (strcmp(sel, "empty_password") == 0)
		rc = sel_empty_password(&db, out);
	else if (strcmp(sel, "shadowless") == 0)
		rc = sel_shadowless(&db, out);
	else if (strncmp(sel, "password_", 9) == 0)
		rc = sel_aging(&db, sel, out);
	else if (strncmp(sel, "duplicate_", 10) == 0)
		rc = sel_duplicates(&db, sel, out);
	else if (strcmp(sel, "system_interactive_shell") == 0)
		rc = sel_system_shell(ctx, p, &db, out);
	else if (strcmp(sel, "group_members") == 0)
		rc = sel_group_members(p, &db, &gsdb, out);
	else if (strcmp(sel, "group_password") == 0)
		rc = sel_group_password(&db, out);
	else {
		rc = report_malformed(&db, out);
		if (rc == 0)
			rc = report_malformed(&gsdb, out);
	}
out:
	accountsdb_cleanup(&db);
	accountsdb_cleanup(&gsdb);
	return rc;
}

const struct probe probe_accounts = {
	.name = "accounts",
	.summary = "Facts about local accounts and groups from /etc/passwd, /etc/shadow, "
		   "/etc/group and /etc/gshadow: uid 0 accounts, empty or missing passwords, "
		   "password aging, duplicates, system accounts with a login shell, group "
		   "members, group passwords and malformed lines.",
	.value_doc = "For set selections, one string per member found (an account or group "
		     "name, a duplicated uid, gid or name, or \"path:line\" for malformed); none "
		     "when the set is empty. For password_*_days, one integer per account with a "
		     "usable password hash, absent (\"not set\") when the shadow field is empty.",
	.params = params,
	.validate = validate,
	.run = run,
};
