/*
 * settings.c - flags, environment and config file (see settings.h).
 */
#include "settings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "readfile.h"

#define TOKEN_MAX 4096

static int dup_into(char **dst, const char *s, struct pst_err *e)
{
	if (s == NULL || *dst != NULL)
		return 0;
	if ((*dst = strdup(s)) == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	return 0;
}

static int private_file(const char *what, const char *path, struct pst_err *e)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return pst_err_set(e, PST_E_USAGE, "%s %s: %s", what, path, strerror(errno));
	if ((st.st_mode & 077) != 0)
		return pst_err_set(e, PST_E_USAGE,
				   "%s %s holds a token and is readable by group or others "
				   "(mode %04o); run chmod 600 %s",
				   what, path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

/* A token must be one line of visible ASCII: it goes into an HTTP header. */
static int check_token(const char *from, const char *t, struct pst_err *e)
{
	size_t n = strlen(t);

	if (n == 0)
		return pst_err_set(e, PST_E_USAGE, "the token from %s is empty", from);
	if (n > TOKEN_MAX)
		return pst_err_set(e, PST_E_USAGE, "the token from %s is longer than %d bytes",
				   from, TOKEN_MAX);
	for (size_t i = 0; i < n; i++)
		if (t[i] <= ' ' || t[i] >= 0x7f)
			return pst_err_set(e, PST_E_USAGE,
					   "the token from %s holds a space or control "
					   "character; give the token alone",
					   from);
	return 0;
}

static int read_token_file(const char *path, char **out, struct pst_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = private_file("token file", path, e)) != 0)
		return rc;
	rc = readfile("token file", path, TOKEN_MAX + 2, &buf, &len, e);
	if (rc != 0) {
		e->code = PST_E_USAGE;
		return PST_E_USAGE;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		free(buf);
		return pst_err_set(e, PST_E_USAGE, "token file %s holds a NUL byte", path);
	}
	*out = buf;
	return 0;
}

static int read_config(const char *path, struct ctl_settings *s, char **url, char **cacert,
		       char **token, struct pst_err *e)
{
	static const char *const keys[] = {"url", "token", "token_file", "cacert", NULL};
	json_t *doc = NULL;
	char *token_file = NULL, *p;
	int rc;

	rc = conf_load(path, &doc, e);
	if (rc == 0)
		rc = conf_check_keys(path, "", doc, keys, e);
	if (rc == 0)
		rc = conf_get_string(path, doc, "url", false, url, e);
	if (rc == 0)
		rc = conf_get_string(path, doc, "token", false, token, e);
	if (rc == 0)
		rc = conf_get_string(path, doc, "token_file", false, &token_file, e);
	if (rc == 0)
		rc = conf_get_string(path, doc, "cacert", false, cacert, e);
	if (rc == 0 && *token != NULL && token_file != NULL)
		rc = pst_err_set(e, PST_E_INVAL, "%s: give token or token_file, not both", path);
	if (rc == 0 && *token != NULL)
		rc = private_file("config file", path, e);
	if (rc == 0 && *cacert != NULL) {
		if ((p = conf_path(path, *cacert)) == NULL)
			rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		free(*cacert);
		*cacert = p;
	}
	if (rc == 0 && token_file != NULL) {
		if ((p = conf_path(path, token_file)) == NULL)
			rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		else
			rc = read_token_file(p, token, e);
		free(p);
	}
	free(token_file);
	json_decref(doc);
	if (rc == 0 && (s->config_path = strdup(path)) == NULL)
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
	if (rc != 0 && e != NULL)
		e->code = PST_E_USAGE;
	return rc == 0 ? 0 : PST_E_USAGE;
}

static void wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int settings_resolve(const struct ctl_sources *src, struct ctl_settings *out,
		     struct pst_err *e)
{
	char *c_url = NULL, *c_cacert = NULL, *c_token = NULL, *def = NULL;
	const char *path = src->config;
	const char *token_from = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (path == NULL && src->home != NULL && src->home[0] != '\0') {
		struct stat st;

		if (asprintf(&def, "%s/.config/posture/posturectl.json", src->home) < 0)
			return pst_err_set(e, PST_E_NOMEM, "out of memory");
		if (stat(def, &st) == 0)
			path = def;
	}
	if (path != NULL)
		rc = read_config(path, out, &c_url, &c_cacert, &c_token, e);

	/* Flags, then the environment, then the config file: the first one set wins. */
	if (rc == 0 && src->flag_url != NULL) {
		rc = dup_into(&out->url, src->flag_url, e);
		out->url_from = "--url";
	} else if (rc == 0 && src->env_url != NULL && src->env_url[0] != '\0') {
		rc = dup_into(&out->url, src->env_url, e);
		out->url_from = "POSTURE_URL";
	} else if (rc == 0 && c_url != NULL) {
		out->url = c_url;
		c_url = NULL;
		out->url_from = out->config_path;
	}
	if (rc == 0 && src->flag_token != NULL) {
		rc = dup_into(&out->token, src->flag_token, e);
		token_from = "--token";
	} else if (rc == 0 && src->env_token != NULL && src->env_token[0] != '\0') {
		rc = dup_into(&out->token, src->env_token, e);
		token_from = "POSTURE_TOKEN";
	} else if (rc == 0 && c_token != NULL) {
		out->token = c_token;
		c_token = NULL;
		token_from = out->config_path;
	}
	if (rc == 0 && src->flag_cacert != NULL)
		rc = dup_into(&out->cacert, src->flag_cacert, e);
	else if (rc == 0 && c_cacert != NULL) {
		out->cacert = c_cacert;
		c_cacert = NULL;
	}
	if (rc == 0 && out->token != NULL)
		rc = check_token(token_from, out->token, e);
	free(c_url);
	free(c_cacert);
	wipe_free(c_token);
	free(def);
	if (rc != 0) {
		settings_cleanup(out);
		if (e != NULL && e->code != PST_E_NOMEM)
			e->code = PST_E_USAGE;
		return rc == PST_E_NOMEM ? rc : PST_E_USAGE;
	}
	return 0;
}

void settings_cleanup(struct ctl_settings *s)
{
	free(s->url);
	wipe_free(s->token);
	free(s->cacert);
	free(s->config_path);
	memset(s, 0, sizeof(*s));
}
