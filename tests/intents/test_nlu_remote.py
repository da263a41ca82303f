"""RasaParser against a real HTTP server on 127.0.0.1 that can be told how to misbehave."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import TZ
from intents.nlu import NLU, extract_entities
from intents.remote import RasaParser
from intents.result import ParseResult

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)
# A reader's words: they must reach the server (when delegated) and never the log.
TEXT = "明天下午三点想在三楼自习室预约座位"
CRISIS = "我不想活了"
# Long enough to be sure, short enough for the suite; the slow server sleeps far beyond it.
TIMEOUT = 0.3
SLOW_SECONDS = 10.0

RASA_BODY = {
    "text": TEXT,
    "intent": {"name": "reserve", "confidence": 0.91},
    "intent_ranking": [
        {"name": "reserve", "confidence": 0.91},
        {"name": "cancel_reservation", "confidence": 0.05},
    ],
    "entities": [
        {
            "entity": "place",
            "value": "三楼自习室",
            "start": 8,
            "end": 13,
            "extractor": "DIETClassifier",
            "confidence_entity": 0.97,
        },
        # No offsets, but the value is in the text: placed at its first occurrence.
        {"entity": "date", "value": "明天", "extractor": "RegexEntityExtractor"},
        # No offsets and nowhere in the text (a normalised value): dropped.
        {"entity": "time", "value": "15:00"},
    ],
}


# -- the fake Rasa server --------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    content_type: str
    body: bytes


@dataclass
class FakeRasa:
    """What the server does next: answer `body` with `status`, or one of the misbehaviours."""

    url: str = ""
    mode: str = "json"  # json | raw | slow | close
    status: int = 200
    body: Any = field(default_factory=lambda: RASA_BODY)
    raw: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, body: Any, status: int = 200) -> None:
        self.mode, self.body, self.status = "json", body, status


def _handler(fake: FakeRasa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            fake.calls.append(Call("POST", self.path, self.headers.get("Content-Type", ""), body))
            if fake.mode == "close":
                # Hang up without a word: the client sees the connection drop.
                self.close_connection = True
                return
            if fake.mode == "slow":
                fake.release.wait(SLOW_SECONDS)  # released at teardown
                data = json.dumps(RASA_BODY).encode()  # a good answer, only too late
                status = 200
            elif fake.mode == "raw":
                data, status = fake.raw, fake.status
            else:
                data, status = json.dumps(fake.body).encode(), fake.status
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in fake.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fallback:
    """A stand-in for the built-in parser, easy to recognise, counting its calls."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, text: str, now: datetime) -> ParseResult:
        self.texts.append(text)
        return ParseResult(text, "built_in", 0.5, (), (("built_in", 0.5),))


@pytest.fixture
def fallback() -> Fallback:
    return Fallback()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_parser(
    url: str, fallback: Fallback, clock: FakeClock, merge_built_in_entities: bool = False
) -> RasaParser:
    """Most tests look at the server's entities alone; the built-in ones are merged in
    production (and in the test that says so)."""
    local = extract_entities if merge_built_in_entities else None
    return RasaParser(
        url, fallback, timeout=TIMEOUT, retry_after=30.0, clock=clock, local_entities=local
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def assert_private(caplog: pytest.LogCaptureFixture, url: str) -> None:
    """No record holds the reader's text (plain or JSON-escaped); ours hold no address either,
    since the configured URL may carry a token."""
    port = url.rsplit(":", 1)[1]
    for record in caplog.records:
        message = record.getMessage()
        assert TEXT not in message and "预约" not in message and "\\u" not in message
        if record.name.startswith("guanban"):
            assert port not in message and "127.0.0.1" not in message


# -- delegated parses ------------------------------------------------------------------------


def test_delegated_parse_is_mapped_to_a_parse_result(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock
) -> None:
    result = make_parser(rasa.url, fallback, clock, merge_built_in_entities=True)(TEXT, NOW)

    # The server's own entity (place) is kept; where the built-in extractors find one (the
    # date, time, resource type), theirs — resolved against `now` — replace the server's.
    assert result == ParseResult(
        TEXT,
        "reserve",
        0.91,
        (
            {"entity": "date", "value": "2026-11-21", "start": 0, "end": 2},
            {"entity": "start_time", "value": "15:00", "start": 2, "end": 6},
            {
                "entity": "place",
                "value": "三楼自习室",
                "start": 8,
                "end": 13,
                "extractor": "DIETClassifier",
                "confidence_entity": 0.97,
            },
            {"entity": "resource_type", "value": "seat", "start": 15, "end": 17},
        ),
        (("reserve", 0.91), ("cancel_reservation", 0.05)),
        ambiguous=False,
    )
    assert fallback.texts == []
    assert result.to_rasa()["intent"] == {"name": "reserve", "confidence": 0.91}


def test_request_is_a_json_post_of_the_text_to_model_parse(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock
) -> None:
    parser = make_parser(rasa.url + "/", fallback, clock)  # a trailing slash is fine
    parser(f"  {TEXT}\n", NOW)

    assert len(rasa.calls) == 1
    call = rasa.calls[0]
    assert (call.method, call.path) == ("POST", "/model/parse")
    assert call.content_type == "application/json"
    assert json.loads(call.body) == {"text": TEXT}  # stripped, as the built-in parser does


def test_unknown_intent_is_kept_and_missing_ranking_defaults_to_the_intent(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock
) -> None:
    rasa.answer({"text": TEXT, "intent": {"name": "nlu_fallback", "confidence": 0.3}})
    result = make_parser(rasa.url, fallback, clock)(TEXT, NOW)

    assert result.intent == "nlu_fallback"
    assert result.ranking == (("nlu_fallback", 0.3),)
    assert result.entities == ()
    assert result.ambiguous  # below the built-in threshold: ask, don't act
    assert fallback.texts == []


def test_integer_confidence_becomes_a_float(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock
) -> None:
    rasa.answer({"intent": {"name": "greet", "confidence": 1}, "entities": []})
    result = make_parser(rasa.url, fallback, clock)("你好", NOW)

    assert result.confidence == 1.0 and isinstance(result.confidence, float)
    assert result.ranking == (("greet", 1.0),)


@pytest.mark.parametrize(
    "entity",
    [
        {"entity": "place", "value": "三楼", "start": 30, "end": 32},  # beyond the text
        {"entity": "place", "value": "三楼", "start": 5, "end": 2},  # backwards
        {"entity": "place", "value": "三楼", "start": "8", "end": "10"},  # not integers
        {"entity": "place", "value": "三楼", "start": True, "end": 10},  # bool is not an index
    ],
)
def test_entity_with_bad_offsets_is_placed_by_its_value(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock, entity: dict[str, Any]
) -> None:
    rasa.answer({"intent": {"name": "reserve", "confidence": 0.9}, "entities": [entity]})
    result = make_parser(rasa.url, fallback, clock)(TEXT, NOW)

    assert [(e["value"], e["start"], e["end"]) for e in result.entities] == [("三楼", 8, 10)]


def test_entity_that_cannot_be_placed_is_dropped(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock
) -> None:
    entities = [
        {"entity": "count", "value": 3},  # not a string
        {"entity": "room", "value": "四楼"},  # not in the text
        {"entity": "room", "value": ""},  # empty
    ]
    rasa.answer({"intent": {"name": "reserve", "confidence": 0.9}, "entities": entities})
    result = make_parser(rasa.url, fallback, clock)(TEXT, NOW)

    assert result.intent == "reserve"
    assert result.entities == ()


# -- the crisis check stays here -------------------------------------------------------------


def test_crisis_never_reaches_the_server(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock
) -> None:
    parser = make_parser(rasa.url, fallback, clock)
    result = parser(CRISIS, NOW)

    assert rasa.calls == []
    assert fallback.texts == [CRISIS]
    assert result.intent == "built_in"


def test_empty_text_is_not_sent(rasa: FakeRasa, fallback: Fallback, clock: FakeClock) -> None:
    make_parser(rasa.url, fallback, clock)("   ", NOW)

    assert rasa.calls == []
    assert fallback.texts == [""]


@pytest.fixture(scope="module")
def nlu(tmp_path_factory: pytest.TempPathFactory) -> NLU:
    # Trained in a temporary folder; a copy of the development cache saves the training when
    # it holds the current model (the file name is the fingerprint of data and libraries).
    cache = tmp_path_factory.mktemp("models")
    for model in (ROOT / "instance" / "models").glob("intent-model-*.pickle"):
        shutil.copy(model, cache / model.name)
    return NLU.load(cache)


def test_with_the_real_built_in_parser_crisis_is_crisis_and_a_dead_server_changes_nothing(
    rasa: FakeRasa, nlu: NLU, clock: FakeClock
) -> None:
    parser = RasaParser(rasa.url, nlu.parse, timeout=TIMEOUT, clock=clock)
    assert parser(CRISIS, NOW) == nlu.parse(CRISIS, NOW)
    assert parser(CRISIS, NOW).intent == "crisis"
    assert rasa.calls == []

    rasa.answer({"error": "model not loaded"}, status=500)
    assert parser(TEXT, NOW) == nlu.parse(TEXT, NOW)
    assert len(rasa.calls) == 1


# -- failures fall back to the built-in parse ------------------------------------------------


def _status_500(rasa: FakeRasa) -> None:
    rasa.answer({"error": "boom"}, status=500)


def _status_404(rasa: FakeRasa) -> None:
    rasa.answer({"error": "not found"}, status=404)


def _redirect(rasa: FakeRasa) -> None:
    # Not followed: the reader's text goes to the configured server or nowhere.
    rasa.answer(RASA_BODY, status=307)
    rasa.headers = {"Location": rasa.url + "/model/parse"}


def _garbage(rasa: FakeRasa) -> None:
    rasa.mode, rasa.raw = "raw", b"<html>Bad Gateway</html>"


def _empty_body(rasa: FakeRasa) -> None:
    rasa.mode, rasa.raw = "raw", b""


def _slow(rasa: FakeRasa) -> None:
    rasa.mode = "slow"


def _hang_up(rasa: FakeRasa) -> None:
    rasa.mode = "close"


def _shape(body: Any) -> Any:
    def setup(rasa: FakeRasa) -> None:
        rasa.answer(body)

    return setup


GOOD_INTENT = {"name": "greet", "confidence": 0.9}

FAILURES = {
    "500": _status_500,
    "404": _status_404,
    "redirect": _redirect,
    "garbage": _garbage,
    "empty body": _empty_body,
    "timeout": _slow,
    "connection closed": _hang_up,
    "json list": _shape([RASA_BODY]),
    "no intent": _shape({"text": TEXT, "entities": []}),
    "intent is a string": _shape({"intent": "greet"}),
    "intent name null": _shape({"intent": {"name": None, "confidence": 0.0}}),
    "intent name empty": _shape({"intent": {"name": " ", "confidence": 0.9}}),
    "intent name a number": _shape({"intent": {"name": 3, "confidence": 0.9}}),
    "confidence missing": _shape({"intent": {"name": "greet"}}),
    "confidence a string": _shape({"intent": {"name": "greet", "confidence": "0.9"}}),
    "confidence true": _shape({"intent": {"name": "greet", "confidence": True}}),
    "confidence above 1": _shape({"intent": {"name": "greet", "confidence": 1.5}}),
    "ranking not a list": _shape({"intent": GOOD_INTENT, "intent_ranking": {"greet": 0.9}}),
    "ranking item bad": _shape({"intent": GOOD_INTENT, "intent_ranking": [{"name": "greet"}]}),
    "entities not a list": _shape({"intent": GOOD_INTENT, "entities": {"entity": "date"}}),
    "entity not an object": _shape({"intent": GOOD_INTENT, "entities": ["明天"]}),
    "entity without name": _shape({"intent": GOOD_INTENT, "entities": [{"value": "明天"}]}),
    "entity without value": _shape({"intent": GOOD_INTENT, "entities": [{"entity": "date"}]}),
}


@pytest.mark.parametrize("setup", FAILURES.values(), ids=FAILURES.keys())
def test_failure_falls_back_with_one_warning_and_no_text_in_the_log(
    rasa: FakeRasa,
    fallback: Fallback,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    setup: Any,
) -> None:
    setup(rasa)
    caplog.set_level(logging.DEBUG)
    result = make_parser(rasa.url, fallback, clock)(TEXT, NOW)

    assert result == ParseResult(TEXT, "built_in", 0.5, (), (("built_in", 0.5),))
    assert fallback.texts == [TEXT]
    assert len(rasa.calls) == 1  # asked once, no retries within the message
    [warning] = warnings_of(caplog)
    assert warning.name == "guanban.intents"
    assert warning.exc_info is None  # no traceback
    assert "\n" not in warning.getMessage()
    assert_private(caplog, rasa.url)


def test_connection_refused_falls_back(
    fallback: Fallback, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # A bound socket that does not listen: the port is ours, and connecting is refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        result = make_parser(url, fallback, clock)(TEXT, NOW)

    assert result.intent == "built_in"
    assert fallback.texts == [TEXT]
    [warning] = warnings_of(caplog)
    assert "ConnectionError" in warning.getMessage()
    assert_private(caplog, url)


# -- retry window ----------------------------------------------------------------------------


def test_after_a_failure_the_server_is_skipped_for_retry_after_then_asked_again(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    parser = make_parser(rasa.url, fallback, clock)
    _status_500(rasa)
    assert parser(TEXT, NOW).intent == "built_in"
    assert len(rasa.calls) == 1

    rasa.answer(RASA_BODY)  # the server is back, but we don't know yet
    clock.now += 29.9
    assert parser(TEXT, NOW).intent == "built_in"
    assert parser("你好", NOW).intent == "built_in"
    assert len(rasa.calls) == 1  # skipped
    assert len(warnings_of(caplog)) == 1  # skipping is not logged again

    clock.now += 0.1
    assert parser(TEXT, NOW).intent == "reserve"
    assert len(rasa.calls) == 2
    clock.now += 0.1
    assert parser(TEXT, NOW).intent == "reserve"  # healthy again: no window left over
    assert len(rasa.calls) == 3
    assert fallback.texts == [TEXT, TEXT, "你好"]


def test_a_failed_retry_opens_a_new_window(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock
) -> None:
    parser = make_parser(rasa.url, fallback, clock)
    _garbage(rasa)
    parser(TEXT, NOW)
    clock.now += 30
    parser(TEXT, NOW)  # retried, fails again
    assert len(rasa.calls) == 2
    rasa.answer(RASA_BODY)
    clock.now += 29
    assert parser(TEXT, NOW).intent == "built_in"
    assert len(rasa.calls) == 2
    clock.now += 1
    assert parser(TEXT, NOW).intent == "reserve"
    assert len(rasa.calls) == 3


def test_a_slow_server_costs_the_timeout_once_per_window(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock
) -> None:
    parser = make_parser(rasa.url, fallback, clock)
    _slow(rasa)
    for _ in range(5):
        assert parser(TEXT, NOW).intent == "built_in"
    assert len(rasa.calls) == 1


def test_is_usable_as_an_evaluate_parser(
    rasa: FakeRasa, fallback: Fallback, clock: FakeClock
) -> None:
    # intents.evaluate calls `.parse(text, now)`; the router calls the parser itself.
    parser = make_parser(rasa.url, fallback, clock)
    assert parser.parse(TEXT, NOW) == parser(TEXT, NOW)


# -- through the app: LIBBOT_NLU_URL ---------------------------------------------------------


def test_the_bot_uses_the_rasa_server_named_in_settings_and_survives_its_death(
    rasa: FakeRasa, make_app: Any, mp_peer: Any
) -> None:
    from tests.wechat.test_router import say

    # The server says "opening hours" for words the built-in layer would not read so.
    rasa.answer({"text": "x", "intent": {"name": "opening_hours", "confidence": 0.93}})
    client = make_app(nlu_url=rasa.url, nlu_timeout=0.5).test_client()
    assert "开馆" in say(client, mp_peer, "食堂的饭越来越贵了")
    assert len(rasa.calls) == 1
    # Crisis words never leave the process.
    assert "12356" in say(client, mp_peer, "我不想活了")
    assert len(rasa.calls) == 1
    # A broken server: the built-in layer answers, as it would alone.
    rasa.answer({"error": "model not loaded"}, status=500)
    assert "没听懂" in say(client, mp_peer, "食堂的饭越来越贵了")
