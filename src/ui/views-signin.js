// The pages before a session: sign-in and accepting an invitation; and signing out.

import { acceptSession, AUTH, dropSession, rawRequest } from './api.js';
import { applyBranding, brandName } from './chrome.js';
import { field, flash, h } from './dom.js';
import { FormProblem, onSubmit } from './forms.js';
import { go, safeNext } from './nav.js';
import { state } from './state.js';

export async function viewSignIn(ctx) {
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

export async function viewAccept(ctx) {
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

export async function signOut() {
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
