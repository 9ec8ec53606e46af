"""What the Python scripts that start real peers (mosquitto, emeter) share: a loopback port nothing else takes, and
a bounded wait until something listens on it. Imported by soak.py and bench_forward.py (same directory)."""

import random
import socket
import time


def ephemeral_range() -> tuple:
    """/proc/sys/net/ipv4/ip_local_port_range, or Linux's default."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A free loopback port outside the kernel's ephemeral range.

    Binding port 0 and closing races: the kernel hands ports of that range to every other bind(0) and to the source
    port of every outgoing connection, so the port can be taken before the peer binds it (seen in CI). Ports below
    the range are never chosen by the kernel (the same rule as the Swift tests' ServerProcess.loopbackPort)."""
    low, high = ephemeral_range()
    candidates = range(10000, low) if low > 12000 else range(high + 1, 65536)
    for _ in range(64):
        port = random.choice(candidates)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port after 64 tries")


def wait_port(port: int, timeout: float, step: float = 0.05) -> bool:
    """True once something accepts TCP connections on 127.0.0.1:port, False after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(step)
    return False
