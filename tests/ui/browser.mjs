// The dashboard in Chromium (puppeteer-core), run by ui_test.sh against a primary and an edge.
// Fails on any request outside the primary's origin, any console error other than the API
// answers a step expects to fail, any CSP violation and any uncaught page error.
// env: PRIMARY, EDGE (base URLs), EMAIL_A, PASSWORD_A (account A's user), OTHER_LICENSE_ID
// (account B's license), SCREENSHOTS (directory), CHROMIUM (executable).
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const env = process.env;
for (const name of ['PRIMARY', 'EDGE', 'EMAIL_A', 'PASSWORD_A', 'OTHER_LICENSE_ID', 'SCREENSHOTS']) {
  if (!env[name]) {
    console.error(`FAIL: ${name} is not set`);
    process.exit(2);
  }
}
const PRIMARY = env.PRIMARY.replace(/\/$/, '');
const EDGE = env.EDGE.replace(/\/$/, '');
const ORIGIN = new URL(PRIMARY).origin;
const OTHER = env.OTHER_LICENSE_ID;
const SHOTS = env.SCREENSHOTS;
const HOSTILE = '<img src=x onerror="window.__pwned=1">Hostile';
const BUDGET_MS = 100_000;
const WAIT_MS = 10_000;
const EDGE_WAIT_MS = 15_000;

// Screenshots of an earlier run would pass for this one's.
fs.mkdirSync(SHOTS, { recursive: true });
for (const f of fs.readdirSync(SHOTS)) {
  if (/^(\d\d-[a-z0-9-]+|failure)\.png$/.test(f)) fs.rmSync(path.join(SHOTS, f));
}

let step = 'starting';
const started = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function ok(what) {
  console.log(`ok   ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

// ---- what the page must never do
const offOrigin = [];
const consoleErrors = [];
const cspViolations = [];
const pageErrors = [];
const failedApi = [];
// API answers some steps expect to be errors: the first page load has no session cookie yet
// (and after sign-out the cookie is gone), and account B's license is 404 to account A.
const expectedFailures = [
  { path: '/api/v1/auth/refresh', statuses: [401, 403] },
  { path: `/api/v1/portal/licenses/${encodeURIComponent(OTHER)}`, statuses: [404] },
];
const isExpected = (url, status) => {
  let p;
  try {
    p = new URL(url).pathname;
  } catch {
    return false;
  }
  return expectedFailures.some((e) => e.path === p && e.statuses.includes(status));
};

// A page whose every request, console error, CSP violation and uncaught error is recorded.
async function instrumentedPage(context) {
  const p = await context.newPage();
  p.setDefaultTimeout(WAIT_MS);
  await p.setRequestInterception(true);
  p.on('request', (req) => {
    const url = req.url();
    if (url.startsWith('data:')) {
      req.continue();
      return;
    }
    let origin = '';
    try {
      origin = new URL(url).origin;
    } catch {
      origin = '';
    }
    if (origin !== ORIGIN) {
      offOrigin.push(url);
      req.abort('blockedbyclient');
      return;
    }
    req.continue();
  });
  p.on('response', (res) => {
    if (res.status() >= 400 && !isExpected(res.url(), res.status())) {
      failedApi.push(`${res.request().method()} ${res.url()} → ${res.status()}`);
    }
  });
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const url = msg.location()?.url || '';
    const status = Number((/status of (\d{3})/.exec(text) || [])[1]);
    // Chromium logs every failed fetch; those the steps expect are not the page's errors.
    if (text.startsWith('Failed to load resource') && isExpected(url, status)) return;
    consoleErrors.push(`${text} (${url})`);
  });
  p.on('pageerror', (err) => pageErrors.push(String(err && err.message ? err.message : err)));
  await p.exposeFunction('__leReportCsp', (v) => cspViolations.push(v));
  await p.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__leReportCsp(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return p;
}

const browser = await puppeteer.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run',
    '--no-default-browser-check', '--disable-background-networking', '--disable-sync',
    '--disable-component-update', '--disable-features=Translate,OptimizationHints,MediaRouter'],
  defaultViewport: { width: 1366, height: 900 },
});
const hardStop = setTimeout(async () => {
  console.error(`FAIL: the browser test took over ${BUDGET_MS / 1000} s (at: ${step})`);
  await browser.close().catch(() => {});
  process.exit(1);
}, BUDGET_MS);

let page;
try {
  page = await instrumentedPage(browser);

  const waitReady = (view) => page.waitForSelector(`#main[data-ready="${view}"]`, { timeout: WAIT_MS });
  const show = async (hash, view) => {
    await page.evaluate((h) => { window.location.hash = h; }, hash);
    await waitReady(view);
  };
  const nav = async (name, view = name) => {
    const link = `nav a[data-nav="${name}"]`;
    const moves = await page.$eval(link, (a) => a.getAttribute('href') !== window.location.hash);
    // A link to where the page already is renders nothing new; any other does, so the old
    // render's mark is dropped to wait for the new one.
    if (moves) await page.$eval('#main', (m) => m.removeAttribute('data-ready'));
    await page.click(link);
    await waitReady(view);
    const current = await page.$eval('nav a[aria-current="page"]', (a) => a.dataset.nav).catch(() => '');
    check(current === name, `the nav marks "${current}" as the current page on ${name}`);
  };
  // For a step that renders the same view again: the old render's mark is dropped first, so
  // the wait is for the new one.
  const rerender = async (view, action) => {
    await page.$eval('#main', (m) => m.removeAttribute('data-ready'));
    await action();
    await waitReady(view);
  };
  const textOf = (sel) => page.$eval(sel, (e) => e.textContent.trim());
  const closeDialog = async (testId) => {
    await page.keyboard.press('Escape');
    await page.waitForSelector(`dialog[data-test="${testId}"]`, { hidden: true });
  };
  let shot = 0;
  const screenshot = async (name) => {
    shot += 1;
    // The status toast fades on a timer; a screenshot shows the page, not the last message.
    await page.evaluate(() => { document.getElementById('live').textContent = ''; });
    const file = path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
  };
  // Every visible control has a label; every button has a name; table headers have a scope;
  // one h1 per page.
  const checkPage = async (name) => {
    const problems = await page.evaluate(() => {
      const out = [];
      const visible = (el) => el.getClientRects().length > 0;
      for (const el of document.querySelectorAll('input, select, textarea')) {
        if (el.type === 'hidden' || !visible(el)) continue;
        const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
        if (!named) out.push(`unlabelled ${el.tagName.toLowerCase()}#${el.id || '?'}`);
      }
      for (const b of document.querySelectorAll('button, a[href]')) {
        if (visible(b) && !(b.textContent.trim() || b.getAttribute('aria-label'))) out.push(`unnamed ${b.tagName.toLowerCase()}`);
      }
      for (const th of document.querySelectorAll('th')) {
        if (!th.getAttribute('scope')) out.push(`th without scope: ${th.textContent.trim()}`);
      }
      const h1s = document.querySelectorAll('main h1').length;
      if (h1s !== 1) out.push(`${h1s} h1 elements in main`);
      // Text contrast (WCAG AA): each element with text of its own against the first opaque
      // background behind it; 3:1 for large text, 4.5:1 otherwise. Disabled controls are exempt.
      const rgba = (s) => (s.match(/[\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => {
        const f = (c) => { const x = c / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const background = (el) => {
        for (let e = el; e; e = e.parentElement) {
          const c = rgba(getComputedStyle(e).backgroundColor);
          if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c;
        }
        return [255, 255, 255];
      };
      for (const el of document.querySelectorAll('body *')) {
        if (!visible(el) || el.closest('svg, [disabled], option')) continue;
        if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
        const cs = getComputedStyle(el);
        if (cs.visibility === 'hidden' || Number(cs.opacity) < 0.1) continue;
        const fg = rgba(cs.color);
        const bg = background(el);
        const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
        const ratio = (l1 + 0.05) / (l2 + 0.05);
        const size = parseFloat(cs.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) out.push(`contrast ${ratio.toFixed(2)} of "${el.textContent.trim().slice(0, 30)}" (${cs.color} on rgb(${bg.join(',')}))`);
      }
      return out;
    });
    check(problems.length === 0, `accessibility on ${name}: ${problems.join('; ')}`);
  };

  // ---- sign in
  step = 'sign-in';
  await page.goto(`${PRIMARY}/`, { waitUntil: 'domcontentloaded' });
  check(new URL(page.url()).pathname === '/ui/', `/ redirects to /ui/ (at ${page.url()})`);
  await page.waitForSelector('#signin-email', { visible: true });
  const chrome = await page.evaluate(() => ({
    nav: document.getElementById('sidebar').getClientRects().length > 0,
    signOut: document.getElementById('signout').getClientRects().length > 0,
  }));
  check(!chrome.nav && !chrome.signOut, `signed out, the page shows ${JSON.stringify(chrome)}`);
  await checkPage('sign-in');
  await screenshot('signin');
  await page.type('#signin-email', env.EMAIL_A);
  await page.type('#signin-password', env.PASSWORD_A);
  await page.click('#signin-submit');
  await waitReady('licenses');
  check((await textOf('#session-user')) === env.EMAIL_A, 'the header names the signed-in user');
  ok('signs in as account A\'s user');

  // ---- a product with a hostile name, shown as text
  step = 'products';
  await nav('products');
  await page.type('#product-name', HOSTILE);
  await page.click('#product-platform-windows');
  await page.$eval('#plan-max-activations', (el) => { el.value = '3'; });
  await page.click('#product-create');
  await page.waitForFunction((name) => [...document.querySelectorAll('[data-test=product-name]')]
    .some((e) => e.textContent === name), { timeout: WAIT_MS }, HOSTILE);
  await waitReady('products');
  await sleep(200);
  const injected = await page.evaluate(() => ({
    pwned: window.__pwned,
    images: [...document.querySelectorAll('img')].filter((i) => i.getAttribute('src') === 'x').length,
  }));
  check(injected.pwned === undefined && injected.images === 0,
    `the product name was run as markup: ${JSON.stringify(injected)}`);
  await checkPage('products');
  ok('a hostile product name is shown literally and runs nothing');
  await page.click('[data-test=product-row] [data-test=add-plan]');
  await page.waitForSelector('dialog[data-test=plan-dialog]');
  const planInput = await page.$('dialog[data-test=plan-dialog] input[id$="-id"]');
  await planInput.click({ clickCount: 3 });
  await planInput.type('pro');
  await page.click('dialog[data-test=plan-dialog] [data-test=confirm]');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-test=product-row] code')]
    .some((c) => c.textContent === 'pro'), { timeout: WAIT_MS });
  await waitReady('products');
  ok('adds a second plan to the product');

  // ---- a webhook endpoint, so that license events queue deliveries
  step = 'webhooks';
  await nav('webhooks');
  await page.type('#webhook-url', 'https://hooks.example.org/license-edge');
  await page.click('#webhook-create');
  await page.waitForSelector('#webhook-secret', { visible: true });
  check((await textOf('#webhook-secret')).length >= 16, 'the new endpoint\'s secret is shown');
  await closeDialog('webhook-secret-dialog');
  await page.waitForSelector('[data-test=webhook-row]');
  await waitReady('webhooks');
  await checkPage('webhooks');
  ok('adds a webhook endpoint; its secret is shown once');

  // ---- a license from the product's plan
  step = 'licenses';
  await nav('licenses');
  const productId = await page.$eval('#license-product', (sel, name) =>
    [...sel.options].find((o) => o.textContent === name)?.value || '', HOSTILE);
  check(productId, 'the hostile product is offered by name in the license form');
  await page.select('#license-product', productId);
  await page.select('#license-plan', 'standard');
  await page.type('#license-email', 'buyer@example.com');
  await page.click('#license-create');
  await page.waitForSelector('#new-license-key', { visible: true });
  const key = await textOf('#new-license-key');
  const licenseId = await page.$eval('#new-license-id', (a) => a.dataset.id);
  check(/^[A-Z0-9-]{8,}$/.test(key), `the new license key is shown (${key})`);
  check(await page.evaluate(() => document.activeElement?.closest('dialog') !== null), 'focus moves into the dialog');
  await screenshot('license-key-dialog');
  await closeDialog('license-key-dialog');
  const row = `[data-test=license-row][data-id="${licenseId}"]`;
  await page.waitForSelector(row);
  check((await page.$eval(row, (r) => r.textContent)).includes(HOSTILE), 'the license row names its product literally');
  check((await textOf(`${row} [data-test=status]`)) === 'active', 'the new license is active');
  ok(`creates license ${licenseId}; Escape closes the key's dialog`);
  await page.type('#filter-search', 'buyer@example');
  await rerender('licenses', () => page.click('#filter-apply'));
  check(/[?&]q=buyer/.test(await page.evaluate(() => window.location.hash)), 'the search is in the address');
  check(await page.$(row), 'the search for the customer finds the license');
  await page.$eval('#filter-search', (el) => { el.value = 'no-such-customer'; });
  await rerender('licenses', () => page.click('#filter-apply'));
  check(await page.$('[data-test=licenses-table-empty]'), 'a search for no one finds nothing');
  await page.$eval('#filter-search', (el) => { el.value = ''; });
  await page.select('#filter-status', 'suspended');
  await rerender('licenses', () => page.click('#filter-apply'));
  check(await page.$('[data-test=licenses-table-empty]'), 'no license is suspended yet');
  await page.select('#filter-status', 'active');
  await rerender('licenses', () => page.click('#filter-apply'));
  check(await page.$(row), 'the active licenses include the new one');
  await nav('licenses');
  ok('the search and status filter find the license');

  // ---- the edge sees it, then its suspension
  step = 'edge';
  const validate = async () => {
    const r = await fetch(`${EDGE}/api/v1/validate`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ license_key: key }),
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  };
  const pollEdge = async (what, done) => {
    const end = Date.now() + EDGE_WAIT_MS;
    let last;
    while (Date.now() < end) {
      last = await validate();
      if (done(last)) return last;
      await sleep(250);
    }
    throw new Error(`the edge did not ${what} within ${EDGE_WAIT_MS / 1000} s; last answer ${last?.status} ${JSON.stringify(last?.body)}`);
  };
  await pollEdge('validate the new license', (r) => r.status === 200 && r.body?.valid === true);
  ok('the edge validates the new license');
  step = 'suspend';
  await page.click(`${row} [data-test=suspend]`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.trim() === 'suspended',
    { timeout: WAIT_MS }, `${row} [data-test=status]`);
  await page.waitForSelector(`${row} [data-test=reinstate]`);
  const refused = await pollEdge('refuse the suspended license',
    (r) => r.status === 200 && r.body?.valid === false && r.body?.license?.status === 'suspended');
  check(refused.body.code === 'SUSPENDED', `the edge's code for a suspended license: ${refused.body.code}`);
  await checkPage('licenses');
  await screenshot('licenses');
  ok('suspends it in the UI; the edge answers valid:false, status suspended');

  // ---- another account's license does not exist here
  step = 'not-found';
  await page.evaluate((id) => { window.location.hash = `#/licenses/${encodeURIComponent(id)}`; }, OTHER);
  await page.waitForSelector('#not-found');
  const nf = await page.$eval('#not-found', (e) => ({ role: e.getAttribute('role'), text: e.textContent, h1: e.querySelector('h1')?.textContent }));
  check(nf.role === 'alert' && nf.h1 === 'Not found' && nf.text.includes('404'), `the not-found state: ${JSON.stringify(nf)}`);
  check(!nf.text.includes('B Product'), 'the not-found page shows nothing of the other account');
  await screenshot('not-found');
  ok('account B\'s license shows as Not found (404)');

  // ---- the license's page
  step = 'license detail';
  await show(`#/licenses/${encodeURIComponent(licenseId)}`, 'license');
  check((await textOf('[data-test=status]')) === 'suspended', 'the license page shows it suspended');
  await page.waitForSelector('#main [data-test=chart]');
  // Its email to buyer@example.com is queued: the test's relay is a closed port, so the mail
  // stays queued (attempted or not yet, by when the page reads it) for the whole test.
  await page.waitForFunction(() => /buyer@example\.com/.test(document.querySelector('[data-test=license-email]')?.textContent || ''), { timeout: 10000 });
  const mail = await textOf('[data-test=license-email]');
  check(/State\s*queued/.test(mail) && /Attempts\s*\d/.test(mail), `the license email's state: ${mail}`);
  await checkPage('license');
  await screenshot('license');
  ok('the license page shows its fields, email state, usage chart and events');
  await page.click('[data-test=reinstate]');
  await page.waitForFunction(() => document.querySelector('h1 [data-test=status]')?.textContent === 'active', { timeout: WAIT_MS });
  await page.click('.page-head [data-test=revoke]');
  await page.waitForSelector('dialog[data-test=confirm-dialog]');
  await page.click('dialog[data-test=confirm-dialog] [data-test=confirm]');
  await page.waitForFunction(() => document.querySelector('h1 [data-test=status]')?.textContent === 'revoked', { timeout: WAIT_MS });
  check(!(await page.$('.page-head [data-test=reinstate], .page-head [data-test=suspend]')), 'a revoked license offers no reinstatement');
  ok('reinstates, then revokes after a confirmation');

  // ---- the rest of the pages
  step = 'products page';
  await nav('products');
  await screenshot('products');

  step = 'keys';
  await nav('keys');
  await page.select('#key-mode', 'test');
  await page.click('#key-create');
  await page.waitForSelector('#new-key-value', { visible: true });
  check((await textOf('#new-key-value')).startsWith('to_test_'), 'the new API key is shown once');
  await closeDialog('key-dialog');
  await page.waitForSelector('[data-test=key-row]');
  await waitReady('keys');
  await checkPage('keys');
  await screenshot('keys');
  ok('creates an API key and lists the account\'s keys');

  step = 'webhook deliveries';
  await nav('webhooks');
  await screenshot('webhooks');
  await page.click('[data-test=webhook-row] a[href^="#/webhooks/"]');
  await waitReady('webhook');
  await page.waitForSelector('[data-test=delivery-row]');
  await checkPage('webhook');
  await screenshot('webhook-deliveries');
  ok('lists an endpoint\'s deliveries');

  step = 'analytics';
  await nav('analytics');
  await page.waitForSelector('#main [data-test=chart]');
  await checkPage('analytics');
  await screenshot('analytics');
  ok('analytics: the chart, the top licenses and the auth log');

  step = 'blacklist';
  await nav('blacklist');
  await page.type('#blacklist-value', '203.0.113.7');
  await page.click('#blacklist-add');
  await page.waitForSelector('[data-test=blacklist-row]');
  await waitReady('blacklist');
  await checkPage('blacklist');
  await screenshot('blacklist');

  step = 'users';
  await nav('users');
  await page.type('#invite-email', 'colleague@a.example.com');
  await page.click('#invite-submit');
  await page.waitForSelector('#invite-token', { visible: true });
  const inviteToken = await textOf('#invite-token');
  check(inviteToken.length >= 16, 'the invitation token is shown once');
  await closeDialog('invite-dialog');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-test=user-row]')]
    .some((r) => r.textContent.includes('colleague@a.example.com') && r.textContent.includes('invited')), { timeout: WAIT_MS });
  await waitReady('users');
  await checkPage('users');
  await screenshot('users');
  ok('invites a user; the token is shown once');
  step = 'accept the invitation';
  const other = await browser.createBrowserContext();
  const guest = await instrumentedPage(other);
  await guest.goto(`${PRIMARY}/ui/#/accept`, { waitUntil: 'domcontentloaded' });
  await guest.waitForSelector('#accept-token', { visible: true });
  await guest.type('#accept-token', inviteToken);
  await guest.type('#accept-password', 'another long password');
  await guest.type('#accept-password-again', 'another long password');
  await guest.click('#accept-submit');
  await guest.waitForSelector('#main[data-ready="licenses"]');
  check((await guest.$eval('#session-user', (e) => e.textContent)) === 'colleague@a.example.com', 'the invited user is signed in');
  await other.close();
  ok('the invited user accepts with a password and is signed in');

  step = 'settings';
  await nav('settings');
  await page.$eval('#brand-product-name', (el) => { el.value = ''; });
  await page.type('#brand-product-name', 'Acme Licensing');
  await page.$eval('#brand-primary-color', (el) => {
    el.value = '#7a2e0e';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.click('#tki-rate-limit');
  await page.click('#settings-save');
  await page.waitForFunction(() => document.getElementById('brand-name').textContent === 'Acme Licensing', { timeout: WAIT_MS });
  const brand = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--brand').trim());
  check(brand === '#7a2e0e', `the primary colour applies to the page (--brand is ${brand})`);
  await checkPage('settings');
  await screenshot('settings');
  ok('saves TKI and branding settings; the header shows the brand');

  // ---- keyboard: from the top of a fresh load, Tab reaches the skip link first
  step = 'keyboard';
  await page.evaluate(() => { window.location.hash = '#/licenses'; });
  await waitReady('licenses');
  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitReady('licenses');
  check((await textOf('#brand-name')) === 'Acme Licensing', 'the brand survives a reload');
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
  check(first === 'skip-link', `the first Tab stop is ${first}, not the skip link`);
  await page.keyboard.press('Enter');
  const target = await page.evaluate(() => document.activeElement?.id);
  check(target === 'main', `the skip link moves focus to ${target}, not main`);
  ok('a reload keeps the session (cookie refresh); Tab reaches the skip link first');

  // ---- sign out
  step = 'sign-out';
  await page.click('#signout');
  await page.waitForSelector('#signin-email', { visible: true });
  await page.evaluate(() => { window.location.hash = '#/licenses'; });
  await page.waitForSelector('#signin-email', { visible: true });
  ok('signs out; the pages ask for sign-in again');

  // ---- the customer's page: the key shows the license under the vendor's branding
  step = 'customer page';
  await page.goto(`${ORIGIN}/ui/customer.html`, { waitUntil: 'domcontentloaded' });
  await page.type('#license-key', key);
  await page.click('#lookup-submit');
  await page.waitForSelector('[data-test=customer-status]', { visible: true, timeout: WAIT_MS });
  check((await textOf('[data-test=customer-status]')) === 'revoked', 'the customer page shows the license revoked');
  check((await textOf('#brand-name')) === 'Acme Licensing', 'the customer page carries the vendor\'s name');
  const customerBrand = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--brand').trim());
  check(customerBrand === '#7a2e0e', `the customer page carries the vendor's colour (--brand is ${customerBrand})`);
  check(!(await page.content()).includes('buyer@example.com'), 'the customer page shows no customer email');
  await checkPage('customer');
  await screenshot('customer');
  ok('the customer page shows the license by its key, under the vendor\'s branding');

  step = 'the page\'s conduct';
  check(offOrigin.length === 0, `requests outside ${ORIGIN}: ${offOrigin.join(', ')}`);
  check(cspViolations.length === 0, `CSP violations: ${cspViolations.join('; ')}`);
  check(pageErrors.length === 0, `page errors: ${pageErrors.join('; ')}`);
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join('; ')}`);
  check(failedApi.length === 0, `unexpected failed requests: ${failedApi.join('; ')}`);
  ok(`no request left ${ORIGIN}; no console error, CSP violation or page error`);
  console.log(`screenshots: ${fs.readdirSync(SHOTS).filter((f) => f.endsWith('.png')).length} in ${SHOTS}`);
} catch (e) {
  console.error(`FAIL at ${step}: ${e && e.message ? e.message : e}`);
  if (offOrigin.length) console.error(`  requests outside ${ORIGIN}: ${offOrigin.join(', ')}`);
  if (consoleErrors.length) console.error(`  console errors: ${consoleErrors.join('; ')}`);
  if (cspViolations.length) console.error(`  CSP violations: ${cspViolations.join('; ')}`);
  if (pageErrors.length) console.error(`  page errors: ${pageErrors.join('; ')}`);
  if (failedApi.length) console.error(`  failed requests: ${failedApi.join('; ')}`);
  if (page) {
    await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
    const main = await page.$eval('#main', (m) => m.innerText.slice(0, 600)).catch(() => '');
    if (main) console.error(`  the page shows: ${main.replace(/\s+/g, ' ')}`);
  }
  process.exitCode = 1;
} finally {
  clearTimeout(hardStop);
  await browser.close().catch(() => {});
}
