// The blacklist: IP addresses, hardware ids and license keys the edges refuse.

import { API, api } from './api.js';
import {
  button, card, cell, enc, field, flash, h, pageHead, pager, select, table, timeCell,
} from './dom.js';
import { fmtNum, posInt } from './format.js';
import { busy, onSubmit } from './forms.js';
import { go, route, withQuery } from './nav.js';

export async function viewBlacklist(ctx) {
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
