/*
 * test_accountsdb.c - unit tests of accountsdb.c on fixture roots under
 * tests/fixtures/probes/accountsdb/, and on roots built at test time for
 * the size and entry limits.
 */
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

#include "accountsdb.h"
#include "err.h"
#include "rootfs.h"

#define FIXTURES POSTURE_FIXTURES "/probes/accountsdb"

static void open_root(struct rootfs *r, const char *dir)
{
	struct pst_err e = {0};

	assert_int_equal(rootfs_open(r, dir, &e), 0);
}

static void load_case(struct accountsdb *db, struct rootfs *r,
		      const char *name, unsigned which)
{
	struct pst_err e = {0};
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/%s", FIXTURES, name);
	open_root(r, dir);
	assert_int_equal(accountsdb_load(db, r, which, &e), 0);
}

static void test_passwd(void **state)
{
	struct accountsdb db;
	struct rootfs r;
	const struct pw_entry *pw;

	(void)state;
	load_case(&db, &r, "basic", ACCOUNTSDB_PASSWD);
	assert_int_equal(db.loaded, ACCOUNTSDB_PASSWD);
	assert_int_equal(db.npw, 6);
	assert_int_equal(db.nsp, 0);

	pw = &db.pw[0];
	assert_string_equal(pw->name, "root");
	assert_string_equal(pw->passwd, "x");
	assert_int_equal(pw->uid, 0);
	assert_int_equal(pw->gid, 0);
	assert_string_equal(pw->gecos, "root");
	assert_string_equal(pw->home, "/root");
	assert_string_equal(pw->shell, "/bin/bash");
	assert_int_equal(pw->line, 2);

	assert_string_equal(db.pw[1].name, "daemon");
	assert_int_equal(db.pw[1].line, 4);

	/* An empty uid reads as -1. */
	pw = &db.pw[2];
	assert_string_equal(pw->name, "nouid");
	assert_int_equal(pw->uid, -1);
	assert_int_equal(pw->gid, 100);
	assert_string_equal(pw->gecos, "");
	assert_int_equal(pw->line, 10);

	assert_string_equal(db.pw[3].gecos, "Alice,,,");

	/* Wrong field count, non-numeric uid, uid beyond 32 bits. */
	assert_int_equal(db.nmalformed, 3);
	assert_string_equal(db.malformed[0], "/etc/passwd:5");
	assert_string_equal(db.malformed[1], "/etc/passwd:6");
	assert_string_equal(db.malformed[2], "/etc/passwd:14");

	/* Lookups: the first entry wins; NIS lines were skipped. */
	pw = accountsdb_user_by_uid(&db, 1000);
	assert_non_null(pw);
	assert_string_equal(pw->name, "alice");
	assert_int_equal(pw->line, 11);
	pw = accountsdb_user_by_name(&db, "alice");
	assert_int_equal(pw->uid, 1000);
	assert_null(accountsdb_user_by_name(&db, "nisuser"));
	assert_null(accountsdb_user_by_name(&db, "+nisuser"));
	assert_null(accountsdb_user_by_uid(&db, 4242));
	assert_null(accountsdb_user_by_uid(&db, -1));
	assert_null(accountsdb_shadow_by_name(&db, "root"));

	accountsdb_cleanup(&db);
	assert_int_equal(db.npw, 0);
	assert_null(db.pw);
	rootfs_close(&r);
}

static void test_shadow(void **state)
{
	struct accountsdb db;
	struct rootfs r;
	const struct sp_entry *sp;

	(void)state;
	load_case(&db, &r, "basic", ACCOUNTSDB_SHADOW);
	assert_int_equal(db.nsp, 3);

	sp = accountsdb_shadow_by_name(&db, "root");
	assert_non_null(sp);
	assert_string_equal(sp->hash, "$6$abc$def");
	assert_int_equal(sp->lastchg, 19000);
	assert_int_equal(sp->min, 0);
	assert_int_equal(sp->max, 99999);
	assert_int_equal(sp->warn, 7);
	assert_int_equal(sp->inactive, -1);
	assert_int_equal(sp->expire, -1);
	assert_int_equal(sp->line, 1);

	sp = accountsdb_shadow_by_name(&db, "alice");
	assert_string_equal(sp->hash, "!$6$x");
	assert_int_equal(sp->min, -1);
	assert_int_equal(sp->max, -1);
	assert_int_equal(sp->line, 2);

	/* "-1" in a day field reads as unset. */
	sp = accountsdb_shadow_by_name(&db, "old");
	assert_string_equal(sp->hash, "*");
	assert_int_equal(sp->lastchg, -1);
	assert_int_equal(sp->inactive, 30);
	assert_int_equal(sp->expire, 20000);
	assert_int_equal(sp->line, 7);

	assert_int_equal(db.nmalformed, 2);
	assert_string_equal(db.malformed[0], "/etc/shadow:5");
	assert_string_equal(db.malformed[1], "/etc/shadow:6");
	accountsdb_cleanup(&db);
	rootfs_close(&r);
}

static void test_group_and_gshadow(void **state)
{
	struct accountsdb db;
	struct rootfs r;
	const struct gr_entry *gr;

	(void)state;
	load_case(&db, &r, "basic", ACCOUNTSDB_GROUP | ACCOUNTSDB_GSHADOW);
	assert_int_equal(db.loaded, ACCOUNTSDB_GROUP | ACCOUNTSDB_GSHADOW);
	assert_int_equal(db.ngr, 4);

	gr = accountsdb_group_by_name(&db, "root");
	assert_int_equal(gr->gid, 0);
	assert_int_equal(gr->nmembers, 0);
	assert_null(gr->members);

	gr = accountsdb_group_by_gid(&db, 27);
	assert_string_equal(gr->name, "sudo");
	assert_int_equal(gr->nmembers, 2);
	assert_string_equal(gr->members[0], "alice");
	assert_string_equal(gr->members[1], "bob");
	assert_int_equal(gr->line, 2);

	/* Empty list items are dropped. */
	gr = accountsdb_group_by_name(&db, "users");
	assert_int_equal(gr->nmembers, 2);
	assert_string_equal(gr->members[0], "alice");
	assert_string_equal(gr->members[1], "carol");

	assert_int_equal(accountsdb_group_by_name(&db, "nogid")->gid, -1);
	assert_null(accountsdb_group_by_name(&db, "badgid"));
	assert_null(accountsdb_group_by_gid(&db, 5));

	assert_int_equal(db.ngs, 3);
	assert_string_equal(db.gs[0].name, "root");
	assert_string_equal(db.gs[0].passwd, "*");
	assert_int_equal(db.gs[0].nadmins, 0);
	assert_string_equal(db.gs[1].name, "sudo");
	assert_int_equal(db.gs[1].nadmins, 1);
	assert_string_equal(db.gs[1].admins[0], "admin1");
	assert_int_equal(db.gs[1].nmembers, 2);
	assert_string_equal(db.gs[1].members[1], "dave");
	assert_string_equal(db.gs[2].name, "users");
	assert_int_equal(db.gs[2].line, 4);
	assert_string_equal(db.gs[2].passwd, "");
	assert_int_equal(db.gs[2].nadmins, 0);
	assert_int_equal(db.gs[2].nmembers, 0);

	assert_int_equal(db.nmalformed, 3);
	assert_string_equal(db.malformed[0], "/etc/group:5");
	assert_string_equal(db.malformed[1], "/etc/group:6");
	assert_string_equal(db.malformed[2], "/etc/gshadow:3");
	accountsdb_cleanup(&db);
	rootfs_close(&r);
}

static void test_all_malformed_order(void **state)
{
	struct accountsdb db;
	struct rootfs r;
	static const char *const want[] = {
		"/etc/passwd:5", "/etc/passwd:6", "/etc/passwd:14",
		"/etc/shadow:5", "/etc/shadow:6", "/etc/group:5",
		"/etc/group:6", "/etc/gshadow:3",
	};
	size_t i;

	(void)state;
	load_case(&db, &r, "basic", ACCOUNTSDB_ALL);
	assert_int_equal(db.loaded, ACCOUNTSDB_ALL);
	assert_int_equal(db.nmalformed, 8);
	for (i = 0; i < 8; i++)
		assert_string_equal(db.malformed[i], want[i]);
	accountsdb_cleanup(&db);
	rootfs_close(&r);
}

static void test_missing_file(void **state)
{
	struct accountsdb db;
	struct pst_err e = {0};
	struct rootfs r;

	(void)state;
	open_root(&r, FIXTURES "/noshadow");
	assert_int_equal(accountsdb_load(&db, &r, ACCOUNTSDB_PASSWD | ACCOUNTSDB_SHADOW, &e),
			 PST_E_NOENT);
	assert_int_equal(e.code, PST_E_NOENT);
	assert_string_equal(e.msg, "cannot read /etc/shadow: no such file in the scanned root");
	/* Cleanup after a failure frees what was read before it. */
	assert_int_equal(db.npw, 1);
	accountsdb_cleanup(&db);

	assert_int_equal(accountsdb_load(&db, &r, 0, &e), PST_E_INVAL);
	accountsdb_cleanup(&db);
	rootfs_close(&r);
}

/* A scratch root with an etc directory, removed by rm_tree. */
static void make_root(char *dir, size_t n)
{
	char etc[4096];

	snprintf(dir, n, "/tmp/posture-accountsdb-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(etc, sizeof(etc), "%s/etc", dir);
	assert_int_equal(mkdir(etc, 0755), 0);
}

static void rm_tree(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void write_repeated(const char *path, const char *line, size_t times,
			   size_t extra_bytes)
{
	FILE *f = fopen(path, "w");
	size_t i;

	assert_non_null(f);
	for (i = 0; i < times; i++)
		fputs(line, f);
	for (i = 0; i < extra_bytes; i++)
		fputc('#', f);
	assert_int_equal(fclose(f), 0);
}

static void test_limits(void **state)
{
	struct accountsdb db;
	struct pst_err e = {0};
	struct rootfs r;
	char dir[64], path[4200];

	(void)state;
	make_root(dir, sizeof(dir));

	/* A file one byte over 16 MiB. */
	snprintf(path, sizeof(path), "%s/etc/passwd", dir);
	write_repeated(path, "", 0, 16u * 1024 * 1024 + 1);
	/* A directory where a file is expected. */
	snprintf(path, sizeof(path), "%s/etc/shadow", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	/* One entry more than the limit. */
	snprintf(path, sizeof(path), "%s/etc/group", dir);
	write_repeated(path, "g:x:1:\n", 1000001, 0);
	/* Exactly at the limit. */
	snprintf(path, sizeof(path), "%s/etc/gshadow", dir);
	write_repeated(path, "g:!::\n", 1000000, 0);

	open_root(&r, dir);
	assert_int_equal(accountsdb_load(&db, &r, ACCOUNTSDB_PASSWD, &e), PST_E_TOOBIG);
	assert_string_equal(e.msg, "cannot read /etc/passwd: larger than 16777216 bytes");
	accountsdb_cleanup(&db);

	assert_int_equal(accountsdb_load(&db, &r, ACCOUNTSDB_SHADOW, &e), PST_E_INVAL);
	assert_string_equal(e.msg, "cannot read /etc/shadow: not a regular file");
	accountsdb_cleanup(&db);

	assert_int_equal(accountsdb_load(&db, &r, ACCOUNTSDB_GROUP, &e), PST_E_LIMIT);
	assert_string_equal(e.msg, "cannot read /etc/group: more than 1000000 entries");
	accountsdb_cleanup(&db);

	assert_int_equal(accountsdb_load(&db, &r, ACCOUNTSDB_GSHADOW, &e), 0);
	assert_int_equal(db.ngs, 1000000);
	accountsdb_cleanup(&db);

	rootfs_close(&r);
	rm_tree(dir);
}

/* A NUL byte inside a line makes the line malformed, not a shorter entry. */
static void test_nul_byte(void **state)
{
	static const char data[] = "root:x:0:0::/root:/bin/sh\nev\0il:x:1:1::/:/bin/sh\n";
	struct accountsdb db;
	struct pst_err e = {0};
	struct rootfs r;
	char dir[64], path[4200];
	FILE *f;

	(void)state;
	make_root(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/etc/passwd", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, sizeof(data) - 1, f), sizeof(data) - 1);
	assert_int_equal(fclose(f), 0);

	open_root(&r, dir);
	assert_int_equal(accountsdb_load(&db, &r, ACCOUNTSDB_PASSWD, &e), 0);
	assert_int_equal(db.npw, 1);
	assert_int_equal(db.nmalformed, 1);
	assert_string_equal(db.malformed[0], "/etc/passwd:2");
	accountsdb_cleanup(&db);
	rootfs_close(&r);
	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwd),
		cmocka_unit_test(test_shadow),
		cmocka_unit_test(test_group_and_gshadow),
		cmocka_unit_test(test_all_malformed_order),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_nul_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
