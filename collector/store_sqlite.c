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
#include "store_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

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
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_HOST_HELLO,
	S_HOST_REPORT,
	S_HOST_LAST_SEQ,
	S_SCAN_EXISTS,
	S_SCAN_INSERT,
	S_POLICY_INSERT,
	S_POLICY_ID,
	S_SCAN_POLICY,
	S_RESULT_GET,
	S_RESULT_PUT,
	S_TRANSITION,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_HOST_HELLO] =
		"INSERT INTO hosts (agent_id, hostname, os_id, os_version, kernel, machine_id,"
		"  architecture, agent_version, first_seen, last_seen)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
		" ON CONFLICT (agent_id) DO UPDATE SET"
		"  hostname = coalesce(excluded.hostname, hostname),"
		"  os_id = coalesce(excluded.os_id, os_id),"
		"  os_version = coalesce(excluded.os_version, os_version),"
		"  kernel = coalesce(excluded.kernel, kernel),"
		"  machine_id = coalesce(excluded.machine_id, machine_id),"
		"  architecture = coalesce(excluded.architecture, architecture),"
		"  agent_version = coalesce(excluded.agent_version, agent_version),"
		"  last_seen = max(last_seen, excluded.last_seen)",
	/* A report's facts replace the host's only when it is the newest report. */
	[S_HOST_REPORT] =
		"INSERT INTO hosts (agent_id, hostname, os_id, os_version, kernel, machine_id,"
		"  architecture, agent_version, first_seen, last_seen, last_report, last_seq)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?9, ?10)"
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
		"  last_seq = max(last_seq, excluded.last_seq)",
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
		"SELECT status, seq, changed_at FROM results"
		" WHERE agent_id = ?1 AND policy_id = ?2 AND check_id = ?3",
	[S_RESULT_PUT] =
		"INSERT OR REPLACE INTO results (agent_id, policy_id, check_id, title, category,"
		"  severity, status, controls, evidence, remediation, reason, duration_us, seq,"
		"  changed_at, checked_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[S_TRANSITION] =
		"INSERT INTO transitions (agent_id, policy_id, check_id, from_status, to_status,"
		"  at, seq, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
};

struct sqlite_store {
	struct store base; /* first: store.c sees only this */
	sqlite3 *db;
	char *path;
	int version;
	sqlite3_stmt *stmt[S_COUNT];
};

static struct sqlite_store *sq(struct store *s)
{
	return (struct sqlite_store *)s;
}

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
static int db_fail(struct sqlite_store *q, int rc, struct pst_err *e, const char *what)
{
	const char *msg = q->db != NULL ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc);

	return pst_err_set(e, (rc & 0xff) == SQLITE_NOMEM ? PST_E_NOMEM : PST_E_STORE,
			   "%s: %s (%s)", what, msg, advice(rc));
}

static int exec_sql(struct sqlite_store *q, const char *sql, struct pst_err *e, const char *what)
{
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_fail(q, rc, e, what);
}

/* Run a statement that returns no row (or whose row is ignored), then reset it. */
static int step_done(struct sqlite_store *q, sqlite3_stmt *st, struct pst_err *e, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return db_fail(q, rc, e, what);
}

/* The single integer a PRAGMA or SELECT returns. */
static int query_int(struct sqlite_store *q, const char *sql, int64_t *out, struct pst_err *e)
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
		rc = db_fail(q, rc, e, sql);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void bind_facts(sqlite3_stmt *st, const struct store_facts *f)
{
	bind_text(st, 2, f->hostname);
	bind_text(st, 3, f->os_id);
	bind_text(st, 4, f->os_version);
	bind_text(st, 5, f->kernel);
	bind_text(st, 6, f->machine_id);
	bind_text(st, 7, f->architecture);
	bind_text(st, 8, f->agent_version);
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

	rc = exec_sql(q, "BEGIN IMMEDIATE", e, "starting a schema migration");
	if (rc < 0)
		return rc;
	rc = query_int(q, "PRAGMA user_version", v, e);
	if (rc < 0 || *v >= SCHEMA_VERSION)
		goto out;
	if (*v == 0) {
		int64_t ntables;

		rc = query_int(q, "SELECT count(*) FROM sqlite_master", &ntables, e);
		if (rc < 0)
			goto out;
		if (ntables != 0) {
			rc = pst_err_set(e, PST_E_STORE,
					 "the file holds tables but is no posture store: "
					 "give the collector its own file");
			goto out;
		}
	}
	rc = exec_sql(q, migrations[*v], e, "migrating the schema");
	if (rc < 0) {
		pst_err_prefix(e, "to version %d", (int)*v + 1);
		goto out;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
		 (int)*v + 1, STORE_APPLICATION_ID);
	rc = exec_sql(q, sql, e, "recording the schema version");
	if (rc < 0)
		goto out;
	rc = exec_sql(q, "COMMIT", e, "committing a schema migration");
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

	rc = query_int(q, "PRAGMA application_id", &app, e);
	if (rc < 0)
		return rc;
	if (app != 0 && app != STORE_APPLICATION_ID)
		return pst_err_set(e, PST_E_STORE,
				   "this SQLite file belongs to another program "
				   "(application_id 0x%llx): give the collector its own file",
				   (unsigned long long)app);
	rc = query_int(q, "PRAGMA user_version", &v, e);
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
		rc = db_fail(q, rc, e, "opening");
		goto out;
	}
	sqlite3_busy_timeout(q->db, STORE_BUSY_DEFAULT_MS);
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
		rc = db_fail(q, rc, e, "setting WAL mode");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = exec_sql(q, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", e,
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
			rc = db_fail(q, rc, e, "preparing a statement");
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

static int sqlite_host_hello(struct store *s, const char *agent_id, const struct store_facts *facts,
			     int64_t now_us, uint64_t *last_seq, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	sqlite3_stmt *st;
	int rc;

	rc = step_done(q, q->stmt[S_BEGIN], e, "starting a transaction");
	if (rc < 0) {
		pst_err_prefix(e, "store %.300s: agent %.200s", q->path, agent_id);
		return rc;
	}
	st = q->stmt[S_HOST_HELLO];
	bind_text(st, 1, agent_id);
	bind_facts(st, facts);
	sqlite3_bind_int64(st, 9, now_us);
	rc = step_done(q, st, e, "recording a host's hello");
	if (rc < 0)
		goto out;
	st = q->stmt[S_HOST_LAST_SEQ];
	bind_text(st, 1, agent_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*last_seq = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW) {
		rc = db_fail(q, rc, e, "reading a host's last sequence number");
		goto out;
	}
	rc = step_done(q, q->stmt[S_COMMIT], e, "committing a host's hello");
out:
	if (rc < 0) {
		step_done(q, q->stmt[S_ROLLBACK], NULL, "rolling back");
		pst_err_prefix(e, "store %.300s: agent %.200s", q->path, agent_id);
		*last_seq = 0;
	}
	return rc;
}

/* --- JSON of evidence and controls ---------------------------------------- */

static int set_str(json_t *o, const char *key, const char *v)
{
	return v == NULL ? 0 : json_object_set_new(o, key, json_string(v));
}

/* JSON text of the evidence items, [{subject, observed, expected, location, ok}]. */
static char *evidence_json(const struct store_result *r)
{
	json_t *a = json_array();
	char *text = NULL;
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < r->nevidence; i++) {
		const struct store_evidence *ev = &r->evidence[i];
		json_t *o = json_object();

		if (o == NULL || json_array_append_new(a, o) != 0 ||
		    set_str(o, "subject", ev->subject) != 0 ||
		    set_str(o, "observed", ev->observed) != 0 ||
		    set_str(o, "expected", ev->expected) != 0 ||
		    set_str(o, "location", ev->location) != 0 ||
		    json_object_set_new(o, "ok", json_boolean(ev->ok)) != 0)
			goto out;
	}
	text = json_dumps(a, JSON_COMPACT);
out:
	json_decref(a);
	return text;
}

/* JSON text of the control mappings, {"iso27001": ["A.8.2"], ...}. */
static char *controls_json(const struct store_result *r)
{
	json_t *o = json_object();
	char *text = NULL;
	size_t i, j;

	if (o == NULL)
		return NULL;
	for (i = 0; i < r->ncontrols; i++) {
		const struct store_control *c = &r->controls[i];
		json_t *ids = json_object_get(o, c->framework);

		if (ids == NULL) {
			ids = json_array();
			if (ids == NULL || json_object_set_new(o, c->framework, ids) != 0)
				goto out;
		}
		for (j = 0; j < c->nids; j++)
			if (c->ids[j] != NULL && json_array_append_new(ids, json_string(c->ids[j])) != 0)
				goto out;
	}
	text = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return text;
}

/* --- reports --------------------------------------------------------------- */

static void hex32(const uint8_t *b, char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[64] = '\0';
}

static int put_policies(struct sqlite_store *q, const struct store_report *r, int64_t scan,
			struct pst_err *e)
{
	size_t i;
	int rc;

	for (i = 0; i < r->npolicies; i++) {
		const struct store_policy *p = &r->policies[i];
		sqlite3_stmt *st = q->stmt[S_POLICY_INSERT];
		char hex[65];
		int64_t id;

		hex32(p->sha256, hex);
		bind_text(st, 1, p->id);
		bind_text(st, 2, p->version);
		bind_text(st, 3, hex);
		sqlite3_bind_int64(st, 4, r->received_us);
		rc = step_done(q, st, e, "recording a policy");
		if (rc < 0)
			return rc;
		st = q->stmt[S_POLICY_ID];
		bind_text(st, 1, p->id);
		bind_text(st, 2, p->version);
		bind_text(st, 3, hex);
		rc = sqlite3_step(st);
		id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_ROW)
			return db_fail(q, rc, e, "finding a policy");
		st = q->stmt[S_SCAN_POLICY];
		sqlite3_bind_int64(st, 1, scan);
		sqlite3_bind_int64(st, 2, id);
		rc = step_done(q, st, e, "linking a scan to its policy");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * The latest result of one check, and a transition when its status
 * changed.  A report older than the stored result (delivered late) keeps
 * its scan row but changes neither.
 */
static int put_result(struct sqlite_store *q, const struct store_report *r,
		      const struct store_result *res, int64_t at, struct pst_err *e)
{
	const char *status = store_status_name(res->status);
	char *evidence = NULL, *controls = NULL;
	char *old_status = NULL;
	bool exists = false;
	int64_t old_seq = 0, changed_at = at;
	sqlite3_stmt *st;
	int rc;

	st = q->stmt[S_RESULT_GET];
	bind_text(st, 1, r->agent_id);
	bind_text(st, 2, res->policy_id);
	bind_text(st, 3, res->check_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *s0 = (const char *)sqlite3_column_text(st, 0);

		exists = true;
		old_status = strdup(s0 != NULL ? s0 : "unknown");
		old_seq = sqlite3_column_int64(st, 1);
		changed_at = sqlite3_column_int64(st, 2);
		rc = old_status != NULL ? SQLITE_DONE : SQLITE_NOMEM;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		rc = db_fail(q, rc, e, "reading a check's latest result");
		goto out;
	}
	if (exists && old_seq > (int64_t)r->seq) {
		rc = 0;
		goto out;
	}
	evidence = evidence_json(res);
	controls = controls_json(res);
	if (evidence == NULL || controls == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	if (!exists || strcmp(old_status, status) != 0) {
		changed_at = at;
		st = q->stmt[S_TRANSITION];
		bind_text(st, 1, r->agent_id);
		bind_text(st, 2, res->policy_id);
		bind_text(st, 3, res->check_id);
		bind_text(st, 4, old_status);
		bind_text(st, 5, status);
		sqlite3_bind_int64(st, 6, at);
		sqlite3_bind_int64(st, 7, (int64_t)r->seq);
		bind_text(st, 8, evidence);
		rc = step_done(q, st, e, "recording a status transition");
		if (rc < 0)
			goto out;
	}
	st = q->stmt[S_RESULT_PUT];
	bind_text(st, 1, r->agent_id);
	bind_text(st, 2, res->policy_id);
	bind_text(st, 3, res->check_id);
	bind_text(st, 4, res->title);
	bind_text(st, 5, res->category);
	bind_text(st, 6, store_severity_name(res->severity));
	bind_text(st, 7, status);
	bind_text(st, 8, controls);
	bind_text(st, 9, evidence);
	bind_text(st, 10, res->remediation);
	bind_text(st, 11, res->reason);
	sqlite3_bind_int64(st, 12, res->duration_us > INT64_MAX ? INT64_MAX
								 : (int64_t)res->duration_us);
	sqlite3_bind_int64(st, 13, (int64_t)r->seq);
	sqlite3_bind_int64(st, 14, changed_at);
	sqlite3_bind_int64(st, 15, at);
	rc = step_done(q, st, e, "recording a check's latest result");
out:
	free(old_status);
	free(evidence);
	free(controls);
	if (rc < 0)
		pst_err_prefix(e, "check %.200s/%.200s", res->policy_id, res->check_id);
	return rc;
}

/* Store one report that is not yet stored. */
static int put_report(struct sqlite_store *q, const struct store_report *r, struct pst_err *e)
{
	size_t i, count[STORE_NOT_APPLICABLE + 1] = {0};
	/* When a check was seen: the scan's end as the agent measured it;
	 * the collector's clock only when the agent gave none. */
	int64_t at = r->finished_us != 0 ? r->finished_us : r->received_us;
	sqlite3_stmt *st;
	int64_t scan;
	int rc;

	for (i = 0; i < r->nresults; i++)
		count[r->results[i].status]++;

	st = q->stmt[S_HOST_REPORT];
	bind_text(st, 1, r->agent_id);
	bind_facts(st, &r->facts);
	sqlite3_bind_int64(st, 9, r->received_us);
	sqlite3_bind_int64(st, 10, (int64_t)r->seq);
	rc = step_done(q, st, e, "updating the host");
	if (rc < 0)
		return rc;

	st = q->stmt[S_SCAN_INSERT];
	bind_text(st, 1, r->agent_id);
	sqlite3_bind_int64(st, 2, (int64_t)r->seq);
	bind_text(st, 3, r->scan_id);
	sqlite3_bind_int64(st, 4, r->started_us);
	sqlite3_bind_int64(st, 5, r->finished_us);
	sqlite3_bind_int64(st, 6, r->received_us);
	sqlite3_bind_int64(st, 7, (int64_t)count[STORE_PASS]);
	sqlite3_bind_int64(st, 8, (int64_t)count[STORE_FAIL]);
	sqlite3_bind_int64(st, 9, (int64_t)count[STORE_ERROR]);
	sqlite3_bind_int64(st, 10, (int64_t)count[STORE_NOT_APPLICABLE]);
	if (count[STORE_PASS] + count[STORE_FAIL] > 0)
		sqlite3_bind_double(st, 11, 100.0 * (double)count[STORE_PASS] /
						    (double)(count[STORE_PASS] + count[STORE_FAIL]));
	else
		sqlite3_bind_null(st, 11);
	rc = step_done(q, st, e, "recording the scan");
	if (rc < 0)
		return rc;
	scan = sqlite3_last_insert_rowid(q->db);

	rc = put_policies(q, r, scan, e);
	for (i = 0; rc == 0 && i < r->nresults; i++)
		rc = put_result(q, r, &r->results[i], at, e);
	return rc;
}

static int sqlite_put_reports(struct store *s, struct store_report *const *reports, size_t n,
			      bool *duplicate, struct pst_err *e)
{
	struct sqlite_store *q = sq(s);
	size_t i;
	int rc;

	rc = step_done(q, q->stmt[S_BEGIN], e, "starting a transaction");
	if (rc < 0) {
		pst_err_prefix(e, "store %.300s", q->path);
		return rc;
	}
	for (i = 0; i < n; i++) {
		const struct store_report *r = reports[i];
		sqlite3_stmt *st = q->stmt[S_SCAN_EXISTS];

		/* Also finds a report stored earlier in this same batch. */
		bind_text(st, 1, r->agent_id);
		sqlite3_bind_int64(st, 2, (int64_t)r->seq);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			rc = db_fail(q, rc, e, "looking for a stored report");
			goto out;
		}
		duplicate[i] = rc == SQLITE_ROW;
		if (duplicate[i])
			continue;
		rc = put_report(q, r, e);
		if (rc < 0) {
			pst_err_prefix(e, "report %llu of %.200s", (unsigned long long)r->seq,
				       r->agent_id);
			goto out;
		}
	}
	rc = step_done(q, q->stmt[S_COMMIT], e, "committing");
out:
	if (rc < 0) {
		/* A failed COMMIT may leave the transaction open: end it. */
		if (!sqlite3_get_autocommit(q->db))
			step_done(q, q->stmt[S_ROLLBACK], NULL, "rolling back");
		for (i = 0; i < n; i++)
			duplicate[i] = false;
		pst_err_prefix(e, "store %.300s", q->path);
	}
	return rc;
}

/* --- reading --------------------------------------------------------------- */

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static enum store_status status_parse(const char *s)
{
	for (int i = STORE_PASS; i <= STORE_NOT_APPLICABLE; i++)
		if (s != NULL && strcmp(s, store_status_name((enum store_status)i)) == 0)
			return (enum store_status)i;
	return STORE_STATUS_UNKNOWN;
}

static enum store_severity severity_parse(const char *s)
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
	rc = rc == SQLITE_DONE ? 0 : db_fail(q, rc, e, what);
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
		.agent_id = col_text(st, 0),
		.hostname = col_text(st, 1),
		.os_id = col_text(st, 2),
		.os_version = col_text(st, 3),
		.kernel = col_text(st, 4),
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
		rc = db_fail(q, rc, e, "reading hosts");
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
		.policy_id = col_text(st, 0),
		.check_id = col_text(st, 1),
		.title = col_text(st, 2),
		.category = col_text(st, 3),
		.status = status_parse(col_text(st, 4)),
		.severity = severity_parse(col_text(st, 5)),
		.seq = (uint64_t)sqlite3_column_int64(st, 6),
		.changed_us = sqlite3_column_int64(st, 7),
		.evidence_json = col_text(st, 8),
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
		rc = db_fail(q, rc, e, "reading results");
		pst_err_prefix(e, "store %.300s", q->path);
		return rc;
	}
	bind_text(st, 1, agent_id);
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
		rc = query_int(q, sql[i], &v[i], e);
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
	.put_reports = sqlite_put_reports,
	.each_host = sqlite_each_host,
	.each_result = sqlite_each_result,
	.counts = sqlite_counts,
};
