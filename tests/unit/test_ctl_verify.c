/*
 * test_ctl_verify.c - posturectl's offline verification of snapshot files
 * (ctl/verify.c): a sealed file verifies, one after another with
 * --previous, a directory as a chain; and each break names the file and
 * the step: a changed byte, another key, a missing snapshot, the wrong
 * order, a duplicated seq, two collectors.
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
#include <openssl/evp.h>

#include "evsig.h"
#include "testutil.h"
#include "verify.h"

static char *dir;
static EVP_PKEY *key, *other;
static char shas[8][65];

static json_t *snapshot(uint64_t seq, const char *prev, const char *collector)
{
	char id[32], at[32];

	snprintf(id, sizeof(id), "ev-%08llu", (unsigned long long)seq);
	snprintf(at, sizeof(at), "2026-11-25T16:%02u:00Z", (unsigned)seq);
	return json_pack("{s:s,s:s,s:I,s:s?,s:s,s:{s:s},s:{s:s},s:[{s:s}],s:{s:f}}", "format",
			 EVSIG_SNAPSHOT_FORMAT, "id", id, "seq", (json_int_t)seq, "previous_sha256",
			 prev, "taken_at", at, "taken_by", "kind", "schedule", "collector", "id",
			 collector, "hosts", "id", "web-01", "metrics", "score", 87.5);
}

/* Seal snapshot seq (linked to shas[seq-1]) into dir/name. */
static void seal_to(uint64_t seq, const char *name, EVP_PKEY *k, const char *collector)
{
	json_t *s = snapshot(seq, seq > 1 ? shas[seq - 1] : NULL, collector);
	struct pst_err e = {0};
	char *env = NULL;
	size_t len = 0;

	assert_int_equal(evsig_seal(s, k, EVSIG_MAX_BYTES, &env, &len, shas[seq], &e), 0);
	env[len] = '\0';
	assert_int_equal(tu_write(dir, name, env, 0644), 0);
	free(env);
	json_decref(s);
}

static const char *p(const char *rel)
{
	static char buf[2][4096];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel);
	return buf[i];
}

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return key && other ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmrf(dir);
	free(dir);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	return 0;
}

static FILE *sink(void)
{
	FILE *f = fopen("/dev/null", "w");

	assert_non_null(f);
	return f;
}

static void expect(int rc, const struct pst_err *e, const char *a, const char *b)
{
	assert_int_equal(rc, PST_E_INVAL);
	if (strstr(e->msg, a) == NULL || (b != NULL && strstr(e->msg, b) == NULL))
		fail_msg("expected \"%s\" and \"%s\" in: %s", a, b ? b : "", e->msg);
}

static void test_one_and_previous(void **state)
{
	(void)state;
	struct pst_err e = {0};
	FILE *out = sink();
	char *buf = NULL;
	size_t len = 0;

	seal_to(1, "c/1.json", key, "c1");
	seal_to(2, "c/2.json", key, "c1");
	assert_int_equal(verify_file(p("c/1.json"), NULL, key, out, &e), 0);
	assert_int_equal(verify_file(p("c/2.json"), p("c/1.json"), key, out, &e), 0);
	/* The wrong order: 1 given 2 as its previous. */
	expect(verify_file(p("c/1.json"), p("c/2.json"), key, out, &e), &e, "c/1.json", "step 6");
	/* Another key. */
	expect(verify_file(p("c/1.json"), NULL, other, out, &e), &e, "c/1.json", "step 3");
	/* One byte changed inside the snapshot: the hash fails (the file stays canonical). */
	{
		FILE *f = fopen(p("c/2.json"), "r");
		char txt[8192];

		assert_non_null(f);
		len = fread(txt, 1, sizeof(txt) - 1, f);
		fclose(f);
		txt[len] = '\0';
		buf = strstr(txt, "web-01");
		assert_non_null(buf);
		buf[5] = '2';
		assert_int_equal(tu_write(dir, "bad/2.json", txt, 0644), 0);
		expect(verify_file(p("bad/2.json"), NULL, key, out, &e), &e, "bad/2.json", "step 4");
		/* Cut short: not JSON. */
		txt[len / 2] = '\0';
		assert_int_equal(tu_write(dir, "bad/cut.json", txt, 0644), 0);
		expect(verify_file(p("bad/cut.json"), NULL, key, out, &e), &e, "bad/cut.json", "step 1");
	}
	fclose(out);
}

static void test_chain(void **state)
{
	(void)state;
	struct pst_err e = {0};
	FILE *out = sink();

	for (uint64_t i = 1; i <= 4; i++) {
		char n[64];

		snprintf(n, sizeof(n), "chain/ev-%08llu.json", (unsigned long long)i);
		seal_to(i, n, key, "c1");
	}
	assert_int_equal(verify_chain(p("chain"), key, out, &e), 0);
	/* With another key, the first file fails. */
	expect(verify_chain(p("chain"), other, out, &e), &e, "step 3", NULL);
	/* A duplicate seq. */
	{
		char cmd[8192];

		snprintf(cmd, sizeof(cmd), "cp %s %s", p("chain/ev-00000002.json"), p("chain/copy.json"));
		assert_int_equal(system(cmd), 0);
		expect(verify_chain(p("chain"), key, out, &e), &e, "seq 2 appears twice", NULL);
		unlink(p("chain/copy.json"));
	}
	/* A gap. */
	assert_int_equal(rename(p("chain/ev-00000003.json"), p("ev3")), 0);
	expect(verify_chain(p("chain"), key, out, &e), &e, "seq 3 is missing", "step 7");
	assert_int_equal(rename(p("ev3"), p("chain/ev-00000003.json")), 0);
	/* A chain that starts later verifies, and says so. */
	assert_int_equal(rename(p("chain/ev-00000001.json"), p("ev1")), 0);
	assert_int_equal(verify_chain(p("chain"), key, out, &e), 0);
	/* An empty directory is not a chain. */
	assert_int_equal(tu_write(dir, "empty/readme.txt", "x", 0644), 0);
	assert_int_equal(verify_chain(p("empty"), key, out, &e), PST_E_NOENT);
	fclose(out);
}

static void test_two_collectors(void **state)
{
	(void)state;
	struct pst_err e = {0};
	FILE *out = sink();

	seal_to(1, "two/1.json", key, "c1");
	seal_to(2, "two/2.json", key, "c2");
	expect(verify_chain(p("two"), key, out, &e), &e, "collector", "step 7");
	fclose(out);
}

static void test_snapshot_sha(void **state)
{
	(void)state;
	struct pst_err e = {0};
	char hex[65];
	char *buf = NULL;
	size_t len = 0;
	json_t *s = snapshot(1, NULL, "c1");
	char sha[65];

	assert_int_equal(evsig_seal(s, key, EVSIG_MAX_BYTES, &buf, &len, sha, &e), 0);
	assert_int_equal(evsig_snapshot_sha256(buf, len, hex, &e), 0);
	assert_string_equal(hex, sha);
	assert_int_equal(evsig_snapshot_sha256(buf, len - 1, hex, &e), PST_E_PARSE);
	assert_int_equal(evsig_snapshot_sha256("{}", 2, hex, &e), PST_E_PARSE);
	free(buf);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_and_previous),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_two_collectors),
		cmocka_unit_test(test_snapshot_sha),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
