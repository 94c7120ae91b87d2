/*
 * test_kernel_current.c - the running kernel against the installed
 * linux-image packages of a dpkg root.
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

extern const struct probe probe_kernel_current;

#define OSREL "/proc/sys/kernel/osrelease"

static char *make_root(const char *running, char *status)
{
	char *root = tu_mkdtemp();

	pr_write_take(root, "var/lib/dpkg/status", status);
	if (running != NULL)
		pr_write(root, "proc/sys/kernel/osrelease", running);
	return root;
}

static void done(char *root)
{
	tu_rmrf(root);
	free(root);
}

static void test_current_and_old(void **state)
{
	struct probe_out out;
	char *root;

	(void)state;
	root = make_root("6.1.0-28-amd64\n",
			 pr_cat(pr_stanza("linux-image-6.1.0-27-amd64", "6.1.115-1", "amd64", NULL),
				pr_stanza("linux-image-6.1.0-28-amd64", "6.1.119-1", "amd64", NULL),
				pr_stanza("linux-image-amd64", "6.1.119-1", "amd64", NULL), NULL));
	assert_int_equal(tu_run(&probe_kernel_current, root, "{}", &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_obs(&out, 0, "6.1.0-28-amd64", "newest_installed", OSREL, "true",
		      "running 6.1.0-28-amd64 is the newest installed kernel (linux-image-6.1.0-28-amd64 6.1.119-1, /var/lib/dpkg/status:11)");
	probe_out_cleanup(&out);
	done(root);

	/* The newer image sorts before the running one by name; versions decide. */
	root = make_root("6.1.0-9-amd64\n",
			 pr_cat(pr_stanza("linux-image-6.1.0-10-amd64", "6.1.38-1", "amd64", NULL),
				pr_stanza("linux-image-6.1.0-9-amd64-unsigned", "6.1.27-1", "amd64", NULL), NULL));
	assert_int_equal(tu_run(&probe_kernel_current, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, "6.1.0-9-amd64", "newest_installed", OSREL, "false",
		      "running 6.1.0-9-amd64 (linux-image-6.1.0-9-amd64-unsigned 6.1.27-1) but linux-image-6.1.0-10-amd64 6.1.38-1 is installed (/var/lib/dpkg/status:1): reboot into it");
	probe_out_cleanup(&out);
	done(root);

	/* The running kernel's package was removed. */
	root = make_root("6.1.0-9-amd64",
			 pr_cat(pr_stanza("linux-image-6.1.0-10-amd64", "6.1.38-1", "amd64", NULL),
				pr_stanza("linux-image-6.1.0-9-amd64", "6.1.27-1", "amd64", "deinstall ok config-files"), NULL));
	assert_int_equal(tu_run(&probe_kernel_current, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, "6.1.0-9-amd64", "newest_installed", OSREL, "false",
		      "running 6.1.0-9-amd64, whose package is no longer installed; newest installed linux-image-6.1.0-10-amd64 6.1.38-1 (/var/lib/dpkg/status:1): reboot into it");
	probe_out_cleanup(&out);
	done(root);
}

static void test_absent_cases(void **state)
{
	struct probe_out out;
	char *root;

	(void)state;
	root = make_root(NULL, pr_cat(pr_stanza("linux-image-6.1.0-28-amd64", "6.1.119-1", "amd64", NULL), NULL));
	assert_int_equal(tu_run(&probe_kernel_current, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, "running kernel", "newest_installed", OSREL, NULL,
		      "/proc/sys/kernel/osrelease does not exist: no running kernel (an image)");
	probe_out_cleanup(&out);
	done(root);
	root = make_root("6.18.0-container\n", pr_cat(pr_stanza("bash", "5.2", "amd64", NULL),
						     pr_stanza("linux-image-amd64", "6.1.119-1", "amd64", NULL), NULL));
	assert_int_equal(tu_run(&probe_kernel_current, root, "{}", &out), 0);
	tu_expect_obs(&out, 0, "6.18.0-container", "newest_installed", OSREL, NULL,
		      "running 6.18.0-container; no kernel package installed (dpkg database): a container?");
	probe_out_cleanup(&out);
	done(root);
	root = make_root("\n", pr_cat(pr_stanza("bash", "5.2", "amd64", NULL), NULL));
	tu_expect_fail(&probe_kernel_current, root, "{}", PST_E_PARSE,
		       "cannot read /proc/sys/kernel/osrelease: no kernel release in it");
	done(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_current_and_old),
		cmocka_unit_test(test_absent_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
