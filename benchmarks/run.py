"""Benchmark the error path of flask-apierrors against the alternatives.

Run from the repository root::

    python -m benchmarks.run                 # everything, print the tables
    python -m benchmarks.run --quick         # fewer rounds, smaller runs
    python -m benchmarks.run --no-gunicorn   # in-process parts only
    python -m benchmarks.run --write-docs    # ... and regenerate docs/benchmarks.rst

In-process parts call each WSGI app directly with a prepared environ and
consume the response, so nothing but the app is measured. Contenders run in
interleaved rounds (A B C D E, then B C D E A ...), and each figure is the
median over rounds of the per-round value, so a burst of noise from other
processes hits every contender alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import io
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
import typing as t
from importlib import metadata
from pathlib import Path

from werkzeug.test import EnvironBuilder

from benchmarks import contenders as c

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

REPO_ROOT: t.Final = Path(__file__).resolve().parents[1]
DOCS_PAGE: t.Final = REPO_ROOT / "docs" / "benchmarks.rst"

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


# -- calling a WSGI app ----------------------------------------------------------


@dataclasses.dataclass
class Prepared:
    """A request ready to be sent many times: the environ without its body
    stream (a fresh one is made per call), and the body."""

    environ: dict[str, t.Any]
    body: bytes


def prepare(scenario: c.Scenario) -> Prepared:
    """The environ of ``scenario``, built once."""
    builder = EnvironBuilder(
        path=scenario.path,
        method=scenario.method,
        data=scenario.body,
        content_type=scenario.content_type,
        base_url="http://127.0.0.1:8000",
    )
    try:
        environ = dict(builder.get_environ())
    finally:
        builder.close()
    environ.pop("wsgi.input", None)
    return Prepared(environ, scenario.body)


def _start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Callable[..., t.Any]:
    return _write


def _write(data: bytes) -> None:
    return None


def call(app: WSGIApplication, prepared: Prepared) -> None:
    """One request: a fresh environ and body stream, the response consumed
    and closed, as a WSGI server would."""
    environ: WSGIEnvironment = prepared.environ.copy()
    environ["wsgi.input"] = io.BytesIO(prepared.body)
    iterable = app(environ, _start_response)
    try:
        for _chunk in iterable:
            pass
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()


def probe(app: WSGIApplication, prepared: Prepared) -> tuple[int, str, bytes]:
    """Status, content type and body of one request (to check the setup)."""
    seen: dict[str, t.Any] = {}

    def start_response(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Any:
        seen["status"] = int(status.split()[0])
        seen["type"] = dict(headers).get("Content-Type", "")
        return _write

    environ: WSGIEnvironment = prepared.environ.copy()
    environ["wsgi.input"] = io.BytesIO(prepared.body)
    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return seen["status"], seen["type"], body


def timed_batch(app: WSGIApplication, prepared: Prepared, n: int) -> float:
    """Seconds per request over ``n`` requests (garbage collection off while
    timing, as :mod:`timeit` does; collected before)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            call(app, prepared)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed / n


def calibrate(app: WSGIApplication, prepared: Prepared, target: float) -> int:
    """Requests per batch so a batch takes about ``target`` seconds."""
    per = timed_batch(app, prepared, 50)
    return max(20, int(target / per))


def median(values: t.Iterable[float]) -> float:
    return float(statistics.median(list(values)))


# -- part 1: scenarios x contenders ----------------------------------------------


@dataclasses.dataclass
class ScenarioResult:
    """Per-contender median microseconds, and median per-round ratios."""

    scenario: c.Scenario
    statuses: dict[str, int]
    micros: dict[str, float]
    ratios: dict[str, float]
    #: Seconds per request of every contender in every round.
    rounds: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def ratio(self, name: str, other: str) -> float:
        """Median over the rounds of ``name``'s time over ``other``'s."""
        return median(a / b for a, b in zip(self.rounds[name], self.rounds[other], strict=True))


def build_contenders(names: t.Sequence[str]) -> dict[str, WSGIApplication]:
    return {name: c.CONTENDERS[name][1]() for name in names}


def check_setup(
    apps: t.Mapping[str, WSGIApplication], scenario: c.Scenario
) -> tuple[dict[str, int], dict[str, str]]:
    """Send ``scenario`` to each app (twice: the first request uses up the
    rate limit). Returns the statuses, and the contenders left out of this
    scenario because they do not answer it as expected (a broken contender
    would make the numbers lie), with the reason."""
    prepared = prepare(scenario)
    statuses: dict[str, int] = {}
    left_out: dict[str, str] = {}
    for name, app in apps.items():
        call(app, prepared)
        status, ctype, body = probe(app, prepared)
        statuses[name] = status
        if status // 100 != scenario.status_class:
            left_out[name] = f"answers {status}: {body[:200]!r}"
        elif name != "flask" and "json" not in ctype:
            left_out[name] = f"answers {ctype}: {body[:200]!r}"
    return statuses, left_out


def run_scenarios(
    names: t.Sequence[str],
    scenarios: t.Sequence[c.Scenario],
    rounds: int,
    batch_seconds: float,
    log: t.Callable[[str], None],
) -> list[ScenarioResult]:
    """Every scenario against every contender in interleaved rounds."""
    apps = build_contenders(names)
    results: list[ScenarioResult] = []
    for scenario in scenarios:
        statuses, left_out = check_setup(apps, scenario)
        for name, reason in left_out.items():
            log(f"  {scenario.name}: {name} left out, it {reason}")
        if BASELINE in left_out:
            raise SystemExit(f"the baseline does not answer {scenario.name} as expected")
        running = [name for name in names if name not in left_out]
        prepared = prepare(scenario)
        for name in running:  # warm up: imports, caches, limiter storage
            timed_batch(apps[name], prepared, 200)
        n = calibrate(apps[BASELINE], prepared, batch_seconds)
        per_round: dict[str, list[float]] = {name: [] for name in running}
        ratios: dict[str, list[float]] = {name: [] for name in running}
        for r in range(rounds):
            shift = r % len(running)
            order = running[shift:] + running[:shift]
            this_round = {name: timed_batch(apps[name], prepared, n) for name in order}
            for name in running:
                per_round[name].append(this_round[name])
                ratios[name].append(this_round[name] / this_round[BASELINE])
        result = ScenarioResult(
            scenario,
            statuses,
            {name: median(per_round[name]) * 1e6 for name in running},
            {name: median(ratios[name]) for name in running},
            per_round,
        )
        log(
            f"  {scenario.label:<28} "
            + " ".join(f"{name}={result.micros[name]:.1f}us" for name in running)
        )
        results.append(result)
    return results


@dataclasses.dataclass
class Overhead:
    """Success path with and without ``ApiErrors``."""

    bare_us: float
    installed_us: float
    ratio: float
    rounds: int


def run_success_overhead(rounds: int, batch_seconds: float) -> Overhead:
    """The same app with and without ``ApiErrors`` on its success route."""
    bare = c.make_apierrors(install=False, features=False)
    installed = c.make_apierrors(install=True, features=False)
    prepared = prepare(next(s for s in c.SCENARIOS if s.name == "success"))
    for app in (bare, installed):
        if probe(app, prepared)[0] != 200:
            raise SystemExit("the success route did not answer 200")
        timed_batch(app, prepared, 500)
    n = calibrate(bare, prepared, batch_seconds)
    bare_times: list[float] = []
    installed_times: list[float] = []
    ratios: list[float] = []
    for r in range(rounds):
        pair = [("bare", bare), ("installed", installed)]
        if r % 2:
            pair.reverse()
        got = {name: timed_batch(app, prepared, n) for name, app in pair}
        bare_times.append(got["bare"])
        installed_times.append(got["installed"])
        ratios.append(got["installed"] / got["bare"])
    return Overhead(median(bare_times) * 1e6, median(installed_times) * 1e6, median(ratios), rounds)


# -- part 2: a 10,000-item invalid list ------------------------------------------


@dataclasses.dataclass
class ScalingRow:
    items: int
    cap: int
    load_ms: float
    handling_ms: float
    reported: int
    total: int
    body_bytes: int


#: (invalid items, APIERRORS_MAX_VALIDATION_ERRORS) of the scaling part.
SCALING_CASES: t.Final = ((100, 100), (1_000, 100), (10_000, 100), (10_000, 10), (10_000, 1_000))


def run_scaling(cases: t.Sequence[tuple[int, int]], repeats: int) -> list[ScalingRow] | str:
    """Time flask-apierrors' own work (ValidationError -> Problem -> response)
    for lists of ``n`` invalid items with a cap of ``cap`` reported errors,
    separately from marshmallow's load (which is linear in the payload
    whatever renders the error)."""
    import marshmallow as ma
    from flask import Flask

    from flask_apierrors import ApiErrors

    class Entry(ma.Schema):
        sku = ma.fields.String(required=True, validate=ma.validate.Length(min=3))
        quantity = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 100))

    class Order(ma.Schema):
        customer = ma.fields.String(required=True)
        entries = ma.fields.List(ma.fields.Nested(Entry), required=True)

    rows: list[ScalingRow] = []
    for n, cap in cases:
        app = Flask("bench_scaling")
        ext = ApiErrors(app, max_validation_errors=cap)
        payload = {"customer": "c1", "entries": [{"sku": "x", "quantity": 0}] * n}
        load_times: list[float] = []
        handle_times: list[float] = []
        reported = total = body_bytes = 0
        for _ in range(repeats):
            start = time.perf_counter()
            try:
                Order().load(payload)
            except ma.ValidationError as err:
                error = err
            else:  # pragma: no cover - the payload is invalid
                raise SystemExit("the scaling payload validated")
            load_times.append(time.perf_counter() - start)
            with app.test_request_context("/orders", method="POST", json={}):
                start = time.perf_counter()
                problem = ext.problem_for(error)
                response = ext.make_response(problem)
                body = response.get_data()
                handle_times.append(time.perf_counter() - start)
            if problem.status >= 500:
                return "the marshmallow integration is not installed"
            reported = len(problem.errors)
            total = int(problem.details.get("total_errors", reported))
            body_bytes = len(body)
        rows.append(
            ScalingRow(
                n,
                cap,
                median(load_times) * 1e3,
                median(handle_times) * 1e3,
                reported,
                total,
                body_bytes,
            )
        )
    return rows


# -- part 3: memory over many error responses ------------------------------------


@dataclasses.dataclass
class MemoryResult:
    requests: int
    baseline_kib: float
    final_kib: float
    growth_kib: float
    peak_kib: float


def run_memory(total: int, log: t.Callable[[str], None]) -> MemoryResult:
    """Traced memory after a warm-up versus after ``total`` error responses,
    cycling through every error scenario."""
    app = c.make_apierrors()
    prepared = [prepare(s) for s in c.SCENARIOS if s.status_class != 2]
    warmup = max(len(prepared) * 500, total // 10)
    for i in range(warmup):
        call(app, prepared[i % len(prepared)])
    gc.collect()
    tracemalloc.start()
    try:
        gc.collect()
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step = max(1, total // 10)
        for i in range(total):
            call(app, prepared[i % len(prepared)])
            if (i + 1) % step == 0:
                traced = tracemalloc.get_traced_memory()[0] / 1024
                log(f"  memory: {i + 1} responses, {traced:.0f} KiB")
        gc.collect()
        final, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return MemoryResult(
        total, baseline / 1024, final / 1024, (final - baseline) / 1024, peak / 1024
    )


# -- part 4: through gunicorn ----------------------------------------------------


@dataclasses.dataclass
class ServedRow:
    label: str
    path: str
    storage: str
    status: int
    rps: float


def run_gunicorn(seconds: float, log: t.Callable[[str], None]) -> tuple[list[ServedRow], str]:
    """Requests per second through gunicorn (2 sync workers) for the success
    path, the error paths, and the 429 path with memory and Redis storage."""
    from benchmarks import load
    from tests.support.servers import GunicornServer
    from tests.support.servers import RedisServer
    from tests.support.servers import redis_server_executable

    rows: list[ServedRow] = []
    invalid = next(s for s in c.SCENARIOS if s.name == "validation").body
    cases: list[tuple[str, str, bytes | None]] = [
        ("success", "/items/1", None),
        ("error raised in a view", "/items/404", None),
        ("unknown route (404)", "/no/such/route", None),
        ("validation, 3 of 5 fields", "/chat", invalid),
        ("flask-limiter 429", "/limited", None),
    ]
    tool = load.tool_name()
    storages = ["memory://"]
    redis: RedisServer | None = None
    if redis_server_executable() is not None:
        redis = RedisServer().start()
        storages.append(redis.url)
    try:
        for storage in storages:
            env = {"BENCH_LIMITER_STORAGE": storage}
            with GunicornServer(
                "benchmarks.wsgi:app", workers=2, env=env, health_path="/items/1"
            ) as server:
                for label, path, body in cases:
                    if storage != "memory://" and path != "/limited":
                        continue
                    status, rps = load.measure(server.url + path, seconds, body)
                    kind = "memory" if storage == "memory://" else "redis"
                    log(f"  gunicorn {label} [{kind}]: {status} {rps:.0f} req/s")
                    rows.append(ServedRow(label, path, kind, status, rps))
    finally:
        if redis is not None:
            redis.close()
    return rows, tool


# -- report ----------------------------------------------------------------------


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


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=31, help="interleaved rounds")
    parser.add_argument("--batch-ms", type=float, default=20.0, help="time per batch")
    parser.add_argument("--quick", action="store_true", help="few rounds, small runs")
    parser.add_argument("--no-gunicorn", action="store_true", help="skip the gunicorn part")
    parser.add_argument("--gunicorn-seconds", type=float, default=5.0)
    parser.add_argument("--memory-requests", type=int, default=200_000)
    parser.add_argument("--scenario", action="append", help="only these scenarios (by name)")
    parser.add_argument("--contender", action="append", help="only these contenders")
    parser.add_argument("--write-docs", action="store_true", help=f"write {DOCS_PAGE}")
    parser.add_argument("--json", type=Path, help="also write the raw results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = min(args.rounds, 7)
        args.memory_requests = min(args.memory_requests, 20_000)
        args.gunicorn_seconds = min(args.gunicorn_seconds, 2.0)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    names = args.contender or list(c.CONTENDERS)
    for required in (BASELINE, OURS):
        if required not in names:
            names.append(required)
    scenarios = [s for s in c.SCENARIOS if not args.scenario or s.name in args.scenario]
    log(f"in-process scenarios, {args.rounds} interleaved rounds")
    report = Report(
        names, args.rounds, run_scenarios(names, scenarios, args.rounds, args.batch_ms / 1e3, log)
    )
    log("success-path overhead")
    report.overhead = run_success_overhead(args.rounds * 3, args.batch_ms / 1e3)
    log("invalid-list scaling")
    report.scaling = run_scaling(SCALING_CASES, 3 if args.quick else 7)
    log("memory")
    report.memory = run_memory(args.memory_requests, log)
    if not args.no_gunicorn:
        log("gunicorn")
        report.served, report.served_tool = run_gunicorn(args.gunicorn_seconds, log)
    print(report.text())
    if args.json is not None:
        args.json.write_text(json.dumps(dataclasses.asdict(report), indent=2, default=str))
    if args.write_docs:
        from benchmarks import docs

        DOCS_PAGE.write_text(docs.render(report), encoding="utf-8")
        log(f"wrote {DOCS_PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
