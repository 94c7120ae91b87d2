/*
 * spool.c - the durable report queue of spool.h.
 *
 * The in-memory index (seq, bytes, status digest per file) mirrors the
 * directory; the directory is the truth and is read back whole at start-up.
 * Every change goes to disk first (temp file, fsync, rename, directory
 * fsync) and to the index after, so a crash at any point leaves either the
 * old or the new state, never a half-written report under a final name.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "hex.h"
#include "log.h"
#include "strbuf.h"

#define STATE_NAME "state"
#define STATE_MAX 512
#define TMP_PREFIX ".tmp."
#define FRAME_SUFFIX ".frame"
#define SEQ_DIGITS 20
#define NAME_LEN (SEQ_DIGITS + sizeof(FRAME_SUFFIX) - 1)
#define DIGEST_LEN 32

struct spool_entry {
	uint64_t seq;
	uint64_t bytes;  /* file size: length prefix and payload */
	unsigned char status[DIGEST_LEN];
};

struct spool {
	char *dir;
	int dirfd;
	uint64_t max_bytes, total_bytes;
	uint64_t last_seq, acked;
	bool have_acked_status;
	unsigned char acked_status[DIGEST_LEN];
	struct spool_entry *ents;  /* ascending seq */
	size_t n, cap;
};

static void seq_name(uint64_t seq, char *buf, size_t cap)
{
	snprintf(buf, cap, "%0*" PRIu64 "%s", SEQ_DIGITS, seq, FRAME_SUFFIX);
}

/* The seq of a report file name; false for any other name. */
static bool parse_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;
	size_t i;

	if (strlen(name) != NAME_LEN || strcmp(name + SEQ_DIGITS, FRAME_SUFFIX) != 0)
		return false;
	for (i = 0; i < SEQ_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*seq = v;
	return true;
}

static int sys_err(struct spool *sp, struct pst_err *e, const char *what, const char *name)
{
	int err = errno;

	return pst_err_set(e, pst_from_errno(err), "spool %s: %s %s: %s", sp->dir, what, name,
			   strerror(err));
}

static int sync_dir(struct spool *sp, struct pst_err *e)
{
	if (fsync(sp->dirfd) != 0)
		return sys_err(sp, e, "fsync of the directory", "");
	return 0;
}

/* Write name atomically and durably in the spool directory (mode 0600). */
static int write_atomic(struct spool *sp, const char *name, const void *data, size_t len,
			struct pst_err *e)
{
	char tmp[NAME_MAX + 1];
	const uint8_t *p = data;
	size_t done = 0;
	ssize_t k;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s%s", TMP_PREFIX, name);
	fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sys_err(sp, e, "cannot create", tmp);
	while (done < len) {
		k = write(fd, p + done, len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = sys_err(sp, e, "cannot write", tmp);
			goto fail;
		}
		done += (size_t)k;
	}
	if (fsync(fd) != 0) {
		rc = sys_err(sp, e, "cannot fsync", tmp);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = sys_err(sp, e, "cannot close", tmp);
		goto fail;
	}
	fd = -1;
	if (renameat(sp->dirfd, tmp, sp->dirfd, name) != 0) {
		rc = sys_err(sp, e, "cannot rename into place", name);
		goto fail;
	}
	return sync_dir(sp, e);
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(sp->dirfd, tmp, 0);
	return rc;
}

static int unhex(const char *s, size_t slen, unsigned char *out, size_t n)
{
	if (slen != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0'
			: s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return 0;
}

static int save_state(struct spool *sp, struct pst_err *e)
{
	char buf[STATE_MAX], digest[2 * DIGEST_LEN + 1];
	int n;

	if (sp->have_acked_status)
		hex_encode(sp->acked_status, DIGEST_LEN, digest);
	else
		snprintf(digest, sizeof(digest), "-");
	n = snprintf(buf, sizeof(buf), "seq %" PRIu64 "\nacked %" PRIu64 "\nacked_status %s\n",
		     sp->last_seq, sp->acked, digest);
	return write_atomic(sp, STATE_NAME, buf, (size_t)n, e);
}

/* Parse "NAME VALUE\n" at *p; advance past it. */
static int state_field(const char **p, const char *end, const char *key, const char **val,
		       size_t *vlen)
{
	size_t klen = strlen(key);
	const char *nl;

	if ((size_t)(end - *p) < klen + 1 || memcmp(*p, key, klen) != 0 || (*p)[klen] != ' ')
		return -1;
	*p += klen + 1;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL || nl == *p)
		return -1;
	*val = *p;
	*vlen = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* 0 parsed, 1 absent, -1 malformed. */
static int load_state(struct spool *sp)
{
	char buf[STATE_MAX];
	const char *p = buf, *end, *v;
	size_t len = 0, vlen;
	ssize_t k;
	int fd;

	fd = openat(sp->dirfd, STATE_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	while (len < sizeof(buf)) {
		k = read(fd, buf + len, sizeof(buf) - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	if (len == sizeof(buf))
		return -1;
	end = buf + len;
	if (state_field(&p, end, "seq", &v, &vlen) != 0 || parse_u64(v, vlen, &sp->last_seq) != 0 ||
	    state_field(&p, end, "acked", &v, &vlen) != 0 || parse_u64(v, vlen, &sp->acked) != 0 ||
	    state_field(&p, end, "acked_status", &v, &vlen) != 0 || p != end ||
	    sp->acked > sp->last_seq)
		return -1;
	sp->have_acked_status = !(vlen == 1 && v[0] == '-');
	if (sp->have_acked_status && unhex(v, vlen, sp->acked_status, DIGEST_LEN) != 0)
		return -1;
	return 0;
}

/* Move name into the subdirectory sub (made 0700 when missing), keeping it for a person. */
static int move_aside(struct spool *sp, const char *sub, const char *name, struct pst_err *e)
{
	char target[NAME_MAX + 1];
	int subfd, rc = 0;

	if (mkdirat(sp->dirfd, sub, 0700) != 0 && errno != EEXIST)
		return sys_err(sp, e, "cannot create", sub);
	subfd = openat(sp->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (subfd < 0)
		return sys_err(sp, e, "cannot open", sub);
	/* Never overwrite what an earlier start-up kept. */
	snprintf(target, sizeof(target), "%s", name);
	for (unsigned i = 1; faccessat(subfd, target, F_OK, AT_SYMLINK_NOFOLLOW) == 0 && i < 1000; i++)
		snprintf(target, sizeof(target), "%.200s.%u", name, i);
	if (renameat(sp->dirfd, name, subfd, target) != 0) {
		rc = sys_err(sp, e, "cannot move aside", name);
	} else if (fsync(subfd) != 0) {
		rc = sys_err(sp, e, "fsync of", sub);
	}
	close(subfd);
	return rc ? rc : sync_dir(sp, e);
}

static void status_digest(const Posture__V1__Report *r, unsigned char out[DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = DIGEST_LEN;

	memset(out, 0, DIGEST_LEN);
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < r->n_results; i++) {
		const Posture__V1__CheckResult *c = r->results[i];
		unsigned char st = (unsigned char)c->status;

		EVP_DigestUpdate(ctx, c->policy_id, strlen(c->policy_id) + 1);
		EVP_DigestUpdate(ctx, c->check_id, strlen(c->check_id) + 1);
		EVP_DigestUpdate(ctx, &st, 1);
	}
	EVP_DigestFinal_ex(ctx, out, &n);
out:
	EVP_MD_CTX_free(ctx);
}

static int add_entry(struct spool *sp, const struct spool_entry *ent)
{
	if (sp->n == sp->cap) {
		size_t ncap = sp->cap ? sp->cap * 2 : 64;
		struct spool_entry *ne = realloc(sp->ents, ncap * sizeof(*ne));

		if (ne == NULL)
			return PST_E_NOMEM;
		sp->ents = ne;
		sp->cap = ncap;
	}
	sp->ents[sp->n++] = *ent;
	sp->total_bytes += ent->bytes;
	return 0;
}

/*
 * Read back one report file: exactly one frame holding a Report whose seq
 * is the file's.  NULL on success, else why it is unusable.
 */
static const char *check_file(struct spool *sp, const char *name, uint64_t seq,
			      struct spool_entry *ent)
{
	Posture__V1__Envelope *env = NULL;
	struct stat st;
	const char *why = NULL;
	uint8_t extra;
	int fd, rc;

	fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return "cannot be opened";
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		why = "is not a regular file";
		goto out;
	}
	rc = frame_read_fd(fd, SPOOL_MAX_FRAME, &env);
	if (rc == 1 || rc == PST_E_TRUNC)
		why = "is truncated";
	else if (rc != 0)
		why = "does not hold a frame that decodes";
	else if (read(fd, &extra, 1) != 0)
		why = "has bytes after its frame";
	else if (env->body_case != POSTURE__V1__ENVELOPE__BODY_REPORT)
		why = "holds no Report";
	else if (env->report->seq != seq)
		why = "holds a Report with another sequence number than its name";
	if (why == NULL) {
		ent->seq = seq;
		ent->bytes = (uint64_t)st.st_size;
		status_digest(env->report, ent->status);
	}
out:
	frame_envelope_free(env);
	close(fd);
	return why;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int recover(struct spool *sp, struct pst_err *e)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = dup(sp->dirfd);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return sys_err(sp, e, "cannot list", "");
	}
	while ((de = readdir(d)) != NULL) {
		struct spool_entry ent;
		const char *why;
		uint64_t seq;

		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
			/* A write interrupted before its rename: never a spooled report. */
			log_info("spool %s: removing %s, left by an interrupted write", sp->dir,
				 de->d_name);
			if (unlinkat(sp->dirfd, de->d_name, 0) != 0) {
				rc = sys_err(sp, e, "cannot remove", de->d_name);
				break;
			}
			continue;
		}
		if (!parse_name(de->d_name, &seq))
			continue;
		why = check_file(sp, de->d_name, seq, &ent);
		if (why != NULL) {
			log_error("spool %s: report file %s %s; moved to %s/corrupt/ for "
				  "inspection, its report will not be sent",
				  sp->dir, de->d_name, why, sp->dir);
			if ((rc = move_aside(sp, "corrupt", de->d_name, e)) != 0)
				break;
			continue;
		}
		if ((rc = add_entry(sp, &ent)) != 0) {
			pst_err_set(e, rc, "out of memory");
			break;
		}
	}
	closedir(d);
	if (rc != 0)
		return rc;
	if (sp->n > 0)
		qsort(sp->ents, sp->n, sizeof(*sp->ents), cmp_entry);
	return sync_dir(sp, e);
}

/* Delete the files of entries [0, k) and drop them from the index. */
static int drop_prefix(struct spool *sp, size_t k, struct pst_err *e)
{
	char name[NAME_MAX + 1];
	size_t i;
	int rc = 0;

	if (k == 0)
		return 0;
	for (i = 0; i < k; i++) {
		seq_name(sp->ents[i].seq, name, sizeof(name));
		if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT) {
			rc = sys_err(sp, e, "cannot delete", name);
			break;
		}
		sp->total_bytes -= sp->ents[i].bytes;
	}
	/* The index keeps exactly the files not deleted. */
	memmove(sp->ents, sp->ents + i, (sp->n - i) * sizeof(*sp->ents));
	sp->n -= i;
	if (rc != 0)
		return rc;
	return sync_dir(sp, e);
}

static size_t count_upto(const struct spool *sp, uint64_t seq)
{
	size_t k = 0;

	while (k < sp->n && sp->ents[k].seq <= seq)
		k++;
	return k;
}

static void sync_parent(const char *dir)
{
	char *copy = strdup(dir), *slash;
	int fd;

	if (copy == NULL)
		return;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	fd = open(slash != NULL ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) != 0)
			log_warn("spool %s: fsync of its parent directory: %s", dir, strerror(errno));
		close(fd);
	}
	free(copy);
}

int spool_open(const char *dir, uint64_t max_bytes, struct spool **out, struct pst_err *e)
{
	struct spool *sp;
	struct stat st;
	int rc, st_rc;
	bool dirty = false;

	*out = NULL;
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL || (sp->dir = strdup(dir)) == NULL) {
		free(sp);
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	sp->dirfd = -1;
	sp->max_bytes = max_bytes;
	if (mkdir(dir, 0700) == 0) {
		/* The new directory's name must survive a power loss as well. */
		sync_parent(dir);
	} else if (errno != EEXIST) {
		rc = pst_err_set(e, pst_from_errno(errno),
				 "spool %s: cannot create: %s (its parent must exist and be "
				 "writable by the agent's user)",
				 dir, strerror(errno));
		goto fail;
	}
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		rc = pst_err_set(e, pst_from_errno(errno), "spool %s: cannot open: %s", dir,
				 strerror(errno));
		goto fail;
	}
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) != 0) {
		rc = pst_err_set(e, PST_E_LIMIT,
				 "spool %s: in use by another posture-agent (%s); give each agent "
				 "its own spool_dir",
				 dir, strerror(errno));
		goto fail;
	}
	if (fstat(sp->dirfd, &st) != 0) {
		rc = sys_err(sp, e, "cannot stat", "");
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		log_warn("spool %s: was mode %04o, open to group or others; narrowing it to 0700",
			 dir, (unsigned)(st.st_mode & 07777));
		if (fchmod(sp->dirfd, 0700) != 0) {
			rc = sys_err(sp, e, "cannot chmod 0700", "");
			goto fail;
		}
	}
	st_rc = load_state(sp);
	if (st_rc < 0) {
		log_error("spool %s: state file is damaged; moved to %s/corrupt/, the sequence "
			  "counter restarts from the spooled reports and the collector's HelloAck",
			  dir, dir);
		sp->last_seq = sp->acked = 0;
		sp->have_acked_status = false;
		if ((rc = move_aside(sp, "corrupt", STATE_NAME, e)) != 0)
			goto fail;
		dirty = true;
	} else if (st_rc > 0) {
		dirty = true;
	}
	if ((rc = recover(sp, e)) != 0)
		goto fail;
	if (sp->n > 0 && sp->ents[sp->n - 1].seq > sp->last_seq) {
		sp->last_seq = sp->ents[sp->n - 1].seq;
		dirty = true;
	}
	/* Acknowledged before a crash cut the deletion short. */
	if ((rc = drop_prefix(sp, count_upto(sp, sp->acked), e)) != 0)
		goto fail;
	if (dirty && (rc = save_state(sp, e)) != 0)
		goto fail;
	log_info("spool %s: %zu reports (%" PRIu64 " bytes) waiting; last seq %" PRIu64
		 ", acknowledged up to %" PRIu64,
		 dir, sp->n, sp->total_bytes, sp->last_seq, sp->acked);
	*out = sp;
	return 0;
fail:
	spool_free(sp);
	return rc;
}

void spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	free(sp->ents);
	free(sp->dir);
	free(sp);
}

int spool_next_seq(struct spool *sp, uint64_t *seq, struct pst_err *e)
{
	int rc;

	*seq = 0;
	sp->last_seq++;
	rc = save_state(sp, e);
	if (rc != 0) {
		/* Not persisted, so not handed out. */
		sp->last_seq--;
		return rc;
	}
	*seq = sp->last_seq;
	return 0;
}

static void append_seq(struct strbuf *sb, uint64_t seq)
{
	/* A long list is cut short; the count and bytes say the rest. */
	if (sb->len < 400)
		strbuf_appendf(sb, "%s%" PRIu64, sb->len ? ", " : "", seq);
	else if (sb->data[sb->len - 1] != '.')
		strbuf_appends(sb, ", ...");
}

/*
 * Bring the spool within its bound after the newest entry was added, as
 * spool.h describes.  Failing to delete is an error; failing to make room
 * is a logged refusal, not an error.
 */
static int compact(struct spool *sp, struct pst_err *e)
{
	const unsigned char *prev = sp->have_acked_status ? sp->acked_status : NULL;
	struct spool_entry *newest = &sp->ents[sp->n - 1];
	struct strbuf seqs;
	bool *drop;
	uint64_t over, freed = 0;
	size_t i, j, ndrop = 0, last_kept = SIZE_MAX;
	char name[NAME_MAX + 1];
	int rc = 0;

	if (sp->total_bytes <= sp->max_bytes)
		return 0;
	over = sp->total_bytes - sp->max_bytes;
	drop = calloc(sp->n, sizeof(*drop));
	if (drop == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	/* 1: reports that repeat the statuses of the one before them. */
	for (i = 0; i + 1 < sp->n && freed < over; i++) {
		if (prev != NULL && memcmp(prev, sp->ents[i].status, DIGEST_LEN) == 0) {
			drop[i] = true;
			ndrop++;
			freed += sp->ents[i].bytes;
			continue;
		}
		prev = sp->ents[i].status;
	}
	/* 2: the newest spooled report, superseded by the new one with the same statuses. */
	for (i = 0; i + 1 < sp->n; i++)
		if (!drop[i])
			last_kept = i;
	if (freed < over && last_kept != SIZE_MAX &&
	    memcmp(sp->ents[last_kept].status, newest->status, DIGEST_LEN) == 0) {
		drop[last_kept] = true;
		ndrop++;
		freed += sp->ents[last_kept].bytes;
	}
	strbuf_init(&seqs, 512);
	for (i = 0; i < sp->n; i++) {
		if (!drop[i])
			continue;
		seq_name(sp->ents[i].seq, name, sizeof(name));
		/* After a failure, keep the rest: the index must match the files. */
		if (rc != 0 || (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)) {
			if (rc == 0)
				rc = sys_err(sp, e, "cannot delete", name);
			drop[i] = false;
			ndrop--;
			freed -= sp->ents[i].bytes;
			continue;
		}
		append_seq(&seqs, sp->ents[i].seq);
	}
	if (ndrop > 0 && rc == 0)
		rc = sync_dir(sp, e);
	if (ndrop > 0)
		log_warn("spool %s: over spool_max_bytes %" PRIu64 "; compacted %zu reports "
			 "whose statuses a kept report carries (seq %s; %" PRIu64 " bytes)",
			 sp->dir, sp->max_bytes, ndrop, strbuf_peek(&seqs), freed);
	strbuf_cleanup(&seqs);
	for (i = j = 0; i < sp->n; i++) {
		if (drop[i])
			sp->total_bytes -= sp->ents[i].bytes;
		else
			sp->ents[j++] = sp->ents[i];
	}
	sp->n = j;
	free(drop);
	if (rc != 0)
		return rc;
	/* 3: what is left all carries status changes, which are never dropped. */
	if (sp->total_bytes > sp->max_bytes)
		log_error("spool %s: %" PRIu64 " bytes over spool_max_bytes %" PRIu64 ": refused "
			  "to compact the %zu spooled reports (seq %" PRIu64 " to %" PRIu64 ") "
			  "because each carries a status change, which is never dropped; the "
			  "collector has not acknowledged them: check that it is reachable, or "
			  "raise spool_max_bytes",
			  sp->dir, sp->total_bytes - sp->max_bytes, sp->max_bytes, sp->n,
			  sp->ents[0].seq, sp->ents[sp->n - 1].seq);
	return 0;
}

int spool_put(struct spool *sp, uint64_t seq, const uint8_t *env, size_t len,
	      struct pst_err *e)
{
	Posture__V1__Envelope *m = NULL;
	struct pst_err ce = {0};
	struct spool_entry ent;
	char name[NAME_MAX + 1];
	uint8_t *frame = NULL;
	int rc;

	if (len == 0 || len > SPOOL_MAX_FRAME)
		return pst_err_set(e, len ? PST_E_TOOBIG : PST_E_INVAL,
				   "spool %s: report seq %" PRIu64 " is %zu bytes; the limit is %u",
				   sp->dir, seq, len, SPOOL_MAX_FRAME);
	if (seq == 0 || seq > sp->last_seq || (sp->n > 0 && seq <= sp->ents[sp->n - 1].seq) ||
	    seq <= sp->acked)
		return pst_err_set(e, PST_E_INVAL,
				   "spool %s: seq %" PRIu64 " was not assigned by spool_next_seq or "
				   "is not above every spooled report",
				   sp->dir, seq);
	m = posture__v1__envelope__unpack(NULL, len, env);
	if (m == NULL || m->body_case != POSTURE__V1__ENVELOPE__BODY_REPORT ||
	    m->report->seq != seq) {
		rc = pst_err_set(e, PST_E_INVAL,
				 "spool %s: seq %" PRIu64 ": not an Envelope holding that Report",
				 sp->dir, seq);
		goto out;
	}
	ent.seq = seq;
	ent.bytes = FRAME_HEADER_LEN + len;
	status_digest(m->report, ent.status);
	frame = malloc(FRAME_HEADER_LEN + len);
	if (frame == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	frame[0] = (uint8_t)(len >> 24);
	frame[1] = (uint8_t)(len >> 16);
	frame[2] = (uint8_t)(len >> 8);
	frame[3] = (uint8_t)len;
	memcpy(frame + FRAME_HEADER_LEN, env, len);
	seq_name(seq, name, sizeof(name));
	/* Durable first: compaction only ever runs with the new report safe on disk. */
	if ((rc = write_atomic(sp, name, frame, FRAME_HEADER_LEN + len, e)) != 0)
		goto out;
	if ((rc = add_entry(sp, &ent)) != 0) {
		rc = pst_err_set(e, rc, "out of memory");
		goto out;
	}
	/* The report is spooled; a compaction that failed is retried at the next put. */
	if (compact(sp, &ce) != 0)
		log_error("%s", ce.msg);
out:
	free(frame);
	frame_envelope_free(m);
	return rc;
}

int spool_ack(struct spool *sp, uint64_t seq, struct pst_err *e)
{
	size_t k;
	int rc;

	if (seq <= sp->acked)
		return 0;
	if (seq > sp->last_seq)
		return pst_err_set(e, PST_E_PROTO,
				   "spool %s: acknowledgement of seq %" PRIu64 ", never assigned "
				   "(last %" PRIu64 ")",
				   sp->dir, seq, sp->last_seq);
	k = count_upto(sp, seq);
	sp->acked = seq;
	/* Compaction keeps the chain of statuses, so the last deleted one is the acked state. */
	if (k > 0) {
		memcpy(sp->acked_status, sp->ents[k - 1].status, DIGEST_LEN);
		sp->have_acked_status = true;
	}
	if ((rc = save_state(sp, e)) != 0)
		return rc;
	return drop_prefix(sp, k, e);
}

int spool_jump(struct spool *sp, uint64_t last_stored, struct pst_err *e)
{
	size_t k = count_upto(sp, last_stored);
	int rc;

	if (last_stored <= sp->last_seq)
		return spool_ack(sp, last_stored, e);
	if (k > 0)
		log_warn("spool %s: the collector already holds seq up to %" PRIu64 ", beyond "
			 "this spool's %" PRIu64 " (was the state directory lost or restored?); "
			 "deleting %zu spooled reports (seq %" PRIu64 " to %" PRIu64 ") the "
			 "collector would take for ones it has",
			 sp->dir, last_stored, sp->last_seq, k, sp->ents[0].seq,
			 sp->ents[k - 1].seq);
	else
		log_warn("spool %s: the collector already holds seq up to %" PRIu64 ", beyond "
			 "this spool's %" PRIu64 "; numbering continues at %" PRIu64,
			 sp->dir, last_stored, sp->last_seq, last_stored + 1);
	sp->last_seq = last_stored;
	sp->acked = last_stored;
	sp->have_acked_status = false;
	if ((rc = save_state(sp, e)) != 0)
		return rc;
	return drop_prefix(sp, k, e);
}

bool spool_next_after(const struct spool *sp, uint64_t after, uint64_t *seq)
{
	size_t lo = 0, hi = sp->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sp->ents[mid].seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == sp->n)
		return false;
	*seq = sp->ents[lo].seq;
	return true;
}

size_t spool_count_between(const struct spool *sp, uint64_t after, uint64_t upto)
{
	size_t k = 0;

	for (size_t i = 0; i < sp->n; i++)
		if (sp->ents[i].seq > after && sp->ents[i].seq <= upto)
			k++;
	return k;
}

static const struct spool_entry *find(const struct spool *sp, uint64_t seq)
{
	struct spool_entry key = {.seq = seq};

	return sp->n ? bsearch(&key, sp->ents, sp->n, sizeof(key), cmp_entry) : NULL;
}

int spool_read(struct spool *sp, uint64_t seq, uint8_t **frame, size_t *len,
	       struct pst_err *e)
{
	const struct spool_entry *ent = find(sp, seq);
	char name[NAME_MAX + 1];
	size_t done = 0;
	ssize_t k;
	uint8_t *p;
	int fd, rc = 0;

	*frame = NULL;
	*len = 0;
	if (ent == NULL)
		return pst_err_set(e, PST_E_NOENT, "spool %s: seq %" PRIu64 " is not spooled",
				   sp->dir, seq);
	seq_name(seq, name, sizeof(name));
	fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sys_err(sp, e, "cannot open", name);
	p = malloc(ent->bytes);
	if (p == NULL) {
		close(fd);
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	while (done < ent->bytes) {
		k = read(fd, p + done, ent->bytes - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? sys_err(sp, e, "cannot read", name)
				   : pst_err_set(e, PST_E_TRUNC, "spool %s: %s shrank while spooled",
						 sp->dir, name);
			break;
		}
		done += (size_t)k;
	}
	close(fd);
	if (rc != 0) {
		free(p);
		return rc;
	}
	*frame = p;
	*len = ent->bytes;
	return 0;
}

int spool_set_aside(struct spool *sp, uint64_t seq, const char *reason, struct pst_err *e)
{
	const struct spool_entry *ent = find(sp, seq);
	char name[NAME_MAX + 1];
	size_t i;
	int rc;

	if (ent == NULL)
		return pst_err_set(e, PST_E_NOENT, "spool %s: seq %" PRIu64 " is not spooled",
				   sp->dir, seq);
	seq_name(seq, name, sizeof(name));
	log_error("spool %s: report seq %" PRIu64 " moved to %s/undeliverable/: %s", sp->dir,
		  seq, sp->dir, reason);
	if ((rc = move_aside(sp, "undeliverable", name, e)) != 0)
		return rc;
	i = (size_t)(ent - sp->ents);
	sp->total_bytes -= ent->bytes;
	memmove(sp->ents + i, sp->ents + i + 1, (sp->n - i - 1) * sizeof(*sp->ents));
	sp->n--;
	return 0;
}

size_t spool_count(const struct spool *sp)
{
	return sp->n;
}

uint64_t spool_bytes(const struct spool *sp)
{
	return sp->total_bytes;
}

uint64_t spool_last_seq(const struct spool *sp)
{
	return sp->last_seq;
}

uint64_t spool_acked_seq(const struct spool *sp)
{
	return sp->acked;
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}
