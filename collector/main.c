/*
 * main.c - the posture-collector command line: a table of subcommands,
 * each with its own options, usage text and handler.
 *
 *   posture-collector init --dir DIR [--agent-listen HOST:PORT] [--api-listen HOST:PORT]
 *                          [--collector-id ID]
 *   posture-collector issue-agent (--dir DIR | --config FILE) --agent-id ID --out OUT
 *   posture-collector run --config FILE
 *   posture-collector show --config FILE [--json]
 *   posture-collector token create --config FILE --role ROLE [--name NAME]
 *                          [--expires-in SECONDS] [--uses N]
 *   posture-collector token list --config FILE
 *   posture-collector token revoke --config FILE --id ID
 *
 * Exit status (DESIGN 8): 0 success, 2 usage, configuration, input or I/O
 * error with a message on stderr.  A subcommand that can find failures or
 * be refused by a server uses 1 for that.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "pki.h"
#include "server.h"
#include "show.h"
#include "store.h"
#include "timefmt.h"
#include "tokens.h"

#ifndef POSTURE_VERSION
#define POSTURE_VERSION "0.0.0"
#endif

#define EXIT_USAGE 2
#define PROG "posture-collector"

struct command {
	const char *name;
	const char *synopsis; /* the line after "usage: posture-collector " */
	const char *help;     /* the rest of `COMMAND --help` */
	int (*run)(const struct command *cmd, int argc, char **argv);
};

static void command_usage(const struct command *cmd, FILE *out)
{
	fprintf(out, "usage: " PROG " %s\n%s", cmd->synopsis, out == stdout ? cmd->help : "");
	if (out != stdout)
		fprintf(out, "(try: " PROG " %s --help)\n", cmd->name);
}

/*
 * getopt_long over argv (argv[0] is the command name); prints the usage
 * error itself.  Returns the option, -1 at the end, or '?' after an error.
 */
static int next_opt(const struct command *cmd, int argc, char **argv,
		    const struct option *opts)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, "+:h", opts, NULL);
	if (c == ':' || c == '?') {
		if (c == ':')
			fprintf(stderr, PROG " %s: option \"%s\" needs a value\n", cmd->name,
				argv[optind - 1]);
		else if (optopt != 0)
			fprintf(stderr, PROG " %s: unknown option \"-%c\"\n", cmd->name, optopt);
		else
			fprintf(stderr, PROG " %s: unknown option \"%s\"\n", cmd->name,
				argv[optind - 1]);
		command_usage(cmd, stderr);
		c = '?';
	}
	return c;
}

/* Anything after the options is a mistake. */
static int no_operands(const struct command *cmd, int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, PROG " %s: unexpected argument \"%s\"\n", cmd->name, argv[optind]);
		command_usage(cmd, stderr);
		return -1;
	}
	return 0;
}

static int missing_opt(const struct command *cmd, const char *opt)
{
	fprintf(stderr, PROG " %s: %s is required\n", cmd->name, opt);
	command_usage(cmd, stderr);
	return EXIT_USAGE;
}

/* --- init ------------------------------------------------------------------ */

/*
 * Make a token of role in the store named by spec and put its text in
 * text: the only time it exists outside the caller's hands.
 */
static int make_token(const char *spec, enum store_role role, const char *name,
		      int64_t expires_in_s, int64_t uses, char text[TOKEN_TEXT_SIZE], int64_t *id,
		      struct pst_err *e)
{
	struct store_token t = {0};
	struct store *st;
	uint8_t hash[32];
	int rc;

	t.role = role;
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.created_us = timefmt_now_us();
	t.expires_us = expires_in_s > 0 ? t.created_us + expires_in_s * 1000000 : 0;
	t.uses_left = uses;
	if ((rc = token_new(text, hash, e)) != 0)
		return rc;
	if ((rc = store_open(spec, &st, e)) != 0)
		return rc;
	rc = store_token_add(st, hash, &t, id, e);
	store_close(st);
	return rc;
}

/* Create the store named by DIR/collector.json, at the current schema. */
static int create_store(const char *dir, char admin[TOKEN_TEXT_SIZE], struct pst_err *e)
{
	struct collector_config cfg;
	char path[4096];
	int64_t id;
	int rc;

	snprintf(path, sizeof(path), "%s/collector.json", dir);
	rc = collector_config_load(path, &cfg, e);
	if (rc != 0)
		return rc;
	rc = make_token(cfg.store, STORE_ROLE_ADMIN, "first admin (init)", 0, -1, admin, &id, e);
	collector_config_cleanup(&cfg);
	return rc;
}

static int cmd_init(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"agent-listen", required_argument, NULL, 'a'},
		{"api-listen", required_argument, NULL, 'p'},
		{"collector-id", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pki_init_opts o = {0};
	struct pst_err e = {0};
	char fp[96], admin[TOKEN_TEXT_SIZE];
	int c;

	while ((c = next_opt(cmd, argc, argv, opts)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 'a': o.agent_listen = optarg; break;
		case 'p': o.api_listen = optarg; break;
		case 'i': o.collector_id = optarg; break;
		case 'h': command_usage(cmd, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (no_operands(cmd, argc, argv) != 0)
		return EXIT_USAGE;
	if (o.dir == NULL)
		return missing_opt(cmd, "--dir DIR");
	if (pki_init(&o, &e) != 0) {
		fprintf(stderr, PROG " init: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (create_store(o.dir, admin, &e) != 0) {
		fprintf(stderr, PROG " init: %s\n", e.msg);
		return EXIT_USAGE;
	}
	printf("initialised %s: collector.json, ca.crt, ca.key, collector.crt, collector.key,\n"
	       "evidence.key, evidence.pub (private keys mode 0600) and the store\n",
	       o.dir);
	{
		char ca[4096];

		snprintf(ca, sizeof(ca), "%s/ca.crt", o.dir);
		if (pki_cert_fingerprint(ca, fp, sizeof(fp), &e) == 0)
			printf("CA certificate SHA-256 fingerprint:\n  %s\n", fp);
	}
	printf("first admin API token (shown this once; only its hash is stored):\n  %s\n", admin);
	printf("keep ca.key and the token secret; next: " PROG " issue-agent --dir %s "
	       "--agent-id ID --out DIR\n", o.dir);
	return 0;
}

/* --- issue-agent ---------------------------------------------------------- */

static int cmd_issue_agent(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},
		{"agent-id", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pki_issue_opts o = {0};
	struct pst_err e = {0};
	const char *dir = NULL;
	char *config = NULL;
	int c, rc = 0;

	while ((c = next_opt(cmd, argc, argv, opts)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'c': o.config = optarg; break;
		case 'i': o.agent_id = optarg; break;
		case 'o': o.out_dir = optarg; break;
		case 'h': command_usage(cmd, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (no_operands(cmd, argc, argv) != 0)
		return EXIT_USAGE;
	if (dir != NULL && o.config != NULL) {
		fprintf(stderr, PROG " issue-agent: give --dir or --config, not both\n");
		command_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if (dir == NULL && o.config == NULL)
		return missing_opt(cmd, "--dir DIR (or --config FILE)");
	if (o.agent_id == NULL)
		return missing_opt(cmd, "--agent-id ID");
	if (o.out_dir == NULL)
		return missing_opt(cmd, "--out OUT");
	if (dir != NULL) {
		if (asprintf(&config, "%s/collector.json", dir) < 0) {
			fprintf(stderr, PROG " issue-agent: out of memory\n");
			return EXIT_USAGE;
		}
		o.config = config;
	}
	if (pki_issue_agent(&o, &e) != 0) {
		fprintf(stderr, PROG " issue-agent: %s\n", e.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	printf("issued agent \"%s\" in %s: agent.json, agent.crt, agent.key (mode 0600), ca.crt\n"
	       "copy %s to the agent's host (e.g. /etc/posture) and run: "
	       "posture-agent run --config agent.json\n",
	       o.agent_id, o.out_dir, o.out_dir);
out:
	free(config);
	return rc;
}

/* --- run, show ------------------------------------------------------------ */

/* Parse "--config FILE" (and for show "--json") and load the configuration. */
static int config_command(const struct command *cmd, int argc, char **argv,
			  struct collector_config *cfg, bool *json)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	struct pst_err e = {0};
	int c;

	while ((c = next_opt(cmd, argc, argv, opts)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j':
			if (json == NULL) {
				fprintf(stderr, PROG " %s: unknown option \"--json\"\n", cmd->name);
				command_usage(cmd, stderr);
				return EXIT_USAGE;
			}
			*json = true;
			break;
		case 'h': command_usage(cmd, stdout); return -1;
		default: return EXIT_USAGE;
		}
	}
	if (no_operands(cmd, argc, argv) != 0)
		return EXIT_USAGE;
	if (config == NULL)
		return missing_opt(cmd, "--config FILE");
	if (collector_config_load(config, cfg, &e) != 0) {
		fprintf(stderr, PROG " %s: %s\n", cmd->name, e.msg);
		return EXIT_USAGE;
	}
	return 0;
}

static int cmd_run(const struct command *cmd, int argc, char **argv)
{
	struct collector_config cfg;
	struct pst_err e = {0};
	int rc;

	rc = config_command(cmd, argc, argv, &cfg, NULL);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	log_init(PROG, (enum log_level)cfg.log_level);
	rc = server_run(&cfg, &e);
	if (rc != 0)
		log_error("%s", e.msg);
	collector_config_cleanup(&cfg);
	return rc == 0 ? 0 : EXIT_USAGE;
}

static int cmd_show(const struct command *cmd, int argc, char **argv)
{
	struct collector_config cfg;
	struct pst_err e = {0};
	bool json = false;
	int rc;

	rc = config_command(cmd, argc, argv, &cfg, &json);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	rc = show_store(cfg.store, stdout, json, &e);
	if (rc != 0)
		fprintf(stderr, PROG " show: %s\n", e.msg);
	collector_config_cleanup(&cfg);
	return rc == 0 ? 0 : EXIT_USAGE;
}

/* --- token ---------------------------------------------------------------- */

static int parse_i64(const struct command *cmd, const char *opt, const char *v, int64_t min,
		     int64_t max, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
		fprintf(stderr, PROG " %s: %s is \"%s\"; expected a whole number from %" PRId64
			" to %" PRId64 "\n", cmd->name, opt, v, min, max);
		return EXIT_USAGE;
	}
	*out = n;
	return 0;
}

static int token_create(const struct command *cmd, const struct collector_config *cfg,
			const char *role_name, const char *name, int64_t expires, int64_t uses)
{
	enum store_role role;
	struct pst_err e = {0};
	char text[TOKEN_TEXT_SIZE];
	int64_t id;

	if (role_name == NULL)
		return missing_opt(cmd, "--role iso|auditor|admin|enroll");
	if (store_role_parse(role_name, &role) != 0) {
		fprintf(stderr, PROG " token: --role is \"%s\"; expected iso, auditor, admin or "
			"enroll\n", role_name);
		return EXIT_USAGE;
	}
	/* Enrollment tokens are handed around: by default they expire in a day and serve once. */
	if (role == STORE_ROLE_ENROLL) {
		if (expires == 0)
			expires = 86400;
		if (uses == 0)
			uses = 1;
	}
	if (uses == 0)
		uses = -1;
	if (name == NULL)
		name = store_role_name(role);
	if (make_token(cfg->store, role, name, expires, uses, text, &id, &e) != 0) {
		fprintf(stderr, PROG " token create: %s\n", e.msg);
		return EXIT_USAGE;
	}
	/* The token alone on stdout, for scripts; what it is on stderr, for people. */
	printf("%s\n", text);
	fprintf(stderr, "token %" PRId64 " created: role %s, name %s", id, store_role_name(role),
		name);
	if (expires > 0)
		fprintf(stderr, ", expires in %" PRId64 " s", expires);
	if (uses > 0)
		fprintf(stderr, ", %" PRId64 " use%s", uses, uses == 1 ? "" : "s");
	fprintf(stderr, ". It is shown this once; the store keeps only its hash.\n");
	return 0;
}

static int token_list(const struct collector_config *cfg)
{
	struct pst_err e = {0};
	struct store *st;
	json_t *doc = NULL;
	int rc;

	if ((rc = store_open(cfg->store, &st, &e)) == 0) {
		rc = store_tokens(st, &doc, &e);
		store_close(st);
	}
	if (rc != 0) {
		fprintf(stderr, PROG " token list: %s\n", e.msg);
		return EXIT_USAGE;
	}
	json_dumpf(doc, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(doc);
	return 0;
}

static int token_revoke(const struct collector_config *cfg, int64_t id)
{
	struct pst_err e = {0};
	struct store *st;
	int rc;

	if ((rc = store_open(cfg->store, &st, &e)) == 0) {
		rc = store_token_revoke(st, id, &e);
		store_close(st);
	}
	if (rc != 0) {
		fprintf(stderr, PROG " token revoke: %s\n", e.msg);
		return EXIT_USAGE;
	}
	fprintf(stderr, "token %" PRId64 " revoked\n", id);
	return 0;
}

static int cmd_token(const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"role", required_argument, NULL, 'r'},
		{"name", required_argument, NULL, 'n'},
		{"expires-in", required_argument, NULL, 'x'},
		{"uses", required_argument, NULL, 'u'},
		{"id", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *role = NULL, *name = NULL, *action;
	int64_t expires = 0, uses = 0, id = -1;
	struct collector_config cfg;
	struct pst_err e = {0};
	int c, rc;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			command_usage(cmd, stdout);
			return 0;
		}
		fprintf(stderr, PROG " token: say create, list or revoke\n");
		command_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	action = argv[1];
	argc--;
	argv++;
	while ((c = next_opt(cmd, argc, argv, opts)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'r': role = optarg; break;
		case 'n': name = optarg; break;
		case 'x':
			if ((rc = parse_i64(cmd, "--expires-in", optarg, 1, 10LL * 366 * 86400,
					    &expires)) != 0)
				return rc;
			break;
		case 'u':
			if ((rc = parse_i64(cmd, "--uses", optarg, 1, 1000000, &uses)) != 0)
				return rc;
			break;
		case 'i':
			if ((rc = parse_i64(cmd, "--id", optarg, 1, INT64_MAX, &id)) != 0)
				return rc;
			break;
		case 'h': command_usage(cmd, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (no_operands(cmd, argc, argv) != 0)
		return EXIT_USAGE;
	if (config == NULL)
		return missing_opt(cmd, "--config FILE");
	if (name != NULL && strlen(name) >= sizeof(((struct store_token *)0)->name)) {
		fprintf(stderr, PROG " token: --name is too long (at most %zu bytes)\n",
			sizeof(((struct store_token *)0)->name) - 1);
		return EXIT_USAGE;
	}
	if (collector_config_load(config, &cfg, &e) != 0) {
		fprintf(stderr, PROG " token: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (strcmp(action, "create") == 0) {
		rc = token_create(cmd, &cfg, role, name, expires, uses);
	} else if (strcmp(action, "list") == 0) {
		rc = token_list(&cfg);
	} else if (strcmp(action, "revoke") == 0) {
		rc = id < 0 ? missing_opt(cmd, "--id ID") : token_revoke(&cfg, id);
	} else {
		fprintf(stderr, PROG " token: unknown action \"%s\"; say create, list or revoke\n",
			action);
		rc = EXIT_USAGE;
	}
	collector_config_cleanup(&cfg);
	return rc;
}

/*
 * The subcommands, in the order --help lists them.  Add new ones (run,
 * show, token, ...) here: a name, its synopsis and help, and a handler
 * that parses its own options with next_opt().
 */
static const struct command commands[] = {
	{"init",
	 "init --dir DIR [--agent-listen HOST:PORT] [--api-listen HOST:PORT] [--collector-id ID]",
	 "\n"
	 "Make a new deployment in DIR (created mode 0700 if missing): a private CA\n"
	 "(ca.crt, ca.key), the collector's TLS certificate (collector.crt,\n"
	 "collector.key), its Ed25519 evidence signing key (evidence.key, evidence.pub)\n"
	 "and collector.json naming them.  Refuses a DIR that already holds a CA.\n"
	 "  --agent-listen HOST:PORT  where agents connect (default " COLLECTOR_DEFAULT_AGENT_LISTEN
	 ",\n"
	 "                            all interfaces: agents are remote, and must present\n"
	 "                            a certificate from the CA)\n"
	 "  --api-listen HOST:PORT    the HTTPS API and dashboard (default "
	 COLLECTOR_DEFAULT_API_LISTEN ",\n"
	 "                            this host only; widen it deliberately)\n"
	 "  --collector-id ID         the collector's name (default: the host name)\n"
	 "The collector certificate names the listen hosts (the host name for 0.0.0.0\n"
	 "or ::), 127.0.0.1 and localhost.\n",
	 cmd_init},
	{"issue-agent", "issue-agent (--dir DIR | --config FILE) --agent-id ID --out OUT",
	 "\n"
	 "Issue an agent certificate signed by the CA and write OUT (created mode 0700):\n"
	 "agent.json, agent.crt, agent.key, ca.crt: an agent that reaches this\n"
	 "collector.  Refuses to overwrite any of them.\n"
	 "  --dir DIR       the directory made by init (its collector.json)\n"
	 "  --config FILE   or the collector.json itself\n"
	 "  --agent-id ID   the agent's identity (its certificate's CN): 1 to 64 of\n"
	 "                  A-Z a-z 0-9 . _ -, not starting with . or -\n"
	 "  --out OUT       the directory to write\n",
	 cmd_issue_agent},
	{"run", "run --config FILE",
	 "\n"
	 "Run the collector: accept agents on agent_listen (mutual TLS, certificates\n"
	 "from the deployment's CA), store their reports and acknowledge each one once\n"
	 "it is committed.  Logs go to stderr.  SIGTERM or SIGINT stops it cleanly:\n"
	 "reports already received are committed and acknowledged first; a second\n"
	 "signal exits at once (agents resend whatever was not acknowledged).\n"
	 "  --config FILE   collector.json\n",
	 cmd_run},
	{"show", "show --config FILE [--json]",
	 "\n"
	 "Print what the store holds: each host with its last report, score and\n"
	 "counts, and its failing checks with their evidence.\n"
	 "  --config FILE   collector.json\n"
	 "  --json          one JSON document (format posture.show/v1) instead of text\n",
	 cmd_show},
	{"token",
	 "token create|list|revoke --config FILE [--role ROLE] [--name NAME] [--expires-in S] "
	 "[--uses N] [--id ID]",
	 "\n"
	 "Manage the API's bearer tokens.  Only a token's SHA-256 is stored.\n"
	 "  create   make a token and print it (alone, on stdout) this once\n"
	 "    --role ROLE         iso (reads), auditor (reads, takes and pulls evidence),\n"
	 "                        admin (everything, and tokens), enroll (enrolls agents)\n"
	 "    --name NAME         who or what it is for\n"
	 "    --expires-in S      seconds until it stops working (enroll default: 86400)\n"
	 "    --uses N            how many requests it serves (enroll default: 1)\n"
	 "  list     print the tokens (never their text) as JSON\n"
	 "  revoke   stop a token at once: --id ID (from list)\n"
	 "  --config FILE   collector.json\n",
	 cmd_token},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage:");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "%s " PROG " %s\n", i == 0 ? "" : "      ", commands[i].synopsis);
	fprintf(out, "       " PROG " --version | --help\n"
		     "\n"
		     "COMMAND --help says more about each command.\n"
		     "exit status: 0 success, 2 usage, configuration, input or I/O error.\n");
}

int main(int argc, char **argv)
{
	int rc;

	log_init(PROG, LOG_LVL_INFO);
	/* Before any thread starts: libcurl's global state (alert webhooks). */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, PROG ": cannot initialise libcurl\n");
		return EXIT_USAGE;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf(PROG " " POSTURE_VERSION "\n");
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			/* getopt starts after the command name. */
			optind = 1;
			rc = commands[i].run(&commands[i], argc - 1, argv + 1);
			curl_global_cleanup();
			return rc;
		}
	}
	fprintf(stderr, PROG ": unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
