"""The usage threshold notice: once per billing cycle, to every member of the project (v1: "all
collaborators"), when the project has used its notification threshold share of the cycle's runs."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from kindling.plans.limits import Limits
from kindling.projects.models import Project


def threshold_notice(project_id: int, limits: Limits, cycle, used: int) -> EmailMessage:
    project = Project.objects.get(pk=project_id)
    recipients = sorted(project.members.values_list("email", flat=True))
    start, end = cycle
    url = settings.BASE_URL + reverse("plan-usage", args=[project.slug])
    body = (
        f"{project.name} has used {used:,} of the {limits.runs_per_month:,} runs its {limits.plan} plan "
        f"allows in the billing cycle {start:%Y-%m-%d} to {end:%Y-%m-%d} "
        f"({used * 100 // limits.runs_per_month}%; you are told at {limits.threshold}%).\n\n"
        "Once the limit is reached, new runs are not executed: messages are still stored, and the "
        "runs are recorded as rejected so that you can reprocess them after a change of plan or in "
        f"the next cycle.\n\nUsage and plans: {url}\n"
    )
    return EmailMessage(
        f"[Kindling] {project.name} has used {limits.threshold}% of its runs this month",
        body,
        None,
        recipients,
    )
