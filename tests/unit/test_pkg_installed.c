/*
 * test_pkg_installed.c - the pkg_installed probe on a dpkg status file:
 * names and fnmatch patterns, packages with only configuration files left
 * do not count, and parameters are validated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "patchroot.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_pkg_installed;

static void test_installed_and_absent(void **state)
{
	char *root = tu_mkdtemp();
	struct probe_out out;
	struct pst_err e;

	(void)state;
	pr_write_take(root, "var/lib/dpkg/status",
		      pr_cat(pr_stanza("telnetd", "0.17+2.4-2", "amd64", "deinstall ok config-files"),
			     pr_stanza("rsh-server", "0.17-24", "amd64", NULL),
			     pr_stanza("rsh-client", "0.17-24", "amd64", "install ok unpacked"),
			     pr_stanza("nis", "4.4", "amd64", "purge ok not-installed"),
			     pr_stanza("bash", "5.2.15-2+b7", "amd64", NULL), NULL));
	assert_int_equal(tu_run(&probe_pkg_installed, root,
				"{\"names\": [\"telnetd\", \"rsh-*\", \"nis\"]}", &out), 0);
	assert_int_equal(out.n, 2);
	tu_expect_str(&out, 0, "rsh-client", "amd64", "/var/lib/dpkg/status:21", "0.17-24",
		      "dpkg package, state unpacked");
	tu_expect_str(&out, 1, "rsh-server", "amd64", "/var/lib/dpkg/status:11", "0.17-24",
		      "dpkg package, state installed");
	probe_out_cleanup(&out);
	assert_int_equal(tu_run(&probe_pkg_installed, root, "{\"names\": [\"telnetd\", \"nis\"]}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
	assert_int_equal(tu_validate(&probe_pkg_installed, "{\"names\": []}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "names must hold at least one package name");
	assert_int_equal(tu_validate(&probe_pkg_installed, "{\"names\": [\"\"]}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "names[0] must be a package name of 1 to 255 bytes");
	tu_rmrf(root);
	free(root);
}

static void test_status_errors(void **state)
{
	char *root = tu_mkdtemp();

	(void)state;
	pr_write(root, "var/lib/dpkg/status",
		 "Package: a\nStatus: install ok installed\nVersion: 1\n\nStatus: install ok installed\nVersion: 2\n");
	tu_expect_fail(&probe_pkg_installed, root, "{\"names\": [\"a\"]}", PST_E_PARSE,
		       "cannot read /var/lib/dpkg/status: line 5: stanza without a Package field");
	pr_write(root, "var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1 2\n");
	tu_expect_fail(&probe_pkg_installed, root, "{\"names\": [\"a\"]}", PST_E_PARSE,
		       "cannot read /var/lib/dpkg/status: line 3: version \"1 2\" of a: version string has embedded spaces");
	pr_write(root, "var/lib/dpkg/status", "Package: a\nStatus: install ok installed\n");
	tu_expect_fail(&probe_pkg_installed, root, "{\"names\": [\"a\"]}", PST_E_PARSE,
		       "cannot read /var/lib/dpkg/status: line 1: package a (installed) has no Version");
	pr_write(root, "var/lib/dpkg/status", " continuation first\n");
	tu_expect_fail(&probe_pkg_installed, root, "{\"names\": [\"a\"]}", PST_E_PARSE,
		       "cannot read /var/lib/dpkg/status: line 1: continuation line without a field");
	tu_rmrf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_installed_and_absent),
		cmocka_unit_test(test_status_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
