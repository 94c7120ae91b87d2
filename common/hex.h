/*
 * hex.h - lowercase hexadecimal, the one way posture writes digests
 * (policy and snapshot SHA-256s, token hashes, spool acknowledgements).
 */
#ifndef POSTURE_HEX_H
#define POSTURE_HEX_H

#include <stddef.h>

/* Write n bytes at p as 2n lowercase hex digits and a NUL at out (2n + 1 bytes). */
void hex_encode(const void *p, size_t n, char *out);

#endif
