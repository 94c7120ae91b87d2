/*
 * aptconf.h - apt's configuration as apt reads it: the files in
 * /etc/apt/apt.conf.d (those apt accepts, in name order) and then
 * /etc/apt/apt.conf, later assignments overriding earlier ones.  Both
 * spellings of a setting are understood: `APT::Periodic::Enable "1";` and
 * nested scopes `APT { Periodic { Enable "1"; }; };`, with //, # and
 * C comments.  Names compare case-insensitively, as in apt.
 */
#ifndef POSTURE_APTCONF_H
#define POSTURE_APTCONF_H

#include <stddef.h>

#include "probe.h"

#define APTCONF_PARTS_DIR "/etc/apt/apt.conf.d"
#define APTCONF_MAIN "/etc/apt/apt.conf"
/* Largest configuration file read, and deepest nesting of scopes. */
#define APTCONF_MAX_FILE_BYTES (1024u * 1024)
#define APTCONF_MAX_DEPTH 16
#define APTCONF_MAX_NAME 512

/*
 * The effective value of the setting name ("APT::Periodic::Unattended-Upgrade")
 * in the configuration of ctx's root.  *value is a heap string or NULL when
 * no file sets it; *path (heap) and *line say where it was set.  A file apt
 * could not parse fails the probe with out->reason at its file:line.
 */
int aptconf_lookup(const struct probe_ctx *ctx, struct probe_out *out, const char *name,
		   char **value, char **path, unsigned *line);

/*
 * Parse one file's text (data, len) and call cb for every assignment, with
 * the full name, the value and the line.  PST_E_PARSE with *why and
 * *errline for text apt would refuse; cb returning < 0 stops with that code.
 */
int aptconf_parse(const char *data, size_t len,
		  int (*cb)(void *arg, const char *name, const char *value, unsigned line),
		  void *arg, const char **why, unsigned *errline);

/* True when apt reads a file of this name from apt.conf.d. */
int aptconf_name_accepted(const char *name);

#endif
