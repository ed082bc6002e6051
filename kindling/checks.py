"""System checks for what can be wrong at start, with stable ids."""

import shutil
import subprocess

from django.core.checks import Error, register

MIN_NODE_MAJOR = 20


def node_version(node: str) -> str | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10, env={})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


@register()
def check_node(app_configs, **kwargs):
    node = shutil.which("node")
    if node is None:
        return [
            Error(
                "Node.js was not found on PATH; Kindling runs jobs with Node.js.",
                hint=f"Install Node.js {MIN_NODE_MAJOR} or newer and make sure `node` is on PATH.",
                id="kindling.E001",
            )
        ]
    version = node_version(node)
    try:
        major = int((version or "").lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < MIN_NODE_MAJOR:
        return [
            Error(
                f"Node.js {version or '(unknown version)'} at {node} is too old.",
                hint=f"Kindling needs Node.js {MIN_NODE_MAJOR} or newer.",
                id="kindling.E002",
            )
        ]
    return []
