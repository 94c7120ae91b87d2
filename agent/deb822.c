/* deb822.c - control-format stanzas of deb822.h. */
#include "deb822.h"

#include <string.h>

void deb822_init(struct deb822_iter *it, const char *data, size_t len)
{
	it->p = data;
	it->end = data + len;
	it->lineno = 0;
}

/* The next line as (s, n) without "\n" or a trailing "\r"; false at the end. */
static bool next_line(struct deb822_iter *it, const char **s, size_t *n)
{
	const char *nl;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	*s = it->p;
	*n = (size_t)((nl ? nl : it->end) - it->p);
	it->p = nl ? nl + 1 : it->end;
	if (*n > 0 && (*s)[*n - 1] == '\r')
		(*n)--;
	it->lineno++;
	return true;
}

static bool blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static int bad(const struct deb822_iter *it, const char *text, const char **why,
	       unsigned *errline, int code)
{
	*why = text;
	*errline = it->lineno;
	return code;
}

int deb822_next(struct deb822_iter *it, struct deb822_stanza *st,
		const char **why, unsigned *errline)
{
	const char *s, *colon;
	size_t n;

	st->n = 0;
	st->line = 0;
	*why = NULL;
	*errline = 0;
	for (;;) {
		if (!next_line(it, &s, &n))
			break;
		if (n > 0 && s[0] == '#')
			continue;
		if (blank(s, n)) {
			if (st->n > 0)
				break;
			continue;
		}
		if (s[0] == ' ' || s[0] == '\t') {
			struct deb822_field *f;

			if (st->n == 0)
				return bad(it, "continuation line without a field", why, errline,
					   PST_E_PARSE);
			/* The value now runs to the end of this line. */
			f = &st->fields[st->n - 1];
			if (f->value_len == 0)
				f->value = s;
			f->value_len = (size_t)(s + n - f->value);
			continue;
		}
		colon = memchr(s, ':', n);
		if (colon == NULL)
			return bad(it, "line is neither \"Field: value\" nor a continuation",
				   why, errline, PST_E_PARSE);
		if (colon == s)
			return bad(it, "empty field name", why, errline, PST_E_PARSE);
		if (st->n == DEB822_MAX_FIELDS)
			return bad(it, "too many fields in one stanza", why, errline, PST_E_LIMIT);
		{
			struct deb822_field *f = &st->fields[st->n++];
			const char *v = colon + 1;
			size_t vn = (size_t)(s + n - v);

			f->name = s;
			f->name_len = (size_t)(colon - s);
			trim(&f->name, &f->name_len);
			if (f->name_len == 0)
				return bad(it, "empty field name", why, errline, PST_E_PARSE);
			trim(&v, &vn);
			f->value = v;
			f->value_len = vn;
			f->line = it->lineno;
			if (st->line == 0)
				st->line = it->lineno;
		}
	}
	return st->n > 0 ? 1 : 0;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

const struct deb822_field *deb822_get(const struct deb822_stanza *st, const char *name)
{
	size_t i, k, len = strlen(name);

	for (i = 0; i < st->n; i++) {
		const struct deb822_field *f = &st->fields[i];

		if (f->name_len != len)
			continue;
		for (k = 0; k < len; k++)
			if (lower((unsigned char)f->name[k]) != lower((unsigned char)name[k]))
				break;
		if (k == len)
			return f;
	}
	return NULL;
}

bool deb822_value_is(const struct deb822_field *f, const char *s)
{
	size_t n = strlen(s);

	return f != NULL && f->value_len == n && memcmp(f->value, s, n) == 0;
}

static bool starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(s, prefix, k) == 0;
}

int deb822_clearsigned_body(const char *data, size_t len, const char **body,
			    size_t *body_len, unsigned *first_line)
{
	struct deb822_iter it;
	const char *s, *start;
	size_t n;

	*body = data;
	*body_len = len;
	*first_line = 1;
	deb822_init(&it, data, len);
	if (!next_line(&it, &s, &n) || !starts(s, n, "-----BEGIN PGP SIGNED MESSAGE-----"))
		return 0;
	/* Armour headers ("Hash: SHA512") up to the first blank line. */
	for (;;) {
		if (!next_line(&it, &s, &n))
			return PST_E_PARSE;
		if (n == 0)
			break;
	}
	start = it.p;
	*first_line = it.lineno + 1;
	for (;;) {
		const char *line_start = it.p;

		if (!next_line(&it, &s, &n))
			return PST_E_PARSE;
		if (starts(s, n, "-----BEGIN PGP SIGNATURE-----")) {
			*body = start;
			*body_len = (size_t)(line_start - start);
			return 0;
		}
	}
}
