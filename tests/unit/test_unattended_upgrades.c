/*
 * test_unattended_upgrades.c - APT::Periodic settings read as apt reads
 * apt.conf.d (name order, later wins, nested scopes, comments, ignored
 * names, apt.conf last) and the unattended-upgrades package.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aptconf.h"
#include "patchroot.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_unattended_upgrades;

#define D "etc/apt/apt.conf.d/"

static char *make_root(bool with_package)
{
	char *root = tu_mkdtemp();

	pr_write_take(root, "var/lib/dpkg/status",
		      with_package ? pr_cat(pr_stanza("apt", "2.6.1", "amd64", NULL),
					    pr_stanza("unattended-upgrades", "2.9.1+nmu3", "all", NULL), NULL)
				   : pr_cat(pr_stanza("apt", "2.6.1", "amd64", NULL), NULL));
	return root;
}

static void test_enabled(void **state)
{
	char *root = make_root(true);
	struct probe_out out;

	(void)state;
	pr_write(root, D "10periodic",
		 "/* a C comment\n   over lines */\nAPT {\n  Periodic {\n    Enable \"1\"; // on\n"
		 "    Update-Package-Lists \"0\";\n  };\n};\n");
	pr_write(root, D "20auto-upgrades",
		 "# hash comment\napt::periodic::update-package-lists \"1\";\n"
		 "APT::Periodic::Unattended-Upgrade \"1\";\n");
	pr_write(root, D "20auto-upgrades.dpkg-old", "APT::Periodic::Unattended-Upgrade \"0\";\n");
	pr_write(root, D "99off.disabled", "APT::Periodic::Enable \"0\";\n");
	pr_write(root, D "with space", "APT::Periodic::Enable \"0\";\n");
	assert_int_equal(tu_run(&probe_unattended_upgrades, root, "{}", &out), 0);
	assert_int_equal(out.n, 4);
	tu_expect_obs(&out, 0, "APT::Periodic::Enable", "enabled", "/" D "10periodic:5", "true",
		      "APT::Periodic::Enable \"1\"");
	tu_expect_obs(&out, 1, "APT::Periodic::Update-Package-Lists", "enabled",
		      "/" D "20auto-upgrades:2", "true", "APT::Periodic::Update-Package-Lists \"1\"");
	tu_expect_obs(&out, 2, "APT::Periodic::Unattended-Upgrade", "enabled",
		      "/" D "20auto-upgrades:3", "true", "APT::Periodic::Unattended-Upgrade \"1\"");
	tu_expect_obs(&out, 3, "unattended-upgrades", "installed", "/var/lib/dpkg/status:11", "true",
		      "version 2.9.1+nmu3, state installed");
	probe_out_cleanup(&out);
	/* /etc/apt/apt.conf is read after the directory and wins. */
	pr_write(root, "etc/apt/apt.conf", "APT::Periodic::Unattended-Upgrade \"0\";\n");
	assert_int_equal(tu_run(&probe_unattended_upgrades, root, "{}", &out), 0);
	tu_expect_obs(&out, 2, "APT::Periodic::Unattended-Upgrade", "enabled", "/etc/apt/apt.conf:1",
		      "false", "APT::Periodic::Unattended-Upgrade \"0\"");
	probe_out_cleanup(&out);
	tu_rmrf(root);
	free(root);
}

static void test_disabled_and_missing(void **state)
{
	char *root = make_root(false);
	struct probe_out out;

	(void)state;
	pr_write(root, D "50unattended-upgrades", "Unattended-Upgrade::Origins-Pattern { \"origin=Debian\"; };\n");
	assert_int_equal(tu_run(&probe_unattended_upgrades, root, "{}", &out), 0);
	assert_int_equal(out.n, 3);
	tu_expect_obs(&out, 0, "APT::Periodic::Update-Package-Lists", "enabled", "/etc/apt/apt.conf.d", "false",
		      "not set in /etc/apt/apt.conf.d or /etc/apt/apt.conf: apt's default is off");
	tu_expect_obs(&out, 2, "unattended-upgrades", "installed", "/var/lib/dpkg/status", "false",
		      "package not installed");
	probe_out_cleanup(&out);
	pr_write(root, D "20auto-upgrades", "APT::Periodic::Update-Package-Lists \"1\"\n");
	tu_expect_fail(&probe_unattended_upgrades, root, "{}", PST_E_PARSE,
		       "cannot read /" D "20auto-upgrades:2: expected ';' after the value (apt refuses this file too)");
	pr_write(root, D "20auto-upgrades", "APT { Periodic { Enable \"1\"; };\n");
	tu_expect_fail(&probe_unattended_upgrades, root, "{}", PST_E_PARSE,
		       "cannot read /" D "20auto-upgrades:2: a scope is not closed with '}' (apt refuses this file too)");
	tu_rmrf(root);
	free(root);
}

static void test_names_apt_reads(void **state)
{
	(void)state;
	assert_true(aptconf_name_accepted("20auto-upgrades"));
	assert_true(aptconf_name_accepted("50unattended-upgrades.conf"));
	assert_false(aptconf_name_accepted("20auto-upgrades.dpkg-dist"));
	assert_false(aptconf_name_accepted("20auto-upgrades.ucf-old"));
	assert_false(aptconf_name_accepted("20auto-upgrades~"));
	assert_false(aptconf_name_accepted("x.bak"));
	assert_false(aptconf_name_accepted("a b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enabled),
		cmocka_unit_test(test_disabled_and_missing),
		cmocka_unit_test(test_names_apt_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
