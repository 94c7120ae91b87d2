/* pkgdb.c - the installed-package database of pkgdb.h, whichever family it is. */
#include "pkgdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpkgstatus.h"
#include "dpkgver.h"
#include "rpmdb.h"

#define PKGDB_CACHE_KEY "pkgdb"

static void pkg_cleanup(struct pkgdb_pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->source);
	free(p->state);
}

void pkgdb_free(struct pkgdb *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->n; i++)
		pkg_cleanup(&db->pkgs[i]);
	free(db->pkgs);
	free(db->path);
	free(db->native_arch);
	free(db);
}

static void destroy(void *p)
{
	pkgdb_free(p);
}

const char *pkgdb_family_name(enum pkgdb_family f)
{
	return f == PKGDB_RPM ? "rpm" : "dpkg";
}

int pkgdb_add(struct pkgdb *db, const char *name, size_t name_len, const char *version,
	      size_t version_len, const char *arch, size_t arch_len, const char *source,
	      size_t source_len, const char *state, unsigned line, int64_t installtime)
{
	struct pkgdb_pkg p = {0};

	if (db->n >= PKGDB_MAX_PACKAGES)
		return PST_E_LIMIT;
	if (source == NULL) {
		source = name;
		source_len = name_len;
	}
	p.name = strndup(name, name_len);
	p.version = strndup(version, version_len);
	p.arch = strndup(arch, arch_len);
	p.source = strndup(source, source_len);
	p.state = strdup(state);
	p.line = line;
	p.installtime = installtime;
	if (p.name == NULL || p.version == NULL || p.arch == NULL || p.source == NULL ||
	    p.state == NULL)
		goto nomem;
	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 64;
		struct pkgdb_pkg *np = realloc(db->pkgs, cap * sizeof(*np));

		if (np == NULL)
			goto nomem;
		db->pkgs = np;
		db->cap = cap;
	}
	db->pkgs[db->n++] = p;
	return 0;
nomem:
	pkg_cleanup(&p);
	return PST_E_NOMEM;
}

static int by_name_arch(const void *a, const void *b)
{
	const struct pkgdb_pkg *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r == 0)
		r = strcmp(x->arch, y->arch);
	/* rpm keeps several versions of one package (kernels): a fixed order for evidence. */
	if (r == 0)
		r = strcmp(x->version, y->version);
	return r;
}

void pkgdb_sort(struct pkgdb *db)
{
	if (db->n > 1)
		qsort(db->pkgs, db->n, sizeof(db->pkgs[0]), by_name_arch);
}

size_t pkgdb_find(const struct pkgdb *db, const char *name, size_t *first)
{
	size_t lo = 0, hi = db->n, end;

	*first = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(db->pkgs[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < db->n && strcmp(db->pkgs[end].name, name) == 0; end++)
		;
	*first = lo;
	return end - lo;
}

int pkgdb_vercmp(enum pkgdb_family f, const char *a, const char *b, int *result,
		 const char **why)
{
	struct dpkgver va, vb;
	int rc;

	*result = 0;
	if (f == PKGDB_RPM) {
		*result = rpmdb_vercmp(a, b);
		return 0;
	}
	rc = dpkgver_parse(&va, a, strlen(a), why);
	if (rc == 0)
		rc = dpkgver_parse(&vb, b, strlen(b), why);
	if (rc < 0)
		return rc;
	*result = dpkgver_cmp(&va, &vb);
	return 0;
}

enum pkgdb_family pkgdb_detect(const struct rootfs *r, char **rpm_dbpath)
{
	struct stat st;
	size_t i;

	if (rpm_dbpath != NULL)
		*rpm_dbpath = NULL;
	if (rootfs_stat(r, DPKGSTATUS_PATH, true, &st) == 0)
		return PKGDB_DPKG;
	for (i = 0; rpmdb_paths[i] != NULL; i++) {
		static const char *const files[] = {"rpmdb.sqlite", "Packages.db", "Packages", NULL};
		size_t k;

		for (k = 0; files[k] != NULL; k++) {
			char path[256];

			snprintf(path, sizeof(path), "%s/%s", rpmdb_paths[i], files[k]);
			if (rootfs_stat(r, path, true, &st) == 0 && S_ISREG(st.st_mode)) {
				if (rpm_dbpath != NULL)
					*rpm_dbpath = strdup(rpmdb_paths[i]);
				return PKGDB_RPM;
			}
		}
	}
	return 0;
}

static int load(const struct probe_ctx *ctx, struct probe_out *out, struct pkgdb **res)
{
	struct pst_err e = {0};
	struct pkgdb *db;
	char *dbpath = NULL, *data = NULL;
	size_t len = 0;
	int rc;

	*res = NULL;
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	switch (pkgdb_detect(ctx->root, &dbpath)) {
	case PKGDB_DPKG:
		rc = probe_read_file(ctx, out, DPKGSTATUS_PATH, PKGDB_MAX_STATUS_BYTES, &data, &len);
		if (rc < 0)
			goto out;
		rc = dpkgstatus_parse(db, data, len, &e);
		if (rc < 0)
			rc = probe_out_fail(out, rc, "cannot read %s: %s", DPKGSTATUS_PATH, e.msg);
		break;
	case PKGDB_RPM:
		if (dbpath == NULL) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
		rc = rpmdb_load(db, ctx->root, dbpath, &e);
		if (rc < 0)
			rc = probe_out_fail(out, rc, "cannot read the rpm database in %s: %s",
					    dbpath, e.msg);
		break;
	default:
		rc = probe_out_fail(out, PST_E_NOENT,
				    "no package database: neither %s nor an rpm database (%s, %s) exists; "
				    "gate the check with applicable_if on the file",
				    DPKGSTATUS_PATH, rpmdb_paths[0], rpmdb_paths[1]);
		break;
	}
out:
	free(dbpath);
	free(data);
	if (rc < 0) {
		pkgdb_free(db);
		return rc;
	}
	*res = db;
	return 0;
}

int pkgdb_get(const struct probe_ctx *ctx, struct probe_out *out, const struct pkgdb **db,
	      struct pkgdb **owned)
{
	struct pkgdb *fresh;
	int rc;

	*db = NULL;
	*owned = NULL;
	if (ctx->cache != NULL) {
		*db = probe_cache_get(ctx->cache, PKGDB_CACHE_KEY);
		if (*db != NULL)
			return 0;
	}
	rc = load(ctx, out, &fresh);
	if (rc < 0)
		return rc;
	if (ctx->cache == NULL) {
		*owned = fresh;
		*db = fresh;
		return 0;
	}
	rc = probe_cache_put(ctx->cache, PKGDB_CACHE_KEY, fresh, destroy);
	if (rc < 0)
		return probe_out_fail(out, rc, "out of memory");
	*db = fresh;
	return 0;
}
