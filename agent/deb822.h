/*
 * deb822.h - reading Debian control-format data (RFC 822 style stanzas):
 * dpkg's status file, apt's Packages lists and Release files.
 *
 * A stanza is a run of "Field: value" lines, continuation lines starting
 * with a space or tab, ended by a blank line or the end of the data.  Lines
 * starting with '#' are comments.  The iterator hands out views into the
 * caller's buffer (no copies); it takes an explicit length and never reads
 * past it.  Anything else (a line without a colon, a continuation with no
 * field before it, an empty field name, too many fields) is an error with
 * the line number, never skipped silently.
 */
#ifndef POSTURE_DEB822_H
#define POSTURE_DEB822_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Most fields in one stanza (Debian's have a few dozen). */
#define DEB822_MAX_FIELDS 256

struct deb822_field {
	const char *name;
	size_t name_len;
	const char *value; /* trimmed first line; continuation lines follow as written */
	size_t value_len;
	unsigned line;     /* of the field's first line, from 1 */
};

struct deb822_stanza {
	struct deb822_field fields[DEB822_MAX_FIELDS];
	size_t n;
	unsigned line;     /* of its first field */
};

struct deb822_iter {
	const char *p, *end;
	unsigned lineno;   /* lines consumed so far */
};

void deb822_init(struct deb822_iter *it, const char *data, size_t len);

/*
 * The next stanza into *st.  Returns 1 for a stanza, 0 at the end, or
 * PST_E_PARSE / PST_E_LIMIT with *why (static text) and *errline set.
 */
int deb822_next(struct deb822_iter *it, struct deb822_stanza *st,
		const char **why, unsigned *errline);

/* The field called name (ASCII case-insensitive, as dpkg reads them), or NULL. */
const struct deb822_field *deb822_get(const struct deb822_stanza *st, const char *name);

/* True when field f's value is exactly s. */
bool deb822_value_is(const struct deb822_field *f, const char *s);

/*
 * The body of an OpenPGP clear-signed message (an InRelease file): the text
 * between the armour headers and "-----BEGIN PGP SIGNATURE-----".  Data
 * that is not clear-signed is returned whole.  The signature is not
 * checked.  *first_line is the line number of the body's first line.
 * PST_E_PARSE when the armour is cut short.
 */
int deb822_clearsigned_body(const char *data, size_t len, const char **body,
			    size_t *body_len, unsigned *first_line);

#endif
