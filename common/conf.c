/*
 * conf.c - see conf.h.
 */
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"
#include "strbuf.h"

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

int conf_load_buffer(const char *name, const char *buf, size_t len, json_t **out,
		     struct pst_err *e)
{
	json_error_t jerr;

	*out = NULL;
	if (len > CONF_MAX_BYTES)
		return pst_err_set(e, PST_E_TOOBIG, "config %s: larger than %u bytes", name,
				   CONF_MAX_BYTES);
	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL)
		return pst_err_set(e, PST_E_PARSE, "config %s:%d:%d: %s", name, jerr.line,
				   jerr.column, jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return pst_err_set(e, PST_E_INVAL, "config %s: the document must be an object",
				   name);
	}
	return 0;
}

int conf_load(const char *path, json_t **out, struct pst_err *e)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	rc = readfile("config", path, CONF_MAX_BYTES, &buf, &len, e);
	if (rc != 0)
		return rc;
	rc = conf_load_buffer(path, buf, len, out, e);
	free(buf);
	return rc;
}

int conf_check_keys(const char *file, const char *where, const json_t *obj,
		    const char *const *allowed, struct pst_err *e)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)obj, key, val) {
		const char *const *a;
		struct strbuf sb;
		bool ok = false;

		for (a = allowed; *a != NULL && !ok; a++)
			ok = strcmp(*a, key) == 0;
		if (ok)
			continue;
		strbuf_init(&sb, 1024);
		for (a = allowed; *a != NULL; a++)
			strbuf_appendf(&sb, "%s%s", a == allowed ? "" : ", ", *a);
		pst_err_set(e, PST_E_INVAL, "config %s: %s%sunknown key \"%s\" (expected one of: %s)",
			    file, where, where[0] ? ": " : "", key, strbuf_peek(&sb));
		strbuf_cleanup(&sb);
		return PST_E_INVAL;
	}
	return 0;
}

static int missing(const char *file, const char *key, struct pst_err *e)
{
	return pst_err_set(e, PST_E_INVAL, "config %s: missing required key \"%s\"", file, key);
}

int conf_get_string(const char *file, const json_t *obj, const char *key, bool required,
		    char **out, struct pst_err *e)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return required ? missing(file, key, e) : 0;
	if (!json_is_string(v))
		return pst_err_set(e, PST_E_INVAL, "config %s: \"%s\" must be a string, not %s",
				   file, key, type_name(v));
	if (json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
		return pst_err_set(e, PST_E_INVAL,
				   "config %s: \"%s\" must be a non-empty string without NUL bytes",
				   file, key);
	free(*out);
	*out = strdup(json_string_value(v));
	return *out ? 0 : pst_err_set(e, PST_E_NOMEM, "out of memory");
}

int conf_get_int(const char *file, const json_t *obj, const char *key, bool required,
		 int64_t min, int64_t max, int64_t *out, struct pst_err *e)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t x;

	if (v == NULL)
		return required ? missing(file, key, e) : 0;
	if (!json_is_integer(v))
		return pst_err_set(e, PST_E_INVAL, "config %s: \"%s\" must be an integer, not %s",
				   file, key, type_name(v));
	x = json_integer_value(v);
	if (x < min || x > max)
		return pst_err_set(e, PST_E_INVAL,
				   "config %s: \"%s\" is %lld; it must be between %lld and %lld",
				   file, key, (long long)x, (long long)min, (long long)max);
	*out = x;
	return 0;
}

int conf_get_bool(const char *file, const json_t *obj, const char *key, bool required,
		  bool *out, struct pst_err *e)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return required ? missing(file, key, e) : 0;
	if (!json_is_boolean(v))
		return pst_err_set(e, PST_E_INVAL, "config %s: \"%s\" must be true or false, not %s",
				   file, key, type_name(v));
	*out = json_is_true(v);
	return 0;
}

void conf_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

int conf_get_strv(const char *file, const json_t *obj, const char *key, bool required,
		  char ***out, size_t *n, struct pst_err *e)
{
	const json_t *v = json_object_get(obj, key);
	char **r;
	size_t i, cnt;

	if (v == NULL)
		return required ? missing(file, key, e) : 0;
	if (!json_is_array(v) && !json_is_string(v))
		return pst_err_set(e, PST_E_INVAL,
				   "config %s: \"%s\" must be a list of strings, not %s", file, key,
				   type_name(v));
	cnt = json_is_array(v) ? json_array_size(v) : 1;
	if (required && cnt == 0)
		return pst_err_set(e, PST_E_INVAL, "config %s: \"%s\" must not be empty", file, key);
	r = calloc(cnt + 1, sizeof(*r));
	if (r == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	for (i = 0; i < cnt; i++) {
		const json_t *s = json_is_array(v) ? json_array_get(v, i) : v;

		if (!json_is_string(s) || json_string_length(s) == 0) {
			conf_strv_free(r);
			return pst_err_set(e, PST_E_INVAL,
					   "config %s: \"%s\"[%zu] must be a non-empty string", file,
					   key, i);
		}
		r[i] = strdup(json_string_value(s));
		if (r[i] == NULL) {
			conf_strv_free(r);
			return pst_err_set(e, PST_E_NOMEM, "out of memory");
		}
	}
	conf_strv_free(*out);
	*out = r;
	if (n != NULL)
		*n = cnt;
	return 0;
}

char *conf_path(const char *config_file, const char *path)
{
	const char *slash;
	char *r;

	if (path[0] == '/' || (slash = strrchr(config_file, '/')) == NULL)
		return strdup(path);
	if (asprintf(&r, "%.*s/%s", (int)(slash - config_file), config_file, path) < 0)
		return NULL;
	return r;
}

int conf_split_hostport(const char *file, const char *key, const char *s, char *host,
			size_t hostcap, uint16_t *port, struct pst_err *e)
{
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	unsigned long p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto bad;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= hostcap)
		goto bad;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '\0' || p == 0 || p > 65535)
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
bad:
	return pst_err_set(e, PST_E_INVAL,
			   "config %s: \"%s\" is \"%s\"; expected HOST:PORT with a port 1-65535",
			   file, key, s);
}

int conf_resolve_listen(const char *key, const char *host, uint16_t port,
			struct sockaddr_storage *ss, struct pst_err *e)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	struct addrinfo *res;
	char portstr[8];
	int rc;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		return 0;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0)
		return pst_err_set(e, PST_E_INVAL,
				   "%s %s: cannot resolve: %s (use an address, or a name this "
				   "host resolves)", key, host, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}
