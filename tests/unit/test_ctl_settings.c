/*
 * test_ctl_settings.c - where posturectl takes its URL, token and CA from
 * (ctl/settings.c): flags beat the environment, which beats the config
 * file; a config file or token file that holds a token and that group or
 * others can read is refused; paths in the config are relative to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "settings.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmrf(dir);
	free(dir);
	return 0;
}

static const char *path(const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, rel);
	return buf;
}

static void test_precedence(void **state)
{
	(void)state;
	struct ctl_sources src = {0};
	struct ctl_settings s;
	struct pst_err e = {0};
	char cfg[4096];

	assert_int_equal(tu_write(dir, "c.json",
				  "{\"url\": \"https://config:1\", \"token\": \"pst_config\", "
				  "\"cacert\": \"ca.crt\"}",
				  0600),
			 0);
	snprintf(cfg, sizeof(cfg), "%s", path("c.json"));
	src.config = cfg;

	/* Config alone. */
	assert_int_equal(settings_resolve(&src, &s, &e), 0);
	assert_string_equal(s.url, "https://config:1");
	assert_string_equal(s.token, "pst_config");
	assert_string_equal(s.cacert, path("ca.crt"));
	assert_string_equal(s.url_from, cfg);
	settings_cleanup(&s);

	/* The environment beats it. */
	src.env_url = "https://env:2";
	src.env_token = "pst_env";
	assert_int_equal(settings_resolve(&src, &s, &e), 0);
	assert_string_equal(s.url, "https://env:2");
	assert_string_equal(s.token, "pst_env");
	assert_string_equal(s.url_from, "POSTURE_URL");
	assert_string_equal(s.cacert, path("ca.crt"));
	settings_cleanup(&s);

	/* Flags beat both; an empty environment variable counts as unset. */
	src.flag_url = "https://flag:3";
	src.flag_token = "pst_flag";
	src.flag_cacert = "/x/ca.pem";
	assert_int_equal(settings_resolve(&src, &s, &e), 0);
	assert_string_equal(s.url, "https://flag:3");
	assert_string_equal(s.token, "pst_flag");
	assert_string_equal(s.cacert, "/x/ca.pem");
	settings_cleanup(&s);
	src.flag_url = src.flag_token = src.flag_cacert = NULL;
	src.env_url = "";
	src.env_token = "";
	assert_int_equal(settings_resolve(&src, &s, &e), 0);
	assert_string_equal(s.url, "https://config:1");
	assert_string_equal(s.token, "pst_config");
	settings_cleanup(&s);
}

static void test_default_config(void **state)
{
	(void)state;
	struct ctl_sources src = {0};
	struct ctl_settings s;
	struct pst_err e = {0};

	/* No default config: nothing set, no error. */
	src.home = dir;
	assert_int_equal(settings_resolve(&src, &s, &e), 0);
	assert_null(s.url);
	assert_null(s.token);
	settings_cleanup(&s);
	assert_int_equal(tu_write(dir, ".config/posture/posturectl.json",
				  "{\"url\": \"https://home:4\", \"token_file\": \"tok\"}", 0600),
			 0);
	assert_int_equal(tu_write(dir, ".config/posture/tok", "pst_fromfile\n", 0600), 0);
	assert_int_equal(settings_resolve(&src, &s, &e), 0);
	assert_string_equal(s.url, "https://home:4");
	assert_string_equal(s.token, "pst_fromfile");
	settings_cleanup(&s);

	/* A named config file that is missing is an error. */
	src.config = path("nosuch.json");
	assert_int_equal(settings_resolve(&src, &s, &e), PST_E_USAGE);
	assert_non_null(strstr(e.msg, "nosuch.json"));
}

static void test_permissions(void **state)
{
	(void)state;
	struct ctl_sources src = {0};
	struct ctl_settings s;
	struct pst_err e = {0};
	char cfg[4096];

	assert_int_equal(tu_write(dir, "open.json", "{\"token\": \"pst_x\"}", 0644), 0);
	snprintf(cfg, sizeof(cfg), "%s", path("open.json"));
	src.config = cfg;
	assert_int_equal(settings_resolve(&src, &s, &e), PST_E_USAGE);
	assert_non_null(strstr(e.msg, "readable by group or others"));
	assert_non_null(strstr(e.msg, "chmod 600"));
	/* The token must not be in the message. */
	assert_null(strstr(e.msg, "pst_x"));

	/* Without a token, a readable config is fine. */
	assert_int_equal(tu_write(dir, "url.json", "{\"url\": \"https://u:1\"}", 0644), 0);
	snprintf(cfg, sizeof(cfg), "%s", path("url.json"));
	assert_int_equal(settings_resolve(&src, &s, &e), 0);
	settings_cleanup(&s);

	/* A token file readable by the group is refused. */
	assert_int_equal(tu_write(dir, "t.json", "{\"token_file\": \"t\"}", 0600), 0);
	assert_int_equal(tu_write(dir, "t", "pst_y", 0640), 0);
	snprintf(cfg, sizeof(cfg), "%s", path("t.json"));
	assert_int_equal(settings_resolve(&src, &s, &e), PST_E_USAGE);
	assert_non_null(strstr(e.msg, "token file"));
}

static void test_bad_config(void **state)
{
	(void)state;
	struct ctl_sources src = {0};
	struct ctl_settings s;
	struct pst_err e = {0};
	char cfg[4096];

	snprintf(cfg, sizeof(cfg), "%s", path("bad.json"));
	src.config = cfg;
	assert_int_equal(tu_write(dir, "bad.json", "{\"url\": \"https://u:1\", \"tokn\": 1}", 0600), 0);
	assert_int_equal(settings_resolve(&src, &s, &e), PST_E_USAGE);
	assert_non_null(strstr(e.msg, "tokn"));
	assert_int_equal(tu_write(dir, "bad.json", "{\"token\": \"a\", \"token_file\": \"b\"}", 0600), 0);
	assert_int_equal(settings_resolve(&src, &s, &e), PST_E_USAGE);
	assert_int_equal(tu_write(dir, "bad.json", "{\"url\": ", 0600), 0);
	assert_int_equal(settings_resolve(&src, &s, &e), PST_E_USAGE);
	/* A token that would split the Authorization header. */
	src.config = NULL;
	src.flag_token = "pst_a\r\nX-Evil: 1";
	assert_int_equal(settings_resolve(&src, &s, &e), PST_E_USAGE);
	assert_non_null(strstr(e.msg, "--token"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
