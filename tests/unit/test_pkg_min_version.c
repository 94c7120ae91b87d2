/* test_pkg_min_version.c - the pkg_min_version probe in dpkg's order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "patchroot.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_pkg_min_version;

static void test_min_version(void **state)
{
	char *root = tu_mkdtemp();
	struct probe_out out;
	struct pst_err e;

	(void)state;
	pr_write_take(root, "var/lib/dpkg/status",
		      pr_cat(pr_stanza("openssh-server", "1:9.2p1-2+deb12u3", "amd64", NULL),
			     pr_stanza("libc6", "2.36-9+deb12u9", "amd64", NULL),
			     pr_stanza("libc6", "2.36-9+deb12u10", "i386", NULL), NULL));
	/* Equal counts as at least. */
	assert_int_equal(tu_run(&probe_pkg_min_version, root,
				"{\"name\": \"openssh-server\", \"min_version\": \"1:9.2p1-2+deb12u3\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_obs(&out, 0, "openssh-server", "amd64", "/var/lib/dpkg/status:1", "true",
		      "installed 1:9.2p1-2+deb12u3 >= 1:9.2p1-2+deb12u3 (dpkg order)");
	probe_out_cleanup(&out);
	/* The epoch outweighs everything after it. */
	assert_int_equal(tu_run(&probe_pkg_min_version, root,
				"{\"name\": \"openssh-server\", \"min_version\": \"9.9\"}", &out), 0);
	tu_expect_obs(&out, 0, "openssh-server", "amd64", "/var/lib/dpkg/status:1", "true",
		      "installed 1:9.2p1-2+deb12u3 >= 9.9 (dpkg order)");
	probe_out_cleanup(&out);
	/* u9 < u10 numerically; each architecture is observed. */
	assert_int_equal(tu_run(&probe_pkg_min_version, root,
				"{\"name\": \"libc6\", \"min_version\": \"2.36-9+deb12u10\"}", &out), 0);
	assert_int_equal(out.n, 2);
	tu_expect_obs(&out, 0, "libc6", "amd64", "/var/lib/dpkg/status:11", "false",
		      "installed 2.36-9+deb12u9 < 2.36-9+deb12u10 (dpkg order)");
	tu_expect_obs(&out, 1, "libc6", "i386", "/var/lib/dpkg/status:21", "true",
		      "installed 2.36-9+deb12u10 >= 2.36-9+deb12u10 (dpkg order)");
	probe_out_cleanup(&out);
	assert_int_equal(tu_run(&probe_pkg_min_version, root,
				"{\"name\": \"sudo\", \"min_version\": \"1.9\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_obs(&out, 0, "sudo", "installed", "/var/lib/dpkg/status", NULL,
		      "not installed (dpkg database)");
	probe_out_cleanup(&out);
	assert_int_equal(tu_validate(&probe_pkg_min_version,
				     "{\"name\": \"x\", \"min_version\": \"1:\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "min_version \"1:\" is not a version: nothing after colon in version number");
	tu_rmrf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_min_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
