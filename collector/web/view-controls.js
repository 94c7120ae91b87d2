// view-controls.js - ISO/IEC 27001:2022 Annex A controls (and any other
// framework the policies map to): score, failing hosts, and the checks
// behind each control, one click away.
import * as api from './api.js';
import { clear, el, empty, fmtScore, scoreClass, sevBadge } from './dom.js';

const FRAMEWORK_NAMES = {
  iso27001: 'ISO/IEC 27001:2022 Annex A',
  cis_debian12: 'CIS Debian 12 Benchmark',
  nist_800_53: 'NIST SP 800-53',
};

function checksTable(ctl) {
  const checks = ctl.checks || [];
  if (checks.length === 0) return empty('No check maps to this control.');
  return el('table.data.inner', { 'data-checks-of': `${ctl.framework}:${ctl.id}` },
    el('caption.sr-only', { text: `Checks behind ${ctl.id}` }),
    el('thead', null, el('tr', null,
      el('th', { scope: 'col', text: 'Check' }), el('th', { scope: 'col', text: 'Title' }),
      el('th', { scope: 'col', text: 'Severity' }), el('th.num', { scope: 'col', text: 'Pass' }),
      el('th.num', { scope: 'col', text: 'Fail' }), el('th', { scope: 'col', text: '' }))),
    el('tbody', null, checks.map((k) => el('tr', { class: k.fail > 0 ? 'row-fail' : null, 'data-check': k.check_id },
      el('td.mono', { text: k.check_id }),
      el('td', { text: k.title || '' }),
      el('td', null, sevBadge(k.severity)),
      el('td.num', { text: k.pass ?? 0 }),
      el('td.num', { text: k.fail ?? 0 }),
      el('td', null, k.fail > 0
        ? el('a', { href: `#/violations?control=${encodeURIComponent(`${ctl.framework}:${ctl.id}`)}`, text: 'violations' })
        : null)))));
}

export async function renderControls(root) {
  const doc = await api.get('/api/v1/controls');
  const controls = doc.controls || [];
  const frameworks = [...new Set(controls.map((c) => c.framework))];
  frameworks.sort((a, b) => (a === 'iso27001' ? -1 : b === 'iso27001' ? 1 : a.localeCompare(b)));
  let fw = frameworks.includes('iso27001') ? 'iso27001' : frameworks[0];

  root.append(el('div.view-head', null, el('h1', { text: 'Controls' }),
    el('p.muted', { text: 'Each control with the share of its checks that pass across the fleet. Select a control to see the checks behind it.' })));
  if (controls.length === 0) {
    root.append(empty('No controls yet.', 'Controls appear once agents report checks that map to a framework.'));
    return;
  }
  const select = el('select', { id: 'fw' }, frameworks.map((f) => el('option', { value: f, text: FRAMEWORK_NAMES[f] || f })));
  select.value = fw;
  const tableBox = el('div');
  root.append(el('div.filters', null, el('label', { for: 'fw', text: 'Framework' }), select), el('section.card', null, tableBox));

  const draw = () => {
    const rows = [];
    for (const c of controls.filter((x) => x.framework === fw)) {
      const detailId = `ctl-${c.framework}-${c.id}`.replace(/[^A-Za-z0-9_-]/g, '_');
      const detail = el('tr.detail', { id: detailId, hidden: true }, el('td', { colspan: 6 }, checksTable(c)));
      const toggle = el('button.linkish', {
        type: 'button', 'aria-expanded': 'false', 'aria-controls': detailId, 'data-control': c.id,
        onclick: () => {
          const open = toggle.getAttribute('aria-expanded') !== 'true';
          toggle.setAttribute('aria-expanded', String(open));
          detail.hidden = !open;
        },
      }, el('span.caret', { 'aria-hidden': 'true' }), c.id);
      rows.push(el('tr', { class: c.fail > 0 ? 'row-fail' : null, 'data-control-row': c.id },
        el('th', { scope: 'row' }, toggle),
        el('td.num', null, el(`span.${scoreClass(c.score)}`, { text: fmtScore(c.score) })),
        el('td.num', { text: `${c.hosts_failing ?? 0} / ${c.hosts ?? 0}` }),
        el('td.num', { text: (c.checks || []).length }),
        el('td.num', { text: c.pass ?? 0 }),
        el('td.num', { text: c.fail ?? 0 })));
      rows.push(detail);
    }
    clear(tableBox).append(el('table.data.controls', null,
      el('thead', null, el('tr', null,
        el('th', { scope: 'col', text: 'Control' }), el('th.num', { scope: 'col', text: 'Score' }),
        el('th.num', { scope: 'col', text: 'Failing hosts' }), el('th.num', { scope: 'col', text: 'Checks' }),
        el('th.num', { scope: 'col', text: 'Pass' }), el('th.num', { scope: 'col', text: 'Fail' }))),
      el('tbody', null, rows)));
  };
  select.addEventListener('change', () => { fw = select.value; draw(); });
  draw();
}
