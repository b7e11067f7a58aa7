// Offline license receipts: verifies, without a network, a receipt an edge issued.
//
// A receipt is a compact JWS (RFC 7515) signed with Ed25519 (RFC 8037, alg "EdDSA") by the
// edge's own key. The edge's X.509 certificate travels in the header ("x5c"); it is signed with
// Ed25519 by a root key the primary publishes as a JWKS (GET /api/v1/signing-keys). The format
// and the order of the checks are in clients/README.md; the C++ and Python verifiers beside this
// one give the same reason for every input.
//
// Node.js 18 or later, built-in modules only.
//
//   const store = new FileAnchorStore(path.join(appDir, 'receipt-last-seen'));
//   const result = verifyReceipt(receipt, jwksText, { account: 'acme', product: 'prod_1' }, store);
//   if (!result.ok) { ... }  // result.reason says why
//
// verifyReceipt() never throws on hostile input: every refusal is a reason string.

import { createPublicKey, verify as verifySignature, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const MAX_TOKEN_BYTES = 16 * 1024;
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const MAX_CERTIFICATE_LIFETIME_SECONDS = 7 * 24 * 3600;
const MAX_JSON_DEPTH = 16;

// Reasons, in the order the checks run: the first that fails is the one reported.
export const Reason = Object.freeze({
  MALFORMED: 'malformed',
  UNKNOWN_ROOT: 'unknown_root',
  ROOT_RETIRED: 'root_retired',
  BAD_CERTIFICATE: 'bad_certificate',
  CERTIFICATE_EXPIRED: 'certificate_expired',
  BAD_SIGNATURE: 'bad_signature',
  ISSUED_IN_FUTURE: 'issued_in_future',
  EXPIRED: 'expired',
  STATUS: 'status',
  ACCOUNT_MISMATCH: 'account_mismatch',
  PRODUCT_MISMATCH: 'product_mismatch',
  LICENSE_MISMATCH: 'license_mismatch',
  MACHINE_MISMATCH: 'machine_mismatch',
  NONCE_MISMATCH: 'nonce_mismatch',
});

// The device's last-seen time (Unix seconds), kept in memory.
export class MemoryAnchorStore {
  constructor(lastSeen = 0) {
    this.lastSeen = lastSeen;
  }
  load() {
    return this.lastSeen;
  }
  save(lastSeen) {
    this.lastSeen = lastSeen;
  }
}

// The last-seen time as decimal seconds and a newline in one file, replaced atomically
// (temporary file in the same folder, then rename). A missing or unreadable file reads as 0; a
// failed write leaves the previous value (the verification result stands).
export class FileAnchorStore {
  constructor(file) {
    this.file = file;
  }
  load() {
    let text;
    try {
      text = fs.readFileSync(this.file, 'latin1');
    } catch {
      return 0;
    }
    return /^[0-9]{1,16}\n?$/.test(text) ? Number.parseInt(text, 10) : 0;
  }
  save(lastSeen) {
    const temporary = path.join(
      path.dirname(this.file),
      `${path.basename(this.file)}.tmp.${process.pid}.${Math.random().toString(36).slice(2)}`,
    );
    let fd;
    try {
      fd = fs.openSync(temporary, 'wx');
      fs.writeSync(fd, `${lastSeen}\n`);
      fs.fsyncSync(fd); // the rename must not reach the disk before the bytes
      fs.closeSync(fd);
      fd = undefined;
      fs.renameSync(temporary, this.file);
    } catch {
      if (fd !== undefined) fs.closeSync(fd);
      try {
        fs.unlinkSync(temporary);
      } catch {
        // nothing was left behind
      }
    }
  }
}

// Verifies `token` against the roots in `jwks` (the primary's JWKS, as text or parsed) for the
// app `expected` describes: { account, product } and optionally license, machine and nonce (each
// checked only when given). `now` (Unix seconds) defaults to the system clock. The anchor is
// max(now, stored last-seen); afterwards the store holds max(stored, now), and also the
// receipt's iat when it verified. Returns { ok, reason (null when ok), claims (only when ok) }.
// Throws a TypeError when `expected` lacks the account or product (a mistake in the caller);
// nothing in the token or the JWKS makes it throw.
export function verifyReceipt(
  token,
  jwks,
  expected,
  anchorStore,
  { now, tolerance = DEFAULT_TOLERANCE_SECONDS } = {},
) {
  if (typeof expected?.account !== 'string' || typeof expected?.product !== 'string') {
    throw new TypeError('expected needs "account" and "product" strings');
  }
  const clock = now === undefined || now === null ? Math.floor(Date.now() / 1000) : Math.floor(now);
  const stored = anchorStore.load();
  const anchor = Math.max(clock, stored);
  let reason;
  let claims = null;
  try {
    [reason, claims] = check(token, jwks, expected, anchor, tolerance);
  } catch {
    // Each step refuses what it cannot read; this only keeps a surprise from escaping.
    [reason, claims] = [Reason.MALFORMED, null];
  }
  // Every call records the clock it saw, so a later call with the clock set back still measures
  // from here; a verified receipt's iat is a time the edge vouches for.
  let lastSeen = anchor;
  if (reason === null) lastSeen = Math.max(lastSeen, safeInteger(claims.iat));
  if (lastSeen > stored) anchorStore.save(lastSeen);
  return { ok: reason === null, reason, claims: reason === null ? claims : null };
}

function check(token, jwks, expected, anchor, tolerance) {
  const parsed = parseToken(token);
  if (parsed === null) return [Reason.MALFORMED, null];
  const { signingInput, signature, der, claims } = parsed;
  const iat = safeInteger(claims.iat);
  const validUntil = safeInteger(claims.validUntil);

  let cert;
  try {
    cert = new X509Certificate(der);
  } catch {
    return [Reason.BAD_CERTIFICATE, null];
  }
  const fields = certificateFields(der);
  if (fields === null) return [Reason.BAD_CERTIFICATE, null];

  if (fields.kid === null) return [Reason.UNKNOWN_ROOT, null];
  const root = findRoot(jsonDocument(jwks), fields.kid);
  if (root === null) return [Reason.UNKNOWN_ROOT, null];
  if (root.exp !== null && anchor > root.exp) return [Reason.ROOT_RETIRED, null];

  const { tbsAlgorithm, outerAlgorithm } = fields;
  if (!tbsAlgorithm.equals(ED25519_ALGORITHM) || !outerAlgorithm.equals(ED25519_ALGORITHM)) {
    return [Reason.BAD_CERTIFICATE, null];
  }
  let edgeKey;
  try {
    edgeKey = cert.publicKey;
    if (edgeKey.asymmetricKeyType !== 'ed25519' || !cert.verify(root.key)) {
      return [Reason.BAD_CERTIFICATE, null];
    }
  } catch {
    return [Reason.BAD_CERTIFICATE, null];
  }
  const { notBefore, notAfter } = fields;
  if (notAfter < notBefore || notAfter - notBefore > MAX_CERTIFICATE_LIFETIME_SECONDS) {
    return [Reason.BAD_CERTIFICATE, null];
  }
  if (iat < notBefore || iat > notAfter) return [Reason.CERTIFICATE_EXPIRED, null];

  let signed = false;
  try {
    signed = signature.length === 64 && verifySignature(null, signingInput, edgeKey, signature);
  } catch {
    signed = false;
  }
  if (!signed) return [Reason.BAD_SIGNATURE, null];
  if (iat > anchor + tolerance) return [Reason.ISSUED_IN_FUTURE, null];
  if (anchor > validUntil) return [Reason.EXPIRED, null];
  if (claims.status !== 'active') return [Reason.STATUS, null];
  if (claims.account !== expected.account) return [Reason.ACCOUNT_MISMATCH, null];
  if (claims.product !== expected.product) return [Reason.PRODUCT_MISMATCH, null];
  // An expected value the caller set must equal the claim, which must then be a string.
  for (const [claim, key, reason] of [
    ['license', 'license', Reason.LICENSE_MISMATCH],
    ['machineId', 'machine', Reason.MACHINE_MISMATCH],
    ['nonce', 'nonce', Reason.NONCE_MISMATCH],
  ]) {
    const want = expected[key];
    if (want === undefined || want === null) continue;
    if (ownMember(claims, claim) !== want) return [reason, null];
  }
  return [null, claims];
}

// ---- the token ----

function parseToken(token) {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_BYTES) return null;
  if (!/^[A-Za-z0-9_.-]*$/.test(token)) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [headerBytes, payloadBytes, signature] = parts.map(decodeBase64Url);
  if (headerBytes === null || payloadBytes === null || signature === null) return null;

  const header = parseJson(headerBytes);
  if (!isObject(header) || ownMember(header, 'alg') !== 'EdDSA') return null;
  // RFC 7515 §4.1.11: extensions we do not know, marked critical, must not be ignored.
  if (Object.hasOwn(header, 'crit')) return null;
  const x5c = ownMember(header, 'x5c');
  if (!Array.isArray(x5c) || x5c.length !== 1 || typeof x5c[0] !== 'string') return null;
  const der = decodeBase64(x5c[0]);
  if (der === null) return null;

  const claims = parseJson(payloadBytes);
  if (!isObject(claims)) return null;
  for (const name of ['account', 'product', 'license', 'status']) {
    if (typeof ownMember(claims, name) !== 'string') return null;
  }
  if (safeInteger(ownMember(claims, 'iat')) === null) return null;
  if (safeInteger(ownMember(claims, 'validUntil')) === null) return null;
  const signingInput = Buffer.from(`${parts[0]}.${parts[1]}`, 'latin1');
  return { signingInput, signature, der, claims };
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function ownMember(object, name) {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

// ---- base64: strict, so one byte string has exactly one accepted text ----

// base64url (RFC 4648 §5) without padding.
function decodeBase64Url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64url');
  // Re-encoding refuses texts whose unused low bits are not zero.
  return bytes.toString('base64url') === text ? bytes : null;
}

// Standard base64 with its padding.
function decodeBase64(text) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

// ---- JSON ----

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function jsonDepthWithinLimit(text) {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === '[' || ch === '{') {
      if (++depth > MAX_JSON_DEPTH) return false;
    } else if (ch === ']' || ch === '}') {
      --depth;
    }
  }
  return true;
}

// The value, or null: invalid UTF-8 (RFC 3629), a byte order mark (kept, so JSON.parse refuses
// it), nesting deeper than MAX_JSON_DEPTH, anything that is not RFC 8259 JSON. Duplicate names:
// the last one wins.
function parseJson(bytes) {
  try {
    const text = utf8.decode(bytes);
    return jsonDepthWithinLimit(text) ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function jsonDocument(value) {
  if (typeof value === 'string') return parseJson(Buffer.from(value, 'utf8'));
  if (value instanceof Uint8Array) return parseJson(value);
  return value;
}

// A JSON number that is a whole number JavaScript represents exactly (1.0 and 1e3 included).
function safeInteger(value) {
  return Number.isSafeInteger(value) ? value : null;
}

// ---- the roots ----

// { key, exp } of the first usable JWKS entry with this kid: an Ed25519 OKP key whose "use" and
// "alg", when present, are "sig" and "EdDSA", and whose "exp", when present and not null, is an
// integer. Anything else in the document is passed over.
function findRoot(jwks, kid) {
  const keys = isObject(jwks) ? ownMember(jwks, 'keys') : undefined;
  if (!Array.isArray(keys)) return null;
  for (const entry of keys) {
    if (!isObject(entry) || ownMember(entry, 'kid') !== kid) continue;
    const x = ownMember(entry, 'x');
    if (ownMember(entry, 'kty') !== 'OKP' || ownMember(entry, 'crv') !== 'Ed25519') continue;
    if (typeof x !== 'string') continue;
    if (Object.hasOwn(entry, 'use') && entry.use !== 'sig') continue;
    if (Object.hasOwn(entry, 'alg') && entry.alg !== 'EdDSA') continue;
    let exp = ownMember(entry, 'exp');
    if (exp === undefined || exp === null) {
      exp = null;
    } else {
      exp = safeInteger(exp);
      if (exp === null) continue;
    }
    const raw = decodeBase64Url(x);
    if (raw === null || raw.length !== 32) continue;
    try {
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
      return { key, exp };
    } catch {
      continue;
    }
  }
  return null;
}

// ---- the certificate's DER, read where X509Certificate has no accessor ----

// The content of AlgorithmIdentifier {1.3.101.112} without parameters (RFC 8410 §3).
const ED25519_ALGORITHM = Buffer.from('06032b6570', 'hex');
const COMMON_NAME = Buffer.from('550403', 'hex'); // 2.5.4.3
const VERSION_3 = Buffer.from('020102', 'hex'); // [0] EXPLICIT INTEGER 2
const UTF8_STRING = 0x0c;
const PRINTABLE_STRING = 0x13;
const PRINTABLE_STRING_TEXT = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

// { tag, start, end } (content bounds) of the DER element at pos, or null.
function tlv(der, pos, end) {
  if (pos === null || end - pos < 2) return null;
  const tag = der[pos];
  let length = der[pos + 1];
  if ((tag & 0x1f) === 0x1f) return null;
  pos += 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || end - pos < count) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[pos + i];
    pos += count;
  }
  if (length > end - pos) return null;
  return { tag, start: pos, end: pos + length };
}

// { kid, tbsAlgorithm, outerAlgorithm, notBefore, notAfter } from a certificate's DER, or null
// when it is not an X.509 v3 one, or one whose times or names every verifier's parser would not
// read the same way. The kid is the issuer's value when the issuer is exactly one RDN holding
// one commonName, else null.
function certificateFields(der) {
  const cert = tlv(der, 0, der.length);
  if (cert === null || cert.tag !== 0x30 || cert.end !== der.length) return null;
  const tbs = tlv(der, cert.start, cert.end);
  if (tbs === null || tbs.tag !== 0x30) return null;
  const outer = tlv(der, tbs.end, cert.end);
  if (outer === null || outer.tag !== 0x30) return null;
  // The signature: a BIT STRING of whole bytes, the certificate's last element.
  const signature = tlv(der, outer.end, cert.end);
  if (signature === null || signature.tag !== 0x03 || signature.end !== cert.end) return null;
  if (signature.end === signature.start || der[signature.start] !== 0) return null;
  const version = tlv(der, tbs.start, tbs.end);
  if (version === null || version.tag !== 0xa0) return null;
  if (!der.subarray(version.start, version.end).equals(VERSION_3)) return null;
  // serialNumber: positive (RFC 5280 §4.1.2.2)
  const element = tlv(der, version.end, tbs.end);
  if (element === null || element.tag !== 0x02) return null;
  const serial = der.subarray(element.start, element.end);
  if (serial.length === 0 || serial[0] & 0x80 || serial.every((byte) => byte === 0)) return null;
  const algorithm = tlv(der, element.end, tbs.end);
  if (algorithm === null || algorithm.tag !== 0x30) return null;
  const issuer = tlv(der, algorithm.end, tbs.end);
  if (issuer === null || issuer.tag !== 0x30) return null;
  const validity = tlv(der, issuer.end, tbs.end);
  if (validity === null || validity.tag !== 0x30) return null;
  const subject = tlv(der, validity.end, tbs.end);
  if (subject === null || subject.tag !== 0x30) return null;
  if (!namesWellFormed(der, issuer) || !namesWellFormed(der, subject)) return null;
  const notBefore = tlv(der, validity.start, validity.end);
  const notAfter = notBefore === null ? null : tlv(der, notBefore.end, validity.end);
  if (notAfter === null || notAfter.end !== validity.end) return null;
  const isTime = (time) => time.tag === UTC_TIME || time.tag === GENERALIZED_TIME;
  if (!isTime(notBefore) || !isTime(notAfter)) return null;
  const [start, end] = [certificateTime(der, notBefore), certificateTime(der, notAfter)];
  if (start === null || end === null) return null;
  return {
    kid: issuerKid(der, issuer),
    tbsAlgorithm: der.subarray(algorithm.start, algorithm.end),
    outerAlgorithm: der.subarray(outer.start, outer.end),
    notBefore: start,
    notAfter: end,
  };
}

// Every value in the Name is a UTF8String in UTF-8 or a PrintableString in its character set, as
// RFC 5280 §4.1.2.4 asks of CAs. Where OpenSSL's and Python's X.509 parsers differ on other
// string types, none is accepted, so the verifiers agree.
function namesWellFormed(der, name) {
  for (let pos = name.start; pos < name.end; ) {
    const rdn = tlv(der, pos, name.end);
    if (rdn === null || rdn.tag !== 0x31) return false;
    for (let at = rdn.start; at < rdn.end; ) {
      const attribute = tlv(der, at, rdn.end);
      const oid = attribute && tlv(der, attribute.start, attribute.end);
      const value = oid && tlv(der, oid.end, attribute.end);
      if (!value || attribute.tag !== 0x30 || oid.tag !== 0x06 || value.end !== attribute.end) {
        return false;
      }
      const text = der.subarray(value.start, value.end);
      if (value.tag === PRINTABLE_STRING) {
        if (!PRINTABLE_STRING_TEXT.test(text.toString('latin1'))) return false;
      } else if (value.tag === UTF8_STRING) {
        try {
          utf8.decode(text);
        } catch {
          return false;
        }
      } else {
        return false;
      }
      at = attribute.end;
    }
    pos = rdn.end;
  }
  return true;
}

function issuerKid(der, issuer) {
  const rdn = tlv(der, issuer.start, issuer.end);
  if (rdn === null || rdn.tag !== 0x31 || rdn.end !== issuer.end) return null;
  const attribute = tlv(der, rdn.start, rdn.end);
  if (attribute === null || attribute.tag !== 0x30 || attribute.end !== rdn.end) return null;
  const oid = tlv(der, attribute.start, attribute.end);
  if (oid === null || oid.tag !== 0x06) return null;
  if (!der.subarray(oid.start, oid.end).equals(COMMON_NAME)) return null;
  const value = tlv(der, oid.end, attribute.end);
  if (value === null || value.end !== attribute.end) return null;
  return der.subarray(value.start, value.end).toString('utf8'); // checked by namesWellFormed
}

// Unix seconds of a time in its DER form only (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ for the
// years 1950-2049, GeneralizedTime YYYYMMDDHHMMSSZ for the others.
function certificateTime(der, element) {
  const text = der.subarray(element.start, element.end).toString('latin1');
  const digits = element.tag === UTC_TIME ? 12 : 14;
  if (text.length !== digits + 1 || !/^[0-9]+Z$/.test(text)) return null;
  let year;
  let rest;
  if (element.tag === UTC_TIME) {
    year = Number(text.slice(0, 2));
    year += year >= 50 ? 1900 : 2000;
    rest = text.slice(2);
  } else {
    year = Number(text.slice(0, 4));
    rest = text.slice(4);
    if (year >= 1950 && year < 2050) return null;
  }
  const field = (i) => Number(rest.slice(i, i + 2));
  const [month, day, hour, minute, second] = [0, 2, 4, 6, 8].map(field);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

function daysInMonth(year, month) {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
function daysFromCivil(year, month, day) {
  year -= month <= 2 ? 1 : 0;
  const era = Math.floor(year / 400);
  const yearOfEra = year - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}
