/* test_apt_lists_age.c - days since apt last fetched its lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "patchroot.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_apt_lists_age;

#define STAMP "var/lib/apt/periodic/update-success-stamp"

static void test_stamp_then_release(void **state)
{
	char *root = tu_mkdtemp();
	struct probe_out out;

	(void)state;
	pr_release(root, PR_LISTS "a_dists_x_InRelease", "x", "x", "x", -1, true);
	pr_release(root, PR_LISTS "b_dists_y_Release", "y", "y", "y", -1, false);
	pr_write(root, PR_LISTS "b_dists_y_Release.gpg", "sig");
	pr_age(root, PR_LISTS "a_dists_x_InRelease", 9, 10);
	pr_age(root, PR_LISTS "b_dists_y_Release", 4, 10);
	pr_age(root, PR_LISTS "b_dists_y_Release.gpg", 0, 0);
	/* Without the stamp: the newest Release file (not its .gpg). */
	assert_int_equal(tu_run(&probe_apt_lists_age, root, "{}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_kind(&out, 0, VALUE_INT);
	assert_int_equal(out.items[0].v.i, 4);
	assert_string_equal(out.items[0].subject, "/" PR_LISTS "b_dists_y_Release");
	assert_non_null(strstr(out.items[0].note, "no /var/lib/apt/periodic/update-success-stamp; the newest Release file under /var/lib/apt/lists, modified "));
	probe_out_cleanup(&out);
	/* The stamp wins, even when a Release file is newer. */
	pr_write(root, STAMP, "");
	pr_age(root, STAMP, 6, 10);
	assert_int_equal(tu_run(&probe_apt_lists_age, root, "{}", &out), 0);
	assert_int_equal(out.items[0].v.i, 6);
	assert_string_equal(out.items[0].location, "/" STAMP);
	assert_non_null(strstr(out.items[0].note, "apt's update-success stamp, modified "));
	probe_out_cleanup(&out);
	tu_rmrf(root);
	free(root);
}

static void test_never_fetched(void **state)
{
	char *root = tu_mkdtemp();
	struct probe_out out;

	(void)state;
	assert_int_equal(tu_run(&probe_apt_lists_age, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, "/var/lib/apt/lists", "age_days", "/var/lib/apt/lists", NULL,
		      "no /var/lib/apt/periodic/update-success-stamp and no Release file: the lists were never fetched");
	probe_out_cleanup(&out);
	tu_rmrf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp_then_release),
		cmocka_unit_test(test_never_fetched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
