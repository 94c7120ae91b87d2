/*
 * prom.h - the Prometheus text exposition format (version 0.0.4), written
 * by the rules of the format rather than by printf at each call site:
 * every family gets one HELP and one TYPE line before its samples, samples
 * of a family stay together whatever order they are added in, label
 * values and help texts are escaped, names are checked, and a series added
 * twice (same name and labels) is refused instead of written twice.
 */
#ifndef POSTURE_PROM_H
#define POSTURE_PROM_H

#include <stddef.h>

#include "err.h"

enum prom_type { PROM_GAUGE, PROM_COUNTER };

struct prom;

int prom_new(struct prom **out);
void prom_free(struct prom *p);

/*
 * Declare a family before its samples.  Declaring a name again with the
 * same type is allowed (its help is kept); with another type it is
 * PST_E_INVAL.  Names must match [a-zA-Z_:][a-zA-Z0-9_:]*.
 */
int prom_family(struct prom *p, const char *name, enum prom_type type, const char *help);

/*
 * Add a sample of a declared family.  labels holds nlabels (name, value)
 * pairs; label names must match [a-zA-Z_][a-zA-Z0-9_]* and not start with
 * "__".  PST_E_INVAL for an undeclared family, a bad name or a duplicate
 * series.  Counters named without "_total" are refused.
 */
int prom_sample(struct prom *p, const char *name, const char *const (*labels)[2],
		size_t nlabels, double value);

/* The exposition text (malloc'd, NUL-terminated) in family order of declaration. */
int prom_render(struct prom *p, char **out, size_t *len);

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
