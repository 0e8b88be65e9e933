"""Fixtures shared by the test modules."""

import os
from pathlib import Path

import pytest
from shared_data import require_data

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


@pytest.fixture
def shared_data() -> Path:
    """The real data folder with every file the tests read; missing, the test fails (see
    tests/shared_data.py for the opt-out a developer without the data may use)."""
    return require_data()


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> str:
    """The embedded model's architecture and tokenizer at 2 layers x 64 wide, random weights.

    Why: the resume test is about checkpoint mechanics and data order, not what the model
    learns; at full size its eight optimizer checkpoints took 12 GB of disk (a CI machine's disk
    filled mid-save) and most of the test's time.
    """
    # Imported here: the sandbox tests also run as a normal user in a venv without torch.
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from reasoning_rl.model.loading import load_tokenizer, resolve_model_path

    source = resolve_model_path("embedded:smollm2-135m-instruct")
    config = AutoConfig.from_pretrained(source)
    config.update({"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128,
                   "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16})
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("small_model")
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    load_tokenizer(source).save_pretrained(folder)
    return str(folder)
