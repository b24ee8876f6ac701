"""The query API on hand-built documents: the index, show, lineage, diff, and JSON output."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from query_docs import RATES, T0, document, file, pipeline, software, start

from yprov_workflows.errors import YProvError
from yprov_workflows.query import RunGraph, diff_runs, lineage, summarize_run
from yprov_workflows.query.diff import identities
from yprov_workflows.query.text import as_json, diff_lines, lineage_lines, show_blocks
from yprov_workflows.records import Code, StepRecord, Usage


def graph(steps: list[StepRecord] | None = None, **kwargs: object) -> RunGraph:
    return RunGraph.from_document(document(steps, **kwargs))  # type: ignore[arg-type]


# The index


def test_the_index_holds_steps_files_and_labels() -> None:
    g = graph()
    assert g.run_id == "r1" and g.engine == ("snakemake", "9.27.1")
    labels = sorted(g.label(s) for s in g.steps)
    assert labels == [
        "evaluate[lr=0.05]",
        "evaluate[lr=0.5]",
        "plot",
        "prepare",
        "report",
        "train[lr=0.05]",
        "train[lr=0.5]",
    ]
    (model,) = g.by_path["model_0.5.json"]
    assert g.label(model) == "model_0.5.json"
    assert [g.steps[s].name for s, _ in g.generators[model]] == ["train"]


def test_steps_alike_but_for_their_parameters_are_labelled_by_them() -> None:
    g = graph(pipeline(wildcards=False))
    assert sorted(g.label(s) for s in g.step_ids("train")) == ["train(lr=0.05)", "train(lr=0.5)"]


def test_a_document_shaped_as_prov_json_but_odd_is_indexed_without_surprises() -> None:
    odd = {
        "activity": {
            "s": [{"prov:type": ["wfprov:ProcessRun"], "prov:startTime": "not a time"}, {}],
            "t": {"prov:type": "wfprov:ProcessRun", "ywf:attempt": True, "ywf:cpu_total_s": 1e400},
        },
        "used": {"_:u": {"prov:activity": "s", "prov:entity": 5}},
        "wasGeneratedBy": {"_:g": [{"prov:entity": "e", "prov:activity": "s"}]},
    }
    g = RunGraph.from_document(odd)
    assert set(g.steps) == {"s", "t"} and g.steps["t"].attempt == 1
    assert g.steps["s"].start is None and g.generated == {"s": [("e", "")]}
    summary = summarize_run(g)
    assert summary.critical_path.steps == () and summary.run_id is None
    assert json.loads(as_json(summary))["steps"][0]["cpu_s"] is None


# show


def test_show_lists_failed_steps_first_and_the_critical_path() -> None:
    summary = summarize_run(graph())
    assert summary.status == "failed" and summary.duration_s == 9.0
    assert summary.steps[0].label == "plot" and summary.steps[0].status == "failed"
    assert [s.label for s in summary.steps[1:3]] == ["prepare", "train[lr=0.05]"]
    assert summary.critical_path.labels == (
        "prepare",
        "train[lr=0.5]",
        "evaluate[lr=0.5]",
        "report",
    )
    assert summary.critical_path.busy_s == 1 + 4 + 1 + 1
    assert summary.critical_path.span_s == 8.0
    train = {n.name: n for n in summary.by_name}["train"]
    assert (train.steps, train.failed, train.duration_s, train.cpu_s) == (2, 0, 7.0, 3.5)
    assert summary.headline.startswith("run r1: failed, 7 steps")
    assert any("hyper-parameters lr=0.05" in line for line in summary.tracked)


def test_show_text_limits_the_step_table_and_then_shows_steps_by_name() -> None:
    summary = summarize_run(graph())
    blocks = list(show_blocks(summary, 3))
    tables = [b for b in blocks if not isinstance(b, str)]
    assert len(tables[0].rows) == 3 and "--all" in tables[0].title
    assert tables[1].title == "steps by name" and len(tables[1].rows) == 5
    lines = [b for b in blocks if isinstance(b, str)]
    assert any(line.startswith("critical path: 4 steps, 7.00 s busy over 8.00 s") for line in lines)
    assert len([b for b in show_blocks(summary, None) if not isinstance(b, str)]) == 1


def test_energy_is_the_gpu_plus_the_attributed_cpu_energy() -> None:
    steps = pipeline()
    figures = {"wall_s": 1.0, "gpu_energy_j": 100.0, "cpu_energy_attributed_j": 20.5}
    steps[0] = replace(steps[0], usage=Usage(figures, "wait4"))
    row = next(r for r in summarize_run(graph(steps)).steps if r.label == "prepare")
    assert (row.gpu_energy_j, row.cpu_energy_j, row.energy_j) == (100.0, 20.5, 120.5)


def test_a_retry_follows_its_failed_attempt_on_the_critical_path() -> None:
    steps = pipeline()
    report = next(s for s in steps if s.name == "report")
    first = replace(report, status="failed", ended=report.started, outputs=())
    retry = replace(report, attempt=2, started=report.ended, ended=report.ended + (T0 - T0))
    steps = [s for s in steps if s.name != "report"] + [first, retry]
    path = summarize_run(graph(steps)).critical_path.labels
    assert path[-2:] == ("report", "report")


# lineage


def test_upstream_of_a_file_reaches_the_raw_data_and_every_parameter() -> None:
    g = graph()
    up = lineage(g, "report.json")
    steps = {n.label for n in up.of_kind("step")}
    assert steps == {
        "report",
        "evaluate[lr=0.05]",
        "evaluate[lr=0.5]",
        "train[lr=0.05]",
        "train[lr=0.5]",
        "prepare",
    }
    assert "data.csv" in {n.label for n in up.of_kind("file")}
    assert {n.label for n in up.of_kind("parameter")} >= {"seed=1", "epochs=150", "lr=0.5"}
    depths = {n.label: n.depth for n in up.nodes}
    assert depths["report.json"] == 0 and depths["report"] == 1 and depths["prepare"] == 3
    assert "plot" not in steps


def test_depth_counts_steps() -> None:
    g = graph()
    one = lineage(g, "report.json", depth=1)
    assert {n.label for n in one.of_kind("step")} == {"report"}
    assert {n.label for n in one.of_kind("file")} == {
        "report.json",
        "metrics_0.05.json",
        "metrics_0.5.json",
    }
    assert {n.label for n in lineage(g, "report.json", depth=0).nodes} == {"report.json"}
    with pytest.raises(YProvError, match="--depth"):
        lineage(g, "report.json", depth=-1)


def test_downstream_of_a_file_is_everything_derived_from_it() -> None:
    down = lineage(graph(), "model_0.5.json", "down")
    assert {n.label for n in down.of_kind("step")} == {"evaluate[lr=0.5]", "report"}
    assert {n.label for n in down.of_kind("file")} == {
        "model_0.5.json",
        "metrics_0.5.json",
        "report.json",
    }


def test_targets_by_path_sha256_prefix_step_name_label_and_key() -> None:
    g = graph()
    (model,) = g.by_path["model_0.5.json"]
    digest = g.entities[model]["ywf:sha256"]
    assert lineage(g, "./model_0.5.json").targets == (model,)
    assert lineage(g, digest).targets == (model,)
    assert lineage(g, f"sha256:{digest[:8].upper()}").targets == (model,)
    assert len(lineage(g, "train").targets) == 2
    (train,) = lineage(g, "train[lr=0.5]").targets
    assert lineage(g, "k-train-0.5").targets == (train,) == lineage(g, train).targets


def test_a_target_that_names_nothing_or_too_much_is_one_clear_error() -> None:
    g = graph()
    with pytest.raises(YProvError, match="'nope' is not a file path, sha256"):
        lineage(g, "nope")
    prefixes = {d[:6] for d in g.by_sha256}
    common = next(
        (p[:1] for p in prefixes if sum(d.startswith(p[:1]) for d in g.by_sha256) > 1), None
    )
    if common is not None:  # 6 digits are the minimum: a shorter prefix is no sha256 at all
        with pytest.raises(YProvError, match="not a file path"):
            lineage(g, common * 6)


def test_an_ambiguous_sha256_prefix_asks_for_more_digits() -> None:
    steps = pipeline()
    twins = (
        file("x.txt", "x"),
        replace(file("y.txt", "y"), sha256=file("x.txt", "x").sha256[:10] + "0" * 54),
    )
    steps[0] = replace(steps[0], outputs=(*steps[0].outputs, *twins))
    g = graph(steps)
    with pytest.raises(YProvError, match="fits 2 different contents"):
        lineage(g, twins[0].sha256[:8])  # type: ignore[index]


def test_lineage_text_lists_each_step_with_what_it_used() -> None:
    lines = list(lineage_lines(lineage(graph(), "model_0.05.json")))
    # lr is a parameter and a logged hyper-parameter of train: one entity, listed once
    assert lines[0] == "upstream of file model_0.05.json: 2 files, 3 parameters, 2 steps"
    assert lines[1] == "  [1] train[lr=0.05] (completed)"
    assert "      used: data.csv, lr=0.05, epochs=150" in lines
    assert json.loads(as_json(lineage(graph(), "report.json")))["direction"] == "up"


# diff


def test_the_same_run_is_identical_even_when_its_usage_changed() -> None:
    slower = [replace(s, usage=Usage({"wall_s": 10.0, "cpu_total_s": 9.0})) for s in pipeline()]
    result = diff_runs(graph(), graph(slower))
    assert result.identical and result.matched == 7 and not result.run_changes
    assert all(not s.changes for s in result.steps)
    deltas = {(s.label, d.figure) for s in result.steps for d in s.usage}
    assert ("prepare", "wall_s") in deltas
    assert diff_lines(result).__next__().startswith("run r1 -> run r1")
    assert list(diff_lines(result))[-1] == "the runs are the same (usage and times aside)"


def test_usage_below_the_noise_is_not_reported() -> None:
    def run(wall: float, rss: int) -> RunGraph:
        usage = Usage({"wall_s": wall, "max_rss_bytes": rss})
        return graph([replace(s, usage=usage) for s in pipeline()])

    assert not diff_runs(run(1.0, 100 << 20), run(1.05, 105 << 20)).steps  # under 10 %
    assert not diff_runs(run(0.05, 1 << 20), run(0.1, 1 << 19)).steps  # under 0.1 s, 1 MiB
    deltas = diff_runs(run(1.0, 100 << 20), run(2.0, 200 << 20)).steps[0].usage
    assert [(d.figure, d.relative) for d in deltas] == [("wall_s", 1.0), ("max_rss_bytes", 1.0)]


def test_one_changed_hyper_parameter_names_that_change_and_the_steps_downstream() -> None:
    before = graph()
    after = graph(pipeline(epochs=200), run_start=start("r2", config={"epochs": 200, "seed": 1}))
    result = diff_runs(before, after)
    assert not result.identical and result.matched == 7
    assert [(c.kind, c.name, c.before, c.after) for c in result.run_changes] == [
        ("config", "epochs", 150, 200)
    ]
    causes = {s.label: s for s in result.steps if s.is_cause}
    assert set(causes) == {"train[lr=0.05]", "train[lr=0.5]"}
    for lr in RATES:
        train = causes[f"train[lr={lr}]"]
        kinds = {(c.kind, c.name) for c in train.changes}
        assert kinds == {("parameter", "epochs"), ("output", f"model_{lr}.json")}
        assert set(train.downstream) == {f"evaluate[lr={lr}]", "report"}
    changed = {s.label for s in result.steps if s.changes}
    assert changed == {*causes, "evaluate[lr=0.05]", "evaluate[lr=0.5]", "report"}
    assert set(result.downstream) == {"evaluate[lr=0.05]", "evaluate[lr=0.5]", "report"}
    text = "\n".join(diff_lines(result))
    assert "config epochs: 150 -> 200" in text and "parameter epochs: 150 -> 200" in text
    assert "downstream: evaluate[lr=0.05], report" in text


def test_prefect_like_steps_are_matched_by_parameters_then_paired_by_name() -> None:
    before = graph(pipeline(wildcards=False))
    after = graph(pipeline(epochs=200, wildcards=False))
    assert len(identities(before)) == 7
    result = diff_runs(before, after)
    assert result.matched == 7 and not result.added and not result.removed
    params = {(s.label, c.name) for s in result.steps for c in s.changes if c.kind == "parameter"}
    assert params == {("train(lr=0.05)", "epochs"), ("train(lr=0.5)", "epochs")}


def test_added_and_removed_steps_code_conda_and_container_changes() -> None:
    steps = pipeline()
    changed = [
        replace(s, code=Code("script", path="scripts/prepare.py", sha256="0" * 64))
        if s.name == "prepare"
        else replace(s, attributes={"conda_env": "envs/new.yaml", "container": "docker://x"})
        if s.name == "report"
        else s
        for s in steps
        if s.name != "plot"
    ]
    extra = replace(steps[0], name="extra", key="k-extra", outputs=())
    result = diff_runs(graph(steps), graph([*changed, extra]))
    assert result.removed == ("plot",) and result.added == ("extra",)
    kinds = {s.label: {c.kind for c in s.changes} for s in result.steps}
    assert kinds["prepare"] == {"code"} and kinds["report"] == {"conda_env", "container"}
    prepare = next(s for s in result.steps if s.label == "prepare")
    assert len(prepare.downstream) == 5 and "report" in prepare.downstream


def test_environment_changes_name_packages_when_the_lists_are_on_disk(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    lists = {"a": "numpy==1.26.4\nclick==8.1.7\n", "b": "numpy==2.0.0\nclick==8.1.7\nrich==13\n"}
    graphs = {}
    for name, text in lists.items():
        (root / name / "environment").mkdir(parents=True)
        (root / name / "environment" / "packages.txt").write_text(text)
        sw = software(packages=file("environment/packages.txt", text), git_commit=name * 40)
        graphs[name] = graph(run_start=start(name, software=sw))
    result = diff_runs(graphs["a"], graphs["b"], root / "a", root / "b")
    found = {(c.kind, c.name, c.before, c.after) for c in result.run_changes}
    assert ("package", "numpy", "1.26.4", "2.0.0") in found
    assert ("package", "rich", None, "13") in found
    assert ("environment", "ywf:git_commit", "a" * 40, "b" * 40) in found
    without_lists = diff_runs(graphs["a"], graphs["b"])
    assert {c.kind for c in without_lists.run_changes} == {"environment"}


def test_diff_json_round_trips() -> None:
    result = diff_runs(graph(), graph(pipeline(epochs=3)))
    data = json.loads(as_json(result))
    assert data["matched"] == 7 and data["steps"][0]["changes"]
