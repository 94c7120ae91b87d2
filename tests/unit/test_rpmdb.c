/*
 * test_rpmdb.c - the package probes on an rpm-family root: a real rpm
 * database built at test time (tiny packages made with rpmbuild, recorded
 * with `rpm --root --dbpath --justdb`), read through librpm, with rpm's own
 * version order.  The probes pick rpm because the root has no dpkg status.
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

#include "patchroot.h"
#include "pkgdb.h"
#include "probe.h"
#include "rpmdb.h"
#include "testutil.h"

extern const struct probe probe_pkg_installed;
extern const struct probe probe_pkg_min_version;
extern const struct probe probe_kernel_current;
extern const struct probe probe_pkg_last_upgrade;
extern const struct probe probe_pkg_updates;

static char *work, *root;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

/* A spec for an empty package; arch NULL: noarch. */
static void spec(const char *name, const char *epoch, const char *version, const char *release,
		 bool noarch)
{
	char *s, rel[256];

	snprintf(rel, sizeof(rel), "SPECS/%s-%s.spec", name, release);
	assert_true(asprintf(&s, "Name: %s\n%s%s%sVersion: %s\nRelease: %s\nSummary: test\n"
				 "License: MIT\n%s%%description\ntest package\n%%files\n",
			     name, epoch ? "Epoch: " : "", epoch ? epoch : "", epoch ? "\n" : "",
			     version, release, noarch ? "BuildArch: noarch\n" : "") > 0);
	pr_write_take(work, rel, s);
}

static int setup(void **state)
{
	(void)state;
	if (access("/usr/bin/rpmbuild", X_OK) != 0 || access("/usr/bin/rpm", X_OK) != 0) {
		fprintf(stderr, "test_rpmdb: rpm and rpmbuild are needed (packaging/install-deps.sh --test)\n");
		return -1;
	}
	work = tu_mkdtemp();
	root = tu_mkdtemp();
	spec("kernel-core", NULL, "5.14.0", "362.8.1.el9_3", false);
	spec("kernel-core", NULL, "5.14.0", "427.13.1.el9_4", false);
	spec("openssl-libs", "1", "3.0.7", "24.el9", true);
	spec("telnet-server", NULL, "0.17", "85.el9", true);
	sh("cd %s && rpmbuild --quiet --define '_topdir %s' --define '_build_id_links none' "
	   "--target x86_64 -bb SPECS/*.spec >/dev/null 2>&1", work, work);
	sh("rpm --root %s --dbpath /var/lib/rpm --initdb && rpm --root %s --dbpath /var/lib/rpm "
	   "-i --justdb --nodeps --noscripts --ignorearch %s/RPMS/*/*.rpm >/dev/null 2>&1",
	   root, root, work);
	pr_write(root, "proc/sys/kernel/osrelease", "5.14.0-362.8.1.el9_3.x86_64\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (work != NULL) {
		tu_rmrf(work);
		tu_rmrf(root);
	}
	free(work);
	free(root);
	return 0;
}

static void test_detects_rpm(void **state)
{
	struct rootfs r;
	struct pst_err e;
	char *dbpath = NULL;

	(void)state;
	assert_int_equal(rootfs_open(&r, root, &e), 0);
	assert_int_equal(pkgdb_detect(&r, &dbpath), PKGDB_RPM);
	assert_string_equal(dbpath, "/var/lib/rpm");
	free(dbpath);
	rootfs_close(&r);
}

static void test_installed(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(tu_run(&probe_pkg_installed, root,
				"{\"names\": [\"telnet-server\", \"rsh-server\", \"kernel*\"]}", &out), 0);
	assert_int_equal(out.n, 3);
	tu_expect_str(&out, 0, "kernel-core", "x86_64", "/var/lib/rpm", "5.14.0-362.8.1.el9_3",
		      "rpm package, state installed");
	tu_expect_str(&out, 1, "kernel-core", "x86_64", "/var/lib/rpm", "5.14.0-427.13.1.el9_4",
		      "rpm package, state installed");
	tu_expect_str(&out, 2, "telnet-server", "noarch", "/var/lib/rpm", "0.17-85.el9",
		      "rpm package, state installed");
	probe_out_cleanup(&out);
}

static void test_min_version_in_rpm_order(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(tu_run(&probe_pkg_min_version, root,
				"{\"name\": \"openssl-libs\", \"min_version\": \"1:3.0.7-27.el9\"}", &out), 0);
	tu_expect_obs(&out, 0, "openssl-libs", "noarch", "/var/lib/rpm", "false",
		      "installed 1:3.0.7-24.el9 < 1:3.0.7-27.el9 (rpm order)");
	probe_out_cleanup(&out);
	/* The epoch wins over a higher version without one. */
	assert_int_equal(tu_run(&probe_pkg_min_version, root,
				"{\"name\": \"openssl-libs\", \"min_version\": \"3.2.2-6.el9\"}", &out), 0);
	tu_expect_obs(&out, 0, "openssl-libs", "noarch", "/var/lib/rpm", "true",
		      "installed 1:3.0.7-24.el9 >= 3.2.2-6.el9 (rpm order)");
	probe_out_cleanup(&out);
}

static void test_kernel_and_last_install(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(tu_run(&probe_kernel_current, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, "5.14.0-362.8.1.el9_3.x86_64", "newest_installed",
		      "/proc/sys/kernel/osrelease", "false",
		      "running 5.14.0-362.8.1.el9_3.x86_64 (kernel-core 5.14.0-362.8.1.el9_3) but "
		      "kernel-core 5.14.0-427.13.1.el9_4 is installed (/var/lib/rpm): reboot into it");
	probe_out_cleanup(&out);
	assert_int_equal(tu_run(&probe_pkg_last_upgrade, root, "{}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_kind(&out, 0, VALUE_INT);
	assert_int_equal(out.items[0].v.i, 0);
	assert_string_equal(out.items[0].location, "/var/lib/rpm");
	assert_non_null(strstr(out.items[0].note, "newest install: "));
	probe_out_cleanup(&out);
	tu_expect_fail(&probe_pkg_updates, root, "{}", PST_E_INVAL,
		       "pending updates are read from apt's lists; this root has an rpm database");
}

static void test_rpm_order(void **state)
{
	(void)state;
	assert_true(rpmdb_vercmp("1.0~rc1", "1.0") < 0);
	assert_true(rpmdb_vercmp("1.0^git1", "1.0") > 0);
	assert_true(rpmdb_vercmp("1:1.0", "2.0") > 0);
	assert_true(rpmdb_vercmp("1.0-2.el9", "1.0-10.el9") < 0);
	assert_true(rpmdb_vercmp("5.14.0-362.8.1.el9_3", "5.14.0-427.13.1.el9_4") < 0);
	assert_int_equal(rpmdb_vercmp("2.0-1", "2.0-1"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detects_rpm),
		cmocka_unit_test(test_installed),
		cmocka_unit_test(test_min_version_in_rpm_order),
		cmocka_unit_test(test_kernel_and_last_install),
		cmocka_unit_test(test_rpm_order),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
