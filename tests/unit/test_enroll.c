/*
 * test_enroll.c - POST /api/v1/enroll (collector/enroll.c) called directly:
 * a real SQLite store in a temporary directory, a CA from pki_init, and
 * requests built here.  Every refusal is checked for its status and for
 * what it must not do: sign, record an enrollment, or spend the token.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "config.h"
#include "enroll.h"
#include "http.h"
#include "pki.h"
#include "store.h"
#include "tokens.h"

/* --- fixture -------------------------------------------------------------- */

#define NOW_US INT64_C(1800000000000000)

struct fx {
	char *dir;
	struct collector_config cfg;
	struct store *st;
	X509 *ca;
	int ntok;
};

static struct fx F;

static int setup(void **state)
{
	char path[512];
	struct pst_err e = {0};
	struct pki_init_opts o = {0};
	BIO *b;

	(void)state;
	memset(&F, 0, sizeof(F));
	F.dir = tu_mkdtemp();
	snprintf(path, sizeof(path), "%s/c", F.dir);
	o.dir = path;
	o.agent_listen = "127.0.0.1:7443";
	o.api_listen = "127.0.0.1:8443";
	o.collector_id = "test-collector";
	if (pki_init(&o, &e) != 0)
		fail_msg("pki_init: %s", e.msg);
	snprintf(path, sizeof(path), "%s/c/collector.json", F.dir);
	if (collector_config_load(path, &F.cfg, &e) != 0)
		fail_msg("config: %s", e.msg);
	if (store_open(F.cfg.store, &F.st, &e) != 0)
		fail_msg("store: %s", e.msg);
	b = BIO_new_file(F.cfg.ca_cert, "r");
	F.ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(F.ca);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(F.ca);
	store_close(F.st);
	collector_config_cleanup(&F.cfg);
	tu_rmrf(F.dir);
	free(F.dir);
	return 0;
}

/* A token of role and uses (-1 unlimited) expiring at expires_us (0 never); text out. */
static void make_token(enum store_role role, int64_t uses, int64_t expires_us,
		       char text[TOKEN_TEXT_SIZE])
{
	struct store_token t = {0};
	struct pst_err e = {0};
	uint8_t hash[32];
	int64_t id;

	++F.ntok;
	assert_int_equal(token_new(text, hash, NULL), 0);
	snprintf(t.name, sizeof(t.name), "t%d", F.ntok);
	t.role = role;
	t.created_us = NOW_US - 1000000;
	t.expires_us = expires_us;
	t.uses_left = uses;
	if (store_token_add(F.st, hash, &t, &id, &e) != 0)
		fail_msg("token add: %s", e.msg);
}

static char *make_csr(const char *cn, EVP_PKEY **keyp)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(key);
	X509_REQ_set_pubkey(req, key);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
					   (const unsigned char *)cn, -1, -1, 0);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	PEM_write_bio_X509_REQ(b, req);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	X509_REQ_free(req);
	if (keyp != NULL)
		*keyp = key;
	else
		EVP_PKEY_free(key);
	return out;
}

static char *body_of(const char *csr, const char *agent_id)
{
	json_t *doc = json_pack("{s:s}", "csr", csr);
	char *s;

	if (agent_id != NULL)
		json_object_set_new(doc, "agent_id", json_string(agent_id));
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* Run the route; returns the status, *doc the parsed answer (caller frees). */
static int call(const char *token, const char *body, size_t len, json_t **doc)
{
	struct http_request req;
	struct http_response res = {0};
	char auth[128];
	int status;

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.target = req.path = "/api/v1/enroll";
	req.query = "";
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		req.headers[0].name = "authorization";
		req.headers[0].value = auth;
		req.nheaders = 1;
	}
	req.body = (const uint8_t *)body;
	req.body_len = len;
	snprintf(req.peer, sizeof(req.peer), "127.0.0.1:50000");
	req.peer_ip = "127.0.0.1";
	req.peer_loopback = true;
	enroll_route(F.st, &F.cfg, NOW_US, &req, &res);
	status = res.status ? res.status : 200;
	*doc = res.body ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
	assert_non_null(*doc);
	free(res.body);
	free(res.headers);
	return status;
}

static int call_str(const char *token, const char *body, json_t **doc)
{
	return call(token, body, strlen(body), doc);
}

static bool taken(const char *id)
{
	struct pst_err e = {0};
	bool t = false;

	assert_int_equal(store_agent_id_taken(F.st, id, &t, &e), 0);
	return t;
}

/* A refusal: the status, an error object, and no enrollment of id. */
static void expect_refused(const char *token, const char *body, size_t len, int status,
			   const char *id)
{
	json_t *doc;

	assert_int_equal(call(token, body, len, &doc), status);
	assert_non_null(json_object_get(json_object_get(doc, "error"), "message"));
	assert_null(json_object_get(doc, "certificate"));
	json_decref(doc);
	if (id != NULL)
		assert_false(taken(id));
}

/* --- tests ------------------------------------------------------------------- */

static void test_valid_token_signs(void **state)
{
	char tok[TOKEN_TEXT_SIZE], *csr, *body;
	EVP_PKEY *key;
	json_t *doc;
	X509 *crt;
	X509_STORE *store;
	X509_STORE_CTX *v;
	BIO *b;
	char cn[128];

	(void)state;
	make_token(STORE_ROLE_ENROLL, 1, NOW_US + 3600000000, tok);
	csr = make_csr("web-1", &key);
	body = body_of(csr, "web-1");
	assert_false(taken("web-1"));
	assert_int_equal(call_str(tok, body, &doc), 200);
	assert_string_equal(json_string_value(json_object_get(doc, "agent_id")), "web-1");
	assert_string_equal(json_string_value(json_object_get(doc, "collector")), "127.0.0.1:7443");
	assert_string_equal(json_string_value(json_object_get(doc, "collector_id")), "test-collector");
	assert_non_null(json_string_value(json_object_get(doc, "ca")));

	b = BIO_new_mem_buf(json_string_value(json_object_get(doc, "certificate")), -1);
	crt = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(crt);
	X509_NAME_get_text_by_NID(X509_get_subject_name(crt), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "web-1");
	assert_int_equal(X509_check_private_key(crt, key), 1);
	store = X509_STORE_new();
	X509_STORE_add_cert(store, F.ca);
	v = X509_STORE_CTX_new();
	X509_STORE_CTX_init(v, store, crt, NULL);
	X509_STORE_CTX_set_purpose(v, X509_PURPOSE_SSL_CLIENT);
	assert_int_equal(X509_verify_cert(v), 1);
	X509_STORE_CTX_free(v);
	X509_STORE_free(store);
	assert_true(taken("web-1"));

	/* The same id again, with a fresh token: taken, 409, documented as never renamed. */
	make_token(STORE_ROLE_ENROLL, 1, 0, tok);
	expect_refused(tok, body, strlen(body), 409, NULL);
	/* ...and that refusal did not spend the token: it still enrolls another id. */
	free(body);
	body = body_of(csr, NULL); /* CN web-1 again: taken */
	expect_refused(tok, body, strlen(body), 409, NULL);
	free(body);
	free(csr);
	csr = make_csr(NULL, NULL);
	body = body_of(csr, NULL);
	json_decref(doc);
	assert_int_equal(call_str(tok, body, &doc), 200);
	/* No id asked for: the collector chose one. */
	assert_int_equal(strncmp(json_string_value(json_object_get(doc, "agent_id")), "agent-", 6), 0);
	assert_true(taken(json_string_value(json_object_get(doc, "agent_id"))));
	json_decref(doc);
	X509_free(crt);
	EVP_PKEY_free(key);
	free(csr);
	free(body);
}

static void test_tokens_refused(void **state)
{
	char tok[TOKEN_TEXT_SIZE], *csr = make_csr("db-1", NULL), *body = body_of(csr, NULL);
	size_t len = strlen(body);
	json_t *doc;

	(void)state;
	expect_refused(NULL, body, len, 401, "db-1");
	expect_refused("not-a-token", body, len, 401, "db-1");
	expect_refused("pst_short", body, len, 401, "db-1");
	/* Well-formed, never made: unknown. */
	expect_refused("pst_000000000000000000000000000000000000000999A", body, len, 401, "db-1");
	make_token(STORE_ROLE_ENROLL, 5, NOW_US - 1, tok);
	expect_refused(tok, body, len, 403, "db-1");
	make_token(STORE_ROLE_ISO, -1, 0, tok);
	expect_refused(tok, body, len, 403, "db-1");
	make_token(STORE_ROLE_ADMIN, -1, 0, tok);
	expect_refused(tok, body, len, 403, "db-1");

	/* One use: the first enrolls, the second is refused as spent. */
	make_token(STORE_ROLE_ENROLL, 1, 0, tok);
	assert_int_equal(call(tok, body, len, &doc), 200);
	json_decref(doc);
	free(body);
	free(csr);
	csr = make_csr("db-2", NULL);
	body = body_of(csr, NULL);
	expect_refused(tok, body, strlen(body), 403, "db-2");
	free(csr);
	free(body);
}

static void test_bad_requests(void **state)
{
	char tok[TOKEN_TEXT_SIZE], *csr, *body, *big;
	size_t n;

	(void)state;
	make_token(STORE_ROLE_ENROLL, 100, 0, tok);

	csr = make_csr("../x", NULL);
	body = body_of(csr, NULL);
	expect_refused(tok, body, strlen(body), 400, NULL);
	free(csr);
	free(body);
	csr = make_csr("a b", NULL);
	body = body_of(csr, NULL);
	expect_refused(tok, body, strlen(body), 400, NULL);
	free(body);
	body = body_of(csr, "a b"); /* forbidden requested id */
	expect_refused(tok, body, strlen(body), 400, NULL);
	free(csr);
	free(body);
	csr = make_csr("one", NULL);
	body = body_of(csr, "two"); /* CN and id differ */
	expect_refused(tok, body, strlen(body), 400, "two");
	free(body);

	body = strdup("{\"csr\": \"-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n-----END "
		      "CERTIFICATE REQUEST-----\\n\", \"agent_id\": \"pem-1\"}");
	expect_refused(tok, body, strlen(body), 400, "pem-1");
	free(body);
	expect_refused(tok, "{\"csr\": 1}", 10, 400, NULL);
	expect_refused(tok, "not json", 8, 400, NULL);
	body = body_of(csr, "ok-1");
	big = malloc(strlen(body) + 40);
	sprintf(big, "{\"x\":1,%s", body + 1); /* an unknown key */
	expect_refused(tok, big, strlen(big), 400, "ok-1");
	free(big);
	free(body);

	/* A CSR over ENROLL_MAX_CSR inside a body under the body limit: 413. */
	n = strlen(csr);
	big = malloc(ENROLL_MAX_CSR + n + 64);
	memset(big, 'x', ENROLL_MAX_CSR); /* text before the PEM, which PEM readers skip */
	memcpy(big + ENROLL_MAX_CSR, csr, n + 1);
	{
		json_t *d = json_pack("{s:s, s:s}", "csr", big, "agent_id", "big-1");
		char *s = json_dumps(d, JSON_COMPACT);

		assert_true(strlen(s) <= ENROLL_MAX_BODY);
		expect_refused(tok, s, strlen(s), 413, "big-1");
		free(s);
		json_decref(d);
	}
	free(big);
	/* A body over ENROLL_MAX_BODY: 413 before it is parsed. */
	big = calloc(1, ENROLL_MAX_BODY + 2);
	memset(big, ' ', ENROLL_MAX_BODY + 1);
	expect_refused(tok, big, ENROLL_MAX_BODY + 1, 413, NULL);
	free(big);
	free(csr);
}

static void test_rsa_refused(void **state)
{
	char tok[TOKEN_TEXT_SIZE], *body, *data;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509_REQ *req = X509_REQ_new();
	BIO *b = BIO_new(BIO_s_mem());
	long n;

	(void)state;
	make_token(STORE_ROLE_ENROLL, 1, 0, tok);
	X509_REQ_set_pubkey(req, key);
	X509_REQ_sign(req, key, EVP_sha256());
	PEM_write_bio_X509_REQ(b, req);
	n = BIO_get_mem_data(b, &data);
	data = strndup(data, (size_t)n);
	body = body_of(data, "rsa-1");
	expect_refused(tok, body, strlen(body), 400, "rsa-1");
	free(body);
	free(data);
	BIO_free(b);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_token_signs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsa_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
