/*
 * api.h - the collector's HTTPS JSON API (DESIGN 7): a table of routes,
 * bearer-token authorization by role, query validation, and the mapping
 * of store documents and errors to HTTP.  It is the http_handler of the
 * API listener (http.h): every call runs on a thread-pool thread with a
 * store handle taken from a small pool, so a slow query never stalls the
 * event loop that acknowledges agents.
 *
 * Roles: iso reads everything but evidence creation; auditor reads and
 * creates and pulls evidence; admin does all of it and manages tokens;
 * enroll tokens only enroll agents (POST /api/v1/enroll, enroll.h).
 * Answers: 401 with WWW-Authenticate when the token is missing, malformed,
 * unknown, revoked or expired; 403 when its role may not use the route;
 * 404 unknown path; 405 with Allow for a known path and another method;
 * 400 for an unknown or invalid query parameter.  /metrics also answers
 * without a token to the addresses in api.metrics_allow.
 */
#ifndef POSTURE_API_H
#define POSTURE_API_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "http.h"

/* Figures only the event loop knows, published to the API for /metrics. */
struct api_live {
	uint64_t agent_connections, agent_accepted, agent_refused_full, agent_tls_failed,
		agent_protocol_errors, reports_received, acks_sent;
	uint64_t ingest_batches, ingest_stored, ingest_duplicates, ingest_commit_failures,
		ingest_queued_bytes;
	uint64_t alerts_logged, alerts_delivered, alerts_failed_attempts, alerts_given_up;
	struct http_stats http;
	int64_t started_us;
};

struct api;

/* cfg is borrowed and must outlive the API; the store pool opens cfg->store. */
int api_new(const struct collector_config *cfg, const char *collector_id, struct api **out,
	    struct pst_err *e);
void api_free(struct api *a);

/* The evidence signer the API loaded (evidence.h), for the schedule; borrowed. */
struct evidence *api_evidence(struct api *a);

/* The http_handler: arg is the struct api. */
void api_handle(void *arg, const struct http_request *req, struct http_response *res);

/* Publish the loop's figures (thread-safe). */
void api_set_live(struct api *a, const struct api_live *l);

#endif
