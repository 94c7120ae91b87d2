/*
 * test_ingest.c - the store thread with a real uv loop and a real SQLite
 * file: many submissions from several connections answered once each, in
 * submission order; duplicates answered 1; Hello in order with reports;
 * ingest_stop committing what is queued; queued bytes back to 0; a commit
 * failing while another connection holds the database lock, retried until
 * the lock goes, with nothing answered before; a store still locked at
 * shutdown answered with an error, not an ack; a report that can never be
 * stored refused alone.
 *
 * Nothing here waits for a time: a repeating timer only polls the stats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "testutil.h"

#define T0 1764000000000000LL
#define NCONN 3
#define MAX_EVENTS 1024

struct event {
	void *ctx;
	bool hello;
	uint64_t seq;      /* report: its seq; hello: the last_seq expected */
	int status;
};

struct conn {
	struct run *run;
	char agent[32];
};

struct run {
	uv_loop_t loop;
	struct ingest *ig;
	char *dir;
	char path[512];
	struct conn conn[NCONN];
	/* What was submitted, in order, and what was answered, in order. */
	struct event sub[MAX_EVENTS], got[MAX_EVENTS];
	size_t nsub, ngot;
	size_t stop_after;  /* ingest_stop once this many answers came */
	int done_calls;
	/* the retry test */
	sqlite3 *locker;
	bool locked;
	uv_timer_t timer;
	size_t acked_while_locked;
	struct ingest_stats stats; /* at the end */
};

static void on_done(void *arg)
{
	((struct run *)arg)->done_calls++;
}

static void answered(struct run *r, void *ctx, bool hello, uint64_t seq, int status)
{
	assert_true(r->ngot < MAX_EVENTS);
	r->got[r->ngot++] = (struct event){ctx, hello, seq, status};
	if (r->locked && status >= 0)
		r->acked_while_locked++;
	if (r->ngot == r->stop_after)
		ingest_stop(r->ig, on_done, r);
}

static void on_report(void *ctx, uint64_t seq, int status)
{
	struct conn *c = ctx;

	answered(c->run, ctx, false, seq, status);
}

static void on_hello(void *ctx, int status, uint64_t last_seq, const char *msg)
{
	struct conn *c = ctx;

	assert_int_equal(status, 0);
	assert_null(msg);
	answered(c->run, ctx, true, last_seq, status);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static struct store_report *mk_report(const char *agent, uint64_t seq, size_t wire)
{
	struct store_report *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->agent_id = xstrdup(agent);
	r->seq = seq;
	r->scan_id = xstrdup("scan");
	r->started_us = T0 + (int64_t)seq;
	r->finished_us = r->started_us + 10;
	r->received_us = r->finished_us + 10;
	r->nresults = 1;
	r->results = calloc(1, sizeof(*r->results));
	assert_non_null(r->results);
	r->results[0].policy_id = xstrdup("base");
	r->results[0].check_id = xstrdup("ssh.permit-root-login");
	r->results[0].status = seq % 2 ? STORE_PASS : STORE_FAIL;
	r->results[0].severity = STORE_SEV_HIGH;
	r->wire_bytes = wire;
	return r;
}

/* Submit a report of conn c, expecting status (0 stored, 1 duplicate, ...). */
static void submit(struct run *r, struct conn *c, uint64_t seq, size_t wire, int status)
{
	assert_true(r->nsub < MAX_EVENTS);
	r->sub[r->nsub++] = (struct event){c, false, seq, status};
	assert_int_equal(ingest_submit(r->ig, mk_report(c->agent, seq, wire), on_report, c), 0);
}

static void hello(struct run *r, struct conn *c, uint64_t expect_last_seq)
{
	struct store_facts f = {0};

	f.hostname = xstrdup(c->agent);
	f.os_id = xstrdup("debian");
	assert_true(r->nsub < MAX_EVENTS);
	r->sub[r->nsub++] = (struct event){c, true, expect_last_seq, 0};
	assert_int_equal(ingest_hello(r->ig, c->agent, &f, T0, on_hello, c), 0);
	assert_null(f.hostname); /* taken */
}

static struct run *run_new(uint32_t batch_max, uint32_t delay_ms, int busy_ms)
{
	struct run *r = calloc(1, sizeof(*r));
	struct ingest_limits lim = {.batch_max_reports = batch_max, .batch_delay_ms = delay_ms};
	struct store *st = NULL;
	struct pst_err e = {0};

	assert_non_null(r);
	assert_int_equal(uv_loop_init(&r->loop), 0);
	r->dir = tu_mkdtemp();
	snprintf(r->path, sizeof(r->path), "%s/store.db", r->dir);
	if (store_open(r->path, &st, &e) != 0)
		fail_msg("%s", e.msg);
	if (busy_ms >= 0)
		store_set_busy_timeout(st, busy_ms);
	if (ingest_new(&r->loop, st, &lim, &r->ig, &e) != 0)
		fail_msg("%s", e.msg);
	for (int i = 0; i < NCONN; i++) {
		r->conn[i].run = r;
		snprintf(r->conn[i].agent, sizeof(r->conn[i].agent), "agent-%d", i);
	}
	return r;
}

/* Run the loop to its end (the ingest's handle closed), check and free. */
static void run_finish(struct run *r)
{
	assert_int_equal(uv_run(&r->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(r->done_calls, 1);
	assert_int_equal(ingest_queued_bytes(r->ig), 0);
	ingest_get_stats(r->ig, &r->stats);
	ingest_free(r->ig);
	r->ig = NULL;
	assert_int_equal(uv_loop_close(&r->loop), 0);
}

static void run_free(struct run *r)
{
	tu_rmrf(r->dir);
	free(r->dir);
	free(r);
}

/* Every submission answered once, in submission order, as expected. */
static void expect_answers(const struct run *r)
{
	assert_int_equal(r->ngot, r->nsub);
	for (size_t i = 0; i < r->nsub; i++) {
		assert_ptr_equal(r->got[i].ctx, r->sub[i].ctx);
		assert_int_equal(r->got[i].hello, r->sub[i].hello);
		assert_int_equal(r->got[i].seq, r->sub[i].seq);
		assert_int_equal(r->got[i].status, r->sub[i].status);
	}
}

static struct store_counts counts_of(const char *path)
{
	struct store_counts c;
	struct store *st = NULL;
	struct pst_err e = {0};

	if (store_open(path, &st, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(store_counts(st, &c, &e), 0);
	store_close(st);
	return c;
}

static void test_many_in_order(void **state)
{
	struct run *r = run_new(16, 2, -1);
	struct ingest_stats s;
	struct store_counts c;
	const size_t per_conn = 100;
	size_t total_bytes = 0;
	(void)state;

	for (int i = 0; i < NCONN; i++)
		hello(r, &r->conn[i], 0);
	/* Interleaved as connections would be, a duplicate of each now and then. */
	for (uint64_t seq = 1; seq <= per_conn; seq++)
		for (int i = 0; i < NCONN; i++) {
			submit(r, &r->conn[i], seq, 100 + (size_t)i, 0);
			total_bytes += 100 + (size_t)i;
			if (seq % 25 == 0) {
				submit(r, &r->conn[i], seq - 1, 7, 1);
				total_bytes += 7;
			}
		}
	/* The second Hello comes after every report of its connection. */
	hello(r, &r->conn[1], per_conn);
	assert_true(ingest_queued_bytes(r->ig) <= total_bytes);
	r->stop_after = r->nsub;
	run_finish(r);

	expect_answers(r);
	s = r->stats;
	assert_int_equal(s.stored, NCONN * per_conn);
	assert_int_equal(s.duplicates, NCONN * 4);
	assert_int_equal(s.commit_failures, 0);
	assert_true(s.batches >= (NCONN * (per_conn + 4)) / 16);
	c = counts_of(r->path);
	assert_int_equal(c.hosts, NCONN);
	assert_int_equal(c.scans, NCONN * per_conn);
	assert_int_equal(c.results, NCONN);
	/* The check alternates pass and fail: a transition per report. */
	assert_int_equal(c.transitions, NCONN * per_conn);
	run_free(r);
}

static void test_stop_commits_queued(void **state)
{
	struct run *r = run_new(8, 50, -1);
	struct store_facts f = {0};
	struct ingest_stats s;
	(void)state;

	for (uint64_t seq = 1; seq <= 40; seq++)
		submit(r, &r->conn[seq % NCONN], seq, 10, 0);
	/* Stop before the loop ever ran: everything is still committed. */
	ingest_stop(r->ig, on_done, r);
	assert_int_equal(ingest_submit(r->ig, mk_report("agent-0", 99, 10), on_report,
				       &r->conn[0]), PST_E_INVAL);
	f.hostname = xstrdup("late");
	assert_int_equal(ingest_hello(r->ig, "agent-0", &f, T0, on_hello, &r->conn[0]),
			 PST_E_INVAL);
	ingest_stop(r->ig, on_done, r); /* a second stop changes nothing */
	run_finish(r);

	expect_answers(r);
	s = r->stats;
	assert_int_equal(s.stored, 40);
	assert_int_equal(counts_of(r->path).scans, 40);
	run_free(r);
}

/*
 * Poll (not wait for) the ingest: once it has failed twice against the
 * lock, check nothing was answered or dropped, and let go of the lock.
 */
static void poll_stats(uv_timer_t *t)
{
	struct run *r = t->data;
	struct ingest_stats s;

	ingest_get_stats(r->ig, &s);
	if (r->locked && s.commit_failures >= 2) {
		assert_int_equal(r->ngot, 0);
		assert_int_equal(s.stored, 0);
		assert_int_equal(ingest_queued_bytes(r->ig), 10 * 100);
		assert_int_equal(sqlite3_exec(r->locker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
		r->locked = false;
	}
	if (r->ngot == r->nsub)
		uv_close((uv_handle_t *)t, NULL);
}

static sqlite3 *lock_store(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static void test_retry_until_unlocked(void **state)
{
	struct run *r = run_new(4, 1, 5);
	struct ingest_stats s;
	(void)state;

	r->locker = lock_store(r->path);
	r->locked = true;
	for (uint64_t seq = 1; seq <= 10; seq++)
		submit(r, &r->conn[0], seq, 100, 0);
	r->stop_after = r->nsub;
	assert_int_equal(uv_timer_init(&r->loop, &r->timer), 0);
	r->timer.data = r;
	assert_int_equal(uv_timer_start(&r->timer, poll_stats, 2, 2), 0);
	run_finish(r);

	expect_answers(r);
	assert_int_equal(r->acked_while_locked, 0);
	s = r->stats;
	assert_true(s.commit_failures >= 2);
	assert_int_equal(s.stored, 10);
	sqlite3_close(r->locker);
	assert_int_equal(counts_of(r->path).scans, 10);
	run_free(r);
}

static void test_stop_with_store_locked(void **state)
{
	struct run *r = run_new(4, 1, 5);
	struct ingest_stats s;
	(void)state;

	r->locker = lock_store(r->path);
	r->locked = true;
	for (uint64_t seq = 1; seq <= 3; seq++)
		submit(r, &r->conn[2], seq, 100, PST_E_STORE);
	ingest_stop(r->ig, on_done, r);
	run_finish(r);

	/* Answered with the error, so the connections do not ack. */
	expect_answers(r);
	assert_int_equal(r->acked_while_locked, 0);
	s = r->stats;
	assert_int_equal(s.stored, 0);
	assert_true(s.commit_failures >= 4); /* the tries after ingest_stop */
	assert_int_equal(sqlite3_exec(r->locker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(r->locker);
	assert_int_equal(counts_of(r->path).scans, 0);
	run_free(r);
}

static void test_unstorable_report(void **state)
{
	struct run *r = run_new(16, 1, -1);
	struct store_report *bad;
	struct ingest_stats s;
	(void)state;

	submit(r, &r->conn[0], 1, 10, 0);
	bad = mk_report("agent-0", 2, 10);
	free(bad->results[0].check_id);
	bad->results[0].check_id = NULL;
	r->sub[r->nsub++] = (struct event){&r->conn[0], false, 2, PST_E_INVAL};
	assert_int_equal(ingest_submit(r->ig, bad, on_report, &r->conn[0]), 0);
	submit(r, &r->conn[0], 3, 10, 0);
	r->stop_after = r->nsub;
	run_finish(r);

	expect_answers(r);
	s = r->stats;
	assert_int_equal(s.stored, 2);
	assert_int_equal(counts_of(r->path).scans, 2);
	run_free(r);
}

static int hello_status;
static char hello_msg[1024];

static void on_hello_failed(void *ctx, int status, uint64_t last_seq, const char *msg)
{
	struct conn *c = ctx;

	hello_status = status;
	assert_int_equal(last_seq, 0);
	assert_non_null(msg);
	snprintf(hello_msg, sizeof(hello_msg), "%s", msg);
	answered(c->run, ctx, true, last_seq, status);
}

/* A Hello the store cannot take is answered with the error, not retried. */
static void test_hello_failure(void **state)
{
	struct run *r = run_new(4, 1, 5);
	struct store_facts f = {0};
	(void)state;

	r->locker = lock_store(r->path);
	f.hostname = xstrdup("web-9");
	assert_int_equal(ingest_hello(r->ig, "agent-9", &f, T0, on_hello_failed, &r->conn[0]), 0);
	r->stop_after = 1;
	run_finish(r);
	assert_int_equal(r->ngot, 1);
	assert_int_equal(hello_status, PST_E_STORE);
	assert_non_null(strstr(hello_msg, "agent-9"));
	assert_non_null(strstr(hello_msg, "lock"));
	assert_int_equal(sqlite3_exec(r->locker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(r->locker);
	assert_int_equal(counts_of(r->path).hosts, 0);
	run_free(r);
}

/*
 * Hellos and reports queued together share a batch: each Hello sees the
 * reports submitted before it (also those of its own transaction), and a
 * Hello that fails takes nothing else with it.
 */
static void test_hellos_in_batch(void **state)
{
	struct run *r = run_new(64, 20, -1);
	struct store_facts f = {0};
	struct store_counts c;
	(void)state;

	hello(r, &r->conn[0], 0);
	for (uint64_t seq = 1; seq <= 5; seq++)
		submit(r, &r->conn[0], seq, 10, 0);
	hello(r, &r->conn[0], 5);
	hello(r, &r->conn[1], 0);
	/* No agent id: this Hello fails, on its own. */
	f.hostname = xstrdup("nameless");
	assert_true(r->nsub < MAX_EVENTS);
	r->sub[r->nsub++] = (struct event){&r->conn[2], true, 0, PST_E_INVAL};
	assert_int_equal(ingest_hello(r->ig, "", &f, T0, on_hello_failed, &r->conn[2]), 0);
	submit(r, &r->conn[1], 1, 10, 0);
	submit(r, &r->conn[0], 3, 10, 1);
	hello(r, &r->conn[1], 1);
	r->stop_after = r->nsub;
	run_finish(r);

	expect_answers(r);
	assert_int_equal(hello_status, PST_E_INVAL);
	assert_int_equal(r->stats.stored, 6);
	assert_int_equal(r->stats.duplicates, 1);
	assert_int_equal(r->stats.commit_failures, 0);
	c = counts_of(r->path);
	assert_int_equal(c.hosts, 2);
	assert_int_equal(c.scans, 6);
	run_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_in_order),
		cmocka_unit_test(test_stop_commits_queued),
		cmocka_unit_test(test_retry_until_unlocked),
		cmocka_unit_test(test_stop_with_store_locked),
		cmocka_unit_test(test_unstorable_report),
		cmocka_unit_test(test_hello_failure),
		cmocka_unit_test(test_hellos_in_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
