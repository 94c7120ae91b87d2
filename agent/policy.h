/*
 * policy.h - policies: loading, strict validation, and the in-memory form
 * the engine evaluates.
 *
 * A policy is a JSON document (policies/README.md is its reference).  Loading
 * is all or nothing: a syntax error names file:line:column; an unknown key, a
 * wrong type, an unknown probe or operator, a duplicate check id or an
 * undefined variable names the file and the place in the document
 * (`checks[12] "ssh.permit-root-login": rules[0]: unknown key "valu"`), and
 * the whole policy is refused, so a broken check can never let the rest run
 * as if the policy were whole.  Variables are substituted at load time.
 *
 * A policy may extend another ("extends": a path, relative to its own
 * directory): it is the base's checks, with its own id, version and title,
 * its variables overriding the base's (each must exist there, with the same
 * type), and its own checks appended.  That is how an operator sets a
 * shipped policy's variables without editing the shipped file.  A base
 * must not extend another; the SHA-256 is of the base's bytes followed by
 * the extending file's.
 */
#ifndef POSTURE_POLICY_H
#define POSTURE_POLICY_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "probe.h"

/* Largest policy file accepted. */
#define POLICY_MAX_BYTES (8u * 1024 * 1024)
#define POLICY_MAX_CHECKS 10000
#define POLICY_MAX_RULES 64

enum severity {
	SEVERITY_LOW = 1,
	SEVERITY_MEDIUM,
	SEVERITY_HIGH,
	SEVERITY_CRITICAL,
};

enum rule_op {
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN,
	OP_NOT_IN,
	OP_REGEX,
	OP_NOT_REGEX,
	OP_EXISTS,
	OP_ABSENT,
	OP_WITHIN_MASK,
};

enum match_mode {
	MATCH_ALL,
	MATCH_ANY,
	MATCH_NONE,
};

struct rule {
	const struct probe *probe; /* NULL for a variable rule */
	char *variable;    /* a variable rule ({"variable": name}): the name */
	json_t *var_value; /* and its value */
	json_t *params;    /* validated, variables substituted, defaults applied */
	enum rule_op op;
	json_t *expected;  /* NULL for exists / absent */
	bool ignore_case;
	bool count;        /* compare the number of present observations */
	bool has_re;
	regex_t re;        /* regex / not_regex */
	unsigned mask;     /* within_mask */
	char *label;       /* "sshd_config key=PermitRootLogin": what the rule looks at */
};

struct control_map {
	char *framework;   /* "iso27001", "cis_debian12", "nist80053", ... */
	char **ids;
	size_t nids;
};

struct check {
	char *id, *title, *description, *rationale, *remediation, *category;
	enum severity severity;
	struct control_map *controls;
	size_t ncontrols;
	enum match_mode match;
	struct rule *rules;
	size_t nrules;
	struct rule *when;  /* applicable_if: all must pass, else not_applicable */
	size_t nwhen;
};

struct os_match {
	char *id;          /* matches os-release ID or one of ID_LIKE */
	char **versions;   /* VERSION_ID values; none means any */
	size_t nversions;
};

struct policy {
	char *id, *version, *title, *description;
	char *source;               /* the file it was loaded from */
	unsigned char sha256[32];   /* of the file's bytes */
	struct os_match *applies;   /* none means every OS */
	size_t napplies;
	struct check *checks;
	size_t nchecks;
};

/*
 * Load and validate a policy from a file (at most POLICY_MAX_BYTES).  On
 * failure *out is NULL and e holds the message, starting with the file name.
 */
int policy_load_file(const char *path, struct policy **out, struct pst_err *e);

/* The same from a buffer; name stands for the file in messages. */
int policy_load_buffer(const char *name, const char *buf, size_t len,
		       struct policy **out, struct pst_err *e);

void policy_free(struct policy *p);

/* Names for messages and documents ("eq", "high", "any"). */
const char *policy_op_name(enum rule_op op);
const char *policy_severity_name(enum severity s);
const char *policy_match_name(enum match_mode m);

/* The categories a check may name, NULL-terminated. */
extern const char *const policy_categories[];

#endif
