/*
 * test_file.c - the `file` probe on a root built at test time.
 *
 * The account files come from tests/fixtures/probes/file/root; the modes,
 * owners, links and the FIFO are made in setup because git keeps none of
 * them.  Changing owners needs root (as in CI); without it the owner cases
 * are skipped.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe.h"
#include "testutil.h"

extern const struct probe probe_file;

struct ctx {
	char *tmp;
	bool root_user;
};

/* Copy a fixture file into the scratch root with the given mode. */
static int copy_fixture(const char *tmp, const char *rel, mode_t mode)
{
	return tu_copy(tu_fixture("probes/file/root/%s", rel), tmp, rel, mode);
}

static int in_root(const struct ctx *c, const char *rel, char *out, size_t n)
{
	return snprintf(out, n, "%s/%s", c->tmp, rel) < (int)n ? 0 : -1;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char p[PATH_MAX], q[PATH_MAX];

	if (c == NULL)
		return -1;
	c->tmp = tu_mkdtemp();
	c->root_user = geteuid() == 0;
	if (copy_fixture(c->tmp, "etc/passwd", 0644) < 0 ||
	    copy_fixture(c->tmp, "etc/group", 0644) < 0 ||
	    copy_fixture(c->tmp, "etc/shadow", 0640) < 0 ||
	    copy_fixture(c->tmp, "etc/conf.d/a.conf", 0600) < 0 ||
	    copy_fixture(c->tmp, "etc/conf.d/b.conf", 0644) < 0 ||
	    copy_fixture(c->tmp, "etc/conf.d/.hidden.conf", 0666) < 0 ||
	    tu_write(c->tmp, "usr/bin/su", "#!/bin/true\n", 0755) < 0 ||
	    tu_write(c->tmp, "orphan", "x", 0644) < 0)
		return -1;
	/* chmod after creation: the umask would eat special bits. */
	in_root(c, "usr/bin/su", p, sizeof(p));
	if (chmod(p, 04755) < 0)
		return -1;
	in_root(c, "tmp", p, sizeof(p));
	if (mkdir(p, 0700) < 0 || chmod(p, 01777) < 0)
		return -1;
	in_root(c, "run", p, sizeof(p));
	if (mkdir(p, 0755) < 0)
		return -1;
	in_root(c, "run/fifo", p, sizeof(p));
	if (mkfifo(p, 0600) < 0)
		return -1;
	in_root(c, "etc/link", p, sizeof(p));
	if (symlink("shadow", p) < 0)
		return -1;
	/* An absolute link resolves in the scanned root, not on the host. */
	in_root(c, "etc/abslink", p, sizeof(p));
	if (symlink("/etc/shadow", p) < 0)
		return -1;
	in_root(c, "etc/dangling", p, sizeof(p));
	if (symlink("/nope", p) < 0)
		return -1;
	in_root(c, "loop", p, sizeof(p));
	if (symlink("loop", p) < 0)
		return -1;
	if (c->root_user) {
		in_root(c, "etc/shadow", p, sizeof(p));
		in_root(c, "orphan", q, sizeof(q));
		if (chown(p, 0, 1000) < 0 || chown(q, 4242, 4343) < 0)
			return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	tu_rmrf(c->tmp);
	free(c->tmp);
	free(c);
	return 0;
}

static int run(const struct ctx *c, const char *json, struct probe_out *out)
{
	return tu_run(&probe_file, c->tmp, json, out);
}

/*
 * Observation i: subject (and location) path, the key, value text (NULL:
 * absent) and kind, note.
 */
static void assert_obs(const struct probe_out *o, size_t i, const char *path,
		       const char *key, enum value_kind kind, const char *text,
		       const char *note)
{
	tu_expect_obs(o, i, path, key, path, text, note);
	tu_expect_kind(o, i, kind);
}

/* Run and expect exactly one observation. */
static void expect_one(const struct ctx *c, const char *json, const char *path,
		       const char *key, enum value_kind kind, const char *text,
		       const char *note)
{
	struct probe_out out;

	assert_int_equal(run(c, json, &out), 0);
	assert_int_equal(out.n, 1);
	assert_obs(&out, 0, path, key, kind, text, note);
	probe_out_cleanup(&out);
}

static void test_exists(void **state)
{
	struct ctx *c = *state;

	expect_one(c, "{\"path\":\"/etc/shadow\",\"attribute\":\"exists\"}",
		   "/etc/shadow", "exists", VALUE_BOOL, "true", NULL);
	expect_one(c, "{\"path\":\"/etc/gshadow\",\"attribute\":\"exists\"}",
		   "/etc/gshadow", "exists", VALUE_BOOL, "false", "does not exist");
	expect_one(c, "{\"path\":\"/etc/dangling\",\"attribute\":\"exists\"}",
		   "/etc/dangling", "exists", VALUE_BOOL, "false",
		   "does not exist (dangling symbolic link)");
	expect_one(c, "{\"path\":\"/etc/dangling\",\"attribute\":\"exists\",\"follow\":false}",
		   "/etc/dangling", "exists", VALUE_BOOL, "true", NULL);
	expect_one(c, "{\"path\":\"/etc/passwd/x\",\"attribute\":\"exists\"}",
		   "/etc/passwd/x", "exists", VALUE_BOOL, "false",
		   "does not exist (a parent component is not a directory)");
	expect_one(c, "{\"path\":\"/etc/*.nothing\",\"attribute\":\"exists\"}",
		   "/etc/*.nothing", "exists", VALUE_BOOL, "false", "no file matches");
}

static void test_missing_is_absent(void **state)
{
	struct ctx *c = *state;

	expect_one(c, "{\"path\":\"/etc/gshadow\",\"attribute\":\"mode\"}",
		   "/etc/gshadow", "mode", VALUE_ABSENT, NULL, "does not exist");
	expect_one(c, "{\"path\":\"/etc/*.nothing\",\"attribute\":\"owner\"}",
		   "/etc/*.nothing", "owner", VALUE_ABSENT, NULL,
		   "no file matches");
}

static void test_type(void **state)
{
	struct ctx *c = *state;

	expect_one(c, "{\"path\":\"/etc/shadow\",\"attribute\":\"type\"}",
		   "/etc/shadow", "type", VALUE_STRING, "file", NULL);
	expect_one(c, "{\"path\":\"/tmp\",\"attribute\":\"type\"}",
		   "/tmp", "type", VALUE_STRING, "directory", NULL);
	expect_one(c, "{\"path\":\"/run/fifo\",\"attribute\":\"type\"}",
		   "/run/fifo", "type", VALUE_STRING, "fifo", NULL);
	expect_one(c, "{\"path\":\"/etc/link\",\"attribute\":\"type\"}",
		   "/etc/link", "type", VALUE_STRING, "file", NULL);
	expect_one(c, "{\"path\":\"/etc/link\",\"attribute\":\"type\",\"follow\":false}",
		   "/etc/link", "type", VALUE_STRING, "symlink", NULL);
}

static void test_mode(void **state)
{
	struct ctx *c = *state;

	expect_one(c, "{\"path\":\"/etc/shadow\",\"attribute\":\"mode\"}",
		   "/etc/shadow", "mode", VALUE_MODE, "0640", NULL);
	expect_one(c, "{\"path\":\"/usr/bin/su\",\"attribute\":\"mode\"}",
		   "/usr/bin/su", "mode", VALUE_MODE, "4755", NULL);
	expect_one(c, "{\"path\":\"/tmp\",\"attribute\":\"mode\"}",
		   "/tmp", "mode", VALUE_MODE, "1777", NULL);
	/* Through an absolute link: the root's /etc/shadow. */
	expect_one(c, "{\"path\":\"/etc/abslink\",\"attribute\":\"mode\"}",
		   "/etc/abslink", "mode", VALUE_MODE, "0640", NULL);
	expect_one(c, "{\"path\":\"/etc/abslink\",\"attribute\":\"mode\",\"follow\":false}",
		   "/etc/abslink", "mode", VALUE_MODE, "0777", NULL);
}

static void test_glob(void **state)
{
	struct ctx *c = *state;
	struct probe_out out;

	/* Sorted, and the hidden file is not matched by "*". */
	assert_int_equal(run(c, "{\"path\":\"/etc/conf.d/*.conf\",\"attribute\":\"mode\"}",
			     &out), 0);
	assert_int_equal(out.n, 2);
	assert_obs(&out, 0, "/etc/conf.d/a.conf", "mode", VALUE_MODE, "0600", NULL);
	assert_obs(&out, 1, "/etc/conf.d/b.conf", "mode", VALUE_MODE, "0644", NULL);
	probe_out_cleanup(&out);
	expect_one(c, "{\"path\":\"/etc/conf.d/.*.conf\",\"attribute\":\"mode\"}",
		   "/etc/conf.d/.hidden.conf", "mode", VALUE_MODE, "0666", NULL);
}

static void test_owner_group(void **state)
{
	struct ctx *c = *state;

	if (!c->root_user)
		skip(); /* chown needs root */
	expect_one(c, "{\"path\":\"/etc/shadow\",\"attribute\":\"owner\"}",
		   "/etc/shadow", "owner", VALUE_STRING, "root", NULL);
	expect_one(c, "{\"path\":\"/etc/shadow\",\"attribute\":\"group\"}",
		   "/etc/shadow", "group", VALUE_STRING, "staff", NULL);
	expect_one(c, "{\"path\":\"/etc/shadow\",\"attribute\":\"gid\"}",
		   "/etc/shadow", "gid", VALUE_INT, "1000", NULL);
	expect_one(c, "{\"path\":\"/orphan\",\"attribute\":\"owner\"}",
		   "/orphan", "owner", VALUE_STRING, "4242",
		   "uid 4242 has no entry in /etc/passwd");
	expect_one(c, "{\"path\":\"/orphan\",\"attribute\":\"group\"}",
		   "/orphan", "group", VALUE_STRING, "4343",
		   "gid 4343 has no entry in /etc/group");
	expect_one(c, "{\"path\":\"/orphan\",\"attribute\":\"uid\"}",
		   "/orphan", "uid", VALUE_INT, "4242", NULL);
}

static void test_size(void **state)
{
	struct ctx *c = *state;

	expect_one(c, "{\"path\":\"/etc/passwd\",\"attribute\":\"size\"}",
		   "/etc/passwd", "size", VALUE_INT, "74", NULL);
	expect_one(c, "{\"path\":\"/orphan\",\"attribute\":\"size\"}",
		   "/orphan", "size", VALUE_INT, "1", NULL);
}

static void test_target(void **state)
{
	struct ctx *c = *state;

	expect_one(c, "{\"path\":\"/etc/link\",\"attribute\":\"target\"}",
		   "/etc/link", "target", VALUE_STRING, "shadow", NULL);
	expect_one(c, "{\"path\":\"/etc/abslink\",\"attribute\":\"target\"}",
		   "/etc/abslink", "target", VALUE_STRING, "/etc/shadow", NULL);
	expect_one(c, "{\"path\":\"/etc/dangling\",\"attribute\":\"target\"}",
		   "/etc/dangling", "target", VALUE_STRING, "/nope", NULL);
	expect_one(c, "{\"path\":\"/etc/shadow\",\"attribute\":\"target\"}",
		   "/etc/shadow", "target", VALUE_ABSENT, NULL,
		   "not a symbolic link (file)");
	expect_one(c, "{\"path\":\"/etc/none\",\"attribute\":\"target\"}",
		   "/etc/none", "target", VALUE_ABSENT, NULL, "does not exist");
}

static void test_failures(void **state)
{
	struct ctx *c = *state;
	struct probe_out out;
	char usr[PATH_MAX];

	assert_int_equal(run(c, "{\"path\":\"/loop\",\"attribute\":\"mode\"}", &out),
			 PST_E_LOOP);
	assert_string_equal(out.reason,
			    "cannot stat /loop: too many levels of symbolic links");
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);

	/* A root without account files cannot name owners. */
	in_root(c, "usr", usr, sizeof(usr));
	assert_int_equal(tu_run(&probe_file, usr, "{\"path\":\"/bin/su\",\"attribute\":\"owner\"}",
				&out), PST_E_NOENT);
	assert_string_equal(out.reason, "cannot resolve owner names: cannot read "
			    "/etc/passwd: no such file in the scanned root");
	probe_out_cleanup(&out);
	/* ... but numbers need no account files. */
	assert_int_equal(tu_run(&probe_file, usr, "{\"path\":\"/bin/su\",\"attribute\":\"uid\"}",
				&out), 0);
	assert_int_equal(out.n, 1);
	probe_out_cleanup(&out);
}

static void test_validate(void **state)
{
	struct pst_err e = {0};
	json_t *p = json_pack("{s:s, s:s}", "path", "etc/shadow", "attribute", "mode");

	(void)state;
	assert_int_equal(probe_file.validate(p, &e), PST_E_INVAL);
	assert_string_equal(e.msg, "path \"etc/shadow\" must be absolute (start with '/')");
	json_decref(p);
	assert_string_equal(probe_file.name, "file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test_setup_teardown(test_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_is_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glob, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
