import ArgumentParser
import Firmware
import FoundationEssentials
import Logging

struct RingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ring",
        abstract: "Inspect the offline ring (the 512-byte store of interval records not yet delivered).",
        subcommands: [Show.self],
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the records stored in a ring image file, oldest first, as JSON Lines (read-only).",
            discussion: """
                Example: emeter ring show --file /var/lib/emeter/ring.bin
                The file is the `ring.path` of a configuration with `ring.storage: file`. Nothing is acknowledged or
                changed; a summary (records, bytes, consumers' backlog) goes to stderr. A copy of the image whose
                records do not decode or are out of range is reported and ignored (exit status 65; the records of
                the other copy, if it is intact, are printed).
                """
        )
        @Option(help: "Ring image file.") var file: String
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let logger = global.bootstrapLogging()
            guard FileManager.default.fileExists(atPath: file) else {
                standardError("\(file): no such file")
                throw ExitStatus.noInput
            }
            let store: RecordStore<FileRingStorage>
            do {
                store = try RecordStore(storage: FileRingStorage(path: file), nominalInterval: 60, logger: logger)
            } catch {
                standardError("\(file): \(error)")
                throw ExitStatus.dataError
            }
            for record in await store.records {
                standardOutput(Payloads.record(record, device: "ring"))
            }
            let statistics = await store.statistics
            standardError(
                "\(file): \(statistics.records) records, \(statistics.usedBytes) bytes of data, backlog by consumer \(statistics.backlog)"
            )
            let problems = await store.loadProblems
            for problem in problems {
                standardError("\(file): damaged copy ignored: \(problem)")
            }
            if !problems.isEmpty { throw ExitStatus.dataError }
        }
    }
}
