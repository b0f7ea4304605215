"""The Explorer's view in the URL: a link reopens it, a bad value gets a message and a default."""
from __future__ import annotations

import pytest

from explorer import registry
from explorer.data import load_test_split
from tests.apptest import (
    app,
    assert_clean,
    live_data,
    metric,
    need_checkpoints,
    set_live_temperature,
)
from ui import state, url


def test_parse_takes_a_good_link():
    view, problems = url.parse({"model": "mlp", "t": "2.5", "naive": "1", "example": "7"},
                               registry.names())
    assert view == {"model": "mlp", "t": 2.5, "naive": True, "example": 7} and problems == []


@pytest.mark.parametrize("params,name", [
    ({"model": "resnet"}, "model"), ({"t": "abc"}, "t"), ({"t": "nan"}, "t"),
    ({"t": "0"}, "t"), ({"t": "1e9"}, "t"), ({"naive": "yes"}, "naive"),
    ({"example": "-1"}, "example"), ({"example": "10000"}, "example"),
    ({"example": "<script>"}, "example"),
])
def test_parse_names_each_bad_value_and_drops_it(params, name):
    view, problems = url.parse(params, registry.names())
    assert view == {} and len(problems) == 1 and problems[0].startswith(f"{name}=")


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
    assert "t='abc'" in warning and "model='resnet'" in warning
    assert at.session_state[state.TEMPERATURE_KEY] == 1.0
    assert at.session_state[state.MODEL_KEY] == registry.DEFAULT_MODEL
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
