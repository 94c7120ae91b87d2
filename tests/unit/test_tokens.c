/*
 * test_tokens.c - API tokens: the form ("pst_" + 43 base64url characters
 * from 32 random bytes), the hash (SHA-256 of the text, checked against
 * `openssl dgst -sha256`), and the refusal of malformed tokens before any
 * lookup.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tokens.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void test_new_tokens(void **state)
{
	char a[TOKEN_TEXT_SIZE], b[TOKEN_TEXT_SIZE];
	uint8_t ha[32], hb[32], again[32];

	(void)state;
	assert_int_equal(token_new(a, ha, NULL), 0);
	assert_int_equal(token_new(b, hb, NULL), 0);
	assert_int_equal(strlen(a), TOKEN_TEXT_LEN);
	assert_memory_equal(a, "pst_", 4);
	assert_string_not_equal(a, b);
	assert_memory_not_equal(ha, hb, 32);
	assert_int_equal(token_hash(a, strlen(a), again), 0);
	assert_memory_equal(ha, again, 32);
	for (const char *p = a + 4; *p; p++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789-_", *p));
}

/* The stored hash is the SHA-256 of the token's text, as openssl computes it. */
static void test_hash_matches_openssl(void **state)
{
	char tok[TOKEN_TEXT_SIZE], want[65], got[65] = "", cmd[160];
	uint8_t h[32];
	FILE *f;

	(void)state;
	assert_int_equal(token_new(tok, h, NULL), 0);
	hex(h, 32, want);
	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | openssl dgst -sha256 -r", tok);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%64s", got), 1);
	pclose(f);
	assert_string_equal(got, want);
}

static void test_malformed(void **state)
{
	char tok[TOKEN_TEXT_SIZE], bad[TOKEN_TEXT_SIZE + 2];
	uint8_t h[32];

	(void)state;
	assert_int_equal(token_new(tok, h, NULL), 0);
	assert_int_equal(token_hash("", 0, h), PST_E_PARSE);
	assert_int_equal(token_hash(tok, strlen(tok) - 1, h), PST_E_PARSE);
	memcpy(bad, tok, sizeof(tok));
	bad[0] = 'x';
	assert_int_equal(token_hash(bad, strlen(bad), h), PST_E_PARSE);
	memcpy(bad, tok, sizeof(tok));
	bad[10] = '+';
	assert_int_equal(token_hash(bad, strlen(bad), h), PST_E_PARSE);
	memcpy(bad, tok, sizeof(tok));
	bad[10] = '\0';
	assert_int_equal(token_hash(bad, TOKEN_TEXT_LEN, h), PST_E_PARSE);
	/* The last character's two padding bits must be zero ('B' = 1 is not a valid end). */
	memcpy(bad, tok, sizeof(tok));
	bad[TOKEN_TEXT_LEN - 1] = 'B';
	assert_int_equal(token_hash(bad, TOKEN_TEXT_LEN, h), PST_E_PARSE);
	bad[TOKEN_TEXT_LEN - 1] = 'E';
	assert_int_equal(token_hash(bad, TOKEN_TEXT_LEN, h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_tokens),
		cmocka_unit_test(test_hash_matches_openssl),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
