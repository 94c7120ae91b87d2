/*
 * evsig.c - sealing and verifying evidence snapshots (evsig.h,
 * docs/evidence.md).
 */
#include "evsig.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "canon.h"
#include "hex.h"
#include "strbuf.h"
#include "tls.h"

#define SIG_LEN 64
#define SIG_B64_LEN 88 /* 4 * ceil(64 / 3) */

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

static int sha256_hex(const void *p, size_t n, char out[65], struct pst_err *e)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(md))
		return pst_err_set(e, PST_E_NOMEM, "SHA-256: OpenSSL failed; out of memory?");
	hex_encode(md, sizeof(md), out);
	return 0;
}

static int require_ed25519(EVP_PKEY *k, const char *what, const char *path, struct pst_err *e)
{
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519)
		return pst_err_set(e, PST_E_INVAL,
				   "%s %s: a %s key, not Ed25519; give the collector's evidence "
				   "key (evidence.key / evidence.pub from posture-collector init)",
				   what, path, OBJ_nid2sn(EVP_PKEY_get_id(k)));
	return 0;
}

int evsig_load_private(const char *path, EVP_PKEY **out, struct pst_err *e)
{
	char detail[512];
	BIO *bio;
	int rc;

	*out = NULL;
	if ((rc = tls_check_key_file(path, e)) != 0)
		return rc;
	if ((bio = BIO_new_file(path, "r")) == NULL)
		return pst_err_set(e, PST_E_NOENT, "evidence key %s: cannot open (%s)", path,
				   tls_errors(detail, sizeof(detail)));
	*out = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (*out == NULL)
		return pst_err_set(e, PST_E_PARSE,
				   "evidence key %s: not a PEM private key (%s); give the "
				   "evidence.key that posture-collector init wrote",
				   path, tls_errors(detail, sizeof(detail)));
	if ((rc = require_ed25519(*out, "evidence key", path, e)) != 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	return rc;
}

static int load_public_bio(BIO *bio, const char *name, EVP_PKEY **out, struct pst_err *e)
{
	char detail[512];
	int rc;

	*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (*out == NULL)
		return pst_err_set(e, PST_E_PARSE,
				   "evidence public key %s: not a PEM public key (%s); give the "
				   "evidence.pub that posture-collector init wrote, or fetch it with "
				   "posturectl evidence key",
				   name, tls_errors(detail, sizeof(detail)));
	if ((rc = require_ed25519(*out, "evidence public key", name, e)) != 0) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
	return rc;
}

int evsig_load_public(const char *path, EVP_PKEY **out, struct pst_err *e)
{
	char detail[512];
	BIO *bio;
	int rc;

	*out = NULL;
	if ((bio = BIO_new_file(path, "r")) == NULL)
		return pst_err_set(e, PST_E_NOENT, "evidence public key %s: cannot open (%s)",
				   path, tls_errors(detail, sizeof(detail)));
	rc = load_public_bio(bio, path, out, e);
	BIO_free(bio);
	return rc;
}

int evsig_public_from_pem(const char *pem, size_t len, EVP_PKEY **out, struct pst_err *e)
{
	BIO *bio;
	int rc;

	*out = NULL;
	if (len > 64 * 1024 || len > INT32_MAX)
		return pst_err_set(e, PST_E_TOOBIG, "evidence public key: %zu bytes is too long "
				   "for a PEM public key", len);
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return pst_err_set(e, PST_E_NOMEM, "evidence public key: out of memory");
	rc = load_public_bio(bio, "(received)", out, e);
	BIO_free(bio);
	return rc;
}

int evsig_public_pem(EVP_PKEY *key, char **pem, struct pst_err *e)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	*pem = NULL;
	if (bio == NULL || PEM_write_bio_PUBKEY(bio, key) != 1 ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0 || (*pem = malloc((size_t)n + 1)) == NULL) {
		BIO_free(bio);
		return pst_err_set(e, PST_E_NOMEM, "evidence public key: cannot write PEM");
	}
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	BIO_free(bio);
	return 0;
}

int evsig_key_id(EVP_PKEY *key, char out[65], struct pst_err *e)
{
	unsigned char raw[32];
	size_t n = sizeof(raw);

	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, raw, &n) != 1 || n != sizeof(raw))
		return pst_err_set(e, PST_E_INVAL, "evidence key: not an Ed25519 key");
	return sha256_hex(raw, n, out, e);
}

int evsig_seal(const json_t *snapshot, EVP_PKEY *key, size_t max, char **env, size_t *len,
	       char sha256_hex_out[65], struct pst_err *e)
{
	unsigned char sig[SIG_LEN];
	char sig_b64[SIG_B64_LEN + 1], key_id[65];
	size_t siglen = sizeof(sig);
	struct strbuf snap, out;
	EVP_MD_CTX *ctx = NULL;
	int rc;

	*env = NULL;
	*len = 0;
	if (max > EVSIG_MAX_BYTES)
		max = EVSIG_MAX_BYTES;
	strbuf_init(&snap, max);
	strbuf_init(&out, max);
	if ((rc = evsig_key_id(key, key_id, e)) != 0 || (rc = canon_dump(snapshot, &snap, e)) != 0 ||
	    (rc = sha256_hex(snap.data, snap.len, sha256_hex_out, e)) != 0)
		goto done;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)snap.data, snap.len) != 1 ||
	    siglen != SIG_LEN) {
		char detail[512];

		rc = pst_err_set(e, PST_E_INVAL, "evidence: signing failed (%s); check that "
				 "evidence_key is the collector's Ed25519 private key",
				 tls_errors(detail, sizeof(detail)));
		goto done;
	}
	EVP_EncodeBlock((unsigned char *)sig_b64, sig, SIG_LEN);
	/*
	 * The envelope's keys in byte order are format, key_id, sha256,
	 * signature, snapshot: its canonical form is this, with the snapshot's
	 * canonical bytes last, written once instead of serializing it twice.
	 */
	if ((rc = strbuf_appendf(&out,
				 "{\"format\":\"" EVSIG_FORMAT "\",\"key_id\":\"%s\",\"sha256\":\"%s\","
				 "\"signature\":\"%s\",\"snapshot\":",
				 key_id, sha256_hex_out, sig_b64)) != 0 ||
	    (rc = strbuf_append(&out, snap.data, snap.len)) != 0 ||
	    (rc = strbuf_appendc(&out, '}')) != 0) {
		rc = pst_err_set(e, rc, rc == PST_E_TOOBIG
					    ? "evidence: the sealed snapshot exceeds %zu bytes; "
					      "take it with a narrower scope"
					    : "evidence: out of memory sealing %zu bytes",
				 max);
		goto done;
	}
	*len = out.len;
	if ((*env = strbuf_take(&out)) == NULL)
		rc = pst_err_set(e, PST_E_NOMEM, "evidence: out of memory");
done:
	EVP_MD_CTX_free(ctx);
	strbuf_cleanup(&snap);
	strbuf_cleanup(&out);
	return rc;
}

void evsig_verified_cleanup(struct evsig_verified *v)
{
	if (v == NULL)
		return;
	json_decref(v->snapshot);
	memset(v, 0, sizeof(*v));
}

/* A string member of o that fits in cap (with its NUL), or NULL. */
static const char *get_str(const json_t *o, const char *key, size_t cap)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) >= cap)
		return NULL;
	return json_string_value(v);
}

static int malformed(struct pst_err *e, const char *what)
{
	return pst_err_set(e, PST_E_PARSE, "step 2 (form): %s; this is not a posture evidence "
			   "envelope as docs/evidence.md describes", what);
}

/* Step 2: the envelope's members and the snapshot's identifying fields. */
static int read_fields(const json_t *env, struct evsig_verified *v, const char **sig_b64,
		       struct pst_err *e)
{
	static const char *const members[] = {"format", "key_id", "sha256", "signature",
					      "snapshot", NULL};
	const json_t *snap, *seq, *prev, *coll;
	const char *s, *key;
	json_t *member;
	size_t i;

	if (!json_is_object(env))
		return malformed(e, "the document is not a JSON object");
	json_object_foreach((json_t *)env, key, member) {
		for (i = 0; members[i] != NULL && strcmp(members[i], key) != 0; i++)
			;
		if (members[i] == NULL)
			return pst_err_set(e, PST_E_PARSE, "step 2 (form): unexpected member "
					   "\"%.64s\" in the envelope", key);
	}
	if ((s = get_str(env, "format", 64)) == NULL || strcmp(s, EVSIG_FORMAT) != 0)
		return malformed(e, "\"format\" is not \"" EVSIG_FORMAT "\"");
	if ((s = get_str(env, "key_id", 65)) == NULL || !is_hex64(s))
		return malformed(e, "\"key_id\" is not 64 lowercase hex digits");
	strcpy(v->key_id, s);
	if ((s = get_str(env, "sha256", 65)) == NULL || !is_hex64(s))
		return malformed(e, "\"sha256\" is not 64 lowercase hex digits");
	strcpy(v->sha256, s);
	if ((*sig_b64 = get_str(env, "signature", SIG_B64_LEN + 1)) == NULL ||
	    strlen(*sig_b64) != SIG_B64_LEN)
		return malformed(e, "\"signature\" is not 88 characters of base64");
	snap = json_object_get(env, "snapshot");
	if (!json_is_object(snap))
		return malformed(e, "\"snapshot\" is not an object");
	if ((s = get_str(snap, "format", 64)) == NULL || strcmp(s, EVSIG_SNAPSHOT_FORMAT) != 0)
		return malformed(e, "snapshot \"format\" is not \"" EVSIG_SNAPSHOT_FORMAT "\"");
	if ((s = get_str(snap, "id", sizeof(v->id))) == NULL)
		return malformed(e, "snapshot \"id\" is missing or too long");
	strcpy(v->id, s);
	seq = json_object_get(snap, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) < 1)
		return malformed(e, "snapshot \"seq\" is not an integer of 1 or more");
	v->seq = (uint64_t)json_integer_value(seq);
	prev = json_object_get(snap, "previous_sha256");
	if (json_is_null(prev) && v->seq == 1) {
		v->previous_sha256[0] = '\0';
	} else if (json_is_string(prev) && v->seq > 1 &&
		   (s = get_str(snap, "previous_sha256", 65)) != NULL && is_hex64(s)) {
		strcpy(v->previous_sha256, s);
	} else {
		return malformed(e, "snapshot \"previous_sha256\" must be null for seq 1 and 64 "
				 "lowercase hex digits after it");
	}
	if ((s = get_str(snap, "taken_at", sizeof(v->taken_at))) == NULL)
		return malformed(e, "snapshot \"taken_at\" is missing");
	strcpy(v->taken_at, s);
	coll = json_object_get(snap, "collector");
	if ((s = get_str(coll, "id", sizeof(v->collector_id))) == NULL)
		return malformed(e, "snapshot \"collector\".\"id\" is missing");
	strcpy(v->collector_id, s);
	return 0;
}

/* The canonical bytes of snap, left in canon (emptied first), and their SHA-256. */
static int snapshot_digest(const json_t *snap, struct strbuf *canon, char out[65],
			   struct pst_err *e)
{
	int rc;

	strbuf_reset(canon);
	if ((rc = canon_dump(snap, canon, e)) != 0)
		return rc;
	return sha256_hex(canon->data, canon->len, out, e);
}

int evsig_snapshot_sha256(const char *buf, size_t len, char hex[65], struct pst_err *e)
{
	struct strbuf canon;
	json_t *env = NULL, *snap;
	int rc;

	hex[0] = '\0';
	strbuf_init(&canon, EVSIG_MAX_BYTES);
	if ((rc = canon_parse(buf, len, EVSIG_MAX_BYTES, &env, e)) == 0) {
		snap = json_object_get(env, "snapshot");
		rc = json_is_object(snap) ? snapshot_digest(snap, &canon, hex, e)
					  : pst_err_set(e, PST_E_PARSE, "not an evidence envelope: no "
							"\"snapshot\" object");
	}
	strbuf_cleanup(&canon);
	json_decref(env);
	return rc;
}

int evsig_verify(const char *buf, size_t len, EVP_PKEY *key, struct evsig_verified *out,
		 struct pst_err *e)
{
	unsigned char sig[SIG_LEN + 3];
	char want_key[65], got_sha[65], again[SIG_B64_LEN + 1];
	const char *sig_b64 = NULL;
	struct strbuf canon;
	json_t *env = NULL;
	EVP_MD_CTX *ctx = NULL;
	int rc, ok;

	memset(out, 0, sizeof(*out));
	strbuf_init(&canon, EVSIG_MAX_BYTES);
	/* Step 1: JSON, no duplicate keys, and byte for byte canonical. */
	if ((rc = canon_parse(buf, len, EVSIG_MAX_BYTES, &env, e)) != 0) {
		pst_err_prefix(e, "step 1 (canonical form)");
		goto done;
	}
	if ((rc = canon_dump(env, &canon, e)) != 0) {
		pst_err_prefix(e, "step 1 (canonical form)");
		goto done;
	}
	if (canon.len != len || memcmp(canon.data, buf, len) != 0) {
		size_t at = 0;

		while (at < len && at < canon.len && canon.data[at] == buf[at])
			at++;
		rc = pst_err_set(e, PST_E_PARSE,
				 "step 1 (canonical form): the file is not in canonical form "
				 "(first difference at byte %zu of %zu); it was reformatted or "
				 "edited after it was pulled",
				 at, len);
		goto done;
	}
	/* Step 2: what it is. */
	if ((rc = read_fields(env, out, &sig_b64, e)) != 0)
		goto done;
	/* Step 3: signed by this key. */
	if ((rc = evsig_key_id(key, want_key, e)) != 0)
		goto done;
	if (strcmp(want_key, out->key_id) != 0) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "step 3 (key): the snapshot names key %.16s..., but the key given "
				 "is %.16s...; it was signed by another key, or the wrong public key "
				 "was given",
				 out->key_id, want_key);
		goto done;
	}
	/* Step 4: the snapshot's bytes are the ones hashed. */
	if ((rc = snapshot_digest(json_object_get(env, "snapshot"), &canon, got_sha, e)) != 0)
		goto done;
	if (strcmp(got_sha, out->sha256) != 0) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "step 4 (hash): the snapshot's SHA-256 is %s but the envelope says "
				 "%s; the snapshot was changed after it was sealed",
				 got_sha, out->sha256);
		goto done;
	}
	/* Step 5: and signed.  Base64 must decode to 64 bytes and encode back the same. */
	if (EVP_DecodeBlock(sig, (const unsigned char *)sig_b64, SIG_B64_LEN) != SIG_LEN + 2 ||
	    (EVP_EncodeBlock((unsigned char *)again, sig, SIG_LEN), strcmp(again, sig_b64) != 0)) {
		rc = pst_err_set(e, PST_E_PARSE,
				 "step 5 (signature): \"signature\" is not the base64 of 64 bytes");
		goto done;
	}
	ok = (ctx = EVP_MD_CTX_new()) != NULL &&
	     EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestVerify(ctx, sig, SIG_LEN, (const unsigned char *)canon.data, canon.len) == 1;
	if (!ok) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "step 5 (signature): the Ed25519 signature does not verify with key "
				 "%.16s...; the snapshot or its signature was altered",
				 want_key);
		goto done;
	}
	out->snapshot = json_incref(json_object_get(env, "snapshot"));
	rc = 0;
done:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	strbuf_cleanup(&canon);
	json_decref(env);
	if (rc != 0)
		evsig_verified_cleanup(out);
	return rc;
}

int evsig_check_link(const struct evsig_verified *prev, const struct evsig_verified *next,
		     struct pst_err *e)
{
	if (strcmp(prev->collector_id, next->collector_id) != 0 ||
	    strcmp(prev->key_id, next->key_id) != 0)
		return pst_err_set(e, PST_E_INVAL,
				   "step 6 (link): %s comes from collector \"%s\" and %s from "
				   "\"%s\" (or another key); they are not one chain",
				   prev->id, prev->collector_id, next->id, next->collector_id);
	if (next->seq != prev->seq + 1)
		return pst_err_set(e, PST_E_INVAL,
				   "step 6 (link): %s has seq %" PRIu64 " but follows %s with seq "
				   "%" PRIu64 "; %s",
				   next->id, next->seq, prev->id, prev->seq,
				   next->seq <= prev->seq ? "they are in the wrong order"
							  : "snapshots between them are missing");
	if (strcmp(next->previous_sha256, prev->sha256) != 0)
		return pst_err_set(e, PST_E_INVAL,
				   "step 6 (link): %s names previous snapshot %.16s..., but %s is "
				   "%.16s...; the previous snapshot was replaced or altered",
				   next->id, next->previous_sha256, prev->id, prev->sha256);
	if (strcmp(next->taken_at, prev->taken_at) < 0)
		return pst_err_set(e, PST_E_INVAL,
				   "step 6 (link): %s was taken at %s, before %s at %s",
				   next->id, next->taken_at, prev->id, prev->taken_at);
	return 0;
}
