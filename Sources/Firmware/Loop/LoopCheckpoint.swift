import CivilTime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the measurement loop must remember across a restart, so that no Wh is lost: the absolute P1 registers at
/// the end of the last closed record (where the next record starts) and the capacity-tariff state.
///
/// **When.** The loop saves it just *before* handing each closed record to the ring (at every record close and at
/// the stop, whose partial record is closed the same way). It holds two points: `before`, where the record being
/// stored starts, and `after`, where it ends. At the next start ``resume(ringLastEnd:)`` picks the one the ring
/// agrees with: if the ring's last record still ends at `before`, the power failed between this save and the
/// ring's commit, and the record that was not stored is counted again from `before`; otherwise `after`. So the
/// energy of every record is in the ring exactly once, whatever instant the power fails at.
///
/// **Where.** Not in the ring image: the 512-byte image (it must fit a 24C04) has no room for six registers and the
/// demand history next to its records. It is a small file in the state directory (``FileCheckpointStorage``),
/// written whole and renamed into place. With a RAM ring the checkpoint still carries the registers across a
/// restart, but the records the ring held are lost with it (`emeter run` says so in its log).
///
/// **ADE9000.** Its accumulated energies restart from zero with the driver, so they are not stored: across a
/// restart the ADE9000 part has a gap of unknown energy (``IntervalRecord/Flags/gap``), never a guessed number.
public struct LoopCheckpoint: Sendable, Equatable {
    /// The P1 meter's absolute registers.
    public struct P1Registers: Sendable, Equatable {
        public var importTariff1Wh: Int64
        public var importTariff2Wh: Int64
        public var exportTariff1Wh: Int64
        public var exportTariff2Wh: Int64
        /// Gas and water, litres; `nil` when the meter has none.
        public var gasLitres: Int64?
        public var waterLitres: Int64?

        public init(
            importTariff1Wh: Int64, importTariff2Wh: Int64, exportTariff1Wh: Int64, exportTariff2Wh: Int64,
            gasLitres: Int64? = nil, waterLitres: Int64? = nil
        ) {
            self.importTariff1Wh = importTariff1Wh
            self.importTariff2Wh = importTariff2Wh
            self.exportTariff1Wh = exportTariff1Wh
            self.exportTariff2Wh = exportTariff2Wh
            self.gasLitres = gasLitres
            self.waterLitres = waterLitres
        }

        /// The registers of `sample`.
        public init(_ sample: P1Sample) {
            self.init(
                importTariff1Wh: sample.importWh.tariff1, importTariff2Wh: sample.importWh.tariff2,
                exportTariff1Wh: sample.exportWh.tariff1, exportTariff2Wh: sample.exportWh.tariff2,
                gasLitres: sample.gasLitres, waterLitres: sample.waterLitres)
        }
    }

    /// A record boundary: its time (a whole second) and the P1 registers there (`nil` without a P1 baseline).
    public struct Point: Sendable, Equatable {
        public var time: UnixTime
        public var p1: P1Registers?

        public init(time: UnixTime, p1: P1Registers?) {
            self.time = time
            self.p1 = p1
        }
    }

    /// Where the record being stored starts (`nil` for the first record ever).
    public var before: Point?
    /// Where it ends: the start of the interval that was open when this was saved.
    public var after: Point
    /// The capacity-tariff state from the P1 registers and from the ADE9000.
    public var p1Demand: DemandTracker.State?
    public var adeDemand: DemandTracker.State?

    public init(
        before: Point?, after: Point, p1Demand: DemandTracker.State? = nil, adeDemand: DemandTracker.State? = nil
    ) {
        self.before = before
        self.after = after
        self.p1Demand = p1Demand
        self.adeDemand = adeDemand
    }

    /// The point to continue from, given the end of the last record the ring holds (`nil`: a RAM ring, or the
    /// ring could not say).
    public func resume(ringLastEnd: UnixTime?) -> Point {
        if let before, let ringLastEnd, ringLastEnd == before.time, before.time != after.time { return before }
        return after
    }

    // MARK: Encoding

    static let magic = "emeter-checkpoint 1"

    /// The file's text: one `key value…` line per field, then `crc <CRC-32 of everything before, hex>`.
    public func encoded() -> [UInt8] {
        var lines = [Self.magic]
        func point(_ name: String, _ point: Point) {
            lines.append("\(name).time \(point.time.seconds)")
            if let p1 = point.p1 {
                lines.append(
                    "\(name).p1 \(p1.importTariff1Wh) \(p1.importTariff2Wh) \(p1.exportTariff1Wh) "
                        + "\(p1.exportTariff2Wh) \(p1.gasLitres.map(String.init) ?? "-") "
                        + "\(p1.waterLitres.map(String.init) ?? "-")")
            }
        }
        func demand(_ name: String, _ state: DemandTracker.State) {
            // Times as the format has them: the tracker's in Unix milliseconds, peaks and months in Unix seconds
            // (0 = no peak).
            let flags = (state.quarterIncomplete ? 1 : 0) | (state.rebaseline ? 2 : 0)
            let lastTime = state.lastTime.map { String($0.milliseconds) } ?? "-"
            lines.append(
                "\(name) \(lastTime) \(state.lastMilliwattHours) \(state.quarterStart.milliseconds) "
                    + "\(state.quarterStartMilliwattHours) \(flags) \(state.monthStart.milliseconds) \(state.monthPeakW) "
                    + "\(state.monthPeakTime?.seconds ?? 0) \(state.runningDemandW)")
            for month in state.monthHistory {
                lines.append(
                    "\(name).month \(month.monthStart.seconds) \(month.peakW) \(month.peakTime?.seconds ?? 0)")
            }
        }
        if let before { point("before", before) }
        point("after", after)
        if let p1Demand { demand("p1_demand", p1Demand) }
        if let adeDemand { demand("ade_demand", adeDemand) }
        var text = Array(lines.joined(separator: "\n").utf8)
        text.append(UInt8(ascii: "\n"))
        let crc = String(RingCRC32.checksum(text), radix: 16)
        text += Array("crc \(String(repeating: "0", count: 8 - crc.count) + crc)\n".utf8)
        return text
    }

    /// Parses ``encoded()``.
    /// - Parameter bytes: The file's content.
    /// - Parameter source: Names the file in errors.
    /// - Throws: `CheckpointError` naming the line and field when the text is damaged or not a checkpoint.
    public init(decoding bytes: [UInt8], source: String) throws(CheckpointError) {
        guard bytes.count <= 16_384 else { throw CheckpointError("\(source): \(bytes.count) bytes, expected ≤ 16384") }
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.first == Self.magic else {
            throw CheckpointError("\(source):1: expected `\(Self.magic)`")
        }
        guard let crcLine = lines.last, crcLine.hasPrefix("crc "), lines.count >= 2,
            let stored = UInt32(crcLine.dropFirst(4), radix: 16)
        else { throw CheckpointError("\(source):\(lines.count): expected `crc <8 hex digits>` as the last line") }
        let body = Array((lines.dropLast().joined(separator: "\n") + "\n").utf8)
        guard RingCRC32.checksum(body) == stored else {
            throw CheckpointError("\(source): crc does not match the content (a torn or edited file)")
        }
        var times: [String: UnixTime] = [:]
        var registers: [String: P1Registers] = [:]
        var demands: [String: DemandTracker.State] = [:]
        for index in 1..<(lines.count - 1) {
            let line = lines[index]
            let where_ = "\(source):\(index + 1)"
            let words = line.split(separator: " ").map(String.init)
            guard let key = words.first else { throw CheckpointError("\(where_): empty line") }
            func number(_ at: Int, _ field: String) throws(CheckpointError) -> Int64 {
                guard at < words.count, let value = Int64(words[at]) else {
                    throw CheckpointError("\(where_): \(key): \(field): expected an integer")
                }
                return value
            }
            func optional(_ at: Int, _ field: String) throws(CheckpointError) -> Int64? {
                if at < words.count && words[at] == "-" { return nil }
                return try number(at, field)
            }
            /// A peak's time, Unix seconds; 0 = no peak.
            func peakTime(_ seconds: Int64) -> UnixTime? { seconds == 0 ? nil : UnixTime(seconds: seconds) }
            switch key {
            case "before.time", "after.time":
                times[String(key.dropLast(5))] = UnixTime(seconds: try number(1, "time"))
            case "before.p1", "after.p1":
                guard words.count == 7 else { throw CheckpointError("\(where_): \(key): expected 6 values") }
                registers[String(key.dropLast(3))] = P1Registers(
                    importTariff1Wh: try number(1, "import_t1_wh"), importTariff2Wh: try number(2, "import_t2_wh"),
                    exportTariff1Wh: try number(3, "export_t1_wh"), exportTariff2Wh: try number(4, "export_t2_wh"),
                    gasLitres: try optional(5, "gas_l"), waterLitres: try optional(6, "water_l"))
            case "p1_demand", "ade_demand":
                guard words.count == 10 else { throw CheckpointError("\(where_): \(key): expected 9 values") }
                var state = demands[key] ?? DemandTracker.State()
                state.lastTime = try optional(1, "last_time").map(UnixTime.init(milliseconds:))
                state.lastMilliwattHours = try number(2, "last_mwh")
                state.quarterStart = UnixTime(milliseconds: try number(3, "quarter_start"))
                state.quarterStartMilliwattHours = try number(4, "quarter_start_mwh")
                let flags = try number(5, "flags")
                state.quarterIncomplete = flags & 1 != 0
                state.rebaseline = flags & 2 != 0
                state.monthStart = UnixTime(milliseconds: try number(6, "month_start"))
                state.monthPeakW = try number(7, "month_peak_w")
                state.monthPeakTime = peakTime(try number(8, "month_peak_time"))
                state.runningDemandW = try number(9, "running_w")
                demands[key] = state
            case "p1_demand.month", "ade_demand.month":
                guard words.count == 4 else { throw CheckpointError("\(where_): \(key): expected 3 values") }
                let owner = String(key.dropLast(6))
                var state = demands[owner] ?? DemandTracker.State()
                state.monthHistory.append(
                    DemandTracker.MonthPeak(
                        monthStart: UnixTime(seconds: try number(1, "month_start")), peakW: try number(2, "peak_w"),
                        peakTime: peakTime(try number(3, "peak_time"))))
                demands[owner] = state
            default:
                throw CheckpointError("\(where_): unknown field `\(key)`")
            }
        }
        guard let afterTime = times["after"] else { throw CheckpointError("\(source): no `after.time` line") }
        after = Point(time: afterTime, p1: registers["after"])
        before = times["before"].map { Point(time: $0, p1: registers["before"]) }
        p1Demand = demands["p1_demand"]
        adeDemand = demands["ade_demand"]
    }
}

/// A checkpoint that could not be read or written, naming the file and field.
public struct CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "checkpoint: \(message)" }
}

/// Where the loop keeps its ``LoopCheckpoint``.
public protocol CheckpointStorage {
    /// The stored bytes, `nil` when there are none yet.
    mutating func load() throws(CheckpointError) -> [UInt8]?
    /// Replaces the stored bytes, durably before returning.
    mutating func store(_ bytes: [UInt8]) throws(CheckpointError)
}

/// Keeps the checkpoint in memory (tests; a loop without a state directory).
public struct RAMCheckpointStorage: CheckpointStorage, Sendable {
    public var bytes: [UInt8]?
    /// Stores done so far.
    public private(set) var stores = 0
    public init(bytes: [UInt8]? = nil) { self.bytes = bytes }
    public func load() -> [UInt8]? { bytes }
    public mutating func store(_ bytes: [UInt8]) {
        self.bytes = bytes
        stores += 1
    }
}

/// Keeps the checkpoint in a file: written whole to `<path>.tmp`, `fsync`ed, renamed over `path`, and the directory
/// `fsync`ed, so a power failure leaves the old file or the new one, never a mix (the CRC line checks that too).
public struct FileCheckpointStorage: CheckpointStorage, Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    public func load() throws(CheckpointError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw CheckpointError("\(path): open for reading failed (errno \(code))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= 16_384 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CheckpointError("\(path): read failed (errno \(errno))")
            }
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }

    public func store(_ bytes: [UInt8]) throws(CheckpointError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError("\(temporary): open for writing failed (errno \(errno))") }
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + done }, bytes.count - done) }
            if count < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                throw CheckpointError("\(temporary): write failed (errno \(code))")
            }
            done += count
        }
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            throw CheckpointError("\(temporary): fsync failed (errno \(code))")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw CheckpointError("\(path): rename from \(temporary) failed (errno \(errno))")
        }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let directoryFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)  // best effort: some file systems refuse to fsync a directory
            close(directoryFD)
        }
    }
}
