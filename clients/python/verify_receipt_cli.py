"""Verifies receipts from the command line and prints the reason ("ok" when one verified).

    python3 verify_receipt_cli.py TOKEN_FILE JWKS_FILE NOW EXPECTED_JSON [ANCHOR_FILE]
    python3 verify_receipt_cli.py --batch < LINES   (each: the first four, tab-separated)

NOW is Unix seconds, or "-" for the system clock. EXPECTED_JSON is an object with "account" and
"product", and optionally "license", "machine" and "nonce". Without ANCHOR_FILE, and for each
line of a batch, the last-seen time lives in memory for that one verification.
Exit status: 0 ok (a batch: every line was read), 1 refused, 2 usage.
"""

import json
import sys

import license_receipt

USAGE = """usage: verify_receipt_cli.py TOKEN_FILE JWKS_FILE NOW|- EXPECTED_JSON [ANCHOR_FILE]
       verify_receipt_cli.py --batch < TOKEN_FILE<tab>JWKS_FILE<tab>NOW<tab>EXPECTED_JSON lines"""


def verify_files(token_path, jwks_path, now_text, expected_text, anchor_path=None):
    """The result of one verification; raises OSError or ValueError on unreadable arguments."""
    with open(token_path, "rb") as f:
        token = f.read()
    with open(jwks_path, "rb") as f:
        jwks = f.read()
    now = None if now_text == "-" else int(now_text)
    expected = json.loads(expected_text)
    if not isinstance(expected, dict) or not all(
        isinstance(expected.get(key), str) for key in ("account", "product")
    ):
        raise ValueError("EXPECTED_JSON needs account and product")
    if anchor_path is None:
        store = license_receipt.MemoryAnchorStore()
    else:
        store = license_receipt.FileAnchorStore(anchor_path)
    return license_receipt.verify(token, jwks, expected, store, now=now)


def main(argv):
    try:
        if argv[1:] == ["--batch"]:
            for line in sys.stdin.buffer.read().decode("utf-8").splitlines():
                print(verify_files(*line.split("\t")).reason or "ok")
            return 0
        if len(argv) not in (5, 6):
            raise ValueError("wrong number of arguments")
        result = verify_files(*argv[1:])
    except (OSError, ValueError, TypeError) as error:
        print(f"{USAGE}\n{error}", file=sys.stderr)
        return 2
    print(result.reason or "ok")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
