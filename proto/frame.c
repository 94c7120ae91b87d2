/*
 * frame.c - length-prefixed Envelope frames (see frame.h).
 *
 * The header is the only thing trusted to say how long a frame is, and it is
 * checked against the caller's limit before anything is allocated, buffered
 * or unpacked.  protobuf-c is handed exactly the declared payload, so a
 * message can never reach into the next frame.  The collector's connection
 * uses the incremental reader; the agent's spool uses the fd helpers.
 */
#include "frame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

/* Frame lengths are 32 bits on the wire, whatever size_t can hold. */
static size_t effective_max(size_t max)
{
	return max > UINT32_MAX ? (size_t)UINT32_MAX : max;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int frame_encode(const Posture__V1__Envelope *env, size_t max, uint8_t **out,
		 size_t *out_len)
{
	size_t plen;
	uint8_t *p;

	if (out != NULL)
		*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (env == NULL || out == NULL || out_len == NULL ||
	    env->base.descriptor != &posture__v1__envelope__descriptor)
		return PST_E_INVAL;
	/* The peer would refuse it, so never send it. */
	if (env->body_case == POSTURE__V1__ENVELOPE__BODY__NOT_SET)
		return PST_E_INVAL;
	plen = posture__v1__envelope__get_packed_size(env);
	if (plen == 0)
		return PST_E_INVAL;
	if (plen > effective_max(max))
		return PST_E_TOOBIG;
	p = malloc(FRAME_HEADER_LEN + plen);
	if (p == NULL)
		return PST_E_NOMEM;
	put_be32(p, (uint32_t)plen);
	if (posture__v1__envelope__pack(env, p + FRAME_HEADER_LEN) != plen) {
		free(p);
		return PST_E_INVAL;
	}
	*out = p;
	*out_len = FRAME_HEADER_LEN + plen;
	return 0;
}

int frame_peek_header(const uint8_t *buf, size_t len, size_t max,
		      size_t *payload_len)
{
	uint32_t n;

	if (payload_len == NULL)
		return PST_E_INVAL;
	*payload_len = 0;
	if (len < FRAME_HEADER_LEN)
		return PST_E_TRUNC;
	if (buf == NULL)
		return PST_E_INVAL;
	n = get_be32(buf);
	if (n > effective_max(max))
		return PST_E_TOOBIG;
	if (n == 0)
		return PST_E_PROTO;
	*payload_len = n;
	return 0;
}

/*
 * protobuf-c accepts a tag whose field number is 0 when it comes as a
 * non-minimal varint (0x80 0x00), keeps it as an unknown field, and then
 * packs it into bytes it refuses itself.  Field number 0 is invalid in
 * protobuf, so a message holding one, at any depth, is malformed.  The
 * walk follows only the active member of a oneof (the others share its
 * storage) and is bounded in depth like protobuf-c's own recursion.
 */
static bool has_field_zero(const ProtobufCMessage *m, unsigned depth)
{
	const ProtobufCMessageDescriptor *d;
	unsigned i;
	size_t j;

	if (m == NULL)
		return false;
	if (depth > 64)
		return true;
	for (i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return true;
	d = m->descriptor;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);

			for (j = 0; j < n; j++)
				if (has_field_zero(arr[j], depth + 1))
					return true;
		} else if (has_field_zero(*(ProtobufCMessage *const *)(base + f->offset), depth + 1)) {
			return true;
		}
	}
	return false;
}

int frame_decode(const uint8_t *buf, size_t len, size_t max,
		 Posture__V1__Envelope **env, size_t *consumed)
{
	Posture__V1__Envelope *e;
	size_t plen;
	int rc;

	if (env != NULL)
		*env = NULL;
	if (consumed != NULL)
		*consumed = 0;
	if (env == NULL || consumed == NULL)
		return PST_E_INVAL;
	rc = frame_peek_header(buf, len, max, &plen);
	if (rc != 0)
		return rc;
	if (len - FRAME_HEADER_LEN < plen)
		return PST_E_TRUNC;
	e = posture__v1__envelope__unpack(NULL, plen, buf + FRAME_HEADER_LEN);
	if (e == NULL)
		return PST_E_PROTO;
	/* Only unknown fields, or nothing the receiver could dispatch on. */
	if (e->body_case == POSTURE__V1__ENVELOPE__BODY__NOT_SET ||
	    has_field_zero(&e->base, 0)) {
		posture__v1__envelope__free_unpacked(e, NULL);
		return PST_E_PROTO;
	}
	*env = e;
	*consumed = FRAME_HEADER_LEN + plen;
	return 0;
}

void frame_envelope_free(Posture__V1__Envelope *env)
{
	if (env != NULL)
		posture__v1__envelope__free_unpacked(env, NULL);
}

/* Two maximal frames plus the slack, kept clear of size_t overflow. */
static size_t reader_ceiling(size_t max)
{
	size_t m = effective_max(max);

	if (m > (SIZE_MAX - 1 - FRAME_READER_SLACK) / 2 - FRAME_HEADER_LEN)
		return SIZE_MAX - 1;
	return 2 * (m + FRAME_HEADER_LEN) + FRAME_READER_SLACK;
}

void frame_reader_init(struct frame_reader *r, size_t max)
{
	strbuf_init(&r->buf, reader_ceiling(max));
	r->off = 0;
	r->scan = 0;
	r->max = effective_max(max);
	r->err = 0;
	r->last = 0;
}

int frame_reader_raise_max(struct frame_reader *r, size_t max)
{
	max = effective_max(max);
	if (max < r->max)
		return PST_E_INVAL;
	/* Headers already judged passed the lower limit, so they pass this one. */
	r->max = max;
	r->buf.max = reader_ceiling(max);
	return 0;
}

void frame_reader_cleanup(struct frame_reader *r)
{
	strbuf_cleanup(&r->buf);
	r->off = 0;
	r->scan = 0;
}

/*
 * Empty the buffer, giving back any allocation past FRAME_READER_KEEP: a
 * connection that carried one large report would otherwise hold that much
 * for the rest of its life, between reports minutes apart.  One allocation
 * per large frame costs nothing beside decoding it.
 */
static void reader_empty(struct frame_reader *r)
{
	if (r->buf.cap > FRAME_READER_KEEP) {
		size_t ceiling = r->buf.max;

		strbuf_cleanup(&r->buf);
		strbuf_init(&r->buf, ceiling);
	} else {
		strbuf_reset(&r->buf);
	}
	r->off = 0;
	r->scan = 0;
}

/* A broken stream keeps its error and no memory. */
static int reader_fail(struct frame_reader *r, int rc)
{
	r->err = rc;
	strbuf_cleanup(&r->buf);
	r->off = 0;
	r->scan = 0;
	return rc;
}

/*
 * Move the bytes not yet returned to the front.  strbuf has no way to drop
 * a prefix, so this edits its documented fields directly.
 */
static void reader_compact(struct frame_reader *r)
{
	size_t keep = r->buf.len - r->off;

	memmove(r->buf.data, r->buf.data + r->off, keep);
	r->buf.len = keep;
	r->buf.data[keep] = '\0';
	r->scan -= r->off;
	r->off = 0;
}

int frame_reader_feed(struct frame_reader *r, const uint8_t *p, size_t n)
{
	size_t take, plen;
	int rc;

	if (r->err != 0)
		return r->err;
	if (n == 0)
		return 0;
	if (p == NULL)
		return PST_E_INVAL;
	if (r->off > 0)
		reader_compact(r);
	if (n > r->buf.max - r->buf.len)
		return PST_E_LIMIT;
	/*
	 * Append up to the end of the current header or payload at a time, so
	 * that each header is judged before a byte of its payload is kept.
	 */
	while (n > 0) {
		if (r->buf.len < r->scan)
			take = r->scan - r->buf.len;
		else
			take = r->scan + FRAME_HEADER_LEN - r->buf.len;
		if (take > n)
			take = n;
		rc = strbuf_append(&r->buf, p, take);
		if (rc != 0)
			return reader_fail(r, rc);
		p += take;
		n -= take;
		if (r->buf.len == r->scan + FRAME_HEADER_LEN) {
			rc = frame_peek_header(
				(const uint8_t *)r->buf.data + r->scan,
				FRAME_HEADER_LEN, r->max, &plen);
			if (rc != 0)
				return reader_fail(r, rc);
			r->scan += FRAME_HEADER_LEN + plen;
		}
	}
	return 0;
}

int frame_reader_next(struct frame_reader *r, Posture__V1__Envelope **env)
{
	size_t consumed;
	int rc;

	if (env == NULL)
		return PST_E_INVAL;
	*env = NULL;
	if (r->err != 0)
		return r->err;
	if (r->buf.len - r->off < FRAME_HEADER_LEN)
		return 0;
	rc = frame_decode((const uint8_t *)r->buf.data + r->off,
			  r->buf.len - r->off, r->max, env, &consumed);
	if (rc == PST_E_TRUNC)
		return 0;
	if (rc != 0)
		return reader_fail(r, rc);
	r->off += consumed;
	r->last = consumed;
	if (r->off == r->buf.len)
		reader_empty(r);
	return 0;
}

size_t frame_reader_last_size(const struct frame_reader *r)
{
	return r->last;
}

/* Read up to n bytes, stopping early only at end of file. */
static int read_full(int fd, uint8_t *p, size_t n, size_t *got)
{
	ssize_t k;

	*got = 0;
	while (*got < n) {
		k = read(fd, p + *got, n - *got);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return pst_from_errno(errno);
		}
		if (k == 0)
			break;
		*got += (size_t)k;
	}
	return 0;
}

int frame_write_fd(int fd, const Posture__V1__Envelope *env, size_t max)
{
	uint8_t *frame;
	size_t len, done = 0;
	ssize_t k;
	int rc;

	rc = frame_encode(env, max, &frame, &len);
	if (rc != 0)
		return rc;
	while (done < len) {
		k = write(fd, frame + done, len - done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = pst_from_errno(errno);
			goto out;
		}
		done += (size_t)k;
	}
out:
	free(frame);
	return rc;
}

int frame_read_fd(int fd, size_t max, Posture__V1__Envelope **env)
{
	uint8_t hdr[FRAME_HEADER_LEN], *frame = NULL;
	size_t got, plen, consumed;
	int rc;

	if (env == NULL)
		return PST_E_INVAL;
	*env = NULL;
	rc = read_full(fd, hdr, sizeof(hdr), &got);
	if (rc != 0)
		return rc;
	if (got == 0)
		return 1;
	if (got < sizeof(hdr))
		return PST_E_TRUNC;
	/* Refuse before allocating for the payload. */
	rc = frame_peek_header(hdr, sizeof(hdr), max, &plen);
	if (rc != 0)
		return rc;
	frame = malloc(FRAME_HEADER_LEN + plen);
	if (frame == NULL)
		return PST_E_NOMEM;
	memcpy(frame, hdr, sizeof(hdr));
	rc = read_full(fd, frame + FRAME_HEADER_LEN, plen, &got);
	if (rc != 0)
		goto out;
	if (got < plen) {
		rc = PST_E_TRUNC;
		goto out;
	}
	rc = frame_decode(frame, FRAME_HEADER_LEN + plen, max, env, &consumed);
out:
	free(frame);
	return rc;
}
