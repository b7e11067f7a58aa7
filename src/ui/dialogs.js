// Modal dialogs: the modal itself, a confirmation, and a secret shown once.

import { button, flash, h, uid } from './dom.js';

// A modal <dialog>: focus moves into it, Escape closes it (the browser's cancel), and focus goes
// back where it was. Resolves with the chosen action's value (null for Escape).
export function modal({ title, content, actions, testId, focus }) {
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

export function confirmDialog(title, message, confirmLabel, danger = true) {
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
export function showSecret({ title, intro, value, valueId, extra, testId }) {
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
