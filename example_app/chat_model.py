"""A deterministic local chat model and web search: no AI, the same answer
for the same request, so the example runs anywhere and tests can assert on
what comes back. The stand-in model service serves the same answers over
HTTP (:mod:`example_app.standin`).
"""

from __future__ import annotations

import hashlib
import json
import time
import typing as t

#: The models the chat API offers.
MODELS: t.Final = ("Melanie-3", "Melanie-3-light", "Melanie-3-code")


def search(query: str, limit: int = 3) -> list[dict[str, str]]:
    """Deterministic "web results" for ``query``."""
    digest = hashlib.sha256(query.encode()).hexdigest()
    words = query.split() or ["nothing"]
    return [
        {
            "title": f"{words[i % len(words)].capitalize()}: notes {i + 1}",
            "url": f"https://example.org/{digest[i * 8 : i * 8 + 8]}",
        }
        for i in range(limit)
    ]


def answer_words(payload: t.Mapping[str, t.Any], sources: t.Sequence[str] = ()) -> list[str]:
    """The answer to a validated chat request, word by word.

    :param sources: Titles of web results to cite.
    """
    messages = payload["messages"]
    last = str(messages[-1]["content"])
    words = [f"{payload['model']}:", "you", "said"] + last.split()[:50]
    if sources:
        words += ["Sources:", *(f"[{title}]" for title in sources)]
    max_tokens = payload.get("max_tokens")
    return words[:max_tokens] if max_tokens else words


def completion_id(payload: t.Mapping[str, t.Any]) -> str:
    """The same id for the same request."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return "chatcmpl-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def completion(payload: t.Mapping[str, t.Any], sources: t.Sequence[str] = ()) -> dict[str, t.Any]:
    """A ``chat.completion`` object answering ``payload``."""
    words = answer_words(payload, sources)
    truncated = len(answer_words({**payload, "max_tokens": None}, sources)) > len(words)
    prompt_tokens = sum(len(str(m["content"]).split()) for m in payload["messages"])
    return {
        "id": completion_id(payload),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": payload["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": " ".join(words)},
                "finish_reason": "length" if truncated else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(words),
            "total_tokens": prompt_tokens + len(words),
        },
    }


def chunks(completion: t.Mapping[str, t.Any]) -> t.Iterator[dict[str, t.Any]]:
    """A ``chat.completion`` as ``chat.completion.chunk`` objects, one per
    word, for a streamed answer (local or from the model service)."""
    content = str(completion["choices"][0]["message"]["content"])
    for i, word in enumerate(content.split(" ")):
        yield {
            "id": completion["id"],
            "object": "chat.completion.chunk",
            "created": completion["created"],
            "model": completion["model"],
            "choices": [{"index": 0, "delta": {"content": (" " if i else "") + word}}],
        }
