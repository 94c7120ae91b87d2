/* timefmt.c - see timefmt.h. */
#include "timefmt.h"

#include <stdio.h>
#include <time.h>

#include "err.h"

int64_t timefmt_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void timefmt_rfc3339(int64_t us, char *buf, size_t cap)
{
	time_t secs = (time_t)(us / 1000000);
	int ms = (int)((us % 1000000) / 1000);
	struct tm tm;
	char base[40];

	if (us < 0 || gmtime_r(&secs, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, cap, "?");
		return;
	}
	if (ms != 0)
		snprintf(buf, cap, "%s.%03dZ", base, ms);
	else
		snprintf(buf, cap, "%sZ", base);
}

int timefmt_day(int64_t us, char *buf, size_t cap)
{
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;

	if (us < 0 || gmtime_r(&secs, &tm) == NULL || strftime(buf, cap, "%Y-%m-%d", &tm) == 0) {
		snprintf(buf, cap, "0000-00-00");
		return PST_E_INVAL;
	}
	return 0;
}
