/* lines.c - the line iterator of lines.h. */
#include "lines.h"

#include <string.h>

void lines_init(struct line_iter *it, const char *data, size_t len)
{
	it->p = data;
	it->end = data + len;
	it->lineno = 0;
}

bool lines_next(struct line_iter *it, const char **line, size_t *len)
{
	const char *nl;
	size_t n;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	n = nl ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
	*line = it->p;
	*len = n;
	if (n > 0 && it->p[n - 1] == '\r')
		(*len)--;
	it->p += n + (nl ? 1 : 0);
	it->lineno++;
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

void lines_trim(const char **s, size_t *n)
{
	while (*n > 0 && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_space((*s)[*n - 1]))
		(*n)--;
}

bool lines_is_blank_or_comment(const char *s, size_t n, char comment_char)
{
	lines_trim(&s, &n);
	return n == 0 || s[0] == comment_char;
}
