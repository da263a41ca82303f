"""A parser that asks a Rasa server (`POST {url}/model/parse`) and falls back to the built-in one.

    parser = RasaParser("http://127.0.0.1:5005", fallback=NLU.load(cache_dir).parse)
    parser(text, now)  # -> ParseResult, never raises for a server problem

Why each rule:
- The crisis check runs here, locally, before anything is sent: a reader in crisis must get
  the same answer whether or not a Rasa server is up, is slow or was trained on other data,
  and their words have no reason to leave the process. Crisis texts go to the fallback.
- Any failure (refused, timeout, non-2xx, redirect, not JSON, not Rasa's shape) gives the
  fallback's parse, so a broken server costs accuracy, never an answer. It is logged as one
  warning line naming only the kind of failure: no traceback, no URL (it may hold a token),
  no text of the reader's.
- After a failure the server is left alone for `retry_after` seconds: a dead server would
  otherwise add `timeout` to every message inside WeChat's 5-second window.
- `timeout` is requests' connect and per-read timeout, not a total deadline; a server that
  trickles bytes slower than that can take longer. Redirects are not followed (the reader's
  text goes to the configured server or nowhere).

Mapping: the result's text is the (stripped) text sent, so entity offsets refer to it;
confidence is a float in [0, 1]; the ranking defaults to the intent alone when the server
sends none; intent names outside the catalogue are kept (the router says it does not know
them); `ambiguous` uses the built-in parser's threshold. Entities keep every key Rasa sends
(extractor, confidence_entity, role, group, ...). An entity without a valid start/end is
placed at the first occurrence of its value in the text when its value is a string found
there, and dropped otherwise: handlers may rely on offsets, and an entity that cannot be
placed in the reader's words is more likely a server artefact than a fact. A Rasa model does
not know `now`, so its 「明天」 comes back unresolved (unless it runs Duckling): where the
built-in extractors find an entity (dates, times, numbers, ISBNs, titles), theirs — resolved
and normalised as handlers expect — replace the server's of the same name; the server's
other entities are kept.

Threads: the only shared state is one float (when to try again; a race at worst asks twice)
and the requests Session. requests does not promise that a Session is thread-safe, but its
connection pool (urllib3's) is, and these POSTs change no cookies, auth or adapters; pass
`session=` to use your own (one per thread if you prefer to be strict).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import requests

from intents import safety
from intents.nlu import DEFAULT_THRESHOLD, extract_entities
from intents.result import Parser, ParseResult

__all__ = ["Parser", "RasaParser"]

log = logging.getLogger("guanban.intents")


class BadResponse(Exception):
    """The server answered, but not with a usable parse. The message names the field only."""


class RasaParser:
    def __init__(
        self,
        url: str,
        fallback: Parser,
        timeout: float = 1.0,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        local_entities: Callable[[str, datetime], tuple[dict[str, Any], ...]]
        | None = extract_entities,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/model/parse"
        self.fallback = fallback
        self.timeout = timeout
        self.retry_after = retry_after
        self.clock = clock
        self.session = session if session is not None else requests.Session()
        self.threshold = threshold
        self.local_entities = local_entities
        self._retry_at: float | None = None  # while set and in the future: don't ask

    def __call__(self, text: str, now: datetime) -> ParseResult:
        text = text.strip()
        if not text or safety.is_crisis(text):
            return self.fallback(text, now)
        if self._retry_at is not None and self.clock() < self._retry_at:
            return self.fallback(text, now)
        try:
            result = self._ask(text, now)
        except (requests.RequestException, BadResponse) as error:
            self._retry_at = self.clock() + self.retry_after
            # The class name and our own field message only: requests' messages carry the URL.
            detail = str(error) if isinstance(error, BadResponse) else type(error).__name__
            log.warning(
                "rasa parse failed (%s); using the built-in parser for %gs",
                detail,
                self.retry_after,
            )
            return self.fallback(text, now)
        if self._retry_at is not None:
            self._retry_at = None
            log.info("rasa parse answers again")
        return result

    # evaluate.evaluate() and the CLI expect a `.parse` method, the router a callable.
    parse = __call__

    def _ask(self, text: str, now: datetime) -> ParseResult:
        response = self.session.post(
            self.endpoint, json={"text": text}, timeout=self.timeout, allow_redirects=False
        )
        if not 200 <= response.status_code < 300:
            raise BadResponse(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:  # requests' JSONDecodeError, whichever json library it uses
            raise BadResponse("body is not JSON") from None
        result = to_parse_result(text, body, self.threshold)
        if self.local_entities is None:
            return result
        built_in = self.local_entities(text, now)
        names = {e["entity"] for e in built_in}
        kept = [e for e in result.entities if e["entity"] not in names]
        merged = sorted((*built_in, *kept), key=lambda e: (e["start"], e["end"], e["entity"]))
        return replace(result, entities=tuple(merged))


def to_parse_result(text: str, body: Any, threshold: float = DEFAULT_THRESHOLD) -> ParseResult:
    """Rasa's /model/parse JSON → ParseResult. Raises BadResponse on a body of another shape."""
    if not isinstance(body, dict):
        raise BadResponse("body is not an object")
    intent = body.get("intent")
    if not isinstance(intent, dict):
        raise BadResponse("intent missing")
    name = _name(intent.get("name"), "intent.name")
    confidence = _confidence(intent.get("confidence"), "intent.confidence")

    ranking_json = body.get("intent_ranking")
    if ranking_json is None:
        ranking_json = []
    if not isinstance(ranking_json, list):
        raise BadResponse("intent_ranking is not a list")
    ranking = []
    for item in ranking_json:
        if not isinstance(item, dict):
            raise BadResponse("intent_ranking item is not an object")
        ranking.append(
            (
                _name(item.get("name"), "intent_ranking.name"),
                _confidence(item.get("confidence"), "intent_ranking.confidence"),
            )
        )
    if not ranking:
        ranking = [(name, confidence)]

    entities_json = body.get("entities")
    if entities_json is None:
        entities_json = []
    if not isinstance(entities_json, list):
        raise BadResponse("entities is not a list")
    entities = []
    for item in entities_json:
        entity = _entity(text, item)
        if entity is not None:
            entities.append(entity)

    return ParseResult(
        text,
        name,
        confidence,
        tuple(entities),
        tuple(ranking),
        ambiguous=confidence < threshold,
    )


def _name(value: Any, field: str) -> str:
    # Rasa answers {"name": null} when no intent classifier ran or the model is empty.
    if not isinstance(value, str) or not value.strip():
        raise BadResponse(f"{field} missing")
    return value


def _confidence(value: Any, field: str) -> float:
    # bool is an int in Python; a JSON true is not a confidence.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadResponse(f"{field} is not a number")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise BadResponse(f"{field} out of range")
    return number


def _entity(text: str, item: Any) -> dict[str, Any] | None:
    """One entity with entity/value/start/end, or None when it cannot be placed in the text."""
    if not isinstance(item, dict) or "value" not in item:
        raise BadResponse("entity without a value")
    _name(item.get("entity"), "entities.entity")
    entity = dict(item)
    start, end = item.get("start"), item.get("end")
    if _is_index(start) and _is_index(end) and 0 <= start <= end <= len(text):
        return entity
    value = item["value"]
    found = text.find(value) if isinstance(value, str) and value else -1
    if found < 0:
        return None
    entity["start"], entity["end"] = found, found + len(value)
    return entity


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
