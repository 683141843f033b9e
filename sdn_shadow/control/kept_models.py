"""The forecast models kept in the history database: loaded at start, saved after fits.

A model is saved after it is fitted, at most every `MODEL_SAVE` seconds and
only if it is not the one already saved, so a round that reuses its models
writes nothing, and one that refits writes the slots it refitted (and forgets
the period groups no series uses any more). The write
runs outside the controller's lock (measured: ~100 ms and 5.3 MB for 10k
series; loading them back at start, ~20 ms).

The live recalibration of the intervals is kept beside them, every
`CALIBRATION_SAVE` seconds once any forecast's outcome is known (not the
forecasts still awaiting theirs), also outside the lock, and restored at
start, so a restarted controller's first round scales its intervals as the
last one before the restart did.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Mapping

from sdn_shadow.forecast.conformal import RECALIBRATION_MIN, RECALIBRATION_WINDOW
from sdn_shadow.forecast.live_calibration import Calibration, from_state, state_arrays
from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.forecast.round import FittedModel, restore, to_record
from sdn_shadow.telemetry.model_store import CalibrationRecord, ModelStore

LOG = logging.getLogger("sdn_shadow")
MODEL_SAVE = 60.0  # seconds at least between saves of refitted models
CALIBRATION_SAVE = 300.0  # seconds at least between saves of the live calibration


class KeptModels:
    """A model store and which estimator each of its slots holds."""

    def __init__(self, store: ModelStore, calibration_every: float = CALIBRATION_SAVE) -> None:
        self.store = store
        self.written: dict[str, object] = {}  # slot -> the estimator saved there
        self.saved_at = -math.inf
        self.gone: list[str] = []  # saved slots the round's models no longer have
        self.calibration_every = calibration_every
        self.calibration_written: Calibration | None = None  # the one saved or loaded
        self.calibration_saved_at = -math.inf

    def load(self, template: SlidingWindowForecaster) -> tuple[dict[str, FittedModel],
                                                               list[str]]:
        """The saved models that `template`'s forecaster can use, and why the others can't."""
        records, problems = self.store.load()
        if self.store.dropped:
            problems.insert(0, f"{self.store.dropped}: dropped")
        models = {}
        for record in records:
            model = restore(record, template)
            if isinstance(model, str):
                problems.append(f"saved model {record.name!r} not used: {model}")
            else:
                models[record.name] = model
                self.written[record.name] = model.estimator
        return models, problems

    def load_calibration(self, level: float) -> tuple[Calibration | None, list[str]]:
        """The kept live calibration, if there is one for intervals of `level`; why not."""
        record, problems = self.store.load_calibration()
        if record is None:
            return None, problems
        if record.level != level:
            return None, [*problems, f"the kept calibration is for level {record.level:g}, "
                                     f"the forecasts' is {level:g}"]
        try:
            calibration = from_state(record.level, record.keys, record.arrays)
        except ValueError as e:
            return None, [*problems, f"the kept calibration not used: {e}"]
        self.calibration_written, self.calibration_saved_at = calibration, record.saved_at
        ready = int((calibration.pushed >= RECALIBRATION_MIN).sum())
        LOG.info("live calibration reloaded: %d series, %d with %d+ scores (saved at %.0f)",
                 len(calibration.keys), ready, RECALIBRATION_MIN, record.saved_at)
        return calibration, problems

    def keep_calibration(self, calibration: Calibration | None, now: float) -> list[str]:
        """Save the live calibration if a save is due at `now`, it changed and it knows
        an outcome; log lines saying what was not kept."""
        if (calibration is None or calibration is self.calibration_written
                or now - self.calibration_saved_at < self.calibration_every
                or not calibration.pushed.any()):
            return []
        self.calibration_written, self.calibration_saved_at = calibration, now
        start = time.perf_counter()
        try:
            size = self.store.save_calibration(CalibrationRecord(
                calibration.level, calibration.keys, now, state_arrays(calibration)))
        except (sqlite3.Error, ValueError) as e:
            return [f"live calibration not kept: {e}"]
        LOG.debug("live calibration kept: %d series, %.1f MB (of at most %d scores each), "
                  "%.0f ms", len(calibration.keys), size / 1e6, RECALIBRATION_WINDOW,
                  1e3 * (time.perf_counter() - start))
        return []

    def due(self, models: Mapping[str, FittedModel], now: float) -> list[FittedModel]:
        """The models to save at `now`: fitted since their slot was saved, if a save is due."""
        if now - self.saved_at < MODEL_SAVE:
            return []
        self.gone = [name for name in self.written if name not in models]
        return [m for m in models.values() if self.written.get(m.name) is not m.estimator]

    def keep(self, models: Mapping[str, FittedModel], now: float,
             calibration: Calibration | None = None) -> list[str]:
        """Save those of a round's `models` that are due at `now` and forget the slots it
        no longer has, if there are any, then the live `calibration` if its save is due;
        log lines saying what was kept or not."""
        due = self.due(models, now)
        lines = self.save(due, now) if due or self.gone else []
        return [*lines, *self.keep_calibration(calibration, now)]

    def save(self, models: list[FittedModel], now: float) -> list[str]:
        """Save `models` (one transaction), forget the slots gone; log lines saying what
        was kept or not."""
        lines, records = [], []
        for name in self.gone:
            try:
                self.store.delete(name)
            except sqlite3.Error as e:
                lines.append(f"forecast model {name!r} not forgotten: {e}")
            self.written.pop(name, None)
        self.gone = []
        for model in models:
            self.written[model.name] = model.estimator  # tried once per fit
            try:
                records.append(to_record(model))
            except ValueError as e:
                lines.append(f"forecast model {model.name!r} not kept: {e}")
        self.saved_at = now
        if not records:
            return lines
        start = time.perf_counter()
        try:
            size = self.store.save(records)
        except (sqlite3.Error, ValueError) as e:
            return [*lines, f"forecast models not kept: {e}"]
        LOG.debug("forecast models %s kept: %d series, %.1f MB, %.0f ms",
                  ", ".join(r.name for r in records), sum(len(r.keys) for r in records),
                  size / 1e6, 1e3 * (time.perf_counter() - start))
        return lines

    def close(self) -> None:
        """Close the store."""
        self.store.close()
