/*
 * daemon.c - the agent daemon's loop (daemon.h).
 *
 * One thread: the scan runs in the loop and blocks it (the uplink makes up
 * for the time not listening), the uplink waits in poll(2) between scans.
 * Signals only write a byte to a pipe the waits watch, so a stop request
 * is seen at the next wait and never interrupts a frame or a spool write.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "engine.h"
#include "hostinfo.h"
#include "log.h"
#include "policyset.h"
#include "report.h"
#include "rootfs.h"
#include "spool.h"
#include "uplink.h"

static int stop_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	int saved = errno;
	char c = (char)sig;

	stop_requested = 1;
	/* A full pipe already says "stop", so a failed write loses nothing. */
	if (write(stop_pipe[1], &c, 1) < 0) {
	}
	errno = saved;
}

struct agentd {
	const struct agent_config *c;
	bool once;
	struct policyset pols;
	struct rootfs rfs;
	struct spool *sp;
	struct uplink *up;
	struct sigaction old_term, old_int, old_pipe;
	bool signals;
};

static int signals_install(struct agentd *d)
{
	struct sigaction sa;

	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	stop_requested = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &d->old_term);
	sigaction(SIGINT, &sa, &d->old_int);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &d->old_pipe);
	d->signals = true;
	return 0;
}

static void signals_restore(struct agentd *d)
{
	if (!d->signals)
		return;
	sigaction(SIGTERM, &d->old_term, NULL);
	sigaction(SIGINT, &d->old_int, NULL);
	sigaction(SIGPIPE, &d->old_pipe, NULL);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
	stop_pipe[0] = stop_pipe[1] = -1;
	d->signals = false;
}

/* Sleep until deadline or a stop request. */
static void idle_until(int64_t deadline)
{
	struct pollfd p = {.fd = stop_pipe[0], .events = POLLIN};
	int64_t left;

	while (!stop_requested && (left = deadline - uplink_now_ms()) > 0) {
		if (poll(&p, 1, left > 3600000 ? 3600000 : (int)left) > 0)
			break;
	}
}

static uint64_t random_below(uint64_t n)
{
	uint64_t r = 0;

	if (n == 0)
		return 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint64_t)uplink_now_ms();
	return r % n;
}

/*
 * Scan, number, build and spool one report.  *seq is its number.  A
 * failure is logged and returned; the daemon goes on to the next interval.
 */
static int scan_and_spool(struct agentd *d, uint64_t *seq)
{
	struct probe_ctx ctx = {0};
	struct hostinfo host;
	struct pst_err e = {0};
	struct scan s;
	char scan_id[40];
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	*seq = 0;
	ctx.root = &d->rfs;
	hostinfo_read(&host, &d->rfs);
	uplink_set_facts(d->up, &host);
	rc = engine_scan(&s, d->pols.p, d->pols.n, &ctx, &host);
	if (rc != 0) {
		log_error("scan failed: %s", pst_strerror(rc));
		goto out;
	}
	if ((rc = report_new_uuid(scan_id, sizeof(scan_id))) != 0) {
		log_error("scan: cannot make a scan id: %s", pst_strerror(rc));
		goto out;
	}
	if ((rc = spool_next_seq(d->sp, seq, &e)) != 0) {
		log_error("%s; the scan's report is not kept", e.msg);
		goto out;
	}
	if ((rc = report_protobuf(&s, *seq, scan_id, &buf, &len)) != 0) {
		log_error("scan %s: cannot build the report: %s", scan_id, pst_strerror(rc));
		goto out;
	}
	if ((rc = spool_put(d->sp, *seq, buf, len, &e)) != 0) {
		log_error("%s; the report of scan %s is not kept", e.msg, scan_id);
		goto out;
	}
	log_info("scan %s: seq %" PRIu64 ", %zu pass, %zu fail, %zu error, %zu not applicable; "
		 "spooled (%zu reports, %" PRIu64 " bytes waiting)",
		 scan_id, *seq, s.counts[CHECK_PASS], s.counts[CHECK_FAIL], s.counts[CHECK_ERROR],
		 s.counts[CHECK_NOT_APPLICABLE], spool_count(d->sp), spool_bytes(d->sp));
out:
	if (rc != 0)
		*seq = 0;
	free(buf);
	engine_scan_cleanup(&s);
	return rc;
}

/* Try to connect; on failure log and return the backoff to wait. */
static int64_t try_connect(struct agentd *d)
{
	struct pst_err e = {0};
	uint32_t wait;

	if (uplink_connect(d->up, &e) == 0)
		return 0;
	wait = uplink_backoff_ms(d->up);
	log_error("%s; retrying in %u ms", e.msg, wait);
	return wait;
}

static int run_forever(struct agentd *d)
{
	int64_t now = uplink_now_ms(), next_connect = now;
	int64_t splay = (int64_t)random_below((uint64_t)d->c->splay_s * 1000 + 1);
	int64_t next_scan = now + splay;
	struct pst_err e = {0};
	uint64_t seq;

	log_info("first scan in %.1f s, then every %u s", splay / 1000.0, d->c->interval_s);
	while (!stop_requested) {
		now = uplink_now_ms();
		if (now >= next_scan) {
			scan_and_spool(d, &seq);
			/* From the scan's start, so the interval does not drift by the scan time. */
			next_scan = now + (int64_t)d->c->interval_s * 1000;
			continue;
		}
		if (!uplink_connected(d->up) && now >= next_connect) {
			next_connect = now + try_connect(d);
			continue;
		}
		if (!uplink_connected(d->up)) {
			idle_until(next_scan < next_connect ? next_scan : next_connect);
			continue;
		}
		if (uplink_run(d->up, next_scan, stop_pipe[0], 0, &e) != 0) {
			uint32_t wait = uplink_backoff_ms(d->up);

			log_error("%s; reconnecting in %u ms", e.msg, (unsigned)wait);
			next_connect = uplink_now_ms() + wait;
		}
	}
	log_info("stopping on signal: %zu reports (%" PRIu64 " bytes) stay spooled for the next "
		 "start", spool_count(d->sp), spool_bytes(d->sp));
	uplink_close(d->up);
	return DAEMON_EXIT_OK;
}

static int run_once(struct agentd *d)
{
	struct pst_err e = {0};
	int64_t deadline, wait;
	uint64_t seq;

	/* The HelloAck may move the counter; let it before this report is numbered. */
	if (try_connect(d) != 0)
		log_warn("scanning anyway; the report is spooled and delivery retried until "
			 "ack_timeout_s");
	if (scan_and_spool(d, &seq) != 0) {
		uplink_close(d->up);
		return DAEMON_EXIT_UNDELIVERED;
	}
	deadline = uplink_now_ms() + (int64_t)d->c->ack_timeout_s * 1000;
	while (!stop_requested && spool_acked_seq(d->sp) < seq && uplink_now_ms() < deadline) {
		if (!uplink_connected(d->up)) {
			wait = try_connect(d);
			if (wait > 0)
				idle_until(uplink_now_ms() + wait < deadline ? uplink_now_ms() + wait
									     : deadline);
			continue;
		}
		if (uplink_run(d->up, deadline, stop_pipe[0], seq, &e) != 0) {
			wait = uplink_backoff_ms(d->up);
			log_error("%s; reconnecting in %u ms", e.msg, (unsigned)wait);
			idle_until(uplink_now_ms() + wait < deadline ? uplink_now_ms() + wait
								     : deadline);
		}
		/* Only this report's ack matters; a set-aside report is not delivered. */
		if (spool_count_between(d->sp, 0, seq) == 0 && spool_acked_seq(d->sp) < seq)
			break;
	}
	uplink_close(d->up);
	if (spool_acked_seq(d->sp) >= seq) {
		log_info("report seq %" PRIu64 " delivered and acknowledged", seq);
		return DAEMON_EXIT_OK;
	}
	if (spool_count_between(d->sp, seq - 1, seq) == 0)
		log_error("report seq %" PRIu64 " was not delivered: it was set aside in "
			  "%s/undeliverable/ (the log above says why)", seq, spool_dir(d->sp));
	else
		log_error("report seq %" PRIu64 " was not acknowledged %s; it stays in %s for the "
			  "next run", seq,
			  stop_requested ? "before the stop request" : "within ack_timeout_s",
			  spool_dir(d->sp));
	return DAEMON_EXIT_UNDELIVERED;
}

int daemon_run(const struct agent_config *c, bool once, const char *version)
{
	struct agentd d = {.c = c, .once = once, .rfs = {-1, NULL}};
	struct hostinfo host;
	struct pst_err e = {0};
	int status = DAEMON_EXIT_CONFIG;
	size_t i;

	policyset_init(&d.pols);
	for (i = 0; i < c->npolicies; i++) {
		if (policyset_add(&d.pols, c->policies[i], &e) != 0) {
			log_error("%s", e.msg);
			goto out;
		}
	}
	if (rootfs_open(&d.rfs, c->root, &e) != 0) {
		log_error("%s", e.msg);
		goto out;
	}
	if (spool_open(c->spool_dir, c->spool_max_bytes, &d.sp, &e) != 0) {
		log_error("%s", e.msg);
		goto out;
	}
	if (uplink_new(c, d.sp, version, &d.up, &e) != 0) {
		log_error("%s", e.msg);
		goto out;
	}
	/* The Hello before the first scan carries the facts too. */
	hostinfo_read(&host, &d.rfs);
	uplink_set_facts(d.up, &host);
	if (signals_install(&d) != 0) {
		log_error("cannot create the signal pipe: %s", strerror(errno));
		goto out;
	}
	log_info("posture-agent %s: %zu policies, root %s, collector %s, spool %s", version,
		 d.pols.n, c->root, c->collector, c->spool_dir);
	status = once ? run_once(&d) : run_forever(&d);
out:
	signals_restore(&d);
	uplink_free(d.up);
	spool_free(d.sp);
	if (d.rfs.dirfd >= 0)
		rootfs_close(&d.rfs);
	policyset_cleanup(&d.pols);
	return status;
}
