/*
 * value.h - the values that probes observe and rules compare.
 *
 * A probe reports what it found as a list of observations; each carries one
 * value.  A value is absent (the key is not set, the file does not exist), a
 * string, an integer, a boolean or a file mode.  Rules compare values with
 * the operators of policy.h; strings that read as integers compare as numbers
 * where an operator needs an order.
 */
#ifndef POSTURE_VALUE_H
#define POSTURE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum value_kind {
	VALUE_ABSENT = 0,
	VALUE_STRING,
	VALUE_INT,
	VALUE_BOOL,
	VALUE_MODE, /* permission bits, printed in octal ("0640") */
};

struct value {
	enum value_kind kind;
	int64_t i;  /* INT, BOOL (0/1), MODE */
	char *s;    /* STRING: owned heap string */
};

static inline struct value value_absent(void)
{
	struct value v = {VALUE_ABSENT, 0, NULL};
	return v;
}
static inline struct value value_int(int64_t i)
{
	struct value v = {VALUE_INT, i, NULL};
	return v;
}
static inline struct value value_bool(bool b)
{
	struct value v = {VALUE_BOOL, b ? 1 : 0, NULL};
	return v;
}
static inline struct value value_mode(unsigned m)
{
	struct value v = {VALUE_MODE, (int64_t)(m & 07777), NULL};
	return v;
}
/* A string value holding a copy of s (n bytes). kind is ABSENT when out of memory. */
struct value value_strn(const char *s, size_t n);
struct value value_str(const char *s);
/* A string value taking ownership of heap string s. */
struct value value_take_str(char *s);

void value_cleanup(struct value *v);
int value_copy(struct value *dst, const struct value *src);

/* Text form for evidence: strings as they are, modes as "0640", absent as "(not set)". Heap. */
char *value_format(const struct value *v);

/* Parse a decimal integer (optional sign) covering the whole string. */
bool value_parse_int(const char *s, int64_t *out);
/* Parse an octal mode "0640" / "640" (at most 4 digits). */
bool value_parse_mode(const char *s, unsigned *out);

#endif
