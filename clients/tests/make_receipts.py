#!/usr/bin/env python3
"""Makes receipts, for tests only, covering every outcome the receipt verifiers tell apart.

    make_receipts.py OUT_DIR [--now UNIX_SECONDS] [--seed TEXT]

Plays the primary (root keys, the JWKS) and the edge (its certificates, its tokens) with keys
derived from --seed, and writes into OUT_DIR:

    jwks.json, jwks-*.json     root documents the cases refer to
    tokens/<case>.jwt          each case's token, byte for byte
    cases.tsv                  one line per case, in the order they must run:
        name  token  jwks  now  expected-json  reason  anchor-group  anchor-before  anchor-after
      reason: "ok", a reason, several joined by "|", or "!ok" for any refusal;
      anchor-group: cases sharing one run in order against one anchor file ("-": in memory);
      anchor-before: written to that file before the case; anchor-after: the file after it.
      "-" means none.

The output depends only on the arguments: Ed25519 signatures are deterministic, and the
certificates are encoded here, DER byte for byte.
"""

import argparse
import base64
import hashlib
import json
import os
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

DAY = 86400
DROP = object()  # a claim or header member to leave out

# ---- DER ----


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    return tlv(0x31, b"".join(parts))


def integer(n: int) -> bytes:
    return tlv(0x02, n.to_bytes((n.bit_length() + 8) // 8, "big", signed=True))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def utf8_string(text: str) -> bytes:
    # surrogateescape: "\udcff" writes the byte 0xff, for names that are not UTF-8 on purpose.
    return tlv(0x0C, text.encode("utf-8", "surrogateescape"))


def printable_string(text: str) -> bytes:
    return tlv(0x13, text.encode())


def ia5_string(text: str) -> bytes:
    return tlv(0x16, text.encode())


def bit_string(data: bytes) -> bytes:
    return tlv(0x03, b"\x00" + data)


def time_der(ts: int) -> bytes:
    when = datetime.fromtimestamp(ts, timezone.utc)
    if 1950 <= when.year < 2050:
        return tlv(0x17, when.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, when.strftime("%Y%m%d%H%M%SZ").encode())


COMMON_NAME = "2.5.4.3"
ED25519 = seq(oid("1.3.101.112"))
ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"))


def name(*rdns: bytes) -> bytes:
    return seq(*rdns)


def cn(value: str, string=utf8_string) -> bytes:
    return set_of(seq(oid(COMMON_NAME), string(value)))


def raw_public(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def ed25519_spki(key) -> bytes:
    return seq(ED25519, bit_string(raw_public(key)))


EXTENSIONS = tlv(
    0xA3,
    seq(
        seq(oid("2.5.29.19"), tlv(0x01, b"\xff"), tlv(0x04, seq())),  # basicConstraints: CA false
        seq(oid("2.5.29.15"), tlv(0x01, b"\xff"), tlv(0x04, tlv(0x03, b"\x07\x80"))),  # digitalSignature
    ),
)


def certificate(
    signer,
    issuer: bytes,
    spki: bytes,
    not_before: bytes,
    not_after: bytes,
    subject: str = "edge-1",
    tbs_algorithm: bytes = ED25519,
    outer_algorithm: bytes = ED25519,
    serial: int = 0x1D6E,
    version=2,
) -> bytes:
    """An edge certificate as the edge makes it, signed with `signer` (Ed25519)."""
    tbs = seq(
        tlv(0xA0, integer(version)) if version is not None else b"",  # 2: v3
        integer(serial),
        tbs_algorithm,
        issuer,
        seq(not_before, not_after),
        name(cn(subject)),
        spki,
        EXTENSIONS,
    )
    return seq(tbs, outer_algorithm, bit_string(signer.sign(tbs)))


# ---- JWS ----


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def with_changes(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        if value is DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def jws(header: bytes, payload: bytes, key) -> str:
    signing_input = b64u(header) + "." + b64u(payload)
    return signing_input + "." + b64u(key.sign(signing_input.encode()))


def flip(data: bytes, position: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 0x01
    return bytes(out)


def positions(length: int):
    return sorted({0, 1, length // 4, length // 3, length // 2, 2 * length // 3, length - 2, length - 1})


# ---- the fixtures ----


class Fixtures:
    def __init__(self, out: str, now: int, seed: str):
        self.out = out
        self.now = now
        self.seed = seed
        self.lines = []
        os.makedirs(os.path.join(out, "tokens"), exist_ok=True)

    def ed25519(self, label: str) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"{self.seed}/{label}".encode()).digest())

    def p256(self, label: str):
        order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
        secret = int.from_bytes(hashlib.sha256(f"{self.seed}/{label}".encode()).digest(), "big")
        return ec.derive_private_key(secret % (order - 1) + 1, ec.SECP256R1())

    def write(self, relative: str, data: bytes) -> str:
        with open(os.path.join(self.out, relative), "wb") as f:
            f.write(data)
        return relative

    def case(self, name, token, reason, now=None, expected=None, jwks="jwks.json", group="-", before="-", after="-"):
        assert "\t" not in name and name not in {line[0] for line in self.lines}, name
        data = token if isinstance(token, bytes) else token.encode()
        path = self.write(f"tokens/{name}.jwt", data)
        expected = expected or {"account": "acme", "product": "prod_1"}
        self.lines.append(
            [
                name,
                path,
                jwks,
                str(self.now if now is None else now),
                json.dumps(expected, ensure_ascii=False, separators=(",", ":")),
                reason,
                group,
                str(before),
                str(after),
            ]
        )

    def finish(self):
        with open(os.path.join(self.out, "cases.tsv"), "w", encoding="utf-8") as f:
            for line in self.lines:
                f.write("\t".join(line) + "\n")


def jwk(key, kid: str, nbf: int, exp=None, **extra) -> dict:
    entry = {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64u(raw_public(key)), "use": "sig", "alg": "EdDSA", "nbf": nbf}
    if exp is not None:
        entry["exp"] = exp
    entry.update(extra)
    return entry


def build(f: Fixtures):
    now = f.now
    root_a, root_b = f.ed25519("root-a"), f.ed25519("root-b")
    root_retired, root_rotating = f.ed25519("root-retired"), f.ed25519("root-rotating")
    root_unknown, root_dup = f.ed25519("root-unknown"), f.ed25519("root-dup")
    edge, other_edge = f.ed25519("edge-1"), f.ed25519("edge-2")
    rotating_exp = now + DAY

    jwks = {
        "keys": [
            jwk(root_a, "root-a", now - 90 * DAY),
            jwk(root_b, "root-b", now - 30 * DAY),
            jwk(root_retired, "root-retired", now - 400 * DAY, exp=now - 3600),
            jwk(root_rotating, "root-rotating", now - 200 * DAY, exp=rotating_exp),
            # Entries a verifier passes over.
            {"kty": "OKP", "crv": "Ed25519", "kid": "root-short-x", "x": "AAAA", "use": "sig", "alg": "EdDSA"},
            {"kty": "RSA", "kid": "root-rsa", "n": "sXch", "e": "AQAB", "use": "sig"},
            jwk(f.ed25519("root-enc"), "root-enc", now, use="enc"),
            jwk(f.ed25519("root-hs"), "root-hs", now, alg="HS256"),
            jwk(f.ed25519("root-bad-exp"), "root-bad-exp", now, exp="soon"),
            {"kty": "OKP", "crv": "X25519", "kid": "root-dup", "x": b64u(raw_public(root_dup))},
            jwk(root_dup, "root-dup", now, exp=None),
        ]
    }
    f.write("jwks.json", json.dumps(jwks, indent=1).encode())
    f.write("jwks-empty.json", b'{"keys":[]}')
    f.write("jwks-garbage.json", b"<html>not a key set</html>")

    def edge_cert(signer=root_a, issuer="root-a", not_before=now - 2 * DAY, not_after=now + 5 * DAY, **kw):
        issuer_der = issuer if isinstance(issuer, bytes) else name(cn(issuer))
        spki = kw.pop("spki", ed25519_spki(edge))
        return certificate(signer, issuer_der, spki, time_der(not_before), time_der(not_after), **kw)

    cert = edge_cert()
    base_claims = {
        "account": "acme",
        "product": "prod_1",
        "license": "lic_1",
        "status": "active",
        "type": "subscription",
        "expiresAt": None,
        "machineId": "m-1",
        "iat": now - 600,
        "exp": now + 3 * DAY,
        "validUntil": now + 3 * DAY,
        "replicaSeq": 42,
        "replicaLagMs": 3,
    }

    def header(der=cert, **changes) -> bytes:
        base = {"alg": "EdDSA", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
        return compact_json(with_changes(base, changes))

    def claims(**changes) -> bytes:
        return compact_json(with_changes(base_claims, changes))

    def receipt(der=cert, key=edge, **changes) -> str:
        return jws(header(der), claims(**changes), key)

    valid = receipt()
    full = {"account": "acme", "product": "prod_1", "license": "lic_1", "machine": "m-1", "nonce": "n-1"}

    # ---- accepted ----
    f.case("valid", valid, "ok")
    f.case("valid_full_expectations", receipt(nonce="n-1"), "ok", expected=full)
    f.case(
        "valid_unknown_claims",
        receipt(domain="app.example", feature={"seats": [1, 2, {"x": None}]}, ratio=0.5, trial=True, big=1e300),
        "ok",
    )
    f.case("valid_optional_claims_absent", receipt(type=DROP, expiresAt=DROP, machineId=DROP, exp=DROP, replicaSeq=DROP), "ok")
    library_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge-1")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "root-a")]))
        .public_key(edge.public_key())
        .serial_number(7)
        .not_valid_before(datetime.fromtimestamp(now - DAY, timezone.utc))
        .not_valid_after(datetime.fromtimestamp(now + DAY, timezone.utc))
        .sign(root_a, None)
        .public_bytes(serialization.Encoding.DER)
    )
    f.case("valid_certificate_from_library", receipt(der=library_cert), "ok")
    f.case("valid_root_b", receipt(der=edge_cert(signer=root_b, issuer="root-b")), "ok")
    f.case("valid_rotating_root", receipt(der=edge_cert(signer=root_rotating, issuer="root-rotating")), "ok")
    f.case(
        "valid_at_rotating_root_exp",
        receipt(der=edge_cert(signer=root_rotating, issuer="root-rotating")),
        "ok",
        now=rotating_exp,
    )
    f.case("valid_printable_string_issuer", receipt(der=edge_cert(issuer=name(cn("root-a", printable_string)))), "ok")
    f.case("valid_first_usable_duplicate_kid", receipt(der=edge_cert(signer=root_dup, issuer="root-dup")), "ok")
    f.case("valid_iat_at_tolerance", receipt(iat=now + 300), "ok")
    f.case("valid_until_now", receipt(validUntil=now, exp=now), "ok")
    f.case("valid_iat_at_certificate_start", receipt(iat=now - 2 * DAY), "ok")
    ended = edge_cert(not_before=now - 7 * DAY - 100, not_after=now - 100)
    f.case("valid_iat_at_certificate_end", receipt(der=ended, iat=now - 100), "ok")
    f.case(
        "valid_generalized_time_after_2049",
        receipt(der=edge_cert(not_before=2524608000 - DAY, not_after=2524608000 + DAY), iat=2524608000, validUntil=2524608000 + DAY),
        "ok",
        now=2524608000,
    )
    text = claims().replace(b'"iat":%d' % (now - 600), b'"iat":%d.0' % (now - 600))
    text = text.replace(b'"validUntil":%d' % (now + 3 * DAY), b'"validUntil":%de2' % ((now + 3 * DAY) // 100))
    assert b".0," in text and b"e2," in text
    f.case("valid_integers_written_as_decimals", jws(header(), text, edge), "ok")
    unicode_claims = {"account": "\u00e4cme \u65e5\u672c \U0001f600", "product": "prod_\u00e9"}
    f.case("valid_unicode_claims", receipt(**unicode_claims), "ok", expected=unicode_claims)
    text = claims(status=DROP)[:-1] + b',"status":"suspended","status":"active"}'
    f.case("valid_duplicate_claim_last_wins", jws(header(), text, edge), "ok")
    nested = {"deep": 0}
    for _ in range(15):
        nested["deep"] = [nested["deep"]]
    f.case("valid_depth_16", receipt(**nested), "ok")
    f.case("valid_long_number_claim", jws(header(), claims()[:-1] + b',"big":' + b"7" * 5000 + b"}", edge), "ok")
    f.case("valid_overflowing_number_claim", jws(header(), claims()[:-1] + b',"huge":1e400,"tiny":-1e-400}', edge), "ok")

    # The 16 KiB cap: the longest token at most that long, and one just over it.
    at_cap = over_cap = None
    for size in range(10000, 13000):
        token = receipt(filler="x" * size)
        if len(token) <= 16384:
            at_cap = token
        elif over_cap is None:
            over_cap = token
            break
    assert at_cap and over_cap and len(at_cap) > 16380
    f.case("valid_at_token_cap", at_cap, "ok")

    # ---- malformed ----
    parts = valid.split(".")
    f.case("malformed_over_token_cap", over_cap, "malformed")
    f.case("malformed_empty", b"", "malformed")
    f.case("malformed_one_part", parts[0], "malformed")
    f.case("malformed_two_parts", parts[0] + "." + parts[1], "malformed")
    f.case("malformed_four_parts", valid + "." + parts[2], "malformed")
    f.case("malformed_trailing_newline", valid + "\n", "malformed")
    f.case("malformed_padding", parts[0] + "." + parts[1] + "=." + parts[2], "malformed")
    f.case("malformed_standard_alphabet", parts[0] + "." + parts[1][:10] + "+" + parts[1][11:] + "." + parts[2], "malformed")
    f.case("malformed_non_ascii", (parts[0] + "." + parts[1]).encode() + b"\xff." + parts[2].encode(), "malformed")
    f.case("malformed_garbage", b"\x00\x01\x02garbage\xc3\x28..", "malformed")
    # A last character whose unused low bits are set, signed as it is.
    padded = next(t for t in (receipt(pad="y" * n) for n in range(4)) if len(t.split(".")[1]) % 4 == 2)
    h, p, _ = padded.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    p = p[:-1] + alphabet[alphabet.index(p[-1]) | 1]
    f.case("malformed_noncanonical_base64url", h + "." + p + "." + b64u(edge.sign((h + "." + p).encode())), "malformed")
    s = parts[2][:-1] + alphabet[alphabet.index(parts[2][-1]) | 1]
    f.case("malformed_noncanonical_signature", parts[0] + "." + parts[1] + "." + s, "malformed")

    def raw(name, header_bytes, payload_bytes, reason="malformed", **kw):
        f.case(name, jws(header_bytes, payload_bytes, edge), reason, **kw)

    raw("malformed_header_not_json", b"{alg:EdDSA}", claims())
    raw("malformed_header_array", b'["EdDSA"]', claims())
    raw("malformed_header_invalid_utf8", header()[:-1] + b',"note":"\xff"}', claims())
    raw("malformed_payload_not_json", header(), b"account=acme")
    raw("malformed_payload_array", header(), b"[" + claims() + b"]")
    raw("malformed_payload_null", header(), b"null")
    raw("malformed_payload_trailing_data", header(), claims() + b" {}")
    raw("malformed_payload_nan", header(), claims()[:-1] + b',"x":NaN}')
    raw("malformed_payload_infinity", header(), claims()[:-1] + b',"x":-Infinity}')
    raw("malformed_payload_bom", header(), b"\xef\xbb\xbf" + claims())
    raw("malformed_payload_invalid_utf8", header(), claims()[:-1] + b',"x":"\xc3\x28"}')
    raw("malformed_payload_encoded_surrogate", header(), claims()[:-1] + b',"x":"\xed\xa0\x80"}')
    raw("malformed_payload_overlong_utf8", header(), claims()[:-1] + b',"x":"\xc0\xaf"}')
    raw("malformed_payload_above_u10ffff", header(), claims()[:-1] + b',"x":"\xf4\x90\x80\x80"}')
    raw("malformed_payload_control_character", header(), claims()[:-1] + b',"x":"a\x01b"}')
    raw("malformed_payload_bad_escape", header(), claims()[:-1] + b',"x":"\\x41"}')
    raw("malformed_payload_short_unicode_escape", header(), claims()[:-1] + b',"x":"\\u12"}')
    raw("malformed_payload_leading_zero", header(), claims()[:-1] + b',"x":012}')
    raw("malformed_payload_single_quotes", header(), claims()[:-1] + b",'x':1}")
    raw("malformed_payload_trailing_comma", header(), claims()[:-1] + b",}")
    raw("malformed_depth_17", header(), claims()[:-1] + b',"deep":' + b"[" * 16 + b"0" + b"]" * 16 + b"}")
    raw("malformed_deeply_nested", header(), b"[" * 11000 + b"]" * 11000)
    raw("malformed_deeply_nested_header", b'{"a":' * 5000 + b"1" + b"}" * 5000, claims())
    raw("malformed_alg_none", header(alg="none"), claims())
    f.case("malformed_alg_none_unsigned", b64u(header(alg="none")) + "." + b64u(claims()) + ".", "malformed")
    raw("malformed_alg_hs256", header(alg="HS256"), claims())
    raw("malformed_alg_ed25519", header(alg="Ed25519"), claims())
    raw("malformed_alg_lowercase", header(alg="eddsa"), claims())
    raw("malformed_alg_missing", header(alg=DROP), claims())
    raw("malformed_alg_not_string", header(alg=["EdDSA"]), claims())
    raw("malformed_crit", header(crit=["exp"]), claims())
    raw("malformed_x5c_missing", header(x5c=DROP), claims())
    raw("malformed_x5c_empty", header(x5c=[]), claims())
    raw("malformed_x5c_two_entries", header(x5c=[base64.b64encode(cert).decode()] * 2), claims())
    raw("malformed_x5c_string", header(x5c=base64.b64encode(cert).decode()), claims())
    raw("malformed_x5c_number", header(x5c=[42]), claims())
    x5c_text = base64.b64encode(cert).decode()
    assert "=" in x5c_text and ("+" in x5c_text or "/" in x5c_text), "pick a subject whose DER needs padding"
    raw("malformed_x5c_unpadded", header(x5c=[x5c_text.rstrip("=")]), claims())
    raw("malformed_x5c_url_alphabet", header(x5c=[x5c_text.replace("+", "-").replace("/", "_")]), claims())
    raw("malformed_x5c_line_breaks", header(x5c=[x5c_text[:64] + "\n" + x5c_text[64:]]), claims())
    for claim in ("account", "product", "license", "status", "iat", "validUntil"):
        raw(f"malformed_missing_{claim}", header(), claims(**{claim: DROP}))
    raw("malformed_account_number", header(), claims(account=7))
    raw("malformed_status_null", header(), claims(status=None))
    raw("malformed_iat_string", header(), claims(iat=str(now)))
    raw("malformed_iat_fraction", header(), claims(iat=now + 0.5))
    raw("malformed_iat_boolean", header(), claims(iat=True))
    raw("malformed_iat_unsafe_integer", header(), claims(iat=2**53))
    raw("malformed_iat_overflow", header(), claims(iat=DROP)[:-1] + b',"iat":1e400}')
    raw("malformed_valid_until_null", header(), claims(validUntil=None))
    raw("malformed_expired_too", header(), claims(account=DROP, validUntil=now - DAY))  # malformed comes first

    # ---- unknown_root ----
    f.case("unknown_root", receipt(der=edge_cert(signer=root_unknown, issuer="root-unknown")), "unknown_root")
    f.case("unknown_root_case_differs", receipt(der=edge_cert(issuer="ROOT-A")), "unknown_root")
    o_then_cn = name(set_of(seq(oid("2.5.4.10"), utf8_string("License Edge"))), cn("root-a"))
    f.case("unknown_root_issuer_with_organization", receipt(der=edge_cert(issuer=o_then_cn)), "unknown_root")
    two_in_one = name(set_of(seq(oid(COMMON_NAME), utf8_string("root-a")), seq(oid(COMMON_NAME), utf8_string("root-b"))))
    f.case("unknown_root_two_values_in_one_rdn", receipt(der=edge_cert(issuer=two_in_one)), "unknown_root")
    f.case("unknown_root_issuer_empty", receipt(der=edge_cert(issuer=name())), "unknown_root")
    for kid in ("root-short-x", "root-rsa", "root-enc", "root-hs", "root-bad-exp"):
        f.case(f"unknown_root_unusable_{kid}", receipt(der=edge_cert(issuer=kid)), "unknown_root")
    f.case("unknown_root_empty_jwks", valid, "unknown_root", jwks="jwks-empty.json")
    f.case("unknown_root_jwks_not_json", valid, "unknown_root", jwks="jwks-garbage.json")
    f.case("unknown_root_before_bad_signature", receipt(der=edge_cert(signer=root_unknown, issuer="root-unknown"), key=other_edge), "unknown_root")

    # ---- root_retired ----
    retired_cert = edge_cert(signer=root_retired, issuer="root-retired")
    f.case("root_retired", receipt(der=retired_cert), "root_retired")
    f.case("root_retired_before_bad_signature", receipt(der=retired_cert, key=other_edge), "root_retired")
    rotating_cert = edge_cert(signer=root_rotating, issuer="root-rotating")
    f.case("root_retired_after_exp", receipt(der=rotating_cert), "root_retired", now=rotating_exp + 1)
    f.case(
        "root_retired_by_stored_anchor",
        receipt(der=rotating_cert),
        "root_retired",
        group="retired-anchor",
        before=rotating_exp + 1,
        after=rotating_exp + 1,
    )

    # ---- bad_certificate ----
    f.case("bad_certificate_signed_by_other_root", receipt(der=edge_cert(signer=root_b, issuer="root-a")), "bad_certificate")
    f.case("bad_certificate_wrong_issuer", receipt(der=edge_cert(signer=root_a, issuer="root-b")), "bad_certificate")
    f.case("bad_certificate_self_signed", receipt(der=edge_cert(signer=edge)), "bad_certificate")
    p256_spki = f.p256("edge-p256").public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    f.case("bad_certificate_p256_edge_key", receipt(der=edge_cert(spki=p256_spki)), "bad_certificate")
    f.case(
        "bad_certificate_ecdsa_algorithm",
        receipt(der=edge_cert(tbs_algorithm=ECDSA_SHA256, outer_algorithm=ECDSA_SHA256)),
        "bad_certificate",
    )
    f.case("bad_certificate_outer_algorithm_differs", receipt(der=edge_cert(outer_algorithm=ECDSA_SHA256)), "bad_certificate")
    with_null = seq(oid("1.3.101.112"), b"\x05\x00")
    f.case(
        "bad_certificate_algorithm_parameters",
        receipt(der=edge_cert(tbs_algorithm=with_null, outer_algorithm=with_null)),
        "bad_certificate",
    )
    f.case(
        "bad_certificate_lifetime_over_7_days",
        receipt(der=edge_cert(not_before=now - 2 * DAY, not_after=now + 5 * DAY + 1)),
        "bad_certificate",
    )
    f.case(
        "bad_certificate_not_after_before_not_before",
        receipt(der=edge_cert(not_before=now + DAY, not_after=now - DAY)),
        "bad_certificate",
    )
    feb30 = tlv(0x17, datetime.fromtimestamp(now, timezone.utc).strftime("%y0230000000Z").encode())
    f.case(
        "bad_certificate_february_30",
        receipt(der=certificate(root_a, name(cn("root-a")), ed25519_spki(edge), feb30, time_der(now + DAY))),
        "bad_certificate",
    )
    generalized_now = tlv(0x18, datetime.fromtimestamp(now - DAY, timezone.utc).strftime("%Y%m%d%H%M%SZ").encode())
    f.case(
        "bad_certificate_generalized_time_before_2050",
        receipt(der=certificate(root_a, name(cn("root-a")), ed25519_spki(edge), generalized_now, time_der(now + DAY))),
        "bad_certificate",
    )
    no_seconds = tlv(0x17, datetime.fromtimestamp(now - DAY, timezone.utc).strftime("%y%m%d%H%MZ").encode())
    f.case(
        "bad_certificate_time_without_seconds",
        receipt(der=certificate(root_a, name(cn("root-a")), ed25519_spki(edge), no_seconds, time_der(now + DAY))),
        "bad_certificate",
    )
    f.case("bad_certificate_version_1", receipt(der=edge_cert(version=None)), "bad_certificate")
    f.case("bad_certificate_version_4", receipt(der=edge_cert(version=3)), "bad_certificate")
    # Names hold UTF8Strings in UTF-8 and PrintableStrings in their character set, nothing else.
    f.case("bad_certificate_issuer_ia5string", receipt(der=edge_cert(issuer=name(cn("root-a", ia5_string)))), "bad_certificate")
    f.case(
        "bad_certificate_printable_string_outside_its_set",
        receipt(der=edge_cert(issuer=name(cn("root{a}", printable_string)))),
        "bad_certificate",
    )
    f.case("bad_certificate_subject_not_utf8", receipt(der=edge_cert(subject="edge-\udcff")), "bad_certificate")
    f.case("bad_certificate_serial_negative", receipt(der=edge_cert(serial=-5)), "bad_certificate")
    f.case("bad_certificate_serial_zero", receipt(der=edge_cert(serial=0)), "bad_certificate")
    f.case("bad_certificate_der_garbage", receipt(der=b"\x30\x03\x02\x01\x01"), "bad_certificate")
    f.case("bad_certificate_der_empty", receipt(der=b""), "bad_certificate")
    f.case("bad_certificate_der_trailing_byte", receipt(der=cert + b"\x00"), "bad_certificate")
    f.case("bad_certificate_der_truncated", receipt(der=cert[:-10]), "bad_certificate")
    f.case(
        "bad_certificate_before_certificate_expired",
        receipt(der=edge_cert(signer=root_b), iat=now - 30 * DAY),
        "bad_certificate",
    )

    # ---- certificate_expired ----
    f.case("certificate_expired_iat_after_end", receipt(der=ended, iat=now - 99), "certificate_expired")
    f.case("certificate_expired_iat_before_start", receipt(iat=now - 2 * DAY - 1), "certificate_expired")
    f.case(
        "certificate_expired_before_bad_signature", receipt(der=ended, iat=now - 99, key=other_edge), "certificate_expired"
    )

    # ---- bad_signature ----
    f.case("bad_signature_other_edge_key", receipt(key=other_edge), "bad_signature")
    f.case("bad_signature_other_payload", parts[0] + "." + b64u(claims(account="other")) + "." + parts[2], "bad_signature")
    signature = base64.urlsafe_b64decode(parts[2] + "==")
    f.case("bad_signature_empty", parts[0] + "." + parts[1] + ".", "bad_signature")
    f.case("bad_signature_63_bytes", parts[0] + "." + parts[1] + "." + b64u(signature[:63]), "bad_signature")
    f.case("bad_signature_65_bytes", parts[0] + "." + parts[1] + "." + b64u(signature + b"\x00"), "bad_signature")
    f.case("bad_signature_zeros", parts[0] + "." + parts[1] + "." + b64u(bytes(64)), "bad_signature")
    f.case("bad_signature_before_expired", receipt(key=other_edge, validUntil=now - 1), "bad_signature")

    # ---- issued_in_future, expired ----
    f.case("issued_in_future", receipt(iat=now + 301), "issued_in_future")
    f.case("issued_in_future_before_expired", receipt(iat=now + 301, validUntil=now - 1), "issued_in_future")
    f.case("expired", receipt(validUntil=now - 1, exp=now - 1), "expired")
    f.case("expired_before_status", receipt(validUntil=now - 1, status="suspended"), "expired")

    # ---- status and the app's identity ----
    f.case("status_suspended", receipt(status="suspended"), "status")
    f.case("status_case_differs", receipt(status="Active"), "status")
    f.case("status_before_account_mismatch", receipt(status="expired", account="other"), "status")
    f.case("account_mismatch", receipt(account="acme-2"), "account_mismatch")
    f.case("account_mismatch_before_product", receipt(account="acme-2", product="prod_2"), "account_mismatch")
    f.case("product_mismatch", receipt(product="prod_2"), "product_mismatch")
    f.case("license_mismatch", receipt(license="lic_2"), "license_mismatch", expected=full)
    f.case("license_mismatch_before_machine", receipt(license="lic_2", machineId="m-2"), "license_mismatch", expected=full)
    f.case("machine_mismatch", receipt(machineId="m-2", nonce="n-1"), "machine_mismatch", expected=full)
    f.case("machine_mismatch_claim_absent", receipt(machineId=DROP, nonce="n-1"), "machine_mismatch", expected=full)
    f.case("machine_mismatch_claim_not_string", receipt(machineId=1, nonce="n-1"), "machine_mismatch", expected={**full, "machine": "1"})
    f.case("nonce_mismatch", receipt(nonce="n-2"), "nonce_mismatch", expected=full)
    f.case("nonce_mismatch_claim_absent", receipt(), "nonce_mismatch", expected=full)

    # ---- flipped bytes ----
    h, p, s = parts
    header_bytes, payload_bytes = base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)), claims()
    for i in positions(len(header_bytes)):
        f.case(f"flip_header_{i}", b64u(flip(header_bytes, i)) + "." + p + "." + s, "!ok")
    for i in positions(len(payload_bytes)):
        f.case(f"flip_claims_{i}", h + "." + b64u(flip(payload_bytes, i)) + "." + s, "!ok")
    for i in positions(64):
        f.case(f"flip_signature_{i}", h + "." + p + "." + b64u(flip(signature, i)), "bad_signature|malformed")
    for i in (0, len(s) // 2, len(s) - 1):
        changed = s[:i] + ("B" if s[i] == "A" else "A") + s[i + 1 :]
        f.case(f"flip_signature_text_{i}", h + "." + p + "." + changed, "bad_signature|malformed")
    # The certificate: flipped, then the token signed again by the edge, so only the certificate
    # checks stand between it and acceptance. Includes the signature's unused-bits byte.
    for i in sorted(set(positions(len(cert))) | {4, 10, len(cert) - 65, len(cert) - 66, len(cert) - 70}):
        f.case(f"flip_certificate_{i}", receipt(der=flip(cert, i)), "!ok")
        f.case(f"flip_certificate_unsigned_{i}", b64u(header(der=flip(cert, i))) + "." + p + "." + s, "!ok")

    # ---- the anchor: the device's last-seen time only moves forward ----
    until = now + 3 * DAY
    f.case("anchor_valid_now", valid, "ok", group="rollback", after=now)
    f.case("anchor_expired_once_past_valid_until", valid, "expired", now=until + 1, group="rollback", after=until + 1)
    f.case("anchor_clock_set_back_stays_expired", valid, "expired", now=now, group="rollback", after=until + 1)
    f.case("anchor_stored_ahead_expires", valid, "expired", group="stored-ahead", before=until + 1, after=until + 1)
    f.case("anchor_stored_behind_is_ignored", valid, "ok", group="stored-behind", before=now - DAY, after=now)
    f.case("anchor_advances_to_iat", receipt(iat=now + 200), "ok", group="iat", after=now + 200)
    f.case("anchor_not_moved_back", valid, "ok", now=now - 300, group="iat", after=now + 200)
    later_cert = edge_cert(not_before=now + 3 * DAY, not_after=now + 10 * DAY)
    later = receipt(der=later_cert, iat=now + 4 * DAY, validUntil=now + 7 * DAY, exp=now + 7 * DAY)
    f.case("anchor_newer_receipt", later, "ok", now=now + 4 * DAY, group="replay", after=now + 4 * DAY)
    f.case("anchor_older_receipt_replayed_with_clock_back", valid, "expired", now=now, group="replay", after=now + 4 * DAY)
    f.case("anchor_refusal_records_clock", b"garbage", "malformed", now=now + 10, group="refusal", before=now, after=now + 10)
    f.case("anchor_refusal_never_moves_back", b"garbage", "malformed", now=now - 5000, group="refusal", after=now + 10)
    f.case("anchor_unreadable_file_reads_as_zero", valid, "ok", group="corrupt", before="garbage", after=now)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--now", type=int, default=1780000000)
    parser.add_argument("--seed", default="license-edge receipts")
    args = parser.parse_args()
    fixtures = Fixtures(args.out, args.now, args.seed)
    build(fixtures)
    fixtures.finish()


if __name__ == "__main__":
    main()
