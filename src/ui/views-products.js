// Products and their plans.

import { API, api, loadProducts } from './api.js';
import { confirmDialog, modal } from './dialogs.js';
import {
  button, card, cell, checkbox, enc, field, flash, h, idCell, pageHead, select, table, uid,
} from './dom.js';
import { planSummary } from './format.js';
import { busy, FormProblem, onSubmit } from './forms.js';
import { route } from './nav.js';
import { state } from './state.js';

const LICENSE_TYPES = ['perpetual', 'subscription', 'trial', 'floating'];
const PLATFORMS = ['windows', 'mac', 'linux', 'web'];

function planFields(prefix) {
  const id = h('input', { id: `${prefix}-id`, type: 'text', required: true, value: 'standard', pattern: '[A-Za-z0-9_\\-]+', autocomplete: 'off' });
  const type = select({ id: `${prefix}-type` }, LICENSE_TYPES, 'subscription');
  const seats = h('input', { id: `${prefix}-max-activations`, type: 'number', min: '0', max: '100000', value: '1', inputmode: 'numeric' });
  const days = h('input', { id: `${prefix}-duration-days`, type: 'number', min: '0', max: '36500', value: '365', inputmode: 'numeric' });
  const nodes = [
    field('Plan id', id, { hint: 'Letters, digits, - and _.' }),
    field('License type', type),
    field('Seats', seats, { hint: 'Machines at once.' }),
    field('Duration (days)', days, { hint: '0: never expires.' }),
  ];
  const read = () => {
    const planId = id.value.trim();
    if (!/^[A-Za-z0-9_-]+$/.test(planId)) throw new FormProblem('A plan id has letters, digits, - and _ only.');
    const n = Number.parseInt(seats.value || '0', 10);
    const d = Number.parseInt(days.value || '0', 10);
    if (!Number.isFinite(n) || n < 0) throw new FormProblem('Seats must be 0 or more.');
    if (!Number.isFinite(d) || d < 0 || d > 36500) throw new FormProblem('Duration must be 0 to 36,500 days.');
    return { id: planId, type: type.value, max_activations: n, duration_days: d };
  };
  return { nodes, read };
}

// A stored plan as a request's plan: the write schema's fields only.
function planBody(p) {
  const out = { id: p.id, type: p.type, max_activations: p.max_activations ?? 1, duration_days: p.duration_days ?? 0 };
  if (p.offline_grace_hours !== null && p.offline_grace_hours !== undefined) out.offline_grace_hours = p.offline_grace_hours;
  if (p.metadata && typeof p.metadata === 'object') out.metadata = p.metadata;
  return out;
}

export async function viewProducts(ctx) {
  const products = await loadProducts(true);
  if (!ctx.alive()) return;
  const name = h('input', { id: 'product-name', type: 'text', required: true, maxlength: '256', autocomplete: 'off' });
  const platformBoxes = PLATFORMS.map((p) => checkbox(p[0].toUpperCase() + p.slice(1), { id: `product-platform-${p}`, value: p }));
  const plan = planFields('plan');
  const form = onSubmit(h('form', { 'aria-label': 'Create a product' },
    h('div', { class: 'form-wide' }, field('Product name', name)),
    h('fieldset', {}, h('legend', {}, 'Platforms'), h('div', { class: 'checks' }, platformBoxes)),
    h('fieldset', {}, h('legend', {}, 'First plan'), h('div', { class: 'form-grid' }, plan.nodes)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button', id: 'product-create' }, 'Create product'))), async () => {
    const body = {
      name: name.value.trim(),
      platforms: platformBoxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
      plans: [plan.read()],
    };
    if (!body.name) throw new FormProblem('Give the product a name.');
    const r = await api('POST', `${API}/products`, { body });
    flash(`Product “${r.product?.name ?? body.name}” created.`);
    state.products = null;
    route();
  });

  async function addPlan(p, btn) {
    const fieldsOf = planFields(uid('addplan'));
    const ok = await modal({
      title: `Add a plan to ${p.name}`,
      testId: 'plan-dialog',
      content: h('div', { class: 'form-grid' }, fieldsOf.nodes),
      actions: [{ label: 'Cancel', value: false }, { label: 'Add plan', value: true, kind: 'button', testId: 'confirm' }],
    });
    if (!ok) return;
    await busy(btn, async () => {
      const next = fieldsOf.read();
      const plans = (Array.isArray(p.plans) ? p.plans : []).map(planBody);
      await api('PATCH', `${API}/products/${enc(p.id)}`, { body: { plans: [...plans, next] } });
      flash(`Plan ${next.id} added to ${p.name}.`);
      state.products = null;
      route();
    });
  }

  async function remove(p, btn) {
    if (!(await confirmDialog('Delete this product?', `“${p.name}” and its plans are deleted; no license can be issued from it any more. Licenses already issued from it are not deleted.`, 'Delete product'))) return;
    const r = await busy(btn, () => api('DELETE', `${API}/products/${enc(p.id)}`));
    if (r) {
      flash(`Product “${p.name}” deleted.`);
      state.products = null;
      route();
    }
  }

  const rows = products.map((p) => h('tr', { 'data-test': 'product-row', 'data-id': p.id },
    h('th', { scope: 'row', class: 'cell-wrap', 'data-test': 'product-name' }, p.name),
    idCell(p.id),
    cell((p.platforms || []).join(', ') || 'Any'),
    cell(Array.isArray(p.plans) && p.plans.length
      ? h('ul', { class: 'plain' }, p.plans.map((pl) => h('li', {}, h('code', {}, pl.id), ` ${planSummary(pl)}`)))
      : 'No plans'),
    h('td', { class: 'actions' },
      button('Add plan', { 'data-test': 'add-plan', 'aria-label': `Add a plan to ${p.name}`, onclick: (ev) => addPlan(p, ev.currentTarget) }, 'button-secondary button-sm'),
      button('Delete', { 'data-test': 'delete-product', 'aria-label': `Delete ${p.name}`, onclick: (ev) => remove(p, ev.currentTarget) }, 'button-danger button-sm'))));
  ctx.render(
    pageHead('Products', 'What you license, and the plans licenses are issued from.'),
    card('Create a product', form),
    card('Your products', table('Products', ['Name', 'Id', 'Platforms', 'Plans', ['Actions', 'actions']], rows,
      { emptyText: 'No products yet.', testId: 'products-table' })));
}
