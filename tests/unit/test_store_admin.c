/*
 * test_store_admin.c - the store's tables that reports do not write, on a
 * real SQLite file in a scratch directory: API tokens (added by hash,
 * found, expired, revoked, spent to zero, listed, last use recorded at
 * most once a minute), the alert queue (due, logged, failed with backoff,
 * given up, delivered into the log), enrollments and agent ids taken, and
 * role names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "storeutil.h"
#include "testutil.h"

static void hash_of(int n, uint8_t h[32])
{
	memset(h, n, 32);
}

static int64_t add(struct store *s, int n, const char *name, enum store_role role,
		   int64_t expires, int64_t uses)
{
	struct store_token t = {.role = role, .created_us = T0, .expires_us = expires,
				.uses_left = uses};
	struct pst_err e = {0};
	uint8_t h[32];
	int64_t id = 0;

	snprintf(t.name, sizeof(t.name), "%s", name);
	hash_of(n, h);
	if (store_token_add(s, h, &t, &id, &e) != 0)
		fail_msg("token add: %s", e.msg);
	assert_true(id > 0);
	return id;
}

static void test_roles(void **state)
{
	enum store_role r;

	(void)state;
	assert_string_equal(store_role_name(STORE_ROLE_ISO), "iso");
	assert_string_equal(store_role_name(STORE_ROLE_AUDITOR), "auditor");
	assert_string_equal(store_role_name(STORE_ROLE_ADMIN), "admin");
	assert_string_equal(store_role_name(STORE_ROLE_ENROLL), "enroll");
	assert_string_equal(store_role_name(STORE_ROLE_NONE), "none");
	assert_string_equal(store_role_name((enum store_role)42), "none");
	assert_int_equal(store_role_parse("auditor", &r), 0);
	assert_int_equal(r, STORE_ROLE_AUDITOR);
	assert_int_equal(store_role_parse("enroll", &r), 0);
	assert_int_equal(r, STORE_ROLE_ENROLL);
	assert_int_equal(store_role_parse("none", &r), PST_E_INVAL);
	assert_int_equal(store_role_parse("Admin", &r), PST_E_INVAL);
	assert_int_equal(store_role_parse(NULL, &r), PST_E_INVAL);
	assert_int_equal(r, STORE_ROLE_NONE);
}

static void test_tokens(void **state)
{
	struct su_store *f = *state;
	struct store_token t;
	struct pst_err e = {0};
	uint8_t h[32];
	int64_t iso, exp, rev, id;
	json_t *d = NULL, *x;

	iso = add(f->s, 1, "ci reader", STORE_ROLE_ISO, 0, -1);
	exp = add(f->s, 2, "short", STORE_ROLE_ADMIN, T0 + 60 * SEC, -1);
	rev = add(f->s, 3, "gone", STORE_ROLE_AUDITOR, 0, -1);

	/* Found, with everything it was added with; the use recorded. */
	hash_of(1, h);
	assert_int_equal(store_token_find(f->s, h, T0 + 10 * SEC, &t, &e), 0);
	assert_int_equal(t.id, iso);
	assert_string_equal(t.name, "ci reader");
	assert_int_equal(t.role, STORE_ROLE_ISO);
	assert_int_equal(t.created_us, T0);
	assert_int_equal(t.expires_us, 0);
	assert_int_equal(t.uses_left, -1);
	assert_int_equal(t.last_used_us, T0 + 10 * SEC);
	assert_false(t.revoked);
	/* Within the minute the last use is not written again; after it, it is. */
	assert_int_equal(store_token_find(f->s, h, T0 + 40 * SEC, &t, &e), 0);
	assert_int_equal(t.last_used_us, T0 + 10 * SEC);
	assert_int_equal(su_raw_int(f->path, "SELECT last_used FROM tokens WHERE name = 'ci reader'"),
			 T0 + 10 * SEC);
	assert_int_equal(store_token_find(f->s, h, T0 + 71 * SEC, &t, &e), 0);
	assert_int_equal(t.last_used_us, T0 + 71 * SEC);
	assert_int_equal(su_raw_int(f->path, "SELECT last_used FROM tokens WHERE name = 'ci reader'"),
			 T0 + 71 * SEC);

	/* Unknown, expired, revoked. */
	hash_of(9, h);
	assert_int_equal(store_token_find(f->s, h, T0, &t, &e), PST_E_NOENT);
	hash_of(2, h);
	assert_int_equal(store_token_find(f->s, h, T0 + 59 * SEC, &t, &e), 0);
	assert_int_equal(store_token_find(f->s, h, T0 + 60 * SEC, &t, &e), PST_E_ACCES);
	assert_int_equal(t.id, exp);
	assert_int_equal(t.expires_us, T0 + 60 * SEC);
	assert_non_null(strstr(e.msg, "expired"));
	assert_int_equal(store_token_revoke(f->s, rev, &e), 0);
	hash_of(3, h);
	assert_int_equal(store_token_find(f->s, h, T0, &t, &e), PST_E_ACCES);
	assert_true(t.revoked);
	assert_string_equal(t.name, "gone");
	assert_non_null(strstr(e.msg, "revoked"));
	assert_int_equal(store_token_revoke(f->s, 999, &e), PST_E_NOENT);

	/* The same hash twice, no role, no name. */
	hash_of(1, h);
	t = (struct store_token){.role = STORE_ROLE_ISO, .uses_left = -1};
	snprintf(t.name, sizeof(t.name), "again");
	assert_int_equal(store_token_add(f->s, h, &t, &id, &e), PST_E_INVAL);
	t.role = STORE_ROLE_NONE;
	hash_of(7, h);
	assert_int_equal(store_token_add(f->s, h, &t, &id, &e), PST_E_INVAL);
	t.role = STORE_ROLE_ISO;
	t.name[0] = '\0';
	assert_int_equal(store_token_add(f->s, h, &t, &id, &e), PST_E_INVAL);

	/* The list shows no hash. */
	assert_int_equal(store_tokens(f->s, &d, &e), 0);
	assert_int_equal(json_array_size(json_object_get(d, "tokens")), 3);
	x = json_array_get(json_object_get(d, "tokens"), 1);
	assert_int_equal(json_integer_value(json_object_get(x, "id")), exp);
	assert_string_equal(json_string_value(json_object_get(x, "name")), "short");
	assert_string_equal(json_string_value(json_object_get(x, "role")), "admin");
	assert_string_equal(json_string_value(json_object_get(x, "created_at")),
			    "2025-11-24T16:00:00Z");
	assert_string_equal(json_string_value(json_object_get(x, "expires_at")),
			    "2025-11-24T16:01:00Z");
	assert_true(json_is_null(json_object_get(x, "uses_left")));
	assert_string_equal(json_string_value(json_object_get(x, "last_used_at")),
			    "2025-11-24T16:00:59Z");
	assert_true(json_is_false(json_object_get(x, "revoked")));
	assert_null(json_object_get(x, "hash"));
	x = json_array_get(json_object_get(d, "tokens"), 2);
	assert_true(json_is_true(json_object_get(x, "revoked")));
	assert_true(json_is_null(json_object_get(x, "last_used_at")));
	assert_true(json_is_null(json_object_get(x, "expires_at")));
	assert_int_equal(json_object_size(x), 8);
	json_decref(d);
}

static void test_token_spend(void **state)
{
	struct su_store *f = *state;
	struct store_token t;
	struct pst_err e = {0};
	uint8_t h[32];
	json_t *d = NULL;

	add(f->s, 4, "enroll two", STORE_ROLE_ENROLL, T0 + 3600 * SEC, 2);
	hash_of(4, h);
	assert_int_equal(store_token_spend(f->s, h, T0 + SEC, &t, &e), 0);
	assert_int_equal(t.uses_left, 1);
	assert_int_equal(t.last_used_us, T0 + SEC);
	assert_int_equal(store_token_spend(f->s, h, T0 + 2 * SEC, &t, &e), 0);
	assert_int_equal(t.uses_left, 0);
	assert_int_equal(store_token_spend(f->s, h, T0 + 3 * SEC, &t, &e), PST_E_ACCES);
	assert_non_null(strstr(e.msg, "spent"));
	assert_int_equal(t.uses_left, 0);
	assert_int_equal(su_raw_int(f->path, "SELECT uses_left FROM tokens"), 0);
	/* The refusal wrote nothing and left no transaction open. */
	assert_int_equal(su_raw_int(f->path, "SELECT last_used FROM tokens"), T0 + 2 * SEC);
	assert_int_equal(store_tokens(f->s, &d, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(d, "tokens"), 0), "uses_left")), 0);
	json_decref(d);

	/* Expired before spent; unlimited uses stay unlimited; revoked; unknown. */
	add(f->s, 5, "enroll late", STORE_ROLE_ENROLL, T0 + SEC, 5);
	hash_of(5, h);
	assert_int_equal(store_token_spend(f->s, h, T0 + 2 * SEC, &t, &e), PST_E_ACCES);
	assert_non_null(strstr(e.msg, "expired"));
	assert_int_equal(t.uses_left, 5);
	add(f->s, 6, "enroll many", STORE_ROLE_ENROLL, 0, -1);
	hash_of(6, h);
	assert_int_equal(store_token_spend(f->s, h, T0, &t, &e), 0);
	assert_int_equal(t.uses_left, -1);
	assert_int_equal(store_token_revoke(f->s, t.id, &e), 0);
	assert_int_equal(store_token_spend(f->s, h, T0, &t, &e), PST_E_ACCES);
	assert_non_null(strstr(e.msg, "revoked"));
	hash_of(8, h);
	assert_int_equal(store_token_spend(f->s, h, T0, &t, &e), PST_E_NOENT);
}

/* Queue an alert the way the store does, through a stale host. */
static void queue_alerts(struct su_store *f, int n)
{
	struct store_facts facts = {0};
	struct store_view v = {.now_us = T0 + 100000 * SEC, .stale_intervals = 1,
			       .default_interval_s = 60};
	struct pst_err e = {0};
	uint64_t last;
	size_t marked = 0;
	char id[16];

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "a%d", i);
		assert_int_equal(store_host_hello(f->s, id, &facts, T0, &last, &e), 0);
	}
	assert_int_equal(store_mark_stale(f->s, &v, &marked, &e), 0);
	assert_int_equal(marked, (size_t)n);
}

static void test_alerts(void **state)
{
	struct su_store *f = *state;
	int64_t now = T0 + 100000 * SEC;
	struct pst_err e = {0};
	struct store_alert *a = NULL;
	uint64_t pending = 0;
	size_t n = 0;
	int64_t id0, id1, id2;

	queue_alerts(f, 3);
	assert_int_equal(store_alerts_pending(f->s, &pending, &e), 0);
	assert_int_equal(pending, 3);
	/* New alerts are due (not logged yet), oldest first, up to max. */
	assert_int_equal(store_alerts_due(f->s, now, 2, &a, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(a[0].kind, "host_stale");
	assert_true(a[0].id < a[1].id);
	assert_false(a[0].logged);
	assert_int_equal(a[0].created_us, now);
	assert_non_null(strstr(a[0].body, "\"host_stale\""));
	id0 = a[0].id;
	id1 = a[1].id;
	su_free_alerts(a, n);
	assert_int_equal(store_alerts_due(f->s, now, 10, &a, &n, &e), 0);
	assert_int_equal(n, 3);
	id2 = a[2].id;
	su_free_alerts(a, n);

	/* Logged and failed with a backoff: not due until then, but still pending. */
	assert_int_equal(store_alert_logged(f->s, id0, &e), 0);
	assert_int_equal(store_alert_failed(f->s, id0, now + 30 * SEC, "webhook 503", &e), 0);
	assert_int_equal(store_alert_logged(f->s, id1, &e), 0);
	assert_int_equal(store_alerts_due(f->s, now + SEC, 10, &a, &n, &e), 0);
	assert_int_equal(n, 2); /* id1 (logged, due since created) and id2 (not logged) */
	assert_int_equal(a[0].id, id1);
	assert_true(a[0].logged);
	assert_int_equal(a[1].id, id2);
	su_free_alerts(a, n);
	assert_int_equal(store_alerts_due(f->s, now + 30 * SEC, 10, &a, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(a[0].id, id0);
	assert_int_equal(a[0].attempts, 1);
	assert_int_equal(a[0].next_attempt_us, now + 30 * SEC);
	assert_true(a[0].logged);
	su_free_alerts(a, n);
	assert_int_equal(su_raw_int(f->path, "SELECT count(*) FROM alerts WHERE last_error ="
				 " 'webhook 503'"), 1);

	/* Delivered: out of the queue, into the log. */
	assert_int_equal(store_alert_delivered(f->s, id1, now + 2 * SEC, &e), 0);
	assert_int_equal(store_alert_delivered(f->s, id1, now + 2 * SEC, &e), PST_E_NOENT);
	assert_int_equal(store_alerts_pending(f->s, &pending, &e), 0);
	assert_int_equal(pending, 2);
	/* Failed again, then given up (next 0). */
	assert_int_equal(store_alert_failed(f->s, id0, now + 90 * SEC, "timeout", &e), 0);
	assert_int_equal(store_alert_failed(f->s, id0, 0, "webhook 500", &e), 0);
	assert_int_equal(store_alerts_pending(f->s, &pending, &e), 0);
	assert_int_equal(pending, 1);
	assert_int_equal(su_raw_int(f->path, "SELECT count(*) FROM alert_log"), 2);
	assert_int_equal(su_raw_int(f->path, "SELECT attempts FROM alert_log WHERE outcome ="
				 " 'given_up'"), 3);
	assert_int_equal(su_raw_int(f->path, "SELECT count(*) FROM alert_log WHERE outcome ="
				 " 'given_up' AND last_error = 'webhook 500'"), 1);
	assert_int_equal(su_raw_int(f->path, "SELECT at FROM alert_log WHERE outcome ="
				 " 'delivered'"), now + 2 * SEC);
	assert_int_equal(store_alert_failed(f->s, id0, now, "x", &e), PST_E_NOENT);
	assert_int_equal(store_alert_logged(f->s, id0, &e), PST_E_NOENT);
	assert_int_equal(store_alerts_due(f->s, now, 0, &a, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(a);
}

static void test_enrollments(void **state)
{
	struct su_store *f = *state;
	struct store_facts facts = {0};
	struct pst_err e = {0};
	uint64_t last;
	bool taken = true;
	int64_t tok;
	char hex[65];

	memset(hex, 'c', 64);
	hex[64] = '\0';
	assert_int_equal(store_agent_id_taken(f->s, "web-1", &taken, &e), 0);
	assert_false(taken);
	tok = add(f->s, 1, "enroll", STORE_ROLE_ENROLL, 0, 3);
	assert_int_equal(store_enrollment_add(f->s, "web-1", tok, hex, "127.0.0.1:5000", T0, &e), 0);
	assert_int_equal(store_agent_id_taken(f->s, "web-1", &taken, &e), 0);
	assert_true(taken);
	assert_int_equal(store_host_hello(f->s, "db-1", &facts, T0, &last, &e), 0);
	assert_int_equal(store_agent_id_taken(f->s, "db-1", &taken, &e), 0);
	assert_true(taken);
	assert_int_equal(store_enrollment_add(f->s, "x", 0, "short", NULL, T0, &e), PST_E_INVAL);
	assert_int_equal(store_enrollment_add(f->s, "", tok, hex, NULL, T0, &e), PST_E_INVAL);
	/* Without a token (an admin's manual enrollment). */
	assert_int_equal(store_enrollment_add(f->s, "x", 0, hex, NULL, T0, &e), 0);
	assert_int_equal(su_raw_int(f->path, "SELECT count(*) FROM enrollments WHERE token IS NULL"), 1);
	assert_int_equal(su_raw_int(f->path, "SELECT at FROM enrollments WHERE agent_id = 'web-1'"), T0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles),
		cmocka_unit_test_setup_teardown(test_tokens, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_token_spend, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_alerts, su_setup, su_teardown),
		cmocka_unit_test_setup_teardown(test_enrollments, su_setup, su_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
