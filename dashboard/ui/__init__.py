"""The list and htmx kit every page uses: list rendering, the capped paginator, the CSV
export, the table base and generic columns, generic filters, htmx helpers, the mapping
from refusals to HTTP statuses, and their templates; and what users keep of the lists
(the columns each chose, saved views: `listings`, `columns`, `services`, `models`).

It imports Django and the list libraries, nothing of this project (import-linter holds
it, `make check`).
"""
