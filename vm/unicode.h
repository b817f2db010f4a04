// unicode.h - character classes and case mappings of one code point:
// ASCII inline here, the rest from unicode.c's tables.
#ifndef EDDY_UNICODE_H
#define EDDY_UNICODE_H

#include "vm.h"

uint32_t unicode_upper_nonascii(uint32_t cp);
uint32_t unicode_lower_nonascii(uint32_t cp);
bool unicode_isupper_nonascii(uint32_t cp);
bool unicode_islower_nonascii(uint32_t cp);
bool unicode_isalpha_nonascii(uint32_t cp);
bool unicode_isdigit_nonascii(uint32_t cp);
bool unicode_isnumeric_nonascii(uint32_t cp);
bool unicode_isprintable_nonascii(uint32_t cp);
// The UTF-8 of cp's one-to-many uppercase form (ß -> "SS"), or NULL.
const char *unicode_special_upper(uint32_t cp);

static inline uint32_t cp_upper(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
    return unicode_upper_nonascii(cp);
}
static inline uint32_t cp_lower(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    return unicode_lower_nonascii(cp);
}
static inline bool cp_isupper(uint32_t cp) {
    return cp < 0x80 ? cp >= 'A' && cp <= 'Z' : unicode_isupper_nonascii(cp);
}
static inline bool cp_islower(uint32_t cp) {
    return cp < 0x80 ? cp >= 'a' && cp <= 'z' : unicode_islower_nonascii(cp);
}
static inline bool cp_isalpha(uint32_t cp) {
    return cp < 0x80 ? ((cp | 32) >= 'a' && (cp | 32) <= 'z') : unicode_isalpha_nonascii(cp);
}
static inline bool cp_isdigit(uint32_t cp) {
    return cp < 0x80 ? cp >= '0' && cp <= '9' : unicode_isdigit_nonascii(cp);
}
static inline bool cp_isnumeric(uint32_t cp) {
    return cp < 0x80 ? cp >= '0' && cp <= '9' : unicode_isnumeric_nonascii(cp);
}
static inline bool cp_isprintable(uint32_t cp) {
    return cp < 0x80 ? cp >= 0x20 && cp < 0x7F : unicode_isprintable_nonascii(cp);
}
static inline bool cp_isalnum(uint32_t cp) { return cp_isalpha(cp) || cp_isnumeric(cp); }

#endif
