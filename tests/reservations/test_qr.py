"""`python -m bot qr`: check-in codes for every space, made once at WeChat, printed as PNG
labels and A4 sheets; and the router turning a scanned 公众号 code's URL back into its scene.

The command runs as a subprocess on a small library config and a temporary database; what it
drew is read back with a real QR decoder (zxing-cpp), so a label that does not scan fails.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import segno
import zxingcpp
from PIL import Image, ImageOps
from pypdf import PdfReader
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.core.db import connect
from bot.dev.callback_client import WeChatPeer, reply_text
from bot.dev.fake_wechat import FakeWeChat
from bot.outbound import qr_sheets
from bot.outbound.qr import scene_for
from bot.outbound.qr_sheets import Face, label
from bot.wechat import words as messages
from handlers.kit.actions import Capability, Events, LibraryAction
from handlers.registry import CAPABILITIES
from handlers.reservations.spaces import Space
from tests.conftest import DELIVERY_KEYS, bot_env, post, python

CREATE = "/cgi-bin/qrcode/create"
LIBRARY = """
[[spaces.zones]]
id = "K3"
name = "三楼考研自习区"
floor = 3

[[spaces.zones]]
id = "T"
name = "各层研讨空间"
floor = 2

[[spaces.seats]]
zone = "K3"
prefix = "A"
from = 101
to = 130

[[spaces.rooms]]
id = "T201"
name = "201 研讨间"
zone = "T"
capacity = 6

[[spaces.cinema]]
id = "M3D"
name = "3D影院"
zone = "T"
capacity = 40
"""


def env(tmp_path: Path, fake: FakeWeChat | None = None) -> dict[str, str]:
    """The bot's settings for a run: the small library; with `fake`, a 公众号 account."""
    config = tmp_path / "library.toml"
    config.write_text(LIBRARY, encoding="utf-8")
    extra = {"library_config": str(config)}
    if fake is not None:
        assert fake.url is not None
        extra |= {**DELIVERY_KEYS, "wechat_api_base": fake.url, "work_api_base": fake.url}
    return bot_env(tmp_path, **extra)


def run_qr(tmp_path: Path, *args: str, fake: FakeWeChat | None = None) -> Any:
    return python("-m", "bot", "qr", "--out", str(tmp_path / "out"), *args, env=env(tmp_path, fake))


def decoded(image: Image.Image) -> list[Any]:
    return zxingcpp.read_barcodes(image.convert("L"))


def png_content(tmp_path: Path, space_id: str) -> str:
    (code,) = decoded(Image.open(tmp_path / "out" / "png" / f"{space_id}.png"))
    assert code.format == zxingcpp.BarcodeFormat.QRCode  # not a Micro QR: WeChat reads those not
    assert code.ec_level in ("M", "Q", "H")
    return str(code.text)


def stored(tmp_path: Path) -> dict[str, str]:
    db = connect(tmp_path / "served.sqlite3")
    try:
        return {row["scene"]: row["url"] for row in db.query("SELECT scene, url FROM qr_codes")}
    finally:
        db.close()


# -- without a 公众号: the scene itself ---------------------------------------------------------


def test_without_an_mp_account_each_label_scans_as_its_scene(tmp_path: Path) -> None:
    result = run_qr(tmp_path, "--only", "A101,t201,M3D")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("3 QR codes holding their scene strings")
    assert "3 PNG in" in result.stdout and "3 PDF (3 A4 pages)" in result.stdout
    assert png_content(tmp_path, "A101") == "seat:A101"
    assert png_content(tmp_path, "T201") == "room:T201"
    assert png_content(tmp_path, "M3D") == "room:M3D"
    # Seats are printed by zone, other spaces by type.
    assert sorted(p.name for p in (tmp_path / "out").glob("*.pdf")) == [
        "K3.pdf",
        "cinema.pdf",
        "discussion_room.pdf",
    ]
    assert stored(tmp_path) == {}


def test_a_zone_sheet_has_twelve_labels_a_page_that_all_scan(tmp_path: Path) -> None:
    result = run_qr(tmp_path, "--zone", "K3", "--format", "pdf")
    assert result.returncode == 0, result.stderr
    assert "30 QR codes" in result.stdout and "1 PDF (3 A4 pages)" in result.stdout
    assert not (tmp_path / "out" / "png").exists()
    pdf = PdfReader(tmp_path / "out" / "K3.pdf")
    assert len(pdf.pages) == 3  # 12 + 12 + 6
    width, height = (float(v) for v in pdf.pages[0].mediabox.upper_right)
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4, in mm
    scenes = [sorted(c.text for c in decoded(page.images[0].image)) for page in pdf.pages]
    assert scenes[0] == [f"seat:A{n}" for n in range(101, 113)]
    assert scenes[2] == [f"seat:A{n}" for n in range(125, 131)]


def test_type_filters_and_only_with_an_unknown_id_is_a_precise_error(tmp_path: Path) -> None:
    result = run_qr(tmp_path, "--type", "cinema", "--format", "png")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "out" / "png").iterdir()] == ["M3D.png"]

    result = run_qr(tmp_path, "--only", "A101,A999,Z1")
    assert result.returncode == 1
    assert result.stderr == "error: --only: no space A999, Z1 in the library config\n"
    result = run_qr(tmp_path, "--zone", "K9")
    assert result.stderr == "error: --zone: no zone 'K9'; the zones are K3, T\n"
    result = run_qr(tmp_path, "--zone", "T", "--type", "seat")
    assert result.stderr == "error: no space matches --type, --zone and --only together\n"


# -- with a 公众号: permanent codes, made once -------------------------------------------------


def test_with_an_mp_account_each_code_is_made_once_and_reused(
    tmp_path: Path, fake_wechat: FakeWeChat
) -> None:
    first = run_qr(tmp_path, "--only", "A101,T201", "--format", "png", fake=fake_wechat)
    assert first.returncode == 0, first.stderr
    assert "2 QR codes from the 公众号 (2 new, 0 already stored)" in first.stdout
    calls = fake_wechat.calls(path=CREATE)
    assert [c.body for c in calls] == [
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
        for scene in ("seat:A101", "room:T201")
    ]
    urls = {c.body["action_info"]["scene"]["scene_str"]: c.response["url"] for c in calls}
    assert stored(tmp_path) == urls
    assert png_content(tmp_path, "A101") == urls["seat:A101"]
    assert png_content(tmp_path, "T201") == urls["room:T201"]

    again = run_qr(tmp_path, "--only", "A101,T201,A102", "--format", "png", fake=fake_wechat)
    assert again.returncode == 0, again.stderr
    assert "3 QR codes from the 公众号 (1 new, 2 already stored)" in again.stdout
    later = fake_wechat.calls(path=CREATE)[len(calls) :]
    assert [c.body["action_info"]["scene"]["scene_str"] for c in later] == ["seat:A102"]
    assert png_content(tmp_path, "A101") == urls["seat:A101"]  # the same code, printed again


def test_a_wechat_refusal_is_one_line_and_keeps_the_codes_made_before_it(
    tmp_path: Path, fake_wechat: FakeWeChat
) -> None:
    refused = {"action_info": {"scene": {"scene_str": "room:T201"}}}
    fake_wechat.inject(path=CREATE, errcode=45009, match=refused)
    result = run_qr(tmp_path, "--only", "A101,A102,T201,M3D", fake=fake_wechat)
    assert result.returncode == 1
    assert result.stderr == (
        "error: WeChat did not make the QR code for room:T201: "
        "45009: reach max api daily quota limit (2 made before it in this run are stored)\n"
    )
    assert set(stored(tmp_path)) == {"seat:A101", "seat:A102"}
    assert not (tmp_path / "out").exists()  # nothing half-printed

    result = run_qr(tmp_path, "--only", "A101,A102,T201,M3D", fake=fake_wechat)
    assert result.returncode == 0, result.stderr
    assert "(2 new, 2 already stored)" in result.stdout
    made = [c.body["action_info"]["scene"]["scene_str"] for c in fake_wechat.calls(path=CREATE)]
    assert made == ["seat:A101", "seat:A102", "room:T201", "room:T201", "room:M3D"]


# -- the labels themselves --------------------------------------------------------------------

SEAT = Space("A101", "seat", "A101 号座", "K3", 3)


@pytest.mark.parametrize("face", [qr_sheets.find_cjk_font(), None], ids=["cjk-font", "no-font"])
def test_a_label_scans_and_keeps_its_quiet_zone_clear(face: Face | None) -> None:
    content = "http://weixin.qq.com/q/02y-MuBZPJfu210000w07C"
    image = label(SEAT, "三楼考研自习区", content, face)
    (code,) = decoded(image)
    assert code.text == content
    modules = segno.make_qr(content, error="m").symbol_size(scale=1, border=0)[0]
    module = qr_sheets.qr_image(content).width // (modules + 8)
    # The code is the topmost ink, a square of its modules; then white all round it, four
    # modules at least, before the label's edges and before the text below.
    ink = ImageOps.invert(image.convert("L"))
    side = modules * module
    top = ink.getbbox()[1]
    left, _, right, bottom = ink.crop((0, 0, image.width, top + side)).getbbox()
    assert (right - left, bottom) == (side, top + side)
    assert min(left, top, image.width - right) >= 4 * module
    assert ink.crop((0, bottom, image.width, bottom + 4 * module)).getbbox() is None
    assert ink.crop((0, bottom, image.width, image.height)).getbbox() is not None  # the text


def test_the_font_chosen_is_a_simplified_chinese_sans(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = [
        Face("/f/NotoSerifCJK-Regular.ttc", 2, "Noto Serif CJK SC Regular"),
        Face("/f/NotoSansCJK-Bold.ttc", 2, "Noto Sans CJK SC Bold"),
        Face("/f/NotoSansCJK-Regular.ttc", 0, "Noto Sans CJK JP Regular"),
        Face("/f/NotoSansCJK-Regular.ttc", 7, "Noto Sans Mono CJK SC Regular"),
        Face("/f/NotoSansCJK-Regular.ttc", 2, "Noto Sans CJK SC Regular"),
    ]
    monkeypatch.setattr(qr_sheets, "_fontconfig_faces", lambda: listed)
    assert qr_sheets.find_cjk_font() == listed[-1]
    monkeypatch.setattr(qr_sheets, "_fontconfig_faces", lambda: listed[:2])
    assert qr_sheets.find_cjk_font() == listed[1]


# -- the router: a 公众号 code scanned with WeCom's scan button ----------------------------------


SCANNED: list[str] = []  # the scene each run of the test action was given


class CheckIn(LibraryAction):
    NAME = "action_test_qr_check_in"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        SCANNED.append(tracker.latest_message["metadata"]["event_key"])
        dispatcher.utter_message(text="签到好了")
        return []


CHECK_IN = Capability(name="test_qr_check_in", actions=(CheckIn,), scenes={"seat:": CheckIn.NAME})


def scancode_push(peer: WeChatPeer, user: str, content: str) -> Any:
    account = peer.account
    return peer.sign(
        f"<xml><ToUserName><![CDATA[{account.receive_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[scancode_push]]></Event><EventKey><![CDATA[SCAN]]></EventKey>"
        "<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
        f"<ScanResult><![CDATA[{content}]]></ScanResult></ScanCodeInfo>"
        f"<AgentID>{account.agent_id}</AgentID></xml>"
    )


def test_a_scanned_mp_code_url_reaches_its_scenes_action(
    make_app: Any, work_peer: WeChatPeer, tmp_path: Path
) -> None:
    SCANNED.clear()
    client = make_app(capabilities=(*CAPABILITIES, CHECK_IN)).test_client()
    url = "http://weixin.qq.com/q/02y-MuBZPJfu210000w07C"
    db = connect(tmp_path / "guanban.sqlite3")
    db.execute(
        "INSERT INTO qr_codes (scene, url, ticket, created_at) VALUES (?, ?, ?, ?)",
        ["seat:A101", url, "gQH47joAAAAAAAAAASxodHRwOi8v", "2026-11-21T09:00:00+08:00"],
    )
    assert scene_for(db, url) == "seat:A101"
    assert scene_for(db, "seat:A102") == "seat:A102"

    def scan(content: str) -> str:
        response = post(client, scancode_push(work_peer, "zhangsan", content))
        assert response.status_code == 200
        return reply_text(work_peer.read_reply(response.data))

    assert scan(url) == "签到好了"
    assert scan("seat:A102") == "签到好了"  # a code holding its scene, as without a 公众号
    assert scan("http://weixin.qq.com/q/unknown") == messages.UNKNOWN_SCENE
    assert SCANNED == ["seat:A101", "seat:A102"]
