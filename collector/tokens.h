/*
 * tokens.h - API bearer tokens: made here, shown once, kept only as their
 * SHA-256 (store_token_add).  A token is "pst_" followed by 43 characters
 * of base64url (32 random bytes from the OS, 256 bits): the prefix lets
 * secret scanners and people recognise one in a paste.  A plain SHA-256 is
 * enough to store them: they are random, not chosen by people, so there is
 * nothing to guess from the hash.
 */
#ifndef POSTURE_TOKENS_H
#define POSTURE_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TOKEN_PREFIX "pst_"
#define TOKEN_TEXT_LEN 47          /* "pst_" + 43 */
#define TOKEN_TEXT_SIZE (TOKEN_TEXT_LEN + 1)

/* A new token: text (NUL-terminated) and its hash. */
int token_new(char text[TOKEN_TEXT_SIZE], uint8_t hash[32], struct pst_err *e);

/*
 * Hash a token as presented (len bytes, no NUL needed): PST_E_PARSE when it
 * is not of the form above (wrong prefix, length or alphabet), so that
 * malformed tokens are told apart from unknown ones without a lookup.
 */
int token_hash(const char *text, size_t len, uint8_t hash[32]);

#endif
