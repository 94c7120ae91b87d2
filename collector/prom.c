/*
 * prom.c - Prometheus text exposition (see prom.h).
 *
 * Samples are kept per family as rendered lines; a hash set of the series
 * keys ("name{labels}") finds duplicates in constant time, since a fleet
 * brings one posture_host_score series per host.
 */
#include "prom.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define PROM_MAX_BYTES (256u * 1024 * 1024)

struct family {
	char *name, *help;
	enum prom_type type;
	struct strbuf lines;
};

struct prom {
	struct family *fam;
	size_t nfam, capfam;
	char **keys;              /* open addressing; NULL = empty */
	size_t nkeys, capkeys;
};

int prom_new(struct prom **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? 0 : PST_E_NOMEM;
}

void prom_free(struct prom *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nfam; i++) {
		free(p->fam[i].name);
		free(p->fam[i].help);
		strbuf_cleanup(&p->fam[i].lines);
	}
	for (size_t i = 0; i < p->capkeys; i++)
		free(p->keys[i]);
	free(p->fam);
	free(p->keys);
	free(p);
}

static bool name_ok(const char *s, bool colon)
{
	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || (colon && *s == ':')))
			return false;
	return true;
}

static struct family *find(struct prom *p, const char *name)
{
	for (size_t i = 0; i < p->nfam; i++)
		if (strcmp(p->fam[i].name, name) == 0)
			return &p->fam[i];
	return NULL;
}

int prom_family(struct prom *p, const char *name, enum prom_type type, const char *help)
{
	struct family *f = find(p, name);

	if (f != NULL)
		return f->type == type ? 0 : PST_E_INVAL;
	if (!name_ok(name, true))
		return PST_E_INVAL;
	if (type == PROM_COUNTER && (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total")))
		return PST_E_INVAL;
	if (p->nfam == p->capfam) {
		size_t cap = p->capfam ? p->capfam * 2 : 16;
		struct family *n = realloc(p->fam, cap * sizeof(*n));

		if (n == NULL)
			return PST_E_NOMEM;
		p->fam = n;
		p->capfam = cap;
	}
	f = &p->fam[p->nfam];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->help = strdup(help != NULL ? help : "");
	f->type = type;
	strbuf_init(&f->lines, PROM_MAX_BYTES);
	if (f->name == NULL || f->help == NULL) {
		free(f->name);
		free(f->help);
		return PST_E_NOMEM;
	}
	p->nfam++;
	return 0;
}

/* Label values: backslash, double quote and line feed are escaped. */
static int append_escaped(struct strbuf *b, const char *s, bool quote)
{
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '\\')
			rc = strbuf_appends(b, "\\\\");
		else if (*s == '\n')
			rc = strbuf_appends(b, "\\n");
		else if (quote && *s == '"')
			rc = strbuf_appends(b, "\\\"");
		else
			rc = strbuf_appendc(b, *s);
	}
	return rc;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Add key to the set; PST_E_INVAL when already there. */
static int key_add(struct prom *p, const char *key)
{
	size_t i;

	if ((p->nkeys + 1) * 2 > p->capkeys) {
		size_t cap = p->capkeys ? p->capkeys * 2 : 256;
		char **n = calloc(cap, sizeof(*n));

		if (n == NULL)
			return PST_E_NOMEM;
		for (size_t j = 0; j < p->capkeys; j++) {
			if (p->keys[j] == NULL)
				continue;
			for (i = fnv1a(p->keys[j]) & (cap - 1); n[i] != NULL; i = (i + 1) & (cap - 1))
				;
			n[i] = p->keys[j];
		}
		free(p->keys);
		p->keys = n;
		p->capkeys = cap;
	}
	for (i = fnv1a(key) & (p->capkeys - 1); p->keys[i] != NULL; i = (i + 1) & (p->capkeys - 1))
		if (strcmp(p->keys[i], key) == 0)
			return PST_E_INVAL;
	if ((p->keys[i] = strdup(key)) == NULL)
		return PST_E_NOMEM;
	p->nkeys++;
	return 0;
}

static int format_value(double v, char *buf, size_t size)
{
	if (isnan(v))
		return snprintf(buf, size, "NaN");
	if (isinf(v))
		return snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
	if (v == (double)(int64_t)v && fabs(v) < 9.007199254740992e15)
		return snprintf(buf, size, "%lld", (long long)v);
	return snprintf(buf, size, "%.17g", v);
}

int prom_sample(struct prom *p, const char *name, const char *const (*labels)[2],
		size_t nlabels, double value)
{
	struct family *f = find(p, name);
	struct strbuf series;
	char num[64];
	int rc = 0;

	if (f == NULL)
		return PST_E_INVAL;
	strbuf_init(&series, 64 * 1024);
	rc = strbuf_appends(&series, name);
	for (size_t i = 0; i < nlabels && rc == 0; i++) {
		if (!name_ok(labels[i][0], false) || strncmp(labels[i][0], "__", 2) == 0 ||
		    labels[i][1] == NULL) {
			rc = PST_E_INVAL;
			break;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(labels[i][0], labels[j][0]) == 0)
				rc = PST_E_INVAL;
		if (rc == 0)
			rc = strbuf_appendf(&series, "%s%s=\"", i == 0 ? "{" : ",", labels[i][0]);
		if (rc == 0)
			rc = append_escaped(&series, labels[i][1], true);
		if (rc == 0)
			rc = strbuf_appendc(&series, '"');
	}
	if (rc == 0 && nlabels > 0)
		rc = strbuf_appendc(&series, '}');
	if (rc == 0)
		rc = key_add(p, strbuf_peek(&series));
	if (rc == 0) {
		format_value(value, num, sizeof(num));
		rc = strbuf_appendf(&f->lines, "%s %s\n", strbuf_peek(&series), num);
	}
	strbuf_cleanup(&series);
	return rc;
}

int prom_render(struct prom *p, char **out, size_t *len)
{
	struct strbuf b;
	int rc = 0;

	strbuf_init(&b, PROM_MAX_BYTES);
	for (size_t i = 0; i < p->nfam && rc == 0; i++) {
		struct family *f = &p->fam[i];

		rc = strbuf_appendf(&b, "# HELP %s ", f->name);
		if (rc == 0)
			rc = append_escaped(&b, f->help, false);
		if (rc == 0)
			rc = strbuf_appendf(&b, "\n# TYPE %s %s\n", f->name,
					    f->type == PROM_COUNTER ? "counter" : "gauge");
		if (rc == 0 && f->lines.len > 0)
			rc = strbuf_append(&b, f->lines.data, f->lines.len);
	}
	if (rc != 0) {
		strbuf_cleanup(&b);
		return rc;
	}
	*len = b.len;
	*out = strbuf_take(&b);
	return *out != NULL ? 0 : PST_E_NOMEM;
}
