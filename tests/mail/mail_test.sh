#!/usr/bin/env bash
# License emails, against a local SMTP sink (smtp_sink.py, Debian's python3-aiosmtpd) and a real
# license-primary with --smtp:
#   - the spec's Stripe handler's fetch call creates a license, and its customer gets the key in
#     an email with the account's branding (sender name, reply-to, product name, colour, logo),
#     the key the one that activates that license;
#   - a relay that defers (451) is tried again, and the state shows each attempt;
#   - a mail queued while the relay is down survives a kill -9 of the primary and is sent after
#     the restart — once;
#   - a relay offering STARTTLS gets the mail over TLS (its certificate trusted through
#     --smtp-ca-file); one whose certificate is not trusted never gets it;
#   - a recipient the relay refuses (550) is given up at once; a sender it refuses (553, the
#     relay's setup) keeps the mail waiting until the relay takes it;
#   - a license deleted before its mail went takes the mail with it;
#   - hostile branding (header injection, script, javascript: logo, bad colours) is refused and
#     nothing changes; a product name with markup is escaped in the HTML part.
# usage: mail_test.sh PRIMARY_BINARY [SPEC_FILE]
set -euo pipefail
primary="$1"
spec="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../support/shell_test.sh"
py=/usr/bin/python3  # Debian's, with python3-aiosmtpd
token=mail-token

json() { "$py" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

sink_pid=""
start_sink() {  # NAME [sink options]
  rm -f "$tmp/$1.port"
  "$py" "$here/smtp_sink.py" "$tmp/$1" "$tmp/$1.port" "${@:2}" >"$tmp/$1.log" 2>&1 &
  sink_pid=$!
  pids+=("$sink_pid")
  wait_until 15 test -s "$tmp/$1.port" || fail "the SMTP sink $1 did not start"
  sink_port="$(cat "$tmp/$1.port")"
}
primary_pid=""
start_primary() {  # RELAY [primary options]
  rm -f "$tmp/primary.ports"
  LE_ADMIN_TOKEN=$token "$primary" --db "$tmp/primary-db" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --port-file "$tmp/primary.ports" --no-publish --no-edge-writes \
    --no-snapshots --no-reports --nats nats://127.0.0.1:1 --smtp "$1" --smtp-from licenses@vendor.example "${@:2}" \
    >>"$tmp/primary.log" 2>&1 &
  primary_pid=$!
  pids+=("$primary_pid")
  wait_until 30 test -s "$tmp/primary.ports" || fail "the primary did not start"
  read -r port admin_port <"$tmp/primary.ports"
  base="http://127.0.0.1:$port"
}
stop_primary() {  # [SIGNAL]: stopped (SIGTERM by default) and reaped
  kill "${1:--TERM}" "$primary_pid"
  wait "$primary_pid" 2>/dev/null || true
}
# METHOD PATH [BODY] [TOKEN]: the body to stdout, the status to $tmp/status
api() {
  curl -sS -o "$tmp/answer" -w '%{http_code}' -X "$1" "$base$2" -H "Authorization: Bearer ${4:-$key}" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} >"$tmp/status"
  cat "$tmp/answer"
}
status() { cat "$tmp/status"; }
mail_state() { api GET "/api/v1/licenses/$1/email" | json "d['email']['$2']"; }
messages() { ls "$tmp/$1"/*.eml 2>/dev/null | wc -l; }
# For wait_until, which runs its command again each time (a $(…) in its arguments would not be).
messages_are() { [ "$(messages "$1")" = "$2" ]; }
state_is() { [ "$(mail_state "$1" status)" = "$2" ]; }
attempted() { [ "$(mail_state "$1" attempts)" -ge "$2" ]; }

# ---- a relay, the primary, an account with a product and a plan
start_sink relay
start_primary "127.0.0.1:$sink_port"
account="$(api POST /admin/v1/accounts '{"plan":"business"}' $token | json "d['account']['id']")"
key="$(api POST "/admin/v1/accounts/$account/api-keys" '{}' $token | json "d['apiKey']['key']")"
product="$(api POST /api/v1/products '{"name":"Pixel Forge","plans":[{"id":"pro","type":"subscription","max_activations":3,"duration_days":365}]}' |
  json "d['product']['id']")"
[ "$(status)" = 201 ] || fail "creating the product: $(cat "$tmp/answer")"

# ---- hostile branding: refused, nothing stored
branding='{"product_name":"Pixel Forge Pro","logo_url":"https://cdn.vendor.example/logo.png","primary_color":"#123456","accent_color":"#fafafa","sender_name":"Pixel Forge Licensing","reply_to":"support@vendor.example"}'
api PATCH /api/v1/account/settings "{\"branding\":$branding}" >/dev/null
[ "$(status)" = 200 ] || fail "setting the branding: $(cat "$tmp/answer")"
before="$(api GET /api/v1/account)"
for bad in '{"sender_name":"Evil\r\nBcc: victim@example.com"}' \
  '{"sender_name":"Quote\" <evil@example.com>"}' \
  '{"reply_to":"a@b.example\r\nBcc: victim@example.com"}' \
  '{"reply_to":"not an address"}' \
  '{"logo_url":"javascript:alert(1)"}' \
  '{"logo_url":"http://cdn.vendor.example/logo.png"}' \
  '{"logo_url":"https://x.example/\"onerror=\"alert(1)"}' \
  '{"primary_color":"red"}' \
  '{"primary_color":"#12345g"}' \
  '{"accent_color":"#1234567"}' \
  "{\"product_name\":\"$(printf 'x%.0s' $(seq 1 101))\"}" \
  "{\"sender_name\":\"$(printf 'y%.0s' $(seq 1 600))\"}" \
  '{"unknown":"x"}' \
  '"not an object"' \
  '{"product_name":42}'; do
  api PATCH /api/v1/account/settings "{\"branding\":$bad}" >/dev/null
  [ "$(status)" = 400 ] || fail "branding $bad answered $(status): $(cat "$tmp/answer")"
  grep -q '"code":"VALIDATION_ERROR"' "$tmp/answer" || fail "branding $bad: $(cat "$tmp/answer")"
done
api PATCH /api/v1/account/settings '{"branding":' >/dev/null
[ "$(status)" = 400 ] || fail "a broken body answered $(status)"
[ "$(api GET /api/v1/account)" = "$before" ] || fail "a refused branding changed the account"
echo "ok   hostile branding is refused and changes nothing"

# ---- the spec's Stripe handler creates a license; its customer gets the key
if [ -f "$spec" ]; then
  awk '/^    \/\/ Create license via REST API$/{f=1} f{print} /^    }\);$/{if(f) exit}' "$spec" |
    cmp -s - "$here/../api/spec_stripe_fetch.js" || fail "spec_stripe_fetch.js differs from the spec's"
fi
{
  echo "const TO_API_KEY = process.env.TO_API_KEY;"
  echo "const session = { metadata: { product_id: process.env.PRODUCT_ID },"
  echo "  customer_email: 'stripe-buyer@example.com', customer: 'cus_1', subscription: 'sub_1' };"
  sed "s#https://api.trafficorchestrator.com#$base#" "$here/../api/spec_stripe_fetch.js"
} >"$tmp/stripe.mjs"
TO_API_KEY="$key" PRODUCT_ID="$product" node "$tmp/stripe.mjs" || fail "the Stripe fetch call"
license="$(api GET '/api/v1/licenses?limit=1' | json "d['data'][0]['id']")"
wait_until 20 messages_are relay 1 || fail "no email reached the sink: $(api GET "/api/v1/licenses/$license/email")"
eml="$tmp/relay/1.eml"
"$py" - "$eml" "$tmp/relay/1.json" <<'PY' >"$tmp/mailed_key" || fail "the email is not as branded"
import email, email.policy, json, re, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
env = json.load(open(sys.argv[2]))
assert env["from"] == "licenses@vendor.example", env
assert env["to"] == ["stripe-buyer@example.com"], env
assert m["From"].addresses[0].display_name == "Pixel Forge Licensing", m["From"]
assert m["From"].addresses[0].addr_spec == "licenses@vendor.example", m["From"]
assert m["Reply-To"].addresses[0].addr_spec == "support@vendor.example", m["Reply-To"]
assert m["To"].addresses[0].addr_spec == "stripe-buyer@example.com", m["To"]
assert m["Subject"] == "Your Pixel Forge Pro license key", m["Subject"]
assert m["Message-ID"] and m["Date"], "no Message-ID or Date"
text = m.get_body(("plain",)).get_content()
html = m.get_body(("html",)).get_content()
keys = re.findall(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3}", text)
assert len(keys) == 1 and keys[0] in html, (text, html)
assert "#123456" in html and "#fafafa" in html, "the colours"
assert 'src="https://cdn.vendor.example/logo.png"' in html, "the logo"
assert "Pixel Forge Pro" in text and "Pixel Forge Pro" in html
print(keys[0])
PY
mailed="$(cat "$tmp/mailed_key")"
api POST /api/v1/activate "{\"license_key\":\"$mailed\",\"machine_id\":\"buyer-pc\"}" >/dev/null
[ "$(status)" = 200 ] || fail "the mailed key does not activate: $(status) $(cat "$tmp/answer")"
[ "$(mail_state "$license" status)" = sent ] || fail "the state is not sent: $(cat "$tmp/answer")"
grep -q "$mailed" "$tmp/answer" && fail "the state shows the key"
echo "ok   the Stripe example's customer gets the key, branded, and the state says sent"

# ---- a deferring relay: tried again; a relay down across a kill -9: sent after the restart
kill "$sink_pid"
create_bought() {  # EMAIL -> the license id
  api POST /api/v1/portal/licenses "{\"product\":\"$product\",\"plan\":\"pro\",\"customer_email\":\"$1\"}" |
    json "d['license']['id']"
}
down="$(create_bought down@example.com)"
wait_until 20 attempted "$down" 1 || fail "no attempt while the relay is down"
[ "$(mail_state "$down" status)" = queued ] || fail "a mail to a relay down is not queued"
mail_state "$down" lastError | grep -q "connecting" || fail "no error: $(cat "$tmp/answer")"
stop_primary -9
start_sink relay2 --defer-data 1
start_primary "127.0.0.1:$sink_port"
wait_until 30 messages_are relay2 1 || fail "the queued mail was not sent after the restart"
[ "$(mail_state "$down" status)" = sent ] || fail "not sent: $(cat "$tmp/answer")"
[ "$(mail_state "$down" attempts)" -ge 3 ] || fail "the 451 was not an attempt: $(cat "$tmp/answer")"
grep -q "down@example.com" "$tmp/relay2/1.json" || fail "the wrong mail was sent"
sleep 3  # the mailer polls each second: nothing more goes out
[ "$(messages relay2)" = 1 ] || fail "the mail was sent twice"
echo "ok   a mail survives a relay down and a kill -9, is tried again after a 451, and is sent once"

# ---- a refused recipient: given up at once
stop_primary
start_sink relay3 --reject-rcpt nobody@example.com
start_primary "127.0.0.1:$sink_port"
refused="$(create_bought nobody@example.com)"
wait_until 20 state_is "$refused" failed || fail "a 550 is not failed: $(cat "$tmp/answer")"
[ "$(mail_state "$refused" attempts)" = 1 ] || fail "a 550 was tried again"
mail_state "$refused" lastError | grep -q "550" || fail "no 550 in the error"
echo "ok   a recipient the relay refuses is given up after one attempt"

# ---- a relay refusing the sender (its setup, not the mail's): the mail waits, then is sent;
#      a license deleted meanwhile takes its unsent mail with it
stop_primary
start_sink relay4 --reject-sender licenses@vendor.example
start_primary "127.0.0.1:$sink_port"
waits="$(create_bought waits@example.com)"
doomed="$(create_bought deleted@example.com)"
wait_until 20 attempted "$waits" 1 || fail "no attempt to the relay refusing the sender"
[ "$(mail_state "$waits" status)" = queued ] || fail "a sender refused gave the mail up: $(cat "$tmp/answer")"
mail_state "$waits" lastError | grep -q "553" || fail "no 553 in the error"
api DELETE "/api/v1/licenses/$doomed" >/dev/null
[ "$(status)" = 200 ] || fail "deleting a license: $(status)"
stop_primary
start_sink relay5
start_primary "127.0.0.1:$sink_port"
wait_until 30 state_is "$waits" sent || fail "the waiting mail was not sent: $(cat "$tmp/answer")"
sleep 2  # the mailer polls each second: a mail of the deleted license would have gone by now
[ "$(messages relay5)" = 1 ] || fail "$(messages relay5) mails sent, not 1 (the deleted license's went?)"
grep -q "waits@example.com" "$tmp/relay5/1.json" || fail "the wrong mail was sent"
echo "ok   a sender the relay refuses keeps the mail waiting; a deleted license's mail is never sent"

# ---- STARTTLS: a trusted relay gets the mail over TLS; an untrusted one never gets it
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/relay.key" -out "$tmp/relay.crt" \
  >/dev/null 2>&1 || fail "openssl req"
stop_primary
start_sink tls --tls "$tmp/relay.crt" "$tmp/relay.key"
start_primary "127.0.0.1:$sink_port"
untrusted="$(create_bought untrusted@example.com)"
wait_until 20 attempted "$untrusted" 1 || fail "no attempt to the TLS relay"
mail_state "$untrusted" lastError | grep -qi "TLS handshake" || fail "no TLS error: $(cat "$tmp/answer")"
[ "$(messages tls)" = 0 ] || fail "a relay with an untrusted certificate got the mail"
stop_primary
start_primary "127.0.0.1:$sink_port" --smtp-ca-file "$tmp/relay.crt"
trusted="$(create_bought trusted@example.com)"
wait_until 30 messages_are tls 2 || fail "the trusted relay did not get both mails"
for f in "$tmp"/tls/*.json; do
  grep -q '"tls": true' "$f" || fail "a mail went in the clear: $(cat "$f")"
done
[ "$(mail_state "$trusted" status)" = sent ] || fail "not sent over TLS: $(cat "$tmp/answer")"
echo "ok   STARTTLS: sent over TLS to a trusted relay, never to an untrusted one"

# ---- markup in a product's name is text in the email
api PATCH /api/v1/account/settings '{"branding":{"product_name":"<script>alert(1)</script>"}}' >/dev/null
[ "$(status)" = 200 ] || fail "a product name with markup is plain text: $(status)"
create_bought markup@example.com >/dev/null
wait_until 20 messages_are tls 3 || fail "no third mail"
"$py" - "$tmp/tls/3.eml" <<'PY' || fail "markup in the name reached the HTML part"
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
html = m.get_body(("html",)).get_content()
assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html, html
PY
echo "ok   markup in the branding is escaped in the HTML part"
