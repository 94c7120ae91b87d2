/* aptconf.c - apt's configuration files (aptconf.h). */
#include "aptconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct lexer {
	const char *p, *end;
	unsigned line;
};

enum tok { T_END, T_WORD, T_STRING, T_OPEN, T_CLOSE, T_SEMI, T_ERR };

/* Skip white space and comments (//, #, and C comments); false on an unterminated comment. */
static bool skip(struct lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\n') {
			lx->line++;
			lx->p++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			lx->p++;
		} else if (c == '#' && !(lx->end - lx->p >= 6 && (memcmp(lx->p, "#clear", 6) == 0 ||
								   memcmp(lx->p, "#inclu", 6) == 0))) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->end - lx->p >= 2 && lx->p[1] == '/') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->end - lx->p >= 2 && lx->p[1] == '*') {
			lx->p += 2;
			for (;;) {
				if (lx->end - lx->p < 2)
					return false;
				if (lx->p[0] == '*' && lx->p[1] == '/') {
					lx->p += 2;
					break;
				}
				if (*lx->p == '\n')
					lx->line++;
				lx->p++;
			}
		} else {
			break;
		}
	}
	return true;
}

static enum tok next(struct lexer *lx, const char **s, size_t *n)
{
	const char *start;

	if (!skip(lx))
		return T_ERR;
	if (lx->p >= lx->end)
		return T_END;
	start = lx->p;
	switch (*lx->p) {
	case '{':
		lx->p++;
		return T_OPEN;
	case '}':
		lx->p++;
		return T_CLOSE;
	case ';':
		lx->p++;
		return T_SEMI;
	case '"':
		lx->p++;
		start = lx->p;
		while (lx->p < lx->end && *lx->p != '"') {
			if (*lx->p == '\n')
				lx->line++;
			lx->p++;
		}
		if (lx->p >= lx->end)
			return T_ERR;
		*s = start;
		*n = (size_t)(lx->p - start);
		lx->p++;
		return T_STRING;
	default:
		/* A NUL byte is no word character (strchr would match it as the terminator). */
		while (lx->p < lx->end && *lx->p != '\0' && !strchr(" \t\r\n{};\"", *lx->p))
			lx->p++;
		*s = start;
		*n = (size_t)(lx->p - start);
		return *n > 0 ? T_WORD : T_ERR;
	}
}

int aptconf_parse(const char *data, size_t len,
		  int (*cb)(void *arg, const char *name, const char *value, unsigned line),
		  void *arg, const char **why, unsigned *errline)
{
	struct lexer lx = {data, data + len, 1};
	size_t scope_len[APTCONF_MAX_DEPTH + 1];
	char name[APTCONF_MAX_NAME + 1], value[APTCONF_MAX_NAME + 1];
	unsigned depth = 0;
	size_t base = 0;
	int rc;

	*why = NULL;
	*errline = 0;
	name[0] = '\0';
	for (;;) {
		const char *s = NULL, *v = NULL;
		size_t n = 0, vn = 0;
		unsigned line;
		enum tok t = next(&lx, &s, &n), t2;

		line = lx.line;
		if (t == T_END)
			break;
		if (t == T_ERR)
			goto unterminated;
		if (t == T_SEMI)
			continue;
		if (t == T_CLOSE) {
			if (depth == 0) {
				*why = "'}' without an open scope";
				goto bad;
			}
			base = scope_len[--depth];
			name[base] = '\0';
			continue;
		}
		if (t == T_OPEN) {
			*why = "'{' without a name before it";
			goto bad;
		}
		if (t == T_WORD && n > 0 && s[0] == '#') {
			/* #clear and #include: skip to the ';'. */
			while ((t2 = next(&lx, &v, &vn)) != T_SEMI && t2 != T_END && t2 != T_ERR)
				;
			if (t2 == T_ERR)
				goto unterminated;
			continue;
		}
		t2 = next(&lx, &v, &vn);
		if (t2 == T_ERR)
			goto unterminated;
		if (t == T_STRING && (t2 == T_SEMI || t2 == T_CLOSE || t2 == T_END)) {
			/* A list element ("a";) inside a scope: no name to set. */
			if (t2 == T_CLOSE) {
				if (depth == 0) {
					*why = "'}' without an open scope";
					goto bad;
				}
				base = scope_len[--depth];
				name[base] = '\0';
			}
			continue;
		}
		if (base + (base ? 2 : 0) + n > APTCONF_MAX_NAME) {
			*why = "name too long";
			goto bad;
		}
		scope_len[depth] = base;
		if (base > 0) {
			memcpy(name + base, "::", 2);
			memcpy(name + base + 2, s, n);
			name[base + 2 + n] = '\0';
		} else {
			memcpy(name, s, n);
			name[n] = '\0';
		}
		if (t2 == T_OPEN) {
			if (depth == APTCONF_MAX_DEPTH) {
				*why = "scopes nested too deeply";
				goto bad;
			}
			depth++;
			base = strlen(name);
			continue;
		}
		if (t2 == T_STRING || t2 == T_WORD) {
			enum tok t3;

			if (vn > APTCONF_MAX_NAME) {
				*why = "value too long";
				goto bad;
			}
			memcpy(value, v, vn);
			value[vn] = '\0';
			t3 = next(&lx, &s, &n);
			if (t3 == T_OPEN) {
				/* `Name "value" { ... }` sets and opens a scope; rare, accepted. */
				rc = cb(arg, name, value, line);
				if (rc < 0)
					return rc;
				if (depth == APTCONF_MAX_DEPTH) {
					*why = "scopes nested too deeply";
					goto bad;
				}
				depth++;
				base = strlen(name);
				continue;
			}
			if (t3 != T_SEMI) {
				*why = "expected ';' after the value";
				goto bad;
			}
			rc = cb(arg, name, value, line);
			if (rc < 0)
				return rc;
		} else if (t2 != T_SEMI) {
			*why = "expected a value, '{' or ';' after the name";
			goto bad;
		}
		name[base] = '\0';
	}
	if (depth != 0) {
		*why = "a scope is not closed with '}'";
		*errline = lx.line;
		return PST_E_PARSE;
	}
	return 0;
unterminated:
	*why = "unterminated quoted string or comment, or a NUL byte";
bad:
	*errline = lx.line;
	return PST_E_PARSE;
}

int aptconf_name_accepted(const char *name)
{
	static const char *const ignored[] = {"~", ".disabled", ".bak", ".save", ".orig",
					      ".distUpgrade", NULL};
	size_t i, n = strlen(name);
	const char *dot;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	for (i = 0; ignored[i] != NULL; i++) {
		size_t k = strlen(ignored[i]);

		if (n >= k && strcmp(name + n - k, ignored[i]) == 0)
			return 0;
	}
	dot = strrchr(name, '.');
	/* dpkg leaves .dpkg-old, .dpkg-dist, ...; ucf .ucf-old, ... */
	if (dot != NULL && (strncmp(dot, ".dpkg-", 6) == 0 || strncmp(dot, ".ucf-", 5) == 0))
		return 0;
	return 1;
}

struct lookup {
	const char *want;
	char *value, *path;
	const char *cur_path;
	unsigned line;
};

static int on_assign(void *arg, const char *name, const char *value, unsigned line)
{
	struct lookup *lk = arg;
	char *v, *p;

	if (strcasecmp(name, lk->want) != 0)
		return 0;
	v = strdup(value);
	p = strdup(lk->cur_path);
	if (v == NULL || p == NULL) {
		free(v);
		free(p);
		return PST_E_NOMEM;
	}
	free(lk->value);
	free(lk->path);
	lk->value = v;
	lk->path = p;
	lk->line = line;
	return 0;
}

static int read_one(const struct probe_ctx *ctx, struct probe_out *out, struct lookup *lk,
		    const char *path)
{
	const char *why;
	unsigned errline;
	char *data = NULL;
	size_t len;
	int rc;

	rc = probe_read_file(ctx, out, path, APTCONF_MAX_FILE_BYTES, &data, &len);
	if (rc < 0)
		return rc;
	lk->cur_path = path;
	rc = aptconf_parse(data, len, on_assign, lk, &why, &errline);
	if (rc == PST_E_NOMEM)
		rc = probe_out_fail(out, rc, "out of memory");
	else if (rc < 0)
		rc = probe_out_fail(out, rc, "cannot read %s:%u: %s (apt refuses this file too)",
				    path, errline, why);
	free(data);
	return rc;
}

int aptconf_lookup(const struct probe_ctx *ctx, struct probe_out *out, const char *name,
		   char **value, char **path, unsigned *line)
{
	struct lookup lk = {name, NULL, NULL, NULL, 0};
	char **names = NULL, full[4096];
	size_t n = 0, i;
	struct stat st;
	int rc;

	*value = NULL;
	*path = NULL;
	*line = 0;
	rc = rootfs_list(ctx->root, APTCONF_PARTS_DIR, 0, &names, &n);
	if (rc == PST_E_NOENT) {
		n = 0;
		rc = 0;
	} else if (rc < 0) {
		return probe_out_fail(out, rc, "cannot list %s: %s", APTCONF_PARTS_DIR,
				      rootfs_strerror(rc));
	}
	for (i = 0; i < n && rc == 0; i++) {
		if (!aptconf_name_accepted(names[i]))
			continue;
		snprintf(full, sizeof(full), "%s/%s", APTCONF_PARTS_DIR, names[i]);
		if (rootfs_stat(ctx->root, full, true, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		rc = read_one(ctx, out, &lk, full);
	}
	if (rc == 0 && rootfs_stat(ctx->root, APTCONF_MAIN, true, &st) == 0)
		rc = read_one(ctx, out, &lk, APTCONF_MAIN);
	rootfs_glob_free(names, n);
	if (rc < 0) {
		free(lk.value);
		free(lk.path);
		return rc;
	}
	*value = lk.value;
	*path = lk.path;
	*line = lk.line;
	return 0;
}
