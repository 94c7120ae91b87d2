/*
 * err.h - the one error convention of posture.
 *
 * Functions return 0 on success or a negative PST_E_* code from the table
 * below.  Where a person must be told what failed, on what, and what to do,
 * the function also takes a `struct pst_err *` (may be NULL) that receives
 * the code and a formatted message.  Nothing else carries errors.
 */
#ifndef POSTURE_ERR_H
#define POSTURE_ERR_H

#include <stddef.h>

#define PST_ERRORS(X)                                              \
	X(OK, 0, "success")                                        \
	X(NOMEM, -1, "out of memory")                              \
	X(INVAL, -2, "invalid argument")                           \
	X(PROTO, -3, "protocol violation")                         \
	X(TOOBIG, -4, "input exceeds its size limit")              \
	X(TLS, -5, "TLS failure")                                  \
	X(STORE, -6, "store failure")                              \
	X(SYS, -7, "system call failed")                           \
	X(NOENT, -8, "no such file or entry")                      \
	X(ACCES, -9, "permission denied")                          \
	X(LOOP, -10, "too many levels of symbolic links")          \
	X(PARSE, -11, "malformed input")                           \
	X(TRUNC, -12, "input ends before its declared length")    \
	X(NOTDIR, -13, "not a directory")                          \
	X(LIMIT, -14, "a configured limit was reached")            \
	X(USAGE, -15, "usage error")

enum pst_errcode {
#define PST_X_ENUM(name, value, text) PST_E_##name = (value),
	PST_ERRORS(PST_X_ENUM)
#undef PST_X_ENUM
};

/* Static text for a code; never NULL, "unknown error" for a foreign code. */
const char *pst_strerror(int code);

/* Map an errno value to the nearest PST_E_* code. */
int pst_from_errno(int errnum);

struct pst_err {
	int code;
	char msg[1024];
};

/*
 * Record code and a printf-style message in *e (e may be NULL) and return
 * code, so that callers can write `return pst_err_set(e, PST_E_INVAL, ...)`.
 */
int pst_err_set(struct pst_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix e->msg with "prefix: " (printf-style), keeping the code. */
void pst_err_prefix(struct pst_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
