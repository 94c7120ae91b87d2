/*
 * test_backup_size.c - the `backup_size` probe: the size of the newest
 * file of a glob (an empty newest archive is size 0, not skipped), the
 * size field of the newest element of a status JSON, and what happens
 * when there is none.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include <cmocka.h>

#include "probe.h"
#include "testutil.h"

extern const struct probe probe_backup_size;

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

	if (tu_write(root, "srv/backup/old.tar", "0123456789", 0644) < 0 ||
	    tu_write(root, "srv/backup/new.tar", "", 0644) < 0 ||
	    tu_write(root, "var/lib/restic.json",
		     "[{\"time\": \"2026-11-25T10:00:00Z\", \"summary\": {\"total_bytes_processed\": 4096}},"
		     " {\"time\": \"2026-11-24T10:00:00Z\", \"summary\": {\"total_bytes_processed\": 1}},"
		     " {\"time\": \"2026-11-25T09:00:00Z\"}]", 0644) < 0 ||
	    tu_write(root, "var/lib/nosize.json", "[{\"time\": \"2026-11-25T10:00:00Z\"}]", 0644) < 0 ||
	    tu_write(root, "var/lib/badsize.json", "{\"t\": 1795608000, \"size\": \"4k\"}", 0644) < 0)
		return -1;
	set_mtime(root, "srv/backup/old.tar", 1795600000);
	set_mtime(root, "srv/backup/new.tar", 1795604000);
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

	assert_int_equal(tu_run(&probe_backup_size, *state, "{\"path\": \"/srv/backup/*.tar\"}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_obs(&out, 0, "/srv/backup/new.tar", "size_bytes", "/srv/backup/new.tar", "0",
		      "modified 2026-11-25T10:53:20Z, newest of 2 files");
	tu_expect_kind(&out, 0, VALUE_INT);
	probe_out_cleanup(&out);
	assert_int_equal(tu_run(&probe_backup_size, *state, "{\"path\": \"/srv/backup/*.zst\"}", &out), 0);
	tu_expect_obs(&out, 0, "/srv/backup/*.zst", "size_bytes", "/srv/backup/*.zst", NULL,
		      "no backup: no regular file matches /srv/backup/*.zst");
	probe_out_cleanup(&out);
}

static void test_status(void **state)
{
	struct probe_out out;
	struct pst_err e = {0};

	assert_int_equal(tu_run(&probe_backup_size, *state,
				"{\"path\": \"/var/lib/restic.json\", \"source\": \"status_json\", \"array\": \"\","
				" \"time\": \"/time\", \"size\": \"/summary/total_bytes_processed\"}", &out), 0);
	tu_expect_obs(&out, 0, "/var/lib/restic.json", "size_bytes", "/var/lib/restic.json", "4096",
		      "backup /0 at 2026-11-25T10:00:00Z, newest of 3");
	probe_out_cleanup(&out);
	assert_int_equal(tu_run(&probe_backup_size, *state,
				"{\"path\": \"/var/lib/nosize.json\", \"source\": \"status_json\", \"array\": \"\","
				" \"time\": \"/time\", \"size\": \"/summary/total_bytes_processed\"}", &out), 0);
	tu_expect_obs(&out, 0, "/var/lib/nosize.json", "size_bytes", "/var/lib/nosize.json", NULL,
		      "no backup: the status has no size at /0/summary/total_bytes_processed");
	probe_out_cleanup(&out);
	tu_expect_fail(&probe_backup_size, *state,
		       "{\"path\": \"/var/lib/badsize.json\", \"source\": \"status_json\", \"time\": \"/t\","
		       " \"time_format\": \"unix\", \"size\": \"/size\"}",
		       PST_E_PARSE, "status file /var/lib/badsize.json: /size: \"4k\" is not a size in bytes (a non-negative integer)");
	assert_int_equal(tu_validate(&probe_backup_size, "{\"path\": \"/x\", \"source\": \"status_json\", \"time\": \"/t\"}", &e),
			 PST_E_INVAL);
	assert_string_equal(e.msg, "source status_json needs \"size\", a JSON pointer to the backup's size in bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
