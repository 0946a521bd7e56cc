"""The fuzz targets of ``tests/fuzz``: driven by hypothesis in every run, and
by atheris (coverage-guided) for a bounded time when it is installed.

Three targets: request bodies and content types (:func:`targets.check`),
any request headers (:func:`targets.check_headers`), and what an upstream
service answers, fed to ``upstream_call`` and to the client's parsers
(:func:`upstream.check`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .fuzz import targets
from .fuzz import upstream
from .support.versions import older_than

REPO_ROOT: t.Final = Path(__file__).resolve().parents[1]
#: Seconds of coverage-guided fuzzing per target and run (``APIERRORS_FUZZ_SECONDS``).
FUZZ_SECONDS: t.Final = int(os.environ.get("APIERRORS_FUZZ_SECONDS", "10"))


def _ids(seeds: list[bytes]) -> list[str]:
    return [f"seed-{i}" for i in range(len(seeds))]


# -- request bodies ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", targets.seeds(), ids=_ids(targets.seeds()))
def test_seed_requests_keep_the_invariants(seed: bytes) -> None:
    targets.check(seed)


@pytest.mark.parametrize(
    ("seed", "method", "path", "incoming_id"),
    [
        (targets.encode(0, 2, b"{}", "abc"), "POST", "/chat", "abc"),
        (targets.encode(1, 2, b"", "", 1), "PUT", "/form", None),
        (targets.encode(7, 2, b"x"), "GET", "/no/such/route", None),
    ],
    ids=["chat", "chunked-form", "route-wraps-around"],
)
def test_decode_reads_what_encode_wrote(
    seed: bytes, method: str, path: str, incoming_id: str | None
) -> None:
    request = targets.decode(seed)
    assert (request.method, request.path, request.incoming_id) == (method, path, incoming_id)


@given(st.binary(max_size=1500))
def test_any_bytes_keep_the_invariants(data: bytes) -> None:
    targets.check(data)


@given(st.sampled_from(targets.seeds()), st.binary(max_size=200))
def test_mutated_seeds_keep_the_invariants(seed: bytes, tail: bytes) -> None:
    targets.check(seed + tail)
    targets.check(seed[: len(seed) // 2] + tail)


# -- request headers ---------------------------------------------------------------------


# Werkzeug's test client before 3.1.8 cannot build the URL of a request
# whose Host is not a valid one (the app answers it: a server sends it on).
_OLD_CLIENT = pytest.mark.skipif(
    older_than("werkzeug", "3.1.8"),
    reason="Werkzeug's test client < 3.1.8 raises on an invalid Host",
)


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(seed, marks=_OLD_CLIENT)
        if "HTTP_HOST" in targets.decode_headers(seed).environ
        else seed
        for seed in targets.header_seeds()
    ],
    ids=_ids(targets.header_seeds()),
)
def test_seed_headers_keep_the_invariants(seed: bytes) -> None:
    targets.check_headers(seed)


def test_decode_headers_reads_what_encode_wrote() -> None:
    seed = targets.encode_headers(
        0, [("Content-Length", "-1"), ("X-\xe9", "v\x85"), ("X-Request-ID", "a.b")], b"{}"
    )
    request = targets.decode_headers(seed)
    assert (request.method, request.path, request.body) == ("POST", "/chat", b"{}")
    assert request.environ == {
        "CONTENT_LENGTH": "-1",
        "HTTP_X_\xc9": "v\x85",
        "HTTP_X_REQUEST_ID": "a.b",
    }
    assert request.incoming_id == "a.b"


header_sets = st.lists(
    st.tuples(
        st.sampled_from(targets.HEADER_NAMES)
        | st.text(st.characters(max_codepoint=255), max_size=20),
        st.text(st.characters(max_codepoint=255), max_size=80),
    ),
    max_size=8,
)


@given(st.integers(0, len(targets.ROUTES) - 1), header_sets, st.binary(max_size=300))
def test_any_headers_keep_the_invariants(
    route: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    targets.check_headers(targets.encode_headers(route, headers, body))


@given(st.binary(max_size=600))
def test_any_bytes_as_headers_keep_the_invariants(data: bytes) -> None:
    targets.check_headers(data)


# -- upstream answers --------------------------------------------------------------------


@pytest.mark.parametrize("seed", upstream.seeds(), ids=_ids(upstream.seeds()))
def test_seed_upstream_answers_keep_the_invariants(seed: bytes) -> None:
    upstream.check(seed)


def test_decode_upstream_reads_what_encode_wrote() -> None:
    seed = upstream.encode(
        503, [("Retry-After", "7"), ("X-\xe9", "\xff")], b"{}", library="httpx", mode="with"
    )
    answer = upstream.decode(seed)
    assert answer == upstream.Answer(
        "httpx", "with", False, 503, [("Retry-After", "7"), ("X-\xe9", "\xff")], b"{}"
    )


retry_after_values = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.sampled_from(
        ["", " 7 ", "1.5", "0x10", "\u0667", "9" * 400, "Wed, 21 Oct 2015 07:28:00 GMT"]
    ),
    st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    st.text(st.characters(max_codepoint=255), max_size=40),
)
upstream_headers = st.lists(
    st.tuples(
        st.sampled_from(upstream.HEADER_NAMES)
        | st.text(st.characters(max_codepoint=255), max_size=12),
        st.text(st.characters(max_codepoint=255), max_size=60),
    ),
    max_size=5,
)
upstream_bodies = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "error",
                        "error_code",
                        "code",
                        "detail",
                        "details",
                        "message",
                        "retry_after",
                        "validation_errors",
                        "loc",
                        "msg",
                        "type",
                        "title",
                        "status",
                        "correlation_id",
                        "field",
                        "invalid_value",
                    ]
                )
                | st.text(max_size=5),
                inner,
                max_size=4,
            )
        ),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode()),
)


@given(
    status=st.integers(0, 999) | st.sampled_from([302, 400, 404, 429, 500, 502, 503, 504]),
    retry_after=st.none() | retry_after_values,
    headers=upstream_headers,
    body=upstream_bodies,
    library=st.sampled_from(upstream.LIBRARIES),
    mode=st.sampled_from(upstream.MODES[:3]),
)
def test_any_upstream_answer_keeps_the_invariants(
    status: int,
    retry_after: str | None,
    headers: list[tuple[str, str]],
    body: bytes,
    library: str,
    mode: str,
) -> None:
    if retry_after is not None:
        headers = [("Retry-After", retry_after), *headers]
    upstream.check(upstream.encode(status, headers, body, library=library, mode=mode))


@given(
    status=st.integers(100, 599),
    headers=upstream_headers,
    body=st.binary(max_size=200),
    library=st.sampled_from(["requests", "httpx"]),
    raw=st.booleans(),
)
def test_any_answer_over_the_wire_keeps_the_invariants(
    status: int, headers: list[tuple[str, str]], body: bytes, library: str, raw: bool
) -> None:
    upstream.check(upstream.encode(status, headers, body, library=library, mode="wire", raw=raw))


@given(st.binary(max_size=400))
def test_any_bytes_as_an_upstream_answer_keep_the_invariants(data: bytes) -> None:
    upstream.check(data)


# -- coverage-guided ---------------------------------------------------------------------

ATHERIS_TARGETS: t.Final = [
    pytest.param("tests.fuzz.fuzz_requests", targets.seeds(), id="requests"),
    pytest.param("tests.fuzz.fuzz_headers", targets.header_seeds(), id="headers"),
    pytest.param("tests.fuzz.fuzz_upstream", upstream.seeds(), id="upstream"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("module", "seeds"), ATHERIS_TARGETS)
def test_atheris_finds_nothing_in_bounded_time(
    tmp_path: Path, module: str, seeds: list[bytes]
) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(seed)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            f"-max_total_time={FUZZ_SECONDS}",
            "-seed=1",
            "-max_len=2048",
            "-timeout=20",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 120,
        check=False,
    )
    tail = "\n".join(result.stderr.splitlines()[-40:])
    assert result.returncode == 0, tail
    assert "Done" in result.stderr, tail
    assert not list(tmp_path.glob("crash-*")), tail
    assert not list(tmp_path.glob("timeout-*")), tail
