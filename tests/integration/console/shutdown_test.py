#!/usr/bin/env python3
"""sbc-admin whose database never answers still stops on SIGTERM.

Its background jobs (port-order scheduler, dashboard sampler, auth upkeep)
wait on database jobs that never run while PostgreSQL is unreachable; a
stop must fail them instead of waiting forever (systemd would SIGKILL it
after TimeoutStopSec).

    shutdown_test.py SBC_ADMIN
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def closed_port():
    # A port nothing listens on: bound, then released.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as work:
        config = os.path.join(work, "admin.toml")
        with open(config, "w") as f:
            f.write(f"""log_level = "info"
shutdown_grace = 2
[http]
address = "127.0.0.1"
port = 0
[database]
dsn = "host=127.0.0.1 port={closed_port()} dbname=sbc user=sbc connect_timeout=2"
""")
        log_path = os.path.join(work, "admin.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([binary, "--config", config], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.poll() is None:
                if "listening on" in open(log_path).read():
                    break
                time.sleep(0.1)
            if proc.poll() is not None or "listening on" not in open(log_path).read():
                print(open(log_path).read())
                print("FAIL: sbc-admin did not start without its database")
                return 1
            time.sleep(6)  # the scheduler's first tick (5 s) queues a database job
            stopped_at = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                print(open(log_path).read()[-3000:])
                print("FAIL: sbc-admin still running 10 s after SIGTERM")
                return 1
            took = time.monotonic() - stopped_at
            if rc != 0:
                print(open(log_path).read()[-3000:])
                print(f"FAIL: exit status {rc}")
                return 1
            print(f"ok: sbc-admin with an unreachable database stopped {took:.1f} s after SIGTERM")
            return 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    sys.exit(main())
