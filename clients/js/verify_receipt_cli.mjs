// Verifies receipts from the command line and prints the reason ("ok" when one verified).
//
//   node verify_receipt_cli.mjs TOKEN_FILE JWKS_FILE NOW EXPECTED_JSON [ANCHOR_FILE]
//   node verify_receipt_cli.mjs --batch < LINES   (each: the first four, tab-separated)
//
// NOW is Unix seconds, or "-" for the system clock. EXPECTED_JSON is an object with "account"
// and "product", and optionally "license", "machine" and "nonce". Without ANCHOR_FILE, and for
// each line of a batch, the last-seen time lives in memory for that one verification.
// Exit status: 0 ok (a batch: every line was read), 1 refused, 2 usage.
import fs from 'node:fs';

import { FileAnchorStore, MemoryAnchorStore, verifyReceipt } from './license_receipt.mjs';

const usage = `usage: verify_receipt_cli.mjs TOKEN_FILE JWKS_FILE NOW|- EXPECTED_JSON [ANCHOR_FILE]
       verify_receipt_cli.mjs --batch < TOKEN_FILE<tab>JWKS_FILE<tab>NOW<tab>EXPECTED_JSON lines`;

// The result of one verification; throws on unreadable arguments.
function verifyFiles(tokenPath, jwksPath, nowText, expectedText, anchorPath) {
  // The token's bytes one to one, so a byte that is not ASCII stays one the verifier refuses.
  const token = fs.readFileSync(tokenPath).toString('latin1');
  const jwks = fs.readFileSync(jwksPath);
  let now;
  if (nowText !== '-') {
    if (!/^-?[0-9]+$/.test(nowText)) throw new Error(`NOW is not an integer: ${nowText}`);
    now = Number(nowText);
  }
  const expected = JSON.parse(expectedText);
  if (typeof expected?.account !== 'string' || typeof expected?.product !== 'string') {
    throw new Error('EXPECTED_JSON needs account and product');
  }
  const store =
    anchorPath === undefined ? new MemoryAnchorStore() : new FileAnchorStore(anchorPath);
  return verifyReceipt(token, jwks, expected, store, { now });
}

const args = process.argv.slice(2);
try {
  if (args.length === 1 && args[0] === '--batch') {
    const lines = fs.readFileSync(0, 'utf8').split('\n').filter((line) => line !== '');
    const out = lines.map((line) => {
      const fields = line.split('\t');
      if (fields.length !== 4) throw new Error(`not four fields: ${line}`);
      return verifyFiles(...fields).reason ?? 'ok';
    });
    process.stdout.write(out.map((reason) => `${reason}\n`).join(''));
    process.exitCode = 0;
  } else {
    if (args.length !== 4 && args.length !== 5) throw new Error('wrong number of arguments');
    const result = verifyFiles(...args);
    console.log(result.reason ?? 'ok');
    process.exitCode = result.ok ? 0 : 1;
  }
} catch (error) {
  console.error(`${usage}\n${error.message}`);
  process.exitCode = 2;
}
