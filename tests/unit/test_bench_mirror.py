"""The mirror throughput figure pairs each run with the run without a mirror of its round."""

import statistics

import pytest

from bench.mirror import paired_ratio


def test_a_load_that_comes_and_goes_between_rounds_cancels_out() -> None:
    # measured this way: rounds 3-5 ran while another job loaded the box
    without = [786.0, 814.0, 249.0, 247.0, 240.0]
    with_ = [690.0, 650.0, 210.0, 197.0, 451.0]
    assert paired_ratio(with_, without) == pytest.approx(210.0 / 249.0)
    # the ratio of the medians said the mirror made iperf3 1.8 times faster
    assert statistics.median(with_) / statistics.median(without) > 1.8


def test_runs_must_pair_up() -> None:
    with pytest.raises(ValueError):
        paired_ratio([1.0, 2.0], [1.0])
