/*
 * tls.c - see tls.h.
 */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/stat.h>

/* TLS 1.2 suites: forward secrecy and AEAD only.  TLS 1.3 suites are all AEAD. */
static const char tls12_ciphers[] =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

const char *tls_errors(char *buf, size_t cap)
{
	unsigned long code;
	size_t len = 0;

	buf[0] = '\0';
	while ((code = ERR_get_error()) != 0) {
		char one[256];

		ERR_error_string_n(code, one, sizeof(one));
		if (len + strlen(one) + 3 < cap) {
			len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? "; " : "", one);
		}
	}
	if (len == 0)
		snprintf(buf, cap, "no detail from OpenSSL");
	return buf;
}

int tls_check_key_file(const char *path, struct pst_err *e)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return pst_err_set(e, pst_from_errno(errno), "private key %s: %s", path,
				   strerror(errno));
	if ((st.st_mode & 077) != 0)
		return pst_err_set(e, PST_E_ACCES,
				   "private key %s: readable by group or others (mode %04o); "
				   "run chmod 600 %s",
				   path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

static int ctx_common(SSL_CTX *ctx, const char *ca, const char *cert, const char *key,
		      struct pst_err *e)
{
	char detail[512];

	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1)
		return pst_err_set(e, PST_E_TLS, "TLS: cipher list refused: %s",
				   tls_errors(detail, sizeof(detail)));
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		return pst_err_set(e, PST_E_TLS,
				   "CA certificate %s: cannot load (%s); check the path and that "
				   "it is a PEM certificate",
				   ca, tls_errors(detail, sizeof(detail)));
	if (cert == NULL)
		return 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return pst_err_set(e, PST_E_TLS,
				   "certificate %s: cannot load (%s); check the path and that it "
				   "is a PEM certificate",
				   cert, tls_errors(detail, sizeof(detail)));
	if (tls_check_key_file(key, e) != 0)
		return e ? e->code : PST_E_ACCES;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return pst_err_set(e, PST_E_TLS, "private key %s: cannot load (%s)", key,
				   tls_errors(detail, sizeof(detail)));
	if (SSL_CTX_check_private_key(ctx) != 1)
		return pst_err_set(e, PST_E_TLS,
				   "private key %s does not match certificate %s; reissue the pair",
				   key, cert);
	return 0;
}

int tls_ctx_new_server(const char *ca, const char *cert, const char *key, bool require_client,
		       SSL_CTX **out, struct pst_err *e)
{
	SSL_CTX *ctx;
	STACK_OF(X509_NAME) *names;
	int rc;

	*out = NULL;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return pst_err_set(e, PST_E_NOMEM, "TLS: cannot create a server context");
	rc = ctx_common(ctx, ca, cert, key, e);
	if (rc != 0)
		goto fail;
	SSL_CTX_set_verify(ctx,
			   require_client ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
					  : SSL_VERIFY_PEER,
			   NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	/* Tell clients which CA we accept, so they pick the right certificate. */
	names = SSL_load_client_CA_file(ca);
	if (names != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"posture", 7);
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return rc;
}

int tls_ctx_new_client(const char *ca, const char *cert, const char *key, SSL_CTX **out,
		       struct pst_err *e)
{
	SSL_CTX *ctx;
	int rc;

	*out = NULL;
	if ((cert == NULL) != (key == NULL))
		return pst_err_set(e, PST_E_INVAL, "TLS: a certificate needs its key and a key its certificate");
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return pst_err_set(e, PST_E_NOMEM, "TLS: cannot create a client context");
	rc = ctx_common(ctx, ca, cert, key, e);
	if (rc != 0) {
		SSL_CTX_free(ctx);
		return rc;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	*out = ctx;
	return 0;
}

int tls_client_expect_host(SSL *ssl, const char *host, struct pst_err *e)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);

	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (ip != NULL) {
		ASN1_OCTET_STRING_free(ip);
		if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1)
			return pst_err_set(e, PST_E_TLS, "TLS: cannot expect address %s", host);
		return 0;
	}
	if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1 ||
	    SSL_set_tlsext_host_name(ssl, host) != 1)
		return pst_err_set(e, PST_E_TLS, "TLS: cannot expect host name %s", host);
	return 0;
}

int tls_peer_cn(SSL *ssl, char *buf, size_t cap, struct pst_err *e)
{
	X509 *peer;
	X509_NAME *name;
	int idx, len;
	const unsigned char *data;
	X509_NAME_ENTRY *ent;
	ASN1_STRING *s;

	buf[0] = '\0';
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return pst_err_set(e, PST_E_TLS, "peer certificate did not verify: %s",
				   X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
	peer = SSL_get0_peer_certificate(ssl);
	if (peer == NULL)
		return pst_err_set(e, PST_E_TLS, "peer presented no certificate");
	name = X509_get_subject_name(peer);
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0)
		return pst_err_set(e, PST_E_TLS, "peer certificate has no subject CN");
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return pst_err_set(e, PST_E_TLS, "peer certificate has more than one subject CN");
	ent = X509_NAME_get_entry(name, idx);
	s = X509_NAME_ENTRY_get_data(ent);
	data = ASN1_STRING_get0_data(s);
	len = ASN1_STRING_length(s);
	if (len <= 0 || (size_t)len >= cap)
		return pst_err_set(e, PST_E_TLS, "peer certificate CN is empty or longer than %zu bytes",
				   cap - 1);
	for (int i = 0; i < len; i++) {
		unsigned char c = data[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return pst_err_set(e, PST_E_TLS,
					   "peer certificate CN holds a byte outside [A-Za-z0-9._-]");
	}
	memcpy(buf, data, (size_t)len);
	buf[len] = '\0';
	return 0;
}
