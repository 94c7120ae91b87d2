// view-overview.js - the fleet at a glance, and the management report
// when printed (app.css @media print).
import * as api from './api.js';
import { trendChart } from './chart.js';
import { CATEGORIES, SEVERITIES, clear, el, fmtScore, fmtTime, scoreClass, sevBadge, categoryName } from './dom.js';

let trendDays = 30;

function scoreRow(label, s, key) {
  const score = s ? s.score : null;
  const bar = el(`span.bar-fill.${scoreClass(score)}`);
  // A width from a number we computed, through CSSOM (allowed by the CSP).
  bar.style.width = `${score === null || score === undefined ? 0 : Math.max(0, Math.min(100, score))}%`;
  return el('tr', { 'data-key': key },
    el('th', { scope: 'row' }, label),
    el('td.num', { 'data-field': 'score' }, el(`span.${scoreClass(score)}`, { text: fmtScore(score) })),
    el('td.barcell', null, el('span.bar', { 'aria-hidden': 'true' }, bar)),
    el('td.num', { 'data-field': 'pass', text: s ? s.pass : 0 }),
    el('td.num', { 'data-field': 'fail', text: s ? s.fail : 0 }));
}

function scoreTable(caption, rows) {
  return el('table.data.scores', null,
    el('caption.sr-only', { text: caption }),
    el('thead', null, el('tr', null,
      el('th', { scope: 'col', text: '' }), el('th.num', { scope: 'col', text: 'Score' }),
      el('th', { scope: 'col', text: '' }), el('th.num', { scope: 'col', text: 'Pass' }),
      el('th.num', { scope: 'col', text: 'Fail' }))),
    el('tbody', null, rows));
}

function stat(label, value, key, extra) {
  return el('div.stat', { 'data-stat': key },
    el('div.stat-value', { text: value }), el('div.stat-label', { text: label }), extra || null);
}

export async function renderOverview(root) {
  const [sum, trend] = await Promise.all([
    api.get('/api/v1/summary'),
    api.get(`/api/v1/trend?days=${trendDays}`),
  ]);
  const v = sum.violations || {};
  const bySev = v.open_by_severity || {};
  const byAge = v.open_by_age || {};
  const hosts = sum.hosts || {};

  root.append(el('p.print-only.report-head', { text: `posture compliance report · collector ${document.getElementById('collector').textContent.replace(/^collector /, '') || location.host}` }));
  root.append(el('div.view-head', null,
    el('h1', { text: 'Compliance overview' }),
    el('p.muted', { text: `Fleet state at ${fmtTime(sum.generated_at)}` }),
    el('div.actions.no-print', null,
      el('button.btn', { type: 'button', onclick: () => window.print(), text: 'Print report' }))));

  const hero = el('section.card.hero', { 'aria-labelledby': 'h-score' },
    el('h2', { id: 'h-score', text: 'Fleet score' }),
    el('div.hero-body', null,
      el(`div.big-score.${scoreClass(sum.score)}`, { 'data-stat': 'score', text: fmtScore(sum.score) }),
      el('div.hero-facts', null,
        stat('checks passing', sum.pass ?? 0, 'pass'),
        stat('checks failing', sum.fail ?? 0, 'fail'),
        stat('hosts', hosts.total ?? 0, 'hosts-total'),
        stat('stale hosts', hosts.stale ?? 0, 'hosts-stale', (hosts.stale ?? 0) > 0
          ? el('a.small', { href: '#/hosts', text: 'see hosts' }) : null),
        stat('open violations', v.open ?? 0, 'violations-open'))));

  const chartBox = el('div.chart-box');
  const chooser = el('div.seg.no-print', { role: 'group', 'aria-label': 'Trend period' });
  for (const d of [30, 90]) {
    chooser.append(el('button.btn.btn-seg', {
      type: 'button', 'aria-pressed': String(d === trendDays), 'data-days': d, text: `${d} days`,
      onclick: async (ev) => {
        trendDays = d;
        for (const b of chooser.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === ev.currentTarget));
        try {
          const t = await api.get(`/api/v1/trend?days=${d}`);
          clear(chartBox).append(trendChart(t.points || [], { days: d }));
        } catch (e) {
          clear(chartBox).append(el('p.alert.alert-error', { text: e.message }));
        }
      },
    }));
  }
  chartBox.append(trendChart(trend.points || [], { days: trendDays }));
  const trendCard = el('section.card.trend', { 'aria-labelledby': 'h-trend' },
    el('div.card-head', null, el('h2', { id: 'h-trend', text: 'Score trend' }), chooser), chartBox);

  const cats = CATEGORIES.map(([k, name]) => scoreRow(name, (sum.categories || {})[k], k));
  for (const k of Object.keys(sum.categories || {})) {
    if (!CATEGORIES.some(([c]) => c === k)) cats.push(scoreRow(categoryName(k), sum.categories[k], k));
  }
  const catCard = el('section.card', { 'aria-labelledby': 'h-cat', 'data-card': 'categories' },
    el('h2', { id: 'h-cat', text: 'By category' }), scoreTable('Score by category', cats));
  const sevCard = el('section.card', { 'aria-labelledby': 'h-sev', 'data-card': 'severities' },
    el('h2', { id: 'h-sev', text: 'By severity' }),
    scoreTable('Score by severity', SEVERITIES.map((s) => scoreRow(sevBadge(s), (sum.severities || {})[s], s))));

  const openSev = el('table.data.compact', { 'data-card': 'open-by-severity' },
    el('caption', { text: 'Open, by severity' }),
    el('tbody', null, SEVERITIES.map((s) => el('tr', { 'data-key': s },
      el('th', { scope: 'row' }, sevBadge(s)),
      el('td.num', null, (bySev[s] ?? 0) > 0
        ? el('a', { href: `#/violations?severity=${s}`, text: bySev[s] }) : el('span', { text: '0' }))))));
  const ages = [['lt_1d', 'under a day'], ['1d_7d', '1 to 7 days'], ['7d_30d', '7 to 30 days'], ['gt_30d', 'over 30 days']];
  const openAge = el('table.data.compact', { 'data-card': 'open-by-age' },
    el('caption', { text: 'Open, by age' }),
    el('tbody', null, ages.map(([k, label]) => el('tr', { 'data-key': k, class: k === 'gt_30d' && (byAge[k] ?? 0) > 0 ? 'row-warn' : null },
      el('th', { scope: 'row', text: label }), el('td.num', { text: byAge[k] ?? 0 })))));
  const violCard = el('section.card', { 'aria-labelledby': 'h-viol', 'data-card': 'violations' },
    el('h2', { id: 'h-viol', text: 'Open violations' }),
    (v.open ?? 0) === 0 ? el('p.good-news', { text: 'No open violations. Every check that failed has been fixed.' }) : null,
    el('div.two', null, openSev, openAge),
    el('p.no-print', null, el('a', { href: '#/violations', text: 'All violations →' })));

  root.append(el('div.grid', null, hero, trendCard, catCard, sevCard, violCard));
}
