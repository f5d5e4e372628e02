"""seam/strict_json.py: what the door refuses, and what a read of an old row turns into."""

from __future__ import annotations

import json

import pytest

from seam import keys, receipts, strict_json


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"x": NaN}', "non_finite_number"),
        ('{"x": -Infinity}', "non_finite_number"),
        ('{"x": 1e999}', "non_finite_number"),
        ('{"x": "\\ud800"}', "invalid_unicode"),
        ('{"\\udc00": 1}', "invalid_unicode"),
        ("[" * 1000 + "]" * 1000, "nesting_too_deep"),
        ("[" * 65 + "]" * 65, "nesting_too_deep"),
        ('{"x": ', "malformed_json"),
    ],
)
def test_loads_refuses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(strict_json.StrictJsonError) as caught:
        strict_json.loads(text.encode())
    assert caught.value.reason == reason


def test_loads_refuses_bytes_that_are_not_utf8() -> None:
    with pytest.raises(strict_json.StrictJsonError) as caught:
        strict_json.loads(b'{"x": "\xff"}')
    assert caught.value.reason == "malformed_json"


def test_loads_accepts_what_json_allows() -> None:
    text = '{"a": [1, 2.5, -3e10, "\\ud83d\\ude00", null, true], "b": ' + "[" * 63 + "]" * 63 + "}"
    assert strict_json.loads(text)["a"][3] == "\U0001f600"


def test_sanitize_makes_any_stored_value_strict_json() -> None:
    value = {"n": float("nan"), "i": [float("-inf")], "s": "a\ud800b", "\udfff": {"ok": 1}}
    clean = strict_json.sanitize(value)
    assert clean == {"n": None, "i": [None], "s": "a\ufffdb", "\ufffd": {"ok": 1}}
    strict_json.loads(json.dumps(clean, allow_nan=False))  # round-trips through the strict door


def test_sanitize_cuts_nesting_without_recursion() -> None:
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    clean = strict_json.sanitize({"d": deep})
    strict_json.check(clean)


def test_loads_stored_never_raises() -> None:
    assert strict_json.loads_stored('{"x": NaN}') == {"x": None}
    assert strict_json.loads_stored("[" * 5000) is None
    assert strict_json.loads_stored(b"\xff\xfe") is None


@pytest.mark.parametrize("timestamp", ["\xa0{ts}", "{ts}\xa0", "\u0661{ts}", " {ts}", "+{ts}", "{ts}\n"])
def test_receipt_timestamp_must_be_ascii_digits(timestamp: str) -> None:
    key = keys.generate()
    body = b"{}"
    headers = receipts.sign(body, key)
    headers[receipts.TIMESTAMP_HEADER] = timestamp.format(ts=headers[receipts.TIMESTAMP_HEADER])
    with pytest.raises(receipts.ReceiptSignatureError):
        receipts.verify(headers, body, key.public_key())
