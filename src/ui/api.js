// The portal API: requests with the session's token, its errors, the session's refresh from
// the HttpOnly cookie, and the lists the views read whole.

import { enc } from './dom.js';
import { go, parseHash } from './nav.js';
import { state } from './state.js';

export const AUTH = '/api/v1/auth';
export const API = '/api/v1/portal';
// Lists are read whole (products for names and selects) at most this many pages of 100.
export const MAX_PAGES = 10;

let refreshing = null;
let refreshTimer = 0;

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export function describe(err) {
  if (err instanceof ApiError) {
    if (err.status === 429) {
      return err.retryAfter ? `Too many requests; try again in ${err.retryAfter} s.` : 'Too many requests; try again shortly.';
    }
    return err.message || `The server answered ${err.status}.`;
  }
  return 'Something went wrong in the page.';
}

export async function rawRequest(method, path, { query, body, auth = true } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  // The cookie routes want X-Requested-With (no cross-site form can send it); it is harmless
  // elsewhere.
  const headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server could not be reached.');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return data ?? {};
  const code = data && typeof data.code === 'string' ? data.code : '';
  const message = data && typeof data.error === 'string' ? data.error : `The server answered ${res.status}.`;
  throw new ApiError(res.status, code, message, res.headers.get('Retry-After'));
}

// An account's call: a token that expired or was revoked is refreshed once from the session
// cookie; when that fails too, the user signs in again.
export async function api(method, path, opts = {}) {
  try {
    return await rawRequest(method, path, opts);
  } catch (e) {
    if (!(e instanceof ApiError) || !(e.status === 401 || (e.status === 403 && e.code === 'INVALID_TOKEN'))) throw e;
    if (await refreshSession()) return rawRequest(method, path, opts);
    dropSession();
    go(`#/signin?next=${enc(parseHash().path)}`);
    throw new ApiError(401, 'SIGNED_OUT', 'Your session has ended; sign in again.');
  }
}

export function acceptSession(data) {
  if (!data || typeof data.token !== 'string' || !data.token) {
    throw new ApiError(0, 'BAD_ANSWER', 'The server answered without a token.');
  }
  state.token = data.token;
  state.user = data.user && typeof data.user === 'object' ? data.user : null;
  state.expiresAt = Number(data.expiresAt) || 0;
  clearTimeout(refreshTimer);
  if (state.expiresAt) {
    // Five minutes before the token lapses, so a long-open page never meets a 403.
    const wait = Math.max(30_000, state.expiresAt * 1000 - Date.now() - 300_000);
    refreshTimer = setTimeout(() => { refreshSession(); }, Math.min(wait, 2 ** 31 - 1));
  }
}

export function dropSession() {
  state.token = '';
  state.user = null;
  state.account = null;
  state.products = null;
  state.expiresAt = 0;
  clearTimeout(refreshTimer);
}

export function refreshSession() {
  if (!refreshing) {
    refreshing = rawRequest('POST', `${AUTH}/refresh`, { auth: false })
      .then((r) => {
        acceptSession(r.data);
        return true;
      }, () => false)
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function listAll(path, query = {}) {
  const items = [];
  for (let page = 1; page <= MAX_PAGES; page += 1) {
    const r = await api('GET', path, { query: { ...query, page, limit: 100 } });
    const data = Array.isArray(r.data) ? r.data : [];
    items.push(...data);
    if (!r.pagination || !r.pagination.hasMore || !data.length) break;
  }
  return items;
}

export async function loadProducts(force = false) {
  if (!state.products || force) state.products = await listAll(`${API}/products`);
  return state.products;
}

export function productMap(products) {
  return new Map((products || []).map((p) => [p.id, p]));
}
