"""Calls to the upstream services, and their failures in each API's words.

- the chat model (``MODEL_SERVICE_URL``): 502 "AI model service
  unavailable", 503 "System temporarily overloaded" / "AI models not
  available", 504 "AI model response timeout";
- web search (``SEARCH_SERVICE_URL``, shown as ``perplexity_search``): 502
  "External service error" with the upstream's status;
- model generation (``GENERATION_SERVICE_URL``, shown as ``fal.ai``):
  ``FAL_API_ERROR``, ``FAL_RATE_LIMIT``, ``NETWORKEXCEPTION`` and
  ``FALAPIEXCEPTION``.

:func:`~flask_apierrors.upstream.upstream_call` classifies every failure;
this module only picks the documented shape. Clients never see an upstream
URL or body; the log gets both.
"""

from __future__ import annotations

import re
import time
import typing as t
import urllib.parse

import httpx
from flask import current_app

from flask_apierrors import ApiError
from flask_apierrors.availability import OverloadedError
from flask_apierrors.availability import UnavailableError
from flask_apierrors.upstream import Retry
from flask_apierrors.upstream import UpstreamConnectionError
from flask_apierrors.upstream import UpstreamError
from flask_apierrors.upstream import UpstreamStatusError
from flask_apierrors.upstream import UpstreamTimeoutError
from flask_apierrors.upstream import UpstreamUnavailableError
from flask_apierrors.upstream import forward_headers
from flask_apierrors.upstream import upstream_call

from . import chat_model
from .errors import FALAPIException
from .errors import NetworkException
from .settings import service_url

_ISO_TIME: t.Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_MODEL_SUGGESTION: t.Final = "Try reducing request complexity or using a lighter model"


def _timeout() -> float:
    return float(current_app.config["UPSTREAM_TIMEOUT"])


def request_within(
    client: httpx.Client, method: str, url: str, seconds: float, **kwargs: t.Any
) -> httpx.Response:
    """``client.request(method, url, **kwargs)``, its whole answer read
    within ``seconds``, else httpx's ``ReadTimeout`` (which
    :func:`~flask_apierrors.upstream.upstream_call` answers with a 504).

    httpx's own timeout bounds each wait (to connect, for the next bytes),
    not the call: a service that sends a byte at a time, never silent for
    that long, would hold the request for as long as it likes. The deadline
    is checked as each chunk of the answer arrives.
    """
    deadline = time.monotonic() + seconds
    request = client.build_request(method, url, **kwargs)
    response = client.send(request, stream=True)
    try:
        body = bytearray()
        for chunk in response.iter_raw():
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(f"No whole answer within {seconds:g} s", request=request)
            body += chunk
    finally:
        response.close()
    # Decoded (Content-Encoding) as it is read, like the answer itself.
    return httpx.Response(
        response.status_code, headers=response.headers, content=bytes(body), request=request
    )


# -- chat model ---------------------------------------------------------------


def _models_unavailable(response: httpx.Response) -> ApiError | None:
    """The "AI models not available" 503, when the model service says which
    models are down. Only known model names and a timestamp are passed on."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("affected_models"), list):
        return None
    details: dict[str, t.Any] = {
        "affected_models": [m for m in chat_model.MODELS if m in body["affected_models"]],
        "available_models": [m for m in chat_model.MODELS if m not in body["affected_models"]],
    }
    recovery = body.get("estimated_recovery")
    if isinstance(recovery, str) and _ISO_TIME.fullmatch(recovery):
        details["estimated_recovery"] = recovery
    return UnavailableError("AI models not available", details=details)


def remote_completion(payload: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The model service's answer to a validated chat request."""
    url = service_url(current_app.config, "MODEL_SERVICE_URL")
    assert url is not None
    model = payload["model"]
    call = upstream_call(
        "ai_model",
        messages="AI model service unavailable",
        details={"model": model},
        rename={"service": None},
        timeout=_timeout(),
    )
    try:
        with call, httpx.Client(timeout=call.timeout) as client:
            response = request_within(
                client,
                "POST",
                f"{url}/v1/chat/completions",
                _timeout(),
                json=dict(payload),
                headers=forward_headers(),
            )
            if response.status_code == 503:
                unavailable = _models_unavailable(response)
                if unavailable is not None:
                    raise unavailable
            call.check(response)
            body: dict[str, t.Any] = response.json()
    except UpstreamUnavailableError as e:
        raise OverloadedError(e.retry_after) from e
    except UpstreamTimeoutError as e:
        raise ApiError(
            "gateway_timeout",
            "AI model response timeout",
            details={
                "model": model,
                "timeout_duration": e.timeout_duration,
                "suggestion": _MODEL_SUGGESTION,
            },
        ) from e
    except ValueError as e:
        raise UpstreamConnectionError(
            "ai_model",
            "AI model service unavailable",
            upstream_error="Invalid response",
            details={"model": model},
            rename={"service": None},
        ) from e
    return body


# -- web search ---------------------------------------------------------------


def web_search(query: str, *, timeout: float | None = None) -> list[dict[str, str]]:
    """Results for ``query``: the local search, or the search service.

    :param timeout: Seconds this call may take (at most ``UPSTREAM_TIMEOUT``).
    """
    url = service_url(current_app.config, "SEARCH_SERVICE_URL")
    if url is None:
        return chat_model.search(query)
    seconds = min(_timeout(), timeout) if timeout is not None else _timeout()
    # The documented API reports a search service's 503 as a 502 with its status.
    call = upstream_call("perplexity_search", timeout=seconds, unavailable_statuses=(429,))
    with call, httpx.Client(timeout=seconds) as client:
        response = call.check(
            request_within(
                client,
                "POST",
                f"{url}/v1/search",
                seconds,
                json={"query": query},
                headers=forward_headers(),
            )
        )
        results = response.json().get("results")
    if not isinstance(results, list):
        raise UpstreamStatusError("perplexity_search", 502, upstream_message="Invalid response")
    return [
        {"title": str(r.get("title", "")), "url": str(r.get("url", ""))}
        for r in results
        if isinstance(r, dict)
    ]


# -- model generation ---------------------------------------------------------

#: The generation service's name, as the image API documents it.
FAL: t.Final = "fal.ai"
_GENERATION: t.Final = upstream_call(FAL)
_OCTETS: t.Final = "application/octet-stream"
_FAILED: t.Final = {"service": FAL, "error": "Model generation failed"}


def generation_error(error: UpstreamError) -> ApiError:
    """The image API's error for a failed call to the generation service."""
    if isinstance(error, UpstreamUnavailableError):
        return ApiError(
            "FAL_RATE_LIMIT",
            details={"retry_after": error.retry_after, "service": FAL},
            headers={"Retry-After": str(error.retry_after)},
        )
    if isinstance(error, UpstreamStatusError):
        return ApiError("FAL_API_ERROR", details=_FAILED)
    return NetworkException()


def generation_retry(config: t.Mapping[str, t.Any]) -> Retry:
    """Up to ``GENERATION_RETRIES`` retries with exponential backoff from
    ``GENERATION_BACKOFF`` seconds, honouring the service's ``Retry-After``,
    all within ``GENERATION_MAX_TIME`` seconds."""
    return Retry(
        attempts=1 + int(config["GENERATION_RETRIES"]),
        base_delay=float(config["GENERATION_BACKOFF"]),
        max_time=float(config["GENERATION_MAX_TIME"]),
    )


class Generator:
    """One generation on the service: submit the image, poll its progress,
    fetch the model. Used by the background worker.

    :param url: The service's base URL.
    :param timeout: Seconds each HTTP call may take (:func:`request_within`).
    :param max_seconds: Seconds the whole generation may take.
    """

    def __init__(self, url: str, *, timeout: float, max_seconds: float) -> None:
        self.url = url
        self.timeout = timeout
        self.max_seconds = max_seconds

    def run(self, filename: str, data: bytes, on_progress: t.Callable[[int], None]) -> bytes:
        """The model made from ``data``.

        :raises UpstreamError: the service failed (see :func:`generation_error`).
        :raises FALAPIException: it answered, but not with a model.
        """
        try:
            with httpx.Client(timeout=self.timeout) as client:
                submitted = _GENERATION.check(
                    request_within(
                        client,
                        "POST",
                        f"{self.url}/v1/generate",
                        self.timeout,
                        content=data,
                        # Percent-encoded UTF-8: a header value is ASCII.
                        headers={
                            "X-Filename": urllib.parse.quote(filename),
                            "Content-Type": _OCTETS,
                        },
                    )
                )
                request_id = str(submitted.json()["request_id"])
                self._wait(client, request_id, on_progress)
                url = f"{self.url}/v1/requests/{request_id}/result"
                result = _GENERATION.check(request_within(client, "GET", url, self.timeout))
                model = result.content
        except UpstreamError:
            raise
        except (ValueError, KeyError, TypeError) as e:
            # An answer that is not the JSON the service documents.
            raise FALAPIException(details=_FAILED) from e
        except Exception as e:
            error = _GENERATION.error_for(e)
            if error is None:
                raise
            raise error from e
        if not model.startswith(b"glTF"):
            raise FALAPIException(details=_FAILED)
        return model

    def _wait(
        self, client: httpx.Client, request_id: str, on_progress: t.Callable[[int], None]
    ) -> None:
        deadline = time.monotonic() + self.max_seconds
        last = -1
        url = f"{self.url}/v1/requests/{request_id}/status"
        while True:
            status = _GENERATION.check(request_within(client, "GET", url, self.timeout)).json()
            progress = int(status.get("progress", 0))
            if progress != last:
                on_progress(min(progress, 99))
                last = progress
            if status.get("status") == "COMPLETED":
                return
            if time.monotonic() >= deadline:
                raise UpstreamTimeoutError(FAL, timeout_duration=self.max_seconds)
            time.sleep(0.1)
