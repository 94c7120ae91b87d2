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

/* --- summary, controls, trend ---------------------------------------------------------- */

static const char summary_usage[] =
	"usage: " PROG " summary\n"
	"The fleet: its score, pass and fail counts, per category, severity and\n"
	"policy, errors and not-applicable results, hosts (total, stale, reporting)\n"
	"and open violations (by severity and age).  --format json prints the API's\n"
	"GET /api/v1/summary document as received.\n";

static int cmd_summary(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS, {0}};
	json_t *doc = NULL, *rows = NULL;
	struct strbuf raw;
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, summary_usage, &st)) != -1)
		if (c == '?')
			return st;
	if (optind != argc)
		return usage_error(summary_usage, "summary takes no arguments");
	strbuf_init(&raw, 0);
	st = call(x, "GET", "/api/v1/summary", NULL, CLIENT_MAX_BODY, &doc, &raw);
	if (st == 0 && fmt_summary_rows(doc, &rows) != 0)
		st = EXIT_USAGE;
	if (st == 0)
		st = emit(x, "summary", rows, doc, &raw);
	json_decref(rows);
	json_decref(doc);
	strbuf_cleanup(&raw);
	return st;
}

static const char controls_usage[] =
	"usage: " PROG " controls [--framework F]\n"
	"Every control the policies map to (ISO 27001 Annex A, CIS, NIST ...): its\n"
	"score, pass and fail counts, failing hosts and hosts.  --framework keeps one\n"
	"framework (iso27001, cis_debian12, nist_800_53, ...).\n";

static int simple_list(struct ctx *x, const char *path, const char *key, const char *view)
{
	json_t *doc = NULL;
	struct strbuf raw;
	int st;

	strbuf_init(&raw, 0);
	st = call(x, "GET", path, NULL, CLIENT_MAX_BODY, &doc, &raw);
	if (st == 0)
		st = emit(x, view, json_object_get(doc, key), doc, &raw);
	json_decref(doc);
	strbuf_cleanup(&raw);
	return st;
}

static int cmd_controls(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS, {"framework", required_argument, NULL, 'f'}, {0}};
	const char *fw = NULL;
	struct strbuf q;
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, controls_usage, &st)) != -1) {
		if (c == '?')
			return st;
		if (c == 'f')
			fw = optarg;
	}
	if (optind != argc)
		return usage_error(controls_usage, "controls takes no arguments");
	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&q, 64 * 1024);
	if (strbuf_appends(&q, "/api/v1/controls") != 0 || query_add(x, &q, "framework", fw) != 0)
		st = usage_error(controls_usage, "--framework is too long");
	else
		st = simple_list(x, q.data, "controls", "controls");
	strbuf_cleanup(&q);
	return st;
}

static const char trend_usage[] =
	"usage: " PROG " trend [--days N]\n"
	"The daily fleet score over the last N UTC days (default 30, at most 3660),\n"
	"oldest first; days without data are left out.\n";

static int cmd_trend(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS, {"days", required_argument, NULL, 'd'}, {0}};
	const char *days = NULL;
	struct strbuf q;
	long n;
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, trend_usage, &st)) != -1) {
		if (c == '?')
			return st;
		if (c == 'd')
			days = optarg;
	}
	if (optind != argc)
		return usage_error(trend_usage, "trend takes no arguments");
	if (days != NULL && !parse_count(days, 1, 3660, &n))
		return usage_error(trend_usage, "--days: a whole number from 1 to 3660");
	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&q, 1024);
	if (strbuf_appends(&q, "/api/v1/trend") != 0 || query_add(x, &q, "days", days) != 0)
		st = EXIT_USAGE;
	else
		st = simple_list(x, q.data, "points", "trend");
	strbuf_cleanup(&q);
	return st;
}

/* --- lists: hosts, violations, evidence list ------------------------------------------- */

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

static const char hosts_usage[] =
	"usage: " PROG " hosts [--search S] [--os OS] [--stale] [--failing] [--limit N] [--all]\n"
	"Hosts by agent id: score, pass/fail/error/not-applicable counts, failing\n"
	"critical and high checks, staleness and last report.\n"
	"  --search S   agent id or host name contains S\n"
	"  --os OS      os_id, e.g. debian\n"
	"  --stale      only hosts that stopped reporting\n"
	"  --failing    only hosts with a failing check\n"
	"  --limit N    hosts per page (1-1000, the collector's default is 100)\n"
	"  --all        follow next_cursor to the last page\n";

static int cmd_hosts(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS,
					   {"search", required_argument, NULL, 's'},
					   {"os", required_argument, NULL, 'o'},
					   {"stale", no_argument, NULL, 'S'},
					   {"failing", no_argument, NULL, 'F'},
					   {"limit", required_argument, NULL, 'l'},
					   {"all", no_argument, NULL, 'a'},
					   {0}};
	const char *search = NULL, *os = NULL, *limit = NULL;
	bool stale = false, failing = false, all = false;
	struct strbuf q;
	long n;
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, hosts_usage, &st)) != -1) {
		switch (c) {
		case '?': return st;
		case 's': search = optarg; break;
		case 'o': os = optarg; break;
		case 'S': stale = true; break;
		case 'F': failing = true; break;
		case 'l': limit = optarg; break;
		case 'a': all = true; break;
		}
	}
	if (optind != argc)
		return usage_error(hosts_usage, "hosts takes no arguments");
	if (limit != NULL && !parse_count(limit, 1, 1000, &n))
		return usage_error(hosts_usage, "--limit: a whole number from 1 to 1000");
	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&q, 64 * 1024);
	if (strbuf_appends(&q, "/api/v1/hosts") != 0 || query_add(x, &q, "search", search) != 0 ||
	    query_add(x, &q, "os", os) != 0 || query_add(x, &q, "stale", stale ? "true" : NULL) != 0 ||
	    query_add(x, &q, "failing", failing ? "true" : NULL) != 0 ||
	    query_add(x, &q, "limit", limit) != 0)
		st = usage_error(hosts_usage, "the options are too long");
	else
		st = list(x, q.data, "hosts", "hosts", all, "hosts");
	strbuf_cleanup(&q);
	return st;
}

static const char violations_usage[] =
	"usage: " PROG " violations [--status open|resolved] [--severity S] [--host H]\n"
	"                  [--control C] [--category C] [--since T] [--limit N] [--all]\n"
	"Violations, newest first: a check that went to fail opens one, going back to\n"
	"pass resolves it.\n"
	"  --control C  A.8.8 in any framework, or iso27001:A.8.8\n"
	"  --since T    opened at or after T: 2026-11-25, 2026-11-25T10:00:00Z or epoch seconds\n"
	"  --limit N    per page (1-1000);  --all  follow next_cursor to the last page\n";

static int cmd_violations(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS,
					   {"status", required_argument, NULL, 's'},
					   {"severity", required_argument, NULL, 'v'},
					   {"host", required_argument, NULL, 'H'},
					   {"control", required_argument, NULL, 'c'},
					   {"category", required_argument, NULL, 'C'},
					   {"since", required_argument, NULL, 't'},
					   {"limit", required_argument, NULL, 'l'},
					   {"all", no_argument, NULL, 'a'},
					   {0}};
	const char *v[7] = {NULL};
	static const char *const names[7] = {"status", "severity", "host", "control",
					     "category", "since", "limit"};
	bool all = false;
	struct strbuf q;
	long n;
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, violations_usage, &st)) != -1) {
		switch (c) {
		case '?': return st;
		case 's': v[0] = optarg; break;
		case 'v': v[1] = optarg; break;
		case 'H': v[2] = optarg; break;
		case 'c': v[3] = optarg; break;
		case 'C': v[4] = optarg; break;
		case 't': v[5] = optarg; break;
		case 'l': v[6] = optarg; break;
		case 'a': all = true; break;
		}
	}
	if (optind != argc)
		return usage_error(violations_usage, "violations takes no arguments");
	if (v[0] != NULL && strcmp(v[0], "open") != 0 && strcmp(v[0], "resolved") != 0)
		return usage_error(violations_usage, "--status: open or resolved");
	if (v[6] != NULL && !parse_count(v[6], 1, 1000, &n))
		return usage_error(violations_usage, "--limit: a whole number from 1 to 1000");
	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&q, 64 * 1024);
	st = strbuf_appends(&q, "/api/v1/violations");
	for (int i = 0; i < 7 && st == 0; i++)
		st = query_add(x, &q, names[i], v[i]);
	if (st != 0)
		st = usage_error(violations_usage, "the options are too long");
	else
		st = list(x, q.data, "violations", "violations", all, "violations");
	strbuf_cleanup(&q);
	return st;
}

/* --- host ID ------------------------------------------------------------------------------- */

static const char host_usage[] =
	"usage: " PROG " host ID\n"
	"One host (by agent id): its facts and scores, then the latest result of\n"
	"each of its checks.  --format json prints the API's host document with a\n"
	"\"results\" member added (every page of /api/v1/hosts/ID/results), the shape\n"
	"hosts have in evidence snapshots; --format csv prints the results.\n";

static int cmd_host(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS, {0}};
	json_t *host = NULL, *res = NULL, *rows = NULL;
	struct strbuf raw, p;
	char *id = NULL;
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, host_usage, &st)) != -1)
		if (c == '?')
			return st;
	if (optind + 1 != argc)
		return usage_error(host_usage, "host takes one agent id");
	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&raw, 0);
	strbuf_init(&p, 64 * 1024);
	if ((id = client_escape(&x->cl, argv[optind])) == NULL ||
	    strbuf_appendf(&p, "/api/v1/hosts/%s", id) != 0) {
		st = usage_error(host_usage, "the agent id is too long");
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

/* --- evidence -------------------------------------------------------------------------------- */

static const char ev_create_usage[] =
	"usage: " PROG " evidence create [--host H] [--search S] [--control C]\n"
	"Take a signed evidence snapshot of the collector's state now (role auditor\n"
	"or admin).  Scope: --host keeps one host, --search the hosts whose agent id\n"
	"or name contains S, --control the results mapped to a control (A.8.8 or\n"
	"iso27001:A.8.8); none: the whole fleet.  Prints the new snapshot's id, seq\n"
	"and sha256; pull it with \"evidence pull ID --out FILE\".\n";

static int cmd_ev_create(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS,
					   {"host", required_argument, NULL, 'H'},
					   {"search", required_argument, NULL, 's'},
					   {"control", required_argument, NULL, 'c'},
					   {0}};
	const char *host = NULL, *search = NULL, *control = NULL;
	json_t *scope, *body, *doc = NULL, *rows = NULL;
	struct strbuf raw;
	char *text;
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, ev_create_usage, &st)) != -1) {
		switch (c) {
		case '?': return st;
		case 'H': host = optarg; break;
		case 's': search = optarg; break;
		case 'c': control = optarg; break;
		}
	}
	if (optind != argc)
		return usage_error(ev_create_usage, "evidence create takes no arguments");
	scope = json_object();
	if (host)
		json_object_set_new(scope, "host", json_string(host));
	if (search)
		json_object_set_new(scope, "search", json_string(search));
	if (control)
		json_object_set_new(scope, "control", json_string(control));
	body = json_pack("{s:o}", "scope", scope);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL)
		return usage_error(ev_create_usage, "the scope is not valid UTF-8");
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

static const char ev_list_usage[] =
	"usage: " PROG " evidence list [--limit N] [--all]\n"
	"The evidence snapshots taken, by sequence number: id, seq, when, by whom,\n"
	"scope, size and the snapshot's sha256.\n";

static int cmd_ev_list(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS,
					   {"limit", required_argument, NULL, 'l'},
					   {"all", no_argument, NULL, 'a'},
					   {0}};
	const char *limit = NULL;
	bool all = false;
	struct strbuf q;
	long n;
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, ev_list_usage, &st)) != -1) {
		if (c == '?')
			return st;
		if (c == 'l')
			limit = optarg;
		if (c == 'a')
			all = true;
	}
	if (optind != argc)
		return usage_error(ev_list_usage, "evidence list takes no arguments");
	if (limit != NULL && !parse_count(limit, 1, 1000, &n))
		return usage_error(ev_list_usage, "--limit: a whole number from 1 to 1000");
	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&q, 1024);
	if (strbuf_appends(&q, "/api/v1/evidence") != 0 || query_add(x, &q, "limit", limit) != 0)
		st = EXIT_USAGE;
	else
		st = list(x, q.data, "evidence", "evidence", all, "snapshots");
	strbuf_cleanup(&q);
	return st;
}

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

static int cmd_ev_key(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS,
					   {"out", required_argument, NULL, 'o'},
					   {"force", no_argument, NULL, 'f'},
					   {0}};
	const char *outp = NULL;
	bool force = false;
	EVP_PKEY *key = NULL;
	struct strbuf pem;
	struct pst_err e = {0};
	char kid[65];
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, ev_key_usage, &st)) != -1) {
		if (c == '?')
			return st;
		if (c == 'o')
			outp = optarg;
		if (c == 'f')
			force = true;
	}
	if (optind != argc || outp == NULL)
		return usage_error(ev_key_usage, "evidence key needs --out FILE");
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

static int cmd_ev_pull(struct ctx *x, int argc, char **argv)
{
	static const struct option lo[] = {COMMON_OPTS,
					   {"out", required_argument, NULL, 'o'},
					   {"force", no_argument, NULL, 'f'},
					   {0}};
	const char *outp = NULL;
	bool force = false;
	struct client_resp r;
	struct pst_err e = {0};
	struct strbuf p;
	char *id = NULL, hex[65], tag[160];
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, ev_pull_usage, &st)) != -1) {
		if (c == '?')
			return st;
		if (c == 'o')
			outp = optarg;
		if (c == 'f')
			force = true;
	}
	if (optind + 1 != argc || outp == NULL)
		return usage_error(ev_pull_usage, "evidence pull needs ID and --out FILE");
	if (!force && access(outp, F_OK) == 0) {
		fprintf(stderr, PROG ": %s exists; it is kept: give --force to replace it\n", outp);
		return EXIT_USAGE;
	}
	if ((st = need_client(x)) != 0)
		return st;
	strbuf_init(&p, 4096);
	memset(&r, 0, sizeof(r));
	if ((id = client_escape(&x->cl, argv[optind])) == NULL ||
	    strbuf_appendf(&p, "/api/v1/evidence/%s", id) != 0) {
		st = usage_error(ev_pull_usage, "the id is too long");
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
	if (verify_snapshot_sha256(r.body.data ? r.body.data : "", r.body.len, hex, &e) != 0) {
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
	printf("pulled %s to %s (%zu bytes, snapshot sha256 %s = ETag)\n", argv[optind], outp,
	       r.body.len, hex);
out:
	client_resp_cleanup(&r);
	strbuf_cleanup(&p);
	free(id);
	return st;
}

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

static int cmd_ev_verify(struct ctx *x, int argc, char **argv, bool chain)
{
	static const struct option lo[] = {COMMON_OPTS,
					   {"key", required_argument, NULL, 'k'},
					   {"previous", required_argument, NULL, 'p'},
					   {0}};
	const char *u = chain ? ev_chain_usage : ev_verify_usage;
	const char *keyp = NULL, *prev = NULL;
	EVP_PKEY *key = NULL;
	struct pst_err e = {0};
	struct strbuf pem;
	int c, st = 0;

	while ((c = next_opt(x, argc, argv, "", lo, u, &st)) != -1) {
		if (c == '?')
			return st;
		if (c == 'k')
			keyp = optarg;
		if (c == 'p' && !chain)
			prev = optarg;
		else if (c == 'p')
			return usage_error(u, "verify-chain takes no --previous");
	}
	if (optind + 1 != argc)
		return usage_error(u, chain ? "verify-chain needs one DIR" : "verify needs one FILE");
	if (chain && keyp == NULL)
		return usage_error(u, "verify-chain needs --key FILE");
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
		st = verify_chain(argv[optind], key, stdout, &e);
	else
		st = verify_file(argv[optind], prev, key, stdout, &e);
	if (st != 0)
		st = fail(&e, st == PST_E_INVAL || st == PST_E_PARSE ? EXIT_NO : EXIT_USAGE);
out:
	EVP_PKEY_free(key);
	strbuf_cleanup(&pem);
	return st;
}

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
	argc--;
	argv++;
	optind = 0; /* 0: glibc starts over, forgetting the last argv */
	if (strcmp(sub, "create") == 0)
		return cmd_ev_create(x, argc, argv);
	if (strcmp(sub, "list") == 0)
		return cmd_ev_list(x, argc, argv);
	if (strcmp(sub, "key") == 0)
		return cmd_ev_key(x, argc, argv);
	if (strcmp(sub, "pull") == 0)
		return cmd_ev_pull(x, argc, argv);
	if (strcmp(sub, "verify") == 0)
		return cmd_ev_verify(x, argc, argv, false);
	if (strcmp(sub, "verify-chain") == 0)
		return cmd_ev_verify(x, argc, argv, true);
	return usage_error(evidence_usage, "unknown evidence subcommand");
}

/* --- main ------------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*run)(struct ctx *, int, char **);
} commands[] = {
	{"summary", cmd_summary},   {"hosts", cmd_hosts},       {"host", cmd_host},
	{"violations", cmd_violations}, {"controls", cmd_controls}, {"trend", cmd_trend},
	{"evidence", cmd_evidence},
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, argv[0]) == 0) {
			optind = 0; /* 0: glibc starts over, forgetting the last argv */
			st = commands[i].run(&x, argc, argv);
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
