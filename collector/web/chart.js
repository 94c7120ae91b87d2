// chart.js - the score trend as an SVG line chart, built node by node.
import { svg, el } from './dom.js';

// points: [{day: "2026-11-25", score: 87.5 | null}], oldest first.
export function trendChart(points, { title = 'Fleet score', days = 30 } = {}) {
  const W = 960, H = 240, L = 44, R = 16, T = 12, B = 28;
  const plotW = W - L - R, plotH = H - T - B;
  const end = Date.UTC(...todayParts());
  const start = end - (days - 1) * 86400000;
  const x = (t) => L + (days <= 1 ? plotW / 2 : ((t - start) / (end - start)) * plotW);
  const y = (s) => T + plotH - (s / 100) * plotH;

  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': `${title} over the last ${days} days`,
  });
  root.append(svg('title', null, `${title} over the last ${days} days`));
  for (const v of [0, 25, 50, 75, 100]) {
    root.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'grid' }));
    root.append(svg('text', { x: L - 6, y: y(v) + 4, class: 'tick tick-y' }, `${v}%`));
  }
  const labels = days <= 31 ? 5 : 6;
  for (let i = 0; i <= labels; i++) {
    const t = start + Math.round(((end - start) * i) / labels / 86400000) * 86400000;
    root.append(svg('text', { x: x(t), y: H - 8, class: 'tick tick-x' }, new Date(t).toISOString().slice(5, 10)));
  }
  const pts = points
    .filter((p) => p.score !== null && p.score !== undefined)
    .map((p) => ({ t: Date.parse(`${p.day}T00:00:00Z`), s: Number(p.score), p }))
    .filter((p) => p.t >= start && p.t <= end);
  if (pts.length > 1) {
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.s).toFixed(1)}`).join(' ');
    const area = `${d} L${x(pts[pts.length - 1].t).toFixed(1)},${y(0)} L${x(pts[0].t).toFixed(1)},${y(0)} Z`;
    root.append(svg('path', { d: area, class: 'area' }));
    root.append(svg('path', { d, class: 'line' }));
  }
  for (const p of pts) {
    const dot = svg('circle', { cx: x(p.t).toFixed(1), cy: y(p.s).toFixed(1), r: 3.5, class: 'dot' });
    dot.append(svg('title', null, `${p.p.day}: ${p.s.toFixed(1)}% (${p.p.pass} pass, ${p.p.fail} fail)`));
    root.append(dot);
  }
  const wrap = el('figure.chart-wrap', null, root);
  if (pts.length === 0) wrap.append(el('figcaption.muted', { text: 'No scores recorded in this period yet.' }));
  else if (pts.length === 1) wrap.append(el('figcaption.muted', { text: 'One day of data so far; the line appears from the second day.' }));
  return wrap;
}

function todayParts() {
  const d = new Date();
  return [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
}
