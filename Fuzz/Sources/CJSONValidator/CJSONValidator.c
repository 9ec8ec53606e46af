// The JSON check of the fuzz targets, in C because scripts/fuzz instruments only Swift code (`-Xswiftc`): the
// validator is harness code, and in instrumented Swift its per-byte comparisons (each one traced for libFuzzer)
// were 9 % of P1Fuzz's time and added coverage features that say nothing about the code under test.
#include "CJSONValidator.h"

typedef struct {
    const uint8_t *bytes;
    size_t count;
    size_t index;
    int depth;
} Validator;

static bool value(Validator *v);

static int current(const Validator *v) { return v->index < v->count ? v->bytes[v->index] : -1; }

static bool is_digit(int byte) { return byte >= '0' && byte <= '9'; }

static bool is_hex_digit(int byte) {
    return is_digit(byte) || (byte >= 'a' && byte <= 'f') || (byte >= 'A' && byte <= 'F');
}

static void skip_whitespace(Validator *v) {
    while (v->index < v->count) {
        uint8_t byte = v->bytes[v->index];
        if (byte != ' ' && byte != '\t' && byte != '\n' && byte != '\r') return;
        v->index++;
    }
}

static bool consume(Validator *v, uint8_t byte) {
    if (current(v) != byte) return false;
    v->index++;
    return true;
}

/// Well-formed UTF-8 (Unicode Table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.
static bool is_utf8(const uint8_t *bytes, size_t count) {
    size_t i = 0;
    while (i < count) {
        uint8_t b = bytes[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t length;
        uint8_t low = 0x80, high = 0xBF;  // bounds of the second byte
        if (b >= 0xC2 && b <= 0xDF) {
            length = 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            length = 3;
            if (b == 0xE0) low = 0xA0;
            if (b == 0xED) high = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            length = 4;
            if (b == 0xF0) low = 0x90;
            if (b == 0xF4) high = 0x8F;
        } else {
            return false;
        }
        if (count - i < length) return false;
        if (bytes[i + 1] < low || bytes[i + 1] > high) return false;
        for (size_t k = 2; k < length; k++) {
            if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) return false;
        }
        i += length;
    }
    return true;
}

static bool string(Validator *v) {
    if (!consume(v, '"')) return false;
    while (v->index < v->count) {
        uint8_t byte = v->bytes[v->index++];
        if (byte == '"') return true;
        if (byte < 0x20) return false;
        if (byte != '\\') continue;
        int escaped = current(v);
        if (escaped < 0) return false;
        v->index++;
        switch (escaped) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            continue;
        case 'u':
            for (int k = 0; k < 4; k++) {
                if (!is_hex_digit(current(v))) return false;
                v->index++;
            }
            continue;
        default:
            return false;
        }
    }
    return false;
}

static bool literal(Validator *v, const char *word, size_t length) {
    if (v->count - v->index < length) return false;
    for (size_t k = 0; k < length; k++) {
        if (v->bytes[v->index + k] != (uint8_t)word[k]) return false;
    }
    v->index += length;
    return true;
}

static void skip_digits(Validator *v) {
    while (is_digit(current(v))) v->index++;
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
static bool number(Validator *v) {
    (void)consume(v, '-');
    int first = current(v);
    if (!is_digit(first)) return false;
    v->index++;
    if (first != '0') skip_digits(v);
    if (consume(v, '.')) {
        if (!is_digit(current(v))) return false;
        skip_digits(v);
    }
    if (consume(v, 'e') || consume(v, 'E')) {
        if (!consume(v, '+')) (void)consume(v, '-');
        if (!is_digit(current(v))) return false;
        skip_digits(v);
    }
    return true;
}

/// An object (`keyed`: `"key": value` members) or an array.
static bool container(Validator *v, uint8_t close, bool keyed) {
    if (++v->depth > 512) return false;
    v->index++;
    skip_whitespace(v);
    bool valid = false;
    if (consume(v, close)) {
        valid = true;
    } else {
        for (;;) {
            if (keyed) {
                skip_whitespace(v);
                if (!string(v)) break;
                skip_whitespace(v);
                if (!consume(v, ':')) break;
            }
            if (!value(v)) break;
            skip_whitespace(v);
            if (consume(v, ',')) continue;
            valid = consume(v, close);
            break;
        }
    }
    v->depth--;
    return valid;
}

static bool value(Validator *v) {
    skip_whitespace(v);
    switch (current(v)) {
    case -1: return false;
    case '{': return container(v, '}', true);
    case '[': return container(v, ']', false);
    case '"': return string(v);
    case 't': return literal(v, "true", 4);
    case 'f': return literal(v, "false", 5);
    case 'n': return literal(v, "null", 4);
    default: return number(v);
    }
}

bool fuzz_json_is_valid(const uint8_t *bytes, size_t count) {
    if (!is_utf8(bytes, count)) return false;
    Validator v = {bytes, count, 0, 0};
    if (!value(&v)) return false;
    skip_whitespace(&v);
    return v.index == count;
}
