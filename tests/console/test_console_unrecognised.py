"""Messages the bot did not understand, labelled by staff: the page, the API, the export into
training data (its file format, idempotence, undo) and that a retrained model includes it."""

from __future__ import annotations

import json
import pickle
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils.migrations import Migrations

from bot.core.clock import TZ
from bot.core.db import connect
from bot.wechat.router import hash_user
from intents import unrecognised
from intents.catalogue import LABELS
from intents.classifier import LABELLED_DIR, TRAIN_DIR, data_fingerprint, load_examples
from intents.result import ParseResult
from tests.conftest import Console, bot_env, python

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
CHECKOUT_LABELS = sorted(LABELLED_DIR.glob("*")) if LABELLED_DIR.exists() else []


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    return tmp_path / "labels"


@pytest.fixture
def reviewer(make_app: Any, labels: Path) -> Console:
    """A staff member (no special role) logged in to a console whose labels folder is in
    tmp_path — never the checkout's intents/data/labelled."""
    console = Console(make_app(cookie_secure=False, labels_dir=str(labels)))
    console.add_staff("lin", "staff")
    assert console.login("lin").status_code == 302
    return console


def seed(
    console: Console,
    text: str,
    guesses: tuple[tuple[str, float], ...] = (("opening_hours", 0.41), ("out_of_scope", 0.3)),
    *,
    reason: str = unrecognised.AMBIGUOUS,
    minutes: int = 0,
    user: str = "oReader0001",
    chosen: str | None = None,
) -> int:
    db = console.services.db()
    parse = ParseResult(text, guesses[0][0], guesses[0][1], (), guesses, ambiguous=True)
    row_id = unrecognised.record(db, "mp", user, parse, reason, T0 + timedelta(minutes=minutes))
    if chosen:
        unrecognised.choose(db, row_id, chosen)
    return row_id


def row(console: Console, row_id: int) -> dict[str, Any]:
    found = unrecognised.get(console.services.db(), row_id)
    assert found is not None
    return found


def audit_entries(console: Console, prefix: str = "unrecognised.") -> list[dict[str, Any]]:
    cursor = console.services.db().execute(
        "SELECT username, action, target, before, after FROM audit_log "
        "WHERE action LIKE ? ORDER BY id",
        [prefix + "%"],
    )
    return [
        {
            "username": u,
            "action": a,
            "target": t,
            "before": json.loads(b) if b else None,
            "after": json.loads(f) if f else None,
        }
        for u, a, t, b, f in cursor.fetchall()
    ]


def row_html(page: str, row_id: int) -> str:
    found = re.search(rf'<tr id="row-{row_id}".*?</tr>', page, re.S)
    assert found, f"row {row_id} is not on the page"
    return found.group(0)


def selected(page: str, row_id: int) -> str:
    found = re.search(r'<option value="([a-z_]+)" selected>', row_html(page, row_id))
    assert found
    return found.group(1)


def text_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def flashes(page: str) -> list[str]:
    return re.findall(r'<div class="flash[^"]*" role="status">([^<]*)</div>', page)


# -- the page ----------------------------------------------------------------------------------


def test_the_list_shows_what_was_asked_newest_first_and_never_who(reviewer: Console) -> None:
    older = seed(reviewer, "期末考试周图书馆会延长开放吗", minutes=0, chosen="opening_hours")
    newer = seed(
        reviewer,
        "能不能借一下充电宝",
        (("out_of_scope", 0.38), ("human", 0.2), ("feedback", 0.1)),
        reason=unrecognised.OUT_OF_SCOPE,
        minutes=5,
        user="oSecretOpenId42",
    )
    page = text_of(reviewer.client.get("/console/unrecognised/"))
    assert page.index("能不能借一下充电宝") < page.index("期末考试周图书馆会延长开放吗")
    first = row_html(page, newer)
    # The top guesses with their Chinese labels and confidence; the reason in words.
    for shown in ("其他", "out_of_scope · 38%", "联系人工馆员", "human · 20%", "意见反馈"):
        assert shown in first
    assert "没有合适的意图" in first and "11-23 09:05" in first
    assert "读者自己选了：查询开馆时间" in row_html(page, older)
    # Who asked: a short hash, as the logs name readers — never the id itself.
    assert "oSecretOpenId42" not in page and "oReader0001" not in page
    assert f"读者 #{hash_user('test-secret', 'oSecretOpenId42')}" in first
    # Every intent of the catalogue can be chosen, by its Chinese label and its name.
    for name, label in LABELS.items():
        assert f'<option value="{name}"' in first and f"{label}（{name}）" in first
    assert "没听懂的消息" in text_of(reviewer.client.get("/console/"))  # in the menu


def test_the_select_starts_on_the_readers_pick_else_the_top_guess(reviewer: Console) -> None:
    picked = seed(
        reviewer, "周末能来吗", (("opening_hours", 0.4), ("feedback", 0.35)), chosen="feedback"
    )
    guessed = seed(reviewer, "四六级的真题在哪一层", (("search_catalog", 0.36), ("help", 0.2)))
    page = text_of(reviewer.client.get("/console/unrecognised/"))
    assert selected(page, picked) == "feedback"
    assert selected(page, guessed) == "search_catalog"
    reviewer.post(f"/console/unrecognised/{guessed}/label", {"intent": "opening_hours"})
    labelled = text_of(reviewer.client.get("/console/unrecognised/?status=labelled"))
    assert selected(labelled, guessed) == "opening_hours"  # once labelled: its label


def test_the_page_filters_by_status_and_reason_and_pages(reviewer: Console) -> None:
    ids = [seed(reviewer, f"第{n}条没听懂的话", minutes=n) for n in range(3)]
    other = seed(reviewer, "今天食堂吃什么", reason=unrecognised.OUT_OF_SCOPE, minutes=9)
    reviewer.post(f"/console/unrecognised/{ids[0]}/label", {"intent": "opening_hours"})
    reviewer.post(f"/console/unrecognised/{ids[1]}/ignore")

    def shown(query: str) -> list[int]:
        page = text_of(reviewer.client.get(f"/console/unrecognised/{query}"))
        return [int(n) for n in re.findall(r'<tr id="row-(\d+)"', page)]

    assert shown("") == [other, ids[2]]  # new, newest first, by default
    assert shown("?status=labelled") == [ids[0]]
    assert shown("?status=ignored") == [ids[1]]
    assert shown("?status=all") == [other, ids[2], ids[1], ids[0]]
    assert shown("?status=all&reason=out_of_scope") == [other]
    assert shown("?status=all&reason=ambiguous") == [ids[2], ids[1], ids[0]]
    # Fifty to a page.
    for n in range(60):
        seed(reviewer, f"多余的话{n}", minutes=100 + n)
    assert len(shown("")) == 50
    assert len(shown("?page=2")) == 12
    assert "更早的" in text_of(reviewer.client.get("/console/unrecognised/"))


def test_labelling_ignoring_and_undoing_on_the_page_are_audited(reviewer: Console) -> None:
    row_id = seed(reviewer, "期末考试周图书馆会延长开放吗")
    response = reviewer.post(
        f"/console/unrecognised/{row_id}/label",
        {"intent": "opening_hours", "status": "all", "reason": "ambiguous", "page": "1"},
    )
    # Back to the list as it was.
    assert response.headers["Location"] == "/console/unrecognised/?status=all&reason=ambiguous"
    page = text_of(reviewer.client.get(response.headers["Location"]))
    assert "已标注为「查询开馆时间」。" in flashes(page)
    assert 'data-status="labelled"' in row_html(page, row_id)
    assert "已标注：查询开馆时间" in row_html(page, row_id)
    labelled = row(reviewer, row_id)
    assert (labelled["status"], labelled["label"], labelled["labelled_by"]) == (
        "labelled",
        "opening_hours",
        "lin",
    )
    assert labelled["labelled_at"] and labelled["exported_at"] is None

    reviewer.post(f"/console/unrecognised/{row_id}/ignore")
    assert (row(reviewer, row_id)["status"], row(reviewer, row_id)["label"]) == ("ignored", None)
    reviewer.post(f"/console/unrecognised/{row_id}/reset")
    reset = row(reviewer, row_id)
    assert (reset["status"], reset["label"], reset["labelled_by"]) == ("new", None, None)
    # Undoing what is already undone changes nothing, and is not audited again.
    reviewer.post(f"/console/unrecognised/{row_id}/reset")

    target = f"unrecognised:{row_id}"
    assert audit_entries(reviewer) == [
        {
            "username": "lin",
            "action": "unrecognised.label",
            "target": target,
            "before": {"status": "new", "label": None},
            "after": {"status": "labelled", "label": "opening_hours"},
        },
        {
            "username": "lin",
            "action": "unrecognised.ignore",
            "target": target,
            "before": {"status": "labelled", "label": "opening_hours"},
            "after": {"status": "ignored", "label": None},
        },
        {
            "username": "lin",
            "action": "unrecognised.reset",
            "target": target,
            "before": {"status": "ignored", "label": None},
            "after": {"status": "new", "label": None},
        },
    ]


def test_crisis_may_be_labelled(reviewer: Console) -> None:
    row_id = seed(reviewer, "最近总是睡不着，什么都不想做", (("counseling", 0.3), ("help", 0.2)))
    reviewer.post(f"/console/unrecognised/{row_id}/label", {"intent": "crisis"})
    assert row(reviewer, row_id)["label"] == "crisis"


@pytest.mark.parametrize("role", ["staff", "counsellor", "admin"])
def test_every_staff_role_may_review(make_app: Any, labels: Path, role: str) -> None:
    console = Console(make_app(cookie_secure=False, labels_dir=str(labels)))
    console.add_staff("someone", role)
    console.login("someone")
    row_id = seed(console, "能不能借一下充电宝")
    assert console.client.get("/console/unrecognised/").status_code == 200
    console.post(f"/console/unrecognised/{row_id}/ignore")
    assert row(console, row_id)["status"] == "ignored"
    token = console.api_token("someone")
    assert console.api("GET", "/api/v1/unrecognised/", token).status_code == 200


def test_bad_input_on_the_page_is_said_in_a_sentence(reviewer: Console) -> None:
    row_id = seed(reviewer, "能不能借一下充电宝")
    for intent in ("", "buy_coffee", "../../etc/passwd"):
        page = text_of(
            reviewer.post(
                f"/console/unrecognised/{row_id}/label", {"intent": intent}, follow_redirects=True
            )
        )
        assert "请从列表里选择一个意图再标注。" in flashes(page)
    assert row(reviewer, row_id)["status"] == "new"
    for action in ("label", "ignore", "reset"):
        response = reviewer.post(
            f"/console/unrecognised/9999/{action}", {"intent": "help"}, follow_redirects=True
        )
        assert response.status_code == 200
        assert "没有这条消息。" in flashes(text_of(response))
    odd = reviewer.client.get("/console/unrecognised/?status=maybe&reason=why&page=-3")
    assert odd.status_code == 200
    assert flashes(text_of(odd)) == [
        "没有这种状态，下面是待标注的消息。",
        "没有这种原因，下面不按原因筛选。",
    ]
    assert audit_entries(reviewer) == []


# -- the API -----------------------------------------------------------------------------------


def test_the_api_lists_filters_and_pages_without_reader_ids(reviewer: Console) -> None:
    token = reviewer.api_token("lin")
    first = seed(reviewer, "第一句", minutes=1, user="oSecretOpenId42", chosen="opening_hours")
    second = seed(reviewer, "第二句", reason=unrecognised.OUT_OF_SCOPE, minutes=2)
    third = seed(reviewer, "第三句", minutes=3)
    listing = reviewer.api("GET", "/api/v1/unrecognised/", token).json
    assert listing["total"] == 3 and [i["id"] for i in listing["items"]] == [third, second, first]
    item = listing["items"][2]
    assert "oSecretOpenId42" not in json.dumps(listing) and "user_id" not in item
    assert item == {
        "id": first,
        "channel": "mp",
        "reader": hash_user("test-secret", "oSecretOpenId42"),
        "text": "第一句",
        "received_at": "2026-11-23T09:01:00+08:00",
        "reason": "ambiguous",
        "guesses": [
            {"intent": "opening_hours", "label": "查询开馆时间", "confidence": 0.41},
            {"intent": "out_of_scope", "label": "其他", "confidence": 0.3},
        ],
        "chosen_intent": "opening_hours",
        "status": "new",
        "label": None,
        "labelled_by": None,
        "labelled_at": None,
        "exported_at": None,
    }
    paged = reviewer.api("GET", "/api/v1/unrecognised/?per_page=2&page=2", token).json
    assert (paged["page"], paged["per_page"], paged["total"]) == (2, 2, 3)
    assert [i["id"] for i in paged["items"]] == [first]
    reasons = reviewer.api("GET", "/api/v1/unrecognised/?reason=out_of_scope", token).json
    assert [i["id"] for i in reasons["items"]] == [second]
    reviewer.api("POST", f"/api/v1/unrecognised/{third}/ignore", token)
    assert reviewer.api("GET", "/api/v1/unrecognised/?status=ignored", token).json["total"] == 1
    assert reviewer.api("GET", "/api/v1/unrecognised/", token).json["total"] == 2
    assert reviewer.api("GET", "/api/v1/unrecognised/?status=all", token).json["total"] == 3


def test_the_api_labels_ignores_and_resets_with_audit(reviewer: Console) -> None:
    token = reviewer.api_token("lin")
    row_id = seed(reviewer, "四六级的真题在哪一层")
    labelled = reviewer.api(
        "POST", f"/api/v1/unrecognised/{row_id}/label", token, json={"intent": "search_catalog"}
    )
    assert labelled.status_code == 200
    assert (labelled.json["status"], labelled.json["label"], labelled.json["labelled_by"]) == (
        "labelled",
        "search_catalog",
        "lin",
    )
    ignored = reviewer.api("POST", f"/api/v1/unrecognised/{row_id}/ignore", token)
    assert (ignored.status_code, ignored.json["status"], ignored.json["label"]) == (
        200,
        "ignored",
        None,
    )
    reset = reviewer.api("POST", f"/api/v1/unrecognised/{row_id}/reset", token)
    assert (reset.status_code, reset.json["status"]) == (200, "new")
    assert [e["action"] for e in audit_entries(reviewer)] == [
        "unrecognised.label",
        "unrecognised.ignore",
        "unrecognised.reset",
    ]
    assert all(e["username"] == "lin" for e in audit_entries(reviewer))


def test_the_api_says_404_and_422_as_usual(reviewer: Console) -> None:
    token = reviewer.api_token("lin")
    row_id = seed(reviewer, "能不能借一下充电宝")
    for action in ("label", "ignore", "reset"):
        missing = reviewer.api(
            "POST", f"/api/v1/unrecognised/9999/{action}", token, json={"intent": "help"}
        )
        assert missing.status_code == 404, action
        assert missing.json["error"] == {
            "code": "not_found",
            "message": "no such message",
            "details": None,
        }
    for body in ({"intent": "buy_coffee"}, {}, {"intent": 3}, {"intent": "../x"}):
        bad = reviewer.api("POST", f"/api/v1/unrecognised/{row_id}/label", token, json=body)
        assert bad.status_code == 422, body
        assert bad.json["error"]["code"] == "invalid"
        assert "intent" in json.dumps(bad.json["error"]["details"])
    for query in ("status=maybe", "reason=why", "per_page=0", "page=0"):
        bad = reviewer.api("GET", f"/api/v1/unrecognised/?{query}", token)
        assert bad.status_code == 422, query
        assert query.split("=")[0] in json.dumps(bad.json["error"]["details"])
    assert row(reviewer, row_id)["status"] == "new"
    assert reviewer.api("GET", "/api/v1/unrecognised/").status_code == 401


def test_the_openapi_document_describes_the_endpoints(reviewer: Console) -> None:
    from openapi_spec_validator import validate

    document = reviewer.api("GET", "/api/v1/openapi.json", reviewer.api_token("lin")).json
    validate(document)
    paths = document["paths"]
    assert "get" in paths["/api/v1/unrecognised/"]
    for action in ("label", "ignore", "reset"):
        assert "post" in paths[f"/api/v1/unrecognised/{{row_id}}/{action}"]
    assert "post" in paths["/api/v1/unrecognised/export"]
    assert "UnrecognisedPage" in document["components"]["schemas"]


# -- the export --------------------------------------------------------------------------------


def test_the_export_writes_one_sorted_deduplicated_line_per_example(
    reviewer: Console, labels: Path
) -> None:
    labels.mkdir()
    # What a colleague put there by hand stays; the file is merged, not replaced.
    (labels / "opening_hours.txt").write_text("周日几点关门\n\n  元旦开馆吗  \n", encoding="utf-8")
    texts = {
        "周末能来吗": "opening_hours",
        "期末考试周\n图书馆会  延长开放吗": "opening_hours",
        "周日几点关门": "opening_hours",  # already in the file
        "能不能借一下充电宝": "human",
        "能不能借一下充电宝 ": "human",  # the same line once collapsed
        "字" * 500: "feedback",
        "字" * 501: "feedback",  # too long to teach one intent
        " \n\t ": "feedback",  # nothing left
    }
    for n, (text, intent) in enumerate(texts.items()):
        row_id = seed(reviewer, text, minutes=n)
        reviewer.post(f"/console/unrecognised/{row_id}/label", {"intent": intent})
    token = reviewer.api_token("lin")
    result = reviewer.api("POST", "/api/v1/unrecognised/export", token)
    assert result.status_code == 200
    assert result.json == {
        "folder": str(labels),
        "written": {"opening_hours": 2, "human": 1, "feedback": 1},
        "removed": {},
        "rows": 8,
        "skipped": 2,
        "total": 4,
    }
    hours = (labels / "opening_hours.txt").read_text(encoding="utf-8")
    assert hours.splitlines() == sorted(
        ["元旦开馆吗", "周日几点关门", "周末能来吗", "期末考试周 图书馆会 延长开放吗"]
    )
    assert hours.endswith("\n") and "\n\n" not in hours
    assert (labels / "human.txt").read_text(encoding="utf-8") == "能不能借一下充电宝\n"
    assert (labels / "feedback.txt").read_text(encoding="utf-8") == "字" * 500 + "\n"
    assert sorted(p.name for p in labels.iterdir()) == [
        "feedback.txt",
        "human.txt",
        "opening_hours.txt",
    ]  # no temporary file left behind
    # The classifier reads them as examples of their intents.
    assert {(e.intent, e.text) for e in load_examples(labels)} >= {
        ("human", "能不能借一下充电宝"),
        ("opening_hours", "期末考试周 图书馆会 延长开放吗"),
    }
    # Exported rows are remembered: exporting again adds nothing.
    before = {p.name: p.read_bytes() for p in labels.iterdir()}
    again = reviewer.api("POST", "/api/v1/unrecognised/export", token).json
    assert (again["rows"], again["total"], again["written"]) == (0, 0, {})
    assert {p.name: p.read_bytes() for p in labels.iterdir()} == before
    exported = reviewer.api("GET", "/api/v1/unrecognised/?status=labelled", token).json["items"]
    assert all(item["exported_at"] for item in exported)
    assert [e["action"] for e in audit_entries(reviewer, "unrecognised.export")] == [
        "unrecognised.export"
    ]  # the export that changed nothing is not a change
    # The checkout's own training data is never touched by tests.
    assert (sorted(LABELLED_DIR.glob("*")) if LABELLED_DIR.exists() else []) == CHECKOUT_LABELS


def test_undone_or_changed_labels_leave_the_files_at_the_next_export(
    reviewer: Console, labels: Path
) -> None:
    db, now = reviewer.services.db(), T0
    undone = seed(reviewer, "这句标错了")
    moved = seed(reviewer, "这句换个意图")
    twin_a = seed(reviewer, "两条一样的话")
    twin_b = seed(reviewer, "两条一样的话")
    for row_id in (undone, moved, twin_a, twin_b):
        unrecognised.label(db, row_id, "feedback", "lin", now)
    unrecognised.export(db, labels, now)
    assert (labels / "feedback.txt").read_text(encoding="utf-8").splitlines() == sorted(
        ["这句标错了", "这句换个意图", "两条一样的话"]
    )
    unrecognised.reset(db, undone)
    unrecognised.label(db, moved, "human", "lin", now)
    unrecognised.ignore(db, twin_a, "lin", now)  # its twin still teaches the same line
    result = unrecognised.export(db, labels, now)
    assert (result.written, result.removed) == ({"human": 1}, {"feedback": 2})
    assert (labels / "feedback.txt").read_text(encoding="utf-8") == "两条一样的话\n"
    assert (labels / "human.txt").read_text(encoding="utf-8") == "这句换个意图\n"
    unrecognised.reset(db, twin_b)
    assert unrecognised.export(db, labels, now).removed == {"feedback": 1}
    assert not (labels / "feedback.txt").exists()  # nothing left: no empty file
    # Labelled again as before: back in the file.
    unrecognised.label(db, undone, "feedback", "lin", now)
    assert unrecognised.export(db, labels, now).written == {"feedback": 1}
    assert (labels / "feedback.txt").read_text(encoding="utf-8") == "这句标错了\n"


def test_the_export_button_says_how_many_were_written(reviewer: Console, labels: Path) -> None:
    page = text_of(reviewer.post("/console/unrecognised/export", follow_redirects=True))
    assert "没有新的标注需要导出。" in flashes(page)
    for n, text in enumerate(("周末能来吗", "元旦开馆吗", "能不能借一下充电宝")):
        row_id = seed(reviewer, text, minutes=n)
        intent = "human" if "充电宝" in text else "opening_hours"
        reviewer.post(f"/console/unrecognised/{row_id}/label", {"intent": intent})
    listing = text_of(reviewer.client.get("/console/unrecognised/"))
    assert "3 条标注待导出" in listing and str(labels) in listing
    page = text_of(reviewer.post("/console/unrecognised/export", follow_redirects=True))
    [said] = flashes(page)
    assert said.startswith(
        "已导出 3 条标注，写入 3 条新样本（查询开馆时间 2 条、联系人工馆员 1 条）"
    )
    assert "python -m intents train" in said and str(labels) in said
    assert "0 条标注待导出" in page
    assert (labels / "opening_hours.txt").read_text(encoding="utf-8") == "元旦开馆吗\n周末能来吗\n"
    [entry] = audit_entries(reviewer, "unrecognised.export")
    assert (entry["username"], entry["target"]) == ("lin", str(labels))
    assert entry["after"]["written"] == {"human": 1, "opening_hours": 2}
    listed = text_of(reviewer.client.get("/console/unrecognised/?status=labelled"))
    assert listed.count("已导出") >= 3


def test_a_labels_folder_that_cannot_be_written_is_said_plainly(
    make_app: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    console = Console(make_app(cookie_secure=False, labels_dir=str(blocker / "labels")))
    console.add_staff("lin", "staff")
    console.login("lin")
    row_id = seed(console, "周末能来吗")
    console.post(f"/console/unrecognised/{row_id}/label", {"intent": "opening_hours"})
    page = text_of(console.post("/console/unrecognised/export", follow_redirects=True))
    [said] = flashes(page)
    assert said.startswith(f"无法写入训练数据目录 {blocker / 'labels'}")
    response = console.api("POST", "/api/v1/unrecognised/export", console.api_token("lin"))
    assert response.status_code == 500
    assert response.json["error"]["message"].startswith("cannot write the labels folder")
    assert row(console, row_id)["exported_at"] is None  # still waiting for a good export


def test_export_labels_command(tmp_path: Path, labels: Path) -> None:
    env = bot_env(tmp_path, labels_dir=str(labels))
    missing = python("-m", "intents", "export-labels", env=env)
    assert missing.returncode == 2 and "no database" in missing.stderr
    assert "Traceback" not in missing.stderr
    db = connect(tmp_path / "served.sqlite3")
    unrecognised.migrations.apply(db)
    for text, intent in (("周末能来吗", "opening_hours"), ("能不能借一下充电宝", "human")):
        parse = ParseResult(text, "out_of_scope", 0.3, (), (("out_of_scope", 0.3),))
        row_id = unrecognised.record(db, "mp", "oReader", parse, unrecognised.OUT_OF_SCOPE, T0)
        unrecognised.label(db, row_id, intent, "lin", T0)
    db.close()
    done = python("-m", "intents", "export-labels", env=env)
    assert done.returncode == 0, done.stderr
    assert "human\t+1" in done.stdout and "opening_hours\t+1" in done.stdout
    assert "2 labelled messages exported, 2 new examples written" in done.stdout
    assert (labels / "human.txt").read_text(encoding="utf-8") == "能不能借一下充电宝\n"
    again = python("-m", "intents", "export-labels", env=env)
    assert "0 labelled messages exported, 0 new examples written" in again.stdout


def test_an_older_database_gains_the_review_columns(tmp_path: Path) -> None:
    db = connect(tmp_path / "old.sqlite3")
    unrecognised.migrations.apply(db, stop_before="add_review")
    parse = ParseResult("周末能来吗", "opening_hours", 0.4, (), (("opening_hours", 0.4),))
    row_id = unrecognised.record(db, "mp", "oReader", parse, unrecognised.AMBIGUOUS, T0)
    assert isinstance(unrecognised.migrations, Migrations)
    unrecognised.migrations.apply(db)
    found = unrecognised.get(db, row_id)
    assert found is not None and (found["status"], found["label"]) == ("new", None)


# -- the dashboard -----------------------------------------------------------------------------


def card_html(console: Console) -> str:
    page = text_of(console.client.get("/console/"))
    found = re.search(
        r'<section class="card[^"]*">(?:(?!</section>).)*待标注的消息.*?</section>', page, re.S
    )
    assert found, "no card for waiting messages"
    return found.group(0)


def test_the_dashboard_counts_messages_waiting_and_alerts_above_twenty(reviewer: Console) -> None:
    ids = [seed(reviewer, f"没听懂的第{n}句", minutes=n) for n in range(21)]
    card = card_html(reviewer)
    assert 'class="card alert"' in card and '<div class="value">21</div>' in card
    assert 'href="/console/unrecognised/"' in card
    reviewer.post(f"/console/unrecognised/{ids[0]}/ignore")
    card = card_html(reviewer)
    assert 'class="card"' in card and '<div class="value">20</div>' in card
    assert "<svg" in card  # the last seven days


# -- a retrained model learns from the export ----------------------------------------------------


@pytest.mark.slow
def test_after_an_export_train_builds_a_model_that_includes_the_labels(
    tmp_path: Path, labels: Path
) -> None:
    models = tmp_path / "models"
    env = bot_env(tmp_path, labels_dir=str(labels), model_dir=str(models))
    # Characters no training example has: the new model's vocabulary proves what it read.
    text = "饕餮鼹鼠在几楼"
    assert not any("饕餮" in e.text for e in load_examples(TRAIN_DIR))
    db = connect(tmp_path / "served.sqlite3")
    unrecognised.migrations.apply(db)
    parse = ParseResult(text, "out_of_scope", 0.3, (), (("out_of_scope", 0.3),))
    row_id = unrecognised.record(db, "mp", "oReader", parse, unrecognised.OUT_OF_SCOPE, T0)
    unrecognised.label(db, row_id, "search_catalog", "lin", T0)
    db.close()
    assert python("-m", "intents", "export-labels", env=env).returncode == 0
    before = data_fingerprint(load_examples(TRAIN_DIR))
    after = data_fingerprint(load_examples(TRAIN_DIR, labels))
    assert before != after
    trained = python("-m", "intents", "train", env=env, timeout=300)
    assert trained.returncode == 0, trained.stderr
    assert [p.name for p in models.glob("*.pickle")] == [f"intent-model-{after}.pickle"]
    with open(models / f"intent-model-{after}.pickle", "rb") as handle:
        pipeline = pickle.load(handle)
    chars = dict(pipeline.named_steps["features"].transformer_list)["chars"]
    assert "饕餮" in chars.vocabulary_
