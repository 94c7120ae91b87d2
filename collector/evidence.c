/*
 * evidence.c - evidence snapshots (see evidence.h, docs/evidence.md).
 *
 * The document is assembled from the store's readers only (store_host,
 * store_host_results, store_violations, store_summary), every page of
 * them, inside the write transaction that stores it: what a snapshot says
 * is what the API said at that commit.
 */
#include "evidence.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canon.h"
#include "evsig.h"
#include "log.h"
#include "pki.h"
#include "strbuf.h"
#include "timefmt.h"
#include "tls.h"

#define PAGE 1000
/* Attempts at the write lock while the ingest holds it, each its busy timeout long. */
#define BEGIN_ATTEMPTS 3

struct evidence {
	const struct collector_config *cfg;
	char *collector_id;
	EVP_PKEY *key;
	char key_id[65];
	char ca_sha256[65];
	char *public_pem;
};

/* --- the request ---------------------------------------------------------- */

void evidence_scope_cleanup(struct evidence_scope *s)
{
	if (s == NULL)
		return;
	free(s->host);
	free(s->search);
	free(s->control);
	memset(s, 0, sizeof(*s));
}

static int scope_member(const json_t *scope, const char *key, char **out, struct pst_err *e)
{
	const json_t *v = json_object_get(scope, key);
	const char *s;
	size_t n;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return pst_err_set(e, PST_E_INVAL, "scope.%s must be a string or null", key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0)
		return pst_err_set(e, PST_E_INVAL, "scope.%s is empty: give a value, null, or leave "
				   "it out", key);
	if (n > EVIDENCE_SCOPE_MAX)
		return pst_err_set(e, PST_E_INVAL, "scope.%s is %zu bytes long; at most %d", key, n,
				   EVIDENCE_SCOPE_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return pst_err_set(e, PST_E_INVAL, "scope.%s holds a control character", key);
	*out = strdup(s);
	return *out != NULL ? 0 : pst_err_set(e, PST_E_NOMEM, "out of memory");
}

int evidence_request_parse(const char *body, size_t len, struct evidence_scope *out,
			   struct pst_err *e)
{
	static const char *const scope_keys[] = {"host", "search", "control", NULL};
	const char *key;
	json_error_t jerr;
	json_t *doc, *scope, *v;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > EVIDENCE_REQUEST_MAX)
		return pst_err_set(e, PST_E_TOOBIG, "the body is %zu bytes; at most %d", len,
				   EVIDENCE_REQUEST_MAX);
	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i == len)
		return 0;
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return pst_err_set(e, PST_E_PARSE, "the body is not JSON (line %d, column %d: %s); "
				   "send {\"scope\": {\"host\", \"search\", \"control\"}} or nothing",
				   jerr.line, jerr.column, jerr.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return pst_err_set(e, PST_E_INVAL, "the body must be an object: {\"scope\": {...}}");
	}
	json_object_foreach(doc, key, v) {
		if (strcmp(key, "scope") != 0) {
			rc = pst_err_set(e, PST_E_INVAL, "unknown key \"%.64s\" in the body; it takes "
					 "only \"scope\"", key);
			goto out;
		}
	}
	scope = json_object_get(doc, "scope");
	if (scope == NULL || json_is_null(scope))
		goto out;
	if (!json_is_object(scope)) {
		rc = pst_err_set(e, PST_E_INVAL, "\"scope\" must be an object: {\"host\", "
				 "\"search\", \"control\"}");
		goto out;
	}
	json_object_foreach(scope, key, v) {
		bool known = false;

		for (i = 0; scope_keys[i] != NULL; i++)
			known = known || strcmp(key, scope_keys[i]) == 0;
		if (!known) {
			rc = pst_err_set(e, PST_E_INVAL, "unknown key \"%.64s\" in \"scope\"; it takes "
					 "host, search and control", key);
			goto out;
		}
	}
	if ((rc = scope_member(scope, "host", &out->host, e)) == 0 &&
	    (rc = scope_member(scope, "search", &out->search, e)) == 0)
		rc = scope_member(scope, "control", &out->control, e);
out:
	json_decref(doc);
	if (rc != 0)
		evidence_scope_cleanup(out);
	return rc;
}

/* --- the signer ----------------------------------------------------------- */

int evidence_new(const struct collector_config *cfg, const char *collector_id,
		 struct evidence **out, struct pst_err *e)
{
	struct evidence *ev;
	char fp[96];
	size_t o = 0;
	int rc;

	*out = NULL;
	if (cfg->evidence_key == NULL)
		return pst_err_set(e, PST_E_INVAL, "config %s: no \"evidence_key\": evidence "
				   "snapshots need the collector's Ed25519 evidence key (init "
				   "writes evidence.key; name it in the config)",
				   cfg->path != NULL ? cfg->path : "(defaults)");
	if ((rc = tls_check_key_file(cfg->evidence_key, e)) != 0) {
		pst_err_prefix(e, "evidence key");
		return rc;
	}
	ev = calloc(1, sizeof(*ev));
	if (ev == NULL || (ev->collector_id = strdup(collector_id)) == NULL) {
		free(ev);
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	ev->cfg = cfg;
	if ((rc = evsig_load_private(cfg->evidence_key, &ev->key, e)) != 0 ||
	    (rc = evsig_key_id(ev->key, ev->key_id, e)) != 0 ||
	    (rc = evsig_public_pem(ev->key, &ev->public_pem, e)) != 0) {
		pst_err_prefix(e, "evidence key %s", cfg->evidence_key);
		goto fail;
	}
	if ((rc = pki_cert_fingerprint(cfg->ca_cert, fp, sizeof(fp), e)) != 0) {
		pst_err_prefix(e, "CA certificate for evidence snapshots");
		goto fail;
	}
	for (size_t i = 0; fp[i] != '\0' && o < 64; i++)
		if (fp[i] != ':')
			ev->ca_sha256[o++] = (char)tolower((unsigned char)fp[i]);
	ev->ca_sha256[o] = '\0';
	*out = ev;
	return 0;
fail:
	evidence_free(ev);
	return rc;
}

void evidence_free(struct evidence *ev)
{
	if (ev == NULL)
		return;
	EVP_PKEY_free(ev->key);
	free(ev->public_pem);
	free(ev->collector_id);
	free(ev);
}

const char *evidence_key_id(const struct evidence *ev)
{
	return ev->key_id;
}

const char *evidence_public_pem(const struct evidence *ev)
{
	return ev->public_pem;
}

/* --- building ------------------------------------------------------------- */

static int nomem(struct pst_err *e)
{
	return pst_err_set(e, PST_E_NOMEM, "evidence snapshot: out of memory");
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *scope_obj(const struct evidence_scope *sc)
{
	return json_pack("{s:o, s:o, s:o}", "host", str_or_null(sc->host), "search",
			 str_or_null(sc->search), "control", str_or_null(sc->control));
}

static json_t *taker_obj(const struct evidence_taker *by)
{
	if (by == NULL || by->name == NULL)
		return json_pack("{s:s}", "kind", "schedule");
	return json_pack("{s:s, s:s, s:s}", "kind", "token", "name", by->name, "role",
			 by->role != NULL ? by->role : "none");
}

/* Does a result's {framework: [ids]} hold control ("A.8.8" or "fw:A.8.8")? */
static bool has_control(const json_t *controls, const char *control)
{
	const char *colon = strchr(control, ':'), *fw, *id = control;
	size_t fwlen = 0, i;
	const json_t *ids, *x;

	if (colon != NULL) {
		fwlen = (size_t)(colon - control);
		id = colon + 1;
	}
	json_object_foreach((json_t *)controls, fw, ids) {
		if (colon != NULL && (strlen(fw) != fwlen || strncmp(fw, control, fwlen) != 0))
			continue;
		json_array_foreach(ids, i, x)
			if (json_is_string(x) && strcmp(json_string_value(x), id) == 0)
				return true;
	}
	return false;
}

struct tally {
	int64_t pass, fail, error, not_applicable;
};

static void count_status(struct tally *t, const char *status)
{
	if (status == NULL)
		return;
	if (strcmp(status, "pass") == 0)
		t->pass++;
	else if (strcmp(status, "fail") == 0)
		t->fail++;
	else if (strcmp(status, "error") == 0)
		t->error++;
	else if (strcmp(status, "not_applicable") == 0)
		t->not_applicable++;
}

/* 100*pass/(pass+fail) rounded to 0.1, as the store scores. */
static json_t *score(int64_t pass, int64_t fail)
{
	double s;

	if (pass + fail == 0)
		return json_null();
	s = (double)(int64_t)(1000.0 * (double)pass / (double)(pass + fail) + 0.5) / 10.0;
	return json_real(s);
}

/* Every latest result of a host (all pages), kept when in the control's scope. */
static int host_results(struct store *st, const char *agent_id, const char *control,
			struct tally *t, json_t **out, struct pst_err *e)
{
	char cursor[4200] = "";
	json_t *all = json_array();
	int rc = 0;

	*out = NULL;
	if (all == NULL)
		return nomem(e);
	for (;;) {
		struct store_page pg = {.cursor = cursor[0] != '\0' ? cursor : NULL, .limit = PAGE};
		json_t *doc = NULL, *r;
		const char *next;
		size_t i;

		if ((rc = store_host_results(st, agent_id, NULL, &pg, &doc, e)) != 0)
			break;
		json_array_foreach(json_object_get(doc, "results"), i, r) {
			if (control != NULL && !has_control(json_object_get(r, "controls"), control))
				continue;
			count_status(t, json_string_value(json_object_get(r, "status")));
			if (json_array_append(all, r) != 0) {
				rc = nomem(e);
				break;
			}
		}
		next = json_string_value(json_object_get(doc, "next_cursor"));
		if (rc == 0 && next != NULL && strlen(next) < sizeof(cursor))
			snprintf(cursor, sizeof(cursor), "%s", next);
		else
			next = NULL;
		json_decref(doc);
		if (rc != 0 || next == NULL)
			break;
	}
	if (rc != 0) {
		json_decref(all);
		return rc;
	}
	*out = all;
	return 0;
}

/* Add the host's policies {id, version, sha256} to the set (keyed "id\nversion\nsha256"). */
static int add_policies(json_t *set, const json_t *host)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(host, "policies"), i, p) {
		const char *id = json_string_value(json_object_get(p, "id"));
		const char *ver = json_string_value(json_object_get(p, "version"));
		const char *sha = json_string_value(json_object_get(p, "sha256"));
		char *k;

		if (id == NULL || ver == NULL)
			continue;
		if (asprintf(&k, "%s\n%s\n%s", id, ver, sha != NULL ? sha : "") < 0)
			return -1;
		if (json_object_set_new(set, k, json_pack("{s:s, s:s, s:o}", "id", id, "version",
							  ver, "sha256", str_or_null(sha))) != 0) {
			free(k);
			return -1;
		}
		free(k);
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The set's values ordered by key: by id, then version (then hash). */
static json_t *policies_list(json_t *set)
{
	size_t n = json_object_size(set), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	json_t *list = json_array(), *v;
	const char *k;

	if (keys == NULL || list == NULL) {
		free(keys);
		json_decref(list);
		return NULL;
	}
	json_object_foreach(set, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n; i++)
		if (json_array_append(list, json_object_get(set, keys[i])) != 0) {
			json_decref(list);
			list = NULL;
			break;
		}
	free(keys);
	return list;
}

/* The hosts in scope, each HOST plus "results"; ids collects their agent ids. */
static int build_hosts(struct store *st, const struct store_view *v,
		       const struct evidence_scope *sc, json_t *hosts, json_t *ids,
		       json_t *policies, struct tally *t, struct pst_err *e)
{
	struct store_host_filter f = {.search = sc->search};
	char cursor[4200] = "";
	bool found = false;
	int rc = 0;

	for (;;) {
		struct store_page pg = {.cursor = cursor[0] != '\0' ? cursor : NULL, .limit = PAGE};
		json_t *doc = NULL, *h;
		const char *next;
		size_t i;

		if ((rc = store_hosts(st, v, &f, &pg, &doc, e)) != 0)
			return rc;
		json_array_foreach(json_object_get(doc, "hosts"), i, h) {
			const char *id = json_string_value(json_object_get(h, "id"));
			struct tally ht = {0};
			json_t *full = NULL, *results = NULL;

			if (id == NULL || (sc->host != NULL && strcmp(id, sc->host) != 0))
				continue;
			found = true;
			if ((rc = store_host(st, v, id, &full, e)) != 0 ||
			    (rc = host_results(st, id, sc->control, &ht, &results, e)) != 0) {
				json_decref(full);
				break;
			}
			if (sc->control != NULL && json_array_size(results) == 0) {
				json_decref(full);
				json_decref(results);
				continue;
			}
			t->pass += ht.pass;
			t->fail += ht.fail;
			t->error += ht.error;
			t->not_applicable += ht.not_applicable;
			if (json_object_set_new(full, "results", results) != 0 ||
			    add_policies(policies, full) != 0 ||
			    json_object_set_new(ids, id, json_true()) != 0 ||
			    json_array_append_new(hosts, full) != 0) {
				rc = nomem(e);
				break;
			}
		}
		next = json_string_value(json_object_get(doc, "next_cursor"));
		if (rc == 0 && next != NULL && strlen(next) < sizeof(cursor))
			snprintf(cursor, sizeof(cursor), "%s", next);
		else
			next = NULL;
		json_decref(doc);
		if (rc != 0)
			return rc;
		if (next == NULL)
			break;
	}
	if (sc->host != NULL && !found)
		return pst_err_set(e, PST_E_NOENT, "no host \"%.255s\"%s: scope.host names an agent "
				   "id (GET /api/v1/hosts lists them)", sc->host,
				   sc->search != NULL ? " matching scope.search" : "");
	return 0;
}

/* Open violations of the hosts in ids (and the control), oldest first. */
static int build_violations(struct store *st, const struct store_view *v,
			    const struct evidence_scope *sc, const json_t *ids, json_t *out,
			    struct pst_err *e)
{
	struct store_violation_filter f = {.status = "open", .host = sc->host,
					   .control = sc->control};
	json_t *newest_first = json_array();
	char cursor[4200] = "";
	int rc = 0;

	if (newest_first == NULL)
		return nomem(e);
	for (;;) {
		struct store_page pg = {.cursor = cursor[0] != '\0' ? cursor : NULL, .limit = PAGE};
		json_t *doc = NULL, *x;
		const char *next;
		size_t i;

		if ((rc = store_violations(st, v, &f, &pg, &doc, e)) != 0)
			break;
		json_array_foreach(json_object_get(doc, "violations"), i, x) {
			const char *host = json_string_value(json_object_get(x, "host"));

			if (host == NULL || json_object_get(ids, host) == NULL)
				continue;
			if (json_array_append(newest_first, x) != 0) {
				rc = nomem(e);
				break;
			}
		}
		next = json_string_value(json_object_get(doc, "next_cursor"));
		if (rc == 0 && next != NULL && strlen(next) < sizeof(cursor))
			snprintf(cursor, sizeof(cursor), "%s", next);
		else
			next = NULL;
		json_decref(doc);
		if (rc != 0 || next == NULL)
			break;
	}
	for (size_t i = json_array_size(newest_first); rc == 0 && i > 0; i--)
		if (json_array_append(out, json_array_get(newest_first, i - 1)) != 0)
			rc = nomem(e);
	json_decref(newest_first);
	return rc;
}

static void view_at(const struct evidence *ev, int64_t now_us, struct store_view *v)
{
	v->now_us = now_us;
	v->stale_intervals = ev->cfg->stale_intervals;
	v->default_interval_s = ev->cfg->default_interval_s;
}

static void evidence_id(uint64_t seq, char *buf, size_t cap)
{
	snprintf(buf, cap, "ev-%08llu", (unsigned long long)seq);
}

/*
 * taken_at in whole seconds ("2026-11-25T16:00:00Z"): one width for every
 * snapshot, so that comparing two as strings (evsig_check_link) orders them
 * as times; a fraction shown only when not zero would not.
 */
static void taken_at(int64_t now_us, char *buf, size_t cap)
{
	timefmt_rfc3339(now_us - now_us % 1000000, buf, cap);
}

int evidence_build(struct evidence *ev, struct store *st, int64_t now_us,
		   const struct evidence_scope *scope, const struct evidence_taker *by,
		   uint64_t seq, const char *previous, json_t **snapshot, struct pst_err *e)
{
	static const struct evidence_scope whole = {0};
	struct tally t = {0};
	struct store_view v;
	json_t *doc = NULL, *hosts, *ids, *pset, *violations, *fleet = NULL, *policies;
	char id[32], at[40];
	int rc;

	*snapshot = NULL;
	if (scope == NULL)
		scope = &whole;
	view_at(ev, now_us, &v);
	hosts = json_array();
	ids = json_object();
	pset = json_object();
	violations = json_array();
	if (hosts == NULL || ids == NULL || pset == NULL || violations == NULL) {
		rc = nomem(e);
		goto out;
	}
	if ((rc = build_hosts(st, &v, scope, hosts, ids, pset, &t, e)) != 0 ||
	    (rc = build_violations(st, &v, scope, ids, violations, e)) != 0 ||
	    (rc = store_summary(st, &v, &fleet, e)) != 0)
		goto out;
	json_object_del(fleet, "generated_at");
	policies = policies_list(pset);
	evidence_id(seq, id, sizeof(id));
	taken_at(now_us, at, sizeof(at));
	doc = json_pack("{s:s, s:s, s:I, s:o, s:s, s:o,"
			" s:{s:s, s:s, s:s}, s:o, s:o, s:O, s:O,"
			" s:{s:O, s:{s:o, s:I, s:I, s:I, s:I, s:I, s:I}}}",
			"format", EVSIG_SNAPSHOT_FORMAT, "id", id, "seq", (json_int_t)seq,
			"previous_sha256", str_or_null(previous), "taken_at", at, "taken_by",
			taker_obj(by), "collector", "id", ev->collector_id, "ca_sha256",
			ev->ca_sha256, "evidence_key_id", ev->key_id, "scope", scope_obj(scope),
			"policies", policies, "hosts", hosts, "violations", violations, "metrics",
			"fleet", fleet, "scope", "score", score(t.pass, t.fail), "pass",
			(json_int_t)t.pass, "fail", (json_int_t)t.fail, "error", (json_int_t)t.error,
			"not_applicable", (json_int_t)t.not_applicable, "hosts",
			(json_int_t)json_array_size(hosts), "violations_open",
			(json_int_t)json_array_size(violations));
	if (doc == NULL)
		rc = nomem(e);
out:
	json_decref(hosts);
	json_decref(ids);
	json_decref(pset);
	json_decref(violations);
	json_decref(fleet);
	if (rc == 0)
		*snapshot = doc;
	return rc;
}

/* Compact JSON text of v, members in the order the API shows them (the store's columns). */
static char *dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static int take_once(struct evidence *ev, struct store *st, int64_t now_us,
		     const struct evidence_scope *scope, const struct evidence_taker *by,
		     json_t **meta, struct pst_err *e)
{
	static const struct evidence_scope whole = {0};
	struct store_evidence_head last;
	json_t *snap = NULL, *sc = NULL, *tb = NULL;
	char *env = NULL, *scope_text = NULL, *by_text = NULL;
	char sha[65], id[32], at[40];
	size_t len = 0, max;
	int rc;

	if (scope == NULL)
		scope = &whole;
	if ((rc = store_evidence_begin(st, &last, e)) != 0)
		return rc;
	rc = evidence_build(ev, st, now_us, scope, by, last.seq + 1,
			    last.seq > 0 ? last.sha256 : NULL, &snap, e);
	if (rc != 0)
		goto out;
	max = ev->cfg->evidence_max_bytes > 0 ? ev->cfg->evidence_max_bytes : EVSIG_MAX_BYTES;
	rc = evsig_seal(snap, ev->key, max, &env, &len, sha, e);
	if (rc == PST_E_TOOBIG) {
		rc = pst_err_set(e, PST_E_TOOBIG, "the snapshot would be larger than "
				 "evidence.max_bytes (%zu bytes): narrow its scope (a host, a "
				 "search or a control) or raise evidence.max_bytes", max);
		goto out;
	}
	if (rc != 0)
		goto out;
	sc = scope_obj(scope);
	tb = taker_obj(by);
	scope_text = sc != NULL ? dump(sc) : NULL;
	by_text = tb != NULL ? dump(tb) : NULL;
	if (scope_text == NULL || by_text == NULL) {
		rc = nomem(e);
		goto out;
	}
	evidence_id(last.seq + 1, id, sizeof(id));
	{
		struct store_evidence_put p = {
			.seq = last.seq + 1, .id = id, .taken_at_us = now_us - now_us % 1000000,
			.sha256 = sha,
			.previous_sha256 = last.seq > 0 ? last.sha256 : NULL,
			.scope_json = scope_text, .taken_by_json = by_text, .envelope = env,
			.len = len,
		};

		if ((rc = store_evidence_insert(st, &p, e)) != 0 || (rc = store_commit(st, e)) != 0)
			goto out;
	}
	taken_at(now_us, at, sizeof(at));
	*meta = json_pack("{s:s, s:I, s:s, s:o, s:s, s:I, s:O, s:O}", "id", id, "seq",
			  (json_int_t)(last.seq + 1), "sha256", sha, "previous_sha256",
			  str_or_null(last.seq > 0 ? last.sha256 : NULL), "taken_at", at, "size",
			  (json_int_t)len, "scope", sc, "taken_by", tb);
	if (*meta == NULL)
		rc = nomem(e); /* stored all the same: the list shows it */
out:
	if (rc != 0)
		store_rollback(st);
	json_decref(snap);
	json_decref(sc);
	json_decref(tb);
	free(env);
	free(scope_text);
	free(by_text);
	return rc;
}

int evidence_take(struct evidence *ev, struct store *st, int64_t now_us,
		  const struct evidence_scope *scope, const struct evidence_taker *by,
		  json_t **meta, struct pst_err *e)
{
	int rc = PST_E_STORE;

	*meta = NULL;
	/*
	 * The write lock waits for the store's busy timeout; the ingest holds it
	 * only for a commit, so a second try nearly always gets it.  A store
	 * failure rolled everything back, so trying again is safe.
	 */
	for (int attempt = 1; attempt <= BEGIN_ATTEMPTS; attempt++) {
		rc = take_once(ev, st, now_us, scope, by, meta, e);
		if (rc != PST_E_STORE || attempt == BEGIN_ATTEMPTS)
			break;
		log_warn("evidence: %s; trying again (%d of %d)", e->msg, attempt + 1,
			 BEGIN_ATTEMPTS);
	}
	return rc;
}
