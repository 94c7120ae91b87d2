/*
 * test_engine.c - evaluation: match modes, applicability, probe errors,
 * absent values, counts, and the evidence a person reads; plus the three
 * output forms of a scan (document, table, protobuf).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "posture/v1/posture.pb-c.h"
#include "report.h"
#include "testutil.h"

struct fx {
	char *root;
	struct rootfs r;
	struct policy *p;
	struct scan s;
	bool scanned;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->root = tu_mkdtemp();
	assert_int_equal(tu_write(f->root, "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0644), 0);
	assert_int_equal(tu_write(f->root, "etc/hostname", "web-1\n", 0644), 0);
	assert_int_equal(tu_write(f->root, "etc/app.conf",
				  "# app\nmode = strict\nretries = 7\nlisten = 0.0.0.0\n", 0644), 0);
	assert_int_equal(tu_write(f->root, "etc/secret", "s3cret\n", 0666), 0);
	assert_int_equal(rootfs_open(&f->r, f->root, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->scanned)
		engine_scan_cleanup(&f->s);
	policy_free(f->p);
	rootfs_close(&f->r);
	tu_rmrf(f->root);
	free(f->root);
	free(f);
	return 0;
}

#define HEAD "{\"id\": \"t\", \"version\": \"1.2\", \"title\": \"T\", "
#define CHECK(id, extra, rules) \
	"{\"id\": \"" id "\", \"title\": \"" id " title\", \"severity\": \"high\", " \
	"\"category\": \"access_control\", \"remediation\": \"fix " id "\", " extra " \"rules\": [" rules "]}"
#define LINE_IS(re) "{\"probe\": \"file_content\", \"path\": \"/etc/app.conf\", \"pattern\": \"" re "\", \"op\": \"exists\"}"
#define KV(key, op, val) "{\"probe\": \"keyvalue\", \"path\": \"/etc/app.conf\", \"style\": \"equals\", " \
	"\"key\": \"" key "\", \"op\": \"" op "\", \"value\": " val "}"

static void scan(struct fx *f, const char *doc)
{
	struct pst_err e = {0};
	struct probe_ctx ctx = {0};
	struct hostinfo h;

	if (policy_load_buffer("t.json", doc, strlen(doc), &f->p, &e) != 0)
		fail_msg("%s", e.msg);
	ctx.root = &f->r;
	hostinfo_read(&h, &f->r);
	assert_int_equal(engine_scan(&f->s, &f->p, 1, &ctx, &h), 0);
	f->scanned = true;
}

static const struct check_result *result(struct fx *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->s.nresults; i++)
		if (strcmp(f->s.results[i].check->id, id) == 0)
			return &f->s.results[i];
	fail_msg("no result for %s", id);
	return NULL;
}

static void match_modes(void **state)
{
	struct fx *f = *state;

	scan(f, HEAD "\"checks\": ["
	     CHECK("all.pass", "", LINE_IS("^mode") "," LINE_IS("^retries")) ","
	     CHECK("all.fail", "", LINE_IS("^mode") "," LINE_IS("^nothing")) ","
	     CHECK("any.pass", "\"match\": \"any\",", LINE_IS("^nothing") "," LINE_IS("^mode")) ","
	     CHECK("any.fail", "\"match\": \"any\",", LINE_IS("^nothing") "," LINE_IS("^nada")) ","
	     CHECK("none.pass", "\"match\": \"none\",", LINE_IS("^nothing")) ","
	     CHECK("none.fail", "\"match\": \"none\",", LINE_IS("^listen")) "]}");
	assert_int_equal(result(f, "all.pass")->status, CHECK_PASS);
	assert_int_equal(result(f, "all.fail")->status, CHECK_FAIL);
	assert_int_equal(result(f, "any.pass")->status, CHECK_PASS);
	assert_int_equal(result(f, "any.fail")->status, CHECK_FAIL);
	assert_int_equal(result(f, "none.pass")->status, CHECK_PASS);
	assert_int_equal(result(f, "none.fail")->status, CHECK_FAIL);
	/* Evidence says which items disagree with their rule; under "none" a holding rule does. */
	assert_int_equal(result(f, "all.fail")->nev, 2);
	assert_true(result(f, "all.fail")->ev[0].ok);
	assert_false(result(f, "all.fail")->ev[1].ok);
	assert_string_equal(result(f, "all.fail")->ev[1].observed, "nothing");
	assert_false(result(f, "none.fail")->ev[0].ok);
	assert_string_equal(result(f, "none.fail")->ev[0].location, "/etc/app.conf:4");
	assert_int_equal(f->s.counts[CHECK_PASS], 3);
	assert_int_equal(f->s.counts[CHECK_FAIL], 3);
}

static void probe_error_is_error_never_pass(void **state)
{
	struct fx *f = *state;
	const struct check_result *r;

	/* The file is missing: the probe cannot read what it needs. */
	scan(f, HEAD "\"checks\": ["
	     CHECK("err.absent", "", "{\"probe\": \"file_content\", \"path\": \"/etc/missing.conf\", "
		   "\"pattern\": \"x\", \"op\": \"absent\"}") ","
	     CHECK("err.all", "", LINE_IS("^mode") ", {\"probe\": \"file_content\", \"path\": "
		   "\"/etc/missing.conf\", \"pattern\": \"x\", \"op\": \"absent\"}") ","
	     CHECK("fail.beats.error", "", LINE_IS("^nothing") ", {\"probe\": \"file_content\", "
		   "\"path\": \"/etc/missing.conf\", \"pattern\": \"x\", \"op\": \"absent\"}") "]}");
	r = result(f, "err.absent");
	assert_int_equal(r->status, CHECK_ERROR);
	assert_non_null(r->reason);
	assert_non_null(strstr(r->reason, "/etc/missing.conf"));
	assert_int_equal(result(f, "err.all")->status, CHECK_ERROR);
	assert_int_equal(result(f, "fail.beats.error")->status, CHECK_FAIL);
}

static void applicability(void **state)
{
	struct fx *f = *state;
	const struct check_result *r;

	scan(f, HEAD "\"checks\": ["
	     CHECK("na.when", "\"applicable_if\": [{\"probe\": \"file\", \"path\": \"/etc/ssh/sshd_config\", "
		   "\"attribute\": \"exists\", \"op\": \"eq\", \"value\": true}],", LINE_IS("^nothing")) ","
	     CHECK("applies.when", "\"applicable_if\": [{\"probe\": \"file\", \"path\": \"/etc/app.conf\", "
		   "\"attribute\": \"exists\", \"op\": \"eq\", \"value\": true}],", LINE_IS("^nothing")) "]}");
	r = result(f, "na.when");
	assert_int_equal(r->status, CHECK_NOT_APPLICABLE);
	assert_string_equal(r->reason,
			    "applies only where file path=/etc/ssh/sshd_config attribute=exists is true");
	assert_int_equal(result(f, "applies.when")->status, CHECK_FAIL);
}

static void policy_for_other_os_is_not_applicable(void **state)
{
	struct fx *f = *state;
	const struct check_result *r;

	scan(f, HEAD "\"applicability\": [{\"os_id\": \"rhel\", \"versions\": [\"9\"]}], \"checks\": ["
	     CHECK("other.os", "", LINE_IS("^mode")) "]}");
	r = result(f, "other.os");
	assert_int_equal(r->status, CHECK_NOT_APPLICABLE);
	assert_string_equal(r->reason, "policy t does not apply to debian 12");
}

static void comparisons_and_evidence(void **state)
{
	struct fx *f = *state;
	const struct check_result *r;

	scan(f, HEAD "\"checks\": ["
	     CHECK("num.le", "", KV("retries", "le", "5")) ","
	     CHECK("num.ge", "", KV("retries", "ge", "5")) ","
	     CHECK("str.in", "", KV("mode", "in", "[\"strict\", \"paranoid\"]")) ","
	     CHECK("str.icase", "", "{\"probe\": \"keyvalue\", \"path\": \"/etc/app.conf\", \"style\": "
		   "\"equals\", \"key\": \"mode\", \"op\": \"eq\", \"value\": \"STRICT\", \"ignore_case\": true}") ","
	     CHECK("unset.fails", "", KV("timeout", "ne", "\"0\"")) ","
	     CHECK("mode.mask", "", "{\"probe\": \"file\", \"path\": \"/etc/secret\", \"attribute\": "
		   "\"mode\", \"op\": \"within_mask\", \"value\": \"0640\"}") ","
	     CHECK("count.lines", "", "{\"probe\": \"file_content\", \"path\": \"/etc/app.conf\", "
		   "\"pattern\": \"^[a-z]\", \"op\": \"le\", \"value\": 2, \"count\": true}") "]}");
	r = result(f, "num.le");
	assert_int_equal(r->status, CHECK_FAIL);
	assert_int_equal(r->nev, 1);
	assert_string_equal(r->ev[0].subject, "/etc/app.conf");
	assert_string_equal(r->ev[0].location, "/etc/app.conf:3");
	assert_string_equal(r->ev[0].observed, "retries 7");
	assert_string_equal(r->ev[0].expected, "retries <= 5");
	assert_int_equal(result(f, "num.ge")->status, CHECK_PASS);
	r = result(f, "str.in");
	assert_int_equal(r->status, CHECK_PASS);
	assert_string_equal(r->ev[0].expected, "mode in [strict, paranoid]");
	assert_int_equal(result(f, "str.icase")->status, CHECK_PASS);
	/* An absent value fails every comparison, even "ne". */
	r = result(f, "unset.fails");
	assert_int_equal(r->status, CHECK_FAIL);
	assert_string_equal(r->ev[0].observed, "timeout not set");
	r = result(f, "mode.mask");
	assert_int_equal(r->status, CHECK_FAIL);
	assert_string_equal(r->ev[0].observed, "mode 0666");
	assert_string_equal(r->ev[0].expected, "mode no permission bits beyond 0640");
	r = result(f, "count.lines");
	assert_int_equal(r->status, CHECK_FAIL);
	assert_string_equal(r->ev[0].observed, "count 3");
	assert_string_equal(r->ev[0].expected, "count <= 2");
	/* The matched lines follow the count as evidence. */
	assert_int_equal(r->nev, 4);
	assert_string_equal(r->ev[1].location, "/etc/app.conf:2");
	assert_string_equal(r->ev[1].expected, "counted toward count <= 2");
}

static void outputs(void **state)
{
	struct fx *f = *state;
	Posture__V1__Envelope *env;
	json_t *doc, *res;
	uint8_t *buf;
	size_t len;
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem;

	scan(f, HEAD "\"checks\": [" CHECK("num.le", "\"controls\": {\"iso27001\": [\"A.8.9\"]},",
					     KV("retries", "le", "5")) ","
	     CHECK("str.in", "", KV("mode", "in", "[\"strict\"]")) "]}");

	doc = report_json(&f->s);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "posture.scan/v1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "host"), "hostname")), "web-1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "host"), "os_id")), "debian");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "summary"), "pass")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "summary"), "fail")), 1);
	assert_true(json_real_value(json_object_get(json_object_get(doc, "summary"), "score")) == 50.0);
	res = json_array_get(json_object_get(doc, "results"), 0);
	assert_string_equal(json_string_value(json_object_get(res, "check")), "num.le");
	assert_string_equal(json_string_value(json_object_get(res, "status")), "fail");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(res, "controls"),
									     "iso27001"), 0)), "A.8.9");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(res, "evidence"), 0),
							      "location")), "/etc/app.conf:3");
	json_decref(doc);

	mem = open_memstream(&text, &tlen);
	assert_int_equal(report_table(&f->s, mem, false), 0);
	fclose(mem);
	/* Failures come first, with their evidence and the fix. */
	assert_true(strstr(text, "FAIL") < strstr(text, "PASS"));
	assert_non_null(strstr(text, "/etc/app.conf:3: found retries 7; expected retries <= 5"));
	assert_non_null(strstr(text, "fix: fix num.le"));
	assert_null(strchr(text, '\033'));
	free(text);

	assert_int_equal(report_protobuf(&f->s, 7, "scan-1", &buf, &len), 0);
	env = posture__v1__envelope__unpack(NULL, len, buf);
	assert_non_null(env);
	assert_int_equal(env->body_case, POSTURE__V1__ENVELOPE__BODY_REPORT);
	assert_int_equal(env->report->seq, 7);
	assert_string_equal(env->report->scan_id, "scan-1");
	assert_int_equal(env->report->n_results, 2);
	assert_string_equal(env->report->results[0]->check_id, "num.le");
	assert_int_equal(env->report->results[0]->status, POSTURE__V1__STATUS__STATUS_FAIL);
	assert_string_equal(env->report->results[0]->evidence[0]->location, "/etc/app.conf:3");
	assert_int_equal(env->report->policies[0]->sha256.len, 32);
	posture__v1__envelope__free_unpacked(env, NULL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(match_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(probe_error_is_error_never_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(applicability, setup, teardown),
		cmocka_unit_test_setup_teardown(policy_for_other_os_is_not_applicable, setup, teardown),
		cmocka_unit_test_setup_teardown(comparisons_and_evidence, setup, teardown),
		cmocka_unit_test_setup_teardown(outputs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
