"""A simulated group: each person with their own physiology (PersonProfile) and seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from devices.packet import LinkState, Packet, StatusEvent
from devices.physiology import (
    PERSON_REST_HR_BPM,
    PERSON_REST_RMSSD_MS,
    SCENARIOS,
    PersonProfile,
    model_beats,
    rmssd_range_ms,
    scenario_expected_rmssd_ms,
)
from devices.simulated import SimulatedStrap, simulated_group
from tests import recordings
from trm_bio.errors import TrmBioError
from trm_bio.sources import GroupSources, open_group_sources


def rmssd(rr_ms: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(rr_ms) ** 2)))


def test_drawn_people_lie_in_the_resting_ranges_and_spread_over_them():
    people = [PersonProfile.draw(seed) for seed in range(300)]
    hr = np.array([p.resting_hr_bpm for p in people])
    rm = np.array([p.rest_rmssd_ms for p in people])
    assert PERSON_REST_HR_BPM[0] <= hr.min() and hr.max() <= PERSON_REST_HR_BPM[1]
    assert PERSON_REST_RMSSD_MS[0] <= rm.min() and rm.max() <= PERSON_REST_RMSSD_MS[1]
    # Spread over the ranges, not bunched: both ends are reached.
    assert hr.min() < 58 and hr.max() > 82 and rm.min() < 24 and rm.max() > 60
    # A faster resting heart goes with a lower RMSSD, as in real rest.
    assert np.corrcoef(hr, np.log(rm))[0, 1] < -0.3
    assert PersonProfile.draw(7) == PersonProfile.draw(7)


def test_real_resting_records_lie_inside_the_drawn_ranges():
    # The ranges come from published norms; the real rest at hand must fall inside them.
    if recordings.shared_data_dir() is None:
        pytest.skip("the shared real recordings are not here (set TRM_BIO_DATA)")
    normal = recordings.mitdb100().nn_ms()  # annotated normal-to-normal intervals
    peaks = recordings.drivedb_r_peaks_s("drive06")
    rest = peaks[(peaks >= 97) & (peaks < 1000)]  # drive06's first rest (README)
    rest_rr = np.diff(rest) * 1000.0
    rest_rr = rest_rr[(rest_rr > 300) & (rest_rr < 2000)]
    for rr in (normal, rest_rr):
        assert PERSON_REST_HR_BPM[0] <= 60000.0 / np.mean(rr) <= PERSON_REST_HR_BPM[1]
        assert PERSON_REST_RMSSD_MS[0] <= rmssd(rr) <= PERSON_REST_RMSSD_MS[1]


@pytest.mark.parametrize("index", range(4))
def test_each_person_beats_at_their_own_rate_and_variability(index):
    person = simulated_group(4, seed=11)[index]
    profile = person.profile
    assert profile is not None
    scenario = person.scenario
    # The model's own expected RMSSD at rest is the person's.
    assert scenario_expected_rmssd_ms(scenario, "rest") == pytest.approx(profile.rest_rmssd_ms)
    _, rr = model_beats(scenario, seed=person.seed, duration_s=600.0)
    # Mean HR: the scripted one about 1 % high, and a resting heart's slow wander (2.7 bpm,
    # 90 s) moves a 10-minute mean by about 1.5 bpm.
    assert 60000.0 / rr.mean() == pytest.approx(profile.resting_hr_bpm * 1.01, abs=4.5)
    low, high = rmssd_range_ms(scenario, "rest")
    for window in np.array_split(rr, 2):  # two 5-minute windows
        assert low <= rmssd(window) <= high


def test_reactivity_scales_the_scripted_change_and_leaves_the_script_alone():
    calm = PersonProfile(resting_hr_bpm=60.0, rest_rmssd_ms=40.0, reactivity=1.4)
    mild = PersonProfile(resting_hr_bpm=80.0, rest_rmssd_ms=40.0, reactivity=0.6)
    for person in (calm, mild):
        stress = person.apply("stress")
        rise = stress.at(540.0)["heart_rate_bpm"] - stress.at(0.0)["heart_rate_bpm"]
        assert rise == pytest.approx(25.0 * person.reactivity)
        assert stress.at(0.0)["heart_rate_bpm"] == pytest.approx(person.resting_hr_bpm)
        # RSA falls to the scripted fraction to the power of the reactivity.
        ratio = stress.at(540.0)["rsa_ms"] / stress.at(0.0)["rsa_ms"]
        assert ratio == pytest.approx((10.0 / 45.0) ** person.reactivity)
        assert (stress.name, stress.events, stress.phases) == (
            "stress",
            SCENARIOS["stress"].events,
            SCENARIOS["stress"].phases,
        )
    assert SCENARIOS["stress"].at(540.0)["heart_rate_bpm"] == pytest.approx(90.0)  # untouched


def test_a_strap_without_a_profile_plays_the_scenario_as_scripted():
    assert SimulatedStrap("calm").scenario is SCENARIOS["calm"]
    assert SimulatedStrap("calm").profile is None


def test_a_group_gives_each_person_an_id_a_seed_and_a_profile_of_their_own():
    group = simulated_group(8, "stress", seed=3, speed=4.0, duration_s=60.0, h10=True)
    assert [p.source_id for p in group] == [f"simulated-{i}" for i in range(1, 9)]
    assert len({p.seed for p in group}) == 8
    assert len({p.profile for p in group}) == 8
    assert all(p.speed == 4.0 and p.duration_s == 60.0 and p.h10 for p in group)
    assert all(p.scenario.name == "stress" for p in group)
    # A person is the same whatever the group's size, and the same seed gives the same group.
    smaller = simulated_group(3, "stress", seed=3)
    assert [(p.seed, p.profile) for p in smaller] == [(p.seed, p.profile) for p in group[:3]]
    other = simulated_group(3, "stress", seed=4)
    assert {p.seed for p in other}.isdisjoint(p.seed for p in smaller)


@pytest.mark.parametrize("n", [0, 9, -1])
def test_a_group_outside_one_to_eight_is_refused_with_one_sentence(n):
    with pytest.raises(ValueError) as caught:
        simulated_group(n)
    assert str(caught.value) == f"A simulated group has 1 to 8 people, not {n}."


def test_a_simulated_group_streams_each_person_under_their_own_id():
    sources, on_stop = open_group_sources(
        "simulated", people=3, seed=2, speed=math.inf, duration_s=30.0
    )
    assert isinstance(sources, GroupSources) and sources.strap_group is None
    assert on_stop == sources.stop
    sources.start()
    try:
        beats: dict[str, list[float]] = {}
        for source in sources:
            while True:
                item = source.get(10.0)
                assert item is not None, "the simulated strap stopped sending"
                if isinstance(item, Packet):
                    assert item.source_id == source.source_id
                    beats.setdefault(source.source_id, []).extend(item.rr_ms)
                elif isinstance(item, StatusEvent) and item.state == LinkState.DISCONNECTED:
                    break
        assert sorted(beats) == ["simulated-1", "simulated-2", "simulated-3"]
        series = list(beats.values())
        assert all(len(rr) > 15 for rr in series)
        assert series[0][:10] != series[1][:10] != series[2][:10]  # three different hearts
    finally:
        sources.stop()
    with pytest.raises(TrmBioError, match="Only a Bluetooth strap"):
        sources.restart(0)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"people": 9}, "1 to 8 people, not 9"),
        ({"people": 0}, "1 to 8 people, not 0"),
        ({"people": None}, "how many simulated people"),
        ({"people": 2, "scenario": "nap"}, "no simulated scenario"),
    ],
)
def test_a_bad_simulated_group_is_one_sentence(kwargs, words):
    with pytest.raises(TrmBioError) as caught:
        open_group_sources("simulated", **kwargs)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_lsl_has_no_group():
    with pytest.raises(TrmBioError, match="simulated people or Bluetooth straps"):
        open_group_sources("lsl", ["stream"])
