/*
 * enroll_req.c - the body of an enrollment request (enroll.h): strict JSON
 * holding a PEM certificate signing request and an optional agent id.
 *
 * The body comes from a peer that has shown a token but is otherwise
 * unknown, so every length is checked before it is used: the body against
 * ENROLL_MAX_BODY before jansson sees it, the PEM against ENROLL_MAX_CSR
 * before OpenSSL does.  The CSR must prove possession of its key (its
 * self-signature), carry an EC key on a NIST curve of 256 bits or more,
 * and name at most one CN, which must then be a valid agent id: the CN
 * becomes the identity the collector trusts on every later connection.
 * Kept apart from enroll.c so that the fuzz target needs neither the HTTP
 * server nor the store.
 */
#include "enroll.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <string.h>

static const char *const accepted_curves[] = {"prime256v1", "P-256", "secp384r1", "P-384",
					      "secp521r1", "P-521", NULL};

static int check_key(X509_REQ *csr, struct pst_err *e)
{
	EVP_PKEY *pk = X509_REQ_get0_pubkey(csr);
	char group[64];
	size_t glen = 0;

	if (pk == NULL)
		return pst_err_set(e, PST_E_PARSE, "the CSR has no public key it can be read with");
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) != 1)
		return pst_err_set(e, PST_E_INVAL,
				   "the CSR's key is not an EC key; make an EC P-256 key "
				   "(posture-agent enroll does)");
	for (const char *const *c = accepted_curves; *c != NULL; c++)
		if (strcmp(group, *c) == 0)
			goto signature;
	return pst_err_set(e, PST_E_INVAL,
			   "the CSR's key is on curve %s; use P-256, P-384 or P-521", group);
signature:
	/* The signature shows the requester holds the private key. */
	if (X509_REQ_verify(csr, pk) != 1) {
		ERR_clear_error();
		return pst_err_set(e, PST_E_INVAL,
				   "the CSR's signature does not verify with its own key; make "
				   "the CSR again");
	}
	return 0;
}

/* The CN, when there is one, into cn (cap PKI_NAME_MAX + 1); "" when none. */
static int csr_cn(X509_REQ *csr, char *cn, size_t cap, struct pst_err *e)
{
	const X509_NAME *name = X509_REQ_get_subject_name(csr);
	unsigned char *utf8 = NULL;
	int idx, len;

	cn[0] = '\0';
	if (name == NULL)
		return 0;
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0)
		return 0;
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return pst_err_set(e, PST_E_INVAL, "the CSR's subject has more than one CN");
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (len < 0)
		return pst_err_set(e, PST_E_PARSE, "the CSR's CN is not a string");
	if ((size_t)len >= cap || memchr(utf8, '\0', (size_t)len) != NULL ||
	    !pki_name_valid((const char *)utf8)) {
		OPENSSL_free(utf8);
		return pst_err_set(e, PST_E_INVAL,
				   "the CSR's CN is not a valid agent id: use 1 to %d of A-Z a-z "
				   "0-9 . _ -, not starting with . or -, or leave the CN empty",
				   PKI_NAME_MAX);
	}
	memcpy(cn, utf8, (size_t)len + 1);
	OPENSSL_free(utf8);
	return 0;
}

static int parse_csr(const char *pem, size_t len, X509_REQ **out, struct pst_err *e)
{
	BIO *b;

	*out = NULL;
	if (len > ENROLL_MAX_CSR)
		return pst_err_set(e, PST_E_TOOBIG, "the CSR is %zu bytes of PEM; at most %d", len,
				   ENROLL_MAX_CSR);
	if (memchr(pem, '\0', len) != NULL)
		return pst_err_set(e, PST_E_PARSE, "the CSR holds a NUL byte");
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	*out = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	if (*out == NULL)
		return pst_err_set(e, PST_E_PARSE,
				   "\"csr\" is not a PEM certificate request (-----BEGIN "
				   "CERTIFICATE REQUEST-----)");
	return 0;
}

int enroll_req_parse(const uint8_t *body, size_t len, struct enroll_req *out, struct pst_err *e)
{
	json_t *doc = NULL, *csr, *id;
	json_error_t jerr;
	char cn[PKI_NAME_MAX + 1];
	const char *key;
	json_t *v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > ENROLL_MAX_BODY)
		return pst_err_set(e, PST_E_TOOBIG, "the request body is %zu bytes; at most %d", len,
				   ENROLL_MAX_BODY);
	doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES,
			 &jerr);
	if (doc == NULL)
		return pst_err_set(e, PST_E_PARSE, "the body is not JSON: %s (at byte %d)", jerr.text,
				   jerr.position);
	if (!json_is_object(doc)) {
		rc = pst_err_set(e, PST_E_PARSE,
				 "the body must be a JSON object {\"csr\": PEM, \"agent_id\": ID}");
		goto out;
	}
	json_object_foreach(doc, key, v) {
		if (strcmp(key, "csr") != 0 && strcmp(key, "agent_id") != 0) {
			rc = pst_err_set(e, PST_E_PARSE,
					 "unknown key \"%.64s\" in the body (only \"csr\" and "
					 "\"agent_id\")",
					 key);
			goto out;
		}
	}
	csr = json_object_get(doc, "csr");
	id = json_object_get(doc, "agent_id");
	if (!json_is_string(csr)) {
		rc = pst_err_set(e, PST_E_PARSE, "\"csr\" is required and must be a string");
		goto out;
	}
	if (id != NULL && !json_is_string(id)) {
		rc = pst_err_set(e, PST_E_PARSE, "\"agent_id\" must be a string");
		goto out;
	}
	if (id != NULL) {
		const char *s = json_string_value(id);
		size_t n = json_string_length(id);

		if (n > PKI_NAME_MAX || strlen(s) != n || !pki_name_valid(s)) {
			rc = pst_err_set(e, PST_E_INVAL,
					 "\"agent_id\" is not a valid agent id: use 1 to %d of A-Z "
					 "a-z 0-9 . _ -, not starting with . or -",
					 PKI_NAME_MAX);
			goto out;
		}
		memcpy(out->agent_id, s, n + 1);
	}
	if ((rc = parse_csr(json_string_value(csr), json_string_length(csr), &out->csr, e)) != 0 ||
	    (rc = check_key(out->csr, e)) != 0 || (rc = csr_cn(out->csr, cn, sizeof(cn), e)) != 0)
		goto out;
	if (cn[0] != '\0') {
		if (out->agent_id[0] == '\0') {
			memcpy(out->agent_id, cn, sizeof(cn));
		} else if (strcmp(cn, out->agent_id) != 0) {
			rc = pst_err_set(e, PST_E_INVAL,
					 "the CSR's CN \"%s\" differs from \"agent_id\" \"%s\"; give "
					 "one, or the same in both",
					 cn, out->agent_id);
			goto out;
		}
	}
out:
	json_decref(doc);
	if (rc != 0)
		enroll_req_cleanup(out);
	return rc;
}

void enroll_req_cleanup(struct enroll_req *r)
{
	X509_REQ_free(r->csr);
	memset(r, 0, sizeof(*r));
}
