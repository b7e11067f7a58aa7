// Actions and forms: a button or a form is disabled while its request is under way, and what
// went wrong is shown and announced.

import { ApiError, describe } from './api.js';
import { flash, h } from './dom.js';

// Runs an action from a button: disabled while under way; errors are announced.
export async function busy(btn, fn) {
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
export function onSubmit(form, handler) {
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

export class FormProblem extends Error {}
