/*
 * timefmt.h - times as posture writes them: RFC 3339 in UTC with a Z
 * ("2026-11-25T12:00:00Z", milliseconds shown when not zero), and UTC
 * days ("2026-11-25").  One writer, so that the scan document, the store's
 * API documents and `show` agree to the character; and the one reader of
 * the wall clock those times come from.
 */
#ifndef POSTURE_TIMEFMT_H
#define POSTURE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_SIZE 32

/* Microseconds since the epoch, from the wall clock (CLOCK_REALTIME). */
int64_t timefmt_now_us(void);

/* us since the epoch as RFC 3339 UTC; "?" when it cannot be represented. */
void timefmt_rfc3339(int64_t us, char *buf, size_t cap);

/* The UTC day of us ("2026-11-25"); 0 or PST_E_INVAL when out of range. */
int timefmt_day(int64_t us, char *buf, size_t cap);

#endif
