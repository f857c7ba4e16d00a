"""qmf_sim.io: strict JSON, CSV + sidecar, JSONL, all with provenance."""
import json
import math

import numpy as np
import pytest

from qmf_sim import io


def _strict(text):
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))


def test_write_json_is_strict(tmp_path):  # moved from test_cli.py; the payload now sits beside "provenance"
    p = io.write_json(tmp_path / "r.json", {"a": float("nan"), "b": [np.float64(1.5), math.inf], "c": np.arange(2)})
    text = p.read_text()
    assert "NaN" not in text and "Infinity" not in text
    obj = _strict(text)
    assert {k: v for k, v in obj.items() if k != "provenance"} == {"a": None, "b": [1.5, None], "c": [0, 1]}
    assert io.read_json(p) == {"a": None, "b": [1.5, None], "c": [0, 1]}


def test_json_list_payload_is_wrapped_and_read_back(tmp_path):
    recs = [{"N": 2, "x": float("inf")}, {"N": 3, "x": 0.5}]
    p = io.write_json(tmp_path / "t.json", recs)
    obj = _strict(p.read_text())
    assert set(obj) == {"records", "provenance"}
    assert io.read_json(p) == [{"N": 2, "x": None}, {"N": 3, "x": 0.5}]
    payload, prov = io.read_json(p, provenance=True)
    assert prov["qmf_version"] and payload[1]["N"] == 3


def test_read_json_of_a_plain_file(tmp_path):
    p = tmp_path / "plain.json"
    p.write_text('{"a": 1}')
    assert io.read_json(p) == {"a": 1} and io.read_json(p, provenance=True) == ({"a": 1}, None)


def test_csv_is_plain_and_has_a_sidecar(tmp_path):
    import csv

    p = io.write_csv(tmp_path / "x.csv", ["tau", "eps_g"], [[0.0, float("nan")], [1.0, 0.25]],
                     meta={"params": {"eta": 0.04}, "runs": 5}, seeds=[3])
    with p.open(newline="") as fh:  # a standard CSV reader sees only the header and the rows
        rows = list(csv.reader(fh))
    assert rows == [["tau", "eps_g"], ["0.0", ""], ["1.0", "0.25"]]
    side = _strict(io.sidecar_path(p).read_text())
    assert side["file"] == "x.csv" and side["columns"] == ["tau", "eps_g"]
    assert side["meta"] == {"params": {"eta": 0.04}, "runs": 5} and side["provenance"]["seeds"] == [3]
    assert io.sidecar_path(p).name == "x.csv.meta.json"


def test_jsonl_records_carry_provenance(tmp_path):
    p = tmp_path / "r.jsonl"
    io.append_jsonl(p, {"key": "a", "config": {"seed": 7}, "v": float("nan")})
    io.append_jsonl(p, {"key": "b", "provenance": {"given": True}})
    lines = [_strict(l) for l in p.read_text().splitlines()]
    assert lines[0]["v"] is None and lines[0]["provenance"]["seeds"] == [7]
    assert lines[1]["provenance"] == {"given": True}  # a record's own provenance is kept
    assert [r["key"] for r in io.read_jsonl(p)] == ["a", "b"]
    with pytest.raises(TypeError):
        io.append_jsonl(p, [1, 2])
