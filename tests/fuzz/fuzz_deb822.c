/*
 * fuzz_deb822.c - the parsers of the patch probes on arbitrary bytes: deb822
 * stanzas (dpkg status, Packages lists, Release files), the clear-signed
 * wrapper of InRelease, apt.conf, and bounded decompression.  The first byte
 * picks the parser; the rest is copied into a buffer of exactly its size, so
 * a read past the length is caught.  Nothing may crash, leak or read out of
 * bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aptconf.h"
#include "deb822.h"
#include "decompress.h"
#include "dpkgstatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_cb(void *arg, const char *name, const char *value, unsigned line)
{
	(void)name;
	(void)value;
	(void)line;
	(*(size_t *)arg)++;
	return 0;
}

static void stanzas(const char *buf, size_t len)
{
	struct deb822_stanza *st = malloc(sizeof(*st));
	struct deb822_iter it;
	const char *why;
	unsigned line;
	size_t i;

	if (st == NULL)
		return;
	deb822_init(&it, buf, len);
	while (deb822_next(&it, st, &why, &line) == 1) {
		/* Every view lies inside the buffer. */
		for (i = 0; i < st->n; i++)
			if (st->fields[i].name < buf || st->fields[i].value < buf ||
			    st->fields[i].value + st->fields[i].value_len > buf + len)
				abort();
		(void)deb822_get(st, "Package");
	}
	free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why, *body;
	size_t len, body_len, n = 0;
	unsigned first, line;
	char *buf, *out = NULL;
	struct pkgdb db;
	struct pst_err e;

	if (size < 1)
		return 0;
	len = size - 1;
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, len);
	switch (data[0] % 5) {
	case 0:
		stanzas(buf, len);
		break;
	case 1:
		memset(&db, 0, sizeof(db));
		(void)dpkgstatus_parse(&db, buf, len, &e);
		for (n = 0; n < db.n; n++) {
			free(db.pkgs[n].name);
			free(db.pkgs[n].version);
			free(db.pkgs[n].arch);
			free(db.pkgs[n].source);
			free(db.pkgs[n].state);
		}
		free(db.pkgs);
		free(db.path);
		free(db.native_arch);
		break;
	case 2:
		if (deb822_clearsigned_body(buf, len, &body, &body_len, &first) == 0) {
			if (body < buf || body + body_len > buf + len)
				abort();
			stanzas(body, body_len);
		}
		break;
	case 3:
		(void)aptconf_parse(buf, len, count_cb, &n, &why, &line);
		break;
	default:
		if (decompress_buffer(len > 0 && buf[0] == 0x1f ? DECOMPRESS_GZIP : DECOMPRESS_LZ4,
				      buf, len, 1u << 20, &out, &n, &why) == 0)
			free(out);
		break;
	}
	free(buf);
	return 0;
}
