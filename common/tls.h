/*
 * tls.h - the TLS policy of posture, in one place for both daemons and the
 * tools: TLS 1.2 minimum (1.3 preferred), for 1.2 only ECDHE with AEAD
 * ciphers, certificates verified against the deployment's CA, peers
 * identified by their certificate's subject CN.  No libuv in here; the
 * collector runs these contexts over memory BIOs (collector/conn.c), the
 * agent over its socket.
 *
 * Private key files must not be readable by group or others: a key that
 * is, is refused with a message saying to chmod 600 it.
 */
#ifndef POSTURE_TLS_H
#define POSTURE_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * A server context presenting cert/key and requiring (require_client) or
 * merely requesting a client certificate verified against ca.
 */
int tls_ctx_new_server(const char *ca, const char *cert, const char *key, bool require_client,
		       SSL_CTX **out, struct pst_err *e);

/*
 * A client context verifying the server against ca; cert and key (both or
 * neither may be NULL) are presented to the server.  The caller sets the
 * expected host name per connection with tls_client_expect_host().
 */
int tls_ctx_new_client(const char *ca, const char *cert, const char *key, SSL_CTX **out,
		       struct pst_err *e);

/*
 * Make ssl verify that the server's certificate names host (DNS name or IP
 * address in subjectAltName) and send host as SNI when it is a name.
 */
int tls_client_expect_host(SSL *ssl, const char *host, struct pst_err *e);

/*
 * The subject CN of the verified peer certificate into buf.  PST_E_TLS
 * when there is no peer certificate, verification did not succeed, or the
 * CN is missing, empty, longer than cap - 1 or holds bytes outside
 * [A-Za-z0-9._-].
 */
int tls_peer_cn(SSL *ssl, char *buf, size_t cap, struct pst_err *e);

/*
 * Drain OpenSSL's error queue into buf as "reason; reason" (or "no detail
 * from OpenSSL") and return buf, for messages.
 */
const char *tls_errors(char *buf, size_t cap);

/* Refuse a private key file readable by group or others (PST_E_ACCES). */
int tls_check_key_file(const char *path, struct pst_err *e);

#endif
