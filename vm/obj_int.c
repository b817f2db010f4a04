// obj_int.c - int (unboxed int64 fast path + arbitrary precision) and bool.
//
// Representation (see value.h): an exact int that fits in int64_t is always
// an unboxed V_INT; larger ones are heap BigIntObjects holding a sign and a
// magnitude in base 2**32 digits, least significant first. Every operation
// normalises its result back to V_INT when it fits.
//
// Instances of script subclasses of int (class MyInt(int)) are also
// BigIntObjects, of the subclass type, and may hold small values; so code
// here treats "any V_OBJ whose type has TPF_INT_SUBCLASS" as an int and
// always reads it through load(). Results are always exact ints.
//
// bool is a subclass of int whose values are the unboxed V_BOOL.
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "vm.h"

typedef uint32_t digit;
typedef uint64_t twodigits;
#define DIGIT_BITS 32
#define DIGIT_MASK 0xffffffffu

// The digits live in the same allocation as the object, but at an offset
// that depends on the type: a subclass may append fields (its __dict__)
// after the base layout, so the digits go after the type's instance_size.
typedef struct BigIntObject {
    Obj hdr;
    int32_t sign;     // -1, 0 or +1
    uint32_t ndigits; // magnitude length, no leading zero digits
    digit *digits;    // points into this object's own allocation
} BigIntObject;

// Objects record their size in a uint32_t, so a magnitude stays well below 4 GB.
#define MAX_DIGITS ((size_t)1 << 29)
#define KARATSUBA_CUTOFF 48

// A read-only view of an int operand's magnitude. Small values live in buf,
// so a Mag must not be copied once loaded.
typedef struct Mag {
    const digit *d;
    size_t n;
    int sign;
    digit buf[2];
} Mag;

static inline BigIntObject *AS_BIG(Value v) { return (BigIntObject *)AS_OBJ(v); }

bool is_bigint(Value v) { return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_INT_SUBCLASS); }

bool is_int(EddyVM *vm, Value v) {
    (void)vm;
    return IS_INT(v) || IS_BOOL(v) || is_bigint(v);
}

static void load_u64(Mag *m, uint64_t u, int sign) {
    m->buf[0] = (digit)u;
    m->buf[1] = (digit)(u >> 32);
    m->d = m->buf;
    m->n = u == 0 ? 0 : (m->buf[1] ? 2 : 1);
    m->sign = u == 0 ? 0 : sign;
}

static void load_i64(Mag *m, int64_t i) {
    if (i < 0)
        load_u64(m, 0 - (uint64_t)i, -1);
    else
        load_u64(m, (uint64_t)i, 1);
}

// v must satisfy is_int().
static void load(Value v, Mag *m) {
    if (IS_INT(v)) {
        load_i64(m, AS_INT(v));
    } else if (IS_BOOL(v)) {
        load_i64(m, AS_BOOL(v) ? 1 : 0);
    } else {
        BigIntObject *b = AS_BIG(v);
        m->d = b->digits;
        m->n = b->ndigits;
        m->sign = b->sign;
    }
}

static size_t mag_strip(const digit *d, size_t n) {
    while (n > 0 && d[n - 1] == 0) n--;
    return n;
}

// Allocate an exact int object with room for n digits (zeroed).
static BigIntObject *big_alloc_type(EddyVM *vm, TypeObject *t, size_t n) {
    if (n > MAX_DIGITS) {
        vm_raise_nomem(vm);
        return NULL;
    }
    size_t base = t == vm->t_int ? sizeof(BigIntObject) : t->instance_size;
    if (base < sizeof(BigIntObject)) base = sizeof(BigIntObject);
    base = (base + 7) & ~(size_t)7;
    size_t size = base + (((n ? n : 1) * sizeof(digit) + 7) & ~(size_t)7);
    // A subclass's __dict__ at a negative dict_offset sits at the very end
    // of the object (obj_type.c), after the digits.
    if (t->dict_offset < 0) size += (size_t)-t->dict_offset;
    BigIntObject *b = (BigIntObject *)obj_alloc(vm, t, size);
    if (!b) return NULL;
    b->digits = (digit *)((char *)b + base);
    b->sign = 0;
    b->ndigits = 0;
    return b;
}

static BigIntObject *big_alloc(EddyVM *vm, size_t n) { return big_alloc_type(vm, vm->t_int, n); }

// Finish a result computed into b->digits[0..n): strip, set the sign and
// return a V_INT when the value fits.
static Value big_finish(BigIntObject *b, size_t n, int sign) {
    n = mag_strip(b->digits, n);
    if (n == 0) return v_int(0);
    if (n <= 2) {
        uint64_t u = b->digits[0] | (n == 2 ? (uint64_t)b->digits[1] << 32 : 0);
        if (sign > 0 && u <= (uint64_t)INT64_MAX) return v_int((int64_t)u);
        if (sign < 0 && u <= (uint64_t)1 << 63) return v_int((int64_t)(0 - u));
    }
    b->ndigits = (uint32_t)n;
    b->sign = sign;
    return v_obj(b);
}

static Value from_mag(EddyVM *vm, const digit *d, size_t n, int sign) {
    n = mag_strip(d, n);
    BigIntObject *b = big_alloc(vm, n);
    if (!b) return VAL_NULL;
    if (n) memcpy(b->digits, d, n * sizeof(digit));
    return big_finish(b, n, sign);
}

Value int_from_i64(EddyVM *vm, int64_t i) {
    (void)vm;
    return v_int(i);
}

Value int_from_u64(EddyVM *vm, uint64_t u) {
    if (u <= (uint64_t)INT64_MAX) return v_int((int64_t)u);
    digit d[2] = {(digit)u, (digit)(u >> 32)};
    return from_mag(vm, d, 2, 1);
}

// The exact-int value of an int (subclass instances become plain ints).
static Value int_exact(EddyVM *vm, Value v) {
    if (IS_INT(v)) return v;
    if (IS_BOOL(v)) return v_int(AS_BOOL(v));
    if (OBJ_TYPE(AS_OBJ(v)) == vm->t_int) return v;
    Mag m;
    load(v, &m);
    return from_mag(vm, m.d, m.n, m.sign);
}

int int_sign(Value v) {
    if (IS_INT(v)) return AS_INT(v) < 0 ? -1 : AS_INT(v) > 0;
    if (IS_BOOL(v)) return AS_BOOL(v);
    return AS_BIG(v)->sign;
}

// ---------------------------------------------------------------------------
// Magnitude arithmetic on digit arrays.

static int mag_cmp(const digit *a, size_t na, const digit *b, size_t nb) {
    if (na != nb) return na < nb ? -1 : 1;
    while (na-- > 0) {
        if (a[na] != b[na]) return a[na] < b[na] ? -1 : 1;
    }
    return 0;
}

// r = a + b, na >= nb; r has room for na + 1 digits. Returns na + 1.
static size_t mag_add(digit *r, const digit *a, size_t na, const digit *b, size_t nb) {
    twodigits c = 0;
    size_t i = 0;
    for (; i < nb; i++) {
        c += (twodigits)a[i] + b[i];
        r[i] = (digit)c;
        c >>= 32;
    }
    for (; i < na; i++) {
        c += a[i];
        r[i] = (digit)c;
        c >>= 32;
    }
    r[i] = (digit)c;
    return na + 1;
}

// r = a - b, a >= b; r has room for na digits.
static size_t mag_sub(digit *r, const digit *a, size_t na, const digit *b, size_t nb) {
    int64_t borrow = 0;
    size_t i = 0;
    for (; i < nb; i++) {
        int64_t t = (int64_t)a[i] - b[i] + borrow;
        r[i] = (digit)t;
        borrow = t < 0 ? -1 : 0;
    }
    for (; i < na; i++) {
        int64_t t = (int64_t)a[i] + borrow;
        r[i] = (digit)t;
        borrow = t < 0 ? -1 : 0;
    }
    return na;
}

// r[0..na+nb) = a * b (r is overwritten).
static void mag_mul_school(digit *r, const digit *a, size_t na, const digit *b, size_t nb) {
    memset(r, 0, (na + nb) * sizeof(digit));
    for (size_t i = 0; i < na; i++) {
        twodigits c = 0, ai = a[i];
        if (ai == 0) continue;
        for (size_t j = 0; j < nb; j++) {
            c += ai * b[j] + r[i + j];
            r[i + j] = (digit)c;
            c >>= 32;
        }
        r[i + nb] = (digit)c;
    }
}

// Add a[0..na) into r (which is long enough that the carry never runs off).
static void mag_add_into(digit *r, size_t nr, const digit *a, size_t na) {
    twodigits c = 0;
    size_t i = 0;
    for (; i < na && i < nr; i++) {
        c += (twodigits)r[i] + a[i];
        r[i] = (digit)c;
        c >>= 32;
    }
    for (; c && i < nr; i++) {
        c += r[i];
        r[i] = (digit)c;
        c >>= 32;
    }
}

// Subtract a from r in place (r >= a).
static void mag_sub_from(digit *r, size_t nr, const digit *a, size_t na) {
    int64_t borrow = 0;
    size_t i = 0;
    for (; i < na && i < nr; i++) {
        int64_t t = (int64_t)r[i] - a[i] + borrow;
        r[i] = (digit)t;
        borrow = t < 0 ? -1 : 0;
    }
    for (; borrow && i < nr; i++) {
        int64_t t = (int64_t)r[i] + borrow;
        r[i] = (digit)t;
        borrow = t < 0 ? -1 : 0;
    }
}

// r[0..na+nb) = a * b with Karatsuba above the cut-off. 0 / -1 MemoryError.
static int mag_mul(EddyVM *vm, digit *r, const digit *a, size_t na, const digit *b, size_t nb) {
    if (na < nb) {
        const digit *t = a;
        a = b;
        b = t;
        size_t tn = na;
        na = nb;
        nb = tn;
    }
    if (nb < KARATSUBA_CUTOFF) {
        mag_mul_school(r, a, na, b, nb);
        return 0;
    }
    if (2 * nb <= na) {
        // Lopsided: multiply b by nb-digit slices of a.
        memset(r, 0, (na + nb) * sizeof(digit));
        digit *t = mem_alloc(vm, 2 * nb * sizeof(digit));
        if (!t) return -1;
        for (size_t off = 0; off < na; off += nb) {
            size_t chunk = na - off < nb ? na - off : nb;
            if (mag_mul(vm, t, a + off, chunk, b, nb) < 0) {
                mem_free(vm, t, 2 * nb * sizeof(digit));
                return -1;
            }
            mag_add_into(r + off, na + nb - off, t, chunk + nb);
        }
        mem_free(vm, t, 2 * nb * sizeof(digit));
        return 0;
    }
    // a = a1*B^h + a0, b = b1*B^h + b0; z1 = (a0+a1)(b0+b1) - z0 - z2.
    size_t h = nb / 2, na1 = na - h, nb1 = nb - h;
    if (mag_mul(vm, r, a, h, b, h) < 0) return -1;                     // z0
    if (mag_mul(vm, r + 2 * h, a + h, na1, b + h, nb1) < 0) return -1; // z2
    size_t ns = (na1 + 1) + (nb1 + 1);
    size_t tmp_len = ns + (na1 + 1) + (nb1 + 1);
    digit *tmp = mem_alloc(vm, tmp_len * sizeof(digit));
    if (!tmp) return -1;
    digit *sa = tmp + ns, *sb = sa + na1 + 1, *t = tmp;
    mag_add(sa, a + h, na1, a, h);
    mag_add(sb, b + h, nb1, b, h);
    if (mag_mul(vm, t, sa, na1 + 1, sb, nb1 + 1) < 0) {
        mem_free(vm, tmp, tmp_len * sizeof(digit));
        return -1;
    }
    mag_sub_from(t, ns, r, 2 * h);
    mag_sub_from(t, ns, r + 2 * h, na1 + nb1);
    mag_add_into(r + h, na + nb - h, t, ns);
    mem_free(vm, tmp, tmp_len * sizeof(digit));
    return 0;
}

// q = a / d, returns the remainder. q may alias a.
static digit mag_divrem1(digit *q, const digit *a, size_t n, digit d) {
    twodigits rem = 0;
    while (n-- > 0) {
        rem = (rem << 32) | a[n];
        q[n] = (digit)(rem / d);
        rem %= d;
    }
    return (digit)rem;
}

// Knuth's algorithm D: q[0..na-nb+1) = a / b, r[0..nb) = a % b.
// Requires nb >= 2, b[nb-1] != 0, na >= nb. 0 / -1 MemoryError.
static int mag_divrem(EddyVM *vm, const digit *a, size_t na, const digit *b, size_t nb, digit *q,
                      digit *r) {
    int s = __builtin_clz(b[nb - 1]);
    size_t bytes = (na + 1 + nb) * sizeof(digit);
    digit *un = mem_alloc(vm, bytes);
    if (!un) return -1;
    digit *vn = un + na + 1;
    for (size_t i = nb - 1; i > 0; i--)
        vn[i] = (b[i] << s) | (s ? (digit)((twodigits)b[i - 1] >> (32 - s)) : 0);
    vn[0] = b[0] << s;
    un[na] = s ? (digit)((twodigits)a[na - 1] >> (32 - s)) : 0;
    for (size_t i = na - 1; i > 0; i--)
        un[i] = (a[i] << s) | (s ? (digit)((twodigits)a[i - 1] >> (32 - s)) : 0);
    un[0] = a[0] << s;
    twodigits vtop = vn[nb - 1], vnext = vn[nb - 2];
    for (size_t jj = na - nb + 1; jj-- > 0;) {
        size_t j = jj;
        twodigits num = ((twodigits)un[j + nb] << 32) | un[j + nb - 1];
        twodigits qhat = num / vtop, rhat = num % vtop;
        while (qhat > DIGIT_MASK || qhat * vnext > ((rhat << 32) | un[j + nb - 2])) {
            qhat--;
            rhat += vtop;
            if (rhat > DIGIT_MASK) break;
        }
        int64_t borrow = 0;
        twodigits carry = 0;
        for (size_t i = 0; i < nb; i++) {
            twodigits p = qhat * vn[i] + carry;
            carry = p >> 32;
            int64_t t = (int64_t)un[i + j] - (int64_t)(p & DIGIT_MASK) + borrow;
            un[i + j] = (digit)t;
            borrow = t < 0 ? -1 : 0;
        }
        int64_t t = (int64_t)un[j + nb] - (int64_t)carry + borrow;
        un[j + nb] = (digit)t;
        if (t < 0) {
            qhat--;
            twodigits c = 0;
            for (size_t i = 0; i < nb; i++) {
                c += (twodigits)un[i + j] + vn[i];
                un[i + j] = (digit)c;
                c >>= 32;
            }
            un[j + nb] += (digit)c;
        }
        q[j] = (digit)qhat;
    }
    for (size_t i = 0; i < nb; i++)
        r[i] = (un[i] >> s) | (s ? (digit)((twodigits)un[i + 1] << (32 - s)) : 0);
    mem_free(vm, un, bytes);
    return 0;
}

static int64_t mag_bit_length(const digit *d, size_t n) {
    if (n == 0) return 0;
    return (int64_t)(n - 1) * 32 + (32 - __builtin_clz(d[n - 1]));
}

// ---------------------------------------------------------------------------
// Signed arithmetic on general ints.

// a + bsign * b
static Value big_addsub(EddyVM *vm, Value av, Value bv, int bsign) {
    Mag a, b;
    load(av, &a);
    load(bv, &b);
    int sb = b.sign * bsign;
    if (b.n == 0) return int_exact(vm, av);
    if (a.n == 0) {
        if (sb == b.sign) return int_exact(vm, bv);
        return from_mag(vm, b.d, b.n, sb);
    }
    if (a.sign == sb) {
        const Mag *x = a.n >= b.n ? &a : &b, *y = a.n >= b.n ? &b : &a;
        BigIntObject *r = big_alloc(vm, x->n + 1);
        if (!r) return VAL_NULL;
        size_t n = mag_add(r->digits, x->d, x->n, y->d, y->n);
        return big_finish(r, n, a.sign);
    }
    int c = mag_cmp(a.d, a.n, b.d, b.n);
    if (c == 0) return v_int(0);
    const Mag *x = c > 0 ? &a : &b, *y = c > 0 ? &b : &a;
    BigIntObject *r = big_alloc(vm, x->n);
    if (!r) return VAL_NULL;
    size_t n = mag_sub(r->digits, x->d, x->n, y->d, y->n);
    return big_finish(r, n, c > 0 ? a.sign : sb);
}

Value int_add(EddyVM *vm, Value a, Value b) {
    int64_t r;
    if (IS_INT(a) && IS_INT(b) && !__builtin_add_overflow(AS_INT(a), AS_INT(b), &r))
        return v_int(r);
    return big_addsub(vm, a, b, 1);
}

Value int_sub(EddyVM *vm, Value a, Value b) {
    int64_t r;
    if (IS_INT(a) && IS_INT(b) && !__builtin_sub_overflow(AS_INT(a), AS_INT(b), &r))
        return v_int(r);
    return big_addsub(vm, a, b, -1);
}

Value int_mul(EddyVM *vm, Value av, Value bv) {
    int64_t r;
    if (IS_INT(av) && IS_INT(bv) && !__builtin_mul_overflow(AS_INT(av), AS_INT(bv), &r))
        return v_int(r);
    Mag a, b;
    load(av, &a);
    load(bv, &b);
    if (a.n == 0 || b.n == 0) return v_int(0);
    if (a.n + b.n > MAX_DIGITS) return vm_raise_nomem(vm);
    BigIntObject *res = big_alloc(vm, a.n + b.n);
    if (!res) return VAL_NULL;
    if (mag_mul(vm, res->digits, a.d, a.n, b.d, b.n) < 0) return VAL_NULL;
    return big_finish(res, a.n + b.n, a.sign * b.sign);
}

Value int_neg(EddyVM *vm, Value a) {
    if (IS_INT(a) && AS_INT(a) != INT64_MIN) return v_int(-AS_INT(a));
    Mag m;
    load(a, &m);
    return from_mag(vm, m.d, m.n, -m.sign);
}

Value int_abs(EddyVM *vm, Value a) {
    if (int_sign(a) < 0) return int_neg(vm, a);
    return int_exact(vm, a);
}

// Truncating division of magnitudes; q and r get the signs of C division.
static int big_divmod_trunc(EddyVM *vm, Value av, Value bv, Value *q, Value *r) {
    Mag a, b;
    load(av, &a);
    load(bv, &b);
    if (mag_cmp(a.d, a.n, b.d, b.n) < 0) {
        if (q) *q = v_int(0);
        if (r) {
            *r = int_exact(vm, av);
            if (IS_NULL(*r)) return -1;
        }
        return 0;
    }
    BigIntObject *qo = big_alloc(vm, a.n - b.n + 1);
    if (!qo) return -1;
    BigIntObject *ro = big_alloc(vm, b.n);
    if (!ro) return -1;
    if (b.n == 1) {
        ro->digits[0] = mag_divrem1(qo->digits, a.d, a.n, b.d[0]);
    } else if (mag_divrem(vm, a.d, a.n, b.d, b.n, qo->digits, ro->digits) < 0) {
        return -1;
    }
    if (q) *q = big_finish(qo, a.n - b.n + 1, a.sign * b.sign);
    if (r) *r = big_finish(ro, b.n, a.sign);
    return 0;
}

// Floor division and modulo (Python semantics). Either output may be NULL.
// 0 / -1 (ZeroDivisionError with msg).
static int divmod_values(EddyVM *vm, Value a, Value b, Value *q, Value *r, const char *msg) {
    if (IS_INT(a) && IS_INT(b)) {
        int64_t x = AS_INT(a), y = AS_INT(b);
        if (y == 0) {
            vm_raise(vm, vm->exc_ZeroDivisionError, "%s", msg);
            return -1;
        }
        if (!(x == INT64_MIN && y == -1)) {
            int64_t qq = x / y, rr = x % y;
            if (rr != 0 && ((rr < 0) != (y < 0))) {
                qq--;
                rr += y;
            }
            if (q) *q = v_int(qq);
            if (r) *r = v_int(rr);
            return 0;
        }
    }
    if (int_sign(b) == 0) {
        vm_raise(vm, vm->exc_ZeroDivisionError, "%s", msg);
        return -1;
    }
    Value qq, rr;
    if (big_divmod_trunc(vm, a, b, &qq, &rr) < 0) return -1;
    if (int_sign(rr) != 0 && int_sign(rr) != int_sign(b)) {
        if (q) {
            qq = int_sub(vm, qq, v_int(1));
            if (IS_NULL(qq)) return -1;
        }
        rr = int_add(vm, rr, b);
        if (IS_NULL(rr)) return -1;
    }
    if (q) *q = qq;
    if (r) *r = rr;
    return 0;
}

Value int_floordiv(EddyVM *vm, Value a, Value b) {
    Value q;
    if (divmod_values(vm, a, b, &q, NULL, "integer division or modulo by zero") < 0)
        return VAL_NULL;
    return q;
}

Value int_mod(EddyVM *vm, Value a, Value b) {
    if (IS_INT(a) && IS_INT(b) && AS_INT(b) > 0 && AS_INT(a) >= 0)
        return v_int(AS_INT(a) % AS_INT(b));
    Value r;
    if (divmod_values(vm, a, b, NULL, &r, "integer modulo by zero") < 0) return VAL_NULL;
    return r;
}

int int_divmod(EddyVM *vm, Value a, Value b, Value *q, Value *r) {
    return divmod_values(vm, a, b, q, r, "integer division or modulo by zero");
}

int64_t int_bit_length(Value v) {
    Mag m;
    load(v, &m);
    return mag_bit_length(m.d, m.n);
}

int int_compare(Value a, Value b) {
    if (IS_INT(a) && IS_INT(b)) return AS_INT(a) < AS_INT(b) ? -1 : AS_INT(a) > AS_INT(b);
    Mag x, y;
    load(a, &x);
    load(b, &y);
    if (x.sign != y.sign) return x.sign < y.sign ? -1 : 1;
    int c = mag_cmp(x.d, x.n, y.d, y.n);
    return x.sign < 0 ? -c : c;
}

int int_to_i64(EddyVM *vm, Value v, int64_t *out) {
    if (IS_INT(v)) {
        *out = AS_INT(v);
        return 0;
    }
    if (IS_BOOL(v)) {
        *out = AS_BOOL(v);
        return 0;
    }
    Mag m;
    load(v, &m);
    if (m.n <= 2) {
        uint64_t u = m.n ? m.d[0] | (m.n == 2 ? (uint64_t)m.d[1] << 32 : 0) : 0;
        if (m.sign >= 0 && u <= (uint64_t)INT64_MAX) {
            *out = (int64_t)u;
            return 0;
        }
        if (m.sign < 0 && u <= (uint64_t)1 << 63) {
            *out = (int64_t)(0 - u);
            return 0;
        }
    }
    vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C int64");
    return -1;
}

// |v| = m * 2**e with 0.5 <= m < 1, correctly rounded to 53 bits; the
// exponent is exact even for huge ints. Returns the signed mantissa.
double int_frexp(Value v, int64_t *e) {
    Mag m;
    load(v, &m);
    if (m.n == 0) {
        *e = 0;
        return 0.0;
    }
    int64_t bits = mag_bit_length(m.d, m.n);
    uint64_t top;
    int64_t shift;
    if (bits <= 64) {
        top = m.d[0] | (m.n > 1 ? (uint64_t)m.d[1] << 32 : 0);
        shift = 0;
    } else {
        // Keep 55 bits plus a sticky bit so the hardware rounds correctly.
        shift = bits - 55;
        size_t wd = (size_t)(shift / 32);
        int wb = (int)(shift % 32);
        unsigned __int128 acc = 0;
        for (size_t i = 0; i < 3 && wd + i < m.n; i++)
            acc |= (unsigned __int128)m.d[wd + i] << (32 * i);
        top = (uint64_t)(acc >> wb);
        top &= ((uint64_t)1 << 55) - 1;
        bool sticky = (acc & (((unsigned __int128)1 << wb) - 1)) != 0;
        for (size_t i = 0; !sticky && i < wd; i++) sticky = m.d[i] != 0;
        if (sticky) top |= 1;
    }
    int ex;
    double mant = frexp((double)top, &ex);
    *e = ex + shift;
    return m.sign < 0 ? -mant : mant;
}

double int_to_double(EddyVM *vm, Value v, bool *overflow) {
    if (overflow) *overflow = false;
    if (IS_INT(v)) return (double)AS_INT(v);
    if (IS_BOOL(v)) return AS_BOOL(v);
    int64_t e;
    double m = int_frexp(v, &e);
    if (e > DBL_MAX_EXP) {
        if (overflow) *overflow = true;
        vm_raise(vm, vm->exc_OverflowError, "int too large to convert to float");
        return -1.0;
    }
    double d = ldexp(m, (int)e);
    if (isinf(d)) {
        if (overflow) *overflow = true;
        vm_raise(vm, vm->exc_OverflowError, "int too large to convert to float");
        return -1.0;
    }
    return d;
}

Value int_from_double(EddyVM *vm, double d) {
    if (isnan(d)) return vm_raise(vm, vm->exc_ValueError, "cannot convert float NaN to integer");
    if (isinf(d))
        return vm_raise(vm, vm->exc_OverflowError, "cannot convert float infinity to integer");
    if (d > -9223372036854775808.0 && d < 9223372036854775808.0) return v_int((int64_t)d);
    int e;
    double m = frexp(fabs(d), &e); // d = m * 2**e, e >= 64
    uint64_t mant = (uint64_t)ldexp(m, 53);
    int shift = e - 53;
    size_t n = (size_t)(shift / 32) + 3;
    BigIntObject *b = big_alloc(vm, n);
    if (!b) return VAL_NULL;
    unsigned __int128 x = (unsigned __int128)mant << (shift % 32);
    size_t wd = (size_t)(shift / 32);
    for (size_t i = 0; i < 3; i++) b->digits[wd + i] = (digit)(x >> (32 * i));
    return big_finish(b, n, d < 0 ? -1 : 1);
}

// ---------------------------------------------------------------------------
// Hashing: CPython's numeric hash, modulo the Mersenne prime 2**61 - 1.
#define HASH_BITS 61
#define HASH_MODULUS (((uint64_t)1 << HASH_BITS) - 1)

int64_t int_hash(Value v) {
    if (IS_INT(v)) {
        int64_t i = AS_INT(v);
        if (i > -(int64_t)HASH_MODULUS && i < (int64_t)HASH_MODULUS) return i == -1 ? -2 : i;
    }
    Mag m;
    load(v, &m);
    uint64_t x = 0;
    for (size_t i = m.n; i-- > 0;) {
        // x = (x * 2**32 + d) mod M, via a 61-bit rotation.
        x = ((x << 32) & HASH_MODULUS) | (x >> (HASH_BITS - 32));
        x += m.d[i];
        if (x >= HASH_MODULUS) x -= HASH_MODULUS;
    }
    int64_t h = m.sign < 0 ? -(int64_t)x : (int64_t)x;
    return h == -1 ? -2 : h;
}

// ---------------------------------------------------------------------------
// Shifts and bitwise operations.

Value int_lshift(EddyVM *vm, Value a, Value b) {
    if (int_sign(b) < 0) return vm_raise(vm, vm->exc_ValueError, "negative shift count");
    if (int_sign(a) == 0) return v_int(0);
    int64_t s;
    if (!IS_INT(b) && !IS_BOOL(b)) {
        Mag mb;
        load(b, &mb);
        if (mb.n > 2 || (mb.n == 2 && mb.d[1] >= 0x80000000u))
            return vm_raise(vm, vm->exc_OverflowError, "too many digits in integer");
    }
    if (int_to_i64(vm, b, &s) < 0) return VAL_NULL;
    if (IS_INT(a) && s < 63) {
        int64_t x = AS_INT(a);
        int64_t r = (int64_t)((uint64_t)x << s);
        if ((r >> s) == x) return v_int(r);
    }
    Mag m;
    load(a, &m);
    uint64_t wd = (uint64_t)s / 32;
    int wb = (int)(s % 32);
    if (wd + m.n + 1 > MAX_DIGITS) return vm_raise_nomem(vm);
    BigIntObject *r = big_alloc(vm, (size_t)wd + m.n + 1);
    if (!r) return VAL_NULL;
    digit carry = 0;
    for (size_t i = 0; i < m.n; i++) {
        twodigits t = ((twodigits)m.d[i] << wb) | carry;
        r->digits[wd + i] = (digit)t;
        carry = (digit)(t >> 32);
    }
    r->digits[wd + m.n] = carry;
    return big_finish(r, (size_t)wd + m.n + 1, m.sign);
}

Value int_rshift(EddyVM *vm, Value a, Value b) {
    int sb = int_sign(b);
    if (sb < 0) return vm_raise(vm, vm->exc_ValueError, "negative shift count");
    int64_t s;
    if (!IS_INT(b) && !IS_BOOL(b)) {
        Mag mb;
        load(b, &mb);
        if (mb.n > 2 || (mb.n == 2 && mb.d[1] >= 0x80000000u))
            return v_int(int_sign(a) < 0 ? -1 : 0);
    }
    if (int_to_i64(vm, b, &s) < 0) return VAL_NULL;
    if (IS_INT(a) || IS_BOOL(a)) {
        int64_t x = IS_INT(a) ? AS_INT(a) : AS_BOOL(a);
        if (s >= 64) return v_int(x < 0 ? -1 : 0);
        return v_int(x >> s);
    }
    Mag m;
    load(a, &m);
    uint64_t wd = (uint64_t)s / 32;
    int wb = (int)(s % 32);
    if (wd >= m.n) return v_int(m.sign < 0 ? -1 : 0);
    size_t n = m.n - (size_t)wd;
    BigIntObject *r = big_alloc(vm, n + 1);
    if (!r) return VAL_NULL;
    bool lost = false; // any 1 bit shifted out (floor for negatives)
    for (size_t i = 0; i < wd && !lost; i++) lost = m.d[i] != 0;
    if (wb && (m.d[wd] & ((1u << wb) - 1))) lost = true;
    for (size_t i = 0; i < n; i++) {
        twodigits t = m.d[wd + i] >> wb;
        if (wb && wd + i + 1 < m.n) t |= ((twodigits)m.d[wd + i + 1] << (32 - wb)) & DIGIT_MASK;
        r->digits[i] = (digit)t;
    }
    if (m.sign < 0 && lost) {
        // floor: -(|a| >> s) - 1 for negatives that lost bits
        twodigits c = 1;
        for (size_t i = 0; i <= n && c; i++) {
            c += r->digits[i];
            r->digits[i] = (digit)c;
            c >>= 32;
        }
    }
    return big_finish(r, n + 1, m.sign);
}

// Two's complement image of m in n digits.
static void to_twos(const Mag *m, digit *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = i < m->n ? m->d[i] : 0;
    if (m->sign < 0) {
        twodigits c = 1;
        for (size_t i = 0; i < n; i++) {
            c += (digit)~out[i];
            out[i] = (digit)c;
            c >>= 32;
        }
    }
}

static Value bitwise(EddyVM *vm, Value av, Value bv, char op) {
    Mag a, b;
    load(av, &a);
    load(bv, &b);
    size_t n = (a.n > b.n ? a.n : b.n) + 1;
    size_t bytes = 2 * n * sizeof(digit);
    digit *tmp = mem_alloc(vm, bytes);
    if (!tmp) return VAL_NULL;
    digit *x = tmp, *y = tmp + n;
    to_twos(&a, x, n);
    to_twos(&b, y, n);
    for (size_t i = 0; i < n; i++) {
        x[i] = op == '&' ? (x[i] & y[i]) : op == '|' ? (x[i] | y[i]) : (x[i] ^ y[i]);
    }
    int sign = 1;
    if (x[n - 1] & 0x80000000u) {
        sign = -1;
        Mag neg = {.d = x, .n = n, .sign = -1};
        to_twos(&neg, x, n); // negate back to the magnitude
    }
    Value r = from_mag(vm, x, n, sign);
    mem_free(vm, tmp, bytes);
    return r;
}

Value int_and(EddyVM *vm, Value a, Value b) {
    if (IS_INT(a) && IS_INT(b)) return v_int(AS_INT(a) & AS_INT(b));
    return bitwise(vm, a, b, '&');
}
Value int_or(EddyVM *vm, Value a, Value b) {
    if (IS_INT(a) && IS_INT(b)) return v_int(AS_INT(a) | AS_INT(b));
    return bitwise(vm, a, b, '|');
}
Value int_xor(EddyVM *vm, Value a, Value b) {
    if (IS_INT(a) && IS_INT(b)) return v_int(AS_INT(a) ^ AS_INT(b));
    return bitwise(vm, a, b, '^');
}

Value int_invert(EddyVM *vm, Value a) {
    if (IS_INT(a)) return v_int(~AS_INT(a));
    if (IS_BOOL(a)) return v_int(~(int64_t)AS_BOOL(a));
    Value n = int_neg(vm, a);
    if (IS_NULL(n)) return n;
    return int_sub(vm, n, v_int(1));
}

// ---------------------------------------------------------------------------
// Power.

static bool int_is_odd(Value v) {
    Mag m;
    load(v, &m);
    return m.n && (m.d[0] & 1);
}

// Modular inverse of a modulo m (m > 0), extended Euclid on ints.
static Value mod_inverse(EddyVM *vm, Value a, Value m) {
    Value r0 = m, r1 = a, t0 = v_int(0), t1 = v_int(1);
    while (int_sign(r1) != 0) {
        Value q, r;
        if (int_divmod(vm, r0, r1, &q, &r) < 0) return VAL_NULL;
        Value qt = int_mul(vm, q, t1);
        if (IS_NULL(qt)) return qt;
        Value t2 = int_sub(vm, t0, qt);
        if (IS_NULL(t2)) return t2;
        r0 = r1;
        r1 = r;
        t0 = t1;
        t1 = t2;
    }
    if (!(IS_INT(r0) && AS_INT(r0) == 1))
        return vm_raise(vm, vm->exc_ValueError, "base is not invertible for the given modulus");
    return int_mod(vm, t0, m);
}

Value int_pow(EddyVM *vm, Value a, Value b, Value mod) {
    if (!IS_NULL(mod) && !IS_NONE(mod)) {
        int ms = int_sign(mod);
        if (ms == 0) return vm_raise(vm, vm->exc_ValueError, "pow() 3rd argument cannot be 0");
        Value m = int_abs(vm, mod);
        if (IS_NULL(m)) return m;
        Value base = int_mod(vm, a, m);
        if (IS_NULL(base)) return base;
        Value e = b;
        if (int_sign(b) < 0) {
            base = mod_inverse(vm, base, m);
            if (IS_NULL(base)) return base;
            e = int_neg(vm, b);
            if (IS_NULL(e)) return e;
        }
        Value r = v_int(1);
        if (IS_INT(m) && AS_INT(m) == 1)
            r = v_int(0);
        else if (IS_INT(m) && AS_INT(m) <= 0xffffffffLL && IS_INT(base)) {
            // Everything fits in 64-bit products.
            uint64_t mm = (uint64_t)AS_INT(m), x = (uint64_t)AS_INT(base), acc = 1;
            Mag me;
            load(e, &me);
            for (size_t i = 0; i < me.n; i++) {
                digit dd = me.d[i];
                for (int bit = 0; bit < 32; bit++) {
                    if (i == me.n - 1 && (dd >> bit) == 0) break;
                    if (dd & (1u << bit)) acc = acc * x % mm;
                    x = x * x % mm;
                }
            }
            r = v_int((int64_t)acc);
        } else {
            Mag me;
            load(e, &me);
            int64_t nbits = mag_bit_length(me.d, me.n);
            // Square-and-multiply from the top bit; e's digits stay valid since
            // e is an int kept alive by our caller or by being `b`.
            if (vm_push_root(vm, e) < 0) return VAL_NULL;
            for (int64_t i = nbits - 1; i >= 0; i--) {
                r = int_mul(vm, r, r);
                if (!IS_NULL(r)) r = int_mod(vm, r, m);
                if (!IS_NULL(r) && ((me.d[i / 32] >> (i % 32)) & 1)) {
                    r = int_mul(vm, r, base);
                    if (!IS_NULL(r)) r = int_mod(vm, r, m);
                }
                if (IS_NULL(r)) break;
            }
            vm_pop_roots(vm, 1);
            if (IS_NULL(r)) return r;
        }
        if (ms < 0 && int_sign(r) != 0) r = int_sub(vm, r, m);
        return r;
    }
    if (int_sign(b) < 0) {
        double x = int_to_double(vm, a, NULL);
        if (vm_err_occurred(vm)) return VAL_NULL;
        double y = int_to_double(vm, b, NULL);
        if (vm_err_occurred(vm)) return VAL_NULL;
        return float_pow(vm, x, y);
    }
    // Small fast path.
    if (IS_INT(a) && IS_INT(b)) {
        int64_t x = AS_INT(a), e = AS_INT(b), acc = 1;
        bool ok = true;
        while (e > 0) {
            if (e & 1) {
                if (__builtin_mul_overflow(acc, x, &acc)) {
                    ok = false;
                    break;
                }
            }
            e >>= 1;
            if (e && __builtin_mul_overflow(x, x, &x)) {
                ok = false;
                break;
            }
        }
        if (ok) return v_int(acc);
    }
    // Trivial bases, then a size check before doing the work.
    Mag ma;
    load(a, &ma);
    if (ma.n == 0) return v_int(int_sign(b) == 0 ? 1 : 0);
    if (ma.n == 1 && ma.d[0] == 1) return v_int(ma.sign < 0 && int_is_odd(b) ? -1 : 1);
    int64_t eb;
    if (!(IS_INT(b) || IS_BOOL(b))) {
        Mag mb;
        load(b, &mb);
        if (mb.n > 2) return vm_raise_nomem(vm);
    }
    if (int_to_i64(vm, b, &eb) < 0) return VAL_NULL;
    double est_bits = (double)mag_bit_length(ma.d, ma.n) * (double)eb;
    if (est_bits > (double)MAX_DIGITS * 32) return vm_raise_nomem(vm);
    Value base = int_exact(vm, a);
    if (IS_NULL(base)) return base;
    Value r = v_int(1);
    for (int i = 63 - __builtin_clzll((uint64_t)eb); i >= 0; i--) {
        r = int_mul(vm, r, r);
        if (IS_NULL(r)) return r;
        if ((eb >> i) & 1) {
            r = int_mul(vm, r, base);
            if (IS_NULL(r)) return r;
        }
    }
    return r;
}

// ---------------------------------------------------------------------------
// True division, correctly rounded (CPython's long_true_divide).

Value int_truediv(EddyVM *vm, Value av, Value bv) {
    Mag a, b;
    load(av, &a);
    load(bv, &b);
    if (b.n == 0) return vm_raise(vm, vm->exc_ZeroDivisionError, "division by zero");
    if (a.n == 0) return v_float(b.sign < 0 ? -0.0 : 0.0);
    int64_t la = mag_bit_length(a.d, a.n), lb = mag_bit_length(b.d, b.n);
    int negate = a.sign != b.sign;
    if (la <= DBL_MANT_DIG && lb <= DBL_MANT_DIG) {
        double x = (double)(a.d[0] | (a.n > 1 ? (uint64_t)a.d[1] << 32 : 0));
        double y = (double)(b.d[0] | (b.n > 1 ? (uint64_t)b.d[1] << 32 : 0));
        double r = x / y;
        return v_float(negate ? -r : r);
    }
    int64_t diff = la - lb;
    if (diff > DBL_MAX_EXP)
        return vm_raise(vm, vm->exc_OverflowError, "integer division result too large for a float");
    if (diff < DBL_MIN_EXP - DBL_MANT_DIG - 1) return v_float(negate ? -0.0 : 0.0);
    int64_t shift = (diff > DBL_MIN_EXP ? diff : DBL_MIN_EXP) - DBL_MANT_DIG - 2;
    // q = |a| / |b| scaled by 2**-shift, truncated, with a sticky bit.
    Value x = from_mag(vm, a.d, a.n, 1);
    if (IS_NULL(x)) return x;
    Value y = from_mag(vm, b.d, b.n, 1);
    if (IS_NULL(y)) return y;
    if (shift < 0)
        x = int_lshift(vm, x, v_int(-shift));
    else
        y = int_lshift(vm, y, v_int(shift));
    if (IS_NULL(x) || IS_NULL(y)) return VAL_NULL;
    Value q, r;
    if (big_divmod_trunc(vm, x, y, &q, &r) < 0) return VAL_NULL;
    int64_t qi;
    if (int_to_i64(vm, q, &qi) < 0) return VAL_NULL;
    uint64_t qu = (uint64_t)qi;
    int inexact = int_sign(r) != 0;
    int x_bits = 64 - __builtin_clzll(qu);
    int extra_bits =
        (x_bits > DBL_MIN_EXP - shift ? x_bits : (int)(DBL_MIN_EXP - shift)) - DBL_MANT_DIG;
    uint64_t mask = (uint64_t)1 << (extra_bits - 1);
    uint64_t low = qu | (uint64_t)inexact;
    if ((low & mask) && (low & (3 * mask - 1))) low += mask;
    qu = low & ~(2 * mask - 1);
    double dx = (double)qu;
    if (shift + x_bits >= DBL_MAX_EXP && (shift + x_bits > DBL_MAX_EXP || dx == ldexp(1.0, x_bits)))
        return vm_raise(vm, vm->exc_OverflowError, "integer division result too large for a float");
    double res = ldexp(dx, (int)shift);
    return v_float(negate ? -res : res);
}

// ---------------------------------------------------------------------------
// Conversion to and from strings.

static int64_t max_str_digits(EddyVM *vm) { return vm->int_max_str_digits; }

static const char DIGIT_CHARS[] = "0123456789abcdefghijklmnopqrstuvwxyz";

// "00".."99": base 10 converts two digits per division (by a constant,
// which the compiler turns into a multiply).
static const char DIGIT_PAIRS[201] = "0001020304050607080910111213141516171819202122232425262728293"
                                     "031323334353637383940414243444546474849"
                                     "5051525354555657585960616263646566676869707172737475767778798"
                                     "081828384858687888990919293949596979899";

// str() of a machine int, the common case of str()/repr()/f-strings.
static Value small_to_decimal(EddyVM *vm, int64_t x) {
    char buf[24];
    char *p = buf + sizeof buf;
    uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        p -= 2;
        memcpy(p, DIGIT_PAIRS + 2 * r, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, DIGIT_PAIRS + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    if (x < 0) *--p = '-';
    size_t len = (size_t)(buf + sizeof buf - p);
    // ASCII, so the code-point count is the length; one digit is cached.
    StrObject *s = len == 1 ? str_new(vm, p, 1) : str_alloc(vm, len, len);
    if (!s) return VAL_NULL;
    if (len > 1) memcpy(s->data, p, len);
    return v_obj(s);
}

Value int_to_str(EddyVM *vm, Value v, int base) {
    char small[80];
    if (base == 10 && IS_INT(v)) return small_to_decimal(vm, AS_INT(v));
    if (IS_INT(v) || IS_BOOL(v)) {
        int64_t x = IS_INT(v) ? AS_INT(v) : AS_BOOL(v);
        uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
        char *p = small + sizeof small;
        do {
            *--p = DIGIT_CHARS[u % (unsigned)base];
            u /= (unsigned)base;
        } while (u);
        if (x < 0) *--p = '-';
        StrObject *s = str_new(vm, p, (size_t)(small + sizeof small - p));
        return s ? v_obj(s) : VAL_NULL;
    }
    Mag m;
    load(v, &m);
    if (m.n == 0) { // a subclass instance holding zero
        StrObject *s = str_new(vm, "0", 1);
        return s ? v_obj(s) : VAL_NULL;
    }
    int64_t bits = mag_bit_length(m.d, m.n);
    if (base == 2 || base == 8 || base == 16) {
        int per = base == 2 ? 1 : base == 8 ? 3 : 4;
        size_t nd = (size_t)((bits + per - 1) / per);
        size_t len = nd + (m.sign < 0);
        char *buf = mem_alloc(vm, len);
        if (!buf) return VAL_NULL;
        for (size_t i = 0; i < nd; i++) {
            int64_t bit = (int64_t)i * per;
            size_t wd = (size_t)(bit / 32);
            int wb = (int)(bit % 32);
            twodigits t = m.d[wd] >> wb;
            if (wd + 1 < m.n) t |= (twodigits)m.d[wd + 1] << (32 - wb);
            buf[len - 1 - i] = DIGIT_CHARS[t & (unsigned)(base - 1)];
        }
        if (m.sign < 0) buf[0] = '-';
        StrObject *s = str_new(vm, buf, len);
        mem_free(vm, buf, len);
        return s ? v_obj(s) : VAL_NULL;
    }
    // Base 10: peel off 9 decimal digits at a time (quadratic, but with a
    // cheap inner loop: 100,000 digits take a few tens of milliseconds).
    int64_t limit = max_str_digits(vm);
    if (limit > 0 && (double)bits > ((double)limit + 1) * 3.3219280948873626 + 64)
        return vm_raise(vm, vm->exc_ValueError,
                        "Exceeds the limit (%lld digits) for integer string conversion; "
                        "use sys.set_int_max_str_digits() to increase the limit",
                        (long long)limit);
    size_t nchunks = (size_t)((double)bits / 29.897352853986263) + 2;
    size_t work_bytes = m.n * sizeof(digit) + nchunks * sizeof(digit);
    digit *work = mem_alloc(vm, work_bytes);
    if (!work) return VAL_NULL;
    digit *chunks = work + m.n;
    memcpy(work, m.d, m.n * sizeof(digit));
    size_t n = m.n, nc = 0;
    while (n > 0) {
        chunks[nc++] = mag_divrem1(work, work, n, 1000000000u);
        n = mag_strip(work, n);
    }
    size_t len = (m.sign < 0) + 9 * nc;
    char *buf = mem_alloc(vm, len + 1);
    if (!buf) {
        mem_free(vm, work, work_bytes);
        return VAL_NULL;
    }
    char *p = buf;
    if (m.sign < 0) *p++ = '-';
    p += snprintf(p, 10, "%u", chunks[nc - 1]);
    for (size_t i = nc - 1; i-- > 0;) {
        digit c = chunks[i];
        for (int k = 8; k >= 0; k--) {
            p[k] = (char)('0' + c % 10);
            c /= 10;
        }
        p += 9;
    }
    size_t out_len = (size_t)(p - buf);
    mem_free(vm, work, work_bytes);
    if (limit > 0 && (int64_t)(out_len - (m.sign < 0)) > limit) {
        mem_free(vm, buf, len + 1);
        return vm_raise(vm, vm->exc_ValueError,
                        "Exceeds the limit (%lld digits) for integer string conversion; "
                        "use sys.set_int_max_str_digits() to increase the limit",
                        (long long)limit);
    }
    StrObject *s = str_new(vm, buf, out_len);
    mem_free(vm, buf, len + 1);
    return s ? v_obj(s) : VAL_NULL;
}

static bool is_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static int digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

// ValueError "invalid literal for int() with base 10: 'abc'" (repr cut at 200).
static Value invalid_literal(EddyVM *vm, const char *s, size_t len, int base) {
    StrObject *src = str_new(vm, s, len);
    if (!src) return VAL_NULL;
    Value r = str_repr(vm, src);
    if (IS_NULL(r)) return r;
    StrObject *rs = AS_STR(r);
    size_t cut = rs->len, cps = 0;
    for (size_t i = 0; i < rs->len; i++) {
        if (((unsigned char)rs->data[i] & 0xc0) != 0x80) {
            if (cps == 200) {
                cut = i;
                break;
            }
            cps++;
        }
    }
    StrObject *shown = str_new(vm, rs->data, cut);
    if (!shown) return VAL_NULL;
    return vm_raise(vm, vm->exc_ValueError, "invalid literal for int() with base %d: %U", base,
                    shown);
}

// Parse [sign] digits; the core of int_from_string. `shown` is what the
// error message reports (the original text).
Value int_from_string(EddyVM *vm, const char *s, size_t len, int base, bool literal) {
    const char *orig = s;
    size_t orig_len = len;
    int shown_base = base;
    if (base != 0 && (base < 2 || base > 36))
        return vm_raise(vm, vm->exc_ValueError, "int() base must be >= 2 and <= 36, or 0");
    const char *p = s, *end = s + len;
    while (p < end && is_space(*p)) p++;
    while (end > p && is_space(end[-1])) end--;
    int sign = 1;
    if (p < end && (*p == '+' || *p == '-')) {
        if (*p == '-') sign = -1;
        p++;
    }
    bool prefixed = false;
    if (p + 1 < end && p[0] == '0') {
        char c = (char)(p[1] | 0x20);
        if ((c == 'x' && (base == 16 || base == 0)) || (c == 'o' && (base == 8 || base == 0)) ||
            (c == 'b' && (base == 2 || base == 0))) {
            base = c == 'x' ? 16 : c == 'o' ? 8 : 2;
            p += 2;
            prefixed = true;
        }
    }
    bool base0_decimal = false;
    if (base == 0) {
        base = 10;
        base0_decimal = true;
    }
    // Validate: digits with single underscores between them (one allowed
    // right after a prefix); count digits for the length limit.
    if (p == end) goto invalid;
    size_t ndig = 0;
    bool prev_us = prefixed, any_nonzero = false;
    if (*p == '_' && !prefixed) goto invalid;
    for (const char *q = p; q < end; q++) {
        if (*q == '_') {
            if (prev_us && !(prefixed && q == p)) goto invalid;
            if (q == p && !prefixed) goto invalid;
            prev_us = true;
            continue;
        }
        if (digit_value(*q) >= base) goto invalid;
        if (*q != '0') any_nonzero = true;
        prev_us = false;
        ndig++;
    }
    if (prev_us || ndig == 0) goto invalid;
    // Base 0: a decimal literal may not have leading zeros ("010").
    if (base0_decimal && any_nonzero && *p == '0') goto invalid;

    bool pow2 = (base & (base - 1)) == 0;
    int64_t limit = max_str_digits(vm);
    if (!pow2 && limit > 0 && (int64_t)ndig > limit) {
        // A literal in source code: CPython reports a SyntaxError (the
        // compiler adds the location).
        if (literal)
            return vm_raise(vm, vm->exc_SyntaxError,
                            "Exceeds the limit (%lld digits) for integer string conversion: value "
                            "has %zu digits; use sys.set_int_max_str_digits() to increase the "
                            "limit - Consider hexadecimal for huge integer literals to avoid "
                            "decimal conversion limits.",
                            (long long)limit, ndig);
        return vm_raise(vm, vm->exc_ValueError,
                        "Exceeds the limit (%lld digits) for integer string conversion: value has "
                        "%zu digits; use sys.set_int_max_str_digits() to increase the limit",
                        (long long)limit, ndig);
    }
    // Fast path: fits in int64.
    if (ndig <= 18 && base <= 10) {
        int64_t acc = 0;
        for (const char *q = p; q < end; q++)
            if (*q != '_') acc = acc * base + digit_value(*q);
        return v_int(sign * acc);
    }
    if (pow2) {
        int per = __builtin_ctz((unsigned)base);
        size_t n = (ndig * (size_t)per + 31) / 32 + 1;
        BigIntObject *b = big_alloc(vm, n);
        if (!b) return VAL_NULL;
        size_t bit = 0;
        for (const char *q = end; q-- > p;) {
            if (*q == '_') continue;
            twodigits dv = (twodigits)digit_value(*q) << (bit % 32);
            b->digits[bit / 32] |= (digit)dv;
            if ((dv >> 32) && bit / 32 + 1 < n) b->digits[bit / 32 + 1] |= (digit)(dv >> 32);
            bit += (size_t)per;
        }
        return big_finish(b, n, sign);
    }
    {
        // Accumulate in chunks: mag = mag * base**k + chunk.
        int k = 1;
        digit bk = (digit)base;
        while ((twodigits)bk * (twodigits)base <= DIGIT_MASK) {
            bk *= (digit)base;
            k++;
        }
        size_t cap = (size_t)((double)ndig * log2((double)base) / 32.0) + 2;
        BigIntObject *b = big_alloc(vm, cap);
        if (!b) return VAL_NULL;
        size_t n = 0;
        digit chunk = 0, mult = 1;
        int in_chunk = 0;
        for (const char *q = p; q <= end; q++) {
            if (q < end && *q == '_') continue;
            if (q < end) {
                chunk = chunk * (digit)base + (digit)digit_value(*q);
                mult *= (digit)base;
                in_chunk++;
            }
            if (in_chunk == k || (q == end && in_chunk > 0)) {
                twodigits c = chunk;
                for (size_t i = 0; i < n; i++) {
                    c += (twodigits)b->digits[i] * mult;
                    b->digits[i] = (digit)c;
                    c >>= 32;
                }
                if (c) b->digits[n++] = (digit)c;
                chunk = 0;
                mult = 1;
                in_chunk = 0;
            }
        }
        return big_finish(b, n, sign);
    }
invalid:
    return invalid_literal(vm, orig, orig_len, shown_base);
}

// ---------------------------------------------------------------------------
// The int type: natives.

#define SELF_CHECK(name)                                                                           \
    if (nargs < 1 || !is_int(vm, args[0]))                                                         \
        return vm_raise(vm, vm->exc_TypeError,                                                     \
                        "descriptor '" name "' requires a 'int' object but received a '%s'",       \
                        nargs < 1 ? "NoneType" : vm_type_name(vm, args[0]));

static Value arity(EddyVM *vm, int want, int nargs) {
    return vm_raise(vm, vm->exc_TypeError, "expected %d argument%s, got %d", want,
                    want == 1 ? "" : "s", nargs);
}

#define BINARY(cname, pyname, expr)                                                                \
    static Value cname(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {                 \
        SELF_CHECK(pyname)                                                                         \
        if (nargs != 2 || kwnames) return arity(vm, 1, nargs - 1);                                 \
        Value a = args[0], b = args[1];                                                            \
        if (!is_int(vm, b)) return vm->not_implemented;                                            \
        return expr;                                                                               \
    }

static Value divmod_tuple(EddyVM *vm, Value a, Value b) {
    Value q, r;
    if (int_divmod(vm, a, b, &q, &r) < 0) return VAL_NULL;
    Value items[2] = {q, r};
    TupleObject *t = tuple_from(vm, items, 2);
    return t ? v_obj(t) : VAL_NULL;
}

BINARY(int_add_m, "__add__", int_add(vm, a, b))
BINARY(int_radd_m, "__radd__", int_add(vm, b, a))
BINARY(int_sub_m, "__sub__", int_sub(vm, a, b))
BINARY(int_rsub_m, "__rsub__", int_sub(vm, b, a))
BINARY(int_mul_m, "__mul__", int_mul(vm, a, b))
BINARY(int_rmul_m, "__rmul__", int_mul(vm, b, a))
BINARY(int_truediv_m, "__truediv__", int_truediv(vm, a, b))
BINARY(int_rtruediv_m, "__rtruediv__", int_truediv(vm, b, a))
BINARY(int_floordiv_m, "__floordiv__", int_floordiv(vm, a, b))
BINARY(int_rfloordiv_m, "__rfloordiv__", int_floordiv(vm, b, a))
BINARY(int_mod_m, "__mod__", int_mod(vm, a, b))
BINARY(int_rmod_m, "__rmod__", int_mod(vm, b, a))
BINARY(int_divmod_m, "__divmod__", divmod_tuple(vm, a, b))
BINARY(int_rdivmod_m, "__rdivmod__", divmod_tuple(vm, b, a))
BINARY(int_lshift_m, "__lshift__", int_lshift(vm, a, b))
BINARY(int_rlshift_m, "__rlshift__", int_lshift(vm, b, a))
BINARY(int_rshift_m, "__rshift__", int_rshift(vm, a, b))
BINARY(int_rrshift_m, "__rrshift__", int_rshift(vm, b, a))
BINARY(int_and_m, "__and__", int_and(vm, a, b))
BINARY(int_rand_m, "__rand__", int_and(vm, b, a))
BINARY(int_or_m, "__or__", int_or(vm, a, b))
BINARY(int_ror_m, "__ror__", int_or(vm, b, a))
BINARY(int_xor_m, "__xor__", int_xor(vm, a, b))
BINARY(int_rxor_m, "__rxor__", int_xor(vm, b, a))

static Value int_pow_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    SELF_CHECK("__pow__")
    if (nargs < 2 || nargs > 3 || kwnames)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 or 2 arguments, got %d", nargs - 1);
    Value mod = nargs == 3 ? args[2] : VAL_NULL;
    if (!is_int(vm, args[1])) return vm->not_implemented;
    if (!IS_NULL(mod) && !IS_NONE(mod) && !is_int(vm, mod)) return vm->not_implemented;
    return int_pow(vm, args[0], args[1], mod);
}

static Value int_rpow_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    SELF_CHECK("__rpow__")
    if (nargs < 2 || nargs > 3 || kwnames)
        return vm_raise(vm, vm->exc_TypeError, "expected 1 or 2 arguments, got %d", nargs - 1);
    Value mod = nargs == 3 ? args[2] : VAL_NULL;
    if (!is_int(vm, args[1])) return vm->not_implemented;
    if (!IS_NULL(mod) && !IS_NONE(mod) && !is_int(vm, mod)) return vm->not_implemented;
    return int_pow(vm, args[1], args[0], mod);
}

#define UNARY(cname, pyname, expr)                                                                 \
    static Value cname(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {                 \
        SELF_CHECK(pyname)                                                                         \
        if (nargs != 1 || kwnames) return arity(vm, 0, nargs - 1);                                 \
        Value a = args[0];                                                                         \
        return expr;                                                                               \
    }

static Value int_float_value(EddyVM *vm, Value a) {
    double d = int_to_double(vm, a, NULL);
    if (vm_err_occurred(vm) && d == -1.0) return VAL_NULL;
    return v_float(d);
}

UNARY(int_neg_m, "__neg__", int_neg(vm, a))
UNARY(int_pos_m, "__pos__", int_exact(vm, a))
UNARY(int_abs_m, "__abs__", int_abs(vm, a))
UNARY(int_invert_m, "__invert__", int_invert(vm, a))
UNARY(int_int_m, "__int__", int_exact(vm, a))
UNARY(int_float_m, "__float__", int_float_value(vm, a))
UNARY(int_bool_m, "__bool__", v_bool(int_sign(a) != 0))
UNARY(int_hash_m, "__hash__", v_int(int_hash(a)))
UNARY(int_bit_length_m, "bit_length", v_int(int_bit_length(a)))

static Value int_bit_count(EddyVM *vm, Value a) {
    Mag m;
    load(a, &m);
    int64_t c = 0;
    for (size_t i = 0; i < m.n; i++) c += __builtin_popcount(m.d[i]);
    return v_int(c);
}
UNARY(int_bit_count_m, "bit_count", int_bit_count(vm, a))

static Value int_ratio(EddyVM *vm, Value a) {
    Value items[2] = {int_exact(vm, a), v_int(1)};
    if (IS_NULL(items[0])) return VAL_NULL;
    TupleObject *t = tuple_from(vm, items, 2);
    return t ? v_obj(t) : VAL_NULL;
}
UNARY(int_as_integer_ratio_m, "as_integer_ratio", int_ratio(vm, a))
UNARY(int_conjugate_m, "conjugate", int_exact(vm, a))

static Value int_repr_value(EddyVM *vm, Value v) { return int_to_str(vm, v, 10); }
UNARY(int_repr_m, "__repr__", int_repr_value(vm, a))

// Getters: real, imag, numerator, denominator.
static Value int_real_get(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return int_exact(vm, args[0]);
}
static Value int_imag_get(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return v_int(0);
}
static Value int_denominator_get(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return v_int(1);
}

static Value int_round_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    SELF_CHECK("__round__")
    if (nargs > 2 || kwnames)
        return vm_raise(vm, vm->exc_TypeError, "__round__ expected at most 1 argument, got %d",
                        nargs - 1);
    Value x = args[0];
    if (nargs < 2 || IS_NONE(args[1])) return int_exact(vm, x);
    Value nd = vm_index(vm, args[1]);
    if (IS_NULL(nd)) return nd;
    if (int_sign(nd) >= 0) return int_exact(vm, x);
    // Round half to even at 10**-ndigits.
    Value e = int_neg(vm, nd);
    if (IS_NULL(e)) return e;
    Value p = int_pow(vm, v_int(10), e, VAL_NULL);
    if (IS_NULL(p)) return p;
    Value q, r;
    if (int_divmod(vm, x, p, &q, &r) < 0) return VAL_NULL;
    Value twice = int_add(vm, r, r);
    if (IS_NULL(twice)) return twice;
    int c = int_compare(twice, p);
    Value base = int_sub(vm, x, r);
    if (IS_NULL(base)) return base;
    if (c > 0 || (c == 0 && int_is_odd(q))) base = int_add(vm, base, p);
    return base;
}

static Value int_format_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    SELF_CHECK("__format__")
    if (nargs != 2 || kwnames) return arity(vm, 1, nargs - 1);
    if (!is_str(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "__format__() argument must be str, not %T",
                        args[1]);
    // An empty spec means str(self): "True" for bools, a subclass's __str__.
    if (AS_STR(args[1])->len == 0 && !IS_INT(args[0])) {
        if (IS_BOOL(args[0])) {
            StrObject *s = str_from_cstr(vm, AS_BOOL(args[0]) ? "True" : "False");
            return s ? v_obj(s) : VAL_NULL;
        }
        if (OBJ_TYPE(AS_OBJ(args[0])) != vm->t_int) return vm_str(vm, args[0]);
    }
    return format_int(vm, args[0], AS_STR(args[1]));
}

static Value int_getnewargs_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    Value v = int_exact(vm, args[0]);
    if (IS_NULL(v)) return v;
    TupleObject *t = tuple_from(vm, &v, 1);
    return t ? v_obj(t) : VAL_NULL;
}

// to_bytes(length=1, byteorder='big', *, signed=False)
static int parse_byteorder(EddyVM *vm, Value v, bool *little) {
    if (IS_NULL(v)) {
        *little = false;
        return 0;
    }
    if (!is_str(vm, v)) {
        vm_raise(vm, vm->exc_TypeError, "to_bytes() argument 'byteorder' must be str, not %T", v);
        return -1;
    }
    StrObject *s = AS_STR(v);
    if (s->len == 6 && memcmp(s->data, "little", 6) == 0)
        *little = true;
    else if (s->len == 3 && memcmp(s->data, "big", 3) == 0)
        *little = false;
    else {
        vm_raise(vm, vm->exc_ValueError, "byteorder must be either 'little' or 'big'");
        return -1;
    }
    return 0;
}

static Value int_to_bytes_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    SELF_CHECK("to_bytes")
    static const char *const names[] = {"", "length", "byteorder", "signed"};
    Value a[4] = {VAL_NULL, VAL_NULL, VAL_NULL, VAL_NULL};
    if (args_parse(vm, "to_bytes", args, nargs, kwnames, names, 4, 3, 1, a) < 0) return VAL_NULL;
    int64_t length = 1;
    if (!IS_NULL(a[1]) && vm_index_i64(vm, a[1], &length) < 0) return VAL_NULL;
    if (length < 0) return vm_raise(vm, vm->exc_ValueError, "length argument must be non-negative");
    bool little, is_signed = false;
    if (parse_byteorder(vm, a[2], &little) < 0) return VAL_NULL;
    if (!IS_NULL(a[3])) {
        int t = vm_truthy(vm, a[3]);
        if (t < 0) return VAL_NULL;
        is_signed = t;
    }
    Mag m;
    load(args[0], &m);
    if (m.sign < 0 && !is_signed)
        return vm_raise(vm, vm->exc_OverflowError, "can't convert negative int to unsigned");
    // Fits? unsigned: bit_length <= 8*len; signed: value in [-2**(8len-1), 2**(8len-1)).
    int64_t bits = mag_bit_length(m.d, m.n);
    bool fits;
    if (!is_signed)
        fits = bits <= 8 * length;
    else if (m.sign >= 0)
        fits = bits < 8 * length || m.n == 0;
    else {
        // -2**(k) fits exactly when |x| is a power of two with bits-1 == 8len-1.
        bool pow2 = true;
        for (size_t i = 0; i + 1 < m.n; i++) pow2 = pow2 && m.d[i] == 0;
        pow2 = pow2 && m.n && (m.d[m.n - 1] & (m.d[m.n - 1] - 1)) == 0;
        fits = bits < 8 * length || (pow2 && bits == 8 * length);
    }
    if (!fits) return vm_raise(vm, vm->exc_OverflowError, "int too big to convert");
    if ((uint64_t)length > (uint64_t)MAX_DIGITS * 4) return vm_raise_nomem(vm);
    size_t len = (size_t)length;
    uint8_t *buf = mem_alloc(vm, len ? len : 1);
    if (!buf) return VAL_NULL;
    // Two's complement bytes, little-endian first.
    unsigned carry = m.sign < 0 ? 1 : 0;
    for (size_t i = 0; i < len; i++) {
        size_t wd = i / 4;
        unsigned byte = wd < m.n ? (m.d[wd] >> (8 * (i % 4))) & 0xff : 0;
        if (m.sign < 0) {
            byte = (~byte & 0xff) + carry;
            carry = byte >> 8;
            byte &= 0xff;
        }
        buf[little ? i : len - 1 - i] = (uint8_t)byte;
    }
    Value r = bytes_new(vm, buf, len);
    mem_free(vm, buf, len ? len : 1);
    return r;
}

static Value int_from_bytes_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    // a[0] is the class; bind the rest so counts and positions match CPython's.
    static const char *const names[] = {"bytes", "byteorder", "signed"};
    Value a[4] = {args[0], VAL_NULL, VAL_NULL, VAL_NULL};
    if (args_parse(vm, "from_bytes", args + 1, nargs - 1, kwnames, names, 3, 2, 1, a + 1) < 0)
        return VAL_NULL;
    bool little, is_signed = false;
    if (parse_byteorder(vm, a[2], &little) < 0) return VAL_NULL;
    if (!IS_NULL(a[3])) {
        int t = vm_truthy(vm, a[3]);
        if (t < 0) return VAL_NULL;
        is_signed = t;
    }
    Value src = a[1];
    // CPython's PyObject_Bytes: unlike bytes(), an int is not a length, nor a str text.
    if (is_int(vm, src) || is_str(vm, src))
        return vm_raise(vm, vm->exc_TypeError, "cannot convert '%s' object to bytes",
                        vm_type_name(vm, src));
    if (!is_bytes(vm, src)) {
        src = vm_call1(vm, v_obj(vm->t_bytes), src);
        if (IS_NULL(src)) return src;
    }
    size_t len;
    const uint8_t *data = bytes_data(src, &len);
    size_t n = len / 4 + 1;
    BigIntObject *b = big_alloc(vm, n);
    if (!b) return VAL_NULL;
    for (size_t i = 0; i < len; i++) {
        uint8_t byte = data[little ? i : len - 1 - i];
        b->digits[i / 4] |= (digit)byte << (8 * (i % 4));
    }
    bool neg = is_signed && len > 0 && (data[little ? len - 1 : 0] & 0x80);
    if (neg) {
        // Value = unsigned - 2**(8*len): negate the two's complement image.
        for (size_t i = len; i < n * 4; i++) b->digits[i / 4] |= (digit)0xff << (8 * (i % 4));
        Mag tw = {.d = b->digits, .n = n, .sign = -1};
        to_twos(&tw, b->digits, n);
    }
    Value r = big_finish(b, n, neg ? -1 : 1);
    if (IS_NULL(r)) return r;
    if (is_type(vm, args[0]) && AS_TYPE(args[0]) != vm->t_int) return vm_call1(vm, args[0], r);
    return r;
}

// int(str): CPython first maps Unicode decimal digits to ASCII and Unicode
// spaces to ' ' (int("\u0661\u0662") == 12); errors still show the original text.
static Value parse_str(EddyVM *vm, StrObject *s, int base) {
    if (s->ascii) return int_from_string(vm, s->data, s->len, base, false);
    char *buf = mem_alloc(vm, s->len);
    if (!buf) return VAL_NULL;
    size_t n = str_to_ascii_decimal(s, buf);
    Value r = int_from_string(vm, buf, n, base, false);
    mem_free(vm, buf, s->len);
    if (IS_NULL(r) && vm_err_matches(vm, vm->exc_ValueError)) {
        Value exc = vm_err_fetch(vm);
        StrObject *msg = AS_STR(vm_str(vm, exc));
        if (msg && strncmp(msg->data, "invalid literal", 15) != 0) return vm_raise_value(vm, exc);
        return invalid_literal(vm, s->data, s->len, base);
    }
    return r;
}

static bool is_bytes_like(EddyVM *vm, Value x) {
    return is_bytes(vm, x) || (IS_OBJ(x) && type_is_subtype(OBJ_TYPE(AS_OBJ(x)), vm->t_bytearray));
}

// int(b"..."): errors show the bytes repr, as CPython does.
static Value parse_bytes_like(EddyVM *vm, Value x, int base) {
    size_t len;
    const uint8_t *d = bytes_data(x, &len);
    Value r = int_from_string(vm, (const char *)d, len, base, false);
    if (IS_NULL(r) && vm_err_matches(vm, vm->exc_ValueError)) {
        Value exc = vm_err_fetch(vm);
        if (vm_push_root(vm, exc) < 0) return VAL_NULL;
        Value rep = vm_repr(vm, x);
        vm_pop_roots(vm, 1);
        if (IS_NULL(rep)) return rep;
        StrObject *msg = AS_STR(vm_str(vm, exc));
        // Keep limit errors as they are; rewrite only "invalid literal".
        if (msg && strncmp(msg->data, "invalid literal", 15) != 0) return vm_raise_value(vm, exc);
        return vm_raise(vm, vm->exc_ValueError, "invalid literal for int() with base %d: %U", base,
                        AS_STR(rep));
    }
    return r;
}

// int(x=0) / int(x, base=10)
static Value int_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kwnames) {
    Value x = nargs > 0 ? args[0] : VAL_NULL, basev = nargs > 1 ? args[1] : VAL_NULL;
    if (nargs > 2)
        return vm_raise(vm, vm->exc_TypeError, "int() takes at most 2 arguments (%d given)", nargs);
    if (kwnames) {
        for (size_t i = 0; i < kwnames->len; i++) {
            StrObject *k = AS_STR(kwnames->items[i]);
            if (k->len == 4 && memcmp(k->data, "base", 4) == 0 && IS_NULL(basev)) {
                basev = args[nargs + i];
            } else if (k->len == 4 && memcmp(k->data, "base", 4) == 0) {
                return vm_raise(vm, vm->exc_TypeError,
                                "argument for int() given by name ('base') and position (2)");
            } else {
                return vm_raise(vm, vm->exc_TypeError,
                                "'%U' is an invalid keyword argument for int()", k);
            }
        }
    }
    Value r;
    if (IS_NULL(x)) {
        if (!IS_NULL(basev))
            return vm_raise(vm, vm->exc_TypeError, "int() missing string argument");
        r = v_int(0);
    } else if (!IS_NULL(basev)) {
        int64_t base;
        if (vm_index_i64(vm, basev, &base) < 0) return VAL_NULL;
        if (base != 0 && (base < 2 || base > 36))
            return vm_raise(vm, vm->exc_ValueError, "int() base must be >= 2 and <= 36, or 0");
        if (is_str(vm, x))
            r = parse_str(vm, AS_STR(x), (int)base);
        else if (is_bytes_like(vm, x))
            r = parse_bytes_like(vm, x, (int)base);
        else
            return vm_raise(vm, vm->exc_TypeError,
                            "int() can't convert non-string with explicit base");
    } else if (IS_INT(x)) {
        r = x;
    } else if (is_int(vm, x)) {
        r = int_exact(vm, x);
    } else if (IS_FLOAT(x)) {
        r = int_from_double(vm, AS_FLOAT(x));
    } else if (is_str(vm, x)) {
        r = parse_str(vm, AS_STR(x), 10);
    } else if (is_bytes_like(vm, x)) {
        r = parse_bytes_like(vm, x, 10);
    } else {
        // __int__, then __index__, then __trunc__.
        TypeObject *xt = vm_type_of(vm, x);
        StrObject *name = vm->names.__int__;
        if (IS_NULL(type_lookup(vm, xt, name))) name = vm->names.__index__;
        if (IS_NULL(type_lookup(vm, xt, name))) {
            name = str_intern_cstr(vm, "__trunc__");
            if (!name) return VAL_NULL;
        }
        if (IS_NULL(type_lookup(vm, xt, name))) {
            if (type_is_subtype(xt, vm->t_float)) {
                double d;
                if (float_from_value(vm, x, &d) < 0) return VAL_NULL;
                r = int_from_double(vm, d);
                goto done;
            }
            return vm_raise(vm, vm->exc_TypeError,
                            "int() argument must be a string, a bytes-like object or a real "
                            "number, not '%s'",
                            vm_type_name(vm, x));
        }
        r = vm_call_method(vm, x, name, NULL, 0);
        if (IS_NULL(r)) return r;
        if (!is_int(vm, r)) {
            if (name != vm->names.__int__ && name != vm->names.__index__) {
                // __trunc__ may return any Integral: go through __index__.
                r = vm_index(vm, r);
                if (IS_NULL(r)) return r;
            } else {
                return vm_raise(vm, vm->exc_TypeError, "%U returned non-int (type %s)", name,
                                vm_type_name(vm, r));
            }
        }
        r = int_exact(vm, r);
    }
done:
    if (IS_NULL(r) || t == vm->t_int) return r;
    // A subclass instance: copy the value into an object of type t.
    Mag m;
    load(r, &m);
    if (vm_push_root(vm, r) < 0) return VAL_NULL;
    BigIntObject *b = big_alloc_type(vm, t, m.n);
    vm_pop_roots(vm, 1);
    if (!b) return VAL_NULL;
    load(r, &m); // r is still alive; reload in case it was small (buf)
    if (m.n) memcpy(b->digits, m.d, m.n * sizeof(digit));
    b->ndigits = (uint32_t)m.n;
    b->sign = m.sign;
    return v_obj(b);
}

static Value bool_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kwnames) {
    if (kwnames) return vm_raise(vm, vm->exc_TypeError, "bool() takes no keyword arguments");
    if (nargs > 1)
        return vm_raise(vm, vm->exc_TypeError, "bool expected at most 1 argument, got %d", nargs);
    if (nargs == 0) return VAL_FALSE;
    int r = vm_truthy(vm, args[0]);
    if (r < 0) return VAL_NULL;
    return v_bool(r);
}

// ---------------------------------------------------------------------------
// Slots.

static Value int_repr_slot(EddyVM *vm, Value self) { return int_to_str(vm, self, 10); }

static int int_hash_slot(EddyVM *vm, Value self, int64_t *out) {
    *out = int_hash(self);
    return 0;
}

static int int_truthy_slot(EddyVM *vm, Value self) { return int_sign(self) != 0; }

static Value int_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_int(vm, a) || !is_int(vm, b)) return vm->not_implemented;
    int c = int_compare(a, b);
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
        SELF_CHECK(pyname)                                                                         \
        if (nargs != 2 || kwnames) return arity(vm, 1, nargs - 1);                                 \
        return int_richcompare(vm, args[0], args[1], op);                                          \
    }
CMP_METHOD(int_lt_m, "__lt__", CMP_LT)
CMP_METHOD(int_le_m, "__le__", CMP_LE)
CMP_METHOD(int_eq_m, "__eq__", CMP_EQ)
CMP_METHOD(int_ne_m, "__ne__", CMP_NE)
CMP_METHOD(int_gt_m, "__gt__", CMP_GT)
CMP_METHOD(int_ge_m, "__ge__", CMP_GE)

// Int objects hold no references, except a subclass instance's __dict__.
static void int_trace(EddyVM *vm, Obj *self) {
    TypeObject *t = self->type;
    if (t->dict_offset > 0) gc_mark_obj(vm, *(Obj **)((char *)self + t->dict_offset));
}

static void int_finalize(EddyVM *vm, Obj *self) {
    // Digits live inside the object's own allocation: nothing to free.
}

// bool: & | ^ of two bools is a bool; everything else is int arithmetic.
static Value bool_repr_slot(EddyVM *vm, Value self) {
    bool b = IS_BOOL(self) ? AS_BOOL(self) : int_sign(self) != 0;
    StrObject *s = str_from_cstr(vm, b ? "True" : "False");
    return s ? v_obj(s) : VAL_NULL;
}

#define BOOL_BINARY(cname, pyname, cop, intfn, swap)                                               \
    static Value cname(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {                 \
        if (nargs != 2 || kwnames) return arity(vm, 1, nargs - 1);                                 \
        Value a = args[0], b = args[1];                                                            \
        if (IS_BOOL(a) && IS_BOOL(b)) return v_bool(AS_BOOL(a) cop AS_BOOL(b));                    \
        if (!is_int(vm, a) || !is_int(vm, b)) return vm->not_implemented;                          \
        return swap ? intfn(vm, b, a) : intfn(vm, a, b);                                           \
    }
BOOL_BINARY(bool_and_m, "__and__", &, int_and, 0)
BOOL_BINARY(bool_rand_m, "__rand__", &, int_and, 1)
BOOL_BINARY(bool_or_m, "__or__", |, int_or, 0)
BOOL_BINARY(bool_ror_m, "__ror__", |, int_or, 1)
BOOL_BINARY(bool_xor_m, "__xor__", ^, int_xor, 0)
BOOL_BINARY(bool_rxor_m, "__rxor__", ^, int_xor, 1)

static Value bool_repr_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (nargs != 1 || kwnames) return arity(vm, 0, nargs - 1);
    return bool_repr_slot(vm, args[0]);
}

typedef struct MethodDef {
    const char *name;
    NativeFn fn;
} MethodDef;

int int_init_types(EddyVM *vm) {
    // CPython 3.11's default for sys.set_int_max_str_digits (0 = no limit).
    vm->int_max_str_digits = 4300;
    TypeObject *t = type_new_builtin(vm, vm->t_int, vm->t_object, sizeof(BigIntObject),
                                     TPF_BASETYPE | TPF_INT_SUBCLASS);
    if (!t) return -1;
    t->trace = int_trace;
    t->finalize = int_finalize;
    t->new_ = int_new;
    t->repr = int_repr_slot;
    t->hash = int_hash_slot;
    t->richcompare = int_richcompare;
    t->truthy = int_truthy_slot;
    static const MethodDef methods[] = {
        {"__add__", int_add_m},
        {"__radd__", int_radd_m},
        {"__sub__", int_sub_m},
        {"__rsub__", int_rsub_m},
        {"__mul__", int_mul_m},
        {"__rmul__", int_rmul_m},
        {"__truediv__", int_truediv_m},
        {"__rtruediv__", int_rtruediv_m},
        {"__floordiv__", int_floordiv_m},
        {"__rfloordiv__", int_rfloordiv_m},
        {"__mod__", int_mod_m},
        {"__rmod__", int_rmod_m},
        {"__divmod__", int_divmod_m},
        {"__rdivmod__", int_rdivmod_m},
        {"__pow__", int_pow_m},
        {"__rpow__", int_rpow_m},
        {"__lshift__", int_lshift_m},
        {"__rlshift__", int_rlshift_m},
        {"__rshift__", int_rshift_m},
        {"__rrshift__", int_rrshift_m},
        {"__and__", int_and_m},
        {"__rand__", int_rand_m},
        {"__or__", int_or_m},
        {"__ror__", int_ror_m},
        {"__xor__", int_xor_m},
        {"__rxor__", int_rxor_m},
        {"__neg__", int_neg_m},
        {"__pos__", int_pos_m},
        {"__abs__", int_abs_m},
        {"__invert__", int_invert_m},
        {"__int__", int_int_m},
        {"__index__", int_int_m},
        {"__float__", int_float_m},
        {"__trunc__", int_int_m},
        {"__floor__", int_int_m},
        {"__ceil__", int_int_m},
        {"__bool__", int_bool_m},
        {"__hash__", int_hash_m},
        {"__repr__", int_repr_m},
        {"__round__", int_round_m},
        {"__format__", int_format_m},
        {"__getnewargs__", int_getnewargs_m},
        {"__lt__", int_lt_m},
        {"__le__", int_le_m},
        {"__eq__", int_eq_m},
        {"__ne__", int_ne_m},
        {"__gt__", int_gt_m},
        {"__ge__", int_ge_m},
        {"bit_length", int_bit_length_m},
        {"bit_count", int_bit_count_m},
        {"to_bytes", int_to_bytes_m},
        {"as_integer_ratio", int_as_integer_ratio_m},
        {"conjugate", int_conjugate_m},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, NATIVE_METHOD) < 0) return -1;
    if (type_add_method(vm, t, "from_bytes", int_from_bytes_m, NATIVE_CLASSMETHOD) < 0) return -1;
    if (type_add_getter(vm, t, "real", int_real_get) < 0 ||
        type_add_getter(vm, t, "imag", int_imag_get) < 0 ||
        type_add_getter(vm, t, "numerator", int_real_get) < 0 ||
        type_add_getter(vm, t, "denominator", int_denominator_get) < 0)
        return -1;

    TypeObject *b =
        type_new_builtin(vm, vm->t_bool, vm->t_int, sizeof(BigIntObject), TPF_INT_SUBCLASS);
    if (!b) return -1;
    b->trace = int_trace;
    b->finalize = int_finalize;
    b->new_ = bool_new;
    b->repr = bool_repr_slot;
    b->hash = int_hash_slot;
    b->richcompare = int_richcompare;
    b->truthy = int_truthy_slot;
    static const MethodDef bool_methods[] = {
        {"__and__", bool_and_m},   {"__rand__", bool_rand_m}, {"__or__", bool_or_m},
        {"__ror__", bool_ror_m},   {"__xor__", bool_xor_m},   {"__rxor__", bool_rxor_m},
        {"__repr__", bool_repr_m},
    };
    for (size_t i = 0; i < sizeof bool_methods / sizeof bool_methods[0]; i++)
        if (type_add_method(vm, b, bool_methods[i].name, bool_methods[i].fn, NATIVE_METHOD) < 0)
            return -1;
    return 0;
}
