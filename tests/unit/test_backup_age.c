/*
 * test_backup_age.c - the `backup_age` probe on roots built at test time,
 * with the scan's time fixed through probe_ctx.now_us: the newest file of a
 * glob, rounding up, status JSON of restic and borg, no backup, a backup in
 * the future, and load-time validation.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cmocka.h>

#include "backup.h"
#include "probe.h"
#include "testutil.h"

extern const struct probe probe_backup_age;

#define NOW 1795608000LL /* 2026-11-25T12:00:00Z */

/* tu_run with the scan's time at NOW. */
static int run(const char *root, const char *json, struct probe_out *out)
{
	struct pst_err e = {0};
	struct probe_ctx ctx = {0};
	struct rootfs r;
	json_t *params = tu_params(&probe_backup_age, json);
	int rc;

	probe_out_init(out);
	if (probe_backup_age.validate(params, &e) != 0)
		fail_msg("%s: %s", json, e.msg);
	assert_int_equal(rootfs_open(&r, root, &e), 0);
	ctx.root = &r;
	ctx.now_us = NOW * 1000000;
	rc = probe_backup_age.run(&ctx, params, out);
	rootfs_close(&r);
	json_decref(params);
	return rc;
}

static void set_mtime(const char *root, const char *rel, long long t)
{
	char p[PATH_MAX];
	struct timeval tv[2] = {{(time_t)t, 0}, {(time_t)t, 0}};

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(utimes(p, tv), 0);
}

static int setup(void **state)
{
	char *root = tu_mkdtemp();

	if (tu_write(root, "srv/backup/a.tar", "aaaa", 0644) < 0 ||
	    tu_write(root, "srv/backup/b.tar", "bbbbbbbb", 0644) < 0 ||
	    tu_write(root, "srv/backup/c.tar", "", 0644) < 0 ||
	    tu_write(root, "srv/backup/d.tar/inner", "", 0644) < 0 ||
	    tu_write(root, "var/lib/restic/snapshots.json",
		     "[{\"time\": \"2026-11-25T09:30:00.123456789+02:00\", \"short_id\": \"aa11\"},"
		     " {\"time\": \"2026-11-24T12:00:00Z\", \"short_id\": \"bb22\"}]", 0644) < 0 ||
	    tu_write(root, "var/lib/borg/info.json",
		     "{\"archives\": [{\"name\": \"w-1\", \"start\": \"2026-11-25T10:00:00.000000\"}],"
		     " \"repository\": {\"last_modified\": \"2026-11-25T10:00:01.000000\"}}", 0644) < 0 ||
	    tu_write(root, "var/lib/future.json", "{\"t\": \"2026-11-25T13:00:01Z\"}", 0644) < 0 ||
	    tu_write(root, "var/lib/soon.json", "{\"t\": \"2026-11-25T12:59:59Z\"}", 0644) < 0 ||
	    tu_write(root, "var/lib/broken.json", "[{\"time\": 5}]", 0644) < 0 ||
	    tu_write(root, "var/lib/big.json", "[                    ]", 0644) < 0)
		return -1;
	set_mtime(root, "srv/backup/a.tar", NOW - 30 * 3600);
	/* b is the newest: 3 hours and one second old, which rounds up to 4. */
	set_mtime(root, "srv/backup/b.tar", NOW - 3 * 3600 - 1);
	set_mtime(root, "srv/backup/c.tar", NOW - 5 * 3600);
	*state = root;
	return 0;
}

static int teardown(void **state)
{
	tu_rmrf(*state);
	free(*state);
	return 0;
}

static void test_files(void **state)
{
	struct probe_out out;

	assert_int_equal(run(*state, "{\"path\": \"/srv/backup/*.tar\"}", &out), 0);
	assert_int_equal(out.n, 1);
	/* d.tar is a directory: not a backup file. */
	tu_expect_obs(&out, 0, "/srv/backup/b.tar", "age_hours", "/srv/backup/b.tar", "4",
		      "modified 2026-11-25T08:59:59Z, newest of 3 files");
	tu_expect_kind(&out, 0, VALUE_INT);
	probe_out_cleanup(&out);

	assert_int_equal(run(*state, "{\"path\": \"/srv/backup/a.tar\", \"unit\": \"days\"}", &out), 0);
	tu_expect_obs(&out, 0, "/srv/backup/a.tar", "age_days", "/srv/backup/a.tar", "2",
		      "modified 2026-11-24T06:00:00Z");
	probe_out_cleanup(&out);

	assert_int_equal(run(*state, "{\"path\": \"/srv/backup/c.tar\", \"unit\": \"minutes\"}", &out), 0);
	tu_expect_obs(&out, 0, "/srv/backup/c.tar", "age_minutes", "/srv/backup/c.tar", "300",
		      "modified 2026-11-25T07:00:00Z");
	probe_out_cleanup(&out);
}

static void test_none(void **state)
{
	struct probe_out out;

	assert_int_equal(run(*state, "{\"path\": \"/srv/backup/*.zst\"}", &out), 0);
	tu_expect_obs(&out, 0, "/srv/backup/*.zst", "age_hours", "/srv/backup/*.zst", NULL,
		      "no backup: no regular file matches /srv/backup/*.zst");
	probe_out_cleanup(&out);
	assert_int_equal(run(*state, "{\"path\": \"/srv/backup/d.tar\"}", &out), 0);
	tu_expect_obs(&out, 0, "/srv/backup/d.tar", "age_hours", "/srv/backup/d.tar", NULL,
		      "no backup: no regular file at /srv/backup/d.tar");
	probe_out_cleanup(&out);
	assert_int_equal(run(*state, "{\"path\": \"/var/lib/none.json\", \"source\": \"status_json\", \"time\": \"/t\"}", &out), 0);
	tu_expect_obs(&out, 0, "/var/lib/none.json", "age_hours", "/var/lib/none.json", NULL,
		      "no backup: the status file /var/lib/none.json does not exist");
	probe_out_cleanup(&out);
}

static void test_status(void **state)
{
	struct probe_out out;

	assert_int_equal(run(*state, "{\"path\": \"/var/lib/restic/snapshots.json\", \"source\": \"status_json\","
				     " \"array\": \"\", \"time\": \"/time\", \"name\": \"/short_id\"}", &out), 0);
	/* 07:30:00.123 UTC: 4 h 29 min 59.9 s before noon, rounded up. */
	tu_expect_obs(&out, 0, "/var/lib/restic/snapshots.json", "age_hours", "/var/lib/restic/snapshots.json", "5",
		      "backup /0 (aa11) at 2026-11-25T07:30:00Z, newest of 2");
	probe_out_cleanup(&out);

	assert_int_equal(run(*state, "{\"path\": \"/var/lib/borg/info.json\", \"source\": \"status_json\","
				     " \"array\": \"/archives\", \"time\": \"/start\", \"name\": \"/name\","
				     " \"time_format\": \"local\", \"utc_offset\": \"-01:00\"}", &out), 0);
	/* 10:00 at -01:00 is 11:00 UTC. */
	tu_expect_obs(&out, 0, "/var/lib/borg/info.json", "age_hours", "/var/lib/borg/info.json", "1",
		      "backup /archives/0 (w-1) at 2026-11-25T11:00:00Z, newest of 1");
	probe_out_cleanup(&out);

	assert_int_equal(run(*state, "{\"path\": \"/var/lib/borg/info.json\", \"source\": \"status_json\","
				     " \"time\": \"/repository/last_modified\", \"time_format\": \"local\"}", &out), 0);
	tu_expect_obs(&out, 0, "/var/lib/borg/info.json", "age_hours", "/var/lib/borg/info.json", "2",
		      "backup time 2026-11-25T10:00:01Z");
	probe_out_cleanup(&out);

	/* Within the hour of slack a backup from the future counts as age 0. */
	assert_int_equal(run(*state, "{\"path\": \"/var/lib/soon.json\", \"source\": \"status_json\", \"time\": \"/t\"}", &out), 0);
	tu_expect_obs(&out, 0, "/var/lib/soon.json", "age_hours", "/var/lib/soon.json", "0",
		      "backup time 2026-11-25T12:59:59Z");
	probe_out_cleanup(&out);
}

static void test_errors(void **state)
{
	struct probe_out out;

	assert_int_equal(run(*state, "{\"path\": \"/var/lib/future.json\", \"source\": \"status_json\", \"time\": \"/t\"}", &out),
			 PST_E_INVAL);
	assert_string_equal(out.reason, "/var/lib/future.json: the backup time 2026-11-25T13:00:01Z is more than an hour "
					"after the scan's start; the clock of this host or of the backup job is wrong");
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
	assert_int_equal(run(*state, "{\"path\": \"/var/lib/broken.json\", \"source\": \"status_json\", \"array\": \"\", \"time\": \"/time\"}", &out),
			 PST_E_PARSE);
	assert_string_equal(out.reason, "status file /var/lib/broken.json: /0/time: 5 is not an RFC 3339 time with an offset");
	probe_out_cleanup(&out);
	assert_int_equal(run(*state, "{\"path\": \"/var/lib/big.json\", \"source\": \"status_json\", \"array\": \"\", \"time\": \"/time\", \"max_bytes\": 8}", &out),
			 PST_E_TOOBIG);
	assert_string_equal(out.reason, "cannot read /var/lib/big.json: larger than 8 bytes; raise the rule's max_bytes or check the file");
	probe_out_cleanup(&out);
	assert_int_equal(run(*state, "{\"path\": \"/var/lib\", \"source\": \"status_json\", \"time\": \"/t\"}", &out), PST_E_INVAL);
	assert_string_equal(out.reason, "cannot read /var/lib: not a regular file");
	probe_out_cleanup(&out);
	assert_int_equal(run(*state, "{\"path\": \"\"}", &out), PST_E_INVAL);
	assert_string_equal(out.reason, "no backup path given (the rule's path is empty: set the policy variable that names it)");
	probe_out_cleanup(&out);
}

static void test_validate(void **state)
{
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(tu_validate(&probe_backup_age, "{\"path\": \"srv/x\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "path \"srv/x\" must be absolute (start with '/')");
	assert_int_equal(tu_validate(&probe_backup_age, "{\"path\": \"/x\", \"source\": \"status_json\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "source status_json needs \"time\", a JSON pointer to the backup's timestamp");
	assert_int_equal(tu_validate(&probe_backup_age, "{\"path\": \"/x\", \"source\": \"status_json\", \"time\": \"time\"}", &e),
			 PST_E_INVAL);
	assert_int_equal(tu_validate(&probe_backup_age, "{\"path\": \"/x/*\", \"source\": \"status_json\", \"time\": \"/t\"}", &e),
			 PST_E_INVAL);
	assert_int_equal(tu_validate(&probe_backup_age, "{\"path\": \"/x\", \"time\": \"/t\"}", &e), PST_E_INVAL);
	assert_string_equal(e.msg, "\"time\" is for source status_json");
	assert_int_equal(tu_validate(&probe_backup_age, "{\"path\": \"/x\", \"utc_offset\": \"+1\"}", &e), PST_E_INVAL);
	assert_int_equal(tu_validate(&probe_backup_age, "{\"path\": \"/x\", \"source\": \"status_json\", \"time\": \"/t\", \"name\": \"/n\"}", &e),
			 PST_E_INVAL);
	assert_int_equal(tu_validate(&probe_backup_age, "{\"path\": \"\"}", &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
