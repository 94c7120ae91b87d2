/*
 * show.c - `posture-collector show`: every host in the store with its
 * score and counts, and the checks that fail or cannot be evaluated, as
 * a table for a person or as one JSON document (show.h).  Reads through
 * store.h only, so it works on any backend.
 */
#include "show.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "timefmt.h"

struct problem {
	char *policy, *check, *title, *category;
	enum store_status status;
	enum store_severity severity;
	int64_t since_us;
	uint64_t seq;
	json_t *evidence; /* array, never NULL */
};

struct problems {
	struct problem *v;
	size_t n, cap;
};

struct show_ctx {
	struct store *st;
	FILE *out;
	json_t *hosts; /* json mode */
	struct pst_err *e;
};

static json_t *json_time(int64_t us)
{
	char buf[48];

	if (us == 0)
		return json_null();
	timefmt_rfc3339(us, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *json_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static char *dup_or_null(const char *s, bool *nomem)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*nomem = true;
	return d;
}

static void problems_cleanup(struct problems *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].policy);
		free(ps->v[i].check);
		free(ps->v[i].title);
		free(ps->v[i].category);
		json_decref(ps->v[i].evidence);
	}
	free(ps->v);
}

static int on_result(void *arg, const struct store_result_row *r)
{
	struct problems *ps = arg;
	struct problem *p;
	bool nomem = false;

	if (r->status != STORE_FAIL && r->status != STORE_ERROR)
		return 0;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		struct problem *v = realloc(ps->v, cap * sizeof(*v));

		if (v == NULL)
			return PST_E_NOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	p = &ps->v[ps->n];
	*p = (struct problem){
		.policy = dup_or_null(r->policy_id, &nomem),
		.check = dup_or_null(r->check_id, &nomem),
		.title = dup_or_null(r->title, &nomem),
		.category = dup_or_null(r->category, &nomem),
		.status = r->status,
		.severity = r->severity,
		.since_us = r->changed_us,
		.seq = r->seq,
	};
	/* The store wrote this JSON; anything else is shown as no evidence. */
	if (r->evidence_json != NULL)
		p->evidence = json_loads(r->evidence_json, 0, NULL);
	if (p->evidence == NULL || !json_is_array(p->evidence)) {
		json_decref(p->evidence);
		p->evidence = json_array();
	}
	ps->n++;
	return nomem || p->evidence == NULL ? PST_E_NOMEM : 0;
}

/* Failures before errors, then the most severe first, then by id. */
static int problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;
	int c;

	if (x->status != y->status)
		return x->status == STORE_FAIL ? -1 : 1;
	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	c = strcmp(x->policy ? x->policy : "", y->policy ? y->policy : "");
	return c != 0 ? c : strcmp(x->check ? x->check : "", y->check ? y->check : "");
}

static const char *or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/*
 * A field of the evidence item that says what is wrong: the first one that
 * disagrees with its rule (a failed check carries its passing items too),
 * else the first; NULL when there is none.
 */
static const char *first_ev(const struct problem *p, const char *key)
{
	json_t *item;
	size_t i;

	json_array_foreach(p->evidence, i, item)
		if (json_is_false(json_object_get(item, "ok")))
			return json_string_value(json_object_get(item, key));
	return json_string_value(json_object_get(json_array_get(p->evidence, 0), key));
}

static void print_host(FILE *out, const struct store_host_row *h, const struct problems *ps)
{
	char last[48];

	fprintf(out, "\n%s  %s  %s %s  kernel %s\n", h->agent_id, or_dash(h->hostname),
		or_dash(h->os_id), h->os_version ? h->os_version : "", or_dash(h->kernel));
	if (h->last_report_us != 0)
		timefmt_rfc3339(h->last_report_us, last, sizeof(last));
	else
		snprintf(last, sizeof(last), "never");
	fprintf(out, "  last report %s (seq %llu)  ", last, (unsigned long long)h->last_seq);
	if (h->has_score)
		fprintf(out, "score %.1f", round(h->score * 10.0) / 10.0);
	else
		fprintf(out, "score -");
	fprintf(out, "  pass %zu  fail %zu  error %zu  n/a %zu\n", h->pass, h->fail, h->error,
		h->not_applicable);
	for (size_t i = 0; i < ps->n; i++) {
		const struct problem *p = &ps->v[i];
		const char *obs = first_ev(p, "observed"), *exp = first_ev(p, "expected");

		fprintf(out, "  %-8s  %-5s  %s  %s\n", store_severity_name(p->severity),
			store_status_name(p->status), or_dash(p->check), or_dash(p->title));
		if (obs != NULL || exp != NULL)
			fprintf(out, "                   observed: %s; expected: %s\n",
				obs ? obs : "-", exp ? exp : "-");
	}
}

static json_t *host_json(const struct store_host_row *h, const struct problems *ps)
{
	json_t *o, *sum, *list;

	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "agent_id", h->agent_id,
		      "hostname", json_str(h->hostname), "os_id", json_str(h->os_id),
		      "os_version", json_str(h->os_version), "kernel", json_str(h->kernel),
		      "first_seen", json_time(h->first_seen_us), "last_seen",
		      json_time(h->last_seen_us), "last_report", json_time(h->last_report_us),
		      "last_seq", (json_int_t)h->last_seq);
	sum = json_pack("{s:I, s:I, s:I, s:I}", "pass", (json_int_t)h->pass, "fail",
			(json_int_t)h->fail, "error", (json_int_t)h->error, "not_applicable",
			(json_int_t)h->not_applicable);
	list = json_array();
	if (o == NULL || sum == NULL || list == NULL)
		goto fail;
	if (h->has_score &&
	    json_object_set_new(sum, "score", json_real(round(h->score * 10.0) / 10.0)) != 0)
		goto fail;
	for (size_t i = 0; i < ps->n; i++) {
		const struct problem *p = &ps->v[i];
		json_t *j = json_pack("{s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:I, s:O}",
				      "policy", json_str(p->policy), "check", json_str(p->check),
				      "title", json_str(p->title), "status",
				      store_status_name(p->status), "severity",
				      store_severity_name(p->severity), "category",
				      json_str(p->category), "since", json_time(p->since_us),
				      "seq", (json_int_t)p->seq, "evidence", p->evidence);

		if (j == NULL || json_array_append_new(list, j) != 0)
			goto fail;
	}
	if (json_object_set_new(o, "summary", sum) != 0) {
		sum = NULL;
		goto fail;
	}
	sum = NULL;
	if (json_object_set_new(o, "problems", list) != 0) {
		list = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(o);
	json_decref(sum);
	json_decref(list);
	return NULL;
}

static int on_host(void *arg, const struct store_host_row *h)
{
	struct show_ctx *c = arg;
	struct problems ps = {0};
	int rc;

	rc = store_each_result(c->st, h->agent_id, on_result, &ps, c->e);
	if (rc < 0)
		goto out;
	if (ps.n > 1)
		qsort(ps.v, ps.n, sizeof(*ps.v), problem_cmp);
	if (c->hosts != NULL) {
		json_t *j = host_json(h, &ps);

		if (j == NULL || json_array_append_new(c->hosts, j) != 0)
			rc = PST_E_NOMEM;
	} else {
		print_host(c->out, h, &ps);
	}
out:
	problems_cleanup(&ps);
	if (rc == PST_E_NOMEM)
		pst_err_set(c->e, rc, "show: out of memory");
	return rc;
}

int show_store(const char *store_spec, FILE *out, bool json, struct pst_err *e)
{
	struct show_ctx c = {.out = out, .e = e};
	struct store_counts counts;
	json_t *doc = NULL;
	int rc;

	rc = store_open(store_spec, &c.st, e);
	if (rc < 0)
		return rc;
	rc = store_counts(c.st, &counts, e);
	if (rc < 0)
		goto out;
	if (json) {
		c.hosts = json_array();
		doc = json_pack("{s:s, s:s, s:o}", "format", "posture.show/v1", "store",
				store_spec, "hosts", c.hosts);
		if (doc == NULL) {
			rc = pst_err_set(e, PST_E_NOMEM, "show: out of memory");
			goto out;
		}
	} else {
		fprintf(out, "%s: %llu host%s, %llu report%s stored\n", store_spec,
			(unsigned long long)counts.hosts, counts.hosts == 1 ? "" : "s",
			(unsigned long long)counts.scans, counts.scans == 1 ? "" : "s");
	}
	rc = store_each_host(c.st, on_host, &c, e);
	if (rc < 0)
		goto out;
	if (doc != NULL) {
		rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
		if (rc == 0)
			fputc('\n', out);
	}
	if (rc != 0 || fflush(out) != 0 || ferror(out))
		rc = pst_err_set(e, PST_E_SYS, "show: writing the output failed");
out:
	json_decref(doc);
	store_close(c.st);
	return rc;
}
