/*
 * hostinfo.h - facts about the scanned root: host name, OS, kernel, machine
 * id.  They go into every report and decide policy applicability.  Facts of
 * the running system (kernel, architecture, host name) are taken from
 * uname(2) only when the root is the host's own "/"; for an image they come
 * from its files or stay empty.
 */
#ifndef POSTURE_HOSTINFO_H
#define POSTURE_HOSTINFO_H

#include <stdbool.h>

#include "rootfs.h"

struct hostinfo {
	char hostname[256];
	char os_id[64];
	char os_id_like[256];  /* space-separated, from ID_LIKE */
	char os_version[64];   /* VERSION_ID */
	char os_pretty[256];   /* PRETTY_NAME */
	char kernel[256];
	char machine_id[64];
	char arch[64];
	char root[4096];       /* the root as given on the command line */
};

/* Read the facts.  Missing files leave fields empty; that is not an error. */
void hostinfo_read(struct hostinfo *h, const struct rootfs *r);

/* True when os_id (ID or one of ID_LIKE) and, if versions is non-empty, VERSION_ID match. */
bool hostinfo_os_matches(const struct hostinfo *h, const char *os_id,
			 char *const *versions, size_t nversions);

#endif
