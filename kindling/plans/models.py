"""Plans (the operator's table), each project's subscription, usage per billing cycle, payment cards.

Spec section 10: plans are run-based. A project without a Subscription row is on the default plan
(Free), counted from the day the project was created, so creating a project needs nothing from here.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Plan(models.Model):
    name = models.CharField(max_length=100, unique=True)
    runs_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text="Runs a project may start per billing cycle; empty for no limit."
    )
    max_concurrency = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="The most runs of a project that may execute at once (1 to 10).",
    )
    run_timeout = models.PositiveIntegerField(
        default=100,
        validators=[MinValueValidator(1)],
        help_text="Seconds a run may take before it is killed (exit code 2).",
    )
    price_label = models.CharField(
        max_length=100, blank=True, help_text='What users see, e.g. "$49 / month".'
    )
    paid = models.BooleanField(default=False, help_text="Changing to this plan needs a payment card.")
    is_default = models.BooleanField(default=False, help_text="The plan of every project not on another one.")

    class Meta:
        ordering = [models.F("runs_per_month").asc(nulls_last=True), "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_plan"
            ),
        ]

    def __str__(self):
        return self.name

    def summary(self) -> dict:
        """The plan as the REST API and `kindling plan list` show it."""
        return {
            "name": self.name,
            "runs_per_month": self.runs_per_month,
            "max_concurrency": self.max_concurrency,
            "run_timeout": self.run_timeout,
            "price_label": self.price_label,
            "paid": self.paid,
        }

    @property
    def runs_label(self) -> str:
        return "unlimited runs" if self.runs_per_month is None else f"{self.runs_per_month:,} runs a month"


class Subscription(models.Model):
    """The plan a project is on, when it is not the default plan (or was changed at least once)."""

    project = models.OneToOneField("projects.Project", on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    # Whose payment card pays for a paid plan; the Billing page of that user lists the project.
    billed_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="billed_projects",
    )
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.project} on {self.plan}"


class Usage(models.Model):
    """Runs created in one billing cycle of one project. A counter, not a count of rows: it survives
    the deletion of runs, and the inbox bumps it in the transaction that creates the runs."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="usage")
    cycle_start = models.DateField()
    runs = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # The threshold notice of this cycle went out (once per cycle).
    notified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-cycle_start"]
        constraints = [models.UniqueConstraint(fields=["project", "cycle_start"], name="one_usage_per_cycle")]

    def __str__(self):
        return f"{self.project} from {self.cycle_start}: {self.runs} runs"


class BillingAccount(models.Model):
    """A user's payment card at the billing provider. Only the provider's ids and what identifies the
    card to its owner (brand, last 4 digits) are stored: never a card number."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="billing_account"
    )
    provider = models.CharField(max_length=20)
    customer_id = models.CharField(max_length=255, blank=True)
    payment_method_id = models.CharField(max_length=255, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.user}: {self.card_label or 'no card'}"

    @property
    def has_card(self) -> bool:
        return bool(self.payment_method_id)

    @property
    def card_label(self) -> str:
        return f"{self.card_brand.title()} ending in {self.card_last4}" if self.has_card else ""
