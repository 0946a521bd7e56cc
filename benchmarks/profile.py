"""Profile one scenario of one contender with :mod:`cProfile`.

::

    python -m benchmarks.profile apierror             # flask-apierrors
    python -m benchmarks.profile 404 --contender jsonify
    python -m benchmarks.profile success --bare       # the app without ApiErrors
    python -m benchmarks.profile success --success-pair  # the same with ApiErrors

Prints the functions by cumulative time, then by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import typing as t

from benchmarks import contenders as c
from benchmarks import scenarios as sc
from benchmarks import wsgicall


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=[s.name for s in sc.SCENARIOS])
    parser.add_argument("--contender", default="apierrors", choices=list(c.CONTENDERS))
    parser.add_argument("--bare", action="store_true", help="the success-path app, no ApiErrors")
    parser.add_argument(
        "--success-pair", action="store_true", help="the success-path app with ApiErrors"
    )
    parser.add_argument("-n", type=int, default=5000, help="requests")
    parser.add_argument("--limit", type=int, default=40, help="rows per listing")
    parser.add_argument("--filter", default="", help="only rows whose path matches this")
    args = parser.parse_args(argv)
    scenario = next(s for s in sc.SCENARIOS if s.name == args.scenario)
    if args.bare:
        app = c.make_apierrors(install=False, features=False)
    elif args.success_pair:
        app = c.make_apierrors(install=True, features=False)
    else:
        app = c.CONTENDERS[args.contender][1]()
    prepared = wsgicall.prepare(scenario)
    for _ in range(500):
        wsgicall.call(app, prepared)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.n):
        wsgicall.call(app, prepared)
    profiler.disable()
    stats = pstats.Stats(profiler)
    restrictions: list[t.Any] = [args.filter] if args.filter else []
    stats.sort_stats("cumulative").print_stats(*restrictions, args.limit)
    stats.sort_stats("tottime").print_stats(*restrictions, args.limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
