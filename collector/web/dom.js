// dom.js - building the page node by node, never by parsing markup.  Every
// text that comes from the API (host names, evidence, titles) is
// attacker-influenced (an agent controls it): it only ever becomes a text node.

const SVG_NS = 'http://www.w3.org/2000/svg';

// el('div.card.wide', {attrs}, children...): children are nodes or strings
// (strings become text nodes); null and false are skipped.
export function el(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const node = document.createElement(tag || 'div');
  if (classes.length) node.className = classes.join(' ');
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.setAttribute('class', v);
    else if (k === 'text') node.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// --- formatting ---

export function fmtScore(s) {
  return s === null || s === undefined ? '—' : `${Number(s).toFixed(1)}%`;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

export function fmtAge(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function ago(iso) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return String(iso);
  return `${fmtAge((Date.now() - t) / 1000)} ago`;
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low'];
export const CATEGORIES = [
  ['access_control', 'Access control'],
  ['patch', 'Patch'],
  ['backup', 'Backup'],
];

export function categoryName(c) {
  const known = CATEGORIES.find(([k]) => k === c);
  if (known) return known[1];
  const name = String(c || 'other').replace(/_/g, ' ');
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export function sevBadge(sev) {
  const s = SEVERITIES.includes(sev) ? sev : 'unknown';
  return el(`span.badge.sev-${s}`, { text: s });
}

const STATUS_LABEL = {
  pass: 'pass', fail: 'fail', error: 'error', not_applicable: 'n/a', unknown: 'unknown',
  open: 'open', resolved: 'resolved',
};

export function statusBadge(st) {
  const s = Object.hasOwn(STATUS_LABEL, st) ? st : 'unknown';
  return el(`span.badge.st-${s}`, { text: STATUS_LABEL[s] });
}

// A score as a coloured level: good >= 90, fair >= 70, else poor.
export function scoreClass(s) {
  if (s === null || s === undefined) return 'score-none';
  return s >= 90 ? 'score-good' : s >= 70 ? 'score-fair' : 'score-poor';
}

// Controls of a result or violation: {"iso27001": ["A.8.8"], ...} -> "iso27001 A.8.8, ..."
export function controlList(controls) {
  if (!controls || typeof controls !== 'object') return [];
  const out = [];
  for (const [fw, ids] of Object.entries(controls)) {
    if (Array.isArray(ids)) for (const id of ids) out.push(`${fw} ${id}`);
  }
  return out;
}

export function loading(text = 'Loading…') {
  return el('div.state.state-loading', { role: 'status' }, el('span.spinner', { 'aria-hidden': 'true' }), text);
}

export function empty(title, detail) {
  return el('div.state.state-empty', null, el('strong', { text: title }), detail ? el('p', { text: detail }) : null);
}

export function errorBox(err) {
  return el('div.alert.alert-error', { role: 'alert' },
    el('strong', { text: err.title || 'Something went wrong' }), ' ', err.message || String(err));
}

// The evidence of a result: subject, observed, expected, where.
export function evidenceTable(evidence) {
  if (!Array.isArray(evidence) || evidence.length === 0) return el('p.muted.small', { text: 'No evidence recorded.' });
  return el('table.evidence', null,
    el('thead', null, el('tr', null,
      el('th', { scope: 'col', text: '' }),
      el('th', { scope: 'col', text: 'Subject' }),
      el('th', { scope: 'col', text: 'Observed' }),
      el('th', { scope: 'col', text: 'Expected' }),
      el('th', { scope: 'col', text: 'Location' }))),
    el('tbody', null, evidence.map((e) => el('tr', { class: e.ok ? 'ev-ok' : 'ev-bad' },
      el('td', null, el(`span.badge.${e.ok ? 'st-pass' : 'st-fail'}`, { text: e.ok ? 'ok' : 'deviates' })),
      el('td.mono', { text: e.subject ?? '' }),
      el('td.mono', { text: e.observed ?? '' }),
      el('td.mono', { text: e.expected ?? '' }),
      el('td.mono', { text: e.location ?? '' })))));
}
