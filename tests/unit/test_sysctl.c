/* test_sysctl.c - the sysctl probe on fixture roots under probes/sysctl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe.h"
#include "testutil.h"

extern const struct probe probe_sysctl;

/* Parameters {"key": key} and, unless NULL, "source": source, as JSON text (heap). */
static char *params(const char *key, const char *source)
{
	json_t *p = json_pack("{s:s}", "key", key);
	char *text;

	assert_non_null(p);
	if (source != NULL)
		assert_int_equal(json_object_set_new(p, "source", json_string(source)), 0);
	text = json_dumps(p, 0);
	assert_non_null(text);
	json_decref(p);
	return text;
}

/* Validate and run on a root directory (a host path). */
static int run_at(const char *dir, const char *key, const char *source,
		  struct probe_out *out)
{
	char *text = params(key, source);
	int rc = tu_run(&probe_sysctl, dir, text, out);

	free(text);
	return rc;
}

static int run_on(const char *root, const char *key, const char *source,
		  struct probe_out *out)
{
	return run_at(tu_fixture("probes/sysctl/%s", root), key, source, out);
}

/* Exactly one observation, with these fields (value NULL: absent). */
static void expect_obs(const struct probe_out *out, const char *subject,
		       const char *key, const char *location, const char *value,
		       const char *note)
{
	assert_int_equal(out->n, 1);
	tu_expect_str(out, 0, subject, key, location, value, note);
}

static void live(const char *key, const char *path, const char *value,
		 const char *note)
{
	struct probe_out out;

	assert_int_equal(run_on("live", key, "live", &out), 0);
	expect_obs(&out, path, key, path, value, note);
	probe_out_cleanup(&out);
}

static void test_live(void **state)
{
	(void)state;
	live("net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward", "0", NULL);
	live("net/ipv4/ip_forward", "/proc/sys/net/ipv4/ip_forward", "0", NULL);
	/* Several values separated by tabs: one space each, no newline. */
	live("kernel.printk", "/proc/sys/kernel/printk", "4 4 1 7", NULL);
	live("net.ipv4.tcp_rmem", "/proc/sys/net/ipv4/tcp_rmem", "4096 131072 6291456", NULL);
	live("kernel.core_pattern_empty", "/proc/sys/kernel/core_pattern_empty", "", NULL);
	/* An interface name with a dot, in both spellings. */
	live("net/ipv4/conf/eth0.100/rp_filter",
	     "/proc/sys/net/ipv4/conf/eth0.100/rp_filter", "2", NULL);
	live("net.ipv4.conf.eth0/100.rp_filter",
	     "/proc/sys/net/ipv4/conf/eth0.100/rp_filter", "2", NULL);
	/* Unknown key, and a path through a file. */
	live("net.ipv6.conf.all.disable_ipv6", "/proc/sys/net/ipv6/conf/all/disable_ipv6",
	     NULL, "not present in /proc/sys (module not loaded or key unknown)");
	live("net.ipv4.ip_forward.x", "/proc/sys/net/ipv4/ip_forward/x",
	     NULL, "not present in /proc/sys (module not loaded or key unknown)");
}

static void test_live_errors(void **state)
{
	struct probe_out out;

	(void)state;
	/* A directory, not a key. */
	assert_int_equal(run_on("live", "net.ipv4", "live", &out), PST_E_INVAL);
	assert_int_equal(out.n, 0);
	assert_string_equal(out.reason, "cannot read /proc/sys/net/ipv4: not a regular file");
	probe_out_cleanup(&out);

	/* A root without /proc: an error, not "not present". */
	assert_int_equal(run_on("noproc", "net.ipv4.ip_forward", "live", &out), PST_E_NOENT);
	assert_int_equal(out.n, 0);
	assert_string_equal(out.reason,
			    "cannot read /proc/sys/net/ipv4/ip_forward: /proc/sys is not there (a root without /proc mounted); use source \"persisted\" for an image");
	probe_out_cleanup(&out);
}

static void persisted(const char *key, const char *subject, const char *location,
		      const char *value, const char *note)
{
	struct probe_out out;

	assert_int_equal(run_on("persisted", key, "persisted", &out), 0);
	expect_obs(&out, subject, key, location, value, note);
	probe_out_cleanup(&out);
}

static void test_persisted_order(void **state)
{
	(void)state;
	persisted("net.ipv4.ip_forward", "/etc/sysctl.d/10-a.conf",
		  "/etc/sysctl.d/10-a.conf:2", "0", NULL);
	persisted("net/ipv4/ip_forward", "/etc/sysctl.d/10-a.conf",
		  "/etc/sysctl.d/10-a.conf:2", "0", NULL);
	persisted("net.ipv4.tcp_rmem", "/etc/sysctl.d/10-a.conf",
		  "/etc/sysctl.d/10-a.conf:4", "4096 87380 6291456", NULL);
	/* "-key = value": the '-' only means "ignore errors". */
	persisted("kernel.unknown_key", "/etc/sysctl.d/10-a.conf",
		  "/etc/sysctl.d/10-a.conf:3", "1", NULL);
	/* /etc/sysctl.d/10-a.conf hides /usr/lib/sysctl.d/10-a.conf entirely. */
	persisted("kernel.kptr_restrict", "/usr/lib/sysctl.d/50-default.conf",
		  "/usr/lib/sysctl.d/50-default.conf:2", "1", NULL);
	persisted("fs.suid_dumpable", "/etc/sysctl.d", NULL, NULL,
		  "not set in sysctl.conf or sysctl.d");
	/* /run hides /usr/local/lib. */
	persisted("vm.swappiness", "/run/sysctl.d/60-run.conf",
		  "/run/sysctl.d/60-run.conf:1", "10", NULL);
	/* Sorted by name across directories: 99-zz.conf after /lib's 70-lib.conf. */
	persisted("kernel.dmesg_restrict", "/etc/sysctl.d/99-zz.conf",
		  "/etc/sysctl.d/99-zz.conf:1", "0", NULL);
	/* /etc/sysctl.conf last; hidden and non-.conf files are not read. */
	persisted("kernel.randomize_va_space", "/etc/sysctl.conf",
		  "/etc/sysctl.conf:5", "2", NULL);
	persisted("net/ipv4/conf/eth0.100/accept_redirects", "/usr/lib/sysctl.d/50-default.conf",
		  "/usr/lib/sysctl.d/50-default.conf:7", "0", NULL);
	persisted("net.ipv4.conf.eth0/100.accept_redirects", "/usr/lib/sysctl.d/50-default.conf",
		  "/usr/lib/sysctl.d/50-default.conf:7", "0", NULL);
	persisted("net.ipv4.conf.eth0.accept_redirects", "/etc/sysctl.d", NULL, NULL,
		  "not set in sysctl.conf or sysctl.d");
}

static void test_persisted_globs(void **state)
{
	(void)state;
	/* An exact assignment beats any glob. */
	persisted("net.ipv4.conf.default.rp_filter", "/usr/lib/sysctl.d/50-default.conf",
		  "/usr/lib/sysctl.d/50-default.conf:3", "2", NULL);
	/* The glob reassigned later with another value wins. */
	persisted("net.ipv4.conf.eth1.rp_filter", "/etc/sysctl.d/60-glob.conf",
		  "/etc/sysctl.d/60-glob.conf:1", "1",
		  "set by the glob assignment net.ipv4.conf.*.rp_filter");
	/* "-key" keeps globs off the key: not set. */
	persisted("net.ipv4.conf.all.rp_filter", "/etc/sysctl.d", NULL, NULL,
		  "not set in sysctl.conf or sysctl.d (kept from glob assignments by \"-net.ipv4.conf.all.rp_filter\" at /usr/lib/sysctl.d/50-default.conf:5)");
	/* '*' does not cross a component. */
	persisted("net.ipv4.conf.eth0.100.rp_filter", "/etc/sysctl.d", NULL, NULL,
		  "not set in sysctl.conf or sysctl.d");
}

static void test_persisted_malformed(void **state)
{
	struct probe_out out;

	(void)state;
	assert_int_equal(run_on("malformed", "net.ipv4.ip_forward", "persisted", &out),
			 PST_E_PARSE);
	assert_int_equal(out.n, 0);
	assert_string_equal(out.reason,
			    "/etc/sysctl.d/20-bad.conf:2: not a key = value assignment (systemd-sysctl ignores this line); fix or remove it");
	probe_out_cleanup(&out);

	assert_int_equal(run_on("nokey", "kernel.a", "persisted", &out), PST_E_PARSE);
	assert_string_equal(out.reason,
			    "/etc/sysctl.d/20-bad.conf:2: no key before '='; fix or remove the line");
	probe_out_cleanup(&out);

	/* Nothing at all: not set. */
	assert_int_equal(run_on("noproc", "kernel.a", "persisted", &out), 0);
	expect_obs(&out, "/etc/sysctl.d", "kernel.a", NULL, NULL,
		   "not set in sysctl.conf or sysctl.d");
	probe_out_cleanup(&out);
}

/* Links cannot live in the fixture tree reliably: build this root at test time. */
static void test_persisted_links(void **state)
{
	char *root = tu_mkdtemp(), path[4096];
	struct probe_out out;

	(void)state;
	assert_int_equal(tu_write(root, "usr/lib/sysctl.d/50-default.conf",
				  "kernel.kptr_restrict = 1\nkernel.yama.ptrace_scope = 1\n", 0644), 0);
	assert_int_equal(tu_write(root, "usr/lib/sysctl.d/30-gone.conf", "kernel.gone = 1\n", 0644), 0);
	assert_int_equal(tu_write(root, "usr/lib/sysctl.d/40-empty.conf", "kernel.empty = 1\n", 0644), 0);
	assert_int_equal(tu_write(root, "etc/sysctl.d/40-empty.conf", "", 0644), 0);
	assert_int_equal(tu_write(root, "etc/sysctl.conf",
				  "kernel.sysrq = 2\nvm.overcommit_memory = 1\n", 0644), 0);
	assert_int_equal(tu_write(root, "etc/sysctl.d/99-zz.conf", "kernel.sysrq = 3\n", 0644), 0);
	/* Masked by a link to /dev/null (which the root does not even hold). */
	snprintf(path, sizeof(path), "%s/etc/sysctl.d/50-default.conf", root);
	assert_int_equal(symlink("/dev/null", path), 0);
	/* A dangling link hides the same name and sets nothing. */
	snprintf(path, sizeof(path), "%s/etc/sysctl.d/30-gone.conf", root);
	assert_int_equal(symlink("/nonexistent/30-gone.conf", path), 0);
	/* Debian's link to sysctl.conf: read in its place, not again at the end. */
	snprintf(path, sizeof(path), "%s/etc/sysctl.d/99-sysctl.conf", root);
	assert_int_equal(symlink("../sysctl.conf", path), 0);

	assert_int_equal(run_at(root, "kernel.kptr_restrict", "persisted", &out), 0);
	expect_obs(&out, "/etc/sysctl.d", "kernel.kptr_restrict", NULL, NULL,
		   "not set in sysctl.conf or sysctl.d");
	probe_out_cleanup(&out);
	assert_int_equal(run_at(root, "kernel.gone", "persisted", &out), 0);
	expect_obs(&out, "/etc/sysctl.d", "kernel.gone", NULL, NULL,
		   "not set in sysctl.conf or sysctl.d");
	probe_out_cleanup(&out);
	assert_int_equal(run_at(root, "kernel.empty", "persisted", &out), 0);
	expect_obs(&out, "/etc/sysctl.d", "kernel.empty", NULL, NULL,
		   "not set in sysctl.conf or sysctl.d");
	probe_out_cleanup(&out);
	assert_int_equal(run_at(root, "kernel.sysrq", "persisted", &out), 0);
	expect_obs(&out, "/etc/sysctl.d/99-zz.conf", "kernel.sysrq",
		   "/etc/sysctl.d/99-zz.conf:1", "3", NULL);
	probe_out_cleanup(&out);
	assert_int_equal(run_at(root, "vm.overcommit_memory", "persisted", &out), 0);
	expect_obs(&out, "/etc/sysctl.d/99-sysctl.conf", "vm.overcommit_memory",
		   "/etc/sysctl.d/99-sysctl.conf:2", "1", NULL);
	probe_out_cleanup(&out);

	tu_rmrf(root);
	free(root);
}

static void expect_invalid(const char *key, const char *msg)
{
	struct pst_err e = {0};
	char *text = params(key, NULL);

	assert_int_equal(tu_validate(&probe_sysctl, text, &e), PST_E_INVAL);
	assert_string_equal(e.msg, msg);
	free(text);
}

static void test_validate(void **state)
{
	(void)state;
	expect_invalid("", "key must not be empty");
	expect_invalid("net.ipv4.conf.*.rp_filter",
		       "key \"net.ipv4.conf.*.rp_filter\": glob patterns are not supported; name one key, e.g. net.ipv4.conf.all.rp_filter (glob assignments in sysctl.d still count for it)");
	expect_invalid("/proc/sys/net/ipv4/ip_forward",
		       "key \"/proc/sys/net/ipv4/ip_forward\" must not start with '/'; write it relative to /proc/sys, e.g. net.ipv4.ip_forward");
	expect_invalid("net/../../etc/shadow",
		       "key \"net/../../etc/shadow\" has an empty or relative component");
	expect_invalid("net..ipv4", "key \"net..ipv4\" has an empty or relative component");
	expect_invalid("net.ipv4.", "key \"net.ipv4.\" has an empty or relative component");
	expect_invalid("net/./ipv4", "key \"net/./ipv4\" has an empty or relative component");
	expect_invalid("net.ipv4 ip_forward",
		       "key \"net.ipv4 ip_forward\" holds ' '; use letters, digits, '_', '-', '.' and '/' only");
	expect_invalid("-net.ipv4.ip_forward",
		       "key \"-net.ipv4.ip_forward\" must not start with '-' (that is sysctl.d syntax for ignoring errors)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_live_errors),
		cmocka_unit_test(test_persisted_order),
		cmocka_unit_test(test_persisted_globs),
		cmocka_unit_test(test_persisted_malformed),
		cmocka_unit_test(test_persisted_links),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
