#ifndef C_FUZZER_DRIVER_H
#define C_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt `FuzzerInterface.h`, LLVM ≥ 11): parses the libFuzzer flags in argv and runs
/// `callback` on every input. The fuzz target calls it from its own `main`, because SwiftPM links an executable's
/// `main` to the target's entry point (`-Xlinker --defsym main=<module>_main` on Linux) and libFuzzer's own `main`
/// cannot be used.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
