/*
 * store_backend.h - what a store backend provides (private to the store):
 * a table of operations, like curl's TLS backends.  store.c parses the
 * spec, picks the backend and dispatches; each backend embeds struct store
 * as the first member of its own handle.  Only the backend's file includes
 * its database library's header.
 */
#ifndef POSTURE_STORE_BACKEND_H
#define POSTURE_STORE_BACKEND_H

#include "store.h"

struct store_ops {
	const char *name; /* "sqlite" */
	/* target: the spec without its scheme (a path for SQLite). */
	int (*open)(const char *target, struct store **out, struct pst_err *e);
	void (*close)(struct store *s);
	int (*schema_version)(struct store *s);
	void (*set_busy_timeout)(struct store *s, int ms);
	int (*host_hello)(struct store *s, const char *agent_id, const struct store_facts *facts,
			  int64_t now_us, uint64_t *last_seq, struct pst_err *e);
	int (*put_reports)(struct store *s, struct store_report *const *reports, size_t n,
			   bool *duplicate, struct pst_err *e);
	/* store_begin, store_commit, store_rollback (store.h). */
	int (*begin)(struct store *s, struct pst_err *e);
	int (*commit)(struct store *s, struct pst_err *e);
	void (*rollback)(struct store *s);
	int (*each_host)(struct store *s, int (*cb)(void *arg, const struct store_host_row *h),
			 void *arg, struct pst_err *e);
	int (*each_result)(struct store *s, const char *agent_id,
			   int (*cb)(void *arg, const struct store_result_row *r), void *arg,
			   struct pst_err *e);
	int (*counts)(struct store *s, struct store_counts *c, struct pst_err *e);

	/* Schema version 2: metrics, violations, alerts, tokens, enrollments. */
	int (*summary)(struct store *s, const struct store_view *v, json_t **out,
		       struct pst_err *e);
	int (*hosts)(struct store *s, const struct store_view *v, const struct store_host_filter *f,
		     const struct store_page *pg, json_t **out, struct pst_err *e);
	int (*host)(struct store *s, const struct store_view *v, const char *agent_id, json_t **out,
		    struct pst_err *e);
	int (*host_results)(struct store *s, const char *agent_id,
			    const struct store_result_filter *f, const struct store_page *pg,
			    json_t **out, struct pst_err *e);
	int (*violations)(struct store *s, const struct store_view *v,
			  const struct store_violation_filter *f, const struct store_page *pg,
			  json_t **out, struct pst_err *e);
	int (*controls)(struct store *s, const char *framework, json_t **out, struct pst_err *e);
	int (*trend)(struct store *s, const struct store_view *v, uint32_t days, json_t **out,
		     struct pst_err *e);
	int (*metric_rows)(struct store *s, const struct store_view *v,
			   int (*cb)(void *arg, const struct store_metric_row *m), void *arg,
			   struct pst_err *e);
	int (*mark_stale)(struct store *s, const struct store_view *v, size_t *n,
			  struct pst_err *e);
	int (*alerts_due)(struct store *s, int64_t now_us, size_t max, struct store_alert **out,
			  size_t *n, struct pst_err *e);
	int (*alert_logged)(struct store *s, int64_t id, struct pst_err *e);
	int (*alert_delivered)(struct store *s, int64_t id, int64_t now_us, struct pst_err *e);
	int (*alert_failed)(struct store *s, int64_t id, int64_t next_us, const char *error,
			    struct pst_err *e);
	int (*alerts_pending)(struct store *s, uint64_t *n, struct pst_err *e);
	int (*token_add)(struct store *s, const uint8_t hash[32], const struct store_token *t,
			 int64_t *id, struct pst_err *e);
	int (*token_find)(struct store *s, const uint8_t hash[32], int64_t now_us,
			  struct store_token *t, struct pst_err *e);
	int (*token_spend)(struct store *s, const uint8_t hash[32], int64_t now_us,
			   struct store_token *t, struct pst_err *e);
	int (*tokens)(struct store *s, json_t **out, struct pst_err *e);
	int (*token_revoke)(struct store *s, int64_t id, struct pst_err *e);
	int (*enrollment_add)(struct store *s, const char *agent_id, int64_t token_id,
			      const char *cert_sha256_hex, const char *peer, int64_t now_us,
			      struct pst_err *e);
	int (*agent_id_taken)(struct store *s, const char *agent_id, bool *taken,
			      struct pst_err *e);

	/* Schema version 3: evidence snapshots. */
	int (*evidence_begin)(struct store *s, struct store_evidence_head *last,
			      struct pst_err *e);
	int (*evidence_last)(struct store *s, struct store_evidence_head *last,
			     struct pst_err *e);
	int (*evidence_insert)(struct store *s, const struct store_evidence_put *p,
			       struct pst_err *e);
	int (*evidence_list)(struct store *s, const struct store_page *pg, json_t **out,
			     struct pst_err *e);
	int (*evidence_get)(struct store *s, const char *id, char **env, size_t *len,
			    char sha256[65], struct pst_err *e);
};

/* The head of every backend's handle. */
struct store {
	const struct store_ops *ops;
	char *spec; /* as given to store_open, for messages */
};

extern const struct store_ops store_sqlite_ops;

#endif
