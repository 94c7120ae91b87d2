/*
 * store_sqlite.c - the SQLite backend of the store (store.h), the default:
 * one file, WAL mode, synchronous=FULL so that a committed (and so acked)
 * report survives a power loss, foreign keys on, a busy timeout for the
 * moments another process (a backup, `show`) holds the lock.
 *
 * The schema is a list of migrations, applied in order, one transaction
 * each; PRAGMA user_version says how many have run.  A store written by a
 * newer collector is refused rather than misread.  Times are integer
 * microseconds since the epoch, UTC; statuses and severities are stored by
 * name, so the file reads well with the sqlite3 shell.
 *
 * Writes use statements prepared once at open and reset after each use;
 * reads prepare their own, so a reader's callback may call another reader.
 */
#include "store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"

/* "PSTR": marks the file as a posture store for `file` and for us. */
#define STORE_APPLICATION_ID 0x50535452
#define STORE_BUSY_DEFAULT_MS 5000

static const char *const migrations[] = {
	/* 1: hosts, policies, scans, latest results, transitions. */
	"CREATE TABLE hosts ("
	"  agent_id TEXT PRIMARY KEY NOT NULL,"
	"  hostname TEXT, os_id TEXT, os_version TEXT, kernel TEXT, machine_id TEXT,"
	"  architecture TEXT, agent_version TEXT,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  last_report INTEGER,"                     /* received time of the newest report */
	"  last_seq INTEGER NOT NULL DEFAULT 0"      /* highest stored sequence number */
	");"
	"CREATE TABLE policies ("
	"  id INTEGER PRIMARY KEY,"
	"  policy_id TEXT NOT NULL, version TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
	"  first_seen INTEGER NOT NULL,"
	"  UNIQUE (policy_id, version, sha256)"
	");"
	"CREATE TABLE scans ("
	"  id INTEGER PRIMARY KEY,"
	"  agent_id TEXT NOT NULL REFERENCES hosts(agent_id),"
	"  seq INTEGER NOT NULL CHECK (seq > 0),"
	"  scan_id TEXT,"
	"  started INTEGER, finished INTEGER,"
	"  received INTEGER NOT NULL,"
	"  pass INTEGER NOT NULL, fail INTEGER NOT NULL, error INTEGER NOT NULL,"
	"  not_applicable INTEGER NOT NULL,"
	"  score REAL,"                               /* NULL when pass + fail = 0 */
	"  UNIQUE (agent_id, seq)"
	");"
	"CREATE INDEX scans_received ON scans (received);"
	"CREATE TABLE scan_policies ("
	"  scan INTEGER NOT NULL REFERENCES scans(id),"
	"  policy INTEGER NOT NULL REFERENCES policies(id),"
	"  PRIMARY KEY (scan, policy)"
	") WITHOUT ROWID;"
	"CREATE TABLE results ("
	"  agent_id TEXT NOT NULL REFERENCES hosts(agent_id),"
	"  policy_id TEXT NOT NULL, check_id TEXT NOT NULL,"
	"  title TEXT, category TEXT,"
	"  severity TEXT NOT NULL CHECK (severity IN"
	"    ('unknown', 'low', 'medium', 'high', 'critical')),"
	"  status TEXT NOT NULL CHECK (status IN"
	"    ('unknown', 'pass', 'fail', 'error', 'not_applicable')),"
	"  controls TEXT NOT NULL,"                   /* JSON {framework: [ids]} */
	"  evidence TEXT NOT NULL,"                   /* JSON [{subject, observed, ...}] */
	"  remediation TEXT, reason TEXT,"
	"  duration_us INTEGER NOT NULL DEFAULT 0,"
	"  seq INTEGER NOT NULL,"                     /* the report it came from */
	"  changed_at INTEGER NOT NULL,"              /* when it reached this status */
	"  checked_at INTEGER NOT NULL,"
	"  PRIMARY KEY (agent_id, policy_id, check_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX results_status ON results (status, severity);"
	"CREATE TABLE transitions ("
	"  id INTEGER PRIMARY KEY,"
	"  agent_id TEXT NOT NULL REFERENCES hosts(agent_id),"
	"  policy_id TEXT NOT NULL, check_id TEXT NOT NULL,"
	"  from_status TEXT,"                         /* NULL: first result of the check */
	"  to_status TEXT NOT NULL,"
	"  at INTEGER NOT NULL, seq INTEGER NOT NULL,"
	"  evidence TEXT NOT NULL"
	");"
	"CREATE INDEX transitions_check ON transitions (agent_id, policy_id, check_id, at);"
	"CREATE INDEX transitions_at ON transitions (at);",

	/*
	 * 2: violations, tallies and the daily trend, the alert queue and its
	 * log, API tokens, enrollments, each result's controls one per row,
	 * and on hosts the agent's scan interval and when it was marked
	 * stale.  What a version-1 store holds is carried over: tallies,
	 * controls and an open violation for every failing result.
	 */
	"ALTER TABLE hosts ADD COLUMN scan_interval_s INTEGER;"  /* NULL: the agent did not say */
	"ALTER TABLE hosts ADD COLUMN stale_at INTEGER;"         /* marked stale; a report clears it */
	"CREATE TABLE violations ("
	"  id INTEGER PRIMARY KEY,"
	"  agent_id TEXT NOT NULL REFERENCES hosts(agent_id),"
	"  policy_id TEXT NOT NULL, check_id TEXT NOT NULL,"
	"  severity TEXT NOT NULL, category TEXT, title TEXT,"
	"  controls TEXT NOT NULL,"                   /* JSON {framework: [ids]} */
	"  evidence TEXT NOT NULL,"                   /* as stored with the failing result */
	"  remediation TEXT,"
	"  opened_at INTEGER NOT NULL, opened_seq INTEGER NOT NULL,"
	"  resolved_at INTEGER, resolved_seq INTEGER,"
	"  resolved_by TEXT CHECK (resolved_by IN ('pass', 'not_applicable'))"
	");"
	"CREATE UNIQUE INDEX violations_open ON violations (agent_id, policy_id, check_id)"
	"  WHERE resolved_at IS NULL;"
	"CREATE INDEX violations_opened ON violations (opened_at, id);"
	"CREATE INDEX violations_host ON violations (agent_id, opened_at);"
	/* Latest results counted by status, per scope: "fleet",
	 * "category:<name>", "severity:<name>". */
	"CREATE TABLE tallies ("
	"  scope TEXT PRIMARY KEY NOT NULL,"
	"  pass INTEGER NOT NULL DEFAULT 0, fail INTEGER NOT NULL DEFAULT 0,"
	"  error INTEGER NOT NULL DEFAULT 0, not_applicable INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE TABLE trend ("
	"  day TEXT NOT NULL,"                        /* UTC, YYYY-MM-DD */
	"  scope TEXT NOT NULL,"
	"  pass INTEGER NOT NULL, fail INTEGER NOT NULL,"
	"  error INTEGER NOT NULL, not_applicable INTEGER NOT NULL,"
	"  PRIMARY KEY (day, scope)"
	") WITHOUT ROWID;"
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"      /* ids are never reused: receivers dedupe by id */
	"  kind TEXT NOT NULL CHECK (kind IN ('violation_opened', 'violation_resolved',"
	"    'critical_failure', 'host_stale')),"
	"  created INTEGER NOT NULL,"
	"  body TEXT NOT NULL,"                       /* the JSON event */
	"  attempts INTEGER NOT NULL DEFAULT 0,"      /* failed deliveries */
	"  next_attempt INTEGER NOT NULL,"
	"  logged INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT"
	");"
	"CREATE INDEX alerts_next ON alerts (next_attempt);"
	"CREATE INDEX alerts_unlogged ON alerts (id) WHERE logged = 0;"
	"CREATE TABLE alert_log ("
	"  id INTEGER PRIMARY KEY,"                   /* the alert's id */
	"  kind TEXT NOT NULL, created INTEGER NOT NULL, body TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL,"
	"  outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'given_up')),"
	"  at INTEGER NOT NULL,"
	"  last_error TEXT"
	");"
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),"  /* hex SHA-256 of the token */
	"  name TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('iso', 'auditor', 'admin', 'enroll')),"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER,"                          /* NULL: never */
	"  uses_left INTEGER CHECK (uses_left >= 0)," /* NULL: unlimited */
	"  last_used INTEGER,"
	"  revoked INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE enrollments ("
	"  id INTEGER PRIMARY KEY,"
	"  agent_id TEXT NOT NULL,"
	"  token INTEGER REFERENCES tokens(id),"
	"  cert_sha256 TEXT NOT NULL CHECK (length(cert_sha256) = 64),"
	"  peer TEXT,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX enrollments_agent ON enrollments (agent_id);"
	/* No foreign key to results: their INSERT OR REPLACE would cascade. */
	"CREATE TABLE result_controls ("
	"  agent_id TEXT NOT NULL, policy_id TEXT NOT NULL, check_id TEXT NOT NULL,"
	"  framework TEXT NOT NULL, control TEXT NOT NULL,"
	"  PRIMARY KEY (agent_id, policy_id, check_id, framework, control)"
	") WITHOUT ROWID;"
	"CREATE INDEX result_controls_control ON result_controls (framework, control);"
	"INSERT OR IGNORE INTO result_controls"
	"  SELECT r.agent_id, r.policy_id, r.check_id, f.key, c.value"
	"  FROM results r, json_each(r.controls) f, json_each(f.value) c"
	"  WHERE json_valid(r.controls) AND f.type = 'array' AND c.type = 'text';"
	"INSERT INTO tallies (scope, pass, fail, error, not_applicable)"
	"  SELECT 'fleet', total(status = 'pass'), total(status = 'fail'),"
	"    total(status = 'error'), total(status = 'not_applicable') FROM results"
	"  UNION ALL SELECT 'category:' || category, total(status = 'pass'),"
	"    total(status = 'fail'), total(status = 'error'), total(status = 'not_applicable')"
	"    FROM results WHERE category IS NOT NULL GROUP BY category"
	"  UNION ALL SELECT 'severity:' || severity, total(status = 'pass'),"
	"    total(status = 'fail'), total(status = 'error'), total(status = 'not_applicable')"
	"    FROM results GROUP BY severity;"
	"INSERT INTO violations (agent_id, policy_id, check_id, severity, category, title,"
	"  controls, evidence, remediation, opened_at, opened_seq)"
	"  SELECT agent_id, policy_id, check_id, severity, category, title, controls, evidence,"
	"    remediation, changed_at, seq FROM results WHERE status = 'fail';",

	/*
	 * 3: evidence snapshots (docs/evidence.md), kept once and never
	 * changed: the triggers refuse UPDATE and DELETE, so that a snapshot
	 * cannot be altered or removed through SQL without the chain showing it.
	 */
	"CREATE TABLE evidence ("
	"  seq INTEGER PRIMARY KEY CHECK (seq > 0),"
	"  id TEXT NOT NULL UNIQUE,"                  /* "ev-00000001" */
	"  taken_at INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),"  /* of the snapshot */
	"  previous_sha256 TEXT CHECK ((seq = 1) = (previous_sha256 IS NULL)),"
	"  scope TEXT NOT NULL,"                      /* JSON {host, search, control} */
	"  taken_by TEXT NOT NULL,"                   /* JSON {kind, name, role} */
	"  size INTEGER NOT NULL,"
	"  envelope BLOB NOT NULL"                    /* the signed envelope, byte for byte */
	");"
	"CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence"
	"  BEGIN SELECT RAISE(ABORT, 'evidence snapshots are immutable: never updated'); END;"
	"CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence"
	"  BEGIN SELECT RAISE(ABORT, 'evidence snapshots are immutable: never deleted'); END;"
	/* Appended only, each linked to the last: no gap, no fork, and no
	 * INSERT OR REPLACE (whose delete fires no DELETE trigger). */
	"CREATE TRIGGER evidence_append_only BEFORE INSERT ON evidence"
	"  WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM evidence)"
	"    OR NEW.previous_sha256 IS NOT (SELECT sha256 FROM evidence WHERE seq = NEW.seq - 1)"
	"    OR EXISTS (SELECT 1 FROM evidence WHERE id = NEW.id OR sha256 = NEW.sha256)"
	"  BEGIN SELECT RAISE(ABORT, 'evidence snapshots are immutable: only appended, each "
	"linked to the last'); END;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT hello",
	[S_RELEASE] = "RELEASE hello",
	[S_ROLLBACK_TO] = "ROLLBACK TO hello",
	[S_HOST_HELLO] =
		"INSERT INTO hosts (agent_id, hostname, os_id, os_version, kernel, machine_id,"
		"  architecture, agent_version, first_seen, last_seen, scan_interval_s)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)"
		" ON CONFLICT (agent_id) DO UPDATE SET"
		"  hostname = coalesce(excluded.hostname, hostname),"
		"  os_id = coalesce(excluded.os_id, os_id),"
		"  os_version = coalesce(excluded.os_version, os_version),"
		"  kernel = coalesce(excluded.kernel, kernel),"
		"  machine_id = coalesce(excluded.machine_id, machine_id),"
		"  architecture = coalesce(excluded.architecture, architecture),"
		"  agent_version = coalesce(excluded.agent_version, agent_version),"
		"  scan_interval_s = coalesce(excluded.scan_interval_s, scan_interval_s),"
		"  last_seen = max(last_seen, excluded.last_seen)",
	/* A report's facts replace the host's only when it is the newest report;
	 * any report clears the host's stale mark. */
	[S_HOST_REPORT] =
		"INSERT INTO hosts (agent_id, hostname, os_id, os_version, kernel, machine_id,"
		"  architecture, agent_version, first_seen, last_seen, last_report, last_seq,"
		"  scan_interval_s)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9, ?10, ?11)"
		" ON CONFLICT (agent_id) DO UPDATE SET"
		"  hostname = iif(excluded.last_seq > last_seq,"
		"    coalesce(excluded.hostname, hostname), hostname),"
		"  os_id = iif(excluded.last_seq > last_seq, coalesce(excluded.os_id, os_id), os_id),"
		"  os_version = iif(excluded.last_seq > last_seq,"
		"    coalesce(excluded.os_version, os_version), os_version),"
		"  kernel = iif(excluded.last_seq > last_seq, coalesce(excluded.kernel, kernel), kernel),"
		"  machine_id = iif(excluded.last_seq > last_seq,"
		"    coalesce(excluded.machine_id, machine_id), machine_id),"
		"  architecture = iif(excluded.last_seq > last_seq,"
		"    coalesce(excluded.architecture, architecture), architecture),"
		"  agent_version = iif(excluded.last_seq > last_seq,"
		"    coalesce(excluded.agent_version, agent_version), agent_version),"
		"  last_seen = max(last_seen, excluded.last_seen),"
		"  last_report = max(coalesce(last_report, 0), excluded.last_report),"
		"  last_seq = max(last_seq, excluded.last_seq),"
		"  scan_interval_s = coalesce(excluded.scan_interval_s, scan_interval_s),"
		"  stale_at = NULL",
	[S_HOST_LAST_SEQ] = "SELECT last_seq FROM hosts WHERE agent_id = ?1",
	[S_SCAN_EXISTS] = "SELECT 1 FROM scans WHERE agent_id = ?1 AND seq = ?2",
	[S_SCAN_INSERT] =
		"INSERT INTO scans (agent_id, seq, scan_id, started, finished, received,"
		"  pass, fail, error, not_applicable, score)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[S_POLICY_INSERT] =
		"INSERT INTO policies (policy_id, version, sha256, first_seen)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[S_POLICY_ID] =
		"SELECT id FROM policies WHERE policy_id = ?1 AND version = ?2 AND sha256 = ?3",
	[S_SCAN_POLICY] = "INSERT OR IGNORE INTO scan_policies (scan, policy) VALUES (?1, ?2)",
	[S_RESULT_GET] =
		"SELECT status, seq, changed_at, category, severity, controls FROM results"
		" WHERE agent_id = ?1 AND policy_id = ?2 AND check_id = ?3",
	[S_RESULT_PUT] =
		/* An upsert updates the row in place: OR REPLACE would delete and
		 * re-insert it, touching results_status twice per result. */
		"INSERT INTO results (agent_id, policy_id, check_id, title, category,"
		"  severity, status, controls, evidence, remediation, reason, duration_us, seq,"
		"  changed_at, checked_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
		" ON CONFLICT (agent_id, policy_id, check_id) DO UPDATE SET"
		"  title = excluded.title, category = excluded.category,"
		"  severity = excluded.severity, status = excluded.status,"
		"  controls = excluded.controls, evidence = excluded.evidence,"
		"  remediation = excluded.remediation, reason = excluded.reason,"
		"  duration_us = excluded.duration_us, seq = excluded.seq,"
		"  changed_at = excluded.changed_at, checked_at = excluded.checked_at",
	[S_TRANSITION] =
		"INSERT INTO transitions (agent_id, policy_id, check_id, from_status, to_status,"
		"  at, seq, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	/* Opens one unless one is open (the partial unique index): no row returned then. */
	[S_VIOLATION_OPEN] =
		"INSERT INTO violations (agent_id, policy_id, check_id, severity, category, title,"
		"  controls, evidence, remediation, opened_at, opened_seq)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
		" ON CONFLICT (agent_id, policy_id, check_id) WHERE resolved_at IS NULL DO NOTHING"
		" RETURNING id",
	[S_VIOLATION_RESOLVE] =
		"UPDATE violations SET resolved_at = ?4, resolved_seq = ?5, resolved_by = ?6"
		" WHERE agent_id = ?1 AND policy_id = ?2 AND check_id = ?3 AND resolved_at IS NULL"
		" RETURNING id",
	[S_TALLY_MOVE] =
		"INSERT INTO tallies (scope, pass, fail, error, not_applicable)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope) DO UPDATE SET"
		"  pass = pass + excluded.pass, fail = fail + excluded.fail,"
		"  error = error + excluded.error,"
		"  not_applicable = not_applicable + excluded.not_applicable",
	/* A handful of rows: one per scope. */
	[S_TREND_UPSERT] =
		"INSERT INTO trend (day, scope, pass, fail, error, not_applicable)"
		" SELECT ?1, scope, pass, fail, error, not_applicable FROM tallies WHERE true"
		" ON CONFLICT (day, scope) DO UPDATE SET pass = excluded.pass,"
		"  fail = excluded.fail, error = excluded.error,"
		"  not_applicable = excluded.not_applicable",
	[S_ALERT_INSERT] =
		"INSERT INTO alerts (kind, created, body, next_attempt) VALUES (?1, ?2, ?3, ?2)",
	[S_CONTROLS_DELETE] =
		"DELETE FROM result_controls WHERE agent_id = ?1 AND policy_id = ?2 AND check_id = ?3",
	[S_CONTROLS_INSERT] =
		"INSERT OR IGNORE INTO result_controls (agent_id, policy_id, check_id, framework,"
		"  control) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_HOSTNAME] = "SELECT hostname FROM hosts WHERE agent_id = ?1",
};

/* What to do about an SQLite error, for a person. */
static const char *advice(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "another process holds the database lock: find it (fuser) or wait";
	case SQLITE_FULL:
		return "the disk is full: free space on it";
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
	case SQLITE_AUTH:
		return "check that the collector's user may write the file and its directory";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "the file is damaged or not a posture store: restore it from a backup";
	case SQLITE_IOERR:
		return "the disk reported an I/O error: check it (dmesg)";
	case SQLITE_NOMEM:
		return "the collector ran out of memory";
	default:
		return "see the message above";
	}
}

/* Set e from the connection's last error; PST_E_NOMEM or PST_E_STORE. */
int sq_fail(struct sqlite_store *q, int rc, struct pst_err *e, const char *what)
{
	const char *msg = q->db != NULL ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);

	return pst_err_set(e, (rc & 0xff) == SQLITE_NOMEM ? PST_E_NOMEM : PST_E_STORE,
			   "%s: %s (%s)", what, msg, advice(rc));
}

int sq_exec(struct sqlite_store *q, const char *sql, struct pst_err *e, const char *what)
{
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_fail(q, rc, e, what);
}

/* Run a statement that returns no row (or whose row is ignored), then reset it. */
int sq_step(struct sqlite_store *q, sqlite3_stmt *st, struct pst_err *e, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return sq_fail(q, rc, e, what);
}

/* The single integer a PRAGMA or SELECT returns. */
int sq_query_int(struct sqlite_store *q, const char *sql, int64_t *out, struct pst_err *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	if (rc != SQLITE_OK) {
		rc = sq_fail(q, rc, e, sql);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return 0;
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

void sq_bind_int_or_null(sqlite3_stmt *st, int i, int64_t v, int64_t null_value)
{
	if (v == null_value)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

int sq_prepare(struct sqlite_store *q, const char *sql, sqlite3_stmt **st, struct pst_err *e,
	       const char *what)
{
	int rc = sqlite3_prepare_v2(q->db, sql, -1, st, NULL);

	if (rc == SQLITE_OK)
		return 0;
	*st = NULL;
	rc = sq_fail(q, rc, e, what);
	pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

json_t *sq_json_time(int64_t us)
{
	char buf[64];

	if (us == 0)
		return json_null();
	timefmt_rfc3339(us, buf, sizeof(buf));
	return json_string(buf);
}

json_t *sq_json_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

json_t *sq_json_score(int64_t pass, int64_t fail)
{
	if (pass + fail <= 0)
		return json_null();
	return json_real(round(1000.0 * (double)pass / (double)(pass + fail)) / 10.0);
}

void sq_bind_facts(sqlite3_stmt *st, const struct store_facts *f)
{
	sq_bind_text(st, 2, f->hostname);
	sq_bind_text(st, 3, f->os_id);
	sq_bind_text(st, 4, f->os_version);
	sq_bind_text(st, 5, f->kernel);
	sq_bind_text(st, 6, f->machine_id);
	sq_bind_text(st, 7, f->architecture);
	sq_bind_text(st, 8, f->agent_version);
}

/*
 * Create the file 0600 when missing, whatever the umask, before SQLite
 * opens it (SQLite gives its -wal and -shm files the database's mode).
 */
static int create_private(const char *path, struct pst_err *e)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		return pst_err_set(e, pst_from_errno(errno), "cannot create it: %s (%s)",
				   strerror(errno),
				   errno == ENOENT ? "create its directory first"
						   : "check the directory's owner and mode");
	}
	if (fchmod(fd, 0600) != 0) {
		int err = errno;

		close(fd);
		return pst_err_set(e, pst_from_errno(err), "chmod 0600: %s", strerror(err));
	}
	close(fd);
	return 0;
}

/*
 * Apply the migration after version *v in its own transaction.  Another
 * collector may have migrated while we waited for the lock: *v is read
 * again under it.
 */
static int migrate_one(struct sqlite_store *q, int64_t *v, struct pst_err *e)
{
	char sql[96];
	int rc;

	rc = sq_exec(q, "BEGIN IMMEDIATE", e, "starting a schema migration");
	if (rc < 0)
		return rc;
	rc = sq_query_int(q, "PRAGMA user_version", v, e);
	if (rc < 0 || *v >= SCHEMA_VERSION)
		goto out;
	if (*v == 0) {
		int64_t ntables;

		rc = sq_query_int(q, "SELECT count(*) FROM sqlite_master", &ntables, e);
		if (rc < 0)
			goto out;
		if (ntables != 0) {
			rc = pst_err_set(e, PST_E_STORE,
					 "the file holds tables but is no posture store: "
					 "give the collector its own file");
			goto out;
		}
	}
	rc = sq_exec(q, migrations[*v], e, "migrating the schema");
	if (rc < 0) {
		pst_err_prefix(e, "to version %d", (int)*v + 1);
		goto out;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
		 (int)*v + 1, STORE_APPLICATION_ID);
	rc = sq_exec(q, sql, e, "recording the schema version");
	if (rc < 0)
		goto out;
	rc = sq_exec(q, "COMMIT", e, "committing a schema migration");
	if (rc < 0)
		goto out;
	log_info("store %s: schema migrated to version %d", q->path, (int)*v + 1);
	(*v)++;
	return 0;
out:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int migrate(struct sqlite_store *q, struct pst_err *e)
{
	int64_t v, app;
	int rc;

	rc = sq_query_int(q, "PRAGMA application_id", &app, e);
	if (rc < 0)
		return rc;
	if (app != 0 && app != STORE_APPLICATION_ID)
		return pst_err_set(e, PST_E_STORE,
				   "this SQLite file belongs to another program "
				   "(application_id 0x%llx): give the collector its own file",
				   (unsigned long long)app);
	rc = sq_query_int(q, "PRAGMA user_version", &v, e);
	while (rc == 0 && v < SCHEMA_VERSION)
		rc = migrate_one(q, &v, e);
	if (rc < 0)
		return rc;
	if (v > SCHEMA_VERSION)
		return pst_err_set(e, PST_E_STORE,
				   "schema version %lld is newer than this collector's "
				   "(%d): run the newer posture-collector that wrote it, or restore a "
				   "backup taken before the upgrade", (long long)v,
				   SCHEMA_VERSION);
	q->version = (int)v;
	return 0;
}

static void sqlite_close(struct store *s)
{
	struct sqlite_store *q = sq(s);
	int i;

	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(q->stmt[i]);
	/* The last connection to close checkpoints the WAL into the file. */
	sqlite3_close(q->db);
	free(q->path);
	free(q);
}

static int sqlite_open(const char *path, struct store **out, struct pst_err *e)
{
	struct sqlite_store *q;
	sqlite3_stmt *st = NULL;
	int rc, i;

	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->path = strdup(path)) == NULL) {
		free(q);
		return pst_err_set(e, PST_E_NOMEM, "store %.300s: out of memory", path);
	}
	rc = create_private(path, e);
	if (rc < 0)
		goto out;
	rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		rc = sq_fail(q, rc, e, "opening");
		goto out;
	}
	sqlite3_busy_timeout(q->db, STORE_BUSY_DEFAULT_MS);
	rc = sqlite3_create_collation(q->db, "posture_natural", SQLITE_UTF8, NULL, sq_natural_cmp);
	if (rc != SQLITE_OK) {
		rc = sq_fail(q, rc, e, "registering a collation");
		goto out;
	}
	/* journal_mode answers with the mode in force: a file system without
	 * shared memory may refuse WAL. */
	rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);

		if (mode == NULL || strcmp(mode, "wal") != 0) {
			rc = pst_err_set(e, PST_E_STORE,
					 "WAL mode refused (journal mode %s): put the "
					 "store on a local file system", mode ? mode : "?");
			goto out;
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		rc = sq_fail(q, rc, e, "setting WAL mode");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = sq_exec(q, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", e,
		      "setting synchronous and foreign keys");
	if (rc < 0)
		goto out;
	rc = migrate(q, e);
	if (rc < 0)
		goto out;
	for (i = 0; i < S_COUNT; i++) {
		rc = sqlite3_prepare_v3(q->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&q->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			rc = sq_fail(q, rc, e, "preparing a statement");
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc < 0) {
		pst_err_prefix(e, "store %.300s", path);
		sqlite_close(&q->base);
		return rc;
	}
	*out = &q->base;
	return 0;
}

static int sqlite_schema_version(struct store *s)
{
	return sq(s)->version;
}

static void sqlite_set_busy_timeout(struct store *s, int ms)
{
	sqlite3_busy_timeout(sq(s)->db, ms);
}

/*
 * Alone, a Hello is its own transaction; inside store_begin()'s, it is a
 * savepoint, so that its failure undoes only its own writes.
 */
static int sqlite_host_hello(struct store *s, const char *agent_id, const struct store_facts *facts,
			     int64_t now_us, uint64_t *last_seq, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	bool joined = !sqlite3_get_autocommit(q->db);
	sqlite3_stmt *st;
	int rc;

	rc = sq_step(q, q->stmt[joined ? S_SAVEPOINT : S_BEGIN], e, "starting a transaction");
	if (rc < 0) {
		pst_err_prefix(e, "store %.300s: agent %.200s", q->path, agent_id);
		return rc;
	}
	st = q->stmt[S_HOST_HELLO];
	sq_bind_text(st, 1, agent_id);
	sq_bind_facts(st, facts);
	sqlite3_bind_int64(st, 9, now_us);
	sq_bind_int_or_null(st, 10, facts->scan_interval_s, 0);
	rc = sq_step(q, st, e, "recording a host's hello");
	if (rc < 0)
		goto out;
	st = q->stmt[S_HOST_LAST_SEQ];
	sq_bind_text(st, 1, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*last_seq = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW) {
		rc = sq_fail(q, rc, e, "reading a host's last sequence number");
		goto out;
	}
	rc = sq_step(q, q->stmt[joined ? S_RELEASE : S_COMMIT], e, "committing a host's hello");
out:
	if (rc < 0) {
		if (joined) {
			/* Undo the Hello's writes only; an error that already
			 * rolled the whole transaction back makes the outer
			 * commit fail, and its caller sees that. */
			if (!sqlite3_get_autocommit(q->db)) {
				sq_step(q, q->stmt[S_ROLLBACK_TO], NULL, "rolling back a hello");
				sq_step(q, q->stmt[S_RELEASE], NULL, "ending a hello's savepoint");
			}
		} else {
			sq_step(q, q->stmt[S_ROLLBACK], NULL, "rolling back");
		}
		pst_err_prefix(e, "store %.300s: agent %.200s", q->path, agent_id);
		*last_seq = 0;
	}
	return rc;
}

static int sqlite_begin(struct store *s, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	int rc = sq_step(q, q->stmt[S_BEGIN], e, "starting a transaction");

	if (rc < 0)
		pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

static int sqlite_commit(struct store *s, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	int rc;

	if (sqlite3_get_autocommit(q->db))
		return pst_err_set(e, PST_E_STORE, "store %.300s: the transaction was rolled back "
				   "by an earlier error; nothing of it is stored", q->path);
	rc = sq_step(q, q->stmt[S_COMMIT], e, "committing");
	if (rc < 0)
		pst_err_prefix(e, "store %.300s", q->path);
	return rc;
}

static void sqlite_rollback(struct store *s)
{
	struct sqlite_store *q = sq(s);

	if (!sqlite3_get_autocommit(q->db))
		sq_step(q, q->stmt[S_ROLLBACK], NULL, "rolling back");
}

/* --- reading --------------------------------------------------------------- */

const char *sq_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

enum store_status sq_status_parse(const char *s)
{
	for (int i = STORE_PASS; i <= STORE_NOT_APPLICABLE; i++)
		if (s != NULL && strcmp(s, store_status_name((enum store_status)i)) == 0)
			return (enum store_status)i;
	return STORE_STATUS_UNKNOWN;
}

enum store_severity sq_severity_parse(const char *s)
{
	for (int i = STORE_SEV_LOW; i <= STORE_SEV_CRITICAL; i++)
		if (s != NULL && strcmp(s, store_severity_name((enum store_severity)i)) == 0)
			return (enum store_severity)i;
	return STORE_SEV_UNKNOWN;
}

/* Step through a prepared read, calling row(st) for each row. */
static int each_row(struct sqlite_store *q, sqlite3_stmt *st,
		    int (*row)(sqlite3_stmt *st, void *ctx), void *ctx, struct pst_err *e,
		    const char *what)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int stop = row(st, ctx);

		if (stop != 0) {
			sqlite3_finalize(st);
			return stop;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : sq_fail(q, rc, e, what);
	if (rc < 0)
		pst_err_prefix(e, "store %.300s", q->path);
	sqlite3_finalize(st);
	return rc;
}

struct host_ctx {
	int (*cb)(void *arg, const struct store_host_row *h);
	void *arg;
};

static int host_row(sqlite3_stmt *st, void *ctx)
{
	struct host_ctx *c = ctx;
	struct store_host_row h = {
		.agent_id = sq_col_text(st, 0),
		.hostname = sq_col_text(st, 1),
		.os_id = sq_col_text(st, 2),
		.os_version = sq_col_text(st, 3),
		.kernel = sq_col_text(st, 4),
		.first_seen_us = sqlite3_column_int64(st, 5),
		.last_seen_us = sqlite3_column_int64(st, 6),
		.last_report_us = sqlite3_column_int64(st, 7),
		.last_seq = (uint64_t)sqlite3_column_int64(st, 8),
		.pass = (size_t)sqlite3_column_int64(st, 9),
		.fail = (size_t)sqlite3_column_int64(st, 10),
		.error = (size_t)sqlite3_column_int64(st, 11),
		.not_applicable = (size_t)sqlite3_column_int64(st, 12),
	};

	if (h.pass + h.fail > 0) {
		h.has_score = true;
		h.score = 100.0 * (double)h.pass / (double)(h.pass + h.fail);
	}
	return c->cb(c->arg, &h);
}

static int sqlite_each_host(struct store *s, int (*cb)(void *arg, const struct store_host_row *h),
			    void *arg, struct pst_err *e)
{
	static const char sql[] =
		"SELECT h.agent_id, h.hostname, h.os_id, h.os_version, h.kernel, h.first_seen,"
		"  h.last_seen, coalesce(h.last_report, 0), h.last_seq,"
		"  coalesce(sum(r.status = 'pass'), 0), coalesce(sum(r.status = 'fail'), 0),"
		"  coalesce(sum(r.status = 'error'), 0),"
		"  coalesce(sum(r.status = 'not_applicable'), 0)"
		" FROM hosts h LEFT JOIN results r ON r.agent_id = h.agent_id"
		" GROUP BY h.agent_id ORDER BY h.agent_id";
	struct sqlite_store *q = sq(s);
	struct host_ctx c = {cb, arg};
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = sq_fail(q, rc, e, "reading hosts");
		pst_err_prefix(e, "store %.300s", q->path);
		return rc;
	}
	return each_row(q, st, host_row, &c, e, "reading hosts");
}

struct result_ctx {
	int (*cb)(void *arg, const struct store_result_row *r);
	void *arg;
};

static int result_row(sqlite3_stmt *st, void *ctx)
{
	struct result_ctx *c = ctx;
	struct store_result_row r = {
		.policy_id = sq_col_text(st, 0),
		.check_id = sq_col_text(st, 1),
		.title = sq_col_text(st, 2),
		.category = sq_col_text(st, 3),
		.status = sq_status_parse(sq_col_text(st, 4)),
		.severity = sq_severity_parse(sq_col_text(st, 5)),
		.seq = (uint64_t)sqlite3_column_int64(st, 6),
		.changed_us = sqlite3_column_int64(st, 7),
		.evidence_json = sq_col_text(st, 8),
	};

	return c->cb(c->arg, &r);
}

static int sqlite_each_result(struct store *s, const char *agent_id,
			      int (*cb)(void *arg, const struct store_result_row *r), void *arg,
			      struct pst_err *e)
{
	static const char sql[] =
		"SELECT policy_id, check_id, title, category, status, severity, seq, changed_at,"
		"  evidence FROM results WHERE agent_id = ?1 ORDER BY policy_id, check_id";
	struct sqlite_store *q = sq(s);
	struct result_ctx c = {cb, arg};
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = sq_fail(q, rc, e, "reading results");
		pst_err_prefix(e, "store %.300s", q->path);
		return rc;
	}
	sq_bind_text(st, 1, agent_id);
	return each_row(q, st, result_row, &c, e, "reading results");
}

static int sqlite_counts(struct store *s, struct store_counts *c, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	int64_t v[4];
	static const char *const sql[4] = {
		"SELECT count(*) FROM hosts", "SELECT count(*) FROM scans",
		"SELECT count(*) FROM results", "SELECT count(*) FROM transitions",
	};
	int rc;

	for (int i = 0; i < 4; i++) {
		rc = sq_query_int(q, sql[i], &v[i], e);
		if (rc < 0) {
			pst_err_prefix(e, "store %.300s", q->path);
			return rc;
		}
	}
	c->hosts = (uint64_t)v[0];
	c->scans = (uint64_t)v[1];
	c->results = (uint64_t)v[2];
	c->transitions = (uint64_t)v[3];
	return 0;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.schema_version = sqlite_schema_version,
	.set_busy_timeout = sqlite_set_busy_timeout,
	.host_hello = sqlite_host_hello,
	.put_reports = sq_put_reports,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.each_host = sqlite_each_host,
	.each_result = sqlite_each_result,
	.counts = sqlite_counts,
	.summary = sq_summary,
	.hosts = sq_hosts,
	.host = sq_host,
	.host_results = sq_host_results,
	.violations = sq_violations,
	.controls = sq_controls,
	.trend = sq_trend,
	.metric_rows = sq_metric_rows,
	.mark_stale = sq_mark_stale,
	.alerts_due = sq_alerts_due,
	.alert_logged = sq_alert_logged,
	.alert_delivered = sq_alert_delivered,
	.alert_failed = sq_alert_failed,
	.alerts_pending = sq_alerts_pending,
	.token_add = sq_token_add,
	.token_find = sq_token_find,
	.token_spend = sq_token_spend,
	.tokens = sq_tokens,
	.token_revoke = sq_token_revoke,
	.enrollment_add = sq_enrollment_add,
	.agent_id_taken = sq_agent_id_taken,
	.evidence_begin = sq_evidence_begin,
	.evidence_last = sq_evidence_last,
	.evidence_insert = sq_evidence_insert,
	.evidence_list = sq_evidence_list,
	.evidence_get = sq_evidence_get,
};
