from django import template

from kindling.audit.log import label_of

register = template.Library()
register.filter("audit_label", label_of)
