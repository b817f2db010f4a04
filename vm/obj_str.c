// obj_str.c - str: immutable UTF-8 strings, interning, hashing, the str type
// and its methods.
//
// Representation (object.h): `len` bytes of valid UTF-8 plus a NUL, `ncp`
// code points, `ascii` when len == ncp (then indexing is O(1); otherwise
// index/slice walk the UTF-8, which is O(n) but only for non-ASCII text).
// Because UTF-8 byte order equals code-point order, comparisons are memcmp.
//
// One-character ASCII strings are shared through vm->char_cache; they and
// every interned string are pinned (never collected). The intern table is an
// open-addressing set of StrObject* (vm->intern), grown at half load.
//
// Unicode character classes for code points >= 0x80 come from compact range
// tables generated from CPython 3.11's unicodedata (unicode.c). Case mapping covers
// the one-to-one mappings plus CPython's one-to-many uppercase forms (ß -> SS,
// ﬁ -> FI, ...) and İ -> i̇; titlecase is approximated by uppercase (except
// ß -> Ss); casefold is lower() plus ß -> ss, and isidentifier() uses the
// alphabetic/digit classes rather than XID_Start/XID_Continue.
//
// %-formatting (str_mod) and the format mini-language live in format.c.
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

#include "unicode.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

size_t utf8_decode(const char *s, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    } else if (u[0] < 0xE0) {
        *cp = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
        return 2;
    } else if (u[0] < 0xF0) {
        *cp = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
          ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
    return 4;
}

static size_t utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

// Code points in len bytes of UTF-8: bytes minus continuation bytes
// (10xxxxxx), counted 8 bytes at a time.
static size_t count_cp(const char *s, size_t len) {
    size_t cont = 0, i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t hi = w & 0x8080808080808080ull;
        if (!hi) continue; // all ASCII
        cont += (size_t)__builtin_popcountll(hi & ~(w << 1));
    }
    for (; i < len; i++) cont += ((unsigned char)s[i] & 0xC0) == 0x80;
    return len - cont;
}

// Byte offset of code point index i (0 <= i <= ncp).
static size_t cp_to_byte(const StrObject *s, size_t i) {
    if (s->ascii) return i;
    if (i >= s->ncp) return s->len;
    size_t off = 0;
    const unsigned char *u = (const unsigned char *)s->data;
    while (i > 0) {
        off++;
        while (off < s->len && (u[off] & 0xC0) == 0x80) off++;
        i--;
    }
    return off;
}

static size_t byte_to_cp(const StrObject *s, size_t off) {
    return s->ascii ? off : count_cp(s->data, off);
}

// ---------------------------------------------------------------------------
// Hashing: a wyhash-style multiply-mix over 8-byte words.

static inline uint64_t read64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t mix(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

int64_t str_hash_bytes(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0x243F6A8885A308D3ull ^ (len * 0x9E3779B97F4A7C15ull);
    size_t n = len;
    while (n >= 8) {
        h = mix(h ^ read64(p), 0xA0761D6478BD642Full);
        p += 8;
        n -= 8;
    }
    if (n) {
        // Gather the 1..7 tail bytes one by one: a fresh string's bytes were
        // just stored by narrow memcpy stores, and a wider load spanning
        // several of them stalls on store forwarding.
        uint64_t t = 0;
        for (size_t k = 0; k < n; k++) t |= (uint64_t)p[k] << (8 * k);
        h = mix(h ^ t, 0xE7037ED1A0B428DBull);
    }
    h = mix(h ^ (h >> 29), 0x8EBC6AF09C88C6E3ull);
    int64_t r = (int64_t)h;
    return r == -1 ? -2 : r;
}

int64_t str_hash(StrObject *s) {
    if (s->hash != -1) return s->hash;
    s->hash = str_hash_bytes(s->data, s->len);
    return s->hash;
}

// ---------------------------------------------------------------------------
// Creation

StrObject *str_alloc(EddyVM *vm, size_t len, size_t ncp) {
    if (len > 0x7FFFFF00u - sizeof(StrObject)) {
        vm_raise_nomem(vm);
        return NULL;
    }
    // Every field is set below and the caller fills data: skip clearing it.
    StrObject *s = (StrObject *)obj_alloc_uninit(vm, vm->t_str, sizeof(StrObject) + len + 1);
    if (!s) return NULL;
    s->hash = -1;
    s->len = len;
    s->ncp = ncp;
    s->ascii = len == ncp;
    s->interned = false;
    s->data[len] = '\0';
    return s;
}

static StrObject *intern_lookup(EddyVM *vm, const char *s, size_t len, int64_t h, size_t *slot) {
    size_t mask = vm->intern_cap - 1;
    size_t i = (size_t)h & mask;
    for (;;) {
        StrObject *e = vm->intern[i];
        if (!e) {
            *slot = i;
            return NULL;
        }
        if (e->hash == h && e->len == len && memcmp(e->data, s, len) == 0) return e;
        i = (i + 1) & mask;
    }
}

static int intern_grow(EddyVM *vm) {
    size_t ncap = vm->intern_cap ? vm->intern_cap * 2 : 1024;
    StrObject **t = mem_alloc(vm, ncap * sizeof(StrObject *));
    if (!t) return -1;
    memset(t, 0, ncap * sizeof(StrObject *));
    for (size_t i = 0; i < vm->intern_cap; i++) {
        StrObject *e = vm->intern[i];
        if (!e) continue;
        size_t j = (size_t)e->hash & (ncap - 1);
        while (t[j]) j = (j + 1) & (ncap - 1);
        t[j] = e;
    }
    if (vm->intern) mem_free(vm, vm->intern, vm->intern_cap * sizeof(StrObject *));
    vm->intern = t;
    vm->intern_cap = ncap;
    return 0;
}

// Insert s (already known absent) into the table, pinning it.
static StrObject *intern_insert(EddyVM *vm, StrObject *s) {
    if ((vm->intern_len + 1) * 2 > vm->intern_cap && intern_grow(vm) < 0) return NULL;
    size_t slot;
    StrObject *e = intern_lookup(vm, s->data, s->len, str_hash(s), &slot);
    if (e) return e;
    s->interned = true;
    s->hdr.gc_pinned = 1;
    vm->intern[slot] = s;
    vm->intern_len++;
    return s;
}

StrObject *str_intern(EddyVM *vm, const char *s, size_t len) {
    int64_t h = str_hash_bytes(s, len);
    size_t slot;
    if (vm->intern_cap) {
        StrObject *e = intern_lookup(vm, s, len, h, &slot);
        if (e) return e;
    }
    StrObject *n = str_alloc(vm, len, count_cp(s, len));
    if (!n) return NULL;
    memcpy(n->data, s, len);
    n->hash = h;
    return intern_insert(vm, n);
}

StrObject *str_intern_cstr(EddyVM *vm, const char *s) { return str_intern(vm, s, strlen(s)); }

StrObject *str_intern_obj(EddyVM *vm, StrObject *s) {
    if (s->interned) return s;
    if (OBJ_TYPE(s) != vm->t_str) return str_intern(vm, s->data, s->len);
    if (vm->intern_cap) {
        size_t slot;
        StrObject *e = intern_lookup(vm, s->data, s->len, str_hash(s), &slot);
        if (e) return e;
    }
    return intern_insert(vm, s);
}

static StrObject *empty_str(EddyVM *vm) {
    return vm->names.empty ? vm->names.empty : str_intern(vm, "", 0);
}

static StrObject *char_str(EddyVM *vm, unsigned char c) {
    StrObject *s = vm->char_cache[c];
    if (EDDY_LIKELY(s != NULL)) return s;
    char ch = (char)c;
    s = str_intern(vm, &ch, 1);
    if (s) vm->char_cache[c] = s;
    return s;
}

StrObject *str_new(EddyVM *vm, const char *utf8, size_t len) {
    if (len <= 1) {
        if (len == 0) return empty_str(vm);
        if ((unsigned char)utf8[0] < 0x80) return char_str(vm, (unsigned char)utf8[0]);
    }
    StrObject *s = str_alloc(vm, len, count_cp(utf8, len));
    if (!s) return NULL;
    memcpy(s->data, utf8, len);
    return s;
}

static StrObject *str_new_ncp(EddyVM *vm, const char *utf8, size_t len, size_t ncp) {
    if (len <= 1) {
        if (len == 0) return empty_str(vm);
        if ((unsigned char)utf8[0] < 0x80) return char_str(vm, (unsigned char)utf8[0]);
    }
    StrObject *s = str_alloc(vm, len, ncp);
    if (!s) return NULL;
    memcpy(s->data, utf8, len);
    return s;
}

StrObject *str_from_cstr(EddyVM *vm, const char *s) { return str_new(vm, s, strlen(s)); }

StrObject *str_from_codepoint(EddyVM *vm, uint32_t cp) {
    char buf[4];
    size_t n = utf8_encode(cp, buf);
    return str_new_ncp(vm, buf, n, 1);
}

// Length of a valid UTF-8 sequence at s (at most n bytes), or 0 if invalid.
static size_t utf8_valid_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;  // overlong
        if (c == 0xED && s[1] >= 0xA0) return 0; // surrogates
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;
        if (c == 0xF4 && s[1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

// CPython's reasons for a bad UTF-8 sequence starting at s.
static const char *utf8_error_reason(const unsigned char *s, size_t n, size_t *badlen) {
    unsigned char c = s[0];
    *badlen = 1;
    if (c < 0xC2 || c > 0xF4) return "invalid start byte";
    size_t need = c <= 0xDF ? 2 : c <= 0xEF ? 3 : 4;
    for (size_t i = 1; i < need; i++) {
        if (i >= n) {
            *badlen = n;
            return "unexpected end of data";
        }
        bool ok = (s[i] & 0xC0) == 0x80;
        if (i == 1) {
            if (c == 0xE0 && s[1] < 0xA0) ok = false;
            if (c == 0xED && s[1] >= 0xA0) ok = false;
            if (c == 0xF0 && s[1] < 0x90) ok = false;
            if (c == 0xF4 && s[1] >= 0x90) ok = false;
        }
        if (!ok) {
            *badlen = i;
            return "invalid continuation byte";
        }
    }
    return "invalid start byte";
}

// Raise UnicodeDecodeError / UnicodeEncodeError with CPython's five args
// (encoding, object, start, end, reason); the message comes from their __str__.
static void raise_codec_error(EddyVM *vm, TypeObject *t, const char *enc, Value obj, size_t start,
                              size_t end, const char *reason) {
    StrObject *e = str_from_cstr(vm, enc), *r = e ? str_from_cstr(vm, reason) : NULL;
    if (!r || IS_NULL(obj)) return;
    TupleObject *args = tuple_from(
        vm, (Value[]){v_obj(e), obj, v_int((int64_t)start), v_int((int64_t)end), v_obj(r)}, 5);
    Value exc = args ? exc_new(vm, t, args) : VAL_NULL;
    if (!IS_NULL(exc)) vm_raise_value(vm, exc);
}

// Decode UTF-8 with an `errors` policy: 0 strict, 1 ignore, 2 replace.
static StrObject *decode_utf8_errors(EddyVM *vm, const char *bytes, size_t len, int errors) {
    const unsigned char *u = (const unsigned char *)bytes;
    size_t i = 0, ncp = 0;
    // Fast validation pass (8 ASCII bytes at a time), counting code points.
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                ncp += 8;
                continue;
            }
        }
        if (u[i] < 0x80) {
            i++;
            ncp++;
            continue;
        }
        size_t n = utf8_valid_seq(u + i, len - i);
        if (!n) break;
        i += n;
        ncp++;
    }
    if (i == len) return str_new_ncp(vm, bytes, len, ncp);
    if (errors == 0) {
        size_t bad;
        const char *why = utf8_error_reason(u + i, len - i, &bad);
        raise_codec_error(vm, vm->exc_UnicodeDecodeError, "utf-8", bytes_new(vm, bytes, len), i,
                          i + (bad > 1 ? bad : 1), why);
        return NULL;
    }
    StrBuf b;
    strbuf_init(vm, &b);
    strbuf_append(&b, bytes, i);
    while (i < len) {
        size_t n = utf8_valid_seq(u + i, len - i);
        if (n) {
            strbuf_append(&b, bytes + i, n);
            i += n;
            continue;
        }
        size_t bad;
        utf8_error_reason(u + i, len - i, &bad);
        if (errors == 2) strbuf_append_codepoint(&b, 0xFFFD);
        i += bad;
    }
    return strbuf_finish(&b);
}

StrObject *str_decode_utf8(EddyVM *vm, const char *bytes, size_t len) {
    return decode_utf8_errors(vm, bytes, len, 0);
}

// Substring of s by byte offsets [a, b) on code-point boundaries.
static StrObject *sub_bytes(EddyVM *vm, StrObject *s, size_t a, size_t b) {
    size_t n = b - a;
    if (n == s->len && OBJ_TYPE(s) == vm->t_str) return s;
    if (s->ascii) return str_new_ncp(vm, s->data + a, n, n);
    return str_new(vm, s->data + a, n);
}

// ---------------------------------------------------------------------------
// Comparison, concatenation, indexing

bool str_eq(StrObject *a, StrObject *b) {
    if (a == b) return true;
    if (a->len != b->len) return false;
    if (a->interned && b->interned) return false;
    if (a->hash != -1 && b->hash != -1 && a->hash != b->hash) return false;
    return memcmp(a->data, b->data, a->len) == 0;
}

int str_compare(StrObject *a, StrObject *b) {
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->data, b->data, n);
    if (c) return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

StrObject *str_concat(EddyVM *vm, StrObject *a, StrObject *b) {
    if (b->len == 0 && OBJ_TYPE(a) == vm->t_str) return a;
    if (a->len == 0 && OBJ_TYPE(b) == vm->t_str) return b;
    size_t len = a->len + b->len;
    if (len == 1) return str_new(vm, a->len ? a->data : b->data, 1);
    StrObject *s = str_alloc(vm, len, a->ncp + b->ncp);
    if (!s) return NULL;
    memcpy(s->data, a->data, a->len);
    memcpy(s->data + a->len, b->data, b->len);
    return s;
}

Value str_getitem_index(EddyVM *vm, StrObject *s, int64_t i) {
    if (i < 0) i += (int64_t)s->ncp;
    if (i < 0 || (uint64_t)i >= s->ncp)
        return vm_raise(vm, vm->exc_IndexError, "string index out of range");
    if (s->ascii) return v_obj(char_str(vm, (unsigned char)s->data[i]));
    size_t off = cp_to_byte(s, (size_t)i);
    uint32_t cp;
    size_t n = utf8_decode(s->data + off, &cp);
    StrObject *r = str_new_ncp(vm, s->data + off, n, 1);
    return r ? v_obj(r) : VAL_NULL;
}

static Value str_slice(EddyVM *vm, StrObject *s, Value slice) {
    int64_t start, stop, step, n;
    if (slice_indices(vm, slice, (int64_t)s->ncp, &start, &stop, &step, &n) < 0) return VAL_NULL;
    if (n <= 0) return v_obj(empty_str(vm));
    if (step == 1) {
        size_t a = cp_to_byte(s, (size_t)start);
        size_t b = s->ascii ? (size_t)stop : a + (cp_to_byte(s, (size_t)stop) - a);
        StrObject *r = sub_bytes(vm, s, a, b);
        return r ? v_obj(r) : VAL_NULL;
    }
    if (s->ascii) {
        StrObject *r = str_alloc(vm, (size_t)n, (size_t)n);
        if (!r) return VAL_NULL;
        for (int64_t i = 0, j = start; i < n; i++, j += step) r->data[i] = s->data[j];
        if (n == 1) return v_obj(char_str(vm, (unsigned char)r->data[0]));
        return v_obj(r);
    }
    // Non-ASCII with a step: decode code point offsets once.
    size_t *offs = mem_alloc(vm, (s->ncp + 1) * sizeof(size_t));
    if (!offs) return VAL_NULL;
    size_t k = 0;
    for (size_t off = 0; off < s->len; k++) {
        offs[k] = off;
        uint32_t cp;
        off += utf8_decode(s->data + off, &cp);
    }
    offs[k] = s->len;
    StrBuf b;
    strbuf_init(vm, &b);
    for (int64_t i = 0, j = start; i < n; i++, j += step)
        strbuf_append(&b, s->data + offs[j], offs[j + 1] - offs[j]);
    mem_free(vm, offs, (s->ncp + 1) * sizeof(size_t));
    StrObject *r = strbuf_finish(&b);
    return r ? v_obj(r) : VAL_NULL;
}

static Value str_getitem(EddyVM *vm, Value self, Value key) {
    StrObject *s = AS_STR(self);
    if (IS_INT(key)) return str_getitem_index(vm, s, AS_INT(key));
    if (is_exact(key, vm->t_slice)) return str_slice(vm, s, key);
    if (IS_BOOL(key) || is_int(vm, key) ||
        !IS_NULL(type_lookup(vm, vm_type_of(vm, key), vm->names.__index__))) {
        int64_t i;
        if (vm_index_i64(vm, key, &i) < 0) return VAL_NULL;
        return str_getitem_index(vm, s, i);
    }
    return vm_raise(vm, vm->exc_TypeError, "string indices must be integers, not '%s'",
                    vm_type_name(vm, key));
}

// ---------------------------------------------------------------------------
// repr

static const char HEX[] = "0123456789abcdef";

Value str_repr(EddyVM *vm, StrObject *s) {
    const char *p = s->data, *end = p + s->len;
    bool has_sq = memchr(p, '\'', s->len) != NULL;
    bool has_dq = has_sq && memchr(p, '"', s->len) != NULL;
    char quote = (has_sq && !has_dq) ? '"' : '\'';
    // Fast path: printable ASCII with nothing to escape.
    bool simple = s->ascii;
    for (const char *q = p; simple && q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20 || c == 0x7F || c == '\\' || c == (unsigned char)quote) simple = false;
    }
    if (simple) {
        StrObject *r = str_alloc(vm, s->len + 2, s->len + 2);
        if (!r) return VAL_NULL;
        r->data[0] = quote;
        memcpy(r->data + 1, p, s->len);
        r->data[s->len + 1] = quote;
        return v_obj(r);
    }
    StrBuf b;
    strbuf_init(vm, &b);
    strbuf_append_char(&b, quote);
    while (p < end) {
        uint32_t cp;
        size_t n = utf8_decode(p, &cp);
        if (cp == (uint32_t)quote || cp == '\\') {
            strbuf_append_char(&b, '\\');
            strbuf_append_char(&b, (char)cp);
        } else if (cp == '\n') {
            strbuf_append(&b, "\\n", 2);
        } else if (cp == '\r') {
            strbuf_append(&b, "\\r", 2);
        } else if (cp == '\t') {
            strbuf_append(&b, "\\t", 2);
        } else if (cp_isprintable(cp)) {
            strbuf_append(&b, p, n);
        } else if (cp < 0x100) {
            char e[4] = {'\\', 'x', HEX[cp >> 4], HEX[cp & 15]};
            strbuf_append(&b, e, 4);
        } else if (cp < 0x10000) {
            char e[6] = {'\\',        'u', HEX[cp >> 12], HEX[(cp >> 8) & 15], HEX[(cp >> 4) & 15],
                         HEX[cp & 15]};
            strbuf_append(&b, e, 6);
        } else {
            strbuf_printf(&b, "\\U%08x", (unsigned)cp);
        }
        p += n;
    }
    strbuf_append_char(&b, quote);
    StrObject *r = strbuf_finish(&b);
    return r ? v_obj(r) : VAL_NULL;
}

// ---------------------------------------------------------------------------
// str_format: printf-like formatting for messages.

StrObject *str_vformat(EddyVM *vm, const char *fmt, va_list ap) {
    StrBuf b;
    strbuf_init(vm, &b);
    const char *p = fmt;
    while (*p) {
        const char *pct = strchr(p, '%');
        if (!pct) {
            strbuf_append_cstr(&b, p);
            break;
        }
        strbuf_append(&b, p, (size_t)(pct - p));
        const char *d = pct + 1;
        // Flags, width and precision are passed on to the C library in
        // `sub`, with '*' replaced by the int argument it stands for.
        char sub[48];
        size_t sublen = 0;
        sub[sublen++] = '%';
        while (*d && strchr("-+ #0", *d) && sublen < 8) sub[sublen++] = *d++;
        if (*d == '*') {
            sublen += (size_t)snprintf(sub + sublen, 12, "%d", va_arg(ap, int));
            d++;
        } else {
            while (*d >= '0' && *d <= '9' && sublen < 20) sub[sublen++] = *d++;
        }
        int prec = -1;
        if (*d == '.') {
            d++;
            prec = 0;
            if (*d == '*') {
                prec = va_arg(ap, int);
                if (prec < 0) prec = 0;
                d++;
            } else {
                while (*d >= '0' && *d <= '9' && prec < 100000000) prec = prec * 10 + (*d++ - '0');
            }
            sublen += (size_t)snprintf(sub + sublen, 12, ".%d", prec);
        }
        int lng = 0; // 1 l, 2 ll, 3 z
        if (*d == 'l') {
            lng = 1;
            sub[sublen++] = *d++;
            if (*d == 'l') {
                lng = 2;
                sub[sublen++] = *d++;
            }
        } else if (*d == 'z') {
            lng = 3;
            sub[sublen++] = *d++;
        }
        char conv = *d;
        if (!conv) break;
        p = d + 1;
        sub[sublen++] = conv;
        sub[sublen] = '\0';
        switch (conv) {
        case '%': strbuf_append_char(&b, '%'); break;
        case 'd':
        case 'i':
            if (lng == 1)
                strbuf_printf(&b, sub, va_arg(ap, long));
            else if (lng == 2)
                strbuf_printf(&b, sub, va_arg(ap, long long));
            else if (lng == 3)
                strbuf_printf(&b, sub, va_arg(ap, ptrdiff_t));
            else
                strbuf_printf(&b, sub, va_arg(ap, int));
            break;
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            if (lng == 1)
                strbuf_printf(&b, sub, va_arg(ap, unsigned long));
            else if (lng == 2)
                strbuf_printf(&b, sub, va_arg(ap, unsigned long long));
            else if (lng == 3)
                strbuf_printf(&b, sub, va_arg(ap, size_t));
            else
                strbuf_printf(&b, sub, va_arg(ap, unsigned));
            break;
        case 'p': strbuf_printf(&b, "%p", va_arg(ap, void *)); break;
        case 'c': strbuf_append_codepoint(&b, (uint32_t)va_arg(ap, int)); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            if (sublen == 2)
                strbuf_append_cstr(&b, s);
            else
                strbuf_printf(&b, sub, s);
            break;
        }
        case 'U': {
            StrObject *s = va_arg(ap, StrObject *);
            if (prec >= 0 && (size_t)prec < s->ncp)
                strbuf_append(&b, s->data, cp_to_byte(s, (size_t)prec));
            else
                strbuf_append_str(&b, s);
            break;
        }
        case 'R':
        case 'S':
        case 'V': {
            Value v = va_arg(ap, Value);
            Value r;
            if (conv == 'V' && is_str(vm, v))
                r = v;
            else
                r = conv == 'S' ? vm_str(vm, v) : vm_repr(vm, v);
            if (IS_NULL(r)) {
                strbuf_discard(&b);
                return NULL;
            }
            StrObject *s = AS_STR(r);
            if (prec >= 0 && (size_t)prec < s->ncp)
                strbuf_append(&b, s->data, cp_to_byte(s, (size_t)prec));
            else
                strbuf_append_str(&b, s);
            break;
        }
        case 'T': strbuf_append_cstr(&b, vm_type_name(vm, va_arg(ap, Value))); break;
        default: strbuf_append(&b, pct, (size_t)(p - pct)); break;
        }
    }
    return strbuf_finish(&b);
}

StrObject *str_format(EddyVM *vm, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    StrObject *s = str_vformat(vm, fmt, ap);
    va_end(ap);
    return s;
}

// ---------------------------------------------------------------------------
// The str type: slots

#define SELF AS_STR(args[0])
#define RET_STR(expr)                                                                              \
    do {                                                                                           \
        StrObject *r_ = (expr);                                                                    \
        return r_ ? v_obj(r_) : VAL_NULL;                                                          \
    } while (0)

static Value str_repr_slot(EddyVM *vm, Value self) { return str_repr(vm, AS_STR(self)); }

static Value str_str_slot(EddyVM *vm, Value self) {
    StrObject *s = AS_STR(self);
    if (OBJ_TYPE(s) == vm->t_str) return self;
    RET_STR(str_new_ncp(vm, s->data, s->len, s->ncp));
}

static int str_hash_slot(EddyVM *vm, Value self, int64_t *out) {
    *out = str_hash(AS_STR(self));
    return 0;
}

static Value str_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_str(vm, a) || !is_str(vm, b)) return vm->not_implemented;
    StrObject *x = AS_STR(a), *y = AS_STR(b);
    if (op == CMP_EQ) return v_bool(str_eq(x, y));
    if (op == CMP_NE) return v_bool(!str_eq(x, y));
    int c = str_compare(x, y);
    switch (op) {
    case CMP_LT: return v_bool(c < 0);
    case CMP_LE: return v_bool(c <= 0);
    case CMP_GT: return v_bool(c > 0);
    default: return v_bool(c >= 0);
    }
}

static int str_truthy(EddyVM *vm, Value self) { return AS_STR(self)->len != 0; }

static int64_t str_len_slot(EddyVM *vm, Value self) { return (int64_t)AS_STR(self)->ncp; }

static int find_bytes(const StrObject *s, const StrObject *sub, size_t a, size_t b, size_t *at);

static int str_contains(EddyVM *vm, Value self, Value item) {
    if (!is_str(vm, item)) {
        vm_raise(vm, vm->exc_TypeError, "'in <string>' requires string as left operand, not %s",
                 vm_type_name(vm, item));
        return -1;
    }
    size_t at;
    return find_bytes(AS_STR(self), AS_STR(item), 0, AS_STR(self)->len, &at);
}

// str iterator: walks the UTF-8 by byte offset.
typedef struct StrIterObject {
    Obj hdr;
    StrObject *s;
    size_t off;
} StrIterObject;

static void str_iter_trace(EddyVM *vm, Obj *self) {
    gc_mark_obj(vm, (Obj *)((StrIterObject *)self)->s);
}

static Value str_iter(EddyVM *vm, Value self) {
    StrIterObject *it = (StrIterObject *)obj_alloc(vm, vm->t_str_iterator, sizeof(StrIterObject));
    if (!it) return VAL_NULL;
    it->s = AS_STR(self);
    it->off = 0;
    return v_obj(it);
}

static Value iter_self(EddyVM *vm, Value self) { return self; }

static int str_iter_next(EddyVM *vm, Value self, Value *out) {
    StrIterObject *it = (StrIterObject *)AS_OBJ(self);
    StrObject *s = it->s;
    if (it->off >= s->len) return 0;
    unsigned char c = (unsigned char)s->data[it->off];
    StrObject *r;
    if (c < 0x80) {
        r = char_str(vm, c);
        it->off++;
    } else {
        uint32_t cp;
        size_t n = utf8_decode(s->data + it->off, &cp);
        r = str_new_ncp(vm, s->data + it->off, n, 1);
        it->off += n;
    }
    if (!r) return -1;
    *out = v_obj(r);
    return 1;
}

static Value str_iter_next_method(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value out;
    int r = str_iter_next(vm, args[0], &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    return out;
}

static Value str_iter_iter_method(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return args[0];
}

static Value str_iter_length_hint(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    StrIterObject *it = (StrIterObject *)AS_OBJ(args[0]);
    if (it->off >= it->s->len) return v_int(0);
    return v_int((int64_t)(it->s->ascii ? it->s->len - it->off
                                        : count_cp(it->s->data + it->off, it->s->len - it->off)));
}

// Make an instance of str subclass t holding a copy of s. Subclass extras
// (e.g. a __dict__ pointer) follow the character data; see the report on
// dict_offset for variable-size layouts.
static Value str_subclass_copy(EddyVM *vm, TypeObject *t, StrObject *s) {
    size_t base = (sizeof(StrObject) + s->len + 1 + 7) & ~(size_t)7;
    size_t extra = t->instance_size > sizeof(StrObject) ? t->instance_size - sizeof(StrObject) : 0;
    StrObject *r = (StrObject *)obj_alloc(vm, t, base + extra);
    if (!r) return VAL_NULL;
    r->hash = -1;
    r->len = s->len;
    r->ncp = s->ncp;
    r->ascii = s->ascii;
    memcpy(r->data, s->data, s->len + 1);
    return v_obj(r);
}

static int errors_mode(EddyVM *vm, Value errors, int *mode) {
    *mode = 0;
    if (IS_NULL(errors)) return 0;
    if (!is_str(vm, errors)) {
        vm_raise(vm, vm->exc_TypeError, "str() argument 'errors' must be str, not %s",
                 vm_type_name(vm, errors));
        return -1;
    }
    const char *e = AS_STR(errors)->data;
    if (!strcmp(e, "strict"))
        *mode = 0;
    else if (!strcmp(e, "ignore"))
        *mode = 1;
    else if (!strcmp(e, "replace"))
        *mode = 2;
    else {
        vm_raise(vm, vm->exc_LookupError, "unknown error handler name '%s'", e);
        return -1;
    }
    return 0;
}

// Normalise an encoding name: 0 utf-8, 1 ascii, 2 latin-1, -1 unknown.
static int encoding_kind(const char *name) {
    char low[32];
    size_t n = 0;
    for (const char *p = name; *p && n < sizeof low - 1; p++) {
        char c = *p;
        if (c == '_' || c == ' ') c = '-';
        low[n++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    low[n] = '\0';
    if (!strcmp(low, "utf-8") || !strcmp(low, "utf8")) return 0;
    if (!strcmp(low, "ascii") || !strcmp(low, "us-ascii")) return 1;
    if (!strcmp(low, "latin-1") || !strcmp(low, "latin1") || !strcmp(low, "iso-8859-1") ||
        !strcmp(low, "iso8859-1") || !strcmp(low, "l1"))
        return 2;
    return -1;
}

// Decode bytes with a named encoding (str(b, enc, errors), bytes.decode).
static StrObject *decode_bytes(EddyVM *vm, const uint8_t *data, size_t len, Value encoding,
                               Value errors) {
    int mode;
    if (errors_mode(vm, errors, &mode) < 0) return NULL;
    const char *enc = "utf-8";
    if (!IS_NULL(encoding)) {
        if (!is_str(vm, encoding)) {
            vm_raise(vm, vm->exc_TypeError, "decode() argument 'encoding' must be str, not %s",
                     vm_type_name(vm, encoding));
            return NULL;
        }
        enc = AS_STR(encoding)->data;
    }
    int kind = encoding_kind(enc);
    if (kind < 0) {
        vm_raise(vm, vm->exc_LookupError, "unknown encoding: %s", enc);
        return NULL;
    }
    if (kind == 0) return decode_utf8_errors(vm, (const char *)data, len, mode);
    StrBuf b;
    strbuf_init(vm, &b);
    for (size_t i = 0; i < len; i++) {
        if (data[i] >= 0x80 && kind == 1) {
            if (mode == 0) {
                strbuf_discard(&b);
                raise_codec_error(vm, vm->exc_UnicodeDecodeError, "ascii", bytes_new(vm, data, len),
                                  i, i + 1, "ordinal not in range(128)");
                return NULL;
            }
            if (mode == 2) strbuf_append_codepoint(&b, 0xFFFD);
            continue;
        }
        strbuf_append_codepoint(&b, data[i]);
    }
    return strbuf_finish(&b);
}

// Encode s: kind 0 utf-8, 1 ascii, 2 latin-1.
static Value encode_str(EddyVM *vm, StrObject *s, const char *enc, int kind, int mode) {
    if (kind == 0 || s->ascii) return bytes_new(vm, s->data, s->len);
    uint32_t limit = kind == 1 ? 0x80 : 0x100;
    uint8_t *out = mem_alloc(vm, s->ncp + 1);
    if (!out) return VAL_NULL;
    size_t n = 0, pos = 0;
    for (size_t off = 0; off < s->len; pos++) {
        uint32_t cp;
        size_t k = utf8_decode(s->data + off, &cp);
        if (cp >= limit) {
            if (mode == 0) {
                // Find the run of unencodable characters, as CPython reports.
                size_t end = pos + 1, o2 = off + k;
                while (o2 < s->len) {
                    uint32_t c2;
                    size_t k2 = utf8_decode(s->data + o2, &c2);
                    if (c2 < limit) break;
                    o2 += k2;
                    end++;
                }
                mem_free(vm, out, s->ncp + 1);
                raise_codec_error(
                    vm, vm->exc_UnicodeEncodeError, kind == 1 ? "ascii" : "latin-1", v_obj(s), pos,
                    end, kind == 1 ? "ordinal not in range(128)" : "ordinal not in range(256)");
                return VAL_NULL;
            }
            if (mode == 2) out[n++] = '?';
        } else {
            out[n++] = (uint8_t)cp;
        }
        off += k;
    }
    Value r = bytes_new(vm, out, n);
    mem_free(vm, out, s->ncp + 1);
    return r;
}

static Value str_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kwnames) {
    static const char *const names[] = {"object", "encoding", "errors"};
    Value a[3] = {VAL_NULL, VAL_NULL, VAL_NULL};
    if (kwnames || nargs > 1) {
        if (args_parse(vm, "str", args, nargs, kwnames, names, 3, 3, 0, a) < 0) return VAL_NULL;
    } else if (nargs == 1) {
        a[0] = args[0];
    }
    Value r;
    if (IS_NULL(a[0])) {
        r = v_obj(empty_str(vm));
    } else if (IS_NULL(a[1]) && IS_NULL(a[2])) {
        r = vm_str(vm, a[0]);
    } else {
        if (is_str(vm, a[0]))
            return vm_raise(vm, vm->exc_TypeError, "decoding str is not supported");
        if (!is_bytes(vm, a[0]))
            return vm_raise(vm, vm->exc_TypeError,
                            "decoding to str: need a bytes-like object, %s found",
                            vm_type_name(vm, a[0]));
        size_t len;
        const uint8_t *d = bytes_data(a[0], &len);
        StrObject *s = decode_bytes(vm, d, len, a[1], a[2]);
        r = s ? v_obj(s) : VAL_NULL;
    }
    if (IS_NULL(r) || t == vm->t_str) return r;
    return str_subclass_copy(vm, t, AS_STR(r));
}

// ---------------------------------------------------------------------------
// Argument helpers

// Check a method's arguments (nargs includes self) with CPython's wording,
// which depends on how CPython declares the method: "str.upper() takes no
// arguments (1 given)", "find() takes at least 1 argument (0 given)",
// "center expected at least 1 argument, got 0".
static bool check_args(EddyVM *vm, const char *name, int nargs, TupleObject *kw, int min, int max) {
    char qual[40];
    snprintf(qual, sizeof qual, "str.%s", name);
    if (kw && kw->len && args_no_kw(vm, qual, kw) < 0) return false;
    int n = nargs - 1;
    if (n >= min && n <= max) return true;
    bool find_family = !strcmp(name, "find") || !strcmp(name, "rfind") || !strcmp(name, "index") ||
                       !strcmp(name, "rindex") || !strcmp(name, "count") ||
                       !strcmp(name, "startswith") || !strcmp(name, "endswith");
    if (find_family) {
        if (n < min)
            vm_raise(vm, vm->exc_TypeError, "%s() takes at least %d argument (%d given)", name, min,
                     n);
        else
            vm_raise(vm, vm->exc_TypeError, "%s() takes at most %d arguments (%d given)", name, max,
                     n);
        return false;
    }
    args_count(vm, (min == max && min <= 1) ? qual : name, n, min, max);
    return false;
}

static StrObject *arg_str(EddyVM *vm, Value v) {
    if (is_str(vm, v)) return AS_STR(v);
    vm_raise(vm, vm->exc_TypeError, "must be str, not %s", vm_type_name(vm, v));
    return NULL;
}

// Resolve optional start/end arguments (code point indexes, slice-clamped)
// into byte offsets [*a, *b). Returns 1 when start > len (nothing matches,
// not even ''), 0 otherwise, -1 on error.
static int arg_range(EddyVM *vm, StrObject *s, Value *args, int nargs, int first, size_t *a,
                     size_t *b) {
    int64_t len = (int64_t)s->ncp, start = 0, end = len;
    if (nargs > first && !IS_NONE(args[first])) {
        if (IS_INT(args[first]))
            start = AS_INT(args[first]);
        else if (vm_index_i64(vm, args[first], &start) < 0)
            return -1;
    }
    if (nargs > first + 1 && !IS_NONE(args[first + 1])) {
        if (IS_INT(args[first + 1]))
            end = AS_INT(args[first + 1]);
        else if (vm_index_i64(vm, args[first + 1], &end) < 0)
            return -1;
    }
    if (start < 0) start = start + len < 0 ? 0 : start + len;
    if (end < 0) end = end + len < 0 ? 0 : end + len;
    if (end > len) end = len;
    if (start > len) return 1;
    if (end < start) end = start;
    *a = cp_to_byte(s, (size_t)start);
    *b = s->ascii ? (size_t)end : *a + cp_to_byte(s, (size_t)end) - cp_to_byte(s, (size_t)start);
    if (!s->ascii) *b = cp_to_byte(s, (size_t)end);
    return 0;
}

// ---------------------------------------------------------------------------
// Searching

// Find sub in s->data[a, b): 1 and *at = byte offset, or 0.
static int find_bytes(const StrObject *s, const StrObject *sub, size_t a, size_t b, size_t *at) {
    size_t n = sub->len;
    if (n > b - a) return 0;
    if (n == 0) {
        *at = a;
        return 1;
    }
    const char *p;
    if (n == 1)
        p = memchr(s->data + a, sub->data[0], b - a);
    else
        p = memmem(s->data + a, b - a, sub->data, n);
    if (!p) return 0;
    *at = (size_t)(p - s->data);
    return 1;
}

static int rfind_bytes(const StrObject *s, const StrObject *sub, size_t a, size_t b, size_t *at) {
    size_t n = sub->len;
    if (n > b - a) return 0;
    if (n == 0) {
        *at = b;
        return 1;
    }
    if (n == 1) {
        const char *p = memrchr(s->data + a, sub->data[0], b - a);
        if (!p) return 0;
        *at = (size_t)(p - s->data);
        return 1;
    }
    for (size_t i = b - n + 1; i-- > a;) {
        if (s->data[i] == sub->data[0] && memcmp(s->data + i, sub->data, n) == 0) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

static Value find_common(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames, const char *name,
                         bool reverse, bool raise) {
    if (!check_args(vm, name, nargs, kwnames, 1, 3)) return VAL_NULL;
    StrObject *s = SELF, *sub = arg_str(vm, args[1]);
    if (!sub) return VAL_NULL;
    size_t a, b, at;
    int r = arg_range(vm, s, args, nargs, 2, &a, &b);
    if (r < 0) return VAL_NULL;
    int found =
        r == 0 && (reverse ? rfind_bytes(s, sub, a, b, &at) : find_bytes(s, sub, a, b, &at));
    if (!found) {
        if (raise) return vm_raise(vm, vm->exc_ValueError, "substring not found");
        return v_int(-1);
    }
    return v_int((int64_t)byte_to_cp(s, at));
}

static Value str_find(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return find_common(vm, args, nargs, kw, "find", false, false);
}
static Value str_rfind(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return find_common(vm, args, nargs, kw, "rfind", true, false);
}
static Value str_index(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return find_common(vm, args, nargs, kw, "index", false, true);
}
static Value str_rindex(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return find_common(vm, args, nargs, kw, "rindex", true, true);
}

static size_t count_sub(const StrObject *s, const StrObject *sub, size_t a, size_t b,
                        size_t maxcount) {
    size_t n = 0, at;
    if (sub->len == 0) {
        size_t cps = s->ascii ? b - a : count_cp(s->data + a, b - a);
        return cps + 1 < maxcount ? cps + 1 : maxcount;
    }
    while (n < maxcount && find_bytes(s, sub, a, b, &at)) {
        n++;
        a = at + sub->len;
    }
    return n;
}

static Value str_count(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "count", nargs, kw, 1, 3)) return VAL_NULL;
    StrObject *s = SELF, *sub = arg_str(vm, args[1]);
    if (!sub) return VAL_NULL;
    size_t a, b;
    int r = arg_range(vm, s, args, nargs, 2, &a, &b);
    if (r < 0) return VAL_NULL;
    if (r == 1) return v_int(0);
    return v_int((int64_t)count_sub(s, sub, a, b, SIZE_MAX));
}

static Value str_replace(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "replace", nargs, kw, 2, 3)) return VAL_NULL;
    StrObject *s = SELF, *old = arg_str(vm, args[1]), *new_ = NULL;
    if (!old || !(new_ = arg_str(vm, args[2]))) return VAL_NULL;
    int64_t maxc = -1;
    if (nargs > 3 && vm_index_i64(vm, args[3], &maxc) < 0) return VAL_NULL;
    size_t limit = maxc < 0 ? SIZE_MAX : (size_t)maxc;
    size_t n = count_sub(s, old, 0, s->len, limit);
    if (n == 0) RET_STR(sub_bytes(vm, s, 0, s->len));
    size_t len = s->len + n * new_->len - n * old->len;
    size_t ncp = s->ncp + n * new_->ncp - n * old->ncp;
    StrObject *r = str_alloc(vm, len, ncp);
    if (!r) return VAL_NULL;
    char *out = r->data;
    size_t pos = 0;
    if (old->len == 0) {
        // Insert `new` before every code point (and at the end while count lasts).
        for (size_t i = 0; i < n; i++) {
            memcpy(out, new_->data, new_->len);
            out += new_->len;
            if (pos < s->len) {
                uint32_t cp;
                size_t k = utf8_decode(s->data + pos, &cp);
                memcpy(out, s->data + pos, k);
                out += k;
                pos += k;
            }
        }
    } else {
        size_t at;
        for (size_t i = 0; i < n && find_bytes(s, old, pos, s->len, &at); i++) {
            memcpy(out, s->data + pos, at - pos);
            out += at - pos;
            memcpy(out, new_->data, new_->len);
            out += new_->len;
            pos = at + old->len;
        }
    }
    memcpy(out, s->data + pos, s->len - pos);
    if (len == 1 && (unsigned char)r->data[0] < 0x80)
        return v_obj(char_str(vm, (unsigned char)r->data[0]));
    return v_obj(r);
}

// startswith / endswith
static int match_affix(EddyVM *vm, StrObject *s, Value affix, size_t a, size_t b, bool end,
                       const char *name) {
    if (is_str(vm, affix)) {
        StrObject *x = AS_STR(affix);
        if (x->len > b - a) return 0;
        return memcmp(s->data + (end ? b - x->len : a), x->data, x->len) == 0;
    }
    if (IS_OBJ(affix) && (OBJ_TYPE(AS_OBJ(affix))->flags & TPF_TUPLE_SUBCLASS)) {
        TupleObject *t = AS_TUPLE(affix);
        for (size_t i = 0; i < t->len; i++) {
            if (!is_str(vm, t->items[i])) {
                vm_raise(vm, vm->exc_TypeError, "tuple for %s must only contain str, not %s", name,
                         vm_type_name(vm, t->items[i]));
                return -1;
            }
            int r = match_affix(vm, s, t->items[i], a, b, end, name);
            if (r) return r;
        }
        return 0;
    }
    vm_raise(vm, vm->exc_TypeError, "%s first arg must be str or a tuple of str, not %s", name,
             vm_type_name(vm, affix));
    return -1;
}

static Value affix_common(EddyVM *vm, Value *args, int nargs, TupleObject *kw, bool end) {
    const char *name = end ? "endswith" : "startswith";
    if (!check_args(vm, name, nargs, kw, 1, 3)) return VAL_NULL;
    size_t a, b;
    int r = arg_range(vm, SELF, args, nargs, 2, &a, &b);
    if (r < 0) return VAL_NULL;
    if (r == 1) {
        // start beyond the end: still type-check the argument
        if (!is_str(vm, args[1]) &&
            !(IS_OBJ(args[1]) && (OBJ_TYPE(AS_OBJ(args[1]))->flags & TPF_TUPLE_SUBCLASS)))
            return vm_raise(vm, vm->exc_TypeError,
                            "%s first arg must be str or a tuple of str, not %s", name,
                            vm_type_name(vm, args[1]));
        return VAL_FALSE;
    }
    r = match_affix(vm, SELF, args[1], a, b, end, name);
    return r < 0 ? VAL_NULL : v_bool(r);
}

static Value str_startswith(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return affix_common(vm, args, nargs, kw, false);
}
static Value str_endswith(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return affix_common(vm, args, nargs, kw, true);
}

static Value str_removeprefix(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "removeprefix", nargs, kw, 1, 1)) return VAL_NULL;
    StrObject *s = SELF, *p = arg_str(vm, args[1]);
    if (!p) return VAL_NULL;
    if (p->len <= s->len && memcmp(s->data, p->data, p->len) == 0)
        RET_STR(sub_bytes(vm, s, p->len, s->len));
    RET_STR(sub_bytes(vm, s, 0, s->len));
}

static Value str_removesuffix(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "removesuffix", nargs, kw, 1, 1)) return VAL_NULL;
    StrObject *s = SELF, *p = arg_str(vm, args[1]);
    if (!p) return VAL_NULL;
    if (p->len && p->len <= s->len && memcmp(s->data + s->len - p->len, p->data, p->len) == 0)
        RET_STR(sub_bytes(vm, s, 0, s->len - p->len));
    RET_STR(sub_bytes(vm, s, 0, s->len));
}

// ---------------------------------------------------------------------------
// Splitting and joining

static inline bool ascii_space(unsigned char c) {
    return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20);
}

// Is there a whitespace code point at byte offset i? Sets *n to its length.
static bool space_at(const StrObject *s, size_t i, size_t *n) {
    unsigned char c = (unsigned char)s->data[i];
    if (c < 0x80) {
        *n = 1;
        return ascii_space(c);
    }
    uint32_t cp;
    *n = utf8_decode(s->data + i, &cp);
    return unicode_isspace(cp);
}

// Is the code point ending at byte offset i (exclusive) whitespace?
static bool space_before(const StrObject *s, size_t i, size_t *n) {
    size_t j = i - 1;
    while (j > 0 && ((unsigned char)s->data[j] & 0xC0) == 0x80) j--;
    return space_at(s, j, n);
}

static int push_sub(EddyVM *vm, ListObject *l, StrObject *s, size_t a, size_t b) {
    StrObject *p = sub_bytes(vm, s, a, b);
    if (!p) return -1;
    return list_append(vm, l, v_obj(p));
}

static int split_args(EddyVM *vm, const char *name, Value *args, int nargs, TupleObject *kw,
                      StrObject **sep, int64_t *maxsplit) {
    static const char *const names[] = {"sep", "maxsplit"};
    Value a[2] = {VAL_NULL, VAL_NULL};
    if (args_parse(vm, name, args + 1, nargs - 1, kw, names, 2, 2, 0, a) < 0) return -1;
    *sep = NULL;
    *maxsplit = -1;
    if (!IS_NULL(a[0]) && !IS_NONE(a[0])) {
        if (!is_str(vm, a[0])) {
            vm_raise(vm, vm->exc_TypeError, "must be str or None, not %s", vm_type_name(vm, a[0]));
            return -1;
        }
        *sep = AS_STR(a[0]);
        if ((*sep)->len == 0) {
            vm_raise(vm, vm->exc_ValueError, "empty separator");
            return -1;
        }
    }
    if (!IS_NULL(a[1]) && vm_index_i64(vm, a[1], maxsplit) < 0) return -1;
    if (*maxsplit < 0) *maxsplit = INT64_MAX;
    return 0;
}

static Value str_split(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    StrObject *s = SELF, *sep;
    int64_t maxsplit;
    if (split_args(vm, "split", args, nargs, kw, &sep, &maxsplit) < 0) return VAL_NULL;
    ListObject *l = list_new(vm, 0);
    if (!l) return VAL_NULL;
    size_t i = 0, len = s->len, n;
    if (!sep) {
        for (;;) {
            if (s->ascii) {
                while (i < len && ascii_space((unsigned char)s->data[i])) i++;
            } else {
                while (i < len && space_at(s, i, &n)) i += n;
            }
            if (i >= len) break;
            if (maxsplit-- == 0) {
                // The rest, trailing whitespace included, is the last item.
                if (push_sub(vm, l, s, i, len) < 0) return VAL_NULL;
                break;
            }
            size_t j = i;
            if (s->ascii) {
                while (j < len && !ascii_space((unsigned char)s->data[j])) j++;
            } else {
                while (j < len && !space_at(s, j, &n)) j += n;
            }
            if (push_sub(vm, l, s, i, j) < 0) return VAL_NULL;
            i = j;
        }
        return v_obj(l);
    }
    size_t at;
    while (maxsplit > 0 && find_bytes(s, sep, i, len, &at)) {
        if (push_sub(vm, l, s, i, at) < 0) return VAL_NULL;
        i = at + sep->len;
        maxsplit--;
    }
    if (push_sub(vm, l, s, i, len) < 0) return VAL_NULL;
    return v_obj(l);
}

static int list_reverse_in_place(ListObject *l) {
    for (size_t i = 0, j = l->len; i + 1 < j; i++, j--) {
        Value t = l->items[i];
        l->items[i] = l->items[j - 1];
        l->items[j - 1] = t;
    }
    return 0;
}

static Value str_rsplit(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    StrObject *s = SELF, *sep;
    int64_t maxsplit;
    if (split_args(vm, "rsplit", args, nargs, kw, &sep, &maxsplit) < 0) return VAL_NULL;
    ListObject *l = list_new(vm, 0);
    if (!l) return VAL_NULL;
    size_t e = s->len, n;
    if (!sep) {
        for (;;) {
            while (e > 0 && space_before(s, e, &n)) e -= n;
            if (e == 0) break;
            if (maxsplit-- == 0) {
                if (push_sub(vm, l, s, 0, e) < 0) return VAL_NULL;
                break;
            }
            size_t j = e;
            while (j > 0 && !space_before(s, j, &n)) j -= n;
            if (push_sub(vm, l, s, j, e) < 0) return VAL_NULL;
            e = j;
        }
    } else {
        size_t at;
        while (maxsplit > 0 && rfind_bytes(s, sep, 0, e, &at)) {
            if (push_sub(vm, l, s, at + sep->len, e) < 0) return VAL_NULL;
            e = at;
            maxsplit--;
        }
        if (push_sub(vm, l, s, 0, e) < 0) return VAL_NULL;
    }
    list_reverse_in_place(l);
    return v_obj(l);
}

static Value str_splitlines(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"keepends"};
    Value a[1] = {VAL_NULL};
    if (args_parse(vm, "splitlines", args + 1, nargs - 1, kw, names, 1, 1, 0, a) < 0)
        return VAL_NULL;
    int keep = 0;
    if (!IS_NULL(a[0]) && (keep = vm_truthy(vm, a[0])) < 0) return VAL_NULL;
    StrObject *s = SELF;
    ListObject *l = list_new(vm, 0);
    if (!l) return VAL_NULL;
    size_t i = 0, start = 0;
    while (i < s->len) {
        uint32_t cp;
        size_t n = utf8_decode(s->data + i, &cp);
        bool brk = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C ||
                   (cp >= 0x1C && cp <= 0x1E) || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
        if (!brk) {
            i += n;
            continue;
        }
        size_t eol = i;
        i += n;
        if (cp == '\r' && i < s->len && s->data[i] == '\n') i++;
        if (push_sub(vm, l, s, start, keep ? i : eol) < 0) return VAL_NULL;
        start = i;
    }
    if (start < s->len && push_sub(vm, l, s, start, s->len) < 0) return VAL_NULL;
    return v_obj(l);
}

static bool cp_in(StrObject *chars, uint32_t cp) {
    if (chars->ascii) return cp < 0x80 && memchr(chars->data, (int)cp, chars->len) != NULL;
    for (size_t i = 0; i < chars->len;) {
        uint32_t c;
        i += utf8_decode(chars->data + i, &c);
        if (c == cp) return true;
    }
    return false;
}

// mode: 1 left, 2 right, 3 both
static Value strip_common(EddyVM *vm, Value *args, int nargs, TupleObject *kw, const char *name,
                          int mode) {
    if (!check_args(vm, name, nargs, kw, 0, 1)) return VAL_NULL;
    StrObject *s = SELF, *chars = NULL;
    if (nargs > 1 && !IS_NONE(args[1])) {
        if (!is_str(vm, args[1]))
            return vm_raise(vm, vm->exc_TypeError, "%s arg must be None or str", name);
        chars = AS_STR(args[1]);
    }
    size_t a = 0, b = s->len;
    if (mode & 1) {
        while (a < b) {
            uint32_t cp;
            size_t n = utf8_decode(s->data + a, &cp);
            if (chars ? !cp_in(chars, cp) : !unicode_isspace(cp)) break;
            a += n;
        }
    }
    if (mode & 2) {
        while (b > a) {
            size_t j = b - 1;
            while (j > a && ((unsigned char)s->data[j] & 0xC0) == 0x80) j--;
            uint32_t cp;
            utf8_decode(s->data + j, &cp);
            if (chars ? !cp_in(chars, cp) : !unicode_isspace(cp)) break;
            b = j;
        }
    }
    RET_STR(sub_bytes(vm, s, a, b));
}

static Value str_strip(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return strip_common(vm, args, nargs, kw, "strip", 3);
}
static Value str_lstrip(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return strip_common(vm, args, nargs, kw, "lstrip", 1);
}
static Value str_rstrip(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return strip_common(vm, args, nargs, kw, "rstrip", 2);
}

// sep.join(items) for an array of values that must all be str.
static Value join_array(EddyVM *vm, StrObject *sep, const Value *items, size_t n) {
    if (n == 0) return v_obj(empty_str(vm));
    size_t len = sep->len * (n - 1), ncp = sep->ncp * (n - 1);
    for (size_t i = 0; i < n; i++) {
        if (!is_str(vm, items[i]))
            return vm_raise(vm, vm->exc_TypeError,
                            "sequence item %zu: expected str instance, %s found", i,
                            vm_type_name(vm, items[i]));
        len += AS_STR(items[i])->len;
        ncp += AS_STR(items[i])->ncp;
    }
    if (n == 1 && is_exact(items[0], vm->t_str)) return items[0];
    if (len <= 1)
        return v_obj(str_new(vm, len ? (sep->len ? sep->data : AS_STR(items[0])->data) : "", len));
    StrObject *r = str_alloc(vm, len, ncp);
    if (!r) return VAL_NULL;
    char *out = r->data;
    for (size_t i = 0; i < n; i++) {
        if (i && sep->len) {
            memcpy(out, sep->data, sep->len);
            out += sep->len;
        }
        StrObject *x = AS_STR(items[i]);
        memcpy(out, x->data, x->len);
        out += x->len;
    }
    return v_obj(r);
}

static Value str_join(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "join", nargs, kw, 1, 1)) return VAL_NULL;
    Value it = args[1];
    if (is_exact(it, vm->t_list)) return join_array(vm, SELF, AS_LIST(it)->items, AS_LIST(it)->len);
    if (is_exact(it, vm->t_tuple))
        return join_array(vm, SELF, AS_TUPLE(it)->items, AS_TUPLE(it)->len);
    // Objects with neither __iter__ nor __getitem__ get CPython's message.
    TypeObject *t = vm_type_of(vm, it);
    if (!t->iter && !t->getitem && IS_NULL(type_lookup(vm, t, vm->names.__iter__)) &&
        IS_NULL(type_lookup(vm, t, vm->names.__getitem__)))
        return vm_raise(vm, vm->exc_TypeError, "can only join an iterable");
    Value l = vm_sequence_to_list(vm, it);
    if (IS_NULL(l)) return VAL_NULL;
    return join_array(vm, SELF, AS_LIST(l)->items, AS_LIST(l)->len);
}

static Value partition_common(EddyVM *vm, Value *args, int nargs, TupleObject *kw, bool rev) {
    const char *name = rev ? "rpartition" : "partition";
    if (!check_args(vm, name, nargs, kw, 1, 1)) return VAL_NULL;
    StrObject *s = SELF, *sep = arg_str(vm, args[1]);
    if (!sep) return VAL_NULL;
    if (sep->len == 0) return vm_raise(vm, vm->exc_ValueError, "empty separator");
    size_t at;
    TupleObject *t = tuple_new(vm, 3);
    if (!t) return VAL_NULL;
    StrObject *e = empty_str(vm);
    int found = rev ? rfind_bytes(s, sep, 0, s->len, &at) : find_bytes(s, sep, 0, s->len, &at);
    if (!found) {
        StrObject *whole = sub_bytes(vm, s, 0, s->len);
        if (!whole) return VAL_NULL;
        t->items[rev ? 2 : 0] = v_obj(whole);
        t->items[1] = v_obj(e);
        t->items[rev ? 0 : 2] = v_obj(e);
        return v_obj(t);
    }
    StrObject *a = sub_bytes(vm, s, 0, at), *b = sub_bytes(vm, s, at + sep->len, s->len);
    if (!a || !b) return VAL_NULL;
    t->items[0] = v_obj(a);
    t->items[1] = v_obj(sep);
    t->items[2] = v_obj(b);
    return v_obj(t);
}

static Value str_partition(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return partition_common(vm, args, nargs, kw, false);
}
static Value str_rpartition(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return partition_common(vm, args, nargs, kw, true);
}

// ---------------------------------------------------------------------------
// Case mapping

static bool cp_istitle(uint32_t cp) {
    return cp == 0x1C5 || cp == 0x1C8 || cp == 0x1CB || cp == 0x1F2 ||
           (cp >= 0x1F88 && cp <= 0x1FAF && (cp & 0xF) >= 8) || cp == 0x1FBC || cp == 0x1FCC ||
           cp == 0x1FFC;
}

static bool cp_iscased(uint32_t cp) { return cp_isupper(cp) || cp_islower(cp) || cp_istitle(cp); }

// Case-ignorable characters are skipped by the final-sigma rule (a common
// subset: apostrophes, periods, colons and combining marks).
static bool cp_case_ignorable(uint32_t cp) {
    return cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`' || cp == 0xB7 ||
           cp == 0x2019 || (cp >= 0x300 && cp <= 0x36F);
}

// CPython's Final_Sigma: the Σ at byte offset `at` (2 bytes) follows a cased
// letter and is not followed by one, skipping case-ignorable characters.
static bool final_sigma(const StrObject *s, size_t at) {
    bool before = false;
    for (size_t j = at; j > 0;) {
        j--;
        while (j > 0 && ((unsigned char)s->data[j] & 0xC0) == 0x80) j--;
        uint32_t cp;
        utf8_decode(s->data + j, &cp);
        if (cp_case_ignorable(cp)) continue;
        before = cp_iscased(cp);
        break;
    }
    if (!before) return false;
    for (size_t j = at + 2; j < s->len;) {
        uint32_t cp;
        j += utf8_decode(s->data + j, &cp);
        if (cp_case_ignorable(cp)) continue;
        return !cp_iscased(cp);
    }
    return true;
}

enum { CASE_UPPER, CASE_LOWER, CASE_SWAP, CASE_CAPITALIZE, CASE_TITLE, CASE_FOLD };

static Value case_common(EddyVM *vm, Value *args, int nargs, TupleObject *kw, const char *name,
                         int how) {
    if (!check_args(vm, name, nargs, kw, 0, 0)) return VAL_NULL;
    StrObject *s = SELF;
    if (s->ascii) {
        StrObject *r = str_alloc(vm, s->len, s->len);
        if (!r) return VAL_NULL;
        bool prev_cased = false;
        for (size_t i = 0; i < s->len; i++) {
            unsigned char c = (unsigned char)s->data[i];
            bool up = c >= 'A' && c <= 'Z', low = c >= 'a' && c <= 'z';
            switch (how) {
            case CASE_UPPER:
                if (low) c -= 32;
                break;
            case CASE_LOWER:
            case CASE_FOLD:
                if (up) c += 32;
                break;
            case CASE_SWAP: c = up ? c + 32 : low ? c - 32 : c; break;
            case CASE_CAPITALIZE:
                if (i == 0 && low)
                    c -= 32;
                else if (i > 0 && up)
                    c += 32;
                break;
            case CASE_TITLE:
                if (prev_cased && up)
                    c += 32;
                else if (!prev_cased && low)
                    c -= 32;
                prev_cased = up || low;
                break;
            }
            r->data[i] = (char)c;
        }
        if (s->len == 1) return v_obj(char_str(vm, (unsigned char)r->data[0]));
        return v_obj(r);
    }
    StrBuf b;
    strbuf_init(vm, &b);
    bool prev_cased = false;
    size_t idx = 0;
    for (size_t i = 0; i < s->len; idx++) {
        uint32_t cp, out;
        i += utf8_decode(s->data + i, &cp);
        bool up = cp_isupper(cp), low = cp_islower(cp);
        bool want_upper;
        switch (how) {
        case CASE_UPPER: want_upper = true; break;
        case CASE_LOWER:
        case CASE_FOLD: want_upper = false; break;
        case CASE_SWAP: want_upper = low; break;
        case CASE_CAPITALIZE: want_upper = idx == 0; break;
        default: want_upper = !prev_cased; break;
        }
        prev_cased = up || low || cp_istitle(cp);
        if (cp == 0x3A3 && !want_upper && final_sigma(s, i - 2)) {
            strbuf_append(&b, "\xcf\x82", 2); // Σ at the end of a word lowers to ς
            continue;
        }
        if (how == CASE_SWAP && !up && !low) {
            out = cp;
        } else if (want_upper) {
            if (cp == 0xDF) {
                strbuf_append(&b, how == CASE_TITLE || how == CASE_CAPITALIZE ? "Ss" : "SS", 2);
                continue;
            }
            const char *special =
                (how == CASE_UPPER || how == CASE_SWAP) ? unicode_special_upper(cp) : NULL;
            if (special) {
                strbuf_append_cstr(&b, special);
                continue;
            }
            out = cp_upper(cp);
            // Titlecase of the DŽ / LJ / NJ / DZ digraphs is their middle form.
            if ((how == CASE_TITLE || how == CASE_CAPITALIZE) &&
                ((cp >= 0x1C4 && cp <= 0x1CC) || (cp >= 0x1F1 && cp <= 0x1F3)))
                out = cp >= 0x1F1 ? 0x1F2 : 0x1C5 + (cp - 0x1C4) / 3 * 3;
        } else {
            if (cp == 0xDF && how == CASE_FOLD) {
                strbuf_append(&b, "ss", 2);
                continue;
            }
            if (cp == 0x130) { // İ -> i + COMBINING DOT ABOVE
                strbuf_append(&b, "i\xcc\x87", 3);
                continue;
            }
            out = cp_lower(cp);
        }
        strbuf_append_codepoint(&b, out);
    }
    RET_STR(strbuf_finish(&b));
}

static Value str_upper(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return case_common(vm, a, n, k, "upper", CASE_UPPER);
}
static Value str_lower(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return case_common(vm, a, n, k, "lower", CASE_LOWER);
}
static Value str_swapcase(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return case_common(vm, a, n, k, "swapcase", CASE_SWAP);
}
static Value str_capitalize(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return case_common(vm, a, n, k, "capitalize", CASE_CAPITALIZE);
}
static Value str_title(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return case_common(vm, a, n, k, "title", CASE_TITLE);
}
static Value str_casefold(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return case_common(vm, a, n, k, "casefold", CASE_FOLD);
}

// ---------------------------------------------------------------------------
// Predicates

enum { IS_DIGIT, IS_DECIMAL, IS_NUMERIC, IS_ALPHA, IS_ALNUM, IS_SPACE, IS_PRINTABLE, IS_ASCII };

static Value pred_common(EddyVM *vm, Value *args, int nargs, TupleObject *kw, const char *name,
                         int what) {
    if (!check_args(vm, name, nargs, kw, 0, 0)) return VAL_NULL;
    StrObject *s = SELF;
    if (what == IS_ASCII) return v_bool(s->ascii);
    if (s->len == 0) return v_bool(what == IS_PRINTABLE);
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        i += utf8_decode(s->data + i, &cp);
        bool ok;
        switch (what) {
        case IS_DIGIT: ok = cp_isdigit(cp); break;
        case IS_DECIMAL: ok = unicode_decimal(cp) >= 0; break;
        case IS_NUMERIC: ok = cp_isnumeric(cp); break;
        case IS_ALPHA: ok = cp_isalpha(cp); break;
        case IS_ALNUM: ok = cp_isalnum(cp); break;
        case IS_SPACE: ok = unicode_isspace(cp); break;
        default: ok = cp_isprintable(cp); break;
        }
        if (!ok) return VAL_FALSE;
    }
    return VAL_TRUE;
}

static Value str_isdigit(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return pred_common(vm, a, n, k, "isdigit", IS_DIGIT);
}
static Value str_isdecimal(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return pred_common(vm, a, n, k, "isdecimal", IS_DECIMAL);
}
static Value str_isnumeric(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return pred_common(vm, a, n, k, "isnumeric", IS_NUMERIC);
}
static Value str_isalpha(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return pred_common(vm, a, n, k, "isalpha", IS_ALPHA);
}
static Value str_isalnum(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return pred_common(vm, a, n, k, "isalnum", IS_ALNUM);
}
static Value str_isspace(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return pred_common(vm, a, n, k, "isspace", IS_SPACE);
}
static Value str_isprintable(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return pred_common(vm, a, n, k, "isprintable", IS_PRINTABLE);
}
static Value str_isascii(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return pred_common(vm, a, n, k, "isascii", IS_ASCII);
}

// isupper / islower: at least one cased character and none of the other case.
static Value case_pred(EddyVM *vm, Value *args, int nargs, TupleObject *kw, const char *name,
                       bool upper) {
    if (!check_args(vm, name, nargs, kw, 0, 0)) return VAL_NULL;
    StrObject *s = SELF;
    bool cased = false;
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        i += utf8_decode(s->data + i, &cp);
        bool up = cp_isupper(cp), low = cp_islower(cp);
        if ((upper ? low : up) || cp_istitle(cp)) return VAL_FALSE;
        if (upper ? up : low) cased = true;
    }
    return v_bool(cased);
}

static Value str_isupper(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return case_pred(vm, a, n, k, "isupper", true);
}
static Value str_islower(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return case_pred(vm, a, n, k, "islower", false);
}

static Value str_istitle(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "istitle", nargs, kw, 0, 0)) return VAL_NULL;
    StrObject *s = SELF;
    bool cased = false, prev_cased = false;
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        i += utf8_decode(s->data + i, &cp);
        bool up = cp_isupper(cp) || cp_istitle(cp), low = cp_islower(cp);
        if (up) {
            if (prev_cased) return VAL_FALSE;
            prev_cased = cased = true;
        } else if (low) {
            if (!prev_cased) return VAL_FALSE;
            prev_cased = cased = true;
        } else {
            prev_cased = false;
        }
    }
    return v_bool(cased);
}

static Value str_isidentifier(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "isidentifier", nargs, kw, 0, 0)) return VAL_NULL;
    StrObject *s = SELF;
    if (s->len == 0) return VAL_FALSE;
    size_t idx = 0;
    for (size_t i = 0; i < s->len; idx++) {
        uint32_t cp;
        i += utf8_decode(s->data + i, &cp);
        bool ok = cp == '_' || cp_isalpha(cp);
        if (!ok && idx > 0) ok = unicode_decimal(cp) >= 0 || cp_isdigit(cp) || cp == 0xB7;
        if (!ok) return VAL_FALSE;
    }
    return VAL_TRUE;
}

// ---------------------------------------------------------------------------
// Padding

static int fill_arg(EddyVM *vm, Value v, const char *name, uint32_t *fill) {
    if (!is_str(vm, v)) {
        vm_raise(vm, vm->exc_TypeError, "%s() argument 2 must be str, not %s", name,
                 vm_type_name(vm, v));
        return -1;
    }
    if (AS_STR(v)->ncp != 1) {
        vm_raise(vm, vm->exc_TypeError, "The fill character must be exactly one character long");
        return -1;
    }
    utf8_decode(AS_STR(v)->data, fill);
    return 0;
}

// Pad s to width with `left` fill code points before and the rest after.
static Value pad(EddyVM *vm, StrObject *s, size_t left, size_t right, uint32_t fill) {
    if (left == 0 && right == 0) RET_STR(sub_bytes(vm, s, 0, s->len));
    char f[4];
    size_t fl = utf8_encode(fill, f);
    StrObject *r = str_alloc(vm, s->len + (left + right) * fl, s->ncp + left + right);
    if (!r) return VAL_NULL;
    char *out = r->data;
    for (size_t i = 0; i < left; i++, out += fl) memcpy(out, f, fl);
    memcpy(out, s->data, s->len);
    out += s->len;
    for (size_t i = 0; i < right; i++, out += fl) memcpy(out, f, fl);
    return v_obj(r);
}

// how: 0 ljust, 1 rjust, 2 center
static Value just_common(EddyVM *vm, Value *args, int nargs, TupleObject *kw, const char *name,
                         int how) {
    if (!check_args(vm, name, nargs, kw, 1, 2)) return VAL_NULL;
    int64_t width;
    if (vm_index_i64(vm, args[1], &width) < 0) return VAL_NULL;
    uint32_t fill = ' ';
    if (nargs > 2 && fill_arg(vm, args[2], name, &fill) < 0) return VAL_NULL;
    StrObject *s = SELF;
    if (width <= (int64_t)s->ncp) RET_STR(sub_bytes(vm, s, 0, s->len));
    size_t total = (size_t)width - s->ncp, left;
    if (how == 0)
        left = 0;
    else if (how == 1)
        left = total;
    else
        left = total / 2 + (total & (size_t)width & 1); // CPython's centring rule
    return pad(vm, s, left, total - left, fill);
}

static Value str_ljust(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return just_common(vm, a, n, k, "ljust", 0);
}
static Value str_rjust(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return just_common(vm, a, n, k, "rjust", 1);
}
static Value str_center(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return just_common(vm, a, n, k, "center", 2);
}

static Value str_zfill(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "zfill", nargs, kw, 1, 1)) return VAL_NULL;
    int64_t width;
    if (vm_index_i64(vm, args[1], &width) < 0) return VAL_NULL;
    StrObject *s = SELF;
    if (width <= (int64_t)s->ncp) RET_STR(sub_bytes(vm, s, 0, s->len));
    Value r = pad(vm, s, (size_t)width - s->ncp, 0, '0');
    if (IS_NULL(r)) return r;
    StrObject *z = AS_STR(r);
    size_t fillc = (size_t)width - s->ncp;
    if (s->len && (s->data[0] == '+' || s->data[0] == '-')) {
        // Move the sign in front of the zeros.
        z->data[0] = s->data[0];
        z->data[fillc] = '0';
    }
    return r;
}

static Value str_expandtabs(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"tabsize"};
    Value a[1] = {VAL_NULL};
    if (args_parse(vm, "expandtabs", args + 1, nargs - 1, kw, names, 1, 1, 0, a) < 0)
        return VAL_NULL;
    int64_t tab = 8;
    if (!IS_NULL(a[0]) && vm_index_i64(vm, a[0], &tab) < 0) return VAL_NULL;
    if (tab > INT32_MAX || tab < INT32_MIN) // CPython's tabsize is a C int
        return vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C int");
    StrObject *s = SELF;
    if (!memchr(s->data, '\t', s->len)) RET_STR(sub_bytes(vm, s, 0, s->len));
    StrBuf b;
    strbuf_init(vm, &b);
    int64_t col = 0;
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        size_t n = utf8_decode(s->data + i, &cp);
        if (cp == '\t') {
            if (tab > 0) {
                int64_t spaces = tab - col % tab;
                if (spaces > 0x7FFFFF00 - (int64_t)b.len) {
                    strbuf_discard(&b);
                    return vm_raise(vm, vm->exc_OverflowError, "new string is too long");
                }
                for (int64_t k = 0; k < spaces; k++) strbuf_append_char(&b, ' ');
                col += spaces;
            }
        } else {
            strbuf_append(&b, s->data + i, n);
            col = (cp == '\n' || cp == '\r') ? 0 : col + 1;
        }
        i += n;
        if (b.failed) break;
    }
    RET_STR(strbuf_finish(&b));
}

// ---------------------------------------------------------------------------
// Encoding, formatting, translation

Value str_encode_value(EddyVM *vm, StrObject *s, Value encoding, Value errors) {
    const char *enc = "utf-8";
    if (!IS_NULL(encoding)) {
        if (!is_str(vm, encoding))
            return vm_raise(vm, vm->exc_TypeError,
                            "encode() argument 'encoding' must be str, not %s",
                            vm_type_name(vm, encoding));
        enc = AS_STR(encoding)->data;
    }
    int mode;
    if (errors_mode(vm, errors, &mode) < 0) return VAL_NULL;
    int kind = encoding_kind(enc);
    if (kind < 0) return vm_raise(vm, vm->exc_LookupError, "unknown encoding: %s", enc);
    return encode_str(vm, s, enc, kind, mode);
}

static Value str_encode(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"encoding", "errors"};
    Value a[2] = {VAL_NULL, VAL_NULL};
    if (args_parse(vm, "encode", args + 1, nargs - 1, kw, names, 2, 2, 0, a) < 0) return VAL_NULL;
    return str_encode_value(vm, SELF, a[0], a[1]);
}

static Value str_format_meth(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return str_format_method(vm, SELF, args + 1, nargs - 1, kw);
}

static Value str_format_map_meth(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "format_map", nargs, kw, 1, 1)) return VAL_NULL;
    return str_format_map(vm, SELF, args[1]);
}

static Value str_dunder_format(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "__format__", nargs, kw, 1, 1)) return VAL_NULL;
    if (!is_str(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "__format__() argument must be str, not %s",
                        vm_type_name(vm, args[1]));
    return format_str(vm, SELF, AS_STR(args[1]));
}

static Value str_maketrans(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "maketrans", nargs + 1, kw, 1, 3)) return VAL_NULL;
    DictObject *d = dict_new(vm);
    if (!d) return VAL_NULL;
    Value dv = v_obj(d);
    if (vm_push_root(vm, dv) < 0) return VAL_NULL;
    Value result = VAL_NULL;
    if (nargs == 1) {
        if (!is_exact(args[0], vm->t_dict) &&
            !(IS_OBJ(args[0]) && (OBJ_TYPE(AS_OBJ(args[0]))->flags & TPF_DICT_SUBCLASS))) {
            vm_raise(vm, vm->exc_TypeError,
                     "if you give only one argument to maketrans it must be a dict");
            goto done;
        }
        size_t pos = 0;
        Value k, v;
        while (dict_next(AS_DICT(args[0]), &pos, &k, &v)) {
            if (is_str(vm, k)) {
                if (AS_STR(k)->ncp != 1) {
                    vm_raise(vm, vm->exc_ValueError,
                             "string keys in translate table must be of length 1");
                    goto done;
                }
                uint32_t cp;
                utf8_decode(AS_STR(k)->data, &cp);
                k = v_int(cp);
            } else if (!IS_INT(k)) {
                vm_raise(vm, vm->exc_TypeError,
                         "keys in translate table must be strings or integers");
                goto done;
            }
            if (dict_set(vm, d, k, v) < 0) goto done;
        }
    } else {
        if (!is_str(vm, args[0]) || !is_str(vm, args[1])) {
            vm_raise(vm, vm->exc_TypeError, "maketrans() argument %d must be str, not %s",
                     is_str(vm, args[0]) ? 2 : 1,
                     vm_type_name(vm, is_str(vm, args[0]) ? args[1] : args[0]));
            goto done;
        }
        StrObject *x = AS_STR(args[0]), *y = AS_STR(args[1]);
        if (x->ncp != y->ncp) {
            vm_raise(vm, vm->exc_ValueError,
                     "the first two maketrans arguments must have equal length");
            goto done;
        }
        for (size_t i = 0, j = 0; i < x->len;) {
            uint32_t a, b;
            i += utf8_decode(x->data + i, &a);
            j += utf8_decode(y->data + j, &b);
            if (dict_set(vm, d, v_int(a), v_int(b)) < 0) goto done;
        }
        if (nargs == 3) {
            if (!is_str(vm, args[2])) {
                vm_raise(vm, vm->exc_TypeError, "maketrans() argument 3 must be str, not %s",
                         vm_type_name(vm, args[2]));
                goto done;
            }
            StrObject *z = AS_STR(args[2]);
            for (size_t i = 0; i < z->len;) {
                uint32_t c;
                i += utf8_decode(z->data + i, &c);
                if (dict_set(vm, d, v_int(c), VAL_NONE) < 0) goto done;
            }
        }
    }
    result = dv;
done:
    vm_pop_roots(vm, 1);
    return result;
}

static Value str_translate(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!check_args(vm, "translate", nargs, kw, 1, 1)) return VAL_NULL;
    StrObject *s = SELF;
    Value table = args[1];
    StrBuf b;
    strbuf_init(vm, &b);
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        size_t n = utf8_decode(s->data + i, &cp);
        Value m = vm_getitem(vm, table, v_int(cp));
        if (IS_NULL(m)) {
            if (!vm_err_matches(vm, vm->exc_LookupError)) goto fail;
            vm_err_clear(vm);
            strbuf_append(&b, s->data + i, n);
        } else if (IS_NONE(m)) {
            // deleted
        } else if (IS_INT(m)) {
            if (AS_INT(m) < 0 || AS_INT(m) > 0x10FFFF) {
                vm_raise(vm, vm->exc_ValueError, "character mapping must be in range(0x110000)");
                goto fail;
            }
            strbuf_append_codepoint(&b, (uint32_t)AS_INT(m));
        } else if (is_str(vm, m)) {
            strbuf_append_str(&b, AS_STR(m));
        } else {
            vm_raise(vm, vm->exc_TypeError, "character mapping must return integer, None or str");
            goto fail;
        }
        i += n;
    }
    RET_STR(strbuf_finish(&b));
fail:
    strbuf_discard(&b);
    return VAL_NULL;
}

// ---------------------------------------------------------------------------
// Operators

static Value str_add(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    if (!is_str(vm, args[1])) {
        // Let a right operand's __radd__ have its turn.
        TypeObject *ot = vm_type_of(vm, args[1]);
        if ((ot->flags & TPF_HEAPTYPE) && !IS_NULL(type_lookup(vm, ot, vm->names.__radd__)))
            return vm->not_implemented;
        return vm_raise(vm, vm->exc_TypeError, "can only concatenate str (not \"%s\") to str",
                        vm_type_name(vm, args[1]));
    }
    RET_STR(str_concat(vm, SELF, AS_STR(args[1])));
}

static Value str_repeat(EddyVM *vm, StrObject *s, Value count, bool reflected) {
    int64_t n;
    if (IS_INT(count))
        n = AS_INT(count);
    else if (IS_BOOL(count))
        n = AS_BOOL(count);
    else if (is_int(vm, count) ||
             !IS_NULL(type_lookup(vm, vm_type_of(vm, count), vm->names.__index__))) {
        if (is_bigint(count)) {
            if (int_sign(count) < 0)
                n = 0;
            else
                return vm_raise(vm, vm->exc_OverflowError,
                                "cannot fit 'int' into an index-sized integer");
        } else if (vm_index_i64(vm, count, &n) < 0) {
            return VAL_NULL;
        }
    } else {
        // A script class may still implement the reflected operation.
        TypeObject *ct = vm_type_of(vm, count);
        if (!reflected && (ct->flags & TPF_HEAPTYPE) &&
            !IS_NULL(type_lookup(vm, ct, vm->names.__rmul__)))
            return vm->not_implemented;
        return vm_raise(vm, vm->exc_TypeError, "can't multiply sequence by non-int of type '%s'",
                        ct->name->data);
    }
    if (n <= 0 || s->len == 0) return v_obj(empty_str(vm));
    if (n == 1 && OBJ_TYPE(s) == vm->t_str) return v_obj(s);
    if ((uint64_t)n > (uint64_t)INT64_MAX / s->len)
        return vm_raise(vm, vm->exc_OverflowError, "repeated string is too long");
    size_t len = s->len * (size_t)n;
    StrObject *r = str_alloc(vm, len, s->ncp * (size_t)n);
    if (!r) return VAL_NULL;
    if (s->len == 1) {
        memset(r->data, s->data[0], len);
    } else {
        memcpy(r->data, s->data, s->len);
        size_t done = s->len;
        while (done < len) {
            size_t k = done <= len - done ? done : len - done;
            memcpy(r->data + done, r->data, k);
            done += k;
        }
    }
    return v_obj(r);
}

static Value str_mul(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    return str_repeat(vm, SELF, args[1], false);
}

static Value str_rmul(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    return str_repeat(vm, SELF, args[1], true);
}

static Value str_mod_meth(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    return str_mod(vm, args[0], args[1]);
}

static Value str_rmod_meth(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return vm->not_implemented;
}

// Dunder methods mirroring the slots, so `str.__len__(s)` and super() calls
// from subclasses work.
static Value str_dunder_len(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return v_int((int64_t)SELF->ncp);
}
static Value str_dunder_getitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    return str_getitem(vm, args[0], args[1]);
}
static Value str_dunder_contains(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    int r = str_contains(vm, args[0], args[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}
static Value str_dunder_hash(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return v_int(str_hash(SELF));
}
static Value str_dunder_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return str_repr(vm, SELF);
}
static Value str_dunder_str(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return str_str_slot(vm, args[0]);
}
static Value str_dunder_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return str_iter(vm, args[0]);
}
static Value str_getnewargs(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    StrObject *s = SELF;
    StrObject *c = str_new_ncp(vm, s->data, s->len, s->ncp);
    if (!c) return VAL_NULL;
    Value v = v_obj(c);
    TupleObject *t = tuple_from(vm, &v, 1);
    return t ? v_obj(t) : VAL_NULL;
}

#define CMP_METHOD(fname, op)                                                                      \
    static Value fname(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {                      \
        if (nargs != 2)                                                                            \
            return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);      \
        return str_richcompare(vm, args[0], args[1], op);                                          \
    }
CMP_METHOD(str_dunder_eq, CMP_EQ)
CMP_METHOD(str_dunder_ne, CMP_NE)
CMP_METHOD(str_dunder_lt, CMP_LT)
CMP_METHOD(str_dunder_le, CMP_LE)
CMP_METHOD(str_dunder_gt, CMP_GT)
CMP_METHOD(str_dunder_ge, CMP_GE)

// ---------------------------------------------------------------------------
// Type set-up

typedef struct MethodDef {
    const char *name;
    NativeFn fn;
    uint32_t flags;
} MethodDef;

static const MethodDef STR_METHODS[] = {
    {"join", str_join, NATIVE_METHOD},
    {"split", str_split, NATIVE_METHOD},
    {"rsplit", str_rsplit, NATIVE_METHOD},
    {"splitlines", str_splitlines, NATIVE_METHOD},
    {"strip", str_strip, NATIVE_METHOD},
    {"lstrip", str_lstrip, NATIVE_METHOD},
    {"rstrip", str_rstrip, NATIVE_METHOD},
    {"startswith", str_startswith, NATIVE_METHOD},
    {"endswith", str_endswith, NATIVE_METHOD},
    {"find", str_find, NATIVE_METHOD},
    {"rfind", str_rfind, NATIVE_METHOD},
    {"index", str_index, NATIVE_METHOD},
    {"rindex", str_rindex, NATIVE_METHOD},
    {"count", str_count, NATIVE_METHOD},
    {"replace", str_replace, NATIVE_METHOD},
    {"upper", str_upper, NATIVE_METHOD},
    {"lower", str_lower, NATIVE_METHOD},
    {"capitalize", str_capitalize, NATIVE_METHOD},
    {"title", str_title, NATIVE_METHOD},
    {"swapcase", str_swapcase, NATIVE_METHOD},
    {"casefold", str_casefold, NATIVE_METHOD},
    {"center", str_center, NATIVE_METHOD},
    {"ljust", str_ljust, NATIVE_METHOD},
    {"rjust", str_rjust, NATIVE_METHOD},
    {"zfill", str_zfill, NATIVE_METHOD},
    {"expandtabs", str_expandtabs, NATIVE_METHOD},
    {"partition", str_partition, NATIVE_METHOD},
    {"rpartition", str_rpartition, NATIVE_METHOD},
    {"isdigit", str_isdigit, NATIVE_METHOD},
    {"isdecimal", str_isdecimal, NATIVE_METHOD},
    {"isnumeric", str_isnumeric, NATIVE_METHOD},
    {"isalpha", str_isalpha, NATIVE_METHOD},
    {"isalnum", str_isalnum, NATIVE_METHOD},
    {"isspace", str_isspace, NATIVE_METHOD},
    {"isupper", str_isupper, NATIVE_METHOD},
    {"islower", str_islower, NATIVE_METHOD},
    {"istitle", str_istitle, NATIVE_METHOD},
    {"isidentifier", str_isidentifier, NATIVE_METHOD},
    {"isprintable", str_isprintable, NATIVE_METHOD},
    {"isascii", str_isascii, NATIVE_METHOD},
    {"encode", str_encode, NATIVE_METHOD},
    {"format", str_format_meth, NATIVE_METHOD},
    {"format_map", str_format_map_meth, NATIVE_METHOD},
    {"removeprefix", str_removeprefix, NATIVE_METHOD},
    {"removesuffix", str_removesuffix, NATIVE_METHOD},
    {"maketrans", str_maketrans, NATIVE_STATIC},
    {"translate", str_translate, NATIVE_METHOD},
    {"__add__", str_add, NATIVE_METHOD},
    {"__mul__", str_mul, NATIVE_METHOD},
    {"__rmul__", str_rmul, NATIVE_METHOD},
    {"__mod__", str_mod_meth, NATIVE_METHOD},
    {"__rmod__", str_rmod_meth, NATIVE_METHOD},
    {"__format__", str_dunder_format, NATIVE_METHOD},
    {"__len__", str_dunder_len, NATIVE_METHOD},
    {"__getitem__", str_dunder_getitem, NATIVE_METHOD},
    {"__contains__", str_dunder_contains, NATIVE_METHOD},
    {"__hash__", str_dunder_hash, NATIVE_METHOD},
    {"__repr__", str_dunder_repr, NATIVE_METHOD},
    {"__str__", str_dunder_str, NATIVE_METHOD},
    {"__iter__", str_dunder_iter, NATIVE_METHOD},
    {"__getnewargs__", str_getnewargs, NATIVE_METHOD},
    {"__eq__", str_dunder_eq, NATIVE_METHOD},
    {"__ne__", str_dunder_ne, NATIVE_METHOD},
    {"__lt__", str_dunder_lt, NATIVE_METHOD},
    {"__le__", str_dunder_le, NATIVE_METHOD},
    {"__gt__", str_dunder_gt, NATIVE_METHOD},
    {"__ge__", str_dunder_ge, NATIVE_METHOD},
};

int str_init_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_str, vm->t_object, sizeof(StrObject),
                                     TPF_BASETYPE | TPF_STR_SUBCLASS);
    if (!t) return -1;
    t->new_ = str_new_slot;
    t->repr = str_repr_slot;
    t->str = str_str_slot;
    t->hash = str_hash_slot;
    t->richcompare = str_richcompare;
    t->truthy = str_truthy;
    t->len = str_len_slot;
    t->getitem = str_getitem;
    t->contains = str_contains;
    t->iter = str_iter;
    for (size_t i = 0; i < NELEMS(STR_METHODS); i++)
        if (type_add_method(vm, t, STR_METHODS[i].name, STR_METHODS[i].fn, STR_METHODS[i].flags) <
            0)
            return -1;

    TypeObject *it =
        type_new_builtin(vm, vm->t_str_iterator, vm->t_object, sizeof(StrIterObject), 0);
    if (!it) return -1;
    it->trace = str_iter_trace;
    it->iter = iter_self;
    it->next = str_iter_next;
    if (type_add_method(vm, it, "__next__", str_iter_next_method, NATIVE_METHOD) < 0 ||
        type_add_method(vm, it, "__iter__", str_iter_iter_method, NATIVE_METHOD) < 0 ||
        type_add_method(vm, it, "__length_hint__", str_iter_length_hint, NATIVE_METHOD) < 0)
        return -1;
    // Warm the one-character cache so the hot paths never miss.
    for (int c = 0; c < 128; c++)
        if (!char_str(vm, (unsigned char)c)) return -1;
    return 0;
}

// Decoding helper shared with obj_bytes.c (bytes.decode).
StrObject *str_decode_bytes(EddyVM *vm, const uint8_t *data, size_t len, Value encoding,
                            Value errors) {
    return decode_bytes(vm, data, len, encoding, errors);
}

size_t str_to_ascii_decimal(StrObject *s, char *buf) {
    size_t n = 0;
    for (size_t off = 0; off < s->len;) {
        uint32_t cp;
        size_t k = utf8_decode(s->data + off, &cp);
        int dv = cp >= 0x80 ? unicode_decimal(cp) : -1;
        if (dv >= 0) {
            buf[n++] = (char)('0' + dv);
        } else if (cp >= 0x80 && unicode_isspace(cp)) {
            buf[n++] = ' ';
        } else {
            memcpy(buf + n, s->data + off, k);
            n += k;
        }
        off += k;
    }
    return n;
}
