// mod_builtins.c - the builtins module: builtin functions, and the builtin
// types and exception classes bound under their Python names.
//
// Hot builtins (print, len, isinstance, min/max, sum) take fast paths for the
// common unboxed and exact-builtin cases and fall back to the generic
// protocol (vm_* in ops.c) otherwise. Error messages are CPython 3.11's.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "frame.h"
#include "opcodes.h"
#include "vm.h"

// ---------------------------------------------------------------------------
// Small helpers

static bool is_exact_list(EddyVM *vm, Value v) { return is_exact(v, vm->t_list); }
static bool is_exact_tuple(EddyVM *vm, Value v) { return is_exact(v, vm->t_tuple); }

// Decimal text of a small int into buf (>= 24 bytes); returns the length.
static size_t i64_to_dec(int64_t v, char *buf) {
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) buf[len++] = '-';
    while (n) buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

// Keep a few values reachable across calls into script code: reserve slots
// on the VM's root stack and address them by index (the stack may move).
static int roots_reserve(EddyVM *vm, size_t n, size_t *base) {
    *base = vm->roots_len;
    for (size_t i = 0; i < n; i++) {
        if (vm_push_root(vm, VAL_NONE) < 0) {
            vm_pop_roots(vm, i);
            return -1;
        }
    }
    return 0;
}
#define ROOT(base, i) (vm->roots[(base) + (i)])

// Find a keyword argument's value; kwnames entries are interned strs, but
// compare by content so host-built names work too.
static bool kw_is(StrObject *k, const char *name) {
    size_t n = strlen(name);
    return k->len == n && memcmp(k->data, name, n) == 0;
}

static Value current_globals_value(EddyVM *vm);

// obj.name(*args) with a full attribute look-up (instance attributes too),
// as CPython's print()/input() do for file objects.
static Value call_attr(EddyVM *vm, Value obj, StrObject *name, Value *args, int nargs) {
    Value m = vm_getattr(vm, obj, name);
    if (IS_NULL(m)) return VAL_NULL;
    if (vm_push_root(vm, m) < 0) return VAL_NULL;
    Value r = vm_call(vm, m, args, nargs, NULL);
    vm_pop_roots(vm, 1);
    return r;
}

// ---------------------------------------------------------------------------
// print / input

// Write one piece of text to `file`: the native fast path or file.write(s).
static int write_piece(EddyVM *vm, Value file, const char *data, size_t len, Value str) {
    int r = io_write_text(vm, file, data, len);
    if (r != 0) return r < 0 ? -1 : 0;
    if (IS_NULL(str)) {
        StrObject *s = str_new(vm, data, len);
        if (!s) return -1;
        str = v_obj(s);
    }
    Value res = call_attr(vm, file, vm->names.write, &str, 1);
    return IS_NULL(res) ? -1 : 0;
}

static int write_object(EddyVM *vm, Value file, Value v) {
    char buf[40];
    switch (v.tag) {
    case V_INT: {
        size_t n = i64_to_dec(AS_INT(v), buf);
        return write_piece(vm, file, buf, n, VAL_NULL);
    }
    case V_FLOAT: {
        size_t n = float_repr_buf(AS_FLOAT(v), buf, sizeof buf);
        return write_piece(vm, file, buf, n, VAL_NULL);
    }
    case V_NONE: return write_piece(vm, file, "None", 4, VAL_NULL);
    case V_BOOL:
        return AS_BOOL(v) ? write_piece(vm, file, "True", 4, VAL_NULL)
                          : write_piece(vm, file, "False", 5, VAL_NULL);
    default: break;
    }
    if (is_exact(v, vm->t_str)) return write_piece(vm, file, AS_STR(v)->data, AS_STR(v)->len, v);
    Value s = vm_str(vm, v);
    if (IS_NULL(s)) return -1;
    return write_piece(vm, file, AS_STR(s)->data, AS_STR(s)->len, s);
}

static int check_sep(EddyVM *vm, const char *what, Value v, StrObject **out, StrObject *dflt) {
    if (IS_NULL(v) || IS_NONE(v)) {
        *out = dflt;
        return 0;
    }
    if (!is_str(vm, v)) {
        vm_raise(vm, vm->exc_TypeError, "%s must be None or a string, not %T", what, v);
        return -1;
    }
    *out = AS_STR(v);
    return 0;
}

static Value b_print(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    Value sepv = VAL_NULL, endv = VAL_NULL, file = VAL_NULL, flush = VAL_NULL;
    if (kwnames) {
        for (size_t k = 0; k < kwnames->len; k++) {
            StrObject *name = AS_STR(kwnames->items[k]);
            Value v = args[nargs + (int)k];
            if (name == vm->names.sep || kw_is(name, "sep"))
                sepv = v;
            else if (name == vm->names.end || kw_is(name, "end"))
                endv = v;
            else if (name == vm->names.file || kw_is(name, "file"))
                file = v;
            else if (kw_is(name, "flush"))
                flush = v;
            else
                return vm_raise(vm, vm->exc_TypeError,
                                "'%U' is an invalid keyword argument for print()", name);
        }
    }
    StrObject *sep, *end;
    static const char nl = '\n';
    if (check_sep(vm, "sep", sepv, &sep, NULL) < 0 || check_sep(vm, "end", endv, &end, NULL) < 0)
        return VAL_NULL;
    if (IS_NULL(file) || IS_NONE(file)) {
        file = vm->sys ? dict_get_str(vm->sys->dict, vm->names.stdout) : VAL_NULL;
        // CPython: print() does nothing when sys.stdout is None.
        if (IS_NULL(file) || IS_NONE(file)) return VAL_NONE;
    }
    // The file stays reachable even if a __str__ rebinds sys.stdout.
    if (vm_push_root(vm, file) < 0) return VAL_NULL;
    Value result = VAL_NULL;
    for (int i = 0; i < nargs; i++) {
        if (i > 0) {
            if (sep ? write_piece(vm, file, sep->data, sep->len, v_obj(sep)) < 0
                    : write_piece(vm, file, " ", 1, VAL_NULL) < 0)
                goto done;
        }
        if (write_object(vm, file, args[i]) < 0) goto done;
    }
    if (end ? write_piece(vm, file, end->data, end->len, v_obj(end)) < 0
            : write_piece(vm, file, &nl, 1, VAL_NULL) < 0)
        goto done;
    if (!IS_NULL(flush)) {
        int t = vm_truthy(vm, flush);
        if (t < 0) goto done;
        if (t) {
            int r = io_flush_file(vm, file);
            if (r < 0) goto done;
            if (r == 0 && IS_NULL(call_attr(vm, file, vm->names.flush, NULL, 0))) goto done;
        }
    }
    result = VAL_NONE;
done:
    vm_pop_roots(vm, 1);
    return result;
}

static Value sys_attr(EddyVM *vm, StrObject *name, const char *what) {
    Value v = vm->sys ? dict_get_str(vm->sys->dict, name) : VAL_NULL;
    if (IS_NULL(v) || IS_NONE(v))
        return vm_raise(vm, vm->exc_RuntimeError, "input(): lost %s", what);
    return v;
}

static Value b_input(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "input", kwnames) < 0 || args_count(vm, "input", nargs, 0, 1) < 0)
        return VAL_NULL;
    Value in = sys_attr(vm, vm->names.stdin, "sys.stdin");
    if (IS_NULL(in)) return VAL_NULL;
    Value out = sys_attr(vm, vm->names.stdout, "sys.stdout");
    if (IS_NULL(out)) return VAL_NULL;
    size_t base;
    if (roots_reserve(vm, 2, &base) < 0) return VAL_NULL;
    ROOT(base, 0) = in;
    ROOT(base, 1) = out;
    Value result = VAL_NULL;
    // Flush stderr, then write the prompt, then flush stdout (CPython order).
    Value err = vm->sys ? dict_get_str(vm->sys->dict, vm->names.stderr) : VAL_NULL;
    if (!IS_NULL(err) && !IS_NONE(err)) {
        int r = io_flush_file(vm, err);
        if (r < 0) goto done;
        if (r == 0 && IS_NULL(call_attr(vm, err, vm->names.flush, NULL, 0))) vm_err_clear(vm);
    }
    if (nargs == 1) {
        if (write_object(vm, out, args[0]) < 0) goto done;
    }
    {
        int r = io_flush_file(vm, out);
        if (r < 0) goto done;
        if (r == 0 && IS_NULL(call_attr(vm, out, vm->names.flush, NULL, 0))) vm_err_clear(vm);
    }
    Value line = io_readline_text(vm, in);
    if (IS_NULL(line)) goto done;
    if (IS_NONE(line)) {
        line = call_attr(vm, in, vm->names.readline, NULL, 0);
        if (IS_NULL(line)) goto done;
        if (!is_str(vm, line)) {
            vm_raise(vm, vm->exc_TypeError, "object.readline() returned non-string");
            goto done;
        }
    }
    StrObject *s = AS_STR(line);
    if (s->len == 0) {
        vm_raise(vm, vm->exc_EOFError, "EOF when reading a line");
        goto done;
    }
    if (s->data[s->len - 1] == '\n') {
        StrObject *t = str_new(vm, s->data, s->len - 1);
        if (!t) goto done;
        result = v_obj(t);
    } else {
        result = line;
    }
done:
    vm_pop_roots(vm, 2);
    return result;
}

// ---------------------------------------------------------------------------
// Simple one-argument builtins

static Value b_len(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (EDDY_UNLIKELY(nargs != 1 || kwnames)) {
        if (args_no_kw(vm, "len", kwnames) < 0) return VAL_NULL;
        if (args_count(vm, "len", nargs, 1, 1) < 0) return VAL_NULL;
    }
    Value v = args[0];
    if (IS_OBJ(v)) {
        TypeObject *t = OBJ_TYPE(AS_OBJ(v));
        if (t == vm->t_str) return v_int((int64_t)AS_STR(v)->ncp);
        if (t == vm->t_list) return v_int((int64_t)AS_LIST(v)->len);
        if (t == vm->t_tuple) return v_int((int64_t)AS_TUPLE(v)->len);
        if (t == vm->t_dict) return v_int((int64_t)AS_DICT(v)->len);
    }
    int64_t n = vm_len(vm, v);
    return n < 0 ? VAL_NULL : v_int(n);
}

static Value b_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "repr", kwnames) < 0 || args_count(vm, "repr", nargs, 1, 1) < 0)
        return VAL_NULL;
    return vm_repr(vm, args[0]);
}

static Value b_ascii(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "ascii", kwnames) < 0 || args_count(vm, "ascii", nargs, 1, 1) < 0)
        return VAL_NULL;
    return vm_ascii(vm, args[0]);
}

// Call the dunder `name` of v's type if it has one; *found tells whether.
static Value call_dunder(EddyVM *vm, Value v, StrObject *name, Value *extra, int nextra,
                         bool *found) {
    Value meth = type_lookup(vm, vm_type_of(vm, v), name);
    *found = !IS_NULL(meth);
    if (!*found) return VAL_NULL;
    return vm_call_method(vm, v, name, extra, nextra);
}

static Value b_abs(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "abs", kwnames) < 0 || args_count(vm, "abs", nargs, 1, 1) < 0)
        return VAL_NULL;
    Value v = args[0];
    if (IS_INT(v)) {
        if (AS_INT(v) >= 0) return v;
        if (AS_INT(v) != INT64_MIN) return v_int(-AS_INT(v));
        return int_neg(vm, v);
    }
    if (IS_FLOAT(v)) return v_float(fabs(AS_FLOAT(v)));
    if (IS_BOOL(v)) return v_int(AS_BOOL(v));
    bool found;
    Value r = call_dunder(vm, v, vm->names.__abs__, NULL, 0, &found);
    if (!found) return vm_raise(vm, vm->exc_TypeError, "bad operand type for abs(): '%T'", v);
    return r;
}

static Value b_callable(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "callable", kwnames) < 0 || args_count(vm, "callable", nargs, 1, 1) < 0)
        return VAL_NULL;
    return v_bool(vm_type_of(vm, args[0])->call != NULL);
}

static Value b_hash(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "hash", kwnames) < 0 || args_count(vm, "hash", nargs, 1, 1) < 0)
        return VAL_NULL;
    int64_t h;
    if (vm_hash(vm, args[0], &h) < 0) return VAL_NULL;
    return v_int(h);
}

// id(): the address for heap objects. Unboxed values have no address; give
// them a stable number derived from tag and payload (odd, so it never equals
// an object address, which is aligned).
static Value b_id(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "id", kwnames) < 0 || args_count(vm, "id", nargs, 1, 1) < 0) return VAL_NULL;
    Value v = args[0];
    if (IS_OBJ(v)) return int_from_u64(vm, (uint64_t)(uintptr_t)AS_OBJ(v));
    uint64_t payload = IS_NONE(v) ? 0 : IS_BOOL(v) ? (uint64_t)AS_BOOL(v) : (uint64_t)v.as.i;
    uint64_t x = (payload * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)v.tag << 56);
    return int_from_u64(vm, (x << 1) | 1);
}

static Value b_chr(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "chr", kwnames) < 0 || args_count(vm, "chr", nargs, 1, 1) < 0)
        return VAL_NULL;
    int64_t c;
    if (IS_INT(args[0])) {
        c = AS_INT(args[0]);
    } else if (vm_index_i64(vm, args[0], &c) < 0) {
        if (vm_err_matches(vm, vm->exc_OverflowError) || vm_err_matches(vm, vm->exc_IndexError)) {
            vm_err_clear(vm);
            return vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C int");
        }
        return VAL_NULL;
    }
    if (c < INT32_MIN || c > INT32_MAX)
        return vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C int");
    if (c < 0 || c > 0x10FFFF)
        return vm_raise(vm, vm->exc_ValueError, "chr() arg not in range(0x110000)");
    if (c < 128 && vm->char_cache[c]) return v_obj(vm->char_cache[c]);
    char buf[4];
    size_t n;
    if (c < 0x80) {
        buf[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        buf[0] = (char)(0xC0 | (c >> 6));
        buf[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        buf[0] = (char)(0xE0 | (c >> 12));
        buf[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        buf[0] = (char)(0xF0 | (c >> 18));
        buf[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        buf[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    StrObject *s = str_new(vm, buf, n);
    return s ? v_obj(s) : VAL_NULL;
}

static Value b_ord(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "ord", kwnames) < 0 || args_count(vm, "ord", nargs, 1, 1) < 0)
        return VAL_NULL;
    Value v = args[0];
    if (is_str(vm, v)) {
        StrObject *s = AS_STR(v);
        if (s->ncp != 1)
            return vm_raise(vm, vm->exc_TypeError,
                            "ord() expected a character, but string of length %zu found", s->ncp);
        const unsigned char *p = (const unsigned char *)s->data;
        uint32_t c;
        if (p[0] < 0x80)
            c = p[0];
        else if (p[0] < 0xE0)
            c = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        else if (p[0] < 0xF0)
            c = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        else
            c = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
                ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
        return v_int(c);
    }
    if (is_bytes(vm, v)) {
        size_t len;
        const uint8_t *d = bytes_data(v, &len);
        if (len != 1)
            return vm_raise(vm, vm->exc_TypeError,
                            "ord() expected a character, but string of length %zu found", len);
        return v_int(d[0]);
    }
    return vm_raise(vm, vm->exc_TypeError, "ord() expected string of length 1, but %T found", v);
}

// hex / oct / bin: "0x" prefix after the sign.
static Value int_with_prefix(EddyVM *vm, const char *fname, Value v, int base, const char *prefix) {
    Value i = IS_INT(v) ? v : vm_index(vm, v);
    if (IS_NULL(i)) return VAL_NULL;
    if (IS_INT(i)) {
        char buf[80];
        int64_t x = AS_INT(i);
        uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
        char digits[70];
        size_t n = 0;
        do {
            digits[n++] = "0123456789abcdef"[u % (uint64_t)base];
            u /= (uint64_t)base;
        } while (u);
        size_t len = 0;
        if (x < 0) buf[len++] = '-';
        buf[len++] = prefix[0];
        buf[len++] = prefix[1];
        while (n) buf[len++] = digits[--n];
        StrObject *s = str_new(vm, buf, len);
        return s ? v_obj(s) : VAL_NULL;
    }
    Value digits = int_to_str(vm, i, base);
    if (IS_NULL(digits)) return VAL_NULL;
    StrObject *d = AS_STR(digits);
    StrObject *s;
    if (d->len > 0 && d->data[0] == '-') {
        StrObject *rest = str_new(vm, d->data + 1, d->len - 1);
        if (!rest) return VAL_NULL;
        s = str_format(vm, "-%s%U", prefix, rest);
    } else {
        s = str_format(vm, "%s%U", prefix, d);
    }
    return s ? v_obj(s) : VAL_NULL;
}

static Value b_hex(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "hex", kwnames) < 0 || args_count(vm, "hex", nargs, 1, 1) < 0)
        return VAL_NULL;
    return int_with_prefix(vm, "hex", args[0], 16, "0x");
}

static Value b_oct(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "oct", kwnames) < 0 || args_count(vm, "oct", nargs, 1, 1) < 0)
        return VAL_NULL;
    return int_with_prefix(vm, "oct", args[0], 8, "0o");
}

static Value b_bin(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "bin", kwnames) < 0 || args_count(vm, "bin", nargs, 1, 1) < 0)
        return VAL_NULL;
    return int_with_prefix(vm, "bin", args[0], 2, "0b");
}

static Value b_format(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "format", kwnames) < 0 || args_count(vm, "format", nargs, 1, 2) < 0)
        return VAL_NULL;
    Value spec = nargs > 1 ? args[1] : v_obj(vm->names.empty);
    if (!is_str(vm, spec))
        return vm_raise(vm, vm->exc_TypeError, "format() argument 2 must be str, not %T", spec);
    return vm_format(vm, args[0], spec);
}

// ---------------------------------------------------------------------------
// Iteration: iter, next, any, all, min, max, sum, sorted

static Value b_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "iter", kwnames) < 0 || args_count(vm, "iter", nargs, 1, 2) < 0)
        return VAL_NULL;
    if (nargs == 1) return vm_iter(vm, args[0]);
    if (vm_type_of(vm, args[0])->call == NULL)
        return vm_raise(vm, vm->exc_TypeError, "iter(v, w): v must be callable");
    return iter_callable_new(vm, args[0], args[1]);
}

static Value b_next(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "next", kwnames) < 0 || args_count(vm, "next", nargs, 1, 2) < 0)
        return VAL_NULL;
    TypeObject *t = vm_type_of(vm, args[0]);
    if (!t->next) return vm_raise(vm, vm->exc_TypeError, "'%T' object is not an iterator", args[0]);
    Value item;
    int r = vm_next(vm, args[0], &item);
    if (r > 0) return item;
    if (r < 0) return VAL_NULL;
    if (nargs == 2) return args[1];
    return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
}

static Value any_all(EddyVM *vm, const char *fname, Value *args, int nargs, TupleObject *kwnames,
                     bool want) {
    if (args_no_kw(vm, fname, kwnames) < 0 || args_count(vm, fname, nargs, 1, 1) < 0)
        return VAL_NULL;
    Value it = vm_iter(vm, args[0]);
    if (IS_NULL(it)) return VAL_NULL;
    if (vm_push_root(vm, it) < 0) return VAL_NULL;
    Value result = v_bool(!want), item;
    int r;
    while ((r = vm_next(vm, it, &item)) > 0) {
        int t = vm_truthy(vm, item);
        if (t < 0) {
            result = VAL_NULL;
            break;
        }
        if ((t != 0) == want) {
            result = v_bool(want);
            break;
        }
    }
    if (r < 0) result = VAL_NULL;
    vm_pop_roots(vm, 1);
    return result;
}

static Value b_any(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return any_all(vm, "any", args, nargs, kwnames, true);
}

static Value b_all(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return any_all(vm, "all", args, nargs, kwnames, false);
}

// min() and max(): op is CMP_LT for min, CMP_GT for max.
static Value min_max(EddyVM *vm, const char *fname, Value *args, int nargs, TupleObject *kwnames,
                     int op) {
    Value key = VAL_NULL, dflt = VAL_NULL;
    if (nargs == 0)
        return vm_raise(vm, vm->exc_TypeError, "%s expected at least 1 argument, got 0", fname);
    if (kwnames) {
        for (size_t k = 0; k < kwnames->len; k++) {
            StrObject *name = AS_STR(kwnames->items[k]);
            if (kw_is(name, "key"))
                key = args[nargs + (int)k];
            else if (kw_is(name, "default"))
                dflt = args[nargs + (int)k];
            else
                return vm_raise(vm, vm->exc_TypeError,
                                "'%U' is an invalid keyword argument for %s()", name, fname);
        }
    }
    if (nargs > 1 && !IS_NULL(dflt))
        return vm_raise(vm, vm->exc_TypeError,
                        "Cannot specify a default for %s() with multiple positional arguments",
                        fname);
    if (!IS_NULL(key) && IS_NONE(key)) key = VAL_NULL;
    Value seq = nargs == 1 ? args[0] : VAL_NULL;
    // Roots: 0 iterator, 1 best item, 2 best key.
    size_t base;
    if (roots_reserve(vm, 3, &base) < 0) return VAL_NULL;
    Value result = VAL_NULL;
    bool have = false;
    Value it = VAL_NULL;
    if (nargs == 1) {
        it = vm_iter(vm, seq);
        if (IS_NULL(it)) goto done;
        ROOT(base, 0) = it;
    }
    for (int i = 0;; i++) {
        Value item;
        if (nargs == 1) {
            int r = vm_next(vm, ROOT(base, 0), &item);
            if (r < 0) goto done;
            if (r == 0) break;
        } else {
            if (i >= nargs) break;
            item = args[i];
        }
        Value k = item;
        if (!IS_NULL(key)) {
            if (vm_push_root(vm, item) < 0) goto done;
            k = vm_call1(vm, key, item);
            vm_pop_roots(vm, 1);
            if (IS_NULL(k)) goto done;
        }
        if (!have) {
            ROOT(base, 1) = item;
            ROOT(base, 2) = k;
            have = true;
            continue;
        }
        int better;
        Value bk = ROOT(base, 2);
        if (IS_INT(k) && IS_INT(bk)) {
            better = op == CMP_LT ? AS_INT(k) < AS_INT(bk) : AS_INT(k) > AS_INT(bk);
        } else if (IS_FLOAT(k) && IS_FLOAT(bk)) {
            better = op == CMP_LT ? AS_FLOAT(k) < AS_FLOAT(bk) : AS_FLOAT(k) > AS_FLOAT(bk);
        } else {
            if (vm_push_root(vm, item) < 0) goto done;
            if (vm_push_root(vm, k) < 0) {
                vm_pop_roots(vm, 1);
                goto done;
            }
            better = vm_compare_bool(vm, k, bk, op);
            vm_pop_roots(vm, 2);
            if (better < 0) goto done;
        }
        if (better) {
            ROOT(base, 1) = item;
            ROOT(base, 2) = k;
        }
    }
    if (have) {
        result = ROOT(base, 1);
    } else if (!IS_NULL(dflt)) {
        result = dflt;
    } else {
        vm_raise(vm, vm->exc_ValueError, "%s() arg is an empty sequence", fname);
    }
done:
    vm_pop_roots(vm, 3);
    return result;
}

static Value b_min(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return min_max(vm, "min", args, nargs, kwnames, CMP_LT);
}

static Value b_max(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return min_max(vm, "max", args, nargs, kwnames, CMP_GT);
}

// Generic sum step: acc + item through the full operator protocol.
// sum(): add item to the accumulator ROOT(base, 1). 0 / -1.
static int sum_add(EddyVM *vm, size_t base, Value item) {
    Value acc = ROOT(base, 1);
    // Fast paths: small ints without overflow, floats (plain addition,
    // as CPython 3.11 does).
    if (IS_INT(acc) && IS_INT(item)) {
        int64_t s;
        if (!__builtin_add_overflow(AS_INT(acc), AS_INT(item), &s)) {
            ROOT(base, 1) = v_int(s);
            return 0;
        }
    } else if (IS_FLOAT(acc)) {
        if (IS_FLOAT(item)) {
            ROOT(base, 1) = v_float(AS_FLOAT(acc) + AS_FLOAT(item));
            return 0;
        }
        if (IS_INT(item)) {
            ROOT(base, 1) = v_float(AS_FLOAT(acc) + (double)AS_INT(item));
            return 0;
        }
    } else if (IS_INT(acc) && IS_FLOAT(item)) {
        ROOT(base, 1) = v_float((double)AS_INT(acc) + AS_FLOAT(item));
        return 0;
    }
    if (vm_push_root(vm, item) < 0) return -1;
    Value s = vm_binary_op(vm, BINOP_ADD, acc, item);
    vm_pop_roots(vm, 1);
    if (IS_NULL(s)) return -1;
    ROOT(base, 1) = s;
    return 0;
}

static int sum_item(EddyVM *vm, Value item, void *ud) {
    return sum_add(vm, *(size_t *)ud, item) < 0 ? -1 : 0;
}

static Value b_sum(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    static const char *const names[] = {"", "start"};
    Value a[2];
    if (args_parse(vm, "sum", args, nargs, kwnames, names, 2, 2, 1, a) < 0) return VAL_NULL;
    Value start = a[1];
    if (IS_NULL(start)) start = v_int(0);
    if (is_str(vm, start))
        return vm_raise(vm, vm->exc_TypeError,
                        "sum() can't sum strings [use ''.join(seq) instead]");
    if (IS_OBJ(start) && type_is_subtype(OBJ_TYPE(AS_OBJ(start)), vm->t_bytearray))
        return vm_raise(vm, vm->exc_TypeError,
                        "sum() can't sum bytearray [use b''.join(seq) instead]");
    if (is_bytes(vm, start))
        return vm_raise(vm, vm->exc_TypeError, "sum() can't sum bytes [use b''.join(seq) instead]");

    Value seq = args[0];
    // Roots: 0 iterator (or the sequence), 1 accumulator.
    size_t base;
    if (roots_reserve(vm, 2, &base) < 0) return VAL_NULL;
    ROOT(base, 1) = start;
    Value result = VAL_NULL;
    bool indexed = is_exact_list(vm, seq) || is_exact_tuple(vm, seq);
    size_t idx = 0;
    if (indexed) {
        ROOT(base, 0) = seq;
    } else {
        Value it = vm_iter(vm, seq);
        if (IS_NULL(it)) goto done;
        ROOT(base, 0) = it;
        if (is_exact(it, vm->t_generator)) {
            // A generator runs in one dispatch loop, handing over its items.
            if (gen_foreach(vm, (GenObject *)AS_OBJ(it), sum_item, &base) < 0) goto done;
            result = ROOT(base, 1);
            goto done;
        }
    }
    for (;;) {
        Value item;
        if (indexed) {
            Value s = ROOT(base, 0);
            size_t len = is_exact_list(vm, s) ? AS_LIST(s)->len : AS_TUPLE(s)->len;
            if (idx >= len) break;
            item = is_exact_list(vm, s) ? AS_LIST(s)->items[idx] : AS_TUPLE(s)->items[idx];
            idx++;
        } else {
            int r = vm_next(vm, ROOT(base, 0), &item);
            if (r < 0) goto done;
            if (r == 0) break;
        }
        if (sum_add(vm, base, item) < 0) goto done;
    }
    result = ROOT(base, 1);
done:
    vm_pop_roots(vm, 2);
    return result;
}

static Value b_sorted(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (nargs != 1)
        return vm_raise(vm, vm->exc_TypeError, "sorted expected 1 argument, got %d", nargs);
    // As in CPython: build the list first, then list.sort(key=, reverse=).
    Value list = vm_sequence_to_list(vm, args[0]);
    if (IS_NULL(list)) return VAL_NULL;
    if (v_is(list, args[0])) {
        // sorted() never sorts its argument in place.
        ListObject *copy = list_from(vm, AS_LIST(list)->items, AS_LIST(list)->len);
        if (!copy) return VAL_NULL;
        list = v_obj(copy);
    }
    if (vm_push_root(vm, list) < 0) return VAL_NULL;
    Value result = VAL_NULL;
    Value key = VAL_NONE;
    bool reverse = false;
    if (kwnames) {
        for (size_t k = 0; k < kwnames->len; k++) {
            StrObject *name = AS_STR(kwnames->items[k]);
            Value v = args[nargs + (int)k];
            if (kw_is(name, "key")) {
                key = v;
            } else if (kw_is(name, "reverse")) {
                if (IS_FLOAT(v)) {
                    vm_raise(vm, vm->exc_TypeError,
                             "'float' object cannot be interpreted as an integer");
                    goto done;
                }
                int t = vm_truthy(vm, v);
                if (t < 0) goto done;
                reverse = t;
            } else {
                vm_raise(vm, vm->exc_TypeError, "'%U' is an invalid keyword argument for sort()",
                         name);
                goto done;
            }
        }
    }
    if (list_sort(vm, AS_LIST(list), key, reverse) == 0) result = list;
done:
    vm_pop_roots(vm, 1);
    return result;
}

// ---------------------------------------------------------------------------
// Types and attributes

static Value b_isinstance(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (EDDY_UNLIKELY(nargs != 2 || kwnames)) {
        if (args_no_kw(vm, "isinstance", kwnames) < 0) return VAL_NULL;
        if (args_count(vm, "isinstance", nargs, 2, 2) < 0) return VAL_NULL;
    }
    // Fast path: exact type match with a class (no __instancecheck__ needed).
    Value cls = args[1];
    if (is_type(vm, cls) && vm_type_of(vm, args[0]) == AS_TYPE(cls)) return VAL_TRUE;
    int r = vm_isinstance(vm, args[0], cls);
    return r < 0 ? VAL_NULL : v_bool(r);
}

static Value b_issubclass(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "issubclass", kwnames) < 0 || args_count(vm, "issubclass", nargs, 2, 2) < 0)
        return VAL_NULL;
    int r = vm_issubclass(vm, args[0], args[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}

static StrObject *attr_name(EddyVM *vm, Value v) {
    if (!is_str(vm, v)) {
        vm_raise(vm, vm->exc_TypeError, "attribute name must be string, not '%T'", v);
        return NULL;
    }
    // Interned names make the look-up fast (pointer comparison in dicts).
    StrObject *s = AS_STR(v);
    if (s->interned) return s;
    return str_intern_obj(vm, s);
}

static Value b_getattr(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "getattr", kwnames) < 0 || args_count(vm, "getattr", nargs, 2, 3) < 0)
        return VAL_NULL;
    StrObject *name = attr_name(vm, args[1]);
    if (!name) return VAL_NULL;
    if (nargs == 2) return vm_getattr(vm, args[0], name);
    Value out;
    int r = vm_getattr_opt(vm, args[0], name, &out);
    if (r < 0) return VAL_NULL;
    return r ? out : args[2];
}

static Value b_setattr(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "setattr", kwnames) < 0 || args_count(vm, "setattr", nargs, 3, 3) < 0)
        return VAL_NULL;
    StrObject *name = attr_name(vm, args[1]);
    if (!name) return VAL_NULL;
    return vm_setattr(vm, args[0], name, args[2]) < 0 ? VAL_NULL : VAL_NONE;
}

static Value b_delattr(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "delattr", kwnames) < 0 || args_count(vm, "delattr", nargs, 2, 2) < 0)
        return VAL_NULL;
    StrObject *name = attr_name(vm, args[1]);
    if (!name) return VAL_NULL;
    return vm_setattr(vm, args[0], name, VAL_NULL) < 0 ? VAL_NULL : VAL_NONE;
}

static Value b_hasattr(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "hasattr", kwnames) < 0 || args_count(vm, "hasattr", nargs, 2, 2) < 0)
        return VAL_NULL;
    StrObject *name = attr_name(vm, args[1]);
    if (!name) return VAL_NULL;
    Value out;
    int r = vm_getattr_opt(vm, args[0], name, &out);
    return r < 0 ? VAL_NULL : v_bool(r);
}

// ---------------------------------------------------------------------------
// Numbers: round, divmod, pow

// Round a double to ndigits decimal places, correctly rounded (half-even on
// the exact binary value), as CPython's dtoa-based double_round does: the C
// library's %f / %e conversions round exactly, so print and parse back.
static double round_double(double x, int64_t ndigits) {
    if (!isfinite(x) || x == 0.0) return x;
    if (ndigits > 323) return x;
    if (ndigits < -308) return 0.0 * x;
    char buf[700]; // 309 integer digits + 323 decimals at most
    if (ndigits >= 0) {
        snprintf(buf, sizeof buf, "%.*f", (int)ndigits, x);
        return strtod(buf, NULL);
    }
    // Negative ndigits: keep (decimal exponent + ndigits + 1) significant digits.
    snprintf(buf, sizeof buf, "%.17e", x);
    const char *e = strchr(buf, 'e');
    int e10 = e ? atoi(e + 1) : 0;
    int64_t sig = (int64_t)e10 + ndigits + 1;
    if (sig >= 1) {
        snprintf(buf, sizeof buf, "%.*e", (int)(sig - 1), x);
        return strtod(buf, NULL);
    }
    // |x| < 10**-ndigits: the result is 0 or +-10**-ndigits (ties go to 0).
    double p = pow(10.0, (double)-ndigits);
    return fabs(x) > p / 2 ? copysign(p, x) : copysign(0.0, x);
}

static Value b_round(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    static const char *const names[] = {"number", "ndigits"};
    Value a[2];
    if (args_parse(vm, "round", args, nargs, kwnames, names, 2, 2, 1, a) < 0) return VAL_NULL;
    Value x = a[0];
    bool has_nd = !IS_NULL(a[1]) && !IS_NONE(a[1]);
    if (IS_FLOAT(x)) {
        double d = AS_FLOAT(x);
        if (!has_nd) {
            if (isnan(d))
                return vm_raise(vm, vm->exc_ValueError, "cannot convert float NaN to integer");
            if (isinf(d))
                return vm_raise(vm, vm->exc_OverflowError,
                                "cannot convert float infinity to integer");
            double r = nearbyint(d); // the default rounding mode is half-to-even
            if (fabs(r) < 9.2e18) return v_int((int64_t)r);
            return int_from_double(vm, r);
        }
        int64_t nd;
        if (vm_index_i64(vm, a[1], &nd) < 0) {
            if (!vm_err_matches(vm, vm->exc_OverflowError) &&
                !vm_err_matches(vm, vm->exc_IndexError))
                return VAL_NULL;
            vm_err_clear(vm);
            nd = int_sign(a[1]) < 0 ? INT64_MIN : INT64_MAX;
        }
        double r = round_double(d, nd);
        if (isinf(r) && isfinite(d))
            return vm_raise(vm, vm->exc_OverflowError, "rounded value too large to represent");
        return v_float(r);
    }
    if (IS_INT(x) || IS_BOOL(x)) {
        int64_t xi = IS_BOOL(x) ? AS_BOOL(x) : AS_INT(x);
        if (!has_nd) return v_int(xi);
        int64_t nd;
        if (vm_index_i64(vm, a[1], &nd) < 0) return VAL_NULL;
        if (nd >= 0) return v_int(xi);
        if (nd < -18) return v_int(0);
        int64_t p = 1;
        for (int64_t i = 0; i < -nd; i++) p *= 10;
        // Round half to even on exact integers.
        int64_t q = xi / p, r = xi % p;
        if (r < 0) {
            q -= 1;
            r += p;
        }
        if (r > p - r || (r == p - r && (q & 1))) q += 1;
        int64_t out;
        if (__builtin_mul_overflow(q, p, &out)) {
            Value extra = a[1];
            bool found;
            return call_dunder(vm, x, vm->names.__round__, &extra, 1, &found);
        }
        return v_int(out);
    }
    bool found;
    Value r =
        call_dunder(vm, x, vm->names.__round__, has_nd ? &a[1] : NULL, has_nd ? 1 : 0, &found);
    if (!found)
        return vm_raise(vm, vm->exc_TypeError, "type %s doesn't define __round__ method",
                        vm_type_name(vm, x));
    return r;
}

static Value b_divmod(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "divmod", kwnames) < 0 || args_count(vm, "divmod", nargs, 2, 2) < 0)
        return VAL_NULL;
    Value a = args[0], b = args[1];
    Value q, r;
    if (is_int(vm, a) && is_int(vm, b)) {
        q = int_floordiv(vm, a, b);
        if (IS_NULL(q)) return VAL_NULL;
        r = int_mod(vm, a, b);
        if (IS_NULL(r)) return VAL_NULL;
    } else if ((IS_FLOAT(a) || is_int(vm, a)) && (IS_FLOAT(b) || is_int(vm, b)) &&
               (IS_FLOAT(a) || IS_FLOAT(b))) {
        double x, y;
        if (float_from_value(vm, a, &x) < 0 || float_from_value(vm, b, &y) < 0) return VAL_NULL;
        if (y == 0.0) return vm_raise(vm, vm->exc_ZeroDivisionError, "float divmod()");
        q = float_floordiv(vm, x, y);
        if (IS_NULL(q)) return VAL_NULL;
        r = float_mod(vm, x, y);
        if (IS_NULL(r)) return VAL_NULL;
    } else {
        // The __divmod__ / __rdivmod__ protocol.
        TypeObject *ta = vm_type_of(vm, a), *tb = vm_type_of(vm, b);
        Value m = type_lookup(vm, ta, vm->names.__divmod__);
        if (!IS_NULL(m)) {
            Value res = vm_call_method(vm, a, vm->names.__divmod__, &b, 1);
            if (IS_NULL(res) || !v_is(res, vm->not_implemented)) return res;
        }
        if (tb != ta) {
            m = type_lookup(vm, tb, vm->names.__rdivmod__);
            if (!IS_NULL(m)) {
                Value res = vm_call_method(vm, b, vm->names.__rdivmod__, &a, 1);
                if (IS_NULL(res) || !v_is(res, vm->not_implemented)) return res;
            }
        }
        return vm_raise(vm, vm->exc_TypeError,
                        "unsupported operand type(s) for divmod(): '%T' and '%T'", a, b);
    }
    Value items[2] = {q, r};
    TupleObject *t = tuple_from(vm, items, 2);
    return t ? v_obj(t) : VAL_NULL;
}

static Value b_pow(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    static const char *const names[] = {"base", "exp", "mod"};
    Value a[3];
    if (args_parse(vm, "pow", args, nargs, kwnames, names, 3, 3, 2, a) < 0) return VAL_NULL;
    if (IS_NULL(a[2]) || IS_NONE(a[2])) return vm_binary_op(vm, BINOP_POW, a[0], a[1]);
    if (is_int(vm, a[0]) && is_int(vm, a[1]) && is_int(vm, a[2]))
        return int_pow(vm, a[0], a[1], a[2]);
    if (IS_FLOAT(a[0]) || IS_FLOAT(a[1]) || IS_FLOAT(a[2]))
        return vm_raise(vm, vm->exc_TypeError,
                        "pow() 3rd argument not allowed unless all arguments are integers");
    Value m = type_lookup(vm, vm_type_of(vm, a[0]), vm->names.__pow__);
    if (!IS_NULL(m)) {
        Value extra[2] = {a[1], a[2]};
        Value r = vm_call_method(vm, a[0], vm->names.__pow__, extra, 2);
        if (IS_NULL(r) || !v_is(r, vm->not_implemented)) return r;
    }
    return vm_raise(vm, vm->exc_TypeError,
                    "unsupported operand type(s) for ** or pow(): '%T', '%T', '%T'", a[0], a[1],
                    a[2]);
}

// ---------------------------------------------------------------------------
// Namespaces: globals, locals, vars, dir

static Value current_globals_value(EddyVM *vm) {
    Frame *f = vm_current_frame(vm);
    if (f && f->globals) return v_obj(f->globals);
    StrObject *main = vm->names.__main__;
    Value m = vm->modules ? dict_get_str(vm->modules, main) : VAL_NULL;
    if (!IS_NULL(m) && IS_OBJ(m) && OBJ_TYPE(AS_OBJ(m)) == vm->t_module)
        return v_obj(((ModuleObject *)AS_OBJ(m))->dict);
    DictObject *d = dict_new(vm);
    return d ? v_obj(d) : VAL_NULL;
}

// A snapshot of a function frame's fast locals and cells (CPython 3.11's
// locals() in a function).
static Value frame_locals(EddyVM *vm, Frame *f) {
    if (f->locals) return v_obj(f->locals);
    DictObject *d = dict_new(vm);
    if (!d) return VAL_NULL;
    CodeObject *co = f->code;
    for (uint32_t i = 0; i < co->nlocals && co->varnames && i < co->varnames->len; i++) {
        Value v = f->localsplus[i];
        if (IS_NULL(v)) continue;
        if (dict_set_str(vm, d, AS_STR(co->varnames->items[i]), v) < 0) return VAL_NULL;
    }
    for (uint32_t j = 0; j < co->ncells + co->nfrees; j++) {
        TupleObject *names = j < co->ncells ? co->cellvars : co->freevars;
        uint32_t k = j < co->ncells ? j : j - co->ncells;
        if (!names || k >= names->len) continue;
        Value c = f->localsplus[co->nlocals + j];
        if (!IS_OBJ(c) || OBJ_TYPE(AS_OBJ(c)) != vm->t_cell) continue;
        Value v = ((CellObject *)AS_OBJ(c))->value;
        if (IS_NULL(v)) continue;
        if (dict_set_str(vm, d, AS_STR(names->items[k]), v) < 0) return VAL_NULL;
    }
    return v_obj(d);
}

static Value current_locals_value(EddyVM *vm) {
    Frame *f = vm_current_frame(vm);
    if (!f) return current_globals_value(vm);
    return frame_locals(vm, f);
}

static Value b_globals(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "globals", kwnames) < 0 || args_count(vm, "globals", nargs, 0, 0) < 0)
        return VAL_NULL;
    return current_globals_value(vm);
}

static Value b_locals(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "locals", kwnames) < 0 || args_count(vm, "locals", nargs, 0, 0) < 0)
        return VAL_NULL;
    return current_locals_value(vm);
}

static Value b_vars(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "vars", kwnames) < 0 || args_count(vm, "vars", nargs, 0, 1) < 0)
        return VAL_NULL;
    if (nargs == 0) return current_locals_value(vm);
    Value d;
    int r = vm_getattr_opt(vm, args[0], vm->names.__dict__, &d);
    if (r < 0) return VAL_NULL;
    if (r == 0)
        return vm_raise(vm, vm->exc_TypeError, "vars() argument must have __dict__ attribute");
    return d;
}

// Add every key of dict d to the set-like dict `seen`.
static int merge_keys(EddyVM *vm, DictObject *seen, DictObject *d) {
    size_t pos = 0;
    Value k, v;
    while (dict_next(d, &pos, &k, &v)) {
        if (dict_set(vm, seen, k, VAL_NONE) < 0) return -1;
    }
    return 0;
}

// object.__dir__ fallback: instance __dict__ plus the attributes of the
// class and its bases; for a class, its MRO's attributes.
static Value default_dir(EddyVM *vm, Value obj) {
    DictObject *seen = dict_new(vm);
    if (!seen) return VAL_NULL;
    if (IS_OBJ(obj) && type_is_subtype(OBJ_TYPE(AS_OBJ(obj)), vm->t_module)) {
        if (merge_keys(vm, seen, ((ModuleObject *)AS_OBJ(obj))->dict) < 0) return VAL_NULL;
    } else {
        TypeObject *t;
        if (is_type(vm, obj)) {
            t = AS_TYPE(obj);
        } else {
            DictObject **dp = object_dict_ptr(vm, obj);
            if (dp && *dp && merge_keys(vm, seen, *dp) < 0) return VAL_NULL;
            t = vm_type_of(vm, obj);
        }
        TupleObject *mro = t->mro;
        if (mro) {
            for (size_t i = 0; i < mro->len; i++) {
                TypeObject *b = AS_TYPE(mro->items[i]);
                if (b->dict && merge_keys(vm, seen, b->dict) < 0) return VAL_NULL;
            }
        } else if (t->dict && merge_keys(vm, seen, t->dict) < 0) {
            return VAL_NULL;
        }
        if (dict_set_str(vm, seen, vm->names.__class__, VAL_NONE) < 0) return VAL_NULL;
    }
    ListObject *l = list_new(vm, seen->len);
    if (!l) return VAL_NULL;
    size_t pos = 0;
    Value k, v;
    while (dict_next(seen, &pos, &k, &v)) {
        if (list_append(vm, l, k) < 0) return VAL_NULL;
    }
    return v_obj(l);
}

static Value b_dir(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "dir", kwnames) < 0 || args_count(vm, "dir", nargs, 0, 1) < 0)
        return VAL_NULL;
    Value names;
    if (nargs == 0) {
        Value loc = current_locals_value(vm);
        if (IS_NULL(loc)) return VAL_NULL;
        ListObject *l = list_new(vm, AS_DICT(loc)->len);
        if (!l) return VAL_NULL;
        size_t pos = 0;
        Value k, v;
        while (dict_next(AS_DICT(loc), &pos, &k, &v))
            if (list_append(vm, l, k) < 0) return VAL_NULL;
        names = v_obj(l);
    } else {
        Value obj = args[0];
        Value meth =
            is_type(vm, obj) ? VAL_NULL : type_lookup(vm, vm_type_of(vm, obj), vm->names.__dir__);
        // A script-defined __dir__ wins; the builtin fallback is ours.
        if (!IS_NULL(meth) && IS_OBJ(meth) && OBJ_TYPE(AS_OBJ(meth)) != vm->t_builtin_function) {
            Value r = vm_call_method(vm, obj, vm->names.__dir__, NULL, 0);
            if (IS_NULL(r)) return VAL_NULL;
            if (vm_push_root(vm, r) < 0) return VAL_NULL;
            names = vm_sequence_to_list(vm, r);
            vm_pop_roots(vm, 1);
        } else {
            names = default_dir(vm, obj);
        }
        if (IS_NULL(names)) return VAL_NULL;
    }
    if (vm_push_root(vm, names) < 0) return VAL_NULL;
    int r = list_sort(vm, AS_LIST(names), VAL_NONE, false);
    vm_pop_roots(vm, 1);
    return r < 0 ? VAL_NULL : names;
}

// ---------------------------------------------------------------------------
// Code: __import__, eval, exec, compile

static Value b_import(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    static const char *const names[] = {"name", "globals", "locals", "fromlist", "level"};
    Value a[5];
    if (args_parse(vm, "__import__", args, nargs, kwnames, names, 5, 5, 1, a) < 0) return VAL_NULL;
    if (!is_str(vm, a[0])) return vm_raise(vm, vm->exc_TypeError, "module name must be a string");
    DictObject *globals = NULL;
    if (!IS_NULL(a[1]) && !IS_NONE(a[1])) {
        if (!IS_OBJ(a[1]) || !type_is_subtype(OBJ_TYPE(AS_OBJ(a[1])), vm->t_dict))
            return vm_raise(vm, vm->exc_TypeError, "globals must be a dict");
        globals = AS_DICT(a[1]);
    }
    int64_t level = 0;
    if (!IS_NULL(a[4]) && vm_index_i64(vm, a[4], &level) < 0) return VAL_NULL;
    if (level < 0) return vm_raise(vm, vm->exc_ValueError, "level must be >= 0");
    if (level > 0 && !globals) return vm_raise(vm, vm->exc_KeyError, "'__name__' not in globals");
    return vm_import(vm, AS_STR(a[0]), IS_NULL(a[3]) ? VAL_NONE : a[3], (int)level, globals);
}

// Source for eval/exec/compile: str, bytes or a code object.
static Value compile_arg(EddyVM *vm, const char *fname, Value src, const char *filename,
                         ParseMode mode) {
    if (IS_OBJ(src) && OBJ_TYPE(AS_OBJ(src)) == vm->t_code) return src;
    const char *text;
    size_t len;
    if (is_str(vm, src)) {
        text = AS_STR(src)->data;
        len = AS_STR(src)->len;
    } else if (is_bytes(vm, src)) {
        text = (const char *)bytes_data(src, &len);
    } else {
        return vm_raise(vm, vm->exc_TypeError, "%s() arg 1 must be a string, bytes or code object",
                        fname);
    }
    if (memchr(text, '\0', len))
        return vm_raise(vm, vm->exc_ValueError, "source code string cannot contain null bytes");
    // eval() ignores leading blanks, as CPython does.
    if (mode == PARSE_EVAL) {
        while (len > 0 && (*text == ' ' || *text == '\t')) {
            text++;
            len--;
        }
    }
    return compile_source(vm, text, len, filename, mode);
}

static Value eval_exec(EddyVM *vm, const char *fname, Value *args, int nargs, TupleObject *kwnames,
                       ParseMode mode) {
    static const char *const names[] = {"", "globals", "locals", "closure"};
    Value a[4];
    if (mode == PARSE_EVAL) {
        if (args_no_kw(vm, fname, kwnames) < 0 || args_count(vm, fname, nargs, 1, 3) < 0)
            return VAL_NULL;
        for (int i = 0; i < 4; i++) a[i] = i < nargs ? args[i] : VAL_NULL;
    } else if (args_parse(vm, fname, args, nargs, kwnames, names, 4, 3, 1, a) < 0) {
        return VAL_NULL;
    }
    if (!IS_NULL(a[3]) && !IS_NONE(a[3]))
        return vm_raise(vm, vm->exc_TypeError,
                        "closure can only be used when source is a code object");
    Value g = a[1], l = a[2];
    if (!IS_NULL(g) && !IS_NONE(g) && !is_exact(g, vm->t_dict) &&
        !(IS_OBJ(g) && type_is_subtype(OBJ_TYPE(AS_OBJ(g)), vm->t_dict)))
        return vm_raise(vm, vm->exc_TypeError, "%s() globals must be a dict, not %T", fname, g);
    if (IS_NULL(g) || IS_NONE(g)) {
        g = current_globals_value(vm);
        if (IS_NULL(g)) return VAL_NULL;
        if (IS_NULL(l) || IS_NONE(l)) {
            l = current_locals_value(vm);
            if (IS_NULL(l)) return VAL_NULL;
        }
    }
    if (IS_NULL(l) || IS_NONE(l)) l = g;
    if (!IS_OBJ(l) || !type_is_subtype(OBJ_TYPE(AS_OBJ(l)), vm->t_dict))
        return vm_raise(vm, vm->exc_TypeError, "locals must be a mapping");
    if (IS_NULL(dict_get_str(AS_DICT(g), vm->names.__builtins__)) &&
        dict_set_str(vm, AS_DICT(g), vm->names.__builtins__, v_obj(vm->builtins)) < 0)
        return VAL_NULL;
    size_t base;
    if (roots_reserve(vm, 2, &base) < 0) return VAL_NULL;
    ROOT(base, 0) = g;
    ROOT(base, 1) = l;
    Value result = VAL_NULL;
    Value code = compile_arg(vm, fname, a[0], "<string>", mode);
    if (!IS_NULL(code)) {
        result = vm_exec_code(vm, (CodeObject *)AS_OBJ(code), AS_DICT(g), AS_DICT(l));
        if (mode != PARSE_EVAL && !IS_NULL(result)) result = VAL_NONE;
    }
    vm_pop_roots(vm, 2);
    return result;
}

static Value b_eval(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return eval_exec(vm, "eval", args, nargs, kwnames, PARSE_EVAL);
}

static Value b_exec(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return eval_exec(vm, "exec", args, nargs, kwnames, PARSE_FILE);
}

static Value b_compile(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    static const char *const names[] = {"source", "filename",     "mode",
                                        "flags",  "dont_inherit", "optimize"};
    Value a[6];
    if (args_parse(vm, "compile", args, nargs, kwnames, names, 6, 6, 3, a) < 0) return VAL_NULL;
    if (!is_str(vm, a[1]))
        return vm_raise(vm, vm->exc_TypeError, "compile() argument 'filename' must be str, not %T",
                        a[1]);
    if (!is_str(vm, a[2]))
        return vm_raise(vm, vm->exc_TypeError, "compile() argument 'mode' must be str, not %T",
                        a[2]);
    const char *m = AS_STR(a[2])->data;
    ParseMode mode;
    if (strcmp(m, "exec") == 0)
        mode = PARSE_FILE;
    else if (strcmp(m, "eval") == 0)
        mode = PARSE_EVAL;
    else if (strcmp(m, "single") == 0)
        mode = PARSE_SINGLE;
    else
        return vm_raise(vm, vm->exc_ValueError,
                        "compile() mode must be 'exec', 'eval' or 'single'");
    return compile_arg(vm, "compile", a[0], AS_STR(a[1])->data, mode);
}

// ---------------------------------------------------------------------------
// exit / quit / help

static Value b_exit(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "exit", kwnames) < 0) return VAL_NULL;
    if (nargs > 1)
        return vm_raise(
            vm, vm->exc_TypeError,
            "Quitter.__call__() takes from 1 to 2 positional arguments but %d were given",
            nargs + 1);
    // CPython closes sys.stdin first; flushing our streams is what matters.
    io_flush_std(vm);
    TupleObject *t = nargs ? tuple_from(vm, args, 1) : vm->empty_tuple;
    if (!t) return VAL_NULL;
    Value exc = exc_new(vm, vm->exc_SystemExit, t);
    if (IS_NULL(exc)) return VAL_NULL;
    return vm_raise_value(vm, exc);
}

// exit and quit are _sitebuiltins.Quitter instances, so that typing `exit`
// at the REPL explains itself: "Use exit() or Ctrl-D (i.e. EOF) to exit".
static Value quitter_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (nargs < 1) return vm_raise(vm, vm->exc_TypeError, "__repr__ requires an argument");
    StrObject *name_key = str_intern_cstr(vm, "name"), *eof_key = str_intern_cstr(vm, "eof");
    if (!name_key || !eof_key) return VAL_NULL;
    Value name = vm_getattr(vm, args[0], name_key);
    if (IS_NULL(name)) return VAL_NULL;
    if (vm_push_root(vm, name) < 0) return VAL_NULL;
    Value eof = vm_getattr(vm, args[0], eof_key);
    StrObject *r = IS_NULL(eof) ? NULL : str_format(vm, "Use %S() or %S to exit", name, eof);
    vm_pop_roots(vm, 1);
    return r ? v_obj(r) : VAL_NULL;
}

static Value quitter_call(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return b_exit(vm, args + 1, nargs - 1, kwnames);
}

static int add_quitters(EddyVM *vm, ModuleObject *m) {
    DictObject *ns = dict_new(vm);
    StrObject *modname = str_intern_cstr(vm, "_sitebuiltins");
    StrObject *clsname = str_intern_cstr(vm, "Quitter");
    NativeFunctionObject *repr = native_new(vm, "__repr__", quitter_repr, VAL_NULL, NATIVE_METHOD);
    NativeFunctionObject *call = native_new(vm, "__call__", quitter_call, VAL_NULL, NATIVE_METHOD);
    if (!ns || !modname || !clsname || !repr || !call) return -1;
    if (dict_set_str(vm, ns, vm->names.__module__, v_obj(modname)) < 0 ||
        dict_set_str(vm, ns, vm->names.__repr__, v_obj(repr)) < 0 ||
        dict_set_str(vm, ns, vm->names.__call__, v_obj(call)) < 0)
        return -1;
    Value base = v_obj(vm->t_object);
    TupleObject *bases = tuple_from(vm, &base, 1);
    if (!bases) return -1;
    TypeObject *cls = type_new_class(vm, vm->t_type, clsname, bases, ns);
    if (!cls) return -1;
    static const char *const names[] = {"exit", "quit"};
    StrObject *eof = str_from_cstr(vm, "Ctrl-D (i.e. EOF)");
    StrObject *name_key = str_intern_cstr(vm, "name"), *eof_key = str_intern_cstr(vm, "eof");
    if (!eof || !name_key || !eof_key) return -1;
    for (int i = 0; i < 2; i++) {
        Value q = vm_call0(vm, v_obj(cls));
        if (IS_NULL(q)) return -1;
        StrObject *n = str_intern_cstr(vm, names[i]);
        if (!n || vm_setattr(vm, q, name_key, v_obj(n)) < 0 ||
            vm_setattr(vm, q, eof_key, v_obj(eof)) < 0 || module_add_value(vm, m, names[i], q) < 0)
            return -1;
    }
    return 0;
}

static Value b_help(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    StrObject *s;
    if (nargs == 0) {
        s = str_from_cstr(vm, "Eddy " EDDY_VERSION_STRING
                              " runs Python 3.11 programs. Interactive help is not available;\n"
                              "see the documentation in docs/ and https://docs.python.org/3.11/\n");
    } else {
        Value doc;
        int r = vm_getattr_opt(vm, args[0], vm->names.__doc__, &doc);
        if (r < 0) return VAL_NULL;
        if (r > 0 && is_str(vm, doc)) {
            s = str_format(vm, "%U\n", AS_STR(doc));
        } else {
            s = str_format(vm, "No documentation found for %R\n", args[0]);
        }
    }
    if (!s || vm_write_stdout(vm, s) < 0) return VAL_NULL;
    return VAL_NONE;
}

// aiter(x) / anext(x[, default]): the async counterparts of iter() and next().
static Value b_aiter(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "aiter", kwnames) < 0) return VAL_NULL;
    if (nargs != 1)
        return vm_raise(vm, vm->exc_TypeError, "aiter() takes exactly one argument (%d given)",
                        nargs);
    if (IS_NULL(type_lookup(vm, vm_type_of(vm, args[0]), vm->names.__aiter__)))
        return vm_raise(vm, vm->exc_TypeError, "'%T' object is not an async iterable", args[0]);
    Value it = vm_call_method(vm, args[0], vm->names.__aiter__, NULL, 0);
    if (IS_NULL(it)) return VAL_NULL;
    if (IS_NULL(type_lookup(vm, vm_type_of(vm, it), vm->names.__anext__)))
        return vm_raise(vm, vm->exc_TypeError,
                        "aiter() returned not an async iterator of type '%T'", it);
    return it;
}

static Value b_anext(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "anext", kwnames) < 0) return VAL_NULL;
    if (nargs < 1)
        return vm_raise(vm, vm->exc_TypeError, "anext expected at least 1 argument, got %d", nargs);
    if (nargs > 2)
        return vm_raise(vm, vm->exc_TypeError, "anext expected at most 2 arguments, got %d", nargs);
    if (IS_NULL(type_lookup(vm, vm_type_of(vm, args[0]), vm->names.__anext__)))
        return vm_raise(vm, vm->exc_TypeError, "'%T' object is not an async iterator", args[0]);
    if (nargs == 1) return vm_call_method(vm, args[0], vm->names.__anext__, NULL, 0);
    return gen_anext_awaitable_new(vm, args[0], args[1]);
}

// ---------------------------------------------------------------------------
// Registration

int builtins_init(EddyVM *vm, ModuleObject *m) {
    static const struct {
        const char *name;
        NativeFn fn;
    } fns[] = {
        {"print", b_print},
        {"input", b_input},
        {"len", b_len},
        {"repr", b_repr},
        {"ascii", b_ascii},
        {"abs", b_abs},
        {"callable", b_callable},
        {"hash", b_hash},
        {"id", b_id},
        {"chr", b_chr},
        {"ord", b_ord},
        {"hex", b_hex},
        {"oct", b_oct},
        {"bin", b_bin},
        {"format", b_format},
        {"iter", b_iter},
        {"next", b_next},
        {"aiter", b_aiter},
        {"anext", b_anext},
        {"any", b_any},
        {"all", b_all},
        {"min", b_min},
        {"max", b_max},
        {"sum", b_sum},
        {"sorted", b_sorted},
        {"isinstance", b_isinstance},
        {"issubclass", b_issubclass},
        {"getattr", b_getattr},
        {"setattr", b_setattr},
        {"delattr", b_delattr},
        {"hasattr", b_hasattr},
        {"round", b_round},
        {"divmod", b_divmod},
        {"pow", b_pow},
        {"globals", b_globals},
        {"locals", b_locals},
        {"vars", b_vars},
        {"dir", b_dir},
        {"__import__", b_import},
        {"eval", b_eval},
        {"exec", b_exec},
        {"compile", b_compile},
        {"exit", b_exit},
        {"quit", b_exit},
        {"help", b_help},
        {"open", io_builtin_open},
        {"__build_class__", builtin_build_class},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (module_add_function(vm, m, fns[i].name, fns[i].fn) < 0) return -1;
    }

    const struct {
        const char *name;
        TypeObject *type;
    } types[] = {
        {"object", vm->t_object},
        {"type", vm->t_type},
        {"super", vm->t_super},
        {"property", vm->t_property},
        {"classmethod", vm->t_classmethod},
        {"staticmethod", vm->t_staticmethod},
        {"int", vm->t_int},
        {"bool", vm->t_bool},
        {"float", vm->t_float},
        {"str", vm->t_str},
        {"bytes", vm->t_bytes},
        {"bytearray", vm->t_bytearray},
        {"tuple", vm->t_tuple},
        {"list", vm->t_list},
        {"dict", vm->t_dict},
        {"set", vm->t_set},
        {"frozenset", vm->t_frozenset},
        {"range", vm->t_range},
        {"slice", vm->t_slice},
        {"enumerate", vm->t_enumerate},
        {"zip", vm->t_zip},
        {"map", vm->t_map},
        {"filter", vm->t_filter},
        {"reversed", vm->t_reversed},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (module_add_value(vm, m, types[i].name, v_obj(types[i].type)) < 0) return -1;
    }

#define EXC(name, base)                                                                            \
    if (vm->exc_##name && module_add_value(vm, m, #name, v_obj(vm->exc_##name)) < 0) return -1;
#include "exceptions.def"
#undef EXC
    // Historical aliases of OSError.
    if (module_add_value(vm, m, "EnvironmentError", v_obj(vm->exc_OSError)) < 0 ||
        module_add_value(vm, m, "IOError", v_obj(vm->exc_OSError)) < 0)
        return -1;

    // Replace the plain exit/quit functions by Quitter objects when classes
    // can be made this early; the functions remain otherwise.
    if (add_quitters(vm, m) < 0) vm_err_clear(vm);

    if (module_add_value(vm, m, "NotImplemented", vm->not_implemented) < 0 ||
        module_add_value(vm, m, "Ellipsis", vm->ellipsis) < 0 ||
        module_add_value(vm, m, "None", VAL_NONE) < 0 ||
        module_add_value(vm, m, "True", VAL_TRUE) < 0 ||
        module_add_value(vm, m, "False", VAL_FALSE) < 0 ||
        module_add_value(vm, m, "__debug__", VAL_TRUE) < 0)
        return -1;
    return 0;
}
