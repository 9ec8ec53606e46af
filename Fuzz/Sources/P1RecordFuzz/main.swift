import CFuzzerDriver
import Foundation

// The fuzzer's `main`: hands the command line (libFuzzer flags, corpus directories) to libFuzzer's driver.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzTestOneInput(data, size) }
exit(status)
