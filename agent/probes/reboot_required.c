/*
 * reboot_required.c - the `reboot_required` probe: whether a package asked
 * for a reboot.  Debian's and Ubuntu's packages (the kernel, libc, systemd)
 * create /run/reboot-required when an update needs one and list themselves
 * in /run/reboot-required.pkgs; a reboot clears /run.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "probe.h"

#define FLAG "/run/reboot-required"
#define PKGS "/run/reboot-required.pkgs"
/* Most package names shown in the note. */
#define SHOWN 20

static const struct probe_param params[] = {
	{NULL, 0, false, NULL, NULL, NULL},
};

/* True when name (n bytes) is already in the ", "-separated list. */
static bool listed(const char *list, size_t used, const char *name, size_t n)
{
	const char *p = list, *end = list + used;

	while (p < end) {
		const char *sep = strstr(p, ", ");
		size_t w = sep ? (size_t)(sep - p) : (size_t)(end - p);

		if (w == n && memcmp(p, name, n) == 0)
			return true;
		p += w + (sep ? 2 : 0);
	}
	return false;
}

static int run(const struct probe_ctx *ctx, const json_t *p, struct probe_out *out)
{
	struct line_iter it;
	const char *line;
	char *data = NULL, list[2048];
	size_t len = 0, n, used = 0, count = 0;
	struct stat st;
	int rc;

	(void)p;
	rc = rootfs_stat(ctx->root, FLAG, true, &st);
	if (rc == PST_E_NOENT) {
		rc = probe_out_add(out, FLAG, "exists", FLAG, 0, value_bool(false));
		return rc == 0 ? probe_out_note(out, "no package asked for a reboot") : rc;
	}
	if (rc < 0)
		return probe_out_fail(out, rc, "cannot read %s: %s", FLAG, rootfs_strerror(rc));
	list[0] = '\0';
	rc = probe_read_file(ctx, out, PKGS, 64 * 1024, &data, &len);
	if (rc == 0) {
		lines_init(&it, data, len);
		while (lines_next(&it, &line, &n)) {
			lines_trim(&line, &n);
			if (n == 0)
				continue;
			/* The file names a package once per trigger: show it once. */
			if (listed(list, used, line, n))
				continue;
			if (count < SHOWN && used + n + 3 < sizeof(list))
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%.*s",
							 used ? ", " : "", (int)n, line);
			count++;
		}
		free(data);
	} else if (rc != PST_E_NOENT) {
		return rc;
	}
	rc = probe_out_add(out, FLAG, "exists", FLAG, 0, value_bool(true));
	if (rc < 0)
		return rc;
	if (count == 0)
		return probe_out_note(out, "reboot required; %s lists no package", PKGS);
	return probe_out_note(out, "reboot required by %s%s (%s)", list,
			      count > SHOWN ? ", ..." : "", PKGS);
}

const struct probe probe_reboot_required = {
	.name = "reboot_required",
	.summary = "Whether an installed update asked for a reboot (/run/reboot-required).",
	.value_doc = "One boolean, subject and location /run/reboot-required: true when it "
		     "exists, with the packages from /run/reboot-required.pkgs in the note. A root "
		     "without /run mounted (an image) reads false: gate such checks on "
		     "/proc/sys/kernel.",
	.params = params,
	.run = run,
};
