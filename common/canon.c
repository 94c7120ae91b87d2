/*
 * canon.c - canonical JSON (canon.h, docs/evidence.md).
 *
 * jansson parses; the writing is ours, so that the bytes depend on this
 * file alone and not on a jansson version's choice of escapes or number
 * formats.
 */
#include "canon.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON path for messages: "$.hosts[3].results[0].evidence". */
struct path {
	const struct path *up;
	const char *key; /* NULL: an array element */
	size_t index;
};

static void path_format(const struct path *p, char *buf, size_t cap)
{
	const struct path *chain[CANON_MAX_DEPTH + 2];
	size_t n = 0, len;

	for (; p != NULL && n < sizeof(chain) / sizeof(chain[0]); p = p->up)
		chain[n++] = p;
	len = (size_t)snprintf(buf, cap, "$");
	while (n-- > 0 && len < cap) {
		if (chain[n]->key != NULL)
			len += (size_t)snprintf(buf + len, cap - len, ".%s", chain[n]->key);
		else
			len += (size_t)snprintf(buf + len, cap - len, "[%zu]", chain[n]->index);
	}
}

static int fail(struct pst_err *e, const struct path *p, const char *what)
{
	char where[256];

	path_format(p, where, sizeof(where));
	return pst_err_set(e, PST_E_INVAL, "canonical JSON: %s at %s; such a value cannot be "
			   "hashed or signed, so it must not be in the document", what, where);
}

static int buf_fail(int rc, struct pst_err *e, const struct strbuf *b)
{
	if (rc == PST_E_TOOBIG)
		return pst_err_set(e, rc, "canonical JSON: the document exceeds %zu bytes", b->max);
	return pst_err_set(e, rc, "canonical JSON: out of memory");
}

static int dump_string(const char *s, size_t n, struct strbuf *b)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	int rc;

	if ((rc = strbuf_appendc(b, '"')) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		if ((rc = strbuf_append(b, s + run, i - run)) != 0)
			return rc;
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\t': esc[1] = 't'; break;
		case '\n': esc[1] = 'n'; break;
		case '\f': esc[1] = 'f'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		if ((rc = strbuf_append(b, esc, elen)) != 0)
			return rc;
	}
	if ((rc = strbuf_append(b, s + run, n - run)) != 0)
		return rc;
	return strbuf_appendc(b, '"');
}

/* Shortest %.Ng that reads back as d; whole numbers below 2^53 as integers. */
static int dump_real(double d, struct strbuf *b)
{
	char text[40];
	int prec;

	if (d == 0)
		return strbuf_appendc(b, '0'); /* also -0.0 */
	if (fabs(d) < 9007199254740992.0 && d == trunc(d))
		return strbuf_appendf(b, "%lld", (long long)d);
	for (prec = 1; prec <= 17; prec++) {
		snprintf(text, sizeof(text), "%.*g", prec, d);
		if (strtod(text, NULL) == d)
			break;
	}
	return strbuf_appends(b, text);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dump(const json_t *v, struct strbuf *b, const struct path *p, int depth,
		struct pst_err *e);

static int dump_object(const json_t *v, struct strbuf *b, const struct path *p, int depth,
		       struct pst_err *e)
{
	size_t n = json_object_size(v), i = 0;
	const char **keys;
	const char *key;
	json_t *member;
	int rc = 0;

	if (n == 0)
		return strbuf_append(b, "{}", 2) == 0 ? 0 : buf_fail(PST_E_TOOBIG, e, b);
	if ((keys = malloc(n * sizeof(*keys))) == NULL)
		return buf_fail(PST_E_NOMEM, e, b);
	json_object_foreach((json_t *)v, key, member)
		keys[i++] = key;
	/* Byte order: strcmp compares as unsigned char, which is UTF-8 byte order. */
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (i = 0; i < n && rc == 0; i++) {
		struct path here = {p, keys[i], 0};

		if ((rc = strbuf_appendc(b, i == 0 ? '{' : ',')) != 0 ||
		    (rc = dump_string(keys[i], strlen(keys[i]), b)) != 0 ||
		    (rc = strbuf_appendc(b, ':')) != 0) {
			rc = buf_fail(rc, e, b);
			break;
		}
		rc = dump(json_object_get(v, keys[i]), b, &here, depth + 1, e);
	}
	free(keys);
	if (rc == 0 && (rc = strbuf_appendc(b, '}')) != 0)
		rc = buf_fail(rc, e, b);
	return rc;
}

static int dump(const json_t *v, struct strbuf *b, const struct path *p, int depth,
		struct pst_err *e)
{
	size_t i;
	int rc;

	if (depth > CANON_MAX_DEPTH)
		return fail(e, p, "nesting deeper than 64 levels");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return dump_object(v, b, p, depth, e);
	case JSON_ARRAY:
		if ((rc = strbuf_appendc(b, '[')) != 0)
			return buf_fail(rc, e, b);
		for (i = 0; i < json_array_size(v); i++) {
			struct path here = {p, NULL, i};

			if (i > 0 && (rc = strbuf_appendc(b, ',')) != 0)
				return buf_fail(rc, e, b);
			if ((rc = dump(json_array_get(v, i), b, &here, depth + 1, e)) != 0)
				return rc;
		}
		rc = strbuf_appendc(b, ']');
		break;
	case JSON_STRING:
		if (memchr(json_string_value(v), 0, json_string_length(v)) != NULL)
			return fail(e, p, "a string holding U+0000");
		rc = dump_string(json_string_value(v), json_string_length(v), b);
		break;
	case JSON_INTEGER:
		rc = strbuf_appendf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		if (!isfinite(json_real_value(v)))
			return fail(e, p, "a number that is NaN or infinite");
		rc = dump_real(json_real_value(v), b);
		break;
	case JSON_TRUE:
		rc = strbuf_append(b, "true", 4);
		break;
	case JSON_FALSE:
		rc = strbuf_append(b, "false", 5);
		break;
	case JSON_NULL:
		rc = strbuf_append(b, "null", 4);
		break;
	default:
		return fail(e, p, "a value of unknown type");
	}
	return rc == 0 ? 0 : buf_fail(rc, e, b);
}

int canon_dump(const json_t *v, struct strbuf *b, struct pst_err *e)
{
	size_t start = b->len;
	int rc;

	if (v == NULL)
		return pst_err_set(e, PST_E_INVAL, "canonical JSON: no value given");
	rc = dump(v, b, NULL, 0, e);
	if (rc != 0 && b->data != NULL) { /* leave b as it was */
		b->len = start;
		b->data[start] = '\0';
	}
	return rc;
}

int canon_parse(const char *buf, size_t len, size_t max, json_t **out, struct pst_err *e)
{
	json_error_t je;

	*out = NULL;
	if (len > max)
		return pst_err_set(e, PST_E_TOOBIG,
				   "JSON document of %zu bytes exceeds the limit of %zu bytes", len,
				   max);
	/* Without JSON_ALLOW_NUL, jansson refuses "\u0000" in strings. */
	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (*out == NULL)
		return pst_err_set(e, PST_E_PARSE, "not valid JSON at line %d, column %d: %s",
				   je.line, je.column, je.text);
	return 0;
}
