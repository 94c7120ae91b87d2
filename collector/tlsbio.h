/*
 * tlsbio.h - TLS through OpenSSL memory BIOs on libuv streams, the part
 * the agent connections (conn.c) and the API connections (http.c) share:
 * making a server-side session whose network side is a pair of memory
 * BIOs, and moving what TLS wrote into its write BIO onto the stream.
 * Bytes flow network -> uv read -> rbio -> SSL_read, and SSL_write ->
 * wbio -> tlsbio_flush -> uv_write; each write owns its bytes and is freed
 * in the caller's write callback (tlsbio_write_done).
 */
#ifndef POSTURE_TLSBIO_H
#define POSTURE_TLSBIO_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <uv.h>

#include "err.h"

/* A server session on ctx in accept state, its BIOs in *rbio and *wbio. PST_E_NOMEM. */
int tlsbio_session(SSL_CTX *ctx, SSL **ssl, BIO **rbio, BIO **wbio);

/* One queued write: its owner (the connection) and size, then the bytes. */
struct tlsbio_write {
	uv_write_t req;
	void *owner;
	size_t len;
	unsigned char data[];
};

/*
 * Queue everything wbio holds on stream, with cb as each write's callback
 * and owner in each write; *queued grows by the bytes queued.  0, or
 * PST_E_NOMEM, or a libuv error code (negative) from uv_write: the caller
 * closes the connection.
 */
int tlsbio_flush(BIO *wbio, uv_stream_t *stream, void *owner, uv_write_cb cb, size_t *queued);

/* In the write callback: the write's owner and size; req is freed. */
void *tlsbio_write_done(uv_write_t *req, size_t *len);

#endif
