// view-hosts.js - the fleet as a sortable, filterable table, and one
// host's latest results grouped by category with evidence and remediation.
import * as api from './api.js';
import {
  CATEGORIES, SEVERITIES, ago, categoryName, clear, el, empty, evidenceTable, fmtScore, fmtTime,
  scoreClass, sevBadge, statusBadge, controlList,
} from './dom.js';

const sortState = { key: 'score', dir: 1 };

const failingCount = (h) => SEVERITIES.reduce((n, s) => n + ((h.failing || {})[s] || 0), 0);
const osName = (h) => [h.os_id, h.os_version].filter(Boolean).join(' ');

const COLUMNS = [
  ['id', 'Host', (h) => h.id],
  ['score', 'Score', (h) => (h.score === null || h.score === undefined ? -1 : h.score)],
  ['failing', 'Failing checks', (h) => failingCount(h)],
  ['last_report', 'Last report', (h) => h.last_report || ''],
  ['os', 'OS', (h) => osName(h)],
];

function failingCell(h) {
  const f = h.failing || {};
  const parts = SEVERITIES.filter((s) => (f[s] || 0) > 0).map((s) => el(`span.badge.sev-${s}`, { text: `${f[s]} ${s}` }));
  return parts.length ? el('span.badges', null, parts) : el('span.muted', { text: 'none' });
}

export async function renderHosts(root) {
  const { items: hosts, truncated } = await api.getAll('/api/v1/hosts', 'hosts');
  root.append(el('div.view-head', null, el('h1', { text: 'Hosts' }),
    el('p.muted', { text: `${hosts.length} host${hosts.length === 1 ? '' : 's'} reporting to this collector.` })));
  if (hosts.length === 0) {
    root.append(empty('No hosts yet.', 'Enroll an agent (posture-agent enroll) and its first report appears here.'));
    return;
  }
  const search = el('input', { id: 'host-search', type: 'search', placeholder: 'name, id or OS', autocomplete: 'off' });
  const only = el('select', { id: 'host-only' },
    el('option', { value: '', text: 'All hosts' }),
    el('option', { value: 'failing', text: 'With failing checks' }),
    el('option', { value: 'stale', text: 'Stale (not reporting)' }));
  const count = el('span.muted.small', { 'aria-live': 'polite' });
  const box = el('div');
  root.append(el('div.filters', null,
    el('label', { for: 'host-search', text: 'Filter' }), search,
    el('label', { for: 'host-only', text: 'Show' }), only, count),
  el('section.card.flush', null, box));
  if (truncated) root.append(el('p.muted.small', { text: `Showing the first ${hosts.length} hosts.` }));

  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const col = COLUMNS.find(([k]) => k === sortState.key);
    const rows = hosts.filter((h) => {
      if (only.value === 'failing' && failingCount(h) === 0 && !(h.fail > 0)) return false;
      if (only.value === 'stale' && !h.stale) return false;
      if (!q) return true;
      return [h.id, h.hostname, osName(h)].some((s) => String(s || '').toLowerCase().includes(q));
    }).sort((a, b) => {
      const x = col[2](a), y = col[2](b);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return c * sortState.dir || a.id.localeCompare(b.id);
    });
    count.textContent = `${rows.length} of ${hosts.length}`;
    const head = el('tr', null, COLUMNS.map(([k, label]) => {
      const active = sortState.key === k;
      return el('th', { scope: 'col', 'aria-sort': active ? (sortState.dir > 0 ? 'ascending' : 'descending') : 'none', class: k === 'score' || k === 'failing' ? 'num' : null },
        el('button.sort', {
          type: 'button', 'data-sort': k,
          onclick: () => {
            sortState.dir = sortState.key === k ? -sortState.dir : 1;
            sortState.key = k;
            draw();
            box.querySelector(`button[data-sort="${k}"]`).focus();
          },
        }, label, el('span.sort-mark', { 'aria-hidden': 'true', text: active ? (sortState.dir > 0 ? ' ▲' : ' ▼') : '' })));
    }));
    const body = rows.length === 0
      ? [el('tr', null, el('td.empty-row', { colspan: COLUMNS.length, text: 'No host matches this filter.' }))]
      : rows.map((h) => el('tr', { 'data-host': h.id, class: h.stale ? 'row-stale' : null },
        el('th', { scope: 'row' },
          el('a', { href: `#/hosts/${encodeURIComponent(h.id)}`, class: 'host-link' }, el('span.host-name', { text: h.hostname || h.id })),
          h.hostname && h.hostname !== h.id ? el('div.muted.small.mono', { text: h.id }) : null),
        el('td.num', null, el(`span.${scoreClass(h.score)}`, { text: fmtScore(h.score) })),
        el('td.num', null, failingCell(h)),
        el('td', null, el('span', { title: fmtTime(h.last_report), text: ago(h.last_report) }),
          h.stale ? el('span.badge.st-stale', { text: 'stale' }) : null),
        el('td', { text: osName(h) || '—' })));
    clear(box).append(el('table.data.hosts', null, el('thead', null, head), el('tbody', null, body)));
  };
  search.addEventListener('input', draw);
  only.addEventListener('change', draw);
  draw();
}

export async function renderHost(root, rawId) {
  const id = decodeURIComponent(rawId);
  const [host, res] = await Promise.all([
    api.get(`/api/v1/hosts/${api.enc(id)}`),
    api.getAll(`/api/v1/hosts/${api.enc(id)}/results`, 'results'),
  ]);
  const results = res.items;
  root.append(el('p.crumbs.no-print', null, el('a', { href: '#/hosts', text: '← Hosts' })));
  root.append(el('div.view-head', null,
    el('h1', null, el('span.host-name', { text: host.hostname || host.id }),
      host.stale ? el('span.badge.st-stale', { text: 'stale' }) : null),
    el('p.muted.mono', { text: `agent ${host.id}` })));

  const facts = [
    ['Score', el(`span.${scoreClass(host.score)}`, { text: fmtScore(host.score) })],
    ['Passing / failing', `${host.pass ?? 0} / ${host.fail ?? 0}`],
    ['Open violations', String(host.open_violations ?? 0)],
    ['Last report', `${fmtTime(host.last_report)} (${ago(host.last_report)})`],
    ['OS', osName(host) || '—'],
    ['Kernel', host.kernel || '—'],
    ['Agent', host.agent_version || '—'],
  ];
  root.append(el('section.card', null, el('dl.facts', null, facts.map(([k, v]) => [el('dt', { text: k }), el('dd', null, v)]))));

  if (results.length === 0) {
    root.append(empty('No results yet.', 'This host has not delivered a report.'));
    return;
  }
  const statusFilter = el('select', { id: 'res-status' },
    el('option', { value: '', text: 'All results' }),
    el('option', { value: 'fail', text: 'Failing only' }),
    el('option', { value: 'pass', text: 'Passing only' }));
  const box = el('div');
  root.append(el('div.filters.no-print', null, el('label', { for: 'res-status', text: 'Show' }), statusFilter), box);

  const order = { fail: 0, error: 1, unknown: 2, pass: 3, not_applicable: 4 };
  const sevOrder = (s) => { const i = SEVERITIES.indexOf(s); return i < 0 ? 9 : i; };
  const draw = () => {
    clear(box);
    const shown = results.filter((r) => !statusFilter.value || r.status === statusFilter.value);
    const cats = [...new Set(shown.map((r) => r.category))].sort((a, b) => {
      const ia = CATEGORIES.findIndex(([k]) => k === a), ib = CATEGORIES.findIndex(([k]) => k === b);
      return (ia < 0 ? 9 : ia) - (ib < 0 ? 9 : ib) || String(a).localeCompare(String(b));
    });
    if (shown.length === 0) box.append(empty('Nothing to show.', 'No result has this status.'));
    for (const cat of cats) {
      const list = shown.filter((r) => r.category === cat)
        .sort((a, b) => (order[a.status] ?? 5) - (order[b.status] ?? 5) || sevOrder(a.severity) - sevOrder(b.severity) || a.check_id.localeCompare(b.check_id));
      const sc = (host.categories || {})[cat];
      // What needs attention first; what passes folded away, one click from view.
      const calm = list.filter((r) => r.status === 'pass' || r.status === 'not_applicable');
      const loud = list.filter((r) => !calm.includes(r));
      const nPass = calm.filter((r) => r.status === 'pass').length;
      box.append(el('section.card.category', { 'data-category': cat },
        el('div.card-head', null, el('h2', { text: categoryName(cat) }),
          sc ? el(`span.${scoreClass(sc.score)}`, { text: `${fmtScore(sc.score)} · ${sc.pass} pass, ${sc.fail} fail` }) : null),
        loud.map((r) => resultItem(r)),
        loud.length === 0 && calm.length > 0 ? el('p.good-news', { text: 'Every check in this category passes or does not apply.' }) : null,
        calm.length ? el('details.passing', { open: statusFilter.value === 'pass' || null },
          el('summary', { text: `${nPass} passing${calm.length > nPass ? `, ${calm.length - nPass} not applicable` : ''}` }),
          calm.map((r) => resultItem(r))) : null));
    }
  };
  statusFilter.addEventListener('change', draw);
  draw();
}

function resultItem(r) {
  const open = r.status === 'fail' || r.status === 'error';
  const ctl = controlList(r.controls);
  const d = el('details.result', { 'data-check': r.check_id, 'data-status': r.status, open: open || null },
    el('summary', null, statusBadge(r.status), sevBadge(r.severity),
      el('span.result-title', { text: r.title || r.check_id }),
      el('span.muted.mono.small', { text: r.check_id })),
    el('div.result-body', null,
      r.reason ? el('p', null, el('strong', { text: 'Reason: ' }), r.reason) : null,
      evidenceTable(r.evidence),
      r.remediation && r.status !== 'pass'
        ? el('div.remediation', null, el('strong', { text: 'Remediation' }), el('p', { text: r.remediation })) : null,
      el('p.muted.small', null,
        ctl.length ? `Controls: ${ctl.join(', ')} · ` : '',
        `policy ${r.policy_id} · checked ${fmtTime(r.checked_at)} · status since ${fmtTime(r.changed_at)}`)));
  return d;
}
