# Python / Flask
import hmac, hashlib, time
from flask import Flask, request, jsonify

app = Flask(__name__)

def verify_webhook(req, secret):
    signature = req.headers.get('X-TO-Signature', '')
    timestamp = req.headers.get('X-TO-Timestamp', '0')

    # Reject if older than 5 minutes
    if time.time() - int(timestamp) > 300:
        return False

    expected = hmac.new(
        secret.encode(), f"{timestamp}.{req.get_data(as_text=True)}".encode(),
        hashlib.sha256
    ).hexdigest()

    return hmac.compare_digest(signature, expected)

@app.route('/webhooks/to', methods=['POST'])
def handle_webhook():
    if not verify_webhook(request, WEBHOOK_SECRET):
        return jsonify(error='Invalid signature'), 401

    event = request.json
    print(f"Event: {event['event']}")
    return jsonify(received=True), 200
