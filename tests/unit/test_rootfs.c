/*
 * test_rootfs.c - path resolution and reads inside a scanned root.
 *
 * The fixture root (tests/fixtures/probes/rootfs/root) holds files with
 * content that no host has ("posture-fixture-passwd"), so a read that
 * escaped to the host's /etc would show.  Setup copies it to a temporary
 * directory and adds the symbolic links and the FIFO there, since those are
 * better made at test time than kept in git.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "rootfs.h"

#define FIXTURE POSTURE_FIXTURES "/probes/rootfs/root"

static const char fixture_passwd[] =
	"root:x:0:0:posture-fixture-passwd:/root:/bin/sh\n";
static const char fixture_shadow[] = "posture-fixture-shadow\n";

struct ctx {
	char tmp[64];
	struct rootfs root;
};

/* Copy the tree at src to dst (host paths; test-only). */
static int copy_tree(const char *src, const char *dst)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return -1;
	d = opendir(src);
	if (d == NULL)
		return -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char s[PATH_MAX], t[PATH_MAX];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, de->d_name);
		snprintf(t, sizeof(t), "%s/%s", dst, de->d_name);
		if (lstat(s, &st) < 0) {
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc = copy_tree(s, t);
		} else if (S_ISREG(st.st_mode)) {
			FILE *in = fopen(s, "rb"), *out = fopen(t, "wb");
			char buf[4096];
			size_t n;

			if (in == NULL || out == NULL)
				rc = -1;
			while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
				if (fwrite(buf, 1, n, out) != n)
					rc = -1;
			if (in != NULL)
				fclose(in);
			if (out != NULL && fclose(out) != 0)
				rc = -1;
		}
	}
	closedir(d);
	return rc;
}

static int remove_tree(const char *path)
{
	DIR *d;
	struct dirent *de;
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	chmod(path, 0700);
	d = opendir(path);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char p[PATH_MAX];

			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			remove_tree(p);
		}
		closedir(d);
	}
	return rmdir(path);
}

static void make_link(const struct ctx *c, const char *target, const char *at)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s%s", c->tmp, at);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char p[PATH_MAX];

	if (c == NULL)
		return -1;
	strcpy(c->tmp, "/tmp/posture-rootfs-XXXXXX");
	if (mkdtemp(c->tmp) == NULL || copy_tree(FIXTURE, c->tmp) < 0)
		return -1;
	make_link(c, "../usr/lib/os-release", "/etc/os-release");
	make_link(c, "/usr/lib/os-release", "/etc/abs-os-release");
	make_link(c, "/etc/shadow", "/evil-shadow");
	make_link(c, "../../../../etc/passwd", "/var/evil-passwd");
	make_link(c, "../../../../../..", "/var/up");
	make_link(c, "loop-b", "/loop-a");
	make_link(c, "loop-a", "/loop-b");
	make_link(c, "/nonexistent/file", "/dangling");
	make_link(c, "etc/conf.d", "/linkdir");
	snprintf(p, sizeof(p), "%s/fifo", c->tmp);
	if (mkfifo(p, 0600) < 0)
		return -1;
	if (rootfs_open(&c->root, c->tmp, NULL) < 0)
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	rootfs_close(&c->root);
	remove_tree(c->tmp);
	free(c);
	return 0;
}

static void assert_reads(const struct rootfs *r, const char *path,
			 const char *want)
{
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(rootfs_read(r, path, 0, &data, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(data, want);
	free(data);
}

static void assert_read_fails(const struct rootfs *r, const char *path,
			      size_t max, int code)
{
	char *data = (char *)"sentinel";
	size_t len = 99;

	assert_int_equal(rootfs_read(r, path, max, &data, &len), code);
	assert_null(data);
	assert_int_equal(len, 0);
}

static void assert_realpath(const struct rootfs *r, const char *path,
			    const char *want)
{
	char *out = NULL;

	assert_int_equal(rootfs_realpath(r, path, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_open_missing_root(void **state)
{
	struct rootfs r;
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(rootfs_open(&r, "/nonexistent/posture-root", &e),
			 PST_E_NOENT);
	assert_int_equal(e.code, PST_E_NOENT);
	assert_string_equal(e.msg, "cannot open root directory "
			    "/nonexistent/posture-root: No such file or directory");
	rootfs_close(&r); /* safe after a failed open */
}

static void test_read_plain(void **state)
{
	struct ctx *c = *state;

	assert_reads(&c->root, "/etc/passwd", fixture_passwd);
	assert_reads(&c->root, "//etc/./passwd", fixture_passwd);
	assert_reads(&c->root, "etc/passwd", fixture_passwd);
}

static void test_links_inside_root(void **state)
{
	struct ctx *c = *state;

	assert_reads(&c->root, "/etc/os-release", "ID=posture-fixture\n");
	assert_reads(&c->root, "/etc/abs-os-release", "ID=posture-fixture\n");
	assert_realpath(&c->root, "/etc/os-release", "/usr/lib/os-release");
	assert_realpath(&c->root, "/etc/abs-os-release", "/usr/lib/os-release");
	assert_realpath(&c->root, "/linkdir/a.conf", "/etc/conf.d/a.conf");
	assert_realpath(&c->root, "/etc/conf.d", "/etc/conf.d");
}

static void test_links_cannot_escape(void **state)
{
	struct ctx *c = *state;

	/* The host's /etc/shadow and /etc/passwd never hold this content. */
	assert_reads(&c->root, "/evil-shadow", fixture_shadow);
	assert_reads(&c->root, "/var/evil-passwd", fixture_passwd);
	assert_realpath(&c->root, "/var/evil-passwd", "/etc/passwd");
	assert_reads(&c->root, "/var/up/etc/passwd", fixture_passwd);
	assert_realpath(&c->root, "/var/up", "/");
}

static void test_dotdot_stops_at_root(void **state)
{
	struct ctx *c = *state;
	struct stat root_st, st;

	assert_int_equal(fstat(c->root.dirfd, &root_st), 0);
	assert_int_equal(rootfs_stat(&c->root, "/../../..", true, &st), 0);
	assert_int_equal(st.st_ino, root_st.st_ino);
	assert_int_equal(st.st_dev, root_st.st_dev);
	assert_reads(&c->root, "/../../etc/passwd", fixture_passwd);
	assert_reads(&c->root, "/etc/../../../etc/shadow", fixture_shadow);
	assert_realpath(&c->root, "/..", "/");
	assert_realpath(&c->root, "/", "/");
	assert_realpath(&c->root, "/etc/conf.d/..", "/etc");
}

static void test_loop(void **state)
{
	struct ctx *c = *state;
	struct stat st;

	assert_read_fails(&c->root, "/loop-a", 0, PST_E_LOOP);
	assert_int_equal(rootfs_stat(&c->root, "/loop-a", true, &st), PST_E_LOOP);
	assert_int_equal(rootfs_stat(&c->root, "/loop-b/x", false, &st), PST_E_LOOP);
	/* Not following the last link does not see the loop. */
	assert_int_equal(rootfs_stat(&c->root, "/loop-a", false, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void test_dangling(void **state)
{
	struct ctx *c = *state;
	struct stat st;
	char *out = NULL;

	assert_read_fails(&c->root, "/dangling", 0, PST_E_NOENT);
	assert_int_equal(rootfs_stat(&c->root, "/dangling", true, &st), PST_E_NOENT);
	assert_int_equal(rootfs_realpath(&c->root, "/dangling", &out), PST_E_NOENT);
	assert_null(out);
	assert_int_equal(rootfs_stat(&c->root, "/dangling", false, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_read_fails(&c->root, "/etc/missing", 0, PST_E_NOENT);
	assert_read_fails(&c->root, "/missing/passwd", 0, PST_E_NOENT);
}

static void test_file_as_directory(void **state)
{
	struct ctx *c = *state;
	struct stat st;

	assert_read_fails(&c->root, "/etc/passwd/x", 0, PST_E_NOTDIR);
	assert_read_fails(&c->root, "/etc/passwd/", 0, PST_E_NOTDIR);
	assert_int_equal(rootfs_stat(&c->root, "/etc/passwd/x", true, &st),
			 PST_E_NOTDIR);
}

static void test_read_limits(void **state)
{
	struct ctx *c = *state;
	size_t n = strlen(fixture_passwd);
	char *data = NULL;
	size_t len = 0;

	assert_read_fails(&c->root, "/etc/passwd", n - 1, PST_E_TOOBIG);
	assert_int_equal(rootfs_read(&c->root, "/etc/passwd", n, &data, &len), 0);
	assert_int_equal(len, n);
	assert_int_equal(data[len], '\0');
	free(data);
}

/*
 * Files of /proc report size 0: the read must grow past what fstat said,
 * and a file that turns out longer than the cap while being read is
 * refused all the same.
 */
static void test_read_unsized(void **state)
{
	struct rootfs r;
	struct stat st;
	char *data = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(rootfs_open(&r, "/proc/self", NULL), 0);
	assert_int_equal(rootfs_stat(&r, "/status", true, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(rootfs_read(&r, "/status", 0, &data, &len), 0);
	assert_true(len > 16);
	assert_int_equal(strncmp(data, "Name:", 5), 0);
	assert_int_equal(strlen(data), len);
	free(data);
	assert_read_fails(&r, "/status", 16, PST_E_TOOBIG);
	rootfs_close(&r);
}

static void test_read_not_regular(void **state)
{
	struct ctx *c = *state;

	assert_read_fails(&c->root, "/etc", 0, PST_E_INVAL);
	assert_read_fails(&c->root, "/", 0, PST_E_INVAL);
	assert_read_fails(&c->root, "/linkdir", 0, PST_E_INVAL);
	/* A FIFO is refused without being opened (an open would block). */
	assert_read_fails(&c->root, "/fifo", 0, PST_E_INVAL);
}

static void test_openat(void **state)
{
	struct ctx *c = *state;
	struct stat st;
	char buf[64];
	int fd = -1;

	assert_int_equal(rootfs_openat(&c->root, "/evil-shadow", O_RDONLY, true, &fd), 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), (ssize_t)strlen(fixture_shadow));
	close(fd);
	/* O_PATH on a final link that is not followed: the link itself. */
	assert_int_equal(rootfs_openat(&c->root, "/evil-shadow", O_PATH, false, &fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(fd);
	/* Anything else on a final link that is not followed is refused. */
	assert_int_equal(rootfs_openat(&c->root, "/evil-shadow", O_RDONLY, false, &fd),
			 PST_E_LOOP);
	assert_int_equal(fd, -1);
	assert_int_equal(rootfs_openat(&c->root, "/etc/nothing", O_RDONLY, true, &fd),
			 PST_E_NOENT);
	assert_int_equal(rootfs_openat(&c->root, "/etc/", O_RDONLY | O_DIRECTORY, true, &fd), 0);
	close(fd);
}

static void test_too_long(void **state)
{
	struct ctx *c = *state;
	char *path = malloc(PATH_MAX + 2);
	char name[NAME_MAX + 3];
	struct stat st;

	assert_non_null(path);
	memset(path, 'a', PATH_MAX + 1);
	path[0] = '/';
	path[PATH_MAX + 1] = '\0';
	assert_int_equal(rootfs_stat(&c->root, path, true, &st), PST_E_TOOBIG);
	free(path);
	name[0] = '/';
	memset(name + 1, 'b', NAME_MAX + 1);
	name[NAME_MAX + 2] = '\0';
	assert_int_equal(rootfs_stat(&c->root, name, true, &st), PST_E_TOOBIG);
}

static void assert_glob(const struct rootfs *r, const char *pattern,
			size_t n_want, ...)
{
	char **paths = NULL;
	size_t n = 99, i;
	va_list ap;

	assert_int_equal(rootfs_glob(r, pattern, 0, &paths, &n), 0);
	assert_int_equal(n, n_want);
	va_start(ap, n_want);
	for (i = 0; i < n_want; i++)
		assert_string_equal(paths[i], va_arg(ap, const char *));
	va_end(ap);
	rootfs_glob_free(paths, n);
}

static void test_glob(void **state)
{
	struct ctx *c = *state;
	char **paths = NULL;
	size_t n = 0;

	/* Sorted bytewise: upper case before lower case; hidden not matched. */
	assert_glob(&c->root, "/etc/conf.d/*.conf", 3, "/etc/conf.d/B.conf",
		    "/etc/conf.d/a.conf", "/etc/conf.d/b.conf");
	assert_glob(&c->root, "/etc/conf.d/*", 4, "/etc/conf.d/B.conf",
		    "/etc/conf.d/a.conf", "/etc/conf.d/b.conf", "/etc/conf.d/c.txt");
	assert_glob(&c->root, "/etc/conf.d/.*", 1, "/etc/conf.d/.hidden.conf");
	assert_glob(&c->root, "/etc/conf.d/[ab].conf", 2, "/etc/conf.d/a.conf",
		    "/etc/conf.d/b.conf");
	assert_glob(&c->root, "/etc/conf.d/*.none", 0);
	assert_glob(&c->root, "/nowhere/*/x", 0);
	/* Through a symlinked directory, keeping the name as written. */
	assert_glob(&c->root, "/linkdir/?.conf", 3, "/linkdir/B.conf",
		    "/linkdir/a.conf", "/linkdir/b.conf");
	assert_glob(&c->root, "/*/conf.d/a.conf", 1, "/etc/conf.d/a.conf");
	assert_glob(&c->root, "/*/a.conf", 1, "/linkdir/a.conf");
	/* Literal patterns: present when the path exists. */
	assert_glob(&c->root, "/etc/passwd", 1, "/etc/passwd");
	assert_glob(&c->root, "/etc/nothing", 0);
	assert_glob(&c->root, "/dangling", 1, "/dangling");
	/* A file in the middle of a pattern matches nothing. */
	assert_glob(&c->root, "/etc/*/x", 0);
	/* Trailing slash keeps directories. */
	assert_glob(&c->root, "/etc/*/", 1, "/etc/conf.d/");
	/* Links resolve inside the root while globbing. */
	assert_glob(&c->root, "/var/up/etc/conf.d/a*", 1, "/var/up/etc/conf.d/a.conf");

	assert_int_equal(rootfs_glob(&c->root, "/etc/conf.d/*.conf", 2, &paths, &n),
			 PST_E_LIMIT);
	assert_null(paths);
	assert_int_equal(n, 0);
	assert_int_equal(rootfs_glob(&c->root, "/etc/conf.d/*.conf", 3, &paths, &n), 0);
	assert_int_equal(n, 3);
	rootfs_glob_free(paths, n);
	/* A loop in the middle of a pattern is an error, not a silent miss. */
	assert_int_equal(rootfs_glob(&c->root, "/loop-a/*", 0, &paths, &n),
			 PST_E_LOOP);
}

static void test_has_glob(void **state)
{
	(void)state;
	assert_true(rootfs_has_glob("/etc/*.conf"));
	assert_true(rootfs_has_glob("/etc/?"));
	assert_true(rootfs_has_glob("/etc/[ab]"));
	assert_false(rootfs_has_glob("/etc/passwd"));
}

static void test_list(void **state)
{
	struct ctx *c = *state;
	char **names = NULL;
	size_t n = 0;

	assert_int_equal(rootfs_list(&c->root, "/linkdir", 0, &names, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(names[0], ".hidden.conf");
	assert_string_equal(names[1], "B.conf");
	assert_string_equal(names[2], "a.conf");
	assert_string_equal(names[3], "b.conf");
	assert_string_equal(names[4], "c.txt");
	rootfs_glob_free(names, n);

	assert_int_equal(rootfs_list(&c->root, "/etc/conf.d", 5, &names, &n), 0);
	rootfs_glob_free(names, n);
	assert_int_equal(rootfs_list(&c->root, "/etc/conf.d", 4, &names, &n),
			 PST_E_LIMIT);
	assert_null(names);
	assert_int_equal(n, 0);
	assert_int_equal(rootfs_list(&c->root, "/etc/passwd", 0, &names, &n),
			 PST_E_NOTDIR);
	assert_int_equal(rootfs_list(&c->root, "/etc/none", 0, &names, &n),
			 PST_E_NOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_missing_root),
		cmocka_unit_test(test_has_glob),
		cmocka_unit_test(test_read_unsized),
		cmocka_unit_test_setup_teardown(test_read_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_inside_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_cannot_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot_stops_at_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dangling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_as_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glob, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
