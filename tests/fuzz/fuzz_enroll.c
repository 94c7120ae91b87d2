/*
 * fuzz_enroll.c - the body of POST /api/v1/enroll (enroll_req_parse) on
 * arbitrary bytes: JSON from a peer holding nothing but a token, with a
 * PEM certificate request inside.  Every input must end in a parsed
 * request that keeps the promises below, or a refusal with a message;
 * never a crash, a leak or a read past the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enroll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enroll_req r;
	struct pst_err e = {0};
	int rc = enroll_req_parse(data, size, &r, &e);

	if (rc == 0) {
		/* What a parse promises: a CSR, and an id that is empty or valid. */
		if (r.csr == NULL || (r.agent_id[0] != '\0' && !pki_name_valid(r.agent_id)))
			abort();
		enroll_req_cleanup(&r);
	} else if (e.msg[0] == '\0' || r.csr != NULL ||
		   (size > ENROLL_MAX_BODY && rc != PST_E_TOOBIG)) {
		abort();
	}
	return 0;
}
