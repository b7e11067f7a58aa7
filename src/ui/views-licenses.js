// Licenses: the list with its filters and the issuing form, and one license's page with its
// machines, events, email and usage.

import {
  API, api, ApiError, describe, listAll, loadProducts, MAX_PAGES, productMap,
} from './api.js';
import { barChart, OUTCOMES, usageDays } from './charts.js';
import { notFound } from './chrome.js';
import { confirmDialog, modal, showSecret } from './dialogs.js';
import {
  badge, button, card, cardWithActions, cell, enc, field, fields, flash, h, idCell, pageHead, pager,
  put, select, stats, table, timeCell,
} from './dom.js';
import { addDays, fmtDay, fmtNum, fmtTime, isoDay, planSummary, plural, posInt } from './format.js';
import { busy, FormProblem, onSubmit } from './forms.js';
import { go, withQuery } from './nav.js';

const LICENSE_STATUSES = ['active', 'suspended', 'expired', 'revoked'];

function planOptions(product) {
  const plans = product && Array.isArray(product.plans) ? product.plans : [];
  return plans.map((p) => [p.id, `${p.id} — ${planSummary(p)}`]);
}

function licenseActions(l, onDone) {
  const id = l.id;
  const act = (action, label, testId, kind, confirm) => button(label, {
    'data-test': testId,
    'aria-label': `${label} license ${id}`,
    onclick: async (ev) => {
      if (confirm && !(await confirmDialog(...confirm))) return;
      const r = await busy(ev.currentTarget, () => api('POST', `${API}/licenses/${enc(id)}/${action}`));
      if (r && r.license) {
        flash(`License ${id} is ${r.license.status}.`);
        onDone(r.license, action);
      }
    },
  }, `button-sm ${kind}`);
  const out = [];
  if (l.status === 'active') out.push(act('suspend', 'Suspend', 'suspend', 'button-secondary'));
  if (l.status === 'suspended') out.push(act('reinstate', 'Reinstate', 'reinstate', 'button-secondary'));
  if (l.status !== 'revoked') {
    out.push(act('revoke', 'Revoke', 'revoke', 'button-danger',
      ['Revoke this license?', `License ${id} will stop validating everywhere, for good. A revoked license cannot be reinstated.`, 'Revoke license']));
  }
  return out;
}

function licenseRow(l, products) {
  const p = products.get(l.productId);
  const tr = h('tr', { 'data-test': 'license-row', 'data-id': l.id });
  const fill = (lic) => {
    const href = `#/licenses/${enc(lic.id)}`;
    put(tr,
      idCell(lic.id, href),
      cell([p ? p.name : (lic.productId || '—'), h('span', { class: 'sub' }, [lic.plan ? `Plan ${lic.plan}` : '', lic.type].filter(Boolean).join(' · '))], 'cell-wrap'),
      cell(lic.email || '—', 'cell-email'),
      cell(badge(lic.status, 'status')),
      cell(`${fmtNum(lic.activations ?? 0)} / ${fmtNum(lic.maxActivations ?? 0)}`, 'num'),
      h('td', { class: 'nowrap', title: fmtTime(lic.expiresAt) }, fmtDay(lic.expiresAt)),
      h('td', { class: 'actions' }, licenseActions(lic, (next) => {
        fill(next);
        const first = tr.querySelector('td.actions button');
        if (first) first.focus();
      })));
  };
  fill(l);
  return tr;
}

export async function viewLicenses(ctx) {
  const q = ctx.query;
  const status = LICENSE_STATUSES.includes(q.get('status')) ? q.get('status') : '';
  const productId = q.get('product_id') || '';
  const search = (q.get('q') || '').trim();
  const page = posInt(q.get('page'), 1);
  const limit = Math.min(100, posInt(q.get('limit'), 20));
  const products = await loadProducts();
  const byId = productMap(products);
  if (!ctx.alive()) return;

  // Issue a license from a product's plan.
  const productSel = select({ id: 'license-product', required: true },
    [['', products.length ? 'Choose a product' : 'No products yet'], ...products.map((p) => [p.id, p.name])], productId);
  const planSel = select({ id: 'license-plan', required: true }, [['', 'Choose a product first']]);
  const fillPlans = () => {
    const opts = planOptions(byId.get(productSel.value));
    put(planSel, ...(opts.length ? opts : [['', productSel.value ? 'This product has no plans' : 'Choose a product first']])
      .map(([v, label]) => h('option', { value: v }, label)));
  };
  productSel.addEventListener('change', fillPlans);
  fillPlans();
  const email = h('input', { id: 'license-email', type: 'email', required: true, autocomplete: 'off', placeholder: 'customer@example.com' });
  const create = onSubmit(h('form', { 'aria-label': 'Issue a license' },
    h('div', { class: 'form-grid' },
      field('Product', productSel),
      field('Plan', planSel),
      field('Customer email', email),
      h('div', { class: 'field field-action' }, h('button', { type: 'submit', class: 'button', id: 'license-create' }, 'Create license')))), async () => {
    if (!productSel.value) throw new FormProblem('Choose a product.');
    if (!planSel.value) throw new FormProblem('Choose a plan: add one to the product first.');
    const r = await api('POST', `${API}/licenses`, { body: { product: productSel.value, plan: planSel.value, customer_email: email.value.trim() } });
    const lic = r.license || {};
    email.value = '';
    flash(`License ${lic.id} created.`);
    // The list catches up behind the dialog; the key is shown whatever becomes of that.
    const refreshed = loadList().catch((e) => flash(describe(e), true));
    await showSecret({
      title: 'License created',
      testId: 'license-key-dialog',
      intro: 'Give this key to your customer. Their app validates it at an edge.',
      value: lic.key || '',
      valueId: 'new-license-key',
      extra: h('p', { class: 'hint' }, 'License ', h('a', { href: `#/licenses/${enc(lic.id)}`, id: 'new-license-id', 'data-id': lic.id }, lic.id)),
    });
    await refreshed;
  });

  // Filters: status and product are the server's; the search reads up to 1,000 licenses of
  // those and matches ids, emails, plans and product names here.
  const statusSel = select({ id: 'filter-status' }, [['', 'Any status'], ...LICENSE_STATUSES.map((v) => [v, v[0].toUpperCase() + v.slice(1)])], status);
  const productFilter = select({ id: 'filter-product' }, [['', 'Any product'], ...products.map((p) => [p.id, p.name])], productId);
  const searchIn = h('input', { id: 'filter-search', type: 'search', value: search, placeholder: 'License id, email, plan…' });
  const limitSel = select({ id: 'filter-limit' }, [10, 20, 50, 100].map((n) => [n, `${n} per page`]), limit);
  const filters = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter licenses' },
    field('Status', statusSel),
    field('Product', productFilter),
    field('Search', searchIn, { grow: true }),
    field('Page size', limitSel),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'button button-secondary', id: 'filter-apply' }, 'Apply')));
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    go(withQuery({ status: statusSel.value, product_id: productFilter.value, q: searchIn.value.trim(), limit: limitSel.value, page: '' }));
  });

  const listBox = h('div', { 'data-test': 'license-list' }, h('p', { class: 'loading' }, 'Loading licenses…'));
  const filterQuery = { status, product_id: productId };

  async function loadList() {
    let rows;
    let pagination;
    let note = null;
    if (search) {
      const needle = search.toLowerCase();
      const all = await listAll(`${API}/licenses`, filterQuery);
      const hits = all.filter((l) => [l.id, l.email, l.plan, byId.get(l.productId)?.name, l.productId]
        .some((v) => typeof v === 'string' && v.toLowerCase().includes(needle)));
      const start = (page - 1) * limit;
      rows = hits.slice(start, start + limit);
      const totalPages = Math.max(1, Math.ceil(hits.length / limit));
      pagination = { page, limit, total: hits.length, totalPages, hasMore: page < totalPages };
      note = h('p', { class: 'hint' }, `Matches for “${search}” among ${plural(all.length, 'license', 'licenses')}${all.length >= MAX_PAGES * 100 ? ' (the first ones only)' : ''}.`);
    } else {
      const r = await api('GET', `${API}/licenses`, { query: { ...filterQuery, page, limit } });
      rows = Array.isArray(r.data) ? r.data : [];
      pagination = r.pagination;
    }
    if (!ctx.alive()) return;
    put(listBox,
      note || '',
      table('Licenses', ['License', 'Product', 'Customer', 'Status', ['Seats', 'num'], 'Expires', ['Actions', 'actions']],
        rows.map((l) => licenseRow(l, byId)),
        { emptyText: status || productId || search ? 'No license matches these filters.' : 'No licenses yet: issue one above.', testId: 'licenses-table' }),
      pager(pagination, (n) => go(withQuery({ page: n }))));
  }

  ctx.render(
    pageHead('Licenses', 'Issue licenses from your products’ plans, and suspend, reinstate or revoke them.'),
    products.length
      ? card('Issue a license', create)
      : card('Issue a license', h('p', { class: 'notice notice-warn' }, 'Licenses are issued from a product’s plan. ', h('a', { href: '#/products' }, 'Create a product'), ' first.')),
    card('All licenses', filters, listBox));
  await loadList();
}

export async function viewLicense(ctx, id) {
  let lic;
  try {
    lic = (await api('GET', `${API}/licenses/${enc(id)}`)).license;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      notFound(ctx, 'license');
      return;
    }
    throw e;
  }
  if (!ctx.alive() || !lic) return;
  let products = [];
  try {
    products = await loadProducts();
  } catch {
    products = [];
  }
  const product = productMap(products).get(lic.productId);
  const rangeDays = [7, 30, 90].includes(Number(ctx.query.get('days'))) ? Number(ctx.query.get('days')) : 30;

  const statusSlot = h('span', {});
  const actionsSlot = h('div', { class: 'toolbar' });
  const detailsSlot = h('div', {});
  const fill = (l) => {
    lic = l;
    put(statusSlot, badge(l.status, 'status'));
    put(actionsSlot, ...licenseActions(l, (next) => {
      fill(next);
      const again = actionsSlot.querySelector('button');
      if (again) again.focus();
    }),
      l.expiresAt || l.type === 'subscription' || l.type === 'trial'
        ? button('Renew', { 'data-test': 'renew', onclick: () => renew() }, 'button-secondary button-sm') : null,
      button('Delete', { 'data-test': 'delete-license', onclick: (ev) => remove(ev.currentTarget) }, 'button-danger button-sm'));
    put(detailsSlot, fields([
      ['License id', h('code', {}, l.id)],
      ['Product', product ? [product.name, ' ', h('span', { class: 'sub' }, l.productId)] : l.productId],
      ['Plan', l.plan],
      ['Type', l.type],
      ['Status', badge(l.status)],
      ['Mode', l.mode],
      ['Customer email', l.email],
      ['Seats in use', `${fmtNum(l.activations ?? 0)} of ${fmtNum(l.maxActivations ?? 0)}`],
      l.leaseSeconds ? ['Lease', plural(l.leaseSeconds, 'second', 'seconds')] : null,
      ['Expires', fmtTime(l.expiresAt)],
      ['Created', fmtTime(l.createdAt)],
      ['Offline grace', l.offlineGraceHours === null || l.offlineGraceHours === undefined ? 'The product’s' : plural(l.offlineGraceHours, 'hour', 'hours')],
      ['Allowed domains', (l.allowedDomains || []).join(', ')],
      ['IP limit', l.maxIps ? fmtNum(l.maxIps) : 'None'],
      ['HWID limit', l.maxHwids ? fmtNum(l.maxHwids) : 'None'],
      ['IPs seen', (l.ips || []).join(', ')],
      ['HWIDs seen', (l.hwids || []).join(', ')],
      ['Staff license', l.staff ? 'Yes' : 'No'],
      l.discordUsername || l.discordId ? ['Discord', [l.discordUsername || '', ' ', l.discordTag || '', ' ', l.discordId || ''].join('').trim()] : null,
      ['Metadata', h('pre', { class: 'json' }, JSON.stringify(l.metadata ?? {}, null, 2))],
    ]));
    put(machinesSlot, table('Activated machines', ['Machine', 'Label', 'Activated', 'Lease expires'],
      (l.machines || []).map((mc) => h('tr', { 'data-test': 'machine-row' },
        idCell(mc.machineId), cell(mc.label || '—'), timeCell(mc.activatedAt), timeCell(mc.leaseExpiresAt))),
      { emptyText: 'No machine holds a seat.' }));
  };
  const machinesSlot = h('div', {});
  const emailSlot = h('div', { 'data-test': 'license-email' });

  async function renew() {
    const days = h('input', { id: 'renew-days', type: 'number', min: '1', max: '36500', inputmode: 'numeric' });
    const ok = await modal({
      title: 'Renew this license',
      testId: 'renew-dialog',
      content: [h('p', {}, 'The expiry moves forward from the later of its current expiry and now.'),
        field('Days', days, { hint: 'Leave empty to renew by the plan’s period.' })],
      actions: [{ label: 'Cancel', value: false }, { label: 'Renew', value: true, kind: 'button', testId: 'confirm' }],
      focus: days,
    });
    if (!ok) return;
    const n = Number.parseInt(days.value, 10);
    const r = await busy(null, () => api('POST', `${API}/licenses/${enc(lic.id)}/renew`, Number.isFinite(n) ? { body: { duration_days: n } } : {}));
    if (r && r.license) {
      fill(r.license);
      flash(`License renewed: it now expires ${fmtTime(r.license.expiresAt)}.`);
    }
  }

  async function remove(btn) {
    if (!(await confirmDialog('Delete this license?', `License ${lic.id} and its activations are deleted. Its key stops validating.`, 'Delete license'))) return;
    const r = await busy(btn, () => api('DELETE', `${API}/licenses/${enc(lic.id)}`));
    if (r) {
      flash(`License ${lic.id} deleted.`);
      go('#/licenses');
    }
  }

  fill(lic);
  const rangeNav = h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Usage period' }, [7, 30, 90].map((n) =>
    h('a', { class: `button button-sm ${n === rangeDays ? '' : 'button-secondary'}`, href: withQuery({ days: n }), 'aria-current': n === rangeDays ? 'true' : null }, `${n} days`)));
  const usageSlot = h('div', {}, h('p', { class: 'loading' }, 'Loading usage…'));
  const eventsSlot = h('div', {}, h('p', { class: 'loading' }, 'Loading events…'));
  ctx.render(
    h('p', {}, h('a', { href: '#/licenses' }, '← All licenses')),
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', { tabindex: '-1' }, 'License ', h('code', {}, lic.id), statusSlot),
        h('p', { class: 'lede' }, product ? `${product.name}${lic.plan ? ` · plan ${lic.plan}` : ''}` : lic.productId)),
      actionsSlot),
    h('div', { class: 'grid-2' }, h('div', {}, card('Details', detailsSlot), card('License email', emailSlot)), h('div', {}, card('Machines', machinesSlot), card('Recent events', eventsSlot))),
    cardWithActions('Usage', rangeNav, usageSlot));

  const to = isoDay(new Date());
  const from = addDays(to, -(rangeDays - 1));
  const usageTask = api('GET', `${API}/licenses/${enc(lic.id)}/usage`, { query: { from, to } }).then((r) => {
    if (!ctx.alive()) return;
    const u = r.data || {};
    const totals = u.totals || {};
    const v = totals.validations || {};
    const a = totals.auths || {};
    const distinct = totals.distinct || {};
    const sharing = u.keySharing || {};
    put(usageSlot,
      sharing.flagged ? h('p', { class: 'notice notice-warn', role: 'note' },
        `Possible key sharing: seen on more than ${fmtNum(sharing.threshold)} machines or addresses on ${(sharing.days || []).join(', ') || 'some days'}.`) : null,
      stats([
        ['Validations', fmtNum(v.total ?? 0)],
        ['Valid', fmtNum(v.VALID ?? 0)],
        ['TKI authentications', fmtNum(a.total ?? 0)],
        ['Distinct machines', fmtNum(distinct.machines ?? 0)],
        ['Distinct IPs', fmtNum(distinct.ips ?? 0)],
        ['Last validated', fmtTime(totals.lastValidatedAt), true],
      ]),
      barChart({
        title: `Validations per day of license ${lic.id}, by outcome`,
        days: usageDays(u.from || from, u.to || to, u.days, (d) => d.validations),
        series: OUTCOMES,
        emptyText: 'No validations in this period.',
      }));
  }, (e) => {
    if (ctx.alive()) put(usageSlot, h('p', { class: 'notice notice-warn' }, `Usage is not available: ${describe(e)}`));
  });

  // The event list has no license filter: the account's newest events are read and this
  // license's picked out.
  const eventsTask = (async () => {
    const head = await api('GET', `${API}/events`, { query: { limit: 1 } });
    const total = Number(head.pagination?.total) || 0;
    const events = [];
    for (let end = total, i = 0; end > 0 && i < 3; end -= 100, i += 1) {
      const offset = Math.max(0, end - 100);
      const r = await api('GET', `${API}/events`, { query: { offset, limit: end - offset } });
      events.unshift(...(Array.isArray(r.data) ? r.data : []));
    }
    return events.filter((ev) => ev && ev.data && ev.data.licenseId === lic.id).reverse().slice(0, 25);
  })().then((events) => {
    if (!ctx.alive()) return;
    put(eventsSlot, table('Recent events of this license', ['Event', 'When', 'Machine'],
      events.map((ev) => h('tr', { 'data-test': 'event-row' }, cell(h('code', {}, ev.event)), timeCell(ev.timestamp), cell(ev.data.machineId || '—', 'cell-id'))),
      { emptyText: 'No recent events.' }));
  }, (e) => {
    if (ctx.alive()) put(eventsSlot, h('p', { class: 'notice notice-warn' }, `Events are not available: ${describe(e)}`));
  });
  // The key's email to the customer (a license from a plan with a customer email, when the
  // primary has an SMTP relay): queued, sent or failed, with its attempts.
  const emailTask = !lic.email
    ? Promise.resolve(put(emailSlot, h('p', { class: 'sub' }, 'The license has no customer email.')))
    : api('GET', `${API}/licenses/${enc(lic.id)}/email`).then((r) => {
    if (!ctx.alive()) return;
    const m = r.email || {};
    put(emailSlot, fields([
      ['To', m.to],
      ['State', badge(m.status)],
      ['Attempts', fmtNum(m.attempts ?? 0)],
      m.sentAt ? ['Sent', fmtTime(m.sentAt)] : null,
      m.status === 'queued' && m.nextAttemptAt ? ['Next attempt', fmtTime(m.nextAttemptAt)] : null,
      m.lastError ? ['Last error', m.lastError] : null,
    ]));
  }, (e) => {
    if (!ctx.alive()) return;
    put(emailSlot, h('p', { class: 'sub' }, e instanceof ApiError && e.status === 404
      ? 'No email was sent for this license (no customer email, or no SMTP relay configured).'
      : `The email's state is not available: ${describe(e)}`));
  });
  await Promise.all([usageTask, eventsTask, emailTask]);
}
