/*
 * enroll.c - POST /api/v1/enroll (enroll.h): an enrollment token and a CSR
 * in, a client certificate signed by the deployment's CA out.
 *
 * The order of the checks is the point of this file.  The token's form and
 * the body's size are checked first (cheap, no store access), then the
 * token is looked up without being spent, then the body is parsed
 * (enroll_req.c), the id chosen and the CA loaded; only when all of that
 * holds is one use of the token spent, atomically in the store, and the
 * certificate signed.  So a refusal never signs anything, and a request
 * that could not succeed never costs the operator a token use.  Every
 * refusal and every enrollment is logged with the peer address and the
 * token id (never the token).
 */
#include "enroll.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <string.h>

#include "log.h"
#include "tokens.h"

/* Attempts at a free random id before giving up (2^64 ids: one is plenty). */
#define ENROLL_ID_TRIES 8

static void refuse(struct http_response *res, const struct http_request *req, int status,
		   const char *code, const char *msg)
{
	log_warn("enroll: refused %s from %s: %s", code, req->peer, msg);
	http_response_error(res, status, code, "%s", msg);
}

/* "Bearer TOKEN" -> TOKEN and its length; NULL when absent or of another scheme. */
static const char *bearer(const struct http_request *req, size_t *len)
{
	const char *h = http_header(req, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	*len = strlen(h);
	while (*len > 0 && h[*len - 1] == ' ')
		(*len)--;
	return h;
}

static char *pem_of(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (b == NULL)
		return NULL;
	if (PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return out;
}

static int cert_sha256_hex(X509 *x, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return PST_E_TLS;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Say why a token was refused, from store_token_find/spend's answer. */
static void refuse_token(struct http_response *res, const struct http_request *req, int rc,
			 const struct pst_err *e)
{
	if (rc == PST_E_NOENT)
		refuse(res, req, 401, "unknown_token",
		       "the enrollment token is not known to this collector; make one with "
		       "`posture-collector token create --role enroll`");
	else if (rc == PST_E_ACCES)
		refuse(res, req, 403, "token_refused", e->msg[0] ? e->msg : "token refused");
	else {
		log_error("enroll: token lookup: %s", e->msg);
		http_response_error(res, 500, "store_error",
				    "the collector could not check the token; see its log");
	}
}

/* The id: the one asked for, free; or a random one.  0, or the response is set. */
static int choose_id(struct store *st, const struct http_request *req, const char *wanted,
		     char id[PKI_NAME_MAX + 1], struct http_response *res)
{
	struct pst_err e = {0};
	bool taken = false;
	char msg[256];

	if (wanted[0] != '\0') {
		if (store_agent_id_taken(st, wanted, &taken, &e) != 0)
			goto store_failed;
		if (taken) {
			snprintf(msg, sizeof(msg),
				 "agent id \"%s\" is taken by another host; choose another "
				 "(--agent-id) or leave it to the collector",
				 wanted);
			refuse(res, req, 409, "agent_id_taken", msg);
			return -1;
		}
		snprintf(id, PKI_NAME_MAX + 1, "%s", wanted);
		return 0;
	}
	for (int i = 0; i < ENROLL_ID_TRIES; i++) {
		unsigned char r[8];

		if (RAND_bytes(r, sizeof(r)) != 1)
			break;
		snprintf(id, PKI_NAME_MAX + 1, "agent-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
			 r[2], r[3], r[4], r[5], r[6], r[7]);
		if (store_agent_id_taken(st, id, &taken, &e) != 0)
			goto store_failed;
		if (!taken)
			return 0;
	}
	http_response_error(res, 500, "no_agent_id", "the collector could not choose an agent id");
	return -1;
store_failed:
	log_error("enroll: %s", e.msg);
	http_response_error(res, 500, "store_error", "the collector could not read its store; see its log");
	return -1;
}

static void answer(struct http_response *res, const char *id, X509 *crt, X509 *ca,
		   const char *collector, const char *collector_id)
{
	char *crt_pem = pem_of(crt), *ca_pem = pem_of(ca);
	json_t *doc = NULL;

	if (crt_pem != NULL && ca_pem != NULL)
		doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "agent_id", id, "certificate", crt_pem,
				"ca", ca_pem, "collector", collector, "collector_id",
				collector_id ? collector_id : "");
	if (doc != NULL && (res->body = json_dumps(doc, JSON_COMPACT)) != NULL) {
		res->status = 200;
		res->body_len = strlen(res->body);
		snprintf(res->content_type, sizeof(res->content_type), "application/json");
	} else {
		http_response_error(res, 500, "internal", "out of memory");
	}
	json_decref(doc);
	free(crt_pem);
	free(ca_pem);
}

void enroll_route(struct store *st, const struct collector_config *cfg, int64_t now_us,
		  const struct http_request *req, struct http_response *res)
{
	struct enroll_req er = {0};
	struct store_token tok;
	struct pst_err e = {0};
	uint8_t hash[32];
	const char *token;
	char id[PKI_NAME_MAX + 1], host[256], hex[65];
	char *collector = NULL;
	X509 *ca = NULL, *crt = NULL;
	EVP_PKEY *ca_key = NULL;
	size_t tlen = 0;
	int rc;

	if (req->method == NULL || strcmp(req->method, "POST") != 0) {
		http_response_error(res, 405, "method_not_allowed", "enrollment is POST only");
		http_response_header(res, "Allow", "POST");
		return;
	}
	if ((token = bearer(req, &tlen)) == NULL) {
		refuse(res, req, 401, "missing_token",
		       "send the enrollment token as \"Authorization: Bearer TOKEN\"");
		return;
	}
	if (token_hash(token, tlen, hash) != 0) {
		refuse(res, req, 401, "bad_token",
		       "the token is not of the form pst_ and 43 base64url characters; copy it "
		       "whole from `posture-collector token create`");
		return;
	}
	if (req->body_len > ENROLL_MAX_BODY) {
		char msg[128];

		snprintf(msg, sizeof(msg), "the request body is %zu bytes; at most %d",
			 req->body_len, ENROLL_MAX_BODY);
		refuse(res, req, 413, "too_large", msg);
		return;
	}
	memset(&tok, 0, sizeof(tok));
	if ((rc = store_token_find(st, hash, now_us, &tok, &e)) != 0) {
		refuse_token(res, req, rc, &e);
		return;
	}
	if (tok.role != STORE_ROLE_ENROLL) {
		char msg[160];

		snprintf(msg, sizeof(msg),
			 "token %lld is an API token of role \"%s\", not an enrollment token; make "
			 "one with --role enroll",
			 (long long)tok.id, store_role_name(tok.role));
		refuse(res, req, 403, "wrong_role", msg);
		return;
	}
	if ((rc = enroll_req_parse(req->body, req->body_len, &er, &e)) != 0) {
		refuse(res, req, rc == PST_E_TOOBIG ? 413 : rc == PST_E_NOMEM ? 500 : 400,
		       rc == PST_E_TOOBIG ? "too_large" : "bad_request", e.msg);
		return;
	}
	if (choose_id(st, req, er.agent_id, id, res) != 0)
		goto out;
	if (cfg->ca_key == NULL) {
		refuse(res, req, 503, "no_ca_key",
		       "this collector has no CA key (\"ca_key\" in its config), so it cannot "
		       "sign; enroll against the collector that holds the CA");
		goto out;
	}
	if (pki_load_ca(cfg, &ca, &ca_key, &e) != 0 ||
	    pki_agent_address(cfg, host, sizeof(host), &collector, &e) != 0) {
		log_error("enroll: %s", e.msg);
		http_response_error(res, 503, "no_ca",
				    "the collector cannot sign certificates now; see its log");
		goto out;
	}
	/* Everything holds: now the token use is spent, atomically. */
	memset(&tok, 0, sizeof(tok));
	if ((rc = store_token_spend(st, hash, now_us, &tok, &e)) != 0) {
		refuse_token(res, req, rc, &e);
		goto out;
	}
	if (pki_agent_cert(X509_REQ_get0_pubkey(er.csr), id, ca, ca_key, &crt, &e) != 0 ||
	    cert_sha256_hex(crt, hex) != 0) {
		log_error("enroll: signing for %s: %s", id, e.msg);
		http_response_error(res, 500, "sign_failed", "the collector could not sign; see its log");
		goto out;
	}
	if (store_enrollment_add(st, id, tok.id, hex, req->peer, now_us, &e) != 0) {
		/* Not recorded, so not handed out: the certificate is dropped. */
		log_error("enroll: recording %s: %s", id, e.msg);
		http_response_error(res, 500, "store_error",
				    "the collector could not record the enrollment; see its log");
		goto out;
	}
	log_info("enroll: agent %s enrolled from %s with token %lld (certificate sha256 %s)", id,
		 req->peer, (long long)tok.id, hex);
	answer(res, id, crt, ca, collector, cfg->collector_id);
out:
	free(collector);
	X509_free(crt);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	enroll_req_cleanup(&er);
}
