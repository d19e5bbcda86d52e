"""Trace replay: reading per-query tables (CSV, JSON Lines, Parquet, RouterBench pickles), the error for
every defect of a file, and the scenario that replays a trace (rows drawn with the seed, oracle on the
table's per-(model, task) means)."""

from __future__ import annotations

import dataclasses
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from gym_llmroute.env import LLMRouteEnv
from gym_llmroute.solvers import solve_typed_deploy
from gym_llmroute.trace import (
    Trace,
    TraceError,
    demo_trace,
    load_routerbench,
    load_trace,
    routerbench_family,
    trace_scenario,
    write_demo_trace,
    write_trace,
)
from gym_llmroute.world import potential_outcomes, sample_outcomes

# The trace extra (pandas, pyarrow) reads Parquet and RouterBench files; make test-min-deps runs without it.
pd = pytest.importorskip("pandas", reason="needs the trace extra: pip install -e '.[trace]'")

HEADER = "sample_id,task,cheap,cheap|cost,strong,strong|cost,coder,coder|cost"
ROWS = [
    "0,math,0,0.001,1,0.02,1,0.004",
    "1,code,1,0.002,1,0.03,1,0.005",
    "2,math,1,0.001,0,0.02,0,0.004",
    "3,chat,0,0.0005,1,0.01,0,0.002",
    "4,code,0,0.002,1,0.03,1,0.006",
    "5,math,0,0.001,1,0.02,0,0.004",
]


def write_csv(path: Path, header: str = HEADER, rows: list[str] = ROWS) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small(tmp_path) -> Path:
    return write_csv(tmp_path / "small.csv")


# ------------------------------------------------------------------------------ reading
def test_csv_trace_is_read_with_tasks_in_order_of_first_appearance(small):
    tr = load_trace(small)
    assert tr.model_names == ("cheap", "strong", "coder")
    assert tr.task_names == ("math", "code", "chat")
    assert tr.tasks.tolist() == [0, 1, 0, 2, 1, 0]
    np.testing.assert_array_equal(tr.rewards[:, 1], [1, 1, 0, 1, 1, 1])
    np.testing.assert_allclose(tr.mean_reward[0], [1 / 3, 2 / 3, 1 / 3])  # math rows 0, 2, 5
    np.testing.assert_allclose(tr.mean_cost[1], [0.002, 0.03, 0.0055])  # code rows 1, 4
    np.testing.assert_allclose(tr.task_mix, [0.5, 1 / 3, 1 / 6])


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_write_then_load_round_trips_every_format(small, tmp_path, suffix):
    tr = load_trace(small)
    again = load_trace(write_trace(tr, tmp_path / f"copy{suffix}"))
    assert (again.model_names, again.task_names) == (tr.model_names, tr.task_names)
    np.testing.assert_array_equal(again.tasks, tr.tasks)
    np.testing.assert_array_equal(again.rewards, tr.rewards)
    np.testing.assert_allclose(again.costs, tr.costs, rtol=1e-12)


def test_source_column_and_fractional_rewards_are_accepted(tmp_path):
    path = write_csv(tmp_path / "graded.csv", "source,a,a|cost", ["mt-bench,0.75,0.1", "mt-bench,0.5,0.3"])
    tr = load_trace(path)
    assert tr.task_names == ("mt-bench",)
    np.testing.assert_allclose(tr.mean_reward, [[0.625]])


# ------------------------------------------------------------------------------ defects
DEFECTS = [
    # (header, rows, pattern the message must match after the file name)
    ("sample_id,cheap,cheap|cost", ["0,1,0.1"], r"missing column 'task'"),
    (
        "task,cheap|cost,strong,strong|cost",
        ["math,0.1,1,0.2"],
        r"missing column 'cheap' \(the reward of model 'cheap'\)",
    ),
    ("task,cheap,strong", ["math,1,0"], r"no model columns: expected pairs '<model>'"),
    (HEADER, [ROWS[0], "1,code,,0.002,1,0.03,1,0.005"], r"row 2 \(line 3\), column 'cheap': missing value \(NaN\)"),
    (
        HEADER,
        [ROWS[0], ROWS[1], "2,math,1,nan,0,0.02,0,0.004"],
        r"row 3 \(line 4\), column 'cheap\|cost': missing value \(NaN\)",
    ),
    (
        HEADER,
        [ROWS[0], "1,code,1,0.002,1.5,0.03,1,0.005"],
        r"row 2 \(line 3\), column 'strong': reward 1.5 outside \[0, 1\]",
    ),
    (
        HEADER,
        [ROWS[0], ROWS[1], "2,math,1,0.001,0,0.02,0,-0.004"],
        r"row 3 \(line 4\), column 'coder\|cost': negative cost -0.004",
    ),
    (HEADER, ["0,math,0,0.001,abc,0.02,1,0.004"], r"row 1 \(line 2\), column 'strong': not a number: 'abc'"),
    (HEADER, ["0,math,0,0.001,,0.02,1,0.004", "1,code,1,0.002,,0.03,1,0.005"], r"model 'strong' has no rows"),
    (HEADER, ["0,,0,0.001,1,0.02,1,0.004"], r"row 1 \(line 2\), column 'task': empty task type"),
    (HEADER, ["0,math,0,0.001"], r"row 1 \(line 2\) has 4 fields but the header has 8"),
    (HEADER, [], r"has no data rows"),
]


@pytest.mark.parametrize(("header", "rows", "pattern"), DEFECTS)
def test_every_csv_defect_names_the_file_the_place_and_the_problem(tmp_path, header, rows, pattern):
    path = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(TraceError, match=r"trace file '.*bad\.csv'.*" + pattern):
        load_trace(path)


def test_empty_file_and_unknown_format_are_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(TraceError, match=r"trace file '.*empty\.csv' is empty"):
        load_trace(empty)
    other = tmp_path / "trace.xlsx"
    other.write_text("x")
    with pytest.raises(TraceError, match=r"trace file '.*trace\.xlsx': unknown format '\.xlsx'; use \.csv"):
        load_trace(other)
    with pytest.raises(TraceError, match=r"unknown format 'excel'"):
        load_trace(other, format="excel")
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        load_trace(tmp_path / "missing.csv")


def test_jsonl_defects_name_the_line(tmp_path):
    good = {"task": "math", "a": 1, "a|cost": 0.1}
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({"task": "math", "a": 0.5}) + "\n")
    with pytest.raises(TraceError, match=r"'.*t\.jsonl': row 2 \(line 3\), column 'a\|cost': missing value"):
        load_trace(path)
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(TraceError, match=r"'.*t\.jsonl': line 2 is not valid JSON"):
        load_trace(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps({"task": "math", "a": 2, "a|cost": 0.1}) + "\n")
    with pytest.raises(TraceError, match=r"row 2 \(line 2\), column 'a': reward 2.0 outside \[0, 1\]"):
        load_trace(path)


def test_parquet_nan_is_reported_with_its_row(tmp_path):
    df = pd.DataFrame({"task": ["x", "y", "x"], "m": [1.0, np.nan, 0.0], "m|cost": [0.1, 0.2, 0.3]})
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    with pytest.raises(TraceError, match=r"'.*t\.parquet': row 2, column 'm': missing value \(NaN\)"):
        load_trace(path)


def test_missing_pandas_gives_a_clear_error_for_parquet(small, tmp_path, monkeypatch):
    path = write_trace(load_trace(small), tmp_path / "t.parquet")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(
        ImportError, match=r"the parquet trace file '.*t\.parquet' needs pandas .*gym-llmroute\[trace\]"
    ):
        load_trace(path)
    assert load_trace(small).n_rows == 6  # CSV needs no pandas


class _Payload:
    """Unpickling this writes a marker file: what a malicious pickle could do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def test_pickles_are_refused_without_allow_pickle_and_never_opened(tmp_path):
    marker = tmp_path / "marker.txt"
    path = tmp_path / "routerbench_0shot.pkl"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    for load in (load_trace, load_routerbench):
        with pytest.raises(
            TraceError,
            match=r"refusing to read the pickle trace file '.*routerbench_0shot\.pkl': "
            r"unpickling a file can run arbitrary code\. Pass allow_pickle=True",
        ):
            load(path)
    assert not marker.exists()


def _routerbench_frame() -> pd.DataFrame:
    models = ["gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"]
    evals = ["mmlu-anatomy", "grade-school-math", "mbpp", "mmlu-virology", "mtbench", "consensus_summary"]
    data: dict[str, list] = {"sample_id": [f"s{i}" for i in range(6)], "prompt": ["q"] * 6, "eval_name": evals}
    data[models[0]] = [1.0, 1.0, 1.0, 0.0, 0.9, 0.6]
    data[models[0] + "|model_response"] = ["..."] * 6
    data[models[0] + "|total_cost"] = [0.01, 0.02, 0.015, 0.01, 0.03, 0.02]
    data[models[1]] = [1.0, 0.0, 0.0, 1.0, 0.7, 0.4]
    data[models[1] + "|model_response"] = ["..."] * 6
    data[models[1] + "|total_cost"] = [0.0006, 0.0009, 0.0007, 0.0006, 0.001, 0.0008]
    data["oracle_model_to_route_to"] = [models[1]] * 6
    return pd.DataFrame(data)


def test_routerbench_pickle_is_read_with_explicit_opt_in_and_evals_map_to_families(tmp_path):
    path = tmp_path / "routerbench_0shot.pkl"
    _routerbench_frame().to_pickle(path)
    tr = load_routerbench(path, allow_pickle=True)
    assert tr.model_names == ("gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert tr.task_names == ("mmlu", "gsm8k", "mbpp", "mt-bench", "rag")
    assert tr.tasks.tolist() == [0, 1, 2, 0, 3, 4]
    np.testing.assert_allclose(tr.mean_reward[0], [0.5, 1.0])  # the two MMLU subjects
    np.testing.assert_allclose(tr.costs[:, 1], [0.0006, 0.0009, 0.0007, 0.0006, 0.001, 0.0008])
    raw = load_routerbench(path, allow_pickle=True, task_map=None)
    assert raw.task_names[:2] == ("mmlu-anatomy", "grade-school-math")
    # The same table as CSV needs no opt-in.
    csv_path = tmp_path / "routerbench.csv"
    _routerbench_frame().to_csv(csv_path, index=False)
    np.testing.assert_array_equal(load_routerbench(csv_path).rewards, tr.rewards)


def test_routerbench_family_mapping():
    assert [
        routerbench_family(e)
        for e in (
            "mmlu-professional-law",
            "hellaswag",
            "arc-challenge",
            "winogrande",
            "grade-school-math",
            "mbpp",
            "mtbench-math",
            "abstract2title",
        )
    ] == ["mmlu", "hellaswag", "arc-challenge", "winogrande", "gsm8k", "mbpp", "mt-bench", "rag"]


# ------------------------------------------------------------------------------ scenario
def test_trace_scenario_uses_the_tables_means_for_the_oracle(small):
    tr = load_trace(small)
    s = trace_scenario(tr, arrivals={"coder": 0.5}, cost_unit=0.01, budget=1.0, horizon=600, n_stages=4, max_deployed=2)
    assert s.task_types == ("math", "code", "chat") and s.n_models == 3
    np.testing.assert_allclose(s.quality_matrix, tr.mean_reward)
    np.testing.assert_allclose(s.cost_matrix, tr.mean_cost / 0.01)
    np.testing.assert_allclose(s.task_weights, [0.5, 1 / 3, 1 / 6])
    assert s.availability[:, 2].tolist() == [False, False, True, True]
    value, _ = solve_typed_deploy(
        s.quality_matrix[:, :2], s.cost_matrix[:, :2], s.task_weights, s.throughput[:2], 1.0, 2
    )
    assert s.oracle.values[0] == pytest.approx(value)
    # strong: 2/3 on math, 1 on code and chat = 5/6 on the mix, at cost 2.5 > b = 1 per query; the
    # oracle mixes strong and cheap at caps 0.5 each.
    assert s.oracle.values[0] == pytest.approx(s.oracle.values[1]) and s.oracle.values[3] >= s.oracle.values[0]


def test_trace_scenario_default_cost_unit_makes_the_priciest_model_cost_one(small):
    s = trace_scenario(load_trace(small), budget=0.5, max_deployed=3)
    assert s.mean_cost.max() == pytest.approx(1.0)
    assert s.horizon == 1728


def test_trace_scenario_refuses_unknown_models_and_drift(small):
    with pytest.raises(ValueError, match=r"arrivals: model\(s\) \['gpt-5'\] have no rows in trace file '.*small\.csv'"):
        trace_scenario(small, arrivals={"gpt-5": 0.3})
    s = trace_scenario(small, budget=1.0, max_deployed=2)
    with pytest.raises(ValueError, match="quality drift does not apply to replayed rewards"):
        s.replace(models=(s.models[0], dataclasses.replace(s.models[1], drift=-0.01), s.models[2]))


def test_replayed_queries_are_rows_of_the_table_drawn_with_the_seed(small):
    tr = load_trace(small)
    s = trace_scenario(tr, cost_unit=0.01, budget=1.0, horizon=3000, n_stages=3, max_deployed=2)
    rows = {
        (int(t), tuple(r), tuple(np.round(c, 9))) for t, r, c in zip(tr.tasks, tr.rewards, tr.costs / 0.01, strict=True)
    }
    counts: dict = {}
    for t in range(3000):
        task, rewards, costs = potential_outcomes(s, 5, t)
        key = (task, tuple(rewards), tuple(np.round(costs, 9)))
        assert key in rows
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6 and min(counts.values()) > 400  # each row about 500 times
    s2 = trace_scenario(tr, cost_unit=0.01, budget=1.0, horizon=3000, n_stages=3, max_deployed=2)
    assert all(
        np.array_equal(potential_outcomes(s, 5, t)[1], potential_outcomes(s2, 5, t)[1]) for t in range(0, 3000, 97)
    )


def test_price_change_scales_replayed_costs_and_the_oracles_stage_cost(small):
    s = trace_scenario(small, cost_unit=0.01, budget=1.0, horizon=1000, n_stages=2, max_deployed=2)
    models = list(s.models)
    models[1] = dataclasses.replace(models[1], price_changes=((0.5, 0.25),))
    cut = s.replace(models=tuple(models))
    _, _, before = sample_outcomes(s, np.random.default_rng(3), 1000)
    _, _, after = sample_outcomes(cut, np.random.default_rng(3), 1000)
    np.testing.assert_array_equal(after[:500], before[:500])
    np.testing.assert_allclose(after[500:, 1], 0.25 * before[500:, 1])
    np.testing.assert_array_equal(after[:, [0, 2]], before[:, [0, 2]])
    np.testing.assert_allclose(cut.stage_cost[1, :, 1], 0.25 * s.cost_matrix[:, 1])
    assert cut.cost_range == pytest.approx((s.cost_range[0], s.cost_range[1]))


def test_trace_env_replays_the_demo_trace_and_reports_the_oracle():
    env = LLMRouteEnv("trace", horizon=300, n_stages=3, budget_mode="average")
    obs, info = env.reset(seed=1)
    tr = demo_trace()
    assert env.scenario.model_names == tr.model_names and tr.n_rows == 600
    rng = np.random.default_rng(0)
    while True:
        obs, r, term, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if term:
            break
    assert info["queries_served"] == 300
    assert info["oracle_value"] == pytest.approx(env.scenario.oracle.total)
    assert env.scenario.oracle.total / 300 == pytest.approx(0.7366, abs=1e-4)


def test_shipped_demo_trace_is_regenerated_byte_for_byte(tmp_path):
    shipped = Path(__file__).resolve().parents[2] / "gym_llmroute" / "data" / "demo_trace.csv"
    again = write_demo_trace(tmp_path / "demo_trace.csv")
    assert again.read_bytes() == shipped.read_bytes()


def test_trace_object_repr_names_its_source(small):
    tr = load_trace(small)
    assert isinstance(tr, Trace) and "small.csv" in repr(tr) and "6 rows" in repr(tr)
