// args.c - argument checking for native functions, with CPython's messages.
//
// Natives receive (args, nargs, kwnames) as in obj.h's NativeFn. Most take
// only positional arguments and check their count with args_count(); those
// with keyword parameters bind them with args_parse(), which follows
// Argument Clinic's wording so error messages match python3.
#include <string.h>

#include "vm.h"

static const char *plural(int n) { return n == 1 ? "" : "s"; }

int args_no_kw(EddyVM *vm, const char *fname, TupleObject *kwnames) {
    if (EDDY_LIKELY(kwnames == NULL || kwnames->len == 0)) return 0;
    vm_raise(vm, vm->exc_TypeError, "%s() takes no keyword arguments", fname);
    return -1;
}

// Two CPython styles: METH_O / METH_NOARGS functions say "len() takes exactly
// one argument (2 given)"; PyArg_UnpackTuple users say "getattr expected at
// least 2 arguments, got 1".
int args_count(EddyVM *vm, const char *fname, int nargs, int min, int max) {
    if (EDDY_LIKELY(nargs >= min && nargs <= max)) return 0;
    if (min == 1 && max == 1) {
        vm_raise(vm, vm->exc_TypeError, "%s() takes exactly one argument (%d given)", fname, nargs);
    } else if (min == 0 && max == 0) {
        vm_raise(vm, vm->exc_TypeError, "%s() takes no arguments (%d given)", fname, nargs);
    } else if (min == max) {
        vm_raise(vm, vm->exc_TypeError, "%s expected %d argument%s, got %d", fname, min,
                 plural(min), nargs);
    } else if (nargs < min) {
        vm_raise(vm, vm->exc_TypeError, "%s expected at least %d argument%s, got %d", fname, min,
                 plural(min), nargs);
    } else {
        vm_raise(vm, vm->exc_TypeError, "%s expected at most %d argument%s, got %d", fname, max,
                 plural(max), nargs);
    }
    return -1;
}

static int find_kw(TupleObject *kwnames, const char *name) {
    size_t n = strlen(name);
    for (size_t k = 0; k < kwnames->len; k++) {
        StrObject *kw = AS_STR(kwnames->items[k]);
        if (kw->len == n && memcmp(kw->data, name, n) == 0) return (int)k;
    }
    return -1;
}

// Bind positional and keyword arguments to the parameter list `names`.
// As in Argument Clinic, an empty name ("") marks a positional-only
// parameter (they come first); parameters at index >= npos_max are
// keyword-only; the first `nrequired` must be given. The checks and their
// order follow CPython 3.11's _PyArg_UnpackKeywords, so the first error
// reported is the same one python3 reports.
int args_parse(EddyVM *vm, const char *fname, Value *args, int nargs, TupleObject *kwnames,
               const char *const *names, int nnames, int npos_max, int nrequired, Value *out) {
    int nkw = kwnames ? (int)kwnames->len : 0;
    int posonly = 0;
    while (posonly < nnames && names[posonly][0] == '\0') posonly++;
    int minpos = nrequired < npos_max ? nrequired : npos_max;
    for (int i = 0; i < nnames; i++) out[i] = VAL_NULL;
    if (nargs + nkw > nnames) {
        vm_raise(vm, vm->exc_TypeError, "%s() takes at most %d %sargument%s (%d given)", fname,
                 nnames, nargs == 0 ? "keyword " : "", plural(nnames), nargs + nkw);
        return -1;
    }
    if (nargs > npos_max) {
        if (npos_max == 0) {
            vm_raise(vm, vm->exc_TypeError, "%s() takes no positional arguments", fname);
        } else {
            vm_raise(vm, vm->exc_TypeError, "%s() takes %s %d positional argument%s (%d given)",
                     fname, minpos < npos_max ? "at most" : "exactly", npos_max, plural(npos_max),
                     nargs);
        }
        return -1;
    }
    int minposonly = posonly < minpos ? posonly : minpos;
    if (nargs < minposonly) {
        vm_raise(vm, vm->exc_TypeError, "%s() takes %s %d positional argument%s (%d given)", fname,
                 minposonly < npos_max ? "at least" : "exactly", minposonly, plural(minposonly),
                 nargs);
        return -1;
    }
    for (int i = 0; i < nargs; i++) out[i] = args[i];
    int left = nkw;
    for (int i = nargs > posonly ? nargs : posonly; i < nnames; i++) {
        int k = left > 0 ? find_kw(kwnames, names[i]) : -1;
        if (k >= 0) {
            out[i] = args[nargs + k];
            left--;
        } else if (i < nrequired) {
            vm_raise(vm, vm->exc_TypeError, "%s() missing required argument '%s' (pos %d)", fname,
                     names[i], i + 1);
            return -1;
        } else if (left == 0) {
            break;
        }
    }
    if (left > 0) {
        for (int i = posonly; i < nargs; i++) {
            if (find_kw(kwnames, names[i]) >= 0) {
                vm_raise(vm, vm->exc_TypeError,
                         "argument for %s() given by name ('%s') and position (%d)", fname,
                         names[i], i + 1);
                return -1;
            }
        }
        for (int k = 0; k < nkw; k++) {
            StrObject *kw = AS_STR(kwnames->items[k]);
            bool known = false;
            for (int i = posonly; i < nnames && !known; i++)
                known = kw->len == strlen(names[i]) && memcmp(kw->data, names[i], kw->len) == 0;
            if (!known) {
                vm_raise(vm, vm->exc_TypeError, "'%U' is an invalid keyword argument for %s()", kw,
                         fname);
                return -1;
            }
        }
    }
    return 0;
}
