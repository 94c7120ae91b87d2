/*
 * test_pki.c - init and issue-agent, checked with OpenSSL's own
 * verification: every file at its mode whatever the umask, a CA that is a
 * CA, a collector certificate that verifies for both TLS purposes and
 * names its hosts, an agent certificate for clients only with the agent id
 * as CN, key and certificate pairs that match, an evidence key that signs
 * what its .pub verifies; and the refusals (an existing CA, a bad agent id,
 * an existing agent key, a foreign collector certificate), each leaving
 * the disk as it was.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "pki.h"
#include "testutil.h"

struct fx {
	char *tmp;
	char dir[PATH_MAX];    /* tmp/c: the init directory */
	char config[PATH_MAX + 32]; /* its collector.json */
};

static const char *path_in(const char *dir, const char *name)
{
	static char buf[4][PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	/* Test paths are short; a truncated one would fail the test, not pass it. */
	if (snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name) >= (int)sizeof(buf[k]))
		fail_msg("path %s/%s too long", dir, name);
	return buf[k];
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pki_init_opts o = {0};
	struct pst_err e = {0};

	assert_non_null(f);
	f->tmp = tu_mkdtemp();
	snprintf(f->dir, sizeof(f->dir), "%s/etc/posture", f->tmp);
	snprintf(f->config, sizeof(f->config), "%s/collector.json", f->dir);
	o.dir = f->dir;
	o.agent_listen = "127.0.0.1:17443";
	o.api_listen = "127.0.0.1:18443";
	o.collector_id = "test-collector";
	if (pki_init(&o, &e) != 0)
		fail_msg("init: %s", e.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tu_rmrf(f->tmp);
	free(f->tmp);
	free(f);
	return 0;
}

static X509 *load_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	if (fp == NULL)
		fail_msg("%s: cannot open", path);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL)
		fail_msg("%s: not a PEM certificate", path);
	return x;
}

static EVP_PKEY *load_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k;

	if (fp == NULL)
		fail_msg("%s: cannot open", path);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (k == NULL)
		fail_msg("%s: not a PEM private key", path);
	return k;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("%s: missing", path);
	return st.st_mode & 07777;
}

/* Read a whole small file into a heap string. */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	assert_non_null(fp);
	assert_non_null(buf);
	n = fread(buf, 1, 65535, fp);
	assert_true(n > 0 && n < 65535);
	fclose(fp);
	return buf;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* X509_verify_cert of x against the CA in ca_path for purpose; returns the verify error. */
static int verify(X509 *x, const char *ca_path, int purpose)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *ca = load_cert(ca_path);
	int ok, err;

	assert_non_null(st);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(st, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, x, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	assert_true(ok == 1 ? err == X509_V_OK : err != X509_V_OK);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(ca);
	return err;
}

static void cn_of(X509 *x, char *buf, int cap)
{
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
					      cap) > 0);
}

/* Days between the certificate's notBefore and notAfter. */
static int lifetime_days(X509 *x)
{
	int days = 0, secs = 0;

	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
					X509_get0_notAfter(x)),
			 1);
	return days;
}

static void issue(const struct fx *f, const char *id, const char *out)
{
	struct pki_issue_opts o = {f->config, id, out};
	struct pst_err e = {0};

	if (pki_issue_agent(&o, &e) != 0)
		fail_msg("issue-agent %s: %s", id, e.msg);
}

/* --- init ---------------------------------------------------------------- */

static void init_writes_every_file_at_its_mode(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *name;
		mode_t mode;
	} files[] = {
		{"ca.key", 0600}, {"ca.crt", 0644}, {"collector.key", 0600},
		{"collector.crt", 0644}, {"evidence.key", 0600}, {"evidence.pub", 0644},
		{"collector.json", 0644},
	};

	assert_int_equal(mode_of(f->dir), 0700);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct stat st;

		assert_int_equal(lstat(path_in(f->dir, files[i].name), &st), 0);
		assert_true(S_ISREG(st.st_mode));
		if ((st.st_mode & 07777) != files[i].mode)
			fail_msg("%s: mode %04o, want %04o", files[i].name,
				 (unsigned)(st.st_mode & 07777), files[i].mode);
	}
	assert_int_equal(count_entries(f->dir), sizeof(files) / sizeof(files[0]));
	/* The missing parent was made too, as mkdir -p would. */
	assert_int_equal(mode_of(path_in(f->tmp, "etc")), 0755);
}

/* The umask can neither open a key to others nor narrow what must be readable. */
static void modes_do_not_depend_on_the_umask(void **state)
{
	struct fx *f = *state;
	static const mode_t masks[] = {0, 0277};

	for (size_t i = 0; i < 2; i++) {
		char dir[PATH_MAX];
		struct pki_init_opts o = {0};
		struct pst_err e = {0};
		mode_t old = umask(masks[i]);
		int rc;

		snprintf(dir, sizeof(dir), "%s/umask%zu", f->tmp, i);
		o.dir = dir;
		o.agent_listen = "127.0.0.1:17443";
		rc = pki_init(&o, &e);
		umask(old);
		if (rc != 0)
			fail_msg("init under umask %04o: %s", masks[i], e.msg);
		assert_int_equal(mode_of(dir), 0700);
		assert_int_equal(mode_of(path_in(dir, "ca.key")), 0600);
		assert_int_equal(mode_of(path_in(dir, "collector.key")), 0600);
		assert_int_equal(mode_of(path_in(dir, "evidence.key")), 0600);
		assert_int_equal(mode_of(path_in(dir, "ca.crt")), 0644);
		assert_int_equal(mode_of(path_in(dir, "collector.json")), 0644);
	}
}

static void the_ca_is_a_ca(void **state)
{
	struct fx *f = *state;
	X509 *ca = load_cert(path_in(f->dir, "ca.crt"));
	EVP_PKEY *key = load_key(path_in(f->dir, "ca.key"));
	const ASN1_INTEGER *serial = X509_get0_serialNumber(ca);
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char cn[128];

	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(X509_get_pathlen(ca), 0);
	assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_true(X509_get_extension_flags(ca) & EXFLAG_SS);
	cn_of(ca, cn, sizeof(cn));
	assert_string_equal(cn, "posture CA test-collector");
	assert_int_equal(X509_check_private_key(ca, key), 1);
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_bits(key), 256);
	/* Self-signed, and trusted as an anchor for itself. */
	assert_int_equal(X509_verify(ca, key), 1);
	assert_int_equal(verify(ca, path_in(f->dir, "ca.crt"), X509_PURPOSE_ANY), X509_V_OK);
	/* basicConstraints and keyUsage are critical. */
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(
				 ca, X509_get_ext_by_NID(ca, NID_basic_constraints, -1))),
			 1);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(
				 ca, X509_get_ext_by_NID(ca, NID_key_usage, -1))),
			 1);
	/* A random positive serial of about 128 bits. */
	assert_non_null(bn);
	assert_false(BN_is_negative(bn));
	assert_true(BN_num_bits(bn) > 96 && BN_num_bits(bn) <= 127);
	/* Ten years, starting before now. */
	assert_true(lifetime_days(ca) >= 3650 && lifetime_days(ca) <= 3651);
	assert_true(X509_cmp_current_time(X509_get0_notBefore(ca)) < 0);
	BN_free(bn);
	EVP_PKEY_free(key);
	X509_free(ca);
}

static void the_collector_certificate_verifies_and_names_its_hosts(void **state)
{
	struct fx *f = *state;
	X509 *x = load_cert(path_in(f->dir, "collector.crt"));
	EVP_PKEY *key = load_key(path_in(f->dir, "collector.key"));
	char cn[128];

	assert_int_equal(verify(x, path_in(f->dir, "ca.crt"), X509_PURPOSE_SSL_SERVER),
			 X509_V_OK);
	assert_int_equal(verify(x, path_in(f->dir, "ca.crt"), X509_PURPOSE_SSL_CLIENT),
			 X509_V_OK);
	assert_int_equal(X509_check_private_key(x, key), 1);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	cn_of(x, cn, sizeof(cn));
	assert_string_equal(cn, "test-collector");
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.2", 0), 0);
	assert_int_equal(X509_check_host(x, "example.com", 0, 0, NULL), 0);
	assert_true(lifetime_days(x) >= 730 && lifetime_days(x) <= 731);
	EVP_PKEY_free(key);
	X509_free(x);
}

/* Listen hosts go into the certificate; 0.0.0.0 stands for the host name. */
static void listen_hosts_become_subject_alt_names(void **state)
{
	struct fx *f = *state;
	struct pki_init_opts o = {0};
	struct pst_err e = {0};
	char dir[PATH_MAX], host[256];
	X509 *x;

	snprintf(dir, sizeof(dir), "%s/names", f->tmp);
	o.dir = dir;
	o.agent_listen = "collector.example.net:7443";
	o.api_listen = "[::1]:8443";
	if (pki_init(&o, &e) != 0)
		fail_msg("%s", e.msg);
	x = load_cert(path_in(dir, "collector.crt"));
	assert_int_equal(X509_check_host(x, "collector.example.net", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	X509_free(x);

	/* The wildcard: only where the host name can be a DNS name. */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(dir, sizeof(dir), "%s/wild", f->tmp);
	o.dir = dir;
	o.agent_listen = "0.0.0.0:7443";
	o.api_listen = NULL;
	if (pki_init(&o, &e) != 0) {
		assert_non_null(strstr(e.msg, "is not a DNS name"));
		assert_int_equal(access(dir, F_OK), -1);
		return;
	}
	x = load_cert(path_in(dir, "collector.crt"));
	assert_int_equal(X509_check_host(x, host, 0, 0, NULL), 1);
	X509_free(x);
	{
		struct pki_issue_opts io = {0};
		char cfg[PATH_MAX + 32], out[PATH_MAX], want[300], *text;

		snprintf(cfg, sizeof(cfg), "%s/collector.json", dir);
		snprintf(out, sizeof(out), "%s/wild-agent", f->tmp);
		io.config = cfg;
		io.agent_id = "a1";
		io.out_dir = out;
		if (pki_issue_agent(&io, &e) != 0)
			fail_msg("%s", e.msg);
		text = slurp(path_in(out, "agent.json"));
		snprintf(want, sizeof(want), "\"collector\": \"%s:7443\"", host);
		assert_non_null(strstr(text, want));
		snprintf(want, sizeof(want), "\"server_name\": \"%s\"", host);
		assert_non_null(strstr(text, want));
		free(text);
	}
}

static void the_evidence_key_signs_what_its_pub_verifies(void **state)
{
	struct fx *f = *state;
	static const unsigned char msg[] = "snapshot 1: sha256 of the canonical state";
	EVP_PKEY *key = load_key(path_in(f->dir, "evidence.key"));
	EVP_PKEY *pub;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[64];
	size_t siglen = sizeof(sig);
	FILE *fp;
	char *pem = slurp(path_in(f->dir, "evidence.key"));

	/* PKCS#8, not a legacy key format. */
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
	free(pem);
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_ED25519);
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)), 1);
	assert_int_equal(siglen, 64);
	EVP_MD_CTX_free(md);

	fp = fopen(path_in(f->dir, "evidence.pub"), "r");
	assert_non_null(fp);
	pub = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(pub);
	assert_int_equal(EVP_PKEY_eq(key, pub), 1);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(md);
	/* And a changed message does not verify. */
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg) - 2), 0);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key);
}

static void collector_json_points_at_the_files(void **state)
{
	struct fx *f = *state;
	struct collector_config c;
	struct pst_err e = {0};
	char want[PATH_MAX + 16];
	char *text = slurp(f->config);

	/* Relative names, so the directory can move as a whole. */
	assert_non_null(strstr(text, "\"ca\": \"ca.crt\""));
	assert_non_null(strstr(text, "\"store\": \"sqlite:posture.db\""));
	free(text);
	if (collector_config_load(f->config, &c, &e) != 0)
		fail_msg("%s", e.msg);
	assert_string_equal(c.collector_id, "test-collector");
	assert_string_equal(c.agent_host, "127.0.0.1");
	assert_int_equal(c.agent_port, 17443);
	assert_int_equal(c.api_port, 18443);
	assert_string_equal(c.ca_cert, path_in(f->dir, "ca.crt"));
	assert_string_equal(c.ca_key, path_in(f->dir, "ca.key"));
	assert_string_equal(c.cert, path_in(f->dir, "collector.crt"));
	assert_string_equal(c.key, path_in(f->dir, "collector.key"));
	assert_string_equal(c.evidence_key, path_in(f->dir, "evidence.key"));
	assert_string_equal(c.evidence_pub, path_in(f->dir, "evidence.pub"));
	snprintf(want, sizeof(want), "sqlite:%s", path_in(f->dir, "posture.db"));
	assert_string_equal(c.store, want);
	collector_config_cleanup(&c);
}

static void init_twice_refuses_and_changes_nothing(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = {"ca.key", "ca.crt", "collector.key", "collector.crt",
					    "evidence.key", "collector.json"};
	char *before[6];
	struct pki_init_opts o = {0};
	struct pst_err e = {0};

	for (size_t i = 0; i < 6; i++)
		before[i] = slurp(path_in(f->dir, names[i]));
	o.dir = f->dir;
	assert_int_equal(pki_init(&o, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "already holds ca.key"));
	assert_non_null(strstr(e.msg, "move"));
	for (size_t i = 0; i < 6; i++) {
		char *after = slurp(path_in(f->dir, names[i]));

		assert_string_equal(before[i], after);
		free(after);
		free(before[i]);
	}
	assert_int_equal(count_entries(f->dir), 7);

	/* A CA certificate alone is refused too, and nothing is added. */
	{
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/half", f->tmp);
		assert_int_equal(mkdir(dir, 0755), 0);
		assert_int_equal(tu_write(dir, "ca.crt", "x\n", 0644), 0);
		o.dir = dir;
		assert_int_equal(pki_init(&o, &e), PST_E_INVAL);
		assert_non_null(strstr(e.msg, "already holds ca.crt"));
		assert_int_equal(count_entries(dir), 1);
	}
}

/* A failure part way removes what this run wrote, and only that. */
static void a_failure_part_way_removes_what_was_written(void **state)
{
	struct fx *f = *state;
	struct pki_init_opts o = {0};
	struct pst_err e = {0};
	char dir[PATH_MAX], *text;

	snprintf(dir, sizeof(dir), "%s/partial", f->tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(tu_write(dir, "evidence.pub", "keep me\n", 0640), 0);
	o.dir = dir;
	o.agent_listen = "127.0.0.1:7443";
	assert_int_equal(pki_init(&o, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "evidence.pub already exists"));
	assert_int_equal(count_entries(dir), 1);
	text = slurp(path_in(dir, "evidence.pub"));
	assert_string_equal(text, "keep me\n");
	free(text);
	assert_int_equal(mode_of(path_in(dir, "evidence.pub")), 0640);

	/* A bad argument leaves no directory behind. */
	snprintf(dir, sizeof(dir), "%s/never", f->tmp);
	o.dir = dir;
	o.agent_listen = "127.0.0.1";
	assert_int_equal(pki_init(&o, &e), PST_E_INVAL);
	assert_string_equal(e.msg, "--agent-listen \"127.0.0.1\": expected HOST:PORT (or "
				   "[IPv6]:PORT) with a port 1-65535");
	o.agent_listen = "bad_host!:7443";
	assert_int_equal(pki_init(&o, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "neither an IP address nor a DNS name"));
	o.agent_listen = NULL;
	o.collector_id = "-x";
	assert_int_equal(pki_init(&o, &e), PST_E_INVAL);
	assert_int_equal(access(dir, F_OK), -1);
}

/* --- issue-agent --------------------------------------------------------- */

static void the_agent_certificate_is_for_clients_named_by_its_id(void **state)
{
	struct fx *f = *state;
	char out[PATH_MAX], cn[128];
	X509 *x, *ca, *ca_copy;
	EVP_PKEY *key;
	char *text;

	snprintf(out, sizeof(out), "%s/agents/web-01.example", f->tmp);
	issue(f, "web-01.example", out);
	assert_int_equal(mode_of(out), 0700);
	assert_int_equal(mode_of(path_in(out, "agent.key")), 0600);
	assert_int_equal(mode_of(path_in(out, "agent.crt")), 0644);
	assert_int_equal(mode_of(path_in(out, "ca.crt")), 0644);
	assert_int_equal(mode_of(path_in(out, "agent.json")), 0644);
	assert_int_equal(count_entries(out), 4);

	x = load_cert(path_in(out, "agent.crt"));
	key = load_key(path_in(out, "agent.key"));
	cn_of(x, cn, sizeof(cn));
	assert_string_equal(cn, "web-01.example");
	assert_int_equal(X509_check_private_key(x, key), 1);
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	assert_int_equal(verify(x, path_in(f->dir, "ca.crt"), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	/* Not usable to impersonate the collector. */
	assert_int_equal(verify(x, path_in(f->dir, "ca.crt"), X509_PURPOSE_SSL_SERVER),
			 X509_V_ERR_INVALID_PURPOSE);
	assert_true(lifetime_days(x) >= 365 && lifetime_days(x) <= 366);

	/* ca.crt is the CA. */
	ca = load_cert(path_in(f->dir, "ca.crt"));
	ca_copy = load_cert(path_in(out, "ca.crt"));
	assert_int_equal(X509_cmp(ca, ca_copy), 0);

	/* agent.json reaches this collector; its names are those of the files. */
	text = slurp(path_in(out, "agent.json"));
	{
		json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		X509 *srv = load_cert(path_in(f->dir, "collector.crt"));

		assert_non_null(doc);
		assert_string_equal(json_string_value(json_object_get(doc, "collector")),
				    "127.0.0.1:17443");
		assert_string_equal(json_string_value(json_object_get(doc, "server_name")),
				    "127.0.0.1");
		assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
		assert_string_equal(json_string_value(json_object_get(doc, "ca")), "ca.crt");
		assert_string_equal(json_string_value(json_object_get(doc, "cert")), "agent.crt");
		assert_string_equal(json_string_value(json_object_get(doc, "key")), "agent.key");
		assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "policies"),
								     0)),
				    "/usr/share/posture/policies");
		assert_string_equal(json_string_value(json_object_get(doc, "root")), "/");
		assert_int_equal(json_integer_value(json_object_get(doc, "interval_s")), 3600);
		assert_int_equal(json_integer_value(json_object_get(doc, "splay_s")), 300);
		assert_string_equal(json_string_value(json_object_get(doc, "spool_dir")), "spool");
		assert_int_equal(json_integer_value(json_object_get(doc, "spool_max_bytes")),
				 67108864);
		assert_int_equal(json_object_size(doc), 11);
		json_decref(doc);
		X509_free(srv);
	}
	free(text);
	X509_free(ca_copy);
	X509_free(ca);
	EVP_PKEY_free(key);
	X509_free(x);
}

static void every_certificate_has_its_own_serial(void **state)
{
	struct fx *f = *state;
	char a[PATH_MAX], b[PATH_MAX];
	X509 *xa, *xb, *srv;

	snprintf(a, sizeof(a), "%s/a", f->tmp);
	snprintf(b, sizeof(b), "%s/b", f->tmp);
	issue(f, "same", a);
	issue(f, "same", b);
	xa = load_cert(path_in(a, "agent.crt"));
	xb = load_cert(path_in(b, "agent.crt"));
	srv = load_cert(path_in(f->dir, "collector.crt"));
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(xa),
					      X509_get0_serialNumber(xb)),
			     0);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(xa),
					      X509_get0_serialNumber(srv)),
			     0);
	X509_free(xa);
	X509_free(xb);
	X509_free(srv);
}

static void bad_agent_ids_are_refused(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"", ".hidden", "-opt", "a/b", "a b", "a:b", "caf\xc3\xa9", "a\nb",
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	static const char *const good[] = {
		"a", "web_01", "web-01.example.net", "0",
		"1234567890123456789012345678901234567890123456789012345678901234",
	};
	char out[PATH_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pki_issue_opts o = {f->config, bad[i], NULL};
		struct pst_err e = {0};

		snprintf(out, sizeof(out), "%s/bad%zu", f->tmp, i);
		o.out_dir = out;
		assert_false(pki_name_valid(bad[i]));
		assert_int_equal(pki_issue_agent(&o, &e), PST_E_INVAL);
		assert_non_null(strstr(e.msg, "agent id"));
		assert_int_equal(access(out, F_OK), -1);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(pki_name_valid(good[i]));
}

static void an_existing_agent_key_is_not_overwritten(void **state)
{
	struct fx *f = *state;
	struct pki_issue_opts o = {0};
	struct pst_err e = {0};
	char out[PATH_MAX], *before, *after;

	snprintf(out, sizeof(out), "%s/agent", f->tmp);
	issue(f, "first", out);
	before = slurp(path_in(out, "agent.key"));
	o.config = f->config;
	o.agent_id = "second";
	o.out_dir = out;
	assert_int_equal(pki_issue_agent(&o, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "agent.key already exists"));
	after = slurp(path_in(out, "agent.key"));
	assert_string_equal(before, after);
	assert_int_equal(count_entries(out), 4);
	free(before);
	free(after);

	/* Any of the four files stops it, and what it wrote before is removed. */
	snprintf(out, sizeof(out), "%s/agent2", f->tmp);
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(tu_write(out, "agent.json", "{}\n", 0644), 0);
	assert_int_equal(pki_issue_agent(&o, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "agent.json already exists"));
	assert_int_equal(count_entries(out), 1);
}

static void issuing_needs_a_sound_ca(void **state)
{
	struct fx *f = *state;
	struct pki_issue_opts o = {0};
	struct pki_init_opts io = {0};
	struct pst_err e = {0};
	char out[PATH_MAX], other[PATH_MAX];

	snprintf(out, sizeof(out), "%s/agent", f->tmp);
	o.config = f->config;
	o.agent_id = "x";
	o.out_dir = out;

	/* A CA key others can read. */
	assert_int_equal(chmod(path_in(f->dir, "ca.key"), 0640), 0);
	assert_int_equal(pki_issue_agent(&o, &e), PST_E_ACCES);
	assert_non_null(strstr(e.msg, "chmod 600"));
	assert_int_equal(chmod(path_in(f->dir, "ca.key"), 0600), 0);

	/* A collector certificate from another CA. */
	snprintf(other, sizeof(other), "%s/other", f->tmp);
	io.dir = other;
	io.agent_listen = "127.0.0.1:17443";
	if (pki_init(&io, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(rename(path_in(other, "collector.crt"), path_in(f->dir, "collector.crt")),
			 0);
	assert_int_equal(pki_issue_agent(&o, &e), PST_E_TLS);
	assert_non_null(strstr(e.msg, "is not signed by the CA"));
	assert_int_equal(access(out, F_OK), -1);

	/* A CA key that is not the CA certificate's. */
	assert_int_equal(rename(path_in(other, "ca.key"), path_in(f->dir, "ca.key")), 0);
	assert_int_equal(pki_issue_agent(&o, &e), PST_E_TLS);
	assert_non_null(strstr(e.msg, "does not belong to CA certificate"));

	/* No CA key at all. */
	assert_int_equal(tu_write(f->dir, "nokey.json",
				  "{\"ca\": \"ca.crt\", \"cert\": \"collector.crt\", "
				  "\"key\": \"collector.key\", \"agent_listen\": \"127.0.0.1:1\"}",
				  0644),
			 0);
	o.config = path_in(f->dir, "nokey.json");
	assert_int_equal(pki_issue_agent(&o, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "has no \"ca_key\""));
	assert_int_equal(access(out, F_OK), -1);
}

/* The agent's address must be one the collector certificate carries. */
static void an_address_the_certificate_lacks_is_refused(void **state)
{
	struct fx *f = *state;
	struct pki_issue_opts o = {0};
	struct pst_err e = {0};
	char out[PATH_MAX];

	assert_int_equal(tu_write(f->dir, "moved.json",
				  "{\"ca\": \"ca.crt\", \"ca_key\": \"ca.key\", \"cert\": "
				  "\"collector.crt\", \"key\": \"collector.key\", "
				  "\"agent_listen\": \"192.0.2.7:7443\"}",
				  0644),
			 0);
	snprintf(out, sizeof(out), "%s/agent", f->tmp);
	o.config = path_in(f->dir, "moved.json");
	o.agent_id = "x";
	o.out_dir = out;
	assert_int_equal(pki_issue_agent(&o, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "does not name \"192.0.2.7\""));
	assert_int_equal(access(out, F_OK), -1);
}

static void fingerprint_is_sha256_hex(void **state)
{
	struct fx *f = *state;
	struct pst_err e = {0};
	unsigned char md[32];
	unsigned int n = 0;
	char fp[96], want[96];
	X509 *ca = load_cert(path_in(f->dir, "ca.crt"));

	assert_int_equal(pki_cert_fingerprint(path_in(f->dir, "ca.crt"), fp, sizeof(fp), &e), 0);
	assert_int_equal(X509_digest(ca, EVP_sha256(), md, &n), 1);
	for (unsigned int i = 0; i < n; i++)
		snprintf(want + 3 * i, sizeof(want) - 3 * i, i + 1 < n ? "%02X:" : "%02X", md[i]);
	assert_int_equal(strlen(fp), 95);
	assert_string_equal(fp, want);
	assert_int_equal(pki_cert_fingerprint(path_in(f->dir, "none.crt"), fp, sizeof(fp), &e),
			 PST_E_TLS);
	X509_free(ca);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(init_writes_every_file_at_its_mode),
		T(modes_do_not_depend_on_the_umask),
		T(the_ca_is_a_ca),
		T(the_collector_certificate_verifies_and_names_its_hosts),
		T(listen_hosts_become_subject_alt_names),
		T(the_evidence_key_signs_what_its_pub_verifies),
		T(collector_json_points_at_the_files),
		T(init_twice_refuses_and_changes_nothing),
		T(a_failure_part_way_removes_what_was_written),
		T(the_agent_certificate_is_for_clients_named_by_its_id),
		T(every_certificate_has_its_own_serial),
		T(bad_agent_ids_are_refused),
		T(an_existing_agent_key_is_not_overwritten),
		T(issuing_needs_a_sound_ca),
		T(an_address_the_certificate_lacks_is_refused),
		T(fingerprint_is_sha256_hex),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
