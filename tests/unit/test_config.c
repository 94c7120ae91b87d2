/*
 * test_config.c - collector.json: the defaults, every key read into its
 * field, relative paths taken against the file's directory, the store
 * forms, and each kind of mistake refused with a message naming the file
 * and the key (golden messages for the common ones).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "config.h"
#include "frame.h"
#include "log.h"
#include "testutil.h"

#define NAME "/etc/posture/collector.json"
#define MINIMAL "\"ca\": \"ca.crt\", \"cert\": \"collector.crt\", \"key\": \"collector.key\""

/* Parse text as NAME; returns the code, c filled on success. */
static int parse(const char *text, struct collector_config *c, struct pst_err *e)
{
	json_t *doc = NULL;
	int rc;

	memset(c, 0xa5, sizeof(*c)); /* load must not rely on a zeroed struct */
	rc = conf_load_buffer(NAME, text, strlen(text), &doc, e);
	if (rc == 0)
		rc = collector_config_from_json(NAME, doc, c, e);
	else
		memset(c, 0, sizeof(*c));
	json_decref(doc);
	return rc;
}

static void expect_ok(const char *text, struct collector_config *c)
{
	struct pst_err e = {0};

	if (parse(text, c, &e) != 0)
		fail_msg("document %s: %s", text, e.msg);
}

/* text is refused with code and exactly msg. */
static void expect_error(const char *text, int code, const char *msg)
{
	struct collector_config c;
	struct pst_err e = {0};
	int rc = parse(text, &c, &e);

	if (rc != code || strcmp(e.msg, msg) != 0)
		print_error("document: %s\nwant %d \"%s\"\ngot  %d \"%s\"\n", text, code, msg, rc,
			    e.msg);
	assert_int_equal(rc, code);
	assert_string_equal(e.msg, msg);
	/* Nothing is left to free after an error. */
	assert_null(c.path);
	assert_null(c.ca_cert);
	assert_null(c.store);
}

/* text is refused with PST_E_INVAL and a message holding part. */
static void expect_error_part(const char *text, const char *part)
{
	struct collector_config c;
	struct pst_err e = {0};
	int rc = parse(text, &c, &e);

	if (rc != PST_E_INVAL || strstr(e.msg, part) == NULL)
		print_error("document: %s\nwant \"%s\" in: %d \"%s\"\n", text, part, rc, e.msg);
	assert_int_equal(rc, PST_E_INVAL);
	assert_non_null(strstr(e.msg, part));
	assert_non_null(strstr(e.msg, NAME));
}

static void defaults_fill_what_is_absent(void **state)
{
	struct collector_config c;
	char host[256];

	(void)state;
	expect_ok("{" MINIMAL "}", &c);
	assert_string_equal(c.path, NAME);
	assert_string_equal(c.ca_cert, "/etc/posture/ca.crt");
	assert_string_equal(c.cert, "/etc/posture/collector.crt");
	assert_string_equal(c.key, "/etc/posture/collector.key");
	assert_null(c.ca_key);
	assert_null(c.evidence_key);
	assert_null(c.evidence_pub);
	assert_string_equal(c.store, "sqlite:/etc/posture/posture.db");
	assert_string_equal(c.agent_host, "0.0.0.0");
	assert_int_equal(c.agent_port, 7443);
	assert_string_equal(c.api_host, "127.0.0.1");
	assert_int_equal(c.api_port, 8443);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_int_equal(c.handshake_timeout_ms, 10000);
	assert_int_equal(c.idle_timeout_ms, 300000);
	assert_int_equal(c.max_frame_bytes, FRAME_DEFAULT_MAX);
	assert_int_equal(c.max_hello_bytes, 64 * 1024);
	assert_int_equal(c.max_connections, 10000);
	assert_int_equal(c.heartbeat_interval_s, 60);
	assert_int_equal(c.batch_max_reports, 256);
	assert_int_equal(c.batch_delay_ms, 5);
	assert_true(c.queue_max_bytes == 64ull * 1024 * 1024);
	assert_int_equal(c.conn_max_pending, 16);
	/* collector_id: the host name when it is a valid id. */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_non_null(c.collector_id);
	if (strcmp(c.collector_id, "collector") != 0)
		assert_string_equal(c.collector_id, host);
	collector_config_cleanup(&c);
	collector_config_cleanup(&c); /* idempotent */
}

static void every_key_is_read(void **state)
{
	struct collector_config c;

	(void)state;
	expect_ok("{\"collector_id\": \"coll-1.example\","
		  " \"agent_listen\": \"10.1.2.3:9443\", \"api_listen\": \"[::1]:9444\","
		  " \"ca\": \"/srv/pki/ca.pem\", \"ca_key\": \"pki/ca.key\","
		  " \"cert\": \"c.pem\", \"key\": \"c.key\","
		  " \"evidence_key\": \"ev/e.key\", \"evidence_pub\": \"/ev/e.pub\","
		  " \"store\": \"sqlite:/var/lib/posture/p.db\", \"log_level\": \"debug\","
		  " \"limits\": {\"handshake_timeout_ms\": 2000, \"idle_timeout_ms\": 90000,"
		  "  \"max_frame_bytes\": 1048576, \"max_hello_bytes\": 4096,"
		  "  \"max_connections\": 50, \"heartbeat_interval_s\": 30},"
		  " \"store_tuning\": {\"batch_max_reports\": 64, \"batch_delay_ms\": 0,"
		  "  \"queue_max_bytes\": 8589934592, \"conn_max_pending\": 4}}",
		  &c);
	assert_string_equal(c.collector_id, "coll-1.example");
	assert_string_equal(c.agent_host, "10.1.2.3");
	assert_int_equal(c.agent_port, 9443);
	assert_string_equal(c.api_host, "::1");
	assert_int_equal(c.api_port, 9444);
	assert_string_equal(c.ca_cert, "/srv/pki/ca.pem");
	assert_string_equal(c.ca_key, "/etc/posture/pki/ca.key");
	assert_string_equal(c.cert, "/etc/posture/c.pem");
	assert_string_equal(c.key, "/etc/posture/c.key");
	assert_string_equal(c.evidence_key, "/etc/posture/ev/e.key");
	assert_string_equal(c.evidence_pub, "/ev/e.pub");
	assert_string_equal(c.store, "sqlite:/var/lib/posture/p.db");
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.handshake_timeout_ms, 2000);
	assert_int_equal(c.idle_timeout_ms, 90000);
	assert_int_equal(c.max_frame_bytes, 1048576);
	assert_int_equal(c.max_hello_bytes, 4096);
	assert_int_equal(c.max_connections, 50);
	assert_int_equal(c.heartbeat_interval_s, 30);
	assert_int_equal(c.batch_max_reports, 64);
	assert_int_equal(c.batch_delay_ms, 0);
	assert_true(c.queue_max_bytes == 8589934592ull);
	assert_int_equal(c.conn_max_pending, 4);
	collector_config_cleanup(&c);
}

static void store_forms(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"sqlite:posture.db", "sqlite:/etc/posture/posture.db"},
		{"sqlite:db/p.db", "sqlite:/etc/posture/db/p.db"},
		{"sqlite:/var/lib/posture/p.db", "sqlite:/var/lib/posture/p.db"},
		{"data.db", "sqlite:/etc/posture/data.db"},
		{"/abs/data.db", "sqlite:/abs/data.db"},
		{"sqlite::memory:", "sqlite::memory:"},
		{"postgresql://posture@db.example/posture", "postgresql://posture@db.example/posture"},
		{"postgres://db/p", "postgres://db/p"},
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct collector_config c;

		snprintf(text, sizeof(text), "{" MINIMAL ", \"store\": \"%s\"}", cases[i].in);
		expect_ok(text, &c);
		assert_string_equal(c.store, cases[i].want);
		collector_config_cleanup(&c);
	}
	expect_error("{" MINIMAL ", \"store\": \"sqlite:\"}", PST_E_INVAL,
		     "config " NAME ": \"store\" is \"sqlite:\"; expected \"sqlite:PATH\", a path, "
		     "or a postgresql:// URI");
	expect_error_part("{" MINIMAL ", \"store\": \"mysql://db/p\"}", "\"mysql://db/p\"");
	expect_error_part("{" MINIMAL ", \"store\": \"\"}", "\"store\" must be a non-empty string");
}

/* The API, metrics and alerts sections: defaults, values read, and refusals that name the key. */
static void api_metrics_alerts_sections(void **state)
{
	struct collector_config c;
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(parse("{" MINIMAL "}", &c, &e), 0);
	assert_int_equal(c.api_max_header_bytes, 16384);
	assert_int_equal(c.stale_intervals, 3);
	assert_int_equal(c.nwebhooks, 0);
	assert_null(c.metrics_allow);
	collector_config_cleanup(&c);

	assert_int_equal(parse("{" MINIMAL ", \"api\": {\"max_body_bytes\": 4096, "
			       "\"metrics_allow\": [\"127.0.0.1\", \"::1\"]}, \"metrics\": "
			       "{\"stale_intervals\": 2}, \"alerts\": {\"webhooks\": [{\"url\": "
			       "\"https://hooks.example/x\", \"ca\": \"hook-ca.pem\"}], "
			       "\"max_attempts\": 3}}", &c, &e), 0);
	assert_int_equal(c.api_max_body_bytes, 4096);
	assert_string_equal(c.metrics_allow[1], "::1");
	assert_int_equal(c.stale_intervals, 2);
	assert_int_equal(c.nwebhooks, 1);
	assert_string_equal(c.webhooks[0].url, "https://hooks.example/x");
	assert_int_equal(c.webhooks[0].timeout_ms, 5000);
	assert_non_null(strstr(c.webhooks[0].ca, "/hook-ca.pem"));
	assert_int_equal(c.alert_max_attempts, 3);
	collector_config_cleanup(&c);

	expect_error_part("{" MINIMAL ", \"api\": {\"metrics_allow\": [\"localhost\"]}}",
			  "\"metrics_allow\" holds \"localhost\", which is not an IPv4 or IPv6 "
			  "address");
	expect_error_part("{" MINIMAL ", \"alerts\": {\"webhooks\": [{\"url\": "
			  "\"ftp://x\"}]}}", "webhooks[0]: \"url\" must start with http:// or https://");
	expect_error_part("{" MINIMAL ", \"alerts\": {\"webhooks\": [{\"uri\": \"x\"}]}}",
			  "unknown key \"uri\"");
	expect_error_part("{" MINIMAL ", \"alerts\": {\"min_backoff_ms\": 5000, "
			  "\"max_backoff_ms\": 1000}}", "\"max_backoff_ms\" (1000) is below");
	expect_error_part("{" MINIMAL ", \"metrics\": {\"stale_intervals\": 0}}",
			  "stale_intervals");
}

static void evidence_section(void **state)
{
	struct collector_config c;
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(parse("{" MINIMAL "}", &c, &e), 0);
	assert_int_equal(c.evidence_schedule_s, 86400);
	assert_int_equal(c.evidence_max_bytes, 64u << 20);
	collector_config_cleanup(&c);

	assert_int_equal(parse("{" MINIMAL ", \"evidence\": {\"schedule_s\": 0, "
			       "\"max_bytes\": 1048576}}", &c, &e), 0);
	assert_int_equal(c.evidence_schedule_s, 0);
	assert_int_equal(c.evidence_max_bytes, 1048576);
	collector_config_cleanup(&c);

	assert_int_equal(parse("{" MINIMAL ", \"evidence\": {\"schedule_s\": 5}}", &c, &e), 0);
	assert_int_equal(c.evidence_schedule_s, 5);
	assert_int_equal(c.evidence_max_bytes, 64u << 20);
	collector_config_cleanup(&c);

	expect_error_part("{" MINIMAL ", \"evidence\": {\"interval_s\": 60}}",
			  "evidence: unknown key \"interval_s\" (expected one of: schedule_s, "
			  "max_bytes)");
	expect_error_part("{" MINIMAL ", \"evidence\": {\"max_bytes\": 268435457}}",
			  "max_bytes");
	expect_error_part("{" MINIMAL ", \"evidence\": {\"max_bytes\": 1000}}", "max_bytes");
	expect_error_part("{" MINIMAL ", \"evidence\": {\"schedule_s\": -1}}", "schedule_s");
	expect_error_part("{" MINIMAL ", \"evidence\": {\"schedule_s\": \"daily\"}}",
			  "schedule_s");
	expect_error_part("{" MINIMAL ", \"evidence\": 86400}", "evidence");
}

static void unknown_keys_are_refused(void **state)
{
	(void)state;
	expect_error("{" MINIMAL ", \"listen\": \"0.0.0.0:7443\"}", PST_E_INVAL,
		     "config " NAME ": unknown key \"listen\" (expected one of: collector_id, "
		     "agent_listen, api_listen, ca, ca_key, cert, key, evidence_key, "
		     "evidence_pub, store, log_level, limits, store_tuning, api, metrics, alerts, evidence)");
	expect_error("{" MINIMAL ", \"limits\": {\"max_frame\": 1}}", PST_E_INVAL,
		     "config " NAME ": limits: unknown key \"max_frame\" (expected one of: "
		     "handshake_timeout_ms, idle_timeout_ms, max_frame_bytes, max_hello_bytes, "
		     "max_connections, heartbeat_interval_s)");
	expect_error_part("{" MINIMAL ", \"store_tuning\": {\"batch\": 1}}",
			  "store_tuning: unknown key \"batch\"");
}

static void wrong_types_are_refused(void **state)
{
	(void)state;
	expect_error("{" MINIMAL ", \"agent_listen\": 7443}", PST_E_INVAL,
		     "config " NAME ": \"agent_listen\" must be a string, not an integer");
	expect_error("{" MINIMAL ", \"limits\": {\"max_frame_bytes\": \"4M\"}}", PST_E_INVAL,
		     "config " NAME ": limits: \"max_frame_bytes\" must be an integer, not a "
		     "string");
	expect_error("{" MINIMAL ", \"limits\": [1]}", PST_E_INVAL,
		     "config " NAME ": \"limits\" must be an object of settings");
	expect_error_part("{" MINIMAL ", \"store_tuning\": true}",
			  "\"store_tuning\" must be an object");
	expect_error_part("{" MINIMAL ", \"ca_key\": [\"ca.key\"]}", "\"ca_key\" must be a string");
	expect_error_part("{" MINIMAL ", \"limits\": {\"idle_timeout_ms\": 1.5e6}}",
			  "\"idle_timeout_ms\" must be an integer, not a number");
	expect_error_part("{" MINIMAL ", \"store_tuning\": {\"batch_delay_ms\": null}}",
			  "\"batch_delay_ms\" must be an integer, not null");
	expect_error_part("{" MINIMAL ", \"log_level\": 3}", "\"log_level\" must be a string");
}

static void values_out_of_range_are_refused(void **state)
{
	(void)state;
	expect_error("{" MINIMAL ", \"limits\": {\"max_frame_bytes\": 1023}}", PST_E_INVAL,
		     "config " NAME ": limits: \"max_frame_bytes\" is 1023; it must be between "
		     "1024 and 67108864");
	expect_error_part("{" MINIMAL ", \"limits\": {\"max_frame_bytes\": 67108865}}",
			  "\"max_frame_bytes\" is 67108865");
	expect_error("{" MINIMAL ", \"limits\": {\"max_frame_bytes\": 8192, "
		     "\"max_hello_bytes\": 8193}}",
		     PST_E_INVAL,
		     "config " NAME ": limits: \"max_hello_bytes\" is 8193; it must not exceed "
		     "\"max_frame_bytes\" (8192)");
	expect_error("{" MINIMAL ", \"limits\": {\"idle_timeout_ms\": 60000}}", PST_E_INVAL,
		     "config " NAME ": limits: \"idle_timeout_ms\" (60000) must be longer than "
		     "\"heartbeat_interval_s\" (60 s), or idle agents are cut off between "
		     "heartbeats");
	expect_error_part("{" MINIMAL ", \"limits\": {\"max_frame_bytes\": 33554432}, "
			  "\"store_tuning\": {\"queue_max_bytes\": 16777216}}",
			  "\"queue_max_bytes\" (16777216) must hold at least one frame");
	expect_error_part("{" MINIMAL ", \"limits\": {\"max_connections\": 0}}",
			  "\"max_connections\" is 0");
	expect_error_part("{" MINIMAL ", \"limits\": {\"handshake_timeout_ms\": -1}}",
			  "\"handshake_timeout_ms\" is -1");
	expect_error_part("{" MINIMAL ", \"limits\": {\"heartbeat_interval_s\": 4294967296}}",
			  "\"heartbeat_interval_s\" is 4294967296");
	expect_error_part("{" MINIMAL ", \"store_tuning\": {\"batch_max_reports\": 0}}",
			  "\"batch_max_reports\" is 0");
	expect_error_part("{" MINIMAL ", \"store_tuning\": {\"queue_max_bytes\": 1000}}",
			  "\"queue_max_bytes\" is 1000");
	expect_error_part("{" MINIMAL ", \"store_tuning\": {\"conn_max_pending\": 5000}}",
			  "\"conn_max_pending\" is 5000");
	expect_error_part("{" MINIMAL ", \"store_tuning\": {\"batch_delay_ms\": 10001}}",
			  "\"batch_delay_ms\" is 10001");
}

static void a_smaller_frame_limit_lowers_the_hello_default(void **state)
{
	struct collector_config c;

	(void)state;
	expect_ok("{" MINIMAL ", \"limits\": {\"max_frame_bytes\": 2048}}", &c);
	assert_int_equal(c.max_frame_bytes, 2048);
	assert_int_equal(c.max_hello_bytes, 2048);
	collector_config_cleanup(&c);
}

static void other_mistakes_are_refused(void **state)
{
	(void)state;
	expect_error("{\"ca\": \"ca.crt\", \"key\": \"k\"}", PST_E_INVAL,
		     "config " NAME ": missing required key \"cert\"");
	expect_error("{" MINIMAL ", \"log_level\": \"verbose\"}", PST_E_INVAL,
		     "config " NAME ": \"log_level\" is \"verbose\"; expected error, warn, info "
		     "or debug");
	expect_error("{" MINIMAL ", \"agent_listen\": \"0.0.0.0\"}", PST_E_INVAL,
		     "config " NAME ": \"agent_listen\" is \"0.0.0.0\"; expected HOST:PORT with a "
		     "port 1-65535");
	expect_error_part("{" MINIMAL ", \"api_listen\": \"h:0\"}", "\"api_listen\" is \"h:0\"");
	expect_error_part("{" MINIMAL ", \"api_listen\": \"h:65536\"}", "expected HOST:PORT");
	expect_error_part("{" MINIMAL ", \"collector_id\": \"-x\"}", "\"collector_id\" is \"-x\"");
	expect_error_part("{" MINIMAL ", \"collector_id\": \"a b\"}", "\"collector_id\" is \"a b\"");
	expect_error("{" MINIMAL ", \"ca\": \"x\"}", PST_E_PARSE,
		     "config " NAME ":1:70: duplicate object key near '\"ca\"'");
}

static void syntax_errors_name_line_and_column(void **state)
{
	struct collector_config c;
	struct pst_err e = {0};

	(void)state;
	assert_int_equal(parse("{\n  \"ca\": \"ca.crt\",\n  \"cert\" \"x\"\n}", &c, &e), PST_E_PARSE);
	assert_non_null(strstr(e.msg, "config " NAME ":3:"));
	assert_int_equal(parse("[1, 2]", &c, &e), PST_E_INVAL);
	assert_string_equal(e.msg, "config " NAME ": the document must be an object");
}

/* A real file: paths are resolved against its directory, made absolute. */
static void load_resolves_against_the_file_directory(void **state)
{
	struct collector_config c;
	struct pst_err e = {0};
	char *dir = tu_mkdtemp(), cwd[PATH_MAX], want[PATH_MAX + 64];

	(void)state;
	assert_int_equal(tu_write(dir, "conf/collector.json",
				  "{\"ca\": \"ca.crt\", \"cert\": \"tls/c.crt\", \"key\": \"/k\","
				  " \"store\": \"db/posture.db\"}\n",
				  0644),
			 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	/* A path relative to the working directory still yields absolute paths. */
	assert_int_equal(chdir(dir), 0);
	if (collector_config_load("conf/collector.json", &c, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(c.path, "conf/collector.json");
	snprintf(want, sizeof(want), "%s/conf/ca.crt", dir);
	assert_string_equal(c.ca_cert, want);
	snprintf(want, sizeof(want), "%s/conf/tls/c.crt", dir);
	assert_string_equal(c.cert, want);
	assert_string_equal(c.key, "/k");
	snprintf(want, sizeof(want), "sqlite:%s/conf/db/posture.db", dir);
	assert_string_equal(c.store, want);
	collector_config_cleanup(&c);

	/* A missing file names itself; c holds nothing. */
	snprintf(want, sizeof(want), "%s/none.json", dir);
	assert_int_equal(collector_config_load(want, &c, &e), PST_E_NOENT);
	assert_non_null(strstr(e.msg, want));
	assert_null(c.path);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_fill_what_is_absent),
		cmocka_unit_test(every_key_is_read),
		cmocka_unit_test(store_forms),
		cmocka_unit_test(unknown_keys_are_refused),
		cmocka_unit_test(api_metrics_alerts_sections),
		cmocka_unit_test(evidence_section),
		cmocka_unit_test(wrong_types_are_refused),
		cmocka_unit_test(values_out_of_range_are_refused),
		cmocka_unit_test(a_smaller_frame_limit_lowers_the_hello_default),
		cmocka_unit_test(other_mistakes_are_refused),
		cmocka_unit_test(syntax_errors_name_line_and_column),
		cmocka_unit_test(load_resolves_against_the_file_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
