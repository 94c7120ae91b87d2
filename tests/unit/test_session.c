/*
 * test_session.c - the collector's message edge: a Report as it arrives in a
 * frame becomes a store_report with every field intact, the agent named by
 * the caller; each limit is accepted exactly and refused one over, with a
 * message that names the field; Hello's version check; and each frame the
 * collector sends decodes back to what was asked for.  Refusals free what
 * was built so far (run under valgrind).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "session.h"
#include "store.h"

#define AGENT_ID "db-02.prod.example.net"

/* --- a realistic Report, built on the stack --------------------------------- */

#define NRES 5
#define NEV 3
#define NPOL 2

struct report_msg {
	Posture__V1__Envelope env;
	Posture__V1__Report report;
	Posture__V1__HostFacts facts;
	Posture__V1__PolicyRef pol[NPOL];
	Posture__V1__PolicyRef *polp[NPOL];
	uint8_t sha[NPOL][32];
	Posture__V1__CheckResult res[NRES];
	Posture__V1__CheckResult *resp[NRES];
	Posture__V1__Evidence ev[NRES][NEV];
	Posture__V1__Evidence *evp[NRES][NEV];
	Posture__V1__ControlMapping cm[NRES][2];
	Posture__V1__ControlMapping *cmp[NRES][2];
};

static char *const check_ids[NRES] = {
	"ssh.permit-root-login", "pkg.security-updates", "backup.recent",
	"pam.faillock", "sudo.nopasswd"
};
static char *const policy_ids[NRES] = {
	"linux-baseline", "linux-baseline", "backup-policy", "linux-baseline",
	"backup-policy"
};
static char *const categories[NRES] = {
	"access_control", "patch", "backup", "access_control", "access_control"
};
static char *const reasons[NRES] = {
	"", "", "no backup catalogue under /var/lib/bacula", "",
	"sudo is not installed"
};
static const Posture__V1__Status wire_status[NRES] = {
	POSTURE__V1__STATUS__STATUS_FAIL, POSTURE__V1__STATUS__STATUS_PASS,
	POSTURE__V1__STATUS__STATUS_ERROR, POSTURE__V1__STATUS__STATUS_FAIL,
	POSTURE__V1__STATUS__STATUS_NOT_APPLICABLE
};
static const enum store_status store_status[NRES] = {
	STORE_FAIL, STORE_PASS, STORE_ERROR, STORE_FAIL, STORE_NOT_APPLICABLE
};
/* The last one is unspecified: kept as unknown, not refused. */
static const Posture__V1__Severity wire_sev[NRES] = {
	POSTURE__V1__SEVERITY__SEVERITY_CRITICAL, POSTURE__V1__SEVERITY__SEVERITY_HIGH,
	POSTURE__V1__SEVERITY__SEVERITY_MEDIUM, POSTURE__V1__SEVERITY__SEVERITY_LOW,
	POSTURE__V1__SEVERITY__SEVERITY_UNSPECIFIED
};
static const enum store_severity store_sev[NRES] = {
	STORE_SEV_CRITICAL, STORE_SEV_HIGH, STORE_SEV_MEDIUM, STORE_SEV_LOW, STORE_SEV_UNKNOWN
};
static char *iso_ids[] = { "A.8.2", "A.8.5", "A.8.9" };
static char *cis_ids[] = { "5.1.20" };
static char *const subjects[NEV] = { "/etc/ssh/sshd_config", "PermitRootLogin", "root" };
static char *const observed[NEV] = { "present", "yes", "" };
static char *const expected[NEV] = { "present", "no", "locked" };
static char *const locations[NEV] = { "", "/etc/ssh/sshd_config:32", "/etc/shadow:1" };

static void make_report(struct report_msg *m)
{
	size_t i, j;

	posture__v1__envelope__init(&m->env);
	posture__v1__report__init(&m->report);
	posture__v1__host_facts__init(&m->facts);
	m->facts.hostname = "db-02";
	m->facts.os_id = "debian";
	m->facts.os_version = "12";
	m->facts.kernel = "6.1.0-18-amd64";
	m->facts.machine_id = "5c0a1d7e2f4b4c6d8e9f0a1b2c3d4e5f";
	m->facts.root = "/";
	m->facts.architecture = "x86_64";
	for (i = 0; i < NPOL; i++) {
		posture__v1__policy_ref__init(&m->pol[i]);
		m->pol[i].id = i == 0 ? "linux-baseline" : "backup-policy";
		m->pol[i].version = i == 0 ? "3" : "1.2";
		for (j = 0; j < 32; j++)
			m->sha[i][j] = (uint8_t)(0xa5 ^ (i * 32 + j * 7));
		m->pol[i].sha256.data = m->sha[i];
		m->pol[i].sha256.len = 32;
		m->polp[i] = &m->pol[i];
	}
	for (i = 0; i < NRES; i++) {
		Posture__V1__CheckResult *r = &m->res[i];

		posture__v1__check_result__init(r);
		r->check_id = check_ids[i];
		r->policy_id = policy_ids[i];
		r->status = wire_status[i];
		r->severity = wire_sev[i];
		r->category = categories[i];
		r->title = "A title that says what is checked";
		r->remediation = i == 1 ? "" : "Set it in the file and reload";
		r->reason = reasons[i];
		r->duration_us = 1000 * (i + 1) + 7;
		posture__v1__control_mapping__init(&m->cm[i][0]);
		posture__v1__control_mapping__init(&m->cm[i][1]);
		m->cm[i][0].framework = "iso27001";
		m->cm[i][0].n_ids = 3;
		m->cm[i][0].ids = iso_ids;
		m->cm[i][1].framework = "cis_debian12";
		m->cm[i][1].n_ids = 1;
		m->cm[i][1].ids = cis_ids;
		m->cmp[i][0] = &m->cm[i][0];
		m->cmp[i][1] = &m->cm[i][1];
		/* Result i maps to i % 3 frameworks and carries i % 4 evidence items. */
		r->n_controls = i % 3;
		r->controls = m->cmp[i];
		for (j = 0; j < NEV; j++) {
			Posture__V1__Evidence *e = &m->ev[i][j];

			posture__v1__evidence__init(e);
			e->subject = subjects[j];
			e->observed = observed[j];
			e->expected = expected[j];
			e->location = locations[j];
			e->ok = j == 1;
			m->evp[i][j] = e;
		}
		r->n_evidence = i % 4;
		r->evidence = m->evp[i];
		m->resp[i] = r;
	}
	m->report.seq = UINT64_C(18446744073709551000);
	m->report.scan_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
	m->report.n_policies = NPOL;
	m->report.policies = m->polp;
	m->report.started_at_us = INT64_C(1700000000123456);
	m->report.finished_at_us = INT64_C(1700000002654321);
	m->report.n_results = NRES;
	m->report.results = m->resp;
	m->report.facts = &m->facts;
	m->env.body_case = POSTURE__V1__ENVELOPE__BODY_REPORT;
	m->env.report = &m->report;
}

/* An optional string: "" on the wire is NULL in the store. */
static void expect_opt(const char *got, const char *wire)
{
	if (wire[0] == '\0')
		assert_null(got);
	else
		assert_string_equal(got, wire);
}

static void check_converted(const struct store_report *r, const struct report_msg *m)
{
	size_t i, j, k;

	assert_non_null(r);
	assert_string_equal(r->agent_id, AGENT_ID);
	assert_true(r->seq == m->report.seq);
	assert_string_equal(r->scan_id, m->report.scan_id);
	assert_true(r->started_us == m->report.started_at_us);
	assert_true(r->finished_us == m->report.finished_at_us);
	assert_string_equal(r->facts.hostname, "db-02");
	assert_string_equal(r->facts.os_id, "debian");
	assert_string_equal(r->facts.os_version, "12");
	assert_string_equal(r->facts.kernel, "6.1.0-18-amd64");
	assert_string_equal(r->facts.machine_id, "5c0a1d7e2f4b4c6d8e9f0a1b2c3d4e5f");
	assert_string_equal(r->facts.architecture, "x86_64");
	assert_null(r->facts.agent_version);
	assert_int_equal(r->npolicies, NPOL);
	for (i = 0; i < NPOL; i++) {
		assert_string_equal(r->policies[i].id, m->pol[i].id);
		assert_string_equal(r->policies[i].version, m->pol[i].version);
		assert_memory_equal(r->policies[i].sha256, m->sha[i], 32);
	}
	assert_int_equal(r->nresults, NRES);
	for (i = 0; i < NRES; i++) {
		const struct store_result *s = &r->results[i];
		const Posture__V1__CheckResult *w = &m->res[i];

		assert_string_equal(s->check_id, check_ids[i]);
		assert_string_equal(s->policy_id, policy_ids[i]);
		assert_string_equal(s->title, w->title);
		assert_string_equal(s->category, categories[i]);
		expect_opt(s->remediation, w->remediation);
		expect_opt(s->reason, reasons[i]);
		assert_int_equal(s->status, store_status[i]);
		assert_int_equal(s->severity, store_sev[i]);
		assert_true(s->duration_us == w->duration_us);
		assert_int_equal(s->ncontrols, w->n_controls);
		for (j = 0; j < s->ncontrols; j++) {
			const Posture__V1__ControlMapping *cm = w->controls[j];

			assert_string_equal(s->controls[j].framework, cm->framework);
			assert_int_equal(s->controls[j].nids, cm->n_ids);
			for (k = 0; k < cm->n_ids; k++)
				assert_string_equal(s->controls[j].ids[k], cm->ids[k]);
		}
		assert_int_equal(s->nevidence, w->n_evidence);
		for (j = 0; j < s->nevidence; j++) {
			expect_opt(s->evidence[j].subject, subjects[j]);
			expect_opt(s->evidence[j].observed, observed[j]);
			expect_opt(s->evidence[j].expected, expected[j]);
			expect_opt(s->evidence[j].location, locations[j]);
			assert_int_equal(s->evidence[j].ok, j == 1);
		}
	}
}

/* The refusal has code and a message containing each of the strings given. */
static void expect_msg(const struct pst_err *e, int code, const char *want, ...)
{
	va_list ap;
	const char *s;

	assert_int_equal(e->code, code);
	va_start(ap, want);
	for (s = want; s != NULL; s = va_arg(ap, const char *)) {
		if (strstr(e->msg, s) == NULL)
			fail_msg("message \"%s\" lacks \"%s\"", e->msg, s);
	}
	va_end(ap);
}

/* Convert m->report and expect a refusal with code and message parts. */
#define expect_refused(m, code, ...)                                              \
	do {                                                                      \
		struct store_report *out_ = (struct store_report *)1;             \
		struct pst_err e_ = { 0 };                                        \
		assert_int_equal(session_report_from_wire(&(m)->report, AGENT_ID, \
							  1, 1, &out_, &e_),      \
				 code);                                           \
		assert_null(out_);                                                \
		expect_msg(&e_, code, __VA_ARGS__, (const char *)NULL);           \
	} while (0)

static struct store_report *convert_ok(const Posture__V1__Report *w)
{
	struct store_report *out = NULL;
	struct pst_err e = { 0 };
	int rc;

	rc = session_report_from_wire(w, AGENT_ID, 1, 1, &out, &e);
	if (rc != 0)
		fail_msg("refused: %s", e.msg);
	assert_non_null(out);
	return out;
}

/* --- reports ------------------------------------------------------------------ */

/* As it arrives: encoded into a frame, decoded, converted. */
static void test_report_roundtrip(void **state)
{
	struct report_msg m;
	Posture__V1__Envelope *got;
	struct store_report *r = NULL;
	struct pst_err e = { 0 };
	uint8_t *f = NULL;
	size_t len, consumed;

	(void)state;
	make_report(&m);
	assert_int_equal(frame_encode(&m.env, FRAME_DEFAULT_MAX, &f, &len), 0);
	assert_int_equal(frame_decode(f, len, FRAME_DEFAULT_MAX, &got, &consumed), 0);
	assert_int_equal(got->body_case, POSTURE__V1__ENVELOPE__BODY_REPORT);
	assert_int_equal(session_report_from_wire(got->report, AGENT_ID,
						  INT64_C(1700000003000000), len, &r, &e), 0);
	frame_envelope_free(got);
	free(f);
	check_converted(r, &m);
	assert_true(r->received_us == INT64_C(1700000003000000));
	assert_int_equal(r->wire_bytes, len);
	store_report_free(r);
}

/* No facts, no policies, no results: still a report. */
static void test_report_minimal(void **state)
{
	Posture__V1__Report w = POSTURE__V1__REPORT__INIT;
	struct store_report *r;

	(void)state;
	w.seq = 1;
	w.scan_id = "s";
	r = convert_ok(&w);
	assert_true(r->seq == 1);
	assert_string_equal(r->agent_id, AGENT_ID);
	assert_null(r->facts.hostname);
	assert_int_equal(r->npolicies, 0);
	assert_null(r->policies);
	assert_int_equal(r->nresults, 0);
	assert_null(r->results);
	store_report_free(r);
}

static void test_report_refusals(void **state)
{
	struct report_msg m;

	(void)state;
	make_report(&m);
	m.report.seq = 0;
	expect_refused(&m, PST_E_PROTO, "sequence number 0");

	make_report(&m);
	m.report.scan_id = "";
	expect_refused(&m, PST_E_PROTO, "report 18446744073709551000", "scan_id is missing");
	m.report.scan_id = NULL;
	expect_refused(&m, PST_E_PROTO, "scan_id is missing");

	/* Late in the report, so that the refusal frees what came before. */
	make_report(&m);
	m.res[4].check_id = "";
	expect_refused(&m, PST_E_PROTO, "results[4]", "check_id is missing");

	make_report(&m);
	m.res[3].policy_id = "";
	expect_refused(&m, PST_E_PROTO, "results[3]", "policy_id is missing");

	make_report(&m);
	m.res[4].status = POSTURE__V1__STATUS__STATUS_UNSPECIFIED;
	expect_refused(&m, PST_E_PROTO, "results[4]", "status 0", "pass, fail");
	m.res[4].status = (Posture__V1__Status)9;
	expect_refused(&m, PST_E_PROTO, "results[4]", "status 9");

	make_report(&m);
	m.cm[2][1].framework = "";
	expect_refused(&m, PST_E_PROTO, "results[2]", "controls.framework is missing");

	make_report(&m);
	m.pol[1].id = "";
	expect_refused(&m, PST_E_PROTO, "policies[", "policies.id is missing");

	make_report(&m);
	m.pol[1].sha256.len = 31;
	expect_refused(&m, PST_E_PROTO, "policies[1].sha256 has 31 bytes, not 32");
	m.pol[1].sha256.len = 33;
	expect_refused(&m, PST_E_PROTO, "policies[1].sha256 has 33 bytes");
}

/* No digest at all is accepted and stored as zeros. */
static void test_report_sha256_absent(void **state)
{
	static const uint8_t zero[32];
	struct report_msg m;
	struct store_report *r;

	(void)state;
	make_report(&m);
	m.pol[0].sha256.len = 0;
	m.pol[0].sha256.data = NULL;
	r = convert_ok(&m.report);
	assert_memory_equal(r->policies[0].sha256, zero, 32);
	assert_memory_equal(r->policies[1].sha256, m.sha[1], 32);
	store_report_free(r);
}

/* n pointers all to p: a long repeated field without n messages. */
static void **same_ptrs(void *p, size_t n)
{
	void **v = malloc(n * sizeof(*v));
	size_t i;

	assert_non_null(v);
	for (i = 0; i < n; i++)
		v[i] = p;
	return v;
}

static void test_report_count_limits(void **state)
{
	struct report_msg m;
	struct store_report *r;
	void **many;

	(void)state;
	make_report(&m);
	many = same_ptrs(&m.res[1], SESSION_MAX_RESULTS + 1);
	m.report.results = (Posture__V1__CheckResult **)many;
	m.report.n_results = SESSION_MAX_RESULTS + 1;
	expect_refused(&m, PST_E_PROTO, "20001 results, more than the limit of 20000");
	m.report.n_results = SESSION_MAX_RESULTS;
	r = convert_ok(&m.report);
	assert_int_equal(r->nresults, SESSION_MAX_RESULTS);
	assert_string_equal(r->results[SESSION_MAX_RESULTS - 1].check_id, check_ids[1]);
	store_report_free(r);
	free(many);

	make_report(&m);
	many = same_ptrs(&m.ev[3][1], SESSION_MAX_EVIDENCE + 1);
	m.res[3].evidence = (Posture__V1__Evidence **)many;
	m.res[3].n_evidence = SESSION_MAX_EVIDENCE + 1;
	expect_refused(&m, PST_E_PROTO, "results[3]", "1001 evidence items, more than the limit of 1000");
	m.res[3].n_evidence = SESSION_MAX_EVIDENCE;
	r = convert_ok(&m.report);
	assert_int_equal(r->results[3].nevidence, SESSION_MAX_EVIDENCE);
	assert_string_equal(r->results[3].evidence[SESSION_MAX_EVIDENCE - 1].observed,
			    observed[1]);
	store_report_free(r);
	free(many);

	make_report(&m);
	many = same_ptrs(&m.cm[2][0], SESSION_MAX_CONTROLS + 1);
	m.res[2].controls = (Posture__V1__ControlMapping **)many;
	m.res[2].n_controls = SESSION_MAX_CONTROLS + 1;
	expect_refused(&m, PST_E_PROTO, "results[2]", "33 control frameworks, more than the limit of 32");
	m.res[2].n_controls = SESSION_MAX_CONTROLS;
	r = convert_ok(&m.report);
	assert_int_equal(r->results[2].ncontrols, SESSION_MAX_CONTROLS);
	store_report_free(r);
	free(many);

	make_report(&m);
	many = same_ptrs(iso_ids[0], SESSION_MAX_CONTROL_IDS + 1);
	m.cm[2][1].ids = (char **)many;
	m.cm[2][1].n_ids = SESSION_MAX_CONTROL_IDS + 1;
	expect_refused(&m, PST_E_PROTO, "results[2]", "257 ids, more than the limit of 256");
	m.cm[2][1].n_ids = SESSION_MAX_CONTROL_IDS;
	r = convert_ok(&m.report);
	assert_int_equal(r->results[2].controls[1].nids, SESSION_MAX_CONTROL_IDS);
	assert_string_equal(r->results[2].controls[1].ids[SESSION_MAX_CONTROL_IDS - 1],
			    iso_ids[0]);
	store_report_free(r);
	free(many);

	make_report(&m);
	many = same_ptrs(&m.pol[1], SESSION_MAX_POLICIES + 1);
	m.report.policies = (Posture__V1__PolicyRef **)many;
	m.report.n_policies = SESSION_MAX_POLICIES + 1;
	expect_refused(&m, PST_E_PROTO, "257 policies, more than the limit of 256");
	m.report.n_policies = SESSION_MAX_POLICIES;
	r = convert_ok(&m.report);
	assert_int_equal(r->npolicies, SESSION_MAX_POLICIES);
	store_report_free(r);
	free(many);
}

/* A string of n 'x' bytes; the caller frees it. */
static char *long_str(size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, 'x', n);
	s[n] = '\0';
	return s;
}

static void test_report_string_limit(void **state)
{
	struct report_msg m;
	struct store_report *r;
	char *at = long_str(SESSION_MAX_STRING), *over = long_str(SESSION_MAX_STRING + 1);

	(void)state;
	make_report(&m);
	m.report.scan_id = over;
	expect_refused(&m, PST_E_PROTO, "scan_id is longer than 65536 bytes");

	make_report(&m);
	m.facts.kernel = over;
	expect_refused(&m, PST_E_PROTO, "facts.kernel is longer than 65536 bytes");

	make_report(&m);
	m.pol[1].version = over;
	expect_refused(&m, PST_E_PROTO, "policies.version is longer");

	make_report(&m);
	m.res[4].reason = over;
	expect_refused(&m, PST_E_PROTO, "results[4]", "reason is longer than 65536 bytes");

	make_report(&m);
	m.ev[2][1].observed = over;
	expect_refused(&m, PST_E_PROTO, "results[2]: evidence[", "evidence.observed is longer");

	make_report(&m);
	m.cm[1][0].ids = (char *[]){ "A.8.2", over };
	m.cm[1][0].n_ids = 2;
	expect_refused(&m, PST_E_PROTO, "results[1]", "controls.ids is longer");

	/* Exactly at the limit is kept whole. */
	make_report(&m);
	m.ev[2][1].observed = at;
	r = convert_ok(&m.report);
	assert_int_equal(strlen(r->results[2].evidence[1].observed), SESSION_MAX_STRING);
	store_report_free(r);
	free(at);
	free(over);
}

/* --- hello -------------------------------------------------------------------- */

static void make_hello(Posture__V1__Hello *h, Posture__V1__HostFacts *f)
{
	posture__v1__hello__init(h);
	posture__v1__host_facts__init(f);
	f->hostname = "web-01.example.net";
	f->os_id = "rhel";
	f->os_version = "9.3";
	f->kernel = "5.14.0-362.el9.x86_64";
	f->machine_id = "0123456789abcdef0123456789abcdef";
	f->root = "/";
	f->architecture = "x86_64";
	h->agent_version = "0.1.0";
	h->protocol_version = 1;
	h->facts = f;
	h->last_acked_seq = 41;
}

static void test_hello_v1(void **state)
{
	Posture__V1__Hello h;
	Posture__V1__HostFacts f;
	struct store_facts facts;
	struct pst_err e = { 0 };

	(void)state;
	make_hello(&h, &f);
	assert_int_equal(session_hello_facts(&h, &facts, &e), 0);
	assert_string_equal(facts.hostname, "web-01.example.net");
	assert_string_equal(facts.os_id, "rhel");
	assert_string_equal(facts.os_version, "9.3");
	assert_string_equal(facts.kernel, "5.14.0-362.el9.x86_64");
	assert_string_equal(facts.machine_id, "0123456789abcdef0123456789abcdef");
	assert_string_equal(facts.architecture, "x86_64");
	assert_string_equal(facts.agent_version, "0.1.0");
	store_facts_cleanup(&facts);
	assert_null(facts.hostname);

	/* No facts and no version string: nothing to copy, not an error. */
	h.facts = NULL;
	h.agent_version = "";
	assert_int_equal(session_hello_facts(&h, &facts, &e), 0);
	assert_null(facts.hostname);
	assert_null(facts.agent_version);
	store_facts_cleanup(&facts);
}

static void test_hello_refusals(void **state)
{
	Posture__V1__Hello h;
	Posture__V1__HostFacts f;
	struct store_facts facts;
	struct pst_err e = { 0 };
	char *over = long_str(SESSION_MAX_STRING + 1);

	(void)state;
	make_hello(&h, &f);
	h.protocol_version = 2;
	assert_int_equal(session_hello_facts(&h, &facts, &e), PST_E_PROTO);
	expect_msg(&e, PST_E_PROTO, "protocol version 2", "speaks 1", (const char *)NULL);
	assert_null(facts.hostname);

	h.protocol_version = 0;
	assert_int_equal(session_hello_facts(&h, &facts, &e), PST_E_PROTO);
	expect_msg(&e, PST_E_PROTO, "protocol version 0", (const char *)NULL);

	/* Refused late, after the other facts were copied: nothing leaks. */
	make_hello(&h, &f);
	f.architecture = over;
	assert_int_equal(session_hello_facts(&h, &facts, &e), PST_E_PROTO);
	expect_msg(&e, PST_E_PROTO, "facts.architecture is longer", (const char *)NULL);
	assert_null(facts.hostname);

	make_hello(&h, &f);
	h.agent_version = over;
	assert_int_equal(session_hello_facts(&h, &facts, &e), PST_E_PROTO);
	expect_msg(&e, PST_E_PROTO, "agent_version is longer", (const char *)NULL);
	assert_null(facts.hostname);
	free(over);
}

/* --- frames the collector sends ------------------------------------------------ */

/* Decode the whole frame f[0..len) and check its body case. */
static Posture__V1__Envelope *decode_whole(uint8_t *f, size_t len,
					   Posture__V1__Envelope__BodyCase body)
{
	Posture__V1__Envelope *env = NULL;
	size_t consumed = 0;

	assert_non_null(f);
	assert_int_equal(frame_decode(f, len, FRAME_DEFAULT_MAX, &env, &consumed), 0);
	assert_int_equal(consumed, len);
	assert_int_equal(env->body_case, body);
	free(f);
	return env;
}

static void test_frames_out(void **state)
{
	Posture__V1__Envelope *env;
	uint8_t *f = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(session_frame_hello_ack("collector-eu-1", UINT64_C(18446744073709551000),
						 30, FRAME_DEFAULT_MAX, &f, &len), 0);
	env = decode_whole(f, len, POSTURE__V1__ENVELOPE__BODY_HELLO_ACK);
	assert_int_equal(env->hello_ack->protocol_version, SESSION_PROTOCOL_VERSION);
	assert_string_equal(env->hello_ack->collector_id, "collector-eu-1");
	assert_true(env->hello_ack->last_stored_seq == UINT64_C(18446744073709551000));
	assert_int_equal(env->hello_ack->heartbeat_interval_s, 30);
	assert_int_equal(env->hello_ack->max_frame_bytes, FRAME_DEFAULT_MAX);
	frame_envelope_free(env);

	/* A new agent: nothing stored yet. */
	assert_int_equal(session_frame_hello_ack("c", 0, 1, 1024, &f, &len), 0);
	env = decode_whole(f, len, POSTURE__V1__ENVELOPE__BODY_HELLO_ACK);
	assert_int_equal(env->hello_ack->last_stored_seq, 0);
	assert_int_equal(env->hello_ack->max_frame_bytes, 1024);
	frame_envelope_free(env);

	assert_int_equal(session_frame_ack(UINT64_C(9007199254740993), &f, &len), 0);
	env = decode_whole(f, len, POSTURE__V1__ENVELOPE__BODY_ACK);
	assert_true(env->ack->seq == UINT64_C(9007199254740993));
	frame_envelope_free(env);

	assert_int_equal(session_frame_heartbeat(INT64_C(1700000000654321), 77, &f, &len), 0);
	env = decode_whole(f, len, POSTURE__V1__ENVELOPE__BODY_HEARTBEAT);
	assert_true(env->heartbeat->sent_at_us == INT64_C(1700000000654321));
	assert_int_equal(env->heartbeat->last_seq, 77);
	frame_envelope_free(env);

	assert_int_equal(session_frame_error(POSTURE__V1__ERROR__CODE__CODE_VERSION,
					     "protocol version 2 is not supported", &f, &len), 0);
	env = decode_whole(f, len, POSTURE__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(env->error->code, POSTURE__V1__ERROR__CODE__CODE_VERSION);
	assert_string_equal(env->error->message, "protocol version 2 is not supported");
	frame_envelope_free(env);

	assert_int_equal(session_frame_error(POSTURE__V1__ERROR__CODE__CODE_UNAVAILABLE,
					     "store is busy; retry", &f, &len), 0);
	env = decode_whole(f, len, POSTURE__V1__ENVELOPE__BODY_ERROR);
	assert_int_equal(env->error->code, POSTURE__V1__ERROR__CODE__CODE_UNAVAILABLE);
	assert_string_equal(env->error->message, "store is busy; retry");
	frame_envelope_free(env);
}

/* A message too large for an outgoing frame is refused, nothing allocated. */
static void test_frame_error_too_big(void **state)
{
	char *over = long_str(128 * 1024);
	uint8_t *f = (uint8_t *)1;
	size_t len = 1;

	(void)state;
	assert_int_equal(session_frame_error(POSTURE__V1__ERROR__CODE__CODE_INTERNAL, over,
					     &f, &len), PST_E_TOOBIG);
	assert_null(f);
	assert_int_equal(len, 0);
	free(over);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_roundtrip),
		cmocka_unit_test(test_report_minimal),
		cmocka_unit_test(test_report_refusals),
		cmocka_unit_test(test_report_sha256_absent),
		cmocka_unit_test(test_report_count_limits),
		cmocka_unit_test(test_report_string_limit),
		cmocka_unit_test(test_hello_v1),
		cmocka_unit_test(test_hello_refusals),
		cmocka_unit_test(test_frames_out),
		cmocka_unit_test(test_frame_error_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
