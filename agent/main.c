/*
 * main.c - the posture-agent command line.
 *
 *   posture-agent scan [--policy PATH]... [--root DIR] [--format table|json|protobuf]
 *                      [--output FILE]
 *   posture-agent run --config FILE [--once]
 *   posture-agent enroll --collector URL --token TOKEN --config FILE
 *                        (--cacert FILE | --ca-fingerprint SHA256) [--agent-id ID] [--dir DIR]
 *
 * Exit status of scan: 0 nothing failed, 1 some check failed or could not
 * be evaluated, 2 usage, policy or I/O error (message on stderr).  Of run:
 * 0 stopped by a signal or (--once) the report was acknowledged, 1 (--once)
 * it was not, 2 usage or configuration error.  Of enroll: 0 enrolled, 1 the
 * collector refused (or could not be reached or verified), 2 usage,
 * configuration or local file error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentconf.h"
#include "daemon.h"
#include "agentenroll.h"
#include "engine.h"
#include "hostinfo.h"
#include "log.h"
#include "policy.h"
#include "policyset.h"
#include "report.h"

#ifndef POSTURE_VERSION
#define POSTURE_VERSION "0.0.0"
#endif
#ifndef POSTURE_POLICY_DIR
#define POSTURE_POLICY_DIR "/usr/share/posture/policies"
#endif

#define EXIT_FINDINGS 1
#define EXIT_USAGE 2
#define MAX_POLICIES 256

static void usage(FILE *out)
{
	fprintf(out,
		"usage: posture-agent scan [--policy PATH]... [--root DIR]\n"
		"                          [--format table|json|protobuf] [--output FILE]\n"
		"       posture-agent run --config FILE [--once]\n"
		"       posture-agent enroll --collector URL --token TOKEN --config FILE\n"
		"                            (--cacert FILE | --ca-fingerprint SHA256)\n"
		"                            [--agent-id ID] [--dir DIR]\n"
		"       posture-agent probes        (the probe reference, Markdown)\n"
		"       posture-agent --version | --help\n"
		"\n"
		"scan evaluates policies against this host (or the tree at --root) and prints\n"
		"the results.\n"
		"  --policy PATH   a policy file, or a directory of *.json policies; may repeat\n"
		"                  (default: %s)\n"
		"  --root DIR      evaluate the tree at DIR instead of / (a mounted image, a chroot)\n"
		"  --format FMT    table (default, for people), json (the posture.scan/v1 document),\n"
		"                  protobuf (one posture.v1.Envelope holding the Report)\n"
		"  --output FILE   write there instead of standard output\n"
		"  exit status: 0 nothing failed, 1 some check failed or could not be evaluated,\n"
		"  2 usage, policy or I/O error.\n"
		"\n"
		"run is the daemon: it scans every interval_s (after a random splay), spools\n"
		"each report durably, and delivers the spool to the collector over mutual TLS.\n"
		"  --config FILE   agent.json (collector, ca, cert, key, policies, spool_dir, ...)\n"
		"  --once          one scan, delivered and acknowledged, then exit\n"
		"  exit status: 0 stopped by SIGTERM/SIGINT, or --once delivered; 1 --once could\n"
		"  not deliver (the report stays spooled for the next run); 2 usage or\n"
		"  configuration error.\n"
		"\n"
		"enroll makes this agent's key (EC P-256) and has the collector sign it, with an\n"
		"enrollment token (posture-collector token create --role enroll), then writes\n"
		"the key, its certificate, the CA and the config FILE.\n"
		"  --collector URL        the collector's API, https://HOST:PORT\n"
		"  --token TOKEN          the enrollment token (or set POSTURE_ENROLL_TOKEN)\n"
		"  --config FILE          agent.json to write; its other settings are kept\n"
		"  --cacert FILE          verify the collector with this CA certificate, or\n"
		"  --ca-fingerprint HEX   with the SHA-256 of its CA (as init printed it)\n"
		"  --agent-id ID          the id to ask for (default: the collector chooses)\n"
		"  --dir DIR              where agent.key, agent.crt and ca.crt go (default: where\n"
		"                         FILE names them, else FILE's directory)\n"
		"  exit status: 0 enrolled, 1 the collector refused, or could not be reached or\n"
		"  verified, 2 usage, configuration or local file error.\n",
		POSTURE_POLICY_DIR);
}

static bool want_colour(FILE *out)
{
	const char *term = getenv("TERM");

	return isatty(fileno(out)) && getenv("NO_COLOR") == NULL && term != NULL &&
	       strcmp(term, "dumb") != 0;
}

static int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"root", required_argument, NULL, 'r'},
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *policy_paths[MAX_POLICIES], *root = "/", *format = "table", *output = NULL;
	struct policyset pols;
	size_t npaths = 0, i;
	struct rootfs rfs = {-1, NULL};
	struct probe_ctx ctx = {0};
	struct hostinfo host;
	struct scan s;
	struct pst_err e = {0};
	FILE *out = stdout;
	int c, rc, status = EXIT_USAGE;
	bool scanned = false;

	policyset_init(&pols);
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:r:f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (npaths == MAX_POLICIES) {
				fprintf(stderr, "posture-agent: too many --policy options (at most %d)\n",
					MAX_POLICIES);
				return EXIT_USAGE;
			}
			policy_paths[npaths++] = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "posture-agent: scan: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0 &&
	    strcmp(format, "protobuf") != 0) {
		fprintf(stderr, "posture-agent: scan: unknown format \"%s\" (table, json or protobuf)\n",
			format);
		return EXIT_USAGE;
	}
	if (npaths == 0)
		policy_paths[npaths++] = POSTURE_POLICY_DIR;
	for (i = 0; i < npaths; i++) {
		if (policyset_add(&pols, policy_paths[i], &e) != 0) {
			fprintf(stderr, "posture-agent: %s\n", e.msg);
			goto out;
		}
	}
	/* Open the output first: a scan can take seconds, and a typo should not. */
	if (output != NULL) {
		out = fopen(output, strcmp(format, "protobuf") == 0 ? "wb" : "w");
		if (out == NULL) {
			fprintf(stderr, "posture-agent: cannot write %s: %s\n", output, strerror(errno));
			goto out;
		}
	}
	if (rootfs_open(&rfs, root, &e) != 0) {
		fprintf(stderr, "posture-agent: %s\n", e.msg);
		goto out;
	}
	ctx.root = &rfs;
	hostinfo_read(&host, &rfs);
	rc = engine_scan(&s, pols.p, pols.n, &ctx, &host);
	scanned = true;
	if (rc != 0) {
		fprintf(stderr, "posture-agent: scan: %s\n", pst_strerror(rc));
		goto out;
	}
	if (strcmp(format, "json") == 0) {
		json_t *doc = report_json(&s);
		rc = doc ? json_dumpf(doc, out, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : PST_E_NOMEM;
		if (rc == 0)
			fputc('\n', out);
		json_decref(doc);
	} else if (strcmp(format, "protobuf") == 0) {
		uint8_t *buf;
		size_t len;
		char id[40];
		rc = report_new_uuid(id, sizeof(id));
		if (rc == 0)
			rc = report_protobuf(&s, 0, id, &buf, &len);
		if (rc == 0) {
			if (fwrite(buf, 1, len, out) != len)
				rc = PST_E_SYS;
			free(buf);
		}
	} else {
		rc = report_table(&s, out, want_colour(out));
	}
	if (fflush(out) != 0 || ferror(out))
		rc = PST_E_SYS;
	if (out != stdout) {
		FILE *f = out;
		out = stdout;
		if (fclose(f) != 0)
			rc = PST_E_SYS;
	}
	if (rc != 0) {
		fprintf(stderr, "posture-agent: cannot write the %s report to %s: %s\n", format,
			output ? output : "standard output", rc == PST_E_SYS ? strerror(errno) : pst_strerror(rc));
		goto out;
	}
	status = s.counts[CHECK_FAIL] + s.counts[CHECK_ERROR] > 0 ? EXIT_FINDINGS : 0;
out:
	if (out != NULL && out != stdout)
		fclose(out);
	if (scanned)
		engine_scan_cleanup(&s);
	if (rfs.dirfd >= 0)
		rootfs_close(&rfs);
	policyset_cleanup(&pols);
	return status;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"once", no_argument, NULL, '1'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct agent_config conf;
	struct pst_err e = {0};
	const char *path = NULL;
	bool once = false;
	int c, status;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case '1':
			once = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "posture-agent: run: unexpected argument \"%s\"\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (path == NULL) {
		fprintf(stderr, "posture-agent: run: --config FILE is required\n");
		return EXIT_USAGE;
	}
	if (agent_config_load(path, &conf, &e) != 0) {
		fprintf(stderr, "posture-agent: %s\n", e.msg);
		return EXIT_USAGE;
	}
	log_init("posture-agent", (enum log_level)conf.log_level);
	status = daemon_run(&conf, once, POSTURE_VERSION);
	agent_config_cleanup(&conf);
	return status;
}

static int cmd_enroll(int argc, char **argv)
{
	static const struct option opts[] = {
		{"collector", required_argument, NULL, 'C'},
		{"token", required_argument, NULL, 't'},
		{"config", required_argument, NULL, 'c'},
		{"cacert", required_argument, NULL, 'a'},
		{"ca-fingerprint", required_argument, NULL, 'f'},
		{"agent-id", required_argument, NULL, 'i'},
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct agent_enroll_opts o = {
		.default_policy = POSTURE_POLICY_DIR "/linux-baseline.json",
	};
	struct pst_err e = {0};
	bool refused = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': o.collector = optarg; break;
		case 't': o.token = optarg; break;
		case 'c': o.config = optarg; break;
		case 'a': o.cacert = optarg; break;
		case 'f': o.ca_fingerprint = optarg; break;
		case 'i': o.agent_id = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (o.token == NULL)
		o.token = getenv("POSTURE_ENROLL_TOKEN");
	if (optind != argc) {
		fprintf(stderr, "posture-agent: enroll: unexpected argument \"%s\"\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (o.collector == NULL || o.token == NULL || o.config == NULL) {
		fprintf(stderr, "posture-agent: enroll: --collector URL, --token TOKEN and --config "
				"FILE are required\n");
		return EXIT_USAGE;
	}
	if (strchr(o.token, '\r') != NULL || strchr(o.token, '\n') != NULL) {
		fprintf(stderr, "posture-agent: enroll: the token holds a line break\n");
		return EXIT_USAGE;
	}
	if (agent_enroll(&o, &refused, &e) != 0) {
		fprintf(stderr, "posture-agent: enroll: %s\n", e.msg);
		return refused ? EXIT_FINDINGS : EXIT_USAGE;
	}
	printf("enrolled; the agent's settings are in %s\n", o.config);
	return 0;
}

static const char *param_type_name(enum probe_param_type t)
{
	switch (t) {
	case PARAM_STRING: return "string";
	case PARAM_INT: return "integer";
	case PARAM_BOOL: return "boolean";
	case PARAM_STRING_LIST: return "array of strings";
	}
	return "?";
}

/*
 * The probe reference of policies/README.md, written from the probe tables
 * so that the document cannot drift from the code (a test compares them).
 */
static int cmd_probes(void)
{
	const struct probe *const *all;
	size_t n, i;

	all = probe_all(&n);
	for (i = 0; i < n; i++) {
		const struct probe *p = all[i];
		const struct probe_param *pp;

		printf("### `%s`\n\n%s\n\nObserves: %s\n\n", p->name, p->summary, p->value_doc);
		printf("| parameter | type | required | default | meaning |\n");
		printf("|---|---|---|---|---|\n");
		for (pp = p->params; pp->key != NULL; pp++) {
			printf("| `%s` | %s | %s | %s%s%s | %s", pp->key, param_type_name(pp->type),
			       pp->required ? "yes" : "no", pp->def ? "`" : "", pp->def ? pp->def : "",
			       pp->def ? "`" : "", pp->help);
			if (pp->choices != NULL) {
				const char *const *c;
				printf(" One of:");
				for (c = pp->choices; *c != NULL; c++)
					printf(" `%s`%s", *c, c[1] ? "," : ".");
			}
			printf(" |\n");
		}
		printf("\n");
	}
	return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("posture-agent %s\n", POSTURE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "probes") == 0 && argc == 2)
		return cmd_probes();
	if (strcmp(argv[1], "scan") == 0)
		return cmd_scan(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "enroll") == 0)
		return cmd_enroll(argc - 1, argv + 1);
	fprintf(stderr, "posture-agent: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
