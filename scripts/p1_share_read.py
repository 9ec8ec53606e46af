"""Reads P1 sharing (`p1: {share: {listen: …}}` in the board file) with dsmr-parser's own TCP reader, the one Home
Assistant's DSMR integration and dsmr-reader build on, and prints one JSON line per telegram it parsed.

    python scripts/p1_share_read.py HOST PORT COUNT [SPECIFICATION [ENCRYPTION_KEY]]

Stops after COUNT telegrams (or when the server closes, or after 60 s without data: the reader's own timeout).
SPECIFICATION is a name in dsmr_parser.telegram_specifications (default BELGIUM_FLUVIUS); for encrypted frames
(a Smarty share without `decrypted: true`) use MSN and give the meter's key (32 hex digits).
"""
import json
import sys
from datetime import timezone

from dsmr_parser import telegram_specifications
from dsmr_parser.clients.socket_ import SocketReader


def wh(obj):
    return None if obj is None else int(obj.value * 1000)


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    name = sys.argv[4] if len(sys.argv) > 4 else "BELGIUM_FLUVIUS"
    key = sys.argv[5] if len(sys.argv) > 5 else ""
    reader = SocketReader(host, port, getattr(telegram_specifications, name), encryption_key=key)
    done = 0
    for telegram in reader.read():
        get = lambda key: getattr(telegram, key, None)
        stamp = get("P1_MESSAGE_TIMESTAMP")
        voltages = [get(f"INSTANTANEOUS_VOLTAGE_L{phase}") for phase in (1, 2, 3)]
        line = {
            "meter_time_utc": stamp.value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if stamp else None,
            "import_t1_wh": wh(get("ELECTRICITY_USED_TARIFF_1")),
            "import_t2_wh": wh(get("ELECTRICITY_USED_TARIFF_2")),
            "export_t1_wh": wh(get("ELECTRICITY_DELIVERED_TARIFF_1")),
            "export_t2_wh": wh(get("ELECTRICITY_DELIVERED_TARIFF_2")),
            "import_wh": wh(get("ELECTRICITY_IMPORTED_TOTAL")),
            "export_wh": wh(get("ELECTRICITY_EXPORTED_TOTAL")),
            "power_import_w": wh(get("CURRENT_ELECTRICITY_USAGE")),
            "power_export_w": wh(get("CURRENT_ELECTRICITY_DELIVERY")),
            "voltage_v": [float(v.value) for v in voltages if v is not None],
        }
        print(json.dumps(line), flush=True)
        done += 1
        if done >= count:
            return 0
    print(f"p1_share_read: the stream ended after {done} of {count} telegrams", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
