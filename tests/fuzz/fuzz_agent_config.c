/*
 * fuzz_agent_config.c - agent.json reading on arbitrary bytes.  A config
 * file is written by a person or a packaging tool, and a mistake in it must
 * end in a message, never a crash, a leak or a read past the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agentconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config c;
	struct pst_err e = {0};

	if (agent_config_load_buffer("/etc/posture/agent.json", (const char *)data, size, &c,
				     &e) == 0) {
		/* What a load promises: the required values and resolved paths. */
		if (c.collector == NULL || c.collector_port == 0 || c.ca[0] != '/' ||
		    c.cert[0] != '/' || c.key[0] != '/' || c.npolicies == 0 ||
		    c.policies[c.npolicies] != NULL || c.server_name == NULL ||
		    c.backoff_min_ms > c.backoff_max_ms)
			abort();
		agent_config_cleanup(&c);
	} else if (e.msg[0] == '\0') {
		abort();
	}
	return 0;
}
