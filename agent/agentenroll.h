/*
 * agentenroll.h - `posture-agent enroll`: make this agent's key, have the
 * collector sign it with an enrollment token, and write agent.json.
 *
 * The key (EC P-256) never leaves the host: a CSR goes to the collector's
 * POST /api/v1/enroll over HTTPS (libcurl), with the token as a Bearer
 * credential.  The collector is verified either with a CA file (--cacert)
 * or with the SHA-256 fingerprint of its CA (--ca-fingerprint, as
 * `posture-collector init` prints it): then the CA must be in the chain the
 * server sends, its fingerprint must match, and the server's certificate
 * must chain to it and name the host; there is no mode without
 * verification.  The CA returned with the certificate must be the one
 * verified.
 *
 * Files: key, certificate and CA where FILE already names them ("key",
 * "cert", "ca"), else agent.key, agent.crt and ca.crt in --dir (default:
 * FILE's directory).  None of key or certificate may exist yet (checked
 * before anything is sent, so a refusal costs no token use).  The key is
 * created 0600 with O_EXCL | O_NOFOLLOW, the others 0644; when run as
 * root, each new file takes the owner and group of its directory, so that
 * a directory made for the agent's user (the package's /etc/posture/agent)
 * gives that user its key.  FILE keeps every other key the operator set;
 * "collector" becomes the address the collector answered, "server_name" is
 * dropped (the address's host is the name the certificate carries), and
 * "policies" is set only when absent.  FILE is replaced atomically,
 * keeping its mode and owner.
 */
#ifndef POSTURE_AGENT_ENROLL_H
#define POSTURE_AGENT_ENROLL_H

#include <stdbool.h>

#include "err.h"

/* Largest collector answer read, in bytes. */
#define AGENT_ENROLL_MAX_RESPONSE (64 * 1024)

struct agent_enroll_opts {
	const char *collector;      /* "https://HOST:PORT" (or "HOST:PORT"); the API */
	const char *token;          /* "pst_..." */
	const char *config;         /* agent.json to write (read first when it exists) */
	const char *cacert;         /* CA file, or NULL */
	const char *ca_fingerprint; /* SHA-256 of the CA, hex with or without colons, or NULL */
	const char *agent_id;       /* asked for, or NULL: the collector chooses */
	const char *dir;            /* NULL: config's directory */
	const char *default_policy; /* "policies" when the config has none */
	long timeout_s;             /* whole request; 0: 30 */
};

/*
 * Enroll.  0 on success.  On failure e says what happened; *refused is
 * true when the failure was on the collector's side of the exchange (it
 * could not be reached or verified, or it said no: exit status 1), false
 * for usage, configuration or local file errors (exit status 2).
 */
int agent_enroll(const struct agent_enroll_opts *o, bool *refused, struct pst_err *e);

#endif
