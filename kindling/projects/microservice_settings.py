"""Settings of `kindling microservice`: Kindling's, serving only the inbox."""

from kindling.settings import *  # noqa: F403

ROOT_URLCONF = "kindling.projects.microservice_urls"
