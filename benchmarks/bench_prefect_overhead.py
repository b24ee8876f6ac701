"""Wall-time overhead of `@prov_task` / `@prov_flow` against Prefect's plain `@task` / `@flow`.

One process and one temporary local Prefect server (`prefect_test_harness`: SQLite in a temporary
folder, served by a subprocess) for every run, so that both sides talk to the same server. Flows,
each in two variants (`plain`: `@task` + `@flow`; `prov`: `@prov_task` + `@prov_flow`),
interleaved per repetition (the variant that goes first alternates):

* seq:   200 sequential calls `trivial(i)` of a trivial task (`return i + 1`) in one flow;
* map:   `trivial.map(range(200)).result()`: the same 200 task runs on Prefect's thread pool;
* empty: a flow with no task: the fixed cost of a flow run (for `prov`: opening the run, and at
  the end the document, written while Prefect reports the final state; reading the flow's task
  runs from the API for undecorated ones and the summary artifact follow in the background).

Per run: the flow's wall time seen by the caller ("wall"), and, inside the flow, the time of the
200 task calls ("loop": the task runs only, without the flow's start and end). For `seq` each call
of the task's function by Prefect's engine (`Task.fn`, for `prov` our recording wrapper around the
body) is timed too: the difference of its medians is the recording's own cost per task, in the
task's thread. After each run the benchmark waits, untimed, until the API shows the run's task
runs completed ("settle": the server ingests them from events, a while after they ran), so that
every run starts with an idle server.

Targets (from the issue): <= 0.5 ms added per task and prov/plain <= 1.10, for 200 trivial tasks.
They are checked on the flow's wall time (fixed costs in, divided by 200) and on its loop (task
runs only). A check counts the `wfprov:ProcessRun` activities of each `prov` document (200 for
`seq` and `map`, all measured by the wrapper, none added as undecorated; 0 for `empty`).

When a target is missed, the full mode runs one `prov` `seq` flow under cProfile and prints the
15 yprov_prefect / yprov_workflows functions with the most cumulative time (cProfile sees the
calling thread: the flow, its sequential tasks and the flow's end).

Beside the verdicts, a 95 % bootstrap interval of each ratio (how far a ratio of medians of a few
noisy repetitions can be trusted), and the median of the per-repetition ratios (each prov run
against the plain run next to it in time), which a slower or faster phase of the shared machine
moves less.

Every timed flow starts after a full garbage collection (`gc.collect()`, untimed, for both
variants alike). Without it, a full collection of the process's heap (about 0.25 s with Prefect
loaded) fell inside one flow in six, whichever variant it was: it is triggered by what was
allocated before, mostly by the benchmark's own API polling (`settle`), and it added a random
quarter of a second to one flow. A variant that leaves more long-lived objects still triggers one
inside its flows more often. Each run's line shows the full collections inside it (`gc2`) and the
CPU time the hypervisor took from this VM during it (`steal`, from `/proc/stat`), and the report
sums both per variant: the noise of the machine, beside the code's cost.

The verdicts follow twice: on the times as measured, and at the machine's fast speed. This VM runs
the same code at two speeds that alternate every few seconds (a fixed loop: 0.85 or 1.55 ms, with
no steal: the host), and a flow of a second is up to 1.8 times slower in a slow stretch. A speed
probe in its own process (`SpeedProbe`) times a fixed loop's CPU every 20 ms; each flow's time
divided by the probe's mean during it, over the fast speed, is its time at the fast speed. The
report shows how much that narrows the plain flows' spread, and the probe factors each variant
met (which variant drew the slow stretches).

Full mode: 12 repetitions of seq, map and empty (single flows vary by 20 % on 2 cores).
`--quick`: 2 repetitions of seq and empty, no profile. One untimed warm-up run of every flow
(5 tasks) comes first.

Usage: python benchmarks/bench_prefect_overhead.py [--quick]
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _util import median, parse_args, print_table, ratio_interval, spread, steal_s, verdict

TASKS = 200
VARIANTS = ("plain", "prov")
SHAPES = ("seq", "map", "empty")
ADDED_MS_TARGET = 0.5
RATIO_TARGET = 1.10


@dataclass
class Run:
    """One timed flow run."""

    wall_s: float
    loop_s: float
    fn_s: list[float] = field(default_factory=list)  # each call of Task.fn (seq only)
    steps: int | None = None  # ProcessRun activities in the document (prov only)
    measured: int | None = None  # of which measured by the wrapper (usage from rusage_thread)
    settle_s: float = 0.0  # after the flow returned, until the API shows its task runs completed
    full_collections: int = 0  # Python's generation-2 collections during the flow (each ~0.25 s)
    steal_s: float | None = None  # CPU time the host took from this VM during the flow
    probe_s: float | None = None  # the speed probe's mean loop CPU time during the flow


class FullCollections:
    """Counts Python's full (generation-2) garbage collections, in any thread of the process."""

    def __init__(self) -> None:
        self.count = 0
        gc.callbacks.append(self._seen)

    def _seen(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.count += 1


FULL_COLLECTIONS = FullCollections()


PROBE = """
import sys, time
def work():  # a fixed pure-Python loop: its working set fits the first-level cache
    total = 0
    for i in range(20000):
        total += i * i % 7
    return total
with open(sys.argv[1], "a", buffering=1) as out:
    while True:
        t, cpu = time.monotonic(), time.thread_time()
        work()
        out.write(f"{t:.6f} {time.thread_time() - cpu:.9f}\\n")
        time.sleep(0.02)
"""


class SpeedProbe:
    """How fast this machine's CPUs run Python at each moment, from another process.

    On the shared VM the same code runs at two speeds that alternate every few seconds (measured
    on an idle machine: a fixed loop takes 0.85 ms or 1.55 ms, nothing in between; steal is 0):
    something on the host, not in the VM. A flow of about a second takes up to 1.8 times longer
    when it falls in a slow stretch, and which flows do decides a ratio of 12 repetitions (see
    README.md). The probe, a separate process, runs a fixed loop of about 1 ms every 20 ms (5 %
    of a core, the same for both variants) and writes the loop's CPU time, which counts neither
    waiting nor preemption: only how fast the core executed it. `factor(t0, t1)` is the mean of
    the samples taken during a flow over the fastest samples of the whole run: 1.0 for a flow in
    a fast stretch, up to about 1.8. A flow's wall time divided by it is what it would have
    taken in a fast stretch: the verdicts show both."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "speed-probe.txt"
        self.path.touch()
        self._process = subprocess.Popen([sys.executable, "-c", PROBE, str(self.path)])

    def close(self) -> None:
        self._process.kill()
        self._process.wait()

    def samples(self) -> list[tuple[float, float]]:
        """(monotonic time, CPU seconds of the loop) of every sample so far."""
        found = []
        for line in self.path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:  # a line being written has fewer
                found.append((float(parts[0]), float(parts[1])))
        return found

    def mean_during(self, t0: float, t1: float) -> float | None:
        """The mean CPU time of the samples that began within [t0, t1] (monotonic)."""
        during = [cpu for t, cpu in self.samples() if t0 <= t <= t1]
        return statistics.fmean(during) if during else None

    def fast(self) -> float:
        """The loop's CPU time in a fast stretch: the 10th percentile of every sample."""
        cpus = sorted(cpu for _, cpu in self.samples())
        return cpus[len(cpus) // 10]


class Timed:
    """Stands in for `Task.fn`: calls it and keeps the duration of each call."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.durations: list[float] = []
        self.__wrapped__ = fn  # Prefect reads the parameters from the signature of the original

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.durations.append(time.perf_counter() - t0)


@dataclass
class Flows:
    """The three flows of one variant and the timer on its task's function."""

    seq: Any
    map: Any
    empty: Any
    timer: Timed


def make_flows(variant: str) -> Flows:
    from prefect import flow, runtime, task

    from yprov_prefect import prov_flow, prov_task

    task_deco, flow_deco = (task, flow) if variant == "plain" else (prov_task, prov_flow)

    @task_deco
    def trivial(i: int) -> int:
        return i + 1

    timer = Timed(trivial.fn)
    trivial.fn = timer  # the engine calls `task.fn`: for prov, the recording wrapper

    @flow_deco(name=f"seq-{variant}")
    def seq(n: int) -> tuple[float, str]:
        t0 = time.perf_counter()
        for i in range(n):
            trivial(i)
        return time.perf_counter() - t0, str(runtime.flow_run.id)

    @flow_deco(name=f"map-{variant}")
    def mapped(n: int) -> tuple[float, str]:
        t0 = time.perf_counter()
        trivial.map(range(n)).result()
        return time.perf_counter() - t0, str(runtime.flow_run.id)

    @flow_deco(name=f"empty-{variant}")
    def empty() -> tuple[float, str]:
        return 0.0, str(runtime.flow_run.id)

    return Flows(seq, mapped, empty, timer)


def run_once(
    flows: Flows,
    shape: str,
    variant: str,
    workdir: Path,
    tasks: int = TASKS,
    probe: SpeedProbe | None = None,
) -> Run:
    from yprov_prefect import settle as finish_flow_ends

    finish_flow_ends()  # the previous run's end (API reads, artifact) works in its folder
    shutil.rmtree(workdir / ".yprov", ignore_errors=True)  # every prov run starts from scratch
    flows.timer.durations.clear()
    gc.collect()  # a full collection now, not in the flow: see the module's docstring
    full0, steal0 = FULL_COLLECTIONS.count, steal_s()
    began = time.monotonic()
    t0 = time.perf_counter()
    if shape == "empty":
        loop, flow_run_id = flows.empty()
    else:
        loop, flow_run_id = getattr(flows, shape)(tasks)
    run = Run(wall_s=time.perf_counter() - t0, loop_s=loop)
    ended = time.monotonic()
    run.full_collections = FULL_COLLECTIONS.count - full0
    steal1 = steal_s()
    run.steal_s = None if steal0 is None or steal1 is None else steal1 - steal0
    run.settle_s = settle(flow_run_id, 0 if shape == "empty" else tasks)
    if probe is not None:  # after the wait: the probe has written the flow's last samples
        run.probe_s = probe.mean_during(began, ended)
    if shape == "seq":
        run.fn_s = list(flows.timer.durations)
    if variant == "prov" and tasks == TASKS:
        inspect_document(workdir, run)
    return run


def settle(flow_run_id: str, expected: int, timeout: float = 120.0) -> float:
    """Wait until the API shows the flow run's task runs all completed, so that the next run
    starts with an idle server (task runs reach the API through events, processed a while after
    the tasks ran, by the server process that shares the cores). Returns the time waited."""
    from uuid import UUID

    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    flows = FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)]))
    done = TaskRunFilter(
        state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.COMPLETED]))
    )
    t0 = time.perf_counter()
    with get_client(sync_client=True) as client:
        while time.perf_counter() - t0 < timeout:
            runs = client.read_task_runs(flow_run_filter=flows, task_run_filter=done, limit=200)
            if len(runs) >= expected:
                break
            time.sleep(0.1)
        else:
            print(f"  ! task runs of {flow_run_id} not all completed after {timeout:g} s")
    return time.perf_counter() - t0


def inspect_document(workdir: Path, run: Run) -> None:
    from yprov_workflows.pending import settle

    settle()  # untimed: the flow end's API part, in the background (undecorated runs, artifact)
    document = workdir / ".yprov" / "latest.prov.json"
    if not document.exists():
        print(f"  ! no yprov document in {workdir}/.yprov", flush=True)
        return
    activities = json.loads(document.read_text()).get("activity", {}).values()
    steps = [a for a in activities if a.get("prov:type") == "wfprov:ProcessRun"]
    run.steps = len(steps)
    run.measured = sum(
        1 for s in steps if str(s.get("ywf:usage_source")).startswith("rusage_thread")
    )


def measure(
    flows: dict[str, Flows],
    shapes: tuple[str, ...],
    reps: int,
    workdir: Path,
    probe: SpeedProbe | None = None,
) -> dict[tuple[str, str], list[Run]]:
    runs: dict[tuple[str, str], list[Run]] = {(s, v): [] for s in shapes for v in VARIANTS}
    for rep in range(reps):
        for shape in shapes:
            # alternate which variant goes first, so that neither always follows the other
            order = VARIANTS if rep % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                run = run_once(flows[variant], shape, variant, workdir, probe=probe)
                runs[shape, variant].append(run)
                fn = f"  fn median {1e6 * median(run.fn_s):6.1f} us" if run.fn_s else ""
                steal = "" if run.steal_s is None else f"  steal {1e3 * run.steal_s:4.0f} ms"
                speed = "" if run.probe_s is None else f"  probe {1e3 * run.probe_s:5.2f} ms"
                print(
                    f"  rep {rep + 1}/{reps} {shape:5s} {variant:5s} "
                    f"wall {run.wall_s:6.3f} s  loop {run.loop_s:6.3f} s{fn}  "
                    f"gc2 {run.full_collections}{steal}{speed}  "
                    f"(server settled {run.settle_s:5.2f} s later)",
                    flush=True,
                )
    return runs


def report(runs: dict[tuple[str, str], list[Run]], shapes: tuple[str, ...]) -> None:
    print(f"\nflows of {TASKS} trivial task runs ({', '.join(shapes)}); one Prefect server")
    rows = []
    for shape in shapes:
        plain_wall = median([r.wall_s for r in runs[shape, "plain"]])
        for variant in VARIANTS:
            walls = [r.wall_s for r in runs[shape, variant]]
            loops = [r.loop_s for r in runs[shape, variant]]
            per_task = "-" if shape == "empty" else f"{1e3 * median(walls) / TASKS:.2f}"
            loop = "-" if shape == "empty" else f"{median(loops):.3f}"
            settles = [r.settle_s for r in runs[shape, variant]]
            rows.append(
                [
                    f"{shape} {variant}",
                    len(walls),
                    median(walls),
                    spread(walls),
                    median(walls) / plain_wall,
                    per_task,
                    loop,
                    median(settles),
                ]
            )
    headers = ["flow", "reps", "median wall s", "min..max s", "x plain", "wall ms/task"]
    print_table([*headers, "loop s", "settle s"], rows)


def added_per_task(
    runs: dict[tuple[str, str], list[Run]], shape: str, attr: str, fast: float | None = None
) -> str:
    """The verdicts on one measure (`attr`) of one shape; with `fast` (the speed probe's loop in
    a fast stretch), on each flow's figure divided by its probe factor (see `SpeedProbe`)."""
    plains = [_at_speed(r, attr, fast) for r in runs[shape, "plain"]]
    provs = [_at_speed(r, attr, fast) for r in runs[shape, "prov"]]
    plain, prov = median(plains), median(provs)
    added_ms = 1e3 * (prov - plain) / TASKS
    ok = "met" if added_ms <= ADDED_MS_TARGET else "MISSED"
    low, high = ratio_interval(provs, plains)
    return (
        f"added {added_ms:+.3f} ms/task (target <= {ADDED_MS_TARGET:g}: {ok}); "
        f"ratio {verdict(prov / plain, RATIO_TARGET, at_most=True)}, "
        f"95 % bootstrap interval {low:.3f}..{high:.3f}"
    )


def _at_speed(run: Run, attr: str, fast: float | None) -> float:
    figure: float = getattr(run, attr)
    if fast is None:
        return figure
    if run.probe_s is None:
        return float("nan")
    return figure / (run.probe_s / fast)


def speed_adjusted(runs: dict[tuple[str, str], list[Run]], shape: str, fast: float) -> str:
    """How much the probe's adjustment narrows the plain flows' spread (its evidence), and the
    probe factors the flows of each variant met (equal draws: neither variant was favoured)."""
    raw = [r.wall_s for r in runs[shape, "plain"]]
    adjusted = [_at_speed(r, "wall_s", fast) for r in runs[shape, "plain"]]
    factors = {
        v: median([r.probe_s / fast for r in runs[shape, v] if r.probe_s is not None])
        for v in VARIANTS
    }
    return (
        f"plain walls spread (max/min) {max(raw) / min(raw):.2f} raw, "
        f"{max(adjusted) / min(adjusted):.2f} at fast speed; median probe factor "
        f"plain {factors['plain']:.2f}, prov {factors['prov']:.2f}"
    )


def paired(runs: dict[tuple[str, str], list[Run]], shape: str) -> str:
    """The ratio of each repetition's prov run to the plain run next to it (the two ran one after
    the other, so a slower or faster phase of the machine weighs on both): their median and
    range. Shown beside the verdict, which is on the medians of each variant."""
    ratios = sorted(
        p.wall_s / q.wall_s for p, q in zip(runs[shape, "prov"], runs[shape, "plain"], strict=True)
    )
    return (
        f"median of per-repetition wall ratios {median(ratios):.3f} "
        f"(range {ratios[0]:.3f}..{ratios[-1]:.3f}, {len(ratios)} pairs)"
    )


def report_targets(
    runs: dict[tuple[str, str], list[Run]], shapes: tuple[str, ...], fast: float | None = None
) -> bool:
    """The verdicts and the figures behind them; True when every target is met (as measured;
    with `fast`, the same verdicts at the fast speed follow)."""
    print()
    lines = {}
    for shape in (s for s in shapes if s != "empty"):
        lines[f"{shape}, flow wall / {TASKS} (fixed costs in)"] = added_per_task(
            runs, shape, "wall_s"
        )
        lines[f"{shape}, loop of task runs only        "] = added_per_task(runs, shape, "loop_s")
    for label, line in lines.items():
        print(f"{label}: {line}")
    if fast is not None:
        print("at the fast speed (each flow's time divided by its speed probe factor):")
        for shape in (s for s in shapes if s != "empty"):
            for label, attr in (("flow wall", "wall_s"), ("loop     ", "loop_s")):
                print(f"{shape}, {label} at fast speed: {added_per_task(runs, shape, attr, fast)}")
            print(f"{shape}, speed probe: {speed_adjusted(runs, shape, fast)}")
    for shape in (s for s in shapes if s != "empty"):
        print(f"{shape}, paired: {paired(runs, shape)}")
    fixed = median([r.wall_s for r in runs["empty", "prov"]]) - median(
        [r.wall_s for r in runs["empty", "plain"]]
    )
    print(f"fixed cost of @prov_flow, empty flow (empty prov - empty plain): {fixed:+.3f} s")
    outside = {v: median([r.wall_s - r.loop_s for r in runs["seq", v]]) for v in VARIANTS}
    print(
        f"seq flow outside its task loop (start + end): plain {outside['plain']:.3f} s, "
        f"prov {outside['prov']:.3f} s ({outside['prov'] - outside['plain']:+.3f} s: "
        f"@prov_flow's start and its end with {TASKS} task runs: the document written; the API "
        "part follows in the background)"
    )
    fn_plain = median([median(r.fn_s) for r in runs["seq", "plain"]])
    fn_prov = median([median(r.fn_s) for r in runs["seq", "prov"]])
    print(
        f"Task.fn per call (seq, median of run medians): plain {1e6 * fn_plain:.1f} us, "
        f"prov {1e6 * fn_prov:.1f} us: the recording wrapper adds {1e3 * (fn_prov - fn_plain):.3f}"
        f" ms/task in the task's thread"
    )
    print(machine_noise(runs, shapes))
    for shape in shapes:
        expected = 0 if shape == "empty" else TASKS
        found = sorted({r.steps for r in runs[shape, "prov"] if r.steps is not None})
        measured = sorted({r.measured for r in runs[shape, "prov"] if r.measured is not None})
        ok = "OK" if found == [expected] and measured == [expected] else "UNEXPECTED"
        print(
            f"document check {shape}: step activities {found}, measured by the wrapper "
            f"{measured} (expected {expected}) {ok}"
        )
    return all("MISSED" not in line for line in lines.values())


def machine_noise(runs: dict[tuple[str, str], list[Run]], shapes: tuple[str, ...]) -> str:
    """What slowed timed flows besides the code: Python's full collections inside them (made
    by whatever allocated before, not only by the flow) and CPU time the host stole."""
    parts = []
    for variant in VARIANTS:
        chosen = [r for s in shapes for r in runs[s, variant]]
        steals = [r.steal_s for r in chosen if r.steal_s is not None]
        stolen = f", host steal {1e3 * sum(steals):.0f} ms" if steals else ""
        collections = sum(r.full_collections for r in chosen)
        parts.append(
            f"{variant}: {len(chosen)} timed flows, {collections} full collection(s){stolen}"
        )
    return "inside the timed flows: " + "; ".join(parts)


def profile(flows: Flows, workdir: Path) -> None:
    """cProfile of one prov seq flow: the yprov functions with the most cumulative time."""
    shutil.rmtree(workdir / ".yprov", ignore_errors=True)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    _, flow_run_id = flows.seq(TASKS)
    profiler.disable()
    wall = time.perf_counter() - t0
    settle(flow_run_id, TASKS)
    stats = pstats.Stats(profiler)
    entries = []
    for (path, line, name), (_, calls, _tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        package = next((p for p in ("yprov_prefect", "yprov_workflows") if p in path), None)
        if package is not None:
            where = f"{package}{path.rsplit(package, 1)[1]}:{line}({name})"
            entries.append((cumtime, calls, where))
    entries.sort(reverse=True)
    print(
        f"\nprofile of one prov seq flow ({wall:.3f} s wall under cProfile, calling thread only); "
        "top 15 yprov functions by cumulative time:"
    )
    rows = [[where, calls, cum, 1e3 * cum / calls] for cum, calls, where in entries[:15]]
    print_table(["function", "calls", "cumulative s", "ms/call"], rows)


@contextmanager
def prefect_server(home: Path) -> Iterator[None]:
    """One temporary local server for the whole benchmark; settings for a quiet, lean run."""
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with ExitStack() as stack:
        stack.enter_context(prefect_test_harness(server_startup_timeout=90))
        stack.enter_context(temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}))
        yield


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    reps = 2 if args.quick else 12
    shapes = ("seq", "empty") if args.quick else SHAPES
    for name in [k for k in os.environ if k.startswith("YPROV_")]:
        del os.environ[name]  # default recording settings; documents go to ./.yprov
    started = time.perf_counter()
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="yprov-bench-prefect-") as tmp:
        root = Path(tmp)
        workdir = root / "work"
        workdir.mkdir()
        os.chdir(workdir)
        try:
            print(f"working in {workdir}; starting a local Prefect server ...", flush=True)
            with prefect_server(root / "prefect-home"):
                print(f"server up after {time.perf_counter() - started:.0f} s", flush=True)
                flows = {variant: make_flows(variant) for variant in VARIANTS}
                for variant in VARIANTS:  # warm-up, untimed: imports, task and flow registration
                    for shape in SHAPES:
                        run_once(flows[variant], shape, variant, workdir, tasks=5)
                print(f"{reps} repetition(s) per variant, interleaved", flush=True)
                probe = SpeedProbe(root)
                try:
                    runs = measure(flows, shapes, reps, workdir, probe)
                    fast = probe.fast()
                finally:
                    probe.close()
                report(runs, shapes)
                met = report_targets(runs, shapes, fast)
                if not met and args.quick:
                    print("\n(a target is missed: the full mode profiles one prov seq flow)")
                elif not met:
                    profile(flows["prov"], workdir)
        finally:
            os.chdir(cwd)
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
