/*
 * fuzz_evidence.c - evidence envelopes and canonical JSON on arbitrary
 * bytes: what `posturectl evidence verify` reads from a file anyone may
 * have handed the auditor.  Every input must verify or be refused with a
 * message naming a step; canonical bytes must be a fixed point
 * (parse, dump, parse, dump gives the same bytes); never a crash, a leak or
 * a read past the buffer.  The seeds were sealed with the private half of
 * the key below (corpus/fuzz_evidence).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "evsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MCowBQYDK2VwAyEAAAxUK0JZqTzFVOzelXo6pGy5SBQlPKIppWPtNiH6SME=\n"
			      "-----END PUBLIC KEY-----\n";

static void fixed_point(const uint8_t *data, size_t size)
{
	struct pst_err e = {0};
	struct strbuf a, b;
	json_t *v = NULL, *w = NULL;

	strbuf_init(&a, 1 << 22);
	strbuf_init(&b, 1 << 22);
	if (canon_parse((const char *)data, size, 1 << 20, &v, &e) == 0 &&
	    canon_dump(v, &a, &e) == 0) {
		if (canon_parse(a.data, a.len, 1 << 22, &w, &e) != 0 || canon_dump(w, &b, &e) != 0 ||
		    a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			abort();
	}
	json_decref(v);
	json_decref(w);
	strbuf_cleanup(&a);
	strbuf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *key;
	struct evsig_verified v;
	struct pst_err e = {0};
	int rc;

	if (key == NULL && evsig_public_from_pem(pub_pem, sizeof(pub_pem) - 1, &key, &e) != 0)
		abort();
	rc = evsig_verify((const char *)data, size, key, &v, &e);
	if (rc == 0) {
		/* Verified: it is a snapshot with an id and a seq, and cannot follow itself. */
		if (v.snapshot == NULL || v.id[0] == '\0' || v.seq == 0 ||
		    evsig_check_link(&v, &v, &e) == 0)
			abort();
		evsig_verified_cleanup(&v);
	} else if (e.msg[0] == '\0' || strstr(e.msg, "step ") == NULL || v.snapshot != NULL) {
		abort();
	}
	fixed_point(data, size);
	return 0;
}
