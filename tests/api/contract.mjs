// The contract test: sends every operation of the served OpenAPI documents to running
// processes — with the request example the document gives, the ids it needs taken from earlier
// answers — and checks each answer against the document: its status is one the operation
// documents, its body validates against that response's schema (ajv, JSON Schema 2020-12), and
// the headers the document marks required are there. Every documented operation must be sent,
// and answered 2xx unless listed below with its reason.
// env: PRIMARY, EDGE (base URLs), PRIMARY_ADMIN, EDGE_ADMIN (admin listeners), ADMIN_TOKEN.
// The primary must allow webhooks to loopback (--webhooks-allow-private).
import fs from 'node:fs';
import http from 'node:http';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const env = process.env;
const failures = [];
const fail = (msg) => { failures.push(msg); console.log('FAIL ' + msg); };

async function getDoc(base) {
  const r = await fetch(base + '/api/v1/openapi.json');
  if (r.status !== 200) throw new Error(`${base}/api/v1/openapi.json answered ${r.status}`);
  return r.json();
}
const docs = { primary: await getDoc(env.PRIMARY), edge: await getDoc(env.EDGE) };
const bases = { primary: env.PRIMARY, edge: env.EDGE };
const adminBases = { primary: env.PRIMARY_ADMIN, edge: env.EDGE_ADMIN };

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
for (const [name, doc] of Object.entries(docs)) {
  ajv.addSchema({ $id: `urn:le:${name}`, components: doc.components });
}
const validators = new Map();
function validatorFor(process, schema) {
  // "#/components/..." refs resolve against the process's document.
  const text = JSON.stringify(schema).replaceAll('"#/components/', `"urn:le:${process}#/components/`);
  if (!validators.has(text)) validators.set(text, ajv.compile(JSON.parse(text)));
  return validators.get(text);
}
function resolve(doc, node) {
  while (node && node.$ref) {
    node = node.$ref.split('/').slice(1).reduce((n, k) => n[k.replaceAll('~1', '/')], doc);
  }
  return node;
}

// Operations by id, per process.
const ops = { primary: new Map(), edge: new Map() };
for (const [process, doc] of Object.entries(docs)) {
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) ops[process].set(op.operationId, { path, method, op });
  }
}
const sent = { primary: new Map(), edge: new Map() };  // operationId -> statuses answered

// Strings of the examples that stand for things made during the run.
const subst = new Map();
function substitute(value) {
  if (typeof value === 'string') return subst.has(value) ? subst.get(value) : value;
  if (Array.isArray(value)) return value.map(substitute);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)]));
  }
  return value;
}

const keys = { ApiKey: null, OperatorToken: env.ADMIN_TOKEN, TkiApiKey: null, Jwt: null };

// The portal's twin of an account operation (/api/v1/portal/…, "portal" + its id): sent
// before the operation itself, the same request under the dashboard user's JWT — but for the
// ones that cannot be sent twice alike (a name taken, a thing deleted), sent on their own below.
const sentOnTheirOwn = new Set(['createProduct', 'deleteWebhook', 'deleteBlacklistEntry',
  'deleteLicense', 'deleteProduct']);
const twinOf = (id) => 'portal' + id[0].toUpperCase() + id.slice(1);

// Sends operation `id` at `process`; returns {status, body, headers}.
// opts: params (path), query, body (else the document's example), noBody, auth (override).
async function call(process, id, opts = {}) {
  if (process === 'primary' && !id.startsWith('portal') && ops.primary.has(twinOf(id)) &&
      !sentOnTheirOwn.has(id) && opts.auth === undefined) {
    await send(process, twinOf(id), { ...opts, auth: 'Jwt' });
  }
  return send(process, id, opts);
}

async function send(process, id, opts = {}) {
  const entry = ops[process].get(id);
  if (!entry) { fail(`${process}: no operation ${id} in its document`); return {}; }
  const { path, method, op } = entry;
  let url = path.replace(/\{(\w+)\}/g, (_, name) => {
    const v = (opts.params || {})[name];
    if (v === undefined) fail(`${id}: no value for {${name}}`);
    return encodeURIComponent(v);
  });
  if (opts.query) url += '?' + new URLSearchParams(opts.query);
  const headers = { ...(opts.headers || {}) };
  const scheme = opts.auth !== undefined ? opts.auth
    : (op.security && op.security.length ? Object.keys(op.security[0])[0] : null);
  if (scheme === 'TkiApiKey') headers.Authorization = keys.TkiApiKey;
  else if (scheme) headers.Authorization = 'Bearer ' + keys[scheme];
  let body;
  const media = op.requestBody?.content?.['application/json'];
  if (!opts.noBody && (opts.body !== undefined || media?.example !== undefined)) {
    const b = opts.body !== undefined ? opts.body : substitute(media.example);
    body = typeof b === 'string' ? b : JSON.stringify(b);
    headers['Content-Type'] = 'application/json';
  }
  const base = path === '/metrics' ? adminBases[process] : bases[process];
  const r = await fetch(base + url, { method: method.toUpperCase(), headers, body });
  const text = await r.text();
  const statuses = sent[process].get(id) || [];
  statuses.push(r.status);
  sent[process].set(id, statuses);
  check(process, id, op, r, text);
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { /* not JSON: checked against the document */ }
  return { status: r.status, body: parsed, text, headers: r.headers };
}

function check(process, id, op, r, text) {
  const doc = docs[process];
  const what = `${process} ${id} -> ${r.status}`;
  const documented = resolve(doc, op.responses[String(r.status)]);
  if (!documented) { fail(`${what}: status not documented (${text.slice(0, 200)})`); return; }
  for (const [name, h] of Object.entries(documented.headers || {})) {
    if (resolve(doc, h).required && !r.headers.has(name)) fail(`${what}: header ${name} missing`);
  }
  const contentType = (r.headers.get('content-type') || '').split(';')[0];
  const media = documented.content?.[contentType];
  if (!media) { fail(`${what}: content type ${contentType} not documented`); return; }
  if (contentType !== 'application/json') return;
  let body;
  try { body = JSON.parse(text); } catch { fail(`${what}: body is not JSON`); return; }
  const validate = validatorFor(process, media.schema);
  if (!validate(body)) {
    fail(`${what}: ${ajv.errorsText(validate.errors)} in ${text.slice(0, 300)}`);
  }
}

const ok = (r, what) => {
  if (!(r.status >= 200 && r.status < 300)) throw new Error(`${what} answered ${r.status}: ${r.text}`);
  return r.body;
};
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// ---- the operator: an account and its key
const account = ok(await call('primary', 'createAccount'), 'createAccount').account;
await call('primary', 'updateAccount', { params: { accountId: account.id } });
const issued = ok(await call('primary', 'issueAccountApiKey', { params: { accountId: account.id } }),
  'issueAccountApiKey').apiKey;
keys.ApiKey = issued.key;
keys.TkiApiKey = issued.key;
// ---- dashboard users and sign-in
const stamp = Date.now();
const owner = { email: `owner-${stamp}@example.com`, password: 'correct horse battery' };
await call('primary', 'createAccountUser', { params: { accountId: account.id }, body: owner });
await call('primary', 'createOperatorUser',
  { body: { email: `ops-${stamp}@example.com`, password: 'correct horse battery' } });
const signedIn = await call('primary', 'signIn', { body: owner });
keys.Jwt = ok(signedIn, 'signIn').data.token;
const cookie = (signedIn.headers.get('set-cookie') || '').split(';')[0];
await call('primary', 'refreshSession',
  { auth: null, headers: { Cookie: cookie, 'X-Requested-With': 'fetch' } });
await call('primary', 'getCurrentUser');
await call('primary', 'listAccountUsers');
const invited = ok(await call('primary', 'inviteUser',
  { body: { email: `colleague-${stamp}@example.com` } }), 'inviteUser');
await call('primary', 'acceptInvitation',
  { body: { token: invited.data.inviteToken, password: 'another long password' } });


// ---- the account's own calls (each also through its portal twin, under the JWT)
await call('primary', 'getAccount');
await call('primary', 'updateAccountSettings');
const spare = ok(await call('primary', 'issueApiKey'), 'issueApiKey').apiKey;
await call('primary', 'revokeApiKey', { params: { keyId: spare.id } });
await call('primary', 'listApiKeys');
const other = ok(await call('primary', 'issueAccountApiKey', { params: { accountId: account.id } }),
  'issueAccountApiKey').apiKey;
await call('primary', 'revokeAnyApiKey', { params: { keyId: other.id } });

// ---- products and licenses
const product = ok(await call('primary', 'createProduct'), 'createProduct').product;
subst.set('prod_123', product.id);
subst.set('MyProduct', product.name);
await call('primary', 'portalCreateProduct', { auth: 'Jwt', body: { name: 'Portal App' } });
await call('primary', 'updateProduct', { params: { productId: product.id } });
await call('primary', 'getProduct', { params: { productId: product.id } });
await call('primary', 'listProducts', { query: { page: 1, limit: 10 } });
const license = ok(await call('primary', 'createLicense'), 'createLicense').license;
subst.set('XXXX-XXXX-XXXX-XXXX', license.key);
const lp = { licenseId: license.id };
await call('primary', 'getCustomerLicense');
await call('primary', 'createLicenses');
await call('primary', 'listLicenses', { query: { status: 'active', limit: 2 } });
await call('primary', 'getLicense', { params: lp });
await call('primary', 'updateLicense', { params: lp });
await call('primary', 'suspendLicense', { params: lp });
await call('primary', 'reinstateLicense', { params: lp });
await call('primary', 'renewLicense', { params: lp });
const bought = ok(await call('primary', 'createPortalLicense'), 'createPortalLicense').license;
// Its email is queued (the relay is a closed port): its state is there to read.
await call('primary', 'getLicenseEmail', { params: { licenseId: bought.id } });
await call('primary', 'listPortalLicenses', { query: { page: 2, limit: 1 } });
const floating = ok(await call('primary', 'createLicense', {
  body: { product_id: product.id, type: 'floating', max_activations: 2 },
}), 'createLicense floating').license;

// ---- at the edge, once its replica has the license
for (let i = 0; i < 100; i++) {
  const r = await fetch(env.EDGE + '/api/v1/validate', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ license_key: floating.key }),
  });
  if ((await r.json()).valid === true) break;
  await sleep(100);
}
await call('edge', 'validateLicense');
await call('edge', 'tkiAuthenticate');
for (const process of ['edge', 'primary']) {
  await call(process, 'activateLicense');
  await call(process, 'deactivateLicense');
  const seat = { license_key: floating.key, machine_id: 'float-' + process };
  await call(process, 'activateLicense', { body: seat });
  await call(process, 'heartbeatLicense', { body: seat });
}

// ---- blacklist, webhooks, events, usage
const entry = ok(await call('primary', 'addBlacklistEntry'), 'addBlacklistEntry').entry;
await call('primary', 'addBlacklistEntry');  // the same entry again: 200
await call('primary', 'listBlacklist');
// A receiver on loopback that takes every delivery.
const receiver = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('{}')); });
await new Promise((res) => receiver.listen(0, '127.0.0.1', res));
const hook = ok(await call('primary', 'createWebhook', {
  body: { url: `http://127.0.0.1:${receiver.address().port}/hooks`, events: ['license.created', 'license.suspended', 'license.renewed'] },
}), 'createWebhook').webhook;
const hp = { webhookId: hook.id };
await call('primary', 'getWebhook', { params: hp });
await call('primary', 'listWebhooks');
await call('primary', 'rotateWebhookSecret', { params: hp });
await call('primary', 'suspendLicense', { params: lp });  // a delivery to redeliver
let delivery;
for (let i = 0; i < 100 && !delivery; i++) {
  const page = ok(await call('primary', 'listDeliveries', { params: hp }), 'listDeliveries');
  delivery = page.data.find((d) => d.status === 'succeeded');
  if (!delivery) await sleep(100);
}
if (!delivery) fail('no delivery succeeded');
else await call('primary', 'redeliver', { params: { ...hp, deliveryId: delivery.id } });
await call('primary', 'updateWebhook', { params: hp });
await call('primary', 'listEvents', { query: { page: 1, limit: 5 } });
const cursor = await call('primary', 'listEvents', { query: { after: 0 } });
for (const h of ['Deprecation', 'Sunset', 'Link']) {
  if (!cursor.headers.has(h)) fail(`listEvents?after=0: no ${h}`);
}
await call('primary', 'getLicenseUsage', { params: lp });
await call('primary', 'getAnalytics', { query: { product_id: product.id } });
await call('primary', 'listAuthLogs', { query: { outcome: 'success' } });
await call('primary', 'getSigningKeys');
await call('primary', 'rotateSigningKey');
await call('primary', 'writeSnapshot');

// ---- deletions, health and the documents themselves
await call('primary', 'deleteWebhook', { params: hp });
await call('primary', 'deleteBlacklistEntry', { params: { entryId: entry.id } });
await call('primary', 'revokeLicense', { params: lp });
await call('primary', 'deleteLicense', { params: lp });
const doomed = ok(await call('primary', 'createProduct', { body: { name: 'Doomed' } }), 'createProduct');
await call('primary', 'deleteProduct', { params: { productId: doomed.product.id } });
// The portal's deletions, each of a thing made for it.
const jwt = { auth: 'Jwt' };
const hook2 = ok(await send('primary', 'createWebhook', {
  body: { url: `http://127.0.0.1:${receiver.address().port}/hooks2`, events: ['license.created'] },
}), 'createWebhook').webhook;
await call('primary', 'portalDeleteWebhook', { ...jwt, params: { webhookId: hook2.id } });
const entry2 = ok(await send('primary', 'addBlacklistEntry',
  { body: { type: 'ip', value: '203.0.113.99' } }), 'addBlacklistEntry').entry;
await call('primary', 'portalDeleteBlacklistEntry', { ...jwt, params: { entryId: entry2.id } });
const license2 = ok(await send('primary', 'createLicense'), 'createLicense').license;
await call('primary', 'portalDeleteLicense', { ...jwt, params: { licenseId: license2.id } });
const doomed2 = ok(await send('primary', 'createProduct', { body: { name: 'Doomed too' } }),
  'createProduct').product;
await call('primary', 'portalDeleteProduct', { ...jwt, params: { productId: doomed2.id } });
for (const process of ['primary', 'edge']) {
  for (const id of ['healthz', 'readyz', 'getOpenApi', 'metrics']) await call(process, id);
}


await call('primary', 'rotateJwtSecret');
await call('primary', 'signOut');

// ---- errors the document describes
const errors = [
  ['primary', 'getLicense', { params: { licenseId: 'lic_none' } }, 404],
  ['primary', 'getLicense', { params: lp, auth: null }, 401],
  ['primary', 'createLicense', { body: { product_id: product.id } }, 400],
  ['primary', 'createLicense', { body: { product_id: product.id, type: 'perpetual', x: 1 } }, 400],
  ['primary', 'getAccount', { headers: { 'X-API-Version': 'garbage' } }, 400],
  ['edge', 'validateLicense', { body: '[not an object' }, 400],
  ['edge', 'tkiAuthenticate', { auth: null }, 401],
  ['edge', 'tkiAuthenticate', { body: { data: { product: product.name } } }, 400],
  ['primary', 'signIn', { body: { email: owner.email, password: 'not the password' } }, 401],
  ['primary', 'getCurrentUser', {}, 403],  // signed out
];
for (const [process, id, opts, status] of errors) {
  const r = await send(process, id, opts);
  if (r.status !== status) fail(`${process} ${id} ${JSON.stringify(opts)}: ${r.status}, not ${status}`);
}

// ---- coverage: every documented operation was sent, and answered 2xx
const notTwoHundred = new Map([
  // A subscription license has no lease to extend: the heartbeat of the spec's example is
  // refused; the floating license's one is the 2xx.
]);
for (const process of ['primary', 'edge']) {
  for (const id of ops[process].keys()) {
    const statuses = sent[process].get(id);
    if (!statuses) fail(`${process} ${id}: never sent`);
    else if (!statuses.some((s) => s >= 200 && s < 300) && !notTwoHundred.has(id)) {
      fail(`${process} ${id}: no 2xx answer (${statuses})`);
    }
  }
}
const count = [...sent.primary.values(), ...sent.edge.values()].reduce((n, s) => n + s.length, 0);
console.log(`${count} requests, ${ops.primary.size} + ${ops.edge.size} operations, ` +
  `${failures.length} failures`);
receiver.close();
// For the spec's own examples run next (contract_test.sh): a key and a product with plan "pro".
fs.writeFileSync('state.json', JSON.stringify({ apiKey: keys.ApiKey, productId: product.id }));
process.exit(failures.length ? 1 : 0);
