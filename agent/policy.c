/*
 * policy.c - loading and strict validation of policies (policy.h).
 *
 * The loader walks the parsed JSON with a "where" path ("checks[3].rules[0]")
 * so that every error names its place.  It first substitutes variables, then
 * checks each object's keys against a fixed table, then hands rule
 * parameters to the probe's parameter table and `validate`.  The first error
 * stops the load; nothing half-validated is returned.
 */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"
#include "strbuf.h"

const char *const policy_categories[] = {
	"access_control", "patch", "backup", "logging", "network", "integrity", NULL,
};

static const char *const op_names[] = {
	[OP_EQ] = "eq", [OP_NE] = "ne", [OP_LT] = "lt", [OP_LE] = "le",
	[OP_GT] = "gt", [OP_GE] = "ge", [OP_IN] = "in", [OP_NOT_IN] = "not_in",
	[OP_REGEX] = "regex", [OP_NOT_REGEX] = "not_regex",
	[OP_EXISTS] = "exists", [OP_ABSENT] = "absent",
	[OP_WITHIN_MASK] = "within_mask",
};
#define N_OPS (sizeof(op_names) / sizeof(op_names[0]))

static const char *const severity_names[] = {
	[SEVERITY_LOW] = "low", [SEVERITY_MEDIUM] = "medium",
	[SEVERITY_HIGH] = "high", [SEVERITY_CRITICAL] = "critical",
};

static const char *const match_names[] = {
	[MATCH_ALL] = "all", [MATCH_ANY] = "any", [MATCH_NONE] = "none",
};

const char *policy_op_name(enum rule_op op)
{
	return (size_t)op < N_OPS ? op_names[op] : "?";
}

const char *policy_severity_name(enum severity s)
{
	return s >= SEVERITY_LOW && s <= SEVERITY_CRITICAL ? severity_names[s] : "?";
}

const char *policy_match_name(enum match_mode m)
{
	return (size_t)m < 3 ? match_names[m] : "?";
}

/* ISO/IEC 27001:2022 Annex A: themes 5 to 8 and the number of controls in each. */
static bool iso27001_valid(const char *id)
{
	static const int count[] = {[5] = 37, [6] = 8, [7] = 14, [8] = 34};
	char *end;
	long theme, n;

	if (strncmp(id, "A.", 2) != 0 || !isdigit((unsigned char)id[2]))
		return false;
	theme = strtol(id + 2, &end, 10);
	if (*end != '.' || theme < 5 || theme > 8 || !isdigit((unsigned char)end[1]))
		return false;
	n = strtol(end + 1, &end, 10);
	return *end == '\0' && n >= 1 && n <= count[theme];
}

/* --- the context of one load --- */

struct loader {
	const char *file;
	const char *buf;    /* the file's bytes, for the digest of an extending policy */
	size_t len;
	bool is_base;       /* loading the base of an extending policy */
	json_t *vars;       /* borrowed from the document */
	struct pst_err *e;
	char where[256];    /* place in the document of the object being read */
};

__attribute__((format(printf, 2, 3)))
static int fail(struct loader *L, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (L->where[0] != '\0')
		return pst_err_set(L->e, PST_E_INVAL, "policy %s: %s: %s", L->file, L->where, msg);
	return pst_err_set(L->e, PST_E_INVAL, "policy %s: %s", L->file, msg);
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "value";
}

/* Set the place in the document that errors name (printf-style, truncated to fit). */
__attribute__((format(printf, 2, 3)))
static void set_where(struct loader *L, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(L->where, sizeof(L->where), fmt, ap);
	va_end(ap);
}

/* Refuse keys of obj that are not in allowed (NULL-terminated); extra (may be NULL) also allowed. */
static int check_keys(struct loader *L, const json_t *obj, const char *const *allowed,
		      const struct probe_param *extra)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)obj, key, val) {
		const char *const *a;
		const struct probe_param *p;
		struct strbuf sb;
		bool ok = false;

		for (a = allowed; *a != NULL && !ok; a++)
			ok = strcmp(*a, key) == 0;
		for (p = extra; p != NULL && p->key != NULL && !ok; p++)
			ok = strcmp(p->key, key) == 0;
		if (ok)
			continue;
		strbuf_init(&sb, 512);
		for (a = allowed; *a != NULL; a++)
			strbuf_appendf(&sb, "%s%s", a == allowed ? "" : ", ", *a);
		for (p = extra; p != NULL && p->key != NULL; p++)
			strbuf_appendf(&sb, ", %s", p->key);
		fail(L, "unknown key \"%s\" (expected one of: %s)", key, strbuf_peek(&sb));
		strbuf_cleanup(&sb);
		return PST_E_INVAL;
	}
	return 0;
}

static int get_string(struct loader *L, const json_t *obj, const char *key, bool required,
		      char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return fail(L, "missing required key \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(L, "\"%s\" must be a string, not %s", key, json_type_name(v));
	if (required && json_string_length(v) == 0)
		return fail(L, "\"%s\" must not be empty", key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : pst_err_set(L->e, PST_E_NOMEM, "out of memory");
}

static int pick(struct loader *L, const char *key, const char *val,
		const char *const *names, size_t n, int *out)
{
	struct strbuf sb;
	size_t i;

	for (i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], val) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	strbuf_init(&sb, 256);
	for (i = 0; i < n; i++)
		if (names[i] != NULL)
			strbuf_appendf(&sb, "%s%s", sb.len ? ", " : "", names[i]);
	fail(L, "unknown %s \"%s\" (one of: %s)", key, val, strbuf_peek(&sb));
	strbuf_cleanup(&sb);
	return PST_E_INVAL;
}

/* --- variables --- */

static bool var_name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/*
 * Substitute "${name}" in a JSON value, returning a new reference.  A string
 * that is exactly one reference takes the variable's type; a reference
 * inside a longer string is replaced by the variable's text.
 */
static int subst(struct loader *L, json_t *v, json_t **out)
{
	*out = NULL;
	if (json_is_array(v)) {
		json_t *arr = json_array(), *item, *nv;
		size_t i;

		if (arr == NULL)
			return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
		json_array_foreach(v, i, item) {
			int rc = subst(L, item, &nv);
			if (rc != 0) {
				json_decref(arr);
				return rc;
			}
			json_array_append_new(arr, nv);
		}
		*out = arr;
		return 0;
	}
	if (json_is_object(v)) {
		json_t *obj = json_object(), *item, *nv;
		const char *key;

		if (obj == NULL)
			return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
		json_object_foreach(v, key, item) {
			int rc = subst(L, item, &nv);
			if (rc != 0) {
				json_decref(obj);
				return rc;
			}
			json_object_set_new(obj, key, nv);
		}
		*out = obj;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v), *p, *close;
		size_t len = json_string_length(v);
		struct strbuf sb;

		if (strstr(s, "${") == NULL) {
			*out = json_incref(v);
			return 0;
		}
		if (len > 3 && s[0] == '$' && s[1] == '{' && s[len - 1] == '}' &&
		    memchr(s + 2, '}', len - 3) == NULL) {
			json_t *val = json_object_getn(L->vars, s + 2, len - 3);
			if (!var_name_valid(s + 2, len - 3))
				return fail(L, "malformed variable reference \"%s\"", s);
			if (val == NULL)
				return fail(L, "undefined variable \"%.*s\" (define it under \"variables\")",
					    (int)(len - 3), s + 2);
			*out = json_incref(val);
			return 0;
		}
		strbuf_init(&sb, 64 * 1024);
		for (p = s; *p != '\0';) {
			json_t *val;
			if (p[0] != '$' || p[1] != '{') {
				strbuf_appendc(&sb, *p++);
				continue;
			}
			close = strchr(p + 2, '}');
			if (close == NULL || !var_name_valid(p + 2, (size_t)(close - p - 2))) {
				strbuf_cleanup(&sb);
				return fail(L, "malformed variable reference in \"%s\"", s);
			}
			val = json_object_getn(L->vars, p + 2, (size_t)(close - p - 2));
			if (val == NULL) {
				strbuf_cleanup(&sb);
				return fail(L, "undefined variable \"%.*s\" (define it under \"variables\")",
					    (int)(close - p - 2), p + 2);
			}
			if (json_is_string(val))
				strbuf_appends(&sb, json_string_value(val));
			else if (json_is_integer(val))
				strbuf_appendf(&sb, "%lld", (long long)json_integer_value(val));
			else
				strbuf_appends(&sb, json_is_true(val) ? "true" : "false");
			p = close + 1;
		}
		*out = json_stringn(sb.data ? sb.data : "", sb.len);
		strbuf_cleanup(&sb);
		return *out ? 0 : pst_err_set(L->e, PST_E_NOMEM, "out of memory");
	}
	*out = json_incref(v);
	return 0;
}

/* --- rules --- */

static const char *const rule_keys[] = {"probe", "op", "value", "ignore_case", "count", NULL};

static int check_param(struct loader *L, const struct probe *pr, const struct probe_param *pp,
		       const json_t *v)
{
	size_t i;
	const json_t *item;

	switch (pp->type) {
	case PARAM_STRING:
		if (!json_is_string(v))
			return fail(L, "probe %s: parameter \"%s\" must be a string, not %s",
				    pr->name, pp->key, json_type_name(v));
		if (pp->choices != NULL) {
			const char *const *c;
			struct strbuf sb;
			for (c = pp->choices; *c != NULL; c++)
				if (strcmp(*c, json_string_value(v)) == 0)
					return 0;
			strbuf_init(&sb, 512);
			for (c = pp->choices; *c != NULL; c++)
				strbuf_appendf(&sb, "%s%s", c == pp->choices ? "" : ", ", *c);
			fail(L, "probe %s: parameter \"%s\": unknown value \"%s\" (one of: %s)",
			     pr->name, pp->key, json_string_value(v), strbuf_peek(&sb));
			strbuf_cleanup(&sb);
			return PST_E_INVAL;
		}
		return 0;
	case PARAM_INT:
		if (!json_is_integer(v))
			return fail(L, "probe %s: parameter \"%s\" must be an integer, not %s",
				    pr->name, pp->key, json_type_name(v));
		return 0;
	case PARAM_BOOL:
		if (!json_is_boolean(v))
			return fail(L, "probe %s: parameter \"%s\" must be true or false, not %s",
				    pr->name, pp->key, json_type_name(v));
		return 0;
	case PARAM_STRING_LIST:
		if (!json_is_array(v))
			return fail(L, "probe %s: parameter \"%s\" must be an array of strings, not %s",
				    pr->name, pp->key, json_type_name(v));
		json_array_foreach(v, i, item)
			if (!json_is_string(item))
				return fail(L, "probe %s: parameter \"%s\"[%zu] must be a string, not %s",
					    pr->name, pp->key, i, json_type_name(item));
		return 0;
	}
	return fail(L, "probe %s: parameter \"%s\" has an unknown type", pr->name, pp->key);
}

static bool is_scalar(const json_t *v)
{
	return json_is_string(v) || json_is_integer(v) || json_is_boolean(v);
}

static int check_expected(struct loader *L, struct rule *r, const char *opname)
{
	const json_t *v = r->expected;
	size_t i;
	const json_t *item;

	switch (r->op) {
	case OP_EXISTS:
	case OP_ABSENT:
		if (v != NULL)
			return fail(L, "operator %s takes no \"value\"", opname);
		return 0;
	default:
		break;
	}
	if (v == NULL)
		return fail(L, "operator %s needs a \"value\"", opname);
	switch (r->op) {
	case OP_EQ:
	case OP_NE:
		if (!is_scalar(v))
			return fail(L, "operator %s: \"value\" must be a string, integer or boolean, not %s",
				    opname, json_type_name(v));
		return 0;
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (!json_is_integer(v))
			return fail(L, "operator %s: \"value\" must be an integer, not %s",
				    opname, json_type_name(v));
		return 0;
	case OP_IN:
	case OP_NOT_IN:
		if (!json_is_array(v) || json_array_size(v) == 0)
			return fail(L, "operator %s: \"value\" must be a non-empty array", opname);
		json_array_foreach(v, i, item)
			if (!is_scalar(item))
				return fail(L, "operator %s: \"value\"[%zu] must be a string, integer or boolean, not %s",
					    opname, i, json_type_name(item));
		return 0;
	case OP_REGEX:
	case OP_NOT_REGEX: {
		int rc;
		if (!json_is_string(v))
			return fail(L, "operator %s: \"value\" must be a string (an extended regular expression)",
				    opname);
		rc = regcomp(&r->re, json_string_value(v),
			     REG_EXTENDED | REG_NOSUB | (r->ignore_case ? REG_ICASE : 0));
		if (rc != 0) {
			char msg[256];
			regerror(rc, &r->re, msg, sizeof(msg));
			return fail(L, "operator %s: invalid regular expression \"%s\": %s",
				    opname, json_string_value(v), msg);
		}
		r->has_re = true;
		return 0;
	}
	case OP_WITHIN_MASK:
		if (!json_is_string(v) || !value_parse_mode(json_string_value(v), &r->mask))
			return fail(L, "operator within_mask: \"value\" must be an octal mode string such as \"0644\"");
		return 0;
	default:
		return 0;
	}
}

static char *rule_label(const struct rule *r)
{
	struct strbuf sb;
	const struct probe_param *pp;

	strbuf_init(&sb, 1024);
	strbuf_appends(&sb, r->probe->name);
	for (pp = r->probe->params; pp->key != NULL; pp++) {
		const json_t *v = json_object_get(r->params, pp->key);
		char *txt;
		if (v == NULL || (pp->def != NULL && !pp->required))
			continue;
		txt = json_is_string(v) ? strdup(json_string_value(v))
					: json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (txt != NULL)
			strbuf_appendf(&sb, " %s=%s", pp->key, txt);
		free(txt);
	}
	return strbuf_take(&sb);
}

static const char *const variable_rule_keys[] = {"variable", "op", "value", "ignore_case", NULL};

/* A rule's "op" and "ignore_case", common to probe and variable rules. */
static int load_op(struct loader *L, const json_t *obj, struct rule *r)
{
	const json_t *v = json_object_get(obj, "op");
	int op = 0, rc;

	if (v == NULL || !json_is_string(v))
		return v ? fail(L, "\"op\" must be a string, not %s", json_type_name(v))
			 : fail(L, "missing required key \"op\"");
	rc = pick(L, "operator", json_string_value(v), op_names, N_OPS, &op);
	if (rc != 0)
		return rc;
	r->op = (enum rule_op)op;
	v = json_object_get(obj, "ignore_case");
	if (v != NULL && !json_is_boolean(v))
		return fail(L, "\"ignore_case\" must be true or false");
	r->ignore_case = json_is_true(v);
	return 0;
}

/*
 * {"variable": "name", "op": ..., "value": ...}: compares a policy
 * variable's value, e.g. in applicable_if to skip checks whose variables an
 * operator left empty.  The empty string reads as absent.
 */
static int load_variable_rule(struct loader *L, json_t *raw, struct rule *r)
{
	json_t *obj = NULL, *v, *name;
	int rc;

	name = json_object_get(raw, "variable");
	if (!json_is_string(name))
		return fail(L, "\"variable\" must be a string naming a variable, not %s", json_type_name(name));
	if ((rc = check_keys(L, raw, variable_rule_keys, NULL)) != 0)
		return rc;
	if (!var_name_valid(json_string_value(name), json_string_length(name)))
		return fail(L, "\"variable\": \"%s\" is not a variable name (write the name, not ${...})",
			    json_string_value(name));
	v = json_object_get(L->vars, json_string_value(name));
	if (v == NULL)
		return fail(L, "undefined variable \"%s\" (define it under \"variables\")", json_string_value(name));
	rc = subst(L, raw, &obj);
	if (rc != 0)
		return rc;
	r->variable = strdup(json_string_value(name));
	r->var_value = json_incref(v);
	r->label = r->variable ? malloc(strlen(r->variable) + sizeof("variable ")) : NULL;
	if (r->label == NULL) {
		rc = pst_err_set(L->e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	sprintf(r->label, "variable %s", r->variable);
	rc = load_op(L, obj, r);
	if (rc != 0)
		goto out;
	r->expected = json_incref(json_object_get(obj, "value"));
	rc = check_expected(L, r, json_string_value(json_object_get(obj, "op")));
out:
	json_decref(obj);
	return rc;
}

static int load_rule(struct loader *L, json_t *raw, struct rule *r)
{
	const struct probe *pr;
	const struct probe_param *pp;
	json_t *obj = NULL, *v;
	int rc;
	struct pst_err perr;

	if (!json_is_object(raw))
		return fail(L, "a rule must be an object, not %s", json_type_name(raw));
	if (json_object_get(raw, "variable") != NULL && json_object_get(raw, "probe") == NULL)
		return load_variable_rule(L, raw, r);
	rc = subst(L, raw, &obj);
	if (rc != 0)
		return rc;

	v = json_object_get(obj, "probe");
	if (v == NULL) {
		rc = fail(L, "missing required key \"probe\"");
		goto out;
	}
	if (!json_is_string(v)) {
		rc = fail(L, "\"probe\" must be a string, not %s", json_type_name(v));
		goto out;
	}
	pr = probe_find(json_string_value(v));
	if (pr == NULL) {
		size_t n, i;
		const struct probe *const *all = probe_all(&n);
		struct strbuf sb;
		strbuf_init(&sb, 512);
		for (i = 0; i < n; i++)
			strbuf_appendf(&sb, "%s%s", i ? ", " : "", all[i]->name);
		rc = fail(L, "unknown probe \"%s\" (one of: %s)", json_string_value(v), strbuf_peek(&sb));
		strbuf_cleanup(&sb);
		goto out;
	}
	r->probe = pr;
	rc = check_keys(L, obj, rule_keys, pr->params);
	if (rc != 0)
		goto out;

	rc = load_op(L, obj, r);
	if (rc != 0)
		goto out;
	v = json_object_get(obj, "count");
	if (v != NULL && !json_is_boolean(v)) {
		rc = fail(L, "\"count\" must be true or false");
		goto out;
	}
	r->count = json_is_true(v);
	if (r->count && (r->op == OP_REGEX || r->op == OP_NOT_REGEX || r->op == OP_WITHIN_MASK ||
			 r->op == OP_EXISTS || r->op == OP_ABSENT)) {
		rc = fail(L, "\"count\" compares a number: use it with eq, ne, lt, le, gt, ge, in or not_in");
		goto out;
	}

	r->expected = json_incref(json_object_get(obj, "value"));
	rc = check_expected(L, r, json_string_value(json_object_get(obj, "op")));
	if (rc != 0)
		goto out;
	if (r->count && r->expected != NULL && !json_is_integer(r->expected) && !json_is_array(r->expected)) {
		rc = fail(L, "\"count\" compares a number: \"value\" must be an integer");
		goto out;
	}

	/* Parameters: the probe's table decides names, types and defaults. */
	r->params = json_object();
	if (r->params == NULL) {
		rc = pst_err_set(L->e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	for (pp = pr->params; pp->key != NULL; pp++) {
		v = json_object_get(obj, pp->key);
		if (v == NULL) {
			if (pp->required) {
				rc = fail(L, "probe %s: missing required parameter \"%s\" (the probe reference: posture-agent probes)",
					  pr->name, pp->key);
				goto out;
			}
			if (pp->def != NULL) {
				json_error_t jerr;
				json_t *d = json_loads(pp->def, JSON_DECODE_ANY, &jerr);
				if (d == NULL) {
					rc = fail(L, "probe %s: parameter \"%s\": broken default %s",
						  pr->name, pp->key, pp->def);
					goto out;
				}
				json_object_set_new(r->params, pp->key, d);
			}
			continue;
		}
		rc = check_param(L, pr, pp, v);
		if (rc != 0)
			goto out;
		json_object_set(r->params, pp->key, v);
	}
	if (pr->validate != NULL) {
		memset(&perr, 0, sizeof(perr));
		rc = pr->validate(r->params, &perr);
		if (rc != 0) {
			rc = fail(L, "probe %s: %s", pr->name, perr.msg[0] ? perr.msg : pst_strerror(rc));
			goto out;
		}
	}
	r->label = rule_label(r);
	if (r->label == NULL)
		rc = pst_err_set(L->e, PST_E_NOMEM, "out of memory");
out:
	json_decref(obj);
	return rc;
}

static void rule_cleanup(struct rule *r)
{
	json_decref(r->params);
	json_decref(r->expected);
	json_decref(r->var_value);
	free(r->variable);
	if (r->has_re)
		regfree(&r->re);
	free(r->label);
	memset(r, 0, sizeof(*r));
}

static int load_rules(struct loader *L, const json_t *arr, const char *name,
		      struct rule **out, size_t *n, bool required)
{
	char saved[sizeof(L->where)];
	size_t i;
	json_t *item;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (arr == NULL) {
		if (required)
			return fail(L, "missing required key \"%s\"", name);
		return 0;
	}
	if (!json_is_array(arr))
		return fail(L, "\"%s\" must be an array of rules, not %s", name, json_type_name(arr));
	if (required && json_array_size(arr) == 0)
		return fail(L, "\"%s\" must hold at least one rule", name);
	if (json_array_size(arr) > POLICY_MAX_RULES)
		return fail(L, "\"%s\" holds more than %d rules", name, POLICY_MAX_RULES);
	*out = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(**out));
	if (*out == NULL)
		return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
	memcpy(saved, L->where, sizeof(saved));
	json_array_foreach(arr, i, item) {
		set_where(L, "%s: %s[%zu]", saved, name, i);
		(*n)++;
		rc = load_rule(L, item, &(*out)[i]);
		if (rc != 0)
			break;
	}
	memcpy(L->where, saved, sizeof(saved));
	return rc;
}

/* --- checks --- */

static const char *const check_keys_allowed[] = {
	"id", "title", "description", "rationale", "remediation", "severity",
	"category", "controls", "match", "rules", "applicable_if", NULL,
};

static bool check_id_valid(const char *s)
{
	size_t i;

	if (!(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (i = 1; s[i] != '\0'; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
		      s[i] == '.' || s[i] == '-' || s[i] == '_'))
			return false;
	return i <= 128;
}

static int load_controls(struct loader *L, const json_t *obj, struct check *c)
{
	const char *fw;
	json_t *ids, *id;
	size_t i;

	if (obj == NULL)
		return 0;
	if (!json_is_object(obj))
		return fail(L, "\"controls\" must be an object mapping a framework to control ids");
	c->controls = calloc(json_object_size(obj) ? json_object_size(obj) : 1, sizeof(*c->controls));
	if (c->controls == NULL)
		return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
	json_object_foreach((json_t *)obj, fw, ids) {
		struct control_map *m = &c->controls[c->ncontrols];
		if (!check_id_valid(fw) || strchr(fw, '.') != NULL)
			return fail(L, "controls: framework name \"%s\" must be lower case letters, digits and _",
				    fw);
		if (!json_is_array(ids) || json_array_size(ids) == 0)
			return fail(L, "controls.%s must be a non-empty array of control ids", fw);
		m->framework = strdup(fw);
		m->ids = calloc(json_array_size(ids), sizeof(char *));
		c->ncontrols++;
		if (m->framework == NULL || m->ids == NULL)
			return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
		json_array_foreach(ids, i, id) {
			if (!json_is_string(id) || json_string_length(id) == 0)
				return fail(L, "controls.%s[%zu] must be a non-empty string", fw, i);
			if (strcmp(fw, "iso27001") == 0 && !iso27001_valid(json_string_value(id)))
				return fail(L, "controls.iso27001[%zu]: \"%s\" is not an ISO/IEC 27001:2022 Annex A control (A.5.1 to A.8.34)",
					    i, json_string_value(id));
			m->ids[m->nids] = strdup(json_string_value(id));
			if (m->ids[m->nids] == NULL)
				return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
			m->nids++;
		}
	}
	return 0;
}

/*
 * Substitute variables in a check's text (title, description, ...), so that
 * "at most ${max_days} days" says the threshold that applies.  A text that
 * is one whole reference gets the variable's value as text.
 */
static int text_subst(struct loader *L, char **text)
{
	json_t *in, *out;
	char *r = NULL;
	int rc;

	if (*text == NULL || strstr(*text, "${") == NULL)
		return 0;
	in = json_string(*text);
	if (in == NULL)
		return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
	rc = subst(L, in, &out);
	json_decref(in);
	if (rc != 0)
		return rc;
	if (json_is_string(out))
		r = strdup(json_string_value(out));
	else if (!json_is_integer(out))
		r = strdup(json_is_true(out) ? "true" : "false");
	else if (asprintf(&r, "%lld", (long long)json_integer_value(out)) < 0)
		r = NULL;
	json_decref(out);
	if (r == NULL)
		return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
	free(*text);
	*text = r;
	return 0;
}

static int load_check(struct loader *L, const json_t *obj, struct check *c)
{
	char *sev = NULL, *match = NULL;
	int rc, idx = 0;
	const char *const *cat;

	if (!json_is_object(obj))
		return fail(L, "a check must be an object, not %s", json_type_name(obj));
	rc = get_string(L, obj, "id", true, &c->id);
	if (rc != 0)
		return rc;
	if (!check_id_valid(c->id))
		return fail(L, "check id \"%s\" must be lower case letters, digits, '.', '-' and '_'", c->id);
	/* From here on errors name the check as well as its index. */
	{
		char at[sizeof(L->where)];
		memcpy(at, L->where, sizeof(at));
		set_where(L, "%s \"%s\"", at, c->id);
	}
	if ((rc = check_keys(L, obj, check_keys_allowed, NULL)) != 0 ||
	    (rc = get_string(L, obj, "title", true, &c->title)) != 0 ||
	    (rc = get_string(L, obj, "description", false, &c->description)) != 0 ||
	    (rc = get_string(L, obj, "rationale", false, &c->rationale)) != 0 ||
	    (rc = get_string(L, obj, "remediation", false, &c->remediation)) != 0 ||
	    (rc = get_string(L, obj, "category", true, &c->category)) != 0 ||
	    (rc = get_string(L, obj, "severity", true, &sev)) != 0 ||
	    (rc = get_string(L, obj, "match", false, &match)) != 0 ||
	    (rc = text_subst(L, &c->title)) != 0 ||
	    (rc = text_subst(L, &c->description)) != 0 ||
	    (rc = text_subst(L, &c->rationale)) != 0 ||
	    (rc = text_subst(L, &c->remediation)) != 0)
		goto out;
	rc = pick(L, "severity", sev, severity_names, 5, &idx);
	if (rc != 0)
		goto out;
	c->severity = (enum severity)idx;
	c->match = MATCH_ALL;
	if (match != NULL) {
		rc = pick(L, "match", match, match_names, 3, &idx);
		if (rc != 0)
			goto out;
		c->match = (enum match_mode)idx;
	}
	for (cat = policy_categories; *cat != NULL; cat++)
		if (strcmp(*cat, c->category) == 0)
			break;
	if (*cat == NULL) {
		rc = pick(L, "category", c->category, (const char *const *)policy_categories,
			  sizeof(policy_categories) / sizeof(policy_categories[0]) - 1, &idx);
		goto out;
	}
	rc = load_controls(L, json_object_get(obj, "controls"), c);
	if (rc != 0)
		goto out;
	rc = load_rules(L, json_object_get(obj, "applicable_if"), "applicable_if", &c->when, &c->nwhen, false);
	if (rc != 0)
		goto out;
	rc = load_rules(L, json_object_get(obj, "rules"), "rules", &c->rules, &c->nrules, true);
out:
	free(sev);
	free(match);
	return rc;
}

static void check_cleanup(struct check *c)
{
	size_t i, j;

	free(c->id);
	free(c->title);
	free(c->description);
	free(c->rationale);
	free(c->remediation);
	free(c->category);
	for (i = 0; i < c->ncontrols; i++) {
		for (j = 0; j < c->controls[i].nids; j++)
			free(c->controls[i].ids[j]);
		free(c->controls[i].ids);
		free(c->controls[i].framework);
	}
	free(c->controls);
	for (i = 0; i < c->nrules; i++)
		rule_cleanup(&c->rules[i]);
	free(c->rules);
	for (i = 0; i < c->nwhen; i++)
		rule_cleanup(&c->when[i]);
	free(c->when);
}

/* --- the document --- */

static const char *const policy_keys[] = {
	"format", "id", "version", "title", "description", "applicability",
	"variables", "checks", "extends", NULL,
};

static int load_applicability(struct loader *L, const json_t *arr, struct policy *p)
{
	size_t i, j;
	json_t *item, *ver;
	static const char *const keys[] = {"os_id", "versions", NULL};

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return fail(L, "\"applicability\" must be an array of {\"os_id\", \"versions\"} objects");
	p->applies = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(*p->applies));
	if (p->applies == NULL)
		return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
	json_array_foreach(arr, i, item) {
		struct os_match *m = &p->applies[p->napplies];
		const json_t *vers;
		int rc;

		set_where(L, "applicability[%zu]", i);
		if (!json_is_object(item))
			return fail(L, "must be an object with \"os_id\" and optional \"versions\"");
		if ((rc = check_keys(L, item, keys, NULL)) != 0)
			return rc;
		p->napplies++;
		if ((rc = get_string(L, item, "os_id", true, &m->id)) != 0)
			return rc;
		vers = json_object_get(item, "versions");
		if (vers == NULL)
			continue;
		if (!json_is_array(vers))
			return fail(L, "\"versions\" must be an array of strings");
		m->versions = calloc(json_array_size(vers) ? json_array_size(vers) : 1, sizeof(char *));
		if (m->versions == NULL)
			return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
		json_array_foreach(vers, j, ver) {
			if (!json_is_string(ver))
				return fail(L, "versions[%zu] must be a string", j);
			m->versions[m->nversions] = strdup(json_string_value(ver));
			if (m->versions[m->nversions] == NULL)
				return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
			m->nversions++;
		}
	}
	L->where[0] = '\0';
	return 0;
}

static int load_variables(struct loader *L, json_t *vars)
{
	const char *name;
	json_t *v;

	if (vars == NULL)
		return 0;
	if (!json_is_object(vars))
		return fail(L, "\"variables\" must be an object of name: value");
	json_object_foreach(vars, name, v) {
		if (!var_name_valid(name, strlen(name)))
			return fail(L, "variables: \"%s\" is not a valid name (letters, digits and _, not starting with a digit)",
				    name);
		if (!is_scalar(v))
			return fail(L, "variables.%s must be a string, integer or boolean, not %s",
				    name, json_type_name(v));
	}
	L->vars = vars;
	return 0;
}

static int extend(struct loader *L, json_t *doc, struct policy *p);
static int read_policy_file(const char *path, char **bufp, size_t *lenp, struct pst_err *e);
static int load_buffer(const char *name, const char *buf, size_t len, bool is_base,
		       struct policy **out, struct pst_err *e);

static int load_document(struct loader *L, json_t *doc, struct policy *p)
{
	const json_t *checks, *item, *fmt;
	size_t i, j;
	int rc;

	if (!json_is_object(doc))
		return fail(L, "the document must be a JSON object");
	if ((rc = check_keys(L, doc, policy_keys, NULL)) != 0)
		return rc;
	if (json_object_get(doc, "extends") != NULL)
		return extend(L, doc, p);
	fmt = json_object_get(doc, "format");
	if (fmt != NULL && (!json_is_string(fmt) || strcmp(json_string_value(fmt), "posture.policy/v1") != 0))
		return fail(L, "\"format\" must be \"posture.policy/v1\"");
	if ((rc = get_string(L, doc, "id", true, &p->id)) != 0 ||
	    (rc = get_string(L, doc, "version", true, &p->version)) != 0 ||
	    (rc = get_string(L, doc, "title", true, &p->title)) != 0 ||
	    (rc = get_string(L, doc, "description", false, &p->description)) != 0)
		return rc;
	if (!check_id_valid(p->id))
		return fail(L, "policy id \"%s\" must be lower case letters, digits, '.', '-' and '_'", p->id);
	if ((rc = load_variables(L, json_object_get(doc, "variables"))) != 0)
		return rc;
	if ((rc = load_applicability(L, json_object_get(doc, "applicability"), p)) != 0)
		return rc;
	checks = json_object_get(doc, "checks");
	if (checks == NULL)
		return fail(L, "missing required key \"checks\"");
	if (!json_is_array(checks) || json_array_size(checks) == 0)
		return fail(L, "\"checks\" must be a non-empty array");
	if (json_array_size(checks) > POLICY_MAX_CHECKS)
		return fail(L, "more than %d checks", POLICY_MAX_CHECKS);
	p->checks = calloc(json_array_size(checks), sizeof(*p->checks));
	if (p->checks == NULL)
		return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
	json_array_foreach(checks, i, item) {
		set_where(L, "checks[%zu]", i);
		p->nchecks++;
		rc = load_check(L, item, &p->checks[i]);
		if (rc != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(p->checks[j].id, p->checks[i].id) == 0)
				return fail(L, "duplicate check id (also checks[%zu])", j);
	}
	L->where[0] = '\0';
	return 0;
}

/* --- extending a policy --- */

static const char *const extending_keys[] = {
	"format", "id", "version", "title", "description", "applicability",
	"variables", "checks", "extends", NULL,
};

/*
 * doc extends another policy: validate the base on its own (its errors name
 * its file), then load the base's document with this one's id, version,
 * title, applicability, variables and extra checks laid over it.
 */
static int extend(struct loader *L, json_t *doc, struct policy *p)
{
	const json_t *ext = json_object_get(doc, "extends"), *v, *bvars;
	const char *key;
	char *base_path = NULL, *bbuf = NULL;
	size_t blen = 0, i;
	struct policy *base = NULL;
	json_t *bdoc = NULL, *merged = NULL, *vars, *item;
	json_error_t jerr;
	EVP_MD_CTX *md = NULL;
	unsigned int dn = 32;
	int rc;

	if (L->is_base)
		return fail(L, "\"extends\": a policy that another extends must not extend a third");
	if (!json_is_string(ext) || json_string_length(ext) == 0)
		return fail(L, "\"extends\" must be a non-empty string: the path of the policy extended");
	if (json_string_value(ext)[0] == '/') {
		base_path = strdup(json_string_value(ext));
	} else {
		const char *slash = strrchr(L->file, '/');
		int n = slash ? (int)(slash - L->file) : 1;
		if (asprintf(&base_path, "%.*s/%s", n, slash ? L->file : ".", json_string_value(ext)) < 0)
			base_path = NULL;
	}
	if (base_path == NULL)
		return pst_err_set(L->e, PST_E_NOMEM, "out of memory");
	if ((rc = read_policy_file(base_path, &bbuf, &blen, L->e)) != 0) {
		pst_err_prefix(L->e, "policy %s: extends", L->file);
		goto out;
	}
	if ((rc = load_buffer(base_path, bbuf, blen, true, &base, L->e)) != 0) {
		pst_err_prefix(L->e, "policy %s: extends", L->file);
		goto out;
	}
	bdoc = json_loadb(bbuf, blen, JSON_REJECT_DUPLICATES, &jerr);
	merged = bdoc ? json_deep_copy(bdoc) : NULL;
	if (merged == NULL) {
		rc = pst_err_set(L->e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = check_keys(L, doc, extending_keys, NULL)) != 0)
		goto out;
	json_object_foreach(doc, key, item) {
		if (strcmp(key, "variables") == 0 || strcmp(key, "checks") == 0 ||
		    strcmp(key, "extends") == 0)
			continue;
		json_object_set(merged, key, item);
	}
	if (json_object_get(doc, "title") == NULL || json_object_get(doc, "id") == NULL ||
	    json_object_get(doc, "version") == NULL) {
		rc = fail(L, "an extending policy needs its own \"id\", \"version\" and \"title\"");
		goto out;
	}
	/* Variables: each must exist in the base, with the same type. */
	v = json_object_get(doc, "variables");
	bvars = json_object_get(merged, "variables");
	if (v != NULL && !json_is_object(v)) {
		rc = fail(L, "\"variables\" must be an object of name: value");
		goto out;
	}
	vars = (json_t *)bvars;
	json_object_foreach((json_t *)v, key, item) {
		const json_t *was = json_object_get(bvars, key);
		if (was == NULL) {
			struct strbuf sb;
			const char *k2;
			json_t *v2;
			strbuf_init(&sb, 4096);
			json_object_foreach((json_t *)bvars, k2, v2)
				strbuf_appendf(&sb, "%s%s", sb.len ? ", " : "", k2);
			rc = fail(L, "variables.%s: %s defines no such variable (it has: %s)", key, base_path,
				  sb.len ? strbuf_peek(&sb) : "none");
			strbuf_cleanup(&sb);
			goto out;
		}
		if (json_typeof(was) != json_typeof(item) && !(json_is_boolean(was) && json_is_boolean(item))) {
			rc = fail(L, "variables.%s must have the type it has in %s (%s), not %s", key,
				  base_path, json_type_name(was), json_type_name(item));
			goto out;
		}
		json_object_set(vars, key, item);
	}
	/* Checks of the extending policy come after the base's. */
	v = json_object_get(doc, "checks");
	if (v != NULL) {
		if (!json_is_array(v)) {
			rc = fail(L, "\"checks\" must be an array");
			goto out;
		}
		json_array_foreach(v, i, item)
			json_array_append(json_object_get(merged, "checks"), item);
	}
	rc = load_document(L, merged, p);
	if (rc != 0)
		goto out;
	/* The digest covers what was evaluated: the base's bytes, then this file's. */
	md = EVP_MD_CTX_new();
	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(md, bbuf, blen) || !EVP_DigestUpdate(md, L->buf, L->len) ||
	    !EVP_DigestFinal_ex(md, p->sha256, &dn))
		rc = pst_err_set(L->e, PST_E_NOMEM, "policy %s: cannot compute its SHA-256", L->file);
out:
	EVP_MD_CTX_free(md);
	json_decref(merged);
	json_decref(bdoc);
	policy_free(base);
	free(bbuf);
	free(base_path);
	return rc;
}

static void sha256(const char *buf, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL);
}

int policy_load_buffer(const char *name, const char *buf, size_t len,
		       struct policy **out, struct pst_err *e)
{
	return load_buffer(name, buf, len, false, out, e);
}

static int load_buffer(const char *name, const char *buf, size_t len, bool is_base,
		       struct policy **out, struct pst_err *e)
{
	struct loader L = {.file = name, .buf = buf, .len = len, .is_base = is_base, .e = e};
	json_error_t jerr;
	json_t *doc;
	struct policy *p;
	int rc;

	*out = NULL;
	if (len > POLICY_MAX_BYTES)
		return pst_err_set(e, PST_E_TOOBIG, "policy %s: larger than %u bytes", name,
				   POLICY_MAX_BYTES);
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return pst_err_set(e, PST_E_PARSE, "policy %s:%d:%d: %s", name, jerr.line,
				   jerr.column, jerr.text);
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		json_decref(doc);
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	}
	p->source = strdup(name);
	sha256(buf, len, p->sha256);
	rc = p->source ? load_document(&L, doc, p) : pst_err_set(e, PST_E_NOMEM, "out of memory");
	json_decref(doc);
	if (rc != 0) {
		policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* Read a whole policy file (at most POLICY_MAX_BYTES) into *buf (heap). */
static int read_policy_file(const char *path, char **bufp, size_t *lenp, struct pst_err *e)
{
	return readfile("policy", path, POLICY_MAX_BYTES, bufp, lenp, e);
}

int policy_load_file(const char *path, struct policy **out, struct pst_err *e)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	rc = read_policy_file(path, &buf, &len, e);
	if (rc != 0)
		return rc;
	rc = policy_load_buffer(path, buf, len, out, e);
	free(buf);
	return rc;
}

void policy_free(struct policy *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	free(p->id);
	free(p->version);
	free(p->title);
	free(p->description);
	free(p->source);
	for (i = 0; i < p->napplies; i++) {
		for (j = 0; j < p->applies[i].nversions; j++)
			free(p->applies[i].versions[j]);
		free(p->applies[i].versions);
		free(p->applies[i].id);
	}
	free(p->applies);
	for (i = 0; i < p->nchecks; i++)
		check_cleanup(&p->checks[i]);
	free(p->checks);
	free(p);
}
