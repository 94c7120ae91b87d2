/*
 * keyvalue.c - the `keyvalue` probe: the value of one key in a key-value
 * configuration file (login.defs, pwquality.conf, /etc/default files, ...).
 *
 * A scalar probe: exactly one observation, whose value is the winning
 * setting's text (integers stay strings; the engine compares them as
 * numbers), or VALUE_ABSENT when the key is not set and the rule gives no
 * default.  Lines are read with kvparse.c.  Every line of the file must
 * parse, not only the one with the key: a malformed file fails the probe,
 * naming the line, rather than passing on whatever could be read.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvparse.h"
#include "lines.h"
#include "probe.h"

static const char *const style_choices[] = {"whitespace", "equals", NULL};
static const char *const occurrence_choices[] = {"first", "last", NULL};

static const struct probe_param params[] = {
	{"path", PARAM_STRING, true, NULL, NULL,
	 "Absolute path of the file inside the scanned root, e.g. "
	 "\"/etc/login.defs\"."},
	{"key", PARAM_STRING, true, NULL, NULL,
	 "The key to look up, e.g. \"PASS_MAX_DAYS\" (one word, no white "
	 "space)."},
	{"style", PARAM_STRING, false, "\"whitespace\"", style_choices,
	 "Line shape: \"whitespace\" for \"KEY value\" (login.defs), "
	 "\"equals\" for \"key = value\" (pwquality.conf, /etc/default files). "
	 "Lines starting with '#' are comments; values in single or double "
	 "quotes are unquoted."},
	{"case_insensitive", PARAM_BOOL, false, "false", NULL,
	 "Match the key regardless of letter case."},
	{"occurrence", PARAM_STRING, false, "\"last\"", occurrence_choices,
	 "Which setting wins when the key is set more than once: \"last\" "
	 "(login.defs and most files: a later line overrides) or \"first\"."},
	{"inline_comments", PARAM_BOOL, false, "false", NULL,
	 "Treat '#' after white space as the start of a comment "
	 "(\"PASS_MAX_DAYS 90 # days\" reads as 90). Off by default: "
	 "login.defs takes such text as part of the value."},
	{"default", PARAM_STRING, false, NULL, NULL,
	 "Value the program uses when the key is not set, e.g. \"99999\" for "
	 "PASS_MAX_DAYS; reported with the note \"not set; default ...\". "
	 "Without it an unset key is absent."},
	{"missing_ok", PARAM_BOOL, false, "false", NULL,
	 "Treat a missing file as a file where the key is not set. When "
	 "false, a missing file makes the check an error."},
	{NULL, 0, false, NULL, NULL, NULL},
};

static int validate(const json_t *p, struct pst_err *e)
{
	const char *path = probe_param_str(p, "path");
	const char *key = probe_param_str(p, "key");
	const char *style = probe_param_str(p, "style");
	size_t i;

	if (path == NULL || path[0] != '/')
		return pst_err_set(e, PST_E_INVAL,
				   "path \"%s\" must be absolute (start with '/')",
				   path != NULL ? path : "");
	if (strlen(path) >= PATH_MAX)
		return pst_err_set(e, PST_E_INVAL, "path is longer than %d bytes",
				   PATH_MAX - 1);
	if (rootfs_has_glob(path))
		return pst_err_set(e, PST_E_INVAL,
				   "path \"%s\" holds glob characters; name one file",
				   path);
	if (key == NULL || key[0] == '\0')
		return pst_err_set(e, PST_E_INVAL, "key must not be empty");
	for (i = 0; key[i] != '\0'; i++)
		if (key[i] == ' ' || key[i] == '\t' || key[i] == '\n' ||
		    key[i] == '\r' || key[i] == '\v' || key[i] == '\f')
			return pst_err_set(e, PST_E_INVAL,
					   "key \"%s\" holds white space; a key is one word",
					   key);
	if (key[0] == '#')
		return pst_err_set(e, PST_E_INVAL,
				   "key \"%s\" starts with '#', which starts a comment",
				   key);
	if (style != NULL && strcmp(style, "equals") == 0 &&
	    strchr(key, '=') != NULL)
		return pst_err_set(e, PST_E_INVAL,
				   "key \"%s\" holds '=', which separates key and value in style \"equals\"",
				   key);
	return 0;
}

/* Why kv_parse_line refused a line, for the failure reason. */
static const char *parse_problem(const char *s, size_t n, enum kv_style style)
{
	const char *eq;

	if (memchr(s, '\0', n) != NULL)
		return "it holds a NUL byte";
	lines_trim(&s, &n);
	if (style == KV_EQUALS) {
		eq = memchr(s, '=', n);
		if (eq == NULL)
			return "no '=' (expected key = value)";
		if (eq == s)
			return "no key before '='";
		while (eq > s && (eq[-1] == ' ' || eq[-1] == '\t'))
			eq--;
		if (memchr(s, ' ', (size_t)(eq - s)) != NULL ||
		    memchr(s, '\t', (size_t)(eq - s)) != NULL)
			return "white space inside the key";
	}
	return "a quote without its closing quote, or text after the closing quote";
}

static int run(const struct probe_ctx *ctx, const json_t *p,
	       struct probe_out *out)
{
	const char *path = probe_param_str(p, "path");
	const char *key = probe_param_str(p, "key");
	const char *style = probe_param_str(p, "style");
	const char *occ = probe_param_str(p, "occurrence");
	const char *dflt = probe_param_str(p, "default");
	bool icase = probe_param_bool(p, "case_insensitive", false);
	bool missing_ok = probe_param_bool(p, "missing_ok", false);
	bool first = occ != NULL && strcmp(occ, "first") == 0;
	struct kv_options opt = {KV_WHITESPACE, false, false};
	struct line_iter it;
	struct kv_pair kv;
	struct value v;
	const char *line;
	char *data = NULL, *found = NULL;
	size_t len = 0, n;
	unsigned found_line = 0;
	bool missing = false;
	int rc;

	if (path == NULL || key == NULL)
		return probe_out_fail(out, PST_E_INVAL, "path and key are required");
	if (style != NULL && strcmp(style, "equals") == 0)
		opt.style = KV_EQUALS;
	opt.inline_comments = probe_param_bool(p, "inline_comments", false);

	rc = probe_read_file(ctx, out, path, 0, &data, &len);
	if (rc == PST_E_NOENT) {
		if (!missing_ok)
			return probe_out_fail(out, rc,
					      "cannot read %s: it does not exist; set missing_ok to treat a missing file as the key not set",
					      path);
		missing = true;
	} else if (rc < 0) {
		return rc;
	}

	if (!missing) {
		lines_init(&it, data, len);
		while (lines_next(&it, &line, &n)) {
			rc = kv_parse_line(line, n, &opt, &kv);
			if (rc == PST_E_PARSE) {
				rc = probe_out_fail(out, rc,
						    "%s:%u: cannot read the line as %s: %s; fix the line or the rule's style",
						    path, it.lineno,
						    opt.style == KV_EQUALS ? "key = value" : "KEY value",
						    parse_problem(line, n, opt.style));
				goto out;
			}
			if (rc < 0) {
				rc = probe_out_fail(out, rc, "out of memory");
				goto out;
			}
			if (rc == 0)
				continue;
			if ((icase ? strcasecmp(kv.key, key) : strcmp(kv.key, key)) == 0 &&
			    (found == NULL || !first)) {
				free(found);
				found = kv.value;
				kv.value = NULL;
				found_line = it.lineno;
			}
			kv_pair_cleanup(&kv);
		}
	}

	if (found != NULL) {
		v = value_take_str(found);
		found = NULL;
		rc = probe_out_add(out, path, key, path, found_line, v);
		goto out;
	}
	if (dflt != NULL) {
		v = value_str(dflt);
		if (v.kind != VALUE_STRING) {
			rc = probe_out_fail(out, PST_E_NOMEM, "out of memory");
			goto out;
		}
	} else {
		v = value_absent();
	}
	rc = probe_out_add(out, path, key, path, 0, v);
	if (rc < 0)
		goto out;
	if (dflt != NULL)
		rc = probe_out_note(out, "not set%s; default %s",
				    missing ? " (file does not exist)" : "", dflt);
	else
		rc = probe_out_note(out, "not set%s",
				    missing ? " (file does not exist)" : "");
out:
	free(found);
	free(data);
	return rc;
}

const struct probe probe_keyvalue = {
	.name = "keyvalue",
	.summary = "The value of one key in a key-value configuration file "
		   "such as /etc/login.defs or /etc/security/pwquality.conf.",
	.value_doc = "One observation: subject and location the file (with "
		     "the line of the winning setting), key the key as the "
		     "rule names it, value the setting's text with quotes "
		     "removed (\"\" for a key without a value). Integers stay "
		     "text and compare as numbers. When the key is not set the "
		     "value is the rule's default (note \"not set; default "
		     "...\"), or absent (note \"not set\"). A line that cannot "
		     "be read makes the check an error.",
	.params = params,
	.validate = validate,
	.run = run,
};
