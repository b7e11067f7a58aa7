// The License Edge dashboard: one module, no framework. Every view is built with createElement
// and textContent, never from markup, so nothing a customer, a product name or a server answer
// holds can become script; the page's Content-Security-Policy is the second guard. The session's
// JWT lives in this module only (not in web storage, where any injected script could read it);
// a reload gets a fresh one from the HttpOnly session cookie.

import { contrastText, hexColor, pickBranding } from './brand.js';

const AUTH = '/api/v1/auth';
const API = '/api/v1/portal';

const OUTCOMES = [
  { key: 'VALID', label: 'Valid', color: '#067647' },
  { key: 'NOT_FOUND', label: 'Not found', color: '#667085' },
  { key: 'EXPIRED', label: 'Expired', color: '#b54708' },
  { key: 'SUSPENDED', label: 'Suspended', color: '#dc6803' },
  { key: 'REVOKED', label: 'Revoked', color: '#b42318' },
  { key: 'PRODUCT_MISMATCH', label: 'Product mismatch', color: '#6938ef' },
  { key: 'MACHINE_NOT_ACTIVATED', label: 'Machine not activated', color: '#0086c9' },
  { key: 'DOMAIN_MISMATCH', label: 'Domain mismatch', color: '#c11574' },
];
const LICENSE_TYPES = ['perpetual', 'subscription', 'trial', 'floating'];
const LICENSE_STATUSES = ['active', 'suspended', 'expired', 'revoked'];
const PLATFORMS = ['windows', 'mac', 'linux', 'web'];
const WEBHOOK_EVENTS = ['license.created', 'license.activated', 'license.deactivated',
  'license.expired', 'license.suspended', 'license.renewed', 'validation.failed'];
const DEFAULT_BRAND = 'License Edge';
const DEFAULT_PRIMARY = '#1d4ed8';
const DEFAULT_ACCENT = '#0f766e';
// Lists are read whole (products for names and selects) at most this many pages of 100.
const MAX_PAGES = 10;

const state = {
  token: '',
  expiresAt: 0,
  user: null,
  account: null,
  branding: {},
  products: null,
};
let refreshing = null;
let refreshTimer = 0;
let renderSeq = 0;
let firstRender = true;
let uidCounter = 0;

// ---- DOM building -------------------------------------------------------------------------------

// Attributes that could load or run something are refused outright: a link is built by `href`
// below from the app's own routes, and an image source is set only by applyBranding.
const REFUSED_ATTRIBUTES = new Set(['style', 'src', 'srcdoc', 'action', 'formaction', 'xlink:href']);

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function s(tag, props, ...children) {
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
function put(el, ...children) {
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

function enc(id) {
  return encodeURIComponent(String(id));
}

function uid(prefix) {
  uidCounter += 1;
  return `${prefix}-${uidCounter}`;
}

function $(sel) {
  return document.querySelector(sel);
}

// A labelled control: the label's `for` names the control's id.
function field(label, control, { hint, grow } = {}) {
  if (!control.id) control.id = uid('f');
  const kids = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    kids.push(h('p', { class: 'hint', id: hintId }, hint));
  }
  return h('div', { class: grow ? 'field field-grow' : 'field' }, kids);
}

function checkbox(label, props) {
  const input = h('input', { type: 'checkbox', ...props });
  if (!input.id) input.id = uid('c');
  return h('div', { class: 'check' }, input, h('label', { for: input.id }, label));
}

function select(props, options, current) {
  const el = h('select', props);
  for (const o of options) {
    const [value, label] = Array.isArray(o) ? o : [o, o];
    el.append(h('option', { value, selected: String(value) === String(current ?? '') }, label));
  }
  return el;
}

function button(label, props = {}, kind = '') {
  return h('button', { type: 'button', class: `button ${kind}`.trim(), ...props }, label);
}

function badge(value, testId) {
  const v = String(value ?? '').toLowerCase();
  const known = ['active', 'success', 'delivered', 'enabled', 'suspended', 'pending', 'invited',
    'test', 'revoked', 'failed', 'dead', 'expired', 'disabled', 'live'];
  const alias = { sent: 'success', queued: 'pending' };  // a license email's states
  const look = alias[v] || v;
  const cls = known.includes(look) ? `badge-${look}` : 'badge-neutral';
  return h('span', { class: `badge ${cls}`, 'data-test': testId }, v || 'unknown');
}

function table(caption, headers, rows, { emptyText = 'Nothing here yet.', testId } = {}) {
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

function cell(content, cls) {
  return h('td', { class: cls || null }, content);
}

function timeCell(v) {
  return h('td', { class: 'nowrap' }, fmtTime(v));
}

function idCell(id, href) {
  return h('td', { class: 'cell-id' }, href ? h('a', { href }, id) : id);
}

function card(title, ...children) {
  const titleId = uid('card');
  return h('section', { class: 'card', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, title), children);
}

function cardWithActions(title, actions, ...children) {
  const titleId = uid('card');
  return h('section', { class: 'card', 'aria-labelledby': titleId },
    h('div', { class: 'card-head' }, h('h2', { id: titleId }, title), actions), children);
}

function pageHead(title, lede, ...extra) {
  return h('div', { class: 'page-head' },
    h('div', {}, h('h1', { tabindex: '-1' }, title), lede ? h('p', { class: 'lede' }, lede) : null),
    extra.length ? h('div', { class: 'toolbar' }, extra) : null);
}

function fields(pairs) {
  return h('dl', { class: 'fields' }, pairs.filter(Boolean).map(([k, v]) =>
    [h('dt', {}, k), h('dd', {}, v === undefined || v === null || v === '' ? '—' : v)]));
}

function stats(pairs) {
  return h('dl', { class: 'stats' }, pairs.map(([k, v, small]) =>
    h('div', { class: 'stat' }, h('dt', {}, k), h('dd', { class: small ? 'stat-small' : null }, v))));
}

// ---- formatting ---------------------------------------------------------------------------------

function fmtTime(v) {
  if (v === undefined || v === null || v === '' || v === 0) return '—';
  let d;
  if (typeof v === 'number') d = new Date(v < 1e12 ? v * 1000 : v);
  else d = new Date(String(v));
  if (Number.isNaN(d.getTime())) return String(v);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function fmtDay(v) {
  const t = fmtTime(v);
  return t === '—' || !/^\d{4}-/.test(t) ? t : t.slice(0, 10);
}

function fmtNum(n) {
  const x = Number(n);
  return Number.isFinite(x) ? x.toLocaleString('en-US') : '—';
}

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return isoDay(d);
}

function dayRange(from, to) {
  const out = [];
  for (let d = from, i = 0; d <= to && i < 400; d = addDays(d, 1), i += 1) out.push(d);
  return out;
}

function plural(n, one, many) {
  return `${fmtNum(n)} ${Number(n) === 1 ? one : many}`;
}

function planSummary(p) {
  const seats = plural(p.max_activations ?? 1, 'seat', 'seats');
  const term = p.duration_days ? plural(p.duration_days, 'day', 'days') : 'no expiry';
  return `${p.type ?? '?'}, ${seats}, ${term}`;
}

function posInt(v, dflt) {
  const n = Number.parseInt(v ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : dflt;
}

// ---- status messages ----------------------------------------------------------------------------

let flashTimer = 0;

// Success and errors go to one polite live region, which screen readers announce.
function flash(message, isError = false) {
  const live = $('#live');
  clearTimeout(flashTimer);
  live.classList.toggle('toast-error', isError);
  live.textContent = message;
  flashTimer = setTimeout(() => { live.textContent = ''; }, isError ? 9000 : 5000);
}

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

function describe(err) {
  if (err instanceof ApiError) {
    if (err.status === 429) {
      return err.retryAfter ? `Too many requests; try again in ${err.retryAfter} s.` : 'Too many requests; try again shortly.';
    }
    return err.message || `The server answered ${err.status}.`;
  }
  return 'Something went wrong in the page.';
}

// ---- the API ------------------------------------------------------------------------------------

async function rawRequest(method, path, { query, body, auth = true } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  // The cookie routes want X-Requested-With (no cross-site form can send it); it is harmless
  // elsewhere.
  const headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server could not be reached.');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return data ?? {};
  const code = data && typeof data.code === 'string' ? data.code : '';
  const message = data && typeof data.error === 'string' ? data.error : `The server answered ${res.status}.`;
  throw new ApiError(res.status, code, message, res.headers.get('Retry-After'));
}

// An account's call: a token that expired or was revoked is refreshed once from the session
// cookie; when that fails too, the user signs in again.
async function api(method, path, opts = {}) {
  try {
    return await rawRequest(method, path, opts);
  } catch (e) {
    if (!(e instanceof ApiError) || !(e.status === 401 || (e.status === 403 && e.code === 'INVALID_TOKEN'))) throw e;
    if (await refreshSession()) return rawRequest(method, path, opts);
    dropSession();
    go(`#/signin?next=${enc(parseHash().path)}`);
    throw new ApiError(401, 'SIGNED_OUT', 'Your session has ended; sign in again.');
  }
}

function acceptSession(data) {
  if (!data || typeof data.token !== 'string' || !data.token) {
    throw new ApiError(0, 'BAD_ANSWER', 'The server answered without a token.');
  }
  state.token = data.token;
  state.user = data.user && typeof data.user === 'object' ? data.user : null;
  state.expiresAt = Number(data.expiresAt) || 0;
  clearTimeout(refreshTimer);
  if (state.expiresAt) {
    // Five minutes before the token lapses, so a long-open page never meets a 403.
    const wait = Math.max(30_000, state.expiresAt * 1000 - Date.now() - 300_000);
    refreshTimer = setTimeout(() => { refreshSession(); }, Math.min(wait, 2 ** 31 - 1));
  }
}

function dropSession() {
  state.token = '';
  state.user = null;
  state.account = null;
  state.products = null;
  state.expiresAt = 0;
  clearTimeout(refreshTimer);
}

function refreshSession() {
  if (!refreshing) {
    refreshing = rawRequest('POST', `${AUTH}/refresh`, { auth: false })
      .then((r) => {
        acceptSession(r.data);
        return true;
      }, () => false)
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function listAll(path, query = {}) {
  const items = [];
  for (let page = 1; page <= MAX_PAGES; page += 1) {
    const r = await api('GET', path, { query: { ...query, page, limit: 100 } });
    const data = Array.isArray(r.data) ? r.data : [];
    items.push(...data);
    if (!r.pagination || !r.pagination.hasMore || !data.length) break;
  }
  return items;
}

async function loadProducts(force = false) {
  if (!state.products || force) state.products = await listAll(`${API}/products`);
  return state.products;
}

function productMap(products) {
  return new Map((products || []).map((p) => [p.id, p]));
}

// ---- branding -----------------------------------------------------------------------------------

function brandName() {
  return state.branding.product_name || DEFAULT_BRAND;
}

function applyBranding(raw) {
  state.branding = pickBranding(raw);
  const name = brandName();
  $('#brand-name').textContent = name;
  const initials = name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]).join('').toUpperCase();
  $('#brand-mark').textContent = initials || 'LE';
  const logo = $('#brand-logo');
  const url = state.branding.logo_url;
  // Only an https URL: never javascript:, data: or a plain-http resource on the page.
  if (/^https:\/\/[^\s]+$/i.test(url)) {
    logo.src = url;
    logo.alt = '';
    logo.hidden = false;
    $('#brand-mark').hidden = true;
  } else {
    logo.removeAttribute('src');
    logo.hidden = true;
    $('#brand-mark').hidden = false;
  }
  const root = document.documentElement.style;
  const primary = hexColor(state.branding.primary_color) || DEFAULT_PRIMARY;
  root.setProperty('--brand', primary);
  root.setProperty('--brand-contrast', contrastText(primary));
  root.setProperty('--accent', hexColor(state.branding.accent_color) || DEFAULT_ACCENT);
}

async function ensureAccount() {
  if (state.account) return state.account;
  try {
    const r = await api('GET', `${API}/account`);
    state.account = r.account || {};
    applyBranding(state.account.branding ?? r.branding);
  } catch {
    state.account = null;
  }
  return state.account;
}

// ---- dialogs ------------------------------------------------------------------------------------

// A modal <dialog>: focus moves into it, Escape closes it (the browser's cancel), and focus goes
// back where it was. Resolves with the chosen action's value (null for Escape).
function modal({ title, content, actions, testId, focus }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const dlg = h('dialog', { class: 'modal', 'aria-labelledby': titleId, 'data-test': testId || 'dialog', tabindex: '-1' });
    let result = null;
    const bar = h('div', { class: 'modal-actions' });
    for (const a of actions) {
      bar.append(button(a.label, {
        id: a.id,
        'data-test': a.testId,
        onclick: () => {
          result = a.value;
          dlg.close();
        },
      }, a.kind || 'button-secondary'));
    }
    dlg.append(h('div', { class: 'modal-body' }, h('h2', { id: titleId }, title), content), bar);
    const opener = document.activeElement;
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    (focus || bar.querySelector('button') || dlg).focus();
  });
}

function confirmDialog(title, message, confirmLabel, danger = true) {
  return modal({
    title,
    testId: 'confirm-dialog',
    content: h('p', {}, message),
    actions: [
      { label: 'Cancel', value: false, testId: 'cancel' },
      { label: confirmLabel, value: true, testId: 'confirm', kind: danger ? 'button-danger-solid' : 'button' },
    ],
  });
}

// A secret shown once (a license key, an API key, a webhook secret, an invitation token).
function showSecret({ title, intro, value, valueId, extra, testId }) {
  const code = h('code', { class: 'secret', id: valueId, tabindex: '0' }, value);
  const copy = button('Copy to clipboard', {
    'data-test': 'copy',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(value);
        flash('Copied to the clipboard.');
      } catch {
        const range = document.createRange();
        range.selectNodeContents(code);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        flash('Selected: press Ctrl+C (or ⌘C) to copy.');
      }
    },
  }, 'button-secondary button-sm');
  return modal({
    title,
    testId: testId || 'secret-dialog',
    content: [
      intro ? h('p', {}, intro) : null,
      code,
      h('p', { class: 'hint' }, 'Copy it now and keep it somewhere safe: it is shown only once.'),
      h('div', { class: 'form-actions' }, copy),
      extra ? h('div', { class: 'modal-extra' }, extra) : null,
    ],
    actions: [{ label: 'Done', value: true, kind: 'button', id: 'dialog-close', testId: 'dialog-close' }],
    focus: code,
  });
}

// ---- routing ------------------------------------------------------------------------------------

const ROUTES = [
  { re: /^\/signin$/, view: viewSignIn, name: 'signin', public: true },
  { re: /^\/accept$/, view: viewAccept, name: 'accept', public: true },
  { re: /^\/licenses$/, view: viewLicenses, name: 'licenses', nav: 'licenses' },
  { re: /^\/licenses\/([^/]+)$/, view: viewLicense, name: 'license', nav: 'licenses' },
  { re: /^\/products$/, view: viewProducts, name: 'products', nav: 'products' },
  { re: /^\/keys$/, view: viewKeys, name: 'keys', nav: 'keys' },
  { re: /^\/webhooks$/, view: viewWebhooks, name: 'webhooks', nav: 'webhooks' },
  { re: /^\/webhooks\/([^/]+)$/, view: viewWebhook, name: 'webhook', nav: 'webhooks' },
  { re: /^\/analytics$/, view: viewAnalytics, name: 'analytics', nav: 'analytics' },
  { re: /^\/blacklist$/, view: viewBlacklist, name: 'blacklist', nav: 'blacklist' },
  { re: /^\/users$/, view: viewUsers, name: 'users', nav: 'users' },
  { re: /^\/settings$/, view: viewSettings, name: 'settings', nav: 'settings' },
];

function parseHash() {
  const raw = window.location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)) || '/';
  return { path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

function go(hash, replace = false) {
  if (replace) {
    window.history.replaceState(null, '', hash);
    route();
  } else if (window.location.hash === hash) {
    route();
  } else {
    window.location.hash = hash;
  }
}

// The current route with some query parameters changed ('' removes one).
function withQuery(changes) {
  const { path, query } = parseHash();
  for (const [k, v] of Object.entries(changes)) {
    if (v === '' || v === null || v === undefined) query.delete(k);
    else query.set(k, String(v));
  }
  const qs = query.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

function setChrome(signedIn, navName) {
  document.body.classList.toggle('signed-out', !signedIn);
  $('#sidebar').hidden = !signedIn;
  $('#session').hidden = !signedIn;
  $('#session-user').textContent = signedIn && state.user ? String(state.user.email ?? '') : '';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === navName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function safeNext(v) {
  return typeof v === 'string' && /^\/[A-Za-z0-9/_\-.~%]*$/.test(v) && !v.startsWith('/signin') ? v : '/licenses';
}

async function route() {
  const hash = window.location.hash;
  // In-page anchors (the skip link's #main) are not routes.
  if (hash && !hash.startsWith('#/')) return;
  const { path, query } = parseHash();
  if (path === '/') {
    go('#/licenses', true);
    return;
  }
  renderSeq += 1;
  const seq = renderSeq;
  let match = null;
  let params = [];
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m) {
      match = r;
      params = m.slice(1).map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return p;
        }
      });
      break;
    }
  }
  if (!state.token && !(match && match.public)) {
    const ok = await refreshSession();
    if (seq !== renderSeq) return;
    if (!ok) {
      go(`#/signin?next=${enc(path)}`, true);
      return;
    }
  }
  if (state.token && match && match.name === 'signin') {
    go(`#${safeNext(query.get('next'))}`, true);
    return;
  }
  const signedIn = Boolean(state.token);
  if (signedIn) {
    await ensureAccount();
    if (seq !== renderSeq) return;
  }
  setChrome(signedIn, match ? match.nav : '');
  const main = $('#main');
  main.removeAttribute('data-ready');
  main.dataset.view = match ? match.name : 'not-found';
  put(main, h('p', { class: 'loading' }, 'Loading…'));
  const ctx = {
    main,
    query,
    alive: () => seq === renderSeq,
    render: (...nodes) => {
      if (seq === renderSeq) put(main, nodes);
    },
  };
  try {
    if (match) await match.view(ctx, ...params);
    else notFound(ctx, 'page');
  } catch (e) {
    if (ctx.alive()) renderError(ctx, e);
  }
  if (!ctx.alive()) return;
  const h1 = main.querySelector('h1');
  document.title = `${h1 ? h1.textContent : 'Dashboard'} · ${brandName()}`;
  main.dataset.ready = main.dataset.view;
  // Moving focus on the first load would skip the skip link; afterwards it tells screen reader
  // users that the page changed.
  if (!firstRender && h1) h1.focus();
  firstRender = false;
}

function notFound(ctx, what) {
  const titleId = uid('nf');
  ctx.main.dataset.view = 'not-found';
  ctx.render(h('section', { class: 'card not-found', id: 'not-found', role: 'alert', 'aria-labelledby': titleId },
    h('p', { class: 'code' }, '404'),
    h('h1', { id: titleId, tabindex: '-1' }, 'Not found'),
    h('p', {}, `Error 404: this ${what} does not exist, or it belongs to another account.`),
    h('p', {}, h('a', { href: '#/licenses' }, 'Back to licenses'))));
}

function renderError(ctx, e) {
  if (e instanceof ApiError && e.status === 404) {
    notFound(ctx, 'page');
    return;
  }
  if (e instanceof ApiError && e.code === 'SIGNED_OUT') return;
  ctx.render(h('section', { class: 'card', role: 'alert' },
    h('h1', { tabindex: '-1' }, 'Something went wrong'),
    h('p', { class: 'notice notice-error' }, describe(e)),
    button('Try again', { onclick: () => route() })));
}

// Runs an action from a button: disabled while under way; errors are announced.
async function busy(btn, fn) {
  if (btn) btn.disabled = true;
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 'SIGNED_OUT')) flash(describe(e), true);
    return undefined;
  } finally {
    if (btn && btn.isConnected) btn.disabled = false;
  }
}

function formError(form, message) {
  let p = form.querySelector('.form-error');
  if (!p) {
    p = h('p', { class: 'form-error' });
    form.append(p);
  }
  p.textContent = message;
}

// A form's submit: the handler's errors show under the form and in the live region.
function onSubmit(form, handler) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const submit = form.querySelector('[type=submit]');
    formError(form, '');
    if (submit) submit.disabled = true;
    try {
      await handler();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'SIGNED_OUT') return;
      const msg = e instanceof FormProblem ? e.message : describe(e);
      formError(form, msg);
      flash(msg, true);
    } finally {
      if (submit && submit.isConnected) submit.disabled = false;
    }
  });
  return form;
}

class FormProblem extends Error {}

function pager(p, onPage) {
  if (!p || !(Number(p.total) > 0)) return null;
  const page = Number(p.page) || 1;
  const pages = Math.max(1, Number(p.totalPages) || 1);
  const prev = button('Previous', { 'data-test': 'prev-page', disabled: page <= 1, onclick: () => onPage(page - 1) }, 'button-secondary button-sm');
  const next = button('Next', { 'data-test': 'next-page', disabled: !p.hasMore, onclick: () => onPage(page + 1) }, 'button-secondary button-sm');
  return h('nav', { class: 'pager', 'aria-label': 'Pagination' },
    h('span', {}, `Page ${fmtNum(page)} of ${fmtNum(pages)} · ${plural(p.total ?? 0, 'item', 'items')}`),
    h('div', { class: 'pager-buttons' }, prev, next));
}

// ---- charts -------------------------------------------------------------------------------------

function niceTop(max) {
  if (max <= 4) return 4;
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((v) => v >= raw && Number.isInteger(v)) ?? 10 * mag;
  return step * 4;
}

// Stacked bars, one per day; each series' segment carries a <title> (the browser's tooltip),
// and the same numbers are in a table under the chart for those who cannot see it.
function barChart({ title, days, series, emptyText }) {
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
function usageDays(from, to, days, pick) {
  const byDate = new Map((days || []).map((d) => [d.date, d]));
  return dayRange(from, to).map((date) => {
    const d = byDate.get(date);
    const values = {};
    if (d) for (const [k, v] of Object.entries(pick(d) || {})) if (k !== 'total') values[k] = Number(v) || 0;
    return { date, values };
  });
}

// ---- sign-in ------------------------------------------------------------------------------------

async function viewSignIn(ctx) {
  const email = h('input', { id: 'signin-email', type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'signin-password', type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'auth-card', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title', tabindex: '-1' }, 'Sign in'),
    h('p', { class: 'lede' }, `Manage licenses, products and webhooks in ${brandName()}.`),
    field('Email', email),
    field('Password', password),
    h('p', { class: 'form-error', id: 'signin-error' }),
    h('button', { type: 'submit', class: 'button', id: 'signin-submit' }, 'Sign in'),
    h('p', { class: 'auth-foot' }, 'Invited to an account? ', h('a', { href: '#/accept' }, 'Accept your invitation')));
  onSubmit(form, async () => {
    try {
      const r = await rawRequest('POST', `${AUTH}/login`, { auth: false, body: { email: email.value.trim(), password: password.value } });
      acceptSession(r.data);
    } catch (e) {
      password.value = '';
      password.focus();
      throw e;
    }
    state.account = null;
    flash('Signed in.');
    go(`#${safeNext(ctx.query.get('next'))}`);
  });
  ctx.render(form);
}

async function viewAccept(ctx) {
  const token = h('input', { id: 'accept-token', type: 'text', autocomplete: 'off', required: true, value: ctx.query.get('token') || '' });
  const password = h('input', { id: 'accept-password', type: 'password', autocomplete: 'new-password', minlength: '10', required: true });
  const again = h('input', { id: 'accept-password-again', type: 'password', autocomplete: 'new-password', minlength: '10', required: true });
  const form = h('form', { class: 'auth-card', 'aria-labelledby': 'accept-title' },
    h('h1', { id: 'accept-title', tabindex: '-1' }, 'Accept an invitation'),
    h('p', { class: 'lede' }, 'Enter the invitation token you were given and choose a password.'),
    field('Invitation token', token),
    field('New password', password, { hint: 'At least 10 characters.' }),
    field('New password, again', again),
    h('p', { class: 'form-error' }),
    h('button', { type: 'submit', class: 'button', id: 'accept-submit' }, 'Accept and sign in'),
    h('p', { class: 'auth-foot' }, h('a', { href: '#/signin' }, 'Back to sign-in')));
  onSubmit(form, async () => {
    if (password.value !== again.value) throw new FormProblem('The two passwords differ.');
    const r = await rawRequest('POST', `${AUTH}/invitations/accept`, { auth: false, body: { token: token.value.trim(), password: password.value } });
    acceptSession(r.data);
    state.account = null;
    flash('Welcome: the invitation is accepted.');
    go('#/licenses');
  });
  ctx.render(form);
}

async function signOut() {
  try {
    await rawRequest('POST', `${AUTH}/logout`);
  } catch {
    // Signed out here either way; the server's session lapses on its own.
  }
  dropSession();
  applyBranding({});
  flash('Signed out.');
  go('#/signin');
}

// ---- licenses -----------------------------------------------------------------------------------

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

async function viewLicenses(ctx) {
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

async function viewLicense(ctx, id) {
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

// ---- products -----------------------------------------------------------------------------------

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

async function viewProducts(ctx) {
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

// ---- API keys -----------------------------------------------------------------------------------

async function viewKeys(ctx) {
  const page = posInt(ctx.query.get('page'), 1);
  let list = null;
  let listProblem = null;
  try {
    list = await api('GET', `${API}/api-keys`, { query: { page, limit: 20 } });
  } catch (e) {
    if (e instanceof ApiError && e.code === 'SIGNED_OUT') throw e;
    listProblem = describe(e);
  }
  if (!ctx.alive()) return;
  const mode = select({ id: 'key-mode' }, [['live', 'Live'], ['test', 'Test']], 'live');
  const form = onSubmit(h('form', { 'aria-label': 'Create an API key' },
    h('div', { class: 'toolbar' },
      field('Mode', mode),
      h('div', { class: 'field' }, h('button', { type: 'submit', class: 'button', id: 'key-create' }, 'Create API key'))),
    h('p', { class: 'hint' }, 'A live key acts on live licenses; a test key on test-mode data only. The key is shown once, when it is created.')), async () => {
    const r = await api('POST', `${API}/api-keys`, { body: { mode: mode.value } });
    const k = r.apiKey || {};
    await showSecret({
      title: 'API key created',
      testId: 'key-dialog',
      intro: 'Use it as a Bearer token from your servers. Never ship it in a client app.',
      value: k.key || '',
      valueId: 'new-key-value',
    });
    route();
  });
  const keys = list && Array.isArray(list.data) ? list.data : [];
  const hasCreated = keys.some((k) => k.createdAt);
  const hasUsed = keys.some((k) => k.lastUsedAt);
  const rows = keys.map((k) => {
    const revoked = Boolean(k.revoked || k.revokedAt);
    const shown = k.prefix ? `${k.prefix}…` : (k.id ?? '');
    return h('tr', { 'data-test': 'key-row', 'data-id': k.id },
      h('td', { class: 'cell-id' }, shown, k.prefix ? h('span', { class: 'sub' }, k.id) : null),
      cell(badge(k.mode)),
      hasCreated ? timeCell(k.createdAt) : null,
      cell(revoked ? [badge('revoked'), k.revokedAt ? h('span', { class: 'sub' }, fmtTime(k.revokedAt)) : null] : badge('active')),
      hasUsed ? timeCell(k.lastUsedAt) : null,
      h('td', { class: 'actions' }, revoked ? '—' : button('Revoke', {
        'data-test': 'revoke-key',
        'aria-label': `Revoke key ${shown}`,
        onclick: async (ev) => {
          if (!(await confirmDialog('Revoke this API key?', `Requests with ${shown} are refused from now on, at the primary and at every edge.`, 'Revoke key'))) return;
          const r = await busy(ev.currentTarget, () => api('POST', `${API}/api-keys/${enc(k.id)}/revoke`));
          if (r) {
            flash('API key revoked.');
            route();
          }
        },
      }, 'button-danger button-sm')));
  });
  ctx.render(
    pageHead('API keys', 'Keys your servers use to call the API. Rotate by creating a new key, switching to it, then revoking the old one.'),
    card('Create a key', form),
    card('Your keys', listProblem
      ? h('p', { class: 'notice notice-warn' }, `The keys could not be listed: ${listProblem}`)
      : [table('API keys', ['Key', 'Mode', hasCreated ? 'Created' : null, 'Status', hasUsed ? 'Last used' : null, ['Actions', 'actions']].filter(Boolean), rows, { emptyText: 'No API keys yet.', testId: 'keys-table' }),
        pager(list.pagination, (n) => go(withQuery({ page: n })))]));
}

// ---- webhooks -----------------------------------------------------------------------------------

async function viewWebhooks(ctx) {
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

async function viewWebhook(ctx, id) {
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

// ---- analytics ----------------------------------------------------------------------------------

async function viewAnalytics(ctx) {
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

// ---- blacklist ----------------------------------------------------------------------------------

async function viewBlacklist(ctx) {
  const page = posInt(ctx.query.get('page'), 1);
  const list = await api('GET', `${API}/blacklist`, { query: { page, limit: 20 } });
  if (!ctx.alive()) return;
  const type = select({ id: 'blacklist-type' }, [['ip', 'IP address'], ['hwid', 'Hardware id (HWID)'], ['license', 'License key']], 'ip');
  const value = h('input', { id: 'blacklist-value', type: 'text', required: true, autocomplete: 'off' });
  const form = onSubmit(h('form', { class: 'toolbar', 'aria-label': 'Block a value' },
    field('Type', type), field('Value', value, { grow: true }),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'button', id: 'blacklist-add' }, 'Block'))), async () => {
    await api('POST', `${API}/blacklist`, { body: { type: type.value, value: value.value.trim() } });
    flash('Blocked.');
    route();
  });
  const rows = (Array.isArray(list.data) ? list.data : []).map((b) => h('tr', { 'data-test': 'blacklist-row', 'data-id': b.id },
    cell(b.type),
    cell(b.value, 'cell-id'),
    cell(fmtNum(b.attempts ?? 0), 'num'),
    timeCell(b.lastAttemptAt),
    h('td', { class: 'actions' }, button('Unblock', {
      'aria-label': `Unblock ${b.value}`,
      onclick: async (ev) => {
        const r = await busy(ev.currentTarget, () => api('DELETE', `${API}/blacklist/${enc(b.id)}`));
        if (r) {
          flash('Unblocked.');
          route();
        }
      },
    }, 'button-secondary button-sm'))));
  ctx.render(
    pageHead('Blacklist', 'IP addresses, hardware ids and license keys your edges refuse.'),
    card('Block a value', form, h('p', { class: 'hint' }, 'A license key is stored as its SHA-256 digest.')),
    card('Blocked', table('Blocked values', ['Type', 'Value', ['Blocked attempts', 'num'], 'Last attempt', ['Actions', 'actions']], rows,
      { emptyText: 'Nothing is blocked.', testId: 'blacklist-table' }),
    pager(list.pagination, (n) => go(withQuery({ page: n })))));
}

// ---- users --------------------------------------------------------------------------------------

async function viewUsers(ctx) {
  const page = posInt(ctx.query.get('page'), 1);
  const list = await api('GET', `${API}/users`, { query: { page, limit: 20 } });
  if (!ctx.alive()) return;
  const email = h('input', { id: 'invite-email', type: 'email', required: true, autocomplete: 'off', placeholder: 'colleague@example.com' });
  const form = onSubmit(h('form', { class: 'toolbar', 'aria-label': 'Invite a user' },
    field('Email', email, { grow: true }),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'button', id: 'invite-submit' }, 'Invite'))), async () => {
    const r = await api('POST', `${API}/users`, { body: { email: email.value.trim() } });
    const d = r.data || {};
    await showSecret({
      title: 'Invitation created',
      testId: 'invite-dialog',
      intro: `Send this token to ${d.user?.email ?? 'your colleague'}. They open this dashboard, choose “Accept your invitation” and enter it with a password of their own.`,
      value: d.inviteToken || '',
      valueId: 'invite-token',
      extra: h('p', { class: 'hint' }, `It expires ${fmtTime(d.inviteExpiresAt)}.`),
    });
    route();
  });
  const rows = (Array.isArray(list.data) ? list.data : []).map((u) => h('tr', { 'data-test': 'user-row', 'data-id': u.id },
    h('th', { scope: 'row', class: 'cell-wrap' }, u.email, state.user && state.user.id === u.id ? h('span', { class: 'sub' }, 'You') : null),
    cell(badge(u.status)),
    cell(u.scope || '—'),
    timeCell(u.createdAt)));
  ctx.render(
    pageHead('Users', 'The people who can sign in to this account’s dashboard.'),
    card('Invite a user', form),
    card('Account users', table('Users', ['Email', 'Status', 'Scope', 'Created'], rows, { emptyText: 'No users.', testId: 'users-table' }),
      pager(list.pagination, (n) => go(withQuery({ page: n })))));
}

// ---- settings -----------------------------------------------------------------------------------

async function viewSettings(ctx) {
  const r = await api('GET', `${API}/account`);
  if (!ctx.alive()) return;
  const acc = r.account || {};
  state.account = acc;
  const b = pickBranding(acc.branding ?? r.branding);
  applyBranding(b);

  const requireHwid = checkbox('Require a hardware id (HWID) with every TKI authentication', { id: 'tki-require-hwid', checked: Boolean(acc.tkiRequireHwid) });
  const rateLimit = checkbox('Limit TKI authentications per client IP address', { id: 'tki-rate-limit', checked: Boolean(acc.tkiRateLimit) });
  const productName = h('input', { id: 'brand-product-name', type: 'text', value: b.product_name, maxlength: '100', autocomplete: 'off', placeholder: DEFAULT_BRAND });
  const logoUrl = h('input', { id: 'brand-logo-url', type: 'url', value: b.logo_url, autocomplete: 'off', placeholder: 'https://example.com/logo.svg' });
  const primary = h('input', { id: 'brand-primary-color', type: 'color', value: hexColor(b.primary_color) || DEFAULT_PRIMARY });
  const accent = h('input', { id: 'brand-accent-color', type: 'color', value: hexColor(b.accent_color) || DEFAULT_ACCENT });
  const chosen = { primary: Boolean(hexColor(b.primary_color)), accent: Boolean(hexColor(b.accent_color)) };
  primary.addEventListener('input', () => { chosen.primary = true; });
  accent.addEventListener('input', () => { chosen.accent = true; });
  const resetColours = button('Use the default colours', {
    id: 'brand-reset-colors',
    onclick: () => {
      primary.value = DEFAULT_PRIMARY;
      accent.value = DEFAULT_ACCENT;
      chosen.primary = false;
      chosen.accent = false;
      flash('The default colours apply once you save.');
    },
  }, 'button-secondary button-sm');
  const sender = h('input', { id: 'brand-sender-name', type: 'text', value: b.sender_name, maxlength: '100', autocomplete: 'off' });
  const replyTo = h('input', { id: 'brand-reply-to', type: 'email', value: b.reply_to, autocomplete: 'off' });

  const form = onSubmit(h('form', { 'aria-label': 'Account settings' },
    h('fieldset', {}, h('legend', {}, 'TKI authentication'), requireHwid, rateLimit),
    h('fieldset', {}, h('legend', {}, 'Branding'),
      h('div', { class: 'form-grid form-cols-2' },
        field('Product name', productName, { hint: 'Shown in this dashboard’s header and in emails.' }),
        field('Logo URL', logoUrl, { hint: 'An https address; anything else is not shown.' }),
        h('div', { class: 'colour-row' }, field('Primary colour', primary), field('Accent colour', accent),
          h('div', { class: 'field field-action' }, resetColours)),
        field('Sender name', sender, { hint: 'The From name of emails to your customers.' }),
        field('Reply-to address', replyTo, { hint: 'Where your customers’ answers to those emails go.' }))),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button', id: 'settings-save' }, 'Save settings'))), async () => {
    const logo = logoUrl.value.trim();
    logoUrl.removeAttribute('aria-invalid');
    if (logo && !/^https:\/\/[^\s]+$/i.test(logo)) {
      logoUrl.setAttribute('aria-invalid', 'true');
      logoUrl.focus();
      throw new FormProblem('The logo URL must start with https://.');
    }
    const branding = {
      product_name: productName.value.trim(),
      logo_url: logo,
      primary_color: chosen.primary ? primary.value : '',
      accent_color: chosen.accent ? accent.value : '',
      sender_name: sender.value.trim(),
      reply_to: replyTo.value.trim(),
    };
    const body = {
      tki_require_hwid: requireHwid.querySelector('input').checked,
      tki_rate_limit: rateLimit.querySelector('input').checked,
      branding,
    };
    const res = await api('PATCH', `${API}/account/settings`, { body });
    state.account = res.account || state.account;
    applyBranding(res.account?.branding ?? res.branding ?? branding);
    document.title = `Settings · ${brandName()}`;
    flash('Settings saved.');
  });

  ctx.render(
    pageHead('Settings', 'Your account, how TKI authentications are checked, and how your brand appears.'),
    card('Account', fields([
      ['Account id', h('code', {}, acc.id)],
      ['Plan', acc.plan],
      ['API rate limit', acc.rateLimit ? `${fmtNum(acc.rateLimit)} requests per minute` : '—'],
      ['Signed in as', state.user ? `${state.user.email} (${state.user.scope})` : '—'],
    ])),
    card('Settings', form));
}

// ---- start --------------------------------------------------------------------------------------

$('#skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  $('#main').focus();
});
$('#signout').addEventListener('click', () => signOut());
window.addEventListener('hashchange', () => route());
applyBranding({});
route();
