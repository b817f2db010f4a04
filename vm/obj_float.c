// obj_float.c - the float type: IEEE-754 doubles, unboxed as V_FLOAT.
//
// Instances of script subclasses of float (class F(float)) are heap
// FloatObjects of the subclass type; plain floats are never boxed. repr is
// CPython's 'short' style: the shortest string that round-trips.
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vm.h"

typedef struct FloatObject {
    Obj hdr;
    double value;
} FloatObject;

static bool is_float_obj(EddyVM *vm, Value v) {
    return IS_OBJ(v) && type_is_subtype(OBJ_TYPE(AS_OBJ(v)), vm->t_float);
}

static bool is_float(EddyVM *vm, Value v) { return IS_FLOAT(v) || is_float_obj(vm, v); }

static double float_value(Value v) {
    return IS_FLOAT(v) ? AS_FLOAT(v) : ((FloatObject *)AS_OBJ(v))->value;
}

// ---------------------------------------------------------------------------
// repr

// Format d with p significant digits ("D.DDDe+XX") into buf and report
// whether that string reads back as d. At a power of two the rounding
// interval is wider above d than below, so the shortest string may be the
// nearest p-digit string plus one unit in its last place (2**122 is
// 5.316911983139664e+36, not ...663e+36): try that candidate too.
static bool try_precision(double d, int p, char *buf, size_t cap) {
    snprintf(buf, cap, "%.*e", p - 1, d);
    if (strtod(buf, NULL) == d) return true;
    int ex;
    if (frexp(d, &ex) != 0.5) return false;
    char *e = strchr(buf, 'e');
    char *q = e - 1;
    for (;; q--) {
        if (q < buf) return false; // 9.99e+X rolls over: not a candidate here
        if (*q == '.') continue;
        if (*q == '9') {
            *q = '0';
            continue;
        }
        (*q)++;
        break;
    }
    return strtod(buf, NULL) == d;
}

// Digits and decimal exponent of the shortest round-tripping form of a
// finite, positive d: digits "d1d2..." (no trailing zeros), the value is
// d1.d2... * 10**exp10 (David Gay's shortest mode, as CPython's repr).
static int shortest_digits(double d, char *digits, int *exp10) {
    char buf[40];
    if (d >= DBL_MIN) {
        // For normal doubles, if some string of k <= 15 digits round-trips it
        // lies within half a unit of the 15th digit of d, so the correctly
        // rounded 15-digit string is that string padded with zeros: one try
        // at 15 digits (then 16, 17) finds the shortest after stripping zeros.
        if (!try_precision(d, 15, buf, sizeof buf) && !try_precision(d, 16, buf, sizeof buf))
            try_precision(d, 17, buf, sizeof buf);
    } else {
        // Subnormals have fewer significant bits: binary search the least
        // precision (round-tripping is monotone in the precision).
        int lo = 1, hi = 17;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (try_precision(d, mid, buf, sizeof buf))
                hi = mid;
            else
                lo = mid + 1;
        }
        try_precision(d, lo, buf, sizeof buf);
    }
    // buf: "D.DDDDe+XX" or "De+XX"
    int n = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = 0;
    *exp10 = atoi(p + 1);
    return n;
}

size_t float_repr_buf(double d, char *buf, size_t cap) {
    char out[64];
    size_t len = 0;
    if (isnan(d)) {
        len = (size_t)snprintf(out, sizeof out, "nan");
    } else if (isinf(d)) {
        len = (size_t)snprintf(out, sizeof out, d < 0 ? "-inf" : "inf");
    } else if (d == 0) {
        len = (size_t)snprintf(out, sizeof out, signbit(d) ? "-0.0" : "0.0");
    } else {
        char digits[24];
        int e;
        int n = shortest_digits(fabs(d), digits, &e);
        char *p = out;
        if (d < 0) *p++ = '-';
        if (e < -4 || e >= 16) {
            *p++ = digits[0];
            if (n > 1) {
                *p++ = '.';
                memcpy(p, digits + 1, (size_t)n - 1);
                p += n - 1;
            }
            p += snprintf(p, 8, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
        } else if (e < 0) {
            *p++ = '0';
            *p++ = '.';
            for (int i = 0; i < -e - 1; i++) *p++ = '0';
            memcpy(p, digits, (size_t)n);
            p += n;
        } else {
            // e+1 digits before the point, at least one after.
            for (int i = 0; i <= e; i++) *p++ = i < n ? digits[i] : '0';
            *p++ = '.';
            if (n > e + 1) {
                memcpy(p, digits + e + 1, (size_t)(n - e - 1));
                p += n - e - 1;
            } else {
                *p++ = '0';
            }
        }
        *p = 0;
        len = (size_t)(p - out);
    }
    if (cap > 0) {
        size_t k = len < cap - 1 ? len : cap - 1;
        memcpy(buf, out, k);
        buf[k] = 0;
    }
    return len;
}

Value float_repr(EddyVM *vm, double d) {
    char buf[64];
    size_t n = float_repr_buf(d, buf, sizeof buf);
    StrObject *s = str_new(vm, buf, n);
    return s ? v_obj(s) : VAL_NULL;
}

// ---------------------------------------------------------------------------
// Hash: CPython's _Py_HashDouble (integral values hash like the int).
#define HASH_BITS 61
#define HASH_MODULUS (((uint64_t)1 << HASH_BITS) - 1)

int64_t float_hash(double v) {
    if (!isfinite(v)) {
        if (isinf(v)) return v > 0 ? 314159 : -314159;
        return 0; // NaN: CPython 3.11 hashes the object's identity; unboxed floats have none
    }
    int e;
    double m = frexp(v, &e);
    int sign = 1;
    if (m < 0) {
        sign = -1;
        m = -m;
    }
    uint64_t x = 0;
    while (m) {
        x = ((x << 28) & HASH_MODULUS) | x >> (HASH_BITS - 28);
        m *= 268435456.0; // 2**28
        e -= 28;
        uint64_t y = (uint64_t)m;
        m -= (double)y;
        x += y;
        if (x >= HASH_MODULUS) x -= HASH_MODULUS;
    }
    e = e >= 0 ? e % HASH_BITS : HASH_BITS - 1 - ((-1 - e) % HASH_BITS);
    x = ((x << e) & HASH_MODULUS) | x >> (HASH_BITS - e);
    int64_t h = (int64_t)x * sign;
    return h == -1 ? -2 : h;
}

// ---------------------------------------------------------------------------
// Arithmetic helpers shared with the interpreter's fast paths.

Value float_floordiv(EddyVM *vm, double vx, double wx) {
    if (wx == 0.0) return vm_raise(vm, vm->exc_ZeroDivisionError, "float floor division by zero");
    double mod = fmod(vx, wx);
    double div = (vx - mod) / wx;
    if (mod) {
        if ((wx < 0) != (mod < 0)) div -= 1.0;
    }
    double floordiv;
    if (div) {
        floordiv = floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, vx / wx);
    }
    return v_float(floordiv);
}

Value float_mod(EddyVM *vm, double vx, double wx) {
    if (wx == 0.0) return vm_raise(vm, vm->exc_ZeroDivisionError, "float modulo");
    double mod = fmod(vx, wx);
    if (mod) {
        if ((wx < 0) != (mod < 0)) mod += wx;
    } else {
        mod = copysign(0.0, wx);
    }
    return v_float(mod);
}

static bool is_odd_integer(double x) { return fmod(fabs(x), 2.0) == 1.0; }

Value float_pow(EddyVM *vm, double iv, double iw) {
    if (iw == 0) return v_float(1.0);
    if (isnan(iv)) return v_float(iv);
    if (isnan(iw)) return v_float(iv == 1.0 ? 1.0 : iw);
    if (isinf(iw)) {
        iv = fabs(iv);
        if (iv == 1.0) return v_float(1.0);
        if ((iw > 0.0) == (iv > 1.0)) return v_float(fabs(iw));
        return v_float(0.0);
    }
    if (isinf(iv)) {
        bool odd = is_odd_integer(iw);
        if (iw > 0.0) return v_float(odd ? iv : fabs(iv));
        return v_float(odd ? copysign(0.0, iv) : 0.0);
    }
    if (iv == 0.0) {
        bool odd = is_odd_integer(iw);
        if (iw < 0.0)
            return vm_raise(vm, vm->exc_ZeroDivisionError,
                            "0.0 cannot be raised to a negative power");
        return v_float(odd ? iv : 0.0);
    }
    bool negate = false;
    if (iv < 0.0) {
        if (iw != floor(iw))
            return vm_raise(vm, vm->exc_ValueError, "complex numbers are not supported yet");
        iv = -iv;
        negate = is_odd_integer(iw);
    }
    if (iv == 1.0) return v_float(negate ? -1.0 : 1.0);
    errno = 0;
    double ix = pow(iv, iw);
    if (isinf(ix))
        return vm_raise(vm, vm->exc_OverflowError, "(34, 'Numerical result out of range')");
    return v_float(negate ? -ix : ix);
}

// float(v) for numbers: float, int, bool, their subclasses, then __float__
// and __index__ (CPython's PyFloat_AsDouble).
int float_from_value(EddyVM *vm, Value v, double *out) {
    if (IS_FLOAT(v)) {
        *out = AS_FLOAT(v);
        return 0;
    }
    if (is_int(vm, v)) {
        bool overflow;
        double d = int_to_double(vm, v, &overflow);
        if (overflow) return -1;
        *out = d;
        return 0;
    }
    if (is_float_obj(vm, v)) {
        *out = float_value(v);
        return 0;
    }
    TypeObject *t = vm_type_of(vm, v);
    if (!IS_NULL(type_lookup(vm, t, vm->names.__float__))) {
        Value r = vm_call_method(vm, v, vm->names.__float__, NULL, 0);
        if (IS_NULL(r)) return -1;
        if (!is_float(vm, r)) {
            vm_raise(vm, vm->exc_TypeError, "%s.__float__ returned non-float (type %s)",
                     vm_type_name(vm, v), vm_type_name(vm, r));
            return -1;
        }
        *out = float_value(r);
        return 0;
    }
    if (!IS_NULL(type_lookup(vm, t, vm->names.__index__))) {
        Value r = vm_index(vm, v);
        if (IS_NULL(r)) return -1;
        return float_from_value(vm, r, out);
    }
    vm_raise(vm, vm->exc_TypeError, "must be real number, not %s", vm_type_name(vm, v));
    return -1;
}

// Parse a float literal as float() accepts it: whitespace, sign, digits
// with single underscores between digits, inf/infinity/nan. 0 / -1
// ValueError "could not convert string to float: 'abc'".
int float_from_string(EddyVM *vm, const char *s, size_t len, double *out) {
    const char *p = s, *end = s + len;
    while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r'))) p++;
    while (end > p && (end[-1] == ' ' || (end[-1] >= '\t' && end[-1] <= '\r'))) end--;
    char small[128];
    char *buf = small;
    size_t cap = sizeof small;
    if ((size_t)(end - p) + 1 > cap) {
        cap = (size_t)(end - p) + 1;
        buf = mem_alloc(vm, cap);
        if (!buf) return -1;
    }
    size_t n = 0;
    const char *q = p;
    bool neg = false, ok = false;
    if (q < end && (*q == '+' || *q == '-')) {
        neg = *q == '-';
        q++;
    }
    size_t rest = (size_t)(end - q);
    if ((rest == 3 && strncasecmp(q, "inf", 3) == 0) ||
        (rest == 8 && strncasecmp(q, "infinity", 8) == 0)) {
        *out = neg ? -INFINITY : INFINITY;
        ok = true;
        goto finish;
    }
    if (rest == 3 && strncasecmp(q, "nan", 3) == 0) {
        *out = neg ? -NAN : NAN;
        ok = true;
        goto finish;
    }
    {
        // digits [. digits] | . digits, then [e [sign] digits]; '_' only between digits.
        int ndig = 0;
        bool prev_digit = false;
        if (neg) buf[n++] = '-';
        for (; q < end; q++) {
            if (*q >= '0' && *q <= '9') {
                buf[n++] = *q;
                ndig++;
                prev_digit = true;
            } else if (*q == '_' && prev_digit && q + 1 < end && q[1] >= '0' && q[1] <= '9') {
                prev_digit = false;
            } else {
                break;
            }
        }
        if (q < end && *q == '.') {
            buf[n++] = *q++;
            prev_digit = false;
            for (; q < end; q++) {
                if (*q >= '0' && *q <= '9') {
                    buf[n++] = *q;
                    ndig++;
                    prev_digit = true;
                } else if (*q == '_' && prev_digit && q + 1 < end && q[1] >= '0' && q[1] <= '9') {
                    prev_digit = false;
                } else {
                    break;
                }
            }
        }
        if (ndig == 0) goto finish;
        if (q < end && (*q == 'e' || *q == 'E')) {
            buf[n++] = *q++;
            if (q < end && (*q == '+' || *q == '-')) buf[n++] = *q++;
            int edig = 0;
            prev_digit = false;
            for (; q < end; q++) {
                if (*q >= '0' && *q <= '9') {
                    buf[n++] = *q;
                    edig++;
                    prev_digit = true;
                } else if (*q == '_' && prev_digit && q + 1 < end && q[1] >= '0' && q[1] <= '9') {
                    prev_digit = false;
                } else {
                    break;
                }
            }
            if (edig == 0) goto finish;
        }
        if (q != end) goto finish;
        buf[n] = 0;
        *out = strtod(buf, NULL);
        ok = true;
    }
finish:
    if (buf != small) mem_free(vm, buf, cap);
    if (ok) return 0;
    StrObject *src = str_new(vm, s, len);
    if (!src) return -1;
    Value r = str_repr(vm, src);
    if (IS_NULL(r)) return -1;
    vm_raise(vm, vm->exc_ValueError, "could not convert string to float: %U", AS_STR(r));
    return -1;
}

// Exact comparison of a float with an int: -1/0/1, or 2 when f is NaN.
static int compare_float_int(EddyVM *vm, double f, Value i, int *out) {
    if (isnan(f)) {
        *out = 2;
        return 0;
    }
    if (isinf(f)) {
        *out = f > 0 ? 1 : -1;
        return 0;
    }
    int64_t x;
    bool small = IS_INT(i) || IS_BOOL(i) || int_bit_length(i) <= 63;
    if (small) {
        if (int_to_i64(vm, i, &x) < 0) return -1;
        if (x >= -(INT64_C(1) << 53) && x <= (INT64_C(1) << 53)) {
            double y = (double)x;
            *out = f < y ? -1 : f > y;
            return 0;
        }
        if (f >= 9223372036854775808.0) {
            *out = 1;
            return 0;
        }
        if (f < -9223372036854775808.0) {
            *out = -1;
            return 0;
        }
        double t = trunc(f);
        int64_t fi = (int64_t)t;
        if (fi != x) {
            *out = fi < x ? -1 : 1;
            return 0;
        }
        double frac = f - t;
        *out = frac > 0 ? 1 : frac < 0 ? -1 : 0;
        return 0;
    }
    int si = int_sign(i);
    int sf = f > 0 ? 1 : f < 0 ? -1 : 0;
    if (si != sf) {
        *out = sf < si ? -1 : 1;
        return 0;
    }
    int64_t ei;
    int ef;
    int_frexp(i, &ei);
    frexp(f, &ef);
    if (ef != ei) {
        // Same sign: the larger exponent has the larger magnitude.
        int mag = ef < ei ? -1 : 1;
        *out = sf < 0 ? -mag : mag;
        return 0;
    }
    // Same bit length (> 63 bits): f is integral; compare exactly.
    Value fi = int_from_double(vm, f);
    if (IS_NULL(fi)) return -1;
    *out = int_compare(fi, i);
    return 0;
}

// ---------------------------------------------------------------------------
// The float type.

// Convert an operand for float arithmetic: 1 ok, 0 not a number
// (NotImplemented), -1 error (int too large).
static int operand(EddyVM *vm, Value v, double *out) {
    if (IS_FLOAT(v)) {
        *out = AS_FLOAT(v);
        return 1;
    }
    if (IS_INT(v)) {
        *out = (double)AS_INT(v);
        return 1;
    }
    if (IS_BOOL(v)) {
        *out = AS_BOOL(v);
        return 1;
    }
    if (is_int(vm, v)) {
        bool overflow;
        double d = int_to_double(vm, v, &overflow);
        if (overflow) return -1;
        *out = d;
        return 1;
    }
    if (is_float_obj(vm, v)) {
        *out = float_value(v);
        return 1;
    }
    return 0;
}

static Value self_error(EddyVM *vm, const char *name, Value *args, int nargs) {
    return vm_raise(vm, vm->exc_TypeError,
                    "descriptor '%s' requires a 'float' object but received a '%s'", name,
                    nargs < 1 ? "NoneType" : vm_type_name(vm, args[0]));
}

static Value arity(EddyVM *vm, int want, int nargs) {
    return vm_raise(vm, vm->exc_TypeError, "expected %d argument%s, got %d", want,
                    want == 1 ? "" : "s", nargs);
}

static Value make_tuple2(EddyVM *vm, Value a, Value b) {
    Value items[2] = {a, b};
    TupleObject *t = tuple_from(vm, items, 2);
    return t ? v_obj(t) : VAL_NULL;
}

static Value float_divmod_values(EddyVM *vm, double a, double b) {
    if (b == 0.0) return vm_raise(vm, vm->exc_ZeroDivisionError, "float divmod()");
    Value q = float_floordiv(vm, a, b), r = float_mod(vm, a, b);
    return make_tuple2(vm, q, r);
}

static Value float_truediv(EddyVM *vm, double a, double b) {
    if (b == 0.0) return vm_raise(vm, vm->exc_ZeroDivisionError, "float division by zero");
    return v_float(a / b);
}

enum { F_ADD, F_SUB, F_MUL, F_DIV, F_FLOORDIV, F_MOD, F_DIVMOD, F_POW };

static Value float_arith(EddyVM *vm, int op, double a, double b) {
    switch (op) {
    case F_ADD: return v_float(a + b);
    case F_SUB: return v_float(a - b);
    case F_MUL: return v_float(a * b);
    case F_DIV: return float_truediv(vm, a, b);
    case F_FLOORDIV: return float_floordiv(vm, a, b);
    case F_MOD: return float_mod(vm, a, b);
    case F_DIVMOD: return float_divmod_values(vm, a, b);
    default: return float_pow(vm, a, b);
    }
}

static Value binary(EddyVM *vm, const char *name, Value *args, int nargs, TupleObject *kw, int op,
                    bool reflected) {
    if (nargs < 1 || !is_float(vm, args[0])) return self_error(vm, name, args, nargs);
    if (op == F_POW) {
        if (nargs < 2 || nargs > 3 || kw)
            return vm_raise(vm, vm->exc_TypeError, "expected 1 or 2 arguments, got %d", nargs - 1);
        if (nargs == 3 && !IS_NONE(args[2]))
            return vm_raise(vm, vm->exc_TypeError,
                            "pow() 3rd argument not allowed unless all arguments are integers");
    } else if (nargs != 2 || kw) {
        return arity(vm, 1, nargs - 1);
    }
    double a = float_value(args[0]), b;
    int k = operand(vm, args[1], &b);
    if (k < 0) return VAL_NULL;
    if (k == 0) return vm->not_implemented;
    return reflected ? float_arith(vm, op, b, a) : float_arith(vm, op, a, b);
}

#define FLOAT_BINARY(cname, pyname, op, refl)                                                      \
    static Value cname(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {                 \
        return binary(vm, pyname, args, nargs, kwnames, op, refl);                                 \
    }
FLOAT_BINARY(float_add_m, "__add__", F_ADD, false)
FLOAT_BINARY(float_radd_m, "__radd__", F_ADD, true)
FLOAT_BINARY(float_sub_m, "__sub__", F_SUB, false)
FLOAT_BINARY(float_rsub_m, "__rsub__", F_SUB, true)
FLOAT_BINARY(float_mul_m, "__mul__", F_MUL, false)
FLOAT_BINARY(float_rmul_m, "__rmul__", F_MUL, true)
FLOAT_BINARY(float_truediv_m, "__truediv__", F_DIV, false)
FLOAT_BINARY(float_rtruediv_m, "__rtruediv__", F_DIV, true)
FLOAT_BINARY(float_floordiv_m, "__floordiv__", F_FLOORDIV, false)
FLOAT_BINARY(float_rfloordiv_m, "__rfloordiv__", F_FLOORDIV, true)
FLOAT_BINARY(float_mod_m, "__mod__", F_MOD, false)
FLOAT_BINARY(float_rmod_m, "__rmod__", F_MOD, true)
FLOAT_BINARY(float_divmod_m, "__divmod__", F_DIVMOD, false)
FLOAT_BINARY(float_rdivmod_m, "__rdivmod__", F_DIVMOD, true)
FLOAT_BINARY(float_pow_m, "__pow__", F_POW, false)
FLOAT_BINARY(float_rpow_m, "__rpow__", F_POW, true)

// Round half to even to an int (round(x) with no ndigits).
static Value round_to_int(EddyVM *vm, double x) {
    double r = round(x);
    if (fabs(x - r) == 0.5) r = 2.0 * round(x / 2.0);
    return int_from_double(vm, r);
}

// round(x, ndigits), correctly rounded through the decimal string as
// CPython's double_round does with dtoa.
static Value round_digits(EddyVM *vm, double x, int64_t nd) {
    if (!isfinite(x) || x == 0.0) return v_float(x);
    if (nd > 323) return v_float(x);
    if (nd < -308) return v_float(0.0 * x);
    char buf[400];
    double r;
    if (nd >= 0) {
        snprintf(buf, sizeof buf, "%.*f", (int)nd, x);
        r = strtod(buf, NULL);
    } else {
        // Keep (exponent + 1 + nd) significant digits.
        char eb[40];
        snprintf(eb, sizeof eb, "%.17e", x);
        int e10 = atoi(strchr(eb, 'e') + 1);
        int64_t sig = e10 + 1 + nd;
        if (sig >= 1) {
            snprintf(buf, sizeof buf, "%.*e", (int)sig - 1, x);
            r = strtod(buf, NULL);
        } else if (sig == 0) {
            // Compare |x| with half of 10**(e10+1) exactly via its digits.
            snprintf(buf, sizeof buf, "%.40e", fabs(x));
            bool up;
            if (buf[0] > '5')
                up = true;
            else if (buf[0] < '5')
                up = false;
            else {
                up = false;
                for (char *p = buf + 2; *p && *p != 'e'; p++)
                    if (*p != '0') up = true;
            }
            snprintf(buf, sizeof buf, "%s1e%d", x < 0 ? "-" : "", e10 + 1);
            r = up ? strtod(buf, NULL) : copysign(0.0, x);
        } else {
            r = copysign(0.0, x);
        }
    }
    if (isinf(r))
        return vm_raise(vm, vm->exc_OverflowError, "rounded value too large to represent");
    return v_float(r);
}

Value float_round(EddyVM *vm, double x, int64_t ndigits) { return round_digits(vm, x, ndigits); }

static Value float_round_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (nargs < 1 || !is_float(vm, args[0])) return self_error(vm, "__round__", args, nargs);
    if (nargs > 2 || kwnames)
        return vm_raise(vm, vm->exc_TypeError, "__round__ expected at most 1 argument, got %d",
                        nargs - 1);
    double x = float_value(args[0]);
    if (nargs < 2 || IS_NONE(args[1])) return round_to_int(vm, x);
    int64_t nd;
    Value idx = vm_index(vm, args[1]);
    if (IS_NULL(idx)) return idx;
    if (!IS_INT(idx) && !IS_BOOL(idx))
        nd = int_sign(idx) > 0 ? 1000 : -1000;
    else if (int_to_i64(vm, idx, &nd) < 0)
        return VAL_NULL;
    return round_digits(vm, x, nd);
}

#define FLOAT_UNARY(cname, pyname, expr)                                                           \
    static Value cname(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {                 \
        if (nargs < 1 || !is_float(vm, args[0])) return self_error(vm, pyname, args, nargs);       \
        if (nargs != 1 || kwnames) return arity(vm, 0, nargs - 1);                                 \
        double x = float_value(args[0]);                                                           \
        return expr;                                                                               \
    }

static Value is_integer(double x) { return v_bool(isfinite(x) && floor(x) == x); }

static Value as_integer_ratio(EddyVM *vm, double x) {
    if (isinf(x))
        return vm_raise(vm, vm->exc_OverflowError, "cannot convert Infinity to integer ratio");
    if (isnan(x)) return vm_raise(vm, vm->exc_ValueError, "cannot convert NaN to integer ratio");
    int e;
    double m = frexp(x, &e);
    for (int i = 0; i < 300 && m != floor(m); i++) {
        m *= 2.0;
        e--;
    }
    Value num = int_from_double(vm, m);
    if (IS_NULL(num)) return num;
    Value den = v_int(1);
    if (e > 0)
        num = int_lshift(vm, num, v_int(e));
    else
        den = int_lshift(vm, den, v_int(-e));
    if (IS_NULL(num) || IS_NULL(den)) return VAL_NULL;
    return make_tuple2(vm, num, den);
}

static Value float_hex(EddyVM *vm, double x) {
    if (!isfinite(x)) return float_repr(vm, x);
    char buf[40];
    if (x == 0.0) {
        StrObject *s = str_from_cstr(vm, signbit(x) ? "-0x0.0p+0" : "0x0.0p+0");
        return s ? v_obj(s) : VAL_NULL;
    }
    int e;
    double m = frexp(fabs(x), &e);
    int shift = 1 - (DBL_MIN_EXP - e > 0 ? DBL_MIN_EXP - e : 0);
    m = ldexp(m, shift);
    e -= shift;
    static const char hex[] = "0123456789abcdef";
    char *p = buf;
    if (x < 0) *p++ = '-';
    *p++ = '0';
    *p++ = 'x';
    *p++ = hex[(int)m];
    m -= (int)m;
    *p++ = '.';
    for (int i = 0; i < 13; i++) {
        m *= 16.0;
        int d = (int)m;
        *p++ = hex[d];
        m -= d;
    }
    p += snprintf(p, 16, "p%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    StrObject *s = str_new(vm, buf, (size_t)(p - buf));
    return s ? v_obj(s) : VAL_NULL;
}

static Value float_int(EddyVM *vm, double x) { return int_from_double(vm, trunc(x)); }
static Value float_floor(EddyVM *vm, double x) { return int_from_double(vm, floor(x)); }
static Value float_ceil(EddyVM *vm, double x) { return int_from_double(vm, ceil(x)); }

static Value float_getnewargs(EddyVM *vm, double x) {
    Value v = v_float(x);
    TupleObject *t = tuple_from(vm, &v, 1);
    return t ? v_obj(t) : VAL_NULL;
}

FLOAT_UNARY(float_neg_m, "__neg__", v_float(-x))
FLOAT_UNARY(float_pos_m, "__pos__", v_float(x))
FLOAT_UNARY(float_abs_m, "__abs__", v_float(fabs(x)))
FLOAT_UNARY(float_bool_m, "__bool__", v_bool(x != 0.0))
FLOAT_UNARY(float_float_m, "__float__", v_float(x))
FLOAT_UNARY(float_int_m, "__int__", float_int(vm, x))
FLOAT_UNARY(float_trunc_m, "__trunc__", float_int(vm, x))
FLOAT_UNARY(float_floor_m, "__floor__", float_floor(vm, x))
FLOAT_UNARY(float_ceil_m, "__ceil__", float_ceil(vm, x))
FLOAT_UNARY(float_hash_m, "__hash__", v_int(float_hash(x)))
FLOAT_UNARY(float_repr_m, "__repr__", float_repr(vm, x))
FLOAT_UNARY(float_is_integer_m, "is_integer", is_integer(x))
FLOAT_UNARY(float_ratio_m, "as_integer_ratio", as_integer_ratio(vm, x))
FLOAT_UNARY(float_hex_m, "hex", float_hex(vm, x))
FLOAT_UNARY(float_conjugate_m, "conjugate", v_float(x))
FLOAT_UNARY(float_getnewargs_m, "__getnewargs__", float_getnewargs(vm, x))

static Value float_real_get(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return v_float(float_value(args[0]));
}
static Value float_imag_get(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return v_float(0.0);
}

static Value float_format_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (nargs < 1 || !is_float(vm, args[0])) return self_error(vm, "__format__", args, nargs);
    if (nargs != 2 || kwnames) return arity(vm, 1, nargs - 1);
    if (!is_str(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "__format__() argument must be str, not %T",
                        args[1]);
    // An empty spec means str(self), which a subclass may override.
    if (AS_STR(args[1])->len == 0 && !IS_FLOAT(args[0])) return vm_str(vm, args[0]);
    return format_float(vm, float_value(args[0]), AS_STR(args[1]));
}

// float.fromhex(s): validated here, converted by strtod's C99 hex parser.
static Value float_fromhex_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (nargs != 2 || kwnames)
        return vm_raise(vm, vm->exc_TypeError, "fromhex() takes exactly one argument (%d given)",
                        nargs - 1);
    if (!is_str(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "fromhex() argument must be str, not %T", args[1]);
    StrObject *s = AS_STR(args[1]);
    const char *p = s->data, *end = s->data + s->len;
    while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r'))) p++;
    while (end > p && (end[-1] == ' ' || (end[-1] >= '\t' && end[-1] <= '\r'))) end--;
    double r;
    const char *q = p;
    bool neg = false;
    if (q < end && (*q == '+' || *q == '-')) neg = *q++ == '-';
    size_t rest = (size_t)(end - q);
    if ((rest == 3 && strncasecmp(q, "inf", 3) == 0) ||
        (rest == 8 && strncasecmp(q, "infinity", 8) == 0)) {
        r = neg ? -INFINITY : INFINITY;
    } else if (rest == 3 && strncasecmp(q, "nan", 3) == 0) {
        r = NAN;
    } else {
        char small[128];
        size_t cap = rest + 8;
        char *buf = cap <= sizeof small ? small : mem_alloc(vm, cap);
        if (!buf) return VAL_NULL;
        size_t n = 0;
        buf[n++] = neg ? '-' : '+';
        buf[n++] = '0';
        buf[n++] = 'x';
        if (q + 1 < end && q[0] == '0' && (q[1] | 0x20) == 'x') q += 2;
        int ndig = 0;
        bool dot = false, bad = false;
        for (; q < end && *q != 'p' && *q != 'P'; q++) {
            char c = *q;
            if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
                ndig++;
            else if (c == '.' && !dot)
                dot = true;
            else {
                bad = true;
                break;
            }
            buf[n++] = c;
        }
        if (ndig == 0) bad = true;
        if (!bad && q < end) {
            buf[n++] = *q++;
            if (q < end && (*q == '+' || *q == '-')) buf[n++] = *q++;
            int edig = 0;
            for (; q < end && *q >= '0' && *q <= '9'; q++, edig++) buf[n++] = *q;
            if (edig == 0 || q != end) bad = true;
        }
        buf[n] = 0;
        r = bad ? 0 : strtod(buf, NULL);
        if (buf != small) mem_free(vm, buf, cap);
        if (bad)
            return vm_raise(vm, vm->exc_ValueError, "invalid hexadecimal floating-point string");
        if (isinf(r))
            return vm_raise(vm, vm->exc_OverflowError,
                            "hexadecimal value too large to represent as a float");
    }
    Value v = v_float(r);
    if (is_type(vm, args[0]) && AS_TYPE(args[0]) != vm->t_float) return vm_call1(vm, args[0], v);
    return v;
}

// float(str): Unicode decimal digits and spaces are mapped to ASCII first,
// as CPython does; errors still show the original text. 0 / -1.
static int parse_str(EddyVM *vm, StrObject *s, double *out) {
    if (s->ascii) return float_from_string(vm, s->data, s->len, out);
    char *buf = mem_alloc(vm, s->len);
    if (!buf) return -1;
    size_t n = str_to_ascii_decimal(s, buf);
    int rc = float_from_string(vm, buf, n, out);
    mem_free(vm, buf, s->len);
    if (rc < 0 && vm_err_matches(vm, vm->exc_ValueError)) {
        vm_err_clear(vm);
        Value r = str_repr(vm, s);
        if (!IS_NULL(r))
            vm_raise(vm, vm->exc_ValueError, "could not convert string to float: %U", AS_STR(r));
    }
    return rc;
}

static Value float_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kwnames) {
    if (kwnames && kwnames->len)
        return vm_raise(vm, vm->exc_TypeError, "float() takes no keyword arguments");
    if (nargs > 1)
        return vm_raise(vm, vm->exc_TypeError, "float expected at most 1 argument, got %d", nargs);
    double d = 0.0;
    if (nargs == 1) {
        Value x = args[0];
        if (IS_FLOAT(x)) {
            d = AS_FLOAT(x);
        } else if (is_str(vm, x)) {
            if (parse_str(vm, AS_STR(x), &d) < 0) return VAL_NULL;
        } else if (is_bytes(vm, x) ||
                   (IS_OBJ(x) && type_is_subtype(OBJ_TYPE(AS_OBJ(x)), vm->t_bytearray))) {
            size_t len;
            const uint8_t *data = bytes_data(x, &len);
            if (float_from_string(vm, (const char *)data, len, &d) < 0) {
                vm_err_clear(vm);
                Value rep = vm_repr(vm, x);
                if (IS_NULL(rep)) return rep;
                return vm_raise(vm, vm->exc_ValueError, "could not convert string to float: %U",
                                AS_STR(rep));
            }
        } else {
            TypeObject *xt = vm_type_of(vm, x);
            if (!is_int(vm, x) && !is_float_obj(vm, x) &&
                IS_NULL(type_lookup(vm, xt, vm->names.__float__)) &&
                IS_NULL(type_lookup(vm, xt, vm->names.__index__)))
                return vm_raise(vm, vm->exc_TypeError,
                                "float() argument must be a string or a real number, not '%s'",
                                vm_type_name(vm, x));
            if (float_from_value(vm, x, &d) < 0) return VAL_NULL;
        }
    }
    if (t == vm->t_float) return v_float(d);
    size_t size = t->instance_size > sizeof(FloatObject) ? t->instance_size : sizeof(FloatObject);
    FloatObject *o = (FloatObject *)obj_alloc(vm, t, size);
    if (!o) return VAL_NULL;
    o->value = d;
    return v_obj(o);
}

static Value float_repr_slot(EddyVM *vm, Value self) { return float_repr(vm, float_value(self)); }

static int float_hash_slot(EddyVM *vm, Value self, int64_t *out) {
    *out = float_hash(float_value(self));
    return 0;
}

static int float_truthy_slot(EddyVM *vm, Value self) { return float_value(self) != 0.0; }

static Value float_richcompare(EddyVM *vm, Value a, Value b, int op) {
    // Either side may be the float (reflected comparisons).
    if (!is_float(vm, a)) {
        Value t = a;
        a = b;
        b = t;
        if (!is_float(vm, a)) return vm->not_implemented;
        static const int mirror[] = {CMP_GT, CMP_GE, CMP_EQ, CMP_NE, CMP_LT, CMP_LE};
        op = mirror[op];
    }
    double x = float_value(a);
    int c;
    if (is_float(vm, b)) {
        double y = float_value(b);
        if (isnan(x) || isnan(y))
            c = 2;
        else
            c = x < y ? -1 : x > y;
    } else if (is_int(vm, b)) {
        if (compare_float_int(vm, x, b, &c) < 0) return VAL_NULL;
    } else {
        return vm->not_implemented;
    }
    if (c == 2) return v_bool(op == CMP_NE);
    switch (op) {
    case CMP_LT: return v_bool(c < 0);
    case CMP_LE: return v_bool(c <= 0);
    case CMP_EQ: return v_bool(c == 0);
    case CMP_NE: return v_bool(c != 0);
    case CMP_GT: return v_bool(c > 0);
    default: return v_bool(c >= 0);
    }
}

#define CMP_METHOD(cname, pyname, op)                                                              \
    static Value cname(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {                 \
        if (nargs < 1 || !is_float(vm, args[0])) return self_error(vm, pyname, args, nargs);       \
        if (nargs != 2 || kwnames) return arity(vm, 1, nargs - 1);                                 \
        return float_richcompare(vm, args[0], args[1], op);                                        \
    }
CMP_METHOD(float_lt_m, "__lt__", CMP_LT)
CMP_METHOD(float_le_m, "__le__", CMP_LE)
CMP_METHOD(float_eq_m, "__eq__", CMP_EQ)
CMP_METHOD(float_ne_m, "__ne__", CMP_NE)
CMP_METHOD(float_gt_m, "__gt__", CMP_GT)
CMP_METHOD(float_ge_m, "__ge__", CMP_GE)

// Floats hold no references, except a subclass instance's __dict__.
static void float_trace(EddyVM *vm, Obj *self) {
    TypeObject *t = self->type;
    if (t->dict_offset > 0) gc_mark_obj(vm, *(Obj **)((char *)self + t->dict_offset));
}

static void float_finalize(EddyVM *vm, Obj *self) {}

typedef struct MethodDef {
    const char *name;
    NativeFn fn;
} MethodDef;

int float_init_type(EddyVM *vm) {
    TypeObject *t =
        type_new_builtin(vm, vm->t_float, vm->t_object, sizeof(FloatObject), TPF_BASETYPE);
    if (!t) return -1;
    t->trace = float_trace;
    t->finalize = float_finalize;
    t->new_ = float_new;
    t->repr = float_repr_slot;
    t->hash = float_hash_slot;
    t->richcompare = float_richcompare;
    t->truthy = float_truthy_slot;
    static const MethodDef methods[] = {
        {"__add__", float_add_m},
        {"__radd__", float_radd_m},
        {"__sub__", float_sub_m},
        {"__rsub__", float_rsub_m},
        {"__mul__", float_mul_m},
        {"__rmul__", float_rmul_m},
        {"__truediv__", float_truediv_m},
        {"__rtruediv__", float_rtruediv_m},
        {"__floordiv__", float_floordiv_m},
        {"__rfloordiv__", float_rfloordiv_m},
        {"__mod__", float_mod_m},
        {"__rmod__", float_rmod_m},
        {"__divmod__", float_divmod_m},
        {"__rdivmod__", float_rdivmod_m},
        {"__pow__", float_pow_m},
        {"__rpow__", float_rpow_m},
        {"__neg__", float_neg_m},
        {"__pos__", float_pos_m},
        {"__abs__", float_abs_m},
        {"__bool__", float_bool_m},
        {"__float__", float_float_m},
        {"__int__", float_int_m},
        {"__trunc__", float_trunc_m},
        {"__floor__", float_floor_m},
        {"__ceil__", float_ceil_m},
        {"__hash__", float_hash_m},
        {"__repr__", float_repr_m},
        {"__round__", float_round_m},
        {"__format__", float_format_m},
        {"__getnewargs__", float_getnewargs_m},
        {"__lt__", float_lt_m},
        {"__le__", float_le_m},
        {"__eq__", float_eq_m},
        {"__ne__", float_ne_m},
        {"__gt__", float_gt_m},
        {"__ge__", float_ge_m},
        {"is_integer", float_is_integer_m},
        {"as_integer_ratio", float_ratio_m},
        {"hex", float_hex_m},
        {"conjugate", float_conjugate_m},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, NATIVE_METHOD) < 0) return -1;
    if (type_add_method(vm, t, "fromhex", float_fromhex_m, NATIVE_CLASSMETHOD) < 0) return -1;
    if (type_add_getter(vm, t, "real", float_real_get) < 0 ||
        type_add_getter(vm, t, "imag", float_imag_get) < 0)
        return -1;
    return 0;
}
