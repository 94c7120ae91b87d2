/* value.c - constructors, copies and text forms of value.h. */
#include "value.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct value value_strn(const char *s, size_t n)
{
	struct value v = {VALUE_ABSENT, 0, NULL};
	char *p = malloc(n + 1);

	if (p == NULL)
		return v;
	memcpy(p, s, n);
	p[n] = '\0';
	v.kind = VALUE_STRING;
	v.s = p;
	return v;
}

struct value value_str(const char *s)
{
	return value_strn(s, strlen(s));
}

struct value value_take_str(char *s)
{
	struct value v = {VALUE_ABSENT, 0, NULL};

	if (s != NULL) {
		v.kind = VALUE_STRING;
		v.s = s;
	}
	return v;
}

void value_cleanup(struct value *v)
{
	free(v->s);
	v->s = NULL;
	v->kind = VALUE_ABSENT;
	v->i = 0;
}

int value_copy(struct value *dst, const struct value *src)
{
	*dst = *src;
	if (src->kind == VALUE_STRING) {
		dst->s = strdup(src->s);
		if (dst->s == NULL) {
			dst->kind = VALUE_ABSENT;
			return -1;
		}
	}
	return 0;
}

char *value_format(const struct value *v)
{
	char buf[32];

	switch (v->kind) {
	case VALUE_STRING:
		return strdup(v->s);
	case VALUE_INT:
		snprintf(buf, sizeof(buf), "%lld", (long long)v->i);
		return strdup(buf);
	case VALUE_BOOL:
		return strdup(v->i ? "true" : "false");
	case VALUE_MODE:
		snprintf(buf, sizeof(buf), "%04llo", (unsigned long long)v->i);
		return strdup(buf);
	case VALUE_ABSENT:
		break;
	}
	return strdup("(not set)");
}

bool value_parse_int(const char *s, int64_t *out)
{
	char *end;
	long long n;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s)
		return false;
	/* strtoll accepts leading white space; a value " 5" is not an integer. */
	if (s[0] == ' ' || s[0] == '\t')
		return false;
	*out = n;
	return true;
}

bool value_parse_mode(const char *s, unsigned *out)
{
	unsigned m = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 4)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return false;
		m = m * 8 + (unsigned)(s[i] - '0');
	}
	*out = m;
	return true;
}
