"""The sandbox payment gateway: a payment provider that runs inside the app, for
demos and development. Installed only when PAYMENT_GATEWAY is "sandbox" (the
default with debug on); a production deployment does not install it, and every
page says "Sandbox" while it is installed."""
