def sandbox(request) -> dict:
    """Every page says "Sandbox" while the sandbox gateway is installed."""
    return {"payment_sandbox": True}
