"""The README's examples are run: its Python session, its first screen, and every command it shows.

The Python session is a doctest (printed values included). The quoted first screen of
``python run.py run`` is compared with a fresh run of the default scenario. Every
``python run.py ...`` line of a shell block is parsed by the command's own parser and its
files must exist; those cheap enough (stress, focus, shrunk sweeps) are run, shortened.
"""

from __future__ import annotations

import doctest
import re
import shlex
from pathlib import Path

import pytest

from sim.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == kind]


def commands() -> list[list[str]]:
    """Every ``python run.py`` command of the shell blocks (continuation lines joined), without usage lines."""
    out = []
    for body in blocks("bash"):
        text = body.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("python run.py") and "[" not in line and "..." not in line:
                out.append(shlex.split(line)[2:])
    return out


def test_python_session_prints_what_it_says():
    session = "\n".join(b for b in blocks("python") if ">>>" in b)
    test = doctest.DocTestParser().get_doctest(session, {}, "README.md", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 5


def test_first_screen_is_what_the_default_run_prints(tmp_path, capsys):
    m = re.search(r"<!-- readme-run: python run.py run -->\n```text\n(.*?)```", README, re.S)
    assert m, "README lacks the quoted first screen of `python run.py run`"
    quoted = m.group(1).rstrip("\n").splitlines()
    assert main(["run", "--out", str(tmp_path / "res"), "--no-plots"]) == 0
    printed = capsys.readouterr().out.splitlines()[: len(quoted)]
    assert quoted[0].startswith("results: results/project_vault-") and printed[0].startswith("results: ")
    assert printed[1:] == quoted[1:]


def test_no_link_leaves_the_repository():
    assert "../shared" not in README
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if target.startswith(("http://", "https://")):
            continue
        path = (ROOT / target).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), target


def test_brace_patterns_are_quoted():
    for cmd in re.findall(r"--set (\S+)", README):
        if "{" in cmd:
            assert cmd.startswith("'"), cmd


def _parse(argv: list[str]) -> None:
    import importlib

    delegated = {"sweep": "sim.batch.command", "compare": "sim.compare.command", "discover": "sim.batch.discover"}
    if argv[0] in delegated:
        importlib.import_module(delegated[argv[0]]).build_parser().parse_args(argv[1:])
    else:
        build_parser().parse_args(argv)


@pytest.mark.parametrize("argv", commands(), ids=lambda a: " ".join(a)[:60])
def test_every_command_parses_and_names_files_that_exist(argv):
    _parse(argv)
    for arg in argv:
        if arg.endswith((".yaml", ".yml")):
            assert (ROOT / arg).is_file(), arg


CHEAP = ("stress", "--focus", "--combos")


@pytest.mark.parametrize("argv", [a for a in commands() if any(c in a for c in CHEAP)], ids=lambda a: " ".join(a))
def test_cheap_commands_run(argv, tmp_path):
    argv = [*argv, "--out", str(tmp_path / "out")]
    if argv[0] == "sweep":
        argv += ["--workers", "1", "--no-plots", "--quiet"]
    else:
        argv = [a for a in argv if a != "20"] if "--replications" in argv else argv
        argv = [a for a in argv if a != "--replications"] + ["--set", "run.horizon_years=1", "--no-plots"]
    assert main(argv) == 0
