/*
 * rootfs.c - resolving and reading paths inside the scanned root.
 *
 * The walk keeps a stack of O_PATH directory handles, one per directory
 * entered, starting with the root's handle; ".." pops the stack and stops at
 * the root, so no path can climb out of it.  Each component is examined with
 * fstatat(AT_SYMLINK_NOFOLLOW) and entered with openat(O_PATH|O_NOFOLLOW|
 * O_DIRECTORY) relative to its parent's handle; a symbolic link is read with
 * readlinkat and its target put in front of the components still to walk
 * (an absolute target first empties the stack back to the root).  The names
 * of the directories on the stack form the canonical path that
 * rootfs_realpath hands out.
 */
#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Directory entries listed by rootfs_list when the caller gives no cap. */
#define ROOTFS_DEFAULT_MAX_LIST 65536u
/* Matches of rootfs_glob when the caller gives no cap. */
#define ROOTFS_DEFAULT_MAX_GLOB 4096u
/* Candidates kept between the components of one glob pattern. */
#define ROOTFS_GLOB_WORK_MAX 65536u
/* First buffer for a file whose size fstat does not tell (/proc, /sys). */
#define ROOTFS_READ_CHUNK 4096u

struct frame {
	int fd;           /* O_PATH directory handle; the root's for frame 0 */
	size_t canon_len; /* length of walk.canon up to this directory */
};

/*
 * State of one walk.  When it succeeds, the top frame is the directory
 * holding the final component `last`; `last` is empty when the path names
 * the top directory itself ("/", "/etc/.", "/etc/x/..").  `st` describes
 * `last` when `have_st` is set; it is clear when `last` does not exist.
 */
struct walk {
	struct frame *frames;
	size_t depth, cap; /* frames[0..depth] are in use */
	char canon[PATH_MAX];
	char last[NAME_MAX + 1];
	bool want_dir; /* the final component was followed by '/' */
	bool have_st;
	struct stat st;
};

static int walk_init(struct walk *w, const struct rootfs *r)
{
	w->cap = 16;
	w->frames = malloc(w->cap * sizeof(*w->frames));
	if (w->frames == NULL)
		return PST_E_NOMEM;
	w->depth = 0;
	w->frames[0].fd = r->dirfd;
	w->frames[0].canon_len = 0;
	w->canon[0] = '\0';
	w->last[0] = '\0';
	w->want_dir = false;
	w->have_st = false;
	return 0;
}

static void walk_pop_to(struct walk *w, size_t depth)
{
	while (w->depth > depth) {
		close(w->frames[w->depth].fd);
		w->depth--;
	}
	w->canon[w->frames[w->depth].canon_len] = '\0';
}

static void walk_cleanup(struct walk *w)
{
	if (w->frames == NULL)
		return;
	walk_pop_to(w, 0);
	free(w->frames);
	w->frames = NULL;
}

static int walk_top(const struct walk *w)
{
	return w->frames[w->depth].fd;
}

/* Push directory handle fd (taken over, also on failure) entered as name. */
static int walk_push(struct walk *w, int fd, const char *name)
{
	size_t clen = w->frames[w->depth].canon_len;
	size_t nlen = strlen(name);

	if (clen + 1 + nlen >= sizeof(w->canon)) {
		close(fd);
		return PST_E_TOOBIG;
	}
	if (w->depth + 1 >= w->cap) {
		struct frame *f = realloc(w->frames, 2 * w->cap * sizeof(*f));
		if (f == NULL) {
			close(fd);
			return PST_E_NOMEM;
		}
		w->frames = f;
		w->cap *= 2;
	}
	w->canon[clen] = '/';
	memcpy(w->canon + clen + 1, name, nlen + 1);
	w->depth++;
	w->frames[w->depth].fd = fd;
	w->frames[w->depth].canon_len = clen + 1 + nlen;
	return 0;
}

/*
 * Replace the component of rest that ends at `end` and everything before it
 * with the link target read from (dirfd, name).
 */
static int splice_link(int dirfd, const char *name, char *rest, size_t end,
		       bool *absolute)
{
	char target[PATH_MAX];
	char tail[PATH_MAX];
	ssize_t n;
	size_t tlen;

	*absolute = false;
	n = readlinkat(dirfd, name, target, sizeof(target));
	if (n < 0)
		return pst_from_errno(errno);
	if ((size_t)n >= sizeof(target))
		return PST_E_TOOBIG;
	if (n == 0)
		return PST_E_NOENT;
	tlen = strlen(rest + end);
	if ((size_t)n + tlen >= PATH_MAX)
		return PST_E_TOOBIG;
	memcpy(tail, rest + end, tlen + 1);
	memcpy(rest, target, (size_t)n);
	memcpy(rest + n, tail, tlen + 1);
	*absolute = target[0] == '/';
	return 0;
}

/* Resolve path inside the root up to its final component; see struct walk. */
static int walk_path(struct walk *w, const char *path, bool follow_last)
{
	char rest[PATH_MAX];
	size_t pos = 0, len;
	unsigned links = 0;

	len = strlen(path);
	if (len >= sizeof(rest))
		return PST_E_TOOBIG;
	memcpy(rest, path, len + 1);

	for (;;) {
		size_t start, end, after, clen;
		bool final, trailing, absolute = false;
		char name[NAME_MAX + 1];
		struct stat st;
		int fd, rc;

		while (rest[pos] == '/')
			pos++;
		if (rest[pos] == '\0') {
			/* The path names the directory on top of the stack. */
			w->last[0] = '\0';
			w->have_st = false;
			return 0;
		}
		start = pos;
		end = start;
		while (rest[end] != '\0' && rest[end] != '/')
			end++;
		after = end;
		while (rest[after] == '/')
			after++;
		final = rest[after] == '\0';
		trailing = end != after;
		clen = end - start;
		if (clen > NAME_MAX)
			return PST_E_TOOBIG;
		memcpy(name, rest + start, clen);
		name[clen] = '\0';
		pos = after;

		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (w->depth > 0)
				walk_pop_to(w, w->depth - 1);
			continue;
		}
		if (fstatat(walk_top(w), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && final) {
				/* Let the caller decide what a missing leaf means. */
				memcpy(w->last, name, clen + 1);
				w->have_st = false;
				w->want_dir = trailing;
				return 0;
			}
			return pst_from_errno(errno);
		}
		if (S_ISLNK(st.st_mode) && (!final || follow_last || trailing)) {
			if (++links > ROOTFS_MAX_LINKS)
				return PST_E_LOOP;
			rc = splice_link(walk_top(w), name, rest, end, &absolute);
			if (rc < 0)
				return rc;
			if (absolute)
				walk_pop_to(w, 0);
			pos = 0;
			continue;
		}
		if (final) {
			if (trailing && !S_ISDIR(st.st_mode))
				return PST_E_NOTDIR;
			memcpy(w->last, name, clen + 1);
			w->st = st;
			w->have_st = true;
			w->want_dir = trailing;
			return 0;
		}
		if (!S_ISDIR(st.st_mode))
			return PST_E_NOTDIR;
		fd = openat(walk_top(w), name,
			    O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return pst_from_errno(errno);
		rc = walk_push(w, fd, name);
		if (rc < 0)
			return rc;
	}
}

int rootfs_open(struct rootfs *r, const char *path, struct pst_err *e)
{
	int err;

	r->dirfd = -1;
	r->path = NULL;
	r->dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		err = errno;
		return pst_err_set(e, pst_from_errno(err),
				   "cannot open root directory %s: %s", path,
				   strerror(err));
	}
	r->path = strdup(path);
	if (r->path == NULL) {
		close(r->dirfd);
		r->dirfd = -1;
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	return 0;
}

void rootfs_close(struct rootfs *r)
{
	if (r == NULL)
		return;
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
	free(r->path);
	r->path = NULL;
}

/* Open the final component of a finished walk. */
static int walk_open_last(const struct walk *w, int flags, int *fd)
{
	const char *name = w->last[0] != '\0' ? w->last : ".";

	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (w->want_dir)
		flags |= O_DIRECTORY;
	*fd = openat(walk_top(w), name, flags);
	if (*fd < 0)
		return pst_from_errno(errno);
	return 0;
}

int rootfs_openat(const struct rootfs *r, const char *path, int flags,
		  bool follow_last, int *fd)
{
	struct walk w = {0};
	int rc;

	*fd = -1;
	rc = walk_init(&w, r);
	if (rc < 0)
		goto out;
	rc = walk_path(&w, path, follow_last);
	if (rc < 0)
		goto out;
	rc = walk_open_last(&w, flags, fd);
out:
	walk_cleanup(&w);
	return rc;
}

int rootfs_stat(const struct rootfs *r, const char *path, bool follow_last,
		struct stat *st)
{
	struct walk w = {0};
	int rc;

	memset(st, 0, sizeof(*st));
	rc = walk_init(&w, r);
	if (rc < 0)
		goto out;
	rc = walk_path(&w, path, follow_last);
	if (rc < 0)
		goto out;
	if (w.last[0] == '\0') {
		if (fstat(walk_top(&w), st) < 0)
			rc = pst_from_errno(errno);
	} else if (!w.have_st) {
		rc = PST_E_NOENT;
	} else {
		*st = w.st;
	}
out:
	walk_cleanup(&w);
	return rc;
}

int rootfs_realpath(const struct rootfs *r, const char *path, char **out)
{
	struct walk w = {0};
	size_t clen, llen;
	int rc;

	*out = NULL;
	rc = walk_init(&w, r);
	if (rc < 0)
		goto out;
	rc = walk_path(&w, path, true);
	if (rc < 0)
		goto out;
	if (w.last[0] != '\0' && !w.have_st) {
		rc = PST_E_NOENT;
		goto out;
	}
	clen = strlen(w.canon);
	llen = strlen(w.last);
	if (clen + 1 + llen >= PATH_MAX) {
		rc = PST_E_TOOBIG;
		goto out;
	}
	*out = malloc(clen + llen + 2);
	if (*out == NULL) {
		rc = PST_E_NOMEM;
		goto out;
	}
	memcpy(*out, w.canon, clen);
	if (llen > 0 || clen == 0) {
		(*out)[clen] = '/';
		memcpy(*out + clen + 1, w.last, llen + 1);
	} else {
		(*out)[clen] = '\0';
	}
out:
	walk_cleanup(&w);
	return rc;
}

/* read(2) that retries when interrupted. */
static ssize_t read_retry(int fd, void *buf, size_t n)
{
	ssize_t got;

	do
		got = read(fd, buf, n);
	while (got < 0 && errno == EINTR);
	return got;
}

int rootfs_read(const struct rootfs *r, const char *path, size_t max,
		char **data, size_t *len)
{
	struct walk w = {0};
	struct stat st;
	char *buf = NULL;
	size_t have = 0, cap, limit;
	int fd = -1, rc;

	*data = NULL;
	*len = 0;
	if (max == 0)
		max = ROOTFS_DEFAULT_MAX_READ;
	if (max > SIZE_MAX / 4)
		max = SIZE_MAX / 4;
	rc = walk_init(&w, r);
	if (rc < 0)
		goto out;
	rc = walk_path(&w, path, true);
	if (rc < 0)
		goto out;
	/*
	 * Refuse what is not a regular file before opening it: opening a FIFO
	 * would block, opening a device may have side effects.
	 */
	if (w.last[0] == '\0') {
		rc = PST_E_INVAL;
		goto out;
	}
	if (!w.have_st) {
		rc = PST_E_NOENT;
		goto out;
	}
	if (!S_ISREG(w.st.st_mode)) {
		rc = PST_E_INVAL;
		goto out;
	}
	rc = walk_open_last(&w, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);
	if (rc < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		rc = pst_from_errno(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = PST_E_INVAL;
		goto out;
	}
	if ((uintmax_t)st.st_size > (uintmax_t)max) {
		rc = PST_E_TOOBIG;
		goto out;
	}

	/* Reading max + 1 bytes proves the file is over the cap (it may grow). */
	limit = max + 1;
	cap = (size_t)st.st_size + 1;
	if (cap < ROOTFS_READ_CHUNK)
		cap = ROOTFS_READ_CHUNK;
	if (cap > limit)
		cap = limit;
	buf = malloc(cap + 1);
	if (buf == NULL) {
		rc = PST_E_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t got;

		if (have == cap) {
			char *nbuf;
			size_t ncap;

			if (cap == limit) {
				rc = PST_E_TOOBIG;
				goto out;
			}
			ncap = cap > limit / 2 ? limit : cap * 2;
			nbuf = realloc(buf, ncap + 1);
			if (nbuf == NULL) {
				rc = PST_E_NOMEM;
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		got = read_retry(fd, buf + have, cap - have);
		if (got < 0) {
			rc = pst_from_errno(errno);
			goto out;
		}
		if (got == 0)
			break;
		have += (size_t)got;
	}
	buf[have] = '\0';
	*data = buf;
	*len = have;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	walk_cleanup(&w);
	return rc;
}

bool rootfs_has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* A growable list of heap strings, capped. */
struct strlist {
	char **v;
	size_t n, cap;
};

static void strlist_free(struct strlist *l)
{
	rootfs_glob_free(l->v, l->n);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Append a copy of the joined a "/" b (b may be NULL); PST_E_LIMIT past max. */
static int strlist_add(struct strlist *l, const char *a, const char *b,
		       size_t max)
{
	size_t alen = strlen(a), blen = b != NULL ? strlen(b) : 0;
	char *s;

	if (l->n >= max)
		return PST_E_LIMIT;
	if (alen + 1 + blen >= PATH_MAX)
		return PST_E_TOOBIG;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 16;
		char **nv = realloc(l->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return PST_E_NOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	s = malloc(alen + blen + 2);
	if (s == NULL)
		return PST_E_NOMEM;
	memcpy(s, a, alen);
	if (b != NULL) {
		s[alen] = '/';
		memcpy(s + alen + 1, b, blen + 1);
	} else {
		s[alen] = '\0';
	}
	l->v[l->n++] = s;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void rootfs_glob_free(char **paths, size_t n)
{
	size_t i;

	if (paths == NULL)
		return;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int rootfs_list(const struct rootfs *r, const char *dir, size_t max_entries,
		char ***names, size_t *n)
{
	struct strlist l = {0};
	DIR *d = NULL;
	struct dirent *de;
	int fd = -1, rc;

	*names = NULL;
	*n = 0;
	if (max_entries == 0)
		max_entries = ROOTFS_DEFAULT_MAX_LIST;
	rc = rootfs_openat(r, dir, O_RDONLY | O_DIRECTORY, true, &fd);
	if (rc < 0)
		goto out;
	d = fdopendir(fd);
	if (d == NULL) {
		rc = pst_from_errno(errno);
		goto out;
	}
	fd = -1; /* owned by d now */
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0) {
				rc = pst_from_errno(errno);
				goto out;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = strlist_add(&l, de->d_name, NULL, max_entries);
		if (rc < 0)
			goto out;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	*names = l.v;
	*n = l.n;
	l.v = NULL;
	l.n = 0;
	rc = 0;
out:
	strlist_free(&l);
	if (d != NULL)
		closedir(d);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Expand one pattern component against every candidate of cur into next. */
static int glob_step(const struct rootfs *r, const struct strlist *cur,
		     const char *comp, size_t max, struct strlist *next)
{
	bool wild = rootfs_has_glob(comp);
	size_t i, j;
	int rc = 0;

	for (i = 0; i < cur->n; i++) {
		char **names = NULL;
		size_t nn = 0;

		if (!wild) {
			rc = strlist_add(next, cur->v[i], comp, max);
			if (rc < 0)
				return rc;
			continue;
		}
		rc = rootfs_list(r, cur->v[i][0] != '\0' ? cur->v[i] : "/", 0,
				 &names, &nn);
		if (rc == PST_E_NOENT || rc == PST_E_NOTDIR)
			continue; /* not there or not a directory: no match */
		if (rc < 0)
			return rc;
		for (j = 0; j < nn && rc == 0; j++) {
			if (fnmatch(comp, names[j], FNM_PERIOD) == 0)
				rc = strlist_add(next, cur->v[i], names[j], max);
		}
		rootfs_glob_free(names, nn);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int rootfs_glob(const struct rootfs *r, const char *pattern,
		size_t max_matches, char ***paths, size_t *n)
{
	struct strlist cur = {0}, next = {0};
	char comp[PATH_MAX];
	const char *p = pattern;
	bool last_wild = false, trailing;
	size_t i, keep;
	int rc;

	*paths = NULL;
	*n = 0;
	if (max_matches == 0)
		max_matches = ROOTFS_DEFAULT_MAX_GLOB;
	if (strlen(pattern) >= PATH_MAX)
		return PST_E_TOOBIG;
	trailing = pattern[0] != '\0' && pattern[strlen(pattern) - 1] == '/';
	/* The root is the empty prefix, so that joining gives "/etc". */
	rc = strlist_add(&cur, "", NULL, 1);
	if (rc < 0)
		goto out;
	for (;;) {
		size_t clen;

		while (*p == '/')
			p++;
		if (*p == '\0' || cur.n == 0)
			break;
		clen = strcspn(p, "/");
		memcpy(comp, p, clen);
		comp[clen] = '\0';
		p += clen;
		last_wild = rootfs_has_glob(comp);
		rc = glob_step(r, &cur, comp, ROOTFS_GLOB_WORK_MAX, &next);
		if (rc < 0)
			goto out;
		strlist_free(&cur);
		cur = next;
		memset(&next, 0, sizeof(next));
	}
	/* The root itself. */
	if (cur.n == 1 && cur.v[0][0] == '\0') {
		free(cur.v[0]);
		cur.v[0] = strdup("/");
		if (cur.v[0] == NULL) {
			cur.n = 0;
			rc = PST_E_NOMEM;
			goto out;
		}
	}
	/*
	 * Names from a listing exist; a literal last component must be
	 * checked, and a trailing '/' keeps only directories, as glob(3).
	 */
	keep = 0;
	for (i = 0; i < cur.n; i++) {
		char *s = cur.v[i];
		struct stat st;
		bool ok = true;

		cur.v[i] = NULL;
		if (!last_wild || trailing) {
			rc = rootfs_stat(r, s, trailing, &st);
			if (rc == 0) {
				ok = !trailing || S_ISDIR(st.st_mode);
			} else if (rc == PST_E_NOENT || rc == PST_E_NOTDIR ||
				   rc == PST_E_LOOP) {
				ok = false; /* missing or dangling: no match */
			} else {
				free(s);
				goto out;
			}
		}
		if (ok && trailing && strcmp(s, "/") != 0) {
			size_t l = strlen(s);
			char *t = realloc(s, l + 2);
			if (t == NULL) {
				free(s);
				rc = PST_E_NOMEM;
				goto out;
			}
			t[l] = '/';
			t[l + 1] = '\0';
			s = t;
		}
		if (ok)
			cur.v[keep++] = s;
		else
			free(s);
	}
	cur.n = keep;
	rc = 0;
	if (cur.n > max_matches) {
		rc = PST_E_LIMIT;
		goto out;
	}
	if (cur.n > 1)
		qsort(cur.v, cur.n, sizeof(*cur.v), cmp_str);
	*paths = cur.v;
	*n = cur.n;
	cur.v = NULL;
	cur.n = 0;
out:
	strlist_free(&next);
	strlist_free(&cur);
	return rc;
}

const char *rootfs_strerror(int code)
{
	if (code == PST_E_ACCES)
		return "permission denied; run the agent as root or with CAP_DAC_READ_SEARCH";
	return pst_strerror(code);
}
