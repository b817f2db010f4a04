// mod_math.c - the math module.
//
// Float functions follow CPython's math_1/math_2 error conventions: a NaN
// result from a non-NaN argument is ValueError "math domain error"; an
// infinite result from finite arguments is OverflowError "math range error"
// for functions that can overflow (exp, cosh, ...) and a domain error for
// the others (log(0)). Integer functions (factorial, gcd, comb, isqrt...)
// work on arbitrary-precision ints through the int_* API.
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "opcodes.h"
#include "vm.h"

static Value domain_error(EddyVM *vm) {
    return vm_raise(vm, vm->exc_ValueError, "math domain error");
}
static Value range_error(EddyVM *vm) {
    return vm_raise(vm, vm->exc_OverflowError, "math range error");
}

static int one_arg(EddyVM *vm, const char *name, int nargs, TupleObject *kwnames) {
    if (kwnames && kwnames->len) {
        vm_raise(vm, vm->exc_TypeError, "math.%s() takes no keyword arguments", name);
        return -1;
    }
    if (nargs != 1) {
        vm_raise(vm, vm->exc_TypeError, "math.%s() takes exactly one argument (%d given)", name,
                 nargs);
        return -1;
    }
    return 0;
}

static int n_args(EddyVM *vm, const char *name, int nargs, TupleObject *kwnames, int n) {
    if (kwnames && kwnames->len) {
        vm_raise(vm, vm->exc_TypeError, "%s() takes no keyword arguments", name);
        return -1;
    }
    if (nargs != n) {
        vm_raise(vm, vm->exc_TypeError, "%s expected %d arguments, got %d", name, n, nargs);
        return -1;
    }
    return 0;
}

// Result check shared by the one- and two-argument float functions.
static Value check_result(EddyVM *vm, double r, bool args_nan, bool args_finite,
                          bool can_overflow) {
    if (isnan(r) && !args_nan) return domain_error(vm);
    if (isinf(r) && args_finite) return can_overflow ? range_error(vm) : domain_error(vm);
    return v_float(r);
}

static Value math_1(EddyVM *vm, Value *args, int nargs, TupleObject *kw, const char *name,
                    double (*fn)(double), bool can_overflow) {
    if (one_arg(vm, name, nargs, kw) < 0) return VAL_NULL;
    double x;
    if (float_from_value(vm, args[0], &x) < 0) return VAL_NULL;
    return check_result(vm, fn(x), isnan(x), isfinite(x), can_overflow);
}

#define MATH_1(cname, fn, overflow)                                                                \
    static Value math_##cname(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {               \
        return math_1(vm, args, nargs, kw, #cname, fn, overflow);                                  \
    }

static double m_degrees(double x) { return x * (180.0 / 3.141592653589793); }
static double m_radians(double x) { return x * (3.141592653589793 / 180.0); }

MATH_1(sqrt, sqrt, false)
MATH_1(exp, exp, true)
MATH_1(exp2, exp2, true)
MATH_1(expm1, expm1, true)
MATH_1(sin, sin, false)
MATH_1(cos, cos, false)
MATH_1(tan, tan, false)
MATH_1(asin, asin, false)
MATH_1(acos, acos, false)
MATH_1(atan, atan, false)
MATH_1(sinh, sinh, true)
MATH_1(cosh, cosh, true)
MATH_1(tanh, tanh, false)
MATH_1(asinh, asinh, false)
MATH_1(acosh, acosh, false)
MATH_1(atanh, atanh, false)
MATH_1(log1p, log1p, false)
MATH_1(fabs, fabs, false)
MATH_1(erf, erf, false)
MATH_1(erfc, erfc, false)
MATH_1(degrees, m_degrees, true)
MATH_1(radians, m_radians, false)

// gamma / lgamma: CPython's own Lanczos implementations (not the C
// library's), so results agree with python3 to the last bit.
#define LANCZOS_N 13
static const double lanczos_g = 6.024680040776729583740234375;
static const double lanczos_g_minus_half = 5.524680040776729583740234375;
static const double lanczos_num_coeffs[LANCZOS_N] = {
    23531376880.410759688572007674451636754734846804940,
    42919803642.649098768957899047001988850926355848959,
    35711959237.355668049440185451547166705960488635843,
    17921034426.037209699919755754458931112671403265390,
    6039542586.3520280050642916443072979210699388420708,
    1439720407.3117216736632230727949123939715485786772,
    248874557.86205415651146038641322942321632125127801,
    31426415.585400194380614231628318205362874684987640,
    2876370.6289353724412254090516208496135991145378768,
    186056.26539522349504029498971604569928220784236328,
    8071.6720023658162106380029022722506138218516325024,
    210.82427775157934587250973392071336271166969580291,
    2.5066282746310002701649081771338373386264310793408,
};
// The denominator is x*(x+1)*...*(x+LANCZOS_N-2).
static const double lanczos_den_coeffs[LANCZOS_N] = {
    0.0,       39916800.0, 120543840.0, 150917976.0, 105258076.0, 45995730.0, 13339535.0,
    2637558.0, 357423.0,   32670.0,     1925.0,      66.0,        1.0};
#define NGAMMA_INTEGRAL 23
static const double gamma_integral[NGAMMA_INTEGRAL] = {
    1.0,
    1.0,
    2.0,
    6.0,
    24.0,
    120.0,
    720.0,
    5040.0,
    40320.0,
    362880.0,
    3628800.0,
    39916800.0,
    479001600.0,
    6227020800.0,
    87178291200.0,
    1307674368000.0,
    20922789888000.0,
    355687428096000.0,
    6402373705728000.0,
    121645100408832000.0,
    2432902008176640000.0,
    51090942171709440000.0,
    1124000727777607680000.0,
};
static const double m_pi = 3.141592653589793238462643383279502884197;
static const double m_logpi = 1.144729885849400174143427351353058711647;

static double lanczos_sum(double x) {
    double num = 0.0, den = 0.0;
    if (x < 5.0) {
        for (int i = LANCZOS_N; --i >= 0;) {
            num = num * x + lanczos_num_coeffs[i];
            den = den * x + lanczos_den_coeffs[i];
        }
    } else {
        for (int i = 0; i < LANCZOS_N; i++) {
            num = num / x + lanczos_num_coeffs[i];
            den = den / x + lanczos_den_coeffs[i];
        }
    }
    return num / den;
}

static double m_sinpi(double x) {
    double y = fmod(fabs(x), 2.0), r;
    int n = (int)round(2.0 * y);
    switch (n) {
    case 0: r = sin(m_pi * y); break;
    case 1: r = cos(m_pi * (y - 0.5)); break;
    case 2: r = sin(m_pi * (1.0 - y)); break;
    case 3: r = -cos(m_pi * (y - 1.5)); break;
    default: r = sin(m_pi * (y - 2.0)); break;
    }
    return copysign(1.0, x) * r;
}

// *err: 0 ok, 1 domain error, 2 range error.
static double m_tgamma(double x, int *err) {
    if (!isfinite(x)) {
        if (isnan(x) || x > 0.0) return x;
        *err = 1;
        return NAN;
    }
    if (x == 0.0) {
        *err = 1;
        return copysign(INFINITY, x);
    }
    if (x == floor(x)) {
        if (x < 0.0) {
            *err = 1;
            return NAN;
        }
        if (x <= NGAMMA_INTEGRAL) return gamma_integral[(int)x - 1];
    }
    double absx = fabs(x), r, z, sqrtpow;
    if (absx < 1e-20) {
        r = 1.0 / x;
        if (isinf(r)) *err = 2;
        return r;
    }
    if (absx > 200.0) {
        if (x < 0.0) return 0.0 / m_sinpi(x);
        *err = 2;
        return INFINITY;
    }
    double y = absx + lanczos_g_minus_half;
    // Error in the sum (volatile keeps the compiler from folding it away).
    if (absx > lanczos_g_minus_half) {
        volatile double q = y - absx;
        z = q - lanczos_g_minus_half;
    } else {
        volatile double q = y - lanczos_g_minus_half;
        z = q - absx;
    }
    z = z * lanczos_g / y;
    if (x < 0.0) {
        r = -m_pi / m_sinpi(absx) / absx * exp(y) / lanczos_sum(absx);
        r -= z * r;
        if (absx < 140.0) {
            r /= pow(y, absx - 0.5);
        } else {
            sqrtpow = pow(y, absx / 2.0 - 0.25);
            r /= sqrtpow;
            r /= sqrtpow;
        }
    } else {
        r = lanczos_sum(absx) / exp(y);
        r += z * r;
        if (absx < 140.0) {
            r *= pow(y, absx - 0.5);
        } else {
            sqrtpow = pow(y, absx / 2.0 - 0.25);
            r *= sqrtpow;
            r *= sqrtpow;
        }
    }
    if (isinf(r)) *err = 2;
    return r;
}

static double m_lgamma(double x, int *err) {
    if (!isfinite(x)) return isnan(x) ? x : INFINITY;
    if (x == floor(x) && x <= 2.0) {
        if (x <= 0.0) {
            *err = 1;
            return INFINITY;
        }
        return 0.0;
    }
    double absx = fabs(x);
    if (absx < 1e-20) return -log(absx);
    double r = log(lanczos_sum(absx)) - lanczos_g;
    r += (absx - 0.5) * (log(absx + lanczos_g - 0.5) - 1);
    if (x < 0.0) r = m_logpi - log(fabs(m_sinpi(absx))) - log(absx) - r;
    if (isinf(r)) *err = 2;
    return r;
}

static Value gamma_common(EddyVM *vm, Value *args, int nargs, TupleObject *kw, const char *name,
                          double (*fn)(double, int *)) {
    if (one_arg(vm, name, nargs, kw) < 0) return VAL_NULL;
    double x;
    if (float_from_value(vm, args[0], &x) < 0) return VAL_NULL;
    int err = 0;
    double r = fn(x, &err);
    if (err == 1) return domain_error(vm);
    if (err == 2 && fabs(r) >= 1.5) return range_error(vm);
    return v_float(r);
}

static Value math_gamma(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return gamma_common(vm, args, nargs, kw, "gamma", m_tgamma);
}

static Value math_lgamma(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return gamma_common(vm, args, nargs, kw, "lgamma", m_lgamma);
}

// ---------------------------------------------------------------------------
// Logarithms: ints of any size work (log(m * 2**e) = log(m) + e*log(2)).

static int log_helper(EddyVM *vm, Value x, double (*fn)(double), double *out) {
    if (is_int(vm, x)) {
        if (int_sign(x) <= 0) {
            domain_error(vm);
            return -1;
        }
        int64_t e;
        double m = int_frexp(x, &e);
        if (e < 1000) {
            *out = fn(ldexp(m, (int)e));
            return 0;
        }
        *out = fn(m) + fn(2.0) * (double)e;
        return 0;
    }
    double d;
    if (float_from_value(vm, x, &d) < 0) return -1;
    if (isnan(d)) {
        *out = d;
        return 0;
    }
    if (d <= 0) {
        domain_error(vm);
        return -1;
    }
    *out = fn(d);
    return 0;
}

static Value math_log(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (kw && kw->len) return vm_raise(vm, vm->exc_TypeError, "log() takes no keyword arguments");
    if (nargs < 1 || nargs > 2)
        return vm_raise(vm, vm->exc_TypeError, "log expected at least 1 argument, got %d", nargs);
    double num, den;
    if (log_helper(vm, args[0], log, &num) < 0) return VAL_NULL;
    if (nargs == 1) return v_float(num);
    if (log_helper(vm, args[1], log, &den) < 0) return VAL_NULL;
    if (den == 0.0) return vm_raise(vm, vm->exc_ZeroDivisionError, "float division by zero");
    return v_float(num / den);
}

static Value math_log2(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (one_arg(vm, "log2", nargs, kw) < 0) return VAL_NULL;
    double r;
    if (log_helper(vm, args[0], log2, &r) < 0) return VAL_NULL;
    return v_float(r);
}

static Value math_log10(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (one_arg(vm, "log10", nargs, kw) < 0) return VAL_NULL;
    double r;
    if (log_helper(vm, args[0], log10, &r) < 0) return VAL_NULL;
    return v_float(r);
}

// ---------------------------------------------------------------------------
// Two-argument float functions.

static Value math_atan2(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (n_args(vm, "atan2", nargs, kw, 2) < 0) return VAL_NULL;
    double y, x;
    if (float_from_value(vm, args[0], &y) < 0 || float_from_value(vm, args[1], &x) < 0)
        return VAL_NULL;
    return v_float(atan2(y, x));
}

static Value math_copysign(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (n_args(vm, "copysign", nargs, kw, 2) < 0) return VAL_NULL;
    double x, y;
    if (float_from_value(vm, args[0], &x) < 0 || float_from_value(vm, args[1], &y) < 0)
        return VAL_NULL;
    return v_float(copysign(x, y));
}

static Value math_fmod(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (n_args(vm, "fmod", nargs, kw, 2) < 0) return VAL_NULL;
    double x, y;
    if (float_from_value(vm, args[0], &x) < 0 || float_from_value(vm, args[1], &y) < 0)
        return VAL_NULL;
    if (isinf(y) && isfinite(x)) return v_float(x);
    double r = fmod(x, y);
    if (isnan(r) && !isnan(x) && !isnan(y)) return domain_error(vm);
    return v_float(r);
}

static Value math_remainder(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (n_args(vm, "remainder", nargs, kw, 2) < 0) return VAL_NULL;
    double x, y;
    if (float_from_value(vm, args[0], &x) < 0 || float_from_value(vm, args[1], &y) < 0)
        return VAL_NULL;
    if (isnan(x) || isnan(y)) return v_float(NAN);
    if (isinf(x) || y == 0.0) return domain_error(vm);
    if (isinf(y)) return v_float(x);
    return v_float(remainder(x, y));
}

static Value math_pow(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (n_args(vm, "pow", nargs, kw, 2) < 0) return VAL_NULL;
    double x, y, r;
    if (float_from_value(vm, args[0], &x) < 0 || float_from_value(vm, args[1], &y) < 0)
        return VAL_NULL;
    if (!isfinite(x) || !isfinite(y)) {
        if (isnan(x))
            r = y == 0.0 ? 1.0 : x;
        else if (isnan(y))
            r = x == 1.0 ? 1.0 : y;
        else if (isinf(x)) {
            bool odd_y = isfinite(y) && fmod(fabs(y), 2.0) == 1.0;
            if (y > 0.)
                r = odd_y ? x : fabs(x);
            else if (y == 0.)
                r = 1.0;
            else
                r = odd_y ? copysign(0., x) : 0.;
        } else {
            if (fabs(x) == 1.0)
                r = 1.0;
            else if ((y > 0. && fabs(x) > 1.0) || (y < 0. && fabs(x) < 1.0))
                r = y;
            else
                r = 0.0;
        }
        return v_float(r);
    }
    r = pow(x, y);
    if (isnan(r)) return domain_error(vm);
    if (isinf(r)) return x == 0.0 ? domain_error(vm) : range_error(vm);
    return v_float(r);
}

static Value math_ldexp(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (n_args(vm, "ldexp", nargs, kw, 2) < 0) return VAL_NULL;
    double x;
    if (float_from_value(vm, args[0], &x) < 0) return VAL_NULL;
    if (!is_int(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "Expected an int as second argument to ldexp.");
    int64_t e;
    if (int_bit_length(args[1]) > 62)
        e = int_sign(args[1]) > 0 ? INT32_MAX : INT32_MIN;
    else if (int_to_i64(vm, args[1], &e) < 0)
        return VAL_NULL;
    if (e > INT32_MAX) e = INT32_MAX;
    if (e < INT32_MIN) e = INT32_MIN;
    if (x == 0.0 || !isfinite(x)) return v_float(x);
    double r = ldexp(x, (int)e);
    if (isinf(r)) return range_error(vm);
    return v_float(r);
}

static Value math_nextafter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (n_args(vm, "nextafter", nargs, kw, 2) < 0) return VAL_NULL;
    double x, y;
    if (float_from_value(vm, args[0], &x) < 0 || float_from_value(vm, args[1], &y) < 0)
        return VAL_NULL;
    return v_float(nextafter(x, y));
}

static Value math_ulp(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (one_arg(vm, "ulp", nargs, kw) < 0) return VAL_NULL;
    double x;
    if (float_from_value(vm, args[0], &x) < 0) return VAL_NULL;
    if (isnan(x)) return v_float(x);
    x = fabs(x);
    if (isinf(x)) return v_float(x);
    double x2 = nextafter(x, INFINITY);
    if (isinf(x2)) {
        x2 = nextafter(x, -INFINITY);
        return v_float(x - x2);
    }
    return v_float(x2 - x);
}

// ---------------------------------------------------------------------------
// Predicates and decompositions.

static Value math_isfinite(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    double x;
    if (one_arg(vm, "isfinite", nargs, kw) < 0 || float_from_value(vm, args[0], &x) < 0)
        return VAL_NULL;
    return v_bool(isfinite(x));
}

static Value math_isinf(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    double x;
    if (one_arg(vm, "isinf", nargs, kw) < 0 || float_from_value(vm, args[0], &x) < 0)
        return VAL_NULL;
    return v_bool(isinf(x));
}

static Value math_isnan(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    double x;
    if (one_arg(vm, "isnan", nargs, kw) < 0 || float_from_value(vm, args[0], &x) < 0)
        return VAL_NULL;
    return v_bool(isnan(x));
}

static Value tuple2(EddyVM *vm, Value a, Value b) {
    Value items[2] = {a, b};
    TupleObject *t = tuple_from(vm, items, 2);
    return t ? v_obj(t) : VAL_NULL;
}

static Value math_modf(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    double x;
    if (one_arg(vm, "modf", nargs, kw) < 0 || float_from_value(vm, args[0], &x) < 0)
        return VAL_NULL;
    if (isinf(x)) return tuple2(vm, v_float(copysign(0.0, x)), v_float(x));
    double ip;
    double fp = modf(x, &ip);
    return tuple2(vm, v_float(fp), v_float(ip));
}

static Value math_frexp(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    double x;
    if (one_arg(vm, "frexp", nargs, kw) < 0 || float_from_value(vm, args[0], &x) < 0)
        return VAL_NULL;
    int e = 0;
    double m = (isnan(x) || isinf(x) || x == 0.0) ? x : frexp(x, &e);
    return tuple2(vm, v_float(m), v_int(e));
}

static Value math_isclose(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"a", "b", "rel_tol", "abs_tol"};
    Value a[4] = {VAL_NULL, VAL_NULL, VAL_NULL, VAL_NULL};
    if (args_parse(vm, "isclose", args, nargs, kw, names, 4, 2, 2, a) < 0) return VAL_NULL;
    double x, y, rel = 1e-09, abs_tol = 0.0;
    if (float_from_value(vm, a[0], &x) < 0 || float_from_value(vm, a[1], &y) < 0) return VAL_NULL;
    if (!IS_NULL(a[2]) && float_from_value(vm, a[2], &rel) < 0) return VAL_NULL;
    if (!IS_NULL(a[3]) && float_from_value(vm, a[3], &abs_tol) < 0) return VAL_NULL;
    if (rel < 0.0 || abs_tol < 0.0)
        return vm_raise(vm, vm->exc_ValueError, "tolerances must be non-negative");
    if (x == y) return VAL_TRUE;
    if (isinf(x) || isinf(y)) return VAL_FALSE;
    double diff = fabs(y - x);
    return v_bool((diff <= fabs(rel * y)) || (diff <= fabs(rel * x)) || (diff <= abs_tol));
}

// ---------------------------------------------------------------------------
// floor / ceil / trunc: ints pass through, floats round, others use the dunder.

static Value round_helper(EddyVM *vm, Value *args, int nargs, TupleObject *kw, const char *name,
                          const char *dunder, double (*fn)(double)) {
    if (one_arg(vm, name, nargs, kw) < 0) return VAL_NULL;
    Value x = args[0];
    if (IS_FLOAT(x)) return int_from_double(vm, fn(AS_FLOAT(x)));
    if (is_int(vm, x)) return int_add(vm, x, v_int(0));
    StrObject *dn = str_intern_cstr(vm, dunder);
    if (!dn) return VAL_NULL;
    if (!IS_NULL(type_lookup(vm, vm_type_of(vm, x), dn))) return vm_call_method(vm, x, dn, NULL, 0);
    if (fn == trunc)
        return vm_raise(vm, vm->exc_TypeError, "type %s doesn't define __trunc__ method",
                        vm_type_name(vm, x));
    double d;
    if (float_from_value(vm, x, &d) < 0) return VAL_NULL;
    return int_from_double(vm, fn(d));
}

static Value math_floor(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return round_helper(vm, args, nargs, kw, "floor", "__floor__", floor);
}
static Value math_ceil(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return round_helper(vm, args, nargs, kw, "ceil", "__ceil__", ceil);
}
static Value math_trunc(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return round_helper(vm, args, nargs, kw, "trunc", "__trunc__", trunc);
}

// ---------------------------------------------------------------------------
// Integer functions.

// Product lo * (lo+1) * ... * (hi-1) by binary splitting (balanced sizes
// keep the big multiplications fast).
static Value range_product(EddyVM *vm, Value lo, Value hi) {
    Value n = int_sub(vm, hi, lo);
    if (IS_NULL(n)) return n;
    if (int_sign(n) <= 0) return v_int(1);
    int64_t count;
    if (IS_INT(n) && AS_INT(n) <= 8) {
        count = AS_INT(n);
        Value r = lo;
        for (int64_t i = 1; i < count && !IS_NULL(r); i++) {
            Value k = int_add(vm, lo, v_int(i));
            if (IS_NULL(k)) return k;
            r = int_mul(vm, r, k);
        }
        return r;
    }
    Value half = int_rshift(vm, n, v_int(1));
    if (IS_NULL(half)) return half;
    Value mid = int_add(vm, lo, half);
    if (IS_NULL(mid)) return mid;
    Value left = range_product(vm, lo, mid);
    if (IS_NULL(left)) return left;
    Value right = range_product(vm, mid, hi);
    if (IS_NULL(right)) return right;
    return int_mul(vm, left, right);
}

static Value index_arg(EddyVM *vm, Value v) {
    if (is_int(vm, v)) return v;
    return vm_index(vm, v);
}

static Value math_factorial(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (one_arg(vm, "factorial", nargs, kw) < 0) return VAL_NULL;
    Value n = index_arg(vm, args[0]);
    if (IS_NULL(n)) return n;
    if (int_sign(n) < 0)
        return vm_raise(vm, vm->exc_ValueError, "factorial() not defined for negative values");
    if (int_bit_length(n) > 63)
        return vm_raise(vm, vm->exc_OverflowError,
                        "factorial() argument should not exceed 9223372036854775807");
    Value hi = int_add(vm, n, v_int(1));
    if (IS_NULL(hi)) return hi;
    return range_product(vm, v_int(1), hi);
}

static Value gcd2(EddyVM *vm, Value a, Value b) {
    a = int_abs(vm, a);
    if (IS_NULL(a)) return a;
    b = int_abs(vm, b);
    if (IS_NULL(b)) return b;
    while (int_sign(b) != 0) {
        if (IS_INT(a) && IS_INT(b)) {
            uint64_t x = (uint64_t)AS_INT(a), y = (uint64_t)AS_INT(b);
            while (y) {
                uint64_t t = x % y;
                x = y;
                y = t;
            }
            return v_int((int64_t)x);
        }
        Value r = int_mod(vm, a, b);
        if (IS_NULL(r)) return r;
        a = b;
        b = r;
    }
    return a;
}

static Value math_gcd(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (kw && kw->len) return vm_raise(vm, vm->exc_TypeError, "gcd() takes no keyword arguments");
    // The running result stays rooted: a later argument's __index__ may run
    // script code (and the collector).
    Value g = v_int(0);
    if (vm_push_root(vm, g) < 0) return VAL_NULL;
    for (int i = 0; i < nargs && !IS_NULL(g); i++) {
        Value x = index_arg(vm, args[i]);
        g = IS_NULL(x) ? x : gcd2(vm, g, x);
        vm->roots[vm->roots_len - 1] = IS_NULL(g) ? VAL_NONE : g;
    }
    vm_pop_roots(vm, 1);
    return g;
}

static Value math_lcm(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (kw && kw->len) return vm_raise(vm, vm->exc_TypeError, "lcm() takes no keyword arguments");
    Value l = v_int(1);
    if (vm_push_root(vm, l) < 0) return VAL_NULL;
    for (int i = 0; i < nargs && !IS_NULL(l); i++) {
        Value x = index_arg(vm, args[i]);
        if (IS_NULL(x)) {
            l = x;
        } else if (int_sign(l) == 0 || int_sign(x) == 0) {
            l = v_int(0);
        } else {
            Value g = gcd2(vm, l, x);
            Value q = IS_NULL(g) ? g : int_floordiv(vm, l, g);
            l = IS_NULL(q) ? q : int_mul(vm, q, x);
            if (!IS_NULL(l)) l = int_abs(vm, l);
        }
        vm->roots[vm->roots_len - 1] = IS_NULL(l) ? VAL_NONE : l;
    }
    vm_pop_roots(vm, 1);
    return l;
}

static Value math_isqrt(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (one_arg(vm, "isqrt", nargs, kw) < 0) return VAL_NULL;
    Value n = index_arg(vm, args[0]);
    if (IS_NULL(n)) return n;
    if (int_sign(n) < 0)
        return vm_raise(vm, vm->exc_ValueError, "isqrt() argument must be nonnegative");
    if (int_sign(n) == 0) return v_int(0);
    if (IS_INT(n) || IS_BOOL(n)) {
        int64_t x;
        if (int_to_i64(vm, n, &x) < 0) return VAL_NULL;
        uint64_t r = (uint64_t)sqrt((double)x);
        while (r * r > (uint64_t)x) r--;
        while ((r + 1) * (r + 1) <= (uint64_t)x) r++;
        return v_int((int64_t)r);
    }
    // Newton's iteration from above: x = (x + n // x) // 2 until it stops falling.
    int64_t bits = int_bit_length(n);
    Value x = int_lshift(vm, v_int(1), v_int((bits + 1) / 2));
    if (IS_NULL(x)) return x;
    for (;;) {
        Value q = int_floordiv(vm, n, x);
        if (IS_NULL(q)) return q;
        Value y = int_add(vm, x, q);
        if (IS_NULL(y)) return y;
        y = int_rshift(vm, y, v_int(1));
        if (IS_NULL(y)) return y;
        if (int_compare(y, x) >= 0) return x;
        x = y;
    }
}

static int nonneg_int_arg(EddyVM *vm, Value v, const char *which, Value *out) {
    Value x = index_arg(vm, v);
    if (IS_NULL(x)) return -1;
    if (int_sign(x) < 0) {
        vm_raise(vm, vm->exc_ValueError, "%s must be a non-negative integer", which);
        return -1;
    }
    *out = x;
    return 0;
}

static Value math_perm(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (kw && kw->len) return vm_raise(vm, vm->exc_TypeError, "perm() takes no keyword arguments");
    if (nargs < 1 || nargs > 2)
        return vm_raise(vm, vm->exc_TypeError, "perm expected at most 2 arguments, got %d", nargs);
    Value n, k;
    if (nonneg_int_arg(vm, args[0], "n", &n) < 0) return VAL_NULL;
    if (nargs == 2 && !IS_NONE(args[1])) {
        // k's __index__ may run script code: keep n alive meanwhile.
        if (vm_push_root(vm, n) < 0) return VAL_NULL;
        int r = nonneg_int_arg(vm, args[1], "k", &k);
        vm_pop_roots(vm, 1);
        if (r < 0) return VAL_NULL;
    }
    if (nargs == 1 || IS_NONE(args[1])) {
        if (int_bit_length(n) > 63)
            return vm_raise(vm, vm->exc_OverflowError,
                            "factorial() argument should not exceed 9223372036854775807");
        Value hi = int_add(vm, n, v_int(1));
        if (IS_NULL(hi)) return hi;
        return range_product(vm, v_int(1), hi);
    }
    if (int_compare(k, n) > 0) return v_int(0);
    if (int_bit_length(k) > 63)
        return vm_raise(vm, vm->exc_OverflowError, "k must not exceed 9223372036854775807");
    Value lo = int_sub(vm, n, k);
    if (IS_NULL(lo)) return lo;
    lo = int_add(vm, lo, v_int(1));
    if (IS_NULL(lo)) return lo;
    Value hi = int_add(vm, n, v_int(1));
    if (IS_NULL(hi)) return hi;
    return range_product(vm, lo, hi);
}

static Value math_comb(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (n_args(vm, "comb", nargs, kw, 2) < 0) return VAL_NULL;
    Value n, k;
    if (nonneg_int_arg(vm, args[0], "n", &n) < 0) return VAL_NULL;
    if (vm_push_root(vm, n) < 0) return VAL_NULL;
    int kr = nonneg_int_arg(vm, args[1], "k", &k);
    vm_pop_roots(vm, 1);
    if (kr < 0) return VAL_NULL;
    if (int_compare(k, n) > 0) return v_int(0);
    Value nk = int_sub(vm, n, k);
    if (IS_NULL(nk)) return nk;
    if (int_compare(nk, k) < 0) k = nk; // comb(n, k) == comb(n, n-k)
    if (int_bit_length(k) > 63)
        return vm_raise(vm, vm->exc_OverflowError,
                        "min(n - k, k) must not exceed 9223372036854775807");
    Value lo = int_sub(vm, n, k);
    if (IS_NULL(lo)) return lo;
    lo = int_add(vm, lo, v_int(1));
    if (IS_NULL(lo)) return lo;
    Value hi = int_add(vm, n, v_int(1));
    if (IS_NULL(hi)) return hi;
    Value num = range_product(vm, lo, hi);
    if (IS_NULL(num)) return num;
    Value khi = int_add(vm, k, v_int(1));
    if (IS_NULL(khi)) return khi;
    Value den = range_product(vm, v_int(1), khi);
    if (IS_NULL(den)) return den;
    return int_floordiv(vm, num, den);
}

// ---------------------------------------------------------------------------
// fsum (Shewchuk's exact partials, as CPython), prod, hypot, dist.

typedef struct FsumState {
    double *p;
    size_t n, cap;
    double special_sum, inf_sum;
    bool failed;
} FsumState;

static int fsum_item(EddyVM *vm, Value item, void *ud) {
    FsumState *st = ud;
    double x;
    if (float_from_value(vm, item, &x) < 0) return -1;
    double xsave = x;
    size_t i = 0;
    for (size_t j = 0; j < st->n; j++) {
        double y = st->p[j];
        if (fabs(x) < fabs(y)) {
            double t = x;
            x = y;
            y = t;
        }
        double hi = x + y;
        double lo = y - (hi - x);
        if (lo != 0.0) st->p[i++] = lo;
        x = hi;
    }
    st->n = i;
    if (x != 0.0) {
        if (!isfinite(x)) {
            // A nonfinite x could arise from an infinite input or overflow.
            if (isfinite(xsave)) {
                vm_raise(vm, vm->exc_OverflowError, "intermediate overflow in fsum");
                return -1;
            }
            if (isinf(xsave)) st->inf_sum += xsave;
            st->special_sum += xsave;
            st->n = 0;
        } else {
            if (st->n == st->cap) {
                size_t ncap = st->cap ? st->cap * 2 : 32;
                double *np =
                    mem_realloc(vm, st->p, st->cap * sizeof(double), ncap * sizeof(double));
                if (!np) return -1;
                st->p = np;
                st->cap = ncap;
            }
            st->p[st->n++] = x;
        }
    }
    return 0;
}

static Value math_fsum(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (one_arg(vm, "fsum", nargs, kw) < 0) return VAL_NULL;
    FsumState st = {0};
    int r = vm_foreach(vm, args[0], fsum_item, &st);
    Value result = VAL_NULL;
    if (r < 0) goto fail;
    if (st.special_sum != 0.0) {
        if (isnan(st.inf_sum))
            vm_raise(vm, vm->exc_ValueError, "-inf + inf in fsum");
        else
            result = v_float(st.special_sum);
        goto fail;
    }
    double hi = 0.0;
    size_t n = st.n;
    if (n > 0) {
        hi = st.p[--n];
        double lo = 0;
        // Sum exactly; stop at the first inexact step.
        while (n > 0) {
            double x = hi;
            double y = st.p[--n];
            hi = x + y;
            double yr = hi - x;
            lo = y - yr;
            if (lo != 0.0) break;
        }
        // Half-even correction when the remaining partials push it over.
        if (n > 0 && ((lo < 0.0 && st.p[n - 1] < 0.0) || (lo > 0.0 && st.p[n - 1] > 0.0))) {
            double y = lo * 2.0;
            double x = hi + y;
            double yr = x - hi;
            if (y == yr) hi = x;
        }
    }
    result = v_float(hi);
fail:
    if (st.p) mem_free(vm, st.p, st.cap * sizeof(double));
    return result;
}

typedef struct ProdState {
    Value acc;
} ProdState;

static int prod_item(EddyVM *vm, Value item, void *ud) {
    ProdState *st = ud;
    Value r;
    if (IS_INT(st->acc) && IS_INT(item))
        r = int_mul(vm, st->acc, item);
    else if (IS_FLOAT(st->acc) && IS_FLOAT(item))
        r = v_float(AS_FLOAT(st->acc) * AS_FLOAT(item));
    else
        r = vm_binary_op(vm, BINOP_MUL, st->acc, item);
    if (IS_NULL(r)) return -1;
    // The running product must stay reachable across script-level __mul__:
    // swap it into the root slot math_prod pushed (the push cannot fail, the
    // slot was just freed).
    vm_pop_roots(vm, 1);
    if (vm_push_root(vm, r) < 0) return -1;
    st->acc = r;
    return 0;
}

static Value math_prod(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"iterable", "start"};
    Value a[2] = {VAL_NULL, VAL_NULL};
    if (args_parse(vm, "prod", args, nargs, kw, names, 2, 1, 1, a) < 0) return VAL_NULL;
    ProdState st = {IS_NULL(a[1]) ? v_int(1) : a[1]};
    if (vm_push_root(vm, st.acc) < 0) return VAL_NULL;
    int r = vm_foreach(vm, a[0], prod_item, &st);
    vm_pop_roots(vm, 1);
    if (r < 0) return VAL_NULL;
    return st.acc;
}

// Double-length arithmetic for vector_norm: exact products via fma and
// exact sums of ordered pairs.
typedef struct DoubleLength {
    double hi, lo;
} DoubleLength;

static DoubleLength dl_mul(double x, double y) {
    double hi = x * y;
    return (DoubleLength){hi, fma(x, y, -hi)};
}

static DoubleLength dl_fast_sum(double a, double b) {
    double hi = a + b;
    return (DoubleLength){hi, (a - hi) + b};
}

// CPython 3.11's vector_norm: sqrt(sum(x*x)) for non-negative coordinates
// whose maximum is max, scaled losslessly and summed in extended precision
// with a final differential correction (so hypot and dist agree with python3
// to the last bit).
static double vector_norm(double *vec, size_t n, double max, bool found_nan) {
    if (isinf(max)) return max;
    if (found_nan) return NAN;
    if (max == 0.0 || n <= 1) return max;
    int max_e;
    frexp(max, &max_e);
    if (max_e < -1023) {
        // ldexp(1.0, -max_e) would overflow: rescale subnormals first.
        for (size_t i = 0; i < n; i++) vec[i] /= DBL_MIN;
        return DBL_MIN * vector_norm(vec, n, max / DBL_MIN, found_nan);
    }
    double scale = ldexp(1.0, -max_e);
    double csum = 1.0, frac1 = 0.0, frac2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = vec[i] * scale;
        DoubleLength pr = dl_mul(x, x);
        DoubleLength sm = dl_fast_sum(csum, pr.hi);
        csum = sm.hi;
        frac1 += pr.lo;
        frac2 += sm.lo;
    }
    double h = sqrt(csum - 1.0 + (frac1 + frac2));
    DoubleLength pr = dl_mul(-h, h);
    DoubleLength sm = dl_fast_sum(csum, pr.hi);
    csum = sm.hi;
    frac1 += pr.lo;
    frac2 += sm.lo;
    double x = csum - 1.0 + (frac1 + frac2);
    h += x / (2.0 * h);
    return h / scale;
}

static Value math_hypot(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (kw && kw->len) return vm_raise(vm, vm->exc_TypeError, "hypot() takes no keyword arguments");
    double small[16];
    double *v = nargs <= 16 ? small : mem_alloc(vm, (size_t)nargs * sizeof(double));
    if (!v) return VAL_NULL;
    double max = 0.0;
    bool found_nan = false;
    Value r = VAL_NULL;
    for (int i = 0; i < nargs; i++) {
        if (float_from_value(vm, args[i], &v[i]) < 0) goto fail;
        v[i] = fabs(v[i]);
        found_nan |= isnan(v[i]);
        if (v[i] > max) max = v[i];
    }
    r = v_float(vector_norm(v, (size_t)nargs, max, found_nan));
fail:
    if (v != small) mem_free(vm, v, (size_t)nargs * sizeof(double));
    return r;
}

static Value dist_tuples(EddyVM *vm, TupleObject *tp, TupleObject *tq);

static Value math_dist(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (n_args(vm, "dist", nargs, kw, 2) < 0) return VAL_NULL;
    Value p = vm_sequence_to_tuple(vm, args[0]);
    if (IS_NULL(p)) return p;
    if (vm_push_root(vm, p) < 0) return VAL_NULL;
    Value q = vm_sequence_to_tuple(vm, args[1]);
    if (IS_NULL(q) || vm_push_root(vm, q) < 0) {
        vm_pop_roots(vm, 1);
        return VAL_NULL;
    }
    // p and q stay rooted below: an item's __float__ may run script code.
    Value r = dist_tuples(vm, AS_TUPLE(p), AS_TUPLE(q));
    vm_pop_roots(vm, 2);
    return r;
}

static Value dist_tuples(EddyVM *vm, TupleObject *tp, TupleObject *tq) {
    if (tp->len != tq->len)
        return vm_raise(vm, vm->exc_ValueError,
                        "both points must have the same number of dimensions");
    size_t n = tp->len;
    double small[16];
    double *v = n <= 16 ? small : mem_alloc(vm, n * sizeof(double));
    if (!v) return VAL_NULL;
    double max = 0.0;
    bool found_nan = false;
    Value r = VAL_NULL;
    for (size_t i = 0; i < n; i++) {
        double x, y;
        if (float_from_value(vm, tp->items[i], &x) < 0 ||
            float_from_value(vm, tq->items[i], &y) < 0)
            goto fail;
        v[i] = fabs(x - y);
        found_nan |= isnan(v[i]);
        if (v[i] > max) max = v[i];
    }
    r = v_float(vector_norm(v, n, max, found_nan));
fail:
    if (v != small) mem_free(vm, v, n * sizeof(double));
    return r;
}

typedef struct MathFn {
    const char *name;
    NativeFn fn;
} MathFn;

int math_init(EddyVM *vm, ModuleObject *m) {
    static const MathFn fns[] = {
        {"sqrt", math_sqrt},
        {"isqrt", math_isqrt},
        {"floor", math_floor},
        {"ceil", math_ceil},
        {"trunc", math_trunc},
        {"fabs", math_fabs},
        {"factorial", math_factorial},
        {"gcd", math_gcd},
        {"lcm", math_lcm},
        {"pow", math_pow},
        {"exp", math_exp},
        {"exp2", math_exp2},
        {"expm1", math_expm1},
        {"log", math_log},
        {"log2", math_log2},
        {"log10", math_log10},
        {"log1p", math_log1p},
        {"sin", math_sin},
        {"cos", math_cos},
        {"tan", math_tan},
        {"asin", math_asin},
        {"acos", math_acos},
        {"atan", math_atan},
        {"atan2", math_atan2},
        {"sinh", math_sinh},
        {"cosh", math_cosh},
        {"tanh", math_tanh},
        {"asinh", math_asinh},
        {"acosh", math_acosh},
        {"atanh", math_atanh},
        {"hypot", math_hypot},
        {"degrees", math_degrees},
        {"radians", math_radians},
        {"isfinite", math_isfinite},
        {"isinf", math_isinf},
        {"isnan", math_isnan},
        {"isclose", math_isclose},
        {"copysign", math_copysign},
        {"fmod", math_fmod},
        {"remainder", math_remainder},
        {"modf", math_modf},
        {"frexp", math_frexp},
        {"ldexp", math_ldexp},
        {"fsum", math_fsum},
        {"prod", math_prod},
        {"comb", math_comb},
        {"perm", math_perm},
        {"dist", math_dist},
        {"erf", math_erf},
        {"erfc", math_erfc},
        {"gamma", math_gamma},
        {"lgamma", math_lgamma},
        {"nextafter", math_nextafter},
        {"ulp", math_ulp},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (module_add_function(vm, m, fns[i].name, fns[i].fn) < 0) return -1;
    if (module_add_value(vm, m, "pi", v_float(3.141592653589793)) < 0 ||
        module_add_value(vm, m, "e", v_float(2.718281828459045)) < 0 ||
        module_add_value(vm, m, "tau", v_float(6.283185307179586)) < 0 ||
        module_add_value(vm, m, "inf", v_float(INFINITY)) < 0 ||
        module_add_value(vm, m, "nan", v_float(NAN)) < 0)
        return -1;
    return 0;
}
