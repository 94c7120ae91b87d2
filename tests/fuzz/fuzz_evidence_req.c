/*
 * fuzz_evidence_req.c - the body of POST /api/v1/evidence
 * (evidence_request_parse) on arbitrary bytes: JSON from any auditor or
 * admin token holder.  Every input must end in a scope that keeps the
 * promises below, or a refusal with a message; never a crash, a leak or a
 * read past the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A member of a parsed scope: absent, or 1..EVIDENCE_SCOPE_MAX bytes with no control character. */
static int member_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 1;
	n = strlen(s);
	if (n == 0 || n > EVIDENCE_SCOPE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evidence_scope sc;
	struct pst_err e = {0};
	int rc = evidence_request_parse((const char *)data, size, &sc, &e);

	if (rc == 0) {
		if (!member_ok(sc.host) || !member_ok(sc.search) || !member_ok(sc.control))
			abort();
		evidence_scope_cleanup(&sc);
	} else if (e.msg[0] == '\0' || sc.host != NULL || sc.search != NULL ||
		   sc.control != NULL || (size > EVIDENCE_REQUEST_MAX && rc != PST_E_TOOBIG)) {
		abort();
	}
	return 0;
}
