/*
 * test_evidence.c - evidence snapshots (collector/evidence.h) on a real
 * store file with known reports and the keys `init` writes: the chain
 * (seq 1 names no previous, seq 2 names seq 1's hash), every stored
 * envelope verifies with the public key, scopes by host, search and
 * control keep what docs/evidence.md says, the table refuses UPDATE and
 * DELETE, the same state gives the same bytes, the size limit and the
 * request body parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "canon.h"
#include "config.h"
#include "evidence.h"
#include "evsig.h"
#include "pki.h"
#include "store.h"
#include "storeutil.h"
#include "testutil.h"

struct fx {
	char *dir;
	char db[600];
	struct collector_config cfg;
	struct store *st;
	struct evidence *ev;
	EVP_PKEY *pub;
};

static struct fx F;

static const struct {
	const char *id, *category;
	enum store_severity sev;
	const char *controls;
} checks[4] = {
	{"ssh.root", "access_control", STORE_SEV_HIGH, "iso27001:A.8.2,cis_debian12:5.1.20"},
	{"ssh.password", "access_control", STORE_SEV_CRITICAL, "iso27001:A.8.5,iso27001:A.5.2"},
	{"pkg.security", "patch", STORE_SEV_MEDIUM, "iso27001:A.8.8"},
	{"pkg.reboot", "patch", STORE_SEV_LOW, "iso27001:A.8.8,cis_debian12:1.9"},
};

/* Store the report of agent (hostname "<agent>.example") with st[i] for checks[i]. */
static void put(const char *agent, uint64_t seq, int64_t received, const enum store_status st[4])
{
	struct store_report *r = su_report(agent, seq, "scan", 4);
	struct pst_err e = {0};
	char host[64];
	bool dup = false;

	snprintf(host, sizeof(host), "%s.example", agent);
	r->received_us = received;
	r->finished_us = received - SEC;
	r->started_us = received - 2 * SEC;
	su_facts(r, host, "debian", "12", "6.1.0");
	for (size_t i = 0; i < 4; i++) {
		struct store_result *res = &r->results[i];

		su_result(res, checks[i].id, checks[i].id, checks[i].category, st[i], checks[i].sev);
		su_controls(res, checks[i].controls);
		su_evidence(res, "/etc/x", st[i] == STORE_PASS ? "good" : "bad", "good", NULL,
			    st[i] == STORE_PASS);
	}
	if (store_put_reports(F.st, &r, 1, &dup, &e) != 0)
		fail_msg("put %s: %s", agent, e.msg);
	store_report_free(r);
}

static int setup(void **state)
{
	static const enum store_status good[4] = {STORE_PASS, STORE_PASS, STORE_PASS, STORE_PASS};
	static const enum store_status bad[4] = {STORE_FAIL, STORE_PASS, STORE_FAIL, STORE_ERROR};
	static const enum store_status mixed[4] = {STORE_PASS, STORE_FAIL, STORE_NOT_APPLICABLE,
						   STORE_FAIL};
	struct pki_init_opts o = {0};
	struct pst_err e = {0};
	char path[512];

	(void)state;
	memset(&F, 0, sizeof(F));
	F.dir = tu_mkdtemp();
	snprintf(path, sizeof(path), "%s/c", F.dir);
	o.dir = path;
	o.agent_listen = "127.0.0.1:7443";
	o.api_listen = "127.0.0.1:8443";
	o.collector_id = "test-collector";
	if (pki_init(&o, &e) != 0)
		fail_msg("pki_init: %s", e.msg);
	snprintf(path, sizeof(path), "%s/c/collector.json", F.dir);
	if (collector_config_load(path, &F.cfg, &e) != 0)
		fail_msg("config: %s", e.msg);
	snprintf(F.db, sizeof(F.db), "%s/c/posture.db", F.dir);
	if (store_open(F.cfg.store, &F.st, &e) != 0)
		fail_msg("store: %s", e.msg);
	if (evidence_new(&F.cfg, "test-collector", &F.ev, &e) != 0)
		fail_msg("evidence_new: %s", e.msg);
	if (evsig_load_public(F.cfg.evidence_pub, &F.pub, &e) != 0)
		fail_msg("public key: %s", e.msg);
	put("alpha", 1, T0, good);
	put("bravo", 1, T0 + SEC, bad);
	put("charlie", 1, T0 + 2 * SEC, mixed);
	/* A second report: charlie's ssh.password stays failing, pkg.reboot opens later. */
	put("bravo", 2, T0 + 10 * SEC, bad);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(F.pub);
	evidence_free(F.ev);
	store_close(F.st);
	collector_config_cleanup(&F.cfg);
	tu_rmrf(F.dir);
	free(F.dir);
	return 0;
}

static json_t *take(int64_t now, const struct evidence_scope *sc)
{
	struct evidence_taker by = {.name = "audit-2026", .role = "auditor"};
	struct pst_err e = {0};
	json_t *meta = NULL;

	if (evidence_take(F.ev, F.st, now, sc, &by, &meta, &e) != 0)
		fail_msg("evidence_take: %s", e.msg);
	return meta;
}

/* The stored envelope of id, verified; v to clean up. */
static void fetch(const char *id, struct evsig_verified *v, char **env, size_t *len)
{
	struct pst_err e = {0};
	char sha[65];

	if (store_evidence_get(F.st, id, env, len, sha, &e) != 0)
		fail_msg("get %s: %s", id, e.msg);
	if (evsig_verify(*env, *len, F.pub, v, &e) != 0)
		fail_msg("verify %s: %s", id, e.msg);
	assert_string_equal(v->sha256, sha);
}

static void test_chain(void **state)
{
	struct evsig_verified v1, v2;
	struct pst_err e = {0};
	struct store_evidence_head head;
	struct store_page pg = {.limit = 1};
	json_t *m1, *m2, *list = NULL, *list2 = NULL;
	char *env1, *env2, cursor[512];
	size_t len1, len2;

	(void)state;
	assert_int_equal(store_evidence_last(F.st, &head, &e), 0);
	assert_int_equal(head.seq, 0);
	m1 = take(T0 + 100 * SEC + 123456, NULL);
	m2 = take(T0 + 200 * SEC, NULL);
	/* Whole seconds, one width: string order is time order. */
	assert_string_equal(json_string_value(json_object_get(m1, "taken_at")),
			    "2025-11-24T16:01:40Z");
	assert_string_equal(json_string_value(json_object_get(m1, "id")), "ev-00000001");
	assert_int_equal(json_integer_value(json_object_get(m1, "seq")), 1);
	assert_true(json_is_null(json_object_get(m1, "previous_sha256")));
	assert_string_equal(json_string_value(json_object_get(m2, "id")), "ev-00000002");
	assert_int_equal(json_integer_value(json_object_get(m2, "seq")), 2);
	assert_string_equal(json_string_value(json_object_get(m2, "previous_sha256")),
			    json_string_value(json_object_get(m1, "sha256")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(m1, "taken_by"),
							       "name")), "audit-2026");

	fetch("ev-00000001", &v1, &env1, &len1);
	fetch("ev-00000002", &v2, &env2, &len2);
	assert_int_equal(len1, json_integer_value(json_object_get(m1, "size")));
	assert_string_equal(v1.sha256, json_string_value(json_object_get(m1, "sha256")));
	assert_int_equal(v1.seq, 1);
	assert_string_equal(v1.previous_sha256, "");
	assert_int_equal(v2.seq, 2);
	assert_string_equal(v2.previous_sha256, v1.sha256);
	assert_string_equal(v1.taken_at, "2025-11-24T16:01:40Z");
	assert_string_equal(v1.collector_id, "test-collector");
	assert_string_equal(v1.key_id, evidence_key_id(F.ev));
	assert_int_equal(evsig_check_link(&v1, &v2, &e), 0);
	/* Snapshot 1 is not the successor of snapshot 2. */
	assert_int_not_equal(evsig_check_link(&v2, &v1, &e), 0);

	/* The whole fleet: three hosts, each with its four results. */
	assert_int_equal(json_array_size(json_object_get(v1.snapshot, "hosts")), 3);
	assert_int_equal(json_array_size(json_object_get(
		json_array_get(json_object_get(v1.snapshot, "hosts"), 1), "results")), 4);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(v1.snapshot, "hosts"), 1), "id")), "bravo");
	/* bravo: ssh.root and pkg.security failing; charlie: ssh.password and pkg.reboot. */
	assert_int_equal(json_array_size(json_object_get(v1.snapshot, "violations")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
		v1.snapshot, "metrics"), "scope"), "fail")), 4);
	assert_null(json_object_get(json_object_get(json_object_get(v1.snapshot, "metrics"),
						    "fleet"), "generated_at"));
	assert_int_equal(json_array_size(json_object_get(v1.snapshot, "policies")), 1);
	evsig_verified_cleanup(&v1);
	evsig_verified_cleanup(&v2);

	/* Altering one byte of the stored envelope breaks it. */
	env1[len1 / 2] = env1[len1 / 2] == 'a' ? 'b' : 'a';
	assert_int_not_equal(evsig_verify(env1, len1, F.pub, &v1, &e), 0);
	free(env1);
	free(env2);

	/* The list, newest first, a page at a time. */
	assert_int_equal(store_evidence_list(F.st, &pg, &list, &e), 0);
	assert_int_equal(json_array_size(json_object_get(list, "evidence")), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(list, "evidence"), 0), "id")), "ev-00000002");
	assert_true(json_is_string(json_object_get(list, "next_cursor")));
	snprintf(cursor, sizeof(cursor), "%s",
		 json_string_value(json_object_get(list, "next_cursor")));
	pg.cursor = cursor;
	assert_int_equal(store_evidence_list(F.st, &pg, &list2, &e), 0);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(list2, "evidence"), 0), "id")), "ev-00000001");
	assert_true(json_is_null(json_object_get(list2, "next_cursor")));
	json_decref(list);
	json_decref(list2);
	pg.cursor = "not-a-cursor";
	assert_int_equal(store_evidence_list(F.st, &pg, &list, &e), PST_E_INVAL);

	assert_int_equal(store_evidence_last(F.st, &head, &e), 0);
	assert_int_equal(head.seq, 2);
	assert_string_equal(head.sha256, json_string_value(json_object_get(m2, "sha256")));
	json_decref(m1);
	json_decref(m2);
}

/* The ids of the hosts of a verified snapshot, "a,b,c". */
static void host_ids(const json_t *snap, char *buf, size_t cap)
{
	const json_t *h;
	size_t i, o = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(snap, "hosts"), i, h)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "",
				      json_string_value(json_object_get(h, "id")));
}

/* Every result and violation of snap names a check in the comma list. */
static void only_checks(const json_t *snap, const char *list)
{
	const json_t *h, *r, *x;
	size_t i, j;

	json_array_foreach(json_object_get(snap, "hosts"), i, h)
		json_array_foreach(json_object_get(h, "results"), j, r)
			assert_non_null(strstr(list, json_string_value(json_object_get(r, "check_id"))));
	json_array_foreach(json_object_get(snap, "violations"), i, x)
		assert_non_null(strstr(list, json_string_value(json_object_get(x, "check_id"))));
}

static json_t *scoped(const char *host, const char *search, const char *control, uint64_t seq)
{
	struct evidence_scope sc = {(char *)host, (char *)search, (char *)control};
	struct evsig_verified v;
	json_t *meta = take(T0 + 300 * SEC, &sc), *snap, *s;
	char id[32], *env;
	size_t len;

	assert_int_equal(json_integer_value(json_object_get(meta, "seq")), seq);
	s = json_object_get(meta, "scope");
	assert_true(host ? json_is_string(json_object_get(s, "host"))
			 : json_is_null(json_object_get(s, "host")));
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(meta, "id")));
	json_decref(meta);
	fetch(id, &v, &env, &len);
	snap = json_incref(v.snapshot);
	evsig_verified_cleanup(&v);
	free(env);
	return snap;
}

static void test_scopes(void **state)
{
	struct evidence_scope nohost = {.host = "zulu"};
	struct pst_err e = {0};
	struct store_evidence_head head;
	json_t *snap, *metrics, *meta = NULL;
	char ids[256];

	(void)state;
	/* One host. */
	snap = scoped("bravo", NULL, NULL, 1);
	host_ids(snap, ids, sizeof(ids));
	assert_string_equal(ids, "bravo");
	assert_string_equal(json_string_value(json_object_get(json_object_get(snap, "scope"),
							       "host")), "bravo");
	assert_int_equal(json_array_size(json_object_get(snap, "violations")), 2);
	metrics = json_object_get(json_object_get(snap, "metrics"), "scope");
	assert_int_equal(json_integer_value(json_object_get(metrics, "pass")), 1);
	assert_int_equal(json_integer_value(json_object_get(metrics, "fail")), 2);
	assert_int_equal(json_integer_value(json_object_get(metrics, "error")), 1);
	assert_int_equal(json_integer_value(json_object_get(metrics, "hosts")), 1);
	assert_int_equal(json_integer_value(json_object_get(metrics, "violations_open")), 2);
	/* 1 pass of 3 decided: 33.3. */
	assert_true(json_real_value(json_object_get(metrics, "score")) > 33.29 &&
		    json_real_value(json_object_get(metrics, "score")) < 33.31);
	/* The fleet figures stay the fleet's. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
		snap, "metrics"), "fleet"), "fail")), 4);
	json_decref(snap);

	/* A substring of agent id or host name. */
	snap = scoped(NULL, "CHAR", NULL, 2);
	host_ids(snap, ids, sizeof(ids));
	assert_string_equal(ids, "charlie");
	assert_int_equal(json_array_size(json_object_get(snap, "violations")), 2);
	json_decref(snap);
	snap = scoped(NULL, "o.example", NULL, 3); /* bravo.example */
	host_ids(snap, ids, sizeof(ids));
	assert_string_equal(ids, "bravo");
	json_decref(snap);

	/* A control in any framework: A.8.8 is pkg.security and pkg.reboot. */
	snap = scoped(NULL, NULL, "A.8.8", 4);
	host_ids(snap, ids, sizeof(ids));
	assert_string_equal(ids, "alpha,bravo,charlie");
	only_checks(snap, "pkg.security,pkg.reboot");
	/* bravo's pkg.security and charlie's pkg.reboot, oldest first. */
	assert_int_equal(json_array_size(json_object_get(snap, "violations")), 2);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(snap, "violations"), 0), "host")), "bravo");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(snap, "violations"), 1), "host")), "charlie");
	metrics = json_object_get(json_object_get(snap, "metrics"), "scope");
	assert_int_equal(json_integer_value(json_object_get(metrics, "pass")), 2);
	assert_int_equal(json_integer_value(json_object_get(metrics, "fail")), 2);
	assert_int_equal(json_integer_value(json_object_get(metrics, "error")), 1);
	assert_int_equal(json_integer_value(json_object_get(metrics, "not_applicable")), 1);
	json_decref(snap);

	/* A control of one framework, and with a host. */
	snap = scoped(NULL, NULL, "iso27001:A.5.2", 5);
	only_checks(snap, "ssh.password");
	assert_int_equal(json_array_size(json_object_get(snap, "violations")), 1);
	json_decref(snap);
	snap = scoped("alpha", NULL, "cis_debian12:1.9", 6);
	host_ids(snap, ids, sizeof(ids));
	assert_string_equal(ids, "alpha");
	only_checks(snap, "pkg.reboot");
	assert_int_equal(json_array_size(json_object_get(snap, "violations")), 0);
	json_decref(snap);
	/* A control no host has: an empty snapshot, still sealed and chained. */
	snap = scoped(NULL, NULL, "A.99.99", 7);
	assert_int_equal(json_array_size(json_object_get(snap, "hosts")), 0);
	assert_int_equal(json_array_size(json_object_get(snap, "policies")), 0);
	json_decref(snap);

	/* An unknown host is an error, and nothing is stored. */
	assert_int_equal(evidence_take(F.ev, F.st, T0, &nohost, NULL, &meta, &e), PST_E_NOENT);
	assert_non_null(strstr(e.msg, "zulu"));
	assert_null(meta);
	assert_int_equal(store_evidence_last(F.st, &head, &e), 0);
	assert_int_equal(head.seq, 7);
}

static void test_immutable(void **state)
{
	json_t *meta;
	sqlite3 *db;
	char *err = NULL;

	(void)state;
	meta = take(T0 + 100 * SEC, NULL);
	json_decref(meta);
	assert_int_equal(sqlite3_open(F.db, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE evidence SET size = 1", NULL, NULL, &err),
			     SQLITE_OK);
	assert_non_null(err);
	assert_non_null(strstr(err, "immutable"));
	sqlite3_free(err);
	err = NULL;
	assert_int_not_equal(sqlite3_exec(db, "UPDATE evidence SET envelope = x'00' WHERE seq = 1",
					  NULL, NULL, &err), SQLITE_OK);
	sqlite3_free(err);
	err = NULL;
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM evidence", NULL, NULL, &err),
			     SQLITE_OK);
	assert_non_null(strstr(err, "immutable"));
	sqlite3_free(err);
	assert_int_equal(su_sql_int(db, "SELECT count(*) FROM evidence"), 1);
	/* Nor replaced, nor followed by one that skips a number or breaks the link. */
	err = NULL;
	assert_int_not_equal(sqlite3_exec(db, "INSERT OR REPLACE INTO evidence SELECT * FROM "
					  "evidence", NULL, NULL, &err), SQLITE_OK);
	assert_non_null(strstr(err, "immutable"));
	sqlite3_free(err);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO evidence SELECT 3, 'ev-00000003', "
					  "taken_at, substr(sha256, 2) || 'a', sha256, scope, "
					  "taken_by, size, envelope FROM evidence", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO evidence SELECT 2, 'ev-00000002', "
					  "taken_at, substr(sha256, 2) || 'a', substr(sha256, 2) || "
					  "'b', scope, taken_by, size, envelope FROM evidence", NULL,
					  NULL, NULL), SQLITE_OK);
	assert_int_equal(su_sql_int(db, "SELECT count(*) FROM evidence"), 1);
	/* What the collector itself does (seq 2 naming seq 1) is let in. */
	assert_int_equal(sqlite3_exec(db, "INSERT INTO evidence SELECT 2, 'ev-00000002', "
				      "taken_at, substr(sha256, 2) || 'a', sha256, scope, "
				      "taken_by, size, envelope FROM evidence", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
}

/* The canonical bytes of snap without the members that differ by design. */
static char *stable_bytes(json_t *snap)
{
	struct strbuf b;
	struct pst_err e = {0};
	json_t *c = json_deep_copy(snap);

	json_object_del(c, "id");
	json_object_del(c, "seq");
	json_object_del(c, "taken_at");
	json_object_del(c, "previous_sha256");
	strbuf_init(&b, 64u << 20);
	if (canon_dump(c, &b, &e) != 0)
		fail_msg("canon: %s", e.msg);
	json_decref(c);
	return strbuf_take(&b);
}

static void test_same_state_same_bytes(void **state)
{
	struct evsig_verified v1, v2;
	struct pst_err e = {0};
	json_t *a = NULL, *b = NULL, *m;
	char *env1, *env2, *s1, *s2;
	size_t len1, len2;

	(void)state;
	/* Built twice at one moment: the same document. */
	assert_int_equal(evidence_build(F.ev, F.st, T0 + 50 * SEC, NULL, NULL, 9, NULL, &a, &e), 0);
	assert_int_equal(evidence_build(F.ev, F.st, T0 + 50 * SEC, NULL, NULL, 9, NULL, &b, &e), 0);
	s1 = stable_bytes(a);
	s2 = stable_bytes(b);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "taken_by"),
							       "kind")), "schedule");
	json_decref(a);
	json_decref(b);

	/* Taken and stored twice: apart from id, seq, taken_at and previous, identical. */
	m = take(T0 + 60 * SEC, NULL);
	json_decref(m);
	m = take(T0 + 60 * SEC, NULL);
	json_decref(m);
	fetch("ev-00000001", &v1, &env1, &len1);
	fetch("ev-00000002", &v2, &env2, &len2);
	s1 = stable_bytes(v1.snapshot);
	s2 = stable_bytes(v2.snapshot);
	assert_string_equal(s1, s2);
	assert_string_not_equal(v1.sha256, v2.sha256);
	free(s1);
	free(s2);
	evsig_verified_cleanup(&v1);
	evsig_verified_cleanup(&v2);
	free(env1);
	free(env2);
}

static void test_too_big(void **state)
{
	struct pst_err e = {0};
	struct store_evidence_head head;
	json_t *meta = NULL;

	(void)state;
	F.cfg.evidence_max_bytes = 2048;
	assert_int_equal(evidence_take(F.ev, F.st, T0, NULL, NULL, &meta, &e), PST_E_TOOBIG);
	assert_non_null(strstr(e.msg, "narrow its scope"));
	assert_null(meta);
	assert_int_equal(store_evidence_last(F.st, &head, &e), 0);
	assert_int_equal(head.seq, 0);
	/* The store is usable after the rollback. */
	F.cfg.evidence_max_bytes = 64u << 20;
	meta = take(T0, NULL);
	assert_int_equal(json_integer_value(json_object_get(meta, "seq")), 1);
	json_decref(meta);
}

static void test_key_refused(void **state)
{
	struct evidence *ev = NULL;
	struct pst_err e = {0};
	char *saved;

	(void)state;
	assert_int_equal(chmod(F.cfg.evidence_key, 0644), 0);
	assert_int_equal(evidence_new(&F.cfg, "x", &ev, &e), PST_E_ACCES);
	assert_non_null(strstr(e.msg, "readable by group or others"));
	assert_null(ev);
	assert_int_equal(chmod(F.cfg.evidence_key, 0600), 0);
	saved = F.cfg.evidence_key;
	F.cfg.evidence_key = NULL;
	assert_int_not_equal(evidence_new(&F.cfg, "x", &ev, &e), 0);
	assert_non_null(strstr(e.msg, "evidence_key"));
	F.cfg.evidence_key = saved;
}

/*
 * A version-2 file (tests/fixtures/store/schema-v2.sql, frozen) migrates to
 * version 3 in one step: what it held stays, and snapshots start at seq 1.
 */
static void test_migrate_from_v2(void **state)
{
	struct pst_err e = {0};
	struct evsig_verified v;
	json_t *meta;
	sqlite3 *db = NULL;
	char *schema2 = su_file_text(tu_fixture("store/schema-v2.sql")), *env;
	size_t len;

	(void)state;
	store_close(F.st);
	F.st = NULL;
	assert_int_equal(unlink(F.db), 0);
	assert_int_equal(sqlite3_open(F.db, &db), SQLITE_OK);
	su_sql_exec(db, "BEGIN");
	su_sql_exec(db, schema2);
	free(schema2);
	su_sql_exec(db, "PRAGMA user_version = 2; PRAGMA application_id = 1347638354");
	su_sql_exec(db, "COMMIT");
	su_sql_exec(db,
		"INSERT INTO hosts (agent_id, hostname, first_seen, last_seen, last_report, last_seq)"
		" VALUES ('old', 'old.example', 1764000000000000, 1764000000000000,"
		"  1764000000000000, 3);"
		"INSERT INTO results (agent_id, policy_id, check_id, title, category, severity,"
		"  status, controls, evidence, seq, changed_at, checked_at) VALUES"
		" ('old', 'base', 'pkg.security', 't', 'patch', 'medium', 'fail',"
		"  '{\"iso27001\":[\"A.8.8\"]}', '[{\"subject\":\"s\"}]', 3, 1763900000000000,"
		"  1764000000000000);"
		"INSERT INTO violations (agent_id, policy_id, check_id, severity, category, title,"
		"  controls, evidence, opened_at, opened_seq) VALUES ('old', 'base', 'pkg.security',"
		"  'medium', 'patch', 't', '{\"iso27001\":[\"A.8.8\"]}', '[]', 1763900000000000, 3);");
	sqlite3_close(db);

	if (store_open(F.cfg.store, &F.st, &e) != 0)
		fail_msg("open: %s", e.msg);
	assert_int_equal(store_schema_version(F.st), 3);
	assert_int_equal(su_raw_int(F.db, "SELECT count(*) FROM sqlite_master WHERE name IN"
				 " ('evidence', 'evidence_no_update', 'evidence_no_delete',"
				 "  'evidence_append_only')"), 4);
	meta = take(T0 + 100 * SEC, NULL);
	assert_int_equal(json_integer_value(json_object_get(meta, "seq")), 1);
	json_decref(meta);
	fetch("ev-00000001", &v, &env, &len);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(v.snapshot, "hosts"), 0), "id")), "old");
	assert_int_equal(json_array_size(json_object_get(v.snapshot, "violations")), 1);
	evsig_verified_cleanup(&v);
	free(env);
}

static void expect_parse(const char *body, int code, const char *part)
{
	struct evidence_scope sc;
	struct pst_err e = {0};

	assert_int_equal(evidence_request_parse(body, strlen(body), &sc, &e), code);
	if (part != NULL && strstr(e.msg, part) == NULL)
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", body, e.msg, part);
	evidence_scope_cleanup(&sc);
}

static void test_request(void **state)
{
	struct evidence_scope sc;
	struct pst_err e = {0};
	const char *body = "{\"scope\": {\"host\": \"web-1\", \"control\": \"A.8.8\", "
			   "\"search\": null}}";
	char big[EVIDENCE_REQUEST_MAX + 2];

	(void)state;
	assert_int_equal(evidence_request_parse("", 0, &sc, &e), 0);
	assert_null(sc.host);
	assert_int_equal(evidence_request_parse(" \n", 2, &sc, &e), 0);
	assert_null(sc.control);
	assert_int_equal(evidence_request_parse(body, strlen(body), &sc, &e), 0);
	assert_string_equal(sc.host, "web-1");
	assert_string_equal(sc.control, "A.8.8");
	assert_null(sc.search);
	evidence_scope_cleanup(&sc);
	/* Lengths are explicit: the rest of the buffer is not read. */
	assert_int_equal(evidence_request_parse("{}garbage", 2, &sc, &e), 0);
	expect_parse("{\"scope\": null}", 0, NULL);
	expect_parse("{\"scope\": {}}", 0, NULL);

	expect_parse("{\"scope\": {}, \"limit\": 3}", PST_E_INVAL, "unknown key \"limit\"");
	expect_parse("{\"scope\": {\"hots\": \"a\"}}", PST_E_INVAL, "unknown key \"hots\"");
	expect_parse("{\"scope\": {\"host\": 3}}", PST_E_INVAL, "scope.host");
	expect_parse("{\"scope\": {\"search\": \"\"}}", PST_E_INVAL, "scope.search is empty");
	expect_parse("{\"scope\": {\"host\": \"a\\u0001\"}}", PST_E_INVAL, "control character");
	expect_parse("{\"scope\": {\"host\": \"a\\u0000b\"}}", PST_E_PARSE, NULL);
	expect_parse("{\"scope\": []}", PST_E_INVAL, "\"scope\" must be an object");
	expect_parse("[]", PST_E_INVAL, "must be an object");
	expect_parse("{\"scope\": {}, \"scope\": {}}", PST_E_PARSE, NULL);
	expect_parse("{\"scope\":", PST_E_PARSE, "not JSON");
	memset(big, ' ', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	expect_parse(big, PST_E_TOOBIG, NULL);
	memset(big, 'x', 300);
	memcpy(big, "{\"scope\": {\"host\": \"", 20);
	memcpy(big + 290, "\"}}", 4);
	expect_parse(big, PST_E_INVAL, "at most 255");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_immutable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_state_same_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_v2, setup, teardown),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
