from django.db import migrations


def create_free_plan(apps, schema_editor):
    Plan = apps.get_model("plans", "Plan")
    # v1's Free plan; the operator edits it (Django admin, `kindling plan`) like any other plan.
    if not Plan.objects.filter(is_default=True).exists():
        Plan.objects.update_or_create(
            name="Free",
            defaults={
                "runs_per_month": 100, "max_concurrency": 1, "run_timeout": 100,
                "price_label": "Free", "paid": False, "is_default": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_initial")]
    operations = [migrations.RunPython(create_free_plan, migrations.RunPython.noop)]
