// strbuf.c - StrBuf, the growable UTF-8 buffer every string builder uses.
//
// The buffer grows geometrically through mem_realloc. After the first failed
// allocation the buffer is marked `failed` (MemoryError is pending) and every
// later append is a no-op returning false, so callers may append a whole
// sequence and check once at strbuf_finish().
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vm.h"

void strbuf_init(EddyVM *vm, StrBuf *b) {
    b->vm = vm;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

// Make room for `extra` more bytes (plus the NUL strbuf_finish may add).
static bool reserve(StrBuf *b, size_t extra) {
    if (b->failed) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    if (extra > ((size_t)1 << 40)) {
        vm_raise_nomem(b->vm);
        b->failed = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = mem_realloc(b->vm, b->data, b->cap, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

bool strbuf_append(StrBuf *b, const char *s, size_t len) {
    if (!reserve(b, len)) return false;
    if (len) memcpy(b->data + b->len, s, len);
    b->len += len;
    return true;
}

bool strbuf_append_cstr(StrBuf *b, const char *s) { return strbuf_append(b, s, strlen(s)); }

bool strbuf_append_str(StrBuf *b, StrObject *s) { return strbuf_append(b, s->data, s->len); }

bool strbuf_append_char(StrBuf *b, char c) {
    if (EDDY_UNLIKELY(b->len + 2 > b->cap) && !reserve(b, 1)) return false;
    if (b->failed) return false;
    b->data[b->len++] = c;
    return true;
}

bool strbuf_append_codepoint(StrBuf *b, uint32_t cp) {
    char tmp[4];
    size_t n;
    if (cp < 0x80) {
        return strbuf_append_char(b, (char)cp);
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xC0 | (cp >> 6));
        tmp[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xE0 | (cp >> 12));
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        tmp[0] = (char)(0xF0 | (cp >> 18));
        tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return strbuf_append(b, tmp, n);
}

bool strbuf_printf(StrBuf *b, const char *fmt, ...) {
    if (b->failed) return false;
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return true; // encoding error in the C library: append nothing
    if ((size_t)n < sizeof small) return strbuf_append(b, small, (size_t)n);
    // Long output: format straight into the buffer.
    if (!reserve(b, (size_t)n)) return false;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

StrObject *strbuf_finish(StrBuf *b) {
    if (b->failed) {
        strbuf_discard(b);
        return NULL;
    }
    StrObject *s = str_new(b->vm, b->data ? b->data : "", b->len);
    strbuf_discard(b);
    return s;
}

void strbuf_discard(StrBuf *b) {
    if (b->data) mem_free(b->vm, b->data, b->cap);
    b->data = NULL;
    b->len = b->cap = 0;
}
