"""Paper 1, App. H: the STE slope with backward gain 1 (critical) against slope 1, in the sweep plan, the CLI
flag ``qmf train-depth --ste-slope`` and the analysis (qmf_sim.experiments.app_h)."""
import math

import pytest

from qmf_sym.activations import Staircase
from qmf_sym.backward import jacobian_moment
from qmf_sym.init import critical_init
from qmf_sym.maps import fixed_point


@pytest.mark.parametrize("N", [2, 3, 4, 10])
def test_critical_slope_is_qmf_inits_at_sigma_w_opt(N):
    from qmf_sim.training import critical_ste_slope, sigma_w_opt

    assert critical_ste_slope(N, sigma_w_opt(N)) == pytest.approx(float(critical_init(N).ste_slope), rel=1e-9)


@pytest.mark.parametrize("sw", [0.5, 2.0])
def test_critical_slope_gives_backward_gain_one(sw):
    from qmf_sim.training import critical_ste_slope

    s = critical_ste_slope(2, sw)
    Q = fixed_point(Staircase.uniform(2), sw).Q
    assert float(jacobian_moment(Q, sw, "clipped", s)) == pytest.approx(1.0, rel=1e-12)


def test_plan_pairs_the_same_runs_with_both_slopes():
    from qmf_sim.experiments import app_h as E

    runs, st = E.plan(quick=False)
    one = {(c.depth, c.levels, c.sigma_w, c.seed): c for r, c in runs if r == "1"}
    crit = {(c.depth, c.levels, c.sigma_w, c.seed): c for r, c in runs if r == "critical"}
    assert one.keys() == crit.keys() and len(one) == len(runs) // 2
    for k, c in one.items():
        assert c.ste_slope == 1.0 and crit[k].ste_slope != 1.0 and c.key() != crit[k].key()
    assert {c.sigma_w for (_, n, _, _), c in one.items() if n == 2} >= {0.5, 2.0}


def test_build_plan_ste_slope(capsys):
    from qmf_sim import cli
    from qmf_sim.experiments.trainable_depth import build_plan
    from qmf_sim.training import critical_ste_slope

    p = build_plan("quick", ste_slope="critical", panels=("levels",))
    for c in p["levels"]:
        assert c.ste_slope == pytest.approx(critical_ste_slope(c.levels, c.sigma_w))
    assert {c.ste_slope for c in build_plan("quick", ste_slope=0.7, panels=("levels",))["levels"]} == {0.7}
    with pytest.raises(ValueError, match="ste_slope"):
        build_plan("quick", ste_slope="gain")
    with pytest.raises(ValueError, match="ste_slope"):
        build_plan("quick", ste_slope=-1.0)
    for bad in ("gain", "-1", "nan"):
        assert cli.main(["train-depth", "--ste-slope", bad, "--out", "/nonexistent-qmf/x"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--ste-slope" in err[0]


def test_tiny_sweep_analysis(tmp_path):
    """Two depths x two seeds x both rules of a tiny sweep: every table complete, the paired difference is
    the mean of the per-seed differences, and the resumed sweep trains nothing."""
    from qmf_sim.experiments import app_h as E

    over = dict(depths=[2, 3], seeds=[0, 1], width=8, steps=10, lr=2e-2, levels=[2], sign_sigma_w=[],
                eval_steps=(5, 10))
    res = E.train(tmp_path, **over)
    t = E.analyse(res)
    assert len(t["depth"]) == 2 and len(t["boundaries"]) == 1
    assert {(r["rule"], r["depth"], r["step"]) for r in t["curves"]} == {
        (r, d, s) for r in E.RULES for d in (2, 3) for s in (5, 10)}
    recs = {(rule, c.depth, c.seed): res["records"][c.key()]["final_test_acc"] for rule, c in res["plan"]}
    for row in t["depth"]:
        d = row["depth"]
        diffs = [recs[("critical", d, s)] - recs[("1", d, s)] for s in (0, 1)]
        assert row["diff"] == pytest.approx(sum(diffs) / 2, abs=1e-12)
        assert row["diff_se"] == pytest.approx(abs(diffs[0] - diffs[1]) / 2, abs=1e-12)
    assert math.isclose(t["boundaries"][0]["midpoint"], 0.5 * (0.1 + t["boundaries"][0]["best"]))
    n = len(open(res["path"]).read().splitlines())
    E.train(tmp_path, **over)
    assert len(open(res["path"]).read().splitlines()) == n
