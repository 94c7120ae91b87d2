/*
 * verify.c - evidence files checked offline (see verify.h).  The
 * cryptography and the canonical form are common/evsig.c and
 * common/canon.c, shared with the collector that seals the snapshots;
 * this file reads the files, orders a chain and says what it found.
 */
#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "evsig.h"
#include "readfile.h"

/* A directory holding more snapshots than this is refused rather than read. */
#define CHAIN_MAX_FILES 1000000

static int load(const char *path, EVP_PKEY *key, struct evsig_verified *v, struct pst_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(v, 0, sizeof(*v));
	rc = readfile("evidence file", path, EVSIG_MAX_BYTES, &buf, &len, e);
	if (rc != 0) {
		if (rc == PST_E_TOOBIG) {
			pst_err_prefix(e, "step 1 (size)");
			rc = e->code = PST_E_INVAL;
		}
		return rc;
	}
	rc = evsig_verify(buf, len, key, v, e);
	free(buf);
	if (rc != 0) {
		pst_err_prefix(e, "%s", path);
		/* Both bad input and a failed check are a failed verification. */
		if (rc != PST_E_NOMEM)
			rc = e->code = PST_E_INVAL;
	}
	return rc;
}

static void print_verified(FILE *out, const char *path, const struct evsig_verified *v)
{
	fprintf(out, "verified %s\n", path);
	fprintf(out, "  id         %s\n", v->id);
	fprintf(out, "  seq        %llu\n", (unsigned long long)v->seq);
	fprintf(out, "  taken_at   %s\n", v->taken_at);
	fprintf(out, "  collector  %s\n", v->collector_id);
	fprintf(out, "  sha256     %s\n", v->sha256);
	fprintf(out, "  key_id     %s\n", v->key_id);
}

int verify_file(const char *path, const char *previous, EVP_PKEY *key, FILE *out,
		struct pst_err *e)
{
	struct evsig_verified v, p;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = load(path, key, &v, e);
	if (rc != 0)
		return rc;
	if (previous != NULL) {
		rc = load(previous, key, &p, e);
		if (rc != 0) {
			pst_err_prefix(e, "--previous");
			goto out;
		}
		rc = evsig_check_link(&p, &v, e);
		if (rc != 0) {
			pst_err_prefix(e, "%s after %s", path, previous);
			rc = e->code = PST_E_INVAL;
			goto out;
		}
	}
	print_verified(out, path, &v);
	if (previous != NULL)
		fprintf(out, "  link       follows %s (%s, seq %llu): previous_sha256 %s\n", previous,
			p.id, (unsigned long long)p.seq, v.previous_sha256);
	else if (v.previous_sha256[0] == '\0')
		fprintf(out, "  link       none: the first snapshot of the chain\n");
	else
		fprintf(out,
			"  link       previous_sha256 %s (not checked: give --previous FILE, or "
			"use verify-chain)\n",
			v.previous_sha256);
out:
	evsig_verified_cleanup(&v);
	evsig_verified_cleanup(&p);
	return rc;
}

struct entry {
	char *path;
	struct evsig_verified v;
};

static int by_seq(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->v.seq != y->v.seq)
		return x->v.seq < y->v.seq ? -1 : 1;
	return strcmp(x->path, y->path);
}

static bool is_json_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && l > 5 && strcmp(n + l - 5, ".json") == 0;
}

int verify_chain(const char *dir, EVP_PKEY *key, FILE *out, struct pst_err *e)
{
	struct entry *ents = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dh;
	int rc = 0;

	if ((dh = opendir(dir)) == NULL)
		return pst_err_set(e, PST_E_NOENT, "%s: cannot open the directory: %s", dir,
				   strerror(errno));
	while ((d = readdir(dh)) != NULL) {
		if (!is_json_name(d->d_name))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct entry *ne;

			if (nc > CHAIN_MAX_FILES ||
			    (ne = realloc(ents, nc * sizeof(*ents))) == NULL) {
				rc = pst_err_set(e, PST_E_NOMEM, "%s: too many files", dir);
				break;
			}
			ents = ne;
			cap = nc;
		}
		memset(&ents[n], 0, sizeof(ents[n]));
		if (asprintf(&ents[n].path, "%s/%s", dir, d->d_name) < 0) {
			rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(dh);
	if (rc == 0 && n == 0)
		rc = pst_err_set(e, PST_E_NOENT,
				 "%s: no *.json snapshot files; pull them with posturectl evidence "
				 "pull ID --out %s/ID.json",
				 dir, dir);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = load(ents[i].path, key, &ents[i].v, e);
		/* Keep only what the chain needs: a long chain need not fit in memory whole. */
		json_decref(ents[i].v.snapshot);
		ents[i].v.snapshot = NULL;
	}
	if (rc == 0)
		qsort(ents, n, sizeof(*ents), by_seq);
	for (size_t i = 1; i < n && rc == 0; i++) {
		const struct entry *a = &ents[i - 1], *b = &ents[i];

		if (a->v.seq == b->v.seq)
			rc = pst_err_set(e, PST_E_INVAL,
					 "%s: step 7 (chain): seq %llu appears twice, in %s and %s",
					 dir, (unsigned long long)a->v.seq, a->path, b->path);
		else if (b->v.seq == a->v.seq + 2)
			rc = pst_err_set(e, PST_E_INVAL,
					 "%s: step 7 (chain): snapshot seq %llu is missing: %s has seq "
					 "%llu, the next file %s has seq %llu",
					 dir, (unsigned long long)a->v.seq + 1, a->path,
					 (unsigned long long)a->v.seq, b->path, (unsigned long long)b->v.seq);
		else if (b->v.seq != a->v.seq + 1)
			rc = pst_err_set(e, PST_E_INVAL,
					 "%s: step 7 (chain): snapshots seq %llu to %llu are missing: %s "
					 "has seq %llu, the next file %s has seq %llu",
					 dir, (unsigned long long)a->v.seq + 1,
					 (unsigned long long)b->v.seq - 1, a->path,
					 (unsigned long long)a->v.seq, b->path, (unsigned long long)b->v.seq);
		else if (strcmp(a->v.collector_id, b->v.collector_id) != 0)
			rc = pst_err_set(e, PST_E_INVAL,
					 "%s: step 7 (chain): %s comes from collector %s, %s from %s",
					 dir, a->path, a->v.collector_id, b->path, b->v.collector_id);
		else if (evsig_check_link(&a->v, &b->v, e) != 0) {
			pst_err_prefix(e, "%s after %s", b->path, a->path);
			rc = e->code = PST_E_INVAL;
		}
	}
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			fprintf(out, "verified %s  %s  seq %llu  %s  sha256 %s\n", ents[i].path,
				ents[i].v.id, (unsigned long long)ents[i].v.seq, ents[i].v.taken_at,
				ents[i].v.sha256);
		fprintf(out,
			"chain: %zu snapshot%s, seq %llu to %llu, consecutive and linked; "
			"collector %s; key_id %s\n",
			n, n == 1 ? "" : "s", (unsigned long long)ents[0].v.seq,
			(unsigned long long)ents[n - 1].v.seq, ents[0].v.collector_id,
			ents[0].v.key_id);
		if (ents[0].v.seq > 1)
			fprintf(out,
				"note: the chain starts at seq %llu; snapshots 1 to %llu are not in "
				"%s, so its first link (previous_sha256 %s) is not checked\n",
				(unsigned long long)ents[0].v.seq,
				(unsigned long long)ents[0].v.seq - 1, dir,
				ents[0].v.previous_sha256);
	}
	for (size_t i = 0; i < n; i++) {
		free(ents[i].path);
		evsig_verified_cleanup(&ents[i].v);
	}
	free(ents);
	return rc;
}

