/*
 * test_policy_variables.c - variable rules ({"variable": name}) and
 * policies that extend another to set its variables: loading, refusals
 * with their messages, the digest, and evaluation by the engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "engine.h"
#include "policy.h"
#include "testutil.h"

#define BASE \
	"{\"id\": \"base\", \"version\": \"1\", \"title\": \"B\"," \
	" \"variables\": {\"backup_files\": \"\", \"max_age\": 26, \"strict\": true}," \
	" \"checks\": [{\"id\": \"b.age\", \"title\": \"t\", \"severity\": \"high\", \"category\": \"backup\"," \
	"   \"applicable_if\": [{\"variable\": \"backup_files\", \"op\": \"exists\"}]," \
	"   \"rules\": [{\"probe\": \"backup_age\", \"path\": \"${backup_files}\", \"op\": \"le\", \"value\": \"${max_age}\"}]}," \
	"  {\"id\": \"b.strict\", \"title\": \"t\", \"severity\": \"low\", \"category\": \"backup\"," \
	"   \"rules\": [{\"variable\": \"strict\", \"op\": \"eq\", \"value\": true}]}]}"

struct fx {
	char *dir;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	assert_int_equal(tu_write(f->dir, "base.json", BASE, 0644), 0);
	assert_int_equal(tu_write(f->dir, "srv/b.tar", "x", 0644), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Load text as the file dir/name (written there, so that extends resolves beside it). */
static int load(struct fx *f, const char *name, const char *text, struct policy **p, struct pst_err *e)
{
	char path[4096];

	assert_int_equal(tu_write(f->dir, name, text, 0644), 0);
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return policy_load_file(path, p, e);
}

static void scan(struct fx *f, struct policy *p, struct scan *s)
{
	struct pst_err e = {0};
	struct probe_ctx ctx = {0};
	struct hostinfo h;
	struct rootfs r;

	assert_int_equal(rootfs_open(&r, f->dir, &e), 0);
	ctx.root = &r;
	hostinfo_read(&h, &r);
	assert_int_equal(engine_scan(s, &p, 1, &ctx, &h), 0);
	rootfs_close(&r);
}

static void test_variable_rule(void **state)
{
	struct fx *f = *state;
	struct policy *p = NULL;
	struct pst_err e = {0};
	struct scan s;

	assert_int_equal(load(f, "b.json", BASE, &p, &e), 0);
	assert_string_equal(p->checks[0].when[0].label, "variable backup_files");
	scan(f, p, &s);
	assert_int_equal(s.results[0].status, CHECK_NOT_APPLICABLE);
	assert_string_equal(s.results[0].reason, "applies only where variable backup_files is set (it is empty)");
	assert_int_equal(s.results[1].status, CHECK_PASS);
	assert_string_equal(s.results[1].ev[0].subject, "variable strict");
	assert_string_equal(s.results[1].ev[0].observed, "true");
	engine_scan_cleanup(&s);
	policy_free(p);
}

static void test_variable_rule_refused(void **state)
{
	struct fx *f = *state;
	struct policy *p = NULL;
	struct pst_err e = {0};

#define ONE(rule) \
	"{\"id\": \"v\", \"version\": \"1\", \"title\": \"V\", \"variables\": {\"x\": \"\"}, \"checks\": [" \
	"{\"id\": \"c\", \"title\": \"t\", \"severity\": \"low\", \"category\": \"backup\", \"rules\": [" rule "]}]}"
	assert_int_equal(load(f, "v.json", ONE("{\"variable\": \"y\", \"op\": \"exists\"}"), &p, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "checks[0] \"c\": rules[0]: undefined variable \"y\""));
	assert_int_equal(load(f, "v.json", ONE("{\"variable\": \"${x}\", \"op\": \"exists\"}"), &p, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "is not a variable name (write the name, not ${...})"));
	assert_int_equal(load(f, "v.json", ONE("{\"variable\": \"x\", \"op\": \"exists\", \"path\": \"/\"}"), &p, &e),
			 PST_E_INVAL);
	assert_non_null(strstr(e.msg, "unknown key \"path\""));
	assert_int_equal(load(f, "v.json", ONE("{\"variable\": \"x\", \"op\": \"ne\"}"), &p, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "operator ne needs a \"value\""));
	assert_null(p);
#undef ONE
}

static void test_extends(void **state)
{
	struct fx *f = *state;
	struct policy *p = NULL;
	struct pst_err e = {0};
	struct scan s;
	char *site = "{\"id\": \"site\", \"version\": \"2\", \"title\": \"Site\", \"extends\": \"base.json\","
		     " \"variables\": {\"backup_files\": \"/srv/*.tar\", \"max_age\": 1},"
		     " \"checks\": [{\"id\": \"site.extra\", \"title\": \"t\", \"severity\": \"low\", \"category\": \"backup\","
		     "  \"rules\": [{\"variable\": \"max_age\", \"op\": \"eq\", \"value\": 1}]}]}";
	unsigned char want[32];
	unsigned int n = 32;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	assert_int_equal(load(f, "site.json", site, &p, &e), 0);
	assert_string_equal(p->id, "site");
	assert_string_equal(p->version, "2");
	assert_int_equal(p->nchecks, 3);
	assert_string_equal(p->checks[2].id, "site.extra");
	/* The digest covers the base and the extending file, in that order. */
	assert_non_null(md);
	assert_true(EVP_DigestInit_ex(md, EVP_sha256(), NULL));
	assert_true(EVP_DigestUpdate(md, BASE, strlen(BASE)));
	assert_true(EVP_DigestUpdate(md, site, strlen(site)));
	assert_true(EVP_DigestFinal_ex(md, want, &n));
	EVP_MD_CTX_free(md);
	assert_memory_equal(p->sha256, want, 32);

	scan(f, p, &s);
	assert_int_equal(s.results[0].status, CHECK_PASS);
	assert_string_equal(s.results[0].ev[0].subject, "/srv/b.tar");
	assert_string_equal(s.results[0].ev[0].expected, "age_hours <= 1");
	assert_int_equal(s.results[2].status, CHECK_PASS);
	engine_scan_cleanup(&s);
	policy_free(p);
}

static void test_extends_refused(void **state)
{
	struct fx *f = *state;
	struct policy *p = NULL;
	struct pst_err e = {0};

#define EXT(rest) "{\"id\": \"s\", \"version\": \"1\", \"title\": \"S\", " rest "}"
	assert_int_equal(load(f, "s.json", EXT("\"extends\": \"base.json\", \"variables\": {\"max_agee\": 3}"), &p, &e),
			 PST_E_INVAL);
	assert_non_null(strstr(e.msg, "variables.max_agee: "));
	assert_non_null(strstr(e.msg, "defines no such variable (it has: backup_files, max_age, strict)"));
	assert_int_equal(load(f, "s.json", EXT("\"extends\": \"base.json\", \"variables\": {\"max_age\": \"3\"}"), &p, &e),
			 PST_E_INVAL);
	assert_non_null(strstr(e.msg, "variables.max_age must have the type it has in "));
	assert_int_equal(load(f, "s.json", EXT("\"extends\": \"missing.json\""), &p, &e), PST_E_NOENT);
	assert_non_null(strstr(e.msg, "s.json: extends: policy "));
	assert_int_equal(load(f, "s.json", EXT("\"extends\": 5"), &p, &e), PST_E_INVAL);
	/* A chain is refused: the base of an extending policy must be a plain one. */
	assert_int_equal(load(f, "s.json", EXT("\"extends\": \"base.json\""), &p, &e), 0);
	policy_free(p);
	assert_int_equal(load(f, "t.json", EXT("\"extends\": \"s.json\""), &p, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "a policy that another extends must not extend a third"));
	assert_int_equal(load(f, "u.json", "{\"extends\": \"base.json\", \"id\": \"u\"}", &p, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "needs its own \"id\", \"version\" and \"title\""));
	/* A duplicate check id between base and extension is refused like any duplicate. */
	assert_int_equal(load(f, "d.json", EXT("\"extends\": \"base.json\", \"checks\": [{\"id\": \"b.age\", \"title\": \"t\","
					       " \"severity\": \"low\", \"category\": \"backup\", \"rules\": [{\"variable\": \"strict\", \"op\": \"exists\"}]}]"),
			      &p, &e), PST_E_INVAL);
	assert_non_null(strstr(e.msg, "duplicate check id"));
	assert_null(p);
#undef EXT
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variable_rule),
		cmocka_unit_test(test_variable_rule_refused),
		cmocka_unit_test(test_extends),
		cmocka_unit_test(test_extends_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
