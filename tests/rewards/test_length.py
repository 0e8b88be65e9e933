import pytest

from rewards.length import soft_length_penalty


def test_free_zone_linear_ramp_and_floor():
    assert soft_length_penalty(0, 1000, 200) == 0.0
    assert soft_length_penalty(800, 1000, 200) == 0.0
    assert soft_length_penalty(850, 1000, 200) == pytest.approx(-0.025)
    assert soft_length_penalty(1000, 1000, 200) == -0.1
    assert soft_length_penalty(10**6, 1000, 200) == -0.1


def test_zero_cache_is_a_hard_step():
    assert soft_length_penalty(1000, 1000, 0) == -0.1
    assert soft_length_penalty(999, 1000, 0) == 0.0


def test_invalid_settings_raise():
    with pytest.raises(ValueError):
        soft_length_penalty(10, l_max=100, l_cache=200)
