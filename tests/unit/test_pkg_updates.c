/*
 * test_pkg_updates.c - the pkg_updates probe and the apt list reading under
 * it (aptlists.c): the candidate is the highest version in any list for the
 * package's architecture or "all"; lists kept as .gz or .lz4 read the same;
 * what cannot be read is an error naming the file and line; a scan reads the
 * lists once (probe cache).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lz4frame.h>
#include <zlib.h>

#include "patchroot.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_pkg_updates;

#define MAIN PR_LISTS "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"
#define MAIN_I386 PR_LISTS "deb.debian.org_debian_dists_bookworm_main_binary-i386_Packages"
#define UPD PR_LISTS "deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages"
#define SEC PR_LISTS "security.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages"

static char *root;

/* dpkg amd64, libc6 amd64 and i386, tzdata all, telnetd config-files, foo all. */
static int setup(void **state)
{
	(void)state;
	root = tu_mkdtemp();
	pr_write_take(root, "var/lib/dpkg/status",
		      pr_cat(pr_stanza("dpkg", "1.21.22", "amd64", NULL),
			     pr_stanza("libc6", "2.36-9+deb12u7", "amd64", NULL),
			     pr_stanza("libc6", "2.36-9+deb12u7", "i386", NULL),
			     pr_stanza("telnetd", "0.17-1", "amd64", "deinstall ok config-files"),
			     pr_stanza("tzdata", "2024a-0+deb12u1", "all", NULL),
			     pr_stanza("foo", "1.0-1", "all", NULL), NULL));
	pr_release(root, PR_LISTS "deb.debian.org_debian_dists_bookworm_InRelease", "stable",
		   "bookworm", "Debian", 3, true);
	pr_release(root, PR_LISTS "deb.debian.org_debian_dists_bookworm-updates_Release",
		   "stable-updates", "bookworm-updates", "Debian", 1, false);
	pr_release(root, PR_LISTS "security.debian.org_debian-security_dists_bookworm-security_InRelease",
		   "stable-security", "bookworm-security", "Debian-Security", 2, true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmrf(root);
	free(root);
	return 0;
}

static void remove_rel(const char *rel)
{
	char *p;

	if (asprintf(&p, "%s/%s", root, rel) < 0)
		fail_msg("out of memory");
	unlink(p);
	free(p);
}

/* Replace the three amd64 lists; every other list a test may leave goes. */
static void lists(char *main_list, char *updates, char *security)
{
	static const char *const others[] = {MAIN_I386, MAIN ".gz", MAIN ".lz4", MAIN ".xz",
					     MAIN ".diff_Index"};
	size_t i;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		remove_rel(others[i]);
	pr_write_take(root, MAIN, main_list);
	pr_write_take(root, UPD, updates);
	pr_write_take(root, SEC, security);
}

static void test_candidate_is_highest_for_the_arch(void **state)
{
	struct probe_out out;

	(void)state;
	lists(pr_cat(pr_list_stanza("libc6", "2.36-9+deb12u4", "amd64"),
		     pr_list_stanza("tzdata", "2024a-0+deb12u1", "all"),
		     /* foo became architecture-specific: the native arch is dpkg's */
		     pr_list_stanza("foo", "1.1-1", "amd64"),
		     pr_list_stanza("telnetd", "0.17-2", "amd64"), NULL),
	      pr_cat(pr_list_stanza("tzdata", "2025b-0+deb12u1", "all"), NULL),
	      pr_cat(pr_list_stanza("libc6", "2.36-9+deb12u9", "amd64"),
		     pr_list_stanza("libc6", "2.36-9+deb12u8", "amd64"), NULL));
	/* A higher libc6 for i386 only: the i386 package's candidate, not amd64's. */
	pr_write_take(root, MAIN_I386, pr_cat(pr_list_stanza("libc6", "2.36-9+deb12u99", "i386"), NULL));
	assert_int_equal(tu_run(&probe_pkg_updates, root, "{}", &out), 0);
	assert_int_equal(out.n, 4);
	/* Sorted by package, then architecture. */
	tu_expect_str(&out, 0, "foo", "all", "/" MAIN ":13", "1.1-1",
		      "installed 1.0-1 (/var/lib/dpkg/status:51), candidate 1.1-1 from stable (Debian, Debian)");
	tu_expect_str(&out, 1, "libc6", "amd64", "/" SEC ":1", "2.36-9+deb12u9",
		      "installed 2.36-9+deb12u7 (/var/lib/dpkg/status:11), candidate 2.36-9+deb12u9 from stable-security (Debian, Debian-Security)");
	tu_expect_str(&out, 2, "libc6", "i386", "/" MAIN_I386 ":1", "2.36-9+deb12u99",
		      "installed 2.36-9+deb12u7 (/var/lib/dpkg/status:21), candidate 2.36-9+deb12u99 from stable (Debian, Debian)");
	tu_expect_str(&out, 3, "tzdata", "all", "/" UPD ":1", "2025b-0+deb12u1",
		      "installed 2024a-0+deb12u1 (/var/lib/dpkg/status:41), candidate 2025b-0+deb12u1 from stable-updates (Debian, Debian)");
	probe_out_cleanup(&out);
	/* exclude leaves packages out by name. */
	assert_int_equal(tu_run(&probe_pkg_updates, root, "{\"exclude\": [\"libc6\", \"foo\"]}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "tzdata", "all", "/" UPD ":1", "2025b-0+deb12u1",
		      "installed 2024a-0+deb12u1 (/var/lib/dpkg/status:41), candidate 2025b-0+deb12u1 from stable-updates (Debian, Debian)");
	probe_out_cleanup(&out);
	remove_rel(MAIN_I386);
}

static void test_up_to_date(void **state)
{
	struct probe_out out;

	(void)state;
	/* Equal versions in dpkg's order ("-0" is no revision) and lower ones. */
	lists(pr_cat(pr_list_stanza("libc6", "2.36-9+deb12u7", "amd64"),
		     pr_list_stanza("foo", "1.0-1~bpo1", "all"), NULL),
	      pr_cat(pr_list_stanza("tzdata", "0:2024a-0+deb12u1", "all"), NULL),
	      pr_cat(pr_list_stanza("dpkg", "1.21.22-0", "amd64"), NULL));
	assert_int_equal(tu_run(&probe_pkg_updates, root, "{}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
}

/* Write the main list compressed as path (".gz" or ".lz4") instead of plain. */
static void write_compressed(const char *list, const char *ext)
{
	char path[4096], src[4096];
	size_t len = strlen(list);

	snprintf(src, sizeof(src), "%s/%s", root, MAIN);
	unlink(src);
	snprintf(path, sizeof(path), "%s/%s%s", root, MAIN, ext);
	if (strcmp(ext, ".gz") == 0) {
		gzFile gz = gzopen(path, "wb");

		assert_non_null(gz);
		assert_int_equal(gzwrite(gz, list, (unsigned)len), (int)len);
		assert_int_equal(gzclose(gz), Z_OK);
	} else {
		size_t cap = LZ4F_compressFrameBound(len, NULL), n;
		char *buf = malloc(cap);
		FILE *f;

		assert_non_null(buf);
		n = LZ4F_compressFrame(buf, cap, list, len, NULL);
		assert_false(LZ4F_isError(n));
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(buf, 1, n, f), n);
		assert_int_equal(fclose(f), 0);
		free(buf);
	}
}

static void test_compressed_lists(void **state)
{
	static const char *const exts[] = {".gz", ".lz4"};
	struct probe_out out;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		char *list = pr_cat(pr_list_stanza("libc6", "2.36-9+deb12u10", "amd64"), NULL);
		char loc[4096];

		lists(strdup(""), strdup(""), strdup(""));
		write_compressed(list, exts[i]);
		free(list);
		assert_int_equal(tu_run(&probe_pkg_updates, root, "{}", &out), 0);
		assert_int_equal(out.n, 1);
		snprintf(loc, sizeof(loc), "/%s%s:1", MAIN, exts[i]);
		tu_expect_str(&out, 0, "libc6", "amd64", loc, "2.36-9+deb12u10",
			      "installed 2.36-9+deb12u7 (/var/lib/dpkg/status:11), candidate 2.36-9+deb12u10 from stable (Debian, Debian)");
		probe_out_cleanup(&out);
		snprintf(loc, sizeof(loc), "%s%s", MAIN, exts[i]);
		remove_rel(loc);
	}
	/* A pdiff index is not a list; an xz list is refused, not skipped. */
	lists(strdup(""), strdup(""), strdup(""));
	pr_write(root, MAIN ".diff_Index", "SHA256-Current: 00 10\n");
	assert_int_equal(tu_run(&probe_pkg_updates, root, "{}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
	remove_rel(MAIN ".diff_Index");
	pr_write(root, MAIN ".xz", "not really xz");
	tu_expect_fail(&probe_pkg_updates, root, "{}", PST_E_INVAL,
		       "cannot read /" MAIN ".xz: compressed in a format the agent does not read "
		       "(it reads plain, .gz and .lz4 lists); set Acquire::GzipIndexes or let apt "
		       "keep the lists uncompressed");
	remove_rel(MAIN ".xz");
	pr_write(root, MAIN ".gz", "\x1f\x8b garbage");
	tu_expect_fail(&probe_pkg_updates, root, "{}", PST_E_PARSE,
		       "cannot read /" MAIN ".gz: corrupt gzip data");
	remove_rel(MAIN ".gz");
}

static void test_unreadable_lists_are_errors(void **state)
{
	(void)state;
	lists(strdup("Package: libc6\nArchitecture: amd64\n\n"), strdup(""), strdup(""));
	tu_expect_fail(&probe_pkg_updates, root, "{}", PST_E_PARSE,
		       "cannot read /" MAIN ":1: package libc6: no Version");
	lists(strdup("Package: libc6\nVersion: 1:\n"), strdup(""), strdup(""));
	tu_expect_fail(&probe_pkg_updates, root, "{}", PST_E_PARSE,
		       "cannot read /" MAIN ":2: package libc6: nothing after colon in version number");
	lists(strdup("Package: nginx\nVersion: 1\n this line continues\nno colon here\n"),
	      strdup(""), strdup(""));
	tu_expect_fail(&probe_pkg_updates, root, "{}", PST_E_PARSE,
		       "cannot read /" MAIN ":4: line is neither \"Field: value\" nor a continuation");
	lists(strdup(""), strdup(""), strdup(""));
	remove_rel(MAIN);
	remove_rel(UPD);
	remove_rel(SEC);
	tu_expect_fail(&probe_pkg_updates, root, "{}", PST_E_NOENT,
		       "no package list under /var/lib/apt/lists: apt never fetched them or they "
		       "were removed; run apt-get update");
}

static void test_no_database(void **state)
{
	char *empty = tu_mkdtemp();

	(void)state;
	tu_expect_fail(&probe_pkg_updates, empty, "{}", PST_E_NOENT,
		       "no package database: neither /var/lib/dpkg/status nor an rpm database "
		       "(/usr/lib/sysimage/rpm, /var/lib/rpm) exists; gate the check with "
		       "applicable_if on the file");
	pr_write(empty, "var/lib/dpkg/status", "Package: x\nVersion: 1\n\n");
	tu_expect_fail(&probe_pkg_updates, empty, "{}", PST_E_PARSE,
		       "cannot read /var/lib/dpkg/status: line 1: package x has no Status of three words (\"install ok installed\")");
	tu_rmrf(empty);
	free(empty);
}

/* Two runs in one scan read the lists once: a change between them is not seen. */
static void test_cached_per_scan(void **state)
{
	struct probe_cache *cache = probe_cache_new();
	struct probe_ctx ctx = {0};
	struct pst_err e = {0};
	struct probe_out out;
	struct rootfs r;
	json_t *params = tu_params(&probe_pkg_updates, "{}");

	(void)state;
	assert_non_null(cache);
	lists(pr_cat(pr_list_stanza("libc6", "2.36-9+deb12u8", "amd64"), NULL), strdup(""), strdup(""));
	assert_int_equal(rootfs_open(&r, root, &e), 0);
	ctx.root = &r;
	ctx.cache = cache;
	probe_out_init(&out);
	assert_int_equal(probe_pkg_updates.run(&ctx, params, &out), 0);
	assert_int_equal(out.n, 1);
	probe_out_cleanup(&out);
	lists(strdup(""), strdup(""), strdup(""));
	probe_out_init(&out);
	assert_int_equal(probe_pkg_updates.run(&ctx, params, &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "libc6", "amd64", "/" MAIN ":1", "2.36-9+deb12u8",
		      "installed 2.36-9+deb12u7 (/var/lib/dpkg/status:11), candidate 2.36-9+deb12u8 from stable (Debian, Debian)");
	probe_out_cleanup(&out);
	probe_cache_free(cache);
	/* A new scan (no cache) sees the change. */
	probe_out_init(&out);
	ctx.cache = NULL;
	assert_int_equal(probe_pkg_updates.run(&ctx, params, &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
	rootfs_close(&r);
	json_decref(params);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidate_is_highest_for_the_arch),
		cmocka_unit_test(test_up_to_date),
		cmocka_unit_test(test_compressed_lists),
		cmocka_unit_test(test_unreadable_lists_are_errors),
		cmocka_unit_test(test_no_database),
		cmocka_unit_test(test_cached_per_scan),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
