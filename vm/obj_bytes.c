// obj_bytes.c - bytes (immutable) and bytearray (mutable), plus the bytes
// iterator.
//
// bytes keeps its data inline after the header (NUL-terminated for C
// convenience) with a cached hash; bytearray owns a separately allocated
// buffer (freed by its finalizer). Both share most methods: a method reads
// its receiver through bdata() and builds results of the receiver's kind
// through make_like(). Objects of bytearray layout carry OBJ_BYTEARRAY in
// hdr.obj_flags so bytes_data() can tell the layouts apart without the VM.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

enum { OBJ_BYTEARRAY = 1 };

typedef struct BytesObject {
    Obj hdr;
    int64_t hash; // -1 until computed
    size_t len;
    uint8_t data[]; // len bytes + NUL
} BytesObject;

typedef struct ByteArrayObject {
    Obj hdr;
    size_t len, cap;
    uint8_t *data; // cap bytes owned (mem_alloc), NULL when cap == 0
} ByteArrayObject;

typedef struct BytesIterObject {
    Obj hdr;
    Value seq; // bytes or bytearray
    size_t pos;
} BytesIterObject;

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

// ---------------------------------------------------------------------------
// Core helpers

static bool is_bytearray_obj(Value v) {
    return IS_OBJ(v) && (AS_OBJ(v)->obj_flags & OBJ_BYTEARRAY);
}

const uint8_t *bytes_data(Value v, size_t *len) {
    if (is_bytearray_obj(v)) {
        ByteArrayObject *b = (ByteArrayObject *)AS_OBJ(v);
        *len = b->len;
        return b->data ? b->data : (const uint8_t *)"";
    }
    BytesObject *b = (BytesObject *)AS_OBJ(v);
    *len = b->len;
    return b->data;
}

bool is_bytes(EddyVM *vm, Value v) {
    if (!IS_OBJ(v)) return false;
    TypeObject *t = OBJ_TYPE(AS_OBJ(v));
    if (t == vm->t_bytes || t == vm->t_bytearray) return true;
    return type_is_subtype(t, vm->t_bytes) || type_is_subtype(t, vm->t_bytearray);
}

static BytesObject *bytes_alloc(EddyVM *vm, TypeObject *t, size_t len) {
    if (len > 0x7FFFFF00u - sizeof(BytesObject)) {
        vm_raise_nomem(vm);
        return NULL;
    }
    size_t size = sizeof(BytesObject) + len + 1;
    if (t != vm->t_bytes && t->instance_size > sizeof(BytesObject))
        size = ((size + 7) & ~(size_t)7) + (t->instance_size - sizeof(BytesObject));
    BytesObject *b = (BytesObject *)obj_alloc(vm, t, size);
    if (!b) return NULL;
    b->hash = -1;
    b->len = len;
    b->data[len] = 0;
    return b;
}

Value bytes_new(EddyVM *vm, const void *data, size_t len) {
    BytesObject *b = bytes_alloc(vm, vm->t_bytes, len);
    if (!b) return VAL_NULL;
    if (len) memcpy(b->data, data, len);
    return v_obj(b);
}

static int ba_reserve(EddyVM *vm, ByteArrayObject *b, size_t need) {
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 16;
    while (cap < need) cap *= 2;
    uint8_t *p = mem_realloc(vm, b->data, b->cap, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static Value bytearray_new_from(EddyVM *vm, TypeObject *t, const void *data, size_t len) {
    size_t size =
        t->instance_size > sizeof(ByteArrayObject) ? t->instance_size : sizeof(ByteArrayObject);
    ByteArrayObject *b = (ByteArrayObject *)obj_alloc(vm, t, size);
    if (!b) return VAL_NULL;
    b->hdr.obj_flags |= OBJ_BYTEARRAY;
    if (len && ba_reserve(vm, b, len) < 0) return VAL_NULL;
    if (len) memcpy(b->data, data, len);
    b->len = len;
    return v_obj(b);
}

// A result of the same kind (bytes / bytearray) as self.
static Value make_like(EddyVM *vm, Value self, const void *data, size_t len) {
    if (is_bytearray_obj(self)) return bytearray_new_from(vm, vm->t_bytearray, data, len);
    return bytes_new(vm, data, len);
}

static void bytearray_finalize(EddyVM *vm, Obj *self) {
    ByteArrayObject *b = (ByteArrayObject *)self;
    if (b->data) mem_free(vm, b->data, b->cap);
    b->data = NULL;
    b->cap = b->len = 0;
}

// A bytes-like argument (bytes or bytearray); TypeError otherwise.
static const uint8_t *arg_bytes(EddyVM *vm, Value v, size_t *len) {
    if (is_bytes(vm, v)) return bytes_data(v, len);
    vm_raise(vm, vm->exc_TypeError, "a bytes-like object is required, not '%s'",
             vm_type_name(vm, v));
    return NULL;
}

static int byte_value(EddyVM *vm, Value v, uint8_t *out) {
    int64_t i;
    if (IS_INT(v))
        i = AS_INT(v);
    else if (vm_index_i64(vm, v, &i) < 0)
        return -1;
    if (i < 0 || i > 255) {
        vm_raise(vm, vm->exc_ValueError, "byte must be in range(0, 256)");
        return -1;
    }
    *out = (uint8_t)i;
    return 0;
}

// ---------------------------------------------------------------------------
// Construction

typedef struct ByteCollect {
    uint8_t *data;
    size_t len, cap;
} ByteCollect;

static int collect_item(EddyVM *vm, Value item, void *ud) {
    ByteCollect *c = ud;
    int64_t i;
    if (IS_INT(item))
        i = AS_INT(item);
    else if (vm_index_i64(vm, item, &i) < 0)
        return -1;
    if (i < 0 || i > 255) {
        vm_raise(vm, vm->exc_ValueError, "bytes must be in range(0, 256)");
        return -1;
    }
    if (c->len == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        uint8_t *p = mem_realloc(vm, c->data, c->cap, ncap);
        if (!p) return -1;
        c->data = p;
        c->cap = ncap;
    }
    c->data[c->len++] = (uint8_t)i;
    return 0;
}

// Shared by bytes() and bytearray(): fills *out (a mem_alloc'd buffer).
static int construct_data(EddyVM *vm, const char *tname, Value *args, int nargs,
                          TupleObject *kwnames, ByteCollect *out) {
    static const char *const names[] = {"source", "encoding", "errors"};
    Value a[3] = {VAL_NULL, VAL_NULL, VAL_NULL};
    memset(out, 0, sizeof *out);
    if (args_parse(vm, tname, args, nargs, kwnames, names, 3, 3, 0, a) < 0) return -1;
    Value src = a[0];
    if (IS_NULL(src)) {
        if (!IS_NULL(a[1]) || !IS_NULL(a[2])) {
            vm_raise(vm, vm->exc_TypeError,
                     !IS_NULL(a[1]) ? "encoding without a string argument"
                                    : "errors without a string argument");
            return -1;
        }
        return 0;
    }
    if (is_str(vm, src)) {
        if (IS_NULL(a[1])) {
            vm_raise(vm, vm->exc_TypeError, "string argument without an encoding");
            return -1;
        }
        Value enc = str_encode_value(vm, AS_STR(src), a[1], a[2]);
        if (IS_NULL(enc)) return -1;
        size_t len;
        const uint8_t *d = bytes_data(enc, &len);
        for (size_t i = 0; i < len; i++)
            if (collect_item(vm, v_int(d[i]), out) < 0) return -1;
        return 0;
    }
    if (!IS_NULL(a[1]) || !IS_NULL(a[2])) {
        vm_raise(vm, vm->exc_TypeError,
                 !IS_NULL(a[1]) ? "encoding without a string argument"
                                : "errors without a string argument");
        return -1;
    }
    if (is_bytes(vm, src)) {
        size_t len;
        const uint8_t *d = bytes_data(src, &len);
        if (len) {
            out->data = mem_alloc(vm, len);
            if (!out->data) return -1;
            memcpy(out->data, d, len);
            out->len = out->cap = len;
        }
        return 0;
    }
    if (IS_INT(src) || IS_BOOL(src) || is_int(vm, src)) {
        int64_t n;
        if (vm_index_i64(vm, src, &n) < 0) return -1;
        if (n < 0) {
            vm_raise(vm, vm->exc_ValueError, "negative count");
            return -1;
        }
        if (n > 0x7FFFFF00) {
            vm_raise_nomem(vm);
            return -1;
        }
        if (n) {
            out->data = mem_alloc(vm, (size_t)n);
            if (!out->data) return -1;
            memset(out->data, 0, (size_t)n);
            out->len = out->cap = (size_t)n;
        }
        return 0;
    }
    if (IS_FLOAT(src) || IS_NONE(src)) {
        vm_raise(vm, vm->exc_TypeError, "cannot convert '%s' object to %s", vm_type_name(vm, src),
                 tname);
        return -1;
    }
    return vm_foreach(vm, src, collect_item, out) < 0 ? -1 : 0;
}

static Value bytes_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    if (nargs == 1 && !kw && is_exact(args[0], vm->t_bytes) && t == vm->t_bytes) return args[0];
    ByteCollect c;
    if (construct_data(vm, "bytes", args, nargs, kw, &c) < 0) {
        if (c.data) mem_free(vm, c.data, c.cap);
        return VAL_NULL;
    }
    BytesObject *b = bytes_alloc(vm, t, c.len);
    if (b && c.len) memcpy(b->data, c.data, c.len);
    if (c.data) mem_free(vm, c.data, c.cap);
    return b ? v_obj(b) : VAL_NULL;
}

static Value bytearray_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs,
                                TupleObject *kw) {
    ByteCollect c;
    if (construct_data(vm, "bytearray", args, nargs, kw, &c) < 0) {
        if (c.data) mem_free(vm, c.data, c.cap);
        return VAL_NULL;
    }
    Value r = bytearray_new_from(vm, t, c.data, c.len);
    if (c.data) mem_free(vm, c.data, c.cap);
    return r;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static Value fromhex_common(EddyVM *vm, Value *args, int nargs, bool bytearray) {
    if (nargs != 2 || !is_str(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "fromhex() argument must be str, not %s",
                        nargs == 2 ? vm_type_name(vm, args[1]) : "nothing");
    StrObject *s = AS_STR(args[1]);
    uint8_t *buf = mem_alloc(vm, s->len / 2 + 1);
    if (!buf) return VAL_NULL;
    size_t n = 0, i = 0;
    Value r = VAL_NULL;
    while (i < s->len) {
        unsigned char c = (unsigned char)s->data[i];
        if (c == ' ' || (c >= 9 && c <= 13)) {
            i++;
            continue;
        }
        int hi = hexval(c);
        if (hi < 0) {
            vm_raise(vm, vm->exc_ValueError,
                     "non-hexadecimal number found in fromhex() arg at position %zu", i);
            goto done;
        }
        int lo = i + 1 < s->len ? hexval((unsigned char)s->data[i + 1]) : -1;
        if (lo < 0) {
            vm_raise(vm, vm->exc_ValueError,
                     "non-hexadecimal number found in fromhex() arg at position %zu", i + 1);
            goto done;
        }
        buf[n++] = (uint8_t)(hi * 16 + lo);
        i += 2;
    }
    r = bytearray ? bytearray_new_from(vm, vm->t_bytearray, buf, n) : bytes_new(vm, buf, n);
done:
    mem_free(vm, buf, s->len / 2 + 1);
    return r;
}

static Value bytes_fromhex(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return fromhex_common(vm, args, nargs, false);
}
static Value bytearray_fromhex(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return fromhex_common(vm, args, nargs, true);
}

// ---------------------------------------------------------------------------
// Slots

static Value bytes_repr_slot(EddyVM *vm, Value self) {
    size_t len;
    const uint8_t *d = bytes_data(self, &len);
    bool sq = memchr(d, '\'', len) != NULL, dq = memchr(d, '"', len) != NULL;
    char quote = (sq && !dq) ? '"' : '\'';
    StrBuf b;
    strbuf_init(vm, &b);
    bool ba = is_bytearray_obj(self);
    if (ba) strbuf_append_cstr(&b, "bytearray(");
    strbuf_append_char(&b, 'b');
    strbuf_append_char(&b, quote);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = d[i];
        if (c == (uint8_t)quote || c == '\\') {
            strbuf_append_char(&b, '\\');
            strbuf_append_char(&b, (char)c);
        } else if (c == '\t')
            strbuf_append(&b, "\\t", 2);
        else if (c == '\n')
            strbuf_append(&b, "\\n", 2);
        else if (c == '\r')
            strbuf_append(&b, "\\r", 2);
        else if (c < 0x20 || c >= 0x7F)
            strbuf_printf(&b, "\\x%02x", c);
        else
            strbuf_append_char(&b, (char)c);
    }
    strbuf_append_char(&b, quote);
    if (ba) strbuf_append_char(&b, ')');
    StrObject *r = strbuf_finish(&b);
    return r ? v_obj(r) : VAL_NULL;
}

static int bytes_hash_slot(EddyVM *vm, Value self, int64_t *out) {
    BytesObject *b = (BytesObject *)AS_OBJ(self);
    if (b->hash == -1) b->hash = str_hash_bytes(b->data, b->len);
    *out = b->hash;
    return 0;
}

static Value bytes_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_bytes(vm, a) || !is_bytes(vm, b)) return vm->not_implemented;
    size_t la, lb;
    const uint8_t *da = bytes_data(a, &la), *db = bytes_data(b, &lb);
    if (op == CMP_EQ || op == CMP_NE) {
        bool eq = la == lb && memcmp(da, db, la) == 0;
        return v_bool(op == CMP_EQ ? eq : !eq);
    }
    int c = memcmp(da, db, la < lb ? la : lb);
    if (c == 0) c = la < lb ? -1 : la > lb ? 1 : 0;
    switch (op) {
    case CMP_LT: return v_bool(c < 0);
    case CMP_LE: return v_bool(c <= 0);
    case CMP_GT: return v_bool(c > 0);
    default: return v_bool(c >= 0);
    }
}

static int64_t bytes_len_slot(EddyVM *vm, Value self) {
    size_t len;
    bytes_data(self, &len);
    return (int64_t)len;
}

static int bytes_truthy(EddyVM *vm, Value self) { return bytes_len_slot(vm, self) != 0; }

static Value bytes_getitem(EddyVM *vm, Value self, Value key) {
    size_t len;
    const uint8_t *d = bytes_data(self, &len);
    if (is_exact(key, vm->t_slice)) {
        int64_t start, stop, step, n;
        if (slice_indices(vm, key, (int64_t)len, &start, &stop, &step, &n) < 0) return VAL_NULL;
        if (n <= 0) return make_like(vm, self, "", 0);
        if (step == 1) return make_like(vm, self, d + start, (size_t)n);
        uint8_t *tmp = mem_alloc(vm, (size_t)n);
        if (!tmp) return VAL_NULL;
        for (int64_t i = 0, j = start; i < n; i++, j += step) tmp[i] = d[j];
        Value r = make_like(vm, self, tmp, (size_t)n);
        mem_free(vm, tmp, (size_t)n);
        return r;
    }
    int64_t i;
    if (IS_INT(key))
        i = AS_INT(key);
    else if (IS_BOOL(key) || is_int(vm, key) ||
             !IS_NULL(type_lookup(vm, vm_type_of(vm, key), vm->names.__index__))) {
        if (vm_index_i64(vm, key, &i) < 0) return VAL_NULL;
    } else {
        return vm_raise(vm, vm->exc_TypeError, "%s indices must be integers or slices, not %s",
                        is_bytearray_obj(self) ? "bytearray" : "byte", vm_type_name(vm, key));
    }
    if (i < 0) i += (int64_t)len;
    if (i < 0 || (uint64_t)i >= len)
        return vm_raise(vm, vm->exc_IndexError,
                        is_bytearray_obj(self) ? "bytearray index out of range"
                                               : "index out of range");
    return v_int(d[i]);
}

static int bytes_contains(EddyVM *vm, Value self, Value item) {
    size_t len;
    const uint8_t *d = bytes_data(self, &len);
    if (is_bytes(vm, item)) {
        size_t n;
        const uint8_t *x = bytes_data(item, &n);
        if (n == 0) return 1;
        return memmem(d, len, x, n) != NULL;
    }
    if (IS_INT(item) || IS_BOOL(item) || is_int(vm, item)) {
        uint8_t c;
        if (byte_value(vm, item, &c) < 0) return -1;
        return memchr(d, c, len) != NULL;
    }
    vm_raise(vm, vm->exc_TypeError, "a bytes-like object is required, not '%s'",
             vm_type_name(vm, item));
    return -1;
}

static void bytes_iter_trace(EddyVM *vm, Obj *self) {
    gc_mark_value(vm, ((BytesIterObject *)self)->seq);
}

static Value bytes_iter(EddyVM *vm, Value self) {
    BytesIterObject *it =
        (BytesIterObject *)obj_alloc(vm, vm->t_bytes_iterator, sizeof(BytesIterObject));
    if (!it) return VAL_NULL;
    it->seq = self;
    it->pos = 0;
    return v_obj(it);
}

static Value iter_self(EddyVM *vm, Value self) { return self; }

static int bytes_iter_next(EddyVM *vm, Value self, Value *out) {
    BytesIterObject *it = (BytesIterObject *)AS_OBJ(self);
    size_t len;
    const uint8_t *d = bytes_data(it->seq, &len);
    if (it->pos >= len) return 0;
    *out = v_int(d[it->pos++]);
    return 1;
}

static Value bytes_iter_next_method(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value out;
    int r = bytes_iter_next(vm, args[0], &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    return out;
}

static Value bytes_iter_iter_method(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return args[0];
}

static int bytearray_setitem(EddyVM *vm, Value self, Value key, Value v) {
    ByteArrayObject *b = (ByteArrayObject *)AS_OBJ(self);
    if (is_exact(key, vm->t_slice)) {
        int64_t start, stop, step, n;
        if (slice_indices(vm, key, (int64_t)b->len, &start, &stop, &step, &n) < 0) return -1;
        if (step != 1) {
            vm_raise(vm, vm->exc_NotImplementedError, "extended slice assignment on bytearray");
            return -1;
        }
        if (stop < start) stop = start;
        size_t rlen = 0;
        uint8_t *rep = NULL;
        ByteCollect c = {0};
        if (!IS_NULL(v)) {
            if (IS_INT(v)) {
                vm_raise(vm, vm->exc_TypeError,
                         "can assign only bytes, buffers, or iterables of ints in range(0, 256)");
                return -1;
            }
            if (is_bytes(vm, v)) {
                size_t n2;
                const uint8_t *d2 = bytes_data(v, &n2);
                c.data = mem_alloc(vm, n2 + 1);
                if (!c.data) return -1;
                c.cap = n2 + 1;
                memcpy(c.data, d2, n2);
                c.len = n2;
            } else if (vm_foreach(vm, v, collect_item, &c) < 0) {
                if (c.data) mem_free(vm, c.data, c.cap);
                return -1;
            }
            rep = c.data;
            rlen = c.len;
        }
        size_t old = (size_t)(stop - start), newlen = b->len - old + rlen;
        if (ba_reserve(vm, b, newlen) < 0) {
            if (c.data) mem_free(vm, c.data, c.cap);
            return -1;
        }
        memmove(b->data + start + rlen, b->data + stop, b->len - (size_t)stop);
        if (rlen) memcpy(b->data + start, rep, rlen);
        b->len = newlen;
        if (c.data) mem_free(vm, c.data, c.cap);
        return 0;
    }
    int64_t i;
    if (vm_index_i64(vm, key, &i) < 0) return -1;
    if (i < 0) i += (int64_t)b->len;
    if (i < 0 || (uint64_t)i >= b->len) {
        vm_raise(vm, vm->exc_IndexError, "bytearray index out of range");
        return -1;
    }
    if (IS_NULL(v)) {
        memmove(b->data + i, b->data + i + 1, b->len - (size_t)i - 1);
        b->len--;
        return 0;
    }
    uint8_t c;
    if (byte_value(vm, v, &c) < 0) return -1;
    b->data[i] = c;
    return 0;
}

// ---------------------------------------------------------------------------
// Methods shared by bytes and bytearray

#define SELF_DATA(lenvar) bytes_data(args[0], &(lenvar))

static Value b_add(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    if (!is_bytes(vm, args[1])) {
        TypeObject *ot = vm_type_of(vm, args[1]);
        if ((ot->flags & TPF_HEAPTYPE) && !IS_NULL(type_lookup(vm, ot, vm->names.__radd__)))
            return vm->not_implemented;
        return vm_raise(vm, vm->exc_TypeError, "can't concat %s to %s", vm_type_name(vm, args[1]),
                        vm_type_name(vm, args[0]));
    }
    size_t la, lb;
    const uint8_t *a = SELF_DATA(la), *b = bytes_data(args[1], &lb);
    if (is_bytearray_obj(args[0])) {
        Value r = bytearray_new_from(vm, vm->t_bytearray, a, la);
        if (IS_NULL(r)) return r;
        ByteArrayObject *ba = (ByteArrayObject *)AS_OBJ(r);
        if (ba_reserve(vm, ba, la + lb) < 0) return VAL_NULL;
        memcpy(ba->data + la, b, lb);
        ba->len = la + lb;
        return r;
    }
    BytesObject *r = bytes_alloc(vm, vm->t_bytes, la + lb);
    if (!r) return VAL_NULL;
    memcpy(r->data, a, la);
    memcpy(r->data + la, b, lb);
    return v_obj(r);
}

static Value b_mul(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    Value cnt = args[1];
    if (!IS_INT(cnt) && !IS_BOOL(cnt) && !is_int(vm, cnt) &&
        IS_NULL(type_lookup(vm, vm_type_of(vm, cnt), vm->names.__index__))) {
        TypeObject *ct = vm_type_of(vm, cnt);
        if ((ct->flags & TPF_HEAPTYPE) && !IS_NULL(type_lookup(vm, ct, vm->names.__rmul__)))
            return vm->not_implemented;
        return vm_raise(vm, vm->exc_TypeError, "can't multiply sequence by non-int of type '%s'",
                        ct->name->data);
    }
    int64_t n;
    if (vm_index_i64(vm, cnt, &n) < 0) return VAL_NULL;
    size_t len;
    const uint8_t *d = SELF_DATA(len);
    if (n <= 0 || len == 0) return make_like(vm, args[0], "", 0);
    if ((uint64_t)n > (uint64_t)INT64_MAX / len) return vm_raise_nomem(vm);
    size_t total = len * (size_t)n;
    if (total > 0x7FFFFF00) return vm_raise_nomem(vm);
    uint8_t *tmp = mem_alloc(vm, total);
    if (!tmp) return VAL_NULL;
    for (int64_t i = 0; i < n; i++) memcpy(tmp + (size_t)i * len, d, len);
    Value r = make_like(vm, args[0], tmp, total);
    mem_free(vm, tmp, total);
    return r;
}

static Value b_decode(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"encoding", "errors"};
    Value a[2] = {VAL_NULL, VAL_NULL};
    if (args_parse(vm, "decode", args + 1, nargs - 1, kw, names, 2, 2, 0, a) < 0) return VAL_NULL;
    size_t len;
    const uint8_t *d = SELF_DATA(len);
    StrObject *s = str_decode_bytes(vm, d, len, a[0], a[1]);
    return s ? v_obj(s) : VAL_NULL;
}

static Value b_hex(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    size_t len;
    const uint8_t *d = SELF_DATA(len);
    StrObject *s = str_alloc(vm, len * 2, len * 2);
    if (!s) return VAL_NULL;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        s->data[2 * i] = hex[d[i] >> 4];
        s->data[2 * i + 1] = hex[d[i] & 15];
    }
    return v_obj(s);
}

// Resolve optional start/end byte indexes in args[first..].
static int b_range(EddyVM *vm, Value *args, int nargs, int first, size_t len, size_t *a,
                   size_t *b) {
    int64_t n = (int64_t)len, start = 0, end = n;
    if (nargs > first && !IS_NONE(args[first]) && vm_index_i64(vm, args[first], &start) < 0)
        return -1;
    if (nargs > first + 1 && !IS_NONE(args[first + 1]) &&
        vm_index_i64(vm, args[first + 1], &end) < 0)
        return -1;
    if (start < 0) start = start + n < 0 ? 0 : start + n;
    if (end < 0) end = end + n < 0 ? 0 : end + n;
    if (end > n) end = n;
    if (start > n) return 1;
    if (end < start) end = start;
    *a = (size_t)start;
    *b = (size_t)end;
    return 0;
}

// The needle of find/count/index: bytes-like or an int.
static const uint8_t *needle(EddyVM *vm, Value v, uint8_t *one, size_t *n) {
    if (IS_INT(v) || IS_BOOL(v) || is_int(vm, v)) {
        if (byte_value(vm, v, one) < 0) return NULL;
        *n = 1;
        return one;
    }
    return arg_bytes(vm, v, n);
}

static Value b_find_common(EddyVM *vm, Value *args, int nargs, bool reverse, bool raise) {
    if (nargs < 2 || nargs > 4)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 to 3 arguments, got %d", nargs - 1);
    size_t len, n, a, b;
    uint8_t one;
    const uint8_t *d = SELF_DATA(len), *x = needle(vm, args[1], &one, &n);
    if (!x) return VAL_NULL;
    int r = b_range(vm, args, nargs, 2, len, &a, &b);
    if (r < 0) return VAL_NULL;
    int64_t at = -1;
    if (r == 0 && n <= b - a) {
        if (!reverse) {
            const uint8_t *p = n ? memmem(d + a, b - a, x, n) : d + a;
            if (p) at = p - d;
        } else {
            for (size_t i = b - n + 1; i-- > a;)
                if (memcmp(d + i, x, n) == 0) {
                    at = (int64_t)i;
                    break;
                }
        }
    }
    if (at < 0 && raise) return vm_raise(vm, vm->exc_ValueError, "subsection not found");
    return v_int(at);
}

static Value b_find(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_find_common(vm, a, n, false, false);
}
static Value b_rfind(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_find_common(vm, a, n, true, false);
}
static Value b_index(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_find_common(vm, a, n, false, true);
}
static Value b_rindex(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_find_common(vm, a, n, true, true);
}

static Value b_count(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs < 2 || nargs > 4)
        return vm_raise(vm, vm->exc_TypeError, "count expected at least 1 argument, got %d",
                        nargs - 1);
    size_t len, n, a, b;
    uint8_t one;
    const uint8_t *d = SELF_DATA(len), *x = needle(vm, args[1], &one, &n);
    if (!x) return VAL_NULL;
    int r = b_range(vm, args, nargs, 2, len, &a, &b);
    if (r < 0) return VAL_NULL;
    if (r) return v_int(0);
    if (n == 0) return v_int((int64_t)(b - a + 1));
    int64_t count = 0;
    while (a + n <= b) {
        const uint8_t *p = memmem(d + a, b - a, x, n);
        if (!p) break;
        count++;
        a = (size_t)(p - d) + n;
    }
    return v_int(count);
}

static Value b_replace(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs < 3 || nargs > 4)
        return vm_raise(vm, vm->exc_TypeError, "replace expected at least 2 arguments, got %d",
                        nargs - 1);
    size_t len, no, nn;
    const uint8_t *d = SELF_DATA(len), *old = arg_bytes(vm, args[1], &no), *nw;
    if (!old || !(nw = arg_bytes(vm, args[2], &nn))) return VAL_NULL;
    int64_t maxc = -1;
    if (nargs > 3 && vm_index_i64(vm, args[3], &maxc) < 0) return VAL_NULL;
    StrBuf out; // used as a plain byte buffer
    strbuf_init(vm, &out);
    size_t pos = 0;
    int64_t done = 0;
    if (no == 0) {
        while ((maxc < 0 || done < maxc) && pos <= len) {
            strbuf_append(&out, (const char *)nw, nn);
            done++;
            if (pos < len) strbuf_append_char(&out, (char)d[pos]);
            pos++;
        }
        if (pos < len) strbuf_append(&out, (const char *)d + pos, len - pos);
    } else {
        while (maxc < 0 || done < maxc) {
            const uint8_t *p = pos < len ? memmem(d + pos, len - pos, old, no) : NULL;
            if (!p) break;
            strbuf_append(&out, (const char *)d + pos, (size_t)(p - d) - pos);
            strbuf_append(&out, (const char *)nw, nn);
            pos = (size_t)(p - d) + no;
            done++;
        }
        strbuf_append(&out, (const char *)d + pos, len - pos);
    }
    if (out.failed) return VAL_NULL;
    Value r = make_like(vm, args[0], out.data ? out.data : "", out.len);
    strbuf_discard(&out);
    return r;
}

static Value b_affix(EddyVM *vm, Value *args, int nargs, bool end) {
    const char *name = end ? "endswith" : "startswith";
    if (nargs < 2 || nargs > 4)
        return vm_raise(vm, vm->exc_TypeError, "%s expected at least 1 argument, got %d", name,
                        nargs - 1);
    size_t len, a, b;
    const uint8_t *d = SELF_DATA(len);
    int r = b_range(vm, args, nargs, 2, len, &a, &b);
    if (r < 0) return VAL_NULL;
    Value x = args[1];
    size_t count = 1;
    const Value *items = &x;
    if (IS_OBJ(x) && (OBJ_TYPE(AS_OBJ(x))->flags & TPF_TUPLE_SUBCLASS)) {
        items = AS_TUPLE(x)->items;
        count = AS_TUPLE(x)->len;
    } else if (!is_bytes(vm, x)) {
        return vm_raise(vm, vm->exc_TypeError,
                        "%s first arg must be bytes or a tuple of bytes, not %s", name,
                        vm_type_name(vm, x));
    }
    for (size_t i = 0; i < count; i++) {
        size_t n;
        const uint8_t *p = arg_bytes(vm, items[i], &n);
        if (!p) return VAL_NULL;
        if (r == 0 && n <= b - a && memcmp(d + (end ? b - n : a), p, n) == 0) return VAL_TRUE;
    }
    return VAL_FALSE;
}

static Value b_startswith(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_affix(vm, a, n, false);
}
static Value b_endswith(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_affix(vm, a, n, true);
}

static bool b_space(uint8_t c) { return c == ' ' || (c >= 9 && c <= 13); }

static Value b_strip_common(EddyVM *vm, Value *args, int nargs, int mode) {
    size_t len, nc = 0;
    const uint8_t *d = SELF_DATA(len), *chars = NULL;
    if (nargs > 2)
        return vm_raise(vm, vm->exc_TypeError, "expected at most 1 argument, got %d", nargs - 1);
    if (nargs == 2 && !IS_NONE(args[1]) && !(chars = arg_bytes(vm, args[1], &nc))) return VAL_NULL;
    size_t a = 0, b = len;
    if (mode & 1)
        while (a < b && (chars ? memchr(chars, d[a], nc) != NULL : b_space(d[a]))) a++;
    if (mode & 2)
        while (b > a && (chars ? memchr(chars, d[b - 1], nc) != NULL : b_space(d[b - 1]))) b--;
    return make_like(vm, args[0], d + a, b - a);
}

static Value b_strip(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_strip_common(vm, a, n, 3);
}
static Value b_lstrip(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_strip_common(vm, a, n, 1);
}
static Value b_rstrip(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_strip_common(vm, a, n, 2);
}

static Value b_split(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"sep", "maxsplit"};
    Value a[2] = {VAL_NULL, VAL_NULL};
    if (args_parse(vm, "split", args + 1, nargs - 1, kw, names, 2, 2, 0, a) < 0) return VAL_NULL;
    size_t len, ns = 0;
    const uint8_t *d = SELF_DATA(len), *sep = NULL;
    if (!IS_NULL(a[0]) && !IS_NONE(a[0])) {
        if (!(sep = arg_bytes(vm, a[0], &ns))) return VAL_NULL;
        if (ns == 0) return vm_raise(vm, vm->exc_ValueError, "empty separator");
    }
    int64_t maxsplit = -1;
    if (!IS_NULL(a[1]) && vm_index_i64(vm, a[1], &maxsplit) < 0) return VAL_NULL;
    if (maxsplit < 0) maxsplit = INT64_MAX;
    ListObject *l = list_new(vm, 0);
    if (!l) return VAL_NULL;
    size_t i = 0;
    if (!sep) {
        for (;;) {
            while (i < len && b_space(d[i])) i++;
            if (i >= len) break;
            size_t j = i;
            if (maxsplit-- == 0) {
                j = len;
            } else {
                while (j < len && !b_space(d[j])) j++;
            }
            Value part = make_like(vm, args[0], d + i, j - i);
            if (IS_NULL(part) || list_append(vm, l, part) < 0) return VAL_NULL;
            i = j;
            if (maxsplit < 0) break;
        }
        return v_obj(l);
    }
    while (maxsplit > 0) {
        const uint8_t *p = i <= len ? memmem(d + i, len - i, sep, ns) : NULL;
        if (!p) break;
        Value part = make_like(vm, args[0], d + i, (size_t)(p - d) - i);
        if (IS_NULL(part) || list_append(vm, l, part) < 0) return VAL_NULL;
        i = (size_t)(p - d) + ns;
        maxsplit--;
    }
    Value part = make_like(vm, args[0], d + i, len - i);
    if (IS_NULL(part) || list_append(vm, l, part) < 0) return VAL_NULL;
    return v_obj(l);
}

static Value b_join(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "join() takes exactly one argument (%d given)",
                        nargs - 1);
    Value lv = vm_sequence_to_list(vm, args[1]);
    if (IS_NULL(lv)) return VAL_NULL;
    ListObject *l = AS_LIST(lv);
    size_t ns;
    const uint8_t *sep = SELF_DATA(ns);
    StrBuf out;
    strbuf_init(vm, &out);
    for (size_t i = 0; i < l->len; i++) {
        if (!is_bytes(vm, l->items[i])) {
            strbuf_discard(&out);
            return vm_raise(vm, vm->exc_TypeError,
                            "sequence item %zu: expected a bytes-like object, %s found", i,
                            vm_type_name(vm, l->items[i]));
        }
        size_t n;
        const uint8_t *p = bytes_data(l->items[i], &n);
        if (i) strbuf_append(&out, (const char *)sep, ns);
        strbuf_append(&out, (const char *)p, n);
    }
    if (out.failed) return VAL_NULL;
    Value r = make_like(vm, args[0], out.data ? out.data : "", out.len);
    strbuf_discard(&out);
    return r;
}

static Value b_case(EddyVM *vm, Value *args, int nargs, bool upper) {
    size_t len;
    const uint8_t *d = SELF_DATA(len);
    uint8_t *tmp = mem_alloc(vm, len + 1);
    if (!tmp) return VAL_NULL;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = d[i];
        if (upper && c >= 'a' && c <= 'z')
            c -= 32;
        else if (!upper && c >= 'A' && c <= 'Z')
            c += 32;
        tmp[i] = c;
    }
    Value r = make_like(vm, args[0], tmp, len);
    mem_free(vm, tmp, len + 1);
    return r;
}

static Value b_upper(EddyVM *vm, Value *a, int n, TupleObject *k) { return b_case(vm, a, n, true); }
static Value b_lower(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_case(vm, a, n, false);
}

enum { P_DIGIT, P_ALPHA, P_ALNUM, P_SPACE, P_UPPER, P_LOWER };

static Value b_pred(EddyVM *vm, Value *args, int what) {
    size_t len;
    const uint8_t *d = SELF_DATA(len);
    if (len == 0) return VAL_FALSE;
    bool cased = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = d[i];
        bool dig = c >= '0' && c <= '9', up = c >= 'A' && c <= 'Z', low = c >= 'a' && c <= 'z';
        switch (what) {
        case P_DIGIT:
            if (!dig) return VAL_FALSE;
            break;
        case P_ALPHA:
            if (!up && !low) return VAL_FALSE;
            break;
        case P_ALNUM:
            if (!up && !low && !dig) return VAL_FALSE;
            break;
        case P_SPACE:
            if (!b_space(c)) return VAL_FALSE;
            break;
        case P_UPPER:
            if (low) return VAL_FALSE;
            cased |= up;
            break;
        default:
            if (up) return VAL_FALSE;
            cased |= low;
            break;
        }
    }
    return (what == P_UPPER || what == P_LOWER) ? v_bool(cased) : VAL_TRUE;
}

static Value b_isdigit(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_pred(vm, a, P_DIGIT);
}
static Value b_isalpha(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_pred(vm, a, P_ALPHA);
}
static Value b_isalnum(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_pred(vm, a, P_ALNUM);
}
static Value b_isspace(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_pred(vm, a, P_SPACE);
}
static Value b_isupper(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_pred(vm, a, P_UPPER);
}
static Value b_islower(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return b_pred(vm, a, P_LOWER);
}

static Value b_dunder_len(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return v_int(bytes_len_slot(vm, args[0]));
}
static Value b_dunder_getitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    return bytes_getitem(vm, args[0], args[1]);
}
static Value b_dunder_contains(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    int r = bytes_contains(vm, args[0], args[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}

// ---------------------------------------------------------------------------
// bytearray-only methods

static Value ba_append(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError,
                        "bytearray.append() takes exactly one argument (%d given)", nargs - 1);
    ByteArrayObject *b = (ByteArrayObject *)AS_OBJ(args[0]);
    uint8_t c;
    if (byte_value(vm, args[1], &c) < 0) return VAL_NULL;
    if (ba_reserve(vm, b, b->len + 1) < 0) return VAL_NULL;
    b->data[b->len++] = c;
    return VAL_NONE;
}

static Value ba_extend(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError,
                        "bytearray.extend() takes exactly one argument (%d given)", nargs - 1);
    ByteArrayObject *b = (ByteArrayObject *)AS_OBJ(args[0]);
    if (is_bytes(vm, args[1])) {
        size_t n;
        const uint8_t *d = bytes_data(args[1], &n);
        if (ba_reserve(vm, b, b->len + n) < 0) return VAL_NULL;
        memmove(b->data + b->len, d, n); // d may alias b->data (b.extend(b))
        b->len += n;
        return VAL_NONE;
    }
    if (is_str(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "expected iterable of integers; got: 'str'");
    ByteCollect c = {0};
    if (vm_foreach(vm, args[1], collect_item, &c) < 0) {
        if (c.data) mem_free(vm, c.data, c.cap);
        return VAL_NULL;
    }
    int r = ba_reserve(vm, b, b->len + c.len);
    if (r == 0 && c.len) {
        memcpy(b->data + b->len, c.data, c.len);
        b->len += c.len;
    }
    if (c.data) mem_free(vm, c.data, c.cap);
    return r < 0 ? VAL_NULL : VAL_NONE;
}

static Value ba_pop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    ByteArrayObject *b = (ByteArrayObject *)AS_OBJ(args[0]);
    int64_t i = -1;
    if (nargs > 1 && vm_index_i64(vm, args[1], &i) < 0) return VAL_NULL;
    if (b->len == 0) return vm_raise(vm, vm->exc_IndexError, "pop from empty bytearray");
    if (i < 0) i += (int64_t)b->len;
    if (i < 0 || (uint64_t)i >= b->len)
        return vm_raise(vm, vm->exc_IndexError, "pop index out of range");
    uint8_t c = b->data[i];
    memmove(b->data + i, b->data + i + 1, b->len - (size_t)i - 1);
    b->len--;
    return v_int(c);
}

static Value ba_clear(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    ((ByteArrayObject *)AS_OBJ(args[0]))->len = 0;
    return VAL_NONE;
}

static Value ba_copy(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    size_t len;
    const uint8_t *d = SELF_DATA(len);
    return bytearray_new_from(vm, vm->t_bytearray, d, len);
}

static Value ba_iadd(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    if (!is_bytes(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "can't concat %s to bytearray",
                        vm_type_name(vm, args[1]));
    if (IS_NULL(ba_extend(vm, args, nargs, kw))) return VAL_NULL;
    return args[0];
}

static Value ba_dunder_setitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 3)
        return vm_raise(vm, vm->exc_TypeError, "expected 2 arguments, got %d", nargs - 1);
    return bytearray_setitem(vm, args[0], args[1], args[2]) < 0 ? VAL_NULL : VAL_NONE;
}

static Value ba_dunder_delitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    return bytearray_setitem(vm, args[0], args[1], VAL_NULL) < 0 ? VAL_NULL : VAL_NONE;
}

// ---------------------------------------------------------------------------
// bytes % args (PEP 461)

// Append data padded to width (left-justified when left), cut to prec bytes.
static void append_padded_bytes(StrBuf *out, const char *data, size_t n, int64_t width,
                                int64_t prec, bool left) {
    if (prec >= 0 && (size_t)prec < n) n = (size_t)prec;
    int64_t pad = width > (int64_t)n ? width - (int64_t)n : 0;
    for (int64_t i = 0; !left && i < pad; i++) strbuf_append_char(out, ' ');
    strbuf_append(out, data, n);
    for (int64_t i = 0; left && i < pad; i++) strbuf_append_char(out, ' ');
}

// %s / %b: a bytes-like object, or the result of its __bytes__.
static int mod_bytes_arg(EddyVM *vm, StrBuf *out, Value v, int64_t width, int64_t prec, bool left) {
    if (!is_bytes(vm, v)) {
        StrObject *name = str_intern_cstr(vm, "__bytes__");
        if (!name) return -1;
        Value f = type_lookup(vm, vm_type_of(vm, v), name);
        if (IS_NULL(f)) {
            vm_raise(vm, vm->exc_TypeError,
                     "%%b requires a bytes-like object, or an object that implements __bytes__, "
                     "not '%s'",
                     vm_type_name(vm, v));
            return -1;
        }
        Value r = vm_call_method(vm, v, name, NULL, 0);
        if (IS_NULL(r)) return -1;
        if (!is_bytes(vm, r) || is_bytearray_obj(r)) {
            vm_raise(vm, vm->exc_TypeError, "__bytes__ returned non-bytes (type %s)",
                     vm_type_name(vm, r));
            return -1;
        }
        v = r;
    }
    size_t n;
    const uint8_t *d = bytes_data(v, &n);
    append_padded_bytes(out, (const char *)d, n, width, prec, left);
    return 0;
}

// One directive whose output is ASCII text: numbers through str's
// %-formatting of the same directive, %a / %r through ascii().
static int mod_text_arg(EddyVM *vm, StrBuf *out, const char *spec, size_t spec_len, char conv,
                        Value v, int64_t width, int64_t prec, bool left) {
    Value text;
    if (conv == 'a' || conv == 'r') {
        text = vm_ascii(vm, v);
        if (IS_NULL(text)) return -1;
        append_padded_bytes(out, AS_STR(text)->data, AS_STR(text)->len, width, prec, left);
        return 0;
    }
    StrObject *fmt = str_new(vm, spec, spec_len);
    TupleObject *one = fmt ? tuple_from(vm, &v, 1) : NULL;
    if (!one || vm_push_root(vm, v_obj(one)) < 0) return -1;
    text = str_mod(vm, v_obj(fmt), v_obj(one));
    vm_pop_roots(vm, 1);
    if (IS_NULL(text)) return -1;
    strbuf_append(out, AS_STR(text)->data, AS_STR(text)->len);
    return 0;
}

static int mod_char_arg(EddyVM *vm, StrBuf *out, Value v, int64_t width, bool left) {
    char c;
    size_t n;
    if (is_bytes(vm, v) && (bytes_data(v, &n), n == 1)) {
        c = (char)bytes_data(v, &n)[0];
    } else if (IS_INT(v) || IS_BOOL(v) || is_int(vm, v)) {
        int64_t i;
        if (vm_index_i64(vm, v, &i) < 0 || i < 0 || i > 255) {
            vm_err_clear(vm);
            vm_raise(vm, vm->exc_OverflowError, "%%c arg not in range(256)");
            return -1;
        }
        c = (char)i;
    } else {
        vm_raise(vm, vm->exc_TypeError, "%%c requires an integer in range(256) or a single byte");
        return -1;
    }
    append_padded_bytes(out, &c, 1, width, -1, left);
    return 0;
}

// Take the next positional argument; TypeError when there is none.
static bool next_arg(EddyVM *vm, const Value *items, size_t n, size_t *idx, Value *out) {
    if (*idx >= n) {
        vm_raise(vm, vm->exc_TypeError, "not enough arguments for format string");
        return false;
    }
    *out = items[(*idx)++];
    return true;
}

static Value b_mod(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs != 2)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 argument, got %d", nargs - 1);
    size_t flen;
    const char *f = (const char *)bytes_data(args[0], &flen), *end = f + flen;
    Value a = args[1];
    const Value *items = &args[1];
    size_t nitems = 1, argidx = 0;
    Value mapping = VAL_NULL;
    bool is_tuple = IS_OBJ(a) && (OBJ_TYPE(AS_OBJ(a))->flags & TPF_TUPLE_SUBCLASS);
    if (is_tuple) {
        items = AS_TUPLE(a)->items;
        nitems = AS_TUPLE(a)->len;
    } else if (IS_OBJ(a) && !is_bytes(vm, a) && !is_str(vm, a) &&
               (OBJ_TYPE(AS_OBJ(a))->getitem ||
                !IS_NULL(type_lookup(vm, OBJ_TYPE(AS_OBJ(a)), vm->names.__getitem__)))) {
        mapping = a; // CPython's PyMapping_Check, bytes and str excluded
    }
    StrBuf out; // a plain byte buffer
    strbuf_init(vm, &out);
    bool keyed = false; // a mapping value is rooted for the current directive
    for (const char *p = f; p < end;) {
        const char *q = memchr(p, '%', (size_t)(end - p));
        if (!q) {
            strbuf_append(&out, p, (size_t)(end - p));
            break;
        }
        strbuf_append(&out, p, (size_t)(q - p));
        p = q + 1;
        Value arg = VAL_NULL;
        if (p < end && *p == '(') {
            if (IS_NULL(mapping)) {
                vm_raise(vm, vm->exc_TypeError, "format requires a mapping");
                goto fail;
            }
            const char *k = ++p;
            int depth = 1;
            for (; p < end && depth; p++) depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
            if (depth) {
                vm_raise(vm, vm->exc_ValueError, "incomplete format key");
                goto fail;
            }
            Value key = bytes_new(vm, k, (size_t)(p - 1 - k));
            if (IS_NULL(key)) goto fail;
            arg = vm_getitem(vm, mapping, key);
            if (IS_NULL(arg) || vm_push_root(vm, arg) < 0) goto fail;
            keyed = true;
        }
        // The directive as str %-formatting spells it, '*' widths resolved.
        char spec[64];
        size_t sl = 0;
        spec[sl++] = '%';
        bool left = false;
        while (p < end && strchr("-+ #0", *p) && *p) {
            left |= *p == '-';
            if (sl < 8) spec[sl++] = *p;
            p++;
        }
        int64_t width = -1, prec = -1;
        for (int part = 0; part < 2; part++) {
            if (part == 1) {
                if (p >= end || *p != '.') break;
                p++;
                prec = 0;
            }
            int64_t n = part == 0 ? -1 : 0;
            if (p < end && *p == '*') {
                Value w;
                p++;
                if (!next_arg(vm, items, nitems, &argidx, &w)) goto fail;
                if (!IS_INT(w)) {
                    vm_raise(vm, vm->exc_TypeError, "* wants int");
                    goto fail;
                }
                n = AS_INT(w);
                if (part == 0 && n < 0) {
                    left = true;
                    n = -n;
                    if (sl < 9) spec[sl++] = '-';
                }
                if (part == 1 && n < 0) n = 0;
            } else {
                while (p < end && *p >= '0' && *p <= '9') {
                    if (n > 100000000) {
                        vm_raise(vm, vm->exc_ValueError,
                                 part ? "precision too big" : "width too big");
                        goto fail;
                    }
                    n = (n < 0 ? 0 : n) * 10 + (*p++ - '0');
                }
            }
            if (part == 0)
                width = n;
            else
                prec = n;
        }
        if (width >= 0)
            sl += (size_t)snprintf(spec + sl, sizeof spec - sl, "%lld", (long long)width);
        if (prec >= 0)
            sl += (size_t)snprintf(spec + sl, sizeof spec - sl, ".%lld", (long long)prec);
        while (p < end && (*p == 'h' || *p == 'l' || *p == 'L')) p++;
        if (p >= end) {
            vm_raise(vm, vm->exc_ValueError, "incomplete format");
            goto fail;
        }
        char conv = *p++;
        if (conv == '%') {
            strbuf_append_char(&out, '%');
            if (keyed) vm_pop_roots(vm, 1);
            keyed = false;
            continue;
        }
        if (!strchr("sbradiuxXoeEfFgGc", conv)) {
            unsigned char uc = (unsigned char)conv;
            if (uc >= 32 && uc < 127)
                vm_raise(vm, vm->exc_ValueError,
                         "unsupported format character '%c' (0x%x) at index %zu", conv, uc,
                         (size_t)(p - 1 - f));
            else
                vm_raise(vm, vm->exc_ValueError,
                         "unsupported format character '\\x%x' (0x%x) at index %zu", uc, uc,
                         (size_t)(p - 1 - f));
            goto fail;
        }
        if (!keyed && !next_arg(vm, items, nitems, &argidx, &arg)) goto fail;
        spec[sl++] = conv;
        int rc;
        if (conv == 's' || conv == 'b')
            rc = mod_bytes_arg(vm, &out, arg, width, prec, left);
        else if (conv == 'c')
            rc = mod_char_arg(vm, &out, arg, width, left);
        else
            rc = mod_text_arg(vm, &out, spec, sl, conv, arg, width, prec, left);
        if (keyed) vm_pop_roots(vm, 1);
        keyed = false;
        if (rc < 0) goto fail;
    }
    if (argidx < nitems && IS_NULL(mapping)) {
        vm_raise(vm, vm->exc_TypeError, "not all arguments converted during bytes formatting");
        goto fail;
    }
    if (out.failed) goto fail;
    Value r = make_like(vm, args[0], out.data ? out.data : "", out.len);
    strbuf_discard(&out);
    return r;
fail:
    if (keyed) vm_pop_roots(vm, 1);
    strbuf_discard(&out);
    return VAL_NULL;
}

static Value b_rmod(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return vm->not_implemented;
}

// ---------------------------------------------------------------------------
// Type set-up

typedef struct MethodDef {
    const char *name;
    NativeFn fn;
    uint32_t flags;
} MethodDef;

static const MethodDef SHARED_METHODS[] = {
    {"__add__", b_add, NATIVE_METHOD},
    {"__mod__", b_mod, NATIVE_METHOD},
    {"__rmod__", b_rmod, NATIVE_METHOD},
    {"__mul__", b_mul, NATIVE_METHOD},
    {"__rmul__", b_mul, NATIVE_METHOD},
    {"__len__", b_dunder_len, NATIVE_METHOD},
    {"__getitem__", b_dunder_getitem, NATIVE_METHOD},
    {"__contains__", b_dunder_contains, NATIVE_METHOD},
    {"decode", b_decode, NATIVE_METHOD},
    {"hex", b_hex, NATIVE_METHOD},
    {"find", b_find, NATIVE_METHOD},
    {"rfind", b_rfind, NATIVE_METHOD},
    {"index", b_index, NATIVE_METHOD},
    {"rindex", b_rindex, NATIVE_METHOD},
    {"count", b_count, NATIVE_METHOD},
    {"replace", b_replace, NATIVE_METHOD},
    {"startswith", b_startswith, NATIVE_METHOD},
    {"endswith", b_endswith, NATIVE_METHOD},
    {"strip", b_strip, NATIVE_METHOD},
    {"lstrip", b_lstrip, NATIVE_METHOD},
    {"rstrip", b_rstrip, NATIVE_METHOD},
    {"split", b_split, NATIVE_METHOD},
    {"join", b_join, NATIVE_METHOD},
    {"upper", b_upper, NATIVE_METHOD},
    {"lower", b_lower, NATIVE_METHOD},
    {"isdigit", b_isdigit, NATIVE_METHOD},
    {"isalpha", b_isalpha, NATIVE_METHOD},
    {"isalnum", b_isalnum, NATIVE_METHOD},
    {"isspace", b_isspace, NATIVE_METHOD},
    {"isupper", b_isupper, NATIVE_METHOD},
    {"islower", b_islower, NATIVE_METHOD},
};

static const MethodDef BYTEARRAY_METHODS[] = {
    {"append", ba_append, NATIVE_METHOD},
    {"extend", ba_extend, NATIVE_METHOD},
    {"pop", ba_pop, NATIVE_METHOD},
    {"clear", ba_clear, NATIVE_METHOD},
    {"copy", ba_copy, NATIVE_METHOD},
    {"__iadd__", ba_iadd, NATIVE_METHOD},
    {"__setitem__", ba_dunder_setitem, NATIVE_METHOD},
    {"__delitem__", ba_dunder_delitem, NATIVE_METHOD},
    {"fromhex", bytearray_fromhex, NATIVE_CLASSMETHOD},
};

static int add_methods(EddyVM *vm, TypeObject *t, const MethodDef *m, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (type_add_method(vm, t, m[i].name, m[i].fn, m[i].flags) < 0) return -1;
    return 0;
}

static void set_common_slots(TypeObject *t) {
    t->repr = bytes_repr_slot;
    t->richcompare = bytes_richcompare;
    t->len = bytes_len_slot;
    t->truthy = bytes_truthy;
    t->getitem = bytes_getitem;
    t->contains = bytes_contains;
    t->iter = bytes_iter;
}

int bytes_init_types(EddyVM *vm) {
    TypeObject *t =
        type_new_builtin(vm, vm->t_bytes, vm->t_object, sizeof(BytesObject), TPF_BASETYPE);
    if (!t) return -1;
    set_common_slots(t);
    t->new_ = bytes_new_slot;
    t->hash = bytes_hash_slot;
    if (add_methods(vm, t, SHARED_METHODS, NELEMS(SHARED_METHODS)) < 0 ||
        type_add_method(vm, t, "fromhex", bytes_fromhex, NATIVE_CLASSMETHOD) < 0)
        return -1;

    TypeObject *ba =
        type_new_builtin(vm, vm->t_bytearray, vm->t_object, sizeof(ByteArrayObject), TPF_BASETYPE);
    if (!ba) return -1;
    set_common_slots(ba);
    ba->new_ = bytearray_new_slot;
    // No hash slot: type_ready marks it unhashable (bytearray.__hash__ is None).
    ba->setitem = bytearray_setitem;
    ba->finalize = bytearray_finalize;
    if (add_methods(vm, ba, SHARED_METHODS, NELEMS(SHARED_METHODS)) < 0 ||
        add_methods(vm, ba, BYTEARRAY_METHODS, NELEMS(BYTEARRAY_METHODS)) < 0)
        return -1;

    TypeObject *it =
        type_new_builtin(vm, vm->t_bytes_iterator, vm->t_object, sizeof(BytesIterObject), 0);
    if (!it) return -1;
    it->trace = bytes_iter_trace;
    it->iter = iter_self;
    it->next = bytes_iter_next;
    if (type_add_method(vm, it, "__next__", bytes_iter_next_method, NATIVE_METHOD) < 0 ||
        type_add_method(vm, it, "__iter__", bytes_iter_iter_method, NATIVE_METHOD) < 0)
        return -1;
    return 0;
}
