/*
 * daemon.h - `posture-agent run`: scan on an interval, spool every report
 * before it is sent, deliver the spool over one long-lived uplink
 * (DESIGN 5).
 *
 * The first scan waits a random splay in [0, splay_s] so that a fleet
 * restarted together does not scan together; later scans follow every
 * interval_s.  The uplink connects at start (so that the collector's
 * HelloAck settles the sequence counter before the first report is
 * numbered), heartbeats between scans, and reconnects with backoff;
 * every reconnect resends what is not acknowledged, in order.  SIGTERM
 * or SIGINT ends the daemon after the frame being sent, with a clean
 * close.
 *
 * once: connect, scan, spool, deliver everything spooled and wait (at
 * most ack_timeout_s from the spooling) for this scan's report to be
 * acknowledged.
 */
#ifndef POSTURE_DAEMON_H
#define POSTURE_DAEMON_H

#include <stdbool.h>

#include "agentconf.h"

#define DAEMON_EXIT_OK 0
#define DAEMON_EXIT_UNDELIVERED 1 /* --once: the report stays spooled for the next run */
#define DAEMON_EXIT_CONFIG 2      /* configuration, policy, spool or TLS setup error */

/*
 * Run with c until stopped by a signal (or, with once, until this scan's
 * report is acknowledged or cannot be), logging to stderr.  Returns the
 * exit status: DAEMON_EXIT_OK, DAEMON_EXIT_UNDELIVERED (once only, or a
 * fatal runtime failure), DAEMON_EXIT_CONFIG.  Installs handlers for
 * SIGTERM and SIGINT and ignores SIGPIPE while it runs.
 */
int daemon_run(const struct agent_config *c, bool once, const char *version);

#endif
