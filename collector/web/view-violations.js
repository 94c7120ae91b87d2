// view-violations.js - open and resolved violations, filtered by status,
// severity, host and control on the API's side and by age here; each with
// when it opened and the evidence that opened it.
import * as api from './api.js';
import {
  SEVERITIES, clear, controlList, el, empty, evidenceTable, fmtAge, fmtTime, sevBadge, statusBadge,
} from './dom.js';

const AGES = [
  ['', 'Any age'],
  ['lt_1d', 'Under a day', 0, 86400],
  ['1d_7d', '1 to 7 days', 86400, 7 * 86400],
  ['7d_30d', '7 to 30 days', 7 * 86400, 30 * 86400],
  ['gt_30d', 'Over 30 days', 30 * 86400, Infinity],
];

export async function renderViolations(root, rawQuery) {
  const initial = new URLSearchParams(rawQuery || '');
  const { items: hosts } = await api.getAll('/api/v1/hosts', 'hosts');

  root.append(el('div.view-head', null, el('h1', { text: 'Violations' }),
    el('p.muted', { text: 'A check that fails opens a violation; it resolves when the check passes again.' })));

  const f = {
    status: el('select', { id: 'f-status' }, el('option', { value: 'open', text: 'Open' }),
      el('option', { value: 'resolved', text: 'Resolved' }), el('option', { value: '', text: 'Open and resolved' })),
    severity: el('select', { id: 'f-severity' }, el('option', { value: '', text: 'Any severity' }),
      SEVERITIES.map((s) => el('option', { value: s, text: s }))),
    host: el('select', { id: 'f-host' }, el('option', { value: '', text: 'Any host' }),
      hosts.map((h) => el('option', { value: h.id, text: h.hostname && h.hostname !== h.id ? `${h.hostname} (${h.id})` : h.id }))),
    control: el('input', { id: 'f-control', type: 'search', placeholder: 'A.8.8', autocomplete: 'off', size: 12 }),
    age: el('select', { id: 'f-age' }, AGES.map(([v, label]) => el('option', { value: v, text: label }))),
  };
  for (const k of ['status', 'severity', 'host', 'control', 'age']) {
    if (initial.has(k)) f[k].value = initial.get(k);
  }
  const count = el('span.muted.small', { id: 'v-count', 'aria-live': 'polite' });
  const labels = { status: 'Status', severity: 'Severity', host: 'Host', control: 'Control', age: 'Age' };
  root.append(el('form.filters', { role: 'search', onsubmit: (e) => { e.preventDefault(); load(); } },
    Object.entries(f).map(([k, input]) => el('span.filter', null, el('label', { for: input.id, text: labels[k] }), input)),
    el('button.btn', { type: 'submit', text: 'Apply' }), count));
  const box = el('section.card.flush');
  root.append(box);

  let seq = 0;
  async function load() {
    const mine = ++seq;
    const params = {};
    for (const k of ['status', 'severity', 'host', 'control']) if (f[k].value.trim()) params[k] = f[k].value.trim();
    // Keep the filter in the address, so that the view can be bookmarked and shared.
    const q = new URLSearchParams({ ...params, ...(f.age.value ? { age: f.age.value } : {}) }).toString();
    const want = `#/violations${q ? `?${q}` : ''}`;
    if (location.hash !== want) history.replaceState(null, '', want);
    clear(box).append(el('div.state.state-loading', { role: 'status', text: 'Loading…' }));
    let items, truncated;
    try {
      ({ items, truncated } = await api.getAll('/api/v1/violations', 'violations', { params }));
    } catch (e) {
      if (mine === seq) clear(box).append(el('div.alert.alert-error', { role: 'alert' }, el('strong', { text: e.title }), ' ', e.message));
      return;
    }
    if (mine !== seq) return;
    const age = AGES.find(([v]) => v === f.age.value);
    if (age && age[0]) items = items.filter((v) => v.age_s >= age[2] && v.age_s < age[3]);
    count.textContent = `${items.length} violation${items.length === 1 ? '' : 's'}${truncated ? ' (first pages only)' : ''}`;
    clear(box);
    if (items.length === 0) {
      box.append(empty(f.status.value === 'open' && !params.severity && !params.host && !params.control && !f.age.value
        ? 'No open violations.' : 'No violations match these filters.',
      f.status.value === 'open' ? 'Every check that failed has passed again, or none failed.' : null));
      return;
    }
    const rows = [];
    items.forEach((v, i) => {
      const detailId = `v-detail-${i}`;
      const detail = el('tr.detail', { id: detailId, hidden: true }, el('td', { colspan: 7 },
        el('div.violation-detail', null,
          evidenceTable(v.evidence),
          v.remediation ? el('div.remediation', null, el('strong', { text: 'Remediation' }), el('p', { text: v.remediation })) : null,
          el('p.muted.small', null,
            `Opened ${fmtTime(v.opened_at)} (report ${v.opened_seq})`,
            v.resolved_at ? ` · resolved ${fmtTime(v.resolved_at)} by ${v.resolved_by || 'a passing check'} (report ${v.resolved_seq})` : '',
            ` · policy ${v.policy_id} · check ${v.check_id}`))));
      const toggle = el('button.linkish', {
        type: 'button', 'aria-expanded': 'false', 'aria-controls': detailId,
        onclick: () => {
          const open = toggle.getAttribute('aria-expanded') !== 'true';
          toggle.setAttribute('aria-expanded', String(open));
          detail.hidden = !open;
        },
      }, el('span.caret', { 'aria-hidden': 'true' }), el('span', { text: v.title || v.check_id }));
      rows.push(el('tr', { 'data-violation': v.id, 'data-severity': v.severity },
        el('td', null, sevBadge(v.severity)),
        el('th', { scope: 'row' }, toggle),
        el('td', null, el('a', { href: `#/hosts/${encodeURIComponent(v.host)}` }, el('span.host-name', { text: v.hostname || v.host })),
          v.hostname && v.hostname !== v.host ? el('div.muted.small.mono', { text: v.host }) : null),
        el('td.small', { text: controlList(v.controls).filter((c) => c.startsWith('iso27001')).map((c) => c.slice(9)).join(', ') || '—' }),
        el('td', null, statusBadge(v.status)),
        el('td', { text: fmtTime(v.opened_at) }),
        el('td.num', { text: fmtAge(v.age_s) })));
      rows.push(detail);
    });
    box.append(el('table.data.violations', null,
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'Severity' }), el('th', { scope: 'col', text: 'Check' }),
        el('th', { scope: 'col', text: 'Host' }), el('th', { scope: 'col', text: 'ISO 27001' }),
        el('th', { scope: 'col', text: 'Status' }), el('th', { scope: 'col', text: 'Opened' }),
        el('th.num', { scope: 'col', text: 'Age' }))),
      el('tbody', null, rows)));
  }
  for (const k of ['status', 'severity', 'host', 'age']) f[k].addEventListener('change', load);
  await load();
}
