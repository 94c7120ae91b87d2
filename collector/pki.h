/*
 * pki.h - the deployment's keys and certificates: `posture-collector init`
 * makes a private CA, the collector's TLS certificate and its evidence
 * signing key; `issue-agent` signs an agent certificate and writes a
 * directory an agent runs from.
 *
 * All keys are made with OpenSSL 3 (EC P-256 for TLS, Ed25519 for
 * evidence).  Private key files are created 0600 with O_EXCL and
 * O_NOFOLLOW, whatever the umask, and fsynced with their directory.  Both
 * commands either write every file or, on failure, remove what they wrote.
 */
#ifndef POSTURE_PKI_H
#define POSTURE_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"

#define PKI_CA_DAYS 3650
#define PKI_COLLECTOR_DAYS 730
#define PKI_AGENT_DAYS 365
#define PKI_NAME_MAX 64

/*
 * An agent id or collector id: 1 to PKI_NAME_MAX bytes of [A-Za-z0-9._-],
 * not starting with '.' or '-'.  (The collector identifies agents by their
 * certificate's CN, and tls_peer_cn() accepts exactly these bytes.)
 */
bool pki_name_valid(const char *name);

struct pki_init_opts {
	const char *dir;          /* created 0700 (with missing parents) if absent */
	const char *agent_listen; /* "HOST:PORT"; NULL: COLLECTOR_DEFAULT_AGENT_LISTEN */
	const char *api_listen;   /* NULL: COLLECTOR_DEFAULT_API_LISTEN */
	const char *collector_id; /* NULL: the host name (or "collector") */
};

/*
 * Write into o->dir: ca.key, ca.crt (the CA), collector.key, collector.crt
 * (serverAuth and clientAuth, subjectAltName: the listen hosts, the host
 * name where a listen host is 0.0.0.0 or ::, 127.0.0.1 and localhost),
 * evidence.key (Ed25519, PKCS#8) and evidence.pub, and collector.json
 * naming them by relative path with store "sqlite:posture.db".
 * PST_E_INVAL, changing nothing, when dir already holds ca.key or ca.crt,
 * or when an argument is malformed; on any later failure the files and the
 * directory this call created are removed.
 */
int pki_init(const struct pki_init_opts *o, struct pst_err *e);

struct pki_issue_opts {
	const char *config;   /* the collector.json written by init */
	const char *agent_id; /* pki_name_valid() */
	const char *out_dir;  /* created 0700 (with missing parents) if absent */
};

/*
 * Write into o->out_dir: agent.key (EC P-256, 0600), agent.crt (CN =
 * agent id, clientAuth, signed by the CA named in the config), ca.crt, and
 * agent.json reaching the collector at its agent_listen address (the host
 * name when that is 0.0.0.0 or ::), with a server_name that the collector's
 * certificate carries.  Refuses (PST_E_INVAL) an out_dir that already
 * holds any of these files; on failure removes what it wrote.
 */
int pki_issue_agent(const struct pki_issue_opts *o, struct pst_err *e);

/*
 * Load the CA certificate and key named by c (c->ca_key must be set), check
 * the key file's mode (tls_check_key_file) and that the two belong
 * together.  The caller frees *ca and *key.
 */
int pki_load_ca(const struct collector_config *c, X509 **ca, EVP_PKEY **key,
		struct pst_err *e);

/*
 * A certificate for an agent: subject CN=agent_id, the public half of
 * agent_key, clientAuth, digitalSignature, PKI_AGENT_DAYS long, a random
 * 128-bit serial, signed by ca/ca_key.  For enrollment too (a CSR's key).
 */
int pki_agent_cert(EVP_PKEY *agent_key, const char *agent_id, X509 *ca, EVP_PKEY *ca_key,
		   X509 **out, struct pst_err *e);

/*
 * The address agents dial ("HOST:PORT", *collector malloc'd) and the host
 * name in host: agent_listen, or this host's name when it listens on a
 * wildcard; PST_E_INVAL when the collector's certificate does not name it.
 * What issue-agent writes into agent.json and enrollment answers with.
 */
int pki_agent_address(const struct collector_config *c, char *host, size_t cap,
		      char **collector, struct pst_err *e);

/*
 * The SHA-256 fingerprint of the PEM certificate at path, as colon
 * separated upper-case hex (95 characters and a NUL; cap at least 96).
 */
int pki_cert_fingerprint(const char *path, char *buf, size_t cap, struct pst_err *e);

#endif
