// The frame around the views: the account's branding in the banner and the colours, the
// sidebar and session bar for a signed-in user, and the not-found page that routes and views
// both show.

import { api, API } from './api.js';
import { pickBranding, safeLogoUrl, setBrandColors } from './brand.js';
import { $, h, uid } from './dom.js';
import { state } from './state.js';

export const DEFAULT_BRAND = 'License Edge';
export const DEFAULT_PRIMARY = '#1d4ed8';
export const DEFAULT_ACCENT = '#0f766e';

export function brandName() {
  return state.branding.product_name || DEFAULT_BRAND;
}

export function applyBranding(raw) {
  state.branding = pickBranding(raw);
  const name = brandName();
  $('#brand-name').textContent = name;
  const initials = name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]).join('').toUpperCase();
  $('#brand-mark').textContent = initials || 'LE';
  const logo = $('#brand-logo');
  const url = safeLogoUrl(state.branding.logo_url);
  if (url) {
    logo.src = url;
    logo.alt = '';
    logo.hidden = false;
    $('#brand-mark').hidden = true;
  } else {
    logo.removeAttribute('src');
    logo.hidden = true;
    $('#brand-mark').hidden = false;
  }
  setBrandColors(state.branding, DEFAULT_PRIMARY, DEFAULT_ACCENT);
}

export async function ensureAccount() {
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

export function setChrome(signedIn, navName) {
  document.body.classList.toggle('signed-out', !signedIn);
  $('#sidebar').hidden = !signedIn;
  $('#session').hidden = !signedIn;
  $('#session-user').textContent = signedIn && state.user ? String(state.user.email ?? '') : '';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === navName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

export function notFound(ctx, what) {
  const titleId = uid('nf');
  ctx.main.dataset.view = 'not-found';
  ctx.render(h('section', { class: 'card not-found', id: 'not-found', role: 'alert', 'aria-labelledby': titleId },
    h('p', { class: 'code' }, '404'),
    h('h1', { id: titleId, tabindex: '-1' }, 'Not found'),
    h('p', {}, `Error 404: this ${what} does not exist, or it belongs to another account.`),
    h('p', {}, h('a', { href: '#/licenses' }, 'Back to licenses'))));
}
