"""Typed step parameters (issue 17): phrases become Enum members at the step, never deeper.

A phrase a feature writes either names a member of a type in harness/domain/phrases.py — and the
step receives that member — or matches no step at all (an undefined step `behave --dry-run`
reports), so no harness function ever parses English.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from behave.matchers import ParseMatcher

from harness.domain import phrases
from harness.domain.phrases import BadInput, CosToken, IfNoneMatch, McToken

REPO = Path(__file__).resolve().parents[2]


def _matcher(pattern: str) -> ParseMatcher:
    phrases.register_step_types()
    return ParseMatcher(lambda context, **kw: None, pattern)


@pytest.mark.parametrize("phrase_type", phrases.STEP_TYPES, ids=lambda t: t.__name__)
def test_every_phrase_of_a_type_converts_to_its_member(phrase_type) -> None:
    convert = phrases.converter(phrase_type)
    for member in phrase_type:
        assert re.fullmatch(convert.pattern, member.value), (member, convert.pattern)
        assert convert(member.value) is member


def test_a_step_receives_the_member_not_the_words() -> None:
    m = _matcher("a decision is requested from COS with {token:CosToken}")
    match = m.match("a decision is requested from COS with an expired token")
    assert match is not None
    assert [a.value for a in match.arguments] == [CosToken.EXPIRED]


def test_a_phrase_no_member_names_matches_no_step() -> None:
    m = _matcher("a decision is requested from COS with {token:CosToken}")
    assert m.match("a decision is requested from COS with a stolen token") is None
    held = _matcher('a client holds {token:McToken} with scope "{scope}"')
    args = held.match('a client holds an expired MC token with scope "policy:read"').arguments
    assert [a.value for a in args] == [McToken.EXPIRED, "policy:read"]


def test_phrases_with_regex_characters_match_only_themselves() -> None:
    # make_enum joins phrases into a regex unescaped: "*" or "." would match other text.
    m = _matcher("asking with {tag:IfNoneMatch} is answered")
    assert [a.value for a in m.match("asking with * is answered").arguments] == [IfNoneMatch.ANY]
    assert m.match("asking with ** is answered") is None
    sent = _matcher("the QA user sends {bad:BadInput}")
    assert sent.match("the QA user sends evidence as text/plain").arguments[0].value is BadInput.TEXT_PLAIN
    assert sent.match("the QA user sends evidence as textXplain") is None


def test_every_feature_step_is_defined() -> None:
    """behave --dry-run over every feature (environment.py registers the types, as in a real run)."""
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "behave"), "--dry-run", "-f", "plain", "features/"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out[-3000:]
    assert "undefined" not in out, out[-3000:]
    assert re.search(r"\b\d{2,} untested", out), out[-1000:]


def test_no_feature_has_an_actor_called_the_suite() -> None:
    said = [
        f"{p.name}:{n}: {line.strip()}"
        for p in sorted((REPO / "features").glob("*.feature"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\bthe suite\b", line, re.IGNORECASE)
    ]
    assert said == []


def test_no_harness_module_rewrites_sys_modules() -> None:
    # harness/domain/contracts.py used to pop `contracts` from sys.modules because steps/contracts.py
    # shadowed the package while behave loaded steps/; the *_steps.py names removed the cause.
    hits = [
        str(p.relative_to(REPO))
        for p in [*(REPO / "harness").rglob("*.py"), *(REPO / "steps").glob("*.py")]
        if "sys.modules" in p.read_text()
    ]
    assert hits == []
