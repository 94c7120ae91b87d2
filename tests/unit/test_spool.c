/*
 * test_spool.c - the durable report spool on real directories: numbering
 * across reopen, acknowledgement, recovery from leftovers and damaged
 * files, compaction at the byte bound, modes and locking.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "spool.h"
#include "testutil.h"

#define NCHECKS 8

/*
 * A packed Envelope holding Report seq whose check i has status st[i]
 * (a letter per check: p pass, f fail, e error, n not applicable).
 */
static uint8_t *make_report(uint64_t seq, const char *st, size_t *len)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__Report rep = POSTURE__V1__REPORT__INIT;
	Posture__V1__CheckResult res[NCHECKS], *resp[NCHECKS];
	char ids[NCHECKS][32];
	uint8_t *buf;
	size_t i;

	assert_int_equal(strlen(st), NCHECKS);
	for (i = 0; i < NCHECKS; i++) {
		posture__v1__check_result__init(&res[i]);
		snprintf(ids[i], sizeof(ids[i]), "check.%zu", i);
		res[i].check_id = ids[i];
		res[i].policy_id = (char *)"linux-baseline";
		res[i].title = (char *)"a check of the spool test, long enough to weigh something";
		res[i].status = st[i] == 'p'   ? POSTURE__V1__STATUS__STATUS_PASS
				: st[i] == 'f' ? POSTURE__V1__STATUS__STATUS_FAIL
				: st[i] == 'e' ? POSTURE__V1__STATUS__STATUS_ERROR
					       : POSTURE__V1__STATUS__STATUS_NOT_APPLICABLE;
		resp[i] = &res[i];
	}
	rep.seq = seq;
	rep.scan_id = (char *)"6f1c2b1e-6a43-4d7e-9a5e-1f0e2d3c4b5a";
	rep.n_results = NCHECKS;
	rep.results = resp;
	env.body_case = POSTURE__V1__ENVELOPE__BODY_REPORT;
	env.report = &rep;
	*len = posture__v1__envelope__get_packed_size(&env);
	buf = malloc(*len);
	assert_non_null(buf);
	posture__v1__envelope__pack(&env, buf);
	return buf;
}

/* Number and spool one report with statuses st; returns its seq. */
static uint64_t put(struct spool *sp, const char *st)
{
	struct pst_err e = {0};
	uint64_t seq;
	uint8_t *buf;
	size_t len;

	assert_int_equal(spool_next_seq(sp, &seq, &e), 0);
	buf = make_report(seq, st, &len);
	if (spool_put(sp, seq, buf, len, &e) != 0)
		fail_msg("spool_put: %s", e.msg);
	free(buf);
	return seq;
}

/* The bytes one spooled report takes (every test report has the same size). */
static uint64_t report_bytes(void)
{
	size_t len;
	uint8_t *buf = make_report(1, "pppppppp", &len);

	free(buf);
	return FRAME_HEADER_LEN + len;
}

static char *path_in(const char *dir, const char *rel)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	return p;
}

static bool exists(const char *dir, const char *rel)
{
	char *p = path_in(dir, rel);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

static mode_t mode_of(const char *dir, const char *rel)
{
	char *p = path_in(dir, rel);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	free(p);
	return st.st_mode & 07777;
}

/* Report files (*.frame) in dir. */
static size_t count_frames(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 6 && strcmp(de->d_name + l - 6, ".frame") == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* The spooled seqs, in order, as "1,3,4". */
static void expect_seqs(const struct spool *sp, const char *want)
{
	char got[256] = "";
	uint64_t seq = 0;
	size_t n = 0;

	while (spool_next_after(sp, seq, &seq))
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%llu", n ? "," : "",
				      (unsigned long long)seq);
	assert_string_equal(got, want);
}

/* Write exactly data[0..len) to dir/name (tu_write stops at a NUL byte). */
static void write_raw(const char *dir, const char *name, const void *data, size_t len)
{
	char *p = path_in(dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	free(p);
}

static struct spool *open_ok(const char *dir, uint64_t max)
{
	struct spool *sp = NULL;
	struct pst_err e = {0};

	if (spool_open(dir, max, &sp, &e) != 0)
		fail_msg("spool_open: %s", e.msg);
	return sp;
}

static void test_put_read_ack(void **state)
{
	char *top = tu_mkdtemp(), *dir = path_in(top, "spool");
	struct spool *sp;
	struct pst_err e = {0};
	Posture__V1__Envelope *env;
	uint8_t *frame;
	size_t len, used;

	(void)state;
	sp = open_ok(dir, 1 << 20);
	assert_int_equal(mode_of(top, "spool"), 0700);
	assert_int_equal(put(sp, "pppppppp"), 1);
	assert_int_equal(put(sp, "fppppppp"), 2);
	assert_int_equal(put(sp, "ffpppppp"), 3);
	assert_int_equal(spool_count(sp), 3);
	assert_int_equal(spool_bytes(sp), 3 * report_bytes());
	assert_int_equal(count_frames(dir), 3);
	assert_int_equal(mode_of(dir, "00000000000000000002.frame"), 0600);
	expect_seqs(sp, "1,2,3");
	assert_int_equal(spool_count_between(sp, 1, 3), 2);

	/* What is read back is the frame that was put, ready for the wire. */
	assert_int_equal(spool_read(sp, 2, &frame, &len, &e), 0);
	assert_int_equal(len, report_bytes());
	assert_int_equal(frame_decode(frame, len, FRAME_DEFAULT_MAX, &env, &used), 0);
	assert_int_equal(used, len);
	assert_int_equal(env->report->seq, 2);
	assert_int_equal(env->report->results[0]->status, POSTURE__V1__STATUS__STATUS_FAIL);
	frame_envelope_free(env);
	free(frame);
	assert_int_equal(spool_read(sp, 9, &frame, &len, &e), PST_E_NOENT);

	/* An ack deletes everything up to it, and only that. */
	assert_int_equal(spool_ack(sp, 2, &e), 0);
	assert_int_equal(spool_acked_seq(sp), 2);
	expect_seqs(sp, "3");
	assert_int_equal(count_frames(dir), 1);
	assert_false(exists(dir, "00000000000000000001.frame"));
	assert_int_equal(spool_ack(sp, 1, &e), 0);
	assert_int_equal(spool_acked_seq(sp), 2);
	/* An ack of a number never handed out is the collector's mistake. */
	assert_int_equal(spool_ack(sp, 4, &e), PST_E_PROTO);
	assert_int_equal(spool_ack(sp, 3, &e), 0);
	assert_int_equal(spool_count(sp), 0);
	assert_int_equal(spool_bytes(sp), 0);
	spool_free(sp);
	tu_rmrf(top);
	free(dir);
	free(top);
}

static void test_put_refuses(void **state)
{
	char *dir = tu_mkdtemp();
	struct spool *sp = open_ok(dir, 1 << 20);
	struct pst_err e = {0};
	uint64_t seq;
	uint8_t *buf;
	size_t len;

	(void)state;
	/* A number the spool did not hand out. */
	buf = make_report(1, "pppppppp", &len);
	assert_int_equal(spool_put(sp, 1, buf, len, &e), PST_E_INVAL);
	free(buf);
	assert_int_equal(spool_next_seq(sp, &seq, &e), 0);
	/* A report carrying another number than the one it is spooled under. */
	buf = make_report(7, "pppppppp", &len);
	assert_int_equal(spool_put(sp, seq, buf, len, &e), PST_E_INVAL);
	free(buf);
	/* Bytes that are no Envelope. */
	assert_int_equal(spool_put(sp, seq, (const uint8_t *)"\xff\xff\xff", 3, &e), PST_E_INVAL);
	assert_int_equal(spool_count(sp), 0);
	assert_int_equal(count_frames(dir), 0);
	spool_free(sp);
	tu_rmrf(dir);
	free(dir);
}

static void test_seq_survives_reopen(void **state)
{
	char *dir = tu_mkdtemp();
	struct spool *sp;
	struct pst_err e = {0};
	uint64_t seq;

	(void)state;
	sp = open_ok(dir, 1 << 20);
	put(sp, "pppppppp");
	put(sp, "pppppppp");
	/* Assigned but never spooled (a crash before the put): still never reused. */
	assert_int_equal(spool_next_seq(sp, &seq, &e), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(spool_ack(sp, 1, &e), 0);
	spool_free(sp);

	sp = open_ok(dir, 1 << 20);
	assert_int_equal(spool_last_seq(sp), 3);
	assert_int_equal(spool_acked_seq(sp), 1);
	expect_seqs(sp, "2");
	assert_int_equal(put(sp, "pppppppp"), 4);
	assert_int_equal(spool_ack(sp, 4, &e), 0);
	spool_free(sp);

	/* An empty spool still remembers where it was. */
	sp = open_ok(dir, 1 << 20);
	assert_int_equal(spool_count(sp), 0);
	assert_int_equal(spool_last_seq(sp), 4);
	assert_int_equal(put(sp, "pppppppp"), 5);
	spool_free(sp);
	tu_rmrf(dir);
	free(dir);
}

static void test_jump(void **state)
{
	char *dir = tu_mkdtemp();
	struct spool *sp = open_ok(dir, 1 << 20);
	struct pst_err e = {0};

	(void)state;
	put(sp, "pppppppp");
	put(sp, "pppppppp");
	/* The collector holds up to 40: this spool's numbers are taken. */
	assert_int_equal(spool_jump(sp, 40, &e), 0);
	assert_int_equal(spool_count(sp), 0);
	assert_int_equal(count_frames(dir), 0);
	assert_int_equal(spool_acked_seq(sp), 40);
	assert_int_equal(put(sp, "pppppppp"), 41);
	spool_free(sp);
	sp = open_ok(dir, 1 << 20);
	assert_int_equal(spool_last_seq(sp), 41);
	/* Behind the counter, a jump is an ack. */
	assert_int_equal(spool_jump(sp, 41, &e), 0);
	assert_int_equal(spool_last_seq(sp), 41);
	assert_int_equal(spool_count(sp), 0);
	spool_free(sp);
	tu_rmrf(dir);
	free(dir);
}

static void test_recovery(void **state)
{
	char *dir = tu_mkdtemp();
	struct spool *sp;
	uint8_t *buf, *frame;
	size_t len, flen;
	char *p;
	int fd;

	(void)state;
	sp = open_ok(dir, 1 << 20);
	put(sp, "pppppppp");
	put(sp, "fppppppp");
	spool_free(sp);

	/* An interrupted write, and each kind of damage. */
	assert_int_equal(tu_write(dir, ".tmp.00000000000000000003.frame", "half", 0600), 0);
	/* A header promising more than the file holds; a payload that does not decode. */
	write_raw(dir, "00000000000000000004.frame", "\x00\x00\x01\x00garbage", 11);
	write_raw(dir, "00000000000000000005.frame", "\x00\x00\x00\x05\xff\xff\xff\xff\xff", 9);
	buf = make_report(9, "pppppppp", &len);  /* under the name of 6 */
	flen = FRAME_HEADER_LEN + len + 1;
	frame = calloc(1, flen);
	frame[0] = (uint8_t)(len >> 24), frame[1] = (uint8_t)(len >> 16);
	frame[2] = (uint8_t)(len >> 8), frame[3] = (uint8_t)len;
	memcpy(frame + FRAME_HEADER_LEN, buf, len);
	p = path_in(dir, "00000000000000000006.frame");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, frame, flen - 1), (ssize_t)(flen - 1));
	close(fd);
	free(p);
	/* The right seq, one byte of trailing garbage. */
	free(buf);
	buf = make_report(7, "pppppppp", &len);
	memcpy(frame + FRAME_HEADER_LEN, buf, len);
	p = path_in(dir, "00000000000000000007.frame");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, frame, flen), (ssize_t)flen);
	close(fd);
	free(p);
	/* The right seq, cut short. */
	p = path_in(dir, "00000000000000000008.frame");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, frame, flen / 2), (ssize_t)(flen / 2));
	close(fd);
	free(p);
	free(buf);
	free(frame);

	sp = open_ok(dir, 1 << 20);
	/* Only the sound reports stay; the counter is past every name seen. */
	expect_seqs(sp, "1,2");
	assert_int_equal(spool_last_seq(sp), 2);
	assert_false(exists(dir, ".tmp.00000000000000000003.frame"));
	for (int s = 4; s <= 8; s++) {
		char name[64];

		snprintf(name, sizeof(name), "corrupt/%020d.frame", s);
		if (!exists(dir, name))
			fail_msg("%s was not kept in corrupt/", name);
		snprintf(name, sizeof(name), "%020d.frame", s);
		assert_false(exists(dir, name));
	}
	assert_int_equal(mode_of(dir, "corrupt"), 0700);
	assert_int_equal(put(sp, "pppppppp"), 3);
	spool_free(sp);

	/* A damaged state file is kept aside; numbering goes on from the reports. */
	assert_int_equal(tu_write(dir, "state", "seq banana\n", 0600), 0);
	sp = open_ok(dir, 1 << 20);
	assert_true(exists(dir, "corrupt/state"));
	assert_int_equal(spool_last_seq(sp), 3);
	assert_int_equal(spool_acked_seq(sp), 0);
	assert_int_equal(put(sp, "pppppppp"), 4);
	spool_free(sp);
	tu_rmrf(dir);
	free(dir);
}

static void test_modes_and_lock(void **state)
{
	char *dir = tu_mkdtemp();
	struct spool *sp, *other = NULL;
	struct pst_err e = {0};
	char *missing;

	(void)state;
	assert_int_equal(chmod(dir, 0755), 0);
	sp = open_ok(dir, 1 << 20);
	/* A spool open to others is narrowed: reports name the host's weaknesses. */
	assert_int_equal(mode_of(dir, ""), 0700);
	assert_int_equal(mode_of(dir, "state"), 0600);
	/* Two agents on one spool would hand out the same numbers. */
	assert_int_equal(spool_open(dir, 1 << 20, &other, &e), PST_E_LIMIT);
	assert_null(other);
	assert_non_null(strstr(e.msg, "in use by another posture-agent"));
	spool_free(sp);
	sp = open_ok(dir, 1 << 20);
	spool_free(sp);

	missing = path_in(dir, "no/such/parent");
	assert_int_equal(spool_open(missing, 1 << 20, &other, &e), PST_E_NOENT);
	assert_non_null(strstr(e.msg, "cannot create"));
	free(missing);
	tu_rmrf(dir);
	free(dir);
}

static void test_compaction(void **state)
{
	char *dir = tu_mkdtemp();
	uint64_t s = report_bytes(), max = 3 * s + s / 2;
	struct pst_err e = {0};
	struct spool *sp = open_ok(dir, max);

	(void)state;
	put(sp, "pppppppp"); /* 1 A */
	put(sp, "pppppppp"); /* 2 A */
	put(sp, "pppppppp"); /* 3 A */
	expect_seqs(sp, "1,2,3");
	/* 2 repeats 1: it goes first; 1 is the oldest and might carry a change. */
	put(sp, "fppppppp"); /* 4 B */
	expect_seqs(sp, "1,3,4");
	put(sp, "fppppppp"); /* 5 B */
	expect_seqs(sp, "1,4,5");
	put(sp, "pppppppp"); /* 6 A */
	expect_seqs(sp, "1,4,6");
	assert_true(spool_bytes(sp) <= max);
	assert_int_equal(count_frames(dir), 3);

	/* Every spooled report carries a change: nothing is dropped, the bound is exceeded. */
	put(sp, "ffpppppp"); /* 7 C */
	expect_seqs(sp, "1,4,6,7");
	assert_true(spool_bytes(sp) > max);
	assert_int_equal(count_frames(dir), 4);

	/* The acknowledged report's statuses are the ones before the oldest spooled. */
	assert_int_equal(spool_ack(sp, 4, &e), 0);
	expect_seqs(sp, "6,7");
	put(sp, "ffpppppp"); /* 8 C */
	put(sp, "ffpppppp"); /* 9 C */
	expect_seqs(sp, "6,7,9");
	spool_free(sp);

	/* The digests are rebuilt from the files: the same decisions after a restart. */
	sp = open_ok(dir, max);
	expect_seqs(sp, "6,7,9");
	put(sp, "ffpppppp"); /* 10 C: 9 repeats 7 */
	expect_seqs(sp, "6,7,10");
	assert_int_equal(count_frames(dir), 3);
	spool_free(sp);
	tu_rmrf(dir);
	free(dir);
}

static void test_compaction_newest_supersedes(void **state)
{
	char *dir = tu_mkdtemp();
	uint64_t s = report_bytes();
	struct spool *sp = open_ok(dir, 3 * s + s / 2);

	(void)state;
	put(sp, "pppppppp"); /* 1 A */
	put(sp, "fppppppp"); /* 2 B */
	put(sp, "ffpppppp"); /* 3 C */
	/* Nothing repeats its predecessor; 4 carries every status 3 had. */
	put(sp, "ffpppppp"); /* 4 C */
	expect_seqs(sp, "1,2,4");
	/* Flapping: each report is a change and all are kept, the newest too. */
	put(sp, "pppppppp"); /* 5 A */
	put(sp, "fppppppp"); /* 6 B */
	expect_seqs(sp, "1,2,4,5,6");
	spool_free(sp);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_read_ack),
		cmocka_unit_test(test_put_refuses),
		cmocka_unit_test(test_seq_survives_reopen),
		cmocka_unit_test(test_jump),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_modes_and_lock),
		cmocka_unit_test(test_compaction),
		cmocka_unit_test(test_compaction_newest_supersedes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
