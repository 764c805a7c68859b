"""`limits_of`: a key's or team's own limits over the configured defaults, built once per distinct set."""

from __future__ import annotations

import dataclasses

from onegate.accounting.reservations import limits_of
from onegate.apikeys import KeyRecord
from onegate.counters.protocol import Limits
from onegate.settings import LimitsConfig


def key(**limits: int | None) -> KeyRecord:
    blank = {f.name: None for f in dataclasses.fields(KeyRecord)}
    return KeyRecord(**blank | {"rpm": None, "tpm": None, "concurrent": None} | limits)


def test_own_limits_win_and_the_defaults_fill_the_rest():
    defaults = LimitsConfig(rpm=60, tpm=1000)
    assert limits_of(key(rpm=5, concurrent=2), defaults) == Limits(rpm=5, tpm=1000, concurrent=2)
    assert limits_of(None, defaults) == Limits(rpm=60, tpm=1000, concurrent=0)
    assert limits_of(key(), LimitsConfig()) == Limits()  # 0 = unlimited


def test_new_defaults_take_effect_at_once():  # a config reload gives a new LimitsConfig
    k = key(tpm=7)
    assert limits_of(k, LimitsConfig(rpm=1)).rpm == 1
    assert limits_of(k, LimitsConfig(rpm=2)).rpm == 2
    assert limits_of(k, LimitsConfig()).rpm == 0


def test_the_same_limits_are_built_once():
    assert limits_of(key(rpm=3), LimitsConfig()) is limits_of(key(rpm=3), LimitsConfig())
