/* probe.c - parameter access and the observation list of probe.h. */
#include "probe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *probe_param_str(const json_t *params, const char *key)
{
	const json_t *v = json_object_get(params, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

long long probe_param_int(const json_t *params, const char *key, long long dflt)
{
	const json_t *v = json_object_get(params, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

bool probe_param_bool(const json_t *params, const char *key, bool dflt)
{
	const json_t *v = json_object_get(params, key);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

const json_t *probe_param_list(const json_t *params, const char *key)
{
	const json_t *v = json_object_get(params, key);

	return json_is_array(v) ? v : NULL;
}

struct cache_entry {
	char *key;
	void *data;
	void (*destroy)(void *);
};

/* A scan holds a handful of shared results: a list is the right size. */
struct probe_cache {
	struct cache_entry *e;
	size_t n;
};

struct probe_cache *probe_cache_new(void)
{
	return calloc(1, sizeof(struct probe_cache));
}

void probe_cache_free(struct probe_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->e[i].key);
		c->e[i].destroy(c->e[i].data);
	}
	free(c->e);
	free(c);
}

void *probe_cache_get(struct probe_cache *c, const char *key)
{
	size_t i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (strcmp(c->e[i].key, key) == 0)
			return c->e[i].data;
	return NULL;
}

int probe_cache_put(struct probe_cache *c, const char *key, void *data,
		    void (*destroy)(void *))
{
	struct cache_entry *ne;
	char *k = strdup(key);

	ne = k ? realloc(c->e, (c->n + 1) * sizeof(*ne)) : NULL;
	if (ne == NULL) {
		free(k);
		destroy(data);
		return PST_E_NOMEM;
	}
	c->e = ne;
	c->e[c->n].key = k;
	c->e[c->n].data = data;
	c->e[c->n].destroy = destroy;
	c->n++;
	return 0;
}

void probe_out_init(struct probe_out *o)
{
	memset(o, 0, sizeof(*o));
}

static void observation_cleanup(struct observation *ob)
{
	free(ob->subject);
	free(ob->key);
	free(ob->location);
	free(ob->note);
	value_cleanup(&ob->v);
}

void probe_out_cleanup(struct probe_out *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		observation_cleanup(&o->items[i]);
	free(o->items);
	memset(o, 0, sizeof(*o));
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		*oom = true;
	return p;
}

int probe_out_add(struct probe_out *o, const char *subject, const char *key,
		  const char *path, unsigned line, struct value v)
{
	struct observation ob = {0};
	bool oom = false;

	if (o->n >= PROBE_MAX_OBSERVATIONS) {
		value_cleanup(&v);
		return probe_out_fail(o, PST_E_LIMIT,
				      "more than %d observations; narrow the rule's paths or selection",
				      PROBE_MAX_OBSERVATIONS);
	}
	if (o->n == o->cap) {
		size_t ncap = o->cap ? o->cap * 2 : 8;
		struct observation *p = realloc(o->items, ncap * sizeof(*p));

		if (p == NULL) {
			value_cleanup(&v);
			return probe_out_fail(o, PST_E_NOMEM, "out of memory");
		}
		o->items = p;
		o->cap = ncap;
	}
	ob.v = v;
	ob.subject = dup_or_null(subject, &oom);
	ob.key = dup_or_null(key, &oom);
	if (path != NULL) {
		if (line > 0) {
			if (asprintf(&ob.location, "%s:%u", path, line) < 0) {
				ob.location = NULL;
				oom = true;
			}
		} else {
			ob.location = dup_or_null(path, &oom);
		}
	}
	if (oom) {
		observation_cleanup(&ob);
		return probe_out_fail(o, PST_E_NOMEM, "out of memory");
	}
	o->items[o->n++] = ob;
	return 0;
}

int probe_out_note(struct probe_out *o, const char *fmt, ...)
{
	struct observation *ob;
	va_list ap;
	char *s;
	int n;

	if (o->n == 0)
		return PST_E_INVAL;
	ob = &o->items[o->n - 1];
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return probe_out_fail(o, PST_E_NOMEM, "out of memory");
	free(ob->note);
	ob->note = s;
	return 0;
}

int probe_out_fail(struct probe_out *o, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
	return code;
}

int probe_read_file(const struct probe_ctx *ctx, struct probe_out *o,
		    const char *path, size_t max, char **data, size_t *len)
{
	int rc = rootfs_read(ctx->root, path, max, data, len);

	switch (rc) {
	case 0:
		return 0;
	case PST_E_TOOBIG:
		return probe_out_fail(o, rc, "cannot read %s: larger than %zu bytes; raise the rule's limit or check the file",
				      path, max ? max : (size_t)ROOTFS_DEFAULT_MAX_READ);
	case PST_E_INVAL:
		return probe_out_fail(o, rc, "cannot read %s: not a regular file", path);
	default:
		return probe_out_fail(o, rc, "cannot read %s: %s", path, rootfs_strerror(rc));
	}
}

int probe_expand(const struct probe_ctx *ctx, struct probe_out *o, const char *pattern,
		 char ***paths, size_t *n)
{
	int rc;

	*paths = NULL;
	*n = 0;
	if (!rootfs_has_glob(pattern)) {
		*paths = malloc(sizeof(**paths));
		if (*paths == NULL || ((*paths)[0] = strdup(pattern)) == NULL) {
			free(*paths);
			*paths = NULL;
			return probe_out_fail(o, PST_E_NOMEM, "out of memory");
		}
		*n = 1;
		return 0;
	}
	rc = rootfs_glob(ctx->root, pattern, 0, paths, n);
	if (rc == PST_E_LIMIT)
		return probe_out_fail(o, rc, "pattern %s matches too many paths; narrow it", pattern);
	if (rc < 0)
		return probe_out_fail(o, rc, "cannot expand pattern %s: %s", pattern, rootfs_strerror(rc));
	return 0;
}

int probe_read_config(const struct probe_ctx *ctx, struct probe_out *o, const char *path,
		      const char *from, const char *missing_hint, char **data, size_t *len)
{
	char reason[sizeof(o->reason)];
	int rc = probe_read_file(ctx, o, path, 0, data, len);

	if (rc == PST_E_NOENT && from == NULL)
		return probe_out_fail(o, rc, "cannot read %s: no such file (%s)", path, missing_hint);
	if (rc < 0 && from != NULL) {
		snprintf(reason, sizeof(reason), "%s", o->reason);
		probe_out_fail(o, rc, "%s (included from %s)", reason, from);
	}
	return rc;
}
