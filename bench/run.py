"""`make bench`: the platform measured against the framework's ceilings, at a million orders.

    .venv/bin/python bench/run.py [--seconds 10] [--readme] [--skip-agents] [--only NAME]

1. Makes (once) or reuses a PostgreSQL database seeded with `seed_demo --orders
   1000000`, and works on a fresh file copy of it.
2. Starts gunicorn with the production settings on 127.0.0.1 (2 workers), plus two
   ceiling pages (bench/views.py) served by the same processes.
3. For each scenario (bench/web.py), counts its SQL queries in-process, then drives it
   with wrk for --seconds at 1 connection (latency) and at 16 (throughput).
4. Checks the writes landed and `check_ledger` holds; runs pgbench's place-order
   transaction on a copy of its own; measures the agent on a copy of a database of
   100,000 pending orders (made once, like the first) with 1 and then 4 agents.
5. Prints the results with every figure as a ratio to its ceiling, PASS/FAIL against
   the targets, and writes them to bench/results/ (and with --readme, to bench/README.md).

Exits 1 if a target is missed. Everything it starts binds to loopback and is stopped
by its PID before it returns.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pg  # noqa: E402
from bench.load import Load, wrk  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ORDERS = 1_000_000
QUEUE = 100_000
# The agent runs: orders executed at once, and claimed and completed 50 at a time.
AGENT_SETTINGS = {
    "ORDER_EXECUTOR": "instant",
    "AGENT_CONCURRENCY": "50",
    "AGENT_BATCH_SIZE": "50",
    "LOG_LEVEL": "WARNING",
}
LOADED = 16
# The figures for these ceilings on a 2-core machine, for comparison.
REFERENCE = {"bare view (ceiling)": 4500, "bare 25-row table (ceiling)": 390, "pgbench": 2300}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


@dataclass
class Result:
    name: str
    group: str
    queries: list[int] = field(default_factory=list)
    light: Load | None = None
    loaded: Load | None = None
    written: dict[str, int] = field(default_factory=dict)  # run -> rows the writes made
    unverified: int = 0  # requests wrk counted as answered that wrote nothing


def production_env(database_url: str) -> dict:
    """The environment of a production deploy, on loopback and plain HTTP."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,testserver",
        "PUBLIC_URL": "http://127.0.0.1",
        "DJANGO_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_HSTS_SECONDS": "0",
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": "2",
        "BENCH_PASSWORD": "bench-only-password",
        "PYTHONPATH": str(ROOT),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    def __init__(self, env: dict, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / "gunicorn.log", "w")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "dashboard.wsgi",
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start; see {self.log.name}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# --- the web scenarios -------------------------------------------------------------------


# The same list at 25 and 100 rows a page, near the top and deep (pages from row 500
# on fetch their ids first): the queries must not grow with the rows shown.
PAGE_SHAPES = {
    "first page": ("/orders/", "/orders/?per_page=100"),
    "deep pages": (
        "/orders/?page=30",
        "/orders/?page=200",
        "/orders/?per_page=100&page=10",
        "/orders/?per_page=100&page=50",
    ),
}


def run_web(
    server: pg.Server, database: str, env: dict, seconds: int, workdir: Path, only: str | None
) -> tuple[list[Result], bool, dict]:
    # In-process requests (fixtures, query counts) need no request log; gunicorn keeps it.
    os.environ.update({**env, "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from bench.web import Fixtures, Request

    call_command("collectstatic", "--no-input", "-v", "0")
    fixtures = Fixtures(random.Random(1))
    scenarios = [s for s in fixtures.scenarios() if not only or only in s.name or s.group == "ceiling"]
    page_queries = {
        shape: [Request("GET", path, fixtures.admin_session).queries(uid="shape")[1] for path in paths]
        for shape, paths in PAGE_SHAPES.items()
    }
    connections.close_all()
    gunicorn = Gunicorn(env, workdir)
    results = []
    try:
        log(f"gunicorn (2 workers) on {gunicorn.url}; warming up")
        for scenario in scenarios:
            if scenario.group != "write":
                wrk(gunicorn.url, write_requests(workdir, scenario.make(1)), connections=2, seconds=1, prefix="warm")
        rates: dict[int, float] = {}
        for index, scenario in enumerate(scenarios):
            result = Result(scenario.name, scenario.group)
            for number, request in enumerate(scenario.make(1)):
                status, queries = request.queries(uid=f"q{index}x{number}")
                if status >= 400:
                    raise RuntimeError(f"{scenario.name}: {request.method} {request.path} answered {status}")
                result.queries.append(queries)
            for connections_ in (1, LOADED):
                expected = int(rates.get(connections_, 500) * seconds * 1.5) + 100
                requests = scenario.make(expected)
                prefix = f"b{int(time.time())}x{index}c{connections_}"
                load = wrk(
                    gunicorn.url,
                    write_requests(workdir, requests),
                    connections=connections_,
                    seconds=seconds,
                    prefix=prefix,
                )
                if scenario.verify:
                    rates[connections_] = load.rps
                    written = scenario.verify(prefix)
                    result.written[f"c{connections_}"] = written
                    # wrk stops counting at the deadline; up to one request per connection lands after it.
                    if not load.ok <= written <= load.ok + connections_:
                        result.unverified += abs(load.ok - written)
                setattr(result, "light" if connections_ == 1 else "loaded", load)
            results.append(result)
            log(f"{scenario.name}: {describe(result)}")
    finally:
        gunicorn.stop()
    connections.close_all()
    ledger = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check_ledger"], env=env, capture_output=True, text=True
    )
    (workdir / "check_ledger.txt").write_text(ledger.stdout + ledger.stderr)
    log(f"check_ledger after the writes: {'clean' if ledger.returncode == 0 else 'FAILED'}")
    return results, ledger.returncode == 0, page_queries


def write_requests(workdir: Path, requests) -> Path:
    handle, path = tempfile.mkstemp(dir=workdir, suffix=".tsv")
    with os.fdopen(handle, "w") as file:
        file.write("\n".join(request.line() for request in requests) + "\n")
    return Path(path)


def describe(result: Result) -> str:
    light, loaded = result.light, result.loaded
    return (
        f"{query_range(result.queries)} queries; 1 conn p50 {light.p50_ms:.1f} ms p99 {light.p99_ms:.1f} ms; "
        f"{LOADED} conns {loaded.rps:,.0f} req/s p99 {loaded.p99_ms:.0f} ms; "
        f"errors {light.errors + loaded.errors + result.unverified}"
    )


def query_range(queries: list[int]) -> str:
    return f"{min(queries)}" if min(queries) == max(queries) else f"{min(queries)}–{max(queries)}"


# --- the agent ---------------------------------------------------------------------------


def run_agents(server: pg.Server, queue_db: str, env: dict, agents: int, seconds: int, workdir: Path) -> dict:
    work = f"{queue_db}_run"
    server.create(work, template=queue_db)
    agent_env = {**env, "DATABASE_URL": server.url(work), **AGENT_SETTINGS}
    logs = [open(workdir / f"agent-{agents}-{n}.log", "w") for n in range(agents)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_agent"],
            cwd=ROOT,
            env=agent_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for log_file in logs
    ]
    open_orders = "SELECT count(*) FROM orders_order WHERE status IN ('pending', 'running')"
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and all(p.poll() is None for p in processes):
            if server.query(work, open_orders)[0][0] == 0:
                break
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log_file in logs:
            log_file.close()
    done, first, last = server.query(
        work,
        "SELECT count(*), min(started_at), max(finished_at) FROM orders_order "
        "WHERE status = 'completed' AND started_at >= now() - interval '1 day'",
    )[0]
    span = (last - first).total_seconds() if done else 0
    ledger = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check_ledger"], env=agent_env, capture_output=True, text=True
    )
    server.drop(work)
    return {
        "agents": agents,
        "completed": done,
        "seconds": round(span, 1),
        "per_second": done / span if span else 0.0,
        "ledger_clean": ledger.returncode == 0,
    }


# --- the report --------------------------------------------------------------------------


@dataclass
class Verdict:
    target: str
    measured: str
    passed: bool


def verdicts(results: list[Result], ledger_clean: bool, agents: list[dict], page_queries: dict) -> list[Verdict]:
    by_name = {result.name: result for result in results}
    table = by_name["bare 25-row table (ceiling)"]
    checks = []
    lists = [result for result in results if result.group == "order list"]
    for result in lists:
        checks.append(
            Verdict(
                f"{result.name}: p50 <= 2x table p50 ({2 * table.light.p50_ms:.1f} ms)",
                f"{result.light.p50_ms:.1f} ms ({result.light.p50_ms / table.light.p50_ms:.1f}x)",
                result.light.p50_ms <= 2 * table.light.p50_ms,
            )
        )
        checks.append(
            Verdict(
                f"{result.name}: p99 <= 50 ms at 1 connection",
                f"{result.light.p99_ms:.1f} ms",
                result.light.p99_ms <= 50,
            )
        )
        checks.append(
            Verdict(
                f"{result.name}: >= 70% of table req/s at {LOADED} connections",
                f"{result.loaded.rps:,.0f} req/s ({result.loaded.rps / table.loaded.rps:.0%})",
                result.loaded.rps >= 0.7 * table.loaded.rps,
            )
        )
    if page_queries:
        checks.append(
            Verdict(
                "order list: queries do not grow with the rows shown (25 or 100 a page, top or deep)",
                "; ".join(f"{shape} {', '.join(map(str, counts))}" for shape, counts in page_queries.items()),
                all(len(set(counts)) == 1 for counts in page_queries.values()),
            )
        )
    if "place order" in by_name:
        place = by_name["place order"]
        errors = place.light.errors + place.loaded.errors + place.unverified
        checks.append(
            Verdict(
                f"place order: >= 50% of table req/s at {LOADED} connections",
                f"{place.loaded.rps:,.0f} req/s ({place.loaded.rps / table.loaded.rps:.0%})",
                place.loaded.rps >= 0.5 * table.loaded.rps,
            )
        )
        checks.append(Verdict("place order: zero errors, every order written once", f"{errors} errors", errors == 0))
    checks.append(
        Verdict("check_ledger clean after the writes", "clean" if ledger_clean else "violations", ledger_clean)
    )
    for run in agents:
        if run["agents"] == 4:
            checks.append(
                Verdict(
                    "agent: >= 1,000 orders/s with 4 agents",
                    f"{run['per_second']:,.0f} orders/s",
                    run["per_second"] >= 1000,
                )
            )
        checks.append(
            Verdict(
                f"check_ledger clean after {run['agents']} agent(s)",
                "clean" if run["ledger_clean"] else "violations",
                run["ledger_clean"],
            )
        )
    return checks


def report(
    results, ledger_clean, page_queries, pgbench, agents, seeded: pg.Seeded, copy_seconds, seconds, command
) -> tuple[str, bool]:
    by_name = {result.name: result for result in results}
    table = by_name["bare 25-row table (ceiling)"]
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} with `{command}` ({seconds} s per load; "
        f"{os.cpu_count()} cores; gunicorn 2 sync workers; PostgreSQL on loopback; wrk).",
        "",
        "| Scenario | SQL queries | p50 @1 | p99 @1 | p50 vs table | req/s @16 | vs table | p99 @16 | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        light, loaded = result.light, result.loaded
        errors = light.errors + loaded.errors + result.unverified
        lines.append(
            f"| {result.name} | {query_range(result.queries)} | {light.p50_ms:.1f} ms | {light.p99_ms:.1f} ms | "
            f"{light.p50_ms / table.light.p50_ms:.2f}x | {loaded.rps:,.0f} | {loaded.rps / table.loaded.rps:.0%} | "
            f"{loaded.p99_ms:.0f} ms | {errors} |"
        )
    lines += ["", "| Ceiling | here | issue's reference | ratio |", "|---|---:|---:|---:|"]
    for name in ("bare view (ceiling)", "bare 25-row table (ceiling)"):
        rps = by_name[name].loaded.rps
        lines.append(f"| {name}, req/s @16 | {rps:,.0f} | {REFERENCE[name]:,} | {rps / REFERENCE[name]:.2f} |")
    if pgbench:
        lines.append(
            f"| pgbench place-order transaction, tps @{pgbench['clients']} clients | {pgbench['tps']:,.0f} | "
            f"{REFERENCE['pgbench']:,} | {pgbench['tps'] / REFERENCE['pgbench']:.2f} |"
        )
        if "place order" in by_name:
            place = by_name["place order"].loaded.rps
            lines.append(
                f"| place order over HTTP vs pgbench's transaction | {place:,.0f} | {pgbench['tps']:,.0f} | "
                f"{place / pgbench['tps']:.2f} |"
            )
    lines += [
        "",
        "| Other | figure |",
        "|---|---:|",
        f"| `seed_demo --orders {seeded.orders:,}` | {seeded.seconds / 60:.1f} min"
        f"{'' if seeded.made_now else ' (when the database was made)'} |",
        f"| database size | {seeded.size_bytes / 2**30:.2f} GiB |",
        f"| copying it for a run | {copy_seconds:.0f} s |",
    ]
    for run in agents:
        lines.append(
            f"| agent, zero-time executor, {run['agents']} agent(s), AGENT_CONCURRENCY=AGENT_BATCH_SIZE="
            f"{AGENT_SETTINGS['AGENT_CONCURRENCY']} | {run['per_second']:,.0f} orders/s "
            f"({run['completed']:,} in {run['seconds']} s) |"
        )
    checks = verdicts(results, ledger_clean, agents, page_queries)
    lines += ["", "| Target | measured | |", "|---|---|---|"]
    lines += [f"| {check.target} | {check.measured} | {'PASS' if check.passed else '**FAIL**'} |" for check in checks]
    return "\n".join(lines), all(check.passed for check in checks)


def update_readme(markdown: str) -> None:
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"bench/README.md has no {start} … {end} section to replace.")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{markdown}\n{end}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="How long each load runs (default 10).")
    parser.add_argument("--agent-seconds", type=int, default=120, help="At most this long per agent run (default 120).")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help="The PostgreSQL server (default postgres://postgres@127.0.0.1:5432).",
    )
    parser.add_argument("--database", default="order_platform_bench", help="Name prefix of the benchmark's databases.")
    parser.add_argument("--orders", type=int, default=ORDERS, help="Orders in the database (default 1,000,000).")
    parser.add_argument("--only", help="Only the scenarios whose name contains this (ceilings always run).")
    parser.add_argument("--skip-agents", action="store_true", help="Leave out the agent runs.")
    parser.add_argument("--readme", action="store_true", help="Write the results into bench/README.md.")
    args = parser.parse_args()
    for tool in ("wrk", "pgbench"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed (Debian/Ubuntu: apt-get install wrk postgresql-client).")

    server = pg.Server(args.postgres)
    seed_db, work_db, queue_db = f"{args.database}_seed", args.database, f"{args.database}_queue"
    base_env = production_env(server.url(work_db))
    seeded = pg.ensure_seeded(
        server, seed_db, orders=args.orders, pending=0, customers=None, env=base_env, python=sys.executable, log=log
    )
    log(f"{seed_db}: {seeded.orders:,} orders, {seeded.size_bytes / 2**30:.2f} GiB, seeded in {seeded.seconds:.0f} s")
    copy_seconds = server.create(work_db, template=seed_db)
    server.query(work_db, "ANALYZE")
    log(f"copied to {work_db} in {copy_seconds:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=RESULTS))
    results, ledger_clean, page_queries = run_web(server, work_db, base_env, args.seconds, workdir, args.only)
    # On a copy of its own: it changes balances outside the ledger.
    server.create(f"{work_db}_pgbench", template=seed_db)
    pgbench = pg.pgbench_place_order(server, f"{work_db}_pgbench", clients=4, seconds=args.seconds)
    server.drop(f"{work_db}_pgbench")
    log(f"pgbench place-order: {pgbench['tps']:,.0f} tps at 4 clients")
    agents = []
    if not args.skip_agents:
        pg.ensure_seeded(
            server, queue_db, orders=QUEUE, pending=QUEUE, customers=500, env=base_env, python=sys.executable, log=log
        )
        for count in (1, 4):
            run = run_agents(server, queue_db, base_env, count, args.agent_seconds, workdir)
            log(f"{count} agent(s): {run['per_second']:,.0f} orders/s ({run['completed']:,} in {run['seconds']} s)")
            agents.append(run)
    options = " ".join(sys.argv[1:])
    command = "make bench" + (f" BENCH_ARGS='{options}'" if options else "")
    markdown, passed = report(
        results, ledger_clean, page_queries, pgbench, agents, seeded, copy_seconds, args.seconds, command
    )
    print("\n" + markdown + "\n")
    (RESULTS / "latest.md").write_text(markdown + "\n")
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "results": [asdict(result) for result in results],
                "pgbench": pgbench,
                "agents": agents,
                "seed": asdict(seeded),
                "ledger_clean": ledger_clean,
                "page_queries": page_queries,
            },
            indent=2,
            default=str,
        )
    )
    if args.readme:
        update_readme(markdown)
        log("bench/README.md's results updated")
    log(f"details (server log, request files, check_ledger) in {workdir.relative_to(ROOT)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
