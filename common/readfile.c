/*
 * readfile.c - see readfile.h.
 */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int readfile(const char *what, const char *path, size_t max, char **bufp, size_t *lenp,
	     struct pst_err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = 0;

	*bufp = NULL;
	*lenp = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pst_err_set(e, pst_from_errno(errno), "%s %s: cannot open: %s", what, path,
				   strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = pst_err_set(e, PST_E_INVAL, "%s %s: not a regular file", what, path);
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		rc = pst_err_set(e, PST_E_TOOBIG, "%s %s: larger than %zu bytes", what, path, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto out;
	}
	/* Read one byte past the size fstat gave, to notice a file that grew. */
	while (len <= (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = pst_err_set(e, PST_E_SYS, "%s %s: read: %s", what, path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > (size_t)st.st_size) {
		rc = pst_err_set(e, PST_E_INVAL, "%s %s: changed while being read; try again", what,
				 path);
		goto out;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}
