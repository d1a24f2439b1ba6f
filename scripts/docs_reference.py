"""Reference pages written from the code (used by docs_hooks.py at every `mkdocs build`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

ENV_NAME = re.compile(r"^(EDM|MLFLOW|AWS|PROMETHEUS)_[A-Z0-9_]+$")
GENERATED = "*Generated from the code at build time ({source}); do not edit.*\n"


def _cli() -> Any:
    import typer

    from edm.cli.main import app

    command = typer.main.get_command(app)
    command.name = "edm"
    return command


# The click command tree Typer builds: reference/cli.md's mkdocs-click directive reads it.
cli = _cli()


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: Any) -> str:
    return f"`{_cell(text)}`" if text not in (None, "") else ""


# ---------------------------------------------------------------- commands


def _command_section(command: Any, path: str, parent: Any, level: int) -> list[str]:
    """One command as `edm COMMAND --help` shows it: usage, help, a row per parameter."""
    ctx = command.context_class(command, info_name=path.split()[-1], parent=parent)
    out = [f"{'#' * level} `{path}`", ""]
    if command.help:
        out += [command.help.strip(), ""]
    out += [
        "```text",
        command.get_usage(ctx).strip().removeprefix("Usage: "),
        "```",
        "",
    ]
    rows = [
        (param.param_type_name, record)
        for param in command.params
        if not getattr(param, "hidden", False) and (record := param.get_help_record(ctx))
    ]
    if rows:
        out += ["| argument or option | help |", "|---|---|"]
        for _kind, (opts, help_text) in rows:
            out.append(f"| `{_cell(opts)}` | {_cell(help_text)} |")
        out.append("")
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            out += _command_section(sub, f"{path} {name}", ctx, min(level + 1, 4))
    return out


def cli_page() -> str:
    return "\n".join(
        [
            "# Commands and options",
            "",
            GENERATED.format(
                source="the click command tree Typer builds for `edm`, "
                "`typer.main.get_command(edm.cli.main.app)`: the text of `edm COMMAND --help`"
            ),
            "Conventions every command follows (`--json`, errors, exit codes): "
            "[Command-line conventions](command-line.md).",
            "",
            *_command_section(cli, "edm", None, 2),
        ]
    )


# ---------------------------------------------------------------- HTTP API


def openapi_document() -> dict[str, Any]:
    """edm serve's OpenAPI document, as the service itself builds it (no server, no store).

    With a keys file named (it is not read to build the document), the protected routes
    carry their security schemes, as they do in a deployment with keys.
    """
    from edm.serving.app import create_app
    from edm.serving.config import ServeConfig

    return create_app(ServeConfig(api_keys_file="keys.txt")).openapi()


def _schema_name(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " or ".join(str(value) for value in schema["enum"])
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_schema_name(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_schema_name(schema.get('items', {}))}"
    return str(schema.get("type", schema.get("format", "any")))


def http_page(document: dict[str, Any]) -> str:
    info = document["info"]
    out = [
        "# HTTP API (`edm serve`)",
        "",
        GENERATED.format(source="`edm.serving.app.create_app(...).openapi()`"),
        f"{info['title']}, API version {info['version']}, OpenAPI {document['openapi']}. "
        "The same document is served at `/openapi.json` (and browsable at `/docs`) by a "
        "running service; here it is as a file: [openapi.json](openapi.json).",
        "",
        info.get("description", ""),
        "",
    ]
    schemes = document.get("components", {}).get("securitySchemes", {})
    if schemes:
        out += ["## Security schemes", "", "| name | kind | where |", "|---|---|---|"]
        for name, scheme in schemes.items():
            where = scheme.get("name") or scheme.get("scheme", "")
            out.append(f"| `{name}` | {scheme['type']} | {_code(where)} ({scheme.get('in', '')}) |")
        out += [
            "",
            "Routes that list them need a key only when the service runs with `--api-keys-file`.",
            "",
        ]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            out += [f"## `{method.upper()} {path}`", ""]
            if op.get("summary"):
                out += [f"**{_cell(op['summary'])}**", ""]
            if op.get("description"):
                out += [op["description"].strip(), ""]
            if op.get("security"):
                names = ", ".join(f"`{n}`" for item in op["security"] for n in item)
                out += [f"Needs a key ({names}) when keys are on.", ""]
            params = op.get("parameters", [])
            if params:
                out += [
                    "| parameter | in | type | required | description |",
                    "|---|---|---|---|---|",
                ]
                for p in params:
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {_schema_name(p.get('schema', {}))} "
                        f"| {'yes' if p.get('required') else 'no'} "
                        f"| {_cell(p.get('description', ''))} |"
                    )
                out.append("")
            body = op.get("requestBody")
            if body:
                kinds = ", ".join(f"`{k}`" for k in body.get("content", {}))
                out += [f"Request body: {kinds}. {_cell(body.get('description', ''))}", ""]
            out += ["| status | meaning |", "|---|---|"]
            for status, response in op.get("responses", {}).items():
                out.append(f"| {status} | {_cell(response.get('description', ''))} |")
            out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- settings


def _comment_before(lines: list[str], lineno: int) -> str:
    """The comment on a line (after the code) or in the lines just above it."""
    line = lines[lineno - 1]
    if "#" in line and not line.lstrip().startswith("#"):
        return line.split("#", 1)[1].strip()
    above = []
    i = lineno - 2
    while i >= 0 and lines[i].lstrip().startswith("#"):
        above.insert(0, lines[i].lstrip()[1:].strip())
        i -= 1
    return " ".join(above)


def _env_reads(package: Path) -> dict[str, list[tuple[str, str]]]:
    """Every environment variable named in edm's code: ENV_* constants and literal reads."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        summary = (ast.get_docstring(tree) or "").split("\n\n")[0]
        module = "edm." + ".".join(path.relative_to(package).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if any(t.startswith("ENV_") for t in targets):
                    name = node.value.value
            elif isinstance(node, ast.Call) and node.args:
                func = ast.unparse(node.func)
                arg = node.args[0]
                if func in ("os.environ.get", "os.getenv", "environ.get") and isinstance(
                    arg, ast.Constant
                ):
                    name = arg.value
            elif (
                isinstance(node, ast.Subscript)
                and ast.unparse(node.value) == "os.environ"
                and isinstance(node.slice, ast.Constant)
            ):
                name = node.slice.value
            if isinstance(name, str) and ENV_NAME.match(name):
                entry = (module, _comment_before(lines, node.lineno) or summary)
                found.setdefault(name, [])
                if entry[0] not in [m for m, _ in found[name]]:
                    found[name].append(entry)
    return found


def _cli_env_vars() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}

    def walk(command: Any, path: str) -> None:
        for param in command.params:
            envvars = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            for env in envvars:
                if env:
                    help_text = getattr(param, "help", None) or ""
                    names.setdefault(env, []).append(
                        f"`{path}` `{param.opts[0]}` ({help_text.strip()})"
                        if help_text
                        else f"`{path}` `{param.opts[0]}`"
                    )
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(cli, "edm")
    return names


def _fields_table(cls: Any, source: Path, title: str) -> list[str]:
    """A dataclass's or pydantic model's fields, defaults and the comments beside them."""
    import dataclasses

    lines = source.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    comments: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    comments[item.target.id] = _comment_before(lines, item.lineno)
    if dataclasses.is_dataclass(cls):
        fields = [(f.name, f.default) for f in dataclasses.fields(cls)]
    else:
        fields = [(n, f.default) for n, f in cls.model_fields.items()]
    out = [title, "", "| field | default | notes |", "|---|---|---|"]
    for name, default in fields:
        shown = "" if default is dataclasses.MISSING else repr(default)
        out.append(f"| `{name}` | {_code(shown)} | {_cell(comments.get(name, ''))} |")
    return [*out, ""]


def settings_page(package: Path) -> str:
    import edm.settings as settings
    from edm.serving.config import ServeConfig
    from edm.training.config import TrainingConfig

    reads = _env_reads(package)
    cli_vars = _cli_env_vars()
    out = [
        "# Environment variables and settings",
        "",
        GENERATED.format(
            source="the `ENV_*` constants and environment reads under `src/edm`, "
            "the command options' `envvar`, `edm.settings`, `ServeConfig`, `TrainingConfig`"
        ),
        "## Environment variables edm reads",
        "",
        "Names starting `EDM_TEST_` are hooks for the crash tests, not settings.",
        "",
        "| variable | read by | the comment where it is read, else the reading module's summary |",
        "|---|---|---|",
    ]
    for name in sorted(set(reads) | set(cli_vars)):
        where = [f"`{m}`" for m, _ in reads.get(name, [])] + cli_vars.get(name, [])
        notes = "; ".join(c for _, c in reads.get(name, []) if c)
        out.append(f"| `{name}` | {', '.join(where)} | {_cell(notes)} |")
    out += [
        "",
        "## MLflow settings edm sets for its own process",
        "",
        "`edm` (and `edm serve`'s workers) set these unless the environment already does "
        "(`edm.settings.mlflow_environment_defaults`): a value you set wins.",
        "",
        "| variable | edm's value |",
        "|---|---|",
    ]
    for name, value in settings.mlflow_environment_defaults().items():
        out.append(f"| `{name}` | `{value}` |")
    out += ["", "## `edm.settings`", "", (settings.__doc__ or "").strip(), ""]
    out += ["| name | value |", "|---|---|"]
    for name in dir(settings):
        value = getattr(settings, name)
        if name.isupper() and isinstance(value, str | int | float):
            out.append(f"| `{name}` | `{value}` |")
    out.append("")
    out += _fields_table(
        ServeConfig,
        package / "serving" / "config.py",
        "## `edm serve` (`edm.serving.config.ServeConfig`)\n\nEach field is an `edm serve` "
        "option of the same name (see the [command reference](cli.md)).",
    )
    out += _fields_table(
        TrainingConfig,
        package / "training" / "config.py",
        "## `edm train` (`edm.training.TrainingConfig`)",
    )
    return "\n".join(out)
