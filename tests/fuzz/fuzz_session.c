/*
 * fuzz_session.c - libFuzzer target for collector/session.c.
 *
 * The input is a byte stream as an agent would send it.  It is decoded frame
 * by frame with frame_decode under the default limit; a Hello goes through
 * session_hello_facts and a Report through session_report_from_wire, as the
 * collector's connection does.  What they accept must be within the limits
 * of session.h and match the message; what they refuse must come back with
 * nothing allocated and a message.  Any broken property aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame.h"
#include "session.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AGENT_ID "fuzz-agent"

/* Abort on a broken property, saying which. */
#define check(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n",      \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

/* A string the session kept: NULL or non-empty within the limit. */
static void check_str(const char *s, int required)
{
	if (s == NULL) {
		check(!required);
		return;
	}
	check(s[0] != '\0' && strlen(s) <= SESSION_MAX_STRING);
}

/* A string kept from the wire: absent when empty there, the same text otherwise. */
static void check_copy(const char *kept, const char *wire, int required)
{
	check_str(kept, required);
	if (wire == NULL || wire[0] == '\0')
		check(kept == NULL);
	else
		check(kept != NULL && strcmp(kept, wire) == 0);
}

static void check_facts(const struct store_facts *f, const Posture__V1__HostFacts *w)
{
	if (w == NULL) {
		check(f->hostname == NULL && f->os_id == NULL && f->os_version == NULL &&
		      f->kernel == NULL && f->machine_id == NULL && f->architecture == NULL);
		return;
	}
	check_copy(f->hostname, w->hostname, 0);
	check_copy(f->os_id, w->os_id, 0);
	check_copy(f->os_version, w->os_version, 0);
	check_copy(f->kernel, w->kernel, 0);
	check_copy(f->machine_id, w->machine_id, 0);
	check_copy(f->architecture, w->architecture, 0);
}

static void refused(int rc, const struct pst_err *e)
{
	check(rc < 0 && e->code == rc && e->msg[0] != '\0');
}

static void hello(const Posture__V1__Hello *h)
{
	struct store_facts facts;
	struct pst_err e = { 0 };
	int rc;

	rc = session_hello_facts(h, &facts, &e);
	if (rc != 0) {
		refused(rc, &e);
		check(facts.hostname == NULL && facts.agent_version == NULL);
		return;
	}
	check(h->protocol_version == SESSION_PROTOCOL_VERSION);
	check_facts(&facts, h->facts);
	check_copy(facts.agent_version, h->agent_version, 0);
	store_facts_cleanup(&facts);
}

static void check_result(const struct store_result *r, const Posture__V1__CheckResult *w)
{
	size_t i, j;

	check_copy(r->check_id, w->check_id, 1);
	check_copy(r->policy_id, w->policy_id, 1);
	check_str(r->title, 0);
	check_str(r->category, 0);
	check_str(r->remediation, 0);
	check_str(r->reason, 0);
	check(r->status >= STORE_PASS && r->status <= STORE_NOT_APPLICABLE);
	check(r->status == (enum store_status)w->status);
	check(r->severity >= STORE_SEV_UNKNOWN && r->severity <= STORE_SEV_CRITICAL);
	check(r->duration_us == w->duration_us);
	check(r->ncontrols == w->n_controls && r->ncontrols <= SESSION_MAX_CONTROLS);
	for (i = 0; i < r->ncontrols; i++) {
		check_str(r->controls[i].framework, 1);
		check(r->controls[i].nids == w->controls[i]->n_ids);
		check(r->controls[i].nids <= SESSION_MAX_CONTROL_IDS);
		for (j = 0; j < r->controls[i].nids; j++)
			check_str(r->controls[i].ids[j], 1);
	}
	check(r->nevidence == w->n_evidence && r->nevidence <= SESSION_MAX_EVIDENCE);
	for (i = 0; i < r->nevidence; i++) {
		check_str(r->evidence[i].subject, 0);
		check_str(r->evidence[i].observed, 0);
		check_str(r->evidence[i].expected, 0);
		check_str(r->evidence[i].location, 0);
	}
}

static void report(const Posture__V1__Report *w, size_t wire_bytes)
{
	struct store_report *r = NULL;
	struct pst_err e = { 0 };
	size_t i;
	int rc;

	rc = session_report_from_wire(w, AGENT_ID, 1700000000000000, wire_bytes, &r, &e);
	if (rc != 0) {
		refused(rc, &e);
		check(r == NULL);
		return;
	}
	check(r != NULL);
	check(strcmp(r->agent_id, AGENT_ID) == 0);
	check(r->seq == w->seq && r->seq != 0);
	check_copy(r->scan_id, w->scan_id, 1);
	check(r->wire_bytes == wire_bytes);
	check_facts(&r->facts, w->facts);
	check(r->facts.agent_version == NULL);
	check(r->npolicies == w->n_policies && r->npolicies <= SESSION_MAX_POLICIES);
	for (i = 0; i < r->npolicies; i++) {
		check_copy(r->policies[i].id, w->policies[i]->id, 1);
		check_copy(r->policies[i].version, w->policies[i]->version, 0);
		check(w->policies[i]->sha256.len == 0 || w->policies[i]->sha256.len == 32);
		if (w->policies[i]->sha256.len == 32)
			check(memcmp(r->policies[i].sha256, w->policies[i]->sha256.data, 32) == 0);
	}
	check(r->nresults == w->n_results && r->nresults <= SESSION_MAX_RESULTS);
	for (i = 0; i < r->nresults; i++)
		check_result(&r->results[i], w->results[i]);
	store_report_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Posture__V1__Envelope *env;
	size_t off = 0, consumed;

	while (off < size &&
	       frame_decode(data + off, size - off, FRAME_DEFAULT_MAX, &env, &consumed) == 0) {
		if (env->body_case == POSTURE__V1__ENVELOPE__BODY_HELLO)
			hello(env->hello);
		else if (env->body_case == POSTURE__V1__ENVELOPE__BODY_REPORT)
			report(env->report, consumed);
		frame_envelope_free(env);
		off += consumed;
	}
	return 0;
}
