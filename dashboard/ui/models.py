"""What users keep of the lists: the columns each chose for a list, and the views they
saved (a list's filters, sort and columns under a name)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

LIST_NAME_LENGTH = 40
VIEW_NAME_LENGTH = 80
VIEW_QUERY_LENGTH = 2000


class ListPreference(models.Model):
    """The columns one user shows on one list, in their order (`dashboard.ui.columns`)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    list_name = models.CharField(max_length=LIST_NAME_LENGTH)
    columns = models.JSONField(default=list)
    hidden = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "list_name"], name="list_preference_one_per_user_and_list"),
        ]

    def __str__(self) -> str:
        return f"{self.list_name} columns of user {self.user_id}"


class SavedView(models.Model):
    """A list as someone left it: the page's path and query string (filters, sort, rows
    per page) and its columns, under a name. Its owner may share it with everyone who
    may arrange that list; only the owner renames, shares or deletes it."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    list_name = models.CharField(max_length=LIST_NAME_LENGTH)
    name = models.CharField(max_length=VIEW_NAME_LENGTH)
    path = models.CharField(max_length=200)
    query = models.CharField(max_length=VIEW_QUERY_LENGTH, blank=True)
    columns = models.JSONField(default=list)
    hidden = models.JSONField(default=list)
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "owner", "list_name", name="saved_view_name_unique_per_owner_and_list"
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="saved_view_name_not_empty"),
        ]
        indexes = [
            models.Index(fields=["owner", "list_name"], name="saved_view_owner_list"),
            models.Index(fields=["list_name"], condition=models.Q(shared=True), name="saved_view_shared"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        """Where the view leads: its list, with its query and its columns (`view`)."""
        query = f"{self.query}&" if self.query else ""
        return f"{self.path}?{query}view={self.pk}"
