#!/usr/bin/env python3
"""The conformance driver: runs every scenario (scenarios/*.yaml) with every runner, each on
fresh real weftd processes, and prints a scenario x runner matrix. Exit status 1 on any failure.

Usage: conformance.py [--runner NAME]... [--scenario SUBSTRING]... [--launcher PATH] [-v]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import yaml

import bus
import grpcurl
from daemons import Weftd
from matching import mismatch
from runners import RunnerDied, RunnerProcess

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.dirname(HERE)
REPO = os.path.dirname(SUITE)

# Steps every runner performs through its SDK (or grpcurl); see the README for their arguments.
RUNNER_ACTIONS = {
    "open", "set", "update", "log", "delete", "finish", "transient", "flush", "raw_events",
    "get", "list", "watch", "watch_next", "close_watch",
    "stats", "stats_flush", "stats_rejected", "stats_rejections", "stats_enabled",
    "serve", "close_server", "handler_seen", "call", "call_async", "cancel", "await", "in_parallel",
    "open_receiver", "close_receiver", "receive", "sender", "send", "close_sender", "sender_failure",
}
# Steps the driver performs itself, as an operator would (raw RPCs with grpcurl, kill -9,
# rabbitmqctl, an AMQP consumer of its own).
DRIVER_ACTIONS = {"snapshot", "set_enabled", "info", "routes", "kill_daemon", "kill_process", "bus_messages",
                  "broker_stop", "broker_start"}
# Observations that may be repeated until they match (within_ms, default below).
POLLABLE = {"get", "list", "stats_rejected", "stats_rejections", "stats_enabled", "handler_seen", "snapshot", "info",
            "routes", "sender_failure", "bus_messages"}
# Steps whose within_ms bounds the time the step took.
TIMED = {"call", "await", "in_parallel", "flush", "stats_flush"}
STEP_KEYS = {"expect", "error", "within_ms", "daemon", "process", "note"}
BUS_SETUP_KEYS = {"format", "policy"}
DEFAULT_POLL_MS = 10000
# Under --mutate a poll cannot succeed (its expectation is impossible): give up sooner.
MUTATE_POLL_MS = 1500
POLL_INTERVAL_S = 0.05


@dataclass
class Scenario:
    name: str
    file: str
    description: str
    setup: dict
    steps: List[dict]
    known_gaps: Dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    status: str  # pass | fail | n/a | skip | gap
    detail: str = ""
    seconds: float = 0.0


class ScenarioError(Exception):
    """A scenario file that does not follow the schema."""


def load_scenarios(pattern: str) -> List[Scenario]:
    scenarios, names = [], set()
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            doc = yaml.safe_load(f)
        for raw in doc.get("scenarios", []):
            s = Scenario(
                name=raw["name"], file=os.path.relpath(path, SUITE), description=raw.get("description", ""),
                setup=raw.get("setup") or {}, steps=raw["steps"], known_gaps=raw.get("known_gaps") or {},
            )
            if s.name in names:
                raise ScenarioError(f"{path}: scenario name {s.name!r} used twice")
            names.add(s.name)
            validate(s)
            scenarios.append(s)
    return scenarios


def validate(s: Scenario) -> None:
    where = f"{s.file}: {s.name}"
    for k in s.setup:
        if k not in {"daemons", "bus"}:
            raise ScenarioError(f"{where}: unknown setup key {k!r}")
    if isinstance(s.setup.get("bus"), dict) and not set(s.setup["bus"]) <= BUS_SETUP_KEYS:
        raise ScenarioError(f"{where}: setup.bus takes {sorted(BUS_SETUP_KEYS)}, not {sorted(s.setup['bus'])}")
    names = [d["name"] for d in s.setup.get("daemons", [{"name": "a"}])]
    for i, step in enumerate(s.steps):
        actions = [k for k in step if k not in STEP_KEYS]
        if len(actions) != 1:
            raise ScenarioError(f"{where}: step {i + 1} must have exactly one action, has {actions}")
        action = actions[0]
        if action not in RUNNER_ACTIONS | DRIVER_ACTIONS:
            raise ScenarioError(f"{where}: step {i + 1}: unknown action {action!r}")
        if "expect" in step and "error" in step:
            raise ScenarioError(f"{where}: step {i + 1}: expect and error exclude each other")
        if step.get("daemon", names[0]) not in names:
            raise ScenarioError(f"{where}: step {i + 1}: no daemon named {step['daemon']!r}")
        if "process" in step and action in DRIVER_ACTIONS:
            raise ScenarioError(f"{where}: step {i + 1}: `process` names who performs a runner step; {action} is the driver's")
        if action in {"bus_messages", "broker_stop", "broker_start"} and not s.setup.get("bus"):
            raise ScenarioError(f"{where}: step {i + 1}: {action} needs setup.bus")
    if not any("expect" in st or "error" in st for st in s.steps):
        raise ScenarioError(f"{where}: a scenario must expect something")


NEVER = "\u0000never"


def perturb(v: Any) -> Any:
    """A value the original expectation's observations cannot match (used by --mutate)."""
    if isinstance(v, dict) and len(v) == 1 and next(iter(v)).startswith("$"):
        name, arg = next(iter(v.items()))
        if name == "$range":
            return {"$range": [arg[1] + 1e9, arg[1] + 2e9]}
        if name == "$approx":
            return {"$approx": [arg[0] + 1e9, arg[1]]}
        if name == "$type":
            return {"$type": "string" if arg != "string" else "number"}
        if name == "$contains":
            return {"$contains": arg + NEVER}
        if name == "$include":
            return {"$include": perturb(arg)}
        if name == "$unordered":
            return {"$unordered": [perturb(arg[0])] + arg[1:] if arg else [NEVER]}
        if name == "$len":
            return {"$len": arg + 1}
        return NEVER  # $any, $absent
    if isinstance(v, dict):
        if not v:
            return {NEVER: 1}
        k = next(iter(v))
        return {**v, k: perturb(v[k])}
    if isinstance(v, list):
        return [perturb(v[0])] + v[1:] if v else [NEVER]
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v + 1
    if isinstance(v, str):
        return v + NEVER
    return NEVER


def mutate(s: Scenario) -> Scenario:
    """The scenario with its last expectation made impossible: it must then fail (--mutate)."""
    steps = [dict(st) for st in s.steps]
    for st in reversed(steps):
        if "expect" in st:
            st["expect"] = perturb(st["expect"])
            break
        if "error" in st:
            e = st["error"]
            st["error"] = "NEVER_" + e if isinstance(e, str) else perturb({"reason": e["reason"], **e} if "reason" in e else e)
            break
    return Scenario(s.name, s.file, s.description, s.setup, steps, {})


def action_of(step: dict) -> str:
    return next(k for k in step if k not in STEP_KEYS)


# ---------------------------------------------------------------- daemons


@dataclass
class Setup:
    """What a job runs against: its daemons and, with setup.bus, the driver's tap on their exchange."""
    daemons: Dict[str, Weftd]
    tap: Optional[bus.Tap] = None

    def cleanup(self) -> None:
        for d in self.daemons.values():
            d.cleanup()
        if self.tap is not None:
            self.tap.close()


def bus_env(s: Scenario, tap: bus.Tap, daemon_dir: str) -> Dict[str, str]:
    """weftd's bus settings for a scenario: the tap's fresh exchange, and setup.bus's format and policy."""
    opts = s.setup["bus"] if isinstance(s.setup.get("bus"), dict) else {}
    env = {"WEFT_BUS_URL": os.environ["WEFT_TEST_AMQP_URL"], "WEFT_BUS_EXCHANGE": tap.exchange}
    if "format" in opts:
        env["WEFT_BUS_FORMAT"] = opts["format"]
    if "policy" in opts:
        env["WEFT_BUS_POLICY"] = opts["policy"]
        if opts["policy"] == "spool":
            env["WEFT_SPOOL_DIR"] = os.path.join(daemon_dir, "spool")
    return env


def start_daemons(s: Scenario, launcher: str) -> Setup:
    started: Dict[str, Weftd] = {}
    tap: Optional[bus.Tap] = None
    try:
        if s.setup.get("bus"):
            tap = bus.Tap(os.environ["WEFT_TEST_AMQP_URL"])
        for spec in s.setup.get("daemons", [{"name": "a"}]):
            env = dict(spec.get("env", {}))
            if spec.get("peer_listen"):
                env.update({"WEFT_PEER_LISTEN": "127.0.0.1:0", "WEFT_PEER_PLAINTEXT": "1"})
            if spec.get("peers"):
                env["WEFT_PEER_PLAINTEXT"] = "1"
                env["WEFT_PEERS"] = ",".join(started[p].peer_listen or "" for p in spec["peers"])
            d = Weftd(launcher, spec["name"], env)
            if tap is not None:
                d.extra_env.update(bus_env(s, tap, d.dir))
            started[spec["name"]] = d.start()
        return Setup(started, tap)
    except Exception:
        Setup(started, tap).cleanup()
        raise


# ---------------------------------------------------------------- steps


def driver_step(action: str, args: dict, daemon: Weftd, job: "Job") -> dict:
    """Steps the driver performs itself through raw RPCs (an operator's view of the daemon), kill -9,
    rabbitmqctl and its own AMQP consumer."""
    if action == "snapshot":
        res, err = grpcurl.invoke(daemon.target, "weft.v1.StatsService/Snapshot", [{"namespaces": args.get("namespaces", [])}])
        if err:
            return {"status": "error", "error": err}
        r = res[0]
        return {"status": "ok", "value": {"namespaces": r.get("namespaces", {}), "errors": r.get("errors", [])}}
    if action == "set_enabled":
        res, err = grpcurl.invoke(daemon.target, "weft.v1.StatsService/SetEnabled", [{"namespace": args["ns"], "enabled": args["enabled"]}])
        return {"status": "error", "error": err} if err else {"status": "ok", "value": res[0]}
    if action == "info":
        res, err = grpcurl.invoke(daemon.target, "weft.v1.AdminService/Info", [{}])
        if err:
            return {"status": "error", "error": err}
        return {"status": "ok", "value": {"counters": {k: int(v) for k, v in res[0].get("counters", {}).items()}}}
    if action == "routes":
        res, err = grpcurl.invoke(daemon.target, "weft.v1.AdminService/Routes", [{}])
        if err:
            return {"status": "error", "error": err}
        best = {r["name"]: int(r.get("hops", 0)) for r in res[0].get("routes", []) if r.get("best")}
        return {"status": "ok", "value": {"routes": best}}
    if action == "kill_daemon":
        daemon.kill9()
        return {"status": "ok", "value": None}
    if action == "kill_process":
        job.process(args["process"]).kill()
        return {"status": "ok", "value": None}
    tap = job.setup.tap
    assert tap is not None  # validate() checked setup.bus
    if action == "bus_messages":
        messages = tap.read()
        if args.get("dedupe"):  # as consumers are told to: at-least-once, de-duplicated by message_id
            seen: set = set()
            messages = [m for m in messages if not (m["properties"]["message_id"] in seen or seen.add(m["properties"]["message_id"]))]
        return {"status": "ok", "value": messages}
    if action == "broker_stop":
        busy = subprocess.run(["pgrep", "-f", "BusBench"], capture_output=True, text=True).stdout.split()
        if busy:  # the broker is shared: never pull it from under a running bus benchmark
            return {"status": "broken", "detail": f"a bus benchmark is running (pgrep -f BusBench: {busy}); broker not stopped"}
        tap.stop_broker()
        return {"status": "ok", "value": None}
    if action == "broker_start":
        tap.start_broker()
        return {"status": "ok", "value": None}
    raise AssertionError(action)


def watcher_count(daemon: Weftd) -> int:
    res, err = grpcurl.invoke(daemon.target, "weft.v1.AdminService/Queues", [{}])
    if err:
        raise RuntimeError(f"Queues failed: {err}")
    return sum(1 for q in res[0].get("queues", []) if q.get("name", "").startswith("watch."))


def judge(step: dict, result: dict) -> Optional[str]:
    """None when the result is what the step expects, else why not."""
    status = result.get("status")
    if status in ("na", "broken"):
        return None
    expected_error = step.get("error")
    if status == "error":
        if expected_error is None:
            return f"unexpected error {result['error']}"
        want = {"reason": expected_error} if isinstance(expected_error, str) else expected_error
        m = mismatch(want, result["error"])
        if m:
            return f"error {result['error']} does not match: {m}"
    elif expected_error is not None:
        return f"expected error {expected_error}, got success {result.get('value')!r}"
    elif "expect" in step:
        m = mismatch(step["expect"], result.get("value"))
        if m:
            return m
    bound = step.get("within_ms")
    if action_of(step) in TIMED and bound is not None and result.get("elapsed_ms", 0) > bound:
        return f"took {result['elapsed_ms']:.0f} ms, bound {bound} ms"
    return None


class Job:
    """One scenario with one runner: the setup, the runner, the runner's auxiliary processes
    (steps with `process: name`: another instance of the same runner, started at its first step,
    which `kill_process` can kill -9 like any client process) and the handles receivers got."""

    def __init__(self, runner: RunnerProcess, s: Scenario, setup: Setup) -> None:
        self.runner = runner
        self.scenario = s
        self.setup = setup
        self.processes: Dict[str, RunnerProcess] = {}
        self.handles: Dict[str, str] = {}

    def process(self, name: Optional[str]) -> RunnerProcess:
        if name is None:
            return self.runner
        if name not in self.processes:
            p = RunnerProcess(f"{self.runner.name}/{name}", self.runner.command,
                              self.runner.log_path.replace(".log", f"-{name}.log"))
            p.start()
            begun = p.send({"cmd": "begin", "scenario": self.scenario.name,
                            "daemons": [d.describe() for d in self.setup.daemons.values()]})
            if begun.get("status") != "ok":
                raise RunnerDied(f"process {name} did not begin: {begun}")
            self.processes[name] = p
        return self.processes[name]

    def resolve(self, v: Any) -> Any:
        """Replaces {"$handle": name} with the handle the receiver `name` was given."""
        if isinstance(v, dict):
            if len(v) == 1 and "$handle" in v:
                return self.handles[v["$handle"]]
            return {k: self.resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.resolve(x) for x in v]
        return v

    def close(self) -> None:
        for p in self.processes.values():
            p.quit()


def run_step(job: Job, step: dict, default: str, watches: Dict[str, int], poll_ms: int) -> Tuple[str, str]:
    """Runs one step (polling observations until they match); returns (status, detail)."""
    action = action_of(step)
    args = job.resolve(step[action] or {})
    daemon = job.setup.daemons[step.get("daemon", default)]
    poll = action in POLLABLE and ("expect" in step or "error" in step)
    deadline = time.monotonic() + step.get("within_ms", poll_ms) / 1000.0
    while True:
        if action in DRIVER_ACTIONS:
            result = driver_step(action, args, daemon, job)
        else:
            result = job.process(step.get("process")).send(
                {"cmd": "step", "action": action, "args": args, "daemon": daemon.name})
        status = result.get("status")
        if status == "na":
            return "n/a", f"{action}: {result.get('reason')}"
        if status == "broken":
            return "fail", f"{action}: runner fault: {result.get('detail')}"
        problem = judge(step, result)
        if problem is None:
            break
        if not poll or time.monotonic() > deadline:
            return "fail", f"{action}: {problem}"
        time.sleep(POLL_INTERVAL_S)
    if action == "open_receiver" and status == "ok" and "as" in args:
        job.handles[args["as"]] = result["value"]
    if action in ("watch", "close_watch") and status == "ok":
        # A watch counts once weftd lists it (its queue watch.N), and a closed one once it is gone:
        # events published after the step are then certain to reach exactly the open watches.
        watches[daemon.name] = watches.get(daemon.name, 0) + (1 if action == "watch" else -1)
        end = time.monotonic() + 10.0
        while watcher_count(daemon) != watches[daemon.name]:
            if time.monotonic() > end:
                return "fail", f"{action}: weftd lists {watcher_count(daemon)} watchers, {watches[daemon.name]} are open"
            time.sleep(POLL_INTERVAL_S)
    return "pass", ""


def run_scenario(runner: RunnerProcess, s: Scenario, setup: Setup, poll_ms: int) -> Outcome:
    t0 = time.monotonic()
    daemons = setup.daemons
    default = next(iter(daemons))
    begun = runner.send({"cmd": "begin", "scenario": s.name, "daemons": [d.describe() for d in daemons.values()]})
    if begun.get("status") != "ok":
        return Outcome("fail", f"begin: {begun}")
    outcome = Outcome("pass")
    watches: Dict[str, int] = {}  # open watches per daemon
    job = Job(runner, s, setup)
    try:
        for i, step in enumerate(s.steps):
            status, detail = run_step(job, step, default, watches, poll_ms)
            if status != "pass":
                outcome = Outcome(status, f"step {i + 1} {detail}")
                break
    finally:
        job.close()
    ended = runner.send({"cmd": "end"})
    if ended.get("status") != "ok" and outcome.status == "pass":
        outcome = Outcome("fail", f"end: {ended}")
    outcome.seconds = time.monotonic() - t0
    gap = s.known_gaps.get(runner.name)
    if gap is not None and outcome.status == "fail":
        outcome = Outcome("gap", f"{gap} ({outcome.detail})", outcome.seconds)
    elif gap is not None and outcome.status == "pass":
        outcome = Outcome("fail", f"the known gap no longer shows ({gap}): remove it from known_gaps", outcome.seconds)
    return outcome


def stops_broker(s: Scenario) -> bool:
    return any(action_of(st) == "broker_stop" for st in s.steps)


def static_skip(s: Scenario, bus_url: Optional[str]) -> Optional[str]:
    """Why this run cannot run the scenario at all (a `skip` cell), or None."""
    if s.setup.get("bus") and not bus_url:
        return "needs the bus: WEFT_TEST_AMQP_URL is not set"
    if any(action_of(st) in {"broker_stop", "broker_start"} for st in s.steps):
        why = bus.broker_control()
        if why is not None:
            return f"stops the broker, which this run may not: {why}"
    return None


def static_na(runner: RunnerProcess, s: Scenario) -> Optional[str]:
    for step in s.steps:
        action = action_of(step)
        if action in runner.unsupported:
            return f"{action}: {runner.unsupported[action]}"
    return None


# ---------------------------------------------------------------- main


def runner_commands() -> Dict[str, List[str]]:
    py = os.path.join(SUITE, ".venv", "bin", "python")
    java_dir = os.path.join(SUITE, "runners", "java", "target")
    return {
        "java": ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
                 os.path.join(java_dir, "weft-conformance-runner.jar") + ":" + os.path.join(java_dir, "lib", "*"),
                 "io.weft.conformance.Runner"],
        "python": [py, os.path.join(SUITE, "runners", "python", "runner.py")],
        "go": [os.path.join(SUITE, "target", "weft-conformance-go")],
        "grpcurl": [py, os.path.join(SUITE, "runners", "grpcurl", "runner.py")],
    }


def print_matrix(scenarios: List[Scenario], names: List[str], results: Dict[Tuple[str, str], Outcome]) -> None:
    width = max(len(s.name) for s in scenarios)
    cols = [max(len(n), 7) for n in names]
    print()
    print("scenario".ljust(width) + "  " + "  ".join(n.ljust(c) for n, c in zip(names, cols)))
    print("-" * width + "  " + "  ".join("-" * c for c in cols))
    for s in scenarios:
        cells = [results[(s.name, n)].status.ljust(c) for n, c in zip(names, cols)]
        print(s.name.ljust(width) + "  " + "  ".join(cells))
    print()
    notes = [(s.name, n, results[(s.name, n)]) for s in scenarios for n in names
             if results[(s.name, n)].status != "pass"]
    for scenario, runner, o in notes:
        detail = o.detail if len(o.detail) <= 700 else o.detail[:700] + " ..."
        print(f"{o.status:5} {scenario} [{runner}]: {detail}")
    totals = {st: sum(1 for o in results.values() if o.status == st) for st in ("pass", "fail", "gap", "n/a", "skip")}
    print(f"\n{len(scenarios)} scenarios x {len(names)} runners: "
          + ", ".join(f"{v} {k}" for k, v in totals.items()))


def main() -> int:
    # SIGTERM ends the run like Ctrl-C: the daemons and runners it started are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runner", action="append", help="run only these runners (java, python, go, grpcurl)")
    ap.add_argument("--scenario", action="append", help="run only scenarios whose name contains this")
    ap.add_argument("--launcher", default=os.environ.get("WEFTD", os.path.join(REPO, "daemon", "target", "weftd")))
    ap.add_argument("--scenarios", default=os.path.join(SUITE, "scenarios", "*.yaml"), help="glob of scenario files")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each result as it comes")
    ap.add_argument("--mutate", action="store_true",
                    help="self-check: make each scenario's last expectation impossible; every run cell must then fail")
    opts = ap.parse_args()

    scenarios = load_scenarios(opts.scenarios)
    if opts.scenario:
        scenarios = [s for s in scenarios if any(f in s.name for f in opts.scenario)]
    if not scenarios:
        print("no scenario selected", file=sys.stderr)
        return 2
    if opts.mutate:
        scenarios = [mutate(s) for s in scenarios]
    commands = runner_commands()
    names = opts.runner or list(commands)
    log_dir = os.path.join(SUITE, "target")
    os.makedirs(log_dir, exist_ok=True)
    bus_url = os.environ.get("WEFT_TEST_AMQP_URL")

    t0 = time.monotonic()
    results: Dict[Tuple[str, str], Outcome] = {}
    runners = {n: RunnerProcess(n, commands[n], os.path.join(log_dir, f"runner-{n}.log")) for n in names}
    pending: Optional[concurrent.futures.Future] = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        try:
            dead: Dict[str, str] = {}
            for n, r in runners.items():
                try:
                    r.start()
                except (RunnerDied, OSError) as e:
                    dead[n] = f"the runner did not start: {e}"
            jobs = []
            for s in scenarios:
                for n in names:
                    if n in dead:
                        results[(s.name, n)] = Outcome("fail", dead[n])
                    elif (skip := static_skip(s, bus_url)) is not None:
                        results[(s.name, n)] = Outcome("skip", skip)
                    elif (why := static_na(runners[n], s)) is not None:
                        results[(s.name, n)] = Outcome("n/a", why)
                    else:
                        jobs.append((s, n))
            # The daemons of the next job start while the current one runs (weftd takes 1-4 s to start).
            pending = pool.submit(start_daemons, jobs[0][0], opts.launcher) if jobs else None
            for i, (s, n) in enumerate(jobs):
                assert pending is not None
                try:
                    setup = pending.result()
                except Exception as e:  # a daemon that does not start fails the job, not the run
                    setup, startup_error = None, e
                # A scenario that stops the broker must not share the outage with the next job's setup.
                prestart = i + 1 < len(jobs) and not stops_broker(s)
                pending = pool.submit(start_daemons, jobs[i + 1][0], opts.launcher) if prestart else None
                if setup is None:
                    results[(s.name, n)] = Outcome("fail", f"setup: {startup_error}")
                    continue
                try:
                    results[(s.name, n)] = run_scenario(runners[n], s, setup, MUTATE_POLL_MS if opts.mutate else DEFAULT_POLL_MS)
                except RunnerDied as e:
                    results[(s.name, n)] = Outcome("fail", str(e))
                    runners[n].restart()
                finally:
                    setup.cleanup()
                if pending is None and i + 1 < len(jobs):
                    pending = pool.submit(start_daemons, jobs[i + 1][0], opts.launcher)
                if opts.verbose:
                    o = results[(s.name, n)]
                    print(f"{o.status:5} {s.name} [{n}] {o.seconds:.1f}s {o.detail}", flush=True)
        finally:
            if pending is not None:
                try:
                    pending.result().cleanup()
                except Exception:
                    pass
            for r in runners.values():
                r.quit()
    print_matrix(scenarios, names, results)
    print(f"suite time: {time.monotonic() - t0:.1f} s")
    if opts.mutate:
        caught = [o for o in results.values() if o.status == "fail"]
        missed = [k for k, o in results.items() if o.status in ("pass", "gap")]
        print(f"mutation self-check: {len(caught)} mutated cells failed as they must; {len(missed)} did not: {missed}")
        return 1 if missed else 0
    return 1 if any(o.status == "fail" for o in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
