#ifndef C_JSON_VALIDATOR_H
#define C_JSON_VALIDATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/// Whether `bytes[0..<count]` is exactly one JSON text (RFC 8259): well-formed UTF-8, one value, nothing after it
/// but whitespace; nesting deeper than 512 levels is refused. The fuzz targets' `JSONValidator.isValid`.
bool fuzz_json_is_valid(const uint8_t *bytes, size_t count);

#endif
