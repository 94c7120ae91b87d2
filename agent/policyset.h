/*
 * policyset.h - the policies a scan evaluates, from the paths an operator
 * gives (`scan --policy`, agent.json "policies"): a file, or a directory
 * whose *.json files are loaded in name order.
 */
#ifndef POSTURE_POLICYSET_H
#define POSTURE_POLICYSET_H

#include <stddef.h>

#include "err.h"
#include "policy.h"

#define POLICYSET_MAX 256

struct policyset {
	struct policy *p[POLICYSET_MAX];
	size_t n;
};

/* Empty set. */
void policyset_init(struct policyset *s);

/*
 * Load the policy at path, or every *.json in the directory at path, into
 * s.  A directory without policies is an error (PST_E_NOENT), as is more
 * than POLICYSET_MAX policies (PST_E_LIMIT).  On failure what was loaded
 * before stays in s.
 */
int policyset_add(struct policyset *s, const char *path, struct pst_err *e);

void policyset_cleanup(struct policyset *s);

#endif
