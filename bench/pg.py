"""The benchmark's PostgreSQL databases: made once and reused, copied for each run.

`<name>_seed` holds a million orders and `<name>_queue` 100,000 pending ones; both
are made by `seed_demo` only when missing, and record how long that took in their
database comment. A run works on copies (`CREATE DATABASE … TEMPLATE`), so every
run starts from the same data and the originals are never written to.
"""

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Seeded:
    name: str
    seconds: float
    orders: int
    size_bytes: int
    made_now: bool


class Server:
    def __init__(self, url: str) -> None:
        """`url` is postgres://user@host:port (any database name in it is ignored)."""
        parts = urlsplit(url)
        self.base = parts
        self.user = parts.username or "postgres"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 5432

    def url(self, database: str) -> str:
        return urlunsplit(self.base._replace(path="/" + database))

    def connect(self, database: str = "postgres"):
        connection = psycopg2.connect(self.url(database))
        connection.autocommit = True
        return connection

    def query(self, database: str, statement: str, params=()) -> list[tuple]:
        connection = self.connect(database)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def exists(self, database: str) -> bool:
        return bool(self.query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", [database]))

    def drop(self, database: str) -> None:
        self.query("postgres", f"DROP DATABASE IF EXISTS {sql_name(database)} WITH (FORCE)")

    def create(self, database: str, template: str | None = None) -> float:
        """Creates `database`, empty or as a file copy of `template`; returns the seconds it took."""
        started = time.monotonic()
        self.drop(database)
        if template:
            self.query(
                "postgres", f"CREATE DATABASE {sql_name(database)} TEMPLATE {sql_name(template)} STRATEGY FILE_COPY"
            )
        else:
            self.query("postgres", f"CREATE DATABASE {sql_name(database)}")
        return time.monotonic() - started

    def size(self, database: str) -> int:
        return self.query("postgres", "SELECT pg_database_size(%s)", [database])[0][0]

    def note(self, database: str) -> dict:
        rows = self.query(
            "postgres", "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database]
        )
        try:
            return json.loads(rows[0][0]) if rows and rows[0][0] else {}
        except ValueError:
            return {}

    def set_note(self, database: str, note: dict) -> None:
        self.query("postgres", f"COMMENT ON DATABASE {sql_name(database)} IS %s", [json.dumps(note)])


def sql_name(name: str) -> str:
    """A database name for a statement that cannot take it as a parameter."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"{name!r} is not a plain database name (lower-case letters, digits, _)")
    return f'"{name}"'


def ensure_seeded(
    server: Server, database: str, *, orders: int, pending: int, customers: int | None, env: dict, python: str, log
) -> Seeded:
    """The database made by `seed_demo --orders N [--pending P]`, made now if it is missing
    or was left half-made (a seed that did not finish leaves no note)."""
    note = server.note(database) if server.exists(database) else {}
    expected = {"orders": orders, "pending": pending, "customers": customers}
    made_now = note.get("seeded") != expected
    manage = [python, str(ROOT / "manage.py")]
    db_env = {**env, "DATABASE_URL": server.url(database)}
    if made_now:
        log(f"Seeding {database}: {orders:,} orders ({pending:,} pending) — once; later runs reuse it.")
        server.create(database)
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=db_env, check=True)
        started = time.monotonic()
        command = [
            *manage,
            "seed_demo",
            "--orders",
            str(orders),
            "--pending",
            str(pending),
            "--password",
            env["BENCH_PASSWORD"],
            "--seed",
            "1",
        ]
        if customers:
            command += ["--customers", str(customers)]
        subprocess.run(command, env=db_env, check=True)
        seconds = time.monotonic() - started
        server.query(database, "VACUUM ANALYZE")
        note = {"seeded": expected, "seed_seconds": round(seconds, 1)}
        server.set_note(database, note)
    else:
        # A migration added since the seed is applied to the original, then copied.
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=db_env, check=True)
    count = server.query(database, "SELECT count(*) FROM orders_order")[0][0]
    return Seeded(database, note["seed_seconds"], count, server.size(database), made_now)


def pgbench_place_order(server: Server, database: str, *, clients: int, seconds: int) -> dict:
    """pgbench's place-order transaction (bench/place_order.pgbench) against `database`,
    which it changes: balances are raised first so that no charge is refused."""
    server.query(database, "UPDATE orders_customer SET balance = balance + 1000000")
    first, last = server.query(database, "SELECT min(id), max(id) FROM orders_customer")[0]
    product = server.query(database, "SELECT min(id) FROM orders_product")[0][0]
    command = [
        "pgbench",
        "--no-vacuum",
        "--file",
        str(ROOT / "bench" / "place_order.pgbench"),
        "--client",
        str(clients),
        "--jobs",
        str(min(clients, 2)),
        "--time",
        str(seconds),
        "--define",
        f"first_customer={first}",
        "--define",
        f"last_customer={last}",
        "--define",
        f"product={product}",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--username",
        server.user,
        database,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pgbench failed: {result.stderr.strip() or result.stdout.strip()}")
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", result.stdout).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    return {"clients": clients, "tps": tps, "latency_ms": latency, "failed": int(failed.group(1)) if failed else 0}
