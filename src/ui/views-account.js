// The account's own pages: its API keys, its users and its settings (with its branding).

import { API, api, ApiError, describe } from './api.js';
import { hexColor, pickBranding } from './brand.js';
import {
  applyBranding, brandName, DEFAULT_ACCENT, DEFAULT_BRAND, DEFAULT_PRIMARY,
} from './chrome.js';
import { confirmDialog, showSecret } from './dialogs.js';
import {
  badge, button, card, cell, checkbox, enc, field, fields, flash, h, pageHead, pager, select, table,
  timeCell,
} from './dom.js';
import { fmtNum, fmtTime, posInt } from './format.js';
import { busy, FormProblem, onSubmit } from './forms.js';
import { go, route, withQuery } from './nav.js';
import { state } from './state.js';

// ---- API keys -----------------------------------------------------------------------------------

export async function viewKeys(ctx) {
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

// ---- users --------------------------------------------------------------------------------------

export async function viewUsers(ctx) {
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

export async function viewSettings(ctx) {
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
