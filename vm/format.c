// format.c - formatting: the format-spec mini-language (format(), f-strings,
// __format__ of int/float/str), str.format / str.format_map, and the
// printf-style `str % args` (str_mod, declared with obj_str.c in vm.h).
//
// Numbers are rendered as pieces: sign, prefix ("0x"), integer digits (which
// get the thousands grouping and, with '0' padding, zero-filled grouping),
// and the rest (fraction, exponent, '%'). One routine pads and aligns them,
// so format(), f-strings and %-formatting agree with CPython character for
// character. Float digits come from the C library (correctly rounded in
// glibc) and float_repr_buf for the shortest repr.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

// ---------------------------------------------------------------------------
// Spec parsing

typedef struct Spec {
    char fill[4];
    size_t fill_len;
    bool fill_given;
    char align; // 0 (default), '<', '>', '^', '='
    char sign;  // 0, '+', '-', ' '
    bool z, alt;
    int64_t width;     // -1: none
    char grouping;     // 0, ',', '_'
    int64_t precision; // -1: none
    char type;         // 0: none
} Spec;

static size_t count_utf8_cp(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static bool is_align(char c) { return c == '<' || c == '>' || c == '^' || c == '='; }

// Parse a spec for an object of type `tname`; default_align is '<' for
// strings and '>' for numbers (it decides what a leading '0' means).
static int parse_spec(EddyVM *vm, StrObject *spec, const char *tname, char default_align,
                      Spec *out) {
    const char *s = spec->data, *end = s + spec->len, *p = s;
    memset(out, 0, sizeof *out);
    out->fill[0] = ' ';
    out->fill_len = 1;
    out->width = -1;
    out->precision = -1;
    // [[fill]align]: the fill may be any code point.
    if (p < end) {
        uint32_t cp;
        size_t n = utf8_decode(p, &cp);
        if (p + n < end && is_align(p[n])) {
            memcpy(out->fill, p, n);
            out->fill_len = n;
            out->fill_given = true;
            out->align = p[n];
            p += n + 1;
        } else if (is_align(*p)) {
            out->align = *p++;
        }
    }
    if (p < end && (*p == '+' || *p == '-' || *p == ' ')) out->sign = *p++;
    if (p < end && *p == 'z') {
        out->z = true;
        p++;
    }
    if (p < end && *p == '#') {
        out->alt = true;
        p++;
    }
    if (p < end && *p == '0' && !out->fill_given) {
        out->fill[0] = '0';
        out->fill_len = 1;
        if (!out->align && default_align == '>') out->align = '=';
        p++;
    }
    if (p < end && *p >= '0' && *p <= '9') {
        int64_t w = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (w > (INT64_MAX - 9) / 10) {
                vm_raise(vm, vm->exc_ValueError, "Too many decimal digits in format string");
                return -1;
            }
            w = w * 10 + (*p++ - '0');
        }
        out->width = w;
    }
    if (p < end && (*p == ',' || *p == '_')) {
        out->grouping = *p++;
        if (p < end && (*p == ',' || *p == '_')) {
            if (*p == out->grouping)
                vm_raise(vm, vm->exc_ValueError, "Cannot specify '%c' with '%c'.", *p, *p);
            else
                vm_raise(vm, vm->exc_ValueError, "Cannot specify both ',' and '_'.");
            return -1;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            vm_raise(vm, vm->exc_ValueError, "Format specifier missing precision");
            return -1;
        }
        int64_t pr = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (pr > (INT64_MAX - 9) / 10) {
                vm_raise(vm, vm->exc_ValueError, "Too many decimal digits in format string");
                return -1;
            }
            pr = pr * 10 + (*p++ - '0');
        }
        out->precision = pr;
    }
    // Results longer than a str can hold fail up front instead of after
    // growing a huge buffer.
    if (out->width > 0x7FFFFF00 || out->precision > 0x7FFFFF00) {
        vm_raise_nomem(vm);
        return -1;
    }
    if (end - p > 1) {
        vm_raise(vm, vm->exc_ValueError, "Invalid format specifier '%U' for object of type '%s'",
                 spec, tname);
        return -1;
    }
    if (p < end) out->type = *p;
    if (out->grouping) {
        char t = out->type;
        bool ok;
        if (out->grouping == ',')
            ok = t == 0 || t == 'd' || t == 'e' || t == 'f' || t == 'g' || t == 'E' || t == 'F' ||
                 t == 'G' || t == '%';
        else
            ok = t == 0 || t == 'd' || t == 'e' || t == 'f' || t == 'g' || t == 'E' || t == 'F' ||
                 t == 'G' || t == '%' || t == 'b' || t == 'o' || t == 'x' || t == 'X';
        if (!ok) {
            vm_raise(vm, vm->exc_ValueError, "Cannot specify '%c' with '%c'.", out->grouping, t);
            return -1;
        }
    }
    return 0;
}

static Value unknown_code(EddyVM *vm, char type, const char *tname) {
    if ((unsigned char)type > 32 && (unsigned char)type < 127)
        return vm_raise(vm, vm->exc_ValueError, "Unknown format code '%c' for object of type '%s'",
                        type, tname);
    return vm_raise(vm, vm->exc_ValueError, "Unknown format code '\\x%x' for object of type '%s'",
                    (unsigned char)type, tname);
}

// ---------------------------------------------------------------------------
// Rendering

static void append_fill(StrBuf *b, const Spec *sp, int64_t n) {
    for (int64_t i = 0; i < n && !b->failed; i++) strbuf_append(b, sp->fill, sp->fill_len);
}

// Group `digits` with separator `sep` every `group` digits; when min_width > 0
// pad with zeros (CPython's InsertThousandsGrouping). Appends to b.
static void append_grouped(StrBuf *b, const char *digits, size_t n, char sep, int group,
                           int64_t min_width) {
    // Build right-to-left into a temporary buffer, then reverse-append.
    size_t cap = n + n / (size_t)group + 2 + (min_width > 0 ? (size_t)min_width * 2 : 0);
    char *tmp = mem_alloc(b->vm, cap);
    if (!tmp) {
        b->failed = true;
        return;
    }
    size_t k = 0;
    int64_t remaining = (int64_t)n, minw = min_width;
    const char *src = digits + n;
    for (;;) {
        int64_t l = remaining > minw ? remaining : minw;
        if (l > group) l = group;
        if (l < 1) l = 1;
        for (int64_t i = 0; i < l; i++) tmp[k++] = remaining-- > 0 ? *--src : '0';
        if (remaining < 0) remaining = 0;
        minw -= l;
        if (remaining <= 0 && minw <= 0) break;
        tmp[k++] = sep;
        minw--;
    }
    for (size_t i = 0; i < k / 2; i++) {
        char t = tmp[i];
        tmp[i] = tmp[k - 1 - i];
        tmp[k - 1 - i] = t;
    }
    strbuf_append(b, tmp, k);
    mem_free(b->vm, tmp, cap);
}

// Assemble sign + prefix + digits + rest with padding per spec. `digits` are
// ASCII; `rest` may be anything (ASCII). Returns the str.
static Value render_number(EddyVM *vm, const Spec *sp, const char *sign, const char *prefix,
                           const char *digits, size_t ndigits, const char *rest, size_t nrest,
                           int group) {
    size_t nsign = strlen(sign), nprefix = strlen(prefix);
    char align = sp->align ? sp->align : '>';
    StrBuf body;
    strbuf_init(vm, &body);
    if (sp->grouping && group) {
        int64_t minw = 0;
        if (align == '=' && sp->fill_len == 1 && sp->fill[0] == '0' && sp->width > 0)
            minw = sp->width - (int64_t)(nsign + nprefix + nrest);
        append_grouped(&body, digits, ndigits, sp->grouping, group, minw);
    } else {
        strbuf_append(&body, digits, ndigits);
    }
    strbuf_append(&body, rest, nrest);
    if (body.failed) return VAL_NULL;
    int64_t len = (int64_t)(nsign + nprefix) + (int64_t)count_utf8_cp(body.data, body.len);
    int64_t padn = sp->width > len ? sp->width - len : 0;
    StrBuf b;
    strbuf_init(vm, &b);
    switch (align) {
    case '<':
        strbuf_append(&b, sign, nsign);
        strbuf_append(&b, prefix, nprefix);
        strbuf_append(&b, body.data, body.len);
        append_fill(&b, sp, padn);
        break;
    case '^':
        append_fill(&b, sp, padn / 2);
        strbuf_append(&b, sign, nsign);
        strbuf_append(&b, prefix, nprefix);
        strbuf_append(&b, body.data, body.len);
        append_fill(&b, sp, padn - padn / 2);
        break;
    case '=':
        strbuf_append(&b, sign, nsign);
        strbuf_append(&b, prefix, nprefix);
        append_fill(&b, sp, padn);
        strbuf_append(&b, body.data, body.len);
        break;
    default:
        append_fill(&b, sp, padn);
        strbuf_append(&b, sign, nsign);
        strbuf_append(&b, prefix, nprefix);
        strbuf_append(&b, body.data, body.len);
        break;
    }
    strbuf_discard(&body);
    StrObject *r = strbuf_finish(&b);
    return r ? v_obj(r) : VAL_NULL;
}

// Digits of |v| in `base` appended to b (upper-case hex when `upper`).
// Sets *neg. Never runs script code.
static int append_int_digits(EddyVM *vm, StrBuf *b, Value v, int base, bool upper, bool *neg) {
    if (IS_INT(v) || IS_BOOL(v)) {
        int64_t i = IS_BOOL(v) ? AS_BOOL(v) : AS_INT(v);
        *neg = i < 0;
        uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
        char tmp[72];
        size_t k = sizeof tmp;
        const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
        do {
            tmp[--k] = dig[u % (unsigned)base];
            u /= (unsigned)base;
        } while (u);
        strbuf_append(b, tmp + k, sizeof tmp - k);
        return b->failed ? -1 : 0;
    }
    *neg = int_sign(v) < 0;
    Value av = *neg ? int_neg(vm, v) : v;
    if (IS_NULL(av)) return -1;
    Value s = int_to_str(vm, av, base);
    if (IS_NULL(s)) return -1;
    StrObject *str = AS_STR(s);
    size_t start = b->len;
    const char *d = str->data;
    size_t n = str->len;
    if (n && d[0] == '-') { // in case int_to_str kept a sign
        d++;
        n--;
    }
    strbuf_append(b, d, n);
    if (b->failed) return -1;
    if (upper)
        for (size_t i = start; i < b->len; i++)
            if (b->data[i] >= 'a' && b->data[i] <= 'f') b->data[i] -= 32;
    return 0;
}

static const char *sign_str(const Spec *sp, bool neg) {
    if (neg) return "-";
    if (sp->sign == '+') return "+";
    if (sp->sign == ' ') return " ";
    return "";
}

// Format a finite or non-finite double per a parsed spec (type already
// validated as a float presentation type or none).
static Value format_double_spec(EddyVM *vm, double d, const Spec *sp) {
    char type = sp->type;
    int64_t prec = sp->precision;
    if (prec > 100000000) return vm_raise(vm, vm->exc_ValueError, "precision too big");
    bool neg = signbit(d) && !isnan(d);
    double ad = fabs(d);
    bool upper = type == 'E' || type == 'F' || type == 'G';
    StrBuf b;
    strbuf_init(vm, &b);
    const char *suffix = "";
    if (type == '%') {
        ad *= 100;
        suffix = "%";
    }
    if (!isfinite(ad)) {
        strbuf_append_cstr(&b, isnan(ad) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"));
        strbuf_append_cstr(&b, suffix);
    } else if (type == 0 && prec < 0) {
        char buf[64];
        size_t n = float_repr_buf(ad, buf, sizeof buf);
        strbuf_append(&b, buf, n);
    } else {
        char fmt[16];
        char c;
        switch (type) {
        case 0:
        case 'n': c = 'g'; break;
        case '%': c = 'f'; break;
        default: c = type; break;
        }
        if (prec < 0) prec = 6;
        if (type == 0 && prec == 0) prec = 1;
        snprintf(fmt, sizeof fmt, "%%%s.*%c", sp->alt ? "#" : "", c);
        strbuf_printf(&b, fmt, (int)prec, ad);
        if (type == 0 && !b.failed && !memchr(b.data, '.', b.len) && !memchr(b.data, 'e', b.len))
            strbuf_append(&b, ".0", 2);
        strbuf_append_cstr(&b, suffix);
    }
    if (b.failed) return VAL_NULL;
    // Negative zero coercion: '-0.00' -> '0.00'.
    if (neg && sp->z) {
        bool nonzero = false;
        for (size_t i = 0; i < b.len && b.data[i] != 'e' && b.data[i] != 'E'; i++)
            if (b.data[i] >= '1' && b.data[i] <= '9') nonzero = true;
        if (!nonzero) neg = false;
    }
    size_t nd = 0;
    while (nd < b.len && b.data[nd] >= '0' && b.data[nd] <= '9') nd++;
    bool finite = isfinite(ad);
    Value r = render_number(vm, sp, sign_str(sp, neg), "", b.data, nd, b.data + nd, b.len - nd,
                            finite ? 3 : 0);
    strbuf_discard(&b);
    return r;
}

Value format_float(EddyVM *vm, double d, StrObject *spec) {
    if (spec->len == 0) return float_repr(vm, d);
    Spec sp;
    if (parse_spec(vm, spec, "float", '>', &sp) < 0) return VAL_NULL;
    switch (sp.type) {
    case 0:
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 'n':
    case '%': break;
    default: return unknown_code(vm, sp.type, "float");
    }
    if (sp.type == 'n' && sp.grouping)
        return vm_raise(vm, vm->exc_ValueError, "Cannot specify ',' with 'n'.");
    return format_double_spec(vm, d, &sp);
}

Value format_int(EddyVM *vm, Value v, StrObject *spec) {
    if (spec->len == 0) return vm_str(vm, v);
    const char *tname = vm_type_name(vm, v);
    Spec sp;
    if (parse_spec(vm, spec, tname, '>', &sp) < 0) return VAL_NULL;
    int base = 10;
    const char *prefix = "";
    switch (sp.type) {
    case 0:
    case 'd':
    case 'n': break;
    case 'b':
        base = 2;
        prefix = sp.alt ? "0b" : "";
        break;
    case 'o':
        base = 8;
        prefix = sp.alt ? "0o" : "";
        break;
    case 'x':
        base = 16;
        prefix = sp.alt ? "0x" : "";
        break;
    case 'X':
        base = 16;
        prefix = sp.alt ? "0X" : "";
        break;
    case 'c': break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case '%': {
        bool overflow = false;
        double d = IS_BOOL(v) ? (double)AS_BOOL(v) : int_to_double(vm, v, &overflow);
        if (overflow)
            return vm_raise(vm, vm->exc_OverflowError, "int too large to convert to float");
        return format_double_spec(vm, d, &sp);
    }
    default: return unknown_code(vm, sp.type, tname);
    }
    if (sp.precision >= 0)
        return vm_raise(vm, vm->exc_ValueError,
                        "Precision not allowed in integer format specifier");
    if (sp.z)
        return vm_raise(vm, vm->exc_ValueError,
                        "Negative zero coercion (z) not allowed in integer format specifier");
    if (sp.type == 'n' && sp.grouping)
        return vm_raise(vm, vm->exc_ValueError, "Cannot specify ',' with 'n'.");
    if (sp.type == 'c') {
        if (sp.sign)
            return vm_raise(vm, vm->exc_ValueError,
                            "Sign not allowed with integer format specifier 'c'");
        if (sp.alt)
            return vm_raise(vm, vm->exc_ValueError,
                            "Alternate form (#) not allowed with integer format specifier 'c'");
        int64_t cp;
        // CPython converts to a C long first, so a bigint fails differently.
        if (is_bigint(v))
            return vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C long");
        if ((cp = IS_BOOL(v) ? AS_BOOL(v) : AS_INT(v)) < 0 || cp > 0x10FFFF)
            return vm_raise(vm, vm->exc_OverflowError, "%%c arg not in range(0x110000)");
        char buf[8];
        StrBuf cb;
        strbuf_init(vm, &cb);
        strbuf_append_codepoint(&cb, (uint32_t)cp);
        if (cb.failed) return VAL_NULL;
        memcpy(buf, cb.data, cb.len);
        size_t n = cb.len;
        strbuf_discard(&cb);
        return render_number(vm, &sp, "", "", buf, n, "", 0, 0);
    }
    StrBuf digits;
    strbuf_init(vm, &digits);
    bool neg;
    if (append_int_digits(vm, &digits, v, base, sp.type == 'X', &neg) < 0) {
        strbuf_discard(&digits);
        return VAL_NULL;
    }
    Value r = render_number(vm, &sp, sign_str(&sp, neg), prefix, digits.data, digits.len, "", 0,
                            base == 10 ? 3 : 4);
    strbuf_discard(&digits);
    return r;
}

Value format_str(EddyVM *vm, StrObject *s, StrObject *spec) {
    if (spec->len == 0) {
        if (OBJ_TYPE(s) == vm->t_str) return v_obj(s);
        return vm_str(vm, v_obj(s));
    }
    Spec sp;
    if (parse_spec(vm, spec, "str", '<', &sp) < 0) return VAL_NULL;
    if (sp.type != 0 && sp.type != 's') return unknown_code(vm, sp.type, "str");
    if (sp.sign)
        return vm_raise(vm, vm->exc_ValueError, "Sign not allowed in string format specifier");
    if (sp.z)
        return vm_raise(vm, vm->exc_ValueError,
                        "Negative zero coercion (z) not allowed in string format specifier");
    if (sp.alt)
        return vm_raise(vm, vm->exc_ValueError,
                        "Alternate form (#) not allowed in string format specifier");
    if (sp.align == '=')
        return vm_raise(vm, vm->exc_ValueError,
                        "'=' alignment not allowed in string format specifier");
    if (sp.grouping)
        return vm_raise(vm, vm->exc_ValueError, "Cannot specify '%c' with 's'.", sp.grouping);
    // Truncate to precision (code points), then pad.
    size_t nbytes = s->len, ncp = s->ncp;
    if (sp.precision >= 0 && (size_t)sp.precision < ncp) {
        ncp = (size_t)sp.precision;
        if (s->ascii)
            nbytes = ncp;
        else {
            size_t off = 0, k = 0;
            while (k < ncp) {
                uint32_t cp;
                off += utf8_decode(s->data + off, &cp);
                k++;
            }
            nbytes = off;
        }
    }
    int64_t padn = sp.width > (int64_t)ncp ? sp.width - (int64_t)ncp : 0;
    if (padn == 0 && nbytes == s->len && OBJ_TYPE(s) == vm->t_str) return v_obj(s);
    StrBuf b;
    strbuf_init(vm, &b);
    char align = sp.align ? sp.align : '<';
    int64_t left = align == '>' ? padn : align == '^' ? padn / 2 : 0;
    append_fill(&b, &sp, left);
    strbuf_append(&b, s->data, nbytes);
    append_fill(&b, &sp, padn - left);
    StrObject *r = strbuf_finish(&b);
    return r ? v_obj(r) : VAL_NULL;
}

// ---------------------------------------------------------------------------
// str.format / str.format_map

typedef struct FormatCtx {
    Value *args;
    int nargs;
    TupleObject *kwnames;
    Value mapping;  // format_map; V_NULL otherwise
    int auto_state; // 0 unknown, 1 automatic numbering, 2 manual
    int next_auto;
} FormatCtx;

static Value raise_key_error(EddyVM *vm, Value key) {
    TupleObject *t = tuple_from(vm, &key, 1);
    if (!t) return VAL_NULL;
    Value e = exc_new(vm, vm->exc_KeyError, t);
    if (IS_NULL(e)) return VAL_NULL;
    return vm_raise_value(vm, e);
}

static bool all_digits(const char *s, size_t n, int64_t *out) {
    if (n == 0) return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        if (v > (INT64_MAX - 9) / 10) return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

// Resolve the first part of a field name to an argument.
static Value field_arg(EddyVM *vm, FormatCtx *c, const char *name, size_t n) {
    int64_t idx;
    bool numeric = all_digits(name, n, &idx);
    if (n == 0 || numeric) {
        if (n == 0) {
            if (c->auto_state == 2)
                return vm_raise(vm, vm->exc_ValueError,
                                "cannot switch from manual field specification to automatic field "
                                "numbering");
            c->auto_state = 1;
            idx = c->next_auto++;
        } else {
            if (c->auto_state == 1)
                return vm_raise(vm, vm->exc_ValueError,
                                "cannot switch from automatic field numbering to manual field "
                                "specification");
            c->auto_state = 2;
        }
        if (!IS_NULL(c->mapping))
            return vm_raise(vm, vm->exc_ValueError, "Format string contains positional fields");
        if (idx >= c->nargs)
            return vm_raise(vm, vm->exc_IndexError,
                            "Replacement index %lld out of range for positional args tuple",
                            (long long)idx);
        return c->args[idx];
    }
    StrObject *key = str_new(vm, name, n);
    if (!key) return VAL_NULL;
    if (!IS_NULL(c->mapping)) {
        if (vm_push_root(vm, v_obj(key)) < 0) return VAL_NULL;
        Value r = vm_getitem(vm, c->mapping, v_obj(key));
        vm_pop_roots(vm, 1);
        return r;
    }
    if (c->kwnames) {
        for (size_t i = 0; i < c->kwnames->len; i++)
            if (str_eq(AS_STR(c->kwnames->items[i]), key)) return c->args[c->nargs + (int)i];
    }
    return raise_key_error(vm, v_obj(key));
}

static int format_into(EddyVM *vm, FormatCtx *c, const char *s, size_t len, int depth, StrBuf *out);

// Handle one replacement field (text between the braces).
static int format_field(EddyVM *vm, FormatCtx *c, const char *f, size_t n, int depth, StrBuf *out) {
    // Split field name / conversion / spec; brackets in the name are skipped.
    size_t i = 0;
    while (i < n && f[i] != '!' && f[i] != ':') {
        if (f[i] == '[') {
            while (i < n && f[i] != ']') i++;
            if (i >= n) break;
        }
        i++;
    }
    size_t name_end = i;
    char conv = 0;
    const char *spec = "";
    size_t spec_len = 0;
    if (i < n && f[i] == '!') {
        if (i + 1 >= n) {
            vm_raise(vm, vm->exc_ValueError, "unmatched '{' in format spec");
            return -1;
        }
        conv = f[i + 1];
        i += 2;
        if (i < n && f[i] != ':') {
            vm_raise(vm, vm->exc_ValueError, "expected ':' after conversion specifier");
            return -1;
        }
    }
    if (i < n && f[i] == ':') {
        spec = f + i + 1;
        spec_len = n - i - 1;
    }
    // First part of the name, then .attr / [key] accessors.
    size_t j = 0;
    while (j < name_end && f[j] != '.' && f[j] != '[') j++;
    Value obj = field_arg(vm, c, f, j);
    if (IS_NULL(obj)) return -1;
    size_t roots = 0;
    int rc = -1;
    if (vm_push_root(vm, obj) < 0) return -1;
    roots++;
    while (j < name_end) {
        if (f[j] == '.') {
            size_t k = ++j;
            while (j < name_end && f[j] != '.' && f[j] != '[') j++;
            if (j == k) {
                vm_raise(vm, vm->exc_ValueError, "Empty attribute in format string");
                goto done;
            }
            StrObject *attr = str_intern(vm, f + k, j - k);
            if (!attr) goto done;
            obj = vm_getattr(vm, obj, attr);
        } else if (f[j] == '[') {
            size_t k = ++j;
            while (j < name_end && f[j] != ']') j++;
            if (j == k) {
                vm_raise(vm, vm->exc_ValueError, "Empty attribute in format string");
                goto done;
            }
            int64_t idx;
            Value key;
            if (all_digits(f + k, j - k, &idx)) {
                key = v_int(idx);
            } else {
                StrObject *ks = str_new(vm, f + k, j - k);
                if (!ks) goto done;
                key = v_obj(ks);
            }
            if (vm_push_root(vm, key) < 0) goto done;
            roots++;
            obj = vm_getitem(vm, obj, key);
            j++; // past ']'
            if (!IS_NULL(obj) && j < name_end && f[j] != '.' && f[j] != '[') {
                vm_raise(vm, vm->exc_ValueError,
                         "Only '.' or '[' may follow ']' in format field specifier");
                goto done;
            }
        } else {
            vm_raise(vm, vm->exc_ValueError,
                     "Only '.' or '[' may follow ']' in format field specifier");
            goto done;
        }
        if (IS_NULL(obj)) goto done;
        if (vm_push_root(vm, obj) < 0) goto done;
        roots++;
    }
    switch (conv) {
    case 0: break;
    case 'r': obj = vm_repr(vm, obj); break;
    case 's': obj = vm_str(vm, obj); break;
    case 'a': obj = vm_ascii(vm, obj); break;
    default: vm_raise(vm, vm->exc_ValueError, "Unknown conversion specifier %c", conv); goto done;
    }
    if (IS_NULL(obj)) goto done;
    if (vm_push_root(vm, obj) < 0) goto done;
    roots++;
    // Expand nested fields in the spec.
    StrObject *spec_str;
    if (memchr(spec, '{', spec_len)) {
        if (depth <= 1) {
            vm_raise(vm, vm->exc_ValueError, "Max string recursion exceeded");
            goto done;
        }
        StrBuf sb;
        strbuf_init(vm, &sb);
        if (format_into(vm, c, spec, spec_len, depth - 1, &sb) < 0) {
            strbuf_discard(&sb);
            goto done;
        }
        spec_str = strbuf_finish(&sb);
    } else {
        spec_str = spec_len ? str_new(vm, spec, spec_len) : vm->names.empty;
    }
    if (!spec_str) goto done;
    Value r;
    if (spec_str->len == 0 && is_exact(obj, vm->t_str)) {
        r = obj;
    } else {
        if (vm_push_root(vm, v_obj(spec_str)) < 0) goto done;
        roots++;
        r = vm_format(vm, obj, v_obj(spec_str));
        if (IS_NULL(r)) goto done;
    }
    strbuf_append_str(out, AS_STR(r));
    rc = out->failed ? -1 : 0;
done:
    vm_pop_roots(vm, roots);
    return rc;
}

// Index of the '}' closing the field that starts at s[j] (after its '{'), or
// 0 with ValueError; the scan and its errors follow CPython's parse_field:
// the name ends at '!', ':' or '}' ('[...]' skipped), a spec may nest braces.
static size_t field_end(EddyVM *vm, const char *s, size_t len, size_t j) {
    char ch = 0;
    while (j < len) {
        ch = s[j++];
        if (ch == '{') {
            vm_raise(vm, vm->exc_ValueError, "unexpected '{' in field name");
            return 0;
        }
        if (ch == '[') {
            while (j < len && s[j] != ']') j++;
            continue;
        }
        if (ch == '}' || ch == ':' || ch == '!') break;
    }
    if (ch == '}') return j - 1;
    if (ch != '!' && ch != ':') {
        vm_raise(vm, vm->exc_ValueError, "expected '}' before end of string");
        return 0;
    }
    if (ch == '!') {
        if (j >= len) {
            vm_raise(vm, vm->exc_ValueError,
                     "end of string while looking for conversion specifier");
            return 0;
        }
        j++;
        if (j < len) {
            ch = s[j++];
            if (ch == '}') return j - 1;
            if (ch != ':') {
                vm_raise(vm, vm->exc_ValueError, "expected ':' after conversion specifier");
                return 0;
            }
        }
    }
    for (int nest = 1; j < len; j++) {
        if (s[j] == '{')
            nest++;
        else if (s[j] == '}' && --nest == 0)
            return j;
    }
    vm_raise(vm, vm->exc_ValueError, "unmatched '{' in format spec");
    return 0;
}

static int format_into(EddyVM *vm, FormatCtx *c, const char *s, size_t len, int depth,
                       StrBuf *out) {
    size_t i = 0;
    while (i < len) {
        size_t k = i;
        while (k < len && s[k] != '{' && s[k] != '}') k++;
        strbuf_append(out, s + i, k - i);
        if (k >= len) break;
        if (s[k] == '}') {
            if (k + 1 < len && s[k + 1] == '}') {
                strbuf_append_char(out, '}');
                i = k + 2;
                continue;
            }
            vm_raise(vm, vm->exc_ValueError, "Single '}' encountered in format string");
            return -1;
        }
        if (k + 1 < len && s[k + 1] == '{') {
            strbuf_append_char(out, '{');
            i = k + 2;
            continue;
        }
        if (k + 1 >= len) {
            vm_raise(vm, vm->exc_ValueError, "Single '{' encountered in format string");
            return -1;
        }
        size_t j = field_end(vm, s, len, k + 1);
        if (j == 0) return -1;
        if (format_field(vm, c, s + k + 1, j - k - 1, depth, out) < 0) return -1;
        i = j + 1;
    }
    return out->failed ? -1 : 0;
}

Value str_format_method(EddyVM *vm, StrObject *fmt, Value *args, int nargs, TupleObject *kwnames) {
    FormatCtx c = {args, nargs, kwnames, VAL_NULL, 0, 0};
    StrBuf b;
    strbuf_init(vm, &b);
    if (format_into(vm, &c, fmt->data, fmt->len, 2, &b) < 0) {
        strbuf_discard(&b);
        return VAL_NULL;
    }
    StrObject *r = strbuf_finish(&b);
    return r ? v_obj(r) : VAL_NULL;
}

Value str_format_map(EddyVM *vm, StrObject *fmt, Value mapping) {
    FormatCtx c = {NULL, 0, NULL, mapping, 0, 0};
    StrBuf b;
    strbuf_init(vm, &b);
    if (format_into(vm, &c, fmt->data, fmt->len, 2, &b) < 0) {
        strbuf_discard(&b);
        return VAL_NULL;
    }
    StrObject *r = strbuf_finish(&b);
    return r ? v_obj(r) : VAL_NULL;
}

// ---------------------------------------------------------------------------
// printf-style formatting: "fmt" % args (str_mod, declared with obj_str.c)

static bool has_index(EddyVM *vm, Value v) {
    return IS_INT(v) || IS_BOOL(v) || is_int(vm, v) ||
           !IS_NULL(type_lookup(vm, vm_type_of(vm, v), vm->names.__index__));
}

// Append s padded to width (left-justified when left), truncated to prec code points.
static void append_padded(StrBuf *b, StrObject *s, int64_t width, int64_t prec, bool left) {
    size_t nbytes = s->len, ncp = s->ncp;
    if (prec >= 0 && (size_t)prec < ncp) {
        ncp = (size_t)prec;
        size_t off = 0;
        for (size_t k = 0; k < ncp; k++) {
            uint32_t cp;
            off += utf8_decode(s->data + off, &cp);
        }
        nbytes = off;
    }
    int64_t padn = width > (int64_t)ncp ? width - (int64_t)ncp : 0;
    if (!left)
        for (int64_t i = 0; i < padn; i++) strbuf_append_char(b, ' ');
    strbuf_append(b, s->data, nbytes);
    if (left)
        for (int64_t i = 0; i < padn; i++) strbuf_append_char(b, ' ');
}

// One %-conversion of value v. Returns 0 / -1.
static int mod_convert(EddyVM *vm, StrBuf *out, char conv, Value v, const char *flags,
                       int64_t width, int64_t prec) {
    bool left = strchr(flags, '-') != NULL, zero = strchr(flags, '0') != NULL;
    Spec sp;
    memset(&sp, 0, sizeof sp);
    sp.fill[0] = (zero && !left) ? '0' : ' ';
    sp.fill_len = 1;
    sp.align = left ? '<' : (zero ? '=' : '>');
    sp.sign = strchr(flags, '+') ? '+' : strchr(flags, ' ') ? ' ' : 0;
    sp.alt = strchr(flags, '#') != NULL;
    sp.width = width;
    sp.precision = -1;
    Value r = VAL_NULL;
    switch (conv) {
    case 's':
    case 'r':
    case 'a': {
        Value s = conv == 's' ? vm_str(vm, v) : conv == 'r' ? vm_repr(vm, v) : vm_ascii(vm, v);
        if (IS_NULL(s)) return -1;
        append_padded(out, AS_STR(s), width, prec, left);
        return out->failed ? -1 : 0;
    }
    case 'c': {
        int64_t cp;
        if (is_str(vm, v)) {
            if (AS_STR(v)->ncp != 1) {
                vm_raise(vm, vm->exc_TypeError, "%%c requires int or char");
                return -1;
            }
            append_padded(out, AS_STR(v), width, -1, left);
            return out->failed ? -1 : 0;
        }
        if (!has_index(vm, v)) {
            vm_raise(vm, vm->exc_TypeError, "%%c requires int or char");
            return -1;
        }
        if (is_bigint(v) ||
            (IS_INT(v) ? (cp = AS_INT(v)) : (vm_index_i64(vm, v, &cp) < 0 ? -1 : cp)) < 0 ||
            cp > 0x10FFFF) {
            if (!vm_err_occurred(vm))
                vm_raise(vm, vm->exc_OverflowError, "%%c arg not in range(0x110000)");
            return -1;
        }
        StrObject *ch = str_from_codepoint(vm, (uint32_t)cp);
        if (!ch) return -1;
        append_padded(out, ch, width, -1, left);
        return out->failed ? -1 : 0;
    }
    case 'd':
    case 'i':
    case 'u':
    case 'x':
    case 'X':
    case 'o': {
        Value iv = v;
        bool decimal = conv == 'd' || conv == 'i' || conv == 'u';
        if (IS_FLOAT(iv) && decimal) {
            iv = int_from_double(vm, AS_FLOAT(iv));
            if (IS_NULL(iv)) return -1;
        } else if (!has_index(vm, iv)) {
            if (decimal)
                vm_raise(vm, vm->exc_TypeError, "%%%c format: a real number is required, not %s",
                         conv, vm_type_name(vm, v));
            else
                vm_raise(vm, vm->exc_TypeError, "%%%c format: an integer is required, not %s", conv,
                         vm_type_name(vm, v));
            return -1;
        } else if (!IS_INT(iv) && !IS_BOOL(iv) && !is_int(vm, iv)) {
            iv = vm_index(vm, iv);
            if (IS_NULL(iv)) return -1;
        }
        int base = decimal ? 10 : conv == 'o' ? 8 : 16;
        StrBuf digits;
        strbuf_init(vm, &digits);
        bool neg;
        if (append_int_digits(vm, &digits, iv, base, conv == 'X', &neg) < 0) {
            strbuf_discard(&digits);
            return -1;
        }
        // Precision is a minimum digit count.
        StrBuf padded;
        strbuf_init(vm, &padded);
        for (int64_t i = (int64_t)digits.len; i < prec; i++) strbuf_append_char(&padded, '0');
        strbuf_append(&padded, digits.data, digits.len);
        strbuf_discard(&digits);
        if (padded.failed) return -1;
        const char *prefix = "";
        if (sp.alt) prefix = conv == 'x' ? "0x" : conv == 'X' ? "0X" : conv == 'o' ? "0o" : "";
        r = render_number(vm, &sp, sign_str(&sp, neg), prefix, padded.data, padded.len, "", 0, 0);
        strbuf_discard(&padded);
        break;
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
        double d;
        if (IS_FLOAT(v))
            d = AS_FLOAT(v);
        else if (IS_INT(v) || IS_BOOL(v) || is_int(vm, v)) {
            bool overflow = false;
            d = IS_BOOL(v) ? AS_BOOL(v) : int_to_double(vm, v, &overflow);
            if (overflow) {
                vm_raise(vm, vm->exc_OverflowError, "int too large to convert to float");
                return -1;
            }
        } else {
            Value f = type_lookup(vm, vm_type_of(vm, v), vm->names.__float__);
            if (IS_NULL(f)) {
                vm_raise(vm, vm->exc_TypeError, "must be real number, not %s", vm_type_name(vm, v));
                return -1;
            }
            Value fv = vm_call1(vm, f, v);
            if (IS_NULL(fv)) return -1;
            if (!IS_FLOAT(fv)) {
                vm_raise(vm, vm->exc_TypeError, "must be real number, not %s", vm_type_name(vm, v));
                return -1;
            }
            d = AS_FLOAT(fv);
        }
        sp.type = conv;
        sp.precision = prec < 0 ? 6 : prec;
        r = format_double_spec(vm, d, &sp);
        break;
    }
    default: return -1;
    }
    if (IS_NULL(r)) return -1;
    strbuf_append_str(out, AS_STR(r));
    return out->failed ? -1 : 0;
}

Value str_mod(EddyVM *vm, Value fmtv, Value args) {
    StrObject *fmt = AS_STR(fmtv);
    const Value *items;
    size_t nitems;
    Value mapping = VAL_NULL;
    if (IS_OBJ(args) && (OBJ_TYPE(AS_OBJ(args))->flags & TPF_TUPLE_SUBCLASS)) {
        items = AS_TUPLE(args)->items;
        nitems = AS_TUPLE(args)->len;
    } else {
        items = &args;
        nitems = 1;
        // CPython's PyMapping_Check: anything subscriptable except str.
        if (IS_OBJ(args) && !is_str(vm, args) &&
            (OBJ_TYPE(AS_OBJ(args))->getitem ||
             (OBJ_TYPE(AS_OBJ(args))->flags & TPF_DICT_SUBCLASS) ||
             !IS_NULL(type_lookup(vm, OBJ_TYPE(AS_OBJ(args)), vm->names.__getitem__))))
            mapping = args;
    }
    const char *s = fmt->data, *end = s + fmt->len;
    // Fast path: no directives at all.
    const char *pct = memchr(s, '%', fmt->len);
    if (!pct) {
        if (nitems == 1 && IS_NULL(mapping) &&
            !(IS_OBJ(args) && (OBJ_TYPE(AS_OBJ(args))->flags & TPF_TUPLE_SUBCLASS)))
            return vm_raise(vm, vm->exc_TypeError,
                            "not all arguments converted during string formatting");
        if (nitems > 0 && IS_NULL(mapping))
            return vm_raise(vm, vm->exc_TypeError,
                            "not all arguments converted during string formatting");
        return fmtv;
    }
    size_t argidx = 0;
    bool used_mapping = false;
    StrBuf b;
    strbuf_init(vm, &b);
    const char *p = s;
    while (p < end) {
        const char *q = memchr(p, '%', (size_t)(end - p));
        if (!q) {
            strbuf_append(&b, p, (size_t)(end - p));
            break;
        }
        strbuf_append(&b, p, (size_t)(q - p));
        p = q + 1;
        Value arg = VAL_NULL;
        bool have_key = false;
        if (p < end && *p == '(') {
            if (IS_NULL(mapping)) {
                vm_raise(vm, vm->exc_TypeError, "format requires a mapping");
                goto fail;
            }
            int depth = 1;
            const char *k = ++p;
            while (p < end && depth) {
                if (*p == '(')
                    depth++;
                else if (*p == ')')
                    depth--;
                p++;
            }
            if (depth) {
                vm_raise(vm, vm->exc_ValueError, "incomplete format key");
                goto fail;
            }
            StrObject *key = str_new(vm, k, (size_t)(p - 1 - k));
            if (!key) goto fail;
            arg = vm_getitem(vm, mapping, v_obj(key));
            if (IS_NULL(arg)) goto fail;
            have_key = true;
            used_mapping = true;
        }
        char flags[8];
        size_t nf = 0;
        while (p < end && strchr("-+ #0", *p) && *p) {
            if (nf < sizeof flags - 1) flags[nf++] = *p;
            p++;
        }
        flags[nf] = '\0';
        int64_t width = -1, prec = -1;
        bool left_from_star = false;
        if (p < end && *p == '*') {
            p++;
            if (argidx >= nitems) {
                vm_raise(vm, vm->exc_TypeError, "not enough arguments for format string");
                goto fail;
            }
            Value w = items[argidx++];
            if (!IS_INT(w)) {
                vm_raise(vm, vm->exc_TypeError, "* wants int");
                goto fail;
            }
            width = AS_INT(w);
            if (width < 0) {
                left_from_star = true;
                width = -width;
            }
        } else {
            while (p < end && *p >= '0' && *p <= '9') {
                if (width > (INT64_MAX - 9) / 10) {
                    vm_raise(vm, vm->exc_ValueError, "width too big");
                    goto fail;
                }
                width = (width < 0 ? 0 : width) * 10 + (*p++ - '0');
            }
            if (width > 0x7FFFFF00) {
                vm_raise_nomem(vm);
                goto fail;
            }
        }
        if (p < end && *p == '.') {
            p++;
            prec = 0;
            if (p < end && *p == '*') {
                p++;
                if (argidx >= nitems) {
                    vm_raise(vm, vm->exc_TypeError, "not enough arguments for format string");
                    goto fail;
                }
                Value pv = items[argidx++];
                if (!IS_INT(pv)) {
                    vm_raise(vm, vm->exc_TypeError, "* wants int");
                    goto fail;
                }
                prec = AS_INT(pv) < 0 ? 0 : AS_INT(pv);
            } else {
                while (p < end && *p >= '0' && *p <= '9') {
                    if (prec > (INT64_MAX - 9) / 10) {
                        vm_raise(vm, vm->exc_ValueError, "precision too big");
                        goto fail;
                    }
                    prec = prec * 10 + (*p++ - '0');
                }
                if (prec > 0x7FFFFF00) {
                    vm_raise_nomem(vm);
                    goto fail;
                }
            }
        }
        while (p < end && (*p == 'h' || *p == 'l' || *p == 'L')) p++;
        if (p >= end) {
            vm_raise(vm, vm->exc_ValueError, "incomplete format");
            goto fail;
        }
        char conv = *p++;
        if (conv == '%') {
            strbuf_append_char(&b, '%');
            continue;
        }
        if (!strchr("sradiuxXoeEfFgGc", conv)) {
            size_t idx = count_utf8_cp(s, (size_t)(p - 1 - s));
            uint32_t cp;
            utf8_decode(p - 1, &cp);
            if (cp >= 32 && cp < 127)
                vm_raise(vm, vm->exc_ValueError,
                         "unsupported format character '%c' (0x%x) at index %zu", (int)cp,
                         (unsigned)cp, idx);
            else
                vm_raise(vm, vm->exc_ValueError,
                         "unsupported format character '\\x%x' (0x%x) at index %zu", (unsigned)cp,
                         (unsigned)cp, idx);
            goto fail;
        }
        if (!have_key) {
            if (argidx >= nitems) {
                vm_raise(vm, vm->exc_TypeError, "not enough arguments for format string");
                goto fail;
            }
            arg = items[argidx++];
        }
        if (left_from_star && nf < sizeof flags - 1) {
            flags[nf++] = '-';
            flags[nf] = '\0';
        }
        if (have_key && vm_push_root(vm, arg) < 0) goto fail;
        int rc = mod_convert(vm, &b, conv, arg, flags, width, prec);
        if (have_key) vm_pop_roots(vm, 1);
        if (rc < 0) goto fail;
    }
    if (argidx < nitems && IS_NULL(mapping) && !used_mapping) {
        vm_raise(vm, vm->exc_TypeError, "not all arguments converted during string formatting");
        goto fail;
    }
    StrObject *r = strbuf_finish(&b);
    return r ? v_obj(r) : VAL_NULL;
fail:
    strbuf_discard(&b);
    return VAL_NULL;
}
