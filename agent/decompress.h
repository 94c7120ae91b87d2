/*
 * decompress.h - whole-buffer decompression of the formats apt may keep its
 * lists in (Acquire::GzipIndexes: gzip; Debian's container images: lz4),
 * with a ceiling on the output fixed by the caller.  zlib and liblz4 do the
 * work; this module only bounds it.
 */
#ifndef POSTURE_DECOMPRESS_H
#define POSTURE_DECOMPRESS_H

#include <stddef.h>

#include "err.h"

enum decompress_format {
	DECOMPRESS_NONE,
	DECOMPRESS_GZIP,
	DECOMPRESS_LZ4,
	DECOMPRESS_UNSUPPORTED, /* xz, bzip2, zstd, lzma: named but not read */
};

/* The format a file name's extension names (".gz", ".lz4", ...). */
enum decompress_format decompress_format_of(const char *name);

/*
 * Decompress in (len bytes) into a NUL-terminated heap buffer (*out, *out_len
 * without the terminator).  PST_E_TOOBIG past max output bytes, PST_E_PARSE
 * for corrupt or truncated data (*why says which), PST_E_NOMEM.  With
 * DECOMPRESS_NONE the input is copied.
 */
int decompress_buffer(enum decompress_format f, const char *in, size_t len, size_t max,
		      char **out, size_t *out_len, const char **why);

#endif
