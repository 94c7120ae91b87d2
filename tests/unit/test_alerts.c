/*
 * test_alerts.c - the alert delivery thread against a real SQLite store in
 * a scratch directory and a real HTTP receiver on 127.0.0.1 (a small
 * responder thread below): alerts made by storing reports with failing
 * checks arrive once each with their id; a receiver answering 500 twice
 * gets the alert on the third try; a port where nothing listens leads to
 * given-up alerts after max_attempts, no longer pending; alerts survive a
 * stop and a start; a stop cuts a POST in flight short without counting
 * it; with no webhook, alerts are logged and delivered.  The log (stderr,
 * redirected to a file) holds one JSON line per alert and never the
 * webhook's path or query.
 *
 * Waits poll the thread's counters with a generous cap: nothing asserts
 * how long anything took.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "storeutil.h"
#include "testutil.h"

#define WAIT_CAP_MS 30000
#define MAX_BODIES 256

/* --- a receiver: one request per connection, answered and closed -------------- */

struct rx {
	int fd;                      /* bound; listening once rx_listen ran */
	uint16_t port;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	pthread_mutex_t mu;
	int fail_first;              /* answer 500 to this many requests first */
	bool hang;                   /* read the request, never answer */
	int seen;                    /* requests read */
	char *bodies[MAX_BODIES];    /* bodies answered 200 */
	size_t nbodies;
	char last_ua[128], last_ct[128];
};

/* Bind 127.0.0.1:0 without listening: connections to it are refused. */
static void rx_bind(struct rx *r)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&sa, &len), 0);
	r->port = ntohs(sa.sin_port);
}

/* Value of header name in the header block hdr (NUL-terminated), into out. */
static void header(const char *hdr, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	const char *p = hdr, *end;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			end = strstr(p, "\r\n");
			if (end == NULL)
				return;
			snprintf(out, len, "%.*s", (int)(end - p), p);
			return;
		}
	}
}

static void rx_serve(struct rx *r, int c)
{
	char buf[65536], cl[32];
	size_t have = 0, want;
	char *eoh = NULL;
	ssize_t got;
	int status;

	while (eoh == NULL && have < sizeof(buf) - 1) {
		got = read(c, buf + have, sizeof(buf) - 1 - have);
		if (got <= 0)
			return;
		have += (size_t)got;
		buf[have] = '\0';
		eoh = strstr(buf, "\r\n\r\n");
	}
	if (eoh == NULL)
		return;
	eoh[2] = '\0'; /* the last header line keeps its CRLF */
	header(buf, "Content-Length", cl, sizeof(cl));
	want = (size_t)(eoh + 4 - buf) + strtoul(cl, NULL, 10);
	if (want >= sizeof(buf))
		return;
	while (have < want) {
		got = read(c, buf + have, want - have);
		if (got <= 0)
			return;
		have += (size_t)got;
	}
	buf[want] = '\0';
	pthread_mutex_lock(&r->mu);
	r->seen++;
	header(buf, "User-Agent", r->last_ua, sizeof(r->last_ua));
	header(buf, "Content-Type", r->last_ct, sizeof(r->last_ct));
	if (r->hang) {
		pthread_mutex_unlock(&r->mu);
		/* Hold the connection until the test ends. */
		while (!atomic_load(&r->stop))
			poll(NULL, 0, 10);
		return;
	}
	status = r->seen <= r->fail_first ? 500 : 200;
	if (status == 200 && r->nbodies < MAX_BODIES)
		r->bodies[r->nbodies++] = strdup(eoh + 4);
	pthread_mutex_unlock(&r->mu);
	dprintf(c, "HTTP/1.1 %d %s\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status,
		status == 200 ? "OK" : "Internal Server Error");
}

static void *rx_main(void *arg)
{
	struct rx *r = arg;
	struct pollfd p = {.fd = r->fd, .events = POLLIN};
	struct timeval tv = {.tv_sec = 10};
	int c;

	while (!atomic_load(&r->stop)) {
		if (poll(&p, 1, 20) <= 0)
			continue;
		c = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		rx_serve(r, c);
		close(c);
	}
	return NULL;
}

static void rx_listen(struct rx *r)
{
	assert_int_equal(listen(r->fd, 16), 0);
	assert_int_equal(pthread_create(&r->thread, NULL, rx_main, r), 0);
	r->running = true;
}

static void rx_close(struct rx *r)
{
	atomic_store(&r->stop, true);
	if (r->running)
		pthread_join(r->thread, NULL);
	close(r->fd);
	for (size_t i = 0; i < r->nbodies; i++)
		free(r->bodies[i]);
	pthread_mutex_destroy(&r->mu);
}

static int rx_seen(struct rx *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->seen;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* --- the fixture: a store, a configuration, the log in a file ------------------ */

struct fx {
	struct su_store st;
	char logpath[600];
	struct collector_config cfg;
	int saved_stderr;
	FILE *orig_stderr, *test_stderr;
	uint64_t seq;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	if (f == NULL || su_store_open(&f->st) != 0)
		return -1;
	snprintf(f->logpath, sizeof(f->logpath), "%s/collector.log", f->st.dir);
	collector_config_defaults(&f->cfg);
	free(f->cfg.collector_id);
	f->cfg.collector_id = strdup("collector-test");
	f->cfg.store = strdup(f->st.spec);
	f->cfg.alert_poll_ms = 20;
	f->cfg.alert_min_backoff_ms = 10;
	f->cfg.alert_max_backoff_ms = 40;
	f->cfg.alert_max_attempts = 5;
	/*
	 * The log (write(2) on fd 2) goes to a file the test reads; cmocka's
	 * messages (the stderr stream) still reach the terminal.
	 */
	fflush(stderr);
	f->saved_stderr = dup(STDERR_FILENO);
	fd = open(f->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || f->saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0)
		return -1;
	close(fd);
	f->test_stderr = fdopen(dup(f->saved_stderr), "w");
	if (f->test_stderr == NULL)
		return -1;
	setvbuf(f->test_stderr, NULL, _IONBF, 0);
	f->orig_stderr = stderr;
	stderr = f->test_stderr;
	log_init("posture-collector", LOG_LVL_DEBUG);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	stderr = f->orig_stderr;
	fclose(f->test_stderr);
	dup2(f->saved_stderr, STDERR_FILENO);
	close(f->saved_stderr);
	collector_config_cleanup(&f->cfg);
	su_store_close(&f->st);
	free(f);
	return 0;
}

/* One webhook at 127.0.0.1:port with a path and query that must stay out of the log. */
static void set_webhook(struct fx *f, uint16_t port)
{
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook/s3cr3t-path?token=s3cr3t-query",
		 port);
	f->cfg.webhooks = calloc(1, sizeof(*f->cfg.webhooks));
	assert_non_null(f->cfg.webhooks);
	f->cfg.webhooks[0].url = strdup(url);
	f->cfg.webhooks[0].timeout_ms = 5000;
	f->cfg.nwebhooks = 1;
}

/*
 * Store the next report of agent "web-1": checks c1..cN of policy "base"
 * with statuses st and severities sev.
 */
static void put_report(struct fx *f, const enum store_status *st,
		       const enum store_severity *sev, size_t n)
{
	struct store_report *r = su_checks_report("web-1", ++f->seq, st, sev, n);
	struct pst_err e = {0};
	bool dup = false;

	if (store_put_reports(f->st.s, &r, 1, &dup, &e) != 0)
		fail_msg("store_put_reports: %s", e.msg);
	assert_false(dup);
	store_report_free(r);
}

/* Checks c1..c3 fail (c1 critical), c4 passes: 3 violation_opened, 1 critical_failure. */
static const enum store_status ST_FAILING[] = {STORE_FAIL, STORE_FAIL, STORE_FAIL, STORE_PASS};
static const enum store_status ST_FIXED[] = {STORE_PASS, STORE_PASS, STORE_PASS, STORE_PASS};
static const enum store_severity SEV[] = {STORE_SEV_CRITICAL, STORE_SEV_HIGH, STORE_SEV_LOW,
					  STORE_SEV_MEDIUM};
#define N_FAILING_ALERTS 4

static uint64_t pending(struct fx *f)
{
	struct pst_err e = {0};
	uint64_t n = 0;

	if (store_alerts_pending(f->st.s, &n, &e) != 0)
		fail_msg("store_alerts_pending: %s", e.msg);
	return n;
}

enum stat_field { ST_LOGGED, ST_DELIVERED, ST_FAILED, ST_GIVEN_UP };

static uint64_t counter(struct alerts *a, enum stat_field which)
{
	struct alerts_stats s;

	alerts_get_stats(a, &s);
	switch (which) {
	case ST_LOGGED: return s.logged;
	case ST_DELIVERED: return s.delivered;
	case ST_FAILED: return s.failed_attempts;
	default: return s.given_up;
	}
}

static char *read_log(struct fx *f);

/* Wait until the counter reaches want; fails the test after WAIT_CAP_MS, showing the log. */
static void wait_stat(struct fx *f, struct alerts *a, enum stat_field which, uint64_t want)
{
	char *log;
	size_t len;

	for (int i = 0; i < WAIT_CAP_MS / 5; i++) {
		if (counter(a, which) >= want)
			return;
		poll(NULL, 0, 5);
	}
	log = read_log(f);
	len = strlen(log);
	fprintf(stderr, "the log ends with:\n%s\n", log + (len > 3000 ? len - 3000 : 0));
	free(log);
	fail_msg("counter %d stayed at %llu, below %llu", (int)which,
		 (unsigned long long)counter(a, which), (unsigned long long)want);
}

static struct alerts *start(struct fx *f)
{
	struct alerts *a = NULL;
	struct pst_err e = {0};

	if (alerts_start(&f->cfg, &a, &e) != 0)
		fail_msg("alerts_start: %s", e.msg);
	return a;
}

/* Count bodies of kind; assert every body has a distinct id and our collector id. */
static void check_bodies(struct rx *r, size_t *opened, size_t *critical, size_t *resolved)
{
	json_int_t ids[MAX_BODIES];
	json_error_t je;

	*opened = *critical = *resolved = 0;
	for (size_t i = 0; i < r->nbodies; i++) {
		json_t *b = json_loads(r->bodies[i], 0, &je);
		const char *kind;

		if (!json_is_object(b))
			fail_msg("body %zu is not a JSON object: %s", i, r->bodies[i]);
		assert_true(json_is_integer(json_object_get(b, "id")));
		ids[i] = json_integer_value(json_object_get(b, "id"));
		for (size_t j = 0; j < i; j++)
			if (ids[j] == ids[i])
				fail_msg("alert %lld arrived twice", (long long)ids[i]);
		assert_string_equal(json_string_value(json_object_get(b, "collector_id")),
				    "collector-test");
		kind = json_string_value(json_object_get(b, "kind"));
		assert_non_null(kind);
		if (strcmp(kind, "violation_opened") == 0)
			(*opened)++;
		else if (strcmp(kind, "critical_failure") == 0)
			(*critical)++;
		else if (strcmp(kind, "violation_resolved") == 0)
			(*resolved)++;
		else
			fail_msg("unexpected kind %s", kind);
		json_decref(b);
	}
}

/* The log so far, NUL-terminated, heap. */
static char *read_log(struct fx *f)
{
	return su_file_text(f->logpath);
}

/* Every "{"alert"" line of the log parses as one JSON object; returns how many. */
static size_t log_alert_lines(const char *log, const char *kind)
{
	const char *p = log, *nl, *j;
	size_t n = 0;

	for (; *p != '\0'; p = nl + 1) {
		char line[4096];
		json_t *o;

		nl = strchr(p, '\n');
		assert_non_null(nl);
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		if ((j = strstr(line, ": {\"alert\":")) == NULL)
			continue;
		o = json_loads(j + 2, 0, NULL);
		if (!json_is_object(o))
			fail_msg("alert log line is not one JSON object: %s", line);
		assert_true(json_is_integer(json_object_get(o, "id")));
		if (kind == NULL ||
		    strcmp(json_string_value(json_object_get(o, "alert")), kind) == 0)
			n++;
		json_decref(o);
	}
	return n;
}

/* --- tests ----------------------------------------------------------------- */

static void test_delivered_once(void **state)
{
	struct fx *f = *state;
	size_t opened, critical, resolved;
	struct rx r;
	struct alerts *a;
	char *log;

	rx_bind(&r);
	rx_listen(&r);
	set_webhook(f, r.port);
	put_report(f, ST_FAILING, SEV, 4);
	assert_int_equal(pending(f), N_FAILING_ALERTS);

	a = start(f);
	wait_stat(f, a, ST_DELIVERED, N_FAILING_ALERTS);
	alerts_stop(a);

	assert_int_equal(pending(f), 0);
	assert_int_equal(rx_seen(&r), N_FAILING_ALERTS);
	check_bodies(&r, &opened, &critical, &resolved);
	assert_int_equal(opened, 3);
	assert_int_equal(critical, 1);
	assert_int_equal(resolved, 0);
	assert_string_equal(r.last_ct, "application/json");
	assert_true(strncmp(r.last_ua, "posture-collector/", 18) == 0);

	log = read_log(f);
	assert_int_equal(log_alert_lines(log, NULL), N_FAILING_ALERTS);
	assert_int_equal(log_alert_lines(log, "violation_opened"), 3);
	assert_int_equal(log_alert_lines(log, "critical_failure"), 1);
	assert_null(strstr(log, "s3cr3t"));
	free(log);
	rx_close(&r);
}

/*
 * Violations resolve after every earlier alert was delivered (the queue
 * is empty): the new alerts arrive too, with ids never used before, so
 * that receivers can deduplicate by id.
 */
static void test_ids_unique_after_queue_empties(void **state)
{
	struct fx *f = *state;
	size_t opened, critical, resolved;
	struct rx r;
	struct alerts *a;
	char *log;

	rx_bind(&r);
	rx_listen(&r);
	set_webhook(f, r.port);
	put_report(f, ST_FAILING, SEV, 4);
	a = start(f);
	wait_stat(f, a, ST_DELIVERED, N_FAILING_ALERTS);
	assert_int_equal(pending(f), 0);

	/* Fixed: three violations resolve; a wake makes the thread look now. */
	put_report(f, ST_FIXED, SEV, 4);
	assert_int_equal(pending(f), 3);
	alerts_wake(a);
	wait_stat(f, a, ST_DELIVERED, N_FAILING_ALERTS + 3);
	alerts_stop(a);

	assert_int_equal(pending(f), 0);
	assert_int_equal(rx_seen(&r), N_FAILING_ALERTS + 3);
	check_bodies(&r, &opened, &critical, &resolved);
	assert_int_equal(opened, 3);
	assert_int_equal(critical, 1);
	assert_int_equal(resolved, 3);
	log = read_log(f);
	assert_int_equal(log_alert_lines(log, "violation_resolved"), 3);
	free(log);
	rx_close(&r);
}

static void test_third_try(void **state)
{
	struct fx *f = *state;
	size_t opened, critical, resolved;
	struct rx r;
	struct alerts *a;
	char *log, origin[64];

	rx_bind(&r);
	r.fail_first = 2;
	rx_listen(&r);
	set_webhook(f, r.port);
	/* One violation of a low check: one alert. */
	put_report(f, (const enum store_status[]){STORE_FAIL}, (const enum store_severity[]){STORE_SEV_LOW}, 1);
	assert_int_equal(pending(f), 1);

	a = start(f);
	wait_stat(f, a, ST_DELIVERED, 1);
	assert_int_equal(counter(a, ST_FAILED), 2);
	assert_int_equal(counter(a, ST_GIVEN_UP), 0);
	assert_int_equal(counter(a, ST_LOGGED), 1);
	alerts_stop(a);

	assert_int_equal(rx_seen(&r), 3);
	assert_int_equal(r.nbodies, 1);
	check_bodies(&r, &opened, &critical, &resolved);
	assert_int_equal(opened, 1);
	assert_int_equal(pending(f), 0);

	/* The failures were logged naming the webhook by origin only, the alert once. */
	log = read_log(f);
	snprintf(origin, sizeof(origin), "webhook http://127.0.0.1:%u:", r.port);
	assert_non_null(strstr(log, origin));
	assert_non_null(strstr(log, "HTTP 500"));
	assert_null(strstr(log, "s3cr3t"));
	assert_int_equal(log_alert_lines(log, NULL), 1);
	free(log);
	rx_close(&r);
}

static void test_dead_receiver_gives_up(void **state)
{
	struct fx *f = *state;
	struct alerts *a;
	struct rx r;
	char *log;

	rx_bind(&r); /* bound, never listening: connections are refused */
	set_webhook(f, r.port);
	f->cfg.alert_max_attempts = 3;
	put_report(f, ST_FAILING, SEV, 4);
	assert_int_equal(pending(f), N_FAILING_ALERTS);

	a = start(f);
	wait_stat(f, a, ST_GIVEN_UP, N_FAILING_ALERTS);
	assert_int_equal(counter(a, ST_FAILED), 3 * N_FAILING_ALERTS);
	assert_int_equal(counter(a, ST_DELIVERED), 0);
	assert_int_equal(counter(a, ST_LOGGED), N_FAILING_ALERTS);
	alerts_stop(a);
	assert_int_equal(pending(f), 0);

	log = read_log(f);
	assert_non_null(strstr(log, "giving up alert"));
	assert_non_null(strstr(log, "(critical_failure)"));
	assert_null(strstr(log, "s3cr3t"));
	assert_int_equal(log_alert_lines(log, NULL), N_FAILING_ALERTS);
	free(log);
	rx_close(&r);
}

static void test_survive_restart(void **state)
{
	struct fx *f = *state;
	size_t opened, critical, resolved;
	struct alerts *a;
	struct rx r;
	char *log;

	rx_bind(&r);
	set_webhook(f, r.port);
	f->cfg.alert_max_attempts = 1000;
	put_report(f, ST_FAILING, SEV, 4);

	/* The receiver is not up: attempts fail, then the collector stops. */
	a = start(f);
	wait_stat(f, a, ST_FAILED, N_FAILING_ALERTS);
	alerts_stop(a);
	assert_int_equal(pending(f), N_FAILING_ALERTS);

	rx_listen(&r);
	a = start(f);
	wait_stat(f, a, ST_DELIVERED, N_FAILING_ALERTS);
	/* Logged by the first run only. */
	assert_int_equal(counter(a, ST_LOGGED), 0);
	alerts_stop(a);

	assert_int_equal(pending(f), 0);
	assert_int_equal(r.nbodies, N_FAILING_ALERTS);
	check_bodies(&r, &opened, &critical, &resolved);
	assert_int_equal(opened, 3);
	assert_int_equal(critical, 1);
	log = read_log(f);
	assert_int_equal(log_alert_lines(log, NULL), N_FAILING_ALERTS);
	free(log);
	rx_close(&r);
}

static void test_stop_cuts_post_short(void **state)
{
	struct fx *f = *state;
	struct store_alert *al = NULL;
	struct pst_err e = {0};
	struct alerts *a;
	struct rx r;
	size_t n = 0;

	rx_bind(&r);
	r.hang = true;
	rx_listen(&r);
	set_webhook(f, r.port);
	f->cfg.webhooks[0].timeout_ms = 120000;
	put_report(f, (const enum store_status[]){STORE_FAIL}, (const enum store_severity[]){STORE_SEV_LOW}, 1);

	a = start(f);
	for (int i = 0; i < WAIT_CAP_MS / 5 && rx_seen(&r) == 0; i++)
		poll(NULL, 0, 5);
	assert_int_equal(rx_seen(&r), 1);
	/* Returns before the two-minute timeout; the aborted POST is no failure. */
	alerts_stop(a);
	a = NULL;

	assert_int_equal(pending(f), 1);
	assert_int_equal(store_alerts_due(f->st.s, INT64_MAX / 2, 10, &al, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(al[0].attempts, 0);
	assert_true(al[0].logged);
	store_alert_cleanup(&al[0]);
	free(al);
	rx_close(&r);
}

static void test_no_webhook(void **state)
{
	struct fx *f = *state;
	struct alerts *a;
	char *log;

	put_report(f, ST_FAILING, SEV, 4);
	a = start(f);
	wait_stat(f, a, ST_DELIVERED, N_FAILING_ALERTS);
	assert_int_equal(counter(a, ST_LOGGED), N_FAILING_ALERTS);
	alerts_stop(a);
	assert_int_equal(pending(f), 0);
	log = read_log(f);
	assert_int_equal(log_alert_lines(log, "violation_opened"), 3);
	assert_int_equal(log_alert_lines(log, "critical_failure"), 1);
	free(log);
}

static void test_bad_url_refused(void **state)
{
	struct fx *f = *state;
	struct alerts *a = NULL;
	struct pst_err e = {0};

	set_webhook(f, 1);
	free(f->cfg.webhooks[0].url);
	f->cfg.webhooks[0].url = strdup("http://[bad:host/s3cr3t");
	assert_int_equal(alerts_start(&f->cfg, &a, &e), PST_E_INVAL);
	assert_null(a);
	assert_non_null(strstr(e.msg, "webhooks[0]"));
	assert_null(strstr(e.msg, "s3cr3t"));
	alerts_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delivered_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_unique_after_queue_empties, setup, teardown),
		cmocka_unit_test_setup_teardown(test_third_try, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_receiver_gives_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_survive_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_cuts_post_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_webhook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_url_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
