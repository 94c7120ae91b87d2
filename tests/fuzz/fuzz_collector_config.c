/*
 * fuzz_collector_config.c - collector.json from arbitrary bytes: the strict
 * JSON reading of common/conf.c and every key, range and cross check of
 * collector/config.c.  Either the document is refused with a message, or
 * it loads and every field is within its documented range; never a crash,
 * a leak or a read past the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collector_config c;
	struct pst_err e = {0};
	json_t *doc = NULL;

	if (conf_load_buffer("/etc/posture/collector.json", (const char *)data, size, &doc, &e) !=
	    0) {
		if (doc != NULL || e.msg[0] == '\0')
			abort();
		return 0;
	}
	if (collector_config_from_json("/etc/posture/collector.json", doc, &c, &e) == 0) {
		/* What loaded must hold what config.h promises. */
		if (c.ca_cert == NULL || c.cert == NULL || c.key == NULL || c.store == NULL ||
		    c.collector_id == NULL || c.agent_port == 0 || c.api_port == 0 ||
		    c.max_hello_bytes > c.max_frame_bytes || c.max_frame_bytes < 1024 ||
		    c.queue_max_bytes < c.max_frame_bytes ||
		    (uint64_t)c.idle_timeout_ms <= (uint64_t)c.heartbeat_interval_s * 1000 ||
		    c.log_level < 0 || c.log_level > 3)
			abort();
		if (strncmp(c.store, "sqlite:", 7) != 0 && strncmp(c.store, "postgres", 8) != 0)
			abort();
		collector_config_cleanup(&c);
	} else if (e.msg[0] == '\0' || c.path != NULL || c.ca_cert != NULL) {
		abort();
	}
	json_decref(doc);
	return 0;
}
