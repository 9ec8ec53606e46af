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

/// Writes `bytes` to stdout as they are (complete lines collected by the caller).
func standardOutput(bytes: [UInt8]) {
    writeAll(1, bytes)
}

/// write(2) until every byte is out; gives up silently on a closed pipe or another error (nothing to report to).
private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
