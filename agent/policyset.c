/* policyset.c - loading policies from files and directories (policyset.h). */
#include "policyset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void policyset_init(struct policyset *s)
{
	s->n = 0;
}

void policyset_cleanup(struct policyset *s)
{
	for (size_t i = 0; i < s->n; i++)
		policy_free(s->p[i]);
	s->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_file(struct policyset *s, const char *path, struct pst_err *e)
{
	if (s->n >= POLICYSET_MAX)
		return pst_err_set(e, PST_E_LIMIT, "policy %s: more than %d policies", path,
				   POLICYSET_MAX);
	if (policy_load_file(path, &s->p[s->n], e) != 0)
		return e ? e->code : PST_E_PARSE;
	s->n++;
	return 0;
}

int policyset_add(struct policyset *s, const char *path, struct pst_err *e)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t nnames = 0, i;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0)
		return pst_err_set(e, pst_from_errno(errno), "policy %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return add_file(s, path, e);
	d = opendir(path);
	if (d == NULL)
		return pst_err_set(e, pst_from_errno(errno), "policy directory %s: %s", path,
				   strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char **nn;

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		nn = realloc(names, (nnames + 1) * sizeof(*names));
		if (nn == NULL) {
			rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
			break;
		}
		names = nn;
		if (asprintf(&names[nnames], "%s/%s", path, de->d_name) < 0) {
			rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
			break;
		}
		nnames++;
	}
	closedir(d);
	if (rc == 0 && nnames == 0)
		rc = pst_err_set(e, PST_E_NOENT, "policy directory %s holds no *.json policy", path);
	if (names != NULL)
		qsort(names, nnames, sizeof(*names), cmp_str);
	for (i = 0; rc == 0 && i < nnames; i++)
		rc = policyset_add(s, names[i], e);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	return rc;
}
