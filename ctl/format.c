/*
 * format.c - tables and CSV from the collector's JSON (see format.h).
 *
 * The JSON comes from the network, so every member is looked up with its
 * type checked and every string is measured by its length, never by a
 * terminating NUL (a JSON string may hold U+0000 escaped).
 */
#include "format.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- the views --------------------------------------------------------------- */

static const struct fmt_col c_summary[] = {
	{"SCOPE", "scope", FMT_TEXT, 0}, {"NAME", "name", FMT_TEXT, 0},   {"SCORE", "score", FMT_SCORE, 0},
	{"PASS", "pass", FMT_INT, 0},    {"FAIL", "fail", FMT_INT, 0},    {"COUNT", "count", FMT_INT, 0},
};
static const struct fmt_col c_hosts[] = {
	{"ID", "id", FMT_TEXT, 0},
	{"HOSTNAME", "hostname", FMT_TEXT, 0},
	{"OS", "os_id", FMT_TEXT, 0},
	{"VERSION", "os_version", FMT_TEXT, 0},
	{"SCORE", "score", FMT_SCORE, 0},
	{"PASS", "pass", FMT_INT, 0},
	{"FAIL", "fail", FMT_INT, 0},
	{"ERROR", "error", FMT_INT, 0},
	{"N/A", "not_applicable", FMT_INT, 0},
	{"CRITICAL", "failing.critical", FMT_INT, 0},
	{"HIGH", "failing.high", FMT_INT, 0},
	{"STALE", "stale", FMT_BOOL, 0},
	{"LAST_REPORT", "last_report", FMT_TEXT, 0},
};
static const struct fmt_col c_results[] = {
	{"POLICY", "policy_id", FMT_TEXT, 0},   {"CHECK", "check_id", FMT_TEXT, 0},
	{"STATUS", "status", FMT_TEXT, 0},      {"SEVERITY", "severity", FMT_TEXT, 0},
	{"CATEGORY", "category", FMT_TEXT, 0},  {"CHECKED_AT", "checked_at", FMT_TEXT, 0},
	{"TITLE", "title", FMT_TEXT, 0},
};
static const struct fmt_col c_violations[] = {
	{"ID", "id", FMT_INT, 0},
	{"HOST", "host", FMT_TEXT, 0},
	{"CHECK", "check_id", FMT_TEXT, 0},
	{"SEVERITY", "severity", FMT_TEXT, 0},
	{"CATEGORY", "category", FMT_TEXT, 0},
	{"STATUS", "status", FMT_TEXT, 0},
	{"OPENED_AT", "opened_at", FMT_TEXT, 0},
	{"RESOLVED_AT", "resolved_at", FMT_TEXT, 0},
	{"AGE_S", "age_s", FMT_INT, 0},
	{"TITLE", "title", FMT_TEXT, 0},
};
static const struct fmt_col c_controls[] = {
	{"FRAMEWORK", "framework", FMT_TEXT, 0},   {"CONTROL", "id", FMT_TEXT, 0},
	{"SCORE", "score", FMT_SCORE, 0},          {"PASS", "pass", FMT_INT, 0},
	{"FAIL", "fail", FMT_INT, 0},              {"HOSTS_FAILING", "hosts_failing", FMT_INT, 0},
	{"HOSTS", "hosts", FMT_INT, 0},
};
static const struct fmt_col c_trend[] = {
	{"DAY", "day", FMT_TEXT, 0},
	{"SCORE", "score", FMT_SCORE, 0},
	{"PASS", "pass", FMT_INT, 0},
	{"FAIL", "fail", FMT_INT, 0},
};
static const struct fmt_col c_evidence[] = {
	{"ID", "id", FMT_TEXT, 0},
	{"SEQ", "seq", FMT_INT, 0},
	{"TAKEN_AT", "taken_at", FMT_TEXT, 0},
	{"TAKEN_BY", "taken_by.name", FMT_TEXT, 0},
	{"HOST", "scope.host", FMT_TEXT, 0},
	{"SEARCH", "scope.search", FMT_TEXT, 0},
	{"CONTROL", "scope.control", FMT_TEXT, 0},
	{"SIZE", "size", FMT_INT, 0},
	{"SHA256", "sha256", FMT_TEXT, 1},
};
static const struct fmt_col c_fields[] = {
	{"FIELD", "field", FMT_TEXT, 0},
	{"VALUE", "value", FMT_TEXT, 0},
};

static const struct fmt_view views[] = {
	{"summary", c_summary, COUNT(c_summary)},
	{"hosts", c_hosts, COUNT(c_hosts)},
	{"results", c_results, COUNT(c_results)},
	{"violations", c_violations, COUNT(c_violations)},
	{"controls", c_controls, COUNT(c_controls)},
	{"trend", c_trend, COUNT(c_trend)},
	{"evidence", c_evidence, COUNT(c_evidence)},
	{"fields", c_fields, COUNT(c_fields)},
};

const struct fmt_view *fmt_view_find(const char *name)
{
	for (size_t i = 0; i < COUNT(views); i++)
		if (strcmp(views[i].name, name) == 0)
			return &views[i];
	return NULL;
}

const struct fmt_view *fmt_views(size_t *n)
{
	*n = COUNT(views);
	return views;
}

/* --- cells ------------------------------------------------------------------ */

static const json_t *lookup(const json_t *row, const char *path)
{
	const json_t *v = row;
	const char *p = path;

	while (v != NULL) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (!json_is_object(v))
			return NULL;
		v = json_object_getn(v, p, n);
		if (dot == NULL)
			return v;
		p = dot + 1;
	}
	return NULL;
}

int fmt_cell(const json_t *row, const struct fmt_col *col, struct strbuf *out, int *is_text)
{
	const json_t *v = lookup(row, col->path);
	int rc = 0;

	*is_text = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	switch (json_typeof(v)) {
	case JSON_STRING:
		*is_text = 1;
		rc = strbuf_append(out, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		if (col->kind == FMT_SCORE)
			rc = strbuf_appendf(out, "%.1f", (double)json_integer_value(v));
		else
			rc = strbuf_appendf(out, "%" PRId64, (int64_t)json_integer_value(v));
		break;
	case JSON_REAL:
		if (col->kind == FMT_SCORE)
			rc = strbuf_appendf(out, "%.1f", json_real_value(v));
		else
			rc = strbuf_appendf(out, "%.15g", json_real_value(v));
		break;
	case JSON_TRUE:
		rc = strbuf_appends(out, col->kind == FMT_BOOL ? "yes" : "true");
		break;
	case JSON_FALSE:
		rc = strbuf_appends(out, col->kind == FMT_BOOL ? "no" : "false");
		break;
	default: {
		/* An object or array where a scalar was expected: its compact JSON. */
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		if (s == NULL)
			return PST_E_NOMEM;
		*is_text = 1;
		rc = strbuf_appends(out, s);
		free(s);
		break;
	}
	}
	return rc < 0 ? rc : 1;
}

/* --- the table ----------------------------------------------------------------- */

/* Length of the UTF-8 sequence led by c, 0 for a byte that cannot lead one. */
static size_t utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/*
 * Copy s to out for a terminal: control characters (C0, DEL, C1) and bytes
 * that are not UTF-8 become '?', so that nothing an agent reported can move
 * the cursor or change the terminal.  Returns the display width (one per
 * code point), at most max when truncating: a longer text is cut to max-1
 * and marked with '~'.
 */
static int clean(const char *s, size_t len, size_t max, struct strbuf *out, size_t *width)
{
	size_t w = 0, i = 0, total = 0;

	/* First count, to know whether to cut. */
	for (size_t j = 0; j < len;) {
		size_t n = utf8_len((unsigned char)s[j]);

		if (n == 0 || j + n > len)
			n = 1;
		j += n;
		total++;
	}
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = utf8_len(c);
		bool ok = n > 0 && i + n <= len;
		size_t skip = 1;
		int rc;

		if (total > max && w + 1 >= max) {
			rc = strbuf_appendc(out, '~');
			if (rc < 0)
				return rc;
			w++;
			break;
		}
		for (size_t k = 1; ok && k < n; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				ok = false;
		if (ok && n == 1 && (c < 0x20 || c == 0x7f))
			ok = false;
		if (ok && n == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
			ok = false; /* U+0080 .. U+009F: one character, one '?' */
			skip = 2;
		}
		if (!ok) {
			n = skip;
			rc = strbuf_appendc(out, '?');
		} else {
			rc = strbuf_append(out, s + i, n);
		}
		if (rc < 0)
			return rc;
		i += n;
		w++;
	}
	*width = w;
	return 0;
}

struct cell {
	size_t off, len, width;
	bool null;
};

static int pad(struct strbuf *out, size_t n)
{
	int rc = 0;

	while (n-- > 0 && rc == 0)
		rc = strbuf_appendc(out, ' ');
	return rc;
}

int fmt_table(const struct fmt_view *view, const json_t *rows, size_t max_width,
	      struct strbuf *out, struct pst_err *e)
{
	size_t nrows = json_is_array(rows) ? json_array_size(rows) : 0;
	size_t nc = view->ncols;
	struct strbuf text, raw;
	struct cell *cells = NULL;
	size_t *width = NULL;
	int rc = 0;

	if (max_width == 0)
		max_width = FMT_MAX_WIDTH;
	if (max_width < 2)
		max_width = 2;
	strbuf_init(&text, out->max);
	strbuf_init(&raw, out->max);
	if (nrows + 1 > SIZE_MAX / sizeof(*cells) / nc ||
	    (cells = calloc((nrows + 1) * nc, sizeof(*cells))) == NULL ||
	    (width = calloc(nc, sizeof(*width))) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory for a table of %zu rows", nrows);
		goto out;
	}
	/* Row 0 is the header; every cell's cleaned text goes into one buffer. */
	for (size_t r = 0; r <= nrows && rc == 0; r++) {
		const json_t *row = r ? json_array_get(rows, r - 1) : NULL;

		for (size_t c = 0; c < nc && rc == 0; c++) {
			struct cell *cl = &cells[r * nc + c];
			int is_text;

			strbuf_reset(&raw);
			if (r == 0) {
				rc = strbuf_appends(&raw, view->cols[c].header);
			} else {
				rc = fmt_cell(row, &view->cols[c], &raw, &is_text);
				cl->null = rc == 0;
				if (rc == 0)
					rc = strbuf_appendc(&raw, '-');
			}
			if (rc < 0)
				break;
			cl->off = text.len;
			rc = clean(raw.data ? raw.data : "", raw.len,
				   view->cols[c].whole ? SIZE_MAX : max_width, &text, &cl->width);
			cl->len = text.len - cl->off;
			if (cl->width > width[c])
				width[c] = cl->width;
		}
	}
	if (rc < 0) {
		rc = pst_err_set(e, rc, "the table is larger than %zu bytes", out->max);
		goto out;
	}
	for (size_t r = 0; r <= nrows && rc == 0; r++) {
		size_t line_start = out->len;

		for (size_t c = 0; c < nc && rc == 0; c++) {
			const struct cell *cl = &cells[r * nc + c];
			bool right = view->cols[c].kind == FMT_INT || view->cols[c].kind == FMT_SCORE;
			size_t gap = width[c] - cl->width;

			if (c > 0)
				rc = strbuf_appends(out, "  ");
			if (rc == 0 && right)
				rc = pad(out, gap);
			if (rc == 0)
				rc = strbuf_append(out, text.data + cl->off, cl->len);
			if (rc == 0 && !right && c + 1 < nc)
				rc = pad(out, gap);
		}
		/* No white space at the end of a line. */
		while (rc == 0 && out->len > line_start && out->data[out->len - 1] == ' ')
			out->data[--out->len] = '\0';
		if (rc == 0)
			rc = strbuf_appendc(out, '\n');
	}
	if (rc < 0)
		rc = pst_err_set(e, rc, "the table is larger than %zu bytes", out->max);
out:
	free(cells);
	free(width);
	strbuf_cleanup(&text);
	strbuf_cleanup(&raw);
	return rc;
}

/* --- CSV ----------------------------------------------------------------------- */

int fmt_csv_field(const char *s, size_t len, int is_text, struct strbuf *out)
{
	bool guard = is_text && len > 0 &&
		     (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
		      s[0] == '\r');
	bool quote = false;
	int rc = 0;

	for (size_t i = 0; i < len && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			quote = true;
	if (quote)
		rc = strbuf_appendc(out, '"');
	if (rc == 0 && guard)
		rc = strbuf_appendc(out, '\'');
	for (size_t i = 0; i < len && rc == 0; i++) {
		if (s[i] == '"')
			rc = strbuf_appendc(out, '"');
		if (rc == 0)
			rc = strbuf_appendc(out, s[i]);
	}
	if (rc == 0 && quote)
		rc = strbuf_appendc(out, '"');
	return rc;
}

int fmt_csv(const struct fmt_view *view, const json_t *rows, struct strbuf *out,
	    struct pst_err *e)
{
	size_t nrows = json_is_array(rows) ? json_array_size(rows) : 0;
	struct strbuf cell;
	int rc = 0;

	strbuf_init(&cell, out->max);
	for (size_t c = 0; c < view->ncols && rc == 0; c++) {
		if (c > 0)
			rc = strbuf_appendc(out, ',');
		if (rc == 0)
			rc = fmt_csv_field(view->cols[c].header, strlen(view->cols[c].header), 0, out);
	}
	if (rc == 0)
		rc = strbuf_appends(out, "\r\n");
	for (size_t r = 0; r < nrows && rc == 0; r++) {
		const json_t *row = json_array_get(rows, r);

		for (size_t c = 0; c < view->ncols && rc == 0; c++) {
			int is_text;

			strbuf_reset(&cell);
			if (c > 0)
				rc = strbuf_appendc(out, ',');
			if (rc == 0)
				rc = fmt_cell(row, &view->cols[c], &cell, &is_text);
			if (rc > 0)
				rc = fmt_csv_field(cell.data, cell.len, is_text, out);
		}
		if (rc == 0)
			rc = strbuf_appends(out, "\r\n");
	}
	strbuf_cleanup(&cell);
	if (rc < 0)
		return pst_err_set(e, rc, "the CSV is larger than %zu bytes", out->max);
	return 0;
}

/* --- documents made into rows ----------------------------------------------------- */

static int add_row(json_t *rows, const char *scope, const char *name, const json_t *score,
		   const json_t *pass, const json_t *fail, const json_t *count)
{
	json_t *r = json_pack("{s:s, s:s}", "scope", scope, "name", name);

	if (r == NULL)
		return PST_E_NOMEM;
	if (score != NULL && json_is_number(score))
		json_object_set(r, "score", (json_t *)score);
	if (pass != NULL && json_is_integer(pass))
		json_object_set(r, "pass", (json_t *)pass);
	if (fail != NULL && json_is_integer(fail))
		json_object_set(r, "fail", (json_t *)fail);
	if (count != NULL && json_is_integer(count))
		json_object_set(r, "count", (json_t *)count);
	return json_array_append_new(rows, r) == 0 ? 0 : PST_E_NOMEM;
}

static int score_rows(json_t *rows, const char *scope, const json_t *obj)
{
	const char *k;
	json_t *v;
	int rc = 0;

	if (!json_is_object(obj))
		return 0;
	json_object_foreach((json_t *)obj, k, v) {
		if (rc == 0 && json_is_object(v))
			rc = add_row(rows, scope, k, json_object_get(v, "score"),
				     json_object_get(v, "pass"), json_object_get(v, "fail"), NULL);
	}
	return rc;
}

static int count_rows(json_t *rows, const char *scope, const json_t *obj, const char *prefix)
{
	const char *k;
	json_t *v;
	int rc = 0;

	if (!json_is_object(obj))
		return 0;
	json_object_foreach((json_t *)obj, k, v) {
		char name[256];

		snprintf(name, sizeof(name), "%s%s", prefix, k);
		if (rc == 0 && json_is_integer(v))
			rc = add_row(rows, scope, name, NULL, NULL, NULL, v);
	}
	return rc;
}

int fmt_summary_rows(const json_t *s, json_t **out)
{
	json_t *rows = json_array();
	const json_t *pol;
	int rc;

	*out = NULL;
	if (rows == NULL)
		return PST_E_NOMEM;
	if (!json_is_object(s)) {
		*out = rows;
		return 0;
	}
	rc = add_row(rows, "fleet", "all", json_object_get(s, "score"), json_object_get(s, "pass"),
		     json_object_get(s, "fail"), NULL);
	if (rc == 0)
		rc = score_rows(rows, "category", json_object_get(s, "categories"));
	if (rc == 0)
		rc = score_rows(rows, "severity", json_object_get(s, "severities"));
	pol = json_object_get(s, "policies");
	for (size_t i = 0; rc == 0 && json_is_array(pol) && i < json_array_size(pol); i++) {
		const json_t *p = json_array_get(pol, i);
		const json_t *id = json_object_get(p, "id");

		if (json_is_string(id))
			rc = add_row(rows, "policy", json_string_value(id), json_object_get(p, "score"),
				     json_object_get(p, "pass"), json_object_get(p, "fail"), NULL);
	}
	if (rc == 0)
		rc = add_row(rows, "results", "error", NULL, NULL, NULL, json_object_get(s, "error"));
	if (rc == 0)
		rc = add_row(rows, "results", "not_applicable", NULL, NULL, NULL,
			     json_object_get(s, "not_applicable"));
	if (rc == 0)
		rc = count_rows(rows, "hosts", json_object_get(s, "hosts"), "");
	if (rc == 0) {
		const json_t *v = json_object_get(s, "violations");

		rc = add_row(rows, "violations", "open", NULL, NULL, NULL, json_object_get(v, "open"));
		if (rc == 0)
			rc = count_rows(rows, "violations", json_object_get(v, "open_by_severity"),
					"severity.");
		if (rc == 0)
			rc = count_rows(rows, "violations", json_object_get(v, "open_by_age"), "age.");
	}
	if (rc != 0) {
		json_decref(rows);
		return rc;
	}
	*out = rows;
	return 0;
}

static int flatten(json_t *rows, const char *prefix, const json_t *obj, int depth)
{
	const char *k;
	json_t *v;
	int rc = 0;

	json_object_foreach((json_t *)obj, k, v) {
		char *name;

		if (rc != 0)
			break;
		if (asprintf(&name, "%s%s%s", prefix, prefix[0] ? "." : "", k) < 0)
			return PST_E_NOMEM;
		if (json_is_object(v) && depth < 8) {
			rc = flatten(rows, name, v, depth + 1);
		} else {
			/* Scores read as everywhere else: one decimal. */
			json_t *r = json_object();
			json_t *val = strcmp(k, "score") == 0 && json_is_number(v)
					      ? json_sprintf("%.1f", json_number_value(v))
					      : json_incref(v);

			/* The _new setters take their value over even when they fail. */
			if (r == NULL || val == NULL) {
				json_decref(r);
				json_decref(val);
				rc = PST_E_NOMEM;
			} else if (json_object_set_new(r, "value", val) != 0 ||
				   json_object_set_new(r, "field", json_string(name)) != 0) {
				json_decref(r);
				rc = PST_E_NOMEM;
			} else if (json_array_append_new(rows, r) != 0) {
				rc = PST_E_NOMEM;
			}
		}
		free(name);
	}
	return rc;
}

int fmt_field_rows(const json_t *obj, json_t **out)
{
	json_t *rows = json_array();
	int rc = 0;

	*out = NULL;
	if (rows == NULL)
		return PST_E_NOMEM;
	if (json_is_object(obj))
		rc = flatten(rows, "", obj, 0);
	if (rc != 0) {
		json_decref(rows);
		return rc;
	}
	*out = rows;
	return 0;
}
