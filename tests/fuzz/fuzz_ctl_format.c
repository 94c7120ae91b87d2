/*
 * fuzz_ctl_format.c - libFuzzer target for posturectl's rendering of the
 * collector's JSON (ctl/format.c) and for its reading of an answer
 * (client_json, client_error_message: explicit lengths, duplicates
 * refused).
 *
 * The input is an API answer as it would come off the network.  When it
 * parses, it goes through every view as a table (default and a tiny width
 * cap) and as CSV, through the summary and field row builders, under a
 * small output ceiling so that the limit is reached from short inputs.
 * Properties: a table never holds a control character (C0, DEL, C1) but
 * its line ends, and ends in a newline; a CSV output ends in CRLF; an
 * error answer always gives a message; nothing crashes or leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n",      \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

static void no_controls(const struct strbuf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		check(c == '\n' || (c >= 0x20 && c != 0x7f));
		if (c == 0xc2 && i + 1 < b->len)
			check((unsigned char)b->data[i + 1] >= 0xa0);
	}
}

static void render(const struct fmt_view *v, const json_t *rows)
{
	static const size_t widths[] = {0, 2, 5};
	struct pst_err e = {0};
	struct strbuf b;
	int rc;

	for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
		strbuf_init(&b, 1 << 16);
		rc = fmt_table(v, rows, widths[w], &b, &e);
		check(rc == 0 || rc == PST_E_TOOBIG);
		if (rc == 0) {
			no_controls(&b);
			check(b.len > 0 && b.data[b.len - 1] == '\n');
		}
		strbuf_cleanup(&b);
	}
	strbuf_init(&b, 1 << 16);
	rc = fmt_csv(v, rows, &b, &e);
	check(rc == 0 || rc == PST_E_TOOBIG);
	if (rc == 0)
		check(b.len >= 2 && b.data[b.len - 2] == '\r' && b.data[b.len - 1] == '\n');
	strbuf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_resp r;
	struct pst_err e = {0};
	json_t *doc = NULL, *rows = NULL;
	const struct fmt_view *views;
	size_t n;

	memset(&r, 0, sizeof(r));
	strbuf_init(&r.body, 1 << 20);
	if (strbuf_append(&r.body, data, size) != 0) {
		strbuf_cleanup(&r.body);
		return 0;
	}
	r.status = 404;
	client_error_message(&r, "/api/v1/x", &e);
	check(e.msg[0] != '\0');
	if (client_json(&r, "/api/v1/x", &doc, &e) != 0) {
		strbuf_cleanup(&r.body);
		return 0;
	}
	views = fmt_views(&n);
	for (size_t i = 0; i < n; i++) {
		const char *k;
		json_t *v;

		render(&views[i], doc);
		/* Every array member of the document, as a list would be shown. */
		if (json_is_object(doc)) {
			json_object_foreach(doc, k, v) {
				if (json_is_array(v))
					render(&views[i], v);
			}
		}
	}
	check(fmt_summary_rows(doc, &rows) == 0);
	render(fmt_view_find("summary"), rows);
	json_decref(rows);
	check(fmt_field_rows(doc, &rows) == 0);
	render(fmt_view_find("fields"), rows);
	json_decref(rows);
	json_decref(doc);
	strbuf_cleanup(&r.body);
	return 0;
}
