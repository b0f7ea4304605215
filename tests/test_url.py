"""The Explorer's view in the URL: a link reopens it, a bad value gets a message and a default."""
from __future__ import annotations

import pytest

from explorer.inputs.data import load_test_split
from explorer.maths.confidence import T_SLIDER_MAX, T_SLIDER_MIN
from explorer.model import registry
from tests.apptest import (
    app,
    assert_clean,
    live_data,
    metric,
    need_checkpoints,
    set_live_temperature,
)
from tests.markdown import outside_code_spans
from ui import safe_text, state, url


def test_parse_takes_a_good_link():
    view, problems = url.parse({"model": "mlp", "t": "2.5", "naive": "1", "example": "7"},
                               registry.names())
    assert view == {"model": "mlp", "t": 2.5, "naive": True, "example": 7} and problems == []


@pytest.mark.parametrize("params,name", [
    ({"model": "resnet"}, "model"), ({"t": "abc"}, "t"), ({"t": "nan"}, "t"),
    ({"t": "0"}, "t"), ({"t": "1e9"}, "t"), ({"naive": "yes"}, "naive"),
    ({"example": "-1"}, "example"), ({"example": "10000"}, "example"),
    ({"example": "<script>"}, "example"),
    ({"example": "\u00b2"}, "example"),  # '²'.isdigit() is True, int('²') raises
    ({"example": "\u0663"}, "example"),  # Arabic-Indic 3: int() takes it, a link never has it
    ({"example": "1" * 5000}, "example"),  # int() refuses over 4,300 digits
    ({"example": " 7"}, "example"), ({"t": "1_0"}, "t"), ({"t": " 2"}, "t"),
    ({"t": "infinity"}, "t"), ({"t": "1e999"}, "t"), ({"model": "cnn\n"}, "model"),
    ({"naive": "\u0661"}, "naive"), ({"model": "x" * 100_000}, "model"),
])
def test_parse_names_each_bad_value_and_drops_it(params, name):
    view, problems = url.parse(params, registry.names())
    assert view == {} and len(problems) == 1 and problems[0].startswith(f"{name}=")


@pytest.mark.parametrize("t", [T_SLIDER_MIN, T_SLIDER_MAX, "0.05", "20", "20.0", "2E1"])
def test_the_temperature_bounds_are_included(t):
    view, problems = url.parse({"t": str(t)}, registry.names())
    assert view == {"t": float(t)} and problems == []


PHISHING = ("x' [Your session expired: sign in again](http://127.0.0.1:9/phish) "
            "![t](http://127.0.0.1:9/track.png)")


@pytest.mark.parametrize("key", ["model", "t", "naive", "example"])
def test_a_bad_value_is_shown_as_literal_text_never_as_markup(key):
    _, (problem,) = url.parse({key: PHISHING}, registry.names())
    markup = outside_code_spans(problem)
    assert "](" not in markup and "http" not in markup and "[" not in markup
    assert f"`{PHISHING[:safe_text.SHOWN_CHARS]}`" in problem  # shown, cut, inside the span


def test_a_huge_value_is_echoed_as_a_short_prefix():
    _, (problem,) = url.parse({"model": "x" * 100_000}, registry.names())
    assert len(problem) < 200 and "99,968 more characters" in problem


def test_the_phishing_link_shows_one_warning_with_no_link(canvas):
    need_checkpoints("cnn")
    at = app()
    for key in ("model", "t", "naive", "example"):
        at.query_params[key] = PHISHING
    at.run()
    assert_clean(at)
    (warning,) = [w.value for w in at.warning if "link" in w.value]
    markup = outside_code_spans(warning)
    assert "](" not in markup and "http" not in markup
    assert all(f"{key}=`" in warning for key in ("model", "t", "naive", "example"))


def test_a_non_ascii_digit_in_example_keeps_the_shell_and_the_picker(canvas):
    need_checkpoints("cnn")
    at = app()
    at.query_params["example"] = "\u00b2"
    at.run()
    assert_clean(at)  # was a raw ValueError, and no sidebar model picker on that run
    assert at.selectbox(key=state.MODEL_KEY).value == registry.the(registry.DEFAULT)
    assert any("example=`²`" in w.value for w in at.warning)


def test_a_link_with_state_reopens_that_state(canvas):
    need_checkpoints("mlp")
    at = app()
    for key, value in {"model": "mlp", "t": "2.5", "naive": "1", "example": "7"}.items():
        at.query_params[key] = value
    at.run()
    assert_clean(at)
    assert at.session_state[state.MODEL_KEY] == "mlp"
    assert at.session_state[state.TEMPERATURE_KEY] == 2.5
    assert live_data(at, "charts")["temperature"] == 2.5
    assert metric(at, "True label") == str(load_test_split()[1][7])
    assert at.toggle(key="explorer_show_naive").value


def test_a_bad_url_value_gets_its_message_and_the_default(canvas):
    need_checkpoints("cnn")
    at = app()
    at.query_params["t"] = "abc"
    at.query_params["model"] = "resnet"
    at.run()
    assert not at.exception and not at.error
    (warning,) = [w.value for w in at.warning if "link" in w.value]
    assert "t=`abc`" in warning and "model=`resnet`" in warning
    assert at.session_state[state.TEMPERATURE_KEY] == 1.0
    assert at.session_state[state.MODEL_KEY] == registry.the(registry.DEFAULT)
    at.run()
    assert not [w for w in at.warning if "link" in w.value]  # said once


def test_the_url_follows_the_view(canvas):
    need_checkpoints("cnn")
    at = app().run()
    at.button(key="explorer_load_example").click().run()
    set_live_temperature(at, 3.0)
    assert at.query_params["t"] == ["3"] or at.query_params["t"] == "3"
    index = at.session_state[state.EXAMPLE_INDEX_KEY]
    assert index is not None and str(index) in str(at.query_params["example"])
    at.button(key="explorer_clear_canvas").click().run()
    assert "example" not in at.query_params
