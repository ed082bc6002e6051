from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "kindling.projects"
    label = "projects"
