/*
 * conf.h - strict reading of JSON configuration files (agent.json,
 * collector.json), as strict as policies: a syntax error names
 * file:line:column, duplicate keys are refused, an unknown key, a wrong
 * type or a value out of range names the file and the key, and says what
 * is accepted.
 *
 * Usage: conf_load() the document, conf_check_keys() each object against
 * its allowed keys, then read values with the typed getters, which leave
 * *out untouched when the key is absent and not required (so callers set
 * defaults first).  Every function returns 0 or a negative PST_E_* code
 * with the message in e.
 */
#ifndef POSTURE_CONF_H
#define POSTURE_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "err.h"

#define CONF_MAX_BYTES (1024u * 1024)

/* Read and parse path (at most CONF_MAX_BYTES); *out is the document. */
int conf_load(const char *path, json_t **out, struct pst_err *e);

/* The same for a buffer; name is used in messages. */
int conf_load_buffer(const char *name, const char *buf, size_t len, json_t **out,
		     struct pst_err *e);

/*
 * Refuse keys of obj not in allowed (NULL-terminated).  file names the
 * document in messages; where is the place of obj ("" for the top level,
 * "tls" for a nested object).
 */
int conf_check_keys(const char *file, const char *where, const json_t *obj,
		    const char *const *allowed, struct pst_err *e);

/* A string value; *out is a new copy (free it). Empty strings are refused. */
int conf_get_string(const char *file, const json_t *obj, const char *key, bool required,
		    char **out, struct pst_err *e);

/* An integer value within [min, max]. */
int conf_get_int(const char *file, const json_t *obj, const char *key, bool required,
		 int64_t min, int64_t max, int64_t *out, struct pst_err *e);

int conf_get_bool(const char *file, const json_t *obj, const char *key, bool required,
		  bool *out, struct pst_err *e);

/*
 * A list of strings: an array of non-empty strings, or one string taken as
 * a list of one.  *out is a new NULL-terminated array (free with
 * conf_strv_free), *n its length.
 */
int conf_get_strv(const char *file, const json_t *obj, const char *key, bool required,
		  char ***out, size_t *n, struct pst_err *e);
void conf_strv_free(char **v);

/*
 * Resolve a path read from a config file: absolute paths stay, relative
 * ones are taken relative to the directory holding the config file, so a
 * config directory can be moved as a whole.  Returns a new string or NULL.
 */
char *conf_path(const char *config_file, const char *path);

/*
 * Split "host:port" (or "[v6]:port"); host gets at most hostcap bytes.
 * PST_E_INVAL with a message naming file and key when it is malformed or
 * the port is not 1..65535.
 */
int conf_split_hostport(const char *file, const char *key, const char *s, char *host,
			size_t hostcap, uint16_t *port, struct pst_err *e);

/*
 * The socket address to listen on for host (an address or a name) and
 * port: a literal address as it is, a name through getaddrinfo.  key names
 * the setting in the message ("agent_listen").
 */
int conf_resolve_listen(const char *key, const char *host, uint16_t port,
			struct sockaddr_storage *ss, struct pst_err *e);

#endif
