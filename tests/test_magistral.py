from rewards.magistral import RewardBreakdown, Sample, score, score_many

GOOD = "<think>Two plus two makes four.</think> The answer is $\\boxed{4}$."


def test_full_marks_is_one_point_one():
    result = score("What is two plus two?", GOOD, task="math", answer="4")
    assert result == RewardBreakdown(0.1, 0.9, 0.0, 0.1)
    assert result.total == 1.1
    assert result.as_log_dict() == {"rewards/format": 0.1, "rewards/correct": 0.9,
                                    "rewards/length": 0.0, "rewards/language": 0.1}


def test_failed_gate_zeroes_everything():
    result = score("What is two plus two?", "The answer is $\\boxed{4}$.", task="math",
                   answer="4", length_tokens=10_000, l_max=100, l_cache=10)
    assert result.total == 0.0 and result.length == 0.0


def test_length_penalty_applies_only_past_the_free_zone():
    long = score("What is two plus two?", GOOD, task="math", answer="4", length_tokens=200,
                 l_max=100, l_cache=10)
    assert long.length == -0.1 and abs(long.total - 1.0) < 1e-12


def test_unparseable_reference_is_flagged_not_raised():
    result = score("What?", GOOD, task="math", answer="\\frac{")
    assert not result.scorable and result.correct == 0.0 and result.format == 0.1


def test_bad_inputs_score_zero():
    weird = ["", "<think>" * 1000, "\udcff\x00</think>", "<think></think>" + "\\boxed{" * 5000,
             "x" * 1_000_000, b"\xff\xfe".decode("utf-8", "replace")]
    results = score_many([Sample("q", text, "math", "1") for text in weird])
    assert [r.total for r in results] == [0.0] * len(weird)
