/*
 * main.c - posturectl, the command line of the Information Security
 * Officer and of auditors: reads the collector's HTTPS API and takes,
 * pulls and verifies evidence snapshots.
 *
 *   posturectl [--url URL] [--token TOKEN] [--cacert FILE] [--config FILE]
 *              [--format table|json|csv] COMMAND [OPTIONS]
 *
 * Exit status: 0 success; 1 the collector said no (its message and HTTP
 * status are printed) or a verification failed; 2 usage, configuration or
 * input error, or the collector could not be reached (TLS included).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client.h"
#include "format.h"
#include "settings.h"
#include "strbuf.h"
#include "evsig.h"
#include "verify.h"

#ifndef POSTURE_VERSION
#define POSTURE_VERSION "0.0.0"
#endif
#define PROG "posturectl"

#define EXIT_NO 1
#define EXIT_USAGE 2
/* Ceiling on what one command prints (a table of every host, say). */
#define OUTPUT_MAX (256u << 20)
#define KEY_MAX (64u << 10)

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV };

struct ctx {
	struct ctl_settings s;
	struct client cl;
	bool have_client;
	enum out_format format;
};

static const char usage_text[] =
	"usage: " PROG " [--url URL] [--token TOKEN] [--cacert FILE] [--config FILE]\n"
	"                  [--format table|json|csv] COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  summary                      fleet score, per category, severity and policy\n"
	"  hosts [--search S] [--os OS] [--stale] [--failing] [--limit N] [--all]\n"
	"  host ID                      one host and the latest result of each check\n"
	"  violations [--status open|resolved] [--severity S] [--host H] [--control C]\n"
	"             [--category C] [--since T] [--limit N] [--all]\n"
	"  controls [--framework F]     score and failing hosts per control\n"
	"  trend [--days N]             daily fleet score\n"
	"  evidence create [--host H] [--search S] [--control C]\n"
	"  evidence list [--limit N] [--all]\n"
	"  evidence key --out FILE [--force]\n"
	"  evidence pull ID --out FILE [--force]\n"
	"  evidence verify FILE [--key FILE] [--previous FILE]\n"
	"  evidence verify-chain DIR --key FILE\n"
	"\n"
	"The collector's URL and token come from --url/--token, else POSTURE_URL and\n"
	"POSTURE_TOKEN, else the config file (--config, default\n"
	"~/.config/posture/posturectl.json: {\"url\", \"token\" or \"token_file\", \"cacert\"}).\n"
	"TLS is always verified, against --cacert or the system's CA store.\n"
	"\"" PROG " COMMAND --help\" tells more.  Exit status: 0 success, 1 the collector\n"
	"said no or a verification failed, 2 usage or input error or no collector.\n";

/* --- messages ------------------------------------------------------------------ */

/* Print a message to stderr with control characters made harmless: it may quote the server. */
static void say(const char *msg)
{
	fprintf(stderr, PROG ": ");
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, stderr);
	fputc('\n', stderr);
}

static int fail(const struct pst_err *e, int status)
{
	say(e->msg);
	return status;
}

static int usage_error(const char *cmd_usage, const char *what)
{
	fprintf(stderr, PROG ": %s\n%s", what, cmd_usage);
	return EXIT_USAGE;
}

/* --- the API ----------------------------------------------------------------------- */

static int need_client(struct ctx *x)
{
	struct pst_err e = {0};

	if (x->have_client)
		return 0;
	if (client_init(&x->cl, x->s.url, x->s.token, x->s.cacert, &e) != 0)
		return fail(&e, EXIT_USAGE);
	if (x->s.token == NULL) {
		client_cleanup(&x->cl);
		say("no token: give --token TOKEN, set POSTURE_TOKEN, or put \"token_file\" "
			  "in the config file (tokens come from posture-collector token create)");
		return EXIT_USAGE;
	}
	x->have_client = true;
	return 0;
}

/*
 * One request.  On a 2xx answer *doc is its JSON (when doc is not NULL)
 * and *raw its bytes (when raw is not NULL; free).  Returns an exit
 * status.
 */
static int call(struct ctx *x, const char *method, const char *path, const char *body, size_t max,
		json_t **doc, struct strbuf *raw)
{
	struct client_resp r;
	struct pst_err e = {0};
	int rc, st;

	if ((st = need_client(x)) != 0)
		return st;
	rc = client_request(&x->cl, method, path, body, max, &r, &e);
	if (rc != 0) {
		client_resp_cleanup(&r);
		return fail(&e, EXIT_USAGE);
	}
	if (r.status < 200 || r.status > 299) {
		client_error_message(&r, path, &e);
		client_resp_cleanup(&r);
		return fail(&e, EXIT_NO);
	}
	if (doc != NULL && client_json(&r, path, doc, &e) != 0) {
		client_resp_cleanup(&r);
		return fail(&e, EXIT_USAGE);
	}
	if (raw != NULL) {
		*raw = r.body;
		strbuf_init(&r.body, 0);
	}
	client_resp_cleanup(&r);
	return 0;
}

/* Append "name=value" to a query, escaped. */
static int query_add(struct ctx *x, struct strbuf *q, const char *name, const char *value)
{
	char *v;
	int rc;

	if (value == NULL)
		return 0;
	if ((v = client_escape(&x->cl, value)) == NULL)
		return PST_E_NOMEM;
	rc = strbuf_appendf(q, "%c%s=%s", strchr(strbuf_peek(q), '?') ? '&' : '?', name, v);
	free(v);
	return rc;
}

/*
 * GET path (with its query) and, with all, every further page through
 * next_cursor, concatenating the arrays under key into the first page's
 * document (whose next_cursor becomes null).  *raw is the one page's bytes
 * when there was only one request.
 */
static int pages(struct ctx *x, const char *path, const char *key, bool all, json_t **doc,
		 struct strbuf *raw)
{
	json_t *first = NULL, *page = NULL;
	struct strbuf p;
	int st;

	*doc = NULL;
	strbuf_init(raw, 0);
	st = call(x, "GET", path, NULL, CLIENT_MAX_BODY, &first, raw);
	if (st != 0)
		return st;
	if (!json_is_array(json_object_get(first, key))) {
		json_decref(first);
		strbuf_cleanup(raw);
		say("the collector's answer has no list where one was expected");
		return EXIT_USAGE;
	}
	strbuf_init(&p, 64 * 1024);
	while (all) {
		const json_t *cur = json_object_get(page ? page : first, "next_cursor");
		json_t *arr;

		if (!json_is_string(cur))
			break;
		strbuf_reset(&p);
		if (strbuf_appends(&p, path) != 0 ||
		    query_add(x, &p, "cursor", json_string_value(cur)) != 0) {
			st = EXIT_USAGE;
			say("the next page's URL is too long");
			break;
		}
		json_decref(page);
		page = NULL;
		strbuf_cleanup(raw);
		st = call(x, "GET", p.data, NULL, CLIENT_MAX_BODY, &page, NULL);
		if (st != 0)
			break;
		arr = json_object_get(page, key);
		if (!json_is_array(arr) || json_array_extend(json_object_get(first, key), arr) != 0) {
			say("the collector's next page has no list where one was expected");
			st = EXIT_USAGE;
			break;
		}
		json_object_set_new(first, "next_cursor", json_null());
	}
	strbuf_cleanup(&p);
	json_decref(page);
	if (st != 0) {
		json_decref(first);
		strbuf_cleanup(raw);
		return st;
	}
	*doc = first;
	return 0;
}

/* --- output ---------------------------------------------------------------------------- */

static int write_all(FILE *f, const char *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, f) != n)
		return -1;
	return 0;
}

/*
 * Show a document: json prints raw (the API's bytes as received) when
 * given, else doc compact; table and csv render rows through view.
 */
static int emit(struct ctx *x, const char *view, const json_t *rows, const json_t *doc,
		const struct strbuf *raw)
{
	struct strbuf out;
	struct pst_err e = {0};
	int rc = 0;

	strbuf_init(&out, OUTPUT_MAX);
	if (x->format == OUT_JSON) {
		if (raw != NULL && raw->len > 0) {
			rc = strbuf_append(&out, raw->data, raw->len);
		} else {
			char *s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);

			rc = s ? strbuf_appends(&out, s) : PST_E_NOMEM;
			free(s);
		}
		if (rc == 0 && (out.len == 0 || out.data[out.len - 1] != '\n'))
			rc = strbuf_appendc(&out, '\n');
		if (rc != 0)
			pst_err_set(&e, rc, "the answer is too large to print");
	} else if (x->format == OUT_CSV) {
		rc = fmt_csv(fmt_view_find(view), rows, &out, &e);
	} else {
		rc = fmt_table(fmt_view_find(view), rows, 0, &out, &e);
	}
	if (rc == 0 && (write_all(stdout, out.data, out.len) != 0 || fflush(stdout) != 0)) {
		rc = pst_err_set(&e, PST_E_SYS, "cannot write the output: %s", strerror(errno));
	}
	strbuf_cleanup(&out);
	return rc == 0 ? 0 : fail(&e, EXIT_USAGE);
}

/* --- command options --------------------------------------------------------------- */

static int parse_format(struct ctx *x, const char *s)
{
	if (strcmp(s, "table") == 0)
		x->format = OUT_TABLE;
	else if (strcmp(s, "json") == 0)
		x->format = OUT_JSON;
	else if (strcmp(s, "csv") == 0)
		x->format = OUT_CSV;
	else
		return -1;
	return 0;
}

#define OPT_HELP 'h'
#define OPT_FORMAT 0x100

/*
 * getopt_long over a command's arguments; every command also takes --help
 * and --format.  Returns the option, -1 at the end, '?' on an error.
 */
static int next_opt(struct ctx *x, int argc, char **argv, const char *shortopts,
		    const struct option *longopts, const char *cmd_usage, int *status)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == OPT_HELP) {
		fputs(cmd_usage, stdout);
		*status = 0;
		return '?';
	}
	if (c == OPT_FORMAT) {
		if (parse_format(x, optarg) != 0) {
			*status = usage_error(cmd_usage, "--format: one of table, json, csv");
			return '?';
		}
		return next_opt(x, argc, argv, shortopts, longopts, cmd_usage, status);
	}
	if (c == '?' || c == ':')
		*status = usage_error(cmd_usage, "unknown or incomplete option");
	return c;
}

static bool parse_count(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

#define COMMON_OPTS {"help", no_argument, NULL, OPT_HELP}, {"format", required_argument, NULL, OPT_FORMAT}

/* --- commands as descriptions ------------------------------------------------------------ */

enum opt_kind {
	OPT_TEXT,   /* any string */
	OPT_COUNT,  /* a whole number from min to max */
	OPT_WORD,   /* one of words */
	OPT_FLAG,   /* no argument; its value is "true" */
	OPT_REFUSE, /* known, but refused by this command with msg */
};

struct opt_desc {
	const char *name;         /* --name */
	enum opt_kind kind;
	const char *param;        /* the query parameter it sets; NULL: none */
	long min, max;            /* OPT_COUNT */
	const char *const *words; /* OPT_WORD, NULL-terminated */
	const char *msg;          /* OPT_REFUSE: the error; else, when set: required, the error without it */
};

/* Options of one command, the last one followed by one without a name. */
#define OPTS_MAX 9
/* Option values given to getopt_long: OPT_BASE + the option's index. */
#define OPT_BASE 0x200

struct cmd_desc;
typedef int cmd_run_fn(struct ctx *x, const struct cmd_desc *d, const char *const *val, char **args);

/*
 * One command: its options and positional arguments; then either run, or
 * (run NULL) a read: GET path with a query of the options' parameters, the
 * array under key shown through view.
 */
struct cmd_desc {
	const char *name;  /* as messages say it: "hosts", "evidence list" */
	const char *usage;
	struct opt_desc opts[OPTS_MAX];
	int nargs;            /* positional arguments */
	const char *args_msg; /* the error for another count; NULL: "NAME takes no arguments" */
	const char *path;
	const char *key;
	const char *view;
	const char *paged;    /* a paged list: what the "more than shown" hint calls its rows */
	const char *too_long; /* the error for a query too long; NULL: "the options are too long" */
	int (*rows)(const json_t *doc, json_t **rows); /* rows made from the whole answer, not key */
	cmd_run_fn *run;
};

static int usage_errorf(const char *cmd_usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_errorf(const char *cmd_usage, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return usage_error(cmd_usage, what);
}

static bool is_word(const char *const *words, const char *s)
{
	for (; *words != NULL; words++)
		if (strcmp(*words, s) == 0)
			return true;
	return false;
}

/* "--status: open or resolved" */
static int bad_word(const char *cmd_usage, const struct opt_desc *o)
{
	char what[256];
	size_t n = (size_t)snprintf(what, sizeof(what), "--%s: ", o->name);

	for (size_t i = 0; o->words[i] != NULL && n < sizeof(what); i++) {
		const char *sep = i == 0 ? "" : o->words[i + 1] != NULL ? ", " : " or ";

		n += (size_t)snprintf(what + n, sizeof(what) - n, "%s%s", sep, o->words[i]);
	}
	return usage_error(cmd_usage, what);
}

/*
 * Parse a command's options into val (by the option's index; NULL when
 * not given) and check them and the positional arguments, which then start
 * at argv[optind].  False with *st the exit status when the command is
 * done (--help, or an error said).
 */
static bool parse_opts(struct ctx *x, const struct cmd_desc *d, int argc, char **argv,
		       const char **val, int *st)
{
	struct option lo[OPTS_MAX + 3] = {COMMON_OPTS};
	size_t n = 0;
	long count;
	int c;

	for (; n < OPTS_MAX && d->opts[n].name != NULL; n++) {
		lo[2 + n].name = d->opts[n].name;
		lo[2 + n].has_arg = d->opts[n].kind == OPT_FLAG ? no_argument : required_argument;
		lo[2 + n].val = OPT_BASE + (int)n;
		val[n] = NULL;
	}
	while ((c = next_opt(x, argc, argv, "", lo, d->usage, st)) != -1) {
		const struct opt_desc *o;

		if (c < OPT_BASE || c >= OPT_BASE + (int)n)
			return false;
		o = &d->opts[c - OPT_BASE];
		if (o->kind == OPT_REFUSE) {
			*st = usage_error(d->usage, o->msg);
			return false;
		}
		val[c - OPT_BASE] = o->kind == OPT_FLAG ? "true" : optarg;
	}
	if (optind + d->nargs != argc) {
		*st = d->args_msg ? usage_error(d->usage, d->args_msg)
				  : usage_errorf(d->usage, "%s takes no arguments", d->name);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct opt_desc *o = &d->opts[i];

		if (val[i] == NULL && o->msg != NULL && o->kind != OPT_REFUSE)
			*st = usage_error(d->usage, o->msg);
		else if (val[i] == NULL)
			continue;
		else if (o->kind == OPT_COUNT && !parse_count(val[i], o->min, o->max, &count))
			*st = usage_errorf(d->usage, "--%s: a whole number from %ld to %ld", o->name,
					   o->min, o->max);
		else if (o->kind == OPT_WORD && !is_word(o->words, val[i]))
			*st = bad_word(d->usage, o);
		else
			continue;
		return false;
	}
	return true;
}

/* The value of d's option name; NULL when not given. */
static const char *opt_val(const struct cmd_desc *d, const char *const *val, const char *name)
{
	for (size_t i = 0; i < OPTS_MAX && d->opts[i].name != NULL; i++)
		if (strcmp(d->opts[i].name, name) == 0)
			return val[i];
	return NULL;
}

/* One GET of path: the array under key, or the rows d->rows makes of the answer. */
static int simple_list(struct ctx *x, const struct cmd_desc *d, const char *path)
{
	json_t *doc = NULL, *rows = NULL;
	struct strbuf raw;
	int st;

	strbuf_init(&raw, 0);
	st = call(x, "GET", path, NULL, CLIENT_MAX_BODY, &doc, &raw);
	if (st == 0 && d->rows != NULL && d->rows(doc, &rows) != 0)
		st = EXIT_USAGE;
	if (st == 0)
		st = emit(x, d->view, d->rows ? rows : json_object_get(doc, d->key), doc, &raw);
	json_decref(rows);
	json_decref(doc);
	strbuf_cleanup(&raw);
	return st;
}

static int list(struct ctx *x, const char *path, const char *key, const char *view, bool all,
		const char *what)
{
	json_t *doc = NULL;
	struct strbuf raw;
	int st;

	st = pages(x, path, key, all, &doc, &raw);
	if (st != 0)
		return st;
	st = emit(x, view, json_object_get(doc, key), doc, all ? NULL : &raw);
	if (st == 0 && !all && x->format != OUT_JSON && json_is_string(json_object_get(doc, "next_cursor")))
		fprintf(stderr, PROG ": more %s than shown: add --all for every page, or --limit N\n",
			what);
	json_decref(doc);
	strbuf_cleanup(&raw);
	return st;
}

/* A read: GET d->path with the options' parameters as its query. */
static int run_read(struct ctx *x, const struct cmd_desc *d, const char *const *val)
{
	struct strbuf q;
	int st;

	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&q, 64 * 1024);
	st = strbuf_appends(&q, d->path);
	for (size_t i = 0; st == 0 && i < OPTS_MAX && d->opts[i].name != NULL; i++)
		if (d->opts[i].param != NULL)
			st = query_add(x, &q, d->opts[i].param, val[i]);
	if (st != 0)
		st = usage_error(d->usage, d->too_long ? d->too_long : "the options are too long");
	else if (d->paged != NULL)
		st = list(x, q.data, d->key, d->view, opt_val(d, val, "all") != NULL, d->paged);
	else
		st = simple_list(x, d, q.data);
	strbuf_cleanup(&q);
	return st;
}

/* Parse argv by d (argv[0] the command's last word), then run it. */
static int run_cmd(struct ctx *x, const struct cmd_desc *d, int argc, char **argv)
{
	const char *val[OPTS_MAX];
	int st = 0;

	optind = 0; /* 0: glibc starts over, forgetting the last argv */
	if (!parse_opts(x, d, argc, argv, val, &st))
		return st;
	return d->run ? d->run(x, d, val, argv + optind) : run_read(x, d, val);
}

/* --N S, --N N or --N that sets the query parameter N. */
#define Q_TEXT(n) {.name = (n), .kind = OPT_TEXT, .param = (n)}
#define Q_COUNT(n, lo, hi) {.name = (n), .kind = OPT_COUNT, .param = (n), .min = (lo), .max = (hi)}
#define Q_FLAG(n) {.name = (n), .kind = OPT_FLAG, .param = (n)}
/* Options that set no query parameter; need: required, the error without it. */
#define O_TEXT(n, need) {.name = (n), .kind = OPT_TEXT, .msg = (need)}
#define O_FLAG(n) {.name = (n), .kind = OPT_FLAG}
#define LIMIT_OPT Q_COUNT("limit", 1, 1000)
#define ALL_OPT O_FLAG("all")

/* --- summary, controls, trend ---------------------------------------------------------- */

static const struct cmd_desc c_summary = {
	.name = "summary",
	.usage = "usage: " PROG " summary\n"
		 "The fleet: its score, pass and fail counts, per category, severity and\n"
		 "policy, errors and not-applicable results, hosts (total, stale, reporting)\n"
		 "and open violations (by severity and age).  --format json prints the API's\n"
		 "GET /api/v1/summary document as received.\n",
	.path = "/api/v1/summary",
	.view = "summary",
	.rows = fmt_summary_rows,
};

static const struct cmd_desc c_controls = {
	.name = "controls",
	.usage = "usage: " PROG " controls [--framework F]\n"
		 "Every control the policies map to (ISO 27001 Annex A, CIS, NIST ...): its\n"
		 "score, pass and fail counts, failing hosts and hosts.  --framework keeps one\n"
		 "framework (iso27001, cis_debian12, nist_800_53, ...).\n",
	.opts = {Q_TEXT("framework")},
	.path = "/api/v1/controls",
	.key = "controls",
	.view = "controls",
	.too_long = "--framework is too long",
};

static const struct cmd_desc c_trend = {
	.name = "trend",
	.usage = "usage: " PROG " trend [--days N]\n"
		 "The daily fleet score over the last N UTC days (default 30, at most 3660),\n"
		 "oldest first; days without data are left out.\n",
	.opts = {Q_COUNT("days", 1, 3660)},
	.path = "/api/v1/trend",
	.key = "points",
	.view = "trend",
};

/* --- lists: hosts, violations, evidence list ------------------------------------------- */

static const struct cmd_desc c_hosts = {
	.name = "hosts",
	.usage = "usage: " PROG " hosts [--search S] [--os OS] [--stale] [--failing] [--limit N] [--all]\n"
		 "Hosts by agent id: score, pass/fail/error/not-applicable counts, failing\n"
		 "critical and high checks, staleness and last report.\n"
		 "  --search S   agent id or host name contains S\n"
		 "  --os OS      os_id, e.g. debian\n"
		 "  --stale      only hosts that stopped reporting\n"
		 "  --failing    only hosts with a failing check\n"
		 "  --limit N    hosts per page (1-1000, the collector's default is 100)\n"
		 "  --all        follow next_cursor to the last page\n",
	.opts = {Q_TEXT("search"), Q_TEXT("os"), Q_FLAG("stale"), Q_FLAG("failing"), LIMIT_OPT,
		 ALL_OPT},
	.path = "/api/v1/hosts",
	.key = "hosts",
	.view = "hosts",
	.paged = "hosts",
};

static const char *const violation_states[] = {"open", "resolved", NULL};

static const struct cmd_desc c_violations = {
	.name = "violations",
	.usage = "usage: " PROG " violations [--status open|resolved] [--severity S] [--host H]\n"
		 "                  [--control C] [--category C] [--since T] [--limit N] [--all]\n"
		 "Violations, newest first: a check that went to fail opens one, going back to\n"
		 "pass resolves it.\n"
		 "  --control C  A.8.8 in any framework, or iso27001:A.8.8\n"
		 "  --since T    opened at or after T: 2026-11-25, 2026-11-25T10:00:00Z or epoch seconds\n"
		 "  --limit N    per page (1-1000);  --all  follow next_cursor to the last page\n",
	.opts = {{.name = "status", .kind = OPT_WORD, .param = "status", .words = violation_states},
		 Q_TEXT("severity"), Q_TEXT("host"), Q_TEXT("control"), Q_TEXT("category"),
		 Q_TEXT("since"), LIMIT_OPT, ALL_OPT},
	.path = "/api/v1/violations",
	.key = "violations",
	.view = "violations",
	.paged = "violations",
};

/* --- host ID ------------------------------------------------------------------------------- */

static const char host_usage[] =
	"usage: " PROG " host ID\n"
	"One host (by agent id): its facts and scores, then the latest result of\n"
	"each of its checks.  --format json prints the API's host document with a\n"
	"\"results\" member added (every page of /api/v1/hosts/ID/results), the shape\n"
	"hosts have in evidence snapshots; --format csv prints the results.\n";

static int run_host(struct ctx *x, const struct cmd_desc *d, const char *const *val, char **args)
{
	json_t *host = NULL, *res = NULL, *rows = NULL;
	struct strbuf raw, p;
	char *id = NULL;
	int st;

	(void)val;
	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&raw, 0);
	strbuf_init(&p, 64 * 1024);
	if ((id = client_escape(&x->cl, args[0])) == NULL ||
	    strbuf_appendf(&p, "/api/v1/hosts/%s", id) != 0) {
		st = usage_error(d->usage, "the agent id is too long");
		goto out;
	}
	st = call(x, "GET", p.data, NULL, CLIENT_MAX_BODY, &host, NULL);
	if (st != 0)
		goto out;
	strbuf_reset(&p);
	if (strbuf_appendf(&p, "/api/v1/hosts/%s/results?limit=1000", id) != 0) {
		st = EXIT_USAGE;
		goto out;
	}
	st = pages(x, p.data, "results", true, &res, &raw);
	if (st != 0)
		goto out;
	if (!json_is_object(host)) {
		say("the collector's host document is not an object");
		st = EXIT_USAGE;
		goto out;
	}
	json_object_set(host, "results", json_object_get(res, "results"));
	if (x->format == OUT_TABLE) {
		json_t *facts = json_deep_copy(host);

		json_object_del(facts, "results");
		if (fmt_field_rows(facts, &rows) != 0) {
			json_decref(facts);
			st = EXIT_USAGE;
			goto out;
		}
		json_decref(facts);
		st = emit(x, "fields", rows, NULL, NULL);
		if (st == 0) {
			fputc('\n', stdout);
			st = emit(x, "results", json_object_get(res, "results"), NULL, NULL);
		}
	} else {
		st = emit(x, "results", json_object_get(res, "results"), host, NULL);
	}
out:
	free(id);
	json_decref(rows);
	json_decref(host);
	json_decref(res);
	strbuf_cleanup(&raw);
	strbuf_cleanup(&p);
	return st;
}

static const struct cmd_desc c_host = {
	.name = "host",
	.usage = host_usage,
	.nargs = 1,
	.args_msg = "host takes one agent id",
	.run = run_host,
};

/* --- evidence -------------------------------------------------------------------------------- */

static const char ev_create_usage[] =
	"usage: " PROG " evidence create [--host H] [--search S] [--control C]\n"
	"Take a signed evidence snapshot of the collector's state now (role auditor\n"
	"or admin).  Scope: --host keeps one host, --search the hosts whose agent id\n"
	"or name contains S, --control the results mapped to a control (A.8.8 or\n"
	"iso27001:A.8.8); none: the whole fleet.  Prints the new snapshot's id, seq\n"
	"and sha256; pull it with \"evidence pull ID --out FILE\".\n";

/* POST a scope of the options' parameters, {"scope": {"host": H, ...}}. */
static int run_ev_create(struct ctx *x, const struct cmd_desc *d, const char *const *val,
			 char **args)
{
	json_t *scope, *body, *doc = NULL, *rows = NULL;
	struct strbuf raw;
	char *text;
	int st;

	(void)args;
	scope = json_object();
	for (size_t i = 0; i < OPTS_MAX && d->opts[i].name != NULL; i++) {
		if (d->opts[i].param == NULL || val[i] == NULL)
			continue;
		/* json_string() refuses text that is not UTF-8: never drop a scope member. */
		if (scope == NULL ||
		    json_object_set_new(scope, d->opts[i].param, json_string(val[i])) != 0) {
			json_decref(scope);
			fprintf(stderr, PROG ": evidence create: --%s is not valid UTF-8; give the "
				"host, search or control as UTF-8 text\n", d->opts[i].name);
			return EXIT_USAGE;
		}
	}
	body = json_pack("{s:o}", "scope", scope);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL) {
		fprintf(stderr, PROG ": evidence create: out of memory\n");
		return EXIT_USAGE;
	}
	strbuf_init(&raw, 0);
	st = call(x, "POST", "/api/v1/evidence", text, CLIENT_MAX_BODY, &doc, &raw);
	free(text);
	if (st == 0) {
		rows = json_array();
		json_array_append(rows, doc);
		st = emit(x, "evidence", rows, doc, &raw);
	}
	json_decref(rows);
	json_decref(doc);
	strbuf_cleanup(&raw);
	return st;
}

static const struct cmd_desc c_ev_create = {
	.name = "evidence create",
	.usage = ev_create_usage,
	.opts = {Q_TEXT("host"), Q_TEXT("search"), Q_TEXT("control")}, /* scope members */
	.run = run_ev_create,
};

static const struct cmd_desc c_ev_list = {
	.name = "evidence list",
	.usage = "usage: " PROG " evidence list [--limit N] [--all]\n"
		 "The evidence snapshots taken, by sequence number: id, seq, when, by whom,\n"
		 "scope, size and the snapshot's sha256.\n",
	.opts = {LIMIT_OPT, ALL_OPT},
	.path = "/api/v1/evidence",
	.key = "evidence",
	.view = "evidence",
	.paged = "snapshots",
};

/*
 * Write len bytes to path with mode 0644: never over an existing file
 * unless force, and then through a temporary file renamed into place, so
 * that a reader never sees half a file.
 */
static int write_file(const char *path, const char *buf, size_t len, bool force,
		      struct pst_err *e)
{
	char *tmp = NULL;
	const char *target = path;
	int fd, rc = 0;

	if (force) {
		if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
			return pst_err_set(e, PST_E_NOMEM, "out of memory");
		target = tmp;
	}
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = pst_err_set(e, PST_E_USAGE, "%s: %s%s", target, strerror(errno),
				 errno == EEXIST && !force ? "; it is kept: give --force to replace it"
							   : "");
		free(tmp);
		return rc;
	}
	if (fchmod(fd, 0644) != 0)
		rc = pst_err_set(e, PST_E_USAGE, "%s: chmod: %s", target, strerror(errno));
	for (size_t off = 0; rc == 0 && off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = pst_err_set(e, PST_E_USAGE, "%s: write: %s", target, strerror(errno));
		else
			off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = pst_err_set(e, PST_E_USAGE, "%s: fsync: %s", target, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = pst_err_set(e, PST_E_USAGE, "%s: close: %s", target, strerror(errno));
	if (rc == 0 && tmp != NULL && rename(tmp, path) != 0)
		rc = pst_err_set(e, PST_E_USAGE, "%s: rename: %s", path, strerror(errno));
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* GET the collector's evidence public key; *key and its PEM text. */
static int fetch_key(struct ctx *x, EVP_PKEY **key, struct strbuf *pem)
{
	struct pst_err e = {0};
	int st;

	st = call(x, "GET", "/api/v1/evidence/key", NULL, KEY_MAX, NULL, pem);
	if (st != 0)
		return st;
	if (evsig_public_from_pem(pem->data ? pem->data : "", pem->len, key, &e) != 0) {
		pst_err_prefix(&e, "GET /api/v1/evidence/key");
		return fail(&e, EXIT_USAGE);
	}
	return 0;
}

static const char ev_key_usage[] =
	"usage: " PROG " evidence key --out FILE [--force]\n"
	"Fetch the collector's evidence public key (PEM) over verified TLS, write it\n"
	"to FILE (mode 0644; an existing FILE is kept unless --force) and print its\n"
	"key_id (the SHA-256 of the raw Ed25519 key), to compare with the one the\n"
	"collector's operator gives you and with the key_id in snapshots.\n";

static int run_ev_key(struct ctx *x, const struct cmd_desc *d, const char *const *val, char **args)
{
	const char *outp = opt_val(d, val, "out");
	bool force = opt_val(d, val, "force") != NULL;
	EVP_PKEY *key = NULL;
	struct strbuf pem;
	struct pst_err e = {0};
	char kid[65];
	int st;

	(void)args;
	strbuf_init(&pem, 0);
	st = fetch_key(x, &key, &pem);
	if (st == 0 && evsig_key_id(key, kid, &e) != 0)
		st = fail(&e, EXIT_USAGE);
	if (st == 0 && write_file(outp, pem.data, pem.len, force, &e) != 0)
		st = fail(&e, EXIT_USAGE);
	if (st == 0)
		printf("key_id %s\nwritten to %s\n", kid, outp);
	EVP_PKEY_free(key);
	strbuf_cleanup(&pem);
	return st;
}

#define EV_KEY_NEEDS "evidence key needs --out FILE"

static const struct cmd_desc c_ev_key = {
	.name = "evidence key",
	.usage = ev_key_usage,
	.opts = {O_TEXT("out", EV_KEY_NEEDS), O_FLAG("force")},
	.args_msg = EV_KEY_NEEDS,
	.run = run_ev_key,
};

static const char ev_pull_usage[] =
	"usage: " PROG " evidence pull ID --out FILE [--force]\n"
	"Download snapshot ID (ev-00000001, ...) and write its exact bytes to FILE\n"
	"(mode 0644; an existing FILE is kept unless --force).  The SHA-256 of the\n"
	"snapshot in the download must equal the collector's ETag, else nothing is\n"
	"written (exit 1).  Verify the file with \"evidence verify FILE --key KEY\".\n";

/* The ETag's value without W/ and quotes. */
static void etag_value(const char *etag, char *out, size_t cap)
{
	size_t n;

	if (strncmp(etag, "W/", 2) == 0)
		etag += 2;
	n = strlen(etag);
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		etag++;
		n -= 2;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, etag, n);
	out[n] = '\0';
}

static int run_ev_pull(struct ctx *x, const struct cmd_desc *d, const char *const *val, char **args)
{
	const char *outp = opt_val(d, val, "out");
	bool force = opt_val(d, val, "force") != NULL;
	struct client_resp r;
	struct pst_err e = {0};
	struct strbuf p;
	char *id = NULL, hex[65], tag[160];
	int st;

	if (!force && access(outp, F_OK) == 0) {
		fprintf(stderr, PROG ": %s exists; it is kept: give --force to replace it\n", outp);
		return EXIT_USAGE;
	}
	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&p, 4096);
	memset(&r, 0, sizeof(r));
	if ((id = client_escape(&x->cl, args[0])) == NULL ||
	    strbuf_appendf(&p, "/api/v1/evidence/%s", id) != 0) {
		st = usage_error(d->usage, "the id is too long");
		goto out;
	}
	if (client_request(&x->cl, "GET", p.data, NULL, CLIENT_MAX_EVIDENCE, &r, &e) != 0) {
		st = fail(&e, EXIT_USAGE);
		goto out;
	}
	if (r.status != 200) {
		client_error_message(&r, p.data, &e);
		st = fail(&e, EXIT_NO);
		goto out;
	}
	etag_value(r.etag, tag, sizeof(tag));
	if (evsig_snapshot_sha256(r.body.data ? r.body.data : "", r.body.len, hex, &e) != 0) {
		pst_err_prefix(&e, "%s: the download is not an evidence envelope", p.data);
		st = fail(&e, EXIT_NO);
		goto out;
	}
	if (tag[0] == '\0' || strcmp(tag, hex) != 0) {
		fprintf(stderr,
			PROG ": %s: the downloaded snapshot's sha256 %s does not match the "
			"collector's ETag \"%s\"; the download was altered or cut: nothing written\n",
			p.data, hex, tag);
		st = EXIT_NO;
		goto out;
	}
	if (write_file(outp, r.body.data, r.body.len, force, &e) != 0) {
		st = fail(&e, EXIT_USAGE);
		goto out;
	}
	printf("pulled %s to %s (%zu bytes, snapshot sha256 %s = ETag)\n", args[0], outp,
	       r.body.len, hex);
out:
	client_resp_cleanup(&r);
	strbuf_cleanup(&p);
	free(id);
	return st;
}

#define EV_PULL_NEEDS "evidence pull needs ID and --out FILE"

static const struct cmd_desc c_ev_pull = {
	.name = "evidence pull",
	.usage = ev_pull_usage,
	.opts = {O_TEXT("out", EV_PULL_NEEDS), O_FLAG("force")},
	.nargs = 1,
	.args_msg = EV_PULL_NEEDS,
	.run = run_ev_pull,
};

static const char ev_verify_usage[] =
	"usage: " PROG " evidence verify FILE [--key FILE] [--previous FILE]\n"
	"Verify a snapshot file offline (docs/evidence.md, steps 1-6): canonical\n"
	"JSON, formats, key_id, sha256 and the Ed25519 signature; with --previous,\n"
	"that FILE directly follows it in the chain (seq, previous_sha256, time).\n"
	"--key is the collector's evidence.pub (from init, or \"evidence key\").\n"
	"Without --key the key is fetched from the collector over verified TLS, and\n"
	"the output says so.  Exit 1 names the file and the step that failed.\n";

static const char ev_chain_usage[] =
	"usage: " PROG " evidence verify-chain DIR --key FILE\n"
	"Verify every *.json in DIR (steps 1-5) and that, ordered by seq, they form\n"
	"one unbroken chain from one collector: consecutive seq, no duplicate, each\n"
	"naming the sha256 of the one before.  A chain starting after seq 1 is\n"
	"reported as such.\n";

/* verify FILE, or with chain verify-chain DIR; the key from --key or the collector. */
static int ev_verify(struct ctx *x, const struct cmd_desc *d, const char *const *val,
		     const char *path, bool chain)
{
	const char *keyp = opt_val(d, val, "key"), *prev = opt_val(d, val, "previous");
	EVP_PKEY *key = NULL;
	struct pst_err e = {0};
	struct strbuf pem;
	int st = 0;

	strbuf_init(&pem, 0);
	if (keyp != NULL) {
		if (evsig_load_public(keyp, &key, &e) != 0) {
			st = fail(&e, EXIT_USAGE);
			goto out;
		}
	} else {
		st = fetch_key(x, &key, &pem);
		if (st != 0)
			goto out;
		printf("key: fetched from %s/api/v1/evidence/key over TLS verified against %s; "
		       "for an offline check give --key FILE\n",
		       x->cl.base, x->s.cacert ? x->s.cacert : "the system's CA store");
	}
	if (chain)
		st = verify_chain(path, key, stdout, &e);
	else
		st = verify_file(path, prev, key, stdout, &e);
	if (st != 0)
		st = fail(&e, st == PST_E_INVAL || st == PST_E_PARSE ? EXIT_NO : EXIT_USAGE);
out:
	EVP_PKEY_free(key);
	strbuf_cleanup(&pem);
	return st;
}

static int run_ev_verify(struct ctx *x, const struct cmd_desc *d, const char *const *val,
			 char **args)
{
	return ev_verify(x, d, val, args[0], false);
}

static int run_ev_chain(struct ctx *x, const struct cmd_desc *d, const char *const *val,
			char **args)
{
	return ev_verify(x, d, val, args[0], true);
}

static const struct cmd_desc c_ev_verify = {
	.name = "evidence verify",
	.usage = ev_verify_usage,
	.opts = {O_TEXT("key", NULL), O_TEXT("previous", NULL)},
	.nargs = 1,
	.args_msg = "verify needs one FILE",
	.run = run_ev_verify,
};

static const struct cmd_desc c_ev_chain = {
	.name = "evidence verify-chain",
	.usage = ev_chain_usage,
	.opts = {O_TEXT("key", "verify-chain needs --key FILE"),
		 {.name = "previous", .kind = OPT_REFUSE, .msg = "verify-chain takes no --previous"}},
	.nargs = 1,
	.args_msg = "verify-chain needs one DIR",
	.run = run_ev_chain,
};

static const struct cmd_desc *const evidence_cmds[] = {
	&c_ev_create, &c_ev_list, &c_ev_key, &c_ev_pull, &c_ev_verify, &c_ev_chain,
};

static const char evidence_usage[] =
	"usage: " PROG " evidence create [--host H] [--search S] [--control C]\n"
	"       " PROG " evidence list [--limit N] [--all]\n"
	"       " PROG " evidence key --out FILE [--force]\n"
	"       " PROG " evidence pull ID --out FILE [--force]\n"
	"       " PROG " evidence verify FILE [--key FILE] [--previous FILE]\n"
	"       " PROG " evidence verify-chain DIR --key FILE\n"
	"Signed, hash-chained snapshots of the collector's state (docs/evidence.md).\n"
	"\"" PROG " evidence SUBCOMMAND --help\" tells more.\n";

static int cmd_evidence(struct ctx *x, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL)
		return usage_error(evidence_usage, "evidence needs a subcommand");
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		fputs(evidence_usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(evidence_cmds) / sizeof(evidence_cmds[0]); i++)
		if (strcmp(evidence_cmds[i]->name + strlen("evidence "), sub) == 0)
			return run_cmd(x, evidence_cmds[i], argc - 1, argv + 1);
	return usage_error(evidence_usage, "unknown evidence subcommand");
}

/* --- main ------------------------------------------------------------------------------------ */

/* The commands but evidence, which has subcommands. */
static const struct cmd_desc *const commands[] = {
	&c_summary, &c_hosts, &c_host, &c_violations, &c_controls, &c_trend,
};

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"url", required_argument, NULL, 'u'},    {"token", required_argument, NULL, 't'},
		{"cacert", required_argument, NULL, 'c'}, {"config", required_argument, NULL, 'C'},
		{"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {0}};
	struct ctl_sources src = {0};
	struct ctx x;
	struct pst_err e = {0};
	int c, st = EXIT_USAGE;

	memset(&x, 0, sizeof(x));
	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (c) {
		case 'u': src.flag_url = optarg; break;
		case 't': src.flag_token = optarg; break;
		case 'c': src.flag_cacert = optarg; break;
		case 'C': src.config = optarg; break;
		case 'f':
			if (parse_format(&x, optarg) != 0)
				return usage_error(usage_text, "--format: one of table, json, csv");
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf(PROG " " POSTURE_VERSION "\n"); return 0;
		default: fputs(usage_text, stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error(usage_text, "no command");
	src.env_url = getenv("POSTURE_URL");
	src.env_token = getenv("POSTURE_TOKEN");
	src.home = getenv("HOME");
	if (settings_resolve(&src, &x.s, &e) != 0)
		return fail(&e, EXIT_USAGE);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		settings_cleanup(&x.s);
		say("cannot initialise libcurl");
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "evidence") == 0) {
		st = cmd_evidence(&x, argc, argv);
		goto done;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i]->name, argv[0]) == 0) {
			st = run_cmd(&x, commands[i], argc, argv);
			goto done;
		}
	}
	st = usage_error(usage_text, "unknown command");
done:
	if (x.have_client)
		client_cleanup(&x.cl);
	settings_cleanup(&x.s);
	curl_global_cleanup();
	return st;
}
