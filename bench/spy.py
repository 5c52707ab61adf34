"""py-spy profiles of running services, summed up in a few readable lines.

`record` samples a process for a while (py-spy, `--nonblocking` so the process is never
paused) into py-spy's raw format: one line per distinct stack, `frame;frame;... count`.
`summarise` reads that back into two views of where the process spends its time:

- by area: each sample goes to the package of its innermost Python frame (work in a C
  extension, asyncpg's protocol or orjson say, goes to the Python frame that called it);
  the event loop's own frames (uvloop waiting or running callbacks) are their own area;
- by function: each sample goes to the innermost of the project's own functions on its
  stack, so a function's share is its own code plus the library calls it makes directly
  (`payloads._staged` holds the orjson encoding it calls, not the functions calling it).
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"
_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>.*?)(?::\d+)?\)$")
# The service's own entry points, which every sample passes through: no information.
_ENTRY_FILES = ("__main__.py", "service_main.py")
_LOOP_FILES = ("asyncio/", "uvloop/", "uvicorn/")


def available() -> bool:
    return PY_SPY.exists()


def record(pid: int, seconds: float, output: Path, *, rate: int = 100) -> subprocess.Popen[bytes]:
    """Start py-spy on `pid` for `seconds`; wait on the returned process for the file."""
    command = [str(PY_SPY), "record", "--pid", str(pid), "--nonblocking", "-f", "raw"]
    command += ["-r", str(rate), "-d", str(max(1, round(seconds))), "-o", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass(frozen=True)
class Frame:
    function: str
    file: str

    @property
    def area(self) -> str:
        if self.file.startswith(_LOOP_FILES):
            return "event loop"
        if self.file.startswith("<"):
            return self.file.strip("<>").split()[0]
        return self.file.split("/", 1)[0].removesuffix(".py")


def _frame(text: str) -> Frame:
    match = _FRAME.match(text)
    if match is None:
        return Frame(text, "?")
    return Frame(match["function"], match["file"])


@dataclass(frozen=True)
class Profile:
    samples: int
    by_area: list[tuple[str, float]]
    by_function: list[tuple[str, float]]

    def lines(self, name: str, *, areas: int = 7, functions: int = 8) -> list[str]:
        if not self.samples:
            return [f"- **{name}**: no samples"]
        area_text = ", ".join(f"{area} {share:.0%}" for area, share in self.by_area[:areas])
        function_text = ", ".join(
            f"`{function}` {share:.0%}" for function, share in self.by_function[:functions]
        )
        return [
            f"- **{name}** ({self.samples:,} samples), by area: {area_text}.",
            f"  By the innermost own function: {function_text}.",
        ]


def summarise(raw: Path, *, own_prefix: str = "riskwatch_") -> Profile:
    """Shares of all samples, by area and by the project's own functions (see the module)."""
    areas: collections.Counter[str] = collections.Counter()
    functions: collections.Counter[str] = collections.Counter()
    total = 0
    text = raw.read_text(errors="replace") if raw.exists() else ""
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        count = int(match[2])
        frames = [_frame(part) for part in match[1].split(";")]
        total += count
        areas[frames[-1].area] += count
        own = [frame for frame in frames if frame.file.startswith(own_prefix)]
        if own and not own[-1].file.endswith(_ENTRY_FILES):
            innermost = own[-1]
            module = innermost.file.removeprefix(own_prefix).removesuffix(".py")
            functions[f"{module.replace('/', '.')}.{innermost.function}"] += count
    if not total:
        return Profile(0, [], [])
    return Profile(
        total,
        [(area, count / total) for area, count in areas.most_common()],
        [(function, count / total) for function, count in functions.most_common()],
    )
