/*
 * probe.h - the probe interface.
 *
 * A probe observes one kind of state through the scanned root and reports
 * what it saw as observations; it never decides pass or fail.  Rules in a
 * policy name a probe, give it parameters and compare its observations with
 * an operator (see policy.h and engine.c).
 *
 * A probe is a table entry: a name (the one policies use), a parameter table
 * (key, type, default, help) from which the policy loader validates rules
 * strictly and the documentation is written, an optional `validate` for what
 * the table cannot say, and `run`.  Adding a probe is adding one file under
 * probes/ and one line in probes.c.
 *
 * Observations: a scalar probe (a config key, a sysctl, a file's mode) adds
 * exactly one observation, whose value is VALUE_ABSENT when the thing is not
 * set or does not exist.  A set probe (accounts with uid 0, world-writable
 * files, NOPASSWD grants) adds one observation per member found, and none
 * when the set is empty.  A probe that cannot read what it needs (permission
 * denied, malformed file, limit reached) fails: `run` returns a negative code
 * and the check's status becomes error with out->reason, never pass.
 */
#ifndef POSTURE_PROBE_H
#define POSTURE_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rootfs.h"
#include "value.h"

enum probe_param_type {
	PARAM_STRING,
	PARAM_INT,
	PARAM_BOOL,
	PARAM_STRING_LIST, /* a JSON array of strings */
};

struct probe_param {
	const char *key;
	enum probe_param_type type;
	bool required;
	/*
	 * Default as JSON text ("\"last\"", "0", "true", "[]"), applied by the
	 * loader when the rule leaves the key out; NULL: no default (the key
	 * then reads as missing and the probe decides).
	 */
	const char *def;
	/* For PARAM_STRING: the accepted values, NULL-terminated; NULL: any. */
	const char *const *choices;
	const char *help;
};

/* Cap on observations from one probe run; reaching it is an error. */
#define PROBE_MAX_OBSERVATIONS 100000

struct observation {
	char *subject;  /* what was examined: a path, an account, a file */
	char *key;      /* what of it was measured: "PermitRootLogin", "mode"; may be NULL */
	char *location; /* "path:line" or "path" as seen inside the root; may be NULL */
	char *note;     /* extra words for a person, e.g. "not set; sshd default"; may be NULL */
	struct value v;
};

struct probe_out {
	struct observation *items;
	size_t n, cap;
	char reason[512]; /* why the probe failed, when run returns < 0 */
};

/*
 * Results that several rules of one scan share, such as one walk of a tree
 * that serves every fsscan selection.  Lives for one scan: the engine makes
 * one when the caller gives none.
 */
struct probe_cache;

struct probe_ctx {
	const struct rootfs *root;
	struct probe_cache *cache; /* may be NULL: nothing is shared */
	/*
	 * The scan's reference time, Unix microseconds: ages are measured
	 * from it, so that every rule of a scan sees the same "now".
	 * engine_scan sets it to the scan's start when the caller leaves 0.
	 */
	int64_t now_us;
	/* Local agent configuration may enable the command probe; unused for now. */
	bool allow_commands;
};

struct probe {
	const char *name;
	const char *summary;   /* one sentence for --help and the policy reference */
	const char *value_doc; /* what an observation's value is */
	const struct probe_param *params; /* terminated by an entry with key NULL */
	/*
	 * Optional: checks that the table cannot express (a regex that must
	 * compile, parameters that go together).  Called at load time with the
	 * parameters after defaults; returns 0 or PST_E_INVAL with a message in
	 * e (the loader prefixes file and place in the document).
	 */
	int (*validate)(const json_t *params, struct pst_err *e);
	/* Observe; see the file comment. */
	int (*run)(const struct probe_ctx *ctx, const json_t *params,
		   struct probe_out *out);
};

/* --- the table (probes.c) --- */

const struct probe *probe_find(const char *name);
/* The probes, in documentation order; *n receives the count. */
const struct probe *const *probe_all(size_t *n);

/* --- parameter access for run() (validated by the loader, so never of a wrong type) --- */

/* String parameter or NULL when absent. Borrowed. */
const char *probe_param_str(const json_t *params, const char *key);
/* Integer parameter or dflt when absent. */
long long probe_param_int(const json_t *params, const char *key, long long dflt);
bool probe_param_bool(const json_t *params, const char *key, bool dflt);
/* Array parameter (of strings) or NULL when absent. Borrowed. */
const json_t *probe_param_list(const json_t *params, const char *key);

/* --- the per-scan cache --- */

struct probe_cache *probe_cache_new(void);
/* Frees every entry with its destructor; NULL is fine. */
void probe_cache_free(struct probe_cache *c);
/* The data stored under key, or NULL. Borrowed. */
void *probe_cache_get(struct probe_cache *c, const char *key);
/*
 * Store data under key (copied); the cache owns data from now on, also on
 * failure, and releases it with destroy.  PST_E_NOMEM.
 */
int probe_cache_put(struct probe_cache *c, const char *key, void *data,
		    void (*destroy)(void *));

/* --- observations --- */

void probe_out_init(struct probe_out *o);
void probe_out_cleanup(struct probe_out *o);

/*
 * Add an observation.  subject and key are copied (either may be NULL);
 * location is "path:line", or "path" when line is 0, or none when path is
 * NULL.  v is taken over, also on failure.  PST_E_LIMIT past
 * PROBE_MAX_OBSERVATIONS, with out->reason set.
 */
int probe_out_add(struct probe_out *o, const char *subject, const char *key,
		  const char *path, unsigned line, struct value v);

/* Attach a note to the last observation added (printf-style). */
int probe_out_note(struct probe_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record why the probe failed and return code (negative), for `return probe_out_fail(...)`. */
int probe_out_fail(struct probe_out *o, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Read a file through the root for a probe: on failure fills out->reason
 * with the path and the cause ("cannot read /etc/shadow: permission denied")
 * and returns the code.  max 0 means ROOTFS_DEFAULT_MAX_READ.
 */
int probe_read_file(const struct probe_ctx *ctx, struct probe_out *o,
		    const char *path, size_t max, char **data, size_t *len);

/*
 * Expand a probe's path parameter: a plain path gives itself, a glob its
 * matches (see rootfs_glob).  Failures fill out->reason ("pattern ...
 * matches too many paths; narrow it").  Free with rootfs_glob_free.
 */
int probe_expand(const struct probe_ctx *ctx, struct probe_out *o, const char *pattern,
		 char ***paths, size_t *n);

/*
 * Read a configuration file that may stand at the top of an include tree.
 * When the top file (from NULL) does not exist, the reason ends with
 * missing_hint, which should say how to skip such hosts ("is sudo
 * installed? ..."); a failure in an included file names the directive that
 * included it (from, "path:line").
 */
int probe_read_config(const struct probe_ctx *ctx, struct probe_out *o, const char *path,
		      const char *from, const char *missing_hint, char **data, size_t *len);

#endif
