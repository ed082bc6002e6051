"""The git parts other pages show: the job page's section and Account Settings' GitHub card."""

from django import template

from kindling.projects.access import can
from kindling.vcs import github, remotes
from kindling.vcs.commits import push_problem
from kindling.vcs.deploy import last_note
from kindling.vcs.link import repository_of
from kindling.vcs.models import GitHubConnection

register = template.Library()


@register.inclusion_tag("vcs/_job_git.html", takes_context=True)
def job_git(context, project, job):
    repo = repository_of(project)
    return {
        "project": project,
        "job": job,
        "repo": repo,
        "repo_url": remotes.display(repo.url) if repo else "",
        "problem": push_problem(job) if repo else None,
        "note": last_note(job) if repo else None,
        "may_manage": can(context["request"].user, "manage_vcs", project),
    }


@register.inclusion_tag("vcs/_github_card.html", takes_context=True)
def github_card(context):
    user = context["request"].user
    return {
        "connection": GitHubConnection.objects.filter(user=user).first(),
        "configured": github.configured(),
        "csrf_token": context.get("csrf_token"),
    }
