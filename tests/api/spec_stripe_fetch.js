    // Create license via REST API
    await fetch('https://api.trafficorchestrator.com/api/v1/portal/licenses', {
      method: 'POST',
      headers: {
        'Authorization': 'Bearer ' + TO_API_KEY,
        'Content-Type': 'application/json'
      },
      body: JSON.stringify({
        product: session.metadata.product_id,
        plan: 'pro',
        customer_email: session.customer_email,
        metadata: {
          stripeCustomerId: session.customer,
          stripeSubscriptionId: session.subscription
        }
      })
    });
