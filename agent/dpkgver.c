/*
 * dpkgver.c - Debian version parsing and ordering (dpkgver.h).  The code
 * follows dpkg's parseversion() and verrevcmp() step by step, over explicit
 * lengths instead of NUL-terminated strings; tests/unit/test_dpkgver.c holds
 * it against `dpkg --compare-versions`.
 */
#include "dpkgver.h"

#include <limits.h>
#include <string.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* isspace() of the C locale, which strtol() skips before a number. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int fail(const char **why, const char *text)
{
	if (why != NULL)
		*why = text;
	return PST_E_PARSE;
}

/*
 * The epoch as dpkg reads it with strtol(): white space, a sign, digits, and
 * the first colon must come right after them.  [s, colon) is the text.
 */
static int parse_epoch(const char *s, const char *colon, unsigned *epoch, const char **why)
{
	const char *p = s;
	bool neg = false;
	unsigned long long n = 0;
	bool big = false;

	while (p < colon && is_space(*p))
		p++;
	if (p < colon && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	if (p == colon || !is_digit(*p)) {
		/* strtol converted nothing: its end pointer is the start. */
		return fail(why, "epoch in version is empty");
	}
	for (; p < colon && is_digit(*p); p++) {
		n = n * 10 + (unsigned)(*p - '0');
		if (n > (unsigned long long)INT_MAX + 1)
			big = true, n = (unsigned long long)INT_MAX + 1;
	}
	if (p != colon)
		return fail(why, "epoch in version is not number");
	if (neg && n != 0)
		return fail(why, "epoch in version is negative");
	if (big || n > INT_MAX)
		return fail(why, "epoch in version is too big");
	*epoch = (unsigned)n;
	return 0;
}

int dpkgver_parse(struct dpkgver *v, const char *s, size_t len, const char **why)
{
	const char *p = s, *end = s + len, *colon, *hyphen, *q;
	int rc;

	memset(v, 0, sizeof(*v));
	v->revision = "";
	if (why != NULL)
		*why = NULL;
	if (len > DPKGVER_MAX_LEN) {
		if (why != NULL)
			*why = "version string is too long";
		return PST_E_TOOBIG;
	}
	if (memchr(s, '\0', len) != NULL)
		return fail(why, "version string holds a NUL byte");
	while (p < end && is_blank(*p))
		p++;
	if (p == end)
		return fail(why, "version string is empty");
	q = p;
	while (q < end && !is_blank(*q))
		q++;
	end = q;
	while (q < s + len && is_blank(*q))
		q++;
	if (q != s + len)
		return fail(why, "version string has embedded spaces");

	colon = memchr(p, ':', (size_t)(end - p));
	if (colon != NULL) {
		rc = parse_epoch(p, colon, &v->epoch, why);
		if (rc < 0)
			return rc;
		if (colon + 1 == end)
			return fail(why, "nothing after colon in version number");
		p = colon + 1;
	}
	/* The revision follows the last hyphen. */
	hyphen = NULL;
	for (q = end; q > p; q--) {
		if (q[-1] == '-') {
			hyphen = q - 1;
			break;
		}
	}
	if (hyphen != NULL) {
		if (hyphen + 1 == end)
			return fail(why, "revision number is empty");
		v->revision = hyphen + 1;
		v->revision_len = (size_t)(end - hyphen - 1);
		end = hyphen;
	}
	v->upstream = p;
	v->upstream_len = (size_t)(end - p);
	if (v->upstream_len == 0)
		return fail(why, "version number is empty");
	return 0;
}

/* dpkg's order(): '~' first, then the end and digits, letters, the rest. */
static int order(int c)
{
	if (is_digit((char)c))
		return 0;
	if (is_alpha((char)c))
		return c;
	if (c == '~')
		return -1;
	if (c != 0)
		return c + 256;
	return 0;
}

static int verrevcmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;

	/* dpkg hands order() a plain char: bytes over 0x7f are negative there. */
#define AT(s, n, k) ((k) < (n) ? (int)(signed char)(s)[k] : 0)
	while (i < an || j < bn) {
		int first_diff = 0;

		while ((i < an && !is_digit(a[i])) || (j < bn && !is_digit(b[j]))) {
			int ac = order(AT(a, an, i));
			int bc = order(AT(b, bn, j));

			if (ac != bc)
				return ac - bc;
			i++;
			j++;
		}
		while (i < an && a[i] == '0')
			i++;
		while (j < bn && b[j] == '0')
			j++;
		while (i < an && j < bn && is_digit(a[i]) && is_digit(b[j])) {
			if (first_diff == 0)
				first_diff = (unsigned char)a[i] - (unsigned char)b[j];
			i++;
			j++;
		}
		if (i < an && is_digit(a[i]))
			return 1;
		if (j < bn && is_digit(b[j]))
			return -1;
		if (first_diff != 0)
			return first_diff;
	}
#undef AT
	return 0;
}

int dpkgver_cmp(const struct dpkgver *a, const struct dpkgver *b)
{
	int r;

	if (a->epoch != b->epoch)
		return a->epoch < b->epoch ? -1 : 1;
	r = verrevcmp(a->upstream, a->upstream_len, b->upstream, b->upstream_len);
	if (r != 0)
		return r;
	return verrevcmp(a->revision, a->revision_len, b->revision, b->revision_len);
}

int dpkgver_compare_str(const char *a, const char *b, int *result)
{
	struct dpkgver va, vb;
	int rc, r;

	*result = 0;
	rc = dpkgver_parse(&va, a, strlen(a), NULL);
	if (rc < 0)
		return rc;
	rc = dpkgver_parse(&vb, b, strlen(b), NULL);
	if (rc < 0)
		return rc;
	r = dpkgver_cmp(&va, &vb);
	*result = (r > 0) - (r < 0);
	return 0;
}
