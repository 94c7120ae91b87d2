/* aptlists.c - apt's package lists and their Release files (aptlists.h). */
#include "aptlists.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deb822.h"
#include "decompress.h"
#include "dpkgver.h"

#define APTLISTS_CACHE_KEY "aptlists"

static void source_cleanup(struct aptlists_source *s)
{
	free(s->path);
	free(s->release);
	free(s->suite);
	free(s->codename);
	free(s->origin);
	free(s->label);
}

void aptlists_free(struct aptlists *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nsrc; i++)
		source_cleanup(&l->src[i]);
	free(l->src);
	for (i = 0; i < l->npkgs; i++) {
		free(l->best[i].version);
		free(l->best_security[i].version);
	}
	free(l->best);
	free(l->best_security);
	free(l);
}

static void destroy(void *p)
{
	aptlists_free(p);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

bool aptlists_is_security(const char *suite, const char *codename, const char *label)
{
	return ends_with(suite, "-security") || ends_with(codename, "-security") ||
	       ends_with(suite, "/updates") || strcmp(label, "Debian-Security") == 0;
}

int aptlists_parse_date(const char *s, size_t n, int64_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char buf[64], mon[4], zone[8];
	struct tm tm;
	int day, year, hh, mm, ss, used = 0;
	const char *p = buf;
	long off = 0;
	time_t t;
	int k;

	*out = -1;
	if (n == 0 || n >= sizeof(buf))
		return PST_E_PARSE;
	memcpy(buf, s, n);
	buf[n] = '\0';
	/* The day of the week is optional and not checked. */
	if (strchr(buf, ',') != NULL)
		p = strchr(buf, ',') + 1;
	zone[0] = '\0';
	if (sscanf(p, " %d %3s %d %d:%d:%d %7s%n", &day, mon, &year, &hh, &mm, &ss, zone,
		   &used) < 6)
		return PST_E_PARSE;
	if (used > 0 && p[used] != '\0')
		return PST_E_PARSE;
	for (k = 0; k < 12; k++)
		if (strncmp(mon, months + 3 * k, 3) == 0 && mon[3] == '\0')
			break;
	if (k == 12 || day < 1 || day > 31 || year < 1970 || year > 9999 || hh > 23 ||
	    mm > 59 || ss > 60 || hh < 0 || mm < 0 || ss < 0)
		return PST_E_PARSE;
	if (zone[0] == '+' || zone[0] == '-') {
		char *end;
		long z = strtol(zone + 1, &end, 10);

		if (*end != '\0' || strlen(zone) != 5)
			return PST_E_PARSE;
		off = (z / 100) * 3600 + (z % 100) * 60;
		if (zone[0] == '-')
			off = -off;
	} else if (zone[0] != '\0' && strcmp(zone, "UTC") != 0 && strcmp(zone, "GMT") != 0 &&
		   strcmp(zone, "Z") != 0) {
		return PST_E_PARSE;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = k;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return PST_E_PARSE;
	*out = (int64_t)t - off;
	return 0;
}

char *aptlists_describe(const struct aptlists_source *s)
{
	char *d = NULL;
	const char *name = s->suite[0] ? s->suite : s->codename[0] ? s->codename : "unknown suite";

	if (s->release == NULL) {
		if (asprintf(&d, "no Release file") < 0)
			return NULL;
		return d;
	}
	if (asprintf(&d, "%s%s%s%s%s%s", name, s->origin[0] || s->label[0] ? " (" : "",
		     s->origin, s->origin[0] && s->label[0] ? ", " : "", s->label,
		     s->origin[0] || s->label[0] ? ")" : "") < 0)
		return NULL;
	return d;
}

static char *field_dup(const struct deb822_stanza *st, const char *name)
{
	const struct deb822_field *f = deb822_get(st, name);

	return f ? strndup(f->value, f->value_len) : strdup("");
}

/*
 * The Release file of a list: apt names lists after the archive's URI with
 * '/' as '_', so "host_debian_dists_bookworm_main_binary-amd64_Packages"
 * belongs to "host_debian_dists_bookworm_InRelease".  Cut components from
 * the end until an InRelease (preferred, as apt prefers it) or Release
 * exists.
 */
static int find_release(const struct probe_ctx *ctx, const char *list, char **release)
{
	char *base = strdup(list), *cut;
	struct stat st;
	int rc = 0;

	*release = NULL;
	if (base == NULL)
		return PST_E_NOMEM;
	cut = strstr(base, "_Packages");
	if (cut != NULL)
		*cut = '\0';
	while ((cut = strrchr(base, '_')) != NULL && *release == NULL) {
		static const char *const names[] = {"_InRelease", "_Release"};
		size_t k;

		*cut = '\0';
		if (strrchr(base, '/') == NULL || strrchr(base, '/') > cut)
			break;
		for (k = 0; k < 2 && *release == NULL; k++) {
			char *cand;

			if (asprintf(&cand, "%s%s", base, names[k]) < 0) {
				rc = PST_E_NOMEM;
				goto out;
			}
			if (rootfs_stat(ctx->root, cand, true, &st) == 0 && S_ISREG(st.st_mode))
				*release = cand;
			else
				free(cand);
		}
	}
out:
	free(base);
	return rc;
}

static int read_release(const struct probe_ctx *ctx, struct probe_out *out,
			struct aptlists_source *s)
{
	struct deb822_stanza *st = NULL;
	struct deb822_iter it;
	const char *body, *why;
	size_t len, body_len;
	unsigned first, errline;
	char *data = NULL;
	int rc;

	s->date = -1;
	rc = find_release(ctx, s->path, &s->release);
	if (rc < 0)
		return probe_out_fail(out, rc, "out of memory");
	if (s->release == NULL) {
		s->suite = strdup("");
		s->codename = strdup("");
		s->origin = strdup("");
		s->label = strdup("");
		goto check;
	}
	rc = probe_read_file(ctx, out, s->release, APTLISTS_MAX_RELEASE_BYTES, &data, &len);
	if (rc < 0)
		return rc;
	if (deb822_clearsigned_body(data, len, &body, &body_len, &first) != 0) {
		rc = probe_out_fail(out, PST_E_PARSE,
				    "cannot read %s: the clear-signed message ends before its signature",
				    s->release);
		goto out;
	}
	st = malloc(sizeof(*st));
	if (st == NULL) {
		rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
		goto out;
	}
	deb822_init(&it, body, body_len);
	rc = deb822_next(&it, st, &why, &errline);
	if (rc < 0) {
		rc = probe_out_fail(out, rc, "cannot read %s:%u: %s", s->release,
				    errline + first - 1, why);
		goto out;
	}
	if (rc == 0)
		st->n = 0;
	s->suite = field_dup(st, "Suite");
	s->codename = field_dup(st, "Codename");
	s->origin = field_dup(st, "Origin");
	s->label = field_dup(st, "Label");
	{
		const struct deb822_field *d = deb822_get(st, "Date");

		if (d != NULL && aptlists_parse_date(d->value, d->value_len, &s->date) != 0) {
			rc = probe_out_fail(out, PST_E_PARSE,
					    "cannot read %s:%u: Date \"%.*s\" is not an RFC 2822 date",
					    s->release, d->line + first - 1,
					    (int)(d->value_len > 64 ? 64 : d->value_len), d->value);
			goto out;
		}
	}
check:
	if (s->suite == NULL || s->codename == NULL || s->origin == NULL || s->label == NULL) {
		rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
		goto out;
	}
	s->security = aptlists_is_security(s->suite, s->codename, s->label);
	rc = 0;
out:
	free(st);
	free(data);
	return rc;
}

static bool arch_matches(const struct pkgdb *db, const struct pkgdb_pkg *p,
			 const struct deb822_field *arch)
{
	if (arch == NULL)
		return false;
	if (deb822_value_is(arch, p->arch) || deb822_value_is(arch, "all"))
		return true;
	/* An "all" package may become architecture-specific in a later version. */
	return strcmp(p->arch, "all") == 0 && db->native_arch != NULL &&
	       deb822_value_is(arch, db->native_arch);
}

/* Keep (version, source, line) in *c when it is higher than what *c holds. */
static int offer(struct aptlists_cand *c, const struct deb822_field *version,
		 const struct dpkgver *v, size_t source, unsigned line)
{
	struct dpkgver cur;
	char *copy;

	if (c->version != NULL) {
		if (dpkgver_parse(&cur, c->version, strlen(c->version), NULL) != 0)
			return PST_E_PARSE;
		if (dpkgver_cmp(v, &cur) <= 0)
			return 0;
	}
	copy = strndup(version->value, version->value_len);
	if (copy == NULL)
		return PST_E_NOMEM;
	free(c->version);
	c->version = copy;
	c->source = source;
	c->line = line;
	return 0;
}

static int scan_list(const struct probe_ctx *ctx, struct probe_out *out, const struct pkgdb *db,
		     struct aptlists *l, size_t si)
{
	struct aptlists_source *s = &l->src[si];
	enum decompress_format fmt = decompress_format_of(s->path);
	struct deb822_stanza *st = NULL;
	struct deb822_iter it;
	const char *why = NULL;
	char *raw = NULL, *data = NULL, name[256];
	size_t rawlen, len;
	unsigned errline;
	int rc;

	if (fmt == DECOMPRESS_UNSUPPORTED)
		return probe_out_fail(out, PST_E_INVAL,
				      "cannot read %s: compressed in a format the agent does not read "
				      "(it reads plain, .gz and .lz4 lists); set Acquire::GzipIndexes or "
				      "let apt keep the lists uncompressed", s->path);
	rc = probe_read_file(ctx, out, s->path,
			     fmt == DECOMPRESS_NONE ? APTLISTS_MAX_LIST_BYTES : APTLISTS_MAX_LIST_BYTES / 2,
			     &raw, &rawlen);
	if (rc < 0)
		return rc;
	if (fmt == DECOMPRESS_NONE) {
		data = raw;
		len = rawlen;
		raw = NULL;
	} else {
		rc = decompress_buffer(fmt, raw, rawlen, APTLISTS_MAX_LIST_BYTES, &data, &len, &why);
		if (rc < 0) {
			rc = probe_out_fail(out, rc, "cannot read %s: %s", s->path,
					    rc == PST_E_TOOBIG ? "larger than the limit once decompressed"
					    : why ? why : pst_strerror(rc));
			goto out;
		}
	}
	st = malloc(sizeof(*st));
	if (st == NULL) {
		rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
		goto out;
	}
	deb822_init(&it, data, len);
	while ((rc = deb822_next(&it, st, &why, &errline)) == 1) {
		const struct deb822_field *pkg = deb822_get(st, "Package");
		const struct deb822_field *ver, *arch;
		struct dpkgver v;
		size_t first, n, k;

		if (pkg == NULL || pkg->value_len == 0 || pkg->value_len >= sizeof(name))
			continue;
		memcpy(name, pkg->value, pkg->value_len);
		name[pkg->value_len] = '\0';
		n = pkgdb_find(db, name, &first);
		if (n == 0)
			continue;
		ver = deb822_get(st, "Version");
		arch = deb822_get(st, "Architecture");
		if (ver == NULL || dpkgver_parse(&v, ver->value, ver->value_len, &why) != 0) {
			rc = probe_out_fail(out, PST_E_PARSE, "cannot read %s:%u: package %s: %s",
					    s->path, ver ? ver->line : st->line, name,
					    ver ? why : "no Version");
			goto out;
		}
		for (k = first; k < first + n; k++) {
			if (!arch_matches(db, &db->pkgs[k], arch))
				continue;
			rc = offer(&l->best[k], ver, &v, si, st->line);
			if (rc == 0 && s->security)
				rc = offer(&l->best_security[k], ver, &v, si, st->line);
			if (rc < 0) {
				rc = probe_out_fail(out, rc, "out of memory");
				goto out;
			}
		}
	}
	if (rc < 0)
		rc = probe_out_fail(out, rc, "cannot read %s:%u: %s", s->path, errline, why);
out:
	free(st);
	free(raw);
	free(data);
	return rc;
}

static bool is_packages_list(const char *path)
{
	const char *base = strrchr(path, '/');
	const char *p = strstr(base ? base : path, "_Packages");

	if (p == NULL)
		return false;
	p += strlen("_Packages");
	/* Plain or compressed; not the pdiff index "..._Packages.diff_Index". */
	return *p == '\0' || (*p == '.' && strchr(p, '_') == NULL);
}

static int load(const struct probe_ctx *ctx, struct probe_out *out, const struct pkgdb *db,
		struct aptlists **res)
{
	struct aptlists *l = calloc(1, sizeof(*l));
	char **paths = NULL;
	size_t npaths = 0, i;
	int rc;

	*res = NULL;
	if (l == NULL)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	l->best = calloc(db->n + 1, sizeof(*l->best));
	l->best_security = calloc(db->n + 1, sizeof(*l->best_security));
	if (l->best == NULL || l->best_security == NULL) {
		rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
		goto out;
	}
	l->npkgs = db->n;
	rc = rootfs_glob(ctx->root, APTLISTS_DIR "/*_Packages*", 0, &paths, &npaths);
	if (rc == PST_E_NOENT || rc == PST_E_NOTDIR) {
		rc = 0;
		npaths = 0;
	} else if (rc < 0) {
		rc = probe_out_fail(out, rc, "cannot list %s: %s", APTLISTS_DIR, rootfs_strerror(rc));
		goto out;
	}
	l->src = calloc(npaths ? npaths : 1, sizeof(*l->src));
	if (l->src == NULL) {
		rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < npaths; i++) {
		struct aptlists_source *s;
		struct stat st;

		if (!is_packages_list(paths[i]))
			continue;
		s = &l->src[l->nsrc++];
		s->path = strdup(paths[i]);
		if (s->path == NULL) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		rc = rootfs_stat(ctx->root, s->path, true, &st);
		if (rc < 0) {
			rc = probe_out_fail(out, rc, "cannot read %s: %s", s->path, rootfs_strerror(rc));
			goto out;
		}
		s->mtime = st.st_mtime;
		rc = read_release(ctx, out, s);
		if (rc < 0)
			goto out;
		rc = scan_list(ctx, out, db, l, l->nsrc - 1);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	rootfs_glob_free(paths, npaths);
	if (rc < 0) {
		aptlists_free(l);
		return rc;
	}
	*res = l;
	return 0;
}

int aptlists_get(const struct probe_ctx *ctx, struct probe_out *out, const struct pkgdb *db,
		 const struct aptlists **lists, struct aptlists **owned)
{
	struct aptlists *fresh;
	int rc;

	*lists = NULL;
	*owned = NULL;
	if (ctx->cache != NULL) {
		*lists = probe_cache_get(ctx->cache, APTLISTS_CACHE_KEY);
		if (*lists != NULL)
			return 0;
	}
	rc = load(ctx, out, db, &fresh);
	if (rc < 0)
		return rc;
	if (ctx->cache == NULL) {
		*owned = fresh;
		*lists = fresh;
		return 0;
	}
	rc = probe_cache_put(ctx->cache, APTLISTS_CACHE_KEY, fresh, destroy);
	if (rc < 0)
		return probe_out_fail(out, rc, "out of memory");
	*lists = fresh;
	return 0;
}

int aptlists_get_dpkg(const struct probe_ctx *ctx, struct probe_out *out, const char *what,
		      const struct pkgdb **db, struct pkgdb **own_db,
		      const struct aptlists **lists, struct aptlists **own_lists)
{
	int rc;

	*own_db = NULL;
	*own_lists = NULL;
	rc = pkgdb_get(ctx, out, db, own_db);
	if (rc < 0)
		return rc;
	if ((*db)->family != PKGDB_DPKG)
		return probe_out_fail(out, PST_E_INVAL,
				      "%s are read from apt's lists; this root has an %s database",
				      what, pkgdb_family_name((*db)->family));
	rc = aptlists_get(ctx, out, *db, lists, own_lists);
	if (rc < 0)
		return rc;
	if ((*lists)->nsrc == 0)
		return probe_out_fail(out, PST_E_NOENT,
				      "no package list under %s: apt never fetched them or they were "
				      "removed; run apt-get update", APTLISTS_DIR);
	return 0;
}

bool aptlists_name_in(const json_t *list, const char *name)
{
	size_t i;
	json_t *v;

	if (list == NULL)
		return false;
	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}
