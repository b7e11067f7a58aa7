// Analytics: validations per day, the most-validated licenses and the TKI authentication log.

import { API, api, ApiError, describe, loadProducts, productMap } from './api.js';
import { barChart, OUTCOMES, usageDays } from './charts.js';
import {
  badge, card, cell, enc, field, h, idCell, pageHead, pager, put, select, stats, table, timeCell,
} from './dom.js';
import { addDays, fmtNum, isoDay, posInt } from './format.js';
import { go, withQuery } from './nav.js';

export async function viewAnalytics(ctx) {
  const q = ctx.query;
  const today = isoDay(new Date());
  const dateOk = (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v);
  const to = dateOk(q.get('to')) ? q.get('to') : today;
  const from = dateOk(q.get('from')) ? q.get('from') : addDays(to, -29);
  const productId = q.get('product_id') || '';
  const alLicense = (q.get('al_license') || '').trim();
  const alIp = (q.get('al_ip') || '').trim();
  const alOutcome = ['success', 'failed'].includes(q.get('al_outcome')) ? q.get('al_outcome') : '';
  const alPage = posInt(q.get('al_page'), 1);
  const products = await loadProducts().catch(() => []);
  const byId = productMap(products);
  if (!ctx.alive()) return;

  const fromIn = h('input', { id: 'analytics-from', type: 'date', value: from, max: today });
  const toIn = h('input', { id: 'analytics-to', type: 'date', value: to, max: today });
  const productSel = select({ id: 'analytics-product' }, [['', 'All products'], ...products.map((p) => [p.id, p.name])], productId);
  const filters = h('form', { class: 'toolbar', 'aria-label': 'Analytics period' },
    field('From', fromIn), field('To', toIn), field('Product', productSel),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'button button-secondary', id: 'analytics-apply' }, 'Apply')));
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(withQuery({ from: fromIn.value, to: toIn.value, product_id: productSel.value }));
  });

  const overview = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const topSlot = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const logsSlot = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));

  const licIn = h('input', { id: 'authlog-license', type: 'text', value: alLicense, placeholder: 'lic_…', autocomplete: 'off' });
  const ipIn = h('input', { id: 'authlog-ip', type: 'text', value: alIp, placeholder: '203.0.113.7', autocomplete: 'off' });
  const outcomeSel = select({ id: 'authlog-outcome' }, [['', 'Any outcome'], ['success', 'Success'], ['failed', 'Failed']], alOutcome);
  const logFilters = h('form', { class: 'toolbar', 'aria-label': 'Filter authentication logs' },
    field('License id', licIn), field('IP address', ipIn), field('Outcome', outcomeSel),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'button button-secondary', id: 'authlog-apply' }, 'Filter')));
  logFilters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(withQuery({ al_license: licIn.value.trim(), al_ip: ipIn.value.trim(), al_outcome: outcomeSel.value, al_page: '' }));
  });

  ctx.render(
    pageHead('Analytics', 'Validations at your edges and TKI authentications, by day and outcome (UTC).'),
    filters,
    card('Validations per day', overview),
    card('Most-validated licenses', topSlot),
    card('TKI authentication log', logFilters, logsSlot));

  // A reversed period is answered here: the server would only refuse it.
  const analyticsTask = (from > to
    ? Promise.reject(new ApiError(400, 'VALIDATION_ERROR', 'The period starts after it ends.'))
    : api('GET', `${API}/analytics`, { query: { from, to, product_id: productId, top: 10 } })).then((r) => {
    if (!ctx.alive()) return;
    const a = r.data || {};
    const v = a.totals?.validations || {};
    const au = a.totals?.auths || {};
    const total = Number(v.total) || 0;
    const valid = Number(v.VALID) || 0;
    put(overview,
      stats([
        ['Validations', fmtNum(total)],
        ['Valid', fmtNum(valid)],
        ['Refused', fmtNum(total - valid)],
        ['Valid rate', total ? `${((valid / total) * 100).toFixed(1)}%` : '—'],
        ['TKI authentications', fmtNum(au.total ?? 0)],
        ['TKI successes', fmtNum(au.SUCCESS ?? 0)],
      ]),
      barChart({
        title: `Validations per day by outcome, ${a.from || from} to ${a.to || to}`,
        days: usageDays(a.from || from, a.to || to, a.days, (d) => d.validations),
        series: OUTCOMES,
        emptyText: 'No validations in this period.',
      }));
    const top = Array.isArray(a.topLicenses) ? a.topLicenses : [];
    put(topSlot, table('Most-validated licenses', ['License', 'Product', ['Validations', 'num']],
      top.map((t) => h('tr', { 'data-test': 'top-license-row' },
        idCell(t.licenseId, `#/licenses/${enc(t.licenseId)}`),
        cell(byId.get(t.productId)?.name || t.productId || '—', 'cell-wrap'),
        cell(fmtNum(t.validations), 'num'))),
      { emptyText: 'No validations in this period.' }));
  }, (e) => {
    if (!ctx.alive()) return;
    const msg = h('p', { class: 'notice notice-warn' }, `Analytics are not available: ${describe(e)}`);
    put(overview, msg);
    put(topSlot);
  });

  const logsTask = api('GET', `${API}/auth-logs`, { query: { license_id: alLicense, ip: alIp, outcome: alOutcome, page: alPage, limit: 20 } }).then((r) => {
    if (!ctx.alive()) return;
    const logs = Array.isArray(r.data) ? r.data : [];
    put(logsSlot,
      table('TKI authentication attempts, newest first', ['When', 'License', 'Product', 'Version', 'IP', 'HWID', 'Outcome', 'Message'],
        logs.map((l) => h('tr', { 'data-test': 'authlog-row' },
          timeCell(l.timestamp),
          l.licenseId ? idCell(l.licenseId, `#/licenses/${enc(l.licenseId)}`) : cell('—'),
          cell(l.product || '—', 'cell-wrap'),
          cell(l.version || '—'),
          cell(l.ip || '—', 'cell-id'),
          cell(l.hwid || '—', 'cell-id'),
          cell(badge(l.outcome)),
          cell([l.message || '', l.code ? h('span', { class: 'sub' }, l.code) : null], 'cell-wrap'))),
        { emptyText: alLicense || alIp || alOutcome ? 'No attempt matches these filters.' : 'No TKI authentications yet.', testId: 'authlogs-table' }),
      pager(r.pagination, (n) => go(withQuery({ al_page: n }))));
  }, (e) => {
    if (ctx.alive()) put(logsSlot, h('p', { class: 'notice notice-warn' }, `The log is not available: ${describe(e)}`));
  });
  await Promise.all([analyticsTask, logsTask]);
}
