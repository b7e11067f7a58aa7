// Webhook endpoints and their deliveries.

import { API, api, ApiError } from './api.js';
import { notFound } from './chrome.js';
import { confirmDialog, showSecret } from './dialogs.js';
import {
  badge, button, card, cell, checkbox, enc, field, fields, flash, h, idCell, pageHead, pager, put,
  table, timeCell,
} from './dom.js';
import { fmtNum, fmtTime, posInt } from './format.js';
import { busy, FormProblem, onSubmit } from './forms.js';
import { go, route, withQuery } from './nav.js';

const WEBHOOK_EVENTS = ['license.created', 'license.activated', 'license.deactivated',
  'license.expired', 'license.suspended', 'license.renewed', 'validation.failed'];

export async function viewWebhooks(ctx) {
  const page = posInt(ctx.query.get('page'), 1);
  const list = await api('GET', `${API}/webhooks`, { query: { page, limit: 20 } });
  if (!ctx.alive()) return;
  const url = h('input', { id: 'webhook-url', type: 'url', required: true, placeholder: 'https://example.com/webhooks/licensing', autocomplete: 'off' });
  const eventBoxes = WEBHOOK_EVENTS.map((ev) => checkbox(ev, { id: `webhook-event-${ev.replace('.', '-')}`, value: ev, checked: true }));
  const form = onSubmit(h('form', { 'aria-label': 'Add a webhook endpoint' },
    h('div', { class: 'form-wide' }, field('Endpoint URL', url, { hint: 'Deliveries are POSTed here, signed with the endpoint’s secret.' })),
    h('fieldset', {}, h('legend', {}, 'Events'), h('div', { class: 'checks' }, eventBoxes)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button', id: 'webhook-create' }, 'Add endpoint'))), async () => {
    const events = eventBoxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    if (!events.length) throw new FormProblem('Choose at least one event.');
    const r = await api('POST', `${API}/webhooks`, { body: { url: url.value.trim(), events } });
    await showSecret({
      title: 'Endpoint added',
      testId: 'webhook-secret-dialog',
      intro: 'Verify each delivery’s X-TO-Signature with this secret (HMAC-SHA256 of timestamp.body).',
      value: r.webhook?.secret || '',
      valueId: 'webhook-secret',
    });
    route();
  });
  const rows = (Array.isArray(list.data) ? list.data : []).map((w) => webhookRow(w));
  ctx.render(
    pageHead('Webhooks', 'Signed notifications of license events, sent to your endpoints and retried until they answer.'),
    card('Add an endpoint', form),
    card('Endpoints', table('Webhook endpoints', ['Endpoint', 'Events', 'State', 'Created', ['Actions', 'actions']], rows,
      { emptyText: 'No endpoints yet.', testId: 'webhooks-table' }),
    pager(list.pagination, (n) => go(withQuery({ page: n })))));
}

function webhookActions(w, onChange, { detail = false } = {}) {
  const href = `#/webhooks/${enc(w.id)}`;
  const out = [];
  if (!detail) out.push(h('a', { class: 'button button-secondary button-sm', href, 'aria-label': `Deliveries of ${w.url}` }, 'Deliveries'));
  out.push(button(w.enabled ? 'Disable' : 'Enable', {
    'data-test': 'toggle-webhook',
    onclick: async (ev) => {
      const holder = ev.currentTarget.closest('tr') || ev.currentTarget.parentElement;
      const r = await busy(ev.currentTarget, () => api('PATCH', `${API}/webhooks/${enc(w.id)}`, { body: { enabled: !w.enabled } }));
      if (r && r.webhook) {
        flash(`Endpoint ${r.webhook.enabled ? 'enabled' : 'disabled'}.`);
        onChange(r.webhook);
        // The buttons were rebuilt: keep the keyboard where it was.
        const again = holder && holder.querySelector('[data-test=toggle-webhook]');
        if (again) again.focus();
      }
    },
  }, 'button-secondary button-sm'));
  out.push(button('Rotate secret', {
    'data-test': 'rotate-secret',
    onclick: async (ev) => {
      if (!(await confirmDialog('Rotate the signing secret?', 'Deliveries are signed with the new secret from now on; update your receiver.', 'Rotate secret', false))) return;
      const r = await busy(ev.currentTarget, () => api('POST', `${API}/webhooks/${enc(w.id)}/rotate-secret`));
      if (r && r.webhook) {
        await showSecret({ title: 'New signing secret', value: r.webhook.secret || '', valueId: 'webhook-secret', testId: 'webhook-secret-dialog' });
      }
    },
  }, 'button-secondary button-sm'));
  out.push(button('Delete', {
    'data-test': 'delete-webhook',
    onclick: async (ev) => {
      if (!(await confirmDialog('Delete this endpoint?', `Nothing more is sent to ${w.url}.`, 'Delete endpoint'))) return;
      const r = await busy(ev.currentTarget, () => api('DELETE', `${API}/webhooks/${enc(w.id)}`));
      if (r) {
        flash('Endpoint deleted.');
        go('#/webhooks');
      }
    },
  }, 'button-danger button-sm'));
  return out;
}

function eventList(events) {
  const list = Array.isArray(events) ? events : [];
  if (WEBHOOK_EVENTS.every((ev) => list.includes(ev))) return 'All events';
  return list.map((ev) => h('code', { class: 'sub' }, ev));
}

function webhookRow(w) {
  const tr = h('tr', { 'data-test': 'webhook-row', 'data-id': w.id });
  const fill = (hook) => {
    put(tr,
      h('td', { class: 'cell-wrap' }, h('a', { href: `#/webhooks/${enc(hook.id)}` }, hook.url), h('span', { class: 'sub mono' }, hook.id)),
      cell(eventList(hook.events)),
      cell(badge(hook.enabled ? 'enabled' : 'disabled')),
      timeCell(hook.createdAt),
      h('td', { class: 'actions' }, webhookActions(hook, fill)));
  };
  fill(w);
  return tr;
}

export async function viewWebhook(ctx, id) {
  let hook;
  try {
    hook = (await api('GET', `${API}/webhooks/${enc(id)}`)).webhook;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      notFound(ctx, 'webhook endpoint');
      return;
    }
    throw e;
  }
  if (!ctx.alive() || !hook) return;
  const page = posInt(ctx.query.get('page'), 1);
  const list = await api('GET', `${API}/webhooks/${enc(id)}/deliveries`, { query: { page, limit: 20 } });
  if (!ctx.alive()) return;
  const actions = h('div', { class: 'toolbar' });
  const info = h('div', {});
  const fill = (w) => {
    hook = w;
    put(actions, ...webhookActions(w, fill, { detail: true }));
    put(info, fields([
      ['URL', w.url],
      ['Id', h('code', {}, w.id)],
      ['State', badge(w.enabled ? 'enabled' : 'disabled')],
      ['Events', eventList(w.events)],
      ['Created', fmtTime(w.createdAt)],
    ]));
  };
  fill(hook);
  const rows = (Array.isArray(list.data) ? list.data : []).map((d) => h('tr', { 'data-test': 'delivery-row', 'data-id': d.id },
    cell([h('code', {}, d.event), h('span', { class: 'sub mono' }, d.id)]),
    d.licenseId ? idCell(d.licenseId, `#/licenses/${enc(d.licenseId)}`) : cell('—'),
    cell(badge(d.status)),
    cell(fmtNum(d.attempts ?? 0), 'num'),
    cell(d.lastStatusCode || d.lastError ? [d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : '', d.lastError ? h('span', { class: 'sub' }, d.lastError) : null] : '—', 'cell-wrap'),
    h('td', { class: 'nowrap', title: `Created ${fmtTime(d.createdAt)}` }, fmtTime(d.nextAttemptAt)),
    h('td', { class: 'actions' }, button('Redeliver', {
      'data-test': 'redeliver',
      'aria-label': `Redeliver ${d.id}`,
      onclick: async (ev) => {
        const r = await busy(ev.currentTarget, () => api('POST', `${API}/webhooks/${enc(id)}/deliveries/${enc(d.id)}/redeliver`));
        if (r) {
          flash(`Delivery ${d.id} is queued again.`);
          route();
        }
      },
    }, 'button-secondary button-sm'))));
  ctx.render(
    h('p', {}, h('a', { href: '#/webhooks' }, '← All endpoints')),
    h('div', { class: 'page-head' }, h('div', {}, h('h1', { tabindex: '-1' }, 'Webhook endpoint'), h('p', { class: 'lede cell-wrap' }, hook.url)), actions),
    card('Endpoint', info),
    card('Deliveries', table('Deliveries', ['Event', 'License', 'Status', ['Attempts', 'num'], 'Last answer', 'Next attempt', ['Actions', 'actions']], rows,
      { emptyText: 'Nothing delivered yet.', testId: 'deliveries-table' }),
    pager(list.pagination, (n) => go(withQuery({ page: n })))));
}
