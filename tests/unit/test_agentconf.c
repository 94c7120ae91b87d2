/* test_agentconf.c - agent.json: defaults, every key, and each refusal's message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentconf.h"
#include "log.h"
#include "testutil.h"

static int load(const char *text, struct agent_config *c, struct pst_err *e)
{
	return agent_config_load_buffer("/etc/posture/agent.json", text, strlen(text), c, e);
}

/* Loading text fails with code and a message holding want. */
static void expect_refused(const char *text, int code, const char *want)
{
	struct agent_config c;
	struct pst_err e = {0};

	assert_int_equal(load(text, &c, &e), code);
	if (strstr(e.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, want);
	/* A refused load leaves nothing to free. */
	assert_null(c.path);
	assert_null(c.collector);
	assert_null(c.policies);
}

#define MINIMAL_KEYS                                                                   \
	"\"collector\": \"collector.example.net:7443\", \"ca\": \"ca.crt\", "          \
	"\"cert\": \"agent.crt\", \"key\": \"/etc/posture/keys/agent.key\", "          \
	"\"policies\": [\"policies\", \"/usr/share/posture/policies/linux-baseline.json\"]"

static void test_minimal_defaults(void **state)
{
	struct agent_config c;
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(load("{" MINIMAL_KEYS "}", &c, &e), 0);
	assert_string_equal(c.path, "/etc/posture/agent.json");
	assert_string_equal(c.collector, "collector.example.net:7443");
	assert_string_equal(c.collector_host, "collector.example.net");
	assert_int_equal(c.collector_port, 7443);
	assert_string_equal(c.server_name, "collector.example.net");
	/* Relative paths are taken from the file's directory, absolute ones stay. */
	assert_string_equal(c.ca, "/etc/posture/ca.crt");
	assert_string_equal(c.cert, "/etc/posture/agent.crt");
	assert_string_equal(c.key, "/etc/posture/keys/agent.key");
	assert_int_equal(c.npolicies, 2);
	assert_string_equal(c.policies[0], "/etc/posture/policies");
	assert_string_equal(c.policies[1], "/usr/share/posture/policies/linux-baseline.json");
	assert_null(c.policies[2]);
	assert_string_equal(c.root, "/");
	assert_string_equal(c.spool_dir, "/var/lib/posture/spool");
	assert_int_equal(c.interval_s, 3600);
	assert_int_equal(c.splay_s, 300);
	assert_int_equal(c.spool_max_bytes, 64ull * 1024 * 1024);
	assert_int_equal(c.heartbeat_s, 60);
	assert_int_equal(c.connect_timeout_s, 10);
	assert_int_equal(c.ack_timeout_s, 60);
	assert_int_equal(c.backoff_min_ms, 1000);
	assert_int_equal(c.backoff_max_ms, 300000);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	agent_config_cleanup(&c);
	assert_null(c.path);
}

static void test_every_key(void **state)
{
	struct agent_config c;
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(load("{" MINIMAL_KEYS ", \"server_name\": \"posture.internal\", "
			      "\"root\": \"/mnt/image\", \"interval_s\": 600, \"splay_s\": 0, "
			      "\"spool_dir\": \"spool\", \"spool_max_bytes\": 1048576, "
			      "\"heartbeat_s\": 15, \"connect_timeout_s\": 3, \"ack_timeout_s\": 20, "
			      "\"backoff_min_ms\": 200, \"backoff_max_ms\": 5000, "
			      "\"log_level\": \"debug\"}",
			      &c, &e),
			 0);
	assert_string_equal(c.server_name, "posture.internal");
	assert_string_equal(c.root, "/mnt/image");
	assert_string_equal(c.spool_dir, "/etc/posture/spool");
	assert_int_equal(c.interval_s, 600);
	assert_int_equal(c.splay_s, 0);
	assert_int_equal(c.spool_max_bytes, 1048576);
	assert_int_equal(c.heartbeat_s, 15);
	assert_int_equal(c.connect_timeout_s, 3);
	assert_int_equal(c.ack_timeout_s, 20);
	assert_int_equal(c.backoff_min_ms, 200);
	assert_int_equal(c.backoff_max_ms, 5000);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	agent_config_cleanup(&c);
}

static void test_ipv6_and_single_policy(void **state)
{
	struct agent_config c;
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(load("{\"collector\": \"[::1]:7443\", \"ca\": \"a\", \"cert\": \"b\", "
			      "\"key\": \"c\", \"policies\": \"base.json\"}",
			      &c, &e),
			 0);
	assert_string_equal(c.collector_host, "::1");
	assert_string_equal(c.server_name, "::1");
	assert_int_equal(c.npolicies, 1);
	assert_string_equal(c.policies[0], "/etc/posture/base.json");
	agent_config_cleanup(&c);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_refused("{\"ca\": \"a\", \"cert\": \"b\", \"key\": \"c\", \"policies\": [\"p\"]}",
		       PST_E_INVAL, "missing required key \"collector\"");
	expect_refused("{\"collector\": \"h:1\", \"cert\": \"b\", \"key\": \"c\", \"policies\": [\"p\"]}",
		       PST_E_INVAL, "missing required key \"ca\"");
	expect_refused("{\"collector\": \"h:1\", \"ca\": \"a\", \"cert\": \"b\", \"key\": \"c\"}",
		       PST_E_INVAL, "missing required key \"policies\"");
	expect_refused("{" MINIMAL_KEYS ", \"intervall_s\": 5}", PST_E_INVAL,
		       "unknown key \"intervall_s\" (expected one of: collector,");
	expect_refused("{" MINIMAL_KEYS ", \"interval_s\": \"60\"}", PST_E_INVAL,
		       "\"interval_s\" must be an integer, not a string");
	expect_refused("{" MINIMAL_KEYS ", \"interval_s\": 0}", PST_E_INVAL,
		       "\"interval_s\" is 0; it must be between 1 and");
	expect_refused("{" MINIMAL_KEYS ", \"spool_max_bytes\": 100}", PST_E_INVAL,
		       "\"spool_max_bytes\" is 100; it must be between 65536");
	expect_refused("{" MINIMAL_KEYS ", \"backoff_min_ms\": 9000, \"backoff_max_ms\": 1000}",
		       PST_E_INVAL, "\"backoff_min_ms\" (9000) is larger than \"backoff_max_ms\" (1000)");
	expect_refused("{" MINIMAL_KEYS ", \"log_level\": \"verbose\"}", PST_E_INVAL,
		       "\"log_level\" is \"verbose\" (one of: error, warn, info, debug)");
	expect_refused("{\"collector\": \"h:1\", \"ca\": \"a\", \"cert\": \"b\", \"key\": \"c\", "
		       "\"policies\": []}", PST_E_INVAL,
		       "\"policies\" must not be empty");
	expect_refused("{" MINIMAL_KEYS ", \"root\": \"\"}", PST_E_INVAL,
		       "\"root\" must be a non-empty string");
	expect_refused("{\"collector\": \"collector.example.net\", \"ca\": \"a\", \"cert\": \"b\", "
		       "\"key\": \"c\", \"policies\": [\"p\"]}",
		       PST_E_INVAL, "\"collector\" is \"collector.example.net\"; expected HOST:PORT");
	expect_refused("{\"collector\": \"h:70000\", \"ca\": \"a\", \"cert\": \"b\", "
		       "\"key\": \"c\", \"policies\": [\"p\"]}",
		       PST_E_INVAL, "a port 1-65535");
	expect_refused("{" MINIMAL_KEYS ", \"ca\": \"again\"}", PST_E_PARSE,
		       "agent.json:1:");
	expect_refused("{\"collector\": \"h:1\",\n \"ca\": }", PST_E_PARSE,
		       "/etc/posture/agent.json:2:");
	expect_refused("[]", PST_E_INVAL, "the document must be an object");
}

static void test_load_file(void **state)
{
	struct agent_config c;
	struct pst_err e = {0};
	char *dir = tu_mkdtemp(), path[4096], want[4096];

	(void)state;
	assert_int_equal(tu_write(dir, "conf/agent.json", "{" MINIMAL_KEYS "}", 0600), 0);
	snprintf(path, sizeof(path), "%s/conf/agent.json", dir);
	assert_int_equal(agent_config_load(path, &c, &e), 0);
	snprintf(want, sizeof(want), "%s/conf/ca.crt", dir);
	assert_string_equal(c.ca, want);
	agent_config_cleanup(&c);
	snprintf(path, sizeof(path), "%s/conf/missing.json", dir);
	assert_int_equal(agent_config_load(path, &c, &e), PST_E_NOENT);
	assert_non_null(strstr(e.msg, "missing.json: cannot open"));
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_ipv6_and_single_policy),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
