/* report.c - the output forms of a scan (report.h). */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hex.h"
#include "posture/v1/posture.pb-c.h"
#include "timefmt.h"

int report_new_uuid(char *buf, size_t cap)
{
	unsigned char u[16];

	if (cap < 37)
		return PST_E_INVAL;
	if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u))
		return PST_E_SYS;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(buf, cap,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
		 u[11], u[12], u[13], u[14], u[15]);
	return 0;
}

/* --- JSON --- */

static json_t *controls_json(const struct check *c)
{
	json_t *obj = json_object();
	size_t i, j;

	for (i = 0; obj != NULL && i < c->ncontrols; i++) {
		json_t *ids = json_array();
		for (j = 0; ids != NULL && j < c->controls[i].nids; j++)
			json_array_append_new(ids, json_string(c->controls[i].ids[j]));
		json_object_set_new(obj, c->controls[i].framework, ids);
	}
	return obj;
}

static json_t *result_json(const struct check_result *r)
{
	json_t *o = json_object(), *ev = json_array();
	size_t i;

	if (o == NULL || ev == NULL) {
		json_decref(o);
		json_decref(ev);
		return NULL;
	}
	json_object_set_new(o, "policy", json_string(r->policy->id));
	json_object_set_new(o, "check", json_string(r->check->id));
	json_object_set_new(o, "title", json_string(r->check->title));
	json_object_set_new(o, "status", json_string(engine_status_name(r->status)));
	json_object_set_new(o, "severity", json_string(policy_severity_name(r->check->severity)));
	json_object_set_new(o, "category", json_string(r->check->category));
	json_object_set_new(o, "controls", controls_json(r->check));
	for (i = 0; i < r->nev; i++) {
		const struct evidence *e = &r->ev[i];
		json_t *item = json_object();
		json_object_set_new(item, "subject", json_string(e->subject));
		if (e->location != NULL)
			json_object_set_new(item, "location", json_string(e->location));
		json_object_set_new(item, "observed", json_string(e->observed));
		json_object_set_new(item, "expected", json_string(e->expected));
		json_array_append_new(ev, item);
	}
	json_object_set_new(o, "evidence", ev);
	if (r->reason != NULL)
		json_object_set_new(o, "reason", json_string(r->reason));
	if (r->check->remediation != NULL)
		json_object_set_new(o, "remediation", json_string(r->check->remediation));
	json_object_set_new(o, "duration_us", json_integer((json_int_t)r->duration_us));
	return o;
}

json_t *report_json(const struct scan *s)
{
	json_t *doc = json_object(), *host = json_object(), *pols = json_array(),
	       *sum = json_object(), *res = json_array();
	char t[40], digest[65];
	double score;
	size_t i;

	if (doc == NULL || host == NULL || pols == NULL || sum == NULL || res == NULL)
		goto oom;
	json_object_set_new(doc, "format", json_string("posture.scan/v1"));
	json_object_set_new(host, "hostname", json_string(s->host.hostname));
	json_object_set_new(host, "os_id", json_string(s->host.os_id));
	json_object_set_new(host, "os_version", json_string(s->host.os_version));
	json_object_set_new(host, "kernel", json_string(s->host.kernel));
	json_object_set_new(host, "root", json_string(s->host.root));
	json_object_set_new(doc, "host", host);
	host = NULL;
	timefmt_rfc3339(s->started_us, t, sizeof(t));
	json_object_set_new(doc, "started_at", json_string(t));
	timefmt_rfc3339(s->finished_us, t, sizeof(t));
	json_object_set_new(doc, "finished_at", json_string(t));
	for (i = 0; i < s->npolicies; i++) {
		json_t *p = json_object();
		hex_encode(s->policies[i]->sha256, 32, digest);
		json_object_set_new(p, "id", json_string(s->policies[i]->id));
		json_object_set_new(p, "version", json_string(s->policies[i]->version));
		json_object_set_new(p, "sha256", json_string(digest));
		json_array_append_new(pols, p);
	}
	json_object_set_new(doc, "policies", pols);
	pols = NULL;
	json_object_set_new(sum, "pass", json_integer((json_int_t)s->counts[CHECK_PASS]));
	json_object_set_new(sum, "fail", json_integer((json_int_t)s->counts[CHECK_FAIL]));
	json_object_set_new(sum, "error", json_integer((json_int_t)s->counts[CHECK_ERROR]));
	json_object_set_new(sum, "not_applicable",
			    json_integer((json_int_t)s->counts[CHECK_NOT_APPLICABLE]));
	if (engine_score(s, &score))
		json_object_set_new(sum, "score", json_real(round(score * 10.0) / 10.0));
	json_object_set_new(doc, "summary", sum);
	sum = NULL;
	for (i = 0; i < s->nresults; i++) {
		json_t *r = result_json(&s->results[i]);
		if (r == NULL || json_array_append_new(res, r) != 0)
			goto oom;
	}
	json_object_set_new(doc, "results", res);
	return doc;
oom:
	json_decref(doc);
	json_decref(host);
	json_decref(pols);
	json_decref(sum);
	json_decref(res);
	return NULL;
}

/* --- table --- */

enum { C_RESET, C_RED, C_YELLOW, C_GREEN, C_DIM, C_BOLD };

static const char *col(bool on, int c)
{
	static const char *const codes[] = {"\033[0m", "\033[31m", "\033[33m", "\033[32m",
					    "\033[2m", "\033[1m"};
	return on ? codes[c] : "";
}

static int status_rank(enum check_status st)
{
	switch (st) {
	case CHECK_FAIL: return 0;
	case CHECK_ERROR: return 1;
	case CHECK_PASS: return 2;
	case CHECK_NOT_APPLICABLE: return 3;
	}
	return 4;
}

static int category_rank(const char *cat)
{
	int i;

	for (i = 0; policy_categories[i] != NULL; i++)
		if (strcmp(policy_categories[i], cat) == 0)
			return i;
	return i;
}

static int cmp_results(const void *a, const void *b)
{
	const struct check_result *x = *(const struct check_result *const *)a;
	const struct check_result *y = *(const struct check_result *const *)b;
	int d;

	if ((d = category_rank(x->check->category) - category_rank(y->check->category)) != 0)
		return d;
	if ((d = status_rank(x->status) - status_rank(y->status)) != 0)
		return d;
	if ((d = (int)y->check->severity - (int)x->check->severity) != 0)
		return d;
	return strcmp(x->check->id, y->check->id);
}

static void category_title(const char *cat, char *buf, size_t cap)
{
	size_t i;

	for (i = 0; cat[i] != '\0' && i + 1 < cap; i++)
		buf[i] = cat[i] == '_' ? ' ' : (char)(cat[i] >= 'a' && cat[i] <= 'z' ? cat[i] - 32 : cat[i]);
	buf[i] = '\0';
}

int report_table(const struct scan *s, FILE *out, bool colour)
{
	const struct check_result **order;
	const char *last_cat = NULL;
	size_t i, j, idw = 5;
	char t[40];
	double score;

	order = calloc(s->nresults ? s->nresults : 1, sizeof(*order));
	if (order == NULL)
		return PST_E_NOMEM;
	for (i = 0; i < s->nresults; i++) {
		order[i] = &s->results[i];
		if (strlen(s->results[i].check->id) > idw)
			idw = strlen(s->results[i].check->id);
	}
	if (idw > 40)
		idw = 40;
	qsort(order, s->nresults, sizeof(*order), cmp_results);

	timefmt_rfc3339(s->started_us, t, sizeof(t));
	fprintf(out, "%sposture scan%s of %s (%s %s), root %s, %s\n", col(colour, C_BOLD),
		col(colour, C_RESET), s->host.hostname[0] ? s->host.hostname : "(unnamed host)",
		s->host.os_id[0] ? s->host.os_id : "unknown OS", s->host.os_version,
		s->host.root, t);
	for (i = 0; i < s->npolicies; i++)
		fprintf(out, "policy %s %s (%s)\n", s->policies[i]->id, s->policies[i]->version,
			s->policies[i]->source);

	for (i = 0; i < s->nresults; i++) {
		const struct check_result *r = order[i];
		const char *st = engine_status_name(r->status);
		int c = r->status == CHECK_FAIL ? C_RED : r->status == CHECK_ERROR ? C_YELLOW
			: r->status == CHECK_PASS ? C_GREEN : C_DIM;
		char upper[16];

		if (last_cat == NULL || strcmp(last_cat, r->check->category) != 0) {
			char title[64];
			category_title(r->check->category, title, sizeof(title));
			fprintf(out, "\n%s%s%s\n", col(colour, C_BOLD), title, col(colour, C_RESET));
			last_cat = r->check->category;
		}
		for (j = 0; st[j] != '\0' && j + 1 < sizeof(upper); j++)
			upper[j] = st[j] == '_' ? '/' : (char)(st[j] - 32);
		upper[j] = '\0';
		if (r->status == CHECK_NOT_APPLICABLE)
			snprintf(upper, sizeof(upper), "N/A");
		fprintf(out, "  %s%-5s%s  %-8s  %-*s  %s\n", col(colour, c), upper, col(colour, C_RESET),
			policy_severity_name(r->check->severity), (int)idw, r->check->id, r->check->title);
		if (r->status == CHECK_PASS || r->status == CHECK_NOT_APPLICABLE)
			continue;
		if (r->reason != NULL)
			fprintf(out, "         %sreason:%s %s\n", col(colour, C_DIM), col(colour, C_RESET), r->reason);
		for (j = 0; j < r->nev; j++) {
			const struct evidence *e = &r->ev[j];
			/* Under a failure, show what is wrong, not the rules that held. */
			if (r->status == CHECK_FAIL && e->ok)
				continue;
			fprintf(out, "         %s: found %s; expected %s\n",
				e->location ? e->location : e->subject, e->observed, e->expected);
		}
		if (r->check->remediation != NULL && r->status == CHECK_FAIL)
			fprintf(out, "         %sfix:%s %s\n", col(colour, C_DIM), col(colour, C_RESET),
				r->check->remediation);
	}
	fprintf(out, "\n%zu pass, %s%zu fail%s, %zu error, %zu not applicable",
		s->counts[CHECK_PASS], s->counts[CHECK_FAIL] ? col(colour, C_RED) : "",
		s->counts[CHECK_FAIL], s->counts[CHECK_FAIL] ? col(colour, C_RESET) : "",
		s->counts[CHECK_ERROR], s->counts[CHECK_NOT_APPLICABLE]);
	if (engine_score(s, &score))
		fprintf(out, "; score %.1f", round(score * 10.0) / 10.0);
	fputc('\n', out);
	free(order);
	return ferror(out) ? PST_E_SYS : 0;
}

/* --- protobuf --- */

static Posture__V1__Severity pb_severity(enum severity s)
{
	switch (s) {
	case SEVERITY_LOW: return POSTURE__V1__SEVERITY__SEVERITY_LOW;
	case SEVERITY_MEDIUM: return POSTURE__V1__SEVERITY__SEVERITY_MEDIUM;
	case SEVERITY_HIGH: return POSTURE__V1__SEVERITY__SEVERITY_HIGH;
	case SEVERITY_CRITICAL: return POSTURE__V1__SEVERITY__SEVERITY_CRITICAL;
	}
	return POSTURE__V1__SEVERITY__SEVERITY_UNSPECIFIED;
}

static Posture__V1__Status pb_status(enum check_status s)
{
	switch (s) {
	case CHECK_PASS: return POSTURE__V1__STATUS__STATUS_PASS;
	case CHECK_FAIL: return POSTURE__V1__STATUS__STATUS_FAIL;
	case CHECK_ERROR: return POSTURE__V1__STATUS__STATUS_ERROR;
	case CHECK_NOT_APPLICABLE: return POSTURE__V1__STATUS__STATUS_NOT_APPLICABLE;
	}
	return POSTURE__V1__STATUS__STATUS_UNSPECIFIED;
}

/*
 * The message tree borrows every string from the scan (protobuf-c takes
 * char *, hence the casts; nothing writes through them) and owns only its
 * arrays, which one arena-like list frees after packing.
 */
struct pb_allocs {
	void **p;
	size_t n, cap;
	bool oom;
};

static void *pb_calloc(struct pb_allocs *a, size_t n, size_t size)
{
	void *p;

	if (a->oom)
		return NULL;
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 64;
		void **np = realloc(a->p, ncap * sizeof(*np));
		if (np == NULL) {
			a->oom = true;
			return NULL;
		}
		a->p = np;
		a->cap = ncap;
	}
	p = calloc(n ? n : 1, size);
	if (p == NULL) {
		a->oom = true;
		return NULL;
	}
	a->p[a->n++] = p;
	return p;
}

static Posture__V1__CheckResult *pb_result(struct pb_allocs *a, const struct check_result *r)
{
	Posture__V1__CheckResult *m = pb_calloc(a, 1, sizeof(*m));
	const struct check *c = r->check;
	size_t i;

	if (m == NULL)
		return NULL;
	posture__v1__check_result__init(m);
	m->check_id = c->id;
	m->status = pb_status(r->status);
	m->severity = pb_severity(c->severity);
	m->category = c->category;
	m->title = c->title;
	m->remediation = c->remediation ? c->remediation : (char *)"";
	m->policy_id = r->policy->id;
	m->reason = r->reason ? r->reason : (char *)"";
	m->duration_us = r->duration_us;
	m->n_controls = c->ncontrols;
	m->controls = pb_calloc(a, c->ncontrols, sizeof(*m->controls));
	for (i = 0; m->controls != NULL && i < c->ncontrols; i++) {
		Posture__V1__ControlMapping *cm = pb_calloc(a, 1, sizeof(*cm));
		if (cm == NULL)
			return NULL;
		posture__v1__control_mapping__init(cm);
		cm->framework = c->controls[i].framework;
		cm->n_ids = c->controls[i].nids;
		cm->ids = c->controls[i].ids;
		m->controls[i] = cm;
	}
	m->n_evidence = r->nev;
	m->evidence = pb_calloc(a, r->nev, sizeof(*m->evidence));
	for (i = 0; m->evidence != NULL && i < r->nev; i++) {
		Posture__V1__Evidence *ev = pb_calloc(a, 1, sizeof(*ev));
		if (ev == NULL)
			return NULL;
		posture__v1__evidence__init(ev);
		ev->subject = r->ev[i].subject;
		ev->observed = r->ev[i].observed;
		ev->expected = r->ev[i].expected;
		ev->location = r->ev[i].location ? r->ev[i].location : (char *)"";
		ev->ok = r->ev[i].ok;
		m->evidence[i] = ev;
	}
	return a->oom ? NULL : m;
}

int report_protobuf(const struct scan *s, uint64_t seq, const char *scan_id,
		    uint8_t **buf, size_t *len)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__Report rep = POSTURE__V1__REPORT__INIT;
	Posture__V1__HostFacts facts = POSTURE__V1__HOST_FACTS__INIT;
	struct pb_allocs a = {0};
	size_t i;
	int rc = 0;

	*buf = NULL;
	*len = 0;
	facts.hostname = (char *)s->host.hostname;
	facts.os_id = (char *)s->host.os_id;
	facts.os_version = (char *)s->host.os_version;
	facts.kernel = (char *)s->host.kernel;
	facts.machine_id = (char *)s->host.machine_id;
	facts.root = (char *)s->host.root;
	facts.architecture = (char *)s->host.arch;
	rep.seq = seq;
	rep.scan_id = (char *)scan_id;
	rep.started_at_us = s->started_us;
	rep.finished_at_us = s->finished_us;
	rep.facts = &facts;
	rep.n_policies = s->npolicies;
	rep.policies = pb_calloc(&a, s->npolicies, sizeof(*rep.policies));
	for (i = 0; rep.policies != NULL && i < s->npolicies; i++) {
		Posture__V1__PolicyRef *p = pb_calloc(&a, 1, sizeof(*p));
		if (p == NULL)
			break;
		posture__v1__policy_ref__init(p);
		p->id = s->policies[i]->id;
		p->version = s->policies[i]->version;
		p->sha256.data = (uint8_t *)s->policies[i]->sha256;
		p->sha256.len = 32;
		rep.policies[i] = p;
	}
	rep.n_results = s->nresults;
	rep.results = pb_calloc(&a, s->nresults, sizeof(*rep.results));
	for (i = 0; rep.results != NULL && i < s->nresults; i++)
		if ((rep.results[i] = pb_result(&a, &s->results[i])) == NULL)
			break;
	if (a.oom) {
		rc = PST_E_NOMEM;
		goto out;
	}
	env.body_case = POSTURE__V1__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	*len = posture__v1__envelope__get_packed_size(&env);
	*buf = malloc(*len ? *len : 1);
	if (*buf == NULL) {
		rc = PST_E_NOMEM;
		goto out;
	}
	posture__v1__envelope__pack(&env, *buf);
out:
	for (i = 0; i < a.n; i++)
		free(a.p[i]);
	free(a.p);
	return rc;
}
