/*
 * agentenroll.c - `posture-agent enroll` (agentenroll.h).
 *
 * The steps, each finished before the next starts: read FILE and decide
 * every path; refuse existing key and certificate files; make the key and
 * CSR in memory; POST them (libcurl, OpenSSL backend, verification always
 * on); check the answer (the certificate holds our key, names the id,
 * and is signed by the CA we verified); write key, certificate and CA, each
 * created exclusively; then replace FILE.  A failure after the first file
 * is written removes the files this run created.
 */
#include "agentenroll.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#define ENROLL_PATH "/api/v1/enroll"

struct files {
	char *key, *cert, *ca;  /* absolute or as resolved against FILE */
	char *wrote[3];         /* created by this run, for the failure path */
	size_t nwrote;
};

struct buf {
	char *p;
	size_t n;
	bool over;
};

/* What the verify callback needs for --ca-fingerprint. */
struct pin {
	unsigned char sha[32];
	bool matched;
};

/* --- small helpers --------------------------------------------------------- */

static int parse_fingerprint(const char *s, unsigned char out[32], struct pst_err *e)
{
	size_t n = 0;

	for (const char *p = s; *p != '\0'; p++) {
		int hi, lo;

		if (*p == ':')
			continue;
		if (n == 32 || p[1] == '\0')
			goto bad;
		hi = OPENSSL_hexchar2int((unsigned char)p[0]);
		lo = OPENSSL_hexchar2int((unsigned char)p[1]);
		if (hi < 0 || lo < 0)
			goto bad;
		out[n++] = (unsigned char)(hi << 4 | lo);
		p++;
	}
	if (n == 32)
		return 0;
bad:
	return pst_err_set(e, PST_E_USAGE,
			   "--ca-fingerprint \"%s\": give the CA's SHA-256 as 64 hex digits, colons "
			   "allowed (posture-collector init prints it)",
			   s);
}

static bool cert_sha256(X509 *x, unsigned char out[32])
{
	unsigned int n = 0;

	return X509_digest(x, EVP_sha256(), out, &n) == 1 && n == 32;
}

static char *dir_of(const char *path)
{
	char *tmp = strdup(path), *d;

	if (tmp == NULL)
		return NULL;
	d = strdup(dirname(tmp));
	free(tmp);
	return d;
}

static char *join(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* A path as FILE should name it: relative when it lies in FILE's directory. */
static const char *as_written(const char *path, const char *cfgdir)
{
	size_t n = strlen(cfgdir);

	if (strncmp(path, cfgdir, n) == 0 && path[n] == '/' && strchr(path + n + 1, '/') == NULL)
		return path + n + 1;
	return path;
}

/* --- key and CSR ------------------------------------------------------------ */

static int make_csr(const char *agent_id, EVP_PKEY **key, char **pem, struct pst_err *e)
{
	X509_REQ *req = NULL;
	X509_NAME *name;
	BIO *b = NULL;
	char *data;
	long n;
	int rc = 0;

	*pem = NULL;
	if ((*key = EVP_EC_gen("P-256")) == NULL)
		return pst_err_set(e, PST_E_TLS, "cannot make an EC P-256 key");
	if ((req = X509_REQ_new()) == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_pubkey(req, *key) != 1 || (name = X509_REQ_get_subject_name(req)) == NULL ||
	    (agent_id != NULL &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)agent_id,
					-1, -1, 0) != 1) ||
	    X509_REQ_sign(req, *key, EVP_sha256()) <= 0 || (b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(b, req) != 1 || (n = BIO_get_mem_data(b, &data)) <= 0 ||
	    (*pem = strndup(data, (size_t)n)) == NULL) {
		rc = pst_err_set(e, PST_E_TLS, "cannot make the certificate request");
		ERR_clear_error();
	}
	BIO_free(b);
	X509_REQ_free(req);
	return rc;
}

/* --- HTTPS ---------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (b->n + n > AGENT_ENROLL_MAX_RESPONSE) {
		b->over = true;
		return 0;
	}
	if ((p = realloc(b->p, b->n + n + 1)) == NULL)
		return 0;
	memcpy(p + b->n, data, n);
	b->n += n;
	p[b->n] = '\0';
	b->p = p;
	return n;
}

/*
 * --ca-fingerprint: the chain the server sent must hold a CA with the
 * pinned SHA-256, and the server's certificate must verify against that
 * CA alone.  Replaces OpenSSL's chain building; curl still checks the host.
 */
static int pin_verify(X509_STORE_CTX *sctx, void *arg)
{
	struct pin *pin = arg;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(sctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx), *anchor = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *v = NULL;
	unsigned char sha[32];
	int ok = 0;

	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (cert_sha256(c, sha) && memcmp(sha, pin->sha, 32) == 0 && X509_check_ca(c) != 0) {
			anchor = c;
			break;
		}
	}
	if (anchor == NULL || leaf == NULL) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
		return 0;
	}
	if ((store = X509_STORE_new()) != NULL && X509_STORE_add_cert(store, anchor) == 1 &&
	    (v = X509_STORE_CTX_new()) != NULL && X509_STORE_CTX_init(v, store, leaf, chain) == 1) {
		X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(v), X509_PURPOSE_SSL_SERVER);
		ok = X509_verify_cert(v) == 1;
		if (!ok)
			X509_STORE_CTX_set_error(sctx, X509_STORE_CTX_get_error(v));
	}
	pin->matched = ok;
	X509_STORE_CTX_free(v);
	X509_STORE_free(store);
	return ok;
}

static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
	(void)curl;
	SSL_CTX_set_cert_verify_callback(ssl_ctx, pin_verify, arg);
	return CURLE_OK;
}

static int post(const struct agent_enroll_opts *o, struct pin *pin, const char *body,
		long *status, struct buf *resp, struct pst_err *e)
{
	char *url = NULL, *auth = NULL, errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	CURL *c = NULL;
	CURLcode cc;
	size_t n = strlen(o->collector);
	int rc = 0;

	while (n > 0 && o->collector[n - 1] == '/')
		n--;
	if (asprintf(&url, "%s%.*s" ENROLL_PATH, strncmp(o->collector, "https://", 8) == 0 ? "" : "https://",
		     (int)n, o->collector) < 0 ||
	    asprintf(&auth, "Authorization: Bearer %s", o->token) < 0) {
		url = auth = NULL;
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	if ((c = curl_easy_init()) == NULL ||
	    (hdr = curl_slist_append(hdr, "Content-Type: application/json")) == NULL ||
	    (hdr = curl_slist_append(hdr, auth)) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "cannot set up libcurl");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->cacert != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	} else {
		if (curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK) {
			rc = pst_err_set(e, PST_E_TLS,
					 "this libcurl cannot pin a CA fingerprint (not built with "
					 "OpenSSL); use --cacert FILE");
			goto out;
		}
		curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, pin);
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (resp->over)
			rc = pst_err_set(e, PST_E_TOOBIG, "%s: the answer is over %d bytes", url,
					 AGENT_ENROLL_MAX_RESPONSE);
		else if (o->ca_fingerprint != NULL && !pin->matched &&
			 (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR))
			rc = pst_err_set(e, PST_E_TLS,
					 "%s: the collector's certificate chain holds no CA with "
					 "fingerprint %s, or does not verify against it (%s); check the "
					 "fingerprint with the collector's operator",
					 url, o->ca_fingerprint, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		else
			rc = pst_err_set(e, PST_E_TLS, "%s: %s", url,
					 errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(url);
	free(auth);
	return rc;
}

/* --- the answer --------------------------------------------------------------- */

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

/* The CA returned must be the one the connection was verified with. */
static int check_ca(const struct agent_enroll_opts *o, const struct pin *pin, X509 *ca,
		    struct pst_err *e)
{
	unsigned char sha[32], other[32];
	bool same = false;
	BIO *b;
	X509 *x;

	if (!cert_sha256(ca, sha) || X509_check_ca(ca) == 0)
		return pst_err_set(e, PST_E_PROTO, "the collector's \"ca\" is not a CA certificate");
	if (o->cacert == NULL) {
		if (memcmp(sha, pin->sha, 32) != 0)
			return pst_err_set(e, PST_E_PROTO,
					   "the collector answered with a CA whose fingerprint is not "
					   "%s; refusing it",
					   o->ca_fingerprint);
		return 0;
	}
	if ((b = BIO_new_file(o->cacert, "r")) == NULL)
		return pst_err_set(e, PST_E_SYS, "cannot read %s", o->cacert);
	while (!same && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		same = cert_sha256(x, other) && memcmp(sha, other, 32) == 0;
		X509_free(x);
	}
	BIO_free(b);
	ERR_clear_error();
	if (!same)
		return pst_err_set(e, PST_E_PROTO,
				   "the collector answered with a CA that is not in %s; refusing it",
				   o->cacert);
	return 0;
}

/* --- files ------------------------------------------------------------------- */

/* Create path exclusively at mode with data; owned like its directory when we are root. */
static int write_new(struct files *f, const char *path, const char *data, size_t len, mode_t mode,
		     struct pst_err *e)
{
	struct stat dst;
	char *dir = dir_of(path);
	int fd, rc = 0;

	if (dir == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = pst_err_set(e, PST_E_SYS, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	f->wrote[f->nwrote++] = (char *)path;
	if (fchmod(fd, mode) != 0 ||
	    (geteuid() == 0 && stat(dir, &dst) == 0 && fchown(fd, dst.st_uid, dst.st_gid) != 0) ||
	    write(fd, data, len) != (ssize_t)len || fsync(fd) != 0)
		rc = pst_err_set(e, PST_E_SYS, "cannot write %s: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = pst_err_set(e, PST_E_SYS, "cannot write %s: %s", path, strerror(errno));
out:
	free(dir);
	return rc;
}

static int key_pem(EVP_PKEY *key, char **out, size_t *len, struct pst_err *e)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *data;
	long n;
	int rc = 0;

	*out = NULL;
	if (b == NULL || PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (n = BIO_get_mem_data(b, &data)) <= 0 || (*out = OPENSSL_secure_malloc((size_t)n)) == NULL)
		rc = pst_err_set(e, PST_E_TLS, "cannot encode the key");
	else {
		memcpy(*out, data, (size_t)n);
		*len = (size_t)n;
	}
	BIO_free(b);
	return rc;
}

/* The config FILE as it will be: the operator's document with our keys set. */
static int write_config(const struct agent_enroll_opts *o, json_t *doc, const char *cfgdir,
			const struct files *f, const char *collector, struct pst_err *e)
{
	struct stat st;
	bool had = stat(o->config, &st) == 0;
	mode_t mode = had ? (st.st_mode & 0777) : 0644;
	char *tmp = NULL, *text = NULL;
	int fd = -1, rc = 0;
	size_t len;

	json_object_del(doc, "server_name");
	if (json_object_set_new(doc, "collector", json_string(collector)) != 0 ||
	    json_object_set_new(doc, "ca", json_string(as_written(f->ca, cfgdir))) != 0 ||
	    json_object_set_new(doc, "cert", json_string(as_written(f->cert, cfgdir))) != 0 ||
	    json_object_set_new(doc, "key", json_string(as_written(f->key, cfgdir))) != 0 ||
	    (json_object_get(doc, "policies") == NULL &&
	     json_object_set_new(doc, "policies", json_pack("[s]", o->default_policy)) != 0) ||
	    (text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL ||
	    asprintf(&tmp, "%s.enroll-new", o->config) < 0) {
		tmp = NULL;
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	len = strlen(text);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 || fchmod(fd, mode) != 0 ||
	    (had && geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) != 0) ||
	    write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		rc = pst_err_set(e, PST_E_SYS, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0 || (fd = -1, rename(tmp, o->config) != 0)) {
		fd = -1;
		rc = pst_err_set(e, PST_E_SYS, "cannot replace %s: %s", o->config, strerror(errno));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(text);
	return rc;
}

/* FILE's document (a new object when absent) and the paths of the three files. */
static int plan(const struct agent_enroll_opts *o, const char *cfgdir, json_t **doc,
		struct files *f, struct pst_err *e)
{
	static const char *const keys[] = {"key", "cert", "ca"};
	static const char *const names[] = {"agent.key", "agent.crt", "ca.crt"};
	char **slots[] = {&f->key, &f->cert, &f->ca};
	const char *dir = o->dir != NULL ? o->dir : cfgdir;
	int rc;

	if (exists(o->config)) {
		if ((rc = conf_load(o->config, doc, e)) != 0)
			return rc;
		if (!json_is_object(*doc))
			return pst_err_set(e, PST_E_INVAL, "config %s is not a JSON object", o->config);
	} else if ((*doc = json_object()) == NULL) {
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < 3; i++) {
		const char *v = json_string_value(json_object_get(*doc, keys[i]));

		/* --dir wins; else what FILE names; else the default names beside FILE. */
		*slots[i] = o->dir == NULL && v != NULL ? conf_path(o->config, v) : join(dir, names[i]);
		if (*slots[i] == NULL)
			return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	if (exists(f->key) || exists(f->cert))
		return pst_err_set(e, PST_E_INVAL,
				   "%s already exists: this agent is enrolled; to enroll it again, "
				   "move its key and certificate away first",
				   exists(f->key) ? f->key : f->cert);
	return 0;
}

/* An error document {"error": {"code", "message"}} to a line for people. */
static void collector_said(const struct buf *resp, long status, const char *url,
			   struct pst_err *e)
{
	json_t *doc = resp->p ? json_loadb(resp->p, resp->n, 0, NULL) : NULL;
	json_t *err = json_object_get(doc, "error");
	const char *msg = json_string_value(json_object_get(err, "message"));
	const char *code = json_string_value(json_object_get(err, "code"));

	if (msg != NULL)
		pst_err_set(e, PST_E_ACCES, "the collector refused the enrollment (%ld%s%s): %s",
			    status, code ? " " : "", code ? code : "", msg);
	else
		pst_err_set(e, PST_E_ACCES, "the collector at %s answered HTTP %ld", url, status);
	json_decref(doc);
}

int agent_enroll(const struct agent_enroll_opts *o, bool *refused, struct pst_err *e)
{
	struct files f = {0};
	struct pin pin = {0};
	struct buf resp = {0};
	json_t *doc = NULL, *ans = NULL, *body = NULL;
	EVP_PKEY *key = NULL;
	X509 *crt = NULL, *ca = NULL;
	char *csr = NULL, *cfgdir = NULL, *text = NULL, *kpem = NULL, cn[128];
	const char *crt_pem, *ca_pem, *collector, *id;
	size_t klen = 0;
	long status = 0;
	int rc;

	*refused = false;
	if ((o->cacert == NULL) == (o->ca_fingerprint == NULL))
		return pst_err_set(e, PST_E_USAGE,
				   "give exactly one of --cacert FILE and --ca-fingerprint SHA256, "
				   "to verify the collector");
	if (o->ca_fingerprint != NULL && (rc = parse_fingerprint(o->ca_fingerprint, pin.sha, e)) != 0)
		return rc;
	if ((cfgdir = dir_of(o->config)) == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	if ((rc = plan(o, cfgdir, &doc, &f, e)) != 0 || (rc = make_csr(o->agent_id, &key, &csr, e)) != 0)
		goto out;
	body = json_pack("{s:s}", "csr", csr);
	if (body == NULL || (o->agent_id != NULL &&
			     json_object_set_new(body, "agent_id", json_string(o->agent_id)) != 0) ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}

	*refused = true;
	if ((rc = post(o, &pin, text, &status, &resp, e)) != 0)
		goto out;
	if (status != 200) {
		collector_said(&resp, status, o->collector, e);
		rc = PST_E_ACCES;
		goto out;
	}
	ans = json_loadb(resp.p ? resp.p : "", resp.n, JSON_REJECT_DUPLICATES, NULL);
	crt_pem = json_string_value(json_object_get(ans, "certificate"));
	ca_pem = json_string_value(json_object_get(ans, "ca"));
	collector = json_string_value(json_object_get(ans, "collector"));
	id = json_string_value(json_object_get(ans, "agent_id"));
	if (crt_pem == NULL || ca_pem == NULL || collector == NULL || id == NULL ||
	    (crt = pem_cert(crt_pem)) == NULL || (ca = pem_cert(ca_pem)) == NULL) {
		ERR_clear_error();
		rc = pst_err_set(e, PST_E_PROTO,
				 "the collector's answer lacks a certificate, its CA, the agent id "
				 "or the collector address");
		goto out;
	}
	if ((rc = check_ca(o, &pin, ca, e)) != 0)
		goto out;
	if (X509_verify(crt, X509_get0_pubkey(ca)) != 1 || X509_check_private_key(crt, key) != 1 ||
	    X509_NAME_get_text_by_NID(X509_get_subject_name(crt), NID_commonName, cn, sizeof(cn)) < 0 ||
	    strcmp(cn, id) != 0 || (o->agent_id != NULL && strcmp(id, o->agent_id) != 0)) {
		ERR_clear_error();
		rc = pst_err_set(e, PST_E_PROTO,
				 "the certificate the collector returned is not for this key and id "
				 "\"%s\", or not signed by its CA; refusing it",
				 id);
		goto out;
	}
	{
		struct pst_err pe = {0};
		char host[256];
		uint16_t port;

		if (conf_split_hostport("answer", "collector", collector, host, sizeof(host), &port,
					&pe) != 0) {
			rc = pst_err_set(e, PST_E_PROTO,
					 "the collector answered with an agent address \"%s\" that is "
					 "not HOST:PORT",
					 collector);
			goto out;
		}
	}

	/* From here on, only local files: errors are ours, not the collector's. */
	*refused = false;
	if ((rc = key_pem(key, &kpem, &klen, e)) != 0 ||
	    (rc = write_new(&f, f.key, kpem, klen, 0600, e)) != 0 ||
	    (rc = write_new(&f, f.cert, crt_pem, strlen(crt_pem), 0644, e)) != 0)
		goto out;
	if (exists(f.ca)) {
		X509 *old = NULL;
		BIO *b = BIO_new_file(f.ca, "r");
		unsigned char a[32], c[32];

		old = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		ERR_clear_error();
		if (old == NULL || !cert_sha256(old, a) || !cert_sha256(ca, c) || memcmp(a, c, 32) != 0)
			rc = pst_err_set(e, PST_E_INVAL,
					 "%s exists and is not the collector's CA; move it away",
					 f.ca);
		X509_free(old);
		if (rc != 0)
			goto out;
	} else if ((rc = write_new(&f, f.ca, ca_pem, strlen(ca_pem), 0644, e)) != 0) {
		goto out;
	}
	rc = write_config(o, doc, cfgdir, &f, collector, e);
out:
	if (rc != 0)
		for (size_t i = 0; i < f.nwrote; i++)
			unlink(f.wrote[i]);
	if (kpem != NULL)
		OPENSSL_secure_clear_free(kpem, klen);
	json_decref(doc);
	json_decref(ans);
	json_decref(body);
	free(text);
	free(csr);
	free(resp.p);
	free(cfgdir);
	free(f.key);
	free(f.cert);
	free(f.ca);
	X509_free(crt);
	X509_free(ca);
	EVP_PKEY_free(key);
	return rc;
}
