"""What a benchmark run found: the results of each part, the targets they are
held against, and the tables :mod:`benchmarks.run` prints and
:mod:`benchmarks.docs` writes into ``docs/benchmarks.rst``."""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import typing as t
from importlib import metadata

from benchmarks import contenders as c
from benchmarks import scenarios as sc
from benchmarks.wsgicall import median

#: The contender every other one is compared with.
BASELINE: t.Final = "jsonify"
OURS: t.Final = "apierrors"

#: Targets: at most this times the hand-written handler, per scenario ...
TARGET_VS_HANDWRITTEN: t.Final = 1.10
#: ... and at most this times the same app without ApiErrors on success.
TARGET_SUCCESS_OVERHEAD: t.Final = 1.03
#: Growth of traced memory allowed over the memory run.
TARGET_MEMORY_GROWTH: t.Final = 256 * 1024
#: Requests per second of an error path through gunicorn, at least this
#: share of the success path's.
TARGET_SERVED_SHARE: t.Final = 0.95


@dataclasses.dataclass
class ScenarioResult:
    """Per-contender median microseconds, and median per-round ratios."""

    scenario: sc.Scenario
    statuses: dict[str, int]
    micros: dict[str, float]
    ratios: dict[str, float]
    #: Seconds per request of every contender in every round.
    rounds: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def ratio(self, name: str, other: str) -> float:
        """Median over the rounds of ``name``'s time over ``other``'s."""
        return median(a / b for a, b in zip(self.rounds[name], self.rounds[other], strict=True))


@dataclasses.dataclass
class Overhead:
    """Success path with and without ``ApiErrors``."""

    bare_us: float
    installed_us: float
    ratio: float
    rounds: int


@dataclasses.dataclass
class ScalingRow:
    items: int
    cap: int
    load_ms: float
    handling_ms: float
    reported: int
    total: int
    body_bytes: int


@dataclasses.dataclass
class MemoryResult:
    requests: int
    baseline_kib: float
    final_kib: float
    growth_kib: float
    peak_kib: float


@dataclasses.dataclass
class ServedRow:
    label: str
    path: str
    storage: str
    status: int
    rps: float


def versions() -> dict[str, str]:
    names = [
        "flask-apierrors",
        "Flask",
        "Werkzeug",
        "marshmallow",
        "Flask-Limiter",
        "APIFlask",
        "flask-smorest",
        "webargs",
        "gunicorn",
    ]
    rv = {"Python": platform.python_version()}
    for name in names:
        try:
            rv[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            rv[name] = "not installed"
    return rv


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        one, five, fifteen = os.getloadavg()
        load_avg = f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    except OSError:
        load_avg = "load average unknown"
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, {load_avg}"


def table(header: t.Sequence[str], rows: t.Sequence[t.Sequence[str]]) -> str:
    """A reST simple table (also readable in a terminal)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)

    def line(cells: t.Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([rule, line(header), rule, *(line(r) for r in rows), rule])


@dataclasses.dataclass
class Report:
    names: list[str]
    rounds: int
    scenarios: list[ScenarioResult]
    overhead: Overhead | None = None
    scaling: list[ScalingRow] | str | None = None
    memory: MemoryResult | None = None
    served: list[ServedRow] | None = None
    served_tool: str = ""
    date: str = dataclasses.field(
        default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        )
    )
    machine: str = dataclasses.field(default_factory=machine)
    versions: dict[str, str] = dataclasses.field(default_factory=versions)

    def scenario_table(self) -> str:
        header = ["scenario", *(c.CONTENDERS[n][0] for n in self.names)]
        rows = []
        for res in self.scenarios:
            cells = [res.scenario.label]
            for name in self.names:
                if name in res.micros:
                    cells.append(
                        f"{res.micros[name]:.1f} us ({res.ratios[name]:.2f}x) {res.statuses[name]}"
                    )
                else:
                    cells.append(f"n/a ({res.statuses[name]})")
            rows.append(cells)
        return table(header, rows)

    def verdicts(self) -> list[tuple[str, bool, str]]:
        """(target, met, figure) for every target."""
        rv: list[tuple[str, bool, str]] = []
        for res in self.scenarios:
            if res.scenario.status_class == 2:
                continue
            if OURS not in res.ratios:
                rv.append((f"{res.scenario.label}: handled", False, "not handled yet"))
                continue
            ours = res.ratios[OURS]
            rv.append(
                (
                    f"{res.scenario.label}: <= {TARGET_VS_HANDWRITTEN:.2f}x hand-written",
                    ours <= TARGET_VS_HANDWRITTEN,
                    f"{ours:.2f}x",
                )
            )
            for other in ("apiflask", "smorest"):
                if other in res.micros:
                    ratio = res.ratio(OURS, other)
                    rv.append(
                        (
                            f"{res.scenario.label}: faster than {c.CONTENDERS[other][0]}",
                            ratio < 1.0,
                            f"{ratio:.2f}x its time",
                        )
                    )
        if self.overhead is not None:
            rv.append(
                (
                    f"success path with ApiErrors <= {TARGET_SUCCESS_OVERHEAD:.2f}x without",
                    self.overhead.ratio <= TARGET_SUCCESS_OVERHEAD,
                    f"{self.overhead.ratio:.3f}x",
                )
            )
        for row in self.served or ():
            success = next(r for r in self.served or () if r.label == "success")
            if row is success or row.storage != "memory":
                continue
            share = row.rps / success.rps
            rv.append(
                (
                    f"through gunicorn, {row.label}: requests/s within"
                    f" {1 - TARGET_SERVED_SHARE:.0%} of the success path's",
                    share >= TARGET_SERVED_SHARE,
                    f"{share:.0%} of it",
                )
            )
        if self.memory is not None:
            rv.append(
                (
                    f"memory growth over {self.memory.requests:,} error responses"
                    f" < {TARGET_MEMORY_GROWTH // 1024} KiB",
                    self.memory.growth_kib * 1024 < TARGET_MEMORY_GROWTH,
                    f"{self.memory.growth_kib:.1f} KiB",
                )
            )
        return rv

    def text(self) -> str:
        parts = [
            f"date: {self.date}",
            f"machine: {self.machine}",
            "versions: " + ", ".join(f"{k} {v}" for k, v in self.versions.items()),
            f"rounds: {self.rounds}",
            "",
            "Error path in-process: median us per request (median per-round ratio"
            " to the hand-written handler) status",
            self.scenario_table(),
        ]
        if self.overhead is not None:
            o = self.overhead
            parts += [
                "",
                f"Success path: without ApiErrors {o.bare_us:.1f} us, with {o.installed_us:.1f} us,"
                f" ratio {o.ratio:.3f}x (median of {o.rounds} rounds)",
            ]
        if isinstance(self.scaling, str):
            parts += ["", f"Invalid-list scaling: skipped ({self.scaling})"]
        elif self.scaling:
            parts += ["", "Invalid-list scaling:", self.scaling_table()]
        if self.memory is not None:
            m = self.memory
            parts += [
                "",
                f"Memory over {m.requests:,} error responses: {m.baseline_kib:.0f} KiB ->"
                f" {m.final_kib:.0f} KiB (growth {m.growth_kib:.1f} KiB,"
                f" peak {m.peak_kib:.0f} KiB)",
            ]
        if self.served:
            parts += ["", f"Through gunicorn ({self.served_tool}):", self.served_table()]
        parts += ["", "Targets:"]
        parts += [
            f"  [{'met' if met else 'MISSED'}] {what}: {figure}"
            for what, met, figure in self.verdicts()
        ]
        return "\n".join(parts)

    def scaling_table(self) -> str:
        assert isinstance(self.scaling, list)
        return table(
            [
                "invalid items",
                "cap",
                "marshmallow load (ms)",
                "flask-apierrors (ms)",
                "errors reported",
                "errors counted",
                "body bytes",
            ],
            [
                [
                    f"{row.items:,}",
                    f"{row.cap:,}",
                    f"{row.load_ms:.2f}",
                    f"{row.handling_ms:.2f}",
                    f"{row.reported:,}",
                    f"{row.total:,}",
                    f"{row.body_bytes:,}",
                ]
                for row in self.scaling
            ],
        )

    def served_table(self) -> str:
        assert self.served is not None
        return table(
            ["path", "route", "limiter storage", "status", "requests/s"],
            [
                [row.label, row.path, row.storage, str(row.status), f"{row.rps:,.0f}"]
                for row in self.served
            ],
        )
