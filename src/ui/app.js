// The License Edge dashboard, no framework: this module routes and starts the page; the views
// and what they share are in the modules it imports. The views are built from DOM nodes, never
// from markup (dom.js), and the session's JWT stays in memory (state.js).

import { ApiError, describe, refreshSession } from './api.js';
import { applyBranding, brandName, ensureAccount, notFound, setChrome } from './chrome.js';
import { $, button, enc, h, put } from './dom.js';
import { go, parseHash, safeNext, setRouter } from './nav.js';
import { state } from './state.js';
import { viewKeys, viewSettings, viewUsers } from './views-account.js';
import { viewAnalytics } from './views-analytics.js';
import { viewBlacklist } from './views-blacklist.js';
import { viewLicense, viewLicenses } from './views-licenses.js';
import { viewProducts } from './views-products.js';
import { signOut, viewAccept, viewSignIn } from './views-signin.js';
import { viewWebhook, viewWebhooks } from './views-webhooks.js';

let renderSeq = 0;
let firstRender = true;

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

// ---- start --------------------------------------------------------------------------------------

// The views' route() (nav.js) renders the page through this module's router.
setRouter(route);
$('#skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  $('#main').focus();
});
$('#signout').addEventListener('click', () => signOut());
window.addEventListener('hashchange', () => route());
applyBranding({});
route();
