/*
 * test_fsscan.c - the `fsscan` probe on a tree built at test time.
 *
 * The account files come from tests/fixtures/probes/fsscan/root; every mode
 * is set in setup, since git keeps only 644 and 755.  Cases that need root
 * (foreign owners) or need not to be root (an unreadable directory) are
 * skipped in the other situation.
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

extern const struct probe probe_fsscan;

struct ctx {
	char *tmp;
	bool root_user;
	char ids[64]; /* ", uid U, gid G" of files made by this process */
};

static int copy_fixture(const char *tmp, const char *rel)
{
	return tu_copy(tu_fixture("probes/fsscan/root/%s", rel), tmp, rel, 0644);
}

/* Make directory rel (and parents) and give it mode. */
static int mkdir_mode(const struct ctx *c, const char *rel, mode_t mode)
{
	char p[PATH_MAX];
	size_t i, base = strlen(c->tmp) + 1;

	snprintf(p, sizeof(p), "%s/%s", c->tmp, rel);
	for (i = base; p[i] != '\0'; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		p[i] = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -1;
	return chmod(p, mode);
}

/* Write file rel and give it mode (chmod: the umask would drop bits). */
static int file_mode(const struct ctx *c, const char *rel, mode_t mode)
{
	char p[PATH_MAX];

	if (tu_write(c->tmp, rel, "x\n", 0644) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/%s", c->tmp, rel);
	return chmod(p, mode);
}

static int link_at(const struct ctx *c, const char *target, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", c->tmp, rel);
	return symlink(target, p);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char p[PATH_MAX];

	if (c == NULL)
		return -1;
	c->tmp = tu_mkdtemp();
	c->root_user = geteuid() == 0;
	snprintf(c->ids, sizeof(c->ids), ", uid %lu, gid %lu",
		 (unsigned long)geteuid(), (unsigned long)getegid());
	if (chmod(c->tmp, 0755) < 0 ||
	    copy_fixture(c->tmp, "etc/passwd") < 0 ||
	    copy_fixture(c->tmp, "etc/group") < 0 ||
	    mkdir_mode(c, "tmp", 01777) < 0 ||
	    mkdir_mode(c, "var/tmp", 0777) < 0 ||
	    file_mode(c, "var/log/app.log", 0666) < 0 ||
	    file_mode(c, "var/log/ok.log", 0640) < 0 ||
	    file_mode(c, "usr/bin/su", 04755) < 0 ||
	    file_mode(c, "usr/bin/wall", 02755) < 0 ||
	    file_mode(c, "usr/bin/both", 06755) < 0 ||
	    file_mode(c, "usr/bin/ls", 0755) < 0 ||
	    mkdir_mode(c, "usr/lib/setuid-dir", 04755) < 0 ||
	    file_mode(c, "home/alice/cache/ww.txt", 0666) < 0 ||
	    mkdir_mode(c, "deep/a/b/c/d", 0755) < 0 ||
	    file_mode(c, "orphan", 0644) < 0 ||
	    link_at(c, "su", "usr/bin/link") < 0 ||
	    link_at(c, "/var/tmp", "var/tmplink") < 0 ||
	    link_at(c, "/var/log/app.log", "var/log/link.log") < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/run/fifo", c->tmp);
	if (mkdir_mode(c, "run", 0755) < 0 || mkfifo(p, 0600) < 0 || chmod(p, 0666) < 0)
		return -1;
	if (c->root_user) {
		snprintf(p, sizeof(p), "%s/orphan", c->tmp);
		if (chown(p, 4242, 4343) < 0)
			return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/locked", c->tmp);
	chmod(p, 0755);
	tu_rmrf(c->tmp);
	free(c->tmp);
	free(c);
	return 0;
}

static int run(const struct ctx *c, const char *json, struct probe_out *out)
{
	return tu_run(&probe_fsscan, c->tmp, json, out);
}

/* Observation i is the offending path with key sel and note "mode M" + ids. */
static void assert_hit(const struct ctx *c, const struct probe_out *o, size_t i,
		       const char *path, const char *sel, const char *mode)
{
	char note[128];

	snprintf(note, sizeof(note), "mode %s%s", mode, c->ids);
	tu_expect_str(o, i, path, sel, path, path, note);
}

static void expect_fail(const struct ctx *c, const char *json, int code,
			const char *reason)
{
	tu_expect_fail(&probe_fsscan, c->tmp, json, code, reason);
}

static void test_world_writable_files(void **state)
{
	struct ctx *c = *state;
	struct probe_out out;

	/* Links (always 0777) and the FIFO are not regular files. */
	assert_int_equal(run(c, "{\"paths\":[\"/\"],\"select\":\"world_writable_files\"}",
			     &out), 0);
	assert_int_equal(out.n, 2);
	assert_hit(c, &out, 0, "/home/alice/cache/ww.txt", "world_writable_files", "0666");
	assert_hit(c, &out, 1, "/var/log/app.log", "world_writable_files", "0666");
	probe_out_cleanup(&out);

	/* An excluded directory is not descended. */
	assert_int_equal(run(c, "{\"paths\":[\"/\"],\"select\":\"world_writable_files\","
			     "\"exclude\":[\"/home/*/cache\"]}", &out), 0);
	assert_int_equal(out.n, 1);
	assert_hit(c, &out, 0, "/var/log/app.log", "world_writable_files", "0666");
	probe_out_cleanup(&out);

	/* "*" does not cross "/". */
	assert_int_equal(run(c, "{\"paths\":[\"/\"],\"select\":\"world_writable_files\","
			     "\"exclude\":[\"/home/*\", \"/var/*.log\"]}", &out), 0);
	assert_int_equal(out.n, 1);
	assert_hit(c, &out, 0, "/var/log/app.log", "world_writable_files", "0666");
	probe_out_cleanup(&out);
}

/*
 * With a scan's cache, rules that differ only in select share one walk: a
 * file made after the first rule ran is not seen by the second, which
 * proves the second did not walk again; a different exclude walks anew.
 */
static void test_one_walk_serves_every_select(void **state)
{
	struct ctx *c = *state;
	struct rootfs r;
	struct probe_ctx pctx = {0};
	struct probe_out out;
	json_t *ww = tu_params(&probe_fsscan,
			       "{\"paths\":[\"/\"],\"select\":\"world_writable_files\"}");
	json_t *suid = tu_params(&probe_fsscan, "{\"paths\":[\"/\"],\"select\":\"suid\"}");
	json_t *other = tu_params(&probe_fsscan,
				  "{\"paths\":[\"/\"],\"select\":\"world_writable_files\","
				  "\"exclude\":[\"/nothing\"]}");

	assert_int_equal(rootfs_open(&r, c->tmp, NULL), 0);
	pctx.root = &r;
	pctx.cache = probe_cache_new();
	assert_non_null(pctx.cache);

	probe_out_init(&out);
	assert_int_equal(probe_fsscan.run(&pctx, ww, &out), 0);
	assert_int_equal(out.n, 2);
	probe_out_cleanup(&out);

	assert_int_equal(file_mode(c, "late-ww.txt", 0666), 0);
	probe_out_init(&out);
	assert_int_equal(probe_fsscan.run(&pctx, ww, &out), 0);
	assert_int_equal(out.n, 2);
	probe_out_cleanup(&out);
	probe_out_init(&out);
	assert_int_equal(probe_fsscan.run(&pctx, suid, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.items[0].subject, "/usr/bin/both");
	probe_out_cleanup(&out);

	probe_out_init(&out);
	assert_int_equal(probe_fsscan.run(&pctx, other, &out), 0);
	assert_int_equal(out.n, 3);
	assert_string_equal(out.items[1].subject, "/late-ww.txt");
	probe_out_cleanup(&out);

	probe_cache_free(pctx.cache);
	rootfs_close(&r);
	json_decref(ww);
	json_decref(suid);
	json_decref(other);
}

static void test_world_writable_dirs(void **state)
{
	struct ctx *c = *state;
	struct probe_out out;

	/* /tmp has the sticky bit; the link to /var/tmp is not followed. */
	assert_int_equal(run(c, "{\"paths\":[\"/\"],\"select\":\"world_writable_dirs_without_sticky\"}",
			     &out), 0);
	assert_int_equal(out.n, 1);
	assert_hit(c, &out, 0, "/var/tmp", "world_writable_dirs_without_sticky", "0777");
	probe_out_cleanup(&out);

	/* A start path is examined itself, trailing slash or not. */
	assert_int_equal(run(c, "{\"paths\":[\"/var/tmp/\"],\"select\":\"world_writable_dirs_without_sticky\"}",
			     &out), 0);
	assert_int_equal(out.n, 1);
	assert_hit(c, &out, 0, "/var/tmp", "world_writable_dirs_without_sticky", "0777");
	probe_out_cleanup(&out);
}

static void test_suid_sgid(void **state)
{
	struct ctx *c = *state;
	struct probe_out out;

	/* A missing start path (/srv) contributes nothing; directories with
	 * the bit are not programs. */
	assert_int_equal(run(c, "{\"paths\":[\"/srv\",\"/usr\"],\"select\":\"suid\"}", &out), 0);
	assert_int_equal(out.n, 2);
	assert_hit(c, &out, 0, "/usr/bin/both", "suid", "6755");
	assert_hit(c, &out, 1, "/usr/bin/su", "suid", "4755");
	probe_out_cleanup(&out);

	/* Overlapping start paths report an entry once. */
	assert_int_equal(run(c, "{\"paths\":[\"/usr/bin\",\"/usr\"],\"select\":\"sgid\"}", &out), 0);
	assert_int_equal(out.n, 2);
	assert_hit(c, &out, 0, "/usr/bin/both", "sgid", "6755");
	assert_hit(c, &out, 1, "/usr/bin/wall", "sgid", "2755");
	probe_out_cleanup(&out);

	assert_int_equal(run(c, "{\"paths\":[\"/etc\"],\"select\":\"suid\"}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
}

static void test_unowned(void **state)
{
	struct ctx *c = *state;
	struct probe_out out;

	if (!c->root_user)
		skip(); /* chown to a foreign uid needs root */
	assert_int_equal(run(c, "{\"paths\":[\"/\"],\"select\":\"unowned\"}", &out), 0);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.items[0].subject, "/orphan");
	assert_string_equal(out.items[0].key, "unowned");
	assert_string_equal(out.items[0].v.s, "/orphan");
	assert_string_equal(out.items[0].note,
			    "mode 0644, uid 4242, gid 4343; uid 4242 has no entry in "
			    "/etc/passwd; gid 4343 has no entry in /etc/group");
	probe_out_cleanup(&out);
}

static void test_limits(void **state)
{
	struct ctx *c = *state;
	struct probe_out out;

	/* /deep holds one chain of directories: the walk order is fixed. */
	expect_fail(c, "{\"paths\":[\"/deep\"],\"select\":\"suid\",\"max_entries\":3}",
		    PST_E_LIMIT,
		    "walking /deep: more than max_entries (3) entries, stopped at "
		    "/deep/a/b/c; raise max_entries or add exclude patterns");
	assert_int_equal(run(c, "{\"paths\":[\"/deep\"],\"select\":\"suid\",\"max_entries\":5}",
			     &out), 0);
	probe_out_cleanup(&out);
	expect_fail(c, "{\"paths\":[\"/deep\"],\"select\":\"suid\",\"max_depth\":2}",
		    PST_E_LIMIT,
		    "walking /deep: /deep/a/b/c is more than max_depth (2) levels "
		    "down; raise max_depth or add exclude patterns");
	assert_int_equal(run(c, "{\"paths\":[\"/deep\"],\"select\":\"suid\",\"max_depth\":4}",
			     &out), 0);
	probe_out_cleanup(&out);
	/* The limit is on all start paths together. */
	expect_fail(c, "{\"paths\":[\"/deep\",\"/deep/a\"],\"select\":\"suid\",\"max_entries\":6}",
		    PST_E_LIMIT,
		    "walking /deep/a: more than max_entries (6) entries, stopped at "
		    "/deep/a/b; raise max_entries or add exclude patterns");
}

static void test_unreadable_directory(void **state)
{
	struct ctx *c = *state;

	/* Root reads every directory, so this is only checkable without it. */
	if (c->root_user)
		skip();
	assert_int_equal(mkdir_mode(c, "locked", 0), 0);
	expect_fail(c, "{\"paths\":[\"/\"],\"select\":\"suid\"}", PST_E_ACCES,
		    "cannot read directory /locked: permission denied; run the "
		    "agent as root or with CAP_DAC_READ_SEARCH");
}

static void expect_invalid(const char *json, const char *msg)
{
	struct pst_err e = {0};

	assert_int_equal(tu_validate(&probe_fsscan, json, &e), PST_E_INVAL);
	assert_string_equal(e.msg, msg);
}

static void test_validate(void **state)
{
	(void)state;
	expect_invalid("{\"paths\":[],\"select\":\"suid\"}",
		       "paths must name at least one directory");
	expect_invalid("{\"paths\":[\"/\",\"usr\"],\"select\":\"suid\"}",
		       "paths[1] \"usr\" must be absolute (start with '/')");
	expect_invalid("{\"paths\":[\"/\"],\"select\":\"suid\",\"max_entries\":0}",
		       "max_entries 0 is out of range (1 to 100000000)");
	expect_invalid("{\"paths\":[\"/\"],\"select\":\"suid\",\"max_depth\":-1}",
		       "max_depth -1 is out of range (0 to 1024)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test_setup_teardown(test_world_writable_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_world_writable_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_walk_serves_every_select, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suid_sgid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unowned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_directory, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
