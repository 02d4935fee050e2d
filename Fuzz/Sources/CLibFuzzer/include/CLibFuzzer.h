// libFuzzer's driver (compiler-rt, LLVM ≥ 11), linked by `-sanitize=fuzzer`. SwiftPM makes an executable's
// `main` an alias of `<Module>_main`, so the fuzz executables keep their own `main` (top-level code) and
// hand control to libFuzzer through this call.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
