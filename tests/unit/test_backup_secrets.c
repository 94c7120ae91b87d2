/*
 * test_backup_secrets.c - the `backup_secrets` probe: closed secrets give
 * nothing; group or other permissions and a wrong owner are reported with
 * what is wrong; a path that finds nothing is an error.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe.h"
#include "testutil.h"

extern const struct probe probe_backup_secrets;

static int setup(void **state)
{
	char *root = tu_mkdtemp(), p[PATH_MAX], passwd[256];

	/* The owner of the test's files is whoever runs it: name that uid in the root. */
	snprintf(passwd, sizeof(passwd), "root:x:0:0:root:/root:/bin/bash\nrunner:x:%u:%u::/:/bin/sh\n",
		 (unsigned)geteuid(), (unsigned)getegid());
	if (tu_write(root, "etc/passwd", passwd, 0644) < 0 ||
	    tu_write(root, "etc/restic/password", "x\n", 0600) < 0 ||
	    tu_write(root, "etc/restic/env", "x\n", 0640) < 0 ||
	    tu_write(root, "etc/borg/passphrase", "x\n", 0606) < 0 ||
	    tu_write(root, "etc/borg/key", "x\n", 0620) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/etc/restic/link", root);
	if (symlink("/etc/restic/password", p) < 0)
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

static void test_closed(void **state)
{
	struct probe_out out;

	assert_int_equal(tu_run(&probe_backup_secrets, *state,
				"{\"paths\": [\"/etc/restic/password\", \"/etc/restic/link\", \"\"], \"owners\": [\"root\", \"runner\"]}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
	/* 0640 passes when the group may read. */
	assert_int_equal(tu_run(&probe_backup_secrets, *state,
				"{\"paths\": [\"/etc/restic/*\"], \"owners\": [\"root\", \"runner\"], \"group_readable\": true}", &out), 0);
	assert_int_equal(out.n, 0);
	probe_out_cleanup(&out);
}

static void test_exposed(void **state)
{
	struct probe_out out;

	assert_int_equal(tu_run(&probe_backup_secrets, *state,
				"{\"paths\": [\"/etc/restic/*\", \"/etc/borg/*\"], \"owners\": [\"root\", \"runner\"]}", &out), 0);
	assert_int_equal(out.n, 3);
	tu_expect_str(&out, 0, "/etc/restic/env", "exposed", "/etc/restic/env", "/etc/restic/env",
		      "mode 0640: group may read");
	tu_expect_str(&out, 1, "/etc/borg/key", "exposed", "/etc/borg/key", "/etc/borg/key",
		      "mode 0620: group may write");
	tu_expect_str(&out, 2, "/etc/borg/passphrase", "exposed", "/etc/borg/passphrase", "/etc/borg/passphrase",
		      "mode 0606: others may read, write");
	probe_out_cleanup(&out);

	/* Owned by root only (the default), which the test's files are not unless run as root. */
	assert_int_equal(tu_run(&probe_backup_secrets, *state, "{\"paths\": [\"/etc/restic/password\"]}", &out), 0);
	if (geteuid() == 0) {
		assert_int_equal(out.n, 0);
	} else {
		assert_int_equal(out.n, 1);
		tu_expect_str(&out, 0, "/etc/restic/password", "exposed", "/etc/restic/password",
			      "/etc/restic/password", "owned by runner");
	}
	probe_out_cleanup(&out);
}

static void test_missing(void **state)
{
	struct pst_err e = {0};

	tu_expect_fail(&probe_backup_secrets, *state, "{\"paths\": [\"/etc/restic/nope\"]}", PST_E_NOENT,
		       "/etc/restic/nope does not exist: the policy names a backup secret that is not there");
	tu_expect_fail(&probe_backup_secrets, *state, "{\"paths\": [\"/etc/nope/*\"]}", PST_E_NOENT,
		       "no file matches /etc/nope/*: the policy names a backup secret that is not there");
	tu_expect_fail(&probe_backup_secrets, *state, "{\"paths\": [\"\"]}", PST_E_INVAL,
		       "no secret to examine: every path is empty (set the policy variable that names them)");
	assert_int_equal(tu_validate(&probe_backup_secrets, "{\"paths\": [\"etc/x\"]}", &e), PST_E_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed),
		cmocka_unit_test(test_exposed),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
