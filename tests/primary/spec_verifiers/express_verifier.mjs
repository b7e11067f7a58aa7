// Node.js / Express
import crypto from 'crypto'

const verifyWebhook = (req, secret) => {
  const signature = req.headers['x-to-signature']
  const timestamp = req.headers['x-to-timestamp']
  const body = JSON.stringify(req.body)

  // Reject if timestamp is older than 5 minutes
  if (Date.now() / 1000 - Number(timestamp) > 300) {
    return false
  }

  const expected = crypto
    .createHmac('sha256', secret)
    .update(timestamp + '.' + body)
    .digest('hex')

  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expected)
  )
}

app.post('/webhooks/to', (req, res) => {
  if (!verifyWebhook(req, process.env.WEBHOOK_SECRET)) {
    return res.status(401).json({ error: 'Invalid signature' })
  }
  // Process the webhook event
  console.log('Event:', req.body.event)
  res.status(200).json({ received: true })
})
