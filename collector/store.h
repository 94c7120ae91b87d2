/*
 * store.h - the collector's store: one interface, backends behind it
 * (store_sqlite.c now, store_pg.c later).  Nothing outside the backends
 * includes sqlite3.h or libpq-fe.h (DESIGN 7).
 *
 * What is kept: hosts (facts from Hello, first and last seen, highest
 * stored sequence number), policies seen (id, version, sha256), scans
 * (one per stored report: agent, seq, scan id, times, counts, score),
 * the latest result per (host, policy, check) with its evidence, and
 * status transitions (host, check, from, to, at, evidence).  The schema
 * is versioned; store_open() applies every missing migration in one
 * transaction each.
 *
 * A store handle is used by one thread at a time.  The ingest thread
 * (ingest.h) owns the writing handle; readers open their own.
 *
 * Reports enter as the collector's own structs below, converted from the
 * wire at the edge (session.c): nothing here knows protobuf.
 */
#ifndef POSTURE_STORE_H
#define POSTURE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum store_status {
	STORE_STATUS_UNKNOWN = 0,
	STORE_PASS = 1,
	STORE_FAIL = 2,
	STORE_ERROR = 3,
	STORE_NOT_APPLICABLE = 4,
};

enum store_severity {
	STORE_SEV_UNKNOWN = 0,
	STORE_SEV_LOW = 1,
	STORE_SEV_MEDIUM = 2,
	STORE_SEV_HIGH = 3,
	STORE_SEV_CRITICAL = 4,
};

/* "pass", "fail", "error", "not_applicable", "unknown". */
const char *store_status_name(enum store_status s);
/* "low", "medium", "high", "critical", "unknown". */
const char *store_severity_name(enum store_severity s);

struct store_facts {
	char *hostname, *os_id, *os_version, *kernel, *machine_id, *architecture;
	char *agent_version;      /* from Hello; may be NULL */
};

struct store_evidence {
	char *subject, *observed, *expected, *location; /* location may be NULL */
	bool ok;                  /* agrees with what its rule expects */
};

struct store_control {
	char *framework;          /* "iso27001", "cis_debian12", ... */
	char **ids;
	size_t nids;
};

struct store_result {
	char *policy_id, *check_id, *title, *category, *remediation, *reason; /* may be NULL but ids */
	enum store_status status;
	enum store_severity severity;
	struct store_control *controls;
	size_t ncontrols;
	struct store_evidence *evidence;
	size_t nevidence;
	uint64_t duration_us;
};

struct store_policy {
	char *id, *version;
	uint8_t sha256[32];
};

struct store_report {
	char *agent_id;           /* the certificate's CN, never a value the agent sent */
	uint64_t seq;
	char *scan_id;
	int64_t started_us, finished_us, received_us;
	struct store_facts facts;
	struct store_policy *policies;
	size_t npolicies;
	struct store_result *results;
	size_t nresults;
	size_t wire_bytes;        /* size of the frame it came in, for queue accounting */
};

/* Free a report and everything it holds; NULL is accepted. */
void store_report_free(struct store_report *r);
/* Free the strings of facts (not facts itself). */
void store_facts_cleanup(struct store_facts *f);

struct store;

/*
 * Open the store named by spec: "sqlite:PATH" or a bare PATH for SQLite
 * (created when missing, WAL mode, schema migrated to the current
 * version).  Errors name the spec and say what to do.
 */
int store_open(const char *spec, struct store **out, struct pst_err *e);
void store_close(struct store *s);

/* The schema version the store is at after store_open(). */
int store_schema_version(struct store *s);

/* The spec the store was opened with, for messages; borrowed. */
const char *store_spec(const struct store *s);

/*
 * How long a write waits for another process's lock before it fails with
 * PST_E_STORE (default 5000 ms); the ingest retries such failures.
 */
void store_set_busy_timeout(struct store *s, int ms);

/*
 * 0 when r can be stored: an agent id, seq in 1..2^63-1, ids on every
 * policy and result, known statuses and severities.  Otherwise PST_E_INVAL
 * with what is missing: such a report is never stored, however often it is
 * retried.  store_put_reports() checks every report with it first.
 */
int store_report_check(const struct store_report *r, struct pst_err *e);

/*
 * Record that agent_id said Hello with facts at now_us: create the host or
 * update its facts and last_seen.  *last_seq receives the highest sequence
 * number stored for this agent (0 when none).
 */
int store_host_hello(struct store *s, const char *agent_id, const struct store_facts *facts,
		     int64_t now_us, uint64_t *last_seq, struct pst_err *e);

/*
 * Store n reports in one transaction: for each, unless (agent_id, seq) is
 * already stored (then duplicate[i] = true and nothing of it is written):
 * the scan row, the policies, the latest result per check, and a
 * transition for every check whose status differs from its stored latest
 * (or that is new).  The host's last_seen and facts are updated.  Returns
 * 0 only once the transaction has committed; on error nothing of the batch
 * is stored.
 */
int store_put_reports(struct store *s, struct store_report *const *reports, size_t n,
		      bool *duplicate, struct pst_err *e);

/* --- reading (the `show` command, tests; the API builds on these later) --- */

struct store_host_row {
	const char *agent_id, *hostname, *os_id, *os_version, *kernel;
	int64_t first_seen_us, last_seen_us, last_report_us; /* 0 when none */
	uint64_t last_seq;
	size_t pass, fail, error, not_applicable;            /* latest results */
	bool has_score;
	double score;                                        /* 100*pass/(pass+fail) */
};

/* Call cb for each host, ordered by agent id; cb returning non-zero stops (that value is returned). */
int store_each_host(struct store *s, int (*cb)(void *arg, const struct store_host_row *h),
		    void *arg, struct pst_err *e);

struct store_result_row {
	const char *policy_id, *check_id, *title, *category;
	enum store_status status;
	enum store_severity severity;
	uint64_t seq;              /* report it came from */
	int64_t changed_us;        /* when it reached this status */
	const char *evidence_json; /* JSON array of {subject, observed, expected, location} */
};

/* Call cb for each latest result of agent_id, ordered by policy and check id. */
int store_each_result(struct store *s, const char *agent_id,
		      int (*cb)(void *arg, const struct store_result_row *r), void *arg,
		      struct pst_err *e);

/* Counts for tests and logs. */
struct store_counts {
	uint64_t hosts, scans, results, transitions;
};
int store_counts(struct store *s, struct store_counts *c, struct pst_err *e);

#endif
