/*
 * verify.h - offline verification of evidence snapshot files
 * (docs/evidence.md, "Verifying"): one file, one file after another
 * (--previous), or a directory holding a chain.
 *
 * Every failure is PST_E_INVAL or PST_E_PARSE with a message that names
 * the file and the step that failed; posturectl exits 1 on it.  What was
 * verified is printed to out.
 */
#ifndef POSTURE_CTL_VERIFY_H
#define POSTURE_CTL_VERIFY_H

#include <openssl/evp.h>
#include <stdio.h>

#include "err.h"

/* Steps 1-5 on path, and step 6 against previous when it is not NULL. */
int verify_file(const char *path, const char *previous, EVP_PKEY *key, FILE *out,
		struct pst_err *e);

/* Step 7: every *.json in dir, and the chain they form. */
int verify_chain(const char *dir, EVP_PKEY *key, FILE *out, struct pst_err *e);

#endif
