/* storeutil.c - helpers of storeutil.h. */
#include "storeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* --- a store in a scratch directory ------------------------------------------ */

int su_store_open(struct su_store *st)
{
	struct pst_err e = {0};

	st->dir = tu_mkdtemp();
	snprintf(st->path, sizeof(st->path), "%s/store.db", st->dir);
	snprintf(st->spec, sizeof(st->spec), "sqlite:%s", st->path);
	if (store_open(st->spec, &st->s, &e) != 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	return 0;
}

void su_store_close(struct su_store *st)
{
	store_close(st->s);
	st->s = NULL;
	if (st->dir != NULL)
		tu_rmrf(st->dir);
	free(st->dir);
	st->dir = NULL;
}

int su_setup(void **state)
{
	struct su_store *st = calloc(1, sizeof(*st));

	if (st == NULL || su_store_open(st) != 0) {
		if (st != NULL)
			su_store_close(st);
		free(st);
		return -1;
	}
	*state = st;
	return 0;
}

int su_teardown(void **state)
{
	struct su_store *st = *state;

	su_store_close(st);
	free(st);
	return 0;
}

/* --- building reports ---------------------------------------------------------- */

char *su_strdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

struct store_report *su_report(const char *agent, uint64_t seq, const char *scan_id,
			       size_t nresults)
{
	struct store_report *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->agent_id = su_strdup(agent);
	r->seq = seq;
	r->scan_id = su_strdup(scan_id);
	r->npolicies = 1;
	r->policies = calloc(1, sizeof(*r->policies));
	assert_non_null(r->policies);
	r->policies[0].id = su_strdup("base");
	r->policies[0].version = su_strdup("1.0.0");
	memset(r->policies[0].sha256, 0xab, 32);
	r->nresults = nresults;
	r->results = calloc(nresults ? nresults : 1, sizeof(*r->results));
	assert_non_null(r->results);
	return r;
}

void su_facts(struct store_report *r, const char *hostname, const char *os_id,
	      const char *os_version, const char *kernel)
{
	r->facts.hostname = su_strdup(hostname);
	r->facts.os_id = su_strdup(os_id);
	r->facts.os_version = su_strdup(os_version);
	r->facts.kernel = su_strdup(kernel);
}

void su_result(struct store_result *res, const char *check_id, const char *title,
	       const char *category, enum store_status status, enum store_severity sev)
{
	res->policy_id = su_strdup("base");
	res->check_id = su_strdup(check_id);
	res->title = su_strdup(title);
	res->category = su_strdup(category);
	res->status = status;
	res->severity = sev;
}

#define SU_MAX_CONTROLS 8

void su_controls(struct store_result *res, const char *spec)
{
	char *copy = su_strdup(spec), *save = NULL, *tok;

	res->controls = calloc(SU_MAX_CONTROLS, sizeof(*res->controls));
	assert_non_null(res->controls);
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		struct store_control *c = NULL;

		assert_non_null(colon);
		*colon = '\0';
		for (size_t i = 0; i < res->ncontrols; i++)
			if (strcmp(res->controls[i].framework, tok) == 0)
				c = &res->controls[i];
		if (c == NULL) {
			assert_true(res->ncontrols < SU_MAX_CONTROLS);
			c = &res->controls[res->ncontrols++];
			c->framework = su_strdup(tok);
			c->ids = calloc(SU_MAX_CONTROLS, sizeof(char *));
			assert_non_null(c->ids);
		}
		assert_true(c->nids < SU_MAX_CONTROLS);
		c->ids[c->nids++] = su_strdup(colon + 1);
	}
	free(copy);
}

void su_evidence(struct store_result *res, const char *subject, const char *observed,
		 const char *expected, const char *location, bool ok)
{
	res->nevidence = 1;
	res->evidence = calloc(1, sizeof(*res->evidence));
	assert_non_null(res->evidence);
	res->evidence[0].subject = su_strdup(subject);
	res->evidence[0].observed = su_strdup(observed);
	res->evidence[0].expected = su_strdup(expected);
	res->evidence[0].location = location != NULL ? su_strdup(location) : NULL;
	res->evidence[0].ok = ok;
}

struct store_report *su_checks_report(const char *agent, uint64_t seq,
				      const enum store_status *st,
				      const enum store_severity *sev, size_t n)
{
	struct store_report *r = su_report(agent, seq, "0d7e9c1a-1111-4222-8333-444455556666", n);

	r->started_us = T0 + (int64_t)seq * 1000000;
	r->finished_us = r->started_us + 500;
	r->received_us = r->finished_us + 1000;
	su_facts(r, "web-1", "debian", "12", "6.1.0-18-amd64");
	for (size_t i = 0; i < n; i++) {
		struct store_result *res = &r->results[i];
		char id[24];

		snprintf(id, sizeof(id), "c%zu", i + 1);
		su_result(res, id, "A check", "access_control", st[i],
			  sev != NULL ? sev[i] : STORE_SEV_HIGH);
		su_evidence(res, "/etc/ssh/sshd_config", st[i] == STORE_PASS ? "no" : "yes", "no",
			    NULL, st[i] == STORE_PASS);
	}
	return r;
}

/* --- reading the file directly ------------------------------------------------- */

void su_sql_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

long long su_sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

long long su_raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	long long v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	v = su_sql_int(db, sql);
	sqlite3_close(db);
	return v;
}

#define SU_MAX_FILE (1 << 20)

char *su_file_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *s;
	size_t n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	s = calloc(1, SU_MAX_FILE);
	assert_non_null(s);
	n = fread(s, 1, SU_MAX_FILE - 1, fp);
	assert_false(ferror(fp));
	s[n] = '\0';
	fclose(fp);
	return s;
}

/* --- alerts ---------------------------------------------------------------------- */

void su_free_alerts(struct store_alert *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_alert_cleanup(&a[i]);
	free(a);
}
