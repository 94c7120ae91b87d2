/*
 * test_evsig.c - sealing and verifying evidence envelopes (common/evsig.c,
 * docs/evidence.md): a sealed snapshot verifies, its envelope is canonical,
 * OpenSSL's own command line accepts the signature, and each kind of
 * tampering fails at the step that names it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "canon.h"
#include "evsig.h"
#include "testutil.h"

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	assert_non_null(k);
	return k;
}

static json_t *snapshot(uint64_t seq, const char *prev, const char *taken_at)
{
	char id[32];

	snprintf(id, sizeof(id), "ev-%08llu", (unsigned long long)seq);
	return json_pack("{s:s,s:s,s:I,s:s?,s:s,s:{s:s},s:{s:s},s:[{s:s,s:[{s:s,s:s,s:b}]}],"
			 "s:{s:f}}",
			 "format", EVSIG_SNAPSHOT_FORMAT, "id", id, "seq", (json_int_t)seq,
			 "previous_sha256", prev, "taken_at", taken_at, "taken_by", "kind",
			 "schedule", "collector", "id", "c1", "hosts", "id", "web-01", "evidence",
			 "subject", "/etc/ssh/sshd_config", "observed", "PermitRootLogin yes", "ok",
			 0, "metrics", "score", 87.5);
}

struct sealed {
	char *env;
	size_t len;
	char sha[65];
};

static void seal(const json_t *snap, EVP_PKEY *k, struct sealed *s)
{
	struct pst_err e = {0};

	assert_int_equal(evsig_seal(snap, k, EVSIG_MAX_BYTES, &s->env, &s->len, s->sha, &e), 0);
}

static void expect_fail(const char *buf, size_t len, EVP_PKEY *k, int code, const char *step)
{
	struct evsig_verified v;
	struct pst_err e = {0};

	assert_int_equal(evsig_verify(buf, len, k, &v, &e), code);
	if (strstr(e.msg, step) == NULL)
		fail_msg("expected \"%s\" in: %s", step, e.msg);
	assert_null(v.snapshot);
}

static void test_seal_verify(void **state)
{
	EVP_PKEY *k = new_key();
	json_t *snap = snapshot(1, NULL, "2026-11-25T16:00:00Z"), *back;
	struct evsig_verified v;
	struct pst_err e = {0};
	struct strbuf b;
	struct sealed s;
	char kid[65];

	(void)state;
	seal(snap, k, &s);
	assert_int_equal(strlen(s.env), s.len);
	/* The envelope written by hand in evsig_seal is the canonical form of itself. */
	assert_int_equal(canon_parse(s.env, s.len, EVSIG_MAX_BYTES, &back, &e), 0);
	strbuf_init(&b, EVSIG_MAX_BYTES);
	assert_int_equal(canon_dump(back, &b, &e), 0);
	assert_int_equal(b.len, s.len);
	assert_memory_equal(b.data, s.env, s.len);
	strbuf_cleanup(&b);
	json_decref(back);

	assert_int_equal(evsig_verify(s.env, s.len, k, &v, &e), 0);
	assert_int_equal(evsig_key_id(k, kid, &e), 0);
	assert_string_equal(v.key_id, kid);
	assert_string_equal(v.sha256, s.sha);
	assert_string_equal(v.id, "ev-00000001");
	assert_int_equal(v.seq, 1);
	assert_string_equal(v.previous_sha256, "");
	assert_string_equal(v.taken_at, "2026-11-25T16:00:00Z");
	assert_string_equal(v.collector_id, "c1");
	assert_true(json_equal(v.snapshot, snap));
	evsig_verified_cleanup(&v);
	free(s.env);
	json_decref(snap);
	EVP_PKEY_free(k);
}

/* The public key alone verifies, after a round trip through PEM. */
static void test_public_pem(void **state)
{
	EVP_PKEY *k = new_key(), *pub;
	json_t *snap = snapshot(1, NULL, "2026-11-25T16:00:00Z");
	struct evsig_verified v;
	struct pst_err e = {0};
	struct sealed s;
	char *pem;

	(void)state;
	seal(snap, k, &s);
	assert_int_equal(evsig_public_pem(k, &pem, &e), 0);
	assert_non_null(strstr(pem, "BEGIN PUBLIC KEY"));
	assert_int_equal(evsig_public_from_pem(pem, strlen(pem), &pub, &e), 0);
	assert_int_equal(evsig_verify(s.env, s.len, pub, &v, &e), 0);
	evsig_verified_cleanup(&v);
	EVP_PKEY_free(pub);
	/* Not a key, and a key of another type. */
	assert_int_equal(evsig_public_from_pem("junk", 4, &pub, &e),
			 PST_E_PARSE);
	{
		EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		char *ecpem;

		assert_int_equal(evsig_public_pem(ec, &ecpem, &e), 0);
		assert_int_equal(evsig_public_from_pem(ecpem, strlen(ecpem), &pub, &e), PST_E_INVAL);
		assert_non_null(strstr(e.msg, "not Ed25519"));
		free(ecpem);
		EVP_PKEY_free(ec);
	}
	free(pem);
	free(s.env);
	json_decref(snap);
	EVP_PKEY_free(k);
}

static int run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* OpenSSL's command line agrees: the hash, and the signature over the snapshot's bytes. */
static void test_openssl_agrees(void **state)
{
	EVP_PKEY *k = new_key();
	json_t *snap = snapshot(1, NULL, "2026-11-25T16:00:00Z");
	char *dir = tu_mkdtemp(), path[512], cmd[2048], *pem, sha[80] = "";
	const char *snap_start, *sig_start;
	struct pst_err e = {0};
	struct sealed s;
	FILE *f;

	(void)state;
	seal(snap, k, &s);
	assert_int_equal(evsig_public_pem(k, &pem, &e), 0);
	snprintf(path, sizeof(path), "%s/pub.pem", dir);
	assert_int_equal(tu_write(dir, "pub.pem", pem, 0644), 0);
	/* The snapshot's bytes: between "snapshot": and the envelope's final }. */
	snap_start = strstr(s.env, "\"snapshot\":") + strlen("\"snapshot\":");
	snprintf(path, sizeof(path), "%s/snap", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(snap_start, 1, (size_t)(s.env + s.len - 1 - snap_start), f);
	fclose(f);
	sig_start = strstr(s.env, "\"signature\":\"") + strlen("\"signature\":\"");
	snprintf(path, sizeof(path), "%s/sig.b64", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fprintf(f, "%.88s\n", sig_start);
	fclose(f);

	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -r %s/snap", dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(sha, sizeof(sha), f));
	pclose(f);
	sha[64] = '\0';
	assert_string_equal(sha, s.sha);

	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl base64 -d -in sig.b64 -out sig.bin && "
		 "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in snap -sigfile sig.bin "
		 ">/dev/null",
		 dir);
	assert_int_equal(run(cmd), 0);
	/* ... and refuses a changed byte. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && sed -i 's/PermitRootLogin yes/PermitRootLogin no /' snap && "
		 "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in snap -sigfile sig.bin "
		 ">/dev/null 2>&1",
		 dir);
	assert_int_not_equal(run(cmd), 0);
	tu_rmrf(dir);
	free(dir);
	free(pem);
	free(s.env);
	json_decref(snap);
	EVP_PKEY_free(k);
}

static void test_tampering(void **state)
{
	EVP_PKEY *k = new_key(), *other = new_key();
	json_t *snap = snapshot(1, NULL, "2026-11-25T16:00:00Z");
	struct sealed s;
	char *copy, *p;

	(void)state;
	seal(snap, k, &s);
	copy = malloc(s.len + 2);
	assert_non_null(copy);

	/* One byte changed in a result's evidence: still canonical JSON, hash fails. */
	memcpy(copy, s.env, s.len);
	p = strstr(copy, "PermitRootLogin yes");
	p[strlen("PermitRootLogin y")] = 'E';
	expect_fail(copy, s.len, k, PST_E_INVAL, "step 4 (hash)");
	/* Changed, and the hash recomputed by the forger: the signature fails. */
	{
		json_t *env, *snap2;
		struct pst_err e = {0};
		char *forged;
		size_t flen;
		char sha[65];
		struct sealed t;

		assert_int_equal(canon_parse(copy, s.len, EVSIG_MAX_BYTES, &env, &e), 0);
		snap2 = json_object_get(env, "snapshot");
		seal(snap2, other, &t); /* computes the right hash of the changed snapshot */
		memcpy(sha, t.sha, sizeof(sha));
		json_object_set_new(env, "sha256", json_string(sha));
		{
			struct strbuf b;

			strbuf_init(&b, EVSIG_MAX_BYTES);
			assert_int_equal(canon_dump(env, &b, &e), 0);
			flen = b.len;
			forged = strbuf_take(&b);
		}
		expect_fail(forged, flen, k, PST_E_INVAL, "step 5 (signature)");
		/* Signed by another key altogether. */
		expect_fail(t.env, t.len, k, PST_E_INVAL, "step 3 (key)");
		free(forged);
		free(t.env);
		json_decref(env);
	}
	/* Reformatted: a space, a trailing newline. */
	p = strchr(s.env, ':');
	memcpy(copy, s.env, (size_t)(p - s.env + 1));
	copy[p - s.env + 1] = ' ';
	memcpy(copy + (p - s.env) + 2, p + 1, s.len - (size_t)(p - s.env) - 1);
	expect_fail(copy, s.len + 1, k, PST_E_PARSE, "step 1 (canonical form)");
	memcpy(copy, s.env, s.len);
	copy[s.len] = '\n';
	expect_fail(copy, s.len + 1, k, PST_E_PARSE, "step 1 (canonical form)");
	/* Truncated. */
	expect_fail(s.env, s.len - 1, k, PST_E_PARSE, "step 1 (canonical form)");
	expect_fail(s.env, 0, k, PST_E_PARSE, "step 1 (canonical form)");
	/* Not an envelope. */
	expect_fail("{\"format\":\"x\"}", 14, k, PST_E_PARSE, "step 2 (form)");
	expect_fail("[]", 2, k, PST_E_PARSE, "step 2 (form)");
	free(copy);
	free(s.env);
	json_decref(snap);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void verify_ok(const struct sealed *s, EVP_PKEY *k, struct evsig_verified *v)
{
	struct pst_err e = {0};

	assert_int_equal(evsig_verify(s->env, s->len, k, v, &e), 0);
}

static void test_chain(void **state)
{
	EVP_PKEY *k = new_key();
	struct sealed s1, s2, s3, s2b;
	struct evsig_verified v1, v2, v3, v2b;
	struct pst_err e = {0};
	json_t *j1, *j2, *j3, *j2b;

	(void)state;
	j1 = snapshot(1, NULL, "2026-11-25T16:00:00Z");
	seal(j1, k, &s1);
	j2 = snapshot(2, s1.sha, "2026-11-25T17:00:00Z");
	seal(j2, k, &s2);
	j3 = snapshot(3, s2.sha, "2026-11-25T18:00:00Z");
	seal(j3, k, &s3);
	/* A second seq 2 that names seq 1 but was taken earlier than it. */
	j2b = snapshot(2, s1.sha, "2026-11-25T15:00:00Z");
	seal(j2b, k, &s2b);
	verify_ok(&s1, k, &v1);
	verify_ok(&s2, k, &v2);
	verify_ok(&s3, k, &v3);
	verify_ok(&s2b, k, &v2b);

	assert_int_equal(evsig_check_link(&v1, &v2, &e), 0);
	assert_int_equal(evsig_check_link(&v2, &v3, &e), 0);
	assert_int_equal(evsig_check_link(&v1, &v3, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "missing"));
	assert_int_equal(evsig_check_link(&v3, &v2, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "wrong order"));
	assert_int_equal(evsig_check_link(&v1, &v2b, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "before"));
	assert_int_equal(evsig_check_link(&v2b, &v3, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "replaced or altered"));
	/* A seq 1 that names a previous hash is not well formed, nor a seq 2 without one. */
	{
		json_t *bad = snapshot(1, s1.sha, "2026-11-25T16:00:00Z");
		struct sealed sb;

		seal(bad, k, &sb);
		expect_fail(sb.env, sb.len, k, PST_E_PARSE, "previous_sha256");
		free(sb.env);
		json_decref(bad);
	}
	evsig_verified_cleanup(&v1);
	evsig_verified_cleanup(&v2);
	evsig_verified_cleanup(&v3);
	evsig_verified_cleanup(&v2b);
	free(s1.env);
	free(s2.env);
	free(s3.env);
	free(s2b.env);
	json_decref(j1);
	json_decref(j2);
	json_decref(j3);
	json_decref(j2b);
	EVP_PKEY_free(k);
}

/* Keys on disk: the private key must be 0600 and Ed25519. */
static void test_key_files(void **state)
{
	EVP_PKEY *k = new_key(), *got;
	char *dir = tu_mkdtemp(), path[512];
	struct pst_err e = {0};
	BIO *bio;

	(void)state;
	snprintf(path, sizeof(path), "%s/evidence.key", dir);
	bio = BIO_new_file(path, "w");
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
	BIO_free(bio);
	chmod(path, 0644);
	assert_int_equal(evsig_load_private(path, &got, &e), PST_E_ACCES);
	assert_non_null(strstr(e.msg, "chmod 600"));
	chmod(path, 0600);
	assert_int_equal(evsig_load_private(path, &got, &e), 0);
	EVP_PKEY_free(got);
	snprintf(path, sizeof(path), "%s/missing.pub", dir);
	assert_int_equal(evsig_load_public(path, &got, &e), PST_E_NOENT);
	assert_non_null(strstr(e.msg, "missing.pub"));
	tu_rmrf(dir);
	free(dir);
	EVP_PKEY_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_verify),    cmocka_unit_test(test_public_pem),
		cmocka_unit_test(test_openssl_agrees), cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_chain),          cmocka_unit_test(test_key_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
