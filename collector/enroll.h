/*
 * enroll.h - agent enrollment on the collector: POST /api/v1/enroll.
 *
 * The request carries an enrollment token (role "enroll", with an expiry
 * and a use count, made by `posture-collector token create --role enroll`)
 * as "Authorization: Bearer TOKEN", and a JSON body
 * {"csr": "-----BEGIN CERTIFICATE REQUEST-----...", "agent_id": "wanted" (optional)}.
 * The collector spends one use of the token, checks the CSR (a valid
 * signature, an EC P-256 key or better, a CN that is a valid agent id or
 * empty), chooses the agent id (the requested one if it is free, else one
 * of its own), signs a client certificate with its CA (pki.h), records the
 * enrollment, and answers 200 {"agent_id", "certificate", "ca",
 * "collector": "HOST:PORT", "collector_id"}.
 *
 * Refusals, each with {"error": {...}} saying what to do, and nothing
 * signed: no or malformed token 401, unknown token 401, expired, spent or
 * revoked token 403, a token of another role 403, body over the limit
 * 413, bad JSON or CSR 400, forbidden CN or requested id 400, an id taken
 * 409, no CA key on this collector 503.
 */
#ifndef POSTURE_ENROLL_H
#define POSTURE_ENROLL_H

#include <stdint.h>

#include "config.h"
#include "http.h"
#include "store.h"

/* Largest CSR accepted, in bytes of PEM. */
#define ENROLL_MAX_CSR 8192

/*
 * Handle one enrollment request (runs on a thread-pool thread with its own
 * store handle st).  Fills res; never fails otherwise.
 */
void enroll_route(struct store *st, const struct collector_config *cfg, int64_t now_us,
		  const struct http_request *req, struct http_response *res);

#endif
