// app.js - the dashboard's shell: sign-in, navigation (hash routes, so the
// page holds no state in its URL beyond which view is open) and the views.
import * as api from './api.js';
import { clear, el, errorBox, loading } from './dom.js';
import { renderOverview } from './view-overview.js';
import { renderControls } from './view-controls.js';
import { renderHosts, renderHost } from './view-hosts.js';
import { renderViolations } from './view-violations.js';
import { renderEvidence } from './view-evidence.js';

const $ = (id) => document.getElementById(id);

const routes = [
  [/^#\/overview$/, 'overview', renderOverview],
  [/^#\/controls$/, 'controls', renderControls],
  [/^#\/hosts$/, 'hosts', renderHosts],
  [/^#\/hosts\/(.+)$/, 'hosts', renderHost],
  [/^#\/violations(?:\?(.*))?$/, 'violations', renderViolations],
  [/^#\/evidence$/, 'evidence', renderEvidence],
];

let generation = 0;

function showSignIn(message) {
  $('nav').hidden = true;
  $('session').hidden = true;
  clear($('view'));
  $('signin').hidden = false;
  const box = $('signin-error');
  box.hidden = !message;
  box.textContent = message || '';
  $('token').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const t = $('token').value.trim();
  const box = $('signin-error');
  if (!t) {
    box.textContent = 'Enter a token.';
    box.hidden = false;
    return;
  }
  $('signin-submit').disabled = true;
  box.hidden = true;
  try {
    await api.get('/api/v1/summary', { tok: t });
    api.setToken(t);
    $('token').value = '';
    await start();
  } catch (e) {
    box.textContent = e.status === 401
      ? `Sign-in failed: ${e.message}`
      : e.status === 403 ? `Sign-in failed: this token may not read the dashboard (${e.message}).`
        : `Sign-in failed: ${e.message}`;
    box.hidden = false;
  } finally {
    $('signin-submit').disabled = false;
  }
}

function signOut() {
  api.forget();
  showSignIn('Signed out.');
}

async function start() {
  $('signin').hidden = true;
  $('nav').hidden = false;
  $('session').hidden = false;
  try {
    const h = await api.get('/api/v1/health');
    $('collector').textContent = `collector ${h.collector_id} · v${h.version}`;
    $('foot').textContent = `posture ${h.version} · figures from the collector's API at ${location.host}`;
  } catch (_) { /* the views say what is wrong */ }
  if (!location.hash || location.hash === '#') location.replace('#/overview');
  else route();
}

async function route() {
  if (!api.token()) return showSignIn();
  const hash = location.hash || '#/overview';
  const view = $('view');
  const gen = ++generation;
  let found = null;
  for (const [re, name, fn] of routes) {
    const m = hash.match(re);
    if (m) { found = { name, fn, args: m.slice(1) }; break; }
  }
  for (const a of $('nav').querySelectorAll('a')) {
    if (found && a.dataset.view === found.name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clear(view);
  if (!found) {
    view.append(el('div.alert.alert-error', { role: 'alert' }, 'No such view. ', el('a', { href: '#/overview', text: 'Back to the overview' })));
    return;
  }
  const body = el('div.view', { 'data-view': found.name });
  view.append(loading());
  try {
    await found.fn(body, ...found.args);
    if (gen !== generation) return; // another view was opened meanwhile
    clear(view).append(body);
    document.body.dataset.ready = hash; // tests wait for this
  } catch (e) {
    if (gen !== generation) return;
    clear(view).append(errorBox(e));
  }
}

api.whenUnauthorized((e) => {
  api.forget();
  showSignIn(`Your session ended: ${e.message}`);
});

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', () => { delete document.body.dataset.ready; route(); });
  if (api.token()) start();
  else showSignIn();
});
