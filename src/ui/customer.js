// The customer's page: a license's holder enters the key and sees the license as
// POST /api/v1/customer/license answers it, under the vendor's branding. Everything from the
// server goes into the page as text.
import { pickBranding, safeLogoUrl, setBrandColors } from './brand.js';

const $ = (sel) => document.querySelector(sel);

function text(tag, value) {
  const el = document.createElement(tag);
  el.textContent = value;
  return el;
}

function brand(raw, productName) {
  const b = pickBranding(raw);
  const name = b.product_name || productName || 'Your license';
  $('#brand-name').textContent = name;
  $('#title').textContent = `Your ${name} license`;
  document.title = `${name} license`;
  const logo = safeLogoUrl(b.logo_url);
  if (logo) {
    $('#brand-logo').src = logo;
    $('#brand-logo').hidden = false;
  }
  setBrandColors(b);
}

function show(answer) {
  const l = answer.license || {};
  brand(answer.branding, answer.product?.name);
  $('#result-title').textContent = answer.product?.name || 'License';
  const fields = $('#result-fields');
  fields.replaceChildren();
  const rows = [
    ['Status', l.status],
    ['Type', l.type],
    ['Expires', l.expiresAt ? new Date(l.expiresAt).toUTCString() : 'Never'],
    ['Machines', `${l.activations ?? 0} of ${l.maxActivations ?? 0}`],
  ];
  for (const [k, v] of rows) {
    fields.append(text('dt', k));
    const dd = text('dd', String(v ?? ''));
    if (k === 'Status') dd.dataset.test = 'customer-status';
    fields.append(dd);
  }
  const list = $('#machines');
  list.replaceChildren();
  for (const m of l.machines || []) {
    list.append(text('li', `${m.label || 'A machine'}, since ${new Date(m.activatedAt).toUTCString()}`));
  }
  if (!list.children.length) list.append(text('li', 'No machine uses it.'));
  $('#result').hidden = false;
}

$('#lookup').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const key = $('#license-key').value.trim();
  const status = $('#live');
  $('#result').hidden = true;
  if (!key) {
    status.textContent = 'Enter your license key.';
    $('#license-key').focus();
    return;
  }
  status.textContent = 'Looking it up…';
  try {
    const r = await fetch('/api/v1/customer/license', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ license_key: key }),
    });
    const body = await r.json().catch(() => ({}));
    if (r.status === 404) {
      status.textContent = 'No license has this key. Check it against the email you received.';
    } else if (!r.ok) {
      status.textContent = body.error || `The lookup failed (${r.status}).`;
    } else {
      status.textContent = '';
      show(body);
      $('#result-title').focus?.();
    }
  } catch {
    status.textContent = 'The lookup failed: no connection.';
  }
});
