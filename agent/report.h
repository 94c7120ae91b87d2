/*
 * report.h - a scan's results in the forms people and programs read:
 * a table for a person, the scan document (DESIGN 5a, "posture.scan/v1")
 * for scripts, and a packed posture.v1.Envelope holding a Report for the
 * collector and for `protoc --decode`.
 */
#ifndef POSTURE_REPORT_H
#define POSTURE_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"

/* The scan document; caller owns the reference. NULL when memory runs out. */
json_t *report_json(const struct scan *s);

/*
 * Write the table for a person: grouped by category, failures first,
 * evidence under each failed or erroneous check.  colour adds ANSI colours.
 */
int report_table(const struct scan *s, FILE *out, bool colour);

/*
 * Pack an Envelope with the scan as a Report (sequence number seq, scan id
 * scan_id) into a new heap buffer (no length prefix).
 */
int report_protobuf(const struct scan *s, uint64_t seq, const char *scan_id,
		    uint8_t **buf, size_t *len);


/* A random (version 4) UUID in text form; buf holds at least 37 bytes. */
int report_new_uuid(char *buf, size_t cap);

#endif
