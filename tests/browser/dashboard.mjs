// dashboard.mjs - drives the collector's dashboard in Debian's chromium
// (run by tests/e2e/test_dashboard.sh, which starts the collector and
// writes what the API says to $DASH_EXPECTED).  Prints "ok NAME" or
// "FAIL NAME: why" per check; the shell counts them.  Exits non-zero only
// when the run itself breaks.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => {
  if (!process.env[k]) throw new Error(`dashboard.mjs: set ${k}`);
  return process.env[k];
};
const base = env('DASH_URL');
const isoToken = env('DASH_ISO');
const auditorToken = env('DASH_AUDITOR');
const E = JSON.parse(fs.readFileSync(env('DASH_EXPECTED'), 'utf8'));
const out = env('DASH_ARTIFACTS');
const evidenceServed = process.env.DASH_EVIDENCE === 'yes';

let failed = 0;
const ok = (name) => console.log(`ok   ${name}`);
const bad = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };
const check = (name, cond, why = '') => (cond ? ok(name) : bad(name, why || 'not so'));
const same = (name, got, want) => check(`${name} (${JSON.stringify(want)})`,
  JSON.stringify(got) === JSON.stringify(want), `page shows ${JSON.stringify(got)}, the API says ${JSON.stringify(want)}`);
// How the page writes a score: one decimal and a percent sign; none: a dash.
const score = (s) => (s === null || s === undefined ? '—' : `${Number(s).toFixed(1)}%`);

const browser = await chromium.launch({
  executablePath: process.env.DASH_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
// A new context is a fresh profile; the CA is trusted through $HOME/.pki/nssdb (see the shell).
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(20000);

// Console errors and CSP violations fail the run, except the HTTP errors a
// step provokes on purpose (a wrong token: 401; an iso token taking evidence: 403).
const problems = [];
let expectStatus = null;
page.on('console', (m) => {
  if (m.type() !== 'error' && !/Content.Security.Policy/i.test(m.text())) return;
  if (expectStatus && new RegExp(`status of ${expectStatus}\\b`).test(m.text())) return;
  problems.push(`console ${m.type()}: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
const urls = [];
page.on('request', (r) => urls.push(r.url()));
await context.addInitScript(() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
});

const shot = (name) => page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
const ready = (hash) => page.waitForFunction((h) => document.body.dataset.ready === h, hash);
const texts = (sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));
const text = (sel) => page.textContent(sel).then((t) => (t || '').trim());
const nav = async (view) => {
  await page.click(`nav a[data-view="${view}"]`);
  await ready(`#/${view}`);
};

try {
  // --- sign-in -------------------------------------------------------------
  const first = await page.goto(`${base}/`);
  check('GET / lands on the dashboard over verified TLS', first.ok() && page.url() === `${base}/ui/`, page.url());
  const csp = (await first.allHeaders())['content-security-policy'] || '';
  check('the page is served with its Content-Security-Policy', csp.includes("script-src 'self'") && csp.includes("default-src 'none'"), csp);
  await page.waitForSelector('#signin-form', { state: 'visible' });
  check('a new visitor sees the sign-in form', await page.isVisible('#token'));

  expectStatus = 401;
  await page.fill('#token', `pst_${'A'.repeat(43)}`);
  await page.click('#signin-submit');
  await page.waitForSelector('#signin-error', { state: 'visible' });
  const err = await text('#signin-error');
  check('a wrong token gets a clear sign-in error', /^Sign-in failed: unknown token/.test(err), err);
  check('a wrong token is not kept', await page.evaluate(() => sessionStorage.length === 0 && localStorage.length === 0));
  check('no view is shown before sign-in', await page.isHidden('#nav'));
  await shot('signin-error');
  expectStatus = null;

  await page.fill('#token', isoToken);
  await page.press('#token', 'Enter');
  await ready('#/overview');
  ok('an iso token signs in and lands on the overview');
  check('the token is kept in session storage only',
    await page.evaluate((t) => sessionStorage.getItem('posture.token') === t && localStorage.length === 0, isoToken));

  // --- overview --------------------------------------------------------------
  const S = E.summary;
  same('overview: fleet score', await text('[data-stat="score"]'), score(S.score));
  same('overview: passing checks', await text('[data-stat="pass"] .stat-value'), String(S.pass));
  same('overview: failing checks', await text('[data-stat="fail"] .stat-value'), String(S.fail));
  same('overview: hosts', await text('[data-stat="hosts-total"] .stat-value'), String(S.hosts_total));
  same('overview: stale hosts', await text('[data-stat="hosts-stale"] .stat-value'), String(S.hosts_stale));
  same('overview: open violations', await text('[data-stat="violations-open"] .stat-value'), String(S.violations_open));
  for (const [card, want] of [['categories', S.categories], ['severities', S.severities]]) {
    for (const [k, v] of Object.entries(want)) {
      if (card === 'severities' && k === 'unknown') continue;
      const row = `[data-card="${card}"] tr[data-key="${k}"]`;
      same(`overview: ${k} score, pass, fail`,
        [await text(`${row} [data-field="score"]`), await text(`${row} [data-field="pass"]`), await text(`${row} [data-field="fail"]`)],
        [score(v.score), String(v.pass), String(v.fail)]);
    }
  }
  for (const s of ['critical', 'high', 'medium', 'low']) {
    same(`overview: open ${s} violations`, await text(`[data-card="open-by-severity"] tr[data-key="${s}"] td`), String(S.open_by_severity[s] ?? 0));
  }
  for (const [k, v] of Object.entries(S.open_by_age)) {
    same(`overview: open violations aged ${k}`, await text(`[data-card="open-by-age"] tr[data-key="${k}"] td`), String(v));
  }
  same('overview: 30-day trend points drawn', await page.locator('.trend svg circle.dot').count(), E.trend['30']);
  check('overview: the trend is an SVG chart', await page.locator('.trend svg.chart line.grid').count() >= 4);
  await page.click('button[data-days="90"]');
  await page.waitForSelector('button[data-days="90"][aria-pressed="true"]');
  await page.waitForFunction((n) => document.querySelectorAll('.trend svg circle.dot').length === n && document.querySelector('.trend svg').getAttribute('aria-label').includes('90'), E.trend['90']);
  ok(`overview: the 90-day trend draws ${E.trend['90']} point(s)`);
  await shot('overview');

  // --- the overview printed ------------------------------------------------------
  await page.emulateMedia({ media: 'print' });
  check('print: navigation is hidden', await page.isHidden('header.top'));
  check('print: no dark background', await page.evaluate(() => getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)'),
    await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
  await page.screenshot({ path: path.join(out, 'overview-print.png'), fullPage: true });
  const pdf = await page.pdf({ path: path.join(out, 'overview.pdf'), format: 'A4', printBackground: true });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-z])/g) || []).length;
  check(`print: the overview fits 1 or 2 A4 pages (${pages})`, pages >= 1 && pages <= 2, `${pages} pages`);
  await page.emulateMedia({ media: 'screen' });

  // --- controls ------------------------------------------------------------------
  await nav('controls');
  same('controls: every ISO 27001 control listed', await page.$$eval('tr[data-control-row]', (r) => r.map((x) => x.dataset.controlRow)), E.iso_controls);
  const C = E.control;
  const toggle = page.locator(`button[data-control="${C.id}"]`);
  await toggle.focus();
  await page.keyboard.press('Enter'); // keyboard, not only the mouse
  const checksSel = `table[data-checks-of="iso27001:${C.id}"]`;
  await page.waitForSelector(checksSel, { state: 'visible' });
  same(`controls: ${C.id} opens its checks`, await page.$$eval(`${checksSel} tbody tr`, (r) => r.map((x) => x.dataset.check)), C.checks);
  same(`controls: ${C.id} score`, await text(`tr[data-control-row="${C.id}"] td:nth-child(2)`), score(C.score));
  same(`controls: ${C.id} failing hosts`, await text(`tr[data-control-row="${C.id}"] td:nth-child(3)`), `${C.hosts_failing} / ${C.hosts}`);
  await shot('controls');

  // --- hosts -------------------------------------------------------------------------
  await nav('hosts');
  same('hosts: one row per host', (await page.$$eval('tr[data-host]', (r) => r.map((x) => x.dataset.host))).sort(), E.hosts.map((h) => h.id).sort());
  for (const h of E.hosts) {
    same(`hosts: ${h.id} score`, await text(`tr[data-host="${h.id}"] td:nth-child(2)`), score(h.score));
  }
  const xssName = await page.$eval('tr[data-host="web-1"] .host-name', (e) => e.textContent);
  same('hosts: a host named like markup shows its name as text', xssName, E.xss.host);
  check('hosts: and no element was made of it', await page.evaluate(() => !document.querySelector('img[src="x"]') && window.__pwned === undefined));
  const scores = async () => (await texts('tr[data-host] td:nth-child(2)')).map((s) => (s === '—' ? -1 : parseFloat(s)));
  // Worst first by default: that is where the ISO starts.
  let sc = await scores();
  const asc = sc.every((v, i) => i === 0 || sc[i - 1] <= v) && (await page.getAttribute('th:has(button[data-sort="score"])', 'aria-sort')) === 'ascending';
  await page.click('button[data-sort="score"]');
  sc = await scores();
  const desc = sc.every((v, i) => i === 0 || sc[i - 1] >= v) && (await page.getAttribute('th:has(button[data-sort="score"])', 'aria-sort')) === 'descending';
  check('hosts: sorted by score, worst first, and the other way on a click', asc && desc, sc.join(' '));
  await page.click('button[data-sort="id"]');
  same('hosts: sorted by name on a click', await page.$$eval('tr[data-host]', (r) => r.map((x) => x.dataset.host)), E.hosts.map((h) => h.id).sort());
  await page.fill('#host-search', 'db-');
  same('hosts: the filter keeps matching hosts', await page.$$eval('tr[data-host]', (r) => r.map((x) => x.dataset.host)), E.hosts.filter((h) => h.id.includes('db-')).map((h) => h.id));
  await page.fill('#host-search', '');
  await shot('hosts');

  // --- one host --------------------------------------------------------------------------
  await page.click(`tr[data-host="${E.host.id}"] a.host-link`);
  await ready(`#/hosts/${E.host.id}`);
  same(`host ${E.host.id}: every latest result`, await page.locator('details.result').count(), E.host.results);
  same(`host ${E.host.id}: grouped by category`, (await page.$$eval('section[data-category]', (s) => s.map((x) => x.dataset.category))).sort(), [...E.host.categories].sort());
  same(`host ${E.host.id}: the failing checks`, (await page.$$eval('details.result[data-status="fail"]', (d) => d.map((x) => x.dataset.check))).sort(), [...E.host.failing].sort());
  check(`host ${E.host.id}: failing results show evidence and remediation`,
    await page.$$eval('details.result[data-status="fail"]', (d) => d.every((x) => x.open && x.querySelector('table.evidence') && x.querySelector('.remediation'))));
  const evTexts = await texts('details.result table.evidence td');
  check('host: evidence that looks like markup shows as text', evTexts.some((t) => t.includes(E.xss.evidence)), 'not found in any evidence cell');
  check('host: and no element was made of it', await page.evaluate(() => !document.querySelector('img[src="x"]') && window.__pwned === undefined));
  await shot('host');

  // --- violations ------------------------------------------------------------------------
  await nav('violations');
  same('violations: open ones listed', await page.locator('tr[data-violation]').count(), E.violations.open);
  const sev = E.violations.filter;
  await page.selectOption('#f-severity', sev);
  await page.waitForSelector('#main .state-loading', { state: 'detached' });
  same(`violations: filtered by severity ${sev}, as many as the API gives`, await page.locator('tr[data-violation]').count(), E.violations.by_severity[sev]);
  check(`violations: every row is ${sev}`, await page.$$eval('tr[data-violation]', (r, s) => r.every((x) => x.dataset.severity === s), sev));
  check('violations: the filter is in the address', page.url().includes(`severity=${sev}`), page.url());
  const firstRow = page.locator('tr[data-violation] button.linkish').first();
  await firstRow.click();
  check('violations: a row opens its evidence', await page.locator('tr.detail:not([hidden]) table.evidence').count() === 1);
  check('violations: each shows when it opened', (await texts('tr[data-violation] td:nth-child(6)')).every((t) => /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/.test(t)));
  await shot('violations');
  await page.selectOption('#f-severity', '');
  await page.selectOption('#f-status', 'resolved');
  await page.waitForSelector('#main .state-loading', { state: 'detached' });
  same('violations: resolved ones listed', await page.locator('tr[data-violation]').count(), E.violations.resolved);
  await page.selectOption('#f-age', 'gt_30d');
  await page.waitForSelector('#main .state-loading', { state: 'detached' });
  check('violations: an empty result says so', (await text('#main .state-empty strong')).startsWith('No violations match'));

  // --- states and layout ---------------------------------------------------------------------
  expectStatus = 404;
  await page.evaluate(() => { location.hash = '#/hosts/no-such-host'; });
  await page.waitForSelector('#view .alert-error');
  const nf = await text('#view .alert-error');
  check('an unknown host gives a clear error, not a blank page', nf.startsWith('Not found.') && nf.includes('no-such-host'), nf);
  expectStatus = null;
  // Keyboard: the navigation is reachable with Tab and followed with Enter.
  await page.focus('nav a[data-view="overview"]');
  await page.keyboard.press('Tab');
  check('keyboard: Tab moves along the navigation', await page.evaluate(() => document.activeElement.dataset.view === 'controls'));
  await page.keyboard.press('Enter');
  await ready('#/controls');
  ok('keyboard: Enter opens a view');
  await page.setViewportSize({ width: 390, height: 844 });
  await nav('overview');
  check('a phone-sized window needs no sideways scrolling',
    await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
    await page.evaluate(() => `${document.documentElement.scrollWidth} > ${window.innerWidth}`));
  await page.screenshot({ path: path.join(out, 'overview-narrow.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // --- evidence ----------------------------------------------------------------------------
  if (!evidenceServed) {
    console.log('*** SKIPPED: evidence snapshots (this collector answers 404 for /api/v1/evidence); only the "not available" state is checked');
    expectStatus = 404;
    await nav('evidence');
    check('evidence: a collector without it says so', (await text('#main .state-empty strong')).includes('not available'));
    expectStatus = null;
    await shot('evidence-unavailable');
  } else {
    await nav('evidence');
    expectStatus = 403;
    await page.click('#ev-take');
    await page.waitForFunction(() => /Only an auditor|failed/.test(document.getElementById('ev-status').textContent));
    const msg = await text('#ev-status');
    check('evidence: an iso token taking a snapshot gets a clear refusal', msg.startsWith('Only an auditor or admin token may take'), msg);
    expectStatus = null;
    await shot('evidence-iso');
    await page.click('#signout');
    await page.waitForSelector('#signin-form', { state: 'visible' });
    check('sign out forgets the token', await page.evaluate(() => sessionStorage.length === 0));
    await page.fill('#token', auditorToken);
    await page.click('#signin-submit');
    await page.waitForFunction(() => typeof document.body.dataset.ready === 'string');
    await nav('evidence');
    const before = await page.locator('tr[data-evidence]').count();
    await page.click('#ev-take');
    await page.waitForFunction(() => /Snapshot \d+ taken|failed/.test(document.getElementById('ev-status').textContent));
    const taken = await text('#ev-status');
    check('evidence: an auditor takes a snapshot', /^Snapshot \d+ taken/.test(taken), taken);
    same('evidence: it is listed', await page.locator('tr[data-evidence]').count(), before + 1);
    const id = await page.getAttribute('tr[data-evidence] >> nth=0', 'data-evidence');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`button[data-download="${id}"]`)]);
    check('evidence: the download does not put the token in a URL', !dl.url().includes(auditorToken) && dl.url().startsWith('blob:'), dl.url());
    await dl.saveAs(path.join(out, 'evidence-download.json'));
    fs.writeFileSync(path.join(out, 'evidence-id.txt'), id);
    const doc = JSON.parse(fs.readFileSync(path.join(out, 'evidence-download.json'), 'utf8'));
    check('evidence: the download is a signed envelope', doc.format === 'posture.evidence.v1' && typeof doc.signature === 'string', JSON.stringify(Object.keys(doc)));
    const [kd] = await Promise.all([page.waitForEvent('download'), page.click('#ev-key')]);
    await kd.saveAs(path.join(out, 'evidence.pub'));
    check('evidence: the public key downloads as PEM', fs.readFileSync(path.join(out, 'evidence.pub'), 'utf8').startsWith('-----BEGIN PUBLIC KEY-----'));
    await shot('evidence');
  }

  // --- the whole run -----------------------------------------------------------------------
  const leaked = urls.filter((u) => u.includes(isoToken) || u.includes(auditorToken));
  check('no request URL carried a token', leaked.length === 0, leaked.join(' '));
  const offsite = urls.filter((u) => !u.startsWith(base) && !u.startsWith('blob:') && !u.startsWith('data:'));
  check('nothing was fetched from another origin', offsite.length === 0, offsite.join(' '));
  const csps = await page.evaluate(() => window.__csp);
  check('no CSP violation', csps.length === 0, csps.join('; '));
  check('no console error', problems.length === 0, problems.join(' | '));
} catch (e) {
  bad('the browser run', e.stack || String(e));
  await shot('failure').catch(() => {});
} finally {
  await browser.close();
}
console.log(`browser: ${failed} failed; artifacts in ${out}`);
process.exit(0);
