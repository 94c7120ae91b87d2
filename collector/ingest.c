/*
 * ingest.c - the store thread (ingest.h).
 *
 * One FIFO of work items (reports and Hellos) under a mutex, filled by the
 * loop and drained by the thread; a second FIFO of answered items, drained
 * by the loop in the uv_async_t callback.  Both keep submission order, so
 * callbacks run in that order.  The thread owns the store handle; the loop
 * never touches it.
 *
 * A batch takes Hellos and reports together, in submission order, and
 * commits them in one transaction (each Hello in a savepoint of its own,
 * so that its failure fails that Hello only): one fdatasync for the lot.
 * When that transaction cannot commit, the batch is stored the careful way:
 * each Hello alone (not retried), runs of reports retried with backoff.
 *
 * A report leaves the first queue only when its batch has committed (or,
 * at shutdown, when the store kept failing): until then it counts in
 * ingest_queued_bytes(), so the loop keeps its connections paused.
 */
#include "ingest.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS 30000
/* At shutdown a store that keeps failing is tried this many more times. */
#define STOP_ATTEMPTS 3

struct item {
	struct item *next;
	bool hello;
	void *ctx;
	ingest_report_cb report_cb;
	ingest_hello_cb hello_cb;
	/* Freed on the loop thread with the item: it was allocated there, and
	 * a free from the store thread would take the loop's malloc arena lock
	 * (and did so under mu, stalling ingest_submit). */
	struct store_report *report;
	uint64_t seq;
	size_t bytes;
	char *agent_id;              /* Hello */
	struct store_facts facts;
	int64_t now_us;
	int status;
	uint64_t last_seq;
	char *msg;                   /* why a Hello failed */
};

struct queue {
	struct item *head, **tail;
	size_t n;
};

struct ingest {
	uv_loop_t *loop;
	struct store *st;
	struct ingest_limits lim;
	uv_async_t *async;           /* freed in its close callback */
	uv_thread_t thread;
	bool thread_running;         /* created, not yet joined */

	uv_mutex_t mu;               /* guards everything below */
	uv_cond_t cond;              /* work queued, or stopping */
	struct queue in, out;
	bool stopping, thread_done, closing;
	bool start_failed;           /* ingest_new failed after uv_async_init */
	size_t queued_bytes;
	struct ingest_stats stats;

	void (*done)(void *arg);
	void *done_arg;
};

static void queue_init(struct queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

static void queue_push(struct queue *q, struct item *it)
{
	it->next = NULL;
	*q->tail = it;
	q->tail = &it->next;
	q->n++;
}

/* Move all of from to the end of to. */
static void queue_splice(struct queue *to, struct queue *from)
{
	if (from->head == NULL)
		return;
	*to->tail = from->head;
	to->tail = from->tail;
	to->n += from->n;
	queue_init(from);
}

static void item_free(struct item *it)
{
	store_report_free(it->report);
	free(it->agent_id);
	store_facts_cleanup(&it->facts);
	free(it->msg);
	free(it);
}

/* --- the thread -------------------------------------------------------------- */

/* Wait, with the mutex held, until ms have passed or the ingest stops. */
static void wait_ms(struct ingest *ig, uint64_t ms)
{
	uint64_t deadline = uv_hrtime() + ms * 1000000u;
	uint64_t now;

	while (!ig->stopping && (now = uv_hrtime()) < deadline)
		uv_cond_timedwait(&ig->cond, &ig->mu, deadline - now);
}

/*
 * With the mutex held: the next batch, taken off the front of the queue:
 * Hellos and reports in submission order, up to batch_max_reports reports
 * (and as many Hellos again), after waiting up to batch_delay_ms for the
 * queue to fill.
 */
static void take_batch(struct ingest *ig, struct queue *batch)
{
	uint64_t deadline, now;
	size_t reports = 0, hellos = 0;

	queue_init(batch);
	if (ig->lim.batch_delay_ms > 0) {
		deadline = uv_hrtime() + (uint64_t)ig->lim.batch_delay_ms * 1000000u;
		while (!ig->stopping && ig->in.n < ig->lim.batch_max_reports &&
		       (now = uv_hrtime()) < deadline)
			uv_cond_timedwait(&ig->cond, &ig->mu, deadline - now);
	}
	while (ig->in.head != NULL) {
		struct item *it = ig->in.head;

		if (it->hello ? hellos >= ig->lim.batch_max_reports
			      : reports >= ig->lim.batch_max_reports)
			break;
		if (it->hello)
			hellos++;
		else
			reports++;
		ig->in.head = it->next;
		if (ig->in.head == NULL)
			ig->in.tail = &ig->in.head;
		ig->in.n--;
		queue_push(batch, it);
	}
}

static void do_hello(struct ingest *ig, struct item *it)
{
	struct pst_err err = {0};

	it->status = store_host_hello(ig->st, it->agent_id, &it->facts, it->now_us,
				      &it->last_seq, &err);
	if (it->status < 0) {
		log_warn("ingest: recording a Hello failed; the agent will reconnect: %s", err.msg);
		it->msg = strdup(err.msg);
	}
}

/*
 * Commit the n reports of items (already checked), retrying with backoff
 * until the store takes them.  At shutdown a failing store is given
 * STOP_ATTEMPTS more tries, after which the reports are answered with the
 * error (not acked: their agents keep them and send them again).  reports
 * and dup have room for n.
 */
static void do_reports(struct ingest *ig, struct item **items, size_t n,
		       struct store_report **reports, bool *dup)
{
	struct pst_err err;
	uint64_t backoff = BACKOFF_FIRST_MS;
	unsigned attempt = 0, stop_attempts = 0;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		reports[i] = items[i]->report;
	for (;;) {
		err = (struct pst_err){0};
		rc = store_put_reports(ig->st, reports, n, dup, &err);
		if (rc == 0)
			break;
		attempt++;
		uv_mutex_lock(&ig->mu);
		ig->stats.commit_failures++;
		if (ig->stopping && ++stop_attempts > STOP_ATTEMPTS) {
			uv_mutex_unlock(&ig->mu);
			log_error("ingest: shutting down with %zu reports the store would not take "
				  "after %u attempts; they are not acknowledged and their agents "
				  "will send them again: %s", n, attempt, err.msg);
			break;
		}
		if (ig->stopping)
			log_warn("ingest: storing a batch of %zu reports failed (attempt %u); "
				 "shutting down, retrying at once: %s", n, attempt, err.msg);
		else
			log_warn("ingest: storing a batch of %zu reports failed (attempt %u); they "
				 "stay queued and unacknowledged, retrying in %llu ms: %s", n,
				 attempt, (unsigned long long)backoff, err.msg);
		wait_ms(ig, backoff);
		uv_mutex_unlock(&ig->mu);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	for (i = 0; i < n; i++)
		items[i]->status = rc < 0 ? rc : dup[i] ? 1 : 0;
}

/*
 * The whole batch (items: its Hellos and storable reports, in order) in one
 * transaction.  0 when it committed, with every item's outcome set; else
 * nothing of it is stored and the caller stores it the careful way.
 */
static int do_together(struct ingest *ig, struct item **items, size_t n,
		       struct store_report **reports, bool *dup)
{
	struct pst_err err = {0};
	size_t i = 0, j, run;
	int rc;

	if ((rc = store_begin(ig->st, &err)) < 0)
		goto fail;
	while (i < n) {
		if (items[i]->hello) {
			do_hello(ig, items[i++]);
			continue;
		}
		for (run = 0; i + run < n && !items[i + run]->hello; run++)
			reports[run] = items[i + run]->report;
		if ((rc = store_put_reports(ig->st, reports, run, dup, &err)) < 0)
			goto fail;
		for (j = 0; j < run; j++)
			items[i + j]->status = dup[j] ? 1 : 0;
		i += run;
	}
	if ((rc = store_commit(ig->st, &err)) < 0)
		goto fail;
	return 0;
fail:
	store_rollback(ig->st);
	uv_mutex_lock(&ig->mu);
	ig->stats.commit_failures++;
	uv_mutex_unlock(&ig->mu);
	log_warn("ingest: storing a batch of Hellos and reports together failed; storing them "
		 "one run at a time: %s", err.msg);
	for (i = 0; i < n; i++) {
		items[i]->status = 0;
		items[i]->last_seq = 0;
		free(items[i]->msg);
		items[i]->msg = NULL;
	}
	return rc;
}

/*
 * Store a batch.  Reports that can never be stored are answered PST_E_INVAL
 * at once.  A batch of reports alone is committed (retried) as one; one
 * with Hellos is tried as one transaction, and when that fails, each Hello
 * alone and each run of reports between them as a batch of its own.
 */
static void do_batch(struct ingest *ig, struct queue *batch)
{
	struct store_report **reports;
	struct item **items, *it;
	bool *dup, hellos = false;
	struct pst_err err;
	size_t n = 0, i, run;

	reports = calloc(batch->n, sizeof(*reports));
	items = calloc(batch->n, sizeof(*items));
	dup = calloc(batch->n, sizeof(*dup));
	if (reports == NULL || items == NULL || dup == NULL) {
		/* Nothing is acked; the connections see the error and close. */
		log_error("ingest: out of memory for a batch of %zu items", batch->n);
		for (it = batch->head; it != NULL; it = it->next) {
			it->status = PST_E_NOMEM;
			if (it->hello)
				it->msg = strdup("the collector is out of memory");
		}
		goto out;
	}
	for (it = batch->head; it != NULL; it = it->next) {
		if (it->hello) {
			hellos = true;
			items[n++] = it;
			continue;
		}
		err = (struct pst_err){0};
		if (store_report_check(it->report, &err) < 0) {
			log_warn("ingest: refusing a report that cannot be stored: %s", err.msg);
			it->status = PST_E_INVAL;
			continue;
		}
		items[n++] = it;
	}
	if (n == 0)
		goto out;
	if (!hellos) {
		do_reports(ig, items, n, reports, dup);
		goto out;
	}
	if (n > 1 && do_together(ig, items, n, reports, dup) == 0)
		goto out;
	for (i = 0; i < n;) {
		if (items[i]->hello) {
			do_hello(ig, items[i++]);
			continue;
		}
		for (run = 0; i + run < n && !items[i + run]->hello; run++)
			;
		do_reports(ig, items + i, run, reports, dup);
		i += run;
	}
out:
	free(reports);
	free(items);
	free(dup);
}

static void thread_main(void *arg)
{
	struct ingest *ig = arg;
	struct queue batch;
	struct item *it;

	uv_mutex_lock(&ig->mu);
	for (;;) {
		while (ig->in.head == NULL && !ig->stopping)
			uv_cond_wait(&ig->cond, &ig->mu);
		if (ig->in.head == NULL)
			break; /* stopping, and everything is answered */
		take_batch(ig, &batch);
		uv_mutex_unlock(&ig->mu);

		do_batch(ig, &batch);

		uv_mutex_lock(&ig->mu);
		for (it = batch.head; it != NULL; it = it->next)
			if (!it->hello) {
				ig->stats.batches++;
				break;
			}
		for (it = batch.head; it != NULL; it = it->next) {
			if (it->hello)
				continue;
			ig->queued_bytes -= it->bytes;
			if (it->status == 0)
				ig->stats.stored++;
			else if (it->status == 1)
				ig->stats.duplicates++;
		}
		queue_splice(&ig->out, &batch);
		uv_mutex_unlock(&ig->mu);
		uv_async_send(ig->async);
		uv_mutex_lock(&ig->mu);
	}
	ig->thread_done = true;
	uv_mutex_unlock(&ig->mu);
	uv_async_send(ig->async);
}

/* --- the loop's side ------------------------------------------------------ */

static void on_close(uv_handle_t *h)
{
	struct ingest *ig = h->data;

	free(h);
	ig->async = NULL;
	if (ig->start_failed) {
		uv_cond_destroy(&ig->cond);
		uv_mutex_destroy(&ig->mu);
		free(ig);
		return;
	}
	if (ig->done != NULL)
		ig->done(ig->done_arg);
}

static void on_async(uv_async_t *h)
{
	struct ingest *ig = h->data;
	struct queue answered;
	struct item *it, *next;
	bool finished;

	uv_mutex_lock(&ig->mu);
	answered = ig->out;
	if (answered.head == NULL)
		answered.tail = &answered.head;
	queue_init(&ig->out);
	finished = ig->thread_done;
	uv_mutex_unlock(&ig->mu);

	for (it = answered.head; it != NULL; it = next) {
		next = it->next;
		if (it->hello)
			it->hello_cb(it->ctx, it->status, it->last_seq, it->msg);
		else
			it->report_cb(it->ctx, it->seq, it->status);
		item_free(it);
	}
	/* The thread answered everything before it said it was done. */
	if (finished && !ig->closing) {
		ig->closing = true;
		uv_thread_join(&ig->thread);
		ig->thread_running = false;
		uv_close((uv_handle_t *)h, on_close);
	}
}

int ingest_new(uv_loop_t *loop, struct store *st, const struct ingest_limits *lim,
	       struct ingest **out, struct pst_err *e)
{
	struct ingest *ig;
	bool mutex = false, cond = false;
	int rc;

	*out = NULL;
	ig = calloc(1, sizeof(*ig));
	if (ig == NULL || (ig->async = malloc(sizeof(*ig->async))) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "ingest: out of memory");
		goto out;
	}
	ig->loop = loop;
	ig->st = st;
	ig->lim = *lim;
	if (ig->lim.batch_max_reports == 0)
		ig->lim.batch_max_reports = 1;
	queue_init(&ig->in);
	queue_init(&ig->out);
	if ((rc = uv_mutex_init(&ig->mu)) != 0) {
		rc = pst_err_set(e, PST_E_SYS, "ingest: mutex: %s", uv_strerror(rc));
		goto out;
	}
	mutex = true;
	if ((rc = uv_cond_init(&ig->cond)) != 0) {
		rc = pst_err_set(e, PST_E_SYS, "ingest: condition variable: %s", uv_strerror(rc));
		goto out;
	}
	cond = true;
	if ((rc = uv_async_init(loop, ig->async, on_async)) != 0) {
		rc = pst_err_set(e, PST_E_SYS, "ingest: async handle: %s", uv_strerror(rc));
		goto out;
	}
	ig->async->data = ig;
	if ((rc = uv_thread_create(&ig->thread, thread_main, ig)) != 0) {
		rc = pst_err_set(e, PST_E_SYS, "ingest: cannot start the store thread: %s",
				 uv_strerror(rc));
		/* The handle is the loop's now: on_close frees it and ig. */
		ig->start_failed = true;
		ig->st = NULL;
		store_close(st);
		uv_close((uv_handle_t *)ig->async, on_close);
		return rc;
	}
	ig->thread_running = true;
	*out = ig;
	return 0;
out:
	if (cond)
		uv_cond_destroy(&ig->cond);
	if (mutex)
		uv_mutex_destroy(&ig->mu);
	if (ig != NULL)
		free(ig->async);
	free(ig);
	store_close(st);
	return rc;
}

int ingest_submit(struct ingest *ig, struct store_report *r, ingest_report_cb cb, void *ctx)
{
	struct item *it = calloc(1, sizeof(*it));

	if (it == NULL) {
		store_report_free(r);
		return PST_E_NOMEM;
	}
	it->ctx = ctx;
	it->report_cb = cb;
	it->report = r;
	it->seq = r->seq;
	it->bytes = r->wire_bytes;
	uv_mutex_lock(&ig->mu);
	if (ig->stopping) {
		uv_mutex_unlock(&ig->mu);
		item_free(it);
		return PST_E_INVAL;
	}
	queue_push(&ig->in, it);
	ig->queued_bytes += it->bytes;
	uv_cond_signal(&ig->cond);
	uv_mutex_unlock(&ig->mu);
	return 0;
}

int ingest_hello(struct ingest *ig, const char *agent_id, struct store_facts *facts,
		 int64_t now_us, ingest_hello_cb cb, void *ctx)
{
	struct item *it = calloc(1, sizeof(*it));

	if (it == NULL || (it->agent_id = strdup(agent_id)) == NULL) {
		free(it);
		store_facts_cleanup(facts);
		return PST_E_NOMEM;
	}
	it->hello = true;
	it->ctx = ctx;
	it->hello_cb = cb;
	it->facts = *facts;
	*facts = (struct store_facts){0};
	it->now_us = now_us;
	uv_mutex_lock(&ig->mu);
	if (ig->stopping) {
		uv_mutex_unlock(&ig->mu);
		item_free(it);
		return PST_E_INVAL;
	}
	queue_push(&ig->in, it);
	uv_cond_signal(&ig->cond);
	uv_mutex_unlock(&ig->mu);
	return 0;
}

size_t ingest_queued_bytes(const struct ingest *ig)
{
	struct ingest *m = (struct ingest *)ig; /* the mutex is not part of the value */
	size_t n;

	uv_mutex_lock(&m->mu);
	n = m->queued_bytes;
	uv_mutex_unlock(&m->mu);
	return n;
}

void ingest_get_stats(const struct ingest *ig, struct ingest_stats *st)
{
	struct ingest *m = (struct ingest *)ig;

	uv_mutex_lock(&m->mu);
	*st = m->stats;
	uv_mutex_unlock(&m->mu);
}

void ingest_stop(struct ingest *ig, void (*done)(void *arg), void *arg)
{
	uv_mutex_lock(&ig->mu);
	if (ig->stopping) {
		uv_mutex_unlock(&ig->mu);
		return;
	}
	ig->done = done;
	ig->done_arg = arg;
	ig->stopping = true;
	uv_cond_signal(&ig->cond);
	uv_mutex_unlock(&ig->mu);
}

void ingest_free(struct ingest *ig)
{
	struct item *it, *next;

	if (ig == NULL)
		return;
	if (ig->thread_running || ig->async != NULL) {
		/* The thread or the handle would outlive the memory they use. */
		log_error("ingest_free before ingest_stop's done callback: a bug in the caller");
		abort();
	}
	for (it = ig->in.head; it != NULL; it = next) {
		next = it->next;
		item_free(it);
	}
	for (it = ig->out.head; it != NULL; it = next) {
		next = it->next;
		item_free(it);
	}
	uv_cond_destroy(&ig->cond);
	uv_mutex_destroy(&ig->mu);
	store_close(ig->st);
	free(ig);
}
