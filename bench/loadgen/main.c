/*
 * main.c - posture-loadgen: options, the scenarios and the figures.
 *
 *   steady  N agents connect (at --connect-rate), then each reports every
 *           --interval seconds for --duration seconds (the measured window)
 *   storm   N agents connect at once, as after a collector restart, each
 *           with one full report: time until every report is acknowledged
 *   drip    steady for --duration, then --duration more while malicious
 *           clients arrive at --evil-rate a second: both windows reported
 *
 * Certificates: one EC P-256 key shared by all simulated agents and N
 * certificates (CN bench-00000 ...) signed at start by the collector's CA
 * (collector/pki.h).  The collector identifies an agent by its
 * certificate's CN alone, and the handshake costs the same whichever key
 * signs the CertificateVerify, so one key saves N key generations and N
 * private keys in memory without changing what the collector does.
 */
#include <getopt.h>
#include <inttypes.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "loadgen.h"
#include "pki.h"
#include "tls.h"

enum { PH_RAMP, PH_MAIN, PH_DRIP, PH_COUNT };

static struct lg G;
static struct lg_stats ph[PH_COUNT];
static int phase;
static uv_timer_t ctl_timer, ramp_timer, evil_timer;
static size_t ramp_started;
static double ramp_t0, evil_acc;
static unsigned ticks;
static bool ended;

double lg_now(const struct lg *lg)
{
	(void)lg;
	return (double)uv_hrtime() * 1e-9;
}

static double rnd01(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = 0;
	return (double)r / 4294967296.0;
}

static bool is(const char *s)
{
	return strcmp(G.o.scenario, s) == 0;
}

void lg_agent_on_ready(struct lg_agent *a)
{
	if (is("storm")) {
		if (!a->done)
			lg_agent_send_report(a);
		return;
	}
	/* steady, drip: the first report at a random point of the interval */
	lg_agent_schedule(a, rnd01() * G.o.interval_s);
}

static void end_run(void)
{
	size_t i;

	if (ended)
		return;
	ended = true;
	G.cur->t_end = lg_now(&G);
	G.stopping = true;
	uv_timer_stop(&ctl_timer);
	uv_timer_stop(&ramp_timer);
	uv_timer_stop(&evil_timer);
	for (i = 0; i < G.nagents; i++)
		uv_timer_stop(&G.agents[i].timer);
	uv_stop(G.loop);
}

void lg_agent_on_acked(struct lg_agent *a)
{
	if (is("storm") && !a->done) {
		a->done = true;
		if (++G.storm_done == G.nagents)
			end_run();
	}
}

static void next_phase(int p)
{
	double now = lg_now(&G);

	G.cur->t_end = now;
	phase = p;
	G.cur = &ph[p];
	G.cur->t_start = now;
}

static void on_evil(uv_timer_t *t)
{
	(void)t;
	evil_acc += G.o.evil_rate * 0.05;
	while (evil_acc >= 1.0) {
		evil_acc -= 1.0;
		lg_evil_start(&G);
	}
}

static void on_ramp(uv_timer_t *t)
{
	double due = (lg_now(&G) - ramp_t0) * G.o.connect_rate + 1;

	while (ramp_started < G.nagents && (double)ramp_started < due)
		lg_agent_start(&G.agents[ramp_started++]);
	if (ramp_started == G.nagents)
		uv_timer_stop(t);
}

static void on_ctl(uv_timer_t *t)
{
	double now = lg_now(&G);
	size_t i;

	(void)t;
	ticks++;
	if (ticks % 10 == 0) {
		/* once a second: heartbeats and unacknowledged reports */
		for (i = 0; i < G.nagents; i++) {
			struct lg_agent *a = &G.agents[i];
			if (a->state != LG_READY)
				continue;
			if (a->pending_seq != 0 && now - a->pending_at > G.o.timeout_s &&
			    a->pending_at > 0) {
				lg_stats_err(&G, LG_E_ACK_TIMEOUT);
				a->pending_at = now + 1e9; /* count each report once */
			}
			if (G.hb_interval_s > 0 && now - a->last_send >= G.hb_interval_s)
				lg_agent_send_heartbeat(a);
		}
	}
	if (is("storm")) {
		if (now - G.cur->t_start > G.o.timeout_s)
			end_run();
		return;
	}
	if (phase == PH_RAMP) {
		if (G.ready == G.nagents ||
		    now - G.cur->t_start > (double)G.nagents / G.o.connect_rate + G.o.timeout_s)
			next_phase(PH_MAIN);
		return;
	}
	if (now - G.cur->t_start < G.o.duration_s)
		return;
	if (phase == PH_MAIN && is("drip")) {
		next_phase(PH_DRIP);
		uv_timer_start(&evil_timer, on_evil, 0, 50);
		return;
	}
	end_run();
}

static void print_phase_text(struct lg_stats *s)
{
	double d = s->t_end - s->t_start;
	double hs_span = s->hs_last - s->hs_first;
	int k;

	if (d <= 0)
		d = 1e-9;
	printf("  %-22s %10.2f s\n", "window", d);
	printf("  %-22s %10" PRIu64 "  (%.0f/s over the handshake span %.2f s)\n",
	       "TLS handshakes", s->handshakes, hs_span > 0 ? (double)s->handshakes / hs_span : 0.0,
	       hs_span);
	printf("  %-22s %10.1f ms p50, %.1f ms p99 (connect to handshake done)\n",
	       "handshake latency", lg_lat_pct(&s->hs_lat, 50) / 1e3, lg_lat_pct(&s->hs_lat, 99) / 1e3);
	printf("  %-22s %10" PRIu64 " sent, %" PRIu64 " acked, %" PRIu64 " skipped (previous unacked)\n",
	       "reports", s->reports_sent, s->reports_acked, s->skipped);
	printf("  %-22s %10.1f /s\n", "reports acked", (double)s->reports_acked / d);
	printf("  %-22s %10.0f /s\n", "check results acked", (double)s->results_acked / d);
	printf("  %-22s %10.1f MB/s\n", "report bytes sent", (double)s->bytes_sent / d / 1e6);
	printf("  %-22s %10.1f ms p50, %.1f ms p99, %.1f ms max (%zu samples)\n", "ack latency",
	       lg_lat_pct(&s->lat, 50) / 1e3, lg_lat_pct(&s->lat, 99) / 1e3,
	       lg_lat_pct(&s->lat, 100) / 1e3, s->lat.n);
	printf("  %-22s %10" PRIu64 "\n", "heartbeats", s->heartbeats);
	printf("  %-22s", "errors");
	for (k = 0; k < LG_E_COUNT; k++)
		if (s->err[k])
			printf(" %s=%" PRIu64, lg_err_name((enum lg_err)k), s->err[k]);
	for (k = 0; k < 8; k++)
		if (s->err_code[k])
			printf(" error_code_%d=%" PRIu64, k, s->err_code[k]);
	printf("\n");
}

static void print_phase_json(struct lg_stats *s, bool comma)
{
	double d = s->t_end - s->t_start, hs_span = s->hs_last - s->hs_first;
	int k;

	if (d <= 0)
		d = 1e-9;
	printf("    {\"phase\": \"%s\", \"seconds\": %.3f, \"handshakes\": %" PRIu64
	       ", \"handshakes_per_s\": %.1f, \"handshake_p50_ms\": %.2f, \"handshake_p99_ms\": %.2f"
	       ", \"reports_sent\": %" PRIu64 ", \"reports_acked\": %" PRIu64
	       ", \"skipped\": %" PRIu64 ", \"reports_per_s\": %.1f, \"results_per_s\": %.1f"
	       ", \"bytes_per_s\": %.0f, \"ack_p50_ms\": %.2f, \"ack_p99_ms\": %.2f, \"ack_max_ms\": %.2f"
	       ", \"heartbeats\": %" PRIu64 ", \"errors\": {",
	       s->name, d, s->handshakes, hs_span > 0 ? (double)s->handshakes / hs_span : 0.0,
	       lg_lat_pct(&s->hs_lat, 50) / 1e3, lg_lat_pct(&s->hs_lat, 99) / 1e3, s->reports_sent,
	       s->reports_acked, s->skipped, (double)s->reports_acked / d,
	       (double)s->results_acked / d, (double)s->bytes_sent / d,
	       lg_lat_pct(&s->lat, 50) / 1e3, lg_lat_pct(&s->lat, 99) / 1e3,
	       lg_lat_pct(&s->lat, 100) / 1e3, s->heartbeats);
	for (k = 0; k < LG_E_COUNT; k++)
		printf("%s\"%s\": %" PRIu64, k ? ", " : "", lg_err_name((enum lg_err)k), s->err[k]);
	printf("}, \"error_codes\": [");
	for (k = 0; k < 8; k++)
		printf("%s%" PRIu64, k ? ", " : "", s->err_code[k]);
	printf("]}%s\n", comma ? "," : "");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: posture-loadgen --config COLLECTOR_JSON [--scenario steady|storm|drip]\n"
		"       [--agents N] [--interval S] [--duration S] [--checks N]\n"
		"       [--connect-rate PER_S] [--evil-rate PER_S] [--evil-hold S] [--timeout S]\n"
		"       [--sources K] [--host 127.0.0.1] [--port P] [--json]\n"
		"Simulates N agents against a running collector (127.0.0.x only) and prints\n"
		"handshakes/s, reports and check results acked/s, ack latency and errors.\n");
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{"config", 1, 0, 'c'}, {"scenario", 1, 0, 's'}, {"agents", 1, 0, 'n'},
		{"interval", 1, 0, 'i'}, {"duration", 1, 0, 'd'}, {"checks", 1, 0, 'k'},
		{"connect-rate", 1, 0, 'r'}, {"evil-rate", 1, 0, 'e'}, {"evil-hold", 1, 0, 'E'},
		{"timeout", 1, 0, 't'}, {"sources", 1, 0, 'S'}, {"host", 1, 0, 'H'},
		{"port", 1, 0, 'p'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
	};
	int ch;

	G.o.scenario = "steady";
	G.o.agents = 1000;
	G.o.interval_s = 1;
	G.o.duration_s = 30;
	G.o.checks = 100;
	G.o.connect_rate = 1000;
	G.o.evil_rate = 20;
	G.o.evil_hold_s = 30;
	G.o.timeout_s = 60;
	G.o.sources = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': G.o.config = optarg; break;
		case 's': G.o.scenario = optarg; break;
		case 'n': G.o.agents = strtoul(optarg, NULL, 10); break;
		case 'i': G.o.interval_s = strtod(optarg, NULL); break;
		case 'd': G.o.duration_s = strtod(optarg, NULL); break;
		case 'k': G.o.checks = strtoul(optarg, NULL, 10); break;
		case 'r': G.o.connect_rate = strtod(optarg, NULL); break;
		case 'e': G.o.evil_rate = strtod(optarg, NULL); break;
		case 'E': G.o.evil_hold_s = strtod(optarg, NULL); break;
		case 't': G.o.timeout_s = strtod(optarg, NULL); break;
		case 'S': G.o.sources = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'H': G.o.host = optarg; break;
		case 'p': G.o.port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'j': G.o.json = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (G.o.config == NULL || G.o.agents == 0 || G.o.interval_s <= 0 || G.o.duration_s <= 0 ||
	    G.o.connect_rate <= 0 || G.o.sources == 0 || G.o.sources > 250 ||
	    !(is("steady") || is("storm") || is("drip"))) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct collector_config cfg;
	struct pst_err e = {0};
	struct rlimit rl;
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	double t0;
	size_t i;
	int p;

	if (parse(argc, argv) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < G.o.agents + 256)
		fprintf(stderr, "posture-loadgen: warning: the fd limit %llu is below %zu agents\n",
			(unsigned long long)rl.rlim_cur, G.o.agents);
	if (collector_config_load(G.o.config, &cfg, &e) != 0 ||
	    pki_load_ca(&cfg, &ca, &ca_key, &e) != 0) {
		fprintf(stderr, "posture-loadgen: %s\n", e.msg);
		return 2;
	}
	if (G.o.host == NULL)
		G.o.host = strcmp(cfg.agent_host, "0.0.0.0") == 0 ? "127.0.0.1" : strdup(cfg.agent_host);
	if (G.o.port == 0)
		G.o.port = cfg.agent_port;
	if (strncmp(G.o.host, "127.", 4) != 0) {
		fprintf(stderr, "posture-loadgen: only 127.0.0.0/8 is a target, not %s\n", G.o.host);
		return 2;
	}
	uv_ip4_addr(G.o.host, G.o.port, &G.dst);
	if (tls_ctx_new_client(cfg.ca_cert, NULL, NULL, &G.ctx, &e) != 0) {
		fprintf(stderr, "posture-loadgen: %s\n", e.msg);
		return 2;
	}
	if ((G.key = EVP_EC_gen("P-256")) == NULL) {
		fprintf(stderr, "posture-loadgen: cannot make an EC P-256 key\n");
		return 2;
	}
	G.loop = uv_default_loop();
	G.nagents = G.o.agents;
	G.nevil_tls = is("drip") ? (size_t)(G.o.evil_rate * G.o.evil_hold_s) + 16 : 0;
	G.agents = calloc(G.nagents, sizeof(*G.agents));
	G.evil_tls = calloc(G.nevil_tls + 1, sizeof(*G.evil_tls));
	G.nevil_certs = 16;
	G.evil_certs = calloc(G.nevil_certs, sizeof(*G.evil_certs));
	if (G.agents == NULL || G.evil_tls == NULL || G.evil_certs == NULL)
		return 2;
	t0 = lg_now(&G);
	for (i = 0; i < G.nagents + G.nevil_certs; i++) {
		char id[32];
		X509 **out = i < G.nagents ? &G.agents[i].cert : &G.evil_certs[i - G.nagents];
		if (i < G.nagents)
			snprintf(id, sizeof(id), "bench-%05zu", i);
		else
			snprintf(id, sizeof(id), "bench-evil-%02zu", i - G.nagents);
		if (pki_agent_cert(G.key, id, ca, ca_key, out, &e) != 0) {
			fprintf(stderr, "posture-loadgen: %s\n", e.msg);
			return 2;
		}
	}
	G.cert_issue_s = lg_now(&G) - t0;
	for (i = 0; i < G.nagents; i++) {
		G.agents[i].lg = &G;
		G.agents[i].idx = i;
		G.agents[i].role = LG_ROLE_AGENT;
		G.agents[i].reconnect = true;
	}
	for (i = 0; i < G.nevil_tls; i++) {
		G.evil_tls[i].lg = &G;
		G.evil_tls[i].idx = G.nagents + i;
		G.evil_tls[i].cert = G.evil_certs[i % G.nevil_certs];
	}
	if (lg_payload_init(&G.pl, G.o.checks) != 0 || (is("drip") && lg_evil_prepare(&G) != 0))
		return 2;

	ph[PH_RAMP].name = is("storm") ? "storm" : "ramp";
	ph[PH_MAIN].name = is("drip") ? "steady_without_drip" : "steady";
	ph[PH_DRIP].name = "steady_with_drip";
	G.cur = &ph[PH_RAMP];
	uv_timer_init(G.loop, &ctl_timer);
	uv_timer_init(G.loop, &ramp_timer);
	uv_timer_init(G.loop, &evil_timer);
	fprintf(stderr, "posture-loadgen: %s, %zu agents -> %s:%u, %zu checks (%zu bytes) per report; "
		"%zu certificates issued in %.2f s\n", G.o.scenario, G.nagents, G.o.host, G.o.port,
		G.o.checks, G.pl.rest_len + 45, G.nagents + G.nevil_certs, G.cert_issue_s);
	G.cur->t_start = lg_now(&G);
	if (is("storm")) {
		for (i = 0; i < G.nagents; i++)
			lg_agent_start(&G.agents[i]);
	} else {
		ramp_t0 = lg_now(&G);
		uv_timer_start(&ramp_timer, on_ramp, 0, 10);
	}
	uv_timer_start(&ctl_timer, on_ctl, 100, 100);
	uv_run(G.loop, UV_RUN_DEFAULT);

	G.stopping = true;

	if (G.o.json) {
		int nph = is("storm") ? 1 : is("drip") ? 3 : 2;
		printf("{\n  \"scenario\": \"%s\", \"agents\": %zu, \"checks\": %zu, \"report_bytes\": %zu,"
		       " \"interval_s\": %.3f, \"connections_held_max\": %zu, \"connections_held_end\": %zu,"
		       " \"ready_end\": %zu, \"cert_issue_s\": %.3f,\n",
		       G.o.scenario, G.nagents, G.o.checks, G.pl.rest_len + 45, G.o.interval_s,
		       G.held_max, G.held, G.ready, G.cert_issue_s);
		if (is("storm"))
			printf("  \"storm_acked\": %zu, \"storm_seconds\": %.3f,\n", G.storm_done,
			       ph[PH_RAMP].t_end - ph[PH_RAMP].t_start);
		if (is("drip")) {
			printf("  \"malicious\": {");
			for (p = 0; p < 5; p++)
				printf("%s\"%s\": {\"started\": %" PRIu64 ", \"closed_by_collector\": %" PRIu64
				       ", \"gave_up\": %" PRIu64 ", \"refused\": %" PRIu64 "}",
				       p ? ", " : "", lg_evil_kind_name[p], G.evil_started[p],
				       G.evil_server_closed[p], G.evil_gave_up[p], G.evil_refused[p]);
			printf("},\n");
		}
		printf("  \"phases\": [\n");
		for (p = 0; p < nph; p++)
			print_phase_json(&ph[p], p + 1 < nph);
		printf("  ]\n}\n");
	} else {
		int nph = is("storm") ? 1 : is("drip") ? 3 : 2;
		printf("posture-loadgen %s: %zu agents, %zu checks/report (%zu bytes), interval %.1f s\n",
		       G.o.scenario, G.nagents, G.o.checks, G.pl.rest_len + 45, G.o.interval_s);
		printf("  connections held: max %zu, at end %zu (%zu past HelloAck)\n", G.held_max,
		       G.held, G.ready);
		if (is("storm"))
			printf("  storm: %zu of %zu reports acknowledged in %.2f s\n", G.storm_done,
			       G.nagents, ph[PH_RAMP].t_end - ph[PH_RAMP].t_start);
		for (p = 0; p < nph; p++) {
			printf(" phase %s\n", ph[p].name);
			print_phase_text(&ph[p]);
		}
		if (is("drip")) {
			printf(" malicious clients (collector closed / gave up after %.0f s / refused):\n",
			       G.o.evil_hold_s);
			for (p = 0; p < 5; p++)
				printf("  %-16s started %4" PRIu64 ": %4" PRIu64 " / %4" PRIu64 " / %4" PRIu64 "\n",
				       lg_evil_kind_name[p], G.evil_started[p], G.evil_server_closed[p],
				       G.evil_gave_up[p], G.evil_refused[p]);
		}
	}
	fflush(stdout);
	/* a measuring tool that ends here: the kernel closes the sockets */
	collector_config_cleanup(&cfg);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return 0;
}
