/*
 * pki.c - the private CA of a posture deployment (see pki.h).
 *
 * Everything is made in memory first (keys, certificates, the config
 * document), then written into the directory through one directory handle:
 * each file is created with O_EXCL | O_NOFOLLOW at its final mode, fsynced,
 * and remembered, so that a failure part way removes exactly what this run
 * created and nothing that was there before.  Private keys pass through
 * OpenSSL's secure memory BIO, which wipes them when freed.
 */
#include "pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "tls.h"

#define OUTDIR_MAX_DIRS 32
#define OUTDIR_MAX_FILES 16
/* Certificates start an hour back, so hosts whose clocks lag still accept them. */
#define PKI_BACKDATE_S 3600

bool pki_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PKI_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* A host name that can go into a certificate as a DNS subjectAltName. */
static bool dns_name_valid(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

static bool is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool is_wildcard(const char *host)
{
	return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* The host name for certificates and agent.json; PST_E_INVAL when unusable. */
static int host_name(char *buf, size_t cap, struct pst_err *e)
{
	if (gethostname(buf, cap) != 0)
		return pst_err_set(e, PST_E_SYS, "cannot read the host name: %s", strerror(errno));
	buf[cap - 1] = '\0';
	if (!dns_name_valid(buf))
		return pst_err_set(e, PST_E_INVAL,
				   "the host name \"%s\" is not a DNS name, so it cannot stand for a "
				   "0.0.0.0 or :: listen address; give the address agents use "
				   "(--agent-listen HOST:PORT)",
				   buf);
	return 0;
}

/* The collector id when none is given: the host name, if it is a valid id. */
static void default_id(char *id, size_t cap)
{
	char name[256];

	if (gethostname(name, sizeof(name)) != 0)
		name[0] = '\0';
	name[sizeof(name) - 1] = '\0';
	snprintf(id, cap, "%s", pki_name_valid(name) ? name : "collector");
}

static const char *ossl_detail(char *buf, size_t cap)
{
	return tls_errors(buf, cap);
}

/* --- writing a directory of files, all or nothing ------------------------ */

struct outdir {
	const char *path;                   /* as given, for messages */
	int fd;
	char *made[OUTDIR_MAX_DIRS];        /* directories this run created, outermost first */
	size_t nmade;
	const char *files[OUTDIR_MAX_FILES]; /* names this run created under fd */
	size_t nfiles;
};

/* mkdir -p: missing parents 0755, path itself 0700; remember what was made. */
static int outdir_mkdirs(struct outdir *d, struct pst_err *e)
{
	char *buf = strdup(d->path);
	size_t n, i;
	int rc = 0;

	if (buf == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (i = 1; i <= n; i++) {
		bool last = i == n;

		if (!last && buf[i] != '/')
			continue;
		if (!last && buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, last ? 0700 : 0755) == 0) {
			if (d->nmade == OUTDIR_MAX_DIRS) {
				rmdir(buf);
				rc = pst_err_set(e, PST_E_INVAL,
						 "%s: more than %d missing parent directories; create "
						 "them first",
						 d->path, OUTDIR_MAX_DIRS);
				goto out;
			}
			if ((d->made[d->nmade] = strdup(buf)) == NULL) {
				rmdir(buf);
				rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
				goto out;
			}
			d->nmade++;
		} else if (errno != EEXIST) {
			rc = pst_err_set(e, pst_from_errno(errno), "cannot create directory %s: %s",
					 buf, strerror(errno));
			goto out;
		}
		if (!last)
			buf[i] = '/';
	}
out:
	free(buf);
	return rc;
}

static int outdir_open(struct outdir *d, const char *path, struct pst_err *e)
{
	int rc;

	memset(d, 0, sizeof(*d));
	d->path = path;
	d->fd = -1;
	if ((rc = outdir_mkdirs(d, e)) != 0)
		return rc;
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0)
		return pst_err_set(e, pst_from_errno(errno), "cannot open directory %s: %s", path,
				   strerror(errno));
	/* Made by us: 0700 exactly, whatever the umask took away. */
	if (d->nmade > 0 && fchmod(d->fd, 0700) != 0)
		return pst_err_set(e, PST_E_SYS, "chmod 700 %s: %s", path, strerror(errno));
	return 0;
}

/* Remove what this run created; for the failure path. */
static void outdir_abort(struct outdir *d)
{
	while (d->nfiles > 0)
		unlinkat(d->fd, d->files[--d->nfiles], 0);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	while (d->nmade > 0) {
		d->nmade--;
		rmdir(d->made[d->nmade]);
		free(d->made[d->nmade]);
	}
}

static int outdir_commit(struct outdir *d, struct pst_err *e)
{
	int rc = 0;

	if (fsync(d->fd) != 0)
		rc = pst_err_set(e, PST_E_SYS, "fsync %s: %s", d->path, strerror(errno));
	/* New directories are durable once their parents are synced too. */
	for (size_t i = 0; rc == 0 && i < d->nmade; i++) {
		char *slash = strrchr(d->made[i], '/');
		char *parent = slash == NULL ? strdup(".")
			       : slash == d->made[i] ? strdup("/")
						     : strndup(d->made[i], (size_t)(slash - d->made[i]));
		int pfd;

		if (parent == NULL)
			return pst_err_set(e, PST_E_NOMEM, "out of memory");
		pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd >= 0) {
			if (fsync(pfd) != 0)
				rc = pst_err_set(e, PST_E_SYS, "fsync %s: %s", parent,
						 strerror(errno));
			close(pfd);
		}
		free(parent);
	}
	if (rc != 0)
		return rc;
	close(d->fd);
	d->fd = -1;
	d->nfiles = 0;
	while (d->nmade > 0)
		free(d->made[--d->nmade]);
	return 0;
}

/*
 * Create name (a static string) under d with exactly mode, refusing to
 * replace anything or follow a link, and write data durably.
 */
static int outdir_write(struct outdir *d, const char *name, const void *data, size_t len,
			mode_t mode, struct pst_err *e)
{
	const char *p = data;
	int fd, rc = 0;

	if (d->nfiles == OUTDIR_MAX_FILES)
		return pst_err_set(e, PST_E_INVAL, "%s: too many files", d->path);
	/* Created with mode & 0600 at most, so a key is never readable by others. */
	fd = openat(d->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    mode & 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return pst_err_set(e, PST_E_INVAL,
					   "%s/%s already exists; nothing was overwritten (move it "
					   "away or choose another directory)",
					   d->path, name);
		return pst_err_set(e, pst_from_errno(errno), "cannot create %s/%s: %s", d->path,
				   name, strerror(errno));
	}
	d->files[d->nfiles++] = name;
	if (fchmod(fd, mode) != 0) {
		rc = pst_err_set(e, PST_E_SYS, "chmod %s/%s: %s", d->path, name, strerror(errno));
		goto out;
	}
	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = pst_err_set(e, PST_E_SYS, "write %s/%s: %s", d->path, name,
					 strerror(errno));
			goto out;
		}
		p += k;
		len -= (size_t)k;
	}
	if (fsync(fd) != 0)
		rc = pst_err_set(e, PST_E_SYS, "fsync %s/%s: %s", d->path, name, strerror(errno));
out:
	if (close(fd) != 0 && rc == 0)
		rc = pst_err_set(e, PST_E_SYS, "close %s/%s: %s", d->path, name, strerror(errno));
	return rc;
}

static int outdir_write_bio(struct outdir *d, const char *name, BIO *b, mode_t mode,
			    struct pst_err *e)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);

	if (len <= 0)
		return pst_err_set(e, PST_E_INVAL, "%s/%s: nothing to write", d->path, name);
	return outdir_write(d, name, data, (size_t)len, mode, e);
}

static int outdir_write_json(struct outdir *d, const char *name, const json_t *doc,
			     struct pst_err *e)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	size_t len;
	int rc;

	if (text == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	len = strlen(text);
	/* json_dumps leaves off the final newline a text file has. */
	text[len] = '\n';
	rc = outdir_write(d, name, text, len + 1, 0644, e);
	text[len] = '\0';
	free(text);
	return rc;
}

/* --- PEM in memory ------------------------------------------------------- */

static int pem_private(EVP_PKEY *k, BIO **out, struct pst_err *e)
{
	char detail[256];

	/* The secure memory BIO wipes the key text when it is freed. */
	*out = BIO_new(BIO_s_secmem());
	if (*out == NULL || PEM_write_bio_PrivateKey(*out, k, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(*out);
		*out = NULL;
		return pst_err_set(e, PST_E_TLS, "cannot encode a private key: %s",
				   ossl_detail(detail, sizeof(detail)));
	}
	return 0;
}

static int pem_cert(X509 *x, BIO **out, struct pst_err *e)
{
	char detail[256];

	*out = BIO_new(BIO_s_mem());
	if (*out == NULL || PEM_write_bio_X509(*out, x) != 1) {
		BIO_free(*out);
		*out = NULL;
		return pst_err_set(e, PST_E_TLS, "cannot encode a certificate: %s",
				   ossl_detail(detail, sizeof(detail)));
	}
	return 0;
}

static int pem_public(EVP_PKEY *k, BIO **out, struct pst_err *e)
{
	char detail[256];

	*out = BIO_new(BIO_s_mem());
	if (*out == NULL || PEM_write_bio_PUBKEY(*out, k) != 1) {
		BIO_free(*out);
		*out = NULL;
		return pst_err_set(e, PST_E_TLS, "cannot encode a public key: %s",
				   ossl_detail(detail, sizeof(detail)));
	}
	return 0;
}

static X509 *read_cert(const char *path, struct pst_err *e)
{
	char detail[256];
	BIO *b = BIO_new_file(path, "r");
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL)
		pst_err_set(e, PST_E_TLS,
			    "certificate %s: cannot load (%s); check the path and that it is a "
			    "PEM certificate",
			    path, ossl_detail(detail, sizeof(detail)));
	return x;
}

/* --- keys and certificates ----------------------------------------------- */

static int new_key(const char *type, EVP_PKEY **out, struct pst_err *e)
{
	char detail[256];

	if (strcmp(type, "EC") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		*out = EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (*out == NULL)
		return pst_err_set(e, PST_E_TLS, "cannot generate a %s key: %s", type,
				   ossl_detail(detail, sizeof(detail)));
	return 0;
}

struct ext {
	int nid;
	const char *value; /* in openssl x509v3_config(5) syntax */
};

/* A random positive serial of 127 bits (RFC 5280: positive, at most 20 octets). */
static int set_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] &= 0x7f;
	b[15] |= 1; /* never zero */
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		ok = 1;
	BN_free(bn);
	return ok ? 0 : -1;
}

/*
 * A version 3 certificate for key with subject CN=cn, valid for days,
 * carrying exts (terminated by nid 0), signed by issuer_key; issuer NULL
 * makes it self-signed.
 */
static int make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		     int days, const struct ext *exts, X509 **out, struct pst_err *e)
{
	char detail[256];
	X509V3_CTX ctx;
	X509_NAME *name = NULL;
	X509 *x;
	int rc = PST_E_TLS;

	*out = NULL;
	if ((x = X509_new()) == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	name = X509_NAME_new();
	if (name == NULL || X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) != 0 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
				       -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_S) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    X509_set_pubkey(x, key) != 1) {
		pst_err_set(e, rc, "cannot build the certificate for \"%s\": %s", cn,
			    ossl_detail(detail, sizeof(detail)));
		goto out;
	}
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	for (const struct ext *p = exts; p->nid != 0; p++) {
		X509_EXTENSION *ex = X509V3_EXT_nconf_nid(NULL, &ctx, p->nid, p->value);

		if (ex == NULL || X509_add_ext(x, ex, -1) != 1) {
			X509_EXTENSION_free(ex);
			pst_err_set(e, rc, "certificate for \"%s\": extension %s = %s: %s", cn,
				    OBJ_nid2sn(p->nid), p->value,
				    ossl_detail(detail, sizeof(detail)));
			goto out;
		}
		X509_EXTENSION_free(ex);
	}
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
		pst_err_set(e, rc, "cannot sign the certificate for \"%s\": %s", cn,
			    ossl_detail(detail, sizeof(detail)));
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}

int pki_agent_cert(EVP_PKEY *agent_key, const char *agent_id, X509 *ca, EVP_PKEY *ca_key,
		   X509 **out, struct pst_err *e)
{
	static const struct ext exts[] = {
		{NID_basic_constraints, "critical,CA:FALSE"},
		{NID_key_usage, "critical,digitalSignature"},
		{NID_ext_key_usage, "clientAuth"},
		{NID_subject_key_identifier, "hash"},
		{NID_authority_key_identifier, "keyid:always"},
		{0, NULL},
	};

	*out = NULL;
	if (!pki_name_valid(agent_id))
		return pst_err_set(e, PST_E_INVAL,
				   "agent id \"%s\": use 1 to %d of A-Z a-z 0-9 . _ -, not "
				   "starting with . or -",
				   agent_id, PKI_NAME_MAX);
	return make_cert(agent_id, agent_key, ca, ca_key, PKI_AGENT_DAYS, exts, out, e);
}

/* Add one "DNS:x" or "IP:x" entry to the SAN text unless it is there already. */
static int san_add(char *san, size_t cap, const char *host)
{
	char item[300];
	size_t n;

	snprintf(item, sizeof(item), "%s:%s", is_ip(host) ? "IP" : "DNS", host);
	n = strlen(item);
	for (const char *p = san; *p != '\0';) {
		const char *comma = strchr(p, ',');

		if (strncmp(p, item, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 0;
		p = comma != NULL ? comma + 1 : "";
	}
	if (strlen(san) + n + 2 > cap)
		return -1;
	if (san[0] != '\0')
		strcat(san, ",");
	strcat(san, item);
	return 0;
}

/* Parse a --*-listen value and add the names it stands for to san. */
static int listen_names(const char *opt, const char *value, char *host, size_t hostcap,
			char *san, size_t sancap, struct pst_err *e)
{
	char name[256];
	uint16_t port;
	int rc;

	if (conf_split_hostport("", opt, value, host, hostcap, &port, NULL) != 0)
		return pst_err_set(e, PST_E_INVAL,
				   "%s \"%s\": expected HOST:PORT (or [IPv6]:PORT) with a port "
				   "1-65535",
				   opt, value);
	if (is_wildcard(host)) {
		if ((rc = host_name(name, sizeof(name), e)) != 0)
			return rc;
	} else if (is_ip(host) || dns_name_valid(host)) {
		snprintf(name, sizeof(name), "%s", host);
	} else {
		return pst_err_set(e, PST_E_INVAL,
				   "%s \"%s\": \"%s\" is neither an IP address nor a DNS name", opt,
				   value, host);
	}
	if (san_add(san, sancap, name) != 0)
		return pst_err_set(e, PST_E_INVAL, "%s: too many names for the certificate", opt);
	return 0;
}

/* Refuse to init over an existing CA; see pki.h. */
static int refuse_existing(const char *dir, int dirfd, struct pst_err *e)
{
	static const char *const names[] = {"ca.key", "ca.crt"};
	struct stat st;

	for (size_t i = 0; i < 2; i++) {
		char path[PATH_MAX];
		int r;

		if (dirfd >= 0) {
			r = fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW);
		} else {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			r = lstat(path, &st);
		}
		if (r != 0 && (errno == ENOENT || errno == ENOTDIR))
			continue;
		if (r != 0)
			return pst_err_set(e, pst_from_errno(errno), "%s/%s: %s", dir, names[i],
					   strerror(errno));
		return pst_err_set(e, PST_E_INVAL,
					   "%s already holds %s: a collector was initialised there "
					   "and nothing was changed; issue agents with "
					   "`posture-collector issue-agent --dir %s`, or to start "
					   "over with a new CA, move %s away first",
					   dir, names[i], dir, dir);
	}
	return 0;
}

int pki_init(const struct pki_init_opts *o, struct pst_err *e)
{
	static const struct ext ca_exts[] = {
		{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
		{NID_key_usage, "critical,keyCertSign,cRLSign"},
		{NID_subject_key_identifier, "hash"},
		{0, NULL},
	};
	struct ext srv_exts[] = {
		{NID_basic_constraints, "critical,CA:FALSE"},
		{NID_key_usage, "critical,digitalSignature"},
		{NID_ext_key_usage, "serverAuth,clientAuth"},
		{NID_subject_alt_name, NULL},
		{NID_subject_key_identifier, "hash"},
		{NID_authority_key_identifier, "keyid:always"},
		{0, NULL},
	};
	const char *agent_listen = o->agent_listen ? o->agent_listen : COLLECTOR_DEFAULT_AGENT_LISTEN;
	const char *api_listen = o->api_listen ? o->api_listen : COLLECTOR_DEFAULT_API_LISTEN;
	char agent_host[256], api_host[256], id[PKI_NAME_MAX + 1], ca_cn[PKI_NAME_MAX + 16];
	char san[1024] = "";
	char *cfg_path = NULL;
	EVP_PKEY *ca_key = NULL, *srv_key = NULL, *ev_key = NULL;
	X509 *ca = NULL, *srv = NULL;
	BIO *b_ca_key = NULL, *b_ca = NULL, *b_srv_key = NULL, *b_srv = NULL;
	BIO *b_ev_key = NULL, *b_ev_pub = NULL;
	json_t *doc = NULL;
	struct collector_config check;
	struct outdir d = {.fd = -1};
	int rc;

	/* Arguments first: a mistake must not leave a half-made directory. */
	if (o->collector_id != NULL) {
		if (!pki_name_valid(o->collector_id))
			return pst_err_set(e, PST_E_INVAL,
					   "collector id \"%s\": use 1 to %d of A-Z a-z 0-9 . _ -, "
					   "not starting with . or -",
					   o->collector_id, PKI_NAME_MAX);
		snprintf(id, sizeof(id), "%s", o->collector_id);
	} else {
		default_id(id, sizeof(id));
	}
	if ((rc = listen_names("--agent-listen", agent_listen, agent_host, sizeof(agent_host),
			       san, sizeof(san), e)) != 0 ||
	    (rc = listen_names("--api-listen", api_listen, api_host, sizeof(api_host), san,
			       sizeof(san), e)) != 0)
		return rc;
	if (san_add(san, sizeof(san), "127.0.0.1") != 0 || san_add(san, sizeof(san), "localhost"))
		return pst_err_set(e, PST_E_INVAL, "too many names for the certificate");
	srv_exts[3].value = san;
	if ((rc = refuse_existing(o->dir, -1, e)) != 0)
		return rc;

	/* Everything in memory. */
	snprintf(ca_cn, sizeof(ca_cn), "posture CA %s", id);
	if ((rc = new_key("EC", &ca_key, e)) != 0 || (rc = new_key("EC", &srv_key, e)) != 0 ||
	    (rc = new_key("ED25519", &ev_key, e)) != 0 ||
	    (rc = make_cert(ca_cn, ca_key, NULL, ca_key, PKI_CA_DAYS, ca_exts, &ca, e)) != 0 ||
	    (rc = make_cert(id, srv_key, ca, ca_key, PKI_COLLECTOR_DAYS, srv_exts, &srv, e)) != 0 ||
	    (rc = pem_private(ca_key, &b_ca_key, e)) != 0 || (rc = pem_cert(ca, &b_ca, e)) != 0 ||
	    (rc = pem_private(srv_key, &b_srv_key, e)) != 0 ||
	    (rc = pem_cert(srv, &b_srv, e)) != 0 || (rc = pem_private(ev_key, &b_ev_key, e)) != 0 ||
	    (rc = pem_public(ev_key, &b_ev_pub, e)) != 0)
		goto out;
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"collector_id", id, "agent_listen", agent_listen, "api_listen", api_listen,
			"ca", "ca.crt", "ca_key", "ca.key", "cert", "collector.crt", "key",
			"collector.key", "evidence_key", "evidence.key", "evidence_pub",
			"evidence.pub", "store", COLLECTOR_DEFAULT_STORE, "log_level", "info");
	if (doc == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}

	/* Then to disk, all or nothing. */
	if ((rc = outdir_open(&d, o->dir, e)) != 0 || (rc = refuse_existing(o->dir, d.fd, e)) != 0)
		goto fail;
	if ((rc = outdir_write_bio(&d, "ca.key", b_ca_key, 0600, e)) != 0 ||
	    (rc = outdir_write_bio(&d, "ca.crt", b_ca, 0644, e)) != 0 ||
	    (rc = outdir_write_bio(&d, "collector.key", b_srv_key, 0600, e)) != 0 ||
	    (rc = outdir_write_bio(&d, "collector.crt", b_srv, 0644, e)) != 0 ||
	    (rc = outdir_write_bio(&d, "evidence.key", b_ev_key, 0600, e)) != 0 ||
	    (rc = outdir_write_bio(&d, "evidence.pub", b_ev_pub, 0644, e)) != 0 ||
	    (rc = outdir_write_json(&d, "collector.json", doc, e)) != 0)
		goto fail;
	/* What init writes, the daemon must read: load it back strictly. */
	if (asprintf(&cfg_path, "%s/collector.json", o->dir) < 0) {
		cfg_path = NULL;
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = collector_config_load(cfg_path, &check, e)) != 0)
		goto fail;
	collector_config_cleanup(&check);
	if ((rc = outdir_commit(&d, e)) != 0)
		goto fail;
	goto out;
fail:
	outdir_abort(&d);
out:
	if (d.fd >= 0)
		close(d.fd);
	free(cfg_path);
	json_decref(doc);
	BIO_free(b_ca_key);
	BIO_free(b_ca);
	BIO_free(b_srv_key);
	BIO_free(b_srv);
	BIO_free(b_ev_key);
	BIO_free(b_ev_pub);
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(ev_key);
	return rc;
}

int pki_load_ca(const struct collector_config *c, X509 **ca, EVP_PKEY **key, struct pst_err *e)
{
	char detail[256];
	BIO *b = NULL;
	int rc = 0;

	*ca = NULL;
	*key = NULL;
	if (c->ca_key == NULL)
		return pst_err_set(e, PST_E_INVAL,
				   "config %s has no \"ca_key\"; issue certificates on the collector "
				   "that holds the CA key",
				   c->path);
	if ((rc = tls_check_key_file(c->ca_key, e)) != 0)
		return rc;
	if ((*ca = read_cert(c->ca_cert, e)) == NULL)
		return PST_E_TLS;
	b = BIO_new_file(c->ca_key, "r");
	*key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (*key == NULL) {
		rc = pst_err_set(e, PST_E_TLS, "CA key %s: cannot load (%s)", c->ca_key,
				 ossl_detail(detail, sizeof(detail)));
		goto out;
	}
	if (X509_check_private_key(*ca, *key) != 1) {
		ossl_detail(detail, sizeof(detail));
		rc = pst_err_set(e, PST_E_TLS, "CA key %s does not belong to CA certificate %s",
				 c->ca_key, c->ca_cert);
		goto out;
	}
	if (X509_check_ca(*ca) == 0) {
		rc = pst_err_set(e, PST_E_TLS, "%s is not a CA certificate", c->ca_cert);
		goto out;
	}
out:
	if (rc != 0) {
		X509_free(*ca);
		EVP_PKEY_free(*key);
		*ca = NULL;
		*key = NULL;
	}
	return rc;
}

/*
 * The address agents dial and the name they expect: agent_listen, or the
 * host name for a wildcard; the collector's certificate must carry it.
 */
static int agent_target(const struct collector_config *c, X509 *srv, char *host, size_t cap,
			char **collector, struct pst_err *e)
{
	bool ip;
	int rc, ok;

	if (is_wildcard(c->agent_host)) {
		if ((rc = host_name(host, cap, e)) != 0)
			return rc;
	} else {
		snprintf(host, cap, "%s", c->agent_host);
	}
	ip = is_ip(host);
	ok = ip ? X509_check_ip_asc(srv, host, 0) : X509_check_host(srv, host, 0, 0, NULL);
	if (ok != 1)
		return pst_err_set(e, PST_E_INVAL,
				   "the collector certificate %s does not name \"%s\" (from "
				   "agent_listen in %s), so agents would refuse it; set agent_listen "
				   "to a name the certificate carries",
				   c->cert, host, c->path);
	if (asprintf(collector, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
		     (unsigned)c->agent_port) < 0) {
		*collector = NULL;
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	return 0;
}

int pki_agent_address(const struct collector_config *c, char *host, size_t cap,
		      char **collector, struct pst_err *e)
{
	X509 *srv;
	int rc;

	*collector = NULL;
	if ((srv = read_cert(c->cert, e)) == NULL)
		return PST_E_TLS;
	rc = agent_target(c, srv, host, cap, collector, e);
	X509_free(srv);
	return rc;
}

int pki_issue_agent(const struct pki_issue_opts *o, struct pst_err *e)
{
	struct collector_config c;
	char host[256];
	char *collector = NULL;
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509 *ca = NULL, *srv = NULL, *crt = NULL;
	BIO *b_key = NULL, *b_crt = NULL, *b_ca = NULL;
	json_t *doc = NULL;
	struct outdir d = {.fd = -1};
	int rc;

	if (!pki_name_valid(o->agent_id))
		return pst_err_set(e, PST_E_INVAL,
				   "agent id \"%s\": use 1 to %d of A-Z a-z 0-9 . _ -, not "
				   "starting with . or -",
				   o->agent_id, PKI_NAME_MAX);
	if ((rc = collector_config_load(o->config, &c, e)) != 0)
		return rc;
	if ((rc = pki_load_ca(&c, &ca, &ca_key, e)) != 0)
		goto out;
	if ((srv = read_cert(c.cert, e)) == NULL) {
		rc = PST_E_TLS;
		goto out;
	}
	if (X509_verify(srv, X509_get0_pubkey(ca)) != 1) {
		rc = pst_err_set(e, PST_E_TLS,
				 "the collector certificate %s is not signed by the CA %s, so agents "
				 "would refuse it",
				 c.cert, c.ca_cert);
		goto out;
	}
	if ((rc = agent_target(&c, srv, host, sizeof(host), &collector, e)) != 0)
		goto out;
	if ((rc = new_key("EC", &key, e)) != 0 ||
	    (rc = pki_agent_cert(key, o->agent_id, ca, ca_key, &crt, e)) != 0 ||
	    (rc = pem_private(key, &b_key, e)) != 0 || (rc = pem_cert(crt, &b_crt, e)) != 0 ||
	    (rc = pem_cert(ca, &b_ca, e)) != 0)
		goto out;
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:i, s:i, s:s, s:I}", "collector",
			collector, "server_name", host, "ca", "ca.crt", "cert", "agent.crt", "key",
			"agent.key", "policies", "/usr/share/posture/policies", "root", "/",
			"interval_s", 3600, "splay_s", 300, "spool_dir", "spool", "spool_max_bytes",
			(json_int_t)(64 * 1024 * 1024));
	if (doc == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = outdir_open(&d, o->out_dir, e)) != 0 ||
	    (rc = outdir_write_bio(&d, "agent.key", b_key, 0600, e)) != 0 ||
	    (rc = outdir_write_bio(&d, "agent.crt", b_crt, 0644, e)) != 0 ||
	    (rc = outdir_write_bio(&d, "ca.crt", b_ca, 0644, e)) != 0 ||
	    (rc = outdir_write_json(&d, "agent.json", doc, e)) != 0 ||
	    (rc = outdir_commit(&d, e)) != 0) {
		outdir_abort(&d);
		goto out;
	}
out:
	if (d.fd >= 0)
		close(d.fd);
	json_decref(doc);
	free(collector);
	BIO_free(b_key);
	BIO_free(b_crt);
	BIO_free(b_ca);
	X509_free(crt);
	X509_free(srv);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	collector_config_cleanup(&c);
	return rc;
}

int pki_cert_fingerprint(const char *path, char *buf, size_t cap, struct pst_err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509 *x;

	if (cap < 96)
		return pst_err_set(e, PST_E_INVAL, "fingerprint buffer too small");
	if ((x = read_cert(path, e)) == NULL)
		return PST_E_TLS;
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
		X509_free(x);
		return pst_err_set(e, PST_E_TLS, "certificate %s: cannot hash it", path);
	}
	X509_free(x);
	for (unsigned int i = 0; i < n; i++)
		snprintf(buf + 3 * i, cap - 3 * i, i + 1 < n ? "%02X:" : "%02X", md[i]);
	return 0;
}
