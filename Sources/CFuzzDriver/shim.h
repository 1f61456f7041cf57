// libFuzzer's driver, for aiquery-fuzz (Sources/aiquery-fuzz): linked from the toolchain's libclang_rt.fuzzer by
// -sanitize=fuzzer, and referenced only in builds with -D FUZZING, so plain builds link nothing.
#ifndef AIQ_CFUZZDRIVER_SHIM_H
#define AIQ_CFUZZDRIVER_SHIM_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
