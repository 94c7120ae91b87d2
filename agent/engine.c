/* engine.c - evaluation of checks and rules (engine.h). */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "strbuf.h"

const char *engine_status_name(enum check_status st)
{
	switch (st) {
	case CHECK_PASS: return "pass";
	case CHECK_FAIL: return "fail";
	case CHECK_ERROR: return "error";
	case CHECK_NOT_APPLICABLE: return "not_applicable";
	}
	return "?";
}

static int64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- evidence lists --- */

struct evlist {
	struct evidence *items;
	size_t n, cap;
	bool oom;
};

static void evidence_cleanup(struct evidence *ev)
{
	free(ev->subject);
	free(ev->observed);
	free(ev->expected);
	free(ev->location);
}

/* Append an item, taking the heap strings given (NULL subject/observed/expected mean oom). */
static void ev_take(struct evlist *l, char *subject, char *observed, char *expected, char *location,
		    bool ok)
{
	struct evidence ev = {subject, observed, expected, location, ok};

	if (l->oom || subject == NULL || observed == NULL || expected == NULL) {
		l->oom = true;
		evidence_cleanup(&ev);
		return;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4;
		struct evidence *p = realloc(l->items, ncap * sizeof(*p));
		if (p == NULL) {
			l->oom = true;
			evidence_cleanup(&ev);
			return;
		}
		l->items = p;
		l->cap = ncap;
	}
	l->items[l->n++] = ev;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

__attribute__((format(printf, 1, 2)))
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* --- comparing --- */

static char *scalar_text(const json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	return strdup(json_is_true(v) ? "true" : "false");
}

/* What the rule expects, for a person: "in [no, prohibit-password]". */
static char *expected_text(const struct rule *r)
{
	static const char *const words[] = {
		[OP_EQ] = "is", [OP_NE] = "is not", [OP_LT] = "<", [OP_LE] = "<=",
		[OP_GT] = ">", [OP_GE] = ">=", [OP_IN] = "in", [OP_NOT_IN] = "not in",
		[OP_REGEX] = "matches", [OP_NOT_REGEX] = "does not match",
	};
	struct strbuf sb;
	size_t i;
	json_t *item;
	char *t;

	switch (r->op) {
	case OP_EXISTS:
		return strdup("present");
	case OP_ABSENT:
		return strdup("nothing");
	case OP_WITHIN_MASK:
		return xasprintf("no permission bits beyond %04o", r->mask);
	case OP_REGEX:
	case OP_NOT_REGEX:
		return xasprintf("%s /%s/%s", words[r->op], json_string_value(r->expected),
				 r->ignore_case ? "i" : "");
	case OP_IN:
	case OP_NOT_IN:
		strbuf_init(&sb, 4096);
		strbuf_appendf(&sb, "%s [", words[r->op]);
		json_array_foreach(r->expected, i, item) {
			t = scalar_text(item);
			strbuf_appendf(&sb, "%s%s", i ? ", " : "", t ? t : "?");
			free(t);
		}
		strbuf_appendc(&sb, ']');
		return strbuf_take(&sb);
	default:
		t = scalar_text(r->expected);
		if (t == NULL)
			return NULL;
		{
			char *s = xasprintf("%s %s", words[r->op], t);
			free(t);
			return s;
		}
	}
}

/* The number in a value, if it has one: ints, modes, and strings that read as integers. */
static bool value_number(const struct value *v, int64_t *n)
{
	switch (v->kind) {
	case VALUE_INT:
	case VALUE_MODE:
		*n = v->i;
		return true;
	case VALUE_STRING:
		return value_parse_int(v->s, n);
	default:
		return false;
	}
}

static bool scalar_equal(const struct value *v, const json_t *exp, bool icase)
{
	int64_t a;
	unsigned mode;
	bool eq;
	char *t;

	if (json_is_integer(exp))
		return value_number(v, &a) && a == json_integer_value(exp);
	if (json_is_string(exp) && v->kind == VALUE_MODE)
		return value_parse_mode(json_string_value(exp), &mode) && (int64_t)mode == v->i;
	if (json_is_string(exp) && v->kind == VALUE_INT) {
		int64_t b;
		if (value_parse_int(json_string_value(exp), &b))
			return v->i == b;
	}
	t = value_format(v);
	if (t == NULL)
		return false;
	if (json_is_boolean(exp))
		eq = strcasecmp(t, json_is_true(exp) ? "true" : "false") == 0;
	else
		eq = icase ? strcasecmp(t, json_string_value(exp)) == 0
			   : strcmp(t, json_string_value(exp)) == 0;
	free(t);
	return eq;
}

/* Does one (present) value satisfy the rule?  *why gets a note when it cannot be compared. */
static bool satisfies(const struct rule *r, const struct value *v, const char **why)
{
	int64_t n;
	size_t i;
	json_t *item;
	bool any = false;
	char *t;

	*why = NULL;
	if (v->kind == VALUE_ABSENT)
		return false;
	switch (r->op) {
	case OP_EQ:
		return scalar_equal(v, r->expected, r->ignore_case);
	case OP_NE:
		return !scalar_equal(v, r->expected, r->ignore_case);
	case OP_IN:
	case OP_NOT_IN:
		json_array_foreach(r->expected, i, item)
			any = any || scalar_equal(v, item, r->ignore_case);
		return r->op == OP_IN ? any : !any;
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (!value_number(v, &n)) {
			*why = "not a number";
			return false;
		}
		switch (r->op) {
		case OP_LT: return n < json_integer_value(r->expected);
		case OP_LE: return n <= json_integer_value(r->expected);
		case OP_GT: return n > json_integer_value(r->expected);
		default: return n >= json_integer_value(r->expected);
		}
	case OP_REGEX:
	case OP_NOT_REGEX:
		t = value_format(v);
		if (t == NULL)
			return false;
		any = regexec(&r->re, t, 0, NULL, 0) == 0;
		free(t);
		return r->op == OP_REGEX ? any : !any;
	case OP_WITHIN_MASK:
		if (v->kind != VALUE_MODE && v->kind != VALUE_INT) {
			*why = "not a file mode";
			return false;
		}
		return (v->i & ~(int64_t)r->mask & 07777) == 0;
	case OP_EXISTS:
	case OP_ABSENT:
		break;
	}
	return false;
}

/*
 * Evidence for one observation.  A member of a counted set is not compared
 * itself (counted is true): its expected text says what it counts toward.
 */
static void ev_item(struct evlist *l, const struct rule *r, const struct observation *ob,
		    const char *why, bool ok, bool counted)
{
	char *val = ob->v.kind == VALUE_ABSENT ? strdup("not set") : value_format(&ob->v);
	char *exp = expected_text(r);
	const char *key;
	struct strbuf obs, ex;
	bool member;

	/*
	 * "PermitRootLogin yes" reads better than "yes", but a member of a set
	 * (an account, a path: the value is its own subject) needs no label.
	 */
	member = ob->subject != NULL && val != NULL && strcmp(ob->subject, val) == 0;
	key = member ? NULL : ob->key;
	strbuf_init(&obs, 8192);
	strbuf_init(&ex, 8192);
	if (key != NULL)
		strbuf_appendf(&obs, "%s ", key);
	if (counted)
		strbuf_appends(&ex, "counted toward count ");
	else if (key != NULL)
		strbuf_appendf(&ex, "%s ", key);
	strbuf_appends(&obs, val ? val : "?");
	if (ob->note != NULL && !(ob->v.kind == VALUE_ABSENT && strcmp(ob->note, "not set") == 0))
		strbuf_appendf(&obs, " (%s)", ob->note);
	if (why != NULL)
		strbuf_appendf(&obs, " [%s]", why);
	strbuf_appends(&ex, exp ? exp : "?");
	ev_take(l, xstrdup(ob->subject ? ob->subject : r->label), strbuf_take(&obs),
		strbuf_take(&ex), xstrdup(ob->location), ok);
	free(val);
	free(exp);
}

static void ev_observation(struct evlist *l, const struct rule *r, const struct observation *ob,
			   const char *why, bool ok)
{
	ev_item(l, r, ob, why, ok, false);
}

/* One item standing for the whole rule: "nothing found", a count, an error. */
static void ev_rule(struct evlist *l, const struct rule *r, char *observed, char *expected, bool ok)
{
	ev_take(l, strdup(r->label), observed, expected, NULL, ok);
}

static void ev_more(struct evlist *l, const struct rule *r, size_t more, bool ok)
{
	if (more > 0)
		ev_rule(l, r, xasprintf("... and %zu more", more), strdup("(as above)"), ok);
}

/* A variable rule observes the variable's value; the empty string is absent. */
static int observe_variable(const struct rule *r, struct probe_out *out)
{
	const json_t *v = r->var_value;
	struct value val;

	if (json_is_string(v) && json_string_length(v) == 0) {
		int rc = probe_out_add(out, NULL, NULL, NULL, 0, value_absent());
		return rc < 0 ? rc : probe_out_note(out, "empty");
	}
	if (json_is_integer(v))
		val = value_int((int64_t)json_integer_value(v));
	else if (json_is_boolean(v))
		val = value_bool(json_is_true(v));
	else if ((val = value_str(json_string_value(v))).kind == VALUE_ABSENT)
		return probe_out_fail(out, PST_E_NOMEM, "out of memory");
	return probe_out_add(out, NULL, NULL, NULL, 0, val);
}

static enum check_status eval_rule(const struct rule *r, const struct probe_ctx *ctx,
				   struct evlist *l, struct strbuf *reason)
{
	struct probe_out out;
	enum check_status st;
	size_t i, present = 0, shown = 0, bad = 0;
	struct verdict {
		bool ok;
		const char *why; /* why it could not be compared, or NULL */
	} *verdicts;
	const char *why;
	int rc;

	probe_out_init(&out);
	rc = r->probe != NULL ? r->probe->run(ctx, r->params, &out) : observe_variable(r, &out);
	if (rc < 0) {
		const char *msg = out.reason[0] ? out.reason : pst_strerror(rc);
		char *one = xasprintf("%s: %s", r->label, msg);
		/* Two rules over the same probe fail for the same reason: say it once. */
		if (one != NULL && strstr(strbuf_peek(reason), one) == NULL)
			strbuf_appendf(reason, "%s%s", reason->len ? "; " : "", one);
		free(one);
		ev_rule(l, r, xasprintf("error: %s", msg), expected_text(r), false);
		probe_out_cleanup(&out);
		return CHECK_ERROR;
	}
	for (i = 0; i < out.n; i++)
		present += out.items[i].v.kind != VALUE_ABSENT;

	if (r->count) {
		struct observation ob = {0};
		ob.key = "count";
		ob.v = value_int((int64_t)present);
		st = satisfies(r, &ob.v, &why) ? CHECK_PASS : CHECK_FAIL;
		ev_observation(l, r, &ob, why, st == CHECK_PASS);
		for (i = 0; i < out.n && shown < ENGINE_MAX_EVIDENCE_PER_RULE; i++) {
			if (out.items[i].v.kind == VALUE_ABSENT)
				continue;
			ev_item(l, r, &out.items[i], NULL, st == CHECK_PASS, true);
			shown++;
		}
		ev_more(l, r, present - shown, st == CHECK_PASS);
		probe_out_cleanup(&out);
		return st;
	}

	if (r->op == OP_EXISTS || r->op == OP_ABSENT) {
		st = (present > 0) == (r->op == OP_EXISTS) ? CHECK_PASS : CHECK_FAIL;
		if (present == 0) {
			/* Absent observations may still say where the probe looked. */
			for (i = 0; i < out.n && shown < ENGINE_MAX_EVIDENCE_PER_RULE; i++, shown++)
				ev_observation(l, r, &out.items[i], NULL, st == CHECK_PASS);
			if (out.n == 0)
				ev_rule(l, r, strdup("nothing"), expected_text(r), st == CHECK_PASS);
		}
		for (i = 0; i < out.n && shown < ENGINE_MAX_EVIDENCE_PER_RULE; i++) {
			if (out.items[i].v.kind == VALUE_ABSENT)
				continue;
			ev_observation(l, r, &out.items[i], NULL, st == CHECK_PASS);
			shown++;
		}
		ev_more(l, r, present > shown ? present - shown : 0, st == CHECK_PASS);
		probe_out_cleanup(&out);
		return st;
	}

	/*
	 * Comparison: every observation must satisfy; evidence shows the
	 * failures, else all.  Each observation is compared once: the verdicts
	 * are kept for the evidence pass.
	 */
	verdicts = calloc(out.n ? out.n : 1, sizeof(*verdicts));
	if (verdicts == NULL) {
		l->oom = true;
		probe_out_cleanup(&out);
		return CHECK_ERROR;
	}
	for (i = 0; i < out.n; i++) {
		verdicts[i].ok = satisfies(r, &out.items[i].v, &verdicts[i].why);
		bad += !verdicts[i].ok;
	}
	if (out.n == 0)
		ev_rule(l, r, strdup("nothing to compare: the probe found no items"), expected_text(r), true);
	for (i = 0; i < out.n && shown < ENGINE_MAX_EVIDENCE_PER_RULE; i++) {
		if (bad > 0 && verdicts[i].ok)
			continue;
		ev_observation(l, r, &out.items[i], verdicts[i].why, verdicts[i].ok);
		shown++;
	}
	ev_more(l, r, (bad > 0 ? bad : out.n) - shown, bad == 0);
	free(verdicts);
	probe_out_cleanup(&out);
	return bad > 0 ? CHECK_FAIL : CHECK_PASS;
}

static enum check_status combine(enum match_mode m, size_t pass, size_t fail, size_t err)
{
	switch (m) {
	case MATCH_ANY:
		return pass ? CHECK_PASS : err ? CHECK_ERROR : CHECK_FAIL;
	case MATCH_NONE:
		return pass ? CHECK_FAIL : err ? CHECK_ERROR : CHECK_PASS;
	case MATCH_ALL:
		break;
	}
	return fail ? CHECK_FAIL : err ? CHECK_ERROR : CHECK_PASS;
}

static void eval_check(const struct check *c, const struct probe_ctx *ctx,
		       struct check_result *res, struct evlist *l)
{
	struct strbuf reason;
	size_t i, n[CHECK_NOT_APPLICABLE + 1] = {0};

	strbuf_init(&reason, 4096);
	for (i = 0; i < c->nwhen; i++) {
		struct evlist scratch = {0};
		enum check_status st = eval_rule(&c->when[i], ctx, &scratch, &reason);
		size_t k;
		for (k = 0; k < scratch.n; k++)
			evidence_cleanup(&scratch.items[k]);
		free(scratch.items);
		if (st == CHECK_ERROR) {
			res->status = CHECK_ERROR;
			res->reason = strbuf_take(&reason);
			return;
		}
		if (st == CHECK_FAIL) {
			char *exp = expected_text(&c->when[i]);
			res->status = CHECK_NOT_APPLICABLE;
			if (c->when[i].variable != NULL && c->when[i].op == OP_EXISTS)
				res->reason = xasprintf("applies only where variable %s is set (it is empty)",
							c->when[i].variable);
			else
				res->reason = xasprintf("applies only where %s %s", c->when[i].label,
							exp ? exp : "");
			free(exp);
			strbuf_cleanup(&reason);
			return;
		}
	}
	for (i = 0; i < c->nrules; i++) {
		size_t first = l->n, k;
		n[eval_rule(&c->rules[i], ctx, l, &reason)]++;
		/* Under "none" a rule that holds is the problem: its evidence is what is wrong. */
		if (c->match == MATCH_NONE)
			for (k = first; k < l->n; k++)
				l->items[k].ok = !l->items[k].ok;
	}
	res->status = combine(c->match, n[CHECK_PASS], n[CHECK_FAIL], n[CHECK_ERROR]);
	res->reason = res->status == CHECK_ERROR ? strbuf_take(&reason) : NULL;
	strbuf_cleanup(&reason);
}

static bool policy_applies(const struct policy *p, const struct hostinfo *h)
{
	size_t i;

	if (p->napplies == 0)
		return true;
	for (i = 0; i < p->napplies; i++)
		if (hostinfo_os_matches(h, p->applies[i].id, p->applies[i].versions,
					p->applies[i].nversions))
			return true;
	return false;
}

static int scan_all(struct scan *s, struct policy *const *policies, size_t npolicies,
		    const struct probe_ctx *ctx, const struct hostinfo *host);

int engine_scan(struct scan *s, struct policy *const *policies, size_t npolicies,
		const struct probe_ctx *ctx, const struct hostinfo *host)
{
	struct probe_ctx local = *ctx;
	int rc;

	memset(s, 0, sizeof(*s));
	s->started_us = now_us(CLOCK_REALTIME);
	/* Every rule measures ages from the same instant: the scan's start. */
	if (local.now_us == 0)
		local.now_us = s->started_us;
	/* Rules of one scan share expensive observations (a tree walk) through the cache. */
	if (local.cache == NULL && (local.cache = probe_cache_new()) == NULL)
		return PST_E_NOMEM;
	rc = scan_all(s, policies, npolicies, &local, host);
	if (ctx->cache == NULL)
		probe_cache_free(local.cache);
	return rc;
}

static int scan_all(struct scan *s, struct policy *const *policies, size_t npolicies,
		    const struct probe_ctx *ctx, const struct hostinfo *host)
{
	size_t i, j, total = 0, k = 0;

	s->host = *host;
	s->policies = policies;
	s->npolicies = npolicies;
	for (i = 0; i < npolicies; i++)
		total += policies[i]->nchecks;
	s->results = calloc(total ? total : 1, sizeof(*s->results));
	if (s->results == NULL)
		return PST_E_NOMEM;
	for (i = 0; i < npolicies; i++) {
		const struct policy *p = policies[i];
		bool applies = policy_applies(p, host);

		for (j = 0; j < p->nchecks; j++, k++) {
			struct check_result *res = &s->results[k];
			struct evlist l = {0};
			int64_t t0 = now_us(CLOCK_MONOTONIC);

			res->policy = p;
			res->check = &p->checks[j];
			if (!applies) {
				res->status = CHECK_NOT_APPLICABLE;
				res->reason = xasprintf("policy %s does not apply to %s %s",
							p->id, host->os_id[0] ? host->os_id : "this OS",
							host->os_version);
			} else {
				eval_check(&p->checks[j], ctx, res, &l);
			}
			res->ev = l.items;
			res->nev = l.n;
			res->duration_us = (uint64_t)(now_us(CLOCK_MONOTONIC) - t0);
			s->nresults++;
			s->counts[res->status]++;
			if (l.oom || (res->status == CHECK_NOT_APPLICABLE && res->reason == NULL))
				return PST_E_NOMEM;
		}
	}
	s->finished_us = now_us(CLOCK_REALTIME);
	return 0;
}

void engine_scan_cleanup(struct scan *s)
{
	size_t i, j;

	for (i = 0; i < s->nresults; i++) {
		for (j = 0; j < s->results[i].nev; j++)
			evidence_cleanup(&s->results[i].ev[j]);
		free(s->results[i].ev);
		free(s->results[i].reason);
	}
	free(s->results);
	memset(s, 0, sizeof(*s));
}

bool engine_score(const struct scan *s, double *score)
{
	size_t pass = s->counts[CHECK_PASS], fail = s->counts[CHECK_FAIL];

	if (pass + fail == 0)
		return false;
	*score = 100.0 * (double)pass / (double)(pass + fail);
	return true;
}
