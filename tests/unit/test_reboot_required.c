/* test_reboot_required.c - /run/reboot-required and its package list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "patchroot.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_reboot_required;

#define F "/run/reboot-required"

static void test_reboot_required(void **state)
{
	char *root = tu_mkdtemp();
	struct probe_out out;

	(void)state;
	assert_int_equal(tu_run(&probe_reboot_required, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, F, "exists", F, "false", "no package asked for a reboot");
	probe_out_cleanup(&out);
	pr_write(root, "run/reboot-required", "*** System restart required ***\n");
	assert_int_equal(tu_run(&probe_reboot_required, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, F, "exists", F, "true",
		      "reboot required; /run/reboot-required.pkgs lists no package");
	probe_out_cleanup(&out);
	pr_write(root, "run/reboot-required.pkgs", "linux-image-6.1.0-29-amd64\nlibc6\n\nlibc6\n");
	assert_int_equal(tu_run(&probe_reboot_required, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, F, "exists", F, "true",
		      "reboot required by linux-image-6.1.0-29-amd64, libc6 (/run/reboot-required.pkgs)");
	probe_out_cleanup(&out);
	tu_rmrf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reboot_required),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
