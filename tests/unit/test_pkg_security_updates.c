/*
 * test_pkg_security_updates.c - pending security updates and their age:
 * which suites count as security (Suite or Codename ending in -security,
 * Label Debian-Security), the age from the Release Date, from the list's
 * mtime when there is no Date, and InRelease preferred over Release.
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

#include "aptlists.h"
#include "patchroot.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_pkg_security_updates;

#define SEC_BASE PR_LISTS "security.debian.org_debian-security_dists_bookworm-security"
#define SEC SEC_BASE "_main_binary-amd64_Packages"
#define MAIN PR_LISTS "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"

static char *make_root(void)
{
	char *root = tu_mkdtemp();

	pr_write_take(root, "var/lib/dpkg/status",
		      pr_cat(pr_stanza("dpkg", "1.21.22", "amd64", NULL),
			     pr_stanza("libssl3", "3.0.15-1~deb12u1", "amd64", NULL),
			     pr_stanza("tzdata", "2024a-0+deb12u1", "all", NULL), NULL));
	pr_release(root, PR_LISTS "deb.debian.org_debian_dists_bookworm_InRelease", "stable",
		   "bookworm", "Debian", 1, true);
	/* tzdata is newer in main, not in security: not a security update. */
	pr_write_take(root, MAIN, pr_cat(pr_list_stanza("tzdata", "2025a-0+deb12u1", "all"),
					 pr_list_stanza("libssl3", "3.0.17-1~deb12u1", "amd64"), NULL));
	pr_write_take(root, SEC, pr_cat(pr_list_stanza("libssl3", "3.0.16-1~deb12u1", "amd64"), NULL));
	return root;
}

static void done(char *root)
{
	tu_rmrf(root);
	free(root);
}

static void test_age_from_release_date(void **state)
{
	char *root = make_root(), note[1024], date[32];
	struct probe_out out;
	int64_t t;

	(void)state;
	pr_release(root, SEC_BASE "_InRelease", "stable-security", "bookworm-security",
		   "Debian-Security", 12, true);
	/* A stale plain Release of the same archive: InRelease wins, as in apt. */
	pr_release(root, SEC_BASE "_Release", "stable", "bookworm", "Debian", 99, false);
	assert_int_equal(tu_run(&probe_pkg_security_updates, root, "{}", &out), 0);
	assert_int_equal(out.n, 1);
	/* The date written into the file, not pr_date(12) again: a second may have passed. */
	{
		char path[4096], line[256], *d = NULL;
		FILE *f;

		snprintf(path, sizeof(path), "%s/" SEC_BASE "_InRelease", root);
		f = fopen(path, "r");
		assert_non_null(f);
		while (d == NULL && fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "Date: ", 6) == 0)
				d = line + 6;
		fclose(f);
		assert_non_null(d);
		d[strcspn(d, "\n")] = '\0';
		assert_int_equal(aptlists_parse_date(d, strlen(d), &t), 0);
	}
	{
		time_t tt = (time_t)t;
		struct tm tm;

		gmtime_r(&tt, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	snprintf(note, sizeof(note),
		 "installed 3.0.15-1~deb12u1 (/var/lib/dpkg/status:11), security update "
		 "3.0.16-1~deb12u1 from stable-security (Debian, Debian-Security); pending at least "
		 "12 days (Release Date %s of /" SEC_BASE "_InRelease)", date);
	tu_expect_obs(&out, 0, "libssl3", "amd64", "/" SEC ":1", "12", note);
	tu_expect_kind(&out, 0, VALUE_INT);
	probe_out_cleanup(&out);
	done(root);
}

static void test_age_from_mtime_without_date(void **state)
{
	char *root = make_root();
	struct probe_out out;
	const char *note;

	(void)state;
	/* Only the Label says security here, and there is no Date. */
	pr_release(root, SEC_BASE "_Release", "stable", "bookworm", "Debian-Security", -1, false);
	pr_age(root, SEC, 30, 100);
	assert_int_equal(tu_run(&probe_pkg_security_updates, root, "{}", &out), 0);
	assert_int_equal(out.n, 1);
	note = out.items[0].note;
	assert_non_null(note);
	assert_non_null(strstr(note, "pending at least 30 days (list modified "));
	assert_non_null(strstr(note, " of /" SEC ")"));
	tu_expect_obs(&out, 0, "libssl3", "amd64", "/" SEC ":1", "30", note);
	probe_out_cleanup(&out);
	/* exclude */
	assert_int_equal(tu_run(&probe_pkg_security_updates, root, "{\"exclude\": [\"libssl3\"]}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
	done(root);
}

static void test_not_security_without_marks(void **state)
{
	char *root = make_root();
	struct probe_out out;

	(void)state;
	/* No Release file at all: the list's suite is unknown, not security. */
	assert_int_equal(tu_run(&probe_pkg_security_updates, root, "{}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
	done(root);
}

static void test_security_suite_names(void **state)
{
	(void)state;
	assert_true(aptlists_is_security("stable-security", "bookworm-security", "Debian-Security"));
	assert_true(aptlists_is_security("jammy-security", "jammy", "Ubuntu"));
	assert_true(aptlists_is_security("oldoldstable", "stretch", "Debian-Security"));
	assert_true(aptlists_is_security("stretch/updates", "", ""));
	assert_false(aptlists_is_security("stable-updates", "bookworm-updates", "Debian"));
	assert_false(aptlists_is_security("stable", "bookworm", "Debian"));
}

static void test_release_dates(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(aptlists_parse_date("Sat, 09 Nov 2024 10:06:52 UTC", 29, &t), 0);
	assert_int_equal(t, 1731146812);
	assert_int_equal(aptlists_parse_date("09 Nov 2024 11:06:52 +0100", 26, &t), 0);
	assert_int_equal(t, 1731146812);
	assert_int_equal(aptlists_parse_date("Sat, 09 Nov 2024 10:06:52", 25, &t), 0);
	assert_int_equal(t, 1731146812);
	assert_int_equal(aptlists_parse_date("Sat, 09 Nom 2024 10:06:52 UTC", 29, &t), PST_E_PARSE);
	assert_int_equal(aptlists_parse_date("Sat, 09 Nov 2024 10:06:52 CEST", 30, &t), PST_E_PARSE);
	assert_int_equal(aptlists_parse_date("Sat, 09 Nov 2024 10:06:52 UTC trailing", 38, &t),
			 PST_E_PARSE);
	assert_int_equal(aptlists_parse_date("", 0, &t), PST_E_PARSE);
}

static void test_bad_release_date_is_an_error(void **state)
{
	char *root = make_root();

	(void)state;
	pr_write(root, SEC_BASE "_InRelease",
		 "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSuite: stable-security\n"
		 "Date: yesterday\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n");
	tu_expect_fail(&probe_pkg_security_updates, root, "{}", PST_E_PARSE,
		       "cannot read /" SEC_BASE "_InRelease:5: Date \"yesterday\" is not an RFC 2822 date");
	pr_write(root, SEC_BASE "_InRelease",
		 "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSuite: stable-security\n");
	tu_expect_fail(&probe_pkg_security_updates, root, "{}", PST_E_PARSE,
		       "cannot read /" SEC_BASE "_InRelease: the clear-signed message ends before its signature");
	done(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_age_from_release_date),
		cmocka_unit_test(test_age_from_mtime_without_date),
		cmocka_unit_test(test_not_security_without_marks),
		cmocka_unit_test(test_security_suite_names),
		cmocka_unit_test(test_release_dates),
		cmocka_unit_test(test_bad_release_date_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
