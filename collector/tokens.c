/*
 * tokens.c - making and hashing API bearer tokens (see tokens.h).
 */
#include "tokens.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 32 bytes as 43 characters of unpadded base64url. */
static void encode32(const uint8_t in[32], char out[44])
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < 32; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		out[o++] = b64url[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
}

static int sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return PST_E_NOMEM;
	return 0;
}

int token_new(char text[TOKEN_TEXT_SIZE], uint8_t hash[32], struct pst_err *e)
{
	uint8_t raw[32];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pst_err_set(e, PST_E_SYS,
					   "cannot make a token: getrandom: %s (is the kernel's "
					   "random pool available?)", strerror(errno));
		got += (size_t)n;
	}
	memcpy(text, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
	encode32(raw, text + strlen(TOKEN_PREFIX));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (token_hash(text, TOKEN_TEXT_LEN, hash) != 0)
		return pst_err_set(e, PST_E_NOMEM, "cannot hash the new token: out of memory");
	return 0;
}

int token_hash(const char *text, size_t len, uint8_t hash[32])
{
	size_t plen = strlen(TOKEN_PREFIX);

	if (len != TOKEN_TEXT_LEN || memcmp(text, TOKEN_PREFIX, plen) != 0)
		return PST_E_PARSE;
	for (size_t i = plen; i < len; i++)
		if (strchr(b64url, text[i]) == NULL || text[i] == '\0')
			return PST_E_PARSE;
	/* 256 bits fill 42 characters and 4 bits of the 43rd, whose 2 low bits must be zero. */
	if (((const char *)memchr(b64url, text[len - 1], 64) - b64url) & 0x3)
		return PST_E_PARSE;
	return sha256(text, len, hash);
}
