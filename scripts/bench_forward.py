#!/usr/bin/env python3
"""Forwarding benchmark of `emeter run` against a local mosquitto (loopback only, python stdlib only).

Two measurements, both with the real release binary, the real tty code and the real MQTT client:

1. Latency: DSMR 5 telegrams are written into a pseudo-terminal that emeter reads as its P1 port
   (115200-8N1, no auto-detection). Each telegram carries a unique 1-0:1.8.1 value (CRC-16/ARC recomputed).
   Latency = receipt of the matching `emeter/<device>/p1` message at mosquitto_sub (%U, receipt time with ns)
   minus the time the telegram's last byte was written into the pty master. Target: p99 <= 5 ms.

2. Drain: emeter runs with a file ring and 1 s intervals while its broker port has nothing listening, until the
   512-byte ring is full (it merged at least once) — then mosquitto starts on that port. Backlog records (all
   records in the ring when emeter reconnects: `end` before its `online` status) are timed at a QoS 1 subscriber: drain time = first to last backlog
   record. emeter's reconnect backoff (exponential, full jitter, cap 60 s) delays the *start* of the drain; that
   delay is reported separately. Target: a full ring drains in <= 1 s.

3. Freeze (--freeze S): the simulator board (ADE9000 polled at 10 Hz, P1 at 1 Hz, 1 s records) forwards to a
   mosquitto that is then stopped with SIGSTOP for S seconds (a hung broker or a half-open link). Measured: how
   long emeter takes to notice (its "reconnecting in" warning; target <= 1.5 x keep-alive), the timer lateness of
   the measurement loop *while the broker is frozen* (p99 from the difference of its health histograms; target
   <= 2 ms), and that every record is delivered after SIGCONT (the ring empties). Skipped unless asked for.

Usage: scripts/bench-forward [--telegrams N] [--rate HZ] [--fill-max S] [--freeze S] ...   (see --help)
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from peers import free_port, wait_port
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BINARY = os.path.join(ROOT, ".build", "release", "emeter")
DEFAULT_TEMPLATE = os.path.join(ROOT, "fixtures", "p1", "nl_dsmr50_iskra_mt382_v5.txt")
DEVICE = "bench"


# ---------------------------------------------------------------------------------------------------------------
# Telegrams


def crc16_arc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


class TelegramFactory:
    """DSMR telegrams from a template, each with its own 1-0:1.8.1 value (same field width), CRC recomputed."""

    FIELD = re.compile(rb"1-0:1\.8\.1\((\d+)\.(\d+)\*kWh\)")

    def __init__(self, path: str):
        raw = open(path, "rb").read()
        # Fixtures may have LF or CRLF line ends; a telegram on the wire has CRLF.
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        start = raw.index(b"/")
        bang = raw.index(b"!", start)
        self.body = raw[start:bang + 1]  # "/" … "!" inclusive, what the CRC covers
        match = self.FIELD.search(self.body)
        if not match:
            raise SystemExit(f"{path}: no 1-0:1.8.1(…*kWh) field")
        self.int_width, self.frac_width = len(match.group(1)), len(match.group(2))
        self.span = match.span()
        base = int(match.group(1) + match.group(2))  # in units of the last digit (Wh for 3 decimals)
        self.base = base
        self.scale = 10 ** self.frac_width
        check = crc16_arc(self.body)
        tail = raw[bang + 1:bang + 5]
        self.template_crc_ok = tail.upper() == b"%04X" % check

    def value(self, index: int) -> int:
        """Register value (in units of the last digit) of telegram `index`: unique and increasing."""
        return self.base + 1000 + index

    def telegram(self, index: int) -> bytes:
        v = self.value(index)
        whole, frac = divmod(v, self.scale)
        text = b"%0*d.%0*d" % (self.int_width, whole, self.frac_width, frac)
        if len(text) != self.int_width + 1 + self.frac_width:
            raise SystemExit("register value overflows the field width")
        field = b"1-0:1.8.1(" + text + b"*kWh)"
        body = self.body[:self.span[0]] + field + self.body[self.span[1]:]
        return body + b"%04X\r\n" % crc16_arc(body)

    def key_of_kwh(self, kwh: float) -> int:
        return int(round(kwh * self.scale))


class PtyMeter:
    """A P1 meter on a pseudo-terminal: telegrams written into the master at a fixed rate by a thread."""

    def __init__(self, factory: TelegramFactory):
        self.factory = factory
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        # The board file wants a path under /dev/ (a symlink in the temp dir is refused), so the pts path itself.
        self.link = os.ttyname(self.slave)
        self.sent = {}  # register value -> time.time_ns() right after the last byte was written
        self.index = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = None

    def _discard_input(self):
        # Anything emeter writes to the tty (it should write nothing) would otherwise fill the buffer.
        while select.select([self.master], [], [], 0)[0]:
            try:
                if not os.read(self.master, 4096):
                    return
            except (BlockingIOError, OSError):
                return

    def send_one(self, deadline_s: float = 2.0) -> int:
        data = self.factory.telegram(self.index)
        value = self.factory.value(self.index)
        self.index += 1
        view = memoryview(data)
        end = time.monotonic() + deadline_s
        while view:
            try:
                written = os.write(self.master, view)
                view = view[written:]
            except BlockingIOError:
                if time.monotonic() > end:
                    self.errors += 1
                    return value
                select.select([], [self.master], [], 0.05)
        self.sent[value] = time.time_ns()
        self._discard_input()
        return value

    def run(self, rate_hz: float, count=None):
        """Send `count` telegrams (None: until stop()) at `rate_hz`, on a drift-free schedule, in a thread."""
        period = 1.0 / rate_hz

        def loop():
            next_t = time.monotonic()
            n = 0
            while not self._stop.is_set() and (count is None or n < count):
                self.send_one()
                n += 1
                next_t += period
                delay = next_t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_t = time.monotonic()

        self._stop.clear()
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self._thread

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def close(self):
        self.stop()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------------------------
# Processes


def parse_u(stamp: str) -> int:
    """mosquitto_sub %U ("1700000000.123456789") to integer ns."""
    sec, _, frac = stamp.partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])


class Subscriber:
    """mosquitto_sub -d -F '%U %t %r %p': messages with receipt time (ns), topic, retained flag, payload."""

    LINE = re.compile(r"^(\d+\.\d+) (\S+) ([01]) (.*)$")

    def __init__(self, bench, port: int, topics, qos: int, log_path: str):
        # stdbuf: mosquitto_sub's stdout is block-buffered on a pipe; its debug lines ("Subscribed") are needed now.
        cmd = (["stdbuf", "-oL"] if shutil.which("stdbuf") else []) + ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", str(qos), "-d", "-F", "%U %t %r %p"]
        for topic in topics:
            cmd += ["-t", topic]
        self.messages = []  # (recv_ns, topic, retained, payload)
        self.subscribed_ns = None
        self.cond = threading.Condition()
        self.log = open(log_path, "w")
        self.proc = bench.spawn(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            m = self.LINE.match(line)
            with self.cond:
                self.log.write(line + "\n")  # messages and mosquitto_sub's debug lines (kept with --keep)
                if m:
                    self.messages.append((parse_u(m.group(1)), m.group(2), m.group(3) == "1", m.group(4)))
                else:
                    if line.startswith("Subscribed") and self.subscribed_ns is None:
                        self.subscribed_ns = time.time_ns()
                self.cond.notify_all()

    def wait_for(self, predicate, timeout: float) -> bool:
        end = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = end - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return predicate()
                self.cond.wait(min(left, 0.2))
            return True

    def snapshot(self):
        with self.cond:
            return list(self.messages)


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="emeter-bench-forward-")
        self.procs = []
        self.meters = []

    def spawn(self, cmd, **kw):
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc, timeout=5.0):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def cleanup(self):
        for proc in reversed(self.procs):
            try:
                self.stop(proc)
            except Exception:
                pass
        for meter in self.meters:
            meter.close()
        if self.args.keep:
            print(f"kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def mosquitto(self, name: str, port: int):
        conf = self.path(f"{name}-mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
        log = open(self.path(f"{name}-mosquitto.log"), "w")
        proc = self.spawn([self.args.mosquitto, "-c", conf], stdout=log, stderr=log)
        if not wait_port(port, 10):
            raise SystemExit(f"mosquitto did not listen on 127.0.0.1:{port} (see {log.name}; --keep keeps it)")
        return proc

    def meter(self, name: str) -> PtyMeter:
        meter = PtyMeter(self.factory)
        self.meters.append(meter)
        return meter

    def write_board_and_config(self, name: str, meter: PtyMeter, ring: str, health_s: int):
        board = self.path(f"{name}-board.yaml")
        with open(board, "w") as f:
            f.write(f"name: bench-forward pty P1 meter\np1:\n  port: {meter.link}\n  serial: 115200-8N1\n"
                    "  data_request:\n    line: none\n")
        config = self.path(f"{name}-config.yaml")
        with open(config, "w") as f:
            f.write(f"device: {DEVICE}\nlocal_time: utc\nhealth_interval: {health_s}s\n{ring}"
                    "stdout:\n  live: false\n  records: false\n  health: true\n")
        return board, config

    def emeter(self, name, board, config, port, extra=()):
        cmd = [self.args.binary, "run", "--board", board, "--config", config,
               "--forward", f"mqtt://127.0.0.1:{port}/emeter", "--log-level", self.args.log_level, *extra]
        out = open(self.path(f"{name}-emeter.out"), "w")
        err = open(self.path(f"{name}-emeter.err"), "w")
        return self.spawn(cmd, stdout=out, stderr=err)

    def health_lines(self, name):
        result = []
        try:
            for line in open(self.path(f"{name}-emeter.out")):
                if '"type":"health"' in line:
                    try:
                        result.append(json.loads(line))
                    except (ValueError, KeyError):
                        pass
        except OSError:
            pass
        return result

    def tail(self, name, what="emeter.err", n=15):
        try:
            return "".join(open(self.path(f"{name}-{what}")).readlines()[-n:])
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------------------------------
# Measurements


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    # nearest rank
    rank = max(1, int(-(-q * len(sorted_values) // 1)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency(bench: Bench):
    a = bench.args
    port = free_port()
    meter = bench.meter("latency")
    bench.mosquitto("latency", port)
    sub = Subscriber(bench, port, [f"emeter/{DEVICE}/p1", f"emeter/{DEVICE}/status"], 0,
                     bench.path("latency-sub.log"))
    if not sub.wait_for(lambda: sub.subscribed_ns is not None, 10):
        raise SystemExit("latency: mosquitto_sub did not subscribe")
    board, config = bench.write_board_and_config("latency", meter, "ring:\n  storage: ram\n", 60)
    emeter = bench.emeter("latency", board, config, port)
    online = lambda: any(t.endswith("/status") and p == "online" for _, t, _, p in sub.messages)
    if not sub.wait_for(online, 20):
        raise SystemExit("latency: emeter never published status online\n" + bench.tail("latency"))
    # Warm-up: the first telegrams (port open, first sample, first publish) are not measured.
    warm = a.warmup
    meter.run(a.rate, count=warm + a.telegrams).join(timeout=(warm + a.telegrams) / a.rate + 30)
    sub.wait_for(lambda: False, a.settle)
    if emeter.poll() is not None:
        print("latency: emeter exited early:\n" + bench.tail("latency"), file=sys.stderr)
    measured = {meter.factory.value(i) for i in range(warm, warm + a.telegrams)}
    received = {}
    for recv_ns, topic, _, payload in sub.snapshot():
        if not topic.endswith("/p1"):
            continue
        try:
            wh = json.loads(payload).get("import_t1_wh")  # the one payload schema: integer Wh
        except ValueError:
            continue
        if wh is None:
            continue
        key = bench.factory.key_of_kwh(wh / 1000)
        if key in measured and key not in received:
            received[key] = recv_ns
    lat = sorted((received[k] - meter.sent[k]) / 1e6 for k in received if k in meter.sent)
    health = bench.health_lines("latency")
    bench.stop(emeter)
    return {
        "sent": len(measured), "received": len(lat), "write_errors": meter.errors,
        "p50": percentile(lat, 0.50), "p99": percentile(lat, 0.99), "max": lat[-1] if lat else float("nan"),
        "min": lat[0] if lat else float("nan"),
        "rejected": health[-1].get("telegramsRejected") if health else None,
    }


def ring_show(bench: Bench, ring_path: str):
    try:
        out = subprocess.run([bench.args.binary, "ring", "show", "--file", ring_path], capture_output=True,
                             text=True, timeout=10, stdin=subprocess.DEVNULL)
        return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    except (subprocess.TimeoutExpired, ValueError, OSError):
        return None


def drain(bench: Bench):
    a = bench.args
    port = free_port()  # nothing listens here until the ring is full
    meter = bench.meter("drain")
    ring_path = bench.path("drain-ring.bin")
    board, config = bench.write_board_and_config(
        "drain", meter, f"ring:\n  storage: file\n  path: {ring_path}\n", a.health_interval)
    emeter = bench.emeter("drain", board, config, port, ["--interval", a.interval])
    meter.run(a.fill_rate)
    t0 = time.monotonic()
    # Fill: until the ring merged (it is full) and --fill-min passed, at most --fill-max seconds.
    full_at = None
    while time.monotonic() - t0 < a.fill_max:
        time.sleep(1)
        if emeter.poll() is not None:
            raise SystemExit("drain: emeter exited:\n" + bench.tail("drain"))
        health = bench.health_lines("drain")
        if full_at is None and health and (health[-1].get("recordsMerged") or 0) > 0:
            full_at = time.monotonic() - t0
        if full_at is not None and time.monotonic() - t0 >= max(a.fill_min, full_at + a.after_full):
            break
    fill_s = time.monotonic() - t0
    health = bench.health_lines("drain")
    last_health = health[-1] if health else {}
    ring_before = ring_show(bench, ring_path)
    # emeter logs each scheduled reconnect ("reconnecting in 23.913 seconds (failure 6)"); keep the last one.
    scheduled = re.findall(r"reconnecting in ([0-9.]+) seconds \(failure (\d+)\)", bench.tail("drain", n=50))

    # The broker comes up; subscribe at once (before emeter's next reconnect attempt, which is up to 60 s away).
    broker_ns = time.time_ns()
    bench.mosquitto("drain", port)
    listen_ns = time.time_ns()
    sub = Subscriber(bench, port, [f"emeter/{DEVICE}/interval", f"emeter/{DEVICE}/status"], 1,
                     bench.path("drain-sub.log"))
    sub.wait_for(lambda: sub.subscribed_ns is not None, 10)

    def online():
        return next(((r, ret) for r, t, ret, p in sub.messages if t.endswith("/status") and p == "online"), None)

    if not sub.wait_for(lambda: online() is not None, a.reconnect_max):
        meter.stop()
        return {"error": f"emeter did not reconnect within {a.reconnect_max} s", "fill_s": fill_s,
                "health": last_health, "ring_before": ring_before}
    online_ns, online_retained = online()
    cut_ns = online_ns - int(a.close_margin * 1e9)

    def records():
        out = []
        for r, t, _, p in sub.messages:
            if t.endswith("/interval"):
                try:
                    out.append((r, json.loads(p)))
                except ValueError:
                    pass
        return out

    def end_ns(rec):  # `end` in the payload: Unix seconds (milliseconds accepted too)
        end = rec.get("end", 0)
        return end * 1_000_000 if end > 10**11 else end * 1_000_000_000

    # The backlog is everything already in the ring when emeter got its connection back (the ring keeps filling and
    # merging while the backoff runs): records whose interval ended at least --close-margin before the `online`
    # status arrived. A record is stored only when the loop closes it, a little after its `end`; without the margin
    # the record closing just after the reconnect would be counted and its wait timed as drain.
    def backlog_done():
        return any(end_ns(rec) > online_ns for _, rec in records())

    sub.wait_for(backlog_done, a.drain_max)
    meter.stop()
    got = records()
    backlog = [(r, rec) for r, rec in got if end_ns(rec) <= cut_ns]
    before_broker = sum(1 for _, rec in backlog if end_ns(rec) <= broker_ns)
    result = {
        "fill_s": fill_s, "full_at": full_at, "health": last_health, "ring_before": ring_before,
        "scheduled": scheduled[-1] if scheduled else None, "broker_ns": broker_ns, "listen_ns": listen_ns,
        "subscribed_ns": sub.subscribed_ns,
        "online_ns": online_ns, "online_retained": online_retained,
        "backlog": len(backlog), "before_broker": before_broker, "all_records": len(got), "done": backlog_done(),
    }
    if backlog:
        first, last = backlog[0][0], backlog[-1][0]
        gaps = sorted(backlog[i + 1][0] - backlog[i][0] for i in range(len(backlog) - 1))
        result.update(first_ns=first, last_ns=last, drain_s=(last - first) / 1e9,
                      gap_p50_ms=percentile(gaps, 0.5) / 1e6 if gaps else float("nan"),
                      gap_max_ms=gaps[-1] / 1e6 if gaps else float("nan"),
                      sequences=sum(rec["sequence"][1] - rec["sequence"][0] + 1 for _, rec in backlog
                                    if isinstance(rec.get("sequence"), list) and len(rec["sequence"]) == 2),
                      ordered=all(backlog[i][1]["start"] < backlog[i + 1][1]["start"] for i in range(len(backlog) - 1)))
    bench.stop(emeter)
    return result


LATENESS_BUCKETS_US = [50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 20000, 50000,
                       100000]  # Health.latenessBuckets (upper bounds, µs); one more bucket above the last


def histogram_percentile(counts, q):
    total = sum(counts)
    if total == 0:
        return None
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= q * total:
            return LATENESS_BUCKETS_US[index] if index < len(LATENESS_BUCKETS_US) else float("inf")
    return float("inf")


def freeze(bench: Bench):
    a = bench.args
    port = free_port()
    broker = bench.mosquitto("freeze", port)
    board = bench.path("freeze-board.yaml")
    with open(os.path.join(ROOT, "boards", "simulator.yaml")) as f:
        text = f.read().replace("poll_interval: 1s", "poll_interval: 100ms").replace("fixtures/", ROOT + "/fixtures/")
    text = text.replace("calibration_file: .emeter/calibration.yaml", f"calibration_file: {bench.path('cal.yaml')}")
    with open(board, "w") as f:
        f.write(text)
    config = bench.path("freeze-config.yaml")
    with open(config, "w") as f:
        f.write(f"device: {DEVICE}\nhealth_interval: 1s\nring:\n  storage: ram\n"
                "stdout:\n  live: false\n  records: false\n  health: true\n"
                f"forward:\n  - url: mqtt://127.0.0.1:{port}/emeter\n    discovery: false\n"
                f"    keep_alive: {a.keep_alive}\n")
    out = open(bench.path("freeze-emeter.out"), "w")
    err = open(bench.path("freeze-emeter.err"), "w")
    env = dict(os.environ, STATE_DIRECTORY=bench.path("state"))
    emeter = bench.spawn([a.binary, "run", "--board", board, "--config", config, "--interval", "1s",
                          "--log-level", "info"], stdout=out, stderr=err, env=env)

    def health():
        return bench.health_lines("freeze")

    def warnings():
        return bench.tail("freeze", n=100000).count("reconnecting in")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (len(health()) >= 10 and health()[-1].get("ring_records", 99) <= 2):
        if emeter.poll() is not None:
            raise SystemExit("freeze: emeter exited:\n" + bench.tail("freeze"))
        time.sleep(0.5)
    before = health()[-1] if health() else {}
    warned = warnings()
    broker.send_signal(signal.SIGSTOP)
    frozen = time.monotonic()
    noticed = None
    while time.monotonic() - frozen < a.freeze:
        if noticed is None and warnings() > warned:
            noticed = time.monotonic() - frozen
        time.sleep(0.05)
    during = health()[-1] if health() else {}
    broker.send_signal(signal.SIGCONT)
    thawed = time.monotonic()
    drained = None
    while time.monotonic() - thawed < 90:
        h = health()
        if h and h[-1] is not during and h[-1].get("ring_records", 99) <= 2:
            drained = time.monotonic() - thawed
            break
        time.sleep(0.2)
    ring_peak = max((h.get("ring_records", 0) for h in health()), default=0)
    bench.stop(emeter)
    diff = [x - y for x, y in zip(during.get("lateness_histogram", []), before.get("lateness_histogram", []))]
    return {
        "noticed_s": noticed, "ticks": during.get("ticks", 0) - before.get("ticks", 0),
        "missed": during.get("deadlines_missed", 0) - before.get("deadlines_missed", 0),
        "p50_us": histogram_percentile(diff, 0.5), "p99_us": histogram_percentile(diff, 0.99),
        "max_us": during.get("max_lateness_us"), "drained_s": drained, "ring_peak": ring_peak,
        "merged": during.get("records_merged", 0),
    }


# ---------------------------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=DEFAULT_BINARY, help="emeter binary (default: .build/release/emeter; not built)")
    p.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    p.add_argument("--template", default=DEFAULT_TEMPLATE, help="DSMR telegram fixture used as template")
    p.add_argument("--telegrams", type=int, default=200, help="latency: telegrams measured (default 200)")
    p.add_argument("--warmup", type=int, default=5, help="latency: telegrams sent first and not measured (default 5)")
    p.add_argument("--rate", type=float, default=10, help="latency: telegrams per second (default 10; a meter sends 1)")
    p.add_argument("--settle", type=float, default=2, help="latency: wait for late messages, s (default 2)")
    p.add_argument("--interval", default="1s", help="drain: interval record length (default 1s)")
    p.add_argument("--fill-rate", type=float, default=2, help="drain: telegrams per second while filling (default 2)")
    p.add_argument("--fill-min", type=float, default=0, help="drain: fill at least this long, s (default 0)")
    p.add_argument("--fill-max", type=float, default=75, help="drain: fill at most this long, s (default 75)")
    p.add_argument("--after-full", type=float, default=3, help="drain: keep filling after the first merge, s (default 3)")
    p.add_argument("--health-interval", type=int, default=1, help="drain: health line period, s (default 1)")
    p.add_argument("--reconnect-max", type=float, default=75, help="drain: wait for emeter's reconnect, s (default 75)")
    p.add_argument("--close-margin", type=float, default=1.0,
                   help="drain: backlog = records that ended this long before the reconnect, s (default 1)")
    p.add_argument("--drain-max", type=float, default=15, help="drain: wait for the backlog after reconnect, s (default 15)")
    p.add_argument("--freeze", type=float, default=0,
                   help="freeze: SIGSTOP the broker this long, s, and measure (default 0: skipped; try 20)")
    p.add_argument("--keep-alive", type=int, default=5, help="freeze: the forwarder's keep_alive, s (default 5)")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-drain", action="store_true")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, configs) for inspection")
    p.add_argument("--log-level", default="notice", help="emeter --log-level (default notice)")
    a = p.parse_args()

    if not os.access(a.binary, os.X_OK):
        raise SystemExit(f"{a.binary}: missing (build it first: swift build -c release --product emeter)")
    for tool in (a.mosquitto, "mosquitto_sub"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool}: not found (apt-get install mosquitto mosquitto-clients)")

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    bench = Bench(a)
    bench.factory = TelegramFactory(a.template)
    lat = dr = fr = None
    try:
        if not a.skip_latency:
            print(f"latency: {a.warmup}+{a.telegrams} telegrams at {a.rate:g} Hz …", file=sys.stderr, flush=True)
            lat = latency(bench)
        if not a.skip_drain:
            print(f"drain: filling the ring ({a.interval} records, broker down, ≤ {a.fill_max:g} s), then up to "
                  f"{a.reconnect_max:g} s for emeter's reconnect backoff …", file=sys.stderr, flush=True)
            dr = drain(bench)
        if a.freeze > 0:
            print(f"freeze: simulator board at 10 Hz, broker frozen for {a.freeze:g} s …", file=sys.stderr, flush=True)
            fr = freeze(bench)
    finally:
        bench.cleanup()

    ok = True
    print()
    print(f"emeter forwarding benchmark — {a.binary}, mosquitto on 127.0.0.1, template {os.path.basename(a.template)}")
    print(f"{'metric':44} {'value':>16}  target / note")
    print("-" * 100)
    row = lambda m, v, n="": print(f"{m:44} {v:>16}  {n}")
    if lat:
        p99_ok = lat["p99"] <= 5.0
        ok &= p99_ok and lat["received"] == lat["sent"]
        row("latency: telegrams received / sent", f"{lat['received']} / {lat['sent']}",
            f"{a.rate:g} Hz, after {a.warmup} warm-up; write errors {lat['write_errors']}")
        row("latency p50 (pty write → subscriber)", f"{lat['p50']:.3f} ms")
        row("latency p99", f"{lat['p99']:.3f} ms", f"target ≤ 5 ms: {'PASS' if p99_ok else 'FAIL'}")
        row("latency min / max", f"{lat['min']:.3f} / {lat['max']:.3f} ms")
    if dr:
        if "error" in dr:
            ok = False
            row("drain", "ERROR", dr["error"])
        h = dr.get("health") or {}
        ring = dr.get("ring_before")
        row("drain: fill time (broker down)", f"{dr['fill_s']:.1f} s",
            f"first merge after {dr['full_at']:.0f} s" if dr.get("full_at") is not None else "ring never merged (not full)")
        row("drain: ring before broker start", f"{len(ring) if ring is not None else '?'} records",
            f"health: {h.get('ring_records')} records, {h.get('ring_bytes_used')} B used, {h.get('records_merged')} merges")
        if "error" not in dr:
            row("drain: broker up → emeter online", f"{(dr['online_ns'] - dr['listen_ns']) / 1e9:.2f} s",
                "reconnect backoff (full jitter, cap 60 s); not part of the drain"
                + (f"; last scheduled: {float(dr['scheduled'][0]):.1f} s after failure {dr['scheduled'][1]}"
                   if dr.get("scheduled") else ""))
            if dr["online_retained"]:
                ok = False
                row("drain: WARNING", "race lost", "emeter connected before the subscriber; backlog may be missed")
            row("drain: backlog records delivered", f"{dr['backlog']}",
                f"ring at reconnect; {dr['before_broker']} closed before the broker start; "
                f"{dr.get('sequences', '?')} 1-interval records merged in; in order: {dr.get('ordered', '?')}"
                + ("" if dr["done"] else "; NOT COMPLETE (no newer record seen)"))
            if dr["backlog"] >= 2:
                rate = (dr["backlog"] - 1) / dr["drain_s"] if dr["drain_s"] > 0 else float("inf")
                drain_ok = dr["drain_s"] <= 1.0 and dr["done"]
                ok &= drain_ok
                row("drain: first → last backlog record", f"{dr['drain_s'] * 1000:.1f} ms",
                    f"target ≤ 1 s: {'PASS' if drain_ok else 'FAIL'}")
                row("drain: rate (records-1)/(first→last)", f"{rate:.0f} rec/s", "QoS 1, one in flight")
                row("drain: gap between records p50 / max", f"{dr['gap_p50_ms']:.2f} / {dr['gap_max_ms']:.2f} ms",
                    f"median-gap rate {1000 / dr['gap_p50_ms']:.0f} rec/s" if dr['gap_p50_ms'] > 0 else "")
                row("drain: online → last backlog record", f"{(dr['last_ns'] - dr['online_ns']) * 1e-6:.1f} ms",
                    "includes CONNECT, discovery, first publish")
            else:
                ok = False
                row("drain", "too few records", "need ≥ 2 backlog records to time")
    if fr:
        notice_ok = fr["noticed_s"] is not None and fr["noticed_s"] <= 1.5 * a.keep_alive
        p99_ok = fr["p99_us"] is not None and fr["p99_us"] <= 2000
        drain_ok = fr["drained_s"] is not None
        ok &= notice_ok and p99_ok and drain_ok and fr["missed"] == 0
        row("freeze: broker frozen → emeter notices",
            f"{fr['noticed_s']:.2f} s" if fr["noticed_s"] is not None else "never",
            f"target ≤ 1.5 × keep-alive = {1.5 * a.keep_alive:g} s: {'PASS' if notice_ok else 'FAIL'}")
        row("freeze: loop ticks / deadlines missed", f"{fr['ticks']} / {fr['missed']}", "while frozen (10 Hz)")
        row("freeze: timer lateness p50 / p99", f"{fr['p50_us']} / {fr['p99_us']} µs",
            f"while frozen (bucket bounds); target p99 ≤ 2 ms: {'PASS' if p99_ok else 'FAIL'}; max since start "
            f"{fr['max_us']} µs")
        row("freeze: thaw → ring drained", f"{fr['drained_s']:.2f} s" if drain_ok else "not drained",
            f"peak {fr['ring_peak']} records in the ring, {fr['merged']} merges")
    print("-" * 100)
    if a.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
