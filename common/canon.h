/*
 * canon.h - the canonical JSON form that evidence snapshots are hashed and
 * signed in (docs/evidence.md, "Canonical form"): keys sorted by bytes, no
 * white space, one way to write each string and number.  The same value
 * always gives the same bytes, and canonical bytes read back with
 * canon_parse() give the same bytes again.
 */
#ifndef POSTURE_CANON_H
#define POSTURE_CANON_H

#include <stddef.h>
#include <jansson.h>

#include "err.h"
#include "strbuf.h"

/* Deepest nesting of arrays and objects that canon_dump() writes. */
#define CANON_MAX_DEPTH 64

/*
 * Append the canonical form of v to b.  PST_E_INVAL, with the JSON path of
 * the value, for what has no canonical form: NaN or infinity, a string
 * holding U+0000, nesting deeper than CANON_MAX_DEPTH.  PST_E_TOOBIG or
 * PST_E_NOMEM when b's limit or memory runs out.
 */
int canon_dump(const json_t *v, struct strbuf *b, struct pst_err *e);

/*
 * Read len bytes of JSON (no NUL needed) into *out: at most max bytes,
 * duplicate keys refused, U+0000 in strings refused.  PST_E_TOOBIG past
 * max; PST_E_PARSE with line and column for anything that is not JSON.
 */
int canon_parse(const char *buf, size_t len, size_t max, json_t **out, struct pst_err *e);

#endif
