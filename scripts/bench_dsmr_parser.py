#!/usr/bin/env python3
"""Parse the P1 benchmark fixtures with ndokter/dsmr_parser (the library Home Assistant uses) and report telegrams/s.

Used by scripts/bench-p1 for the Swift vs dsmr-parser comparison. Per fixture it checks once that the telegram
parses with its specification (CRC validated, throw_ex=True), then calls TelegramParser.parse on the same string
in batches for --seconds and prints one JSON object per fixture: median and best batch rate by thread CPU time
(time.thread_time) and the median by wall time (time.perf_counter). Single-threaded; pin it with taskset.

Only parsing is timed (no TelegramBuffer framing), so the comparison favours dsmr-parser: the Swift number
includes framing.
"""

import argparse
import json
import os
import statistics
import sys
import time

from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

FIXTURES = {
    "be": ("be_fluvius_emucs171_gas_water.txt", "BELGIUM_FLUVIUS", "BE Fluvius e-MUCS 1.7.1"),
    "nl": ("nl_dsmr50_iskra_mt382_v5.txt", "V5", "NL DSMR 5.0"),
}


def fixture_directory():
    override = os.environ.get("EMETER_P1_FIXTURES")
    if override:
        return override
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(repository, "fixtures", "p1")


def load(file_name):
    path = os.path.join(fixture_directory(), file_name)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        sys.exit(f"bench_dsmr_parser: cannot read P1 fixture {path}: {error} (set EMETER_P1_FIXTURES)")
    # Bytes as sent (CRLF kept): latin-1 maps every byte to one character, so the CRC sees the same bytes.
    return data.decode("latin-1")


def measure(key, seconds):
    file_name, spec_name, label = FIXTURES[key]
    telegram = load(file_name)
    parser = TelegramParser(getattr(telegram_specifications, spec_name), apply_checksum_validation=True)
    parsed = parser.parse(telegram, throw_ex=True)
    objects = len(list(parsed))
    if objects < 10:
        sys.exit(f"bench_dsmr_parser: {file_name} with {spec_name} gave only {objects} objects")

    def run(count):
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        for _ in range(count):
            parser.parse(telegram)
        return time.thread_time() - cpu0, time.perf_counter() - wall0

    batch = 10
    while True:  # warm-up and calibration: ~50 ms per batch
        cpu, _ = run(batch)
        if cpu >= 0.05 or batch >= 1_000_000:
            break
        batch *= 2
    cpu_rates, wall_rates, spent, telegrams = [], [], 0.0, 0
    while spent < seconds or len(cpu_rates) < 5:
        cpu, wall = run(batch)
        cpu_rates.append(batch / max(cpu, 1e-9))
        wall_rates.append(batch / max(wall, 1e-9))
        spent += wall
        telegrams += batch
    cpu_median = statistics.median(cpu_rates)
    return {
        "fixture": key,
        "label": label,
        "specification": spec_name,
        "objects": objects,
        "telegrams": telegrams,
        "telegrams_per_s_cpu_median": round(cpu_median, 1),
        "telegrams_per_s_cpu_best": round(max(cpu_rates), 1),
        "telegrams_per_s_wall_median": round(statistics.median(wall_rates), 1),
        "us_per_telegram_cpu": round(1e6 / cpu_median, 2),
    }


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--seconds", type=float, default=2.0, help="measuring time per fixture (default 2)")
    arguments.add_argument("--fixture", choices=["be", "nl", "all"], default="all")
    options = arguments.parse_args()
    keys = list(FIXTURES) if options.fixture == "all" else [options.fixture]
    for key in keys:
        print(json.dumps(measure(key, options.seconds)), flush=True)


if __name__ == "__main__":
    main()
