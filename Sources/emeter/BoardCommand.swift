import ArgumentParser
import FoundationEssentials

struct BoardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "board",
        abstract: "Work with board files (the wiring of a board: buses, GPIO lines, analog front end).",
        subcommands: [Check.self],
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check board files and print every problem with file:line:column, field and what was expected.",
            discussion: """
                Example: emeter board check boards/*.yaml
                Exits 0 when every file is valid, 65 when any file has a problem, 66 when a file is missing.
                """
        )

        @Argument(help: "Board files (YAML).")
        var files: [String]

        @Flag(help: "Print nothing for valid files.")
        var quiet = false

        func run() throws {
            var status: ExitCode = .success
            for file in files {
                do {
                    let board = try YAMLFile.load(BoardFile.self, path: file)
                    if !quiet { print("\(file): ok (\(board.summary))") }
                } catch {
                    standardError(error.description)
                    let missing = error.errors.contains { $0.message == "no such file" }
                    if status == .success || missing { status = missing ? ExitStatus.noInput : ExitStatus.dataError }
                }
            }
            if status != .success { throw status }
        }
    }
}

extension BoardFile {
    /// One line saying what the board has: `ADE9000 on /dev/spidev0.0; P1 on /dev/ttyUSB0 (auto)`.
    var summary: String {
        var parts: [String] = [name]
        if let ade = ade9000 {
            parts.append("ADE9000 " + (ade.spi.map { "on \($0.device)" } ?? "simulated"))
        }
        if let p1 {
            parts.append(
                "P1 " + (p1.port.map { "on \($0)" } ?? "simulated (\(p1.simulate?.profile ?? "?"))")
                    + " serial \(p1.serial ?? "auto")")
        }
        if let eeprom { parts.append("EEPROM " + (eeprom.bus == "simulate" ? "simulated" : "on \(eeprom.bus)")) }
        for output in outputs ?? [] {
            let line =
                output.simulate == true
                ? "simulated" : "on \(output.chip ?? "?") line \(output.line?.description ?? "?")"
            parts.append("output \(output.name) \(line)")
        }
        return parts.joined(separator: "; ")
    }
}
