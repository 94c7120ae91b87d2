/*
 * fuzz_frame.c - libFuzzer target for proto/frame.c.
 *
 * The input is a byte stream as a peer would send it.  It is decoded frame
 * by frame with frame_decode, and fed to the incremental reader in chunks
 * whose sizes are derived from the input; the two paths must agree on every
 * frame and on how the stream ends.  Each decoded Envelope is encoded again
 * and must decode to an Envelope of the same packed size.  Both paths run
 * under the default limit and under a small one, so that oversized headers
 * are reached from short inputs.  Any disagreement aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_MAX 64
#define MAX_FRAMES 4096

/* Abort on a broken property, saying which. */
#define check(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n",      \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

/* Encode env again and decode the result: same body, same size. */
static void reencode(const Posture__V1__Envelope *env, size_t max)
{
	Posture__V1__Envelope *again;
	uint8_t *f;
	size_t len, consumed;
	int rc;

	rc = frame_encode(env, max, &f, &len);
	/* Re-packing may differ in size from the input (varints, merges). */
	if (rc == PST_E_TOOBIG)
		return;
	check(rc == 0);
	rc = frame_decode(f, len, max, &again, &consumed);
	check(rc == 0 && consumed == len);
	check(again->body_case == env->body_case);
	check(posture__v1__envelope__get_packed_size(again) == len - FRAME_HEADER_LEN);
	frame_envelope_free(again);
	free(f);
}

/* The next chunk size: mostly small, sometimes large, never zero. */
static size_t next_chunk(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	if ((*x & 3) == 0)
		return 1 + (*x >> 2) % 4096;
	return 1 + (*x >> 2) % 16;
}

static void run(const uint8_t *data, size_t size, size_t max)
{
	struct frame_reader r;
	Posture__V1__Envelope *env;
	size_t off = 0, off_end, consumed, n, nframes = 0, nread = 0;
	size_t sizes[MAX_FRAMES];
	uint32_t x = 2166136261u;
	int end, rc;

	/* Path 1: frame_decode over the buffer until it stops. */
	for (;;) {
		end = frame_decode(data + off, size - off, max, &env, &consumed);
		if (end != 0) {
			check(env == NULL && consumed == 0);
			break;
		}
		check(consumed > FRAME_HEADER_LEN && consumed <= size - off);
		check(consumed - FRAME_HEADER_LEN <= max);
		/*
		 * Not consumed: protobuf-c keeps strings up to their first NUL
		 * and accepts non-minimal varints, so a decoded Envelope may
		 * pack smaller than it arrived.
		 */
		if (nframes < MAX_FRAMES)
			sizes[nframes] = posture__v1__envelope__get_packed_size(env);
		nframes++;
		reencode(env, max);
		frame_envelope_free(env);
		off += consumed;
	}
	off_end = off;
	check(end == PST_E_TRUNC || end == PST_E_TOOBIG || end == PST_E_PROTO);

	/* Path 2: the reader, fed in chunks derived from the input. */
	for (n = 0; n < size && n < 64; n++)
		x = (x ^ data[n]) * 16777619u;
	x ^= (uint32_t)size;
	if (x == 0)
		x = 1;
	frame_reader_init(&r, max);
	rc = 0;
	for (off = 0; off < size && rc == 0; off += n) {
		n = next_chunk(&x);
		if (n > size - off)
			n = size - off;
		rc = frame_reader_feed(&r, data + off, n);
		if (rc != 0)
			break;
		for (;;) {
			rc = frame_reader_next(&r, &env);
			if (rc != 0 || env == NULL)
				break;
			if (nread < MAX_FRAMES && nread < nframes)
				check(posture__v1__envelope__get_packed_size(env) ==
				      sizes[nread]);
			nread++;
			frame_envelope_free(env);
		}
	}
	/* Draining after each feed of small chunks never meets the ceiling. */
	check(rc != PST_E_LIMIT);
	if (end == PST_E_TRUNC) {
		/* A clean stream with an incomplete tail: same frames, no error. */
		check(rc == 0 && nread == nframes);
	} else {
		/*
		 * The reader refuses a bad header as soon as it is fed, possibly
		 * before returning frames queued ahead of it.  A bad payload it
		 * finds in order, unless a bad header further on is fed first.
		 */
		if (frame_peek_header(data + off_end, size - off_end, max, &n) != 0)
			check(rc == end);
		else
			check(end == PST_E_PROTO &&
			      (rc == PST_E_PROTO || rc == PST_E_TOOBIG));
		check(nread <= nframes);
		check(frame_reader_next(&r, &env) == rc && env == NULL);
		check(frame_reader_feed(&r, data, size) == rc);
	}
	frame_reader_cleanup(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, FRAME_DEFAULT_MAX);
	run(data, size, SMALL_MAX);
	return 0;
}
