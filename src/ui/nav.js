// The hash routes: reading the current one and moving to another. app.js, which imports every
// view, hands its router over at startup (setRouter), so that a view can render the page again
// without importing app.js back.

let router = () => {};

export function setRouter(fn) {
  router = fn;
}

// Renders the current route again, as after a change made on the page.
export function route() {
  return router();
}

export function parseHash() {
  const raw = window.location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)) || '/';
  return { path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

export function go(hash, replace = false) {
  if (replace) {
    window.history.replaceState(null, '', hash);
    route();
  } else if (window.location.hash === hash) {
    route();
  } else {
    window.location.hash = hash;
  }
}

// The current route with some query parameters changed ('' removes one).
export function withQuery(changes) {
  const { path, query } = parseHash();
  for (const [k, v] of Object.entries(changes)) {
    if (v === '' || v === null || v === undefined) query.delete(k);
    else query.set(k, String(v));
  }
  const qs = query.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

export function safeNext(v) {
  return typeof v === 'string' && /^\/[A-Za-z0-9/_\-.~%]*$/.test(v) && !v.startsWith('/signin') ? v : '/licenses';
}
