/*
 * log.h - the daemons' log: one line per event on stderr (journald adds the
 * time and unit under systemd), "posture-collector[level]: message".
 *
 * Messages never carry secrets: no private key material, no token, no
 * password.  Say what happened, on what, and what to do.
 */
#ifndef POSTURE_LOG_H
#define POSTURE_LOG_H

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Program name shown on every line and the most verbose level printed. */
void log_init(const char *prog, enum log_level max);

/* Parse "error", "warn", "info" or "debug"; -1 for anything else. */
int log_level_parse(const char *s);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
