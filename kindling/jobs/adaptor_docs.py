"""What Job Studio shows of an installed adaptor version: its operations' documentation (from the
package's `ast.json`) and its TypeScript definitions (`types/*.d.ts`) for the editor's completion.

Everything is read from the adaptor repository (`settings.ADAPTOR_REPO_DIR`), where an installed
version never changes, so nothing here needs the network. Names and versions are checked with the
engine's own rules before any path is built from them.
"""

import json
import re
from pathlib import Path

from kindling.engine.adaptors import (
    DIST_TAGS,
    EXACT_VERSION,
    AdaptorUnavailable,
    list_installed,
    package_dir,
    parse_adaptor,
    version_key,
)

COMMON = "@openfn/language-common"
# The adaptors v1's Job Studio offered first; any other @openfn/language-* can be typed or installed.
RECOMMENDED = (
    COMMON,
    "@openfn/language-http",
    "@openfn/language-dhis2",
    "@openfn/language-commcare",
    "@openfn/language-salesforce",
    "@openfn/language-postgresql",
    "@openfn/language-googlesheets",
    "@openfn/language-kobotoolbox",
)
# A package's type definitions are small (tens of kilobytes); this only stops a broken one.
MAX_TYPES_BYTES = 4 * 1024 * 1024
IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
# JavaScript's reserved words cannot name a global binding (an adaptor's `del` or `as` can).
JS_RESERVED = frozenset(
    "break case catch class const continue debugger default delete do else enum export extends false "
    "finally for function if import in instanceof new null return super switch this throw true try "
    "typeof var void while with yield let static implements interface package private protected "
    "public await".split()
)


class NotInstalled(Exception):
    """The adaptor version is not in the repository (or is not an adaptor at all)."""


def installed_versions(repo_dir: Path) -> dict[str, list[str]]:
    """{adaptor name: its installed versions, newest first}."""
    found: dict[str, list[str]] = {}
    for name, version in list_installed(Path(repo_dir)):
        found.setdefault(name, []).append(version)
    return {name: sorted(versions, key=version_key, reverse=True) for name, versions in sorted(found.items())}


def catalogue(repo_dir: Path) -> dict:
    """The adaptor picker: recommended adaptors first, then any other installed one, with versions."""
    installed = installed_versions(repo_dir)
    names = list(RECOMMENDED) + [name for name in installed if name not in RECOMMENDED]
    return {
        "adaptors": [
            {"name": name, "recommended": name in RECOMMENDED, "versions": installed.get(name, [])}
            for name in names
        ]
    }


def resolve_installed(repo_dir: Path, name: str, version: str | None) -> str:
    """The installed version that stands for `version`: itself, or for "latest" (or nothing) the newest
    installed one. Raises NotInstalled, saying what to do."""
    try:
        parse_adaptor(f"{name}@{version}" if version else name)
    except AdaptorUnavailable as exc:
        raise NotInstalled(str(exc)) from None
    versions = installed_versions(repo_dir).get(name, [])
    if not version or version in DIST_TAGS:
        if not versions:
            raise NotInstalled(
                f"No version of {name} is installed yet: install one to see its documentation."
            )
        return versions[0]
    if version not in versions:
        raise NotInstalled(
            f"{name}@{version} is not installed yet: install it to see its documentation "
            "(a run of a job that uses it installs it too)."
        )
    return version


def installed_package_dir(repo_dir: Path, name: str, version: str) -> Path:
    if not EXACT_VERSION.match(version):
        raise NotInstalled(f"{version!r} is not an exact version.")
    return package_dir(repo_dir, name, version)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# Documentation ---------------------------------------------------------------------------------


def format_type(node) -> str:
    """A JSDoc type as ast.json stores it (doctrine's tree) in the notation people write."""
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "NameExpression":
        return str(node.get("name") or "")
    if kind == "UnionType":
        return " | ".join(format_type(element) for element in node.get("elements") or [])
    if kind == "OptionalType":
        return format_type(node.get("expression"))
    if kind == "NullableType":
        return "?" + format_type(node.get("expression"))
    if kind == "NonNullableType":
        return "!" + format_type(node.get("expression"))
    if kind == "RestType":
        return "..." + format_type(node.get("expression"))
    if kind == "TypeApplication":
        applied = ", ".join(format_type(a) for a in node.get("applications") or [])
        return f"{format_type(node.get('expression'))}<{applied}>"
    if kind == "ArrayType":
        return "[" + ", ".join(format_type(element) for element in node.get("elements") or []) + "]"
    if kind == "RecordType":
        fields = node.get("fields") or []
        return "{" + ", ".join(f"{f.get('key')}: {format_type(f.get('value'))}" for f in fields) + "}"
    if kind == "FunctionType":
        params = ", ".join(format_type(p) for p in node.get("params") or [])
        result = format_type(node.get("result"))
        return f"function({params})" + (f": {result}" if result else "")
    if kind == "AllLiteral":
        return "*"
    if kind == "NullLiteral":
        return "null"
    if kind == "UndefinedLiteral":
        return "undefined"
    if kind == "StringLiteralType":
        return json.dumps(node.get("value"))
    return str(node.get("name") or kind or "")


def snippet_of(example: str) -> str:
    """An example as a Monaco snippet: `$`, `}` and `\\` are snippet syntax, so they are escaped."""
    return re.sub(r"([\\$}])", r"\\\1", example)


def _operation_doc(entry: dict, origin: str) -> dict | None:
    name = entry.get("name")
    docs = entry.get("docs") or {}
    tags = docs.get("tags") or []
    if not isinstance(name, str) or any(tag.get("title") == "private" for tag in tags):
        return None
    params, examples, returns = [], [], ""
    for tag in tags:
        title = tag.get("title")
        if title == "param":
            params.append(
                {
                    "name": tag.get("name") or "",
                    "type": format_type(tag.get("type")),
                    "optional": (tag.get("type") or {}).get("type") == "OptionalType",
                    "description": tag.get("description") or "",
                }
            )
        elif title == "example" and tag.get("description"):
            code = tag["description"].strip("\n")
            examples.append({"caption": tag.get("caption") or "", "code": code, "snippet": snippet_of(code)})
        elif title == "returns":
            returns = format_type(tag.get("type"))
    return {
        "name": name,
        "origin": origin,
        "description": docs.get("description") or "",
        "params": params,
        "returns": returns,
        "examples": examples,
    }


def operations(repo_dir: Path, name: str, version: str) -> list[dict]:
    """Every public operation of the installed version, as its ast.json documents it: the adaptor's own
    first (in the package's order), then those it takes from language-common."""
    path = installed_package_dir(repo_dir, name, version)
    ast = _read_json(path / "ast.json")
    if not isinstance(ast, dict):
        if not (path / "package.json").is_file():
            raise NotInstalled(f"{name}@{version} is not installed.")
        return []  # an old version without ast.json: no documentation, but no error either
    found, seen = [], set()
    for section, origin in (("operations", name), ("exports", name), ("common", COMMON)):
        for entry in ast.get(section) or []:
            doc = _operation_doc(entry, origin) if isinstance(entry, dict) else None
            if doc and doc["name"] not in seen:
                seen.add(doc["name"])
                found.append(doc)
    return found


# Type definitions for the editor ---------------------------------------------------------------


def _types_entry(package: dict) -> str:
    exports = package.get("exports")
    dot = exports.get(".") if isinstance(exports, dict) else None
    entry = (
        (dot.get("types") if isinstance(dot, dict) else None)
        or package.get("types")
        or package.get("typings")
        or "types/index.d.ts"
    )
    return str(entry).removeprefix("./")


def _package_libs(folder: Path, name: str, budget: list[int]) -> list[dict]:
    """The package's .d.ts files at the paths the editor's TypeScript resolves `import "<name>"` to."""
    package = _read_json(folder / "package.json") or {}
    entry = _types_entry(package)
    libs = [
        {
            "path": f"file:///node_modules/{name}/package.json",
            "content": json.dumps({"name": name, "version": package.get("version", ""), "types": entry}),
        }
    ]
    root = (folder / entry).parent if (folder / entry).is_file() else folder / "types"
    if not root.is_dir():
        return libs
    base = folder.resolve()
    for file in sorted(root.rglob("*.d.ts")):
        resolved = file.resolve()
        if not resolved.is_relative_to(base) or not resolved.is_file():
            continue  # a link out of the package is not the package's
        size = resolved.stat().st_size
        if size > budget[0]:
            break
        budget[0] -= size
        relative = file.relative_to(folder).as_posix()
        libs.append({"path": f"file:///node_modules/{name}/{relative}", "content": resolved.read_text()})
    return libs


def _dependency_dir(repo_dir: Path, package: Path, dependency: str) -> Path | None:
    # Node's resolution from inside the package: its own node_modules first, then the repository's.
    for candidate in (package / "node_modules" / dependency, Path(repo_dir) / "node_modules" / dependency):
        if (candidate / "package.json").is_file():
            return candidate
    return None


def global_names(repo_dir: Path, name: str, version: str) -> list[str]:
    """The names a job may call without importing them: what the compiler imports from the adaptor."""
    names = []
    for doc in operations(repo_dir, name, version):
        if IDENTIFIER.match(doc["name"]) and doc["name"] not in JS_RESERVED and doc["name"] not in names:
            names.append(doc["name"])
    return names


def globals_library(name: str, names: list[str]) -> str:
    """A declaration file that makes the adaptor's operations global in the editor, as they are in a job.

    Import aliases (rather than `const get: typeof adaptor.get`) keep each function's JSDoc, so the
    completion list and the hover show the adaptor's own documentation.
    """
    lines = [
        f"import * as __adaptor from {json.dumps(name)};",
        "declare global {",
        *(f"  export import {each} = __adaptor.{each};" for each in names),
        "  /** The job's state: `$.data.id` stands for `state => state.data.id`. */",
        "  const $: any;",
        "}",
        "export {};",
    ]
    return "\n".join(lines) + "\n"


def type_libraries(repo_dir: Path, name: str, version: str) -> dict:
    """{"libs": [{"path", "content"}], "globals": [names]} for the editor's JavaScript language service."""
    folder = installed_package_dir(repo_dir, name, version)
    if not (folder / "package.json").is_file():
        raise NotInstalled(f"{name}@{version} is not installed.")
    budget = [MAX_TYPES_BYTES]
    libs = _package_libs(folder, name, budget)
    if name != COMMON:
        # Adaptors re-export language-common's operations (fn, each, dataValue...) from their types.
        common = _dependency_dir(repo_dir, folder, COMMON)
        if common is not None:
            libs += _package_libs(common, COMMON, budget)
    names = global_names(repo_dir, name, version)
    libs.append({"path": "file:///kindling/adaptor-globals.d.ts", "content": globals_library(name, names)})
    return {"adaptor": name, "version": version, "libs": libs, "globals": names}
