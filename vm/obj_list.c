// obj_list.c - list, list_iterator, list_reverseiterator, and list.sort.
//
// A list owns a separately allocated items array (cap slots, len used) that
// grows by about 1.5x. The sort is a stable bottom-up merge sort with
// insertion-sorted runs; while it runs the list is emptied (CPython's trick)
// so that a key function or __lt__ that mutates the list is detected and
// reported as "list modified during sort" instead of corrupting memory.
#include <string.h>

#include "vm.h"

// Set in Obj.obj_flags while the list's repr is being built ("[...]").
#define LIST_REPR_RUNNING 0x8000u

// ListIterObject is in vm.h (the interpreter steps it inline).

static bool is_list(Value v) {
    return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_LIST_SUBCLASS);
}
static bool is_tuple(Value v) {
    return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_TUPLE_SUBCLASS);
}

// True when v's class is a script class defining `name` (it may answer a reflected operator).
static bool heap_type_has(EddyVM *vm, Value v, StrObject *name) {
    TypeObject *t = vm_type_of(vm, v);
    return (t->flags & TPF_HEAPTYPE) && !IS_NULL(type_lookup(vm, t, name));
}

static bool has_index(EddyVM *vm, Value v) {
    return is_int(vm, v) || !IS_NULL(type_lookup(vm, vm_type_of(vm, v), vm->names.__index__));
}

// ---------------------------------------------------------------------------
// Storage

// Make room for at least `need` items.
static int reserve(EddyVM *vm, ListObject *l, size_t need) {
    if (need <= l->cap) return 0;
    if (need > (SIZE_MAX / sizeof(Value)) / 4) {
        vm_raise_nomem(vm);
        return -1;
    }
    size_t cap = l->cap + (l->cap >> 1) + 4;
    if (cap < need) cap = need;
    Value *items = mem_realloc(vm, l->items, l->cap * sizeof(Value), cap * sizeof(Value));
    if (!items) return -1;
    l->items = items;
    l->cap = cap;
    return 0;
}

// Give back memory after a big shrink (keeps amortised O(1) pops).
static void shrink(EddyVM *vm, ListObject *l) {
    if (l->cap > 16 && l->len < l->cap / 4) {
        size_t cap = l->len + (l->len >> 1) + 4;
        Value *items = mem_realloc(vm, l->items, l->cap * sizeof(Value), cap * sizeof(Value));
        if (!items) {
            vm_err_clear(vm); // keeping the larger block is fine
            return;
        }
        l->items = items;
        l->cap = cap;
    }
}

static ListObject *list_alloc(EddyVM *vm, TypeObject *t, size_t cap) {
    size_t size = t->instance_size > sizeof(ListObject) ? t->instance_size : sizeof(ListObject);
    ListObject *l = (ListObject *)obj_alloc(vm, t, size);
    if (!l) return NULL;
    if (cap > 0 && reserve(vm, l, cap) < 0) return NULL;
    return l;
}

ListObject *list_new(EddyVM *vm, size_t cap) { return list_alloc(vm, vm->t_list, cap); }

ListObject *list_from(EddyVM *vm, const Value *items, size_t len) {
    ListObject *l = list_alloc(vm, vm->t_list, len);
    if (!l) return NULL;
    if (len) memcpy(l->items, items, len * sizeof(Value));
    l->len = len;
    return l;
}

int list_append(EddyVM *vm, ListObject *l, Value v) {
    if (EDDY_UNLIKELY(l->len == l->cap) && reserve(vm, l, l->len + 1) < 0) return -1;
    l->items[l->len++] = v;
    return 0;
}

int list_extend(EddyVM *vm, ListObject *l, Value iterable) {
    if (is_exact(iterable, vm->t_list) || is_exact(iterable, vm->t_tuple)) {
        const Value *src;
        size_t n;
        if (is_exact(iterable, vm->t_list)) {
            src = AS_LIST(iterable)->items;
            n = AS_LIST(iterable)->len;
        } else {
            src = AS_TUPLE(iterable)->items;
            n = AS_TUPLE(iterable)->len;
        }
        // reserve() may move l->items; when extending by itself re-read after it.
        if (reserve(vm, l, l->len + n) < 0) return -1;
        if (AS_OBJ(iterable) == (Obj *)l) src = l->items;
        if (n == 0) return 0; // items may be NULL: memmove must not see it
        memmove(l->items + l->len, src, n * sizeof(Value));
        l->len += n;
        return 0;
    }
    Value it = vm_iter(vm, iterable);
    if (IS_NULL(it)) return -1;
    if (vm_push_root(vm, it) < 0) return -1;
    int status = 0;
    for (;;) {
        Value item;
        int r = vm_next(vm, it, &item);
        if (r == 0) break;
        if (r < 0 || list_append(vm, l, item) < 0) {
            status = -1;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return status;
}

// ---------------------------------------------------------------------------
// GC

static void list_trace(EddyVM *vm, Obj *o) {
    ListObject *l = (ListObject *)o;
    for (size_t i = 0; i < l->len; i++) gc_mark_value(vm, l->items[i]);
}

static void list_finalize(EddyVM *vm, Obj *o) {
    ListObject *l = (ListObject *)o;
    if (l->items) mem_free(vm, l->items, l->cap * sizeof(Value));
    l->items = NULL;
    l->cap = l->len = 0;
}

static void list_iter_trace(EddyVM *vm, Obj *o) {
    gc_mark_obj(vm, (Obj *)((ListIterObject *)o)->list);
}

// ---------------------------------------------------------------------------
// new / init / repr / compare

static Value list_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs,
                           TupleObject *kwnames) {
    ListObject *l = list_alloc(vm, t, 0);
    return l ? v_obj(l) : VAL_NULL;
}

static void clear_items(EddyVM *vm, ListObject *l) {
    if (l->items) mem_free(vm, l->items, l->cap * sizeof(Value));
    l->items = NULL;
    l->len = l->cap = 0;
}

static Value m_init(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (is_exact(args[0], vm->t_list) && args_no_kw(vm, "list", kw) < 0) return VAL_NULL;
    if (args_count(vm, "list", nargs - 1, 0, 1) < 0) return VAL_NULL;
    ListObject *l = AS_LIST(args[0]);
    clear_items(vm, l);
    if (nargs > 1 && list_extend(vm, l, args[1]) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value list_repr(EddyVM *vm, Value self) {
    ListObject *l = AS_LIST(self);
    if (l->len == 0) return v_obj(str_from_cstr(vm, "[]"));
    if (l->hdr.obj_flags & LIST_REPR_RUNNING) return v_obj(str_from_cstr(vm, "[...]"));
    if (vm->c_depth >= vm->recursion_limit) {
        return vm_raise(vm, vm->exc_RecursionError,
                        "maximum recursion depth exceeded while getting the repr of an object");
    }
    StrBuf b;
    strbuf_init(vm, &b);
    vm->c_depth++;
    l->hdr.obj_flags |= LIST_REPR_RUNNING;
    strbuf_append_char(&b, '[');
    // Re-read len each round: an item's __repr__ may mutate the list.
    for (size_t i = 0; i < l->len; i++) {
        if (i > 0) strbuf_append(&b, ", ", 2);
        Value r = vm_repr(vm, l->items[i]);
        if (IS_NULL(r)) goto fail;
        strbuf_append_str(&b, AS_STR(r));
    }
    strbuf_append_char(&b, ']');
    l->hdr.obj_flags &= ~LIST_REPR_RUNNING;
    vm->c_depth--;
    StrObject *s = strbuf_finish(&b);
    return s ? v_obj(s) : VAL_NULL;
fail:
    l->hdr.obj_flags &= ~LIST_REPR_RUNNING;
    vm->c_depth--;
    strbuf_discard(&b);
    return VAL_NULL;
}

static Value list_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_list(a) || !is_list(b)) return vm->not_implemented;
    ListObject *x = AS_LIST(a), *y = AS_LIST(b);
    if (x->len != y->len && (op == CMP_EQ || op == CMP_NE)) return v_bool(op == CMP_NE);
    if (vm->c_depth >= vm->recursion_limit)
        return vm_raise(vm, vm->exc_RecursionError,
                        "maximum recursion depth exceeded in comparison");
    vm->c_depth++;
    size_t i = 0;
    // Lengths are re-read each round: __eq__ may mutate either list.
    for (; i < x->len && i < y->len; i++) {
        Value xi = x->items[i], yi = y->items[i];
        if (IS_INT(xi) && IS_INT(yi)) {
            if (AS_INT(xi) == AS_INT(yi)) continue;
            break;
        }
        int eq = vm_eq(vm, xi, yi);
        if (eq < 0) {
            vm->c_depth--;
            return VAL_NULL;
        }
        if (!eq) break;
    }
    Value r;
    if (i >= x->len || i >= y->len) {
        size_t lx = x->len, ly = y->len;
        bool res = false;
        switch (op) {
        case CMP_LT: res = lx < ly; break;
        case CMP_LE: res = lx <= ly; break;
        case CMP_EQ: res = lx == ly; break;
        case CMP_NE: res = lx != ly; break;
        case CMP_GT: res = lx > ly; break;
        case CMP_GE: res = lx >= ly; break;
        }
        r = v_bool(res);
    } else if (op == CMP_EQ) {
        r = VAL_FALSE;
    } else if (op == CMP_NE) {
        r = VAL_TRUE;
    } else {
        r = vm_compare(vm, x->items[i], y->items[i], op);
    }
    vm->c_depth--;
    return r;
}

// ---------------------------------------------------------------------------
// Items and slices

static int64_t list_len(EddyVM *vm, Value self) { return (int64_t)AS_LIST(self)->len; }

// Resolve an int-like key to an index; -1 + exception when not an index.
static int key_index(EddyVM *vm, Value key, int64_t *out) {
    if (IS_INT(key)) {
        *out = AS_INT(key);
        return 0;
    }
    if (!has_index(vm, key)) {
        vm_raise(vm, vm->exc_TypeError, "list indices must be integers or slices, not %T", key);
        return -1;
    }
    return vm_index_i64(vm, key, out);
}

static Value list_getitem(EddyVM *vm, Value self, Value key) {
    ListObject *l = AS_LIST(self);
    if (EDDY_LIKELY(IS_INT(key))) {
        int64_t i = AS_INT(key);
        if (i < 0) i += (int64_t)l->len;
        if (EDDY_UNLIKELY((uint64_t)i >= l->len))
            return vm_raise(vm, vm->exc_IndexError, "list index out of range");
        return l->items[i];
    }
    if (is_exact(key, vm->t_slice)) {
        int64_t start, stop, step, n;
        if (slice_indices(vm, key, (int64_t)l->len, &start, &stop, &step, &n) < 0) return VAL_NULL;
        ListObject *r = list_new(vm, (size_t)n);
        if (!r) return VAL_NULL;
        if (step == 1) {
            if (n) memcpy(r->items, l->items + start, (size_t)n * sizeof(Value));
        } else {
            for (int64_t k = 0, j = start; k < n; k++, j += step) r->items[k] = l->items[j];
        }
        r->len = (size_t)n;
        return v_obj(r);
    }
    int64_t i;
    if (key_index(vm, key, &i) < 0) return VAL_NULL;
    if (i < 0) i += (int64_t)l->len;
    if (i < 0 || i >= (int64_t)l->len)
        return vm_raise(vm, vm->exc_IndexError, "list index out of range");
    return l->items[i];
}

// Delete items [lo, hi).
static void delete_range(EddyVM *vm, ListObject *l, size_t lo, size_t hi) {
    if (hi <= lo) return;
    memmove(l->items + lo, l->items + hi, (l->len - hi) * sizeof(Value));
    l->len -= hi - lo;
    shrink(vm, l);
}

static int assign_slice(EddyVM *vm, ListObject *l, Value slice, Value v) {
    int64_t start, stop, step, n;
    if (slice_indices(vm, slice, (int64_t)l->len, &start, &stop, &step, &n) < 0) return -1;
    if (IS_NULL(v)) { // delete
        if (step == 1) {
            delete_range(vm, l, (size_t)start, (size_t)(start + n));
            return 0;
        }
        if (n == 0) return 0;
        if (step < 0) { // walk forwards
            start = start + step * (n - 1);
            step = -step;
        }
        size_t w = (size_t)start;
        for (size_t r = (size_t)start, k = 0; r < l->len; r++) {
            if (k < (size_t)n && r == (size_t)(start + (int64_t)k * step)) {
                k++;
                continue;
            }
            l->items[w++] = l->items[r];
        }
        l->len = w;
        shrink(vm, l);
        return 0;
    }
    // The source is materialised first (it may be l itself or run script code).
    Value src;
    if (is_exact(v, vm->t_list) && AS_OBJ(v) != (Obj *)l) {
        src = v;
    } else if (is_exact(v, vm->t_tuple)) {
        src = v;
    } else {
        if (vm_type_of(vm, v)->iter == NULL && vm_type_of(vm, v)->getitem == NULL) {
            vm_raise(vm, vm->exc_TypeError,
                     step == 1 ? "can only assign an iterable"
                               : "must assign iterable to extended slice");
            return -1;
        }
        src = vm_sequence_to_list(vm, v);
        if (IS_NULL(src)) return -1;
    }
    if (vm_push_root(vm, src) < 0) return -1;
    const Value *items;
    size_t m;
    if (is_tuple(src)) {
        items = AS_TUPLE(src)->items;
        m = AS_TUPLE(src)->len;
    } else {
        items = AS_LIST(src)->items;
        m = AS_LIST(src)->len;
    }
    int status = 0;
    if (step == 1) {
        // Re-resolve: building src may have run code that changed l.
        if (start > (int64_t)l->len) start = (int64_t)l->len;
        if (start + n > (int64_t)l->len) n = (int64_t)l->len - start;
        size_t lo = (size_t)start, hi = (size_t)(start + n);
        if (m > (size_t)n) {
            size_t grow = m - (size_t)n;
            if (reserve(vm, l, l->len + grow) < 0) {
                status = -1;
                goto done;
            }
            memmove(l->items + hi + grow, l->items + hi, (l->len - hi) * sizeof(Value));
            l->len += grow;
        } else if (m < (size_t)n) {
            size_t drop = (size_t)n - m;
            memmove(l->items + hi - drop, l->items + hi, (l->len - hi) * sizeof(Value));
            l->len -= drop;
        }
        if (m) memcpy(l->items + lo, items, m * sizeof(Value));
    } else {
        if ((int64_t)m != n) {
            vm_raise(vm, vm->exc_ValueError,
                     "attempt to assign sequence of size %zu to extended slice of size %lld", m,
                     (long long)n);
            status = -1;
            goto done;
        }
        for (int64_t k = 0, j = start; k < n; k++, j += step) {
            if (j >= 0 && j < (int64_t)l->len) l->items[j] = items[k];
        }
    }
done:
    vm_pop_roots(vm, 1);
    return status;
}

static int list_setitem(EddyVM *vm, Value self, Value key, Value v) {
    ListObject *l = AS_LIST(self);
    int64_t i;
    if (EDDY_LIKELY(IS_INT(key))) {
        i = AS_INT(key);
    } else if (is_exact(key, vm->t_slice)) {
        return assign_slice(vm, l, key, v);
    } else if (key_index(vm, key, &i) < 0) {
        return -1;
    }
    if (i < 0) i += (int64_t)l->len;
    if (i < 0 || i >= (int64_t)l->len) {
        vm_raise(vm, vm->exc_IndexError, "list assignment index out of range");
        return -1;
    }
    if (IS_NULL(v)) {
        delete_range(vm, l, (size_t)i, (size_t)i + 1);
    } else {
        l->items[i] = v;
    }
    return 0;
}

static int list_contains(EddyVM *vm, Value self, Value item) {
    ListObject *l = AS_LIST(self);
    for (size_t i = 0; i < l->len; i++) {
        Value x = l->items[i];
        if (IS_INT(x) && IS_INT(item)) {
            if (AS_INT(x) == AS_INT(item)) return 1;
            continue;
        }
        int eq = vm_eq(vm, x, item);
        if (eq != 0) return eq;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Iterators

static Value make_iter(EddyVM *vm, TypeObject *t, ListObject *l, int64_t index) {
    ListIterObject *it = (ListIterObject *)obj_alloc(vm, t, sizeof(ListIterObject));
    if (!it) return VAL_NULL;
    it->list = l;
    it->index = index;
    return v_obj(it);
}

static Value list_iter(EddyVM *vm, Value self) {
    return make_iter(vm, vm->t_list_iterator, AS_LIST(self), 0);
}

static int list_iter_next(EddyVM *vm, Value self, Value *out) {
    ListIterObject *it = (ListIterObject *)AS_OBJ(self);
    ListObject *l = it->list;
    if (EDDY_LIKELY(l != NULL)) {
        if ((size_t)it->index < l->len) {
            *out = l->items[it->index++];
            return 1;
        }
        it->list = NULL;
    }
    return 0;
}

static int list_reviter_next(EddyVM *vm, Value self, Value *out) {
    ListIterObject *it = (ListIterObject *)AS_OBJ(self);
    ListObject *l = it->list;
    if (l != NULL) {
        if (it->index >= 0 && (size_t)it->index < l->len) {
            *out = l->items[it->index--];
            return 1;
        }
        it->list = NULL;
    }
    return 0;
}

static Value iter_self(EddyVM *vm, Value self) { return self; }

static Value m_iter_self(EddyVM *vm, Value *args, int nargs, TupleObject *kw) { return args[0]; }

static Value m_iter_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value out;
    int r = vm_type_of(vm, args[0])->next(vm, args[0], &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    return out;
}

static Value m_iter_length_hint(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    ListIterObject *it = (ListIterObject *)AS_OBJ(args[0]);
    if (!it->list) return v_int(0);
    if (OBJ_TYPE(it) == vm->t_list_reverseiterator)
        return v_int(it->index >= 0 && (size_t)it->index < it->list->len ? it->index + 1 : 0);
    int64_t left = (int64_t)it->list->len - it->index;
    return v_int(left > 0 ? left : 0);
}

// ---------------------------------------------------------------------------
// Sorting

enum { SORT_GENERIC, SORT_INT, SORT_STR, SORT_FLOAT };

typedef struct SortCtx {
    EddyVM *vm;
    int kind;
    size_t w; // Values per element: 1 (item) or 2 (key, item)
} SortCtx;

// a < b on the sort keys: 1/0/-1.
static inline int sort_lt(SortCtx *c, const Value *a, const Value *b) {
    switch (c->kind) {
    case SORT_INT: return AS_INT(*a) < AS_INT(*b);
    case SORT_STR: return str_compare(AS_STR(*a), AS_STR(*b)) < 0;
    case SORT_FLOAT: return AS_FLOAT(*a) < AS_FLOAT(*b);
    default: return vm_compare_bool(c->vm, *a, *b, CMP_LT);
    }
}

static inline void copy_elem(Value *dst, const Value *src, size_t w) {
    dst[0] = src[0];
    if (w == 2) dst[1] = src[1];
}

// Insertion sort of elements [lo, hi). On error every element is still present.
static int insertion_sort(SortCtx *c, Value *a, size_t lo, size_t hi) {
    size_t w = c->w;
    for (size_t i = lo + 1; i < hi; i++) {
        Value x[2];
        copy_elem(x, a + i * w, w);
        size_t j = i;
        int status = 0;
        while (j > lo) {
            int lt = sort_lt(c, x, a + (j - 1) * w);
            if (lt < 0) {
                status = -1;
                break;
            }
            if (!lt) break;
            copy_elem(a + j * w, a + (j - 1) * w, w);
            j--;
        }
        copy_elem(a + j * w, x, w);
        if (status < 0) return -1;
    }
    return 0;
}

// Merge sorted runs [lo, mid) and [mid, hi) using tmp (>= mid-lo elements).
static int merge(SortCtx *c, Value *a, Value *tmp, size_t lo, size_t mid, size_t hi) {
    size_t w = c->w;
    // Already in order? (cheap, and makes sorted input O(n))
    int lt = sort_lt(c, a + mid * w, a + (mid - 1) * w);
    if (lt < 0) return -1;
    if (!lt) return 0;
    size_t nl = mid - lo;
    memcpy(tmp, a + lo * w, nl * w * sizeof(Value));
    size_t i = 0, j = mid, k = lo;
    int status = 0;
    while (i < nl && j < hi) {
        lt = sort_lt(c, a + j * w, tmp + i * w);
        if (lt < 0) {
            status = -1;
            break;
        }
        if (lt) {
            copy_elem(a + k * w, a + j * w, w);
            j++;
        } else {
            copy_elem(a + k * w, tmp + i * w, w);
            i++;
        }
        k++;
    }
    // Whatever is left of the left run fills the gap exactly (also on error).
    memcpy(a + k * w, tmp + i * w, (nl - i) * w * sizeof(Value));
    return status;
}

#define SORT_RUN 32

static int merge_sort(SortCtx *c, Value *a, Value *tmp, size_t n) {
    for (size_t lo = 0; lo < n; lo += SORT_RUN) {
        size_t hi = lo + SORT_RUN < n ? lo + SORT_RUN : n;
        if (insertion_sort(c, a, lo, hi) < 0) return -1;
    }
    for (size_t width = SORT_RUN; width < n; width *= 2) {
        for (size_t lo = 0; lo + width < n; lo += 2 * width) {
            size_t mid = lo + width;
            size_t hi = mid + width < n ? mid + width : n;
            if (merge(c, a, tmp, lo, mid, hi) < 0) return -1;
        }
    }
    return 0;
}

static void reverse_values(Value *v, size_t n) {
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        Value t = v[i];
        v[i] = v[j - 1];
        v[j - 1] = t;
    }
}

int list_sort(EddyVM *vm, ListObject *l, Value key, bool reverse) {
    if (IS_NULL(key)) key = VAL_NONE;
    // Move the items into a rooted holder list; l stays empty while sorting.
    ListObject *holder = list_new(vm, 0);
    if (!holder || vm_push_root(vm, v_obj(holder)) < 0) return -1;
    size_t nroots = 1;
    holder->items = l->items;
    holder->len = l->len;
    holder->cap = l->cap;
    l->items = NULL;
    l->len = l->cap = 0;
    size_t n = holder->len;
    int status = 0;
    SortCtx c = {vm, SORT_GENERIC, 1};
    Value *arr = holder->items;
    ListObject *keyed = NULL, *tmp = NULL;

    if (reverse) reverse_values(holder->items, n);
    if (!IS_NONE(key)) {
        keyed = list_new(vm, 2 * n);
        if (!keyed || vm_push_root(vm, v_obj(keyed)) < 0) {
            status = -1;
            goto restore;
        }
        nroots++;
        for (size_t i = 0; i < n; i++) {
            Value k = vm_call1(vm, key, holder->items[i]);
            if (IS_NULL(k)) {
                status = -1;
                goto restore;
            }
            keyed->items[2 * i] = k;
            keyed->items[2 * i + 1] = holder->items[i];
            keyed->len = 2 * i + 2;
        }
        c.w = 2;
        arr = keyed->items;
    }
    if (n < 2) goto restore;
    // Pick a comparison fast path when all keys share a simple type.
    {
        Value k0 = arr[0];
        int kind = IS_INT(k0)                ? SORT_INT
                   : IS_FLOAT(k0)            ? SORT_FLOAT
                   : is_exact(k0, vm->t_str) ? SORT_STR
                                             : SORT_GENERIC;
        for (size_t i = 1; i < n && kind != SORT_GENERIC; i++) {
            Value k = arr[i * c.w];
            if ((kind == SORT_INT && !IS_INT(k)) || (kind == SORT_FLOAT && !IS_FLOAT(k)) ||
                (kind == SORT_STR && !is_exact(k, vm->t_str)))
                kind = SORT_GENERIC;
        }
        // NaN makes float order partial; the generic path handles it like CPython.
        if (kind == SORT_FLOAT) {
            for (size_t i = 0; i < n; i++)
                if (AS_FLOAT(arr[i * c.w]) != AS_FLOAT(arr[i * c.w])) kind = SORT_GENERIC;
        }
        c.kind = kind;
    }
    // Scratch space is a rooted list too: mid-merge, some items live only there.
    tmp = list_new(vm, n * c.w); // a left run may be up to n - 1 elements
    if (!tmp || vm_push_root(vm, v_obj(tmp)) < 0) {
        status = -1;
        goto restore;
    }
    nroots++;
    for (size_t i = 0; i < tmp->cap; i++) tmp->items[i] = VAL_NONE;
    tmp->len = tmp->cap;
    status = merge_sort(&c, arr, tmp->items, n);

restore:
    if (keyed && keyed->len == 2 * n) {
        for (size_t i = 0; i < n; i++) holder->items[i] = keyed->items[2 * i + 1];
    }
    if (reverse) reverse_values(holder->items, n);
    bool modified = l->items != NULL || l->len != 0;
    if (l->items) mem_free(vm, l->items, l->cap * sizeof(Value));
    l->items = holder->items;
    l->len = holder->len;
    l->cap = holder->cap;
    holder->items = NULL;
    holder->len = holder->cap = 0;
    vm_pop_roots(vm, nroots);
    if (status == 0 && modified) {
        vm_raise(vm, vm->exc_ValueError, "list modified during sort");
        return -1;
    }
    return status;
}

// ---------------------------------------------------------------------------
// Methods

static Value m_append(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (EDDY_UNLIKELY(kw || nargs != 2) && (args_no_kw(vm, "list.append", kw) < 0 ||
                                            args_count(vm, "list.append", nargs - 1, 1, 1) < 0))
        return VAL_NULL;
    if (list_append(vm, AS_LIST(args[0]), args[1]) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value m_extend(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "list.extend", kw) < 0 || args_count(vm, "list.extend", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    if (list_extend(vm, AS_LIST(args[0]), args[1]) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value m_insert(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "insert", kw) < 0 || args_count(vm, "insert", nargs - 1, 2, 2) < 0)
        return VAL_NULL;
    ListObject *l = AS_LIST(args[0]);
    int64_t i;
    if (!has_index(vm, args[1])) {
        return vm_raise(vm, vm->exc_TypeError, "'%s' object cannot be interpreted as an integer",
                        vm_type_name(vm, args[1]));
    }
    if (vm_index_i64(vm, args[1], &i) < 0) {
        if (!vm_err_matches(vm, vm->exc_IndexError) && !vm_err_matches(vm, vm->exc_OverflowError))
            return VAL_NULL;
        vm_err_clear(vm);
        i = int_sign(args[1]) < 0 ? 0 : (int64_t)l->len;
    }
    if (i < 0) {
        i += (int64_t)l->len;
        if (i < 0) i = 0;
    } else if (i > (int64_t)l->len) {
        i = (int64_t)l->len;
    }
    if (reserve(vm, l, l->len + 1) < 0) return VAL_NULL;
    memmove(l->items + i + 1, l->items + i, (l->len - (size_t)i) * sizeof(Value));
    l->items[i] = args[2];
    l->len++;
    return VAL_NONE;
}

static Value m_pop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "pop", kw) < 0 || args_count(vm, "pop", nargs - 1, 0, 1) < 0)
        return VAL_NULL;
    ListObject *l = AS_LIST(args[0]);
    int64_t i = -1;
    if (nargs > 1) {
        if (!has_index(vm, args[1])) {
            return vm_raise(vm, vm->exc_TypeError,
                            "'%s' object cannot be interpreted as an integer",
                            vm_type_name(vm, args[1]));
        }
        if (vm_index_i64(vm, args[1], &i) < 0) return VAL_NULL;
    }
    if (l->len == 0) return vm_raise(vm, vm->exc_IndexError, "pop from empty list");
    if (i < 0) i += (int64_t)l->len;
    if (i < 0 || i >= (int64_t)l->len)
        return vm_raise(vm, vm->exc_IndexError, "pop index out of range");
    Value v = l->items[i];
    if ((size_t)i == l->len - 1) {
        l->len--;
    } else {
        delete_range(vm, l, (size_t)i, (size_t)i + 1);
    }
    return v;
}

static Value m_remove(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "list.remove", kw) < 0 || args_count(vm, "list.remove", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    ListObject *l = AS_LIST(args[0]);
    for (size_t i = 0; i < l->len; i++) {
        int eq = vm_eq(vm, l->items[i], args[1]);
        if (eq < 0) return VAL_NULL;
        if (eq) {
            if (i < l->len) delete_range(vm, l, i, i + 1);
            return VAL_NONE;
        }
    }
    return vm_raise(vm, vm->exc_ValueError, "list.remove(x): x not in list");
}

static Value m_clear(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "list.clear", kw) < 0 || args_count(vm, "list.clear", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    clear_items(vm, AS_LIST(args[0]));
    return VAL_NONE;
}

static Value m_copy(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "list.copy", kw) < 0 || args_count(vm, "list.copy", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    ListObject *l = AS_LIST(args[0]);
    ListObject *r = list_from(vm, l->items, l->len);
    return r ? v_obj(r) : VAL_NULL;
}

static Value m_reverse(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "list.reverse", kw) < 0 ||
        args_count(vm, "list.reverse", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    ListObject *l = AS_LIST(args[0]);
    reverse_values(l->items, l->len);
    return VAL_NONE;
}

static Value m_count(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "list.count", kw) < 0 || args_count(vm, "list.count", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    ListObject *l = AS_LIST(args[0]);
    int64_t n = 0;
    for (size_t i = 0; i < l->len; i++) {
        int eq = vm_eq(vm, l->items[i], args[1]);
        if (eq < 0) return VAL_NULL;
        n += eq;
    }
    return v_int(n);
}

static int index_bound(EddyVM *vm, Value v, int64_t len, int64_t *out) {
    int64_t i;
    if (IS_INT(v)) {
        i = AS_INT(v);
    } else {
        if (!has_index(vm, v)) {
            vm_raise(vm, vm->exc_TypeError,
                     "slice indices must be integers or have an __index__ method");
            return -1;
        }
        if (vm_index_i64(vm, v, &i) < 0) {
            if (!vm_err_matches(vm, vm->exc_IndexError) &&
                !vm_err_matches(vm, vm->exc_OverflowError))
                return -1;
            vm_err_clear(vm);
            i = int_sign(v) < 0 ? INT64_MIN / 2 : INT64_MAX / 2;
        }
    }
    if (i < 0) {
        i += len;
        if (i < 0) i = 0;
    }
    *out = i;
    return 0;
}

static Value m_index(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "index", kw) < 0 || args_count(vm, "index", nargs - 1, 1, 3) < 0)
        return VAL_NULL;
    ListObject *l = AS_LIST(args[0]);
    int64_t start = 0, stop = INT64_MAX;
    if (nargs > 2 && index_bound(vm, args[2], (int64_t)l->len, &start) < 0) return VAL_NULL;
    if (nargs > 3 && index_bound(vm, args[3], (int64_t)l->len, &stop) < 0) return VAL_NULL;
    for (int64_t i = start; i < stop && i < (int64_t)l->len; i++) {
        int eq = vm_eq(vm, l->items[i], args[1]);
        if (eq < 0) return VAL_NULL;
        if (eq) return v_int(i);
    }
    return vm_raise(vm, vm->exc_ValueError, "%R is not in list", args[1]);
}

static Value m_sort(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (nargs > 1) return vm_raise(vm, vm->exc_TypeError, "sort() takes no positional arguments");
    static const char *const names[] = {"key", "reverse"};
    Value out[2];
    if (args_parse(vm, "sort", args + 1, 0, kw, names, 2, 0, 0, out) < 0) return VAL_NULL;
    bool rev = false;
    if (!IS_NULL(out[1])) {
        if (IS_FLOAT(out[1]))
            return vm_raise(vm, vm->exc_TypeError,
                            "'float' object cannot be interpreted as an integer");
        int t = vm_truthy(vm, out[1]);
        if (t < 0) return VAL_NULL;
        rev = t;
    }
    if (list_sort(vm, AS_LIST(args[0]), out[0], rev) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value m_len(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return v_int((int64_t)AS_LIST(args[0])->len);
}

static Value m_getitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__getitem__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    return list_getitem(vm, args[0], args[1]);
}

static Value m_setitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__setitem__", nargs - 1, 2, 2) < 0) return VAL_NULL;
    return list_setitem(vm, args[0], args[1], args[2]) < 0 ? VAL_NULL : VAL_NONE;
}

static Value m_delitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__delitem__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    return list_setitem(vm, args[0], args[1], VAL_NULL) < 0 ? VAL_NULL : VAL_NONE;
}

static Value m_contains(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__contains__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    int r = list_contains(vm, args[0], args[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}

static Value m_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return list_iter(vm, args[0]);
}

static Value m_reversed(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    ListObject *l = AS_LIST(args[0]);
    return make_iter(vm, vm->t_list_reverseiterator, l, (int64_t)l->len - 1);
}

static Value m_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return list_repr(vm, args[0]);
}

static Value m_add(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__add__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    if (!is_list(args[1])) {
        if (heap_type_has(vm, args[1], vm->names.__radd__)) return vm->not_implemented;
        return vm_raise(vm, vm->exc_TypeError, "can only concatenate list (not \"%T\") to list",
                        args[1]);
    }
    ListObject *a = AS_LIST(args[0]), *b = AS_LIST(args[1]);
    ListObject *r = list_new(vm, a->len + b->len);
    if (!r) return VAL_NULL;
    if (a->len) memcpy(r->items, a->items, a->len * sizeof(Value));
    if (b->len) memcpy(r->items + a->len, b->items, b->len * sizeof(Value));
    r->len = a->len + b->len;
    return v_obj(r);
}

static Value m_iadd(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__iadd__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    if (list_extend(vm, AS_LIST(args[0]), args[1]) < 0) return VAL_NULL;
    return args[0];
}

// The repeat count of l * n (NotImplemented/TypeError handling as CPython).
static int repeat_count(EddyVM *vm, Value nv, int64_t *out) {
    if (!has_index(vm, nv)) {
        vm_raise(vm, vm->exc_TypeError, "can't multiply sequence by non-int of type '%T'", nv);
        return -1;
    }
    if (vm_index_i64(vm, nv, out) < 0) {
        if (!vm_err_matches(vm, vm->exc_IndexError) && !vm_err_matches(vm, vm->exc_OverflowError))
            return -1;
        vm_err_clear(vm);
        if (int_sign(nv) > 0) {
            vm_raise(vm, vm->exc_OverflowError, "cannot fit 'int' into an index-sized integer");
            return -1;
        }
        *out = 0;
    }
    return 0;
}

static Value m_mul(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__mul__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    if (!has_index(vm, args[1]) && heap_type_has(vm, args[1], vm->names.__rmul__))
        return vm->not_implemented;
    int64_t n;
    if (repeat_count(vm, args[1], &n) < 0) return VAL_NULL;
    ListObject *a = AS_LIST(args[0]);
    if (n <= 0 || a->len == 0) {
        ListObject *r = list_new(vm, 0);
        return r ? v_obj(r) : VAL_NULL;
    }
    if ((uint64_t)n > (uint64_t)(INT64_MAX / 16) / a->len) return vm_raise_nomem(vm);
    size_t total = a->len * (size_t)n;
    ListObject *r = list_new(vm, total);
    if (!r) return VAL_NULL;
    if (a->len == 1) {
        for (size_t i = 0; i < total; i++) r->items[i] = a->items[0];
    } else {
        for (int64_t k = 0; k < n; k++)
            memcpy(r->items + (size_t)k * a->len, a->items, a->len * sizeof(Value));
    }
    r->len = total;
    return v_obj(r);
}

static Value m_imul(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__imul__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    int64_t n;
    if (repeat_count(vm, args[1], &n) < 0) return VAL_NULL;
    ListObject *l = AS_LIST(args[0]);
    if (n <= 0 || l->len == 0) {
        clear_items(vm, l);
        return args[0];
    }
    if ((uint64_t)n > (uint64_t)(INT64_MAX / 16) / l->len) return vm_raise_nomem(vm);
    size_t len = l->len;
    if (reserve(vm, l, len * (size_t)n) < 0) return VAL_NULL;
    for (int64_t k = 1; k < n; k++)
        memcpy(l->items + (size_t)k * len, l->items, len * sizeof(Value));
    l->len = len * (size_t)n;
    return args[0];
}

static Value m_sizeof(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    ListObject *l = AS_LIST(args[0]);
    return v_int((int64_t)(40 + l->cap * 8));
}

// ---------------------------------------------------------------------------

int list_init_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_list, vm->t_object, sizeof(ListObject),
                                     TPF_BASETYPE | TPF_LIST_SUBCLASS);
    if (!t) return -1;
    t->trace = list_trace;
    t->finalize = list_finalize;
    t->new_ = list_new_slot;
    t->repr = list_repr;
    t->hash = NULL;
    t->richcompare = list_richcompare;
    t->len = list_len;
    t->getitem = list_getitem;
    t->setitem = list_setitem;
    t->contains = list_contains;
    t->iter = list_iter;
    static const struct {
        const char *name;
        NativeFn fn;
    } methods[] = {
        {"__init__", m_init},       {"__len__", m_len},           {"__getitem__", m_getitem},
        {"__setitem__", m_setitem}, {"__delitem__", m_delitem},   {"__contains__", m_contains},
        {"__iter__", m_iter},       {"__reversed__", m_reversed}, {"__repr__", m_repr},
        {"__add__", m_add},         {"__iadd__", m_iadd},         {"__mul__", m_mul},
        {"__rmul__", m_mul},        {"__imul__", m_imul},         {"append", m_append},
        {"extend", m_extend},       {"insert", m_insert},         {"pop", m_pop},
        {"remove", m_remove},       {"clear", m_clear},           {"copy", m_copy},
        {"reverse", m_reverse},     {"count", m_count},           {"index", m_index},
        {"sort", m_sort},           {"__sizeof__", m_sizeof},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, NATIVE_METHOD) < 0) return -1;

    TypeObject *its[2] = {vm->t_list_iterator, vm->t_list_reverseiterator};
    for (int k = 0; k < 2; k++) {
        TypeObject *it = type_new_builtin(vm, its[k], vm->t_object, sizeof(ListIterObject), 0);
        if (!it) return -1;
        it->trace = list_iter_trace;
        it->iter = iter_self;
        it->next = k == 0 ? list_iter_next : list_reviter_next;
        if (type_add_method(vm, it, "__iter__", m_iter_self, NATIVE_METHOD) < 0 ||
            type_add_method(vm, it, "__next__", m_iter_next, NATIVE_METHOD) < 0 ||
            type_add_method(vm, it, "__length_hint__", m_iter_length_hint, NATIVE_METHOD) < 0)
            return -1;
    }
    return 0;
}
