/* test_pkg_last_upgrade.c - days since the last upgrade in dpkg.log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "patchroot.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_pkg_last_upgrade;

/* dpkg.log time stamp days ago (static). */
static const char *stamp(long days)
{
	static char buf[4][32];
	static int k;
	time_t t = time(NULL) - days * 86400 - 60;
	struct tm tm;

	k = (k + 1) % 4;
	gmtime_r(&t, &tm);
	strftime(buf[k], sizeof(buf[k]), "%Y-%m-%d %H:%M:%S", &tm);
	return buf[k];
}

static void test_last_upgrade(void **state)
{
	char *root = tu_mkdtemp(), *log, note[512];
	struct probe_out out;

	(void)state;
	pr_write(root, "var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n");
	assert_true(asprintf(&log,
			     "%s startup archives unpack\n%s upgrade libc6:amd64 2.36-9+deb12u8 2.36-9+deb12u9\n"
			     "%s status installed libc6:amd64 2.36-9+deb12u9\n%s status installed man-db:amd64 2.11.2-2\n"
			     "%s startup packages configure\n%s status config-files telnetd:amd64 0.17\n",
			     stamp(40), stamp(12), stamp(12), stamp(11), stamp(3), stamp(3)) > 0);
	pr_write_take(root, "var/log/dpkg.log", log);
	assert_int_equal(tu_run(&probe_pkg_last_upgrade, root, "{}", &out), 0);
	snprintf(note, sizeof(note),
		 "last package change: %s status installed man-db:amd64 2.11.2-2 (local time read as UTC)",
		 stamp(11));
	tu_expect_obs(&out, 0, "/var/log/dpkg.log", "days", "/var/log/dpkg.log:4", "11", note);
	probe_out_cleanup(&out);
	/* Just rotated: the current log has no upgrade yet, dpkg.log.1 has. */
	assert_true(asprintf(&log, "%s startup archives unpack\n", stamp(1)) > 0);
	pr_write_take(root, "var/log/dpkg.log", log);
	assert_true(asprintf(&log, "%s upgrade bash:amd64 5.2.15-2+b2 5.2.15-2+b7\n", stamp(20)) > 0);
	pr_write_take(root, "var/log/dpkg.log.1", log);
	assert_int_equal(tu_run(&probe_pkg_last_upgrade, root, "{}", &out), 0);
	snprintf(note, sizeof(note),
		 "last package change: %s upgrade bash:amd64 5.2.15-2+b2 5.2.15-2+b7 (local time read as UTC)",
		 stamp(20));
	tu_expect_obs(&out, 0, "/var/log/dpkg.log.1", "days", "/var/log/dpkg.log.1:1", "20", note);
	probe_out_cleanup(&out);
	pr_write(root, "var/log/dpkg.log.1", "garbage\n");
	assert_int_equal(tu_run(&probe_pkg_last_upgrade, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, "/var/log/dpkg.log", "days", "/var/log/dpkg.log", NULL,
		      "no upgrade or install recorded in /var/log/dpkg.log or /var/log/dpkg.log.1");
	probe_out_cleanup(&out);
	tu_rmrf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_last_upgrade),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
