"""telemetry ring, history and store: bounded windows, matrices, restart reload, retention."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from sdn_shadow.telemetry.history import History
from sdn_shadow.telemetry.ring import Windows
from sdn_shadow.telemetry.store import SeriesStore

PORT = "port:s1:1:rx_bps"
CLIENT = "client:10.0.0.1:tx_bps"
NET = "network:tenant-a:bps"
LINK = "link:s1:10-s2:10:bps"


def test_windows_are_bounded_and_ordered():
    w = Windows(window=4, capacity=1)
    for i in range(10):
        w.append(float(i), [PORT, CLIENT] if i % 2 else [PORT], [i * 10.0, -i][: 1 + i % 2])
    times, values = w.get(PORT)
    assert times.tolist() == [6.0, 7.0, 8.0, 9.0] and values.tolist() == [60, 70, 80, 90]
    times, values = w.get(CLIENT)
    assert times.tolist() == [3.0, 5.0, 7.0, 9.0] and values.tolist() == [-3, -5, -7, -9]
    assert w.get("nope")[0].size == 0
    assert w.series_keys() == [PORT, CLIENT] and len(w) == 2 and PORT in w


def test_windows_matrix_is_right_aligned_and_nan_padded():
    w = Windows(window=3)
    w.append(0.0, [PORT, NET], [1.0, 10.0])
    w.append(1.0, [PORT], [2.0])
    w.append(2.0, [PORT], [3.0])
    w.append(3.0, [PORT], [4.0])
    m = w.matrix([NET, "unknown", PORT], 5)
    assert m.shape == (3, 5)
    np.testing.assert_array_equal(m[0], [np.nan, np.nan, np.nan, np.nan, 10.0])
    assert np.isnan(m[1]).all()
    np.testing.assert_array_equal(m[2], [np.nan, np.nan, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(w.matrix([PORT], 2), [[3.0, 4.0]])
    assert w.matrix([], 3).shape == (0, 3)


def test_windows_load_then_append():
    w = Windows(window=3)
    w.load(LINK, np.arange(5.0), np.arange(5.0) * 2)
    assert w.get(LINK)[1].tolist() == [4.0, 6.0, 8.0]
    w.append(9.0, [LINK], [1.0])
    assert w.get(LINK)[0].tolist() == [3.0, 4.0, 9.0]
    with pytest.raises(ValueError):
        Windows(window=0)


def test_memory_only_store():
    store = SeriesStore(None, window=2, retention_s=10)
    store.append(1.0, {PORT: 5.0, NET: 7.0})
    store.append(2.0, {PORT: 6.0})
    store.append(3.0, {PORT: 8.0})
    assert store.window(PORT)[1].tolist() == [6.0, 8.0]
    assert store.history(PORT, 2.5)[1].tolist() == [8.0]
    np.testing.assert_array_equal(store.matrix([NET, PORT], 2), [[np.nan, 7.0], [6.0, 8.0]])
    store.append(4.0, {})
    assert store.series_keys() == [PORT, NET]


def test_restart_reloads_the_last_window_per_key(tmp_path):
    path = str(tmp_path / "series.db")
    with SeriesStore(path, window=3, retention_s=3600) as store:
        for i in range(6):
            store.append(100.0 + i, {PORT: float(i), CLIENT: i * 2.0, LINK: float("nan")})
        store.append(107.0, {NET: 42.0})
    with SeriesStore(path, window=3, retention_s=3600) as again:
        assert set(again.series_keys()) == {PORT, CLIENT, LINK, NET}
        times, values = again.window(PORT)
        assert times.tolist() == [103.0, 104.0, 105.0] and values.tolist() == [3.0, 4.0, 5.0]
        assert np.isnan(again.window(LINK)[1]).all()  # NaN survives as NULL
        assert again.window(NET)[1].tolist() == [42.0]
        assert again.history(CLIENT)[1].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        assert again.history(CLIENT, 101.0, 103.0)[0].tolist() == [101.0, 102.0]
        again.append(108.0, {PORT: 9.0})
        assert again.window(PORT)[1].tolist() == [4.0, 5.0, 9.0]
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = db.execute("SELECT sql FROM sqlite_master WHERE type = 'index'").fetchall()
        assert any("batches (t)" in (sql or "") for (sql,) in indexes)
    finally:
        db.close()


def test_retention_prunes_old_points_at_most_every_so_often(tmp_path):
    path = str(tmp_path / "series.db")
    store = SeriesStore(path, window=100, retention_s=10, prune_every_s=5)
    for now in range(0, 21):
        store.append(float(now), {PORT: float(now)})
    # pruned at t=0, 5, 10, 15, 20: the last at 20 kept t >= 10
    assert store.history(PORT)[0].tolist() == [float(t) for t in range(10, 21)]
    store.append(21.0, {PORT: 21.0})  # too soon to prune again
    assert store.history(PORT)[0][0] == 10.0
    assert store.window(PORT)[0].size == 22  # memory keeps its window regardless
    store.close()
    # a restart prunes against the newest point stored
    again = SeriesStore(path, window=100, retention_s=5)
    assert again.window(PORT)[0].tolist() == [16.0, 17.0, 18.0, 19.0, 20.0, 21.0]
    again.close()


def test_history_prune_counts_and_handles_all_old(tmp_path):
    history = History(str(tmp_path / "h.db"))
    history.append(1.0, ["a", "b"], [1.0, 2.0])
    history.append(2.0, ["a"], [3.0])
    assert history.latest_time() == 2.0
    assert history.prune(2.0) == 1  # the append at 1.0, both of its points
    assert history.points("b")[0].size == 0 and history.points("a")[1].tolist() == [3.0]
    assert history.prune(100.0) == 1
    assert history.prune(100.0) == 0 and history.latest_time() is None
    assert history.last(5) == {}
    history.close()


def test_reload_fills_slow_series_and_skips_dead_ones(tmp_path):
    history = History(str(tmp_path / "h.db"))
    history.append(0.0, ["dead"], [1.0])
    for step in range(1, 13):
        keys = ["every", "every-third"] if step % 3 == 0 else ["every"]
        history.append(float(step), keys, [float(step)] * len(keys))
    last = history.last(3)
    assert set(last) == {"every", "every-third"}  # "dead" was not in the last 3 appends
    assert last["every"][0].tolist() == [10.0, 11.0, 12.0]
    assert last["every-third"][0].tolist() == [6.0, 9.0, 12.0]  # read further back for it
    assert history.last(50)["dead"][1].tolist() == [1.0]
    assert history.points("every", 5.0, 7.0)[0].tolist() == [5.0, 6.0]
    assert history.points("unknown")[0].size == 0
    with pytest.raises(ValueError):
        history.append(13.0, ["a", "b"], [1.0])
    history.close()


def test_a_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE points (x)")
    db.commit()
    db.close()
    with pytest.raises(ValueError, match="not a series history"):
        History(str(path))


def test_ten_thousand_keys_per_append(tmp_path):
    keys = [f"port:s{i // 100}:{i % 100}:rx_bps" for i in range(10_000)]
    path = str(tmp_path / "many.db")
    with SeriesStore(path, window=8, retention_s=3600) as store:
        for step in range(10):
            store.append(float(step), {k: float(step + i) for i, k in enumerate(keys)})
        m = store.matrix(keys, 8)
        assert m.shape == (10_000, 8)
        np.testing.assert_array_equal(m[:, -1], np.arange(10_000) + 9.0)
    with SeriesStore(path, window=8, retention_s=3600) as again:
        np.testing.assert_array_equal(again.matrix(keys, 8), m)
