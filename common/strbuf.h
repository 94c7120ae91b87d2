/*
 * strbuf.h - a growable byte buffer with a maximum fixed at creation.
 *
 * Every dynamic buffer in posture has a ceiling: appending past it fails with
 * PST_E_TOOBIG and leaves the buffer as it was.  The contents are always
 * NUL-terminated so that text can be handed to C string functions, but the
 * length is explicit and binary data may contain NUL bytes.
 */
#ifndef POSTURE_STRBUF_H
#define POSTURE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *data;  /* NUL-terminated; NULL until the first append */
	size_t len;  /* bytes used, excluding the terminator */
	size_t cap;  /* bytes allocated */
	size_t max;  /* ceiling on len */
};

/* Initialise an empty buffer that may grow to max bytes. */
void strbuf_init(struct strbuf *b, size_t max);
/* Free the contents; the buffer may be reused after strbuf_init. */
void strbuf_cleanup(struct strbuf *b);
/* Empty the buffer, keeping its allocation. */
void strbuf_reset(struct strbuf *b);

int strbuf_append(struct strbuf *b, const void *p, size_t n);
int strbuf_appends(struct strbuf *b, const char *s);
int strbuf_appendc(struct strbuf *b, char c);
int strbuf_appendf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int strbuf_vappendf(struct strbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * Hand the contents over to the caller (who frees them) and leave the buffer
 * empty.  Returns an empty heap string for an empty buffer; NULL only when
 * memory runs out.
 */
char *strbuf_take(struct strbuf *b);

/* Contents as a C string, "" when empty; borrowed. */
const char *strbuf_peek(const struct strbuf *b);

#endif
