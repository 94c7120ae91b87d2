/* test_pam.c - the pam probe on fixture roots under probes/pam. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe.h"
#include "testutil.h"

extern const struct probe probe_pam;

static int run_on(const char *root, const char *text, struct probe_out *out)
{
	return tu_run(&probe_pam, tu_fixture("probes/pam/%s", root), text, out);
}

/* A scalar select: exactly one observation. */
static void setting(const char *root, const char *params, const char *subject,
		    const char *key, const char *location, const char *value,
		    const char *note)
{
	struct probe_out out;

	assert_int_equal(run_on(root, params, &out), 0);
	assert_int_equal(out.n, 1);
	tu_expect_str(&out, 0, subject, key, location, value, note);
	probe_out_cleanup(&out);
}

static void fails(const char *root, const char *params, int code, const char *reason)
{
	tu_expect_fail(&probe_pam, tu_fixture("probes/pam/%s", root), params, code, reason);
}

#define CP "/etc/pam.d/common-password"
#define CA "/etc/pam.d/common-auth"

static void test_pwquality_args_over_conf(void **state)
{
	(void)state;
	/* Arguments on a line continued over a comment line. */
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"minlen\"}",
		CP, "minlen", CP ":4", "14", NULL);
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"retry\"}",
		CP, "retry", CP ":4", "3", NULL);
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"dcredit\"}",
		CP, "dcredit", CP ":4", "-1", NULL);
	/* A bare flag; names compare regardless of case, as in libpwquality. */
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"ENFORCE_FOR_ROOT\"}",
		CP, "ENFORCE_FOR_ROOT", CP ":4", "true", NULL);
}

static void test_pwquality_conf(void **state)
{
	(void)state;
	/* pwquality.conf is read after pwquality.conf.d, so it wins. */
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"minclass\"}",
		CP, "minclass", "/etc/security/pwquality.conf:4", "3", NULL);
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"ocredit\"}",
		CP, "ocredit", "/etc/security/pwquality.conf.d/50-local.conf:2", "-1", NULL);
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"difok\"}",
		CP, "difok", "/etc/security/pwquality.conf.d/50-local.conf:3", "7", NULL);
	/* "name value" without '=', and an inline comment. */
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"lcredit\"}",
		CP, "lcredit", "/etc/security/pwquality.conf:7", "-1", NULL);
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"ucredit\"}",
		CP, "ucredit", "/etc/security/pwquality.conf:6", "-1", NULL);
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"maxrepeat\"}",
		CP, "maxrepeat", "/etc/security/pwquality.conf:9", "3", NULL);
	/* Not set anywhere. */
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"gecoscheck\"}",
		CP, "gecoscheck", NULL, NULL, "not set");
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"gecoscheck\", \"default\": \"0\"}",
		CP, "gecoscheck", NULL, "0", "not set; default 0");
	/* The module is not in the service: the configuration's value, with a note. */
	setting("debian", "{\"select\": \"pwquality\", \"key\": \"minclass\", \"service\": \"login\"}",
		"/etc/pam.d/login", "minclass", "/etc/security/pwquality.conf:4", "3",
		"(pam_pwquality.so not in login)");
}

static void test_pwquality_redhat(void **state)
{
	(void)state;
	/* Followed through "password include password-auth". */
	setting("redhat", "{\"select\": \"pwquality\", \"key\": \"minlen\", \"service\": \"sshd\"}",
		"/etc/pam.d/sshd", "minlen", "/etc/pam.d/password-auth:6", "12", NULL);
	setting("redhat",
		"{\"select\": \"pwquality\", \"key\": \"local_users_only\", \"service\": \"system-auth\"}",
		"/etc/pam.d/system-auth", "local_users_only", "/etc/pam.d/system-auth:10", "true", NULL);
	/* No pam_pwquality.so (su includes system-auth for auth only), no pwquality.conf. */
	setting("redhat", "{\"select\": \"pwquality\", \"key\": \"minlen\", \"service\": \"su\"}",
		"/etc/pam.d/su", "minlen", NULL, NULL, "not set (pam_pwquality.so not in su)");
	setting("redhat",
		"{\"select\": \"pwquality\", \"key\": \"minlen\", \"service\": \"su\", \"default\": \"9\"}",
		"/etc/pam.d/su", "minlen", NULL, "9",
		"not set (pam_pwquality.so not in su); default 9");
	/* The Debian default service does not exist here. */
	fails("redhat", "{\"select\": \"pwquality\", \"key\": \"minlen\"}", PST_E_NOENT,
	      "cannot read /etc/pam.d/common-password: it does not exist; set service to the PAM file that holds the stack (Red Hat systems use system-auth or password-auth)");
}

static void test_pwquality_bad_conf(void **state)
{
	(void)state;
	fails("broken", "{\"select\": \"pwquality\", \"key\": \"minclass\"}", PST_E_PARSE,
	      "/etc/security/pwquality.conf:2: unknown setting \"minlenn\": libpwquality stops reading its configuration there, so later settings are ignored; fix the line");
	fails("badconf", "{\"select\": \"pwquality\", \"key\": \"minlen\"}", PST_E_PARSE,
	      "/etc/security/pwquality.conf.d/10-bad.conf:1: minclass needs an integer: libpwquality stops reading its configuration there, so later settings are ignored; fix the line");
	/* An argument on the line still wins without reading the files. */
	setting("broken", "{\"select\": \"pwquality\", \"key\": \"retry\"}",
		CP, "retry", CP ":1", "3", NULL);
}

static void test_faillock(void **state)
{
	(void)state;
	/* The authfail line's argument beats faillock.conf's deny = 3. */
	setting("debian", "{\"select\": \"faillock\", \"key\": \"deny\"}",
		CA, "deny", CA ":4", "5", NULL);
	setting("debian", "{\"select\": \"faillock\", \"key\": \"unlock_time\"}",
		CA, "unlock_time", "/etc/security/faillock.conf:4", "900", NULL);
	setting("debian", "{\"select\": \"faillock\", \"key\": \"even_deny_root\"}",
		CA, "even_deny_root", "/etc/security/faillock.conf:5", "true", NULL);
	setting("debian", "{\"select\": \"faillock\", \"key\": \"fail_interval\"}",
		CA, "fail_interval", "/etc/security/faillock.conf:7", "900", NULL);
	/* A flag is on whatever follows it. */
	setting("debian", "{\"select\": \"faillock\", \"key\": \"audit\"}",
		CA, "audit", "/etc/security/faillock.conf:8", "true", NULL);
	setting("debian", "{\"select\": \"faillock\", \"key\": \"root_unlock_time\"}",
		CA, "root_unlock_time", NULL, NULL, "not set");
	/* deny from the configuration only. */
	setting("redhat", "{\"select\": \"faillock\", \"key\": \"deny\", \"service\": \"system-auth\"}",
		"/etc/pam.d/system-auth", "deny", "/etc/security/faillock.conf:2", "7", NULL);
	/* Two lines disagree: the first in the stack wins, the note names the other. */
	setting("redhat", "{\"select\": \"faillock\", \"key\": \"deny\", \"service\": \"sshd\"}",
		"/etc/pam.d/sshd", "deny", "/etc/pam.d/password-auth:2", "4",
		"also set to \"6\" at /etc/pam.d/password-auth:4");
	/* conf= names the file. */
	setting("broken", "{\"select\": \"faillock\", \"key\": \"unlock_time\", \"service\": \"faillockcustom\"}",
		"/etc/pam.d/faillockcustom", "unlock_time", "/etc/security/faillock-custom.conf:1", "0", NULL);
	fails("broken", "{\"select\": \"faillock\", \"key\": \"deny\", \"service\": \"faillockconf\"}",
	      PST_E_NOENT,
	      "/etc/pam.d/faillockconf:1: conf=/etc/security/nothere.conf does not exist; pam_faillock fails on this line");
}

struct want {
	const char *location, *value, *note;
};

static void module(const char *root, const char *params, const char *subject,
		   const char *key, const struct want *w, size_t n)
{
	struct probe_out out;
	size_t i;

	assert_int_equal(run_on(root, params, &out), 0);
	assert_int_equal(out.n, n);
	for (i = 0; i < n; i++)
		tu_expect_str(&out, i, subject, key, w[i].location, w[i].value, w[i].note);
	probe_out_cleanup(&out);
}

static void test_module(void **state)
{
	static const struct want faillock[] = {
		{CA ":2", "required", "auth required pam_faillock.so preauth silent"},
		{CA ":4", "[default=die]", "auth [default=die] pam_faillock.so authfail deny=5"},
		{CA ":5", "sufficient", "auth sufficient pam_faillock.so authsucc"},
		{"/etc/pam.d/common-account:4", "required", "account required pam_faillock.so"},
	};
	static const struct want selinux[] = {
		{"/etc/pam.d/sshd:5", "[success=ok ignore=ignore module_unknown=ignore default=bad]",
		 "session [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so close"},
	};
	static const struct want systemd[] = {
		{"/etc/pam.d/sshd:6", "optional", "-session optional pam_systemd.so"},
	};
	static const struct want unix_[] = {
		{CA ":3", "[success=1 default=ignore]", "auth [success=1 default=ignore] pam_unix.so nullok"},
		{"/etc/pam.d/common-account:1", "[success=1 new_authtok_reqd=done default=ignore]",
		 "account [success=1 new_authtok_reqd=done default=ignore] /lib/x86_64-linux-gnu/security/pam_unix.so"},
		{CP ":8", "[success=1 default=ignore]",
		 "password [success=1 default=ignore] pam_unix.so obscure use_authtok try_first_pass yescrypt"},
	};

	(void)state;
	module("debian", "{\"select\": \"module\", \"service\": \"sshd\", \"module\": \"pam_faillock.so\"}",
	       "/etc/pam.d/sshd", "pam_faillock.so", faillock, 4);
	module("debian",
	       "{\"select\": \"module\", \"service\": \"sshd\", \"module\": \"pam_faillock.so\", \"type\": \"account\"}",
	       "/etc/pam.d/sshd", "pam_faillock.so", faillock + 3, 1);
	module("debian", "{\"select\": \"module\", \"service\": \"sshd\", \"module\": \"pam_selinux.so\"}",
	       "/etc/pam.d/sshd", "pam_selinux.so", selinux, 1);
	module("debian", "{\"select\": \"module\", \"service\": \"sshd\", \"module\": \"pam_systemd.so\"}",
	       "/etc/pam.d/sshd", "pam_systemd.so", systemd, 1);
	/* Matched by file name, also when the line gives a full path. */
	module("debian", "{\"select\": \"module\", \"service\": \"sshd\", \"module\": \"pam_unix.so\"}",
	       "/etc/pam.d/sshd", "pam_unix.so", unix_, 3);
	module("debian",
	       "{\"select\": \"module\", \"service\": \"sshd\", \"module\": \"/usr/lib/security/pam_unix.so\","
	       " \"type\": \"account\"}",
	       "/etc/pam.d/sshd", "/usr/lib/security/pam_unix.so", unix_ + 1, 1);
	/* Unused: no observation. */
	module("debian", "{\"select\": \"module\", \"service\": \"sshd\", \"module\": \"pam_tally2.so\"}",
	       "/etc/pam.d/sshd", "pam_tally2.so", NULL, 0);
}

static void test_module_includes(void **state)
{
	static const struct want faillock[] = {
		{"/etc/pam.d/password-auth:2", "required",
		 "auth required pam_faillock.so preauth silent deny=4"},
		{"/etc/pam.d/password-auth:4", "required",
		 "auth required pam_faillock.so authfail deny=6"},
		{"/usr/lib/pam.d/postlogin:2", "optional", "auth optional pam_faillock.so authsucc"},
		{"/etc/pam.d/password-auth:5", "required", "account required pam_faillock.so"},
	};
	static const struct want args[] = {
		{"/etc/pam.d/bracketargs:2", "required", "auth required pam_unix.so a]b c"},
	};

	(void)state;
	/* substack and include take only their type's lines; postlogin from /usr/lib/pam.d. */
	module("redhat", "{\"select\": \"module\", \"service\": \"sshd\", \"module\": \"pam_faillock.so\"}",
	       "/etc/pam.d/sshd", "pam_faillock.so", faillock, 4);
	/* postlogin's session line is not included (auth include). */
	module("redhat", "{\"select\": \"module\", \"service\": \"sshd\", \"module\": \"pam_umask.so\"}",
	       "/etc/pam.d/sshd", "pam_umask.so", NULL, 0);
	/* "[...]" is one argument, "\]" a literal ']'. */
	module("broken", "{\"select\": \"module\", \"service\": \"bracketargs\", \"module\": \"pam_unix.so\"}",
	       "/etc/pam.d/bracketargs", "pam_unix.so", args, 1);
	fails("broken", "{\"select\": \"faillock\", \"key\": \"deny\", \"service\": \"bracketargs\"}",
	      PST_E_NOENT,
	      "/etc/pam.d/bracketargs:1: conf=/etc/x y does not exist; pam_faillock fails on this line");
}

static void test_malformed(void **state)
{
	(void)state;
	fails("broken", "{\"select\": \"module\", \"service\": \"badtype\", \"module\": \"pam_unix.so\"}",
	      PST_E_PARSE,
	      "/etc/pam.d/badtype:2: unknown type \"auht\" (auth, account, password or session); PAM fails the whole stack on this line");
	fails("broken", "{\"select\": \"module\", \"service\": \"nomodule\", \"module\": \"pam_unix.so\"}",
	      PST_E_PARSE,
	      "/etc/pam.d/nomodule:2: no module after the control; PAM fails the whole stack on this line");
	fails("broken", "{\"select\": \"module\", \"service\": \"openbracket\", \"module\": \"pam_unix.so\"}",
	      PST_E_PARSE, "/etc/pam.d/openbracket:1: '[' without its ']'; fix the line");
	fails("broken", "{\"select\": \"module\", \"service\": \"loop\", \"module\": \"pam_unix.so\"}",
	      PST_E_LIMIT,
	      "/etc/pam.d/loop:1: includes nest deeper than 8 files (an include loop?); fix the PAM configuration");
	fails("broken", "{\"select\": \"module\", \"service\": \"missinginc\", \"module\": \"pam_unix.so\"}",
	      PST_E_NOENT,
	      "/etc/pam.d/missinginc:1: includes /etc/pam.d/nothere, which does not exist; PAM fails the whole stack");
	fails("broken", "{\"select\": \"module\", \"service\": \"contend\", \"module\": \"pam_unix.so\"}",
	      PST_E_PARSE,
	      "/etc/pam.d/contend:1: the file ends inside a line continued with '\\'; fix the file");
	fails("broken", "{\"select\": \"module\", \"service\": \"nothere\", \"module\": \"pam_unix.so\"}",
	      PST_E_NOENT,
	      "cannot read /etc/pam.d/nothere: it does not exist; set service to the PAM file that holds the stack (Red Hat systems use system-auth or password-auth)");
}

static void expect_invalid(const char *text, const char *msg)
{
	struct pst_err e = {0};

	assert_int_equal(tu_validate(&probe_pam, text, &e), PST_E_INVAL);
	assert_string_equal(e.msg, msg);
}

static void test_validate(void **state)
{
	(void)state;
	expect_invalid("{\"select\": \"pwquality\"}",
		       "select \"pwquality\" needs key, the setting to read, e.g. \"minlen\"");
	expect_invalid("{\"select\": \"faillock\"}",
		       "select \"faillock\" needs key, the setting to read, e.g. \"deny\"");
	expect_invalid("{\"select\": \"faillock\", \"key\": \"deny=3\"}",
		       "key \"deny=3\" is not a setting name (letters, digits and '_')");
	expect_invalid("{\"select\": \"module\", \"service\": \"sshd\"}",
		       "select \"module\" needs module, e.g. \"pam_faillock.so\"");
	expect_invalid("{\"select\": \"module\", \"module\": \"pam_unix.so\"}",
		       "select \"module\" needs service, the file in /etc/pam.d to read, e.g. \"sshd\"");
	expect_invalid("{\"select\": \"module\", \"module\": \"pam_unix.so\", \"service\": \"sshd\", \"key\": \"x\"}",
		       "key applies to select \"pwquality\" and \"faillock\" only");
	expect_invalid("{\"select\": \"pwquality\", \"key\": \"minlen\", \"module\": \"pam_unix.so\"}",
		       "module applies to select \"module\" only (select \"pwquality\" reads pam_pwquality.so)");
	expect_invalid("{\"select\": \"pwquality\", \"key\": \"minlen\", \"type\": \"auth\"}",
		       "type applies to select \"module\" only");
	expect_invalid("{\"select\": \"pwquality\", \"key\": \"minlen\", \"service\": \"../shadow\"}",
		       "service \"../shadow\" must be a file name in /etc/pam.d (no '/' or white space), e.g. \"sshd\"");
	expect_invalid("{\"select\": \"pwquality\", \"key\": \"minlen\", \"service\": \"..\"}",
		       "service \"..\" is not a file name in /etc/pam.d");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pwquality_args_over_conf),
		cmocka_unit_test(test_pwquality_conf),
		cmocka_unit_test(test_pwquality_redhat),
		cmocka_unit_test(test_pwquality_bad_conf),
		cmocka_unit_test(test_faillock),
		cmocka_unit_test(test_module),
		cmocka_unit_test(test_module_includes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
