"""Messages the bot did not understand: staff label them, and the labels become training data.

Any staff role may review. A row shows what was asked and when, the bot's top guesses and the
reader's own pick — never who asked beyond a short hash (the same one the logs use); the
readers page is where identities are. Labelling, ignoring, undoing and exporting are all
audited. The rows and the export belong to intents.unrecognised; this module only calls it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_smorest import Blueprint as ApiBlueprint

from bot.wechat.router import hash_user
from handlers.kit import console_auth as auth
from handlers.kit.console import Card, NavItem, Plugin
from handlers.kit.console_api import PageArgs, offset, page_of, paginate
from handlers.kit.services import Services
from intents import unrecognised
from intents.catalogue import INTENTS, LABELS
from intents.unrecognised import ALL, IGNORED, LABELLED, NEW, REASONS, STATUSES

pages = Blueprint("unrecognised", __name__)
api = ApiBlueprint(
    "api_unrecognised",
    __name__,
    description="Messages the bot did not understand: review, label, export as training data",
)

PER_PAGE = 50
ALERT_ABOVE = 20  # waiting messages before the dashboard card turns red
STATUS_NAMES = {NEW: "待标注", LABELLED: "已标注", IGNORED: "已忽略", ALL: "全部"}
REASON_NAMES = {"out_of_scope": "没有合适的意图", "ambiguous": "两个意图难以区分"}


# -- service functions shared by pages and API ---------------------------------------------------


def labels_dir() -> Path:
    return Path(auth.runtime().services.settings.labels_dir)


def reader_ref(user_id: str) -> str:
    """Who asked, as the logs name them: enough to see one reader asked twice, no more."""
    return hash_user(str(current_app.secret_key), user_id)


def item_json(row: dict[str, Any]) -> dict[str, Any]:
    """A row as staff see it: everything but the reader's id."""
    return {
        "id": row["id"],
        "channel": row["channel"],
        "reader": reader_ref(row["user_id"]),
        "text": row["text"],
        "received_at": row["received_at"],
        "reason": row["reason"],
        "guesses": [
            {"intent": name, "label": LABELS.get(name, name), "confidence": confidence}
            for name, confidence in row["guesses"]
        ],
        "chosen_intent": row["chosen_intent"],
        "status": row["status"],
        "label": row["label"],
        "labelled_by": row["labelled_by"],
        "labelled_at": row["labelled_at"],
        "exported_at": row["exported_at"],
    }


def review_state(row: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a row before and after a change."""
    return {"status": row["status"], "label": row["label"]}


def apply(action: str, row_id: int, intent: str = "") -> dict[str, Any] | None:
    """Label, ignore or reset one row as the current staff member, audited when it changed;
    None when there is no such row."""
    services = auth.runtime().services
    db, now = services.db(), services.now()
    who = auth.current_staff()
    assert who is not None
    if action == "label":
        change = unrecognised.label(db, row_id, intent, who.username, now)
    elif action == "ignore":
        change = unrecognised.ignore(db, row_id, who.username, now)
    else:
        change = unrecognised.reset(db, row_id)
    if change is None:
        return None
    if change.changed:
        auth.audit(
            f"unrecognised.{action}",
            f"unrecognised:{row_id}",
            before=review_state(change.before),
            after=review_state(change.after),
        )
    return change.after


def export_labels() -> unrecognised.ExportResult:
    """Write the labels into the labels folder (raises OSError when it cannot be written)."""
    services = auth.runtime().services
    result = unrecognised.export(services.db(), labels_dir(), services.now())
    if result.rows or result.removed:
        auth.audit("unrecognised.export", str(result.folder), after=export_json(result))
    return result


def export_json(result: unrecognised.ExportResult) -> dict[str, Any]:
    return {
        "folder": str(result.folder),
        "written": result.written,
        "removed": result.removed,
        "rows": result.rows,
        "skipped": result.skipped,
        "total": result.total,
    }


# -- pages -----------------------------------------------------------------------------------


def preselected(row: dict[str, Any]) -> str:
    """The intent the select starts on: the staff label, else the reader's own pick, else
    the bot's best guess."""
    for candidate in (row["label"], row["chosen_intent"], *(n for n, _ in row["guesses"])):
        if candidate in INTENTS:
            return str(candidate)
    return "out_of_scope"


def back_to_list() -> Response:
    """The list as it was (same filters and page) after a form on it."""
    status = request.form.get("status", NEW)
    reason = request.form.get("reason", "")
    page = request.form.get("page", 1, type=int) or 1
    target = url_for(
        "unrecognised.index",
        status=status if status in (*STATUSES, ALL) and status != NEW else None,
        reason=reason if reason in REASONS else None,
        page=page if page > 1 else None,
    )
    return redirect(target)


@pages.get("/")
@auth.page_access()
def index() -> str:
    services = auth.runtime().services
    status = request.args.get("status", NEW)
    reason = request.args.get("reason", "")
    if status not in (*STATUSES, ALL):
        flash("没有这种状态，下面是待标注的消息。", "error")
        status = NEW
    if reason and reason not in REASONS:
        flash("没有这种原因，下面不按原因筛选。", "error")
        reason = ""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, total = unrecognised.page(services.db(), status, reason, PER_PAGE, (page - 1) * PER_PAGE)
    shown = []
    for row in rows:
        item = item_json(row)
        item["preselected"] = preselected(row)
        shown.append(item)
    return render_template(
        "console/unrecognised.html",
        rows=shown,
        total=total,
        page=page,
        per_page=PER_PAGE,
        status=status,
        reason=reason,
        statuses=STATUS_NAMES,
        reasons=REASON_NAMES,
        labels=LABELS,
        unexported=unrecognised.unexported(services.db()),
        folder=labels_dir(),
    )


def _row_form(action: str, row_id: int) -> Response:
    intent = request.form.get("intent", "")
    if action == "label" and intent not in INTENTS:
        flash("请从列表里选择一个意图再标注。", "error")
        return back_to_list()
    after = apply(action, row_id, intent)
    if after is None:
        flash("没有这条消息。", "error")
    elif action == "label":
        flash(f"已标注为「{LABELS[intent]}」。")
    elif action == "ignore":
        flash("已忽略这条消息。")
    else:
        flash("已撤销，这条消息重新等待标注。")
    return back_to_list()


@pages.post("/<int:row_id>/label")
@auth.page_access()
def label(row_id: int) -> Response:
    return _row_form("label", row_id)


@pages.post("/<int:row_id>/ignore")
@auth.page_access()
def ignore(row_id: int) -> Response:
    return _row_form("ignore", row_id)


@pages.post("/<int:row_id>/reset")
@auth.page_access()
def reset(row_id: int) -> Response:
    return _row_form("reset", row_id)


def export_sentence(result: unrecognised.ExportResult) -> str:
    if not result.rows and not result.removed:
        return "没有新的标注需要导出。"
    parts = [f"已导出 {result.rows} 条标注，写入 {result.total} 条新样本"]
    if result.written:
        most = sorted(result.written.items(), key=lambda item: (-item[1], item[0]))
        counts = "、".join(f"{LABELS.get(i, i)} {n} 条" for i, n in most)
        parts[0] += f"（{counts}）"
    if result.removed:
        parts.append(f"撤回 {sum(result.removed.values())} 条已撤销或改标的样本")
    if result.skipped:
        parts.append(f"{result.skipped} 条因为是空的或超过 {unrecognised.EXAMPLE_MAX} 字没有写入")
    return (
        "，".join(parts)
        + f"。文件在 {result.folder}；运行 python -m intents train 并重启服务后生效。"
    )


@pages.post("/export")
@auth.page_access()
def export() -> Response:
    try:
        result = export_labels()
    except OSError as error:
        flash(f"无法写入训练数据目录 {labels_dir()}：{error.strerror or error}", "error")
        return back_to_list()
    flash(export_sentence(result))
    return back_to_list()


# -- the dashboard card -------------------------------------------------------------------------


def waiting_card(services: Services) -> list[Card]:
    db = services.db()
    waiting = unrecognised.count(db, NEW)
    today = services.now().date()
    days = [today - timedelta(days=n) for n in range(6, -1, -1)]
    received = unrecognised.received_per_day(db, days[0])
    alert = waiting > ALERT_ABOVE
    return [
        Card(
            title="待标注的消息",
            value=str(waiting),
            note=(
                f"超过 {ALERT_ABOVE} 条，请尽快标注"
                if alert
                else "机器人没听懂的话；下图为近 7 天收到的"
            ),
            series=[(str(d.day), float(received.get(d.isoformat(), 0))) for d in days],
            href=url_for("unrecognised.index"),
            alert=alert,
        )
    ]


# -- API -------------------------------------------------------------------------------------


class GuessSchema(ma.Schema):
    intent = ma.fields.String()
    label = ma.fields.String(metadata={"description": "the intent's Chinese name"})
    confidence = ma.fields.Float()


class UnrecognisedSchema(ma.Schema):
    id = ma.fields.Integer()
    channel = ma.fields.String(metadata={"description": "mp (公众号) or work (企业微信)"})
    reader = ma.fields.String(
        metadata={"description": "a short hash of the reader's id (as in the logs), not the id"}
    )
    text = ma.fields.String()
    received_at = ma.fields.String(metadata={"description": "ISO 8601, Asia/Shanghai"})
    reason = ma.fields.String(metadata={"description": "out_of_scope or ambiguous"})
    guesses = ma.fields.List(ma.fields.Nested(GuessSchema), metadata={"description": "top 3"})
    chosen_intent = ma.fields.String(
        allow_none=True, metadata={"description": "the guess the reader picked, if any"}
    )
    status = ma.fields.String(metadata={"description": "new, labelled or ignored"})
    label = ma.fields.String(allow_none=True)
    labelled_by = ma.fields.String(allow_none=True)
    labelled_at = ma.fields.String(allow_none=True)
    exported_at = ma.fields.String(allow_none=True)


class ListArgs(PageArgs):
    status = ma.fields.String(
        load_default=NEW,
        validate=ma.validate.OneOf([*STATUSES, ALL]),
        metadata={"description": "new (default), labelled, ignored or all"},
    )
    reason = ma.fields.String(
        validate=ma.validate.OneOf(REASONS),
        metadata={"description": "out_of_scope or ambiguous (default: any)"},
    )


class LabelArgs(ma.Schema):
    intent = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(sorted(INTENTS), error="not an intent of the catalogue"),
        metadata={"description": "an intent name of the catalogue (crisis included)"},
    )


class ExportSchema(ma.Schema):
    folder = ma.fields.String(metadata={"description": "the labels folder (LIBBOT_LABELS_DIR)"})
    written = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "new example lines, per intent"},
    )
    removed = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "lines taken out (labels undone or changed), per intent"},
    )
    rows = ma.fields.Integer(metadata={"description": "labelled messages exported this time"})
    skipped = ma.fields.Integer(
        metadata={"description": f"of those, empty or over {unrecognised.EXAMPLE_MAX} characters"}
    )
    total = ma.fields.Integer(metadata={"description": "new example lines in all"})


UnrecognisedPage = page_of(UnrecognisedSchema, "UnrecognisedPage")


def _found(after: dict[str, Any] | None) -> dict[str, Any]:
    if after is None:
        abort(404, description="no such message")
    return item_json(after)


@api.get("/")
@auth.api_access()  # before the arguments: no token is 401, whatever the query
@api.arguments(ListArgs, location="query")
@api.response(200, UnrecognisedPage)
def api_list(args: dict[str, Any]) -> dict[str, Any]:
    """Messages the bot did not understand, newest first."""
    limit, skip = offset(args)
    rows, total = unrecognised.page(
        auth.runtime().services.db(), args["status"], args.get("reason", ""), limit, skip
    )
    return paginate([item_json(r) for r in rows], total, args)


@api.post("/<int:row_id>/label")
@auth.api_access()
@api.arguments(LabelArgs)
@api.response(200, UnrecognisedSchema)
def api_label(args: dict[str, Any], row_id: int) -> dict[str, Any]:
    """Label a message with the intent it was (exported as training data later)."""
    return _found(apply("label", row_id, args["intent"]))


@api.post("/<int:row_id>/ignore")
@api.response(200, UnrecognisedSchema)
@auth.api_access()
def api_ignore(row_id: int) -> dict[str, Any]:
    """Set a message aside: nothing to learn from it."""
    return _found(apply("ignore", row_id))


@api.post("/<int:row_id>/reset")
@api.response(200, UnrecognisedSchema)
@auth.api_access()
def api_reset(row_id: int) -> dict[str, Any]:
    """Undo a label or an ignore; an exported label leaves the files at the next export."""
    return _found(apply("reset", row_id))


@api.post("/export")
@api.response(200, ExportSchema)
@auth.api_access()
def api_export() -> dict[str, Any]:
    """Write the labels into LIBBOT_LABELS_DIR (`<intent>.txt`); `python -m intents train`
    then learns from them. Exporting again adds nothing new."""
    try:
        result = export_labels()
    except OSError as error:
        abort(500, description=f"cannot write the labels folder: {error.strerror or error}")
    return export_json(result)


PLUGIN = Plugin(
    name="unrecognised",
    pages=pages,
    api=api,
    nav=(NavItem("没听懂的消息", "unrecognised.index"),),
    cards=(waiting_card,),
    order=70,
)
