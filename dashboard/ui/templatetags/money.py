from django import template

from dashboard.ui.formatting import format_money

register = template.Library()

# `{{ amount|money }}` → `CNY 1,234.50`.
register.filter("money", format_money)
