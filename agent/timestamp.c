/*
 * timestamp.c - RFC 3339 / ISO 8601 parsing and UTC printing (timestamp.h).
 *
 * Calendar arithmetic is done by hand (days from the civil date, proleptic
 * Gregorian) rather than with mktime/timegm: it must not depend on the
 * scanning host's time zone, and every field is range-checked first.
 */
#include "timestamp.h"

#include <stdio.h>
#include <time.h>

/* Read exactly n decimal digits at s[*i]; false when fewer are there. */
static bool digits(const char *s, size_t len, size_t *i, size_t n, int *out)
{
	int v = 0;
	size_t k;

	if (len - *i < n)
		return false;
	for (k = 0; k < n; k++) {
		char c = s[*i + k];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*i += n;
	*out = v;
	return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c)
{
	if (*i >= len || s[*i] != c)
		return false;
	(*i)++;
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days from 1970-01-01 to y-m-d (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool timestamp_parse_offset(const char *s, size_t len, int *seconds)
{
	size_t i = 0;
	int h, m, sign;

	if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*seconds = 0;
		return true;
	}
	if (len != 6 || (s[0] != '+' && s[0] != '-'))
		return false;
	sign = s[0] == '-' ? -1 : 1;
	i = 1;
	if (!digits(s, len, &i, 2, &h) || !expect(s, len, &i, ':') ||
	    !digits(s, len, &i, 2, &m) || h > 23 || m > 59)
		return false;
	*seconds = sign * (h * 3600 + m * 60);
	return true;
}

/* The shared grammar; offset_required selects RFC 3339 or the local form. */
static bool parse(const char *s, size_t len, bool offset_required, int assumed, int64_t *us)
{
	size_t i = 0;
	int y, mo, d, h, mi, sec, off = assumed;
	int64_t frac = 0, t;
	int nfrac = 0;

	if (s == NULL)
		return false;
	if (!digits(s, len, &i, 4, &y) || !expect(s, len, &i, '-') ||
	    !digits(s, len, &i, 2, &mo) || !expect(s, len, &i, '-') ||
	    !digits(s, len, &i, 2, &d))
		return false;
	if (i >= len || (s[i] != 'T' && s[i] != 't'))
		return false;
	i++;
	if (!digits(s, len, &i, 2, &h) || !expect(s, len, &i, ':') ||
	    !digits(s, len, &i, 2, &mi) || !expect(s, len, &i, ':') ||
	    !digits(s, len, &i, 2, &sec))
		return false;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (++nfrac > 18)
				return false;
			if (nfrac <= 6)
				frac = frac * 10 + (s[i] - '0');
			i++;
		}
		if (nfrac == 0)
			return false;
		for (; nfrac < 6; nfrac++)
			frac *= 10;
	}
	if (i < len) {
		if (!timestamp_parse_offset(s + i, len - i, &off))
			return false;
	} else if (offset_required) {
		return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || sec > 60)
		return false;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	*us = t * 1000000 + frac;
	return true;
}

bool timestamp_parse_rfc3339(const char *s, size_t len, int64_t *us)
{
	return parse(s, len, true, 0, us);
}

bool timestamp_parse_local(const char *s, size_t len, int assumed_offset_s, int64_t *us)
{
	return parse(s, len, false, assumed_offset_s, us);
}

char *timestamp_format_utc(int64_t us, char *buf)
{
	/* Floor division: a time before the epoch with a fraction rounds down. */
	int64_t secs = us / 1000000 - (us % 1000000 < 0);
	time_t t = (time_t)secs;
	struct tm tm;

	if (secs < -62167219200LL || secs > 253402300799LL || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, TIMESTAMP_TEXT_MAX, "out of range");
		return buf;
	}
	/* The ranges are known (checked above, and gmtime's); the modulos tell the compiler. */
	snprintf(buf, TIMESTAMP_TEXT_MAX, "%04u-%02u-%02uT%02u:%02u:%02uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
	return buf;
}
