"""The one guard every page uses: signed in, then the permission, or 403."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.contrib.auth.decorators import permission_required as django_permission_required


def permission_required(permission: str) -> Callable:
    """Anonymous users go to the sign-in page; signed-in users without `permission` get 403.

    The permission is kept on the view (`required_permission`), so a test can check
    that the menu and the view ask for the same one.
    """

    def decorator(view: Callable) -> Callable:
        guarded = login_required(django_permission_required(permission, raise_exception=True)(view))
        guarded.required_permission = permission
        return guarded

    return decorator
