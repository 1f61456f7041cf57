#ifndef CSHA256_H
#define CSHA256_H
#include <stddef.h>
#include <stdint.h>

/// SHA-256 of `length` bytes into `digest` (32 bytes). Uses the CPU's SHA extensions when it has them.
void aiq_sha256(const uint8_t *bytes, size_t length, uint8_t digest[32]);

/// The same hash computed without the SHA extensions, so tests can check both paths on any machine.
void aiq_sha256_portable(const uint8_t *bytes, size_t length, uint8_t digest[32]);

/// 1 when aiq_sha256 uses the CPU's SHA extensions.
int aiq_sha256_accelerated(void);

#endif
