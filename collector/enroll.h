/*
 * enroll.h - agent enrollment on the collector: POST /api/v1/enroll.
 *
 * The request carries an enrollment token (role "enroll", with an expiry
 * and a use count, made by `posture-collector token create --role enroll`)
 * as "Authorization: Bearer TOKEN", and a JSON body
 * {"csr": "-----BEGIN CERTIFICATE REQUEST-----...", "agent_id": "wanted" (optional)}.
 * The collector spends one use of the token, checks the CSR (a valid
 * signature, an EC P-256 key or better, a CN that is a valid agent id or
 * empty), chooses the agent id (below), signs a client certificate with
 * its CA (pki.h), records the
 * enrollment, and answers 200 {"agent_id", "certificate", "ca",
 * "collector": "HOST:PORT", "collector_id"}.
 *
 * The agent id: "agent_id" when given, else the CSR's CN when it has one
 * (both given and different: 400); an id asked for that is taken (a host
 * or an earlier enrollment has it) is refused with 409, never renamed, so
 * that an operator's name always means one machine.  With neither, the
 * collector chooses "agent-" and 16 random hex digits.
 *
 * The token is looked up before the body is parsed (an unauthenticated
 * peer learns nothing about the CSR checks) and spent only once the
 * request is known to be good, so a typo in a CSR costs no use.
 *
 * Refusals, each with {"error": {...}} saying what to do, and nothing
 * signed: no or malformed token 401, unknown token 401, expired, spent or
 * revoked token 403, a token of another role 403, body over the limit
 * 413, bad JSON or CSR 400, forbidden CN or requested id 400, an id taken
 * 409, no CA key on this collector 503.
 */
#ifndef POSTURE_ENROLL_H
#define POSTURE_ENROLL_H

#include <openssl/x509.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "pki.h"
#include "store.h"

/* Largest CSR accepted, in bytes of PEM. */
#define ENROLL_MAX_CSR 8192
/* Largest request body accepted (the CSR, an id and JSON around them). */
#define ENROLL_MAX_BODY 16384

/* A parsed request body. */
struct enroll_req {
	X509_REQ *csr;               /* signature checked, key EC P-256/384/521 */
	char agent_id[PKI_NAME_MAX + 1]; /* asked for ("agent_id" or the CN); "" when neither */
};

/*
 * Parse and check a request body body[0..len) (untrusted; no NUL needed):
 * strict JSON, only "csr" (required) and "agent_id", the CSR checked as
 * above.  PST_E_TOOBIG over ENROLL_MAX_BODY or ENROLL_MAX_CSR (answer 413),
 * otherwise PST_E_PARSE / PST_E_INVAL (answer 400) with e saying what is
 * wrong.  On success the caller frees with enroll_req_cleanup.
 */
int enroll_req_parse(const uint8_t *body, size_t len, struct enroll_req *out,
		     struct pst_err *e);
void enroll_req_cleanup(struct enroll_req *r);

/*
 * Handle one enrollment request (runs on a thread-pool thread with its own
 * store handle st).  Fills res; never fails otherwise.
 */
void enroll_route(struct store *st, const struct collector_config *cfg, int64_t now_us,
		  const struct http_request *req, struct http_response *res);

#endif
