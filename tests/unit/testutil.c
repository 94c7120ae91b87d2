/* testutil.c - helpers of testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"

const char *tu_fixture(const char *fmt, ...)
{
	static char buf[PATH_MAX];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s/", POSTURE_FIXTURES);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	return buf;
}

char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *p;

	if (asprintf(&p, "%s/posture-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    mkdtemp(p) == NULL) {
		perror("tu_mkdtemp");
		abort();
	}
	return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

void tu_rmrf(const char *path)
{
	nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

/* Write len bytes of data to root/rel with mode, making parent directories. */
static int write_bytes(const char *root, const char *rel, const char *data, size_t len,
		       mode_t mode)
{
	char path[PATH_MAX], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int tu_write(const char *root, const char *rel, const char *content, mode_t mode)
{
	return write_bytes(root, rel, content, strlen(content), mode);
}

int tu_copy(const char *src, const char *root, const char *rel, mode_t mode)
{
	char buf[65536];
	size_t n;
	FILE *f = fopen(src, "rb");

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return write_bytes(root, rel, buf, n, mode);
}

json_t *tu_params(const struct probe *p, const char *json)
{
	const struct probe_param *pp;
	json_error_t jerr;
	json_t *params = json_loads(json, 0, &jerr);

	if (params == NULL)
		fail_msg("tu_params: bad JSON %s: %s", json, jerr.text);
	for (pp = p->params; pp->key != NULL; pp++) {
		if (pp->def == NULL || json_object_get(params, pp->key) != NULL)
			continue;
		assert_int_equal(json_object_set_new(params, pp->key,
						     json_loads(pp->def, JSON_DECODE_ANY, &jerr)), 0);
	}
	return params;
}

int tu_validate(const struct probe *p, const char *json, struct pst_err *e)
{
	json_t *params = tu_params(p, json);
	int rc = p->validate != NULL ? p->validate(params, e) : 0;

	json_decref(params);
	return rc;
}

int tu_run(const struct probe *p, const char *root_dir, const char *json,
	   struct probe_out *out)
{
	struct pst_err e = {0};
	struct probe_ctx ctx = {0};
	struct rootfs r;
	json_t *params;
	int rc;

	probe_out_init(out);
	params = tu_params(p, json);
	if (p->validate != NULL && p->validate(params, &e) != 0)
		fail_msg("%s: %s: %s", p->name, json, e.msg);
	if (rootfs_open(&r, root_dir, &e) != 0)
		fail_msg("rootfs_open %s: %s", root_dir, e.msg);
	ctx.root = &r;
	rc = p->run(&ctx, params, out);
	rootfs_close(&r);
	json_decref(params);
	return rc;
}

void tu_expect_fail(const struct probe *p, const char *root_dir, const char *json,
		    int code, const char *reason)
{
	struct probe_out out;

	assert_int_equal(tu_run(p, root_dir, json, &out), code);
	assert_string_equal(out.reason, reason);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
}

/* actual equals want, or both are NULL. */
static void expect_text(const char *actual, const char *want)
{
	if (want == NULL)
		assert_null(actual);
	else
		assert_string_equal(actual, want);
}

void tu_expect_obs(const struct probe_out *out, size_t i, const char *subject,
		   const char *key, const char *location, const char *value,
		   const char *note)
{
	const struct observation *ob;
	char *text;

	assert_true(i < out->n);
	ob = &out->items[i];
	expect_text(ob->subject, subject);
	expect_text(ob->key, key);
	expect_text(ob->location, location);
	if (value == NULL) {
		assert_int_equal(ob->v.kind, VALUE_ABSENT);
	} else {
		assert_int_not_equal(ob->v.kind, VALUE_ABSENT);
		text = value_format(&ob->v);
		assert_non_null(text);
		assert_string_equal(text, value);
		free(text);
	}
	expect_text(ob->note, note);
}

void tu_expect_str(const struct probe_out *out, size_t i, const char *subject,
		   const char *key, const char *location, const char *value,
		   const char *note)
{
	tu_expect_obs(out, i, subject, key, location, value, note);
	if (value != NULL)
		tu_expect_kind(out, i, VALUE_STRING);
}

void tu_expect_kind(const struct probe_out *out, size_t i, enum value_kind kind)
{
	assert_true(i < out->n);
	assert_int_equal(out->items[i].v.kind, kind);
}
