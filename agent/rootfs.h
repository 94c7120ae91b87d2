/*
 * rootfs.h - reading files through the scanned root.
 *
 * Every probe reads the host through a `struct rootfs`: a directory handle on
 * the root being scanned ("/" for the host itself, or a mounted image).  Paths
 * are given as seen inside that root ("/etc/shadow").  Symbolic links are
 * resolved component by component, relative to the root's handle, so a link
 * can never lead out of the root: an absolute target restarts at the root and
 * ".." stops at it, as in a chroot.  Each step opens the next component with
 * O_NOFOLLOW, so a link swapped in during the walk is refused, not followed.
 */
#ifndef POSTURE_ROOTFS_H
#define POSTURE_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "err.h"

/* Ceiling on one file read through the root unless a caller asks for less. */
#define ROOTFS_DEFAULT_MAX_READ (16u * 1024 * 1024)
/* Symbolic links followed while resolving one path. */
#define ROOTFS_MAX_LINKS 40

struct rootfs {
	int dirfd;    /* O_PATH|O_DIRECTORY handle on the root */
	char *path;   /* the root as given, for messages */
};

/* Open the root directory at path (a host path). */
int rootfs_open(struct rootfs *r, const char *path, struct pst_err *e);
void rootfs_close(struct rootfs *r);

/*
 * Open path (absolute, inside the root; a relative path is taken from the
 * root too) with open(2) flags, resolving links inside the root.  The final
 * open always adds O_NOFOLLOW|O_CLOEXEC.  follow_last = false leaves a final
 * symlink unresolved: with O_PATH in flags *fd is the link itself, with other
 * flags the open fails with PST_E_LOOP.  Returns 0 and *fd, or a PST_E_* code
 * (NOENT, ACCES, LOOP, NOTDIR, SYS, TOOBIG for an over-long path).
 */
int rootfs_openat(const struct rootfs *r, const char *path, int flags,
		  bool follow_last, int *fd);

/* stat(2) (follow_last) or lstat(2) of a path inside the root. */
int rootfs_stat(const struct rootfs *r, const char *path, bool follow_last,
		struct stat *st);

/*
 * The path a link-free walk would reach: "/etc/alternatives/x" may come back
 * as "/usr/bin/x".  *out is a heap string the caller frees.
 */
int rootfs_realpath(const struct rootfs *r, const char *path, char **out);

/*
 * Read a whole regular file into a NUL-terminated heap buffer (*data, *len
 * excluding the terminator).  PST_E_TOOBIG when it exceeds max bytes (0 means
 * ROOTFS_DEFAULT_MAX_READ); PST_E_INVAL when it is not a regular file.
 */
int rootfs_read(const struct rootfs *r, const char *path, size_t max,
		char **data, size_t *len);

/*
 * Expand a glob pattern (fnmatch syntax in any component, no brace or tilde
 * expansion; a leading dot is matched only explicitly) inside the root.  The
 * matches are absolute paths inside the root, sorted bytewise like glob(3);
 * no match is success with *n = 0.  At most max_matches results (0: 4096),
 * else PST_E_LIMIT.  Free with rootfs_glob_free.
 */
int rootfs_glob(const struct rootfs *r, const char *pattern,
		size_t max_matches, char ***paths, size_t *n);
void rootfs_glob_free(char **paths, size_t n);

/*
 * Why a rootfs call failed, for a person: pst_strerror's text, with what to
 * do added where there is something to do (permission denied: run the
 * agent as root or with CAP_DAC_READ_SEARCH).  Static; never NULL.
 */
const char *rootfs_strerror(int code);

/* True when s holds glob metacharacters (*, ?, [). */
bool rootfs_has_glob(const char *s);

/*
 * List the names in a directory inside the root (without "." and ".."),
 * sorted; at most max_entries (0: 65536), else PST_E_LIMIT.  Free with
 * rootfs_glob_free.
 */
int rootfs_list(const struct rootfs *r, const char *dir, size_t max_entries,
		char ***names, size_t *n);

#endif
