/*
 * frame.h - the framing of the posture wire protocol.
 *
 * A frame is a 4-byte big-endian payload length followed by exactly that many
 * bytes holding one packed Posture__V1__Envelope.  Every entry point takes the
 * maximum payload size the caller accepts; a declared length is checked
 * against it before anything is allocated or buffered, and nothing past the
 * declared length is ever read.  A zero length is a protocol error: an
 * Envelope without a body packs to nothing and is refused in both
 * directions.
 *
 * Functions return 0 or a negative PST_E_* code (common/err.h).  Decoded
 * envelopes belong to the caller and are freed with frame_envelope_free().
 */
#ifndef POSTURE_FRAME_H
#define POSTURE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "posture/v1/posture.pb-c.h"
#include "strbuf.h"

#define FRAME_HEADER_LEN 4
#define FRAME_DEFAULT_MAX (4u * 1024 * 1024)
#define FRAME_READER_SLACK (64u * 1024)
/* A reader that has returned every byte it was fed keeps at most this much. */
#define FRAME_READER_KEEP (4u * 1024)

/*
 * Pack env into a new heap buffer holding header and payload; on success
 * *out (free with free()) and *out_len are set, on failure they are NULL
 * and 0.  The packed size is checked before anything is allocated:
 * PST_E_TOOBIG when the payload would exceed max (or 2^32-1), PST_E_INVAL
 * for a NULL argument or an Envelope with no body, PST_E_NOMEM.
 */
int frame_encode(const Posture__V1__Envelope *env, size_t max, uint8_t **out,
		 size_t *out_len);

/*
 * Read the header at the start of buf[0..len) and set *payload_len (0 on
 * failure).  PST_E_TRUNC when fewer than FRAME_HEADER_LEN bytes are there
 * (buf may be NULL when len is 0), PST_E_TOOBIG when the declared length
 * exceeds max, PST_E_PROTO for a zero length.  Only the header is looked at,
 * so callers can refuse a frame before buffering its payload.
 */
int frame_peek_header(const uint8_t *buf, size_t len, size_t max,
		      size_t *payload_len);

/*
 * Decode the one frame at the start of buf[0..len).  On success *env holds
 * a new Envelope and *consumed the frame's size (header included); bytes
 * after it are left for the next call.  On failure *env is NULL and
 * *consumed 0.  Errors: those of frame_peek_header; PST_E_TRUNC while the
 * whole frame has not arrived; PST_E_PROTO when the payload does not unpack
 * or the Envelope has no body; PST_E_INVAL for NULL arguments.
 */
int frame_decode(const uint8_t *buf, size_t len, size_t max,
		 Posture__V1__Envelope **env, size_t *consumed);

/* Free an Envelope returned by this module; NULL is accepted. */
void frame_envelope_free(Posture__V1__Envelope *env);

/*
 * Incremental reader for a byte stream: feed it what arrives, take whole
 * frames out with frame_reader_next().  Each header is checked as soon as
 * its four bytes are fed, so an oversized or zero-length frame is refused
 * before any of its payload is buffered.  The buffer's own ceiling is two
 * maximal frames plus FRAME_READER_SLACK bytes: a caller that drains with
 * frame_reader_next() after each feed and feeds chunks of at most
 * max + FRAME_READER_SLACK bytes never reaches it.  Fields are private.
 */
struct frame_reader {
	struct strbuf buf; /* bytes fed and not yet returned */
	size_t off;        /* start of the first frame not yet returned */
	size_t scan;       /* start of the first frame whose header is unchecked */
	size_t max;        /* payload limit */
	int err;           /* sticky error, 0 while the stream is sound */
	size_t last;       /* size of the frame last returned, header included */
};

/* Initialise an empty reader accepting payloads of at most max bytes. */
void frame_reader_init(struct frame_reader *r, size_t max);

/*
 * Raise the payload limit of a live reader, keeping what it holds: a
 * connection reads with a small limit until its peer has said Hello, then
 * with the full one.  PST_E_INVAL when max is below the current limit.
 */
int frame_reader_raise_max(struct frame_reader *r, size_t max);

/* Free the buffered bytes; the reader may be reused after frame_reader_init. */
void frame_reader_cleanup(struct frame_reader *r);

/*
 * Append p[0..n) to the stream.  Returns PST_E_TOOBIG or PST_E_PROTO when a
 * header in the stream declares more than max or zero bytes; that error is
 * sticky: this and every later feed or next returns it.  Returns
 * PST_E_LIMIT, accepting nothing and leaving the stream intact, when the
 * bytes would not fit in the buffer: drain with frame_reader_next() and
 * feed again.  PST_E_NOMEM is sticky too.
 */
int frame_reader_feed(struct frame_reader *r, const uint8_t *p, size_t n);

/*
 * Take the next whole frame.  Returns 0 with *env set (the caller frees it
 * with frame_envelope_free), 0 with *env NULL when more bytes are needed, or
 * a negative code once the stream is broken (a frame that does not decode,
 * or an earlier feed error); the code is sticky.
 */
int frame_reader_next(struct frame_reader *r, Posture__V1__Envelope **env);

/* Size on the wire (header included) of the frame frame_reader_next last returned. */
size_t frame_reader_last_size(const struct frame_reader *r);

/*
 * Blocking helpers for files and pipes.  frame_write_fd encodes env (errors
 * of frame_encode) and writes the whole frame, retrying short writes and
 * EINTR; a failed write returns the pst_from_errno() code.  A caller
 * writing to a pipe or socket should ignore SIGPIPE.
 */
int frame_write_fd(int fd, const Posture__V1__Envelope *env, size_t max);

/*
 * Read exactly one frame from fd, never past its end.  Returns 0 with *env
 * set, 1 with *env NULL on end of file before the first byte of a frame,
 * PST_E_TRUNC on end of file inside a frame, the errors of frame_decode, or
 * the pst_from_errno() code of a failed read.  After an error the file
 * position is unspecified: stop reading that stream.
 */
int frame_read_fd(int fd, size_t max, Posture__V1__Envelope **env);

#endif
