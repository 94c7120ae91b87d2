/*
 * evidence.h - taking evidence snapshots (docs/evidence.md): the snapshot
 * document built from the store's own readers (so that the API and the
 * evidence never disagree), sealed with the collector's Ed25519 evidence
 * key (evsig.h) and stored once, linked to the one before, in one write
 * transaction (store.h, "Evidence snapshots").
 *
 * Used by the API (POST /api/v1/evidence, by token) and by the loop's
 * schedule timer (server.c); both run it on a thread-pool thread with a
 * store handle of their own.
 */
#ifndef POSTURE_EVIDENCE_H
#define POSTURE_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "store.h"

/* Longest host, search and control accepted in a scope. */
#define EVIDENCE_SCOPE_MAX 255
/* Largest POST /api/v1/evidence body. */
#define EVIDENCE_REQUEST_MAX 4096

/* What a snapshot covers; NULL members: no restriction (docs/evidence.md, "Scope"). */
struct evidence_scope {
	char *host;               /* one agent id */
	char *search;             /* substring of agent id or host name */
	char *control;            /* "A.8.8" or "iso27001:A.8.8" */
};
void evidence_scope_cleanup(struct evidence_scope *s);

/*
 * Read the body of POST /api/v1/evidence (len bytes, no NUL needed): empty
 * (or only white space) for the whole fleet, or {"scope": {"host"?,
 * "search"?, "control"?}} with strings or null.  PST_E_INVAL or PST_E_PARSE
 * naming what is wrong (an unknown key by name); PST_E_TOOBIG past
 * EVIDENCE_REQUEST_MAX.  On error out holds nothing to free.
 */
int evidence_request_parse(const char *body, size_t len, struct evidence_scope *out,
			   struct pst_err *e);

/* Who takes a snapshot: a token (name and role) or, name NULL, the schedule. */
struct evidence_taker {
	const char *name;
	const char *role;
};

struct evidence;

/*
 * Load the evidence private key named by cfg (refusing a missing key or
 * one readable by group or others), its key id, and the CA certificate's
 * SHA-256.  cfg is borrowed and must outlive the handle.
 */
int evidence_new(const struct collector_config *cfg, const char *collector_id,
		 struct evidence **out, struct pst_err *e);
void evidence_free(struct evidence *ev);

/* Hex SHA-256 of the raw public key, and the public key in PEM (borrowed). */
const char *evidence_key_id(const struct evidence *ev);
const char *evidence_public_pem(const struct evidence *ev);

/*
 * Take a snapshot at now_us on st (a handle no one else uses meanwhile,
 * not inside a transaction): build, seal, store, commit.  *meta receives
 * {"id", "seq", "sha256", "previous_sha256", "taken_at", "size", "scope",
 * "taken_by"}.  PST_E_NOENT for a scope host that the store does not know;
 * PST_E_TOOBIG, saying to narrow the scope, past evidence.max_bytes.
 */
int evidence_take(struct evidence *ev, struct store *st, int64_t now_us,
		  const struct evidence_scope *scope, const struct evidence_taker *by,
		  json_t **meta, struct pst_err *e);

/*
 * The snapshot document alone, as evidence_take() builds it for seq and
 * previous (NULL for seq 1), without sealing or storing it; st may be
 * inside a transaction.  For tests.
 */
int evidence_build(struct evidence *ev, struct store *st, int64_t now_us,
		   const struct evidence_scope *scope, const struct evidence_taker *by,
		   uint64_t seq, const char *previous, json_t **snapshot, struct pst_err *e);

#endif
