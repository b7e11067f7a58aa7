// The dashboard's one mutable state, shared by its modules. The session's JWT lives here, in
// memory only (not in web storage, where any injected script could read it); a reload gets a
// fresh one from the HttpOnly session cookie.

export const state = {
  token: '',
  expiresAt: 0,
  user: null,
  account: null,
  branding: {},
  products: null,
};
