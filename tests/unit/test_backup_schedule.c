/*
 * test_backup_schedule.c - the `backup_schedule` probe: an enabled timer
 * (unit in /etc or /lib, a template for an instance), a timer linked but
 * without a unit, a masked one, one not enabled; cron lines in
 * /etc/crontab, /etc/cron.d (names cron ignores skipped) and users'
 * crontabs, comments skipped.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe.h"
#include "testutil.h"

extern const struct probe probe_backup_schedule;

static int link_in(const char *root, const char *target, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return symlink(target, p);
}

static int setup(void **state)
{
	char *root = tu_mkdtemp();

	if (tu_write(root, "etc/systemd/system/restic.timer", "[Timer]\nOnCalendar=daily\n", 0644) < 0 ||
	    tu_write(root, "lib/systemd/system/borgmatic@.timer", "[Timer]\nOnCalendar=daily\n", 0644) < 0 ||
	    tu_write(root, "lib/systemd/system/masked.timer", "[Timer]\n", 0644) < 0 ||
	    tu_write(root, "lib/systemd/system/idle.timer", "[Timer]\n", 0644) < 0 ||
	    tu_write(root, "etc/systemd/system/timers.target.wants/.keep", "", 0644) < 0 ||
	    tu_write(root, "etc/systemd/system/multi-user.target.wants/.keep", "", 0644) < 0 ||
	    tu_write(root, "dev/null", "", 0644) < 0 ||
	    link_in(root, "/etc/systemd/system/restic.timer", "etc/systemd/system/timers.target.wants/restic.timer") < 0 ||
	    link_in(root, "/lib/systemd/system/borgmatic@.timer", "etc/systemd/system/timers.target.wants/borgmatic@daily.timer") < 0 ||
	    link_in(root, "/lib/systemd/system/gone.timer", "etc/systemd/system/multi-user.target.wants/gone.timer") < 0 ||
	    link_in(root, "/lib/systemd/system/masked.timer", "etc/systemd/system/timers.target.wants/masked.timer") < 0 ||
	    link_in(root, "/dev/null", "etc/systemd/system/masked.timer") < 0 ||
	    tu_write(root, "etc/crontab", "SHELL=/bin/sh\n# 0 1 * * * root borg create x\n17 * * * * root run-parts /etc/cron.hourly\n", 0644) < 0 ||
	    tu_write(root, "etc/cron.d/backup", "\n  # nightly\n30 2 * * * root /usr/local/sbin/borg-backup\n", 0644) < 0 ||
	    tu_write(root, "etc/cron.d/backup.dpkg-old", "30 2 * * * root /usr/local/sbin/borg-backup\n", 0644) < 0 ||
	    tu_write(root, "var/spool/cron/crontabs/ops", "15 3 * * 0 /usr/local/sbin/borg-backup --weekly\n", 0600) < 0)
		return -1;
	*state = root;
	return 0;
}

static int teardown(void **state)
{
	tu_rmrf(*state);
	free(*state);
	return 0;
}

static void test_timer(void **state)
{
	struct probe_out out;

	assert_int_equal(tu_run(&probe_backup_schedule, *state, "{\"timer\": \"restic.timer\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, "/etc/systemd/system/timers.target.wants/restic.timer", "timer",
		      "/etc/systemd/system/timers.target.wants/restic.timer", "restic.timer",
		      "enabled in timers.target.wants; unit file /etc/systemd/system/restic.timer");
	probe_out_cleanup(&out);

	assert_int_equal(tu_run(&probe_backup_schedule, *state, "{\"timer\": \"borgmatic@daily.timer\"}", &out), 0);
	tu_expect_str(&out, 0, "/etc/systemd/system/timers.target.wants/borgmatic@daily.timer", "timer",
		      "/etc/systemd/system/timers.target.wants/borgmatic@daily.timer", "borgmatic@daily.timer",
		      "enabled in timers.target.wants; unit file /lib/systemd/system/borgmatic@.timer");
	probe_out_cleanup(&out);

	assert_int_equal(tu_run(&probe_backup_schedule, *state, "{\"timer\": \"gone.timer\"}", &out), 0);
	tu_expect_obs(&out, 0, "/etc/systemd/system/multi-user.target.wants/gone.timer", "timer",
		      "/etc/systemd/system/multi-user.target.wants/gone.timer", NULL,
		      "enabled, but no unit file gone.timer in /etc/systemd/system, /run/systemd/system, "
		      "/usr/local/lib/systemd/system, /usr/lib/systemd/system or /lib/systemd/system");
	probe_out_cleanup(&out);

	assert_int_equal(tu_run(&probe_backup_schedule, *state, "{\"timer\": \"masked.timer\"}", &out), 0);
	tu_expect_obs(&out, 0, "/etc/systemd/system/timers.target.wants/masked.timer", "timer",
		      "/etc/systemd/system/timers.target.wants/masked.timer", NULL,
		      "enabled but masked: /etc/systemd/system/masked.timer links to /dev/null");
	probe_out_cleanup(&out);

	assert_int_equal(tu_run(&probe_backup_schedule, *state, "{\"timer\": \"idle.timer\"}", &out), 0);
	tu_expect_obs(&out, 0, "idle.timer", "timer", NULL, NULL,
		      "idle.timer is not enabled: no link in any *.wants directory under /etc/systemd/system");
	probe_out_cleanup(&out);
}

static void test_cron(void **state)
{
	struct probe_out out;

	assert_int_equal(tu_run(&probe_backup_schedule, *state, "{\"cron_pattern\": \"borg-backup\"}", &out), 0);
	/* backup.dpkg-old is not read by cron; the commented line in /etc/crontab is skipped. */
	assert_int_equal(out.n, 2);
	tu_expect_str(&out, 0, "/etc/cron.d/backup", "cron", "/etc/cron.d/backup:3",
		      "30 2 * * * root /usr/local/sbin/borg-backup", NULL);
	tu_expect_str(&out, 1, "/var/spool/cron/crontabs/ops", "cron", "/var/spool/cron/crontabs/ops:1",
		      "15 3 * * 0 /usr/local/sbin/borg-backup --weekly", NULL);
	probe_out_cleanup(&out);

	assert_int_equal(tu_run(&probe_backup_schedule, *state, "{\"cron_pattern\": \"borg create\"}", &out), 0);
	tu_expect_obs(&out, 0, "cron", "cron", NULL, NULL,
		      "no line matches /borg create/ in /etc/crontab, /etc/cron.d/* or /var/spool/cron/crontabs/*");
	probe_out_cleanup(&out);

	/* Both given: what one finds is enough for exists; the other says where it looked. */
	assert_int_equal(tu_run(&probe_backup_schedule, *state, "{\"timer\": \"idle.timer\", \"cron_pattern\": \"--weekly$\"}", &out), 0);
	assert_int_equal(out.n, 2);
	tu_expect_obs(&out, 1, "/var/spool/cron/crontabs/ops", "cron", "/var/spool/cron/crontabs/ops:1",
		      "15 3 * * 0 /usr/local/sbin/borg-backup --weekly", NULL);
	probe_out_cleanup(&out);
}

static void test_validate(void **state)
{
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(tu_validate(&probe_backup_schedule, "{}", &e), PST_E_INVAL);
	assert_int_equal(tu_validate(&probe_backup_schedule, "{\"timer\": \"restic.service\"}", &e), PST_E_INVAL);
	assert_int_equal(tu_validate(&probe_backup_schedule, "{\"timer\": \"../x.timer\"}", &e), PST_E_INVAL);
	assert_int_equal(tu_validate(&probe_backup_schedule, "{\"cron_pattern\": \"(\"}", &e), PST_E_INVAL);
	assert_int_equal(tu_validate(&probe_backup_schedule, "{\"timer\": \"\", \"cron_pattern\": \"\"}", &e), 0);
	tu_expect_fail(&probe_backup_schedule, *state, "{\"timer\": \"\", \"cron_pattern\": \"\"}", PST_E_INVAL,
		       "no schedule to look for: timer and cron_pattern are both empty (set the policy variable that names the job's timer or cron entry)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer),
		cmocka_unit_test(test_cron),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
