/*
 * store_report.c - the backend-independent part of store.h: names of
 * statuses and severities, and freeing the report structs that session.c
 * builds and the ingest thread frees after the commit.
 */
#include "store.h"

#include <stdlib.h>

const char *store_status_name(enum store_status s)
{
	switch (s) {
	case STORE_PASS: return "pass";
	case STORE_FAIL: return "fail";
	case STORE_ERROR: return "error";
	case STORE_NOT_APPLICABLE: return "not_applicable";
	case STORE_STATUS_UNKNOWN: break;
	}
	return "unknown";
}

const char *store_severity_name(enum store_severity s)
{
	switch (s) {
	case STORE_SEV_LOW: return "low";
	case STORE_SEV_MEDIUM: return "medium";
	case STORE_SEV_HIGH: return "high";
	case STORE_SEV_CRITICAL: return "critical";
	case STORE_SEV_UNKNOWN: break;
	}
	return "unknown";
}

void store_facts_cleanup(struct store_facts *f)
{
	free(f->hostname);
	free(f->os_id);
	free(f->os_version);
	free(f->kernel);
	free(f->machine_id);
	free(f->architecture);
	free(f->agent_version);
	*f = (struct store_facts){0};
}

static void result_cleanup(struct store_result *r)
{
	size_t i, j;

	free(r->policy_id);
	free(r->check_id);
	free(r->title);
	free(r->category);
	free(r->remediation);
	free(r->reason);
	for (i = 0; i < r->ncontrols; i++) {
		free(r->controls[i].framework);
		for (j = 0; j < r->controls[i].nids; j++)
			free(r->controls[i].ids[j]);
		free(r->controls[i].ids);
	}
	free(r->controls);
	for (i = 0; i < r->nevidence; i++) {
		free(r->evidence[i].subject);
		free(r->evidence[i].observed);
		free(r->evidence[i].expected);
		free(r->evidence[i].location);
	}
	free(r->evidence);
}

void store_report_free(struct store_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->agent_id);
	free(r->scan_id);
	store_facts_cleanup(&r->facts);
	for (i = 0; i < r->npolicies; i++) {
		free(r->policies[i].id);
		free(r->policies[i].version);
	}
	free(r->policies);
	for (i = 0; i < r->nresults; i++)
		result_cleanup(&r->results[i]);
	free(r->results);
	free(r);
}
