/*
 * format.h - how posturectl shows the collector's JSON: a table for
 * people, CSV for spreadsheets, or the JSON itself.
 *
 * A view names the columns of one kind of row (a host, a violation, ...):
 * each column takes one member of the row object (a dotted path reaches
 * into nested objects) and a kind that says how to print and align it.
 * fmt_table() and fmt_csv() render an array of row objects through
 * a view into a bounded buffer; neither trusts the JSON: any member may be
 * missing or of another type, and text is cleaned of control characters
 * before it reaches a terminal.
 *
 * Table: columns as wide as their widest cell, at most max_width display
 * characters (cut cells end in "~"); numbers right-aligned, scores with
 * one decimal, null and missing as "-", times as the API gives them.
 * CSV (RFC 4180): a header row, CRLF line ends, fields holding a comma,
 * quote, CR or LF quoted with quotes doubled; a text cell starting with
 * = + - @ TAB or CR gets a leading ' so that spreadsheets do not take it
 * for a formula.  Numbers are never prefixed.
 */
#ifndef POSTURE_CTL_FORMAT_H
#define POSTURE_CTL_FORMAT_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "strbuf.h"

enum fmt_kind {
	FMT_TEXT,   /* left-aligned; a number or bool printed as such */
	FMT_INT,    /* right-aligned integer */
	FMT_SCORE,  /* right-aligned, one decimal */
	FMT_BOOL,   /* yes / no */
};

struct fmt_col {
	const char *header;
	const char *path;  /* member of the row, "a.b" for nested */
	enum fmt_kind kind;
	int whole;         /* never cut in a table (hashes an auditor compares) */
};

struct fmt_view {
	const char *name;
	const struct fmt_col *cols;
	size_t ncols;
};

/* Default cap on a table column's width, in display characters. */
#define FMT_MAX_WIDTH 48

/* The views posturectl knows; NULL for an unknown name. */
const struct fmt_view *fmt_view_find(const char *name);
/* Every view, for the fuzz target: *n receives the count. */
const struct fmt_view *fmt_views(size_t *n);

/*
 * The text of one cell: the member at col->path of row (a JSON object, or
 * anything else, which gives empty cells).  *is_text says whether the
 * value was a JSON string (for the CSV formula guard).  Appends to out.
 */
int fmt_cell(const json_t *row, const struct fmt_col *col, struct strbuf *out, int *is_text);

/*
 * Render rows (a JSON array of objects; anything else renders as no rows)
 * through view.  max_width 0 means FMT_MAX_WIDTH.
 */
int fmt_table(const struct fmt_view *view, const json_t *rows, size_t max_width,
	      struct strbuf *out, struct pst_err *e);
int fmt_csv(const struct fmt_view *view, const json_t *rows, struct strbuf *out,
	    struct pst_err *e);

/* One CSV field, quoted and guarded as described above. */
int fmt_csv_field(const char *s, size_t len, int is_text, struct strbuf *out);

/*
 * The rows posturectl shows for a summary document: one per fleet,
 * category, severity and policy score, then host and violation counts
 * (view "summary").  *rows is a new array.
 */
int fmt_summary_rows(const json_t *summary, json_t **rows);

/*
 * The rows for a single object shown as FIELD / VALUE pairs (view "fields"):
 * every scalar member, nested objects flattened with dots, arrays as
 * compact JSON.
 */
int fmt_field_rows(const json_t *obj, json_t **rows);

#endif
