from django import template

from kindling.projects.access import can

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed(context, action: str, project) -> bool:
    """`{% allowed "manage_access" project as may_manage %}`: the permission table, for menus."""
    request = context.get("request")
    return request is not None and can(request.user, action, project)
