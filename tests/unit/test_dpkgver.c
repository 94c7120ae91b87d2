/*
 * test_dpkgver.c - Debian version ordering, held against the real
 * `dpkg --compare-versions` as the oracle.
 *
 * A fixed list of tricky pairs (tildes, epochs, an empty revision against
 * "-0", leading zeros, '+', '.', letters, numbers longer than any integer
 * type) and a few hundred generated ones (a fixed seed, so a failure
 * reproduces) are each compared by dpkgver and by dpkg run with fork/exec;
 * the two must agree on every pair.  Versions dpkg refuses must be refused
 * by dpkgver with the same reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "dpkgver.h"

#define DPKG "/usr/bin/dpkg"

/*
 * Run dpkg --compare-versions a op b; returns its exit status (0 true, 1
 * false, 2 bad syntax).  When err is given it receives dpkg's stderr.
 */
static int dpkg_run(const char *a, const char *op, const char *b, char *err, size_t errcap)
{
	int pipefd[2], status = 0;
	pid_t pid;
	size_t used = 0;
	char scratch[256];
	ssize_t n;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(pipefd[1], 2);
		if (devnull >= 0)
			dup2(devnull, 1);
		close(pipefd[0]);
		execl(DPKG, "dpkg", "--compare-versions", a, op, b, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	/* Drain stderr whether or not the caller keeps it. */
	while ((n = read(pipefd[0], err ? err + used : scratch,
			 err ? errcap - 1 - used : sizeof(scratch))) > 0)
		if (err != NULL)
			used += (size_t)n;
	close(pipefd[0]);
	if (err != NULL)
		err[used] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 127);
	return WEXITSTATUS(status);
}

/* dpkg's verdict on a against b: -1, 0 or 1. */
static int dpkg_cmp(const char *a, const char *b)
{
	int rc = dpkg_run(a, "lt", b, NULL, 0);

	assert_in_range(rc, 0, 1);
	if (rc == 0)
		return -1;
	rc = dpkg_run(a, "eq", b, NULL, 0);
	assert_in_range(rc, 0, 1);
	return rc == 0 ? 0 : 1;
}

static unsigned compared;

static void agree(const char *a, const char *b)
{
	int ours, theirs;

	assert_int_equal(dpkgver_compare_str(a, b, &ours), 0);
	theirs = dpkg_cmp(a, b);
	if (ours != theirs)
		fail_msg("\"%s\" vs \"%s\": dpkgver says %d, dpkg says %d", a, b, ours, theirs);
	compared++;
}

static const char *const tricky[][2] = {
	{"1.0", "1.0"}, {"1.0", "1.0-0"}, {"1.0-0", "1.0"}, {"0:1.0", "1.0"},
	{"1.0~rc1", "1.0"}, {"1.0~~", "1.0~"}, {"1.0~~a", "1.0~~"}, {"1.0~", "1.0"},
	{"1.0~rc1-1", "1.0-1"}, {"1.0-1~bpo12+1", "1.0-1"}, {"1.0+dfsg-1", "1.0-1"},
	{"1.0+b1", "1.0"}, {"1.0.1", "1.0+1"}, {"1.0a", "1.0+"}, {"1.0a", "1.0."},
	{"1.0a", "1.0"}, {"1.0A", "1.0a"}, {"1.0Z", "1.0a"}, {"1.0", "1.0."},
	{"1:0.1", "2.0"}, {"2:0", "1:9999"}, {"00:1", "0:1"}, {"001", "1"},
	{"1.001", "1.1"}, {"1.010", "1.9"}, {"0001.0002", "1.2"},
	{"99999999999999999999999999", "99999999999999999999999998"},
	{"123456789012345678901234567890", "123456789012345678901234567890"},
	{"1.123456789012345678901234567890", "1.99"},
	{"2147483647:1", "2147483646:9"}, {"1-1", "1-01"}, {"1-1.1", "1-1+1"},
	{"1-1~", "1-1"}, {"1-0", "1-00"}, {"1-a", "1-0"}, {"1-~", "1-0"}, {"1-~", "1"},
	{"7.88.1-10+deb12u5", "7.88.1-10+deb12u4"}, {"6.1.76-1", "6.1.85-1"},
	{"2.36-9+deb12u4", "2.36-9+deb12u10"}, {"1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u3"},
	{"3.0.11-1~deb12u2", "3.0.11-1~deb12u1"}, {"252.22-1~deb12u1", "252.19-1~deb12u1"},
	{"1.2.3-4ubuntu0.1", "1.2.3-4"}, {"1:2.3:4-5", "1:2.3:4-6"}, {"1:2:3", "1:2.3"},
	{"1.0-1-1", "1.0-1"}, {"1.0-a-b", "1.0-a"}, {"a1", "1a"}, {"~", "~~"},
	{"0~", "0"}, {"0", "0~~~"}, {"1..0", "1.0"}, {"1++", "1+"},
	{"+1:2", "1:2"}, {" 1.0 ", "1.0"}, {"1\t", "1"},
	{"10.0", "9.9"}, {"1.0.0~alpha", "1.0.0~beta"}, {"1.0.0~beta10", "1.0.0~beta9"},
	{"5.2.15-2+b2", "5.2.15-2+b10"}, {"1:1.2.13.dfsg-1", "1:1.2.13-1"},
	{"1.0\xc3\xa9", "1.0a"}, {"1.0\xc3\xa9", "1.0+"}, {"1.0_", "1.0a"},
};

static void test_tricky_pairs(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		agree(tricky[i][0], tricky[i][1]);
		agree(tricky[i][1], tricky[i][0]);
	}
}

/* A small deterministic generator (xorshift), so failures reproduce. */
static uint32_t rng_state = 0x2545f491u;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state % n;
}

static void append(char *buf, size_t cap, const char *s)
{
	size_t used = strlen(buf);

	snprintf(buf + used, cap - used, "%s", s);
}

static void gen_part(char *buf, size_t cap, bool revision)
{
	static const char *const seps[] = {".", ".", "+", "~", "~~", ".", "+"};
	static const char *const words[] = {"a", "b", "rc", "alpha", "dfsg", "deb", "u",
					    "bpo", "Z", "p", "ubuntu"};
	unsigned parts = 1 + rnd(4), i, k;
	char num[48];

	for (i = 0; i < parts; i++) {
		if (i > 0)
			append(buf, cap, seps[rnd(sizeof(seps) / sizeof(seps[0]))]);
		switch (rnd(6)) {
		case 0: /* a number with leading zeros */
			snprintf(num, sizeof(num), "%0*u", 1 + (int)rnd(4), rnd(20));
			append(buf, cap, num);
			break;
		case 1: /* a very long number */
			for (k = 0; k < 24 + rnd(12); k++)
				num[k] = (char)('0' + (k == 0 ? 1 + rnd(9) : rnd(10)));
			num[k] = '\0';
			append(buf, cap, num);
			break;
		case 2:
			append(buf, cap, words[rnd(sizeof(words) / sizeof(words[0]))]);
			break;
		default:
			snprintf(num, sizeof(num), "%u", rnd(12));
			append(buf, cap, num);
			break;
		}
	}
	(void)revision;
}

static void gen_version(char *buf, size_t cap)
{
	char num[16];

	buf[0] = '\0';
	if (rnd(4) == 0) {
		snprintf(num, sizeof(num), "%s%u:", rnd(3) == 0 ? "0" : "", rnd(3));
		append(buf, cap, num);
	}
	snprintf(num, sizeof(num), "%u", rnd(10));
	append(buf, cap, num); /* upstream starts with a digit, as policy asks */
	if (rnd(3) != 0)
		append(buf, cap, rnd(2) ? "." : "~");
	gen_part(buf, cap, false);
	switch (rnd(4)) {
	case 0:
		break;
	case 1:
		append(buf, cap, "-0");
		break;
	default:
		append(buf, cap, "-");
		gen_part(buf, cap, true);
		break;
	}
}

/* A near neighbour of a: the same with one change, so orderings are close. */
static void mutate(const char *a, char *buf, size_t cap)
{
	static const char *const tails[] = {"~", "~~", "+b1", ".0", "0", "a", "-0", "-1", "~rc1"};
	size_t n = strlen(a);

	snprintf(buf, cap, "%s", a);
	switch (rnd(3)) {
	case 0:
		append(buf, cap, tails[rnd(sizeof(tails) / sizeof(tails[0]))]);
		break;
	case 1:
		if (n > 1)
			buf[rnd((uint32_t)n - 1) + 1] = "0123456789.+~a"[rnd(14)];
		break;
	default:
		gen_version(buf, cap);
		break;
	}
}

static void test_generated_pairs(void **state)
{
	char a[256], b[256];
	struct dpkgver va, vb;
	unsigned i;

	(void)state;
	for (i = 0; i < 520; i++) {
		gen_version(a, sizeof(a));
		if (i % 2 == 0)
			mutate(a, b, sizeof(b));
		else
			gen_version(b, sizeof(b));
		/* A mutation may make a version dpkg refuses: that is checked below. */
		if (dpkgver_parse(&va, a, strlen(a), NULL) != 0 ||
		    dpkgver_parse(&vb, b, strlen(b), NULL) != 0 || b[0] == '-')
			continue;
		agree(a, b);
	}
	print_message("compared %u pairs with dpkg\n", compared);
	assert_true(compared >= 500);
}

/* dpkg refuses these; dpkgver must too, with dpkg's reason. */
static void test_refused_like_dpkg(void **state)
{
	static const char *const bad[] = {
		"1:", ":1", "a:1", "1-", "1 2", "1.0 -1", "1:-1", "2147483648:1",
		"99999999999999999999:1", "x1:2", "1a:2", "1.0:2",
	};
	const char *why;
	char err[512];
	struct dpkgver v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dpkg_run(bad[i], "lt", "1", err, sizeof(err)), 2);
		assert_int_equal(dpkgver_parse(&v, bad[i], strlen(bad[i]), &why), PST_E_PARSE);
		assert_non_null(why);
		if (strstr(err, why) == NULL)
			fail_msg("\"%s\": dpkgver says \"%s\", dpkg says %s", bad[i], why, err);
	}
	/* dpkg only warns about these, and compares them. */
	agree("a1", "1");
	agree("1_2", "1.2");
	agree("+0:2", "2");
}

static void test_parse_views(void **state)
{
	struct dpkgver v;
	const char *why;

	(void)state;
	assert_int_equal(dpkgver_parse(&v, "2:1.0-1-3+b1", 12, NULL), 0);
	assert_int_equal(v.epoch, 2);
	assert_int_equal(v.upstream_len, 5);
	assert_memory_equal(v.upstream, "1.0-1", 5);
	assert_int_equal(v.revision_len, 4);
	assert_memory_equal(v.revision, "3+b1", 4);
	/* The length is honoured: nothing past it is read. */
	assert_int_equal(dpkgver_parse(&v, "1.0-1XXXX", 5, NULL), 0);
	assert_int_equal(v.revision_len, 1);
	assert_int_equal(dpkgver_parse(&v, "1\0002", 3, &why), PST_E_PARSE);
	assert_int_equal(dpkgver_parse(&v, "", 0, &why), PST_E_PARSE);
	assert_string_equal(why, "version string is empty");
	{
		char big[DPKGVER_MAX_LEN + 2];

		memset(big, '1', sizeof(big));
		assert_int_equal(dpkgver_parse(&v, big, DPKGVER_MAX_LEN, NULL), 0);
		assert_int_equal(dpkgver_parse(&v, big, DPKGVER_MAX_LEN + 1, NULL), PST_E_TOOBIG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_views),
		cmocka_unit_test(test_tricky_pairs),
		cmocka_unit_test(test_refused_like_dpkg),
		cmocka_unit_test(test_generated_pairs),
	};

	if (access(DPKG, X_OK) != 0) {
		fprintf(stderr, "test_dpkgver: %s is needed as the oracle (install dpkg)\n", DPKG);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
