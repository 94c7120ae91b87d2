/* stats.c - counters and latency percentiles of posture-loadgen. */
#include <stdlib.h>

#include "loadgen.h"

void lg_lat_add(struct lg_lat *l, double seconds)
{
	double us = seconds * 1e6;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4096;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = us < 0 ? 0 : us > 4e9 ? 4000000000u : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t lg_lat_pct(struct lg_lat *l, double pct)
{
	size_t i;

	if (l->n == 0)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), cmp_u32);
	i = (size_t)(pct / 100.0 * (double)(l->n - 1) + 0.5);
	return l->v[i >= l->n ? l->n - 1 : i];
}

void lg_stats_err(struct lg *lg, enum lg_err kind)
{
	lg->cur->err[kind]++;
}

const char *lg_err_name(enum lg_err kind)
{
	static const char *const names[LG_E_COUNT] = {
		"connect", "tls_handshake", "closed_by_collector", "bad_frame_from_collector",
		"write", "error_from_collector", "ack_timeout",
	};
	return names[kind];
}
