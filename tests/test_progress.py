"""Progress on stderr only, and only when asked or on a terminal (issue 11, point 10)."""

from __future__ import annotations

import io

import pytest

from aimsflow.progress import Progress, progress_enabled


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("flag", "tty", "expected"),
    [(None, True, True), (None, False, False), (True, False, True), (False, True, False)],
)
def test_enabled_by_flag_else_by_terminal(flag, tty, expected):
    assert progress_enabled(flag, Stream(tty)) is expected


def test_default_stream_is_stderr(monkeypatch):
    monkeypatch.setattr("sys.stderr", Stream(tty=True))
    assert progress_enabled(None) is True
    monkeypatch.setattr("sys.stderr", Stream(tty=False))
    assert progress_enabled(None) is False


def test_disabled_writes_nothing():
    stream = Stream(tty=True)
    with Progress("verifying", enabled=False, stream=stream) as progress:
        for n in range(1, 11):
            progress(n, 10)
    assert stream.getvalue() == ""
    assert progress.done == 10  # still counts


def test_terminal_redraws_one_line_and_clears_it():
    stream = Stream(tty=True)
    with Progress("verifying", stream=stream, min_interval=0) as progress:
        progress.update(0, note="listing")
        progress(5, 10)
        progress(10, 10)
    text = stream.getvalue()
    assert "\n" not in text  # one line, redrawn in place
    assert text.split("\r")[1:4] == [
        "verifying listing",
        "verifying 5/10 (50%) listing",
        "verifying 10/10 (100%) listing",
    ]
    assert text.endswith("\r" + " " * len("verifying 10/10 (100%) listing") + "\r")


def test_a_shorter_line_blanks_the_rest_of_the_longer_one():
    stream = Stream(tty=True)
    progress = Progress("x", stream=stream, min_interval=0)
    progress.update(1, note="a long note")
    progress.update(2, note="")
    assert stream.getvalue().endswith("\rx 2" + " " * (len("x 1 a long note") - len("x 2")))


def test_forced_into_a_file_writes_whole_lines_throttled_plus_the_last():
    stream = Stream(tty=False)
    with Progress("reading records", enabled=True, stream=stream, min_interval=3600) as progress:
        for n in range(1, 101):
            progress(n, 100)
    # The first update is written, the 98 within the interval are not, the final one always is.
    assert stream.getvalue().splitlines() == ["reading records 1/100 (1%)", "reading records 100/100 (100%)"]
    assert "\r" not in stream.getvalue()
