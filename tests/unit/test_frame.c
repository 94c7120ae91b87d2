/*
 * test_frame.c - the framing module: round trips, every truncation, the
 * limit exactly and one over, garbage and empty payloads, trailing bytes,
 * the incremental reader, its sticky errors and its raised limit, and the fd
 * helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "frame.h"

/* --- sample messages, built on the stack ---------------------------------- */

struct hello_msg {
	Posture__V1__Envelope env;
	Posture__V1__Hello hello;
	Posture__V1__HostFacts facts;
};

static void make_hello(struct hello_msg *m)
{
	posture__v1__envelope__init(&m->env);
	posture__v1__hello__init(&m->hello);
	posture__v1__host_facts__init(&m->facts);
	m->facts.hostname = "web-01.example.net";
	m->facts.os_id = "debian";
	m->facts.os_version = "12";
	m->facts.kernel = "6.1.0-18-amd64";
	m->facts.machine_id = "5c0a1d7e2f4b4c6d8e9f0a1b2c3d4e5f";
	m->facts.root = "/";
	m->facts.architecture = "x86_64";
	m->hello.agent_version = "0.1.0";
	m->hello.protocol_version = 1;
	m->hello.facts = &m->facts;
	m->hello.last_acked_seq = 41;
	m->env.body_case = POSTURE__V1__ENVELOPE__BODY_HELLO;
	m->env.hello = &m->hello;
}

#define NRESULTS 3

struct report_msg {
	Posture__V1__Envelope env;
	Posture__V1__Report report;
	Posture__V1__HostFacts facts;
	Posture__V1__PolicyRef pol[2];
	Posture__V1__PolicyRef *polp[2];
	Posture__V1__CheckResult res[NRESULTS];
	Posture__V1__CheckResult *resp[NRESULTS];
	Posture__V1__Evidence ev[NRESULTS][2];
	Posture__V1__Evidence *evp[NRESULTS][2];
	Posture__V1__ControlMapping cm[NRESULTS];
	Posture__V1__ControlMapping *cmp[NRESULTS];
	char *ids[2];
	uint8_t sha[2][32];
};

static char *const check_ids[NRESULTS] = {
	"ssh.permit-root-login", "pkg.security-updates", "backup.recent"
};
static const Posture__V1__Status statuses[NRESULTS] = {
	POSTURE__V1__STATUS__STATUS_FAIL, POSTURE__V1__STATUS__STATUS_PASS,
	POSTURE__V1__STATUS__STATUS_ERROR
};
static const Posture__V1__Severity severities[NRESULTS] = {
	POSTURE__V1__SEVERITY__SEVERITY_CRITICAL,
	POSTURE__V1__SEVERITY__SEVERITY_HIGH,
	POSTURE__V1__SEVERITY__SEVERITY_LOW
};
static char *const categories[NRESULTS] = {
	"access_control", "patch", "backup"
};

static void make_report(struct report_msg *m)
{
	size_t i, j;

	posture__v1__envelope__init(&m->env);
	posture__v1__report__init(&m->report);
	posture__v1__host_facts__init(&m->facts);
	m->facts.hostname = "db-02";
	m->facts.os_id = "rhel";
	m->facts.os_version = "9.3";
	m->facts.root = "/mnt/image";
	for (i = 0; i < 2; i++) {
		posture__v1__policy_ref__init(&m->pol[i]);
		m->pol[i].id = i == 0 ? "linux-baseline" : "iso27001-extra";
		m->pol[i].version = i == 0 ? "3" : "1.2";
		for (j = 0; j < 32; j++)
			m->sha[i][j] = (uint8_t)(i * 32 + j * 7);
		m->pol[i].sha256.data = m->sha[i];
		m->pol[i].sha256.len = 32;
		m->polp[i] = &m->pol[i];
	}
	m->ids[0] = "A.8.2";
	m->ids[1] = "A.8.5";
	for (i = 0; i < NRESULTS; i++) {
		Posture__V1__CheckResult *r = &m->res[i];

		posture__v1__check_result__init(r);
		r->check_id = check_ids[i];
		r->status = statuses[i];
		r->severity = severities[i];
		r->category = categories[i];
		r->duration_us = 1000 * (i + 1) + 7;
		r->title = "a title";
		r->remediation = "do the thing";
		r->policy_id = "linux-baseline";
		r->reason = i == 2 ? "no backup catalogue found" : "";
		posture__v1__control_mapping__init(&m->cm[i]);
		m->cm[i].framework = "iso27001";
		m->cm[i].n_ids = 2;
		m->cm[i].ids = m->ids;
		m->cmp[i] = &m->cm[i];
		r->n_controls = 1;
		r->controls = &m->cmp[i];
		for (j = 0; j < 2; j++) {
			Posture__V1__Evidence *e = &m->ev[i][j];

			posture__v1__evidence__init(e);
			e->subject = j == 0 ? "/etc/ssh/sshd_config" : "PermitRootLogin";
			e->observed = j == 0 ? "yes" : "";
			e->expected = "no";
			e->location = j == 0 ? "/etc/ssh/sshd_config:32" : "";
			m->evp[i][j] = e;
		}
		r->n_evidence = 2;
		r->evidence = m->evp[i];
		m->resp[i] = r;
	}
	m->report.seq = UINT64_C(18446744073709551000);
	m->report.scan_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
	m->report.n_policies = 2;
	m->report.policies = m->polp;
	m->report.started_at_us = INT64_C(1700000000123456);
	m->report.finished_at_us = INT64_C(-5);
	m->report.n_results = NRESULTS;
	m->report.results = m->resp;
	m->report.facts = &m->facts;
	m->env.body_case = POSTURE__V1__ENVELOPE__BODY_REPORT;
	m->env.report = &m->report;
}

static void make_heartbeat(Posture__V1__Envelope *env, Posture__V1__Heartbeat *hb,
			   uint64_t seq)
{
	posture__v1__envelope__init(env);
	posture__v1__heartbeat__init(hb);
	hb->sent_at_us = 1700000000000000 + (int64_t)seq;
	hb->last_seq = seq;
	env->body_case = POSTURE__V1__ENVELOPE__BODY_HEARTBEAT;
	env->heartbeat = hb;
}

static void check_hello(const Posture__V1__Envelope *got)
{
	const Posture__V1__HostFacts *f;

	assert_non_null(got);
	assert_int_equal(got->body_case, POSTURE__V1__ENVELOPE__BODY_HELLO);
	assert_non_null(got->hello);
	assert_string_equal(got->hello->agent_version, "0.1.0");
	assert_int_equal(got->hello->protocol_version, 1);
	assert_int_equal(got->hello->last_acked_seq, 41);
	f = got->hello->facts;
	assert_non_null(f);
	assert_string_equal(f->hostname, "web-01.example.net");
	assert_string_equal(f->os_id, "debian");
	assert_string_equal(f->os_version, "12");
	assert_string_equal(f->kernel, "6.1.0-18-amd64");
	assert_string_equal(f->machine_id, "5c0a1d7e2f4b4c6d8e9f0a1b2c3d4e5f");
	assert_string_equal(f->root, "/");
	assert_string_equal(f->architecture, "x86_64");
}

static void check_report(const Posture__V1__Envelope *got)
{
	struct report_msg want;
	const Posture__V1__Report *r;
	size_t i, j;

	make_report(&want);
	assert_non_null(got);
	assert_int_equal(got->body_case, POSTURE__V1__ENVELOPE__BODY_REPORT);
	r = got->report;
	assert_non_null(r);
	assert_true(r->seq == want.report.seq);
	assert_string_equal(r->scan_id, want.report.scan_id);
	assert_true(r->started_at_us == want.report.started_at_us);
	assert_true(r->finished_at_us == want.report.finished_at_us);
	assert_non_null(r->facts);
	assert_string_equal(r->facts->hostname, "db-02");
	assert_string_equal(r->facts->os_id, "rhel");
	assert_string_equal(r->facts->os_version, "9.3");
	assert_string_equal(r->facts->kernel, "");
	assert_string_equal(r->facts->root, "/mnt/image");
	assert_int_equal(r->n_policies, 2);
	for (i = 0; i < 2; i++) {
		assert_string_equal(r->policies[i]->id, want.pol[i].id);
		assert_string_equal(r->policies[i]->version, want.pol[i].version);
		assert_int_equal(r->policies[i]->sha256.len, 32);
		assert_memory_equal(r->policies[i]->sha256.data, want.sha[i], 32);
	}
	assert_int_equal(r->n_results, NRESULTS);
	for (i = 0; i < NRESULTS; i++) {
		const Posture__V1__CheckResult *c = r->results[i];

		assert_string_equal(c->check_id, check_ids[i]);
		assert_int_equal(c->status, statuses[i]);
		assert_int_equal(c->severity, severities[i]);
		assert_string_equal(c->category, categories[i]);
		assert_int_equal(c->duration_us, 1000 * (i + 1) + 7);
		assert_string_equal(c->title, "a title");
		assert_string_equal(c->remediation, "do the thing");
		assert_string_equal(c->policy_id, "linux-baseline");
		assert_string_equal(c->reason, want.res[i].reason);
		assert_int_equal(c->n_controls, 1);
		assert_string_equal(c->controls[0]->framework, "iso27001");
		assert_int_equal(c->controls[0]->n_ids, 2);
		assert_string_equal(c->controls[0]->ids[0], "A.8.2");
		assert_string_equal(c->controls[0]->ids[1], "A.8.5");
		assert_int_equal(c->n_evidence, 2);
		for (j = 0; j < 2; j++) {
			const Posture__V1__Evidence *e = c->evidence[j];

			assert_string_equal(e->subject, want.ev[i][j].subject);
			assert_string_equal(e->observed, want.ev[i][j].observed);
			assert_string_equal(e->expected, want.ev[i][j].expected);
			assert_string_equal(e->location, want.ev[i][j].location);
		}
	}
}

static void check_heartbeat(const Posture__V1__Envelope *got, uint64_t seq)
{
	assert_non_null(got);
	assert_int_equal(got->body_case, POSTURE__V1__ENVELOPE__BODY_HEARTBEAT);
	assert_int_equal(got->heartbeat->last_seq, seq);
	assert_true(got->heartbeat->sent_at_us == 1700000000000000 + (int64_t)seq);
}

/* A frame with the given payload, header written from its length. */
static uint8_t *raw_frame(const uint8_t *payload, size_t n, size_t *len)
{
	uint8_t *f = malloc(FRAME_HEADER_LEN + n + 1);

	assert_non_null(f);
	f[0] = (uint8_t)(n >> 24);
	f[1] = (uint8_t)(n >> 16);
	f[2] = (uint8_t)(n >> 8);
	f[3] = (uint8_t)n;
	if (n > 0)
		memcpy(f + FRAME_HEADER_LEN, payload, n);
	*len = FRAME_HEADER_LEN + n;
	return f;
}

static uint8_t *encode_ok(const Posture__V1__Envelope *env, size_t *len)
{
	uint8_t *f = NULL;

	assert_int_equal(frame_encode(env, FRAME_DEFAULT_MAX, &f, len), 0);
	assert_non_null(f);
	return f;
}

/* --- tests ------------------------------------------------------------------ */

static void test_roundtrip_hello(void **state)
{
	struct hello_msg m;
	Posture__V1__Envelope *got;
	uint8_t *f;
	size_t len, consumed, plen;

	(void)state;
	make_hello(&m);
	f = encode_ok(&m.env, &len);
	plen = posture__v1__envelope__get_packed_size(&m.env);
	assert_int_equal(len, FRAME_HEADER_LEN + plen);
	assert_int_equal(f[0], 0);
	assert_int_equal(f[1], 0);
	assert_int_equal(f[2], (plen >> 8) & 0xff);
	assert_int_equal(f[3], plen & 0xff);
	assert_int_equal(frame_peek_header(f, len, FRAME_DEFAULT_MAX, &plen), 0);
	assert_int_equal(plen, len - FRAME_HEADER_LEN);
	assert_int_equal(frame_decode(f, len, FRAME_DEFAULT_MAX, &got, &consumed), 0);
	assert_int_equal(consumed, len);
	check_hello(got);
	frame_envelope_free(got);
	free(f);
}

static void test_roundtrip_report(void **state)
{
	struct report_msg m;
	Posture__V1__Envelope *got;
	uint8_t *f;
	size_t len, consumed;

	(void)state;
	make_report(&m);
	f = encode_ok(&m.env, &len);
	assert_int_equal(frame_decode(f, len, FRAME_DEFAULT_MAX, &got, &consumed), 0);
	assert_int_equal(consumed, len);
	check_report(got);
	frame_envelope_free(got);
	free(f);
}

static void test_truncated_every_prefix(void **state)
{
	struct report_msg m;
	Posture__V1__Envelope *got;
	uint8_t *f, *copy;
	size_t len, i, consumed, plen;

	(void)state;
	make_report(&m);
	f = encode_ok(&m.env, &len);
	for (i = 0; i < len; i++) {
		/* A copy of exactly i bytes, so ASan catches a read past it. */
		copy = malloc(i > 0 ? i : 1);
		assert_non_null(copy);
		memcpy(copy, f, i);
		got = (Posture__V1__Envelope *)1;
		consumed = 99;
		assert_int_equal(frame_decode(copy, i, FRAME_DEFAULT_MAX, &got, &consumed),
				 PST_E_TRUNC);
		assert_null(got);
		assert_int_equal(consumed, 0);
		plen = 99;
		assert_int_equal(frame_peek_header(copy, i, FRAME_DEFAULT_MAX, &plen),
				 i < FRAME_HEADER_LEN ? PST_E_TRUNC : 0);
		assert_int_equal(plen, i < FRAME_HEADER_LEN ? 0 : len - FRAME_HEADER_LEN);
		free(copy);
	}
	assert_int_equal(frame_decode(NULL, 0, FRAME_DEFAULT_MAX, &got, &consumed),
			 PST_E_TRUNC);
	free(f);
}

/* An Envelope whose payload packs to exactly `want` bytes. */
static void make_bundle(Posture__V1__Envelope *env, Posture__V1__PolicyBundle *b,
			Posture__V1__PolicyFile *pf, Posture__V1__PolicyFile **pfp,
			uint8_t *content, size_t want)
{
	size_t size;

	posture__v1__envelope__init(env);
	posture__v1__policy_bundle__init(b);
	posture__v1__policy_file__init(pf);
	pf->name = "big.json";
	pf->content.data = content;
	*pfp = pf;
	b->bundle_id = "b1";
	b->n_policies = 1;
	b->policies = pfp;
	env->body_case = POSTURE__V1__ENVELOPE__BODY_POLICY_BUNDLE;
	env->policy_bundle = b;
	pf->content.len = want - 64;
	/* Varint lengths do not change near the target, so one step converges. */
	for (;;) {
		size = posture__v1__envelope__get_packed_size(env);
		if (size == want)
			break;
		pf->content.len += want - size;
	}
}

static void test_limit_exact_and_one_over(void **state)
{
	Posture__V1__Envelope env, *got;
	Posture__V1__PolicyBundle b;
	Posture__V1__PolicyFile pf, *pfp;
	uint8_t *content, *f, hdr[FRAME_HEADER_LEN];
	size_t len, consumed, plen;

	(void)state;
	content = calloc(1, FRAME_DEFAULT_MAX);
	assert_non_null(content);
	content[0] = '{';
	make_bundle(&env, &b, &pf, &pfp, content, FRAME_DEFAULT_MAX);

	/* Exactly at the limit: accepted both ways. */
	f = encode_ok(&env, &len);
	assert_int_equal(len, FRAME_HEADER_LEN + FRAME_DEFAULT_MAX);
	assert_int_equal(f[0], 0x00);
	assert_int_equal(f[1], 0x40);
	assert_int_equal(f[2], 0x00);
	assert_int_equal(f[3], 0x00);
	assert_int_equal(frame_decode(f, len, FRAME_DEFAULT_MAX, &got, &consumed), 0);
	assert_int_equal(consumed, len);
	assert_int_equal(got->body_case, POSTURE__V1__ENVELOPE__BODY_POLICY_BUNDLE);
	assert_int_equal(got->policy_bundle->policies[0]->content.len, pf.content.len);
	frame_envelope_free(got);

	/* One under the payload size: refused on both sides. */
	assert_int_equal(frame_decode(f, len, FRAME_DEFAULT_MAX - 1, &got, &consumed),
			 PST_E_TOOBIG);
	assert_null(got);
	assert_int_equal(consumed, 0);
	free(f);
	f = (uint8_t *)1;
	len = 99;
	assert_int_equal(frame_encode(&env, FRAME_DEFAULT_MAX - 1, &f, &len),
			 PST_E_TOOBIG);
	assert_null(f);
	assert_int_equal(len, 0);
	free(content);

	/* A header alone decides: max+1 is refused with no payload present. */
	hdr[0] = 0x00, hdr[1] = 0x40, hdr[2] = 0x00, hdr[3] = 0x01;
	assert_int_equal(frame_peek_header(hdr, 4, FRAME_DEFAULT_MAX, &plen), PST_E_TOOBIG);
	assert_int_equal(plen, 0);
	assert_int_equal(frame_decode(hdr, 4, FRAME_DEFAULT_MAX, &got, &consumed),
			 PST_E_TOOBIG);
	hdr[3] = 0x00;
	assert_int_equal(frame_peek_header(hdr, 4, FRAME_DEFAULT_MAX, &plen), 0);
	assert_int_equal(plen, FRAME_DEFAULT_MAX);
	assert_int_equal(frame_decode(hdr, 4, FRAME_DEFAULT_MAX, &got, &consumed),
			 PST_E_TRUNC);

	/* Small limits: declared 10 with max 9 and max 10. */
	hdr[0] = 0, hdr[1] = 0, hdr[2] = 0, hdr[3] = 10;
	assert_int_equal(frame_peek_header(hdr, 4, 9, &plen), PST_E_TOOBIG);
	assert_int_equal(frame_peek_header(hdr, 4, 10, &plen), 0);
	assert_int_equal(plen, 10);

	/* The wire length is 32 bits: the largest one is within a huge max. */
	hdr[0] = 0xff, hdr[1] = 0xff, hdr[2] = 0xff, hdr[3] = 0xff;
	assert_int_equal(frame_peek_header(hdr, 4, SIZE_MAX, &plen), 0);
	assert_int_equal(plen, 0xffffffffu);
	assert_int_equal(frame_peek_header(hdr, 4, FRAME_DEFAULT_MAX, &plen), PST_E_TOOBIG);
}

static const struct {
	const char *what;
	size_t n;
	uint8_t bytes[16];
} garbage[] = {
	{ "varint that never ends", 10,
	  { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
	{ "wire type 6", 2, { 0x0e, 0x00 } },
	{ "wire type 7", 2, { 0x0f, 0x00 } },
	{ "field number 0", 2, { 0x02, 0x00 } },
	{ "hello longer than the payload", 3, { 0x0a, 0x7f, 0x00 } },
	{ "hello cut inside its facts", 6, { 0x0a, 0x04, 0x1a, 0x05, 0x0a, 0x01 } },
	{ "report as a varint", 2, { 0x18, 0x01 } },
	{ "hello as fixed64", 9, { 0x09, 1, 2, 3, 4, 5, 6, 7, 8 } },
	{ "tag cut short", 1, { 0x80 } },
	{ "string length past the end", 5, { 0x0a, 0x03, 0x0a, 0x09, 0x41 } },
	/* Field number 0 as a non-minimal varint: protobuf-c keeps it as an unknown field. */
	{ "field number 0, long form, beside a body", 5, { 0x12, 0x00, 0x80, 0x00, 0x00 } },
	{ "field number 0, long form, inside hello", 6, { 0x0a, 0x04, 0x80, 0x00, 0x00, 0x00 } },
	{ "field number 0, long form, inside hello's facts", 8,
	  { 0x0a, 0x06, 0x1a, 0x04, 0x80, 0x00, 0x00, 0x00 } },
};

static void test_garbage_payload(void **state)
{
	Posture__V1__Envelope *got;
	uint8_t *f, payload[64];
	size_t len, consumed, i, k, n;
	uint32_t x = 0x2545f491u;

	(void)state;
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		f = raw_frame(garbage[i].bytes, garbage[i].n, &len);
		got = (Posture__V1__Envelope *)1;
		consumed = 99;
		if (frame_decode(f, len, FRAME_DEFAULT_MAX, &got, &consumed) != PST_E_PROTO)
			fail_msg("garbage case \"%s\" not refused", garbage[i].what);
		assert_null(got);
		assert_int_equal(consumed, 0);
		free(f);
	}
	/*
	 * Pseudo-random payloads that start with an invalid wire type: each
	 * must be refused, and whatever follows must not matter.
	 */
	for (i = 0; i < 2000; i++) {
		n = 1 + i % sizeof(payload);
		for (k = 0; k < n; k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			payload[k] = (uint8_t)x;
		}
		payload[0] = (uint8_t)((payload[0] & 0xf0) | 0x07);
		f = raw_frame(payload, n, &len);
		assert_int_equal(frame_decode(f, len, FRAME_DEFAULT_MAX, &got, &consumed),
				 PST_E_PROTO);
		assert_null(got);
		free(f);
	}
}

static void test_zero_length(void **state)
{
	static const uint8_t zero[] = { 0, 0, 0, 0, 0x0a, 0x00 };
	Posture__V1__Envelope *got;
	size_t consumed, plen;

	(void)state;
	assert_int_equal(frame_peek_header(zero, 4, FRAME_DEFAULT_MAX, &plen), PST_E_PROTO);
	assert_int_equal(plen, 0);
	assert_int_equal(frame_decode(zero, 4, FRAME_DEFAULT_MAX, &got, &consumed),
			 PST_E_PROTO);
	assert_int_equal(frame_decode(zero, sizeof(zero), FRAME_DEFAULT_MAX, &got,
				      &consumed), PST_E_PROTO);
	assert_null(got);
	assert_int_equal(consumed, 0);
}

static void test_no_body(void **state)
{
	/* Field 15 (unknown to v1) as a varint, and nothing else. */
	static const uint8_t unknown_only[] = { 0x78, 0x01 };
	Posture__V1__Envelope env, *got;
	uint8_t *f;
	size_t len, consumed;

	(void)state;
	posture__v1__envelope__init(&env);
	f = (uint8_t *)1;
	assert_int_equal(frame_encode(&env, FRAME_DEFAULT_MAX, &f, &len), PST_E_INVAL);
	assert_null(f);
	assert_int_equal(len, 0);

	f = raw_frame(unknown_only, sizeof(unknown_only), &len);
	assert_int_equal(frame_decode(f, len, FRAME_DEFAULT_MAX, &got, &consumed),
			 PST_E_PROTO);
	assert_null(got);
	assert_int_equal(consumed, 0);
	free(f);

	/* An empty body is still a body: Hello with all defaults. */
	{
		static const uint8_t empty_hello[] = { 0x0a, 0x00 };

		f = raw_frame(empty_hello, sizeof(empty_hello), &len);
		assert_int_equal(frame_decode(f, len, FRAME_DEFAULT_MAX, &got, &consumed), 0);
		assert_int_equal(consumed, 6);
		assert_int_equal(got->body_case, POSTURE__V1__ENVELOPE__BODY_HELLO);
		assert_string_equal(got->hello->agent_version, "");
		frame_envelope_free(got);
		free(f);
	}
}

static void test_encode_over_limit(void **state)
{
	struct hello_msg m;
	uint8_t *f;
	size_t len, plen;

	(void)state;
	make_hello(&m);
	plen = posture__v1__envelope__get_packed_size(&m.env);
	f = (uint8_t *)1;
	len = 99;
	assert_int_equal(frame_encode(&m.env, plen - 1, &f, &len), PST_E_TOOBIG);
	assert_null(f);
	assert_int_equal(len, 0);
	assert_int_equal(frame_encode(&m.env, plen, &f, &len), 0);
	assert_int_equal(len, FRAME_HEADER_LEN + plen);
	free(f);
	assert_int_equal(frame_encode(NULL, plen, &f, &len), PST_E_INVAL);
	assert_int_equal(frame_encode(&m.env, plen, NULL, &len), PST_E_INVAL);
	frame_envelope_free(NULL);
}

static void test_trailing_bytes(void **state)
{
	struct hello_msg h;
	struct report_msg r;
	Posture__V1__Envelope *got;
	uint8_t *f1, *f2, *all;
	size_t l1, l2, total, consumed;

	(void)state;
	make_hello(&h);
	make_report(&r);
	f1 = encode_ok(&h.env, &l1);
	f2 = encode_ok(&r.env, &l2);
	total = l1 + l2 + 3;
	all = malloc(total);
	assert_non_null(all);
	memcpy(all, f1, l1);
	memcpy(all + l1, f2, l2);
	memcpy(all + l1 + l2, f2, 3);

	assert_int_equal(frame_decode(all, total, FRAME_DEFAULT_MAX, &got, &consumed), 0);
	assert_int_equal(consumed, l1);
	check_hello(got);
	frame_envelope_free(got);

	assert_int_equal(frame_decode(all + l1, total - l1, FRAME_DEFAULT_MAX, &got,
				      &consumed), 0);
	assert_int_equal(consumed, l2);
	check_report(got);
	frame_envelope_free(got);

	assert_int_equal(frame_decode(all + l1 + l2, 3, FRAME_DEFAULT_MAX, &got,
				      &consumed), PST_E_TRUNC);
	assert_int_equal(consumed, 0);
	free(all);
	free(f1);
	free(f2);
}

/* hello, report, heartbeat 1, heartbeat 2, report: ends[i] is frame i's end. */
#define NSTREAM 5

static uint8_t *make_stream(size_t *total, size_t ends[NSTREAM])
{
	struct hello_msg h;
	struct report_msg r;
	Posture__V1__Envelope hb_env;
	Posture__V1__Heartbeat hb;
	const Posture__V1__Envelope *envs[NSTREAM];
	uint8_t *all = NULL, *f;
	size_t i, len;

	make_hello(&h);
	make_report(&r);
	envs[0] = &h.env;
	envs[1] = &r.env;
	envs[4] = &r.env;
	*total = 0;
	for (i = 0; i < NSTREAM; i++) {
		if (i == 2 || i == 3) {
			make_heartbeat(&hb_env, &hb, i - 1);
			envs[i] = &hb_env;
		}
		f = encode_ok(envs[i], &len);
		all = realloc(all, *total + len);
		assert_non_null(all);
		memcpy(all + *total, f, len);
		*total += len;
		ends[i] = *total;
		free(f);
	}
	return all;
}

static void check_stream_frame(size_t i, Posture__V1__Envelope *got)
{
	if (i == 0)
		check_hello(got);
	else if (i == 1 || i == 4)
		check_report(got);
	else
		check_heartbeat(got, i - 1);
}

static void test_reader_bytewise(void **state)
{
	struct frame_reader r;
	Posture__V1__Envelope *got;
	uint8_t *all;
	size_t total, ends[NSTREAM], i, nframes = 0;

	(void)state;
	all = make_stream(&total, ends);
	frame_reader_init(&r, FRAME_DEFAULT_MAX);
	assert_int_equal(frame_reader_next(&r, &got), 0);
	assert_null(got);
	for (i = 0; i < total; i++) {
		assert_int_equal(frame_reader_feed(&r, all + i, 1), 0);
		assert_int_equal(frame_reader_next(&r, &got), 0);
		if (nframes < NSTREAM && i + 1 == ends[nframes]) {
			/* Exactly when its last byte arrives, with its size on the wire. */
			check_stream_frame(nframes, got);
			assert_int_equal(frame_reader_last_size(&r),
					 ends[nframes] - (nframes ? ends[nframes - 1] : 0));
			frame_envelope_free(got);
			nframes++;
			assert_int_equal(frame_reader_next(&r, &got), 0);
		}
		assert_null(got);
	}
	assert_int_equal(nframes, NSTREAM);
	frame_reader_cleanup(&r);
	free(all);
}

static void test_reader_chunks(void **state)
{
	static const size_t chunks[] = { 0, 7, 64, 1000 };
	struct frame_reader r;
	Posture__V1__Envelope *got;
	uint8_t *all;
	size_t total, ends[NSTREAM], c, off, n, nframes;

	(void)state;
	all = make_stream(&total, ends);
	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		frame_reader_init(&r, FRAME_DEFAULT_MAX);
		nframes = 0;
		/* Chunk size 0 means the whole stream in one feed. */
		for (off = 0; off < total; off += n) {
			n = chunks[c] == 0 ? total : chunks[c];
			if (n > total - off)
				n = total - off;
			assert_int_equal(frame_reader_feed(&r, all + off, n), 0);
			for (;;) {
				assert_int_equal(frame_reader_next(&r, &got), 0);
				if (got == NULL)
					break;
				assert_true(nframes < NSTREAM);
				assert_true(ends[nframes] <= off + n);
				check_stream_frame(nframes, got);
				frame_envelope_free(got);
				nframes++;
			}
		}
		assert_int_equal(nframes, NSTREAM);
		assert_int_equal(frame_reader_feed(&r, all, 0), 0);
		assert_int_equal(frame_reader_next(&r, &got), 0);
		assert_null(got);
		frame_reader_cleanup(&r);
	}
	free(all);
}

/* Feeding without draining stops at the buffer's ceiling, harmlessly. */
static void test_reader_ceiling(void **state)
{
	struct frame_reader r;
	Posture__V1__Envelope env, *got;
	Posture__V1__Heartbeat hb;
	uint8_t *f;
	size_t len, fed = 0, taken = 0;
	int rc;

	(void)state;
	make_heartbeat(&env, &hb, 7);
	f = encode_ok(&env, &len);
	frame_reader_init(&r, 16);
	/* Bounded, so that a reader with no ceiling fails instead of hanging. */
	do {
		rc = frame_reader_feed(&r, f, len);
	} while (rc == 0 && ++fed < 100000);
	assert_int_equal(rc, PST_E_LIMIT);
	assert_int_equal(fed, (2 * (16 + FRAME_HEADER_LEN) + FRAME_READER_SLACK) / len);
	for (;;) {
		assert_int_equal(frame_reader_next(&r, &got), 0);
		if (got == NULL)
			break;
		check_heartbeat(got, 7);
		frame_envelope_free(got);
		taken++;
	}
	assert_int_equal(taken, fed);
	/* The stream is intact: the refused chunk can be fed again. */
	assert_int_equal(frame_reader_feed(&r, f, len), 0);
	assert_int_equal(frame_reader_next(&r, &got), 0);
	check_heartbeat(got, 7);
	frame_envelope_free(got);
	frame_reader_cleanup(&r);
	free(f);
}

static void test_reader_sticky(void **state)
{
	static const uint8_t toobig[] = { 0, 0, 1, 1, 0x0a, 0x00, 0x0a, 0x00 };
	static const uint8_t zero[] = { 0, 0, 0, 0 };
	static const uint8_t bad[] = { 0, 0, 0, 2, 0x0f, 0x00 };
	struct hello_msg h;
	struct frame_reader r;
	Posture__V1__Envelope *got;
	uint8_t *f;
	size_t len;

	(void)state;
	make_hello(&h);
	f = encode_ok(&h.env, &len);

	/* Over the limit: refused as the header arrives, payload not kept. */
	frame_reader_init(&r, 256);
	assert_int_equal(frame_reader_feed(&r, f, len), 0);
	assert_int_equal(frame_reader_feed(&r, toobig, sizeof(toobig)), PST_E_TOOBIG);
	assert_true(r.buf.len <= FRAME_HEADER_LEN);
	got = (Posture__V1__Envelope *)1;
	assert_int_equal(frame_reader_next(&r, &got), PST_E_TOOBIG);
	assert_null(got);
	assert_int_equal(frame_reader_feed(&r, f, len), PST_E_TOOBIG);
	assert_int_equal(frame_reader_next(&r, &got), PST_E_TOOBIG);
	frame_reader_cleanup(&r);

	/* Exactly at the limit is fine: 257 declared, max 257. */
	frame_reader_init(&r, 257);
	assert_int_equal(frame_reader_feed(&r, toobig, 4), 0);
	assert_int_equal(frame_reader_next(&r, &got), 0);
	assert_null(got);
	frame_reader_cleanup(&r);

	/* Zero length. */
	frame_reader_init(&r, 256);
	assert_int_equal(frame_reader_feed(&r, zero, 2), 0);
	assert_int_equal(frame_reader_feed(&r, zero + 2, 2), PST_E_PROTO);
	assert_int_equal(frame_reader_next(&r, &got), PST_E_PROTO);
	assert_int_equal(frame_reader_feed(&r, f, len), PST_E_PROTO);
	frame_reader_cleanup(&r);

	/* A payload that does not decode: found by next, sticky from then on. */
	frame_reader_init(&r, 256);
	assert_int_equal(frame_reader_feed(&r, f, len), 0);
	assert_int_equal(frame_reader_feed(&r, bad, sizeof(bad)), 0);
	assert_int_equal(frame_reader_feed(&r, f, len), 0);
	assert_int_equal(frame_reader_next(&r, &got), 0);
	check_hello(got);
	frame_envelope_free(got);
	assert_int_equal(frame_reader_next(&r, &got), PST_E_PROTO);
	assert_null(got);
	assert_int_equal(frame_reader_next(&r, &got), PST_E_PROTO);
	assert_null(got);
	assert_int_equal(frame_reader_feed(&r, f, len), PST_E_PROTO);
	frame_reader_cleanup(&r);
	free(f);
}

static void write_all(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void test_fd_pipe(void **state)
{
	struct hello_msg h;
	struct report_msg rep;
	Posture__V1__Envelope hb_env, *got;
	Posture__V1__Heartbeat hb;
	uint8_t *f;
	size_t len;
	int p[2];

	(void)state;
	make_hello(&h);
	make_report(&rep);
	make_heartbeat(&hb_env, &hb, 3);

	/* Three frames, then a clean end of file. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(frame_write_fd(p[1], &h.env, FRAME_DEFAULT_MAX), 0);
	assert_int_equal(frame_write_fd(p[1], &rep.env, FRAME_DEFAULT_MAX), 0);
	assert_int_equal(frame_write_fd(p[1], &hb_env, FRAME_DEFAULT_MAX), 0);
	/* Refused before a byte is written. */
	assert_int_equal(frame_write_fd(p[1], &rep.env, 10), PST_E_TOOBIG);
	close(p[1]);
	assert_int_equal(frame_read_fd(p[0], FRAME_DEFAULT_MAX, &got), 0);
	check_hello(got);
	frame_envelope_free(got);
	assert_int_equal(frame_read_fd(p[0], FRAME_DEFAULT_MAX, &got), 0);
	check_report(got);
	frame_envelope_free(got);
	assert_int_equal(frame_read_fd(p[0], FRAME_DEFAULT_MAX, &got), 0);
	check_heartbeat(got, 3);
	frame_envelope_free(got);
	got = (Posture__V1__Envelope *)1;
	assert_int_equal(frame_read_fd(p[0], FRAME_DEFAULT_MAX, &got), 1);
	assert_null(got);
	close(p[0]);

	/* End of file inside the payload, and inside the header. */
	f = encode_ok(&h.env, &len);
	assert_int_equal(pipe(p), 0);
	write_all(p[1], f, len - 1);
	close(p[1]);
	assert_int_equal(frame_read_fd(p[0], FRAME_DEFAULT_MAX, &got), PST_E_TRUNC);
	assert_null(got);
	close(p[0]);
	assert_int_equal(pipe(p), 0);
	write_all(p[1], f, 2);
	close(p[1]);
	assert_int_equal(frame_read_fd(p[0], FRAME_DEFAULT_MAX, &got), PST_E_TRUNC);
	close(p[0]);

	/* Oversized header: refused on the header alone. */
	assert_int_equal(pipe(p), 0);
	write_all(p[1], f, len);
	close(p[1]);
	assert_int_equal(frame_read_fd(p[0], len - FRAME_HEADER_LEN - 1, &got),
			 PST_E_TOOBIG);
	assert_null(got);
	close(p[0]);

	/* Garbage payload and zero length. */
	assert_int_equal(pipe(p), 0);
	write_all(p[1], "\0\0\0\2\x0f\0", 6);
	write_all(p[1], "\0\0\0\0", 4);
	close(p[1]);
	assert_int_equal(frame_read_fd(p[0], FRAME_DEFAULT_MAX, &got), PST_E_PROTO);
	assert_int_equal(frame_read_fd(p[0], FRAME_DEFAULT_MAX, &got), PST_E_PROTO);
	close(p[0]);

	/* A bad descriptor is a system error, not a crash. */
	assert_int_equal(frame_read_fd(-1, FRAME_DEFAULT_MAX, &got), PST_E_SYS);
	assert_int_equal(frame_write_fd(-1, &h.env, FRAME_DEFAULT_MAX), PST_E_SYS);
	free(f);
}

/*
 * A connection reads with a small limit until its peer has said Hello, then
 * raises it: what is already buffered stays, later headers meet the new
 * limit, and the buffer's ceiling grows with it.
 */
static void test_reader_raise_max(void **state)
{
	enum { SMALL = 64 };
	struct report_msg m;
	struct frame_reader r;
	Posture__V1__Envelope hb_env, b_env, *got;
	Posture__V1__Heartbeat hb;
	Posture__V1__PolicyBundle b;
	Posture__V1__PolicyFile pf, *pfp;
	uint8_t *fr, *fh, *fb, *content, *both;
	size_t lr, lh, lb, want;

	(void)state;
	make_report(&m);
	fr = encode_ok(&m.env, &lr);
	make_heartbeat(&hb_env, &hb, 3);
	fh = encode_ok(&hb_env, &lh);
	assert_true(lr - FRAME_HEADER_LEN > SMALL);
	assert_true(lh - FRAME_HEADER_LEN <= SMALL);
	both = malloc(lh + lr);
	assert_non_null(both);
	memcpy(both, fh, lh);
	memcpy(both + lh, fr, lr);

	/* At the small limit the report is refused as its header arrives. */
	frame_reader_init(&r, SMALL);
	assert_int_equal(frame_reader_feed(&r, both, lh + lr), PST_E_TOOBIG);
	assert_int_equal(frame_reader_next(&r, &got), PST_E_TOOBIG);
	assert_null(got);
	frame_reader_cleanup(&r);

	/* Raised with a heartbeat and three bytes of the report's header buffered. */
	frame_reader_init(&r, SMALL);
	assert_int_equal(frame_reader_feed(&r, both, lh + 3), 0);
	assert_int_equal(frame_reader_next(&r, &got), 0);
	check_heartbeat(got, 3);
	frame_envelope_free(got);
	assert_int_equal(frame_reader_next(&r, &got), 0);
	assert_null(got);
	assert_int_equal(frame_reader_raise_max(&r, FRAME_DEFAULT_MAX), 0);
	assert_int_equal(frame_reader_feed(&r, both + lh + 3, lr - 3), 0);
	assert_int_equal(frame_reader_next(&r, &got), 0);
	check_report(got);
	frame_envelope_free(got);
	assert_int_equal(frame_reader_next(&r, &got), 0);
	assert_null(got);

	/* Lowering is refused and leaves the limit as it was; the same limit is fine. */
	assert_int_equal(frame_reader_raise_max(&r, SMALL), PST_E_INVAL);
	assert_int_equal(frame_reader_raise_max(&r, FRAME_DEFAULT_MAX - 1), PST_E_INVAL);
	assert_int_equal(frame_reader_raise_max(&r, FRAME_DEFAULT_MAX), 0);

	/* A frame larger than the old buffer ceiling now goes in whole. */
	want = 2 * (SMALL + FRAME_HEADER_LEN) + FRAME_READER_SLACK + 1;
	content = calloc(1, want);
	assert_non_null(content);
	make_bundle(&b_env, &b, &pf, &pfp, content, want);
	fb = encode_ok(&b_env, &lb);
	assert_int_equal(frame_reader_feed(&r, fb, lb), 0);
	assert_int_equal(frame_reader_next(&r, &got), 0);
	assert_non_null(got);
	assert_int_equal(got->body_case, POSTURE__V1__ENVELOPE__BODY_POLICY_BUNDLE);
	assert_int_equal(got->policy_bundle->n_policies, 1);
	assert_int_equal(got->policy_bundle->policies[0]->content.len, pf.content.len);
	frame_envelope_free(got);
	frame_reader_cleanup(&r);

	free(fb);
	free(content);
	free(both);
	free(fh);
	free(fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_hello),
		cmocka_unit_test(test_roundtrip_report),
		cmocka_unit_test(test_truncated_every_prefix),
		cmocka_unit_test(test_limit_exact_and_one_over),
		cmocka_unit_test(test_garbage_payload),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_no_body),
		cmocka_unit_test(test_encode_over_limit),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_reader_bytewise),
		cmocka_unit_test(test_reader_chunks),
		cmocka_unit_test(test_reader_ceiling),
		cmocka_unit_test(test_reader_sticky),
		cmocka_unit_test(test_reader_raise_max),
		cmocka_unit_test(test_fd_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
