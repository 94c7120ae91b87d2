/*
 * test_prom.c - the Prometheus exposition writer: HELP and TYPE once per
 * family, samples grouped by family whatever the order they came in,
 * escaping of label values and help, refusal of bad names, of undeclared
 * families, of counters without _total and of duplicate series.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "testutil.h"

static char *render(struct prom *p)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(prom_render(p, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

static void test_families_grouped(void **state)
{
	const char *const a[1][2] = {{"severity", "high"}}, *const b[1][2] = {{"severity", "low"}};
	struct prom *p;
	char *out;

	(void)state;
	assert_int_equal(prom_new(&p), 0);
	assert_int_equal(prom_family(p, "posture_open", PROM_GAUGE, "Open ones."), 0);
	assert_int_equal(prom_family(p, "posture_seen_total", PROM_COUNTER, "Seen."), 0);
	assert_int_equal(prom_sample(p, "posture_open", a, 1, 3), 0);
	assert_int_equal(prom_sample(p, "posture_seen_total", NULL, 0, 7), 0);
	assert_int_equal(prom_sample(p, "posture_open", b, 1, 0.5), 0);
	out = render(p);
	assert_string_equal(out, "# HELP posture_open Open ones.\n"
				 "# TYPE posture_open gauge\n"
				 "posture_open{severity=\"high\"} 3\n"
				 "posture_open{severity=\"low\"} 0.5\n"
				 "# HELP posture_seen_total Seen.\n"
				 "# TYPE posture_seen_total counter\n"
				 "posture_seen_total 7\n");
	free(out);
	prom_free(p);
}

static void test_escaping(void **state)
{
	const char *const l[2][2] = {{"host", "a\"b\\c\nd"}, {"x", ""}};
	struct prom *p;
	char *out;

	(void)state;
	assert_int_equal(prom_new(&p), 0);
	assert_int_equal(prom_family(p, "m", PROM_GAUGE, "back\\slash \"quoted\"\nnext"), 0);
	assert_int_equal(prom_sample(p, "m", l, 2, NAN), 0);
	out = render(p);
	assert_string_equal(out, "# HELP m back\\\\slash \"quoted\"\\nnext\n"
				 "# TYPE m gauge\n"
				 "m{host=\"a\\\"b\\\\c\\nd\",x=\"\"} NaN\n");
	free(out);
	prom_free(p);
}

static void test_refusals(void **state)
{
	const char *const l[1][2] = {{"host", "a"}}, *const dup[2][2] = {{"a", "1"}, {"a", "2"}};
	const char *const bad[1][2] = {{"__name__", "x"}}, *const bad2[1][2] = {{"1x", "x"}};
	struct prom *p;

	(void)state;
	assert_int_equal(prom_new(&p), 0);
	assert_int_equal(prom_family(p, "9bad", PROM_GAUGE, ""), PST_E_INVAL);
	assert_int_equal(prom_family(p, "bad-name", PROM_GAUGE, ""), PST_E_INVAL);
	assert_int_equal(prom_family(p, "requests", PROM_COUNTER, ""), PST_E_INVAL);
	assert_int_equal(prom_sample(p, "undeclared", NULL, 0, 1), PST_E_INVAL);
	assert_int_equal(prom_family(p, "ok:name_1", PROM_GAUGE, ""), 0);
	assert_int_equal(prom_family(p, "ok:name_1", PROM_GAUGE, "again"), 0);
	assert_int_equal(prom_family(p, "ok:name_1", PROM_COUNTER, ""), PST_E_INVAL);
	assert_int_equal(prom_sample(p, "ok:name_1", l, 1, 1), 0);
	assert_int_equal(prom_sample(p, "ok:name_1", l, 1, 2), PST_E_INVAL);
	assert_int_equal(prom_sample(p, "ok:name_1", dup, 2, 1), PST_E_INVAL);
	assert_int_equal(prom_sample(p, "ok:name_1", bad, 1, 1), PST_E_INVAL);
	assert_int_equal(prom_sample(p, "ok:name_1", bad2, 1, 1), PST_E_INVAL);
	prom_free(p);
}

/* Many series (one per host in a fleet) stay distinct and are found fast. */
static void test_many_series(void **state)
{
	struct prom *p;
	char host[32], *out;
	const char *l[1][2] = {{"host", host}};

	(void)state;
	assert_int_equal(prom_new(&p), 0);
	assert_int_equal(prom_family(p, "posture_host_score", PROM_GAUGE, "Score."), 0);
	for (int i = 0; i < 20000; i++) {
		snprintf(host, sizeof(host), "host-%05d", i);
		assert_int_equal(prom_sample(p, "posture_host_score", (const char *const(*)[2])l, 1,
					     i % 101), 0);
	}
	snprintf(host, sizeof(host), "host-%05d", 12345);
	assert_int_equal(prom_sample(p, "posture_host_score", (const char *const(*)[2])l, 1, 0),
			 PST_E_INVAL);
	out = render(p);
	assert_non_null(strstr(out, "posture_host_score{host=\"host-12345\"} 23\n"));
	free(out);
	prom_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families_grouped),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_many_series),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
