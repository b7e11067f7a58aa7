// Charts: SVG built with the same helpers as the rest of the page (nothing from markup), each
// with its numbers in a table as well.

import { cell, h, s, table, uid } from './dom.js';
import { dayRange, fmtNum, plural } from './format.js';

// A validation's outcomes, as the series of a chart.
export const OUTCOMES = [
  { key: 'VALID', label: 'Valid', color: '#067647' },
  { key: 'NOT_FOUND', label: 'Not found', color: '#667085' },
  { key: 'EXPIRED', label: 'Expired', color: '#b54708' },
  { key: 'SUSPENDED', label: 'Suspended', color: '#dc6803' },
  { key: 'REVOKED', label: 'Revoked', color: '#b42318' },
  { key: 'PRODUCT_MISMATCH', label: 'Product mismatch', color: '#6938ef' },
  { key: 'MACHINE_NOT_ACTIVATED', label: 'Machine not activated', color: '#0086c9' },
  { key: 'DOMAIN_MISMATCH', label: 'Domain mismatch', color: '#c11574' },
];

function niceTop(max) {
  if (max <= 4) return 4;
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((v) => v >= raw && Number.isInteger(v)) ?? 10 * mag;
  return step * 4;
}

// Stacked bars, one per day; each series' segment carries a <title> (the browser's tooltip),
// and the same numbers are in a table under the chart for those who cannot see it.
export function barChart({ title, days, series, emptyText }) {
  const W = 760;
  const H = 230;
  const m = { l: 52, r: 12, t: 14, b: 34 };
  const iw = W - m.l - m.r;
  const ih = H - m.t - m.b;
  const totals = days.map((d) => series.reduce((a, sr) => a + (Number(d.values[sr.key]) || 0), 0));
  const grand = totals.reduce((a, b) => a + b, 0);
  const top = niceTop(Math.max(0, ...totals));
  const titleId = uid('chart');
  const descId = uid('chart');
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, 'data-test': 'chart' },
    s('title', { id: titleId }, title),
    s('desc', { id: descId }, `${plural(grand, 'event', 'events')} over ${plural(days.length, 'day', 'days')}.`));
  for (let i = 0; i <= 4; i += 1) {
    const y = m.t + ih - (ih * i) / 4;
    svg.append(s('line', { class: i === 0 ? 'baseline' : 'grid', x1: m.l, x2: W - m.r, y1: y, y2: y }));
    svg.append(s('text', { class: 'axis-label', x: m.l - 8, y: y + 4, 'text-anchor': 'end' }, fmtNum((top * i) / 4)));
  }
  const n = Math.max(1, days.length);
  const band = iw / n;
  const bw = Math.max(2, Math.min(36, band * 0.7));
  const every = Math.ceil(n / 10);
  days.forEach((d, i) => {
    const x = m.l + i * band + (band - bw) / 2;
    let y0 = m.t + ih;
    for (const sr of series) {
      const v = Number(d.values[sr.key]) || 0;
      if (!v) continue;
      const hgt = (v / top) * ih;
      svg.append(s('rect', { x: x.toFixed(1), y: (y0 - hgt).toFixed(1), width: bw.toFixed(1), height: Math.max(0.5, hgt).toFixed(1), fill: sr.color },
        s('title', {}, `${d.date} · ${sr.label}: ${fmtNum(v)}`)));
      y0 -= hgt;
    }
    if (i % every === 0 || i === n - 1) {
      svg.append(s('text', { class: 'axis-label', x: (m.l + i * band + band / 2).toFixed(1), y: H - 12, 'text-anchor': 'middle' }, d.date.slice(5)));
    }
  });
  const used = series.filter((sr) => days.some((d) => Number(d.values[sr.key])));
  const legend = h('ul', { class: 'legend', 'aria-label': 'Legend' }, (used.length ? used : series.slice(0, 1)).map((sr) =>
    h('li', {}, s('svg', { viewBox: '0 0 12 12', 'aria-hidden': 'true' }, s('rect', { width: 12, height: 12, rx: 2, fill: sr.color })), sr.label)));
  const dataRows = [];
  days.forEach((d, i) => {
    if (totals[i] <= 0) return;
    dataRows.push(h('tr', {},
      h('th', { scope: 'row' }, d.date),
      used.map((sr) => cell(fmtNum(d.values[sr.key] || 0), 'num')),
      cell(fmtNum(totals[i]), 'num')));
  });
  const details = h('details', { class: 'data-table' }, h('summary', {}, 'Show the numbers'),
    table(title, ['Day', ...used.map((sr) => [sr.label, 'num']), ['Total', 'num']], dataRows, { emptyText }));
  return h('figure', { class: 'chart' }, svg,
    grand === 0 ? h('p', { class: 'empty' }, emptyText) : [legend, details]);
}

// Days from..to with every day present, from a server's list that may skip quiet ones.
export function usageDays(from, to, days, pick) {
  const byDate = new Map((days || []).map((d) => [d.date, d]));
  return dayRange(from, to).map((date) => {
    const d = byDate.get(date);
    const values = {};
    if (d) for (const [k, v] of Object.entries(pick(d) || {})) if (k !== 'total') values[k] = Number(v) || 0;
    return { date, values };
  });
}
