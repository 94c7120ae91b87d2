/*
 * accountsdb.c - reading passwd, shadow, group and gshadow from the scanned
 * root (see accountsdb.h).
 *
 * Each file is read whole through rootfs_read (16 MiB at most) and split
 * into lines.  An accepted line is copied once; its ':' separators (and the
 * ',' separators of member lists) become NUL bytes and the entry's string
 * fields point into that copy, which the entry owns through `name`, its first
 * field.  Comment lines ('#'), blank lines and NIS compat lines ("+...",
 * "-...") are skipped; a line with the wrong number of fields, a non-numeric
 * id or a NUL byte is recorded in `malformed` as "path:line".
 */
#include "accountsdb.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"

/* Ceiling on one account file. */
#define ACCOUNTSDB_MAX_FILE ROOTFS_DEFAULT_MAX_READ
/* Ceiling on the lines kept (entries and malformed) from one file. */
#define ACCOUNTSDB_MAX_ENTRIES 1000000u
/* Largest id accepted in a uid or gid field (uid_t is 32 bits). */
#define ACCOUNTSDB_MAX_ID 4294967295LL

struct file_kind {
	unsigned bit;
	const char *path;
	unsigned nfields;
};

static const struct file_kind kinds[] = {
	{ACCOUNTSDB_PASSWD, "/etc/passwd", 7},
	{ACCOUNTSDB_SHADOW, "/etc/shadow", 9},
	{ACCOUNTSDB_GROUP, "/etc/group", 4},
	{ACCOUNTSDB_GSHADOW, "/etc/gshadow", 4},
};

/* Grow *arr (of elem-sized items, *cap allocated) to hold one more than n. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * elem);
	if (p == NULL)
		return PST_E_NOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/*
 * An id field: empty reads as -1; otherwise decimal digits only, at most
 * max.  A shadow day field may also hold a negative number (some tools
 * write -1 for "unset"), which reads as -1.
 */
static bool parse_num(const char *s, int64_t max, bool allow_negative,
		      int64_t *out)
{
	int64_t v = 0;
	bool neg = false;

	if (*s == '\0') {
		*out = -1;
		return true;
	}
	if (*s == '-' && allow_negative) {
		neg = true;
		s++;
		if (*s == '\0')
			return false;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > max)
			return false;
	}
	*out = neg ? -1 : v;
	return true;
}

/*
 * Split a comma-separated list in place into a heap array of pointers into
 * s; empty items ("a,,b", a trailing comma) are dropped.  An empty list is
 * NULL with *n = 0.
 */
static int split_list(char *s, char ***items, size_t *n)
{
	size_t count = 1, i = 0;
	char *p, **arr;

	*items = NULL;
	*n = 0;
	if (*s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (*p == ',')
			count++;
	arr = calloc(count, sizeof(*arr));
	if (arr == NULL)
		return PST_E_NOMEM;
	for (;;) {
		char *comma = strchr(s, ',');

		if (comma != NULL)
			*comma = '\0';
		if (*s != '\0')
			arr[i++] = s;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	if (i == 0) {
		free(arr);
		return 0;
	}
	*items = arr;
	*n = i;
	return 0;
}

struct parse_state {
	struct accountsdb *db;
	const struct file_kind *kind;
	size_t cap; /* allocated entries of the array being filled */
	size_t *malformed_cap; /* allocated entries of db->malformed */
	size_t kept; /* entries and malformed lines of this file */
};

static int add_malformed(struct parse_state *ps, unsigned lineno)
{
	struct accountsdb *db = ps->db;
	char *s;
	int rc;

	rc = grow((void **)&db->malformed, ps->malformed_cap, db->nmalformed,
		  sizeof(*db->malformed));
	if (rc < 0)
		return rc;
	if (asprintf(&s, "%s:%u", ps->kind->path, lineno) < 0)
		return PST_E_NOMEM;
	db->malformed[db->nmalformed++] = s;
	return 0;
}

/*
 * Take over buf (the line, split into nfields NUL-terminated fields in f)
 * as an entry of the file being parsed.  Returns 1 when a field does not
 * parse (the caller records the line as malformed and frees buf), 0 when buf
 * was taken over, or a negative code.
 */
static int add_entry(struct parse_state *ps, char **f, unsigned lineno)
{
	struct accountsdb *db = ps->db;
	int rc;

	switch (ps->kind->bit) {
	case ACCOUNTSDB_PASSWD: {
		struct pw_entry pw = {0};

		if (!parse_num(f[2], ACCOUNTSDB_MAX_ID, false, &pw.uid) ||
		    !parse_num(f[3], ACCOUNTSDB_MAX_ID, false, &pw.gid))
			return 1;
		rc = grow((void **)&db->pw, &ps->cap, db->npw, sizeof(*db->pw));
		if (rc < 0)
			return rc;
		pw.name = f[0];
		pw.passwd = f[1];
		pw.gecos = f[4];
		pw.home = f[5];
		pw.shell = f[6];
		pw.line = lineno;
		db->pw[db->npw++] = pw;
		return 0;
	}
	case ACCOUNTSDB_SHADOW: {
		struct sp_entry sp = {0};
		int64_t *days[] = {&sp.lastchg, &sp.min, &sp.max, &sp.warn,
				   &sp.inactive, &sp.expire};
		size_t i;

		for (i = 0; i < 6; i++)
			if (!parse_num(f[2 + i], INT64_MAX / 10, true, days[i]))
				return 1;
		/* f[8] is reserved; its content is not checked, like libc. */
		rc = grow((void **)&db->sp, &ps->cap, db->nsp, sizeof(*db->sp));
		if (rc < 0)
			return rc;
		sp.name = f[0];
		sp.hash = f[1];
		sp.line = lineno;
		db->sp[db->nsp++] = sp;
		return 0;
	}
	case ACCOUNTSDB_GROUP: {
		struct gr_entry gr = {0};

		if (!parse_num(f[2], ACCOUNTSDB_MAX_ID, false, &gr.gid))
			return 1;
		rc = grow((void **)&db->gr, &ps->cap, db->ngr, sizeof(*db->gr));
		if (rc < 0)
			return rc;
		rc = split_list(f[3], &gr.members, &gr.nmembers);
		if (rc < 0)
			return rc;
		gr.name = f[0];
		gr.passwd = f[1];
		gr.line = lineno;
		db->gr[db->ngr++] = gr;
		return 0;
	}
	default: {
		struct gs_entry gs = {0};

		rc = grow((void **)&db->gs, &ps->cap, db->ngs, sizeof(*db->gs));
		if (rc < 0)
			return rc;
		rc = split_list(f[2], &gs.admins, &gs.nadmins);
		if (rc == 0)
			rc = split_list(f[3], &gs.members, &gs.nmembers);
		if (rc < 0) {
			free(gs.admins);
			return rc;
		}
		gs.name = f[0];
		gs.passwd = f[1];
		gs.line = lineno;
		db->gs[db->ngs++] = gs;
		return 0;
	}
	}
}

/* One line that is not blank, a comment or a NIS compat entry. */
static int parse_line(struct parse_state *ps, const char *line, size_t len,
		      unsigned lineno)
{
	char *f[9], *buf = NULL, *p;
	unsigned nf = 1, want = ps->kind->nfields;
	size_t i;
	int rc;

	if (ps->kept >= ACCOUNTSDB_MAX_ENTRIES)
		return PST_E_LIMIT;
	ps->kept++;
	if (memchr(line, '\0', len) != NULL)
		return add_malformed(ps, lineno);
	for (i = 0; i < len; i++)
		if (line[i] == ':')
			nf++;
	if (nf != want)
		return add_malformed(ps, lineno);

	buf = malloc(len + 1);
	if (buf == NULL)
		return PST_E_NOMEM;
	memcpy(buf, line, len);
	buf[len] = '\0';
	f[0] = buf;
	nf = 1;
	for (p = buf; *p != '\0'; p++) {
		if (*p == ':') {
			*p = '\0';
			f[nf++] = p + 1;
		}
	}
	rc = add_entry(ps, f, lineno);
	if (rc != 0) {
		free(buf);
		if (rc == 1)
			rc = add_malformed(ps, lineno);
	}
	return rc;
}

static int parse_file(struct accountsdb *db, const struct file_kind *kind,
		      const char *data, size_t len, size_t *malformed_cap,
		      struct pst_err *e)
{
	struct parse_state ps = {db, kind, 0, malformed_cap, 0};
	struct line_iter it;
	const char *line;
	size_t n;
	int rc;

	lines_init(&it, data, len);
	while (lines_next(&it, &line, &n)) {
		if (lines_is_blank_or_comment(line, n, '#'))
			continue;
		/* NIS compat entries ("+", "+name", "-name", "+@netgroup"). */
		if (line[0] == '+' || line[0] == '-')
			continue;
		rc = parse_line(&ps, line, n, it.lineno);
		if (rc == PST_E_LIMIT)
			return pst_err_set(e, rc, "cannot read %s: more than %u entries",
					   kind->path, ACCOUNTSDB_MAX_ENTRIES);
		if (rc < 0)
			return pst_err_set(e, rc, "cannot read %s: %s", kind->path,
					   pst_strerror(rc));
	}
	return 0;
}

static int read_error(struct pst_err *e, int rc, const char *path)
{
	switch (rc) {
	case PST_E_NOENT:
		return pst_err_set(e, rc, "cannot read %s: no such file in the scanned root",
				   path);
	case PST_E_TOOBIG:
		return pst_err_set(e, rc, "cannot read %s: larger than %u bytes",
				   path, (unsigned)ACCOUNTSDB_MAX_FILE);
	case PST_E_INVAL:
		return pst_err_set(e, rc, "cannot read %s: not a regular file", path);
	default:
		return pst_err_set(e, rc, "cannot read %s: %s", path,
				   rootfs_strerror(rc));
	}
}

int accountsdb_load(struct accountsdb *db, const struct rootfs *r,
		    unsigned which, struct pst_err *e)
{
	char *data = NULL;
	size_t i, len, malformed_cap = 0;
	int rc = 0;

	memset(db, 0, sizeof(*db));
	if (which == 0 || (which & ~(unsigned)ACCOUNTSDB_ALL) != 0)
		return pst_err_set(e, PST_E_INVAL, "accountsdb: bad file selection 0x%x",
				   which);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if ((which & kinds[i].bit) == 0)
			continue;
		rc = rootfs_read(r, kinds[i].path, ACCOUNTSDB_MAX_FILE, &data, &len);
		if (rc < 0) {
			rc = read_error(e, rc, kinds[i].path);
			goto out;
		}
		rc = parse_file(db, &kinds[i], data, len, &malformed_cap, e);
		free(data);
		data = NULL;
		if (rc < 0)
			goto out;
		db->loaded |= kinds[i].bit;
	}
out:
	free(data);
	return rc;
}

void accountsdb_cleanup(struct accountsdb *db)
{
	size_t i;

	for (i = 0; i < db->npw; i++)
		free(db->pw[i].name);
	for (i = 0; i < db->nsp; i++)
		free(db->sp[i].name);
	for (i = 0; i < db->ngr; i++) {
		free(db->gr[i].name);
		free(db->gr[i].members);
	}
	for (i = 0; i < db->ngs; i++) {
		free(db->gs[i].name);
		free(db->gs[i].admins);
		free(db->gs[i].members);
	}
	for (i = 0; i < db->nmalformed; i++)
		free(db->malformed[i]);
	free(db->pw);
	free(db->sp);
	free(db->gr);
	free(db->gs);
	free(db->malformed);
	memset(db, 0, sizeof(*db));
}

const struct pw_entry *accountsdb_user_by_uid(const struct accountsdb *db, int64_t uid)
{
	size_t i;

	if (uid < 0)
		return NULL;
	for (i = 0; i < db->npw; i++)
		if (db->pw[i].uid == uid)
			return &db->pw[i];
	return NULL;
}

const struct pw_entry *accountsdb_user_by_name(const struct accountsdb *db, const char *name)
{
	size_t i;

	for (i = 0; i < db->npw; i++)
		if (strcmp(db->pw[i].name, name) == 0)
			return &db->pw[i];
	return NULL;
}

const struct gr_entry *accountsdb_group_by_gid(const struct accountsdb *db, int64_t gid)
{
	size_t i;

	if (gid < 0)
		return NULL;
	for (i = 0; i < db->ngr; i++)
		if (db->gr[i].gid == gid)
			return &db->gr[i];
	return NULL;
}

const struct gr_entry *accountsdb_group_by_name(const struct accountsdb *db, const char *name)
{
	size_t i;

	for (i = 0; i < db->ngr; i++)
		if (strcmp(db->gr[i].name, name) == 0)
			return &db->gr[i];
	return NULL;
}

const struct sp_entry *accountsdb_shadow_by_name(const struct accountsdb *db, const char *name)
{
	size_t i;

	for (i = 0; i < db->nsp; i++)
		if (strcmp(db->sp[i].name, name) == 0)
			return &db->sp[i];
	return NULL;
}
