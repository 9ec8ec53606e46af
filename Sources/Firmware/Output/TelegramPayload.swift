import CivilTime
import P1

extension Payloads {
    /// A parsed telegram for `emeter p1 parse`: `{"header":…,"crc":"6796"|null,"obis":{<code as sent>: <value>,…},
    /// "reading":{…}|null,"reading_error":null|"out_of_range"|…}`.
    ///
    /// `reading` holds exactly the members of a live P1 reading (``p1Reading(_:demand:into:)``, demand as the meter
    /// reports it), so a telegram parsed from a file and one read live by `emeter run` give the same keys and values.
    /// Values in `obis`:
    /// - number with unit → `{"value": 4512.373, "unit": "kWh"}` (exact decimal as sent, leading zeros dropped);
    ///   without unit → `{"value": 2}`;
    /// - timestamp → `"2025-03-30T01:59:59Z"` (UTC); placeholder dates and `()` → `null`;
    /// - identifiers, versions, tariff indicator → the string as sent; text messages (`96.13.x`) → decoded text;
    /// - value with capture time (M-Bus, `1-0:1.6.0`, DSMR 2.2/3 `24.3.0`) → `{"timestamp": …, "value": …, "unit": …}`;
    /// - power-failure log → `[{"end_utc": …, "duration_s": …}]`;
    /// - Belgian `0-0:98.1.0` → `[{"month_utc": …, "peak_time_utc": …, "value_kw": …}]`;
    /// - several groups of an unknown line → a list of the above.
    public static func telegram(_ telegram: P1Telegram, receivedAt time: UnixTime = .epoch) -> [UInt8] {
        var json = JSONWriter(capacity: 2048 + 48 * telegram.lines.count)
        self.telegram(telegram, receivedAt: time, into: &json)
        return json.bytes
    }

    /// Appends ``telegram(_:receivedAt:)`` to `json` (a writer reused for a stream of telegrams).
    public static func telegram(_ telegram: P1Telegram, receivedAt time: UnixTime = .epoch, into json: inout JSONWriter)
    {
        json.objectStart()
        json.field("header", telegram.header)
        json.field("crc", telegram.transmittedCRC.map(P1Framer.hex4))
        json.key("obis")
        json.objectStart()
        // Read in place: `for line in lines` copied every line (a retain and release of its text and value).
        telegram.lines.withUnsafeBufferPointer { lines in
            for index in lines.indices {
                json.key(lines[index].obisText)
                value(lines[index].value, into: &json)
            }
        }
        json.objectEnd()
        json.key("reading")
        do {
            let sample = try P1Sample(reading: telegram.reading, receivedAt: time)
            json.objectStart()
            p1Reading(sample, demand: DemandView(meterOf: sample), into: &json)
            json.objectEnd()
            json.key("reading_error")
            json.null()
        } catch {
            json.null()
            json.field("reading_error", error.rawValue)
        }
        json.objectEnd()
    }

    static func value(_ value: P1Value, into json: inout JSONWriter) {
        switch value {
        case .empty:
            json.null()
        case .number(let number, let unit):
            json.objectStart()
            measurement(number, unit, into: &json)
            json.objectEnd()
        case .timestamp(let time):
            json.time(time?.utcSeconds)
        case .text(let text), .obis(let text):
            json.string(text)
        case .hexText(let hex):
            json.string(P1Value.decodeHex(hex) ?? hex)
        case .captured(let time, let number, let unit):
            json.objectStart()
            json.field("timestamp", time: time?.utcSeconds)
            measurement(number, unit, into: &json)
            json.objectEnd()
        case .failureLog(let entries):
            json.arrayStart()
            for entry in entries {
                json.objectStart()
                json.field("end_utc", time: entry.end?.utcSeconds)
                json.field("duration_s", entry.durationSeconds)
                json.objectEnd()
            }
            json.arrayEnd()
        case .peakHistory(let entries):
            json.arrayStart()
            for entry in entries {
                json.objectStart()
                json.field("month_utc", time: entry.month?.utcSeconds)
                json.field("peak_time_utc", time: entry.occurred?.utcSeconds)
                json.key("value_kw")
                decimal(entry.value.map { entry.unit == .W ? $0.shifted(by: -3) : $0 }, into: &json)
                json.objectEnd()
            }
            json.arrayEnd()
        case .list(let items):
            json.arrayStart()
            for item in items { self.value(item, into: &json) }
            json.arrayEnd()
        }
    }

    /// The `value` member (exact decimal) and, when the meter sent one, the `unit` member.
    static func measurement(_ number: P1Decimal?, _ unit: P1Unit?, into json: inout JSONWriter) {
        json.key("value")
        decimal(number, into: &json)
        guard let unit else { return }
        if let symbol = unit.staticSymbol { json.field("unit", symbol) } else { json.field("unit", unit.symbol) }
    }

    /// An exact decimal as sent (`0.000` keeps its zeros), or `null`.
    static func decimal(_ number: P1Decimal?, into json: inout JSONWriter) {
        guard let number else { return json.null() }
        if (0...18).contains(number.scale) {
            json.fixed(number.mantissa, decimals: number.scale)
        } else {
            json.decimalText(number.description)
        }
    }
}

extension DemandView {
    /// The capacity-tariff values as the meter itself reports them (0 where it reports none).
    public init(meterOf sample: P1Sample) {
        self.init(
            quarterHourDemandW: sample.quarterHourDemandW ?? 0, monthPeakDemandW: sample.monthPeakDemandW ?? 0,
            monthPeakTime: sample.monthPeakTime)
    }
}
