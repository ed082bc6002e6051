import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kindling.plans.changes import PlanChangeError, change_plan, find_plan
from kindling.plans.models import Plan
from kindling.projects.models import Project


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = "Plans: `kindling plan list`, `kindling plan create NAME ...`, `kindling plan assign SLUG PLAN`"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="print the plans, one JSON object a line")
        create = sub.add_parser("create", help="create a plan, or change the plan of that name")
        create.add_argument("name")
        runs = create.add_mutually_exclusive_group(required=True)
        runs.add_argument("--runs", type=positive, help="runs per month")
        runs.add_argument("--unlimited", action="store_true", help="no limit on runs")
        create.add_argument(
            "--concurrency", type=positive, default=1, help="maximum concurrency, 1 to 10 (default 1)"
        )
        create.add_argument(
            "--timeout", type=positive, default=100, help="run timeout in seconds (default 100)"
        )
        create.add_argument("--price", default="", help='price label, e.g. "$49 / month"')
        create.add_argument("--paid", action="store_true", help="changing to it needs a payment card")
        create.add_argument("--default", action="store_true", help="the plan of every project not on another")
        assign = sub.add_parser("assign", help="put a project on a plan")
        assign.add_argument("slug")
        assign.add_argument("plan", help="the plan's name")

    def handle(self, *args, action, **opts):
        if action == "list":
            for plan in Plan.objects.all():
                self.stdout.write(json.dumps({**plan.summary(), "default": plan.is_default}))
        elif action == "create":
            self.create(opts)
        else:
            project = Project.objects.filter(slug=opts["slug"]).first()
            if project is None:
                raise CommandError(f"no project with slug {opts['slug']}")
            try:
                subscription = change_plan(project, find_plan(opts["plan"]))
            except PlanChangeError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"{project.slug} is now on the {subscription.plan.name} plan")

    def create(self, opts) -> None:
        plan = Plan.objects.filter(name__iexact=opts["name"]).first() or Plan(name=opts["name"])
        plan.runs_per_month = None if opts["unlimited"] else opts["runs"]
        plan.max_concurrency, plan.run_timeout = opts["concurrency"], opts["timeout"]
        plan.price_label, plan.paid = opts["price"], opts["paid"]
        try:
            plan.full_clean(exclude=["is_default"])
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            raise CommandError(problems) from None
        if opts["default"]:
            Plan.objects.exclude(pk=plan.pk).update(is_default=False)
            plan.is_default = True
        plan.save()
        self.stdout.write(
            f"plan {plan.name}: {plan.runs_label}, concurrency up to {plan.max_concurrency}, "
            f"runs may take {plan.run_timeout} s"
        )
