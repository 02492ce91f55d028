"""Reads of accounts for the admin's Users page."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone


def users_matching(q: str = "") -> QuerySet:
    """Users, newest first, with their customer profile and live session count."""
    users = (
        get_user_model()
        .objects.select_related("customer")
        .prefetch_related("groups")
        .annotate(session_count=Count("sessions", filter=Q(sessions__expire_date__gt=timezone.now())))
        .order_by("-date_joined", "-pk")
    )
    if q := q.strip():
        users = users.filter(
            Q(username__icontains=q) | Q(customer__name__icontains=q) | Q(customer__mobile__icontains=q)
        )
    return users


def user_get(pk: int):
    return get_object_or_404(users_matching(), pk=pk)
