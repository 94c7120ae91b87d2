/*
 * settings.h - where posturectl finds the collector's URL, its token and
 * the CA to verify it with: command-line flags beat the environment
 * (POSTURE_URL, POSTURE_TOKEN), which beats the config file (--config FILE,
 * by default ~/.config/posture/posturectl.json).
 *
 * The config file is JSON with the keys url, cacert, and token or
 * token_file (relative paths are taken from the file's directory).  A
 * config file that holds a token, and a token file, must not be readable
 * by group or others: they are refused otherwise, as private keys are.
 * The default config file may be absent; one named with --config must
 * exist.
 */
#ifndef POSTURE_CTL_SETTINGS_H
#define POSTURE_CTL_SETTINGS_H

#include "err.h"

/* What each source offers; NULL where it says nothing. */
struct ctl_sources {
	const char *flag_url, *flag_token, *flag_cacert;
	const char *config;      /* --config, or NULL for the default */
	const char *env_url, *env_token;
	const char *home;        /* $HOME, for the default config path */
};

struct ctl_settings {
	char *url, *token, *cacert; /* heap; NULL when no source gave one */
	const char *url_from;       /* "--url", "POSTURE_URL", or the config file's path */
	char *config_path;          /* the config file read, NULL if none */
};

/*
 * Resolve the settings.  PST_E_USAGE (exit 2) for a config file that
 * cannot be read or is malformed, one holding a token that group or
 * others can read, or a token with characters that cannot go in an HTTP
 * header.  A missing url or token is not an error here (offline commands
 * need neither); callers check.
 */
int settings_resolve(const struct ctl_sources *src, struct ctl_settings *out,
		     struct pst_err *e);
/* Free the strings, wiping the token first. */
void settings_cleanup(struct ctl_settings *s);

#endif
