/* decompress.c - bounded whole-buffer gzip and lz4 decompression (decompress.h). */
#include "decompress.h"

#include <lz4frame.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

enum decompress_format decompress_format_of(const char *name)
{
	if (ends_with(name, ".gz"))
		return DECOMPRESS_GZIP;
	if (ends_with(name, ".lz4"))
		return DECOMPRESS_LZ4;
	if (ends_with(name, ".xz") || ends_with(name, ".bz2") || ends_with(name, ".zst") ||
	    ends_with(name, ".lzma"))
		return DECOMPRESS_UNSUPPORTED;
	return DECOMPRESS_NONE;
}

/* Grow *buf (capacity *cap) so that at least one more byte fits, up to max + 1. */
static int grow(char **buf, size_t *cap, size_t used, size_t max)
{
	size_t ncap;
	char *p;

	if (used < *cap)
		return 0;
	if (used > max)
		return PST_E_TOOBIG;
	ncap = *cap ? *cap * 2 : 1 << 16;
	if (ncap > max + 1)
		ncap = max + 1;
	p = realloc(*buf, ncap + 1);
	if (p == NULL)
		return PST_E_NOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

static int gunzip(const char *in, size_t len, size_t max, char **out, size_t *out_len,
		  const char **why)
{
	z_stream zs;
	char *buf = NULL;
	size_t cap = 0, used = 0;
	int rc = 0, zr;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return PST_E_NOMEM;
	zs.next_in = (Bytef *)(uintptr_t)in;
	/* zlib counts in uInt: feed it in pieces it can hold. */
	for (;;) {
		size_t left = len - (size_t)((const char *)zs.next_in - in);

		if (zs.avail_in == 0)
			zs.avail_in = left > 0x40000000 ? 0x40000000 : (uInt)left;
		rc = grow(&buf, &cap, used, max);
		if (rc < 0)
			goto out;
		zs.next_out = (Bytef *)buf + used;
		zs.avail_out = (uInt)(cap - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
		if (zr == Z_STREAM_END) {
			if ((const char *)zs.next_in != in + len) {
				*why = "data after the end of the gzip stream";
				rc = PST_E_PARSE;
			}
			break;
		}
		if (zr == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
			*why = "gzip data is truncated";
			rc = PST_E_PARSE;
			goto out;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			*why = zr == Z_MEM_ERROR ? "out of memory" : "corrupt gzip data";
			rc = zr == Z_MEM_ERROR ? PST_E_NOMEM : PST_E_PARSE;
			goto out;
		}
	}
	if (rc == 0 && used > max)
		rc = PST_E_TOOBIG;
out:
	inflateEnd(&zs);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[used] = '\0';
	*out = buf;
	*out_len = used;
	return 0;
}

static int unlz4(const char *in, size_t len, size_t max, char **out, size_t *out_len,
		 const char **why)
{
	LZ4F_dctx *dctx = NULL;
	char *buf = NULL;
	size_t cap = 0, used = 0, pos = 0, hint = 1;
	int rc = 0;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return PST_E_NOMEM;
	while (pos < len) {
		size_t src = len - pos, dst;

		rc = grow(&buf, &cap, used, max);
		if (rc < 0)
			goto out;
		dst = cap - used;
		hint = LZ4F_decompress(dctx, buf + used, &dst, in + pos, &src, NULL);
		if (LZ4F_isError(hint)) {
			*why = "corrupt lz4 data";
			rc = PST_E_PARSE;
			goto out;
		}
		pos += src;
		used += dst;
		if (hint == 0 && pos < len) {
			/* One frame ended; apt writes one, but frames may follow. */
			continue;
		}
	}
	/* Drain what the context still holds. */
	while (hint != 0) {
		size_t src = 0, dst;

		rc = grow(&buf, &cap, used, max);
		if (rc < 0)
			goto out;
		dst = cap - used;
		hint = LZ4F_decompress(dctx, buf + used, &dst, in + len, &src, NULL);
		if (LZ4F_isError(hint) || dst == 0) {
			*why = "lz4 data is truncated";
			rc = PST_E_PARSE;
			goto out;
		}
		used += dst;
	}
	if (used > max)
		rc = PST_E_TOOBIG;
out:
	LZ4F_freeDecompressionContext(dctx);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return PST_E_NOMEM;
	buf[used] = '\0';
	*out = buf;
	*out_len = used;
	return 0;
}

int decompress_buffer(enum decompress_format f, const char *in, size_t len, size_t max,
		      char **out, size_t *out_len, const char **why)
{
	const char *dummy;

	*out = NULL;
	*out_len = 0;
	if (why == NULL)
		why = &dummy;
	*why = NULL;
	switch (f) {
	case DECOMPRESS_NONE:
		if (len > max)
			return PST_E_TOOBIG;
		if ((*out = malloc(len + 1)) == NULL)
			return PST_E_NOMEM;
		memcpy(*out, in, len);
		(*out)[len] = '\0';
		*out_len = len;
		return 0;
	case DECOMPRESS_GZIP:
		return gunzip(in, len, max, out, out_len, why);
	case DECOMPRESS_LZ4:
		return unlz4(in, len, max, out, out_len, why);
	default:
		*why = "compression format not supported";
		return PST_E_INVAL;
	}
}
