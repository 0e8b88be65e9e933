"""Fixtures shared by the test modules."""

import os

import pytest

from rewards.sandbox import launcher

STRONG = os.geteuid() == 0


@pytest.fixture(params=["warm", "fresh"])
def sandbox_path(request, monkeypatch) -> str:
    """Run the test once on each sandbox path: forked by the warm server, and a fresh process.
    Both are used with root isolation and with a normal user's user namespace."""
    if request.param == "warm" and not launcher.capabilities().strong:
        pytest.skip("the warm path is only used with strong isolation (root or user namespace)")
    monkeypatch.setattr(launcher, "USE_ZYGOTE", request.param == "warm")
    return request.param
