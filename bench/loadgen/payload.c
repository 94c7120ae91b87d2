/*
 * payload.c - what a simulated agent sends.  The Report mirrors what
 * agent/report.c builds from a linux-baseline scan: per check its id,
 * title, remediation, policy, category, severity, control mappings
 * (iso27001, cis_debian12) and one to three evidence items with subject,
 * observed, expected and file:line location; about one check in eight
 * fails.  Everything but the sequence number and scan id is packed once;
 * each send prepends those two fields (protobuf fields may come in any
 * order) and the Envelope and frame headers, so the simulator spends its
 * CPU on TLS and the socket, not on packing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

struct tmpl {
	const char *id, *title, *category, *subject, *observed, *expected, *remediation;
	const char *iso[2];
	const char *cis;
};

static const struct tmpl tmpls[] = {
	{"ssh.permit-root-login", "SSH refuses root logins", "access_control",
	 "/etc/ssh/sshd_config", "PermitRootLogin no",
	 "PermitRootLogin in [no, prohibit-password]",
	 "Set PermitRootLogin no in /etc/ssh/sshd_config and reload sshd.",
	 {"A.8.2", "A.8.5"}, "5.1.20"},
	{"accounts.empty-password", "No account has an empty password", "access_control",
	 "/etc/shadow", "0 accounts with an empty password field", "no account",
	 "Lock the account with passwd -l or set a password.", {"A.5.17", "A.8.5"}, "7.2.2"},
	{"sysctl.kernel-randomize-va-space", "Address space layout randomisation is on",
	 "system", "kernel.randomize_va_space", "2", "eq 2",
	 "Set kernel.randomize_va_space = 2 in /etc/sysctl.d/ and run sysctl --system.",
	 {"A.8.9", NULL}, "1.5.1"},
	{"patch.security-updates", "No security update is pending", "patch",
	 "/var/lib/apt/lists", "openssl 3.0.11-1~deb12u2 pending (bookworm-security)",
	 "no pending security update",
	 "Run apt-get update && apt-get upgrade, then reboot if required.",
	 {"A.8.8", NULL}, "1.9"},
	{"files.passwd-mode", "/etc/passwd is 0644 root:root", "access_control",
	 "/etc/passwd", "mode 0644 uid 0 gid 0", "mode le 0644, owner root",
	 "chown root:root /etc/passwd; chmod 644 /etc/passwd.", {"A.8.3", NULL}, "7.1.1"},
	{"sudo.use-pty", "sudo runs commands in a pseudo-terminal", "access_control",
	 "/etc/sudoers", "Defaults use_pty", "Defaults use_pty present",
	 "Add Defaults use_pty to /etc/sudoers with visudo.", {"A.8.2", "A.8.15"}, "5.2.2"},
};
#define NTMPL (sizeof(tmpls) / sizeof(tmpls[0]))

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static void facts_init(Posture__V1__HostFacts *f)
{
	posture__v1__host_facts__init(f);
	f->hostname = (char *)"bench-host";
	f->os_id = (char *)"debian";
	f->os_version = (char *)"12";
	f->kernel = (char *)"6.1.0-18-amd64";
	f->machine_id = (char *)"0123456789abcdef0123456789abcdef";
	f->root = (char *)"/";
	f->architecture = (char *)"x86_64";
}

static uint8_t *frame_of(const Posture__V1__Envelope *env, size_t *len)
{
	uint8_t *buf = NULL;

	if (frame_encode(env, 0xffffffffu, &buf, len) != 0)
		return NULL;
	return buf;
}

int lg_payload_init(struct lg_payload *p, size_t nchecks)
{
	Posture__V1__Envelope env = POSTURE__V1__ENVELOPE__INIT;
	Posture__V1__Hello hello = POSTURE__V1__HELLO__INIT;
	Posture__V1__Report rep = POSTURE__V1__REPORT__INIT;
	Posture__V1__HostFacts facts;
	Posture__V1__PolicyRef pref = POSTURE__V1__POLICY_REF__INIT, *prefs[1] = {&pref};
	Posture__V1__CheckResult *res = calloc(nchecks ? nchecks : 1, sizeof(*res));
	Posture__V1__CheckResult **resp = calloc(nchecks ? nchecks : 1, sizeof(*resp));
	Posture__V1__ControlMapping *cm = calloc(2 * (nchecks ? nchecks : 1), sizeof(*cm));
	Posture__V1__ControlMapping **cmp = calloc(2 * (nchecks ? nchecks : 1), sizeof(*cmp));
	Posture__V1__Evidence *ev = calloc(3 * (nchecks ? nchecks : 1), sizeof(*ev));
	Posture__V1__Evidence **evp = calloc(3 * (nchecks ? nchecks : 1), sizeof(*evp));
	char (*ids)[64] = calloc(nchecks ? nchecks : 1, 64);
	char (*locs)[64] = calloc(3 * (nchecks ? nchecks : 1), 64);
	char *isos[NTMPL][2], *cis[NTMPL][1];
	static uint8_t sha[32] = {0x5e, 0x11, 0xba, 0x5e};
	size_t i, j;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (!res || !resp || !cm || !cmp || !ev || !evp || !ids || !locs)
		goto out;
	for (i = 0; i < NTMPL; i++) {
		isos[i][0] = (char *)tmpls[i].iso[0];
		isos[i][1] = (char *)tmpls[i].iso[1];
		cis[i][0] = (char *)tmpls[i].cis;
	}
	facts_init(&facts);
	pref.id = (char *)"linux-baseline";
	pref.version = (char *)"1.0.0";
	pref.sha256.data = sha;
	pref.sha256.len = 32;
	for (i = 0; i < nchecks; i++) {
		const struct tmpl *t = &tmpls[i % NTMPL];
		Posture__V1__CheckResult *r = &res[i];
		size_t nev = 1 + i % 3;

		posture__v1__check_result__init(r);
		snprintf(ids[i], 64, "%s.%03zu", t->id, i);
		r->check_id = ids[i];
		r->status = (i % 8 == 3) ? POSTURE__V1__STATUS__STATUS_FAIL
					 : POSTURE__V1__STATUS__STATUS_PASS;
		r->severity = (Posture__V1__Severity)(1 + i % 4);
		r->category = (char *)t->category;
		r->title = (char *)t->title;
		r->remediation = (char *)t->remediation;
		r->policy_id = (char *)"linux-baseline";
		r->duration_us = 20 + i % 200;
		posture__v1__control_mapping__init(&cm[2 * i]);
		cm[2 * i].framework = (char *)"iso27001";
		cm[2 * i].ids = isos[i % NTMPL];
		cm[2 * i].n_ids = t->iso[1] ? 2 : 1;
		posture__v1__control_mapping__init(&cm[2 * i + 1]);
		cm[2 * i + 1].framework = (char *)"cis_debian12";
		cm[2 * i + 1].ids = cis[i % NTMPL];
		cm[2 * i + 1].n_ids = 1;
		cmp[2 * i] = &cm[2 * i];
		cmp[2 * i + 1] = &cm[2 * i + 1];
		r->controls = &cmp[2 * i];
		r->n_controls = 2;
		for (j = 0; j < nev; j++) {
			Posture__V1__Evidence *e = &ev[3 * i + j];
			posture__v1__evidence__init(e);
			e->subject = (char *)t->subject;
			e->observed = (char *)t->observed;
			e->expected = (char *)t->expected;
			snprintf(locs[3 * i + j], 64, "%s:%zu", t->subject, 10 + j * 7 + i % 40);
			e->location = locs[3 * i + j];
			e->ok = !(r->status == POSTURE__V1__STATUS__STATUS_FAIL && j == 0);
			evp[3 * i + j] = e;
		}
		r->evidence = &evp[3 * i];
		r->n_evidence = nev;
		resp[i] = r;
	}
	rep.policies = prefs;
	rep.n_policies = 1;
	rep.started_at_us = 1780000000000000;
	rep.finished_at_us = 1780000000042000;
	rep.results = resp;
	rep.n_results = nchecks;
	rep.facts = &facts;
	p->rest_len = posture__v1__report__get_packed_size(&rep);
	if ((p->rest = malloc(p->rest_len)) == NULL)
		goto out;
	posture__v1__report__pack(&rep, p->rest);
	p->nresults = nchecks;
	p->scratch_cap = p->rest_len + 96;
	if ((p->scratch = malloc(p->scratch_cap)) == NULL)
		goto out;

	hello.agent_version = (char *)"0.1.0-loadgen";
	hello.protocol_version = 1;
	hello.facts = &facts;
	env.body_case = POSTURE__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if ((p->hello = frame_of(&env, &p->hello_len)) == NULL)
		goto out;

	/* The hand-assembled frame must decode to what was meant. */
	{
		Posture__V1__Envelope *d = NULL;
		size_t used, n = lg_payload_report(p, 123456789, 7);
		if (frame_decode(p->scratch, n, 0xffffffffu, &d, &used) != 0 || used != n ||
		    d->body_case != POSTURE__V1__ENVELOPE__BODY_REPORT || d->report->seq != 123456789 ||
		    d->report->n_results != nchecks || strlen(d->report->scan_id) != 36) {
			fprintf(stderr, "posture-loadgen: the report template does not decode\n");
			frame_envelope_free(d);
			goto out;
		}
		frame_envelope_free(d);
	}
	rc = 0;
out:
	free(res);
	free(resp);
	free(cm);
	free(cmp);
	free(ev);
	free(evp);
	free(ids);
	free(locs);
	if (rc != 0)
		lg_payload_cleanup(p);
	return rc;
}

void lg_payload_cleanup(struct lg_payload *p)
{
	free(p->rest);
	free(p->scratch);
	free(p->hello);
	memset(p, 0, sizeof(*p));
}

size_t lg_payload_report(struct lg_payload *p, uint64_t seq, uint32_t agent)
{
	char scan_id[40];
	size_t rlen, elen, n = 0;
	uint8_t *b = p->scratch;

	snprintf(scan_id, sizeof(scan_id), "%08x-0000-4000-8000-%012llx", agent,
		 (unsigned long long)seq);
	rlen = 1 + varint_len(seq) + 2 + 36 + p->rest_len;
	elen = 1 + varint_len(rlen) + rlen;
	b[n++] = (uint8_t)(elen >> 24);
	b[n++] = (uint8_t)(elen >> 16);
	b[n++] = (uint8_t)(elen >> 8);
	b[n++] = (uint8_t)elen;
	b[n++] = 0x1a; /* Envelope.report, length-delimited */
	n += put_varint(b + n, rlen);
	b[n++] = 0x08; /* Report.seq, varint */
	n += put_varint(b + n, seq);
	b[n++] = 0x12; /* Report.scan_id, length-delimited */
	b[n++] = 36;
	memcpy(b + n, scan_id, 36);
	n += 36;
	memcpy(b + n, p->rest, p->rest_len);
	return n + p->rest_len;
}

size_t lg_payload_heartbeat(uint8_t *buf, int64_t now_us, uint64_t last_seq)
{
	size_t blen = 1 + varint_len((uint64_t)now_us) + 1 + varint_len(last_seq);
	size_t elen = 1 + varint_len(blen) + blen, n = 0;

	buf[n++] = (uint8_t)(elen >> 24);
	buf[n++] = (uint8_t)(elen >> 16);
	buf[n++] = (uint8_t)(elen >> 8);
	buf[n++] = (uint8_t)elen;
	buf[n++] = 0x2a; /* Envelope.heartbeat */
	n += put_varint(buf + n, blen);
	buf[n++] = 0x08;
	n += put_varint(buf + n, (uint64_t)now_us);
	buf[n++] = 0x10;
	n += put_varint(buf + n, last_seq);
	return n;
}
