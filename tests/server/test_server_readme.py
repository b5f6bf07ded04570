"""The README's serving section, executed: each `mintformers serve` example becomes a live server (hub ids become
tiny local stand-ins with the same head), each `curl` line runs against it (the real curl), each ```py block runs
with the real clients. Outputs must have the README's shape (numbers may differ), unless the block is marked
illustrative. (tests/test_cli.py runs the `mintformers serve` lines themselves; it leaves ```py blocks to this test,
as they need a running server.)"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from server_helpers import required, task_pipeline

README = Path(__file__).resolve().parents[2] / "README.md"
STAND_INS = {"cross-encoder/ms-marco-MiniLM-L6-v2": "rerank", "mosaicml/mpt-7b": "generate"}


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Serving")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def blocks() -> list[tuple[str, str, bool]]:
    """(language, body, illustrative) of each fenced block of the serving section, in order."""
    return [(m["lang"], m["body"], "illustrative" in m["before"])
            for m in re.finditer(r"(?P<before>[^\n]*)\n```(?P<lang>\w+)\n(?P<body>.*?)\n```", section(), re.S)]


def skeleton(line: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", line)).strip()


def commands(body: str) -> list[tuple[str, list[str]]]:
    """($ command, the lines it printed) of a console block."""
    out: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def test_the_serving_section_runs(module_servers, minilm, models, capsys):
    if shutil.which("curl") is None:
        required("curl", "sh tools/install_test_packages.sh (make test runs it)")
    found = blocks()
    assert sum(lang == "py" for lang, _, _ in found) >= 2 and sum(lang == "console" for lang, _, _ in found) >= 3
    address = None
    curls = 0
    for lang, body, illustrative in found:
        if lang == "console":
            for command, printed in commands(body):
                argv = shlex.split(command)
                if argv[:2] == ["mintformers", "serve"]:
                    task = argv[2] if len(argv) > 2 and not argv[2].startswith("-") else "embed"
                    model = argv[argv.index("--model") + 1] if "--model" in argv else None
                    if task == "embed":
                        assert model is None
                        url = module_servers.start("embed", minilm, name="all-MiniLM-L6-v2")
                    else:
                        url = module_servers.start(task, task_pipeline(models, STAND_INS[model]))
                    address = url.removeprefix("http://")
                    continue
                assert argv[0] == "curl" and address is not None, command
                curls += 1
                run = subprocess.run(["sh", "-c", command.replace("localhost:8000", address)], capture_output=True,
                                     text=True, timeout=60)
                assert run.returncode == 0, (command, run.stderr)
                lines = [line for line in run.stdout.splitlines() if line.strip()]
                assert lines and "error" not in run.stdout, (command, run.stdout)
                for line in lines:  # every answer is JSON, or server-sent events of JSON
                    json.loads(line.removeprefix("data: "))
                if not illustrative:
                    got = {skeleton(line) for line in lines}
                    for want in printed:
                        if "…" not in want:
                            assert skeleton(want) in got, (command, want, run.stdout[:300])
        elif lang == "py":
            assert address is not None
            code = body.replace("localhost:8000", address)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
            comments = [m.group(1) for m in re.finditer(r"print\(.*\)\s+# (.*)", body)]
            assert [skeleton(c) for c in comments] == [skeleton(line) for line in printed.getvalue().splitlines()][: len(comments)]
            assert printed.getvalue().strip()
    assert curls >= 4
