/*
 * fuzz_dpkgver.c - Debian version parsing and ordering on arbitrary bytes.
 * The input is split at its first '\n' into two versions; both are parsed
 * with their exact lengths (copied into buffers of that size, so a read
 * past the length is caught), and when both parse the ordering must be
 * antisymmetric and reflexive.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpkgver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t alen = nl ? (size_t)(nl - data) : size;
	size_t blen = nl ? size - alen - 1 : 0;
	char *a = malloc(alen ? alen : 1), *b = malloc(blen ? blen : 1);
	struct dpkgver va, vb;
	int ab, ba;

	if (a == NULL || b == NULL)
		goto out;
	memcpy(a, data, alen);
	if (blen > 0)
		memcpy(b, nl + 1, blen);
	if (dpkgver_parse(&va, a, alen, NULL) != 0 || dpkgver_parse(&vb, b, blen, NULL) != 0)
		goto out;
	ab = dpkgver_cmp(&va, &vb);
	ba = dpkgver_cmp(&vb, &va);
	if ((ab > 0) != (ba < 0) || (ab == 0) != (ba == 0) || dpkgver_cmp(&va, &va) != 0)
		abort();
out:
	free(a);
	free(b);
	return 0;
}
