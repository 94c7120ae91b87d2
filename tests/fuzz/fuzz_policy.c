/*
 * fuzz_policy.c - the policy loader on arbitrary bytes: it must refuse or
 * accept without crashing, leaking or reading past the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct pst_err e;
	/* A copy without a terminator, so a read past the end is caught by ASan. */
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (policy_load_buffer("fuzz.json", buf, size, &p, &e) == 0)
		policy_free(p);
	free(buf);
	return 0;
}
