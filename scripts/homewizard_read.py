"""Reads emeter's HomeWizard P1 API (`api: {listen: …}` in the configuration) with python-homewizard-energy, the
client of Home Assistant's HomeWizard integration, and prints what the client made of it as one JSON object:

    python scripts/homewizard_read.py HOST:PORT

{"device": {…Device…}, "data": {…every field of Data…}, "telegram": "…"}; timestamps as YYMMDDhhmmss (as the API
sends them), the external devices as a list. Exits 1 when the client raises (unsupported API version, HTTP error,
timeout: the client's own 10 s per request).
"""
import asyncio
import dataclasses
import datetime
import enum
import json
import sys

from homewizard_energy import HomeWizardEnergy


def plain(value):
    if isinstance(value, datetime.datetime):
        return value.strftime("%y%m%d%H%M%S")
    if isinstance(value, enum.Enum):
        return value.name
    if dataclasses.is_dataclass(value):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return [plain(item) for item in value.values()]
    return value


async def read(host):
    async with HomeWizardEnergy(host) as api:
        device = await api.device()
        data = await api.data()
        # Older clients have no telegram() method: the same request the newer ones make.
        telegram = await api.telegram() if hasattr(api, "telegram") else await api.request("api/v1/telegram")
    device_fields = plain(device)
    device_fields.pop("product", None)
    return {"device": device_fields, "data": plain(data), "telegram": telegram}


def main():
    try:
        result = asyncio.run(read(sys.argv[1]))
    except Exception as error:  # the client's errors, reported to the test
        print(f"homewizard_read: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
