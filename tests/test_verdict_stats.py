"""The verdict rule on synthetic per-seed values: every outcome, a tie, a reversal."""

from __future__ import annotations

import math

import pytest

from odebench.report.verdict_stats import (
    CONTRADICTED,
    HOLDS,
    INCONCLUSIVE,
    all_of,
    beats,
    count_of,
    one_sample,
    reproduces,
    seeds_needed,
    two_sample,
    within,
)


def _seeds(*values: float) -> dict[int, float]:
    return dict(enumerate(values))


def test_a_clear_win_holds_with_its_interval():
    x, y = _seeds(10, 11, 9, 10, 12), _seeds(20, 22, 19, 21, 20)  # x lower: better
    result = beats(x, y, "lower")
    assert result.outcome == HOLDS and result.paired and result.n == 5
    assert result.effect == pytest.approx(10.0) and 0 < result.low < 10 < result.high


def test_a_clear_reversal_is_contradicted():
    x, y = _seeds(20, 22, 19, 21, 20), _seeds(10, 11, 9, 10, 12)
    result = beats(x, y, "lower")
    assert result.outcome == CONTRADICTED and result.high < 0


def test_a_tie_is_inconclusive_even_without_spread():
    nfe = _seeds(14, 14, 14, 14, 14)
    result = beats(nfe, dict(nfe), "lower")
    assert result.outcome == INCONCLUSIVE and result.effect == 0
    assert result.seeds_needed is None  # no effect: no number of seeds decides it


def test_a_noisy_small_difference_is_inconclusive_and_says_how_many_seeds():
    x, y = _seeds(1.0, 1.3, 0.8, 1.1, 0.9), _seeds(1.1, 1.0, 1.2, 1.05, 1.0)
    result = beats(x, y, "lower")
    assert result.outcome == INCONCLUSIVE and result.low < 0 < result.high
    assert result.seeds_needed is not None and result.seeds_needed > 5


def test_one_seed_is_always_inconclusive_for_a_comparison():
    result = beats(_seeds(1.0), _seeds(100.0), "lower")
    assert result.outcome == INCONCLUSIVE and result.n == 1 and "one seed" in result.note


def test_deterministic_values_are_decided_by_their_sign():
    assert beats(_seeds(10, 10, 10), _seeds(12, 12, 12), "lower").outcome == HOLDS
    assert beats(_seeds(12, 12, 12), _seeds(10, 10, 10), "lower").outcome == CONTRADICTED


def test_margin_is_part_of_the_claim():
    x, y = _seeds(90, 91, 89, 90), _seeds(100, 101, 99, 100)  # ~10 % lower
    assert beats(x, y, "lower", margin=0.05).outcome == HOLDS
    assert beats(x, y, "lower", margin=0.2).outcome == CONTRADICTED  # not 20 % lower
    # higher is better, on negative returns: m·|y| moves the bar up
    assert beats(_seeds(-5, -5.5, -4.5), _seeds(-10, -10.5, -9.5), "higher", 0.2).outcome == HOLDS
    assert beats(_seeds(-5, -5.5, -4.5), _seeds(-10, -10.5, -9.5), "higher", 0.8).outcome \
        == CONTRADICTED  # -5 is not above -10 + 0.8 · 10


def test_different_seeds_are_compared_unpaired():
    result = beats({0: 1.0, 1: 1.1, 2: 0.9}, {3: 2.0, 4: 2.1, 5: 1.9}, "lower")
    assert not result.paired and result.outcome == HOLDS


def test_thresholds():
    assert within(_seeds(0.01, 0.02, 0.015), 0.05, "lower").outcome == HOLDS
    assert within(_seeds(0.2, 0.3, 0.25), 0.05, "lower").outcome == CONTRADICTED
    assert within(_seeds(0.04, 0.06, 0.05), 0.05, "lower").outcome == INCONCLUSIVE
    single = within(_seeds(0.01), 0.05, "lower")
    assert single.outcome == HOLDS and math.isnan(single.low) and "one run" in single.note


def test_welch_interval_matches_scipy():
    from scipy import stats

    x, y = [3.1, 2.9, 3.4, 3.0], [2.0, 2.6, 2.2, 2.9, 2.4]
    result = two_sample(x, y)
    test = stats.ttest_ind(x, y, equal_var=False)
    interval = test.confidence_interval(confidence_level=0.90)
    assert (result.low, result.high) == pytest.approx((interval.low, interval.high))


def test_paired_interval_matches_scipy():
    from scipy import stats

    d = [0.3, 0.1, 0.4, -0.05, 0.2]
    result = one_sample(d)
    interval = stats.ttest_1samp(d, 0).confidence_interval(confidence_level=0.90)
    assert (result.low, result.high) == pytest.approx((interval.low, interval.high))


def test_seeds_needed_shrinks_with_the_effect_size():
    assert seeds_needed(1.0, 1.0) < seeds_needed(0.5, 1.0) < seeds_needed(0.25, 1.0)
    assert seeds_needed(0.0, 1.0) is None and seeds_needed(1.0, 0.0) is None


def test_combinations():
    assert all_of([beats(_seeds(1, 1), _seeds(2, 2), "lower")] * 2) == HOLDS
    assert all_of([beats(_seeds(1, 1), _seeds(2, 2), "lower"),
                   beats(_seeds(3, 3), _seeds(2, 2), "lower")]) == CONTRADICTED
    assert all_of([beats(_seeds(1, 1), _seeds(2, 2), "lower"),
                   beats(_seeds(1), _seeds(2), "lower")]) == INCONCLUSIVE
    assert count_of([HOLDS, HOLDS, CONTRADICTED, INCONCLUSIVE], 2) == HOLDS
    assert count_of([HOLDS, CONTRADICTED, CONTRADICTED, INCONCLUSIVE], 3) == CONTRADICTED
    assert count_of([HOLDS, INCONCLUSIVE, INCONCLUSIVE, CONTRADICTED], 3) == INCONCLUSIVE


def test_one_run_of_a_deterministic_experiment_is_decided_by_its_sign():
    result = beats(_seeds(1.0), _seeds(2.0), "lower", exact=True)
    assert result.outcome == HOLDS and "deterministic" in result.note
    assert beats(_seeds(3.0), _seeds(2.0), "lower", exact=True).outcome == CONTRADICTED
    assert beats(_seeds(2.0), _seeds(2.0), "lower", exact=True).outcome == INCONCLUSIVE
    assert within(_seeds(0.5), 1.0, "lower", exact=True).outcome == HOLDS
    assert beats(_seeds(1.0), _seeds(2.0), "lower").outcome == INCONCLUSIVE  # not exact


def test_a_printed_number_inside_the_runs_spread_is_reproduced():
    runs = [0.60, 0.62, 0.61, 0.63, 0.59]  # mean 0.61, sd ~0.0158: band ± ~0.0316
    inside, outside = reproduces(runs, 0.635), reproduces(runs, 0.65)
    assert inside.outcome == HOLDS and inside.effect == pytest.approx(0.0316 - 0.025, abs=1e-3)
    assert outside.outcome == CONTRADICTED and outside.effect < 0 and outside.n == 5
    assert "paper 0.65 vs ours 0.61" in outside.text()


def test_a_table_cell_of_one_run_is_inconclusive_and_zero_spread_uses_the_floor():
    assert reproduces([0.6], 0.6).outcome == INCONCLUSIVE
    assert reproduces([], 0.6).outcome == INCONCLUSIVE
    # equal runs (sd 0): the 1 % floor of |mean| decides, so round-off does not contradict
    assert reproduces([100.0, 100.0], 100.9).outcome == HOLDS
    assert reproduces([100.0, 100.0], 101.1).outcome == CONTRADICTED
