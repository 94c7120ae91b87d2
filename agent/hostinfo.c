/* hostinfo.c - facts of hostinfo.h, read through the root. */
#include "hostinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "kvparse.h"
#include "lines.h"

static void copy_field(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void read_os_release(struct hostinfo *h, const struct rootfs *r)
{
	static const struct kv_options opt = {KV_EQUALS, false, false};
	const char *paths[] = {"/etc/os-release", "/usr/lib/os-release"};
	struct line_iter it;
	const char *line;
	size_t i, len, n;
	char *data = NULL;

	for (i = 0; i < 2 && data == NULL; i++)
		if (rootfs_read(r, paths[i], 64 * 1024, &data, &n) != 0)
			data = NULL;
	if (data == NULL)
		return;
	lines_init(&it, data, n);
	while (lines_next(&it, &line, &len)) {
		struct kv_pair kv;
		if (kv_parse_line(line, len, &opt, &kv) != 1)
			continue;
		if (strcmp(kv.key, "ID") == 0)
			copy_field(h->os_id, sizeof(h->os_id), kv.value, strlen(kv.value));
		else if (strcmp(kv.key, "ID_LIKE") == 0)
			copy_field(h->os_id_like, sizeof(h->os_id_like), kv.value, strlen(kv.value));
		else if (strcmp(kv.key, "VERSION_ID") == 0)
			copy_field(h->os_version, sizeof(h->os_version), kv.value, strlen(kv.value));
		else if (strcmp(kv.key, "PRETTY_NAME") == 0)
			copy_field(h->os_pretty, sizeof(h->os_pretty), kv.value, strlen(kv.value));
		kv_pair_cleanup(&kv);
	}
	free(data);
}

/* First line of a small file under the root, trimmed; empty when unreadable. */
static void read_first_line(const struct rootfs *r, const char *path, char *dst, size_t cap)
{
	struct line_iter it;
	const char *line;
	size_t len, n;
	char *data;

	dst[0] = '\0';
	if (rootfs_read(r, path, 4096, &data, &n) != 0)
		return;
	lines_init(&it, data, n);
	if (lines_next(&it, &line, &len)) {
		lines_trim(&line, &len);
		copy_field(dst, cap, line, len);
	}
	free(data);
}

static bool root_is_host(const struct rootfs *r)
{
	char *real = realpath(r->path, NULL);
	bool host = real != NULL && strcmp(real, "/") == 0;

	free(real);
	return host;
}

void hostinfo_read(struct hostinfo *h, const struct rootfs *r)
{
	struct utsname u;

	memset(h, 0, sizeof(*h));
	copy_field(h->root, sizeof(h->root), r->path, strlen(r->path));
	read_os_release(h, r);
	read_first_line(r, "/etc/machine-id", h->machine_id, sizeof(h->machine_id));
	if (root_is_host(r) && uname(&u) == 0) {
		copy_field(h->hostname, sizeof(h->hostname), u.nodename, strlen(u.nodename));
		copy_field(h->kernel, sizeof(h->kernel), u.release, strlen(u.release));
		copy_field(h->arch, sizeof(h->arch), u.machine, strlen(u.machine));
	} else {
		read_first_line(r, "/etc/hostname", h->hostname, sizeof(h->hostname));
	}
}

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while (*p != '\0') {
		size_t w;
		while (*p == ' ')
			p++;
		w = strcspn(p, " ");
		if (w == n && n > 0 && strncmp(p, word, n) == 0)
			return true;
		p += w;
	}
	return false;
}

bool hostinfo_os_matches(const struct hostinfo *h, const char *os_id,
			 char *const *versions, size_t nversions)
{
	size_t i;

	if (strcmp(h->os_id, os_id) != 0 && !word_in(h->os_id_like, os_id))
		return false;
	if (nversions == 0)
		return true;
	for (i = 0; i < nversions; i++)
		if (strcmp(h->os_version, versions[i]) == 0)
			return true;
	return false;
}
