from django.db import models
from django.utils import timezone

from orders.models import PaymentMethod, money_field


class SandboxCharge(models.Model):
    """The sandbox's own record of a payment: what a real provider keeps on its side.
    Not the platform's Payment."""

    PENDING, PAID, DECLINED = "pending", "paid", "declined"

    token = models.CharField(max_length=64, unique=True)
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    amount = money_field()
    account = models.CharField(max_length=40, blank=True)
    callback_url = models.CharField(max_length=500)
    return_url = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=10, default=PENDING, choices=[(PENDING, "Pending"), (PAID, "Paid"), (DECLINED, "Declined")]
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.token
