/* err.c - the error table's strings and the message helpers of err.h. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *pst_strerror(int code)
{
	switch (code) {
#define PST_X_CASE(name, value, text) \
	case (value):                 \
		return text;
		PST_ERRORS(PST_X_CASE)
#undef PST_X_CASE
	}
	return "unknown error";
}

int pst_from_errno(int errnum)
{
	switch (errnum) {
	case 0:
		return PST_E_OK;
	case ENOENT:
		return PST_E_NOENT;
	case EACCES:
	case EPERM:
		return PST_E_ACCES;
	case ELOOP:
		return PST_E_LOOP;
	case ENOTDIR:
		return PST_E_NOTDIR;
	case ENOMEM:
		return PST_E_NOMEM;
	case EFBIG:
	case ENAMETOOLONG:
		return PST_E_TOOBIG;
	case EINVAL:
		return PST_E_INVAL;
	default:
		return PST_E_SYS;
	}
}

int pst_err_set(struct pst_err *e, int code, const char *fmt, ...)
{
	if (e != NULL) {
		va_list ap;
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void pst_err_prefix(struct pst_err *e, const char *fmt, ...)
{
	char prefix[512], old[sizeof(e->msg)];
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* Truncation keeps the start of the message, which says what failed. */
	if (snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old) >= (int)sizeof(e->msg))
		e->msg[sizeof(e->msg) - 1] = '\0';
}
