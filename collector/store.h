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

#include <jansson.h>

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
	uint32_t scan_interval_s; /* from Hello; 0 when the agent did not say */
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

/*
 * A transaction around several writes, so that they share one commit (one
 * fdatasync): store_host_hello() and store_put_reports() called between
 * store_begin() and store_commit() join it instead of committing on their
 * own.  Inside it, a failing store_host_hello() undoes only its own writes
 * (the transaction stays usable); a failing store_put_reports() leaves the
 * transaction to be rolled back.  Nothing of it is durable before
 * store_commit() returns 0; after a failed commit, call store_rollback().
 * store_rollback() is a no-op when no transaction is open.
 */
int store_begin(struct store *s, struct pst_err *e);
int store_commit(struct store *s, struct pst_err *e);
void store_rollback(struct store *s);

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

/* ------------------------------------------------------------------------
 * Metrics, violations, alerts and tokens (schema version 2).
 *
 * Written by store_put_reports() in the same transaction as the results,
 * so that what the API reads is consistent with every commit:
 *
 *  - violations: a result whose status becomes fail opens one (agent,
 *    policy, check, severity, category, title, controls, opened_at =
 *    the report's received time, opened_seq, evidence as stored with the
 *    result).  A later pass or not_applicable resolves it (resolved_at,
 *    resolved_seq, resolved_by = "pass" | "not_applicable"); error keeps it
 *    open.  At most one open violation per (agent, policy, check).
 *  - tallies of latest results per category and severity for the fleet,
 *    moved by each result's change of status (no table scan per commit),
 *    and from them one trend row per (UTC day, scope) upserted at commit:
 *    scope "fleet", "category:<name>", "severity:<name>".
 *  - alerts: one row per event, kept until delivered to every webhook or
 *    given up (alerts.h): violation_opened, violation_resolved,
 *    critical_failure (a critical check entering fail, besides its
 *    violation_opened) and host_stale (store_mark_stale).
 *
 * Every reader below returns a new jansson document (*out, owned by the
 * caller) in exactly the shape the HTTP API serves (docs/openapi.yaml),
 * so that the API layer, `show` and evidence snapshots share one source.
 * Times in documents are RFC 3339 UTC strings with a Z ("2026-11-25T12:00:00Z"),
 * scores are numbers rounded to 0.1 or null when pass + fail = 0.
 * ------------------------------------------------------------------------ */

/* Read-side settings that decide what "stale" means. */
struct store_view {
	int64_t now_us;              /* the reference time of the query */
	uint32_t stale_intervals;    /* a host is stale after this many intervals without a report */
	uint32_t default_interval_s; /* for hosts whose agent did not say its interval */
};

/*
 * Pagination: results are ordered by a stable key; cursor is the opaque
 * string a previous page returned as "next_cursor" (NULL: first page);
 * limit 1..1000.  A cursor that does not decode is PST_E_INVAL with a
 * message naming it.
 */
struct store_page {
	const char *cursor;
	uint32_t limit;
};

/*
 * GET /api/v1/summary:
 * {"generated_at", "score", "pass", "fail", "error", "not_applicable",
 *  "categories": {"access_control": {"score", "pass", "fail"}, "patch": ..., "backup": ...,
 *                 (and any other category seen)},
 *  "severities": {"low"|"medium"|"high"|"critical": {"score", "pass", "fail"}},
 *  "hosts": {"total", "stale", "reporting"},
 *  "violations": {"open": N, "open_by_severity": {"critical": N, ...},
 *                 "open_by_age": {"lt_1d": N, "1d_7d": N, "7d_30d": N, "gt_30d": N},
 *                 "mttr_s": {"by_severity": {"high": seconds|null, ...},
 *                            "by_category": {"patch": seconds|null, ...}}},
 *  "policies": [{"id", "version", "sha256", "score", "pass", "fail"}]}
 */
int store_summary(struct store *s, const struct store_view *v, json_t **out, struct pst_err *e);

/* Filters of GET /api/v1/hosts; NULL / false: no filter. */
struct store_host_filter {
	const char *search;       /* substring of agent id or hostname */
	const char *os_id;
	bool stale_only;
	bool failing_only;        /* at least one failing check */
};

/*
 * GET /api/v1/hosts: {"hosts": [HOST...], "next_cursor": string|null}
 * ordered by agent id.  HOST: {"id", "hostname", "os_id", "os_version", "kernel",
 * "architecture", "agent_version", "machine_id", "first_seen", "last_seen",
 * "last_report" (or null), "last_seq", "scan_interval_s" (or null), "stale": bool,
 * "score", "pass", "fail", "error", "not_applicable",
 * "failing": {"critical": N, "high": N, "medium": N, "low": N}}
 */
int store_hosts(struct store *s, const struct store_view *v, const struct store_host_filter *f,
		const struct store_page *pg, json_t **out, struct pst_err *e);

/*
 * GET /api/v1/hosts/{id}: HOST as above, plus "categories" (as in the
 * summary, for this host), "policies" (as in the summary, for this host)
 * and "open_violations": N.  PST_E_NOENT when no such host.
 */
int store_host(struct store *s, const struct store_view *v, const char *agent_id, json_t **out,
	       struct pst_err *e);

/* Filters of GET /api/v1/hosts/{id}/results. */
struct store_result_filter {
	const char *status;       /* "pass", "fail", ... or NULL */
	const char *category;
	const char *severity;
};

/*
 * GET /api/v1/hosts/{id}/results:
 * {"host": id, "results": [{"policy_id", "check_id", "title", "category",
 *  "severity", "status", "controls": {framework: [ids]}, "evidence": [{"subject",
 *  "observed", "expected", "location", "ok"}], "remediation", "reason",
 *  "seq", "changed_at", "checked_at", "duration_us"}], "next_cursor"}
 * ordered by (policy_id, check_id).  PST_E_NOENT when no such host.
 */
int store_host_results(struct store *s, const char *agent_id, const struct store_result_filter *f,
		       const struct store_page *pg, json_t **out, struct pst_err *e);

struct store_violation_filter {
	const char *status;       /* "open", "resolved" or NULL for both */
	const char *severity;     /* a severity name, or NULL */
	const char *host;         /* agent id, or NULL */
	const char *control;      /* "A.8.8" (any framework) or "iso27001:A.8.8", or NULL */
	const char *category;
	int64_t since_us;         /* opened at or after; 0: any */
};

/*
 * GET /api/v1/violations: {"violations": [{"id", "host", "hostname",
 * "policy_id", "check_id", "title", "category", "severity", "controls",
 * "status": "open"|"resolved", "opened_at", "opened_seq", "resolved_at"
 * (or null), "resolved_seq", "resolved_by", "age_s" (open: now - opened;
 * resolved: resolved - opened), "evidence", "remediation"}], "next_cursor"}
 * newest first (opened_at desc, id desc).
 */
int store_violations(struct store *s, const struct store_view *v,
		     const struct store_violation_filter *f, const struct store_page *pg,
		     json_t **out, struct pst_err *e);

/*
 * GET /api/v1/controls: {"controls": [{"framework", "id", "score", "pass",
 * "fail", "hosts_failing", "hosts": N (hosts with a result under it),
 * "checks": [{"policy_id", "check_id", "title", "severity", "pass", "fail"}]}]}
 * every framework a policy maps to, ordered by framework then id in natural
 * order (A.5.2 before A.5.10).  framework NULL: all.
 */
int store_controls(struct store *s, const char *framework, json_t **out, struct pst_err *e);

/*
 * GET /api/v1/trend?days=N: {"days": N, "points": [{"day": "2026-11-25",
 * "score", "pass", "fail", "categories": {"patch": {"score", "pass", "fail"}, ...},
 * "severities": {...}}]} for the last N UTC days up to v->now_us, oldest
 * first; days with no row are left out.
 */
int store_trend(struct store *s, const struct store_view *v, uint32_t days, json_t **out,
		struct pst_err *e);

/*
 * Figures for /metrics, flat, so that the exposition layer needs no SQL:
 * every series a Prometheus scrape shows about the store.
 */
struct store_metric_row {
	const char *name;         /* "results", "hosts", "violations_open", "score", ... */
	const char *labels[4][2]; /* up to 4 (name, value) pairs, NULL-terminated */
	double value;
};
/*
 * Calls cb once per series: posture_results{status,category,severity},
 * posture_score{scope="fleet"|category=..}, posture_hosts{state="reporting"|"stale"},
 * posture_violations_open{severity}, posture_violations_opened_total,
 * posture_violations_resolved_total, posture_host_score{host}, posture_alerts_pending.
 * Names are given without the "posture_" prefix.
 */
int store_metric_rows(struct store *s, const struct store_view *v,
		      int (*cb)(void *arg, const struct store_metric_row *m), void *arg,
		      struct pst_err *e);

/* --- hosts going stale (called by the loop's timer) --- */

/*
 * Open a host_stale alert for every host that is stale at v and has no
 * such alert since its last report; *n receives how many.  A report from
 * the host clears the mark, so it can go stale again later.
 */
int store_mark_stale(struct store *s, const struct store_view *v, size_t *n,
		     struct pst_err *e);

/* --- alerts (alerts.h delivers them) --- */

struct store_alert {
	int64_t id;
	char kind[32];            /* "violation_opened", "violation_resolved",
				     "critical_failure", "host_stale" */
	int64_t created_us;
	char *body;               /* the JSON event, as sent (malloc'd) */
	uint32_t attempts;        /* failed deliveries so far */
	int64_t next_attempt_us;
	bool logged;              /* already written to the log */
};
void store_alert_cleanup(struct store_alert *a);

/*
 * Up to max alerts that are not logged yet, or whose next delivery attempt
 * is due at now_us, oldest first.  *out is malloc'd (free each with
 * store_alert_cleanup, then the array).
 */
int store_alerts_due(struct store *s, int64_t now_us, size_t max, struct store_alert **out,
		     size_t *n, struct pst_err *e);
int store_alert_logged(struct store *s, int64_t id, struct pst_err *e);
/* Delivered to every webhook: removed from the queue (kept in alert_log). */
int store_alert_delivered(struct store *s, int64_t id, int64_t now_us, struct pst_err *e);
/* A delivery failed: count it, record the error, try again at next_us (0: give up). */
int store_alert_failed(struct store *s, int64_t id, int64_t next_us, const char *error,
		       struct pst_err *e);
/* Alerts waiting for delivery (for /metrics and logs). */
int store_alerts_pending(struct store *s, uint64_t *n, struct pst_err *e);

/* --- API tokens (tokens.h makes them; only their SHA-256 is kept) --- */

enum store_role {
	STORE_ROLE_NONE = 0,
	STORE_ROLE_ISO = 1,       /* reads everything but evidence creation */
	STORE_ROLE_AUDITOR = 2,   /* reads, creates and pulls evidence */
	STORE_ROLE_ADMIN = 3,     /* all of it, and manages tokens and enrollment */
	STORE_ROLE_ENROLL = 4,    /* enrolls agents only: expiry and a use count */
};
/* "iso", "auditor", "admin", "enroll", "none". */
const char *store_role_name(enum store_role r);
/* PST_E_INVAL for anything but the four names above. */
int store_role_parse(const char *name, enum store_role *out);

struct store_token {
	int64_t id;
	char name[128];
	enum store_role role;
	int64_t created_us;
	int64_t expires_us;       /* 0: never */
	int64_t uses_left;        /* -1: unlimited */
	int64_t last_used_us;     /* 0: never */
	bool revoked;
};

/* Add a token by its hash; *id receives its id. */
int store_token_add(struct store *s, const uint8_t hash[32], const struct store_token *t,
		    int64_t *id, struct pst_err *e);
/*
 * Find a token by hash for a request at now_us: PST_E_NOENT when unknown,
 * PST_E_ACCES when revoked or expired (t still filled, so the caller can say
 * which).  Updates last_used (at most once a minute, to keep reads cheap).
 */
int store_token_find(struct store *s, const uint8_t hash[32], int64_t now_us,
		     struct store_token *t, struct pst_err *e);
/*
 * Spend one use of a token (enrollment), atomically: PST_E_NOENT unknown,
 * PST_E_ACCES revoked, expired or spent (message says which).
 */
int store_token_spend(struct store *s, const uint8_t hash[32], int64_t now_us,
		      struct store_token *t, struct pst_err *e);
/* {"tokens": [{"id", "name", "role", "created_at", "expires_at", "uses_left", "last_used_at", "revoked"}]} */
int store_tokens(struct store *s, json_t **out, struct pst_err *e);
int store_token_revoke(struct store *s, int64_t id, struct pst_err *e);

/* --- enrollments (issue-time record of what was signed) --- */
int store_enrollment_add(struct store *s, const char *agent_id, int64_t token_id,
			 const char *cert_sha256_hex, const char *peer, int64_t now_us,
			 struct pst_err *e);
/* True when an agent id is taken (a host or an enrollment has it). */
int store_agent_id_taken(struct store *s, const char *agent_id, bool *taken, struct pst_err *e);

/* ------------------------------------------------------------------------
 * Evidence snapshots (schema version 3, docs/evidence.md).  evidence.h
 * builds and seals them; the store keeps each envelope once, byte for
 * byte, and refuses to change or remove it (the table's triggers).
 *
 * Taking one is a write transaction on the caller's handle, so that the
 * chain has no fork and the document agrees with one commit:
 *   store_evidence_begin()   BEGIN IMMEDIATE, then read the last snapshot
 *   ... store_summary(), store_host(), ... on the same handle ...
 *   store_evidence_insert()  the sealed envelope, with seq = last.seq + 1
 *   store_commit()           or store_rollback() on any failure
 * ------------------------------------------------------------------------ */

/* The newest snapshot: seq 0 and sha256 "" when there is none. */
struct store_evidence_head {
	uint64_t seq;
	char sha256[65];
};

/*
 * Start the transaction (waiting for the busy timeout while the ingest
 * commits) and read the last snapshot into *last.  On error no
 * transaction is left open.
 */
int store_evidence_begin(struct store *s, struct store_evidence_head *last, struct pst_err *e);
/* The last snapshot, outside a transaction. */
int store_evidence_last(struct store *s, struct store_evidence_head *last, struct pst_err *e);

struct store_evidence_put {
	uint64_t seq;
	const char *id;             /* "ev-%08llu" of seq */
	int64_t taken_at_us;
	const char *sha256;         /* of the snapshot's canonical bytes */
	const char *previous_sha256; /* NULL for seq 1 */
	const char *scope_json;     /* {"host", "search", "control"} */
	const char *taken_by_json;  /* {"kind", "name", "role"} */
	const char *envelope;
	size_t len;
};
/* Insert a sealed snapshot inside store_evidence_begin()'s transaction. */
int store_evidence_insert(struct store *s, const struct store_evidence_put *p,
			  struct pst_err *e);

/*
 * GET /api/v1/evidence: {"evidence": [{"id", "seq", "sha256", "previous_sha256",
 * "taken_at", "size", "scope", "taken_by"}], "next_cursor"} newest first.
 */
int store_evidence_list(struct store *s, const struct store_page *pg, json_t **out,
			struct pst_err *e);
/*
 * The envelope of snapshot id, exactly as stored (*env malloc'd and
 * NUL-terminated, *len without the NUL), and its sha256.  PST_E_NOENT
 * when there is no such snapshot.
 */
int store_evidence_get(struct store *s, const char *id, char **env, size_t *len,
		       char sha256[65], struct pst_err *e);

#endif
