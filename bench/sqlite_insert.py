#!/usr/bin/env python3
"""sqlite_insert.py - the machine's own limit for durable result rows: rows
shaped like the collector's `results` table (same columns, WITHOUT ROWID,
same primary key and index, JSON controls and evidence of realistic size),
upserted in batched transactions with journal_mode=WAL and
synchronous=FULL, as collector/store_sqlite.c runs it.  Prints one line:
rows_per_s=R commits_per_s=C seconds=S.  Python's per-row cost is part of
the figure (about 2-4 us a row here), so the real limit is a little higher.
"""
import argparse
import json
import os
import sqlite3
import time

SCHEMA = """
CREATE TABLE results (
  agent_id TEXT NOT NULL, policy_id TEXT NOT NULL, check_id TEXT NOT NULL,
  title TEXT, category TEXT,
  severity TEXT NOT NULL CHECK (severity IN ('unknown','low','medium','high','critical')),
  status TEXT NOT NULL CHECK (status IN ('unknown','pass','fail','error','not_applicable')),
  controls TEXT NOT NULL, evidence TEXT NOT NULL, remediation TEXT, reason TEXT,
  duration_us INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL,
  changed_at INTEGER NOT NULL, checked_at INTEGER NOT NULL,
  PRIMARY KEY (agent_id, policy_id, check_id)) WITHOUT ROWID;
CREATE INDEX results_status ON results (status, severity);
"""
UPSERT = """INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
 ON CONFLICT (agent_id, policy_id, check_id) DO UPDATE SET status = excluded.status,
 severity = excluded.severity, evidence = excluded.evidence, seq = excluded.seq,
 checked_at = excluded.checked_at"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--batch", type=int, default=25600)
    ap.add_argument("--checks", type=int, default=200)
    a = ap.parse_args()
    path = os.path.join(a.dir, "insert-bench.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    controls = json.dumps({"iso27001": ["A.8.2", "A.8.5"], "cis_debian12": ["5.1.20"]})
    ev = json.dumps([{"subject": "/etc/ssh/sshd_config", "observed": "PermitRootLogin no",
                      "expected": "PermitRootLogin in [no, prohibit-password]",
                      "location": "/etc/ssh/sshd_config:32", "ok": True}] * 2)
    rows = []
    for i in range(a.rows):
        agent, check = divmod(i, a.checks)
        rows.append((f"bench-{agent:05d}", "linux-baseline", f"ssh.permit-root-login.{check:03d}",
                     "SSH refuses root logins", "access_control", "high",
                     "fail" if check % 8 == 3 else "pass", controls, ev,
                     "Set PermitRootLogin no in /etc/ssh/sshd_config and reload sshd.", "",
                     41, 1, 1780000000, 1780000000))
    t0 = time.perf_counter()
    commits = 0
    for off in range(0, len(rows), a.batch):
        db.execute("BEGIN")
        db.executemany(UPSERT, rows[off:off + a.batch])
        db.execute("COMMIT")
        commits += 1
    dt = time.perf_counter() - t0
    db.close()
    print(f"rows_per_s={a.rows / dt:.0f} commits_per_s={commits / dt:.1f} seconds={dt:.2f}")


if __name__ == "__main__":
    main()
