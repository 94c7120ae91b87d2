/*
 * timestamp.h - strict parsing and printing of the times that backup tools
 * write, as microseconds since the Unix epoch (UTC).
 *
 * Parsers take (ptr, len), never read past len, need no terminator, and
 * refuse anything that is not exactly one timestamp of the form asked for:
 * no leading or trailing text, no out-of-range fields (month 13, 31 April,
 * 29 February outside leap years, hour 24), no missing parts.
 */
#ifndef POSTURE_TIMESTAMP_H
#define POSTURE_TIMESTAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text timestamp_format_utc writes, with its terminator. */
#define TIMESTAMP_TEXT_MAX 32

/*
 * RFC 3339 date-time: "2026-11-24T10:00:00Z", "2026-11-24T11:00:00.123456789+01:00".
 * 'T' and 'Z' may be lower case (RFC 3339 5.6); the fraction may have any
 * number of digits (up to 18; digits beyond microseconds are dropped); the
 * offset is required.  Second 60 (a leap second) is accepted and counted
 * as the first second of the next minute.  Returns true and *us.
 */
bool timestamp_parse_rfc3339(const char *s, size_t len, int64_t *us);

/*
 * ISO 8601 local time as borg 1.x writes it: "2026-11-24T10:00:00.123456",
 * the RFC 3339 form with the offset optional.  A time without an offset is
 * taken to be at assumed_offset_s seconds east of UTC (0: UTC); a time with
 * one uses its own.
 */
bool timestamp_parse_local(const char *s, size_t len, int assumed_offset_s, int64_t *us);

/*
 * A UTC offset "+01:00", "-05:30", "Z" (and "+00:00") into seconds east of
 * UTC.  Hours at most 23, minutes at most 59.
 */
bool timestamp_parse_offset(const char *s, size_t len, int *seconds);

/*
 * RFC 3339 UTC with whole seconds: "2026-11-24T10:00:00Z" into buf (at
 * least TIMESTAMP_TEXT_MAX bytes).  Years outside 0..9999 print as "out of
 * range".  Returns buf.
 */
char *timestamp_format_utc(int64_t us, char *buf);

#endif
