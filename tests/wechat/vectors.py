"""Tencent's published sample vectors for the WeChat callback encryption protocols.

Data only. Every constant below is copied verbatim from Tencent's WXBizMsgCrypt demo code;
the ``expected_plaintext`` values are what those samples decrypt to. Each vector was checked
to be self-consistent: sha1 of the sorted [token, timestamp, nonce, ciphertext] equals
``msg_signature``, and the ciphertext decrypts (AES key = base64 of ``aes_key + "="``) to
``expected_plaintext`` with the vector's app/corp id as the trailing receiver id.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class OfficialAccountMessageVector:
    """公众号 encrypted message push: POST body plus URL query parameters."""

    token: str
    aes_key: str
    app_id: str
    timestamp: str
    nonce: str
    msg_signature: str
    body: str  # the posted XML, verbatim
    encrypt: str  # the <Encrypt> value inside ``body``
    expected_plaintext: str


@dataclass(frozen=True)
class WeComVerifyUrlVector:
    """企业微信 callback URL verification: GET query parameters."""

    token: str
    aes_key: str
    corp_id: str
    timestamp: str
    nonce: str
    msg_signature: str
    echostr: str  # already URL-decoded
    expected_plaintext: str  # what the server must echo back


@dataclass(frozen=True)
class WeComMessageVector:
    """企业微信 encrypted message push: POST body plus URL query parameters."""

    token: str
    aes_key: str
    corp_id: str
    timestamp: str
    nonce: str
    msg_signature: str
    body: str  # the posted XML, verbatim
    encrypt: str  # the <Encrypt> value inside ``body``
    expected_plaintext: str


# Tencent WXBizMsgCrypt sample (公众号), as published in Tencent's demo code (Sample.py).
# The body is a "compatible mode" push: plaintext fields sit next to <Encrypt>.
OFFICIAL_ACCOUNT_MESSAGE = OfficialAccountMessageVector(
    token="spamtest",
    aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    app_id="wx2c2769f8efd9abc2",
    timestamp="1409735669",
    nonce="1320562132",
    msg_signature="5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    body="<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>",
    encrypt="hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=",
    expected_plaintext=(
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
        "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
        "<CreateTime>1409735668</CreateTime>\n"
        "<MsgType><![CDATA[text]]></MsgType>\n"
        "<Content><![CDATA[abcdteT]]></Content>\n"
        "<MsgId>6054768590064713728</MsgId>\n"
        "</xml>"
    ),
)

# Tencent WXBizMsgCrypt sample (企业微信), as published in Tencent's WeCom demo code (Sample).
WECOM_VERIFY_URL = WeComVerifyUrlVector(
    token="QDG6eK",
    aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    corp_id="wx5823bf96d3bd56c7",
    timestamp="1409659589",
    nonce="263014780",
    msg_signature="5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    echostr="P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
    expected_plaintext="1616140317555161061",
)

# Tencent WXBizMsgCrypt sample (企业微信), as published in Tencent's WeCom demo code (Sample).
WECOM_MESSAGE = WeComMessageVector(
    token="QDG6eK",
    aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    corp_id="wx5823bf96d3bd56c7",
    timestamp="1409659813",
    nonce="1372623149",
    msg_signature="477715d11cdb4164915debcba66cb864d751f3e6",
    body="<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>",
    encrypt="RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==",
    expected_plaintext=(
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
        "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
        "<CreateTime>1409659813</CreateTime>\n"
        "<MsgType><![CDATA[text]]></MsgType>\n"
        "<Content><![CDATA[hello]]></Content>\n"
        "<MsgId>4561255354251345929</MsgId>\n"
        "<AgentID>218</AgentID>\n"
        "</xml>"
    ),
)
