// mod_time.c - the time module: clocks, sleep, and calendar conversions.
//
// struct_time is a script-visible tuple subclass created at import with
// read-only tm_* properties, like CPython's struct sequence.
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "vm.h"

static const char *const field_names[] = {"tm_year", "tm_mon",  "tm_mday", "tm_hour", "tm_min",
                                          "tm_sec",  "tm_wday", "tm_yday", "tm_isdst"};
#define NFIELDS 9

static int64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double clock_sec(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define CLOCK_FN(fname, id, ns)                                                                    \
    static Value t_##fname(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {             \
        if (args_count(vm, #fname, nargs, 0, 0) < 0) return VAL_NULL;                              \
        return ns ? v_int(clock_ns(id)) : v_float(clock_sec(id));                                  \
    }
CLOCK_FN(time, CLOCK_REALTIME, 0)
CLOCK_FN(time_ns, CLOCK_REALTIME, 1)
CLOCK_FN(monotonic, CLOCK_MONOTONIC, 0)
CLOCK_FN(monotonic_ns, CLOCK_MONOTONIC, 1)
CLOCK_FN(perf_counter, CLOCK_MONOTONIC, 0)
CLOCK_FN(perf_counter_ns, CLOCK_MONOTONIC, 1)
CLOCK_FN(process_time, CLOCK_PROCESS_CPUTIME_ID, 0)
CLOCK_FN(process_time_ns, CLOCK_PROCESS_CPUTIME_ID, 1)
CLOCK_FN(thread_time, CLOCK_THREAD_CPUTIME_ID, 0)
CLOCK_FN(thread_time_ns, CLOCK_THREAD_CPUTIME_ID, 1)

// A number of seconds (int or float) as a double.
static int seconds_arg(EddyVM *vm, Value v, double *out) {
    if (IS_FLOAT(v)) {
        *out = AS_FLOAT(v);
        if (isnan(*out)) {
            vm_raise(vm, vm->exc_ValueError, "Invalid value NaN (not a number)");
            return -1;
        }
        return 0;
    }
    if (is_int(vm, v)) {
        bool overflow = false;
        *out = int_to_double(vm, v, &overflow);
        if (overflow) {
            vm_raise(vm, vm->exc_OverflowError, "timestamp too large to convert to C _PyTime_t");
            return -1;
        }
        return 0;
    }
    Value f;
    if (vm_getattr_opt(vm, v_obj(vm_type_of(vm, v)), vm->names.__float__, &f) > 0) {
        return float_from_value(vm, v, out);
    }
    vm_raise(vm, vm->exc_TypeError, "'%T' object cannot be interpreted as an integer", v);
    return -1;
}

static Value t_sleep(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_no_kw(vm, "sleep", kwnames) < 0 || args_count(vm, "sleep", nargs, 1, 1) < 0)
        return VAL_NULL;
    double secs;
    if (seconds_arg(vm, args[0], &secs) < 0) return VAL_NULL;
    if (secs < 0) return vm_raise(vm, vm->exc_ValueError, "sleep length must be non-negative");
    if (secs > 9.2e9)
        return vm_raise(vm, vm->exc_OverflowError, "timestamp out of range for platform time_t");
    // Sleep until an absolute monotonic deadline so signals do not extend it.
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    double whole = floor(secs);
    deadline.tv_sec += (time_t)whole;
    deadline.tv_nsec += (long)((secs - whole) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    for (;;) {
        int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
        if (r == 0) break;
        if (r != EINTR) return io_raise_oserror(vm, r, NULL);
        if (vm->interrupt) {
            vm->interrupt = 0;
            return vm_raise_value(vm, v_obj(vm->exc_KeyboardInterrupt));
        }
    }
    return VAL_NONE;
}

static int clock_arg(EddyVM *vm, const char *fname, Value *args, int nargs, clockid_t *id) {
    if (args_count(vm, fname, nargs, 1, 1) < 0) return -1;
    int64_t c;
    if (vm_index_i64(vm, args[0], &c) < 0) return -1;
    *id = (clockid_t)c;
    return 0;
}

static Value t_clock_gettime(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    clockid_t id;
    if (clock_arg(vm, "clock_gettime", args, nargs, &id) < 0) return VAL_NULL;
    struct timespec ts;
    if (clock_gettime(id, &ts) < 0) return io_raise_oserror(vm, errno, NULL);
    return v_float((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
}

static Value t_clock_gettime_ns(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    clockid_t id;
    if (clock_arg(vm, "clock_gettime_ns", args, nargs, &id) < 0) return VAL_NULL;
    struct timespec ts;
    if (clock_gettime(id, &ts) < 0) return io_raise_oserror(vm, errno, NULL);
    return v_int((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

// ---------------------------------------------------------------------------
// struct_time

static Value struct_time_type(EddyVM *vm) {
    StrObject *name = str_intern_cstr(vm, "time");
    if (!name) return VAL_NULL;
    Value mod = dict_get_str(vm->modules, name);
    if (IS_NULL(mod) || !IS_OBJ(mod) || OBJ_TYPE(AS_OBJ(mod)) != vm->t_module) return VAL_NONE;
    StrObject *key = str_intern_cstr(vm, "struct_time");
    if (!key) return VAL_NULL;
    Value t = dict_get_str(((ModuleObject *)AS_OBJ(mod))->dict, key);
    return IS_NULL(t) ? VAL_NONE : t;
}

static Value tm_to_value(EddyVM *vm, const struct tm *tm) {
    Value items[NFIELDS] = {
        v_int(tm->tm_year + 1900),    v_int(tm->tm_mon + 1),  v_int(tm->tm_mday),
        v_int(tm->tm_hour),           v_int(tm->tm_min),      v_int(tm->tm_sec),
        v_int((tm->tm_wday + 6) % 7), v_int(tm->tm_yday + 1), v_int(tm->tm_isdst),
    };
    TupleObject *t = tuple_from(vm, items, NFIELDS);
    if (!t) return VAL_NULL;
    Value type = struct_time_type(vm);
    if (IS_NULL(type)) return VAL_NULL;
    if (IS_NONE(type)) return v_obj(t);
    Value r = vm_call1(vm, type, v_obj(t));
    if (IS_NULL(r)) {
        // A tuple subclass the runtime cannot build still has the values.
        vm_err_clear(vm);
        return v_obj(t);
    }
    return r;
}

// A struct_time / 9-tuple argument into a struct tm.
static int value_to_tm(EddyVM *vm, const char *fname, Value v, struct tm *tm) {
    if (!IS_OBJ(v) || !type_is_subtype(OBJ_TYPE(AS_OBJ(v)), vm->t_tuple)) {
        vm_raise(vm, vm->exc_TypeError, "Tuple or struct_time argument required");
        return -1;
    }
    TupleObject *t = AS_TUPLE(v);
    if (t->len != NFIELDS) {
        vm_raise(vm, vm->exc_TypeError, "%s(): illegal time tuple argument", fname);
        return -1;
    }
    int64_t f[NFIELDS];
    for (int i = 0; i < NFIELDS; i++) {
        if (!is_int(vm, t->items[i])) {
            vm_raise(vm, vm->exc_TypeError, "'%T' object cannot be interpreted as an integer",
                     t->items[i]);
            return -1;
        }
        if (int_to_i64(vm, t->items[i], &f[i]) < 0) return -1;
        if (f[i] < INT32_MIN || f[i] > INT32_MAX) {
            vm_raise(vm, vm->exc_OverflowError, "Python int too large to convert to C int");
            return -1;
        }
    }
    memset(tm, 0, sizeof *tm);
    tm->tm_year = (int)(f[0] - 1900);
    tm->tm_mon = (int)f[1] - 1;
    tm->tm_mday = (int)f[2];
    tm->tm_hour = (int)f[3];
    tm->tm_min = (int)f[4];
    tm->tm_sec = (int)f[5];
    tm->tm_wday = (int)((f[6] + 1) % 7);
    tm->tm_yday = (int)f[7] - 1;
    tm->tm_isdst = (int)f[8];
    return 0;
}

// CPython's checktm(): asctime() and strftime() reject out-of-range fields.
static int check_tm(EddyVM *vm, const struct tm *tm) {
    const char *what = NULL;
    if (tm->tm_mon < 0 || tm->tm_mon > 11)
        what = "month out of range";
    else if (tm->tm_mday < 1 || tm->tm_mday > 31)
        what = "day of month out of range";
    else if (tm->tm_hour < 0 || tm->tm_hour > 23)
        what = "hour out of range";
    else if (tm->tm_min < 0 || tm->tm_min > 59)
        what = "minute out of range";
    else if (tm->tm_sec < 0 || tm->tm_sec > 61)
        what = "seconds out of range";
    else if (tm->tm_wday < 0)
        what = "day of week out of range";
    else if (tm->tm_yday < 0 || tm->tm_yday > 365)
        what = "day of year out of range";
    if (!what) return 0;
    vm_raise(vm, vm->exc_ValueError, "%s", what);
    return -1;
}

// secs argument (None/missing = now) into time_t.
static int time_arg(EddyVM *vm, Value v, time_t *out) {
    if (IS_NULL(v) || IS_NONE(v)) {
        *out = time(NULL);
        return 0;
    }
    double d;
    if (seconds_arg(vm, v, &d) < 0) return -1;
    if (!(d > -9.2e18 && d < 9.2e18)) {
        vm_raise(vm, vm->exc_OverflowError, "timestamp out of range for platform time_t");
        return -1;
    }
    *out = (time_t)floor(d);
    return 0;
}

static Value convert_time(EddyVM *vm, const char *fname, Value *args, int nargs,
                          TupleObject *kwnames, bool local) {
    if (args_no_kw(vm, fname, kwnames) < 0 || args_count(vm, fname, nargs, 0, 1) < 0)
        return VAL_NULL;
    time_t t;
    if (time_arg(vm, nargs ? args[0] : VAL_NULL, &t) < 0) return VAL_NULL;
    struct tm tm;
    if (!(local ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)))
        return vm_raise(vm, vm->exc_OverflowError, "timestamp out of range for platform time_t");
    return tm_to_value(vm, &tm);
}

static Value t_localtime(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return convert_time(vm, "localtime", args, nargs, kwnames, true);
}

static Value t_gmtime(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return convert_time(vm, "gmtime", args, nargs, kwnames, false);
}

static Value t_mktime(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "mktime", nargs, 1, 1) < 0) return VAL_NULL;
    struct tm tm;
    if (value_to_tm(vm, "mktime", args[0], &tm) < 0) return VAL_NULL;
    time_t t = mktime(&tm);
    if (t == (time_t)-1 && tm.tm_wday == -1)
        return vm_raise(vm, vm->exc_OverflowError, "mktime argument out of range");
    return v_float((double)t);
}

static const char *const day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const mon_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static Value format_asctime(EddyVM *vm, const struct tm *tm) {
    int wday = ((tm->tm_wday % 7) + 7) % 7, mon = ((tm->tm_mon % 12) + 12) % 12;
    char buf[96];
    snprintf(buf, sizeof buf, "%s %s%3d %.2d:%.2d:%.2d %d", day_names[wday], mon_names[mon],
             tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec, 1900 + tm->tm_year);
    StrObject *s = str_from_cstr(vm, buf);
    return s ? v_obj(s) : VAL_NULL;
}

static Value t_ctime(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "ctime", nargs, 0, 1) < 0) return VAL_NULL;
    time_t t;
    if (time_arg(vm, nargs ? args[0] : VAL_NULL, &t) < 0) return VAL_NULL;
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return vm_raise(vm, vm->exc_OverflowError, "timestamp out of range for platform time_t");
    return format_asctime(vm, &tm);
}

static Value t_asctime(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "asctime", nargs, 0, 1) < 0) return VAL_NULL;
    struct tm tm;
    if (nargs == 0) {
        time_t t = time(NULL);
        localtime_r(&t, &tm);
    } else if (value_to_tm(vm, "asctime", args[0], &tm) < 0 || check_tm(vm, &tm) < 0) {
        return VAL_NULL;
    }
    return format_asctime(vm, &tm);
}

static Value t_strftime(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "strftime", nargs, 1, 2) < 0) return VAL_NULL;
    if (!is_str(vm, args[0]))
        return vm_raise(vm, vm->exc_TypeError, "strftime() argument 1 must be str, not %T",
                        args[0]);
    struct tm tm;
    if (nargs == 2) {
        if (value_to_tm(vm, "strftime", args[1], &tm) < 0) return VAL_NULL;
        // strftime() accepts 0 for month, day and day of year (CPython).
        if (tm.tm_mon == -1) tm.tm_mon = 0;
        if (tm.tm_mday == 0) tm.tm_mday = 1;
        if (tm.tm_yday == -1) tm.tm_yday = 0;
        if (check_tm(vm, &tm) < 0) return VAL_NULL;
    } else {
        time_t t = time(NULL);
        localtime_r(&t, &tm);
    }
    StrObject *fmt = AS_STR(args[0]);
    if (fmt->len == 0) return v_obj(vm->names.empty);
    // strftime returns 0 both for "too small" and for an empty result; grow
    // a few times, then accept the empty result.
    size_t cap = 256;
    for (int attempt = 0; attempt < 8; attempt++, cap *= 4) {
        char *buf = mem_alloc(vm, cap);
        if (!buf) return VAL_NULL;
        size_t n = strftime(buf, cap, fmt->data, &tm);
        if (n > 0 || cap > fmt->len * 64) {
            StrObject *s = str_decode_utf8(vm, buf, n);
            mem_free(vm, buf, cap);
            return s ? v_obj(s) : VAL_NULL;
        }
        mem_free(vm, buf, cap);
    }
    return v_obj(vm->names.empty);
}

// struct_time field getters: self[i]
#define FIELD_GETTER(i)                                                                            \
    static Value tm_get_##i(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {            \
        if (nargs < 1 || !IS_OBJ(args[0]) ||                                                       \
            !type_is_subtype(OBJ_TYPE(AS_OBJ(args[0])), vm->t_tuple) ||                            \
            AS_TUPLE(args[0])->len <= (i))                                                         \
            return vm_raise(vm, vm->exc_TypeError, "descriptor requires a 'time.struct_time'");    \
        return AS_TUPLE(args[0])->items[i];                                                        \
    }
FIELD_GETTER(0)
FIELD_GETTER(1)
FIELD_GETTER(2)
FIELD_GETTER(3)
FIELD_GETTER(4)
FIELD_GETTER(5)
FIELD_GETTER(6)
FIELD_GETTER(7)
FIELD_GETTER(8)

static Value struct_time_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (nargs < 1 || !IS_OBJ(args[0]) || !type_is_subtype(OBJ_TYPE(AS_OBJ(args[0])), vm->t_tuple))
        return vm_raise(vm, vm->exc_TypeError, "descriptor '__repr__' requires a tuple");
    TupleObject *t = AS_TUPLE(args[0]);
    StrBuf b;
    strbuf_init(vm, &b);
    strbuf_append_cstr(&b, "time.struct_time(");
    for (size_t i = 0; i < t->len && i < NFIELDS; i++) {
        Value r = vm_repr(vm, t->items[i]);
        if (IS_NULL(r)) {
            strbuf_discard(&b);
            return VAL_NULL;
        }
        if (i) strbuf_append_cstr(&b, ", ");
        strbuf_append_cstr(&b, field_names[i]);
        strbuf_append_char(&b, '=');
        strbuf_append_str(&b, AS_STR(r));
    }
    strbuf_append_char(&b, ')');
    StrObject *s = strbuf_finish(&b);
    return s ? v_obj(s) : VAL_NULL;
}

// class struct_time(tuple) with tm_* properties and a CPython-style repr.
static int make_struct_time(EddyVM *vm, ModuleObject *m) {
    static const NativeFn getters[NFIELDS] = {tm_get_0, tm_get_1, tm_get_2, tm_get_3, tm_get_4,
                                              tm_get_5, tm_get_6, tm_get_7, tm_get_8};
    DictObject *ns = dict_new(vm);
    if (!ns) return -1;
    if (vm_push_root(vm, v_obj(ns)) < 0) return -1;
    int rc = -1;
    for (int i = 0; i < NFIELDS; i++) {
        NativeFunctionObject *g = native_new(vm, field_names[i], getters[i], VAL_NULL, 0);
        if (!g) goto done;
        Value prop = vm_call1(vm, v_obj(vm->t_property), v_obj(g));
        if (IS_NULL(prop)) goto done;
        StrObject *key = str_intern_cstr(vm, field_names[i]);
        if (!key || dict_set_str(vm, ns, key, prop) < 0) goto done;
    }
    NativeFunctionObject *r = native_new(vm, "__repr__", struct_time_repr, VAL_NULL, NATIVE_METHOD);
    if (!r || dict_set_str(vm, ns, vm->names.__repr__, v_obj(r)) < 0) goto done;
    StrObject *modname = str_intern_cstr(vm, "time");
    if (!modname || dict_set_str(vm, ns, vm->names.__module__, v_obj(modname)) < 0) goto done;
    Value base = v_obj(vm->t_tuple);
    TupleObject *bases = tuple_from(vm, &base, 1);
    StrObject *name = str_intern_cstr(vm, "struct_time");
    if (!bases || !name) goto done;
    TypeObject *t = type_new_class(vm, vm->t_type, name, bases, ns);
    if (!t) goto done;
    rc = module_add_value(vm, m, "struct_time", v_obj(t));
done:
    vm_pop_roots(vm, 1);
    return rc;
}

int time_init(EddyVM *vm, ModuleObject *m) {
    static const struct {
        const char *name;
        NativeFn fn;
    } fns[] = {
        {"time", t_time},
        {"time_ns", t_time_ns},
        {"monotonic", t_monotonic},
        {"monotonic_ns", t_monotonic_ns},
        {"perf_counter", t_perf_counter},
        {"perf_counter_ns", t_perf_counter_ns},
        {"process_time", t_process_time},
        {"process_time_ns", t_process_time_ns},
        {"thread_time", t_thread_time},
        {"thread_time_ns", t_thread_time_ns},
        {"sleep", t_sleep},
        {"localtime", t_localtime},
        {"gmtime", t_gmtime},
        {"mktime", t_mktime},
        {"ctime", t_ctime},
        {"asctime", t_asctime},
        {"strftime", t_strftime},
        {"clock_gettime", t_clock_gettime},
        {"clock_gettime_ns", t_clock_gettime_ns},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (module_add_function(vm, m, fns[i].name, fns[i].fn) < 0) return -1;
    }
    if (make_struct_time(vm, m) < 0) {
        // Without class support the conversions still return plain tuples.
        vm_err_clear(vm);
    }
    static const struct {
        const char *name;
        int id;
    } clocks[] = {
        {"CLOCK_REALTIME", CLOCK_REALTIME},
        {"CLOCK_MONOTONIC", CLOCK_MONOTONIC},
        {"CLOCK_PROCESS_CPUTIME_ID", CLOCK_PROCESS_CPUTIME_ID},
        {"CLOCK_THREAD_CPUTIME_ID", CLOCK_THREAD_CPUTIME_ID},
#ifdef CLOCK_MONOTONIC_RAW
        {"CLOCK_MONOTONIC_RAW", CLOCK_MONOTONIC_RAW},
#endif
#ifdef CLOCK_BOOTTIME
        {"CLOCK_BOOTTIME", CLOCK_BOOTTIME},
#endif
#ifdef CLOCK_TAI
        {"CLOCK_TAI", CLOCK_TAI},
#endif
    };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        if (module_add_value(vm, m, clocks[i].name, v_int(clocks[i].id)) < 0) return -1;
    }
    tzset();
    if (module_add_value(vm, m, "timezone", v_int((int64_t)timezone)) < 0) return -1;
    if (module_add_value(vm, m, "altzone", v_int((int64_t)timezone - 3600)) < 0) return -1;
    if (module_add_value(vm, m, "daylight", v_int(daylight)) < 0) return -1;
    StrObject *tz0 = str_decode_utf8(vm, tzname[0], strlen(tzname[0]));
    StrObject *tz1 = str_decode_utf8(vm, tzname[1], strlen(tzname[1]));
    if (!tz0 || !tz1) return -1;
    Value tzv[2] = {v_obj(tz0), v_obj(tz1)};
    TupleObject *tzt = tuple_from(vm, tzv, 2);
    if (!tzt || module_add_value(vm, m, "tzname", v_obj(tzt)) < 0) return -1;
    return 0;
}
