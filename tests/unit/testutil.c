/* testutil.c - helpers of testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"

const char *tu_fixture(const char *rel)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", POSTURE_FIXTURES, rel);
	return buf;
}

char *tu_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *p;

	if (asprintf(&p, "%s/posture-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    mkdtemp(p) == NULL) {
		perror("tu_mkdtemp");
		abort();
	}
	return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

void tu_rmrf(const char *path)
{
	nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

int tu_write(const char *root, const char *rel, const char *content, mode_t mode)
{
	char path[PATH_MAX], *slash;
	size_t len = strlen(content);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	if (write(fd, content, len) != (ssize_t)len || fchmod(fd, mode) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int tu_run_probe(const char *root, const char *name, const char *params_json,
		 struct probe_out *out)
{
	const struct probe *p = probe_find(name);
	struct rootfs r;
	struct probe_ctx ctx = {0};
	json_error_t jerr;
	json_t *params;
	int rc;

	probe_out_init(out);
	if (p == NULL)
		return PST_E_INVAL;
	params = json_loads(params_json, 0, &jerr);
	if (params == NULL) {
		fprintf(stderr, "tu_run_probe: bad JSON %s: %s\n", params_json, jerr.text);
		return PST_E_INVAL;
	}
	rc = rootfs_open(&r, root, NULL);
	if (rc != 0) {
		json_decref(params);
		return rc;
	}
	ctx.root = &r;
	rc = p->run(&ctx, params, out);
	rootfs_close(&r);
	json_decref(params);
	return rc;
}
