/*
 * kvparse.h - one line of a key-value configuration file.
 *
 * Two shapes cover the files probes read: login.defs style ("KEY value",
 * white space between) and "key = value" style (pwquality.conf,
 * faillock.conf, files in /etc/default, sysctl.conf).  Comments start with
 * '#' (or ';' where asked) at the start of a line, or after white space when
 * inline comments are allowed; a value in matching single or double quotes is
 * unquoted, with backslash escapes inside double quotes.
 */
#ifndef POSTURE_KVPARSE_H
#define POSTURE_KVPARSE_H

#include <stdbool.h>
#include <stddef.h>

enum kv_style {
	KV_WHITESPACE, /* KEY value */
	KV_EQUALS,     /* key = value (spaces around '=' allowed) */
};

struct kv_options {
	enum kv_style style;
	bool inline_comments; /* "value # comment" strips the comment */
	bool semicolon_comments; /* ';' also starts a comment line */
};

struct kv_pair {
	char *key;   /* heap */
	char *value; /* heap, unquoted; "" for a key with no value */
};

/*
 * Parse one line (no newline).  Returns 1 with *kv filled (caller frees with
 * kv_pair_cleanup), 0 for a blank or comment line, PST_E_PARSE for a line
 * that is neither (no separator in KV_EQUALS style, an unterminated quote),
 * PST_E_NOMEM.
 */
int kv_parse_line(const char *line, size_t len, const struct kv_options *opt,
		  struct kv_pair *kv);
void kv_pair_cleanup(struct kv_pair *kv);

#endif
