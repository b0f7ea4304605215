"""Shared fixtures: fake MNIST roots, the stand-in canvas, the browser and a served app."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from explorer.inputs.data import load_test_split
from tests.needs import REQUIRE_BROWSER_ENV, need_train_set, skip_or_fail

# The app hides error details from browsers (.streamlit/config.toml); tests want to read them.
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an uint8 array in MNIST's idx format (magic 0x0800 | ndim)."""
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="session")
def fake_mnist_root(tmp_path_factory) -> Path:
    """A torchvision-layout MNIST root whose "training" split is 1,200 shipped test images."""
    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images, labels = load_test_split()
    write_idx(raw / "train-images-idx3-ubyte", images[:1200])
    write_idx(raw / "train-labels-idx1-ubyte", labels[:1200])
    write_idx(raw / "t10k-images-idx3-ubyte", images[1200:1400])
    write_idx(raw / "t10k-labels-idx1-ubyte", labels[1200:1400])
    return root


@pytest.fixture(scope="session")
def train_root() -> Path:
    """The real MNIST root (tests.needs.need_train_set): tests marked train_set need it."""
    return need_train_set()


@pytest.fixture
def canvas(monkeypatch):
    """A stand-in canvas component (tests.apptest.FakeCanvas): set .image to 'draw'."""
    from tests.apptest import FakeCanvas, install_canvas

    fake = FakeCanvas()
    install_canvas(monkeypatch, fake.st_canvas)
    return fake


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Skip without Debian's chromium and pip's playwright; fail instead in CI."""
    from scripts.bench import browser

    problem = browser.browser_problem()
    if problem:
        skip_or_fail(problem, REQUIRE_BROWSER_ENV)


@pytest.fixture(scope="module")
def chromium(browser_ready):
    """Debian's chromium driven by pip's playwright, for one test module.

    NB: module scope, not session: a sync playwright left running would break the scripts
    (page_times, soak) that other modules run with their own sync playwright.
    """
    from playwright.sync_api import sync_playwright

    from scripts.bench import browser

    with sync_playwright() as playwright:
        instance = browser.launch_chromium(playwright)
        yield instance
        instance.close()


@pytest.fixture
def page(chromium):
    """(page, PageErrors) in a fresh browser context with the tall viewport (a module may
    define its own `page`)."""
    from scripts.bench import browser

    page, errors = browser.new_page(chromium)
    page.set_default_timeout(20_000)
    yield page, errors
    page.context.close()


@pytest.fixture(scope="module")
def app_url(chromium):
    """app.py (warm-up, then the pages) on a free port, shipped checkpoints, for one module."""
    from scripts.bench import browser

    # An empty EXPLORER_CHECKPOINT_DIR means checkpoints/, whatever the caller's shell set.
    server = browser.start_server(browser.ROOT / "app.py", env={"EXPLORER_CHECKPOINT_DIR": ""},
                                  timeout=90)
    yield server.url
    server.stop()
