/* tlsbio.c - see tlsbio.h. */
#include "tlsbio.h"

#include <stdlib.h>

int tlsbio_session(SSL_CTX *ctx, SSL **ssl, BIO **rbio, BIO **wbio)
{
	*ssl = SSL_new(ctx);
	*rbio = BIO_new(BIO_s_mem());
	*wbio = BIO_new(BIO_s_mem());
	if (*ssl == NULL || *rbio == NULL || *wbio == NULL) {
		SSL_free(*ssl);
		BIO_free(*rbio);
		BIO_free(*wbio);
		*ssl = NULL;
		*rbio = *wbio = NULL;
		return PST_E_NOMEM;
	}
	/* OpenSSL's record buffers (~34 KiB) go back between records: a
	 * connection is idle between messages nearly all of its life. */
	SSL_set_mode(*ssl, SSL_MODE_RELEASE_BUFFERS);
	/* An empty memory BIO means "try again", not end of file. */
	BIO_set_mem_eof_return(*rbio, -1);
	BIO_set_mem_eof_return(*wbio, -1);
	SSL_set_bio(*ssl, *rbio, *wbio); /* the session owns both from here */
	SSL_set_accept_state(*ssl);
	return 0;
}

int tlsbio_flush(BIO *wbio, uv_stream_t *stream, void *owner, uv_write_cb cb, size_t *queued)
{
	size_t pending;

	while ((pending = BIO_ctrl_pending(wbio)) > 0) {
		struct tlsbio_write *w = malloc(sizeof(*w) + pending);
		uv_buf_t buf;
		int n, rc;

		if (w == NULL)
			return PST_E_NOMEM;
		n = BIO_read(wbio, w->data, (int)pending);
		if (n <= 0) {
			free(w);
			return 0;
		}
		w->owner = owner;
		w->len = (size_t)n;
		buf = uv_buf_init((char *)w->data, (unsigned)n);
		rc = uv_write(&w->req, stream, &buf, 1, cb);
		if (rc != 0) {
			free(w);
			return rc;
		}
		*queued += (size_t)n;
	}
	return 0;
}

void *tlsbio_write_done(uv_write_t *req, size_t *len)
{
	struct tlsbio_write *w = (struct tlsbio_write *)req;
	void *owner = w->owner;

	*len = w->len;
	free(w);
	return owner;
}
