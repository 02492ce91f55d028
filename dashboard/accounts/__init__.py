"""Accounts: sign-in by password and SMS, the second factor, sessions, roles and
permissions, the audit of account actions, and the admin's Users page.

It builds on `dashboard.ui` and knows nothing of orders (import-linter holds it,
`make check`); where a customer's profile matters (the mobile SMS sign-in texts), it
reads the user's `customer` relation by name.
"""
