"""The one progress bar (tfus.pipeline.progress.ProgressBar) in its three uses: steps, samples, epochs."""

from __future__ import annotations

import io

from rich.console import Console

from tfus.pipeline.progress import ProgressBar
from tfus.surrogates.training.logs import EpochProgress


def _console() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=120)


def test_step_callback_starts_at_first_update():
    console = _console()
    with ProgressBar("k-Wave", console=console) as bar:
        assert not bar.started  # nothing drawn before the first step
        for done in range(1, 4):
            bar(done, 3)
        assert bar.started
    assert not bar.started
    assert "k-Wave" in console.file.getvalue() and "3/3" in console.file.getvalue()


def test_tasks_with_fields_and_advance():
    console = _console()
    bar = ProgressBar(console=console, fields=("loss",))
    bar.start("epoch 1", total=4)
    bar.update(2, loss="0.5")
    bar.advance(2)
    bar.close()
    text = console.file.getvalue()
    assert "epoch 1" in text and "loss 0.5" in text and "4/4" in text


def test_disabled_draws_nothing():
    console = _console()
    bar = ProgressBar("x", console=console, enabled=False)
    bar(1, 2)
    bar.start("y", 3)
    bar.advance()
    bar.close()
    assert console.file.getvalue() == "" and not bar.started


def test_epoch_progress_is_the_same_bar():
    epochs = EpochProgress(enabled=False)
    assert isinstance(epochs, ProgressBar)
    epochs.start("epoch 1", 2)
    epochs.update(1, 0.25)
    epochs.close()
