"""Flow and catch chains: refuse a trigger assignment that would let one run start itself forever."""

from kindling.jobs.models import Job, Trigger


class CycleError(ValueError):
    pass


def downstream_of(job_id: int) -> set[int]:
    """Ids of every job that a run of `job_id` can start, directly or through a chain."""
    edges: dict[int, set[int]] = {}
    rows = Job.objects.filter(
        trigger__kind__in=[Trigger.Kind.FLOW, Trigger.Kind.CATCH], trigger__upstream_job__isnull=False
    ).values_list("trigger__upstream_job_id", "id")
    for upstream, downstream in rows:
        edges.setdefault(upstream, set()).add(downstream)
    seen, to_visit = set(), [job_id]
    while to_visit:
        for nxt in edges.get(to_visit.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                to_visit.append(nxt)
    return seen


def check_assignment(job: Job, trigger: Trigger | None) -> None:
    """Raise CycleError if giving `job` the `trigger` would close a flow/catch loop."""
    if trigger is None or trigger.kind not in (Trigger.Kind.FLOW, Trigger.Kind.CATCH):
        return
    upstream = trigger.upstream_job_id
    if upstream is None or job.pk is None:
        return
    if upstream == job.pk or upstream in downstream_of(job.pk):
        raise CycleError(
            f"Trigger {trigger.name} starts {job.name} after job {trigger.upstream_job.name}, which "
            f"{job.name} itself starts: that cycle would let one run start itself forever."
        )


def check_upstream(trigger: Trigger, upstream: Job) -> None:
    """Raise CycleError if pointing `trigger` at `upstream` would close a loop for the jobs using it."""
    for job in trigger.jobs.all():
        if upstream.pk == job.pk or upstream.pk in downstream_of(job.pk):
            raise CycleError(
                f"Trigger {trigger.name} would start {job.name} after {upstream.name}, which {job.name} "
                "itself starts: that cycle would let one run start itself forever."
            )
