import Firmware

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes one line to stdout at once (so pipes see each reading as it arrives).
func standardOutput(_ text: String) {
    var line = Array(text.utf8)
    line.append(0x0A)
    writeAll(1, line)
}

/// Writes one line of bytes (a JSON payload) to stdout at once.
func standardOutput(_ bytes: [UInt8]) {
    var line = bytes
    line.append(0x0A)
    writeAll(1, line)
}

/// Writes one message to stderr at once (a diagnostic, or a prompt when `newline` is false).
func standardError(_ text: String, newline: Bool = true) {
    var line = Array(text.utf8)
    if newline { line.append(0x0A) }
    writeAll(2, line)
}

/// Writes `bytes` to stdout as they are (complete lines collected by the caller).
func standardOutput(bytes: [UInt8]) {
    writeAll(1, bytes)
}

/// Writes what `json` holds to stdout as it is (complete lines collected by the caller), without copying it.
func standardOutput(_ json: borrowing JSONWriter) {
    json.withUnsafeBytes { writeAll(1, $0) }
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { writeAll(fd, $0) }
}

/// write(2) until every byte is out; gives up silently on a closed pipe or another error (nothing to report to).
private func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) {
    guard let start = raw.baseAddress else { return }
    var offset = 0
    while offset < raw.count {
        let written = write(fd, start + offset, raw.count - offset)
        if written > 0 {
            offset += written
        } else if written < 0 && errno == EINTR {
            continue
        } else {
            return
        }
    }
}

/// The C library's message for the current `errno` (`Permission denied`).
func errnoText() -> String {
    String(cString: strerror(errno))
}
