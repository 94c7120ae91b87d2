/*
 * alerts.c - the alert delivery thread (alerts.h).
 *
 * One thread owns a store handle and one libcurl easy handle per webhook
 * (reused, so a keep-alive connection is reused too).  It looks for due
 * alerts at start, whenever alerts_wake() is called, and every poll_ms;
 * each due alert is written to the log once, then POSTed to every webhook
 * in turn.  An alert is retried as a whole: a webhook that took it may
 * get it again when another one failed, so receivers deduplicate by the
 * "id" every POSTed event carries (with "collector_id", the pair is unique
 * across collectors).
 *
 * Stopping sets a flag that the transfer's progress callback reads, so a
 * POST in flight is aborted within about a second (and never outlives its
 * timeout); such an attempt is not counted, the alert stays due.
 *
 * libcurl's global state is set up once, here, behind pthread_once: this
 * libcurl reports CURL_VERSION_THREADSAFE (7.84 and later, built with
 * atomics), so curl_global_init may run while other threads (the ingest)
 * already exist; nothing else in the collector uses libcurl.  It is never
 * cleaned up: the collector uses it until it exits.
 */
#include "alerts.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "timefmt.h"

#ifndef POSTURE_VERSION
#define POSTURE_VERSION "0"
#endif

/* Alerts taken from the store at a time. */
#define BATCH 64
/* The JSON of a log line stays below the log's 2048-byte line. */
#define LOG_JSON_MAX 1600
/* A string field in the log line is cut to this many bytes. */
#define LOG_STR_MAX 200
/* The error recorded with a failed delivery. */
#define ERR_MAX 1024

struct webhook {
	CURL *h;
	char origin[320];            /* scheme://host:port, what the log may show */
	char errbuf[CURL_ERROR_SIZE];
};

struct alerts {
	const struct collector_config *cfg;
	struct store *st;
	struct webhook *hooks;
	size_t nhooks;
	struct curl_slist *headers;
	char collector_id[256];
	uint64_t rng;

	pthread_t thread;
	pthread_mutex_t mu;          /* guards woken, stopping and stats */
	pthread_cond_t cond;
	bool woken, stopping;
	atomic_bool abort_transfers; /* read by the progress callback */
	struct alerts_stats stats;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* xorshift64*: jitter only, nothing secret depends on it. */
static uint64_t next_rand(struct alerts *a)
{
	a->rng ^= a->rng >> 12;
	a->rng ^= a->rng << 25;
	a->rng ^= a->rng >> 27;
	return a->rng * 2685821657736338717ULL;
}

/* min(min_backoff * 2^attempts, max_backoff) in ms, without overflow. */
static uint64_t backoff_ms(const struct collector_config *cfg, uint32_t attempts)
{
	uint64_t d = cfg->alert_min_backoff_ms;

	while (attempts-- > 0 && d < cfg->alert_max_backoff_ms)
		d *= 2;
	return d < cfg->alert_max_backoff_ms ? d : cfg->alert_max_backoff_ms;
}

static bool stopping(struct alerts *a)
{
	return atomic_load(&a->abort_transfers);
}

static void count(struct alerts *a, uint64_t *field)
{
	pthread_mutex_lock(&a->mu);
	(*field)++;
	pthread_mutex_unlock(&a->mu);
}

/* --- the log line ----------------------------------------------------------- */

/* s cut to at most max bytes on a UTF-8 character boundary, with "..." added. */
static json_t *cut_string(const char *s, size_t len, size_t max)
{
	char buf[LOG_STR_MAX + 4];

	if (len <= max)
		return json_stringn(s, len);
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	memcpy(buf, s, max);
	memcpy(buf + max, "...", 3);
	return json_stringn(buf, max + 3);
}

/*
 * {"alert": KIND, "id": N, ...} with the event's top-level scalar fields
 * (strings cut to LOG_STR_MAX), the last ones dropped while the line is
 * over LOG_JSON_MAX.  Evidence and other nested values stay out of the
 * log: they are in the store and in the POSTed event, and the log is
 * read by more people than the API.  NULL when out of memory.
 */
static char *log_line(const struct store_alert *al, const json_t *ev)
{
	const char *keys[64];
	size_t nkeys = 0;
	const char *k;
	json_t *o, *v, *c;
	char *out = NULL;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "alert", json_string(al->kind)) != 0 ||
	    json_object_set_new(o, "id", json_integer(al->id)) != 0)
		goto out;
	json_object_foreach((json_t *)ev, k, v) {
		if (strcmp(k, "alert") == 0 || strcmp(k, "id") == 0 ||
		    strcmp(k, "kind") == 0 || nkeys == sizeof(keys) / sizeof(keys[0]))
			continue;
		if (json_is_string(v))
			c = cut_string(json_string_value(v), json_string_length(v), LOG_STR_MAX);
		else if (json_is_number(v) || json_is_boolean(v) || json_is_null(v))
			c = json_copy(v);
		else
			continue;
		if (c == NULL || json_object_set_new(o, k, c) != 0)
			goto out;
		keys[nkeys++] = k;
	}
	for (;;) {
		out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (out == NULL || strlen(out) <= LOG_JSON_MAX || nkeys == 0)
			break;
		free(out);
		out = NULL;
		json_object_del(o, keys[--nkeys]);
	}
out:
	json_decref(o);
	return out;
}

/* --- posting ------------------------------------------------------------------ */

static size_t discard(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stopping(arg) ? 1 : 0;
}

/*
 * POST body to w: 0 on a 2xx; 1 when stopping aborted it; otherwise -1
 * with why in err (curl's error text, or "HTTP 500").
 */
static int post(struct alerts *a, struct webhook *w, const char *body, char *err, size_t errlen)
{
	CURLcode cc;
	long status = 0;

	(void)a;
	w->errbuf[0] = '\0';
	curl_easy_setopt(w->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	cc = curl_easy_perform(w->h);
	if (cc == CURLE_ABORTED_BY_CALLBACK && stopping(a))
		return 1;
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s", w->errbuf[0] != '\0' ? w->errbuf : curl_easy_strerror(cc));
		return -1;
	}
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(err, errlen, "HTTP %ld", status);
		return -1;
	}
	return 0;
}

/* The event as POSTed: the stored body plus "id", "collector_id" (and "kind"). */
static char *event_body(struct alerts *a, const struct store_alert *al, json_t **ev)
{
	json_t *o;
	char *s;

	*ev = NULL;
	o = json_loads(al->body != NULL ? al->body : "", JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	if ((json_object_get(o, "kind") == NULL &&
	     json_object_set_new(o, "kind", json_string(al->kind)) != 0) ||
	    json_object_set_new(o, "id", json_integer(al->id)) != 0 ||
	    json_object_set_new(o, "collector_id", json_string(a->collector_id)) != 0 ||
	    (s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(o);
		return NULL;
	}
	*ev = o;
	return s;
}

/* Record a failed attempt: retry later, or give up after max_attempts. */
static void failed(struct alerts *a, const struct store_alert *al, const char *why)
{
	const struct collector_config *cfg = a->cfg;
	uint32_t attempt = al->attempts + 1;
	struct pst_err err = {0};
	uint64_t delay = 0;
	int64_t next = 0;

	if (attempt < cfg->alert_max_attempts) {
		delay = backoff_ms(cfg, al->attempts);
		delay += next_rand(a) % (delay / 10 + 1);
		next = timefmt_now_us() + (int64_t)delay * 1000;
	}
	if (store_alert_failed(a->st, al->id, next, why, &err) < 0) {
		log_warn("alerts: alert %lld (%s): recording a failed delivery failed; it is "
			 "tried again at the next poll: %s", (long long)al->id, al->kind, err.msg);
		return;
	}
	count(a, &a->stats.failed_attempts);
	if (next == 0) {
		count(a, &a->stats.given_up);
		log_error("alerts: giving up alert %lld (%s) after %u failed deliveries; it "
			  "stays in the store's alert log: %s", (long long)al->id, al->kind,
			  attempt, why);
	} else {
		log_info("alerts: alert %lld (%s): attempt %u of %u failed; next in %llu ms",
			 (long long)al->id, al->kind, attempt, cfg->alert_max_attempts,
			 (unsigned long long)delay);
	}
}

/* Log al once, then deliver it to every webhook; 1 when stopping cut it short. */
static int deliver(struct alerts *a, const struct store_alert *al, int64_t now)
{
	char why[ERR_MAX], one[CURL_ERROR_SIZE + 16];
	struct pst_err err = {0};
	json_t *ev = NULL;
	char *body, *line;
	size_t i, len = 0;
	int rc = 0, r;

	body = event_body(a, al, &ev);
	if (body == NULL) {
		log_error("alerts: alert %lld (%s): the stored event is not a JSON object (or "
			  "out of memory); giving it up", (long long)al->id, al->kind);
		if (store_alert_failed(a->st, al->id, 0, "stored event is not a JSON object",
				       &err) == 0)
			count(a, &a->stats.given_up);
		return 0;
	}
	if (!al->logged) {
		if ((line = log_line(al, ev)) == NULL)
			log_info("{\"alert\":\"%s\",\"id\":%lld}", al->kind, (long long)al->id);
		else
			log_info("%s", line);
		free(line);
		count(a, &a->stats.logged);
		/* On failure it is logged again next time, which is the lesser harm. */
		if (store_alert_logged(a->st, al->id, &err) < 0)
			log_warn("alerts: alert %lld: marking it logged failed: %s",
				 (long long)al->id, err.msg);
	}
	/* Due only because it was not logged yet. */
	if (a->nhooks > 0 && al->next_attempt_us > now)
		goto out;

	why[0] = '\0';
	for (i = 0; i < a->nhooks; i++) {
		r = post(a, &a->hooks[i], body, one, sizeof(one));
		if (r == 1) {
			rc = 1;
			goto out;
		}
		if (r == 0)
			continue;
		log_warn("alerts: webhook %s: alert %lld (%s) not delivered: %s",
			 a->hooks[i].origin, (long long)al->id, al->kind, one);
		if (len < sizeof(why) - 1) {
			int n = snprintf(why + len, sizeof(why) - len, "%s%s: %s",
					 len > 0 ? "; " : "", a->hooks[i].origin, one);
			len = n < 0 ? len : len + (size_t)n;
			if (len >= sizeof(why))
				len = sizeof(why) - 1;
		}
	}
	if (len > 0) {
		failed(a, al, why);
	} else if (store_alert_delivered(a->st, al->id, timefmt_now_us(), &err) < 0) {
		/*
		 * Sent again later (receivers deduplicate by id), after a backoff
		 * rather than at every poll, so a failing store does not flood
		 * the webhooks.
		 */
		uint64_t delay = backoff_ms(a->cfg, al->attempts);

		log_warn("alerts: alert %lld: delivered, but recording that failed; it will be "
			 "sent again in %llu ms: %s", (long long)al->id,
			 (unsigned long long)delay, err.msg);
		err = (struct pst_err){0};
		if (store_alert_failed(a->st, al->id, timefmt_now_us() + (int64_t)delay * 1000,
				       "delivered, but recording it failed", &err) < 0)
			log_warn("alerts: alert %lld: %s", (long long)al->id, err.msg);
	} else {
		count(a, &a->stats.delivered);
		log_debug("alerts: alert %lld (%s) delivered to %zu webhooks", (long long)al->id,
			  al->kind, a->nhooks);
	}
out:
	json_decref(ev);
	free(body);
	return rc;
}

/* Deliver what is due, batch after batch, while batches come full and move. */
static void run_due(struct alerts *a)
{
	struct store_alert *al;
	struct pst_err err;
	size_t n, i;
	int64_t now;
	bool full;

	do {
		err = (struct pst_err){0};
		al = NULL;
		n = 0;
		now = timefmt_now_us();
		if (store_alerts_due(a->st, now, BATCH, &al, &n, &err) < 0) {
			log_warn("alerts: reading due alerts failed; trying again in %u ms: %s",
				 a->cfg->alert_poll_ms, err.msg);
			return;
		}
		full = n == BATCH;
		for (i = 0; i < n; i++) {
			if (stopping(a) || deliver(a, &al[i], now) == 1) {
				full = false;
				break;
			}
		}
		for (i = 0; i < n; i++)
			store_alert_cleanup(&al[i]);
		free(al);
	} while (full && !stopping(a));
}

static void *thread_main(void *arg)
{
	struct alerts *a = arg;
	struct timespec deadline;
	uint64_t ns;

	for (;;) {
		run_due(a);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		ns = (uint64_t)deadline.tv_nsec + (uint64_t)a->cfg->alert_poll_ms * 1000000u;
		deadline.tv_sec += (time_t)(ns / 1000000000u);
		deadline.tv_nsec = (long)(ns % 1000000000u);
		pthread_mutex_lock(&a->mu);
		while (!a->woken && !a->stopping &&
		       pthread_cond_timedwait(&a->cond, &a->mu, &deadline) != ETIMEDOUT)
			;
		a->woken = false;
		if (a->stopping) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		pthread_mutex_unlock(&a->mu);
	}
	return NULL;
}

/* --- start and stop ------------------------------------------------------------ */

/* "scheme://host:port" of url into out, nothing else of it. */
static int origin_of(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;

	if (u == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
		int n = snprintf(out, len, "%s://%s:%s", scheme, host, port);

		rc = n > 0 && (size_t)n < len ? 0 : -1;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static int webhook_init(struct alerts *a, const struct collector_webhook *cw, size_t i,
			struct webhook *w, struct pst_err *e)
{
	CURL *h;
	CURLcode cc = CURLE_OK;

	if (origin_of(cw->url, w->origin, sizeof(w->origin)) != 0)
		/* The URL itself stays out of the message: it may hold a secret. */
		return pst_err_set(e, PST_E_INVAL,
				   "alerts: webhooks[%zu]: the url is not an http:// or https:// "
				   "URL libcurl accepts; check it in %s", i,
				   a->cfg->path != NULL ? a->cfg->path : "the configuration");
	if ((w->h = h = curl_easy_init()) == NULL)
		return pst_err_set(e, PST_E_NOMEM, "alerts: webhook %s: cannot make a libcurl "
				   "handle", w->origin);
#define SET(opt, val) \
	do { if (cc == CURLE_OK) cc = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_URL, cw->url);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_HTTPHEADER, a->headers);
	SET(CURLOPT_USERAGENT, "posture-collector/" POSTURE_VERSION);
	SET(CURLOPT_TIMEOUT_MS, (long)cw->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)cw->timeout_ms);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (cw->ca != NULL)
		SET(CURLOPT_CAINFO, cw->ca);
	SET(CURLOPT_ERRORBUFFER, w->errbuf);
	SET(CURLOPT_WRITEFUNCTION, discard);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, a);
#undef SET
	if (cc != CURLE_OK)
		return pst_err_set(e, PST_E_INVAL, "alerts: webhook %s: libcurl refused an "
				   "option: %s (libcurl 7.85 or later is needed)", w->origin,
				   curl_easy_strerror(cc));
	return 0;
}

static void alerts_free(struct alerts *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nhooks; i++)
		curl_easy_cleanup(a->hooks[i].h);
	free(a->hooks);
	curl_slist_free_all(a->headers);
	store_close(a->st);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

int alerts_start(const struct collector_config *cfg, struct alerts **out, struct pst_err *e)
{
	struct alerts *a;
	pthread_condattr_t ca;
	struct curl_slist *l;
	size_t i;
	int rc;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return pst_err_set(e, PST_E_SYS, "alerts: libcurl would not initialise: %s",
				   curl_easy_strerror(curl_init_rc));
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return pst_err_set(e, PST_E_NOMEM, "alerts: out of memory");
	a->cfg = cfg;
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&a->abort_transfers, false);
	a->rng = (uint64_t)timefmt_now_us() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)a;
	if (a->rng == 0)
		a->rng = 1;
	if (cfg->collector_id != NULL)
		snprintf(a->collector_id, sizeof(a->collector_id), "%s", cfg->collector_id);
	else if (gethostname(a->collector_id, sizeof(a->collector_id) - 1) != 0)
		snprintf(a->collector_id, sizeof(a->collector_id), "posture-collector");

	/* "Expect:" keeps libcurl from waiting for a 100-continue on large events. */
	if ((l = curl_slist_append(NULL, "Content-Type: application/json")) == NULL ||
	    (a->headers = curl_slist_append(l, "Expect:")) == NULL) {
		curl_slist_free_all(l);
		rc = pst_err_set(e, PST_E_NOMEM, "alerts: out of memory");
		goto out;
	}
	if (cfg->nwebhooks > 0 && (a->hooks = calloc(cfg->nwebhooks, sizeof(*a->hooks))) == NULL) {
		rc = pst_err_set(e, PST_E_NOMEM, "alerts: out of memory");
		goto out;
	}
	for (i = 0; i < cfg->nwebhooks; i++) {
		a->nhooks = i + 1;
		if ((rc = webhook_init(a, &cfg->webhooks[i], i, &a->hooks[i], e)) != 0)
			goto out;
	}
	if ((rc = store_open(cfg->store, &a->st, e)) != 0) {
		pst_err_prefix(e, "alerts");
		goto out;
	}
	if ((rc = pthread_create(&a->thread, NULL, thread_main, a)) != 0) {
		rc = pst_err_set(e, PST_E_SYS, "alerts: cannot start the delivery thread: %s",
				 strerror(rc));
		goto out;
	}
	if (a->nhooks == 0)
		log_info("alerts: no webhook configured; alerts are written to the log only");
	for (i = 0; i < a->nhooks; i++)
		log_info("alerts: delivering to webhook %s", a->hooks[i].origin);
	*out = a;
	return 0;
out:
	alerts_free(a);
	return rc;
}

void alerts_wake(struct alerts *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->woken = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

void alerts_stop(struct alerts *a)
{
	uint64_t pending = 0;
	struct pst_err err = {0};

	if (a == NULL)
		return;
	atomic_store(&a->abort_transfers, true);
	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	if (store_alerts_pending(a->st, &pending, &err) == 0)
		log_info("alerts: stopped: %llu logged, %llu delivered, %llu failed attempts, "
			 "%llu given up; %llu waiting for the next start",
			 (unsigned long long)a->stats.logged, (unsigned long long)a->stats.delivered,
			 (unsigned long long)a->stats.failed_attempts,
			 (unsigned long long)a->stats.given_up, (unsigned long long)pending);
	alerts_free(a);
}

void alerts_get_stats(struct alerts *a, struct alerts_stats *st)
{
	if (a == NULL) {
		memset(st, 0, sizeof(*st));
		return;
	}
	pthread_mutex_lock(&a->mu);
	*st = a->stats;
	pthread_mutex_unlock(&a->mu);
}
