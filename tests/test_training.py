"""qmf_sim.training: determinism with a seed, divergence recorded (not raised), bad input, config."""
import json

import pytest

from qmf_sim.training import TrainConfig, run_training

# a tiny run on the digits set: fast (well under a second of training)
TINY = dict(width=32, steps=60, eval_steps=(20, 40), lr=0.05, sigma_w=1.5, levels=4, batch_size=16,
            train_eval_size=200, device="cpu")


def test_tiny_run_is_deterministic():
    a = run_training(TrainConfig(depth=3, seed=7, **TINY), threads=1)
    b = run_training(TrainConfig(depth=3, seed=7, **TINY), threads=1)
    assert a["status"] == "ok" and a["diverged_step"] is None
    assert [c["step"] for c in a["checkpoints"]] == [20, 40, 60]  # the last step is always evaluated
    assert a["checkpoints"] == b["checkpoints"]
    assert a["key"] == b["key"]
    c = run_training(TrainConfig(depth=3, seed=8, **TINY), threads=1)
    assert c["key"] != a["key"] and c["checkpoints"] != a["checkpoints"]
    # it learns something on the digits set (chance is 0.1; 60 steps of 16 give ~ 0.5-0.9)
    assert a["final_test_acc"] > 0.3


def test_record_states_every_value():
    r = run_training(TrainConfig(depth=2, **TINY), threads=1)
    cfg = r["config"]
    for k in ("momentum", "quantize_output", "loss", "sampling", "ste", "batch_size", "sigma_b", "lr",
              "sigma_w", "train_eval_size", "optimizer", "weight_decay", "seed", "dtype"):
        assert k in cfg
    assert cfg["momentum"] == 0.0 and cfg["quantize_output"] is False and cfg["sampling"] == "epoch"
    assert r["data"]["name"] == "digits" and r["data"]["n_train"] == 1397
    json.dumps(r, allow_nan=False)  # JSON-clean
    assert r["run"]["steps_per_s"] > 0


def test_divergence_is_recorded_not_raised():
    r = run_training(TrainConfig(depth=2, **{**TINY, "lr": 1e38}), threads=1)
    assert r["status"] == "diverged"
    assert isinstance(r["diverged_step"], int) and 1 <= r["diverged_step"] <= 60
    assert r["final_test_acc"] is None
    json.dumps(r, allow_nan=False)


def test_paper_defaults_and_lr_rule():
    c = TrainConfig(depth=50, sigma_w=1.0)
    assert (c.width, c.batch_size, c.steps, c.sigma_b, c.levels, c.ste) == (2048, 32, 1600, 0.0, 10, "clipped")
    assert c.eval_steps == (100, 200, 400, 800, 1600) and c.momentum == 0.0 and not c.quantize_output
    assert c.resolved().lr == 1e-3
    assert TrainConfig(depth=99, sigma_w=1.0).resolved().lr == 1e-3
    assert TrainConfig(depth=100, sigma_w=1.0).resolved().lr == 5e-4
    # round trip through a dict (what the JSONL and the Dask workers see)
    r = c.resolved()
    assert TrainConfig.from_dict(r.to_dict()) == r and TrainConfig.from_dict(r.to_dict()).key() == r.key()


@pytest.mark.parametrize("bad, match", [
    (dict(depth=1), "depth"), (dict(depth=0), "depth"), (dict(depth=2.5), "depth"),
    (dict(width=0), "width"), (dict(lr=0.0), "lr"), (dict(lr=-1e-3), "lr"),
    (dict(levels=1), "levels"), (dict(sigma_w=-1.0), "sigma_w"), (dict(steps=0), "steps"),
    (dict(sampling="bogus"), "sampling"), (dict(momentum=1.5), "momentum"),
])
def test_bad_input_raises_before_training(bad, match):
    kw = {**TINY, "depth": 3, **bad}
    with pytest.raises(ValueError, match=match):
        run_training(TrainConfig(**kw))


def test_unreadable_data_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images"):
        run_training(TrainConfig(depth=2, **{**TINY, "data": str(tmp_path)}))


def test_key_ignores_provenance_fields():
    a = TrainConfig(depth=3, sigma_w=1.0, lr=1e-3)
    b = TrainConfig(depth=3, sigma_w=1.0, lr=None, sigma_w_rule="opt", device="cpu")  # paper rule gives 1e-3
    assert a.key() == b.key()
    assert a.key() != TrainConfig(depth=3, sigma_w=1.0, lr=1e-3, momentum=0.9).key()


def test_empty_eval_steps_evaluates_the_last_step_only():
    # the device check times steps with eval_steps=(): the run is still evaluated once, at its last step
    from qmf_sim.training import TrainConfig, run_training

    rec = run_training(TrainConfig(depth=2, width=8, levels=4, sigma_w=1.0, lr=0.05, steps=5, eval_steps=(),
                                   train_eval_size=50, device="cpu"), threads=1)
    assert [c["step"] for c in rec["checkpoints"]] == [5]
