"""``platform usage --html``: the page, opened in headless Chromium, draws its charts.

The page comes from the real command against the KFP API double. Chromium (Debian's package,
``make install-chromium``) loads it from disk in two browsers at once: ``--dump-dom`` gives the
DOM it built, where each chart must be an SVG with one bar and one label per row; ``--screenshot``
gives a PNG, where each bar colour must cover as many pixels as the bars of that colour should.

No browser, no pass: a missing Chromium fails this test (it is never skipped), so CI cannot go
green without the charts having been drawn.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import kfp
import pytest
from doubles.kfp_api import KfpApiDouble

from platform_kit import usage_html
from platform_kit.catalog.registry import COMPONENTS

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is often too small for the renderer
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
WINDOW = (720, 760)  # the charts sit at the top of the page; the tables below need no pixels


def chromium(tmp_path: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    """Start headless Chromium with a fresh profile (``finish`` waits for it)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make install-chromium` (this test does not skip)")
    profile = tmp_path / f"profile-{name}"
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(browser: subprocess.Popen[bytes]) -> bytes:
    """Chromium's stdout; the test fails on a non-zero exit or after a minute."""
    try:
        out, err = browser.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        browser.kill()
        browser.communicate()
        pytest.fail("headless chromium did not finish within 60 s")
    assert browser.returncode == 0, err.decode(errors="replace")[-2000:]
    return out


# --- what the browser built --------------------------------------------------------------------


class ChartParser(HTMLParser):
    """Collects each chart's bars (their attributes) and label texts from a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict] = {}
        self._chart: str | None = None
        self._label: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "svg" and attributes.get("id"):
            self._chart = attributes["id"]
            self.charts[self._chart] = {"svg": attributes, "bars": [], "labels": [], "titles": []}
        elif self._chart and tag == "rect" and "bar" in attributes.get("class", "").split():
            self.charts[self._chart]["bars"].append(attributes)
        elif self._chart and tag == "text" and attributes.get("class") == "label":
            self._label = []
        elif self._chart and tag == "title" and attributes.get("id"):
            self.charts[self._chart]["titles"].append(attributes["id"])

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self._label.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "text" and self._label is not None and self._chart:
            self.charts[self._chart]["labels"].append("".join(self._label).strip())
            self._label = None
        elif tag == "svg":
            self._chart = None


# --- what the browser painted --------------------------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, pixels as RGB) of an 8-bit, non-interlaced RGB or RGBA PNG, with zlib alone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert header is not None
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour_type in (2, 6), header
    step = 3 if colour_type == 2 else 4
    stride = width * step
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    pixels: list[tuple[int, ...]] = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 2:  # up: the most common filter, done without a per-byte Python loop
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 1:  # sub
            for i in range(step, stride):
                line[i] = (line[i] + line[i - step]) & 0xFF
        elif kind == 3:  # average
            for i in range(stride):
                left = line[i - step] if i >= step else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                if i >= step:
                    left, corner = line[i - step], previous[i - step]
                else:
                    left = corner = 0
                up = previous[i]
                guess = left + up - corner
                to_left, to_up, to_corner = abs(guess - left), abs(guess - up), abs(guess - corner)
                if to_left <= to_up and to_left <= to_corner:
                    line[i] = (line[i] + left) & 0xFF
                elif to_up <= to_corner:
                    line[i] = (line[i] + up) & 0xFF
                else:
                    line[i] = (line[i] + corner) & 0xFF
        pixels.extend(tuple(line[i : i + 3]) for i in range(0, stride, step))
        previous = line
    return width, height, pixels


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


# --- the test ------------------------------------------------------------------------------------


@pytest.fixture()
def page(cli, example_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    now = datetime.now(UTC).replace(microsecond=0)
    runs = [
        ("perception", "train-detector", "SUCCEEDED", 1, ("sagemaker-training", "slack-notify")),
        ("perception", "train-detector", "FAILED", 2, ("sagemaker-training",)),
        ("perception", "eval-detector", "SUCCEEDED", 3, ("s3-probe",)),
        ("planning", "nightly-features", "FAILED", 20, ("batch-job",)),
        ("planning", "nightly-features", "FAILED", 21, ("batch-job",)),
        ("planning", "nightly-features", "SUCCEEDED", 22, ("batch-job",)),
        ("planning", "train-detector", "SUCCEEDED", 2, ("sagemaker-training", "tensorboard")),
    ]
    target = tmp_path / "usage.html"
    with KfpApiDouble(token="html-test-token") as double:
        for namespace, pipeline, state, days, tasks in runs:
            created = now - timedelta(days=days)
            double.seed_run(namespace, pipeline, state, created, created + timedelta(minutes=5), tasks)
        monkeypatch.setenv("KFP_TOKEN", double.token)
        monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "kfp-context.json"))
        code, _, err = cli(
            "usage", "--env", "dev", "--config-dir", str(example_config), "--kfp-url", double.url, "--html", str(target)
        )
    assert code == 0, err
    return target


def test_the_charts_render_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    # Two browsers at once: one dumps the DOM it built, the other takes a screenshot.
    screenshot = tmp_path / "usage.png"
    shooting = chromium(
        tmp_path, "shot", f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={screenshot}", page.as_uri()
    )
    dom = finish(chromium(tmp_path, "dom", "--dump-dom", page.as_uri())).decode()
    finish(shooting)

    # The DOM: three accessible charts, one bar and one label per row.
    parser = ChartParser()
    parser.feed(dom)
    charts = parser.charts
    assert list(charts) == list(usage_html.CHART_IDS)
    expected_labels = {
        "chart-team-runs": ["planning", "perception"],  # 4 and 3 runs
        "chart-pipeline-runs": ["nightly-features", "train-detector", "eval-detector"],  # 3, 3 and 1 runs
    }
    for chart_id, chart in charts.items():
        assert chart["svg"]["role"] == "img"
        assert chart["svg"]["aria-labelledby"] == f"{chart_id}-title {chart_id}-desc"
        assert f"{chart_id}-title" in chart["titles"]
        assert len(chart["bars"]) == len(chart["labels"]) > 0
        if chart_id in expected_labels:
            assert chart["labels"] == expected_labels[chart_id]
    assert charts["chart-component-success"]["labels"] == sorted(COMPONENTS)
    widths = [float(bar["width"]) for bar in charts["chart-pipeline-runs"]["bars"]]
    assert widths == [usage_html.TRACK, usage_html.TRACK, usage_html.TRACK / 3]
    # Nothing in the page may reach out: no scripts, stylesheets, images or fonts from elsewhere.
    assert "<script" not in dom and "<link" not in dom and " src=" not in dom

    # The pixels: every bar colour covers the area its bars should (within antialiasing).
    width, height, pixels = png_pixels(screenshot.read_bytes())
    assert (width, height) == WINDOW
    background = Counter(pixels).most_common(1)[0][0]
    assert background == (255, 255, 255)
    area: Counter[str] = Counter()
    for chart in charts.values():
        for bar in chart["bars"]:
            area[bar["fill"]] += round(float(bar["width"]) * float(bar["height"]))
    assert area[usage_html.RUNS_COLOUR] > 0 and area[usage_html.POOR] > 0

    def near(colour: tuple[int, ...], target: tuple[int, int, int]) -> bool:
        return all(abs(a - b) <= 6 for a, b in zip(colour, target, strict=True))

    painted = Counter(pixels)
    for fill, expected in area.items():
        target = rgb(fill)
        found = sum(count for colour, count in painted.items() if near(colour, target))
        assert abs(found - expected) <= 0.03 * expected + 40, (fill, found, expected)
