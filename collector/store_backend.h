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
	int (*each_host)(struct store *s, int (*cb)(void *arg, const struct store_host_row *h),
			 void *arg, struct pst_err *e);
	int (*each_result)(struct store *s, const char *agent_id,
			   int (*cb)(void *arg, const struct store_result_row *r), void *arg,
			   struct pst_err *e);
	int (*counts)(struct store *s, struct store_counts *c, struct pst_err *e);
};

/* The head of every backend's handle. */
struct store {
	const struct store_ops *ops;
	char *spec; /* as given to store_open, for messages */
};

extern const struct store_ops store_sqlite_ops;

#endif
