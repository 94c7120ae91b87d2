/*
 * client.h - posturectl's HTTPS client for the collector API (libcurl).
 *
 * TLS is always verified: against the CA file given, or the system's
 * store when none is.  Only https:// URLs are accepted.  The token goes
 * only into the Authorization header of requests to the given URL (no
 * redirects are followed) and is never printed.  Answers are read into a
 * buffer with a ceiling; an answer past it is refused, not cut.
 */
#ifndef POSTURE_CTL_CLIENT_H
#define POSTURE_CTL_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "strbuf.h"

/* Ceilings on an answer: evidence envelopes, and everything else. */
#define CLIENT_MAX_EVIDENCE (256u << 20)
#define CLIENT_MAX_BODY (64u << 20)

struct client {
	char *base;          /* the URL without trailing slashes */
	const char *token;   /* borrowed; NULL sends no Authorization */
	const char *cacert;  /* borrowed; NULL uses the system store */
	void *curl;
};

struct client_resp {
	long status;
	struct strbuf body;
	char etag[160];
	char content_type[128];
};

/* PST_E_USAGE for a URL that is not https://HOST[:PORT][/PATH]. */
int client_init(struct client *c, const char *url, const char *token, const char *cacert,
		struct pst_err *e);
void client_cleanup(struct client *c);

/*
 * method path (starting with "/api/v1/", already escaped) with an optional
 * JSON body.  0 when an HTTP answer came, whatever its status (check
 * r->status); PST_E_SYS when the collector cannot be reached, PST_E_TLS
 * when TLS fails (certificate not verified), PST_E_TOOBIG past max bytes:
 * each message names the URL and says what to do.  Call
 * client_resp_cleanup() after either.
 */
int client_request(struct client *c, const char *method, const char *path, const char *body,
		   size_t max, struct client_resp *r, struct pst_err *e);
void client_resp_cleanup(struct client_resp *r);

/* s escaped for a URL path segment or query value (malloc'd), NULL on no memory. */
char *client_escape(struct client *c, const char *s);

/*
 * Parse an answer's body as JSON, len bytes with no NUL needed, duplicate
 * keys refused.  PST_E_PARSE naming the URL path when it is not JSON.
 */
int client_json(const struct client_resp *r, const char *path, json_t **out, struct pst_err *e);

/*
 * For an answer with status >= 400: "the collector answered STATUS
 * (CODE): MESSAGE" from its error document, or the status alone.
 */
void client_error_message(const struct client_resp *r, const char *path, struct pst_err *e);

#endif
