"""The documentation names only real commands and options, and its reference lists them all.

The command reference (docs/reference/cli.md) is written at build time from the click tree
Typer builds (scripts/docs_reference.py); every `edm ...` line in a code block of the README
or of a page under docs/ is parsed against that same tree, so a renamed command or option
fails here before a reader finds it.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import click
import pytest
import typer

from edm.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
SHELL_BREAKS = {"|", "||", "&&", ";", ">", ">>", "<", "2>&1", "&"}


def _tree() -> click.Command:
    command = typer.main.get_command(app)
    command.name = "edm"
    return command


def _commands(command: click.Command, path: str = "edm") -> list[str]:
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _commands(sub, f"{path} {name}")
    return found


def _rendered_reference() -> str:
    """docs/reference/cli.md as the docs build writes it (scripts/docs_reference.py)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import docs_reference

        return docs_reference.cli_page()
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def test_every_command_is_in_the_reference() -> None:
    reference = _rendered_reference()
    headings = {
        line.lstrip("#").strip().strip("`")
        for line in reference.splitlines()
        if line.startswith("#")
    }
    missing = [path for path in _commands(_tree()) if path not in headings]
    assert not missing, f"commands missing from docs/reference/cli.md: {missing}"
    # and their options: each one's long name appears in the rendering
    for path in _commands(_tree()):
        command = _tree()
        for name in path.split()[1:]:
            command = command.commands[name]  # type: ignore[attr-defined]
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden:
                assert any(opt in reference for opt in param.opts), (path, param.opts)


def _doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def edm_lines(text: str) -> list[str]:
    """Each `edm ...` command in the text's code blocks (continuation lines joined)."""
    found = []
    for block in FENCE.findall(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split(" # ")[0].split("  #")[0].strip()
            try:
                tokens = shlex.split(line.replace("[", " ").replace("]", " "), comments=True)
            except ValueError:
                tokens = line.replace("[", " ").replace("]", " ").split()
            segment: list[str] = []
            split = []
            for token in tokens:  # "a;" ends a command as "a ;" does
                split += [token[:-1], ";"] if token.endswith(";") and token != ";" else [token]
            for token in [*split, "|"]:
                if token in SHELL_BREAKS:
                    starts = [i for i, t in enumerate(segment) if t == "edm"]
                    if starts and all("=" in t for t in segment[: starts[0]]):
                        found.append(" ".join(segment[starts[0] :]))
                    segment = []
                else:
                    segment.append(token)
    return found


def check_line(tree: click.Command, line: str) -> str | None:
    """None when the line names a real command with real options, else what is wrong."""
    tokens = line.split()[1:]
    command = tree
    while True:
        options = {opt: p for p in command.params for opt in [*p.opts, *p.secondary_opts]}
        while tokens and tokens[0].startswith("-") and tokens[0] not in ("-", "--"):
            raw = tokens.pop(0)
            name = raw.split("=", 1)[0]
            if name not in options:
                return f"{' '.join(line.split()[:3])}: no option {name}"
            param = options[name]
            takes_value = not (param.is_flag or param.count)
            if param.param_type_name == "option" and takes_value and "=" not in raw and tokens:
                tokens.pop(0)
        subcommands = getattr(command, "commands", None)
        if not subcommands:
            break
        if not tokens:
            return None  # a group alone: its help
        name = tokens.pop(0)
        if name not in subcommands:
            return f"no command {name!r} in {line!r}"
        command = subcommands[name]
    options = {opt: p for p in command.params for opt in [*p.opts, *p.secondary_opts]}
    for token in tokens:
        if token.startswith("--") or re.fullmatch(r"-[a-zA-Z]", token):
            name = token.split("=", 1)[0]
            if name not in options:
                return f"{line!r}: no option {name}"
    return None


@pytest.mark.parametrize("path", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_edm_line_in_the_docs_is_a_real_command(path: Path) -> None:
    tree = _tree()
    problems = [
        problem
        for line in edm_lines(path.read_text(encoding="utf-8"))
        if (problem := check_line(tree, line))
    ]
    assert not problems, "\n".join(problems)


def test_the_checker_catches_what_is_wrong() -> None:
    tree = _tree()
    assert check_line(tree, "edm models promote 3 Production --reason x --force") is None
    assert check_line(tree, "edm --tracking-uri ./s models list --json") is None
    assert "no command" in (check_line(tree, "edm models promot 3 Production") or "")
    assert "no option --reasons" in (check_line(tree, "edm models rollback --reasons x") or "")
    assert "no option --nope" in (check_line(tree, "edm --nope models list") or "")
    text = (
        "```bash\nFOO=1 edm analyze a.wav \\\n  --plot | head  # x\n"
        "echo y | edm api-key k --stdin; edm ui\n```"
    )
    assert edm_lines(text) == ["edm analyze a.wav --plot", "edm api-key k --stdin", "edm ui"]
