#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `message` and a line feed to standard error (file descriptor 2; the C `stderr` global is not usable
/// from Swift 6 strict concurrency).
public func printError(_ message: String) {
    var bytes = Array((message + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }  // nothing sensible to do when stderr is gone
        offset += written
    }
}
