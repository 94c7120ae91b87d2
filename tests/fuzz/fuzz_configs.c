/*
 * fuzz_configs.c - the configuration parsers behind the probes, on arbitrary
 * file contents.  A scanned image is not trusted: its sshd_config, sudoers,
 * passwd or PAM files may be hostile.  The first input byte picks the file
 * and probe; the rest becomes that file inside a scratch root, and the probe
 * runs on it.  It must report observations or a failure, never crash, leak
 * or read outside the file.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvparse.h"
#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct target {
	const char *file;   /* inside the root */
	const char *probe;
	const char *params; /* JSON, with every parameter the probe reads */
};

static const struct target targets[] = {
	{"etc/ssh/sshd_config", "sshd_config",
	 "{\"key\": \"PermitRootLogin\", \"path\": \"/etc/ssh/sshd_config\"}"},
	{"etc/sudoers", "sudoers", "{\"select\": \"nopasswd\", \"path\": \"/etc/sudoers\"}"},
	{"etc/sudoers", "sudoers", "{\"select\": \"defaults\", \"key\": \"use_pty\", \"path\": \"/etc/sudoers\"}"},
	{"etc/login.defs", "keyvalue",
	 "{\"path\": \"/etc/login.defs\", \"key\": \"PASS_MAX_DAYS\", \"style\": \"whitespace\", "
	 "\"occurrence\": \"last\", \"case_insensitive\": false, \"inline_comments\": true, "
	 "\"missing_ok\": false}"},
	{"etc/passwd", "accounts", "{\"select\": \"uid0\"}"},
	{"etc/group", "accounts", "{\"select\": \"duplicate_gid\"}"},
	{"etc/pam.d/common-password", "pam",
	 "{\"select\": \"pwquality\", \"key\": \"minlen\", \"service\": \"common-password\"}"},
	{"etc/sysctl.conf", "sysctl", "{\"key\": \"net.ipv4.ip_forward\", \"source\": \"persisted\"}"},
};

static char root[64];

static int write_file(const char *rel, const uint8_t *data, size_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_root(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_root(void)
{
	static const char *const dirs[] = {"etc", "etc/ssh", "etc/pam.d", "etc/security", NULL};
	char path[256];
	size_t i;

	snprintf(root, sizeof(root), "/tmp/posture-fuzz-XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	atexit(remove_root);
	for (i = 0; dirs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		mkdir(path, 0755);
	}
	/* The accounts probe reads these beside the fuzzed file. */
	write_file("etc/passwd", (const uint8_t *)"root:x:0:0::/root:/bin/bash\n", 28);
	write_file("etc/shadow", (const uint8_t *)"root:*:19000:0:99999:7:::\n", 26);
	write_file("etc/group", (const uint8_t *)"root:x:0:\n", 10);
	write_file("etc/gshadow", (const uint8_t *)"root:*::\n", 9);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const struct target *t;
	const struct probe *p;
	struct probe_out out;
	struct probe_ctx ctx = {0};
	struct rootfs r;
	json_t *params;
	struct kv_options opt = {KV_EQUALS, true, true};
	struct kv_pair kv;

	if (!ready) {
		make_root();
		ready = 1;
	}
	if (size == 0)
		return 0;
	/* The line parser directly, on the whole input as one line. */
	if (kv_parse_line((const char *)data + 1, size - 1, &opt, &kv) == 1)
		kv_pair_cleanup(&kv);

	t = &targets[data[0] % (sizeof(targets) / sizeof(targets[0]))];
	if (write_file(t->file, data + 1, size - 1) != 0)
		return 0;
	p = probe_find(t->probe);
	params = json_loads(t->params, 0, NULL);
	if (p == NULL || params == NULL || rootfs_open(&r, root, NULL) != 0)
		abort();
	ctx.root = &r;
	probe_out_init(&out);
	(void)p->run(&ctx, params, &out);
	probe_out_cleanup(&out);
	rootfs_close(&r);
	json_decref(params);
	/* Put back the account files for the next input. */
	if (strcmp(t->file, "etc/passwd") == 0)
		write_file("etc/passwd", (const uint8_t *)"root:x:0:0::/root:/bin/bash\n", 28);
	if (strcmp(t->file, "etc/group") == 0)
		write_file("etc/group", (const uint8_t *)"root:x:0:\n", 10);
	return 0;
}
