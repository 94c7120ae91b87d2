/* dpkgstatus.c - dpkg's status file into a pkgdb (dpkgstatus.h). */
#include "dpkgstatus.h"

#include <stdlib.h>
#include <string.h>

#include "deb822.h"
#include "dpkgver.h"

/* The three words of Status; false when it is not three words. */
static bool status_words(const struct deb822_field *f, const char **w3, size_t *w3_len)
{
	const char *p = f->value, *end = f->value + f->value_len;
	unsigned words = 0;

	while (p < end) {
		const char *start;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		start = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (++words == 3) {
			*w3 = start;
			*w3_len = (size_t)(p - start);
		}
	}
	return words == 3;
}

int dpkgstatus_parse(struct pkgdb *db, const char *data, size_t len, struct pst_err *e)
{
	struct deb822_stanza *st = malloc(sizeof(*st));
	struct deb822_iter it;
	const char *why;
	unsigned errline;
	int rc;

	db->family = PKGDB_DPKG;
	db->path = strdup(DPKGSTATUS_PATH);
	if (st == NULL || db->path == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	deb822_init(&it, data, len);
	while ((rc = deb822_next(&it, st, &why, &errline)) == 1) {
		const struct deb822_field *name = deb822_get(st, "Package");
		const struct deb822_field *status = deb822_get(st, "Status");
		const struct deb822_field *version = deb822_get(st, "Version");
		const struct deb822_field *arch = deb822_get(st, "Architecture");
		const struct deb822_field *source = deb822_get(st, "Source");
		const char *word = NULL, *src = NULL;
		size_t word_len = 0, src_len = 0;
		struct dpkgver v;
		char state[32];

		if (name == NULL || name->value_len == 0) {
			rc = pst_err_set(e, PST_E_PARSE, "line %u: stanza without a Package field",
					 st->line);
			goto out;
		}
		if (status == NULL || !status_words(status, &word, &word_len) ||
		    word_len >= sizeof(state)) {
			rc = pst_err_set(e, PST_E_PARSE,
					 "line %u: package %.*s has no Status of three words (\"install ok installed\")",
					 status ? status->line : st->line, (int)name->value_len, name->value);
			goto out;
		}
		memcpy(state, word, word_len);
		state[word_len] = '\0';
		if (strcmp(state, "not-installed") == 0 || strcmp(state, "config-files") == 0)
			continue;
		if (version == NULL) {
			rc = pst_err_set(e, PST_E_PARSE, "line %u: package %.*s (%s) has no Version",
					 st->line, (int)name->value_len, name->value, state);
			goto out;
		}
		if (dpkgver_parse(&v, version->value, version->value_len, &why) != 0) {
			rc = pst_err_set(e, PST_E_PARSE, "line %u: version \"%.*s\" of %.*s: %s",
					 version->line, (int)(version->value_len > 80 ? 80 : version->value_len),
					 version->value, (int)name->value_len, name->value, why);
			goto out;
		}
		if (source != NULL) {
			/* "Source: glibc (2.36-9)" names the source's version when it differs. */
			src = source->value;
			while (src_len < source->value_len && src[src_len] != ' ' &&
			       src[src_len] != '(')
				src_len++;
		}
		rc = pkgdb_add(db, name->value, name->value_len, version->value, version->value_len,
			       arch ? arch->value : "", arch ? arch->value_len : 0, src, src_len,
			       state, st->line, -1);
		if (rc < 0) {
			if (rc == PST_E_LIMIT)
				rc = pst_err_set(e, rc, "more than %d packages", PKGDB_MAX_PACKAGES);
			else
				rc = pst_err_set(e, rc, "out of memory");
			goto out;
		}
		if (deb822_value_is(name, "dpkg") && arch != NULL && db->native_arch == NULL) {
			db->native_arch = strndup(arch->value, arch->value_len);
			if (db->native_arch == NULL) {
				rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (rc < 0) {
		rc = pst_err_set(e, rc, "line %u: %s", errline, why);
		goto out;
	}
	pkgdb_sort(db);
	rc = 0;
out:
	free(st);
	return rc;
}
