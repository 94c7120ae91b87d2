/*
 * session.c - see session.h.
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* Frames the collector sends are small; this is the ceiling it packs to. */
#define SESSION_OUT_MAX (64u * 1024)

static int dup_str(const char *what, const char *s, bool required, char **out,
		   struct pst_err *e)
{
	size_t n;

	*out = NULL;
	if (s == NULL || s[0] == '\0') {
		if (required)
			return pst_err_set(e, PST_E_PROTO, "%s is missing", what);
		return 0;
	}
	n = strnlen(s, SESSION_MAX_STRING + 1);
	if (n > SESSION_MAX_STRING)
		return pst_err_set(e, PST_E_PROTO, "%s is longer than %u bytes", what,
				   SESSION_MAX_STRING);
	*out = strndup(s, n);
	return *out ? 0 : pst_err_set(e, PST_E_NOMEM, "out of memory");
}

static int facts_from_wire(const Posture__V1__HostFacts *f, struct store_facts *out,
			   struct pst_err *e)
{
	int rc;

	*out = (struct store_facts){0};
	if (f == NULL)
		return 0;
	if ((rc = dup_str("facts.hostname", f->hostname, false, &out->hostname, e)) != 0 ||
	    (rc = dup_str("facts.os_id", f->os_id, false, &out->os_id, e)) != 0 ||
	    (rc = dup_str("facts.os_version", f->os_version, false, &out->os_version, e)) != 0 ||
	    (rc = dup_str("facts.kernel", f->kernel, false, &out->kernel, e)) != 0 ||
	    (rc = dup_str("facts.machine_id", f->machine_id, false, &out->machine_id, e)) != 0 ||
	    (rc = dup_str("facts.architecture", f->architecture, false, &out->architecture,
			  e)) != 0)
		store_facts_cleanup(out);
	return rc;
}

int session_hello_facts(const Posture__V1__Hello *h, struct store_facts *facts,
			struct pst_err *e)
{
	int rc;

	*facts = (struct store_facts){0};
	if (h->protocol_version != SESSION_PROTOCOL_VERSION)
		return pst_err_set(e, PST_E_PROTO,
				   "protocol version %u is not supported (this collector speaks %u); "
				   "upgrade the agent or the collector",
				   h->protocol_version, SESSION_PROTOCOL_VERSION);
	rc = facts_from_wire(h->facts, facts, e);
	if (rc == 0)
		rc = dup_str("agent_version", h->agent_version, false, &facts->agent_version, e);
	if (rc == 0)
		facts->scan_interval_s = h->scan_interval_s;
	if (rc != 0)
		store_facts_cleanup(facts);
	return rc;
}

static enum store_status status_from_wire(Posture__V1__Status s)
{
	switch (s) {
	case POSTURE__V1__STATUS__STATUS_PASS: return STORE_PASS;
	case POSTURE__V1__STATUS__STATUS_FAIL: return STORE_FAIL;
	case POSTURE__V1__STATUS__STATUS_ERROR: return STORE_ERROR;
	case POSTURE__V1__STATUS__STATUS_NOT_APPLICABLE: return STORE_NOT_APPLICABLE;
	default: return STORE_STATUS_UNKNOWN;
	}
}

static enum store_severity severity_from_wire(Posture__V1__Severity s)
{
	switch (s) {
	case POSTURE__V1__SEVERITY__SEVERITY_LOW: return STORE_SEV_LOW;
	case POSTURE__V1__SEVERITY__SEVERITY_MEDIUM: return STORE_SEV_MEDIUM;
	case POSTURE__V1__SEVERITY__SEVERITY_HIGH: return STORE_SEV_HIGH;
	case POSTURE__V1__SEVERITY__SEVERITY_CRITICAL: return STORE_SEV_CRITICAL;
	default: return STORE_SEV_UNKNOWN;
	}
}

static int result_from_wire(const Posture__V1__CheckResult *w, size_t idx,
			    struct store_result *r, struct pst_err *e)
{
	char what[64];
	size_t i, j;
	int rc;

	snprintf(what, sizeof(what), "results[%zu]", idx);
	if ((rc = dup_str("check_id", w->check_id, true, &r->check_id, e)) != 0 ||
	    (rc = dup_str("policy_id", w->policy_id, true, &r->policy_id, e)) != 0 ||
	    (rc = dup_str("title", w->title, false, &r->title, e)) != 0 ||
	    (rc = dup_str("category", w->category, false, &r->category, e)) != 0 ||
	    (rc = dup_str("remediation", w->remediation, false, &r->remediation, e)) != 0 ||
	    (rc = dup_str("reason", w->reason, false, &r->reason, e)) != 0)
		goto fail;
	r->status = status_from_wire(w->status);
	if (r->status == STORE_STATUS_UNKNOWN) {
		rc = pst_err_set(e, PST_E_PROTO, "status %d is not one of pass, fail, error, "
				 "not_applicable", (int)w->status);
		goto fail;
	}
	r->severity = severity_from_wire(w->severity);
	r->duration_us = w->duration_us;
	if (w->n_controls > SESSION_MAX_CONTROLS) {
		rc = pst_err_set(e, PST_E_PROTO, "%zu control frameworks, more than the limit of %u",
				 w->n_controls, SESSION_MAX_CONTROLS);
		goto fail;
	}
	if (w->n_evidence > SESSION_MAX_EVIDENCE) {
		rc = pst_err_set(e, PST_E_PROTO, "%zu evidence items, more than the limit of %u",
				 w->n_evidence, SESSION_MAX_EVIDENCE);
		goto fail;
	}
	if (w->n_controls > 0) {
		r->controls = calloc(w->n_controls, sizeof(*r->controls));
		if (r->controls == NULL)
			goto nomem;
	}
	for (i = 0; i < w->n_controls; i++) {
		const Posture__V1__ControlMapping *m = w->controls[i];
		struct store_control *c = &r->controls[i];

		r->ncontrols = i + 1;
		if ((rc = dup_str("controls.framework", m->framework, true, &c->framework, e)) != 0)
			goto fail;
		if (m->n_ids > SESSION_MAX_CONTROL_IDS) {
			rc = pst_err_set(e, PST_E_PROTO, "controls[%zu]: %zu ids, more than the limit "
					 "of %u", i, m->n_ids, SESSION_MAX_CONTROL_IDS);
			goto fail;
		}
		if (m->n_ids > 0 && (c->ids = calloc(m->n_ids, sizeof(*c->ids))) == NULL)
			goto nomem;
		for (j = 0; j < m->n_ids; j++) {
			c->nids = j + 1;
			if ((rc = dup_str("controls.ids", m->ids[j], true, &c->ids[j], e)) != 0)
				goto fail;
		}
	}
	if (w->n_evidence > 0) {
		r->evidence = calloc(w->n_evidence, sizeof(*r->evidence));
		if (r->evidence == NULL)
			goto nomem;
	}
	for (i = 0; i < w->n_evidence; i++) {
		const Posture__V1__Evidence *v = w->evidence[i];
		struct store_evidence *d = &r->evidence[i];

		r->nevidence = i + 1;
		if ((rc = dup_str("evidence.subject", v->subject, false, &d->subject, e)) != 0 ||
		    (rc = dup_str("evidence.observed", v->observed, false, &d->observed, e)) != 0 ||
		    (rc = dup_str("evidence.expected", v->expected, false, &d->expected, e)) != 0 ||
		    (rc = dup_str("evidence.location", v->location, false, &d->location, e)) != 0) {
			pst_err_prefix(e, "evidence[%zu]", i);
			goto fail;
		}
		d->ok = v->ok;
	}
	return 0;
nomem:
	rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
fail:
	pst_err_prefix(e, "%s", what);
	return rc;
}

int session_report_from_wire(const Posture__V1__Report *w, const char *agent_id,
			     int64_t received_us, size_t wire_bytes, struct store_report **out,
			     struct pst_err *e)
{
	struct store_report *r;
	size_t i;
	int rc;

	*out = NULL;
	if (w->seq == 0)
		return pst_err_set(e, PST_E_PROTO, "report has sequence number 0 (they start at 1)");
	if (w->n_results > SESSION_MAX_RESULTS)
		return pst_err_set(e, PST_E_PROTO, "report %llu: %zu results, more than the limit "
				   "of %u", (unsigned long long)w->seq, w->n_results,
				   SESSION_MAX_RESULTS);
	if (w->n_policies > SESSION_MAX_POLICIES)
		return pst_err_set(e, PST_E_PROTO, "report %llu: %zu policies, more than the limit "
				   "of %u", (unsigned long long)w->seq, w->n_policies,
				   SESSION_MAX_POLICIES);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return pst_err_set(e, PST_E_NOMEM, "out of memory");
	r->seq = w->seq;
	r->started_us = w->started_at_us;
	r->finished_us = w->finished_at_us;
	r->received_us = received_us;
	r->wire_bytes = wire_bytes;
	r->agent_id = strdup(agent_id);
	if (r->agent_id == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto fail;
	}
	if ((rc = dup_str("scan_id", w->scan_id, true, &r->scan_id, e)) != 0 ||
	    (rc = facts_from_wire(w->facts, &r->facts, e)) != 0)
		goto fail;
	if (w->n_policies > 0 &&
	    (r->policies = calloc(w->n_policies, sizeof(*r->policies))) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < w->n_policies; i++) {
		const Posture__V1__PolicyRef *p = w->policies[i];

		r->npolicies = i + 1;
		if ((rc = dup_str("policies.id", p->id, true, &r->policies[i].id, e)) != 0 ||
		    (rc = dup_str("policies.version", p->version, false, &r->policies[i].version,
				  e)) != 0) {
			pst_err_prefix(e, "policies[%zu]", i);
			goto fail;
		}
		if (p->sha256.len != 0 && p->sha256.len != 32) {
			rc = pst_err_set(e, PST_E_PROTO, "policies[%zu].sha256 has %zu bytes, not 32",
					 i, p->sha256.len);
			goto fail;
		}
		if (p->sha256.len == 32)
			memcpy(r->policies[i].sha256, p->sha256.data, 32);
	}
	if (w->n_results > 0 && (r->results = calloc(w->n_results, sizeof(*r->results))) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < w->n_results; i++) {
		r->nresults = i + 1;
		if ((rc = result_from_wire(w->results[i], i, &r->results[i], e)) != 0)
			goto fail;
	}
	*out = r;
	return 0;
fail:
	pst_err_prefix(e, "report %llu", (unsigned long long)w->seq);
	store_report_free(r);
	return rc;
}

static int pack(Posture__V1__Envelope *env, uint8_t **out, size_t *len)
{
	return frame_encode(env, SESSION_OUT_MAX, out, len);
}

int session_frame_hello_ack(const char *collector_id, uint64_t last_stored_seq,
			    uint32_t heartbeat_s, uint32_t max_frame, uint8_t **out, size_t *len)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__HelloAck ack = POSTURE__V1__HELLO_ACK__INIT;

	ack.protocol_version = SESSION_PROTOCOL_VERSION;
	ack.collector_id = (char *)collector_id;
	ack.last_stored_seq = last_stored_seq;
	ack.heartbeat_interval_s = heartbeat_s;
	ack.max_frame_bytes = max_frame;
	env.body_case = POSTURE__V1__ENVELOPE__BODY_HELLO_ACK;
	env.hello_ack = &ack;
	return pack(&env, out, len);
}

int session_frame_ack(uint64_t seq, uint8_t **out, size_t *len)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__Ack ack = POSTURE__V1__ACK__INIT;

	ack.seq = seq;
	env.body_case = POSTURE__V1__ENVELOPE__BODY_ACK;
	env.ack = &ack;
	return pack(&env, out, len);
}

int session_frame_heartbeat(int64_t now_us, uint64_t last_seq, uint8_t **out, size_t *len)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__Heartbeat hb = POSTURE__V1__HEARTBEAT__INIT;

	hb.sent_at_us = now_us;
	hb.last_seq = last_seq;
	env.body_case = POSTURE__V1__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	return pack(&env, out, len);
}

int session_frame_error(Posture__V1__Error__Code code, const char *msg, uint8_t **out,
			size_t *len)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__Error err = POSTURE__V1__ERROR__INIT;

	err.code = code;
	err.message = (char *)msg;
	env.body_case = POSTURE__V1__ENVELOPE__BODY_ERROR;
	env.error = &err;
	return pack(&env, out, len);
}
