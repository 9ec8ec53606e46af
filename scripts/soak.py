#!/usr/bin/env python3
"""Soak test of `emeter run` through restarts, broker restarts and clock steps (python stdlib only).

A simulated Belgian P1 meter (`emeter simulate p1`, fixed `--start`, so its registers are deterministic) runs the
whole time in its own process, so it keeps counting while emeter is down, and logs every telegram it sends.
`emeter run` reads it with a file ring and an MQTT forwarder to a real mosquitto on a random loopback port; a
mosquitto_sub with a persistent session (QoS 1) receives the records. The script then:

- restarts emeter at least --restarts times, each stop a random SIGKILL or SIGTERM after a random run time;
- restarts the broker a few times while emeter runs;
- steps emeter's wall clock forward by a day and later back by an hour, through the test seam
  EMETER_TEST_CLOCK_OFFSET_FILE (a file holding an offset in seconds, re-read once a second);
- finally stops emeter with SIGTERM while the broker is up.

It prints and checks: Σ P1 record energies per register (the records the subscriber received, de-duplicated by
`id`) = the meter's register difference between the first and the last telegram emeter took (both found in the
meter's own telegram log), exactly in Wh and litres; no two records overlap and none ends before it starts; every
record is de-duplicable by id (same id, same content); nothing is left undelivered in the ring; the ring image
holds at most 512 bytes.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from peers import free_port, wait_port

DEVICE = "soak"
REGISTERS = [("import_t1_wh", 1), ("import_t2_wh", 2), ("export_t1_wh", 3), ("export_t2_wh", 4),
             ("gas_l", 5), ("water_l", 6)]


class Soak:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="emeter-soak-")
        self.random = random.Random(args.seed)
        self.procs = []
        self.broker = None
        self.emeter = None
        self.runs = 0
        self.events = []

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def spawn(self, cmd, name, env=None):
        out = open(self.path(f"{name}.out"), "a")
        err = open(self.path(f"{name}.err"), "a")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        self.procs.append(proc)
        return proc

    @staticmethod
    def stop(proc, sig=signal.SIGTERM, timeout=15.0):
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def cleanup(self):
        for proc in reversed(self.procs):
            try:
                self.stop(proc, timeout=5)
            except Exception:
                pass
        if self.args.keep:
            print(f"kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log(self, text):
        stamp = time.monotonic() - self.t0
        print(f"[{stamp:6.1f} s] {text}", file=sys.stderr, flush=True)

    # Processes

    def start_broker(self):
        conf = self.path("mosquitto.conf")
        # Persistence keeps the subscriber's session (its subscription and the QoS 1 messages queued for it) across
        # broker restarts. Started as root, mosquitto drops to the `mosquitto` user: its directory must be writable.
        store = self.path("mosquitto")
        os.makedirs(store, exist_ok=True)
        os.chmod(self.tmp, 0o755)
        os.chmod(store, 0o777)
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {store}/\nautosave_interval 1\nlog_dest stderr\n")
        self.broker = self.spawn([self.args.mosquitto, "-c", conf], "mosquitto")
        if not wait_port(self.port, 20):
            raise SystemExit(f"mosquitto did not listen on 127.0.0.1:{self.port} (see {self.tmp}; --keep keeps it)")

    def start_meter(self):
        self.meter = self.spawn(
            [self.args.binary, "simulate", "p1", "--profile", "belgian-3phase", "--link", self.path("p1"),
             "--start", self.args.start, "--telegram-log", self.path("telegrams.txt")], "meter")
        deadline = time.monotonic() + 20
        while not os.path.exists(self.path("p1")):
            if time.monotonic() > deadline:
                raise SystemExit("the simulated meter did not create its pty link")
            time.sleep(0.1)

    def start_subscriber(self):
        cmd = (["stdbuf", "-oL"] if shutil.which("stdbuf") else []) + [
            self.args.mosquitto_sub, "-h", "127.0.0.1", "-p", str(self.port), "-q", "1", "-c", "-i", "soak-sub",
            "-t", f"{DEVICE}/{DEVICE}/interval"]
        self.subscriber = self.spawn(cmd, "subscriber")

    def write_files(self):
        with open(self.path("board.yaml"), "w") as f:
            f.write(f"name: soak (the simulator board's Belgian P1 meter, in its own process)\n"
                    f"p1:\n  port: {self.path('p1')}\n  serial: 115200-8N1\n  data_request:\n    line: none\n")
        with open(self.path("config.yaml"), "w") as f:
            f.write(f"device: {DEVICE}\nlocal_time: utc\nstate_dir: {self.path('state')}\n"
                    f"ring:\n  storage: file\n  path: {self.path('ring.bin')}\n"
                    "stdout:\n  live: true\n  records: false\n  health: false\n"
                    f"forward:\n  - url: mqtt://127.0.0.1:{self.port}/{DEVICE}\n    discovery: false\n")
        self.set_offset(0)

    def set_offset(self, seconds):
        with open(self.path("offset.tmp"), "w") as f:
            f.write(f"{seconds}\n")
        os.replace(self.path("offset.tmp"), self.path("offset"))
        self.offset = seconds

    def start_emeter(self):
        env = dict(os.environ, EMETER_TEST_CLOCK_OFFSET_FILE=self.path("offset"))
        self.runs += 1
        with open(self.path("emeter.out"), "a") as f:
            f.write(f"# run {self.runs}\n")
        self.emeter = self.spawn(
            [self.args.binary, "run", "--board", self.path("board.yaml"), "--config", self.path("config.yaml"),
             "--interval", f"{self.args.interval}s", "--log-level", "info"], "emeter", env=env)

    def stop_emeter(self, sig):
        self.stop(self.emeter, sig)
        code = self.emeter.returncode
        self.events.append(("SIGKILL" if sig == signal.SIGKILL else "SIGTERM", code))
        if sig == signal.SIGTERM and code != 0:
            raise SystemExit(f"emeter exited {code} after SIGTERM (see {self.tmp}/emeter.err; --keep keeps it)")

    # The run

    def run(self):
        a = self.args
        self.t0 = time.monotonic()
        self.port = free_port()
        self.write_files()
        self.start_broker()
        self.start_subscriber()
        self.start_meter()
        forward_at, back_at = a.restarts // 3, (2 * a.restarts) // 3
        broker_restarts = 0
        for cycle in range(a.restarts):
            self.start_emeter()
            run_for = self.random.uniform(a.min_run, a.max_run)
            step = None
            if cycle == forward_at:
                step = 86_400
            elif cycle == back_at:
                step = self.offset - 3600
            bounce = cycle % 3 == 1
            started = time.monotonic()
            if step is not None:
                time.sleep(run_for / 2)
                self.set_offset(step)
                self.log(f"run {self.runs}: wall clock offset now {step:+d} s")
            if bounce:
                time.sleep(max(0.0, run_for / 3 - (time.monotonic() - started)))
                self.stop(self.broker)
                self.log(f"run {self.runs}: broker stopped")
                time.sleep(self.random.uniform(1, 4))
                self.start_broker()
                broker_restarts += 1
                self.log(f"run {self.runs}: broker started again")
            time.sleep(max(0.0, run_for - (time.monotonic() - started)))
            sig = signal.SIGKILL if self.random.random() < 0.5 else signal.SIGTERM
            self.stop_emeter(sig)
            self.log(f"run {self.runs}: {sig.name} after {time.monotonic() - started:.1f} s")
            time.sleep(self.random.uniform(0, a.max_down))
        # The last run: broker up, a clean stop.
        self.start_emeter()
        time.sleep(a.max_run)
        self.stop_emeter(signal.SIGTERM)
        self.log(f"run {self.runs}: SIGTERM (final)")
        time.sleep(3)  # the subscriber gets what was just published
        self.stop(self.subscriber)
        self.stop(self.meter)
        return self.check(broker_restarts)

    # The checks

    def received(self):
        by_id = {}
        duplicates = 0
        conflicts = []
        for line in open(self.path("subscriber.out")):
            line = line.strip()
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            known = by_id.get(record["id"])
            if known is not None:
                duplicates += 1
                if known != record:
                    conflicts.append(record["id"])
                continue
            by_id[record["id"]] = record
        return by_id, duplicates, conflicts

    def readings(self):
        """emeter's live P1 readings of the first and the last run (stdout, one JSON line each)."""
        runs = []
        for line in open(self.path("emeter.out")):
            if line.startswith("# run"):
                runs.append([])
            elif line.startswith('{"type":"p1"') and runs:
                runs[-1].append(json.loads(line))
        return runs

    def telegrams(self):
        rows = []
        for line in open(self.path("telegrams.txt")):
            parts = line.split()
            if len(parts) == 7:
                rows.append([int(p) for p in parts])
        return rows

    def check(self, broker_restarts):
        failures = []
        records, duplicates, conflicts = self.received()
        ordered = sorted(records.values(), key=lambda r: (r["start"], r["end"]))
        runs = self.readings()
        first_reading, last_reading = runs[0][0], next(r for r in reversed(runs) if r)[-1]
        telegrams = self.telegrams()

        def telegram_of(reading):
            values = [reading.get(name) or 0 for name, _ in REGISTERS]
            return next((row for row in telegrams if row[1:] == values), None)

        first_telegram, last_telegram = telegram_of(first_reading), telegram_of(last_reading)
        if first_telegram is None or last_telegram is None:
            failures.append("the first or last reading emeter took is not a telegram the meter sent")
        print(f"emeter runs: {self.runs} ({sum(1 for e in self.events if e[0] == 'SIGKILL')} SIGKILL, "
              f"{sum(1 for e in self.events if e[0] == 'SIGTERM')} SIGTERM), broker restarts: {broker_restarts}, "
              f"clock steps injected: +1 day, -1 h")
        print(f"meter telegrams logged: {len(telegrams)}; meter time of emeter's first and last reading: "
              f"{first_telegram and first_telegram[0]} … {last_telegram and last_telegram[0]}")
        print(f"records received: {len(records)} unique ids, {duplicates} duplicates "
              f"({len(conflicts)} with different content)")
        if conflicts:
            failures.append(f"records with the same id but different content: {conflicts[:5]}")
        print(f"{'register':<14}{'Σ records':>14}{'meter difference':>18}")
        for name, column in REGISTERS:
            summed = sum((r.get("p1") or {}).get(name, 0) or 0 for r in ordered)
            expected = (last_telegram[column] - first_telegram[column]) if first_telegram and last_telegram else None
            mark = "ok" if summed == expected else "MISMATCH"
            print(f"{name:<14}{summed:>14}{expected if expected is not None else '?':>18}  {mark}")
            if summed != expected:
                failures.append(f"{name}: records sum to {summed}, the meter moved {expected}")
        overlaps = [(a["id"], b["id"]) for a, b in zip(ordered, ordered[1:]) if b["start"] < a["end"]]
        backwards = [r["id"] for r in ordered if r["end"] < r["start"]]
        holes = sum(1 for a, b in zip(ordered, ordered[1:]) if b["start"] > a["end"])
        flags = {}
        for r in ordered:
            for flag in r["flags"]:
                flags[flag] = flags.get(flag, 0) + 1
        steps = [r for r in ordered if "clock_step" in r["flags"]]
        longest = max((r["end"] - r["start"] for r in ordered), default=0)
        print(f"overlapping records: {len(overlaps)}, ending before start: {len(backwards)}, "
              f"time not covered between records: {holes} places")
        print(f"flags: {json.dumps(flags, sort_keys=True)}; longest record {longest} s; "
              f"clock-step records: {[(r['start'], r['end']) for r in steps]}")
        if overlaps:
            failures.append(f"overlapping records: {overlaps[:5]}")
        if backwards:
            failures.append(f"records ending before they start: {backwards[:5]}")
        show = subprocess.run([self.args.binary, "ring", "show", "--file", self.path("ring.bin")],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        left = [json.loads(line) for line in show.stdout.splitlines() if line.startswith("{")]
        undelivered = [r["id"] for r in left if r["id"] not in records]
        summary = show.stderr.strip().splitlines()[-1] if show.stderr.strip() else ""
        used = None
        for word, following in zip(summary.split(), summary.split()[1:]):
            if following == "bytes":
                used = int(word) if word.isdigit() else used
        print(f"ring at the end: {summary}")
        if undelivered:
            failures.append(f"records in the ring the subscriber never received: {undelivered[:5]}")
        if used is None or used > 512:
            failures.append(f"ring data bytes {used} (expected ≤ 512)")
        print(f"wall time: {time.monotonic() - self.t0:.0f} s")
        for failure in failures:
            print(f"FAIL: {failure}")
        print("soak: PASS" if not failures else "soak: FAIL")
        return 0 if not failures else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/debug/emeter", help="emeter binary (default: the debug build)")
    parser.add_argument("--restarts", type=int, default=12, help="emeter restarts (at least 10)")
    parser.add_argument("--interval", type=int, default=5, help="record interval, seconds (default 5)")
    parser.add_argument("--min-run", type=float, default=6, help="shortest run of emeter, seconds")
    parser.add_argument("--max-run", type=float, default=16, help="longest run of emeter, seconds")
    parser.add_argument("--max-down", type=float, default=4, help="longest downtime between runs, seconds")
    parser.add_argument("--start", default="2025-01-06T20:58:00Z", help="the simulated meter's clock at start")
    parser.add_argument("--seed", type=int, default=10, help="seed of the random run times and signals")
    parser.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    parser.add_argument("--mosquitto-sub", default=shutil.which("mosquitto_sub") or "mosquitto_sub")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with every log")
    args = parser.parse_args()
    if args.restarts < 10:
        parser.error("--restarts: at least 10")
    if not os.path.exists(args.binary):
        parser.error(f"{args.binary} does not exist: build it first (swift build --product emeter)")
    soak = Soak(args)
    try:
        return soak.run()
    finally:
        soak.cleanup()


if __name__ == "__main__":
    sys.exit(main())
