"""The project's shape where a newcomer meets it (issue 18): the command line is a package with one module per
command group under a thin parser, the configuration and checkpoint-loading modules do not import each other (the
JSON helpers live in storage.py), and `make lint` installs what it runs."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

from mintformers.cli import COMMAND_GROUPS

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "src" / "mintformers" / "cli"


def test_the_cli_is_one_module_per_command_group_under_a_thin_parser():
    parser_lines = len((CLI / "__init__.py").read_text(encoding="utf-8").splitlines())
    assert parser_lines < 150, "cli/__init__.py should only build the parser and run a command"
    for group in COMMAND_GROUPS:
        assert callable(importlib.import_module(f"mintformers.cli.{group}").register), group
    for module in CLI.glob("*.py"):
        assert len(module.read_text(encoding="utf-8").splitlines()) <= 800, module.name


def test_parsing_the_command_line_and_config_loading_import_no_circle():
    """`mintformers --help` stays instant (no torch), and config.py and loading.py stand apart."""
    code = (
        "import sys\n"
        "import mintformers.cli as cli; cli.build_parser()\n"
        "assert 'torch' not in sys.modules, 'building the parser imported torch'\n"
        "import mintformers.config\n"
        "assert 'mintformers.loading' not in sys.modules, 'config imports loading'\n"
        "for name in [m for m in sys.modules if m.startswith('mintformers.')]: del sys.modules[name]\n"
        "import mintformers.loading\n"
        "assert 'mintformers.config' not in sys.modules, 'loading imports config'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_make_lint_installs_the_linter_it_runs():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint = re.search(r"^lint: (.+)\n\t(.+)$", makefile, re.M)
    assert lint and "ruff" in lint[2], "make lint runs ruff"
    install = re.search(rf"^{re.escape(lint[1].strip())}:.*?\n((?:\t.*\n)+)", makefile, re.M)
    extras = re.search(r'-e "\.\[([\w,]+)\]"', install[1])
    assert extras and "dev" in extras[1].split(","), "the lint target's install step must install the dev extra"
    dev = re.search(r"^dev = \[(.*?)\]", (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M | re.S)
    assert dev and '"ruff' in dev[1], "the dev extra holds ruff"  # (tomllib is Python 3.11+; we support 3.10)
