"""A PostgreSQL database of its own for an integration test (stdlib + psql).

The server comes from the ctest fixture `postgres` (tests/pg): SBC_TEST_DSN is
its maintenance DSN. The sbc under test migrates the database itself
([database] migrate = true); the test then adds the trunks it needs.

    with sbcdb.TestDb("rfc4475") as db:
        config = ... + db.toml_section(workdir)
        sbc = sbctest.Sbc(binary, workdir, config)
        db.wait_for_schema(sbc)
        db.add_trunk("torture-pbx", "pbx", "inside", "127.0.0.0/8")
"""
import os
import re
import subprocess
import time


class TestDbError(Exception):
    pass


class TestDb:
    def __init__(self, prefix, psql="psql"):
        base = os.environ.get("SBC_TEST_DSN")
        if not base:
            raise TestDbError("SBC_TEST_DSN is not set (ctest sets it; see tests/pg/README.md)")
        self.base_dsn = base
        self.psql = psql
        self.name = f"{re.sub(r'[^a-z0-9_]', '_', prefix.lower())}_{os.getpid()}_{int(time.time() * 1000) % 100000}"
        if "dbname=" in base:
            self.dsn = re.sub(r"dbname=\S+", f"dbname={self.name}", base)
        else:
            self.dsn = f"{base} dbname={self.name}"

    def __enter__(self):
        self._run(self.base_dsn, f"CREATE DATABASE {self.name}")
        return self

    def __exit__(self, *exc):
        try:
            self._run(self.base_dsn, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except TestDbError as e:
            print(f"note: could not drop {self.name}: {e}", flush=True)
        return False

    def _run(self, dsn, sql, timeout=30):
        r = subprocess.run([self.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", dsn, "-c", sql], capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise TestDbError(f"psql: {r.stderr.strip()} (SQL: {sql[:200]})")
        return r.stdout.strip()

    def sql(self, statement):
        return self._run(self.dsn, statement)

    def toml_section(self, workdir):
        """[database] (migrating at start), [cdr] and [mgmt] for a test sbc."""
        return (f'[database]\ndsn = "{self.dsn}"\nmigrate = true\n\n'
                f'[cdr]\nspool_dir = "{os.path.join(workdir, "cdr-spool")}"\n\n'
                '[mgmt]\naddress = "127.0.0.1"\nport = 0\n')

    def wait_for_schema(self, sbc=None, timeout=30):
        """Until the sbc's migrations created the trunks table."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sbc is not None and not sbc.alive():
                raise TestDbError("the sbc exited before migrating the database")
            if self.sql("SELECT to_regclass('public.trunks') IS NOT NULL") == "t":
                return
            time.sleep(0.1)
        raise TestDbError("the sbc did not migrate the database in time")

    def add_trunk(self, name, kind, realm, cidr):
        """A trunk identified by source address (ACL `cidr`); returns its id."""
        trunk_id = self.sql(f"INSERT INTO trunks (name, kind, realm) "
                            f"VALUES ('{name}', '{kind}', '{realm}') RETURNING id")
        self.sql(f"INSERT INTO trunk_acl (trunk_id, cidr) VALUES ({trunk_id}, '{cidr}')")
        return int(trunk_id)
