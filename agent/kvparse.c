/*
 * kvparse.c - one line of a key-value configuration file (see kvparse.h).
 *
 * The line is read as (pointer, length) and never written.  A key runs up
 * to white space (KV_WHITESPACE) or up to '=' (KV_EQUALS, where the key may
 * not itself contain white space).  The value is the rest of the line with
 * white space trimmed at both ends; white space inside an unquoted value is
 * kept as written ("a  b").  A value that starts with a quote must end with
 * the matching quote, followed only by white space (or an inline comment
 * where allowed): anything else is malformed rather than guessed at.
 * Inside double quotes a backslash escapes '"', '\\', '$' and '`' as in the
 * shell (files in /etc/default are shell); before any other character it is
 * kept.  Single quotes take everything literally.
 * A NUL byte anywhere in the line is malformed: keys and values become C
 * strings, and a NUL would cut them short without anyone noticing.
 */
#include "kvparse.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * Length of the unquoted value (s, n) once an inline comment is cut off: the
 * first '#' after white space.  A '#' at the very start of the value is the
 * caller's to judge, since only it knows what preceded the value.
 */
static size_t cut_comment(const char *s, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (s[i] == '#' && is_ws(s[i - 1]))
			return i;
	return n;
}

/*
 * Parse the value text (s, n), already trimmed at the front.  Sets *out to a
 * heap string.  Returns 0, PST_E_PARSE or PST_E_NOMEM.
 */
static int parse_value(const char *s, size_t n, bool inline_comments,
		       char **out)
{
	const char *rest;
	size_t i, o, restn;
	char q, *buf;

	*out = NULL;
	if (n == 0 || (s[0] != '"' && s[0] != '\'')) {
		if (inline_comments)
			n = cut_comment(s, n);
		while (n > 0 && is_ws(s[n - 1]))
			n--;
		*out = dup_n(s, n);
		return *out ? 0 : PST_E_NOMEM;
	}

	q = s[0];
	buf = malloc(n);
	if (buf == NULL)
		return PST_E_NOMEM;
	o = 0;
	for (i = 1; i < n; i++) {
		if (s[i] == q)
			break;
		if (q == '"' && s[i] == '\\') {
			if (i + 1 >= n) {
				i = n; /* backslash at the end: unterminated */
				break;
			}
			if (strchr("\"\\$`", s[i + 1]) != NULL)
				i++;
			else
				buf[o++] = s[i++];
		}
		buf[o++] = s[i];
	}
	if (i >= n) {
		free(buf);
		return PST_E_PARSE;
	}
	buf[o] = '\0';

	/* After the closing quote: only white space, or a comment. */
	rest = s + i + 1;
	restn = n - i - 1;
	while (restn > 0 && is_ws(rest[0])) {
		rest++;
		restn--;
	}
	if (restn > 0 && !(inline_comments && rest[0] == '#' &&
			   rest > s + i + 1)) {
		free(buf);
		return PST_E_PARSE;
	}
	*out = buf;
	return 0;
}

int kv_parse_line(const char *line, size_t len, const struct kv_options *opt,
		  struct kv_pair *kv)
{
	const char *s = line, *key, *val;
	size_t n = len, keyn, valn, i;
	int rc;

	kv->key = NULL;
	kv->value = NULL;
	if (len > 0 && memchr(line, '\0', len) != NULL)
		return PST_E_PARSE;
	while (n > 0 && is_ws(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_ws(s[n - 1]))
		n--;
	if (n == 0 || s[0] == '#' || (opt->semicolon_comments && s[0] == ';'))
		return 0;

	key = s;
	if (opt->style == KV_EQUALS) {
		const char *eq = memchr(s, '=', n);

		if (eq == NULL)
			return PST_E_PARSE;
		keyn = (size_t)(eq - s);
		while (keyn > 0 && is_ws(key[keyn - 1]))
			keyn--;
		if (keyn == 0)
			return PST_E_PARSE;
		for (i = 0; i < keyn; i++)
			if (is_ws(key[i]))
				return PST_E_PARSE;
		val = eq + 1;
	} else {
		for (keyn = 0; keyn < n && !is_ws(key[keyn]); keyn++)
			;
		val = key + keyn;
	}
	valn = n - (size_t)(val - s);
	while (valn > 0 && is_ws(val[0])) {
		val++;
		valn--;
	}

	/*
	 * In whitespace style the separator already consumed the white space,
	 * so a value that starts with '#' followed it: an inline comment.  In
	 * equals style "key = #x" has white space before '#' as well, but
	 * "key=#x" does not, and keeps "#x".
	 */
	if (opt->inline_comments && valn > 0 && val[0] == '#' &&
	    val > s + keyn && is_ws(val[-1]))
		valn = 0;

	kv->key = dup_n(key, keyn);
	if (kv->key == NULL)
		return PST_E_NOMEM;
	rc = parse_value(val, valn, opt->inline_comments, &kv->value);
	if (rc < 0) {
		kv_pair_cleanup(kv);
		return rc;
	}
	return 1;
}

void kv_pair_cleanup(struct kv_pair *kv)
{
	if (kv == NULL)
		return;
	free(kv->key);
	free(kv->value);
	kv->key = NULL;
	kv->value = NULL;
}
