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
import gc
import json
import sys
import time
import tracemalloc
import typing as t
from pathlib import Path

from benchmarks import contenders as c
from benchmarks import scenarios as sc
from benchmarks.report import BASELINE
from benchmarks.report import OURS
from benchmarks.report import MemoryResult
from benchmarks.report import Overhead
from benchmarks.report import Report
from benchmarks.report import ScalingRow
from benchmarks.report import ScenarioResult
from benchmarks.report import ServedRow
from benchmarks.wsgicall import calibrate
from benchmarks.wsgicall import call
from benchmarks.wsgicall import median
from benchmarks.wsgicall import prepare
from benchmarks.wsgicall import probe
from benchmarks.wsgicall import timed_batch

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

REPO_ROOT: t.Final = Path(__file__).resolve().parents[1]
DOCS_PAGE: t.Final = REPO_ROOT / "docs" / "benchmarks.rst"


# -- part 1: scenarios x contenders ----------------------------------------------


def build_contenders(names: t.Sequence[str]) -> dict[str, WSGIApplication]:
    return {name: c.CONTENDERS[name][1]() for name in names}


def check_setup(
    apps: t.Mapping[str, WSGIApplication], scenario: sc.Scenario
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
    scenarios: t.Sequence[sc.Scenario],
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


def run_success_overhead(rounds: int, batch_seconds: float) -> Overhead:
    """The same app with and without ``ApiErrors`` on its success route."""
    bare = c.make_apierrors(install=False, features=False)
    installed = c.make_apierrors(install=True, features=False)
    prepared = prepare(next(s for s in sc.SCENARIOS if s.name == "success"))
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


def run_memory(total: int, log: t.Callable[[str], None]) -> MemoryResult:
    """Traced memory after a warm-up versus after ``total`` error responses,
    cycling through every error scenario."""
    app = c.make_apierrors()
    prepared = [prepare(s) for s in sc.SCENARIOS if s.status_class != 2]
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


def run_gunicorn(seconds: float, log: t.Callable[[str], None]) -> tuple[list[ServedRow], str]:
    """Requests per second through gunicorn (2 sync workers) for the success
    path, the error paths, and the 429 path with memory and Redis storage."""
    from benchmarks import load
    from tests.support.servers import GunicornServer
    from tests.support.servers import RedisServer
    from tests.support.servers import redis_server_executable

    rows: list[ServedRow] = []
    invalid = next(s for s in sc.SCENARIOS if s.name == "validation").body
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
    scenarios = [s for s in sc.SCENARIOS if not args.scenario or s.name in args.scenario]
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
