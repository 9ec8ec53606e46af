import Foundation
import P1
import Testing

@testable import emeter

/// Issue "Hostile input" item 10: keys on the command line sat in /proc/<pid>/cmdline, `p1 read --auth-key` was
/// silently dropped (the reader thread got only the encryption key), and board files could not set the
/// authentication key.
@Suite("Secrets on the command line and in board files")
struct SecretOptionTests {
    static let encryption = "000102030405060708090A0B0C0D0E0F"
    static let authentication = "F0E0D0C0B0A090807060504030201000"

    @Test func theAuthenticationKeyReachesTheDecryptor() throws {
        let options = try P1Command.KeyOptions.parse(["--key", Self.encryption, "--auth-key", Self.authentication])
        let decryptor = try #require(try options.decryptor())
        #expect(decryptor.authenticationKey == (try P1Decryptor.key(hex: Self.authentication, name: "test")))
        let unchecked = try P1Command.KeyOptions.parse(["--key", Self.encryption, "--auth-key", "none"])
        #expect(try unchecked.decryptor()?.authenticationKey == nil)
        let smarty = try P1Command.KeyOptions.parse(["--key", Self.encryption])
        #expect(try smarty.decryptor()?.authenticationKey == P1Decryptor.smartyAuthenticationKey)
    }

    @Test func keysComeFromTheEnvironmentOrAFile() throws {
        setenv("EMETER_TEST_P1_KEY", Self.encryption, 1)
        defer { unsetenv("EMETER_TEST_P1_KEY") }
        let directory = try temporaryDirectory("secrets")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("auth.key")
        try Data((Self.authentication + "\n").utf8).write(to: file)
        chmod(file.path, 0o600)
        let options = try P1Command.KeyOptions.parse([
            "--key", "env:EMETER_TEST_P1_KEY", "--auth-key", "file:\(file.path)",
        ])
        let decryptor = try #require(try options.decryptor())
        #expect(decryptor.encryptionKey == (try P1Decryptor.key(hex: Self.encryption, name: "test")))
        #expect(decryptor.authenticationKey == (try P1Decryptor.key(hex: Self.authentication, name: "test")))
        #expect(throws: (any Error).self) {
            _ = try P1Command.KeyOptions.parse(["--key", "env:EMETER_TEST_UNSET_VARIABLE"]).decryptor()
        }
    }

    @Test func anInlineKeyOnTheCommandLineIsWarnedAbout() async throws {
        let capture = try temporaryDirectory("inline-key")
        defer { try? FileManager.default.removeItem(at: capture) }
        let empty = capture.appendingPathComponent("empty.bin")
        try Data().write(to: empty)
        let inline = try await runEmeter(["p1", "parse", empty.path, "--key", Self.encryption])
        #expect(inline.status == 0)
        #expect(inline.err.contains("warning: --key on the command line is visible to every user"))
        let fromEnvironment = try await runEmeter(["p1", "parse", empty.path, "--key", "env:PATH"])
        #expect(!fromEnvironment.err.contains("warning: --key"))
    }

    @Test func passwordsInForwardURLsAreRecognised() {
        #expect(RunCommand.hasPassword("mqtt://user:secret@broker:1883/x"))
        #expect(!RunCommand.hasPassword("mqtt://user@broker:1883/x"))
        #expect(!RunCommand.hasPassword("mqtt://broker:1883/a:b@c"))
        #expect(!RunCommand.hasPassword("mqtt://broker"))
    }

    @Test func boardFilesTakeAnAuthenticationKey() {
        let board = """
            name: smarty
            p1:
              port: /dev/ttyUSB0
              key: env:SMARTY_KEY
              auth_key: file:/etc/emeter/smarty.ak

            """
        #expect(problems(board).isEmpty)
        let alone = board.replacingOccurrences(of: "  key: env:SMARTY_KEY\n", with: "")
        #expect(problems(alone).map(\.message) == ["only used with `key:` (an encrypted meter)"])
        let short = board.replacingOccurrences(of: "file:/etc/emeter/smarty.ak", with: "1234")
        #expect(
            problems(short).map(\.message) == [
                "expected 32 hex digits, `env:VARIABLE`, `file:PATH` or `none`, got 4 characters"
            ])
    }
}
