/*
 * readfile.h - read a whole regular file of bounded size, for the files a
 * person hands the daemons (policies, configuration).  Files under a
 * scanned root go through agent/rootfs.h instead.
 */
#ifndef POSTURE_READFILE_H
#define POSTURE_READFILE_H

#include <stddef.h>

#include "err.h"

/*
 * Read path (a regular file of at most max bytes) into a new heap buffer
 * *buf (NUL-terminated, *len bytes before the NUL).  what names the kind
 * of file in messages: "policy t.json: larger than 8388608 bytes".  A file
 * that grows while it is read is refused rather than cut.
 */
int readfile(const char *what, const char *path, size_t max, char **buf, size_t *len,
	     struct pst_err *e);

#endif
