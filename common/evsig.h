/*
 * evsig.h - sealing and verifying evidence snapshots (docs/evidence.md).
 *
 * The collector seals a snapshot document into an envelope: the snapshot's
 * canonical bytes (canon.h), their SHA-256 and an Ed25519 signature of
 * them by the collector's evidence key.  posturectl verifies an envelope
 * offline with the public key, and checks that one snapshot follows
 * another in the hash chain.
 *
 * Verification failures are PST_E_PARSE (not JSON, not canonical, a field
 * missing or of the wrong type) or PST_E_INVAL (wrong key, hash or
 * signature mismatch, broken link), each with a message that names the
 * step that failed.
 */
#ifndef POSTURE_EVSIG_H
#define POSTURE_EVSIG_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "err.h"

#define EVSIG_FORMAT "posture.evidence.v1"
#define EVSIG_SNAPSHOT_FORMAT "posture.snapshot.v1"
/* Largest envelope sealed or verified. */
#define EVSIG_MAX_BYTES (256u << 20)

/* Ed25519 keys in PEM (PKCS#8 private, SubjectPublicKeyInfo public). */
int evsig_load_private(const char *path, EVP_PKEY **out, struct pst_err *e);
int evsig_load_public(const char *path, EVP_PKEY **out, struct pst_err *e);
int evsig_public_from_pem(const char *pem, size_t len, EVP_PKEY **out, struct pst_err *e);
/* The public key's PEM text (malloc'd, NUL-terminated), from a private or public key. */
int evsig_public_pem(EVP_PKEY *key, char **pem, struct pst_err *e);
/* key_id: lowercase hex SHA-256 of the 32-byte raw public key. */
int evsig_key_id(EVP_PKEY *key, char out[65], struct pst_err *e);

/*
 * Seal snapshot with the private key: *env receives the envelope bytes
 * (malloc'd, NUL-terminated, *len without the NUL) and sha256_hex the
 * snapshot's hash.  PST_E_TOOBIG past max bytes.
 */
int evsig_seal(const json_t *snapshot, EVP_PKEY *key, size_t max, char **env, size_t *len,
	       char sha256_hex[65], struct pst_err *e);

/* What a verified envelope says. */
struct evsig_verified {
	json_t *snapshot;          /* owned */
	char sha256[65], key_id[65];
	char id[64];
	uint64_t seq;
	char previous_sha256[65];  /* "" when null (seq 1) */
	char taken_at[32];
	char collector_id[128];
};

/*
 * Steps 1-5 of docs/evidence.md on len bytes of an envelope, with the
 * public (or private) key.  On success *out is filled; call
 * evsig_verified_cleanup() on it.
 */
int evsig_verify(const char *buf, size_t len, EVP_PKEY *key, struct evsig_verified *out,
		 struct pst_err *e);
void evsig_verified_cleanup(struct evsig_verified *v);

/*
 * The SHA-256 (lowercase hex) of the canonical bytes of the "snapshot" of
 * len bytes of an envelope, checking nothing else: what the collector's
 * ETag names, to check a download before it is kept.  PST_E_PARSE when
 * the bytes are not JSON or hold no snapshot object.
 */
int evsig_snapshot_sha256(const char *buf, size_t len, char hex[65], struct pst_err *e);

/* Step 6: next directly follows prev (seq + 1, previous_sha256, time, collector). */
int evsig_check_link(const struct evsig_verified *prev, const struct evsig_verified *next,
		     struct pst_err *e);

#endif
