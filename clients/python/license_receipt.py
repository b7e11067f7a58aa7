"""Offline license receipts: verifies, without a network, a receipt an edge issued.

A receipt is a compact JWS (RFC 7515) signed with Ed25519 (RFC 8037, alg "EdDSA") by the edge's
own key. The edge's X.509 certificate travels in the header ("x5c"); it is signed with Ed25519 by
a root key the primary publishes as a JWKS (GET /api/v1/signing-keys). The format and the order
of the checks are in clients/README.md; the C++ and JavaScript verifiers beside this one give the
same reason for every input.

Needs Python 3.8+ and the `cryptography` package (Debian: python3-cryptography, 38 or later).

    store = FileAnchorStore(os.path.join(app_dir, "receipt-last-seen"))
    result = verify(receipt, jwks_text, {"account": "acme", "product": "prod_1"}, store)
    if not result.ok: ...  # result.reason says why

verify() never raises on hostile input: every refusal is a reason string. An anchor store is not
synchronized: share one between threads only behind a lock.
"""

import base64
import binascii
import json
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_TOKEN_BYTES = 16 * 1024
DEFAULT_TOLERANCE_SECONDS = 300
MAX_CERTIFICATE_LIFETIME_SECONDS = 7 * 24 * 3600
MAX_JSON_DEPTH = 16
MAX_SAFE_INTEGER = 2**53 - 1  # as in JavaScript

# Reasons, in the order the checks run: the first that fails is the one reported.
MALFORMED = "malformed"
UNKNOWN_ROOT = "unknown_root"
ROOT_RETIRED = "root_retired"
BAD_CERTIFICATE = "bad_certificate"
CERTIFICATE_EXPIRED = "certificate_expired"
BAD_SIGNATURE = "bad_signature"
ISSUED_IN_FUTURE = "issued_in_future"
EXPIRED = "expired"
STATUS = "status"
ACCOUNT_MISMATCH = "account_mismatch"
PRODUCT_MISMATCH = "product_mismatch"
LICENSE_MISMATCH = "license_mismatch"
MACHINE_MISMATCH = "machine_mismatch"
NONCE_MISMATCH = "nonce_mismatch"


@dataclass(frozen=True)
class Result:
    ok: bool
    reason: Optional[str]  # None when ok
    claims: Optional[dict]  # the payload, only when ok


class MemoryAnchorStore:
    """The device's last-seen time (Unix seconds), kept in memory."""

    def __init__(self, last_seen: int = 0):
        self.last_seen = last_seen

    def load(self) -> int:
        return self.last_seen

    def save(self, last_seen: int) -> None:
        self.last_seen = last_seen


class FileAnchorStore:
    """The last-seen time as decimal seconds and a newline in one file, replaced atomically
    (temporary file in the same folder, then rename). A missing or unreadable file reads as 0;
    a failed write leaves the previous value (the verification result stands)."""

    _TEXT = re.compile(rb"[0-9]{1,16}\n?")

    def __init__(self, path: Union[str, os.PathLike]):
        self.path = os.fspath(path)

    def load(self) -> int:
        try:
            with open(self.path, "rb") as f:
                text = f.read(32)
        except OSError:
            return 0
        return int(text) if self._TEXT.fullmatch(text) else 0

    def save(self, last_seen: int) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            prefix = os.path.basename(self.path) + ".tmp."
            fd, temporary = tempfile.mkstemp(prefix=prefix, dir=folder)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(b"%d\n" % last_seen)
                f.flush()
                os.fsync(f.fileno())  # the rename must not reach the disk before the bytes
            os.replace(temporary, self.path)
        except OSError:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def verify(
    token: Union[str, bytes],
    jwks: Union[str, bytes, Mapping[str, Any]],
    expected: Mapping[str, str],
    anchor_store,
    now: Optional[int] = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> Result:
    """Verifies `token` against the roots in `jwks` (the primary's JWKS, as text or parsed) for
    the app `expected` describes: "account" and "product", and optionally "license", "machine"
    and "nonce" (each checked only when given). `now` (Unix seconds) defaults to the system
    clock. The anchor is max(now, stored last-seen); afterwards the store holds
    max(stored, now), and also the receipt's iat when it verified.

    Raises TypeError when `expected` lacks the account or product (a mistake in the caller);
    nothing in the token or the JWKS makes it raise."""
    if not all(isinstance(expected.get(key), str) for key in ("account", "product")):
        raise TypeError('expected needs "account" and "product" strings')
    clock = int(time.time()) if now is None else int(now)
    stored = anchor_store.load()
    anchor = max(clock, stored)
    try:
        reason, claims = _check(token, jwks, expected, anchor, tolerance)
    except Exception:
        # Each step refuses what it cannot read; this only keeps a surprise from escaping.
        reason, claims = MALFORMED, None
    # Every call records the clock it saw, so a later call with the clock set back still
    # measures from here; a verified receipt's iat is a time the edge vouches for.
    last_seen = anchor
    if reason is None:
        last_seen = max(last_seen, _safe_integer(claims["iat"]))
    if last_seen > stored:
        anchor_store.save(last_seen)
    return Result(ok=reason is None, reason=reason, claims=claims if reason is None else None)


def _check(token, jwks, expected, anchor: int, tolerance: int) -> Tuple[Optional[str], Any]:
    parsed = _parse_token(token)
    if parsed is None:
        return MALFORMED, None
    signing_input, signature, der, claims = parsed
    iat = _safe_integer(claims["iat"])
    valid_until = _safe_integer(claims["validUntil"])

    # The structure first, so cryptography never sees (nor warns about) what the others refuse.
    fields = _certificate_fields(der)
    if fields is None:
        return BAD_CERTIFICATE, None
    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion):
        return BAD_CERTIFICATE, None
    kid, tbs_algorithm, outer_algorithm, not_before, not_after = fields

    if kid is None:
        return UNKNOWN_ROOT, None
    root = _find_root(_json_document(jwks), kid)
    if root is None:
        return UNKNOWN_ROOT, None
    root_key, root_exp = root
    if root_exp is not None and anchor > root_exp:
        return ROOT_RETIRED, None

    if tbs_algorithm != _ED25519_ALGORITHM or outer_algorithm != _ED25519_ALGORITHM:
        return BAD_CERTIFICATE, None
    try:
        edge_key = cert.public_key()
        root_key.verify(cert.signature, cert.tbs_certificate_bytes)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return BAD_CERTIFICATE, None
    if not isinstance(edge_key, Ed25519PublicKey):
        return BAD_CERTIFICATE, None
    if not_after < not_before or not_after - not_before > MAX_CERTIFICATE_LIFETIME_SECONDS:
        return BAD_CERTIFICATE, None
    if iat < not_before or iat > not_after:
        return CERTIFICATE_EXPIRED, None

    try:
        edge_key.verify(signature, signing_input)
    except InvalidSignature:
        return BAD_SIGNATURE, None
    if iat > anchor + tolerance:
        return ISSUED_IN_FUTURE, None
    if anchor > valid_until:
        return EXPIRED, None
    if claims["status"] != "active":
        return STATUS, None
    if claims["account"] != expected["account"]:
        return ACCOUNT_MISMATCH, None
    if claims["product"] != expected["product"]:
        return PRODUCT_MISMATCH, None
    # An expected value the caller set must equal the claim, which must then be a string.
    for claim, key, reason in (
        ("license", "license", LICENSE_MISMATCH),
        ("machineId", "machine", MACHINE_MISMATCH),
        ("nonce", "nonce", NONCE_MISMATCH),
    ):
        want = expected.get(key)
        if want is not None and claims.get(claim) != want:
            return reason, None
    return None, claims


# ---- the token ----

_TOKEN_TEXT = re.compile(r"[A-Za-z0-9_.-]*")


def _parse_token(token):
    """(signing input, signature, certificate DER, claims), or None when malformed."""
    if isinstance(token, (bytes, bytearray)):
        if len(token) > MAX_TOKEN_BYTES:
            return None
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
        return None
    if not _TOKEN_TEXT.fullmatch(token):
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header_bytes, payload_bytes, signature = (_decode_base64url(part) for part in parts)
    if header_bytes is None or payload_bytes is None or signature is None:
        return None

    header = _parse_json(header_bytes)
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        return None
    # RFC 7515 §4.1.11: extensions we do not know, marked critical, must not be ignored.
    if "crit" in header:
        return None
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or len(x5c) != 1 or not isinstance(x5c[0], str):
        return None
    der = _decode_base64(x5c[0])
    if der is None:
        return None

    claims = _parse_json(payload_bytes)
    if not isinstance(claims, dict):
        return None
    for name in ("account", "product", "license", "status"):
        if not isinstance(claims.get(name), str):
            return None
    if _safe_integer(claims.get("iat")) is None or _safe_integer(claims.get("validUntil")) is None:
        return None
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    return signing_input, signature, der, claims


# ---- base64: strict, so one byte string has exactly one accepted text ----

_BASE64URL_TEXT = re.compile(r"[A-Za-z0-9_-]*")
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _decode_base64url(text: str) -> Optional[bytes]:
    """base64url (RFC 4648 §5) without padding."""
    if not _BASE64URL_TEXT.fullmatch(text) or len(text) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Re-encoding refuses texts whose unused low bits are not zero.
    return data if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") == text else None


def _decode_base64(text: str) -> Optional[bytes]:
    """Standard base64 with its padding."""
    if not _BASE64_TEXT.fullmatch(text) or len(text) % 4 != 0:
        return None
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error:
        return None
    return data if base64.b64encode(data).decode("ascii") == text else None


# ---- JSON, read as JSON.parse reads it ----


def _json_depth_within_limit(text: str) -> bool:
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _refuse_constant(name):
    raise ValueError("not JSON: " + name)


def _parse_int(text: str):
    # Beyond a hundred digits a number is no integer we read; a double keeps json from refusing
    # it (Python limits int() to 4300 digits) where JSON.parse takes it.
    return int(text) if len(text) < 100 else float(text)


def _parse_json(data: bytes):
    """The value, or None: invalid UTF-8 (RFC 3629), a byte order mark, NaN or Infinity,
    nesting deeper than MAX_JSON_DEPTH, anything that is not RFC 8259 JSON. Duplicate names:
    the last one wins."""
    try:
        text = data.decode("utf-8")
        if not _json_depth_within_limit(text):
            return None
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _json_document(value):
    if isinstance(value, str):
        return _parse_json(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray)):
        return _parse_json(bytes(value))
    return value


def _safe_integer(value) -> Optional[int]:
    """A JSON number that is a whole number JavaScript represents exactly (1.0 and 1e3 included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value) if abs(value) <= MAX_SAFE_INTEGER else None
    return None


# ---- the roots ----


def _find_root(jwks, kid: str):
    """(key, exp or None) of the first usable JWKS entry with this kid: an Ed25519 OKP key whose
    "use" and "alg", when present, are "sig" and "EdDSA", and whose "exp", when present and not
    null, is an integer. Anything else in the document is passed over."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        return None
    for entry in keys:
        if not isinstance(entry, dict) or entry.get("kid") != kid:
            continue
        if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        if not isinstance(entry.get("x"), str):
            continue
        if "use" in entry and entry["use"] != "sig":
            continue
        if "alg" in entry and entry["alg"] != "EdDSA":
            continue
        exp = entry.get("exp")
        if exp is not None:
            exp = _safe_integer(exp)
            if exp is None:
                continue
        raw = _decode_base64url(entry["x"])
        if raw is None or len(raw) != 32:
            continue
        return Ed25519PublicKey.from_public_bytes(raw), exp
    return None


# ---- the certificate's DER, read where the library has no portable accessor ----

# The content of AlgorithmIdentifier {1.3.101.112} without parameters (RFC 8410 §3).
_ED25519_ALGORITHM = bytes.fromhex("06032b6570")
_COMMON_NAME = bytes.fromhex("550403")  # 2.5.4.3
_VERSION_3 = bytes.fromhex("020102")  # [0] EXPLICIT INTEGER 2
_UTF8_STRING, _PRINTABLE_STRING = 0x0C, 0x13
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_TIME_TAGS = (_UTC_TIME, _GENERALIZED_TIME)


def _tlv(der: bytes, pos: int, end: int):
    """(tag, content start, content end) of the DER element at pos, or None."""
    if end - pos < 2:
        return None
    tag, length = der[pos], der[pos + 1]
    if tag & 0x1F == 0x1F:
        return None
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or end - pos < count:
            return None
        length = int.from_bytes(der[pos : pos + count], "big")
        pos += count
    if length > end - pos:
        return None
    return tag, pos, pos + length


def _certificate_fields(der: bytes):
    """(issuer kid or None, the content of the tbs and of the outer signature algorithm,
    notBefore, notAfter) from a certificate's DER, or None when it is not an X.509 v3 one, or
    one whose times or names every verifier's parser would not read the same way. The kid is the
    issuer's value when the issuer is exactly one RDN holding one commonName."""
    cert = _tlv(der, 0, len(der))
    if cert is None or cert[0] != 0x30 or cert[2] != len(der):
        return None
    tbs = _tlv(der, cert[1], cert[2])
    if tbs is None or tbs[0] != 0x30:
        return None
    outer = _tlv(der, tbs[2], cert[2])
    if outer is None or outer[0] != 0x30:
        return None
    # The signature: a BIT STRING of whole bytes, the certificate's last element.
    signature = _tlv(der, outer[2], cert[2])
    if signature is None or signature[0] != 0x03 or signature[2] != cert[2]:
        return None
    if signature[2] == signature[1] or der[signature[1]] != 0:
        return None
    version = _tlv(der, tbs[1], tbs[2])
    if version is None or version[0] != 0xA0 or der[version[1] : version[2]] != _VERSION_3:
        return None
    # serialNumber: positive (RFC 5280 §4.1.2.2)
    element = _tlv(der, version[2], tbs[2])
    if element is None or element[0] != 0x02:
        return None
    serial = der[element[1] : element[2]]
    if not serial or serial[0] & 0x80 or not any(serial):
        return None
    algorithm = _tlv(der, element[2], tbs[2])
    if algorithm is None or algorithm[0] != 0x30:
        return None
    issuer = _tlv(der, algorithm[2], tbs[2])
    if issuer is None or issuer[0] != 0x30:
        return None
    validity = _tlv(der, issuer[2], tbs[2])
    if validity is None or validity[0] != 0x30:
        return None
    subject = _tlv(der, validity[2], tbs[2])
    if subject is None or subject[0] != 0x30:
        return None
    if not _names_well_formed(der, issuer) or not _names_well_formed(der, subject):
        return None
    not_before = _tlv(der, validity[1], validity[2])
    not_after = _tlv(der, not_before[2], validity[2]) if not_before else None
    if not_after is None or not_after[2] != validity[2]:
        return None
    if not_before[0] not in _TIME_TAGS or not_after[0] not in _TIME_TAGS:
        return None
    not_before, not_after = _certificate_time(der, not_before), _certificate_time(der, not_after)
    if not_before is None or not_after is None:
        return None
    return (
        _issuer_kid(der, issuer),
        der[algorithm[1] : algorithm[2]],
        der[outer[1] : outer[2]],
        not_before,
        not_after,
    )


_PRINTABLE_STRING_TEXT = re.compile(rb"[A-Za-z0-9 '()+,\-./:=?]*")


def _names_well_formed(der: bytes, name) -> bool:
    """Every value in the Name is a UTF8String in UTF-8 or a PrintableString in its character
    set, as RFC 5280 §4.1.2.4 asks of CAs. Where OpenSSL's and cryptography's X.509 parsers
    differ on other string types, none is accepted, so the verifiers agree."""
    pos = name[1]
    while pos < name[2]:
        rdn = _tlv(der, pos, name[2])
        if rdn is None or rdn[0] != 0x31:
            return False
        at = rdn[1]
        while at < rdn[2]:
            attribute = _tlv(der, at, rdn[2])
            oid = _tlv(der, attribute[1], attribute[2]) if attribute else None
            value = _tlv(der, oid[2], attribute[2]) if oid else None
            if value is None or attribute[0] != 0x30 or oid[0] != 0x06 or value[2] != attribute[2]:
                return False
            tag, text = value[0], der[value[1] : value[2]]
            if tag == _PRINTABLE_STRING:
                if not _PRINTABLE_STRING_TEXT.fullmatch(text):
                    return False
            elif tag == _UTF8_STRING:
                try:
                    text.decode("utf-8")
                except UnicodeDecodeError:
                    return False
            else:
                return False
            at = attribute[2]
        pos = rdn[2]
    return True


def _issuer_kid(der: bytes, issuer) -> Optional[str]:
    rdn = _tlv(der, issuer[1], issuer[2])
    if rdn is None or rdn[0] != 0x31 or rdn[2] != issuer[2]:
        return None
    attribute = _tlv(der, rdn[1], rdn[2])
    if attribute is None or attribute[0] != 0x30 or attribute[2] != rdn[2]:
        return None
    oid = _tlv(der, attribute[1], attribute[2])
    if oid is None or oid[0] != 0x06 or der[oid[1] : oid[2]] != _COMMON_NAME:
        return None
    value = _tlv(der, oid[2], attribute[2])
    if value is None or value[2] != attribute[2]:
        return None
    return der[value[1] : value[2]].decode("utf-8")  # checked by _names_well_formed


def _certificate_time(der: bytes, element) -> Optional[int]:
    """Unix seconds of a time in its DER form only (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ
    for the years 1950-2049, GeneralizedTime YYYYMMDDHHMMSSZ for the others."""
    tag, start, end = element
    text = der[start:end]
    digits = 12 if tag == _UTC_TIME else 14
    if len(text) != digits + 1 or text[-1:] != b"Z":
        return None
    if not all(0x30 <= b <= 0x39 for b in text[:-1]):
        return None
    fields = text[:-1].decode("ascii")
    if tag == _UTC_TIME:
        year = int(fields[:2])
        year += 1900 if year >= 50 else 2000
        fields = fields[2:]
    else:
        year = int(fields[:4])
        fields = fields[4:]
        if 1950 <= year < 2050:
            return None
    month, day, hour, minute, second = (int(fields[i : i + 2]) for i in range(0, 10, 2))
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    return _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468
