// Building the page: every view is built with createElement and textContent, never from markup,
// so nothing a customer, a product name or a server answer holds can become script; the page's
// Content-Security-Policy is the second guard. Also the shared pieces of the views (fields,
// tables, cards, the pager) and the live region for status messages.

import { fmtNum, fmtTime, plural } from './format.js';

// ---- DOM building -------------------------------------------------------------------------------

// Attributes that could load or run something are refused outright: a link is built by `href`
// below from the app's own routes, and an image source is set only by applyBranding.
const REFUSED_ATTRIBUTES = new Set(['style', 'src', 'srcdoc', 'action', 'formaction', 'xlink:href']);

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) {
      if (typeof v !== 'function') throw new Error(`handler ${k} must be a function`);
      el.addEventListener(k.slice(2), v);
    } else if (REFUSED_ATTRIBUTES.has(k.toLowerCase())) {
      throw new Error(`attribute ${k} is not set from here`);
    } else if (k === 'class') {
      el.setAttribute('class', v);
    } else if (k === 'value') {
      el.value = v;
    } else if (k === 'checked' || k === 'selected' || k === 'disabled') {
      el[k] = Boolean(v);
    } else if (k === 'href') {
      el.setAttribute('href', safeHref(v));
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

// Replaces an element's children; null, false and nested arrays are welcome, as in h().
export function put(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// Only the app's own hash routes are linked to: no scheme (javascript:, data:) can follow '#/'.
function safeHref(v) {
  const str = String(v);
  return /^#\/\S*$/.test(str) ? str : '#/';
}

export function enc(id) {
  return encodeURIComponent(String(id));
}

let uidCounter = 0;

export function uid(prefix) {
  uidCounter += 1;
  return `${prefix}-${uidCounter}`;
}

export function $(sel) {
  return document.querySelector(sel);
}

// A labelled control: the label's `for` names the control's id.
export function field(label, control, { hint, grow } = {}) {
  if (!control.id) control.id = uid('f');
  const kids = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    kids.push(h('p', { class: 'hint', id: hintId }, hint));
  }
  return h('div', { class: grow ? 'field field-grow' : 'field' }, kids);
}

export function checkbox(label, props) {
  const input = h('input', { type: 'checkbox', ...props });
  if (!input.id) input.id = uid('c');
  return h('div', { class: 'check' }, input, h('label', { for: input.id }, label));
}

export function select(props, options, current) {
  const el = h('select', props);
  for (const o of options) {
    const [value, label] = Array.isArray(o) ? o : [o, o];
    el.append(h('option', { value, selected: String(value) === String(current ?? '') }, label));
  }
  return el;
}

export function button(label, props = {}, kind = '') {
  return h('button', { type: 'button', class: `button ${kind}`.trim(), ...props }, label);
}

export function badge(value, testId) {
  const v = String(value ?? '').toLowerCase();
  const known = ['active', 'success', 'delivered', 'enabled', 'suspended', 'pending', 'invited',
    'test', 'revoked', 'failed', 'dead', 'expired', 'disabled', 'live'];
  const alias = { sent: 'success', queued: 'pending' };  // a license email's states
  const look = alias[v] || v;
  const cls = known.includes(look) ? `badge-${look}` : 'badge-neutral';
  return h('span', { class: `badge ${cls}`, 'data-test': testId }, v || 'unknown');
}

export function table(caption, headers, rows, { emptyText = 'Nothing here yet.', testId } = {}) {
  if (!rows.length) return h('p', { class: 'empty', 'data-test': testId ? `${testId}-empty` : null }, emptyText);
  const head = h('tr', {}, headers.map((th) => {
    const [label, cls] = Array.isArray(th) ? th : [th, ''];
    return h('th', { scope: 'col', class: cls || null }, label);
  }));
  return h('div', { class: 'table-wrap' },
    h('table', { 'data-test': testId },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, head),
      h('tbody', {}, rows)));
}

export function cell(content, cls) {
  return h('td', { class: cls || null }, content);
}

export function timeCell(v) {
  return h('td', { class: 'nowrap' }, fmtTime(v));
}

export function idCell(id, href) {
  return h('td', { class: 'cell-id' }, href ? h('a', { href }, id) : id);
}

export function card(title, ...children) {
  const titleId = uid('card');
  return h('section', { class: 'card', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, title), children);
}

export function cardWithActions(title, actions, ...children) {
  const titleId = uid('card');
  return h('section', { class: 'card', 'aria-labelledby': titleId },
    h('div', { class: 'card-head' }, h('h2', { id: titleId }, title), actions), children);
}

export function pageHead(title, lede, ...extra) {
  return h('div', { class: 'page-head' },
    h('div', {}, h('h1', { tabindex: '-1' }, title), lede ? h('p', { class: 'lede' }, lede) : null),
    extra.length ? h('div', { class: 'toolbar' }, extra) : null);
}

export function fields(pairs) {
  return h('dl', { class: 'fields' }, pairs.filter(Boolean).map(([k, v]) =>
    [h('dt', {}, k), h('dd', {}, v === undefined || v === null || v === '' ? '—' : v)]));
}

export function stats(pairs) {
  return h('dl', { class: 'stats' }, pairs.map(([k, v, small]) =>
    h('div', { class: 'stat' }, h('dt', {}, k), h('dd', { class: small ? 'stat-small' : null }, v))));
}

export function pager(p, onPage) {
  if (!p || !(Number(p.total) > 0)) return null;
  const page = Number(p.page) || 1;
  const pages = Math.max(1, Number(p.totalPages) || 1);
  const prev = button('Previous', { 'data-test': 'prev-page', disabled: page <= 1, onclick: () => onPage(page - 1) }, 'button-secondary button-sm');
  const next = button('Next', { 'data-test': 'next-page', disabled: !p.hasMore, onclick: () => onPage(page + 1) }, 'button-secondary button-sm');
  return h('nav', { class: 'pager', 'aria-label': 'Pagination' },
    h('span', {}, `Page ${fmtNum(page)} of ${fmtNum(pages)} · ${plural(p.total ?? 0, 'item', 'items')}`),
    h('div', { class: 'pager-buttons' }, prev, next));
}

// ---- status messages ----------------------------------------------------------------------------

let flashTimer = 0;

// Success and errors go to one polite live region, which screen readers announce.
export function flash(message, isError = false) {
  const live = $('#live');
  clearTimeout(flashTimer);
  live.classList.toggle('toast-error', isError);
  live.textContent = message;
  flashTimer = setTimeout(() => { live.textContent = ''; }, isError ? 9000 : 5000);
}
