/*
 * test_policy.c - the policy loader: every malformed-policy case refuses the
 * whole policy with the exact message a policy author sees, and a valid
 * policy loads with variables substituted and defaults applied.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "testutil.h"

#define HEAD "{\"id\": \"p\", \"version\": \"1\", \"title\": \"T\", "

/* A check around one rule, for the cases that are about rules. */
#define CHECK1(rule) \
	"{\"id\": \"c.one\", \"title\": \"t\", \"severity\": \"high\", " \
	"\"category\": \"access_control\", \"rules\": [" rule "]}"

static void expect_error(const char *doc, int code, const char *msg)
{
	struct policy *p = (struct policy *)1;
	struct pst_err e = {0};
	int rc = policy_load_buffer("t.json", doc, strlen(doc), &p, &e);

	if (rc != code || strcmp(e.msg, msg) != 0)
		print_error("document: %s\nwant %d \"%s\"\ngot  %d \"%s\"\n", doc, code, msg, rc, e.msg);
	assert_int_equal(rc, code);
	assert_string_equal(e.msg, msg);
	assert_null(p);
}

static void syntax_error_names_line_and_column(void **state)
{
	(void)state;
	expect_error("{\n  \"id\": \"p\",\n  \"version\" \"1\"\n}", PST_E_PARSE,
		     "policy t.json:3:15: ':' expected near '\"1\"'");
}

static void duplicate_json_key_is_refused(void **state)
{
	(void)state;
	expect_error(HEAD "\"id\": \"q\", \"checks\": []}", PST_E_PARSE,
		     "policy t.json:1:46: duplicate object key near '\"id\"'");
}

static void unknown_top_level_key(void **state)
{
	(void)state;
	expect_error(HEAD "\"chekcs\": []}", PST_E_INVAL,
		     "policy t.json: unknown key \"chekcs\" (expected one of: format, id, version, "
		     "title, description, applicability, variables, checks, extends)");
}

static void missing_checks(void **state)
{
	(void)state;
	expect_error(HEAD "\"description\": \"d\"}", PST_E_INVAL,
		     "policy t.json: missing required key \"checks\"");
}

static void unknown_rule_key_names_check_and_rule(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"path\": \"/etc/passwd\", "
						 "\"attribute\": \"exists\", \"op\": \"eq\", \"value\": true}") ", "
		     "{\"id\": \"ssh.permit-root-login\", \"title\": \"t\", \"severity\": \"high\", "
		     "\"category\": \"access_control\", \"rules\": [{\"probe\": \"sshd_config\", "
		     "\"key\": \"PermitRootLogin\", \"op\": \"eq\", \"valu\": \"no\"}]}]}",
		     PST_E_INVAL,
		     "policy t.json: checks[1] \"ssh.permit-root-login\": rules[0]: unknown key \"valu\" "
		     "(expected one of: probe, op, value, ignore_case, count, key, default, path)");
}

static void unknown_check_key(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [{\"id\": \"c.one\", \"title\": \"t\", \"severity\": \"high\", "
		     "\"category\": \"access_control\", \"remedation\": \"x\", \"rules\": []}]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": unknown key \"remedation\" (expected one of: id, "
		     "title, description, rationale, remediation, severity, category, controls, match, "
		     "rules, applicable_if)");
}

static void unknown_probe(void **state)
{
	char want[4096];
	size_t n, i, used;
	const struct probe *const *all = probe_all(&n);

	(void)state;
	/* The message lists every probe of the table, in its order. */
	used = (size_t)snprintf(want, sizeof(want),
				"policy t.json: checks[0] \"c.one\": rules[0]: unknown probe \"sshd\" (one of: ");
	for (i = 0; i < n && used < sizeof(want); i++)
		used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s", i ? ", " : "",
					 all[i]->name);
	assert_true(used + 2 < sizeof(want));
	snprintf(want + used, sizeof(want) - used, ")");
	assert_non_null(strstr(want, "(one of: file, file_content, keyvalue, sshd_config, accounts, "
				     "sudoers, pam, sysctl, fsscan"));
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"sshd\", \"op\": \"exists\"}") "]}",
		     PST_E_INVAL, want);
}

static void unknown_operator(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"sshd_config\", \"key\": \"X\", "
						 "\"op\": \"equals\", \"value\": \"no\"}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: unknown operator \"equals\" (one of: eq, "
		     "ne, lt, le, gt, ge, in, not_in, regex, not_regex, exists, absent, within_mask)");
}

static void wrong_parameter_type(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"sshd_config\", \"key\": 5, "
						 "\"op\": \"eq\", \"value\": \"no\"}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: probe sshd_config: parameter \"key\" "
		     "must be a string, not integer");
}

static void parameter_choice(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"path\": \"/x\", "
						 "\"attribute\": \"colour\", \"op\": \"exists\"}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: probe file: parameter \"attribute\": "
		     "unknown value \"colour\" (one of: exists, type, mode, owner, group, uid, gid, size, "
		     "target)");
}

static void missing_required_parameter(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"attribute\": \"mode\", "
						 "\"op\": \"within_mask\", \"value\": \"0644\"}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: probe file: missing required "
		     "parameter \"path\" (the probe reference: posture-agent probes)");
}

static void duplicate_check_id(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"path\": \"/x\", \"attribute\": "
						 "\"exists\", \"op\": \"eq\", \"value\": true}") ", "
		     CHECK1("{\"probe\": \"file\", \"path\": \"/y\", \"attribute\": \"exists\", \"op\": "
			    "\"eq\", \"value\": true}") "]}",
		     PST_E_INVAL, "policy t.json: checks[1] \"c.one\": duplicate check id (also checks[0])");
}

static void undefined_variable(void **state)
{
	(void)state;
	expect_error(HEAD "\"variables\": {\"max\": 90}, \"checks\": ["
		     CHECK1("{\"probe\": \"keyvalue\", \"path\": \"/etc/login.defs\", \"key\": "
			    "\"PASS_MAX_DAYS\", \"op\": \"le\", \"value\": \"${maxdays}\"}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: undefined variable \"maxdays\" "
		     "(define it under \"variables\")");
}

static void bad_regex(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"sshd_config\", \"key\": \"Ciphers\", "
						 "\"op\": \"not_regex\", \"value\": \"(cbc\"}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: operator not_regex: invalid regular "
		     "expression \"(cbc\": Unmatched ( or \\(");
}

static void bad_iso_control(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [{\"id\": \"c.one\", \"title\": \"t\", \"severity\": \"high\", "
		     "\"category\": \"access_control\", \"controls\": {\"iso27001\": [\"A.9.2.3\"]}, "
		     "\"rules\": [{\"probe\": \"file\", \"path\": \"/x\", \"attribute\": \"exists\", "
		     "\"op\": \"eq\", \"value\": true}]}]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": controls.iso27001[0]: \"A.9.2.3\" is not an "
		     "ISO/IEC 27001:2022 Annex A control (A.5.1 to A.8.34)");
}

static void bad_severity_and_category(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [{\"id\": \"c.one\", \"title\": \"t\", \"severity\": \"urgent\", "
		     "\"category\": \"access_control\", \"rules\": []}]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": unknown severity \"urgent\" (one of: low, medium, "
		     "high, critical)");
	expect_error(HEAD "\"checks\": [{\"id\": \"c.one\", \"title\": \"t\", \"severity\": \"low\", "
		     "\"category\": \"acess_control\", \"rules\": []}]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": unknown category \"acess_control\" (one of: "
		     "access_control, patch, backup, logging, network, integrity)");
}

static void operator_value_shapes(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"path\": \"/x\", \"attribute\": "
						 "\"exists\", \"op\": \"exists\", \"value\": true}") "]}",
		     PST_E_INVAL, "policy t.json: checks[0] \"c.one\": rules[0]: operator exists takes no \"value\"");
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"path\": \"/x\", \"attribute\": "
						 "\"mode\", \"op\": \"within_mask\", \"value\": \"0999\"}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: operator within_mask: \"value\" must be an "
		     "octal mode string such as \"0644\"");
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"path\": \"/x\", \"attribute\": "
						 "\"size\", \"op\": \"le\", \"value\": \"10\"}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: operator le: \"value\" must be an integer, "
		     "not string");
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"path\": \"/x\", \"attribute\": "
						 "\"size\", \"op\": \"in\", \"value\": []}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: operator in: \"value\" must be a non-empty array");
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"path\": \"/x\", \"attribute\": "
						 "\"size\", \"op\": \"regex\", \"value\": \"x\", \"count\": true}") "]}",
		     PST_E_INVAL,
		     "policy t.json: checks[0] \"c.one\": rules[0]: \"count\" compares a number: use it with "
		     "eq, ne, lt, le, gt, ge, in or not_in");
}

static void empty_rules_refused(void **state)
{
	(void)state;
	expect_error(HEAD "\"checks\": [{\"id\": \"c.one\", \"title\": \"t\", \"severity\": \"low\", "
		     "\"category\": \"access_control\", \"rules\": []}]}",
		     PST_E_INVAL, "policy t.json: checks[0] \"c.one\": \"rules\" must hold at least one rule");
}

static void one_broken_check_fails_whole_policy(void **state)
{
	(void)state;
	/* Good checks before and after the broken one do not make the load succeed. */
	expect_error(HEAD "\"checks\": [" CHECK1("{\"probe\": \"file\", \"path\": \"/a\", \"attribute\": "
						 "\"exists\", \"op\": \"eq\", \"value\": true}")
		     ", {\"id\": \"c.two\", \"title\": \"t\", \"severity\": \"low\", \"category\": "
		     "\"access_control\", \"rules\": [{\"probe\": \"file\", \"path\": \"/b\", \"op\": \"eq\", "
		     "\"value\": true}]}, "
		     "{\"id\": \"c.three\", \"title\": \"t\", \"severity\": \"low\", \"category\": "
		     "\"access_control\", \"rules\": [{\"probe\": \"file\", \"path\": \"/c\", \"attribute\": "
		     "\"exists\", \"op\": \"eq\", \"value\": true}]}]}",
		     PST_E_INVAL,
		     "policy t.json: checks[1] \"c.two\": rules[0]: probe file: missing required parameter "
		     "\"attribute\" (the probe reference: posture-agent probes)");
}

static void valid_policy_loads(void **state)
{
	const char *doc = HEAD "\"applicability\": [{\"os_id\": \"debian\", \"versions\": [\"12\"]}], "
		"\"variables\": {\"max\": 90, \"name\": \"PASS\"}, \"checks\": [{\"id\": \"login.max-days\", "
		"\"title\": \"At most ${max} days\", \"remediation\": \"${max}\", \"severity\": \"medium\", \"category\": \"access_control\", "
		"\"controls\": {\"iso27001\": [\"A.5.17\", \"A.8.5\"], \"cis_debian12\": [\"5.4.1.1\"]}, "
		"\"match\": \"any\", \"applicable_if\": [{\"probe\": \"file\", \"path\": \"/etc/login.defs\", "
		"\"attribute\": \"exists\", \"op\": \"eq\", \"value\": true}], "
		"\"rules\": [{\"probe\": \"keyvalue\", \"path\": \"/etc/login.defs\", \"key\": "
		"\"${name}_MAX_DAYS\", \"op\": \"le\", \"value\": \"${max}\"}]}]}";
	struct policy *p = NULL;
	struct pst_err e = {0};
	const struct check *c;

	(void)state;
	assert_int_equal(policy_load_buffer("t.json", doc, strlen(doc), &p, &e), 0);
	assert_non_null(p);
	assert_string_equal(p->id, "p");
	assert_int_equal(p->napplies, 1);
	assert_string_equal(p->applies[0].id, "debian");
	assert_int_equal(p->nchecks, 1);
	c = &p->checks[0];
	assert_string_equal(c->id, "login.max-days");
	/* Texts say the thresholds that apply. */
	assert_string_equal(c->title, "At most 90 days");
	assert_string_equal(c->remediation, "90");
	assert_int_equal(c->severity, SEVERITY_MEDIUM);
	assert_int_equal(c->match, MATCH_ANY);
	assert_int_equal(c->ncontrols, 2);
	assert_string_equal(c->controls[0].framework, "iso27001");
	assert_string_equal(c->controls[0].ids[1], "A.8.5");
	assert_int_equal(c->nwhen, 1);
	assert_int_equal(c->nrules, 1);
	/* A whole-string reference keeps the variable's type; an embedded one is text. */
	assert_true(json_is_integer(c->rules[0].expected));
	assert_int_equal(json_integer_value(c->rules[0].expected), 90);
	assert_string_equal(json_string_value(json_object_get(c->rules[0].params, "key")), "PASS_MAX_DAYS");
	/* Defaults from the probe's table are applied. */
	assert_string_equal(json_string_value(json_object_get(c->rules[0].params, "style")), "whitespace");
	policy_free(p);
}

static void shipped_baseline_loads(void **state)
{
	struct policy *p = NULL;
	struct pst_err e = {0};
	size_t i, ac = 0;

	(void)state;
	if (policy_load_file(POSTURE_SOURCE_DIR "/policies/linux-baseline.json", &p, &e) != 0)
		fail_msg("%s", e.msg);
	for (i = 0; i < p->nchecks; i++) {
		const struct check *c = &p->checks[i];
		size_t k;
		bool iso = false;
		ac += strcmp(c->category, "access_control") == 0;
		assert_non_null(c->rationale);
		assert_non_null(c->remediation);
		for (k = 0; k < c->ncontrols; k++)
			iso = iso || strcmp(c->controls[k].framework, "iso27001") == 0;
		if (!iso)
			fail_msg("check %s has no ISO/IEC 27001 mapping", c->id);
	}
	assert_true(ac >= 40);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(syntax_error_names_line_and_column),
		cmocka_unit_test(duplicate_json_key_is_refused),
		cmocka_unit_test(unknown_top_level_key),
		cmocka_unit_test(missing_checks),
		cmocka_unit_test(unknown_rule_key_names_check_and_rule),
		cmocka_unit_test(unknown_check_key),
		cmocka_unit_test(unknown_probe),
		cmocka_unit_test(unknown_operator),
		cmocka_unit_test(wrong_parameter_type),
		cmocka_unit_test(parameter_choice),
		cmocka_unit_test(missing_required_parameter),
		cmocka_unit_test(duplicate_check_id),
		cmocka_unit_test(undefined_variable),
		cmocka_unit_test(bad_regex),
		cmocka_unit_test(bad_iso_control),
		cmocka_unit_test(bad_severity_and_category),
		cmocka_unit_test(operator_value_shapes),
		cmocka_unit_test(empty_rules_refused),
		cmocka_unit_test(one_broken_check_fails_whole_policy),
		cmocka_unit_test(valid_policy_loads),
		cmocka_unit_test(shipped_baseline_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
