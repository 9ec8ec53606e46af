import Firmware
import Foundation

/// The default sink of `emeter run`: live readings, closed interval records and health as JSON Lines on stdout.
actor JSONLinesOutput: LoopOutput {
    let device: String
    let live: Bool
    let records: Bool
    let healthLines: Bool
    private let encoder = Payloads.encoder()
    private let write: @Sendable (String) -> Void

    init(device: String, live: Bool, records: Bool, health: Bool,
        write: @escaping @Sendable (String) -> Void = { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) })
    {
        self.device = device
        self.live = live
        self.records = records
        self.healthLines = health
        self.write = write
    }

    func live(_ reading: LiveReading) {
        guard live else { return }
        emit(Payloads.Live(reading, device: device))
    }

    func closed(_ record: IntervalRecord) {
        guard records else { return }
        emit(Payloads.Record(record, device: device))
    }

    func health(_ health: Health) {
        guard healthLines else { return }
        struct Line: Encodable {
            var type = "health"
            var health: Health
        }
        emit(Line(health: health))
    }

    private func emit(_ value: some Encodable) {
        guard let data = try? encoder.encode(value) else { return }
        write(String(decoding: data, as: UTF8.self))
    }
}
