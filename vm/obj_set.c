// obj_set.c - set, frozenset and set_iterator.
//
// The hash table is CPython 3.11's setobject.c algorithm, step for step
// (linear probes of 9 then perturbation, fill/used accounting, resize
// policy, merge fast paths), because set iteration order is visible to
// scripts: print({3, 1, 2}) must print {1, 2, 3} as python3 does.
// frozenset's hash is CPython's too.
//
// Entry states: unused = (key V_NULL, hash 0); dummy = (key V_NULL, hash -1);
// active = key set. A real hash is never -1, so `hash == h` never matches a
// dummy. The table is allocated on the first insertion (mask is 7 before).
#include <string.h>

#include "opcodes.h"
#include "vm.h"

#define SET_MINSIZE 8
#define LINEAR_PROBES 9
#define PERTURB_SHIFT 5
#define SET_REPR_RUNNING 0x8000u

typedef struct SetEntry {
    int64_t hash;
    Value key;
} SetEntry;

typedef struct SetObject {
    Obj hdr;
    size_t fill;     // active + dummy
    size_t used;     // active
    size_t mask;     // table size - 1
    SetEntry *table; // NULL until the first insertion
    size_t finger;   // pop() search start
    int64_t hash;    // frozenset: -1 until computed
} SetObject;

typedef struct SetIterObject {
    Obj hdr;
    SetObject *set; // NULL once exhausted
    size_t pos;
    size_t used; // set->used at creation
    size_t left; // items still to produce (length hint)
} SetIterObject;

#define AS_SET(v) ((SetObject *)AS_OBJ(v))

static bool is_anyset(EddyVM *vm, Value v) {
    if (!IS_OBJ(v)) return false;
    TypeObject *t = OBJ_TYPE(AS_OBJ(v));
    return t == vm->t_set || t == vm->t_frozenset || type_is_subtype(t, vm->t_set) ||
           type_is_subtype(t, vm->t_frozenset);
}

static bool is_frozen(EddyVM *vm, Value v) {
    TypeObject *t = OBJ_TYPE(AS_OBJ(v));
    return t == vm->t_frozenset || (t != vm->t_set && type_is_subtype(t, vm->t_frozenset));
}

// set or frozenset: the builtin base of v's type (results of operations).
static TypeObject *base_type(EddyVM *vm, Value v) {
    return is_frozen(vm, v) ? vm->t_frozenset : vm->t_set;
}

static inline int64_t small_int_hash(int64_t i) {
    const int64_t mod = ((int64_t)1 << 61) - 1;
    if (EDDY_LIKELY(i > -mod && i < mod)) return i == -1 ? -2 : i;
    return int_hash(v_int(i));
}

static inline bool is_exact_str(EddyVM *vm, Value v) {
    return IS_OBJ(v) && OBJ_TYPE(AS_OBJ(v)) == vm->t_str;
}

static inline int key_hash(EddyVM *vm, Value key, int64_t *out) {
    if (IS_INT(key)) {
        *out = small_int_hash(AS_INT(key));
        return 0;
    }
    if (is_exact_str(vm, key)) {
        StrObject *s = AS_STR(key);
        *out = s->hash != -1 ? s->hash : str_hash(s);
        return 0;
    }
    return vm_hash(vm, key, out);
}

// ---------------------------------------------------------------------------
// Table

static SetObject *alloc_set(EddyVM *vm, TypeObject *t) {
    size_t size = t->instance_size > sizeof(SetObject) ? t->instance_size : sizeof(SetObject);
    SetObject *s = (SetObject *)obj_alloc(vm, t, size);
    if (!s) return NULL;
    s->mask = SET_MINSIZE - 1;
    s->hash = -1;
    return s;
}

static int ensure_table(EddyVM *vm, SetObject *s) {
    if (s->table) return 0;
    s->table = mem_alloc(vm, (s->mask + 1) * sizeof(SetEntry));
    if (!s->table) return -1;
    memset(s->table, 0, (s->mask + 1) * sizeof(SetEntry));
    return 0;
}

static void insert_clean(SetEntry *table, size_t mask, Value key, int64_t hash) {
    size_t perturb = (size_t)hash, i = (size_t)hash & mask;
    for (;;) {
        SetEntry *e = &table[i];
        if (IS_NULL(e->key)) goto found;
        if (i + LINEAR_PROBES <= mask) {
            for (int j = 0; j < LINEAR_PROBES; j++) {
                e++;
                if (IS_NULL(e->key)) goto found;
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
        continue;
    found:
        e->key = key;
        e->hash = hash;
        return;
    }
}

static int table_resize(EddyVM *vm, SetObject *s, size_t minused) {
    size_t newsize = SET_MINSIZE;
    while (newsize <= minused) newsize <<= 1;
    if (newsize > ((size_t)1 << 40)) {
        vm_raise_nomem(vm);
        return -1;
    }
    SetEntry *table = mem_alloc(vm, newsize * sizeof(SetEntry));
    if (!table) return -1;
    memset(table, 0, newsize * sizeof(SetEntry));
    if (s->table) {
        for (size_t i = 0; i <= s->mask; i++) {
            SetEntry *e = &s->table[i];
            if (!IS_NULL(e->key)) insert_clean(table, newsize - 1, e->key, e->hash);
        }
        mem_free(vm, s->table, (s->mask + 1) * sizeof(SetEntry));
    }
    s->table = table;
    s->mask = newsize - 1;
    s->fill = s->used;
    return 0;
}

// Find key: entry or NULL (absent); *err set on error. May run script code.
static SetEntry *lookkey(EddyVM *vm, SetObject *s, Value key, int64_t hash, bool *err) {
    *err = false;
restart:
    if (!s->table) return NULL;
    size_t mask = s->mask, perturb = (size_t)hash, i = (size_t)hash & mask;
    for (;;) {
        SetEntry *e = &s->table[i];
        int probes = (i + LINEAR_PROBES <= mask) ? LINEAR_PROBES : 0;
        do {
            if (e->hash == 0 && IS_NULL(e->key)) return NULL;
            if (e->hash == hash) {
                Value sk = e->key;
                if (v_is(sk, key)) return e;
                if (sk.tag == key.tag) {
                    if (sk.tag == V_INT) goto next;
                    if (is_exact_str(vm, sk) && is_exact_str(vm, key)) {
                        StrObject *a = AS_STR(sk), *b = AS_STR(key);
                        if (a->len == b->len && memcmp(a->data, b->data, a->len) == 0) return e;
                        goto next;
                    }
                }
                SetEntry *table = s->table;
                int eq = vm_eq(vm, sk, key);
                if (eq < 0) {
                    *err = true;
                    return NULL;
                }
                if (table != s->table || !v_is(e->key, sk)) goto restart;
                if (eq) return e;
                mask = s->mask;
            }
        next:
            e++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

// Add key with its hash (CPython's set_add_entry). 0 / -1.
static int add_entry(EddyVM *vm, SetObject *s, Value key, int64_t hash) {
    if (ensure_table(vm, s) < 0) return -1;
restart:;
    size_t mask = s->mask, perturb = (size_t)hash, i = (size_t)hash & mask;
    SetEntry *freeslot = NULL, *e;
    for (;;) {
        e = &s->table[i];
        int probes = (i + LINEAR_PROBES <= mask) ? LINEAR_PROBES : 0;
        do {
            if (e->hash == 0 && IS_NULL(e->key)) goto found_unused_or_dummy;
            if (e->hash == hash) {
                Value sk = e->key;
                if (v_is(sk, key)) return 0;
                if (sk.tag == key.tag) {
                    if (sk.tag == V_INT) goto next;
                    if (is_exact_str(vm, sk) && is_exact_str(vm, key)) {
                        StrObject *a = AS_STR(sk), *b = AS_STR(key);
                        if (a->len == b->len && memcmp(a->data, b->data, a->len) == 0) return 0;
                        goto next;
                    }
                }
                SetEntry *table = s->table;
                int eq = vm_eq(vm, sk, key);
                if (eq < 0) return -1;
                if (eq > 0) return 0;
                if (table != s->table || !v_is(e->key, sk)) goto restart;
                mask = s->mask;
            } else if (e->hash == -1 && IS_NULL(e->key)) {
                if (!freeslot) freeslot = e;
            }
        next:
            e++;
        } while (probes--);
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
found_unused_or_dummy:
    if (freeslot) {
        s->used++;
        freeslot->key = key;
        freeslot->hash = hash;
        return 0;
    }
    s->fill++;
    s->used++;
    e->key = key;
    e->hash = hash;
    if (s->fill * 5 < mask * 3) return 0;
    return table_resize(vm, s, s->used > 50000 ? s->used * 2 : s->used * 4);
}

// 1 discarded, 0 not found, -1 error.
static int discard_entry(EddyVM *vm, SetObject *s, Value key, int64_t hash) {
    bool err;
    SetEntry *e = lookkey(vm, s, key, hash, &err);
    if (err) return -1;
    if (!e) return 0;
    e->key = VAL_NULL;
    e->hash = -1;
    s->used--;
    return 1;
}

// A set used as a key is looked up as the equal frozenset (CPython's rule for
// `{1} in s`, s.remove({1}), s.discard({1})). Returns the key to use.
static int hash_or_frozen(EddyVM *vm, Value *key, int64_t *hash) {
    if (key_hash(vm, *key, hash) == 0) return 0;
    if (!is_anyset(vm, *key) || is_frozen(vm, *key) || !vm_err_matches(vm, vm->exc_TypeError))
        return -1;
    vm_err_clear(vm);
    SetObject *f = alloc_set(vm, vm->t_frozenset);
    if (!f) return -1;
    SetObject *src = AS_SET(*key);
    for (size_t i = 0; src->table && i <= src->mask; i++)
        if (!IS_NULL(src->table[i].key) &&
            add_entry(vm, f, src->table[i].key, src->table[i].hash) < 0)
            return -1;
    *key = v_obj(f);
    return key_hash(vm, *key, hash);
}

static bool set_next(SetObject *s, size_t *pos, SetEntry **out) {
    if (!s->table) return false;
    while (*pos <= s->mask) {
        SetEntry *e = &s->table[(*pos)++];
        if (!IS_NULL(e->key)) {
            *out = e;
            return true;
        }
    }
    return false;
}

static void clear_table(EddyVM *vm, SetObject *s) {
    if (s->table) mem_free(vm, s->table, (s->mask + 1) * sizeof(SetEntry));
    s->table = NULL;
    s->mask = SET_MINSIZE - 1;
    s->fill = s->used = 0;
    s->finger = 0;
}

// ---------------------------------------------------------------------------
// Bulk operations (CPython's set_merge / set_update_internal ...)

static int merge(EddyVM *vm, SetObject *s, SetObject *other) {
    if (other->used == 0) return 0;
    if ((s->fill + other->used) * 5 >= s->mask * 3) {
        if (table_resize(vm, s, (s->used + other->used) * 2) < 0) return -1;
    }
    if (ensure_table(vm, s) < 0) return -1;
    if (s->fill == 0 && s->mask == other->mask && other->fill == other->used) {
        for (size_t i = 0; i <= other->mask; i++) s->table[i] = other->table[i];
        s->fill = other->fill;
        s->used = other->used;
        return 0;
    }
    if (s->fill == 0) {
        s->fill = s->used = other->used;
        for (size_t i = 0; i <= other->mask; i++) {
            SetEntry *e = &other->table[i];
            if (!IS_NULL(e->key)) insert_clean(s->table, s->mask, e->key, e->hash);
        }
        return 0;
    }
    for (size_t i = 0; i <= other->mask; i++) {
        SetEntry *e = &other->table[i];
        if (IS_NULL(e->key)) continue;
        Value key = e->key;
        if (vm_push_root(vm, key) < 0) return -1;
        int r = add_entry(vm, s, key, e->hash);
        vm_pop_roots(vm, 1);
        if (r < 0) return -1;
        if (!other->table) break;
    }
    return 0;
}

static int update_internal(EddyVM *vm, SetObject *s, Value other) {
    if (is_anyset(vm, other)) return merge(vm, s, AS_SET(other));
    if (is_exact(other, vm->t_dict)) {
        DictObject *d = AS_DICT(other);
        if ((s->fill + d->len) * 5 >= s->mask * 3) {
            if (table_resize(vm, s, (s->used + d->len) * 2) < 0) return -1;
        }
        size_t pos = 0;
        Value k;
        while (dict_next(d, &pos, &k, NULL)) {
            int64_t h;
            if (vm_push_root(vm, k) < 0) return -1;
            int r = key_hash(vm, k, &h);
            if (r == 0) r = add_entry(vm, s, k, h);
            vm_pop_roots(vm, 1);
            if (r < 0) return -1;
        }
        return 0;
    }
    Value it = vm_iter(vm, other);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return -1;
    int status = 0;
    for (;;) {
        Value k;
        int r = vm_next(vm, it, &k);
        if (r == 0) break;
        // k may be referenced only here while set_add runs __hash__/__eq__.
        if (r < 0 || vm_push_root(vm, k) < 0) {
            status = -1;
            break;
        }
        r = set_add(vm, v_obj(s), k);
        vm_pop_roots(vm, 1);
        if (r < 0) {
            status = -1;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return status;
}

// A new set of type t (set/frozenset/subclass) filled from iterable (may be V_NULL).
static Value make_new_set(EddyVM *vm, TypeObject *t, Value iterable) {
    SetObject *s = alloc_set(vm, t);
    if (!s) return VAL_NULL;
    if (IS_NULL(iterable)) return v_obj(s);
    if (vm_push_root(vm, v_obj(s)) < 0) return VAL_NULL;
    int r = update_internal(vm, s, iterable);
    vm_pop_roots(vm, 1);
    return r < 0 ? VAL_NULL : v_obj(s);
}

static Value set_copy(EddyVM *vm, Value so) { return make_new_set(vm, base_type(vm, so), so); }

static int contains_entry(EddyVM *vm, SetObject *s, Value key, int64_t hash) {
    bool err;
    SetEntry *e = lookkey(vm, s, key, hash, &err);
    return err ? -1 : e != NULL;
}

// so & other
static Value intersection(EddyVM *vm, Value so, Value other) {
    if (v_is(so, other)) return set_copy(vm, so);
    Value result = make_new_set(vm, base_type(vm, so), VAL_NULL);
    if (IS_NULL(result) || vm_push_root(vm, result) < 0) return VAL_NULL;
    SetObject *r = AS_SET(result);
    Value out = result;
    if (is_anyset(vm, other)) {
        SetObject *a = AS_SET(so), *b = AS_SET(other);
        if (b->used > a->used) {
            SetObject *t = a;
            a = b;
            b = t;
        }
        size_t pos = 0;
        SetEntry *e;
        while (set_next(b, &pos, &e)) {
            Value key = e->key;
            int64_t hash = e->hash;
            if (vm_push_root(vm, key) < 0) {
                out = VAL_NULL;
                break;
            }
            int c = contains_entry(vm, a, key, hash);
            if (c > 0) c = add_entry(vm, r, key, hash);
            vm_pop_roots(vm, 1);
            if (c < 0) {
                out = VAL_NULL;
                break;
            }
        }
    } else {
        Value it = vm_iter(vm, other);
        if (IS_NULL(it) || vm_push_root(vm, it) < 0) {
            vm_pop_roots(vm, 1);
            return VAL_NULL;
        }
        for (;;) {
            Value key;
            int n = vm_next(vm, it, &key);
            if (n == 0) break;
            int64_t hash;
            int c = n < 0 ? -1 : key_hash(vm, key, &hash);
            if (c == 0 && vm_push_root(vm, key) < 0) c = -1;
            if (c == 0) {
                c = contains_entry(vm, AS_SET(so), key, hash);
                if (c > 0) c = add_entry(vm, r, key, hash);
                vm_pop_roots(vm, 1);
            }
            if (c < 0) {
                out = VAL_NULL;
                break;
            }
        }
        vm_pop_roots(vm, 1);
    }
    vm_pop_roots(vm, 1);
    return out;
}

static int maybe_shrink(EddyVM *vm, SetObject *s) {
    if (s->fill - s->used <= s->mask / 4) return 0;
    return table_resize(vm, s, s->used > 50000 ? s->used * 2 : s->used * 4);
}

static int difference_update_internal(EddyVM *vm, SetObject *s, Value other) {
    if (AS_OBJ(other) == (Obj *)s && IS_OBJ(other)) {
        clear_table(vm, s);
        return 0;
    }
    if (is_anyset(vm, other)) {
        Value o = other;
        if ((AS_SET(other)->used >> 3) > s->used) {
            o = intersection(vm, v_obj(s), other);
            if (IS_NULL(o)) return -1;
        }
        if (vm_push_root(vm, o) < 0) return -1;
        size_t pos = 0;
        SetEntry *e;
        int status = 0;
        while (set_next(AS_SET(o), &pos, &e)) {
            Value key = e->key;
            if (vm_push_root(vm, key) < 0) {
                status = -1;
                break;
            }
            int r = discard_entry(vm, s, key, e->hash);
            vm_pop_roots(vm, 1);
            if (r < 0) {
                status = -1;
                break;
            }
        }
        vm_pop_roots(vm, 1);
        if (status < 0) return -1;
    } else {
        Value it = vm_iter(vm, other);
        if (IS_NULL(it) || vm_push_root(vm, it) < 0) return -1;
        int status = 0;
        for (;;) {
            Value key;
            int n = vm_next(vm, it, &key);
            if (n == 0) break;
            int64_t hash;
            if (n < 0 || hash_or_frozen(vm, &key, &hash) < 0 ||
                discard_entry(vm, s, key, hash) < 0) {
                status = -1;
                break;
            }
        }
        vm_pop_roots(vm, 1);
        if (status < 0) return -1;
    }
    return maybe_shrink(vm, s);
}

static Value copy_and_difference(EddyVM *vm, Value so, Value other) {
    Value r = set_copy(vm, so);
    if (IS_NULL(r) || vm_push_root(vm, r) < 0) return VAL_NULL;
    int st = difference_update_internal(vm, AS_SET(r), other);
    vm_pop_roots(vm, 1);
    return st < 0 ? VAL_NULL : r;
}

static Value difference(EddyVM *vm, Value so, Value other) {
    size_t other_size;
    if (is_anyset(vm, other)) {
        other_size = AS_SET(other)->used;
    } else if (is_exact(other, vm->t_dict)) {
        other_size = AS_DICT(other)->len;
    } else {
        return copy_and_difference(vm, so, other);
    }
    SetObject *s = AS_SET(so);
    if ((s->used >> 2) > other_size) return copy_and_difference(vm, so, other);
    Value result = make_new_set(vm, base_type(vm, so), VAL_NULL);
    if (IS_NULL(result) || vm_push_root(vm, result) < 0) return VAL_NULL;
    size_t pos = 0;
    SetEntry *e;
    Value out = result;
    while (set_next(s, &pos, &e)) {
        Value key = e->key;
        int64_t hash = e->hash;
        if (vm_push_root(vm, key) < 0) {
            out = VAL_NULL;
            break;
        }
        int c;
        if (is_exact(other, vm->t_dict)) {
            Value dummy;
            c = dict_get(vm, AS_DICT(other), key, &dummy);
        } else {
            c = contains_entry(vm, AS_SET(other), key, hash);
        }
        if (c == 0) c = add_entry(vm, AS_SET(result), key, hash);
        vm_pop_roots(vm, 1);
        if (c < 0) {
            out = VAL_NULL;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return out;
}

static int symmetric_difference_update(EddyVM *vm, SetObject *s, Value other) {
    if (IS_OBJ(other) && AS_OBJ(other) == (Obj *)s) {
        clear_table(vm, s);
        return 0;
    }
    Value o = other;
    if (!is_anyset(vm, other)) {
        o = make_new_set(vm, OBJ_TYPE(s) == vm->t_frozenset ? vm->t_frozenset : vm->t_set, other);
        if (IS_NULL(o)) return -1;
    }
    if (vm_push_root(vm, o) < 0) return -1;
    size_t pos = 0;
    SetEntry *e;
    int status = 0;
    while (set_next(AS_SET(o), &pos, &e)) {
        Value key = e->key;
        int64_t hash = e->hash;
        if (vm_push_root(vm, key) < 0) {
            status = -1;
            break;
        }
        int r = discard_entry(vm, s, key, hash);
        if (r == 0) r = add_entry(vm, s, key, hash);
        vm_pop_roots(vm, 1);
        if (r < 0) {
            status = -1;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return status;
}

static Value symmetric_difference(EddyVM *vm, Value so, Value other) {
    Value r = make_new_set(vm, base_type(vm, so), other);
    if (IS_NULL(r) || vm_push_root(vm, r) < 0) return VAL_NULL;
    int st = symmetric_difference_update(vm, AS_SET(r), so);
    vm_pop_roots(vm, 1);
    return st < 0 ? VAL_NULL : r;
}

// Every item of set a is in set b: 1/0/-1
static int subset_of(EddyVM *vm, SetObject *a, SetObject *b) {
    if (a->used > b->used) return 0;
    size_t pos = 0;
    SetEntry *e;
    while (set_next(a, &pos, &e)) {
        Value key = e->key;
        if (vm_push_root(vm, key) < 0) return -1;
        int c = contains_entry(vm, b, key, e->hash);
        vm_pop_roots(vm, 1);
        if (c <= 0) return c;
    }
    return 1;
}

// Replace s's contents by those of the temporary set t (intersection_update).
static void swap_bodies(SetObject *a, SetObject *b) {
    SetObject tmp = *a;
    a->fill = b->fill;
    a->used = b->used;
    a->mask = b->mask;
    a->table = b->table;
    a->finger = b->finger;
    b->fill = tmp.fill;
    b->used = tmp.used;
    b->mask = tmp.mask;
    b->table = tmp.table;
    b->finger = tmp.finger;
}

// ---------------------------------------------------------------------------
// C API

Value set_new(EddyVM *vm, TypeObject *t) {
    SetObject *s = alloc_set(vm, t);
    return s ? v_obj(s) : VAL_NULL;
}

int set_add(EddyVM *vm, Value set, Value item) {
    int64_t hash;
    if (key_hash(vm, item, &hash) < 0) return -1;
    return add_entry(vm, AS_SET(set), item, hash);
}

int set_contains(EddyVM *vm, Value set, Value item) {
    int64_t hash;
    if (hash_or_frozen(vm, &item, &hash) < 0) return -1;
    return contains_entry(vm, AS_SET(set), item, hash);
}

// ---------------------------------------------------------------------------
// GC and slots

static void set_trace(EddyVM *vm, Obj *o) {
    SetObject *s = (SetObject *)o;
    if (!s->table) return;
    for (size_t i = 0; i <= s->mask; i++)
        if (!IS_NULL(s->table[i].key)) gc_mark_value(vm, s->table[i].key);
}

static void set_finalize(EddyVM *vm, Obj *o) { clear_table(vm, (SetObject *)o); }

static void iter_trace(EddyVM *vm, Obj *o) { gc_mark_obj(vm, (Obj *)((SetIterObject *)o)->set); }

static Value set_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kwnames) {
    bool frozen = t == vm->t_frozenset || (t != vm->t_set && type_is_subtype(t, vm->t_frozenset));
    const char *name = frozen ? "frozenset" : "set";
    if ((t == vm->t_set || t == vm->t_frozenset) && args_no_kw(vm, name, kwnames) < 0)
        return VAL_NULL;
    if (!frozen) return set_new(vm, t); // filled by __init__
    if (args_count(vm, name, nargs, 0, 1) < 0) return VAL_NULL;
    if (t == vm->t_frozenset && nargs == 1 && is_exact(args[0], vm->t_frozenset)) return args[0];
    return make_new_set(vm, t, nargs ? args[0] : VAL_NULL);
}

static Value m_init(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (is_exact(args[0], vm->t_set) && args_no_kw(vm, "set", kw) < 0) return VAL_NULL;
    if (args_count(vm, "set", nargs - 1, 0, 1) < 0) return VAL_NULL;
    SetObject *s = AS_SET(args[0]);
    clear_table(vm, s);
    if (nargs > 1 && update_internal(vm, s, args[1]) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value set_repr(EddyVM *vm, Value self) {
    SetObject *s = AS_SET(self);
    TypeObject *t = OBJ_TYPE(s);
    bool plain = t == vm->t_set;
    if (s->used == 0) return v_obj(str_format(vm, "%U()", t->name));
    if (s->hdr.obj_flags & SET_REPR_RUNNING) return v_obj(str_format(vm, "%U(...)", t->name));
    if (vm->c_depth >= vm->recursion_limit) {
        return vm_raise(vm, vm->exc_RecursionError,
                        "maximum recursion depth exceeded while getting the repr of an object");
    }
    // Snapshot the keys: a __repr__ may mutate the set.
    ListObject *keys = list_new(vm, s->used);
    if (!keys || vm_push_root(vm, v_obj(keys)) < 0) return VAL_NULL;
    size_t pos = 0;
    SetEntry *e;
    while (set_next(s, &pos, &e) && keys->len < keys->cap) keys->items[keys->len++] = e->key;
    StrBuf b;
    strbuf_init(vm, &b);
    vm->c_depth++;
    s->hdr.obj_flags |= SET_REPR_RUNNING;
    if (!plain) {
        strbuf_append_str(&b, t->name);
        strbuf_append_char(&b, '(');
    }
    strbuf_append_char(&b, '{');
    for (size_t i = 0; i < keys->len; i++) {
        if (i > 0) strbuf_append(&b, ", ", 2);
        Value r = vm_repr(vm, keys->items[i]);
        if (IS_NULL(r)) goto fail;
        strbuf_append_str(&b, AS_STR(r));
    }
    strbuf_append_char(&b, '}');
    if (!plain) strbuf_append_char(&b, ')');
    s->hdr.obj_flags &= ~SET_REPR_RUNNING;
    vm->c_depth--;
    vm_pop_roots(vm, 1);
    StrObject *str = strbuf_finish(&b);
    return str ? v_obj(str) : VAL_NULL;
fail:
    s->hdr.obj_flags &= ~SET_REPR_RUNNING;
    vm->c_depth--;
    vm_pop_roots(vm, 1);
    strbuf_discard(&b);
    return VAL_NULL;
}

static uint64_t shuffle_bits(uint64_t h) { return ((h ^ 89869747ULL) ^ (h << 16)) * 3644798167ULL; }

static int frozenset_hash(EddyVM *vm, Value self, int64_t *out) {
    SetObject *s = AS_SET(self);
    if (s->hash != -1) {
        *out = s->hash;
        return 0;
    }
    uint64_t hash = 0;
    if (s->table) {
        for (size_t i = 0; i <= s->mask; i++) hash ^= shuffle_bits((uint64_t)s->table[i].hash);
    }
    // Unallocated table: CPython's 8 unused entries hash to 0 each (even count).
    if (s->table && ((s->mask + 1 - s->fill) & 1)) hash ^= shuffle_bits(0);
    if ((s->fill - s->used) & 1) hash ^= shuffle_bits((uint64_t)-1);
    hash ^= ((uint64_t)s->used + 1) * 1927868237ULL;
    hash ^= (hash >> 11) ^ (hash >> 25);
    hash = hash * 69069U + 907133923ULL;
    if (hash == (uint64_t)-1) hash = 590923713ULL;
    s->hash = (int64_t)hash;
    *out = s->hash;
    return 0;
}

static Value set_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_anyset(vm, b)) return vm->not_implemented;
    SetObject *x = AS_SET(a), *y = AS_SET(b);
    int r;
    switch (op) {
    case CMP_EQ:
    case CMP_NE:
        if (x->used != y->used) {
            r = 0;
        } else if (x->hash != -1 && y->hash != -1 && x->hash != y->hash) {
            r = 0;
        } else {
            r = subset_of(vm, x, y);
        }
        if (r < 0) return VAL_NULL;
        return v_bool(op == CMP_EQ ? r : !r);
    case CMP_LE: r = subset_of(vm, x, y); break;
    case CMP_GE: r = subset_of(vm, y, x); break;
    case CMP_LT: r = x->used < y->used ? subset_of(vm, x, y) : 0; break;
    default: r = x->used > y->used ? subset_of(vm, y, x) : 0; break;
    }
    return r < 0 ? VAL_NULL : v_bool(r);
}

static int64_t set_len(EddyVM *vm, Value self) { return (int64_t)AS_SET(self)->used; }

static int set_contains_slot(EddyVM *vm, Value self, Value item) {
    return set_contains(vm, self, item);
}

static Value set_iter(EddyVM *vm, Value self) {
    SetIterObject *it = (SetIterObject *)obj_alloc(vm, vm->t_set_iterator, sizeof(SetIterObject));
    if (!it) return VAL_NULL;
    it->set = AS_SET(self);
    it->used = it->set->used;
    it->left = it->set->used;
    return v_obj(it);
}

static int set_iter_next(EddyVM *vm, Value self, Value *out) {
    SetIterObject *it = (SetIterObject *)AS_OBJ(self);
    SetObject *s = it->set;
    if (!s) return 0;
    if (s->used != it->used) {
        it->set = NULL;
        vm_raise(vm, vm->exc_RuntimeError, "Set changed size during iteration");
        return -1;
    }
    SetEntry *e;
    if (set_next(s, &it->pos, &e)) {
        it->left--;
        *out = e->key;
        return 1;
    }
    it->set = NULL;
    return 0;
}

static Value iter_self(EddyVM *vm, Value self) { return self; }

// ---------------------------------------------------------------------------
// Methods

static Value m_add(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "set.add", nargs - 1, 1, 1) < 0) return VAL_NULL;
    return set_add(vm, args[0], args[1]) < 0 ? VAL_NULL : VAL_NONE;
}

static Value m_discard(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "set.discard", nargs - 1, 1, 1) < 0) return VAL_NULL;
    Value key = args[1];
    int64_t hash;
    if (hash_or_frozen(vm, &key, &hash) < 0) return VAL_NULL;
    return discard_entry(vm, AS_SET(args[0]), key, hash) < 0 ? VAL_NULL : VAL_NONE;
}

static Value m_remove(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "set.remove", nargs - 1, 1, 1) < 0) return VAL_NULL;
    Value key = args[1];
    int64_t hash;
    if (hash_or_frozen(vm, &key, &hash) < 0) return VAL_NULL;
    int r = discard_entry(vm, AS_SET(args[0]), key, hash);
    if (r < 0) return VAL_NULL;
    if (r == 0) {
        TupleObject *t = tuple_from(vm, &args[1], 1);
        if (!t) return VAL_NULL;
        Value exc = exc_new(vm, vm->exc_KeyError, t);
        return IS_NULL(exc) ? VAL_NULL : vm_raise_value(vm, exc);
    }
    return VAL_NONE;
}

static Value m_pop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "set.pop", nargs - 1, 0, 0) < 0) return VAL_NULL;
    SetObject *s = AS_SET(args[0]);
    if (s->used == 0) return vm_raise(vm, vm->exc_KeyError, "pop from an empty set");
    SetEntry *e = &s->table[s->finger & s->mask];
    SetEntry *limit = &s->table[s->mask];
    while (IS_NULL(e->key)) {
        e++;
        if (e > limit) e = s->table;
    }
    Value key = e->key;
    e->key = VAL_NULL;
    e->hash = -1;
    s->used--;
    s->finger = (size_t)(e - s->table) + 1;
    return key;
}

static Value m_clear(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "set.clear", nargs - 1, 0, 0) < 0) return VAL_NULL;
    clear_table(vm, AS_SET(args[0]));
    return VAL_NONE;
}

static Value m_copy(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "copy", nargs - 1, 0, 0) < 0) return VAL_NULL;
    if (is_exact(args[0], vm->t_frozenset)) return args[0];
    return set_copy(vm, args[0]);
}

static Value m_update(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "set.update", kw) < 0) return VAL_NULL;
    for (int i = 1; i < nargs; i++)
        if (update_internal(vm, AS_SET(args[0]), args[i]) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value m_union(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "union", kw) < 0) return VAL_NULL;
    Value r = set_copy(vm, args[0]);
    if (IS_NULL(r) || vm_push_root(vm, r) < 0) return VAL_NULL;
    for (int i = 1; i < nargs; i++) {
        if (v_is(args[i], args[0])) continue;
        if (update_internal(vm, AS_SET(r), args[i]) < 0) {
            r = VAL_NULL;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return r;
}

static Value intersection_multi(EddyVM *vm, Value *args, int nargs) {
    if (nargs == 1) return set_copy(vm, args[0]);
    Value r = args[0];
    for (int i = 1; i < nargs; i++) {
        if (vm_push_root(vm, r) < 0) return VAL_NULL;
        Value n = intersection(vm, r, args[i]);
        vm_pop_roots(vm, 1);
        if (IS_NULL(n)) return VAL_NULL;
        r = n;
    }
    return r;
}

static Value m_intersection(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "intersection", kw) < 0) return VAL_NULL;
    return intersection_multi(vm, args, nargs);
}

static Value m_intersection_update(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "intersection_update", kw) < 0) return VAL_NULL;
    Value r = intersection_multi(vm, args, nargs);
    if (IS_NULL(r)) return VAL_NULL;
    swap_bodies(AS_SET(args[0]), AS_SET(r));
    return VAL_NONE;
}

static Value m_difference(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "difference", kw) < 0) return VAL_NULL;
    if (nargs == 1) return set_copy(vm, args[0]);
    Value r = difference(vm, args[0], args[1]);
    if (IS_NULL(r) || vm_push_root(vm, r) < 0) return VAL_NULL;
    for (int i = 2; i < nargs; i++) {
        if (difference_update_internal(vm, AS_SET(r), args[i]) < 0) {
            r = VAL_NULL;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return r;
}

static Value m_difference_update(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "difference_update", kw) < 0) return VAL_NULL;
    for (int i = 1; i < nargs; i++)
        if (difference_update_internal(vm, AS_SET(args[0]), args[i]) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value m_symmetric_difference(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "symmetric_difference", nargs - 1, 1, 1) < 0) return VAL_NULL;
    return symmetric_difference(vm, args[0], args[1]);
}

static Value m_symmetric_difference_update(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "symmetric_difference_update", nargs - 1, 1, 1) < 0) return VAL_NULL;
    if (symmetric_difference_update(vm, AS_SET(args[0]), args[1]) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value m_issubset(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "issubset", nargs - 1, 1, 1) < 0) return VAL_NULL;
    Value other = args[1];
    if (!is_anyset(vm, other)) {
        other = make_new_set(vm, vm->t_set, other);
        if (IS_NULL(other)) return VAL_NULL;
    }
    if (vm_push_root(vm, other) < 0) return VAL_NULL;
    int r = subset_of(vm, AS_SET(args[0]), AS_SET(other));
    vm_pop_roots(vm, 1);
    return r < 0 ? VAL_NULL : v_bool(r);
}

static Value m_issuperset(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "issuperset", nargs - 1, 1, 1) < 0) return VAL_NULL;
    if (is_anyset(vm, args[1])) {
        int r = subset_of(vm, AS_SET(args[1]), AS_SET(args[0]));
        return r < 0 ? VAL_NULL : v_bool(r);
    }
    Value it = vm_iter(vm, args[1]);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return VAL_NULL;
    Value result = VAL_TRUE;
    for (;;) {
        Value x;
        int r = vm_next(vm, it, &x);
        if (r == 0) break;
        if (r > 0) r = set_contains(vm, args[0], x) == 1 ? 2 : vm_err_occurred(vm) ? -1 : 3;
        if (r < 0) {
            result = VAL_NULL;
            break;
        }
        if (r == 3) {
            result = VAL_FALSE;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return result;
}

static Value m_isdisjoint(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "isdisjoint", nargs - 1, 1, 1) < 0) return VAL_NULL;
    Value a = args[0], b = args[1];
    if (v_is(a, b)) return v_bool(AS_SET(a)->used == 0);
    if (is_anyset(vm, b)) {
        SetObject *x = AS_SET(a), *y = AS_SET(b);
        if (x->used > y->used) {
            SetObject *t = x;
            x = y;
            y = t;
        }
        size_t pos = 0;
        SetEntry *e;
        while (set_next(x, &pos, &e)) {
            Value key = e->key;
            if (vm_push_root(vm, key) < 0) return VAL_NULL;
            int c = contains_entry(vm, y, key, e->hash);
            vm_pop_roots(vm, 1);
            if (c < 0) return VAL_NULL;
            if (c) return VAL_FALSE;
        }
        return VAL_TRUE;
    }
    Value it = vm_iter(vm, b);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return VAL_NULL;
    Value result = VAL_TRUE;
    for (;;) {
        Value x;
        int r = vm_next(vm, it, &x);
        if (r == 0) break;
        if (r > 0) {
            int64_t h;
            r = key_hash(vm, x, &h) < 0 ? -1 : contains_entry(vm, AS_SET(a), x, h);
            if (r == 1) {
                result = VAL_FALSE;
                break;
            }
        }
        if (r < 0) {
            result = VAL_NULL;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return result;
}

// Binary operators: both operands must be sets, else NotImplemented.
static Value m_or(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_anyset(vm, args[0]) || !is_anyset(vm, args[1])) return vm->not_implemented;
    Value r = set_copy(vm, args[0]);
    if (IS_NULL(r) || v_is(args[0], args[1]) || vm_push_root(vm, r) < 0) return r;
    int st = update_internal(vm, AS_SET(r), args[1]);
    vm_pop_roots(vm, 1);
    return st < 0 ? VAL_NULL : r;
}

static Value m_and(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_anyset(vm, args[0]) || !is_anyset(vm, args[1])) return vm->not_implemented;
    return intersection(vm, args[0], args[1]);
}

static Value m_sub(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_anyset(vm, args[0]) || !is_anyset(vm, args[1])) return vm->not_implemented;
    return difference(vm, args[0], args[1]);
}

static Value m_xor(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_anyset(vm, args[0]) || !is_anyset(vm, args[1])) return vm->not_implemented;
    return symmetric_difference(vm, args[0], args[1]);
}

// Reflected forms: other op self, where other is a set of another class.
static Value m_ror(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value sw[2] = {args[1], args[0]};
    return m_or(vm, sw, 2, NULL);
}
static Value m_rand(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value sw[2] = {args[1], args[0]};
    return m_and(vm, sw, 2, NULL);
}
static Value m_rsub(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value sw[2] = {args[1], args[0]};
    return m_sub(vm, sw, 2, NULL);
}
static Value m_rxor(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value sw[2] = {args[1], args[0]};
    return m_xor(vm, sw, 2, NULL);
}

static Value m_ior(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_anyset(vm, args[1])) return vm->not_implemented;
    return update_internal(vm, AS_SET(args[0]), args[1]) < 0 ? VAL_NULL : args[0];
}

static Value m_iand(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_anyset(vm, args[1])) return vm->not_implemented;
    Value r = m_intersection_update(vm, args, 2, NULL);
    return IS_NULL(r) ? r : args[0];
}

static Value m_isub(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_anyset(vm, args[1])) return vm->not_implemented;
    return difference_update_internal(vm, AS_SET(args[0]), args[1]) < 0 ? VAL_NULL : args[0];
}

static Value m_ixor(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_anyset(vm, args[1])) return vm->not_implemented;
    return symmetric_difference_update(vm, AS_SET(args[0]), args[1]) < 0 ? VAL_NULL : args[0];
}

static Value m_len(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return v_int((int64_t)AS_SET(args[0])->used);
}

static Value m_contains(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__contains__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    int r = set_contains(vm, args[0], args[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}

static Value m_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return set_iter(vm, args[0]);
}

static Value m_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return set_repr(vm, args[0]);
}

static Value m_hash(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    int64_t h;
    return frozenset_hash(vm, args[0], &h) < 0 ? VAL_NULL : v_int(h);
}

static Value m_iter_self(EddyVM *vm, Value *args, int nargs, TupleObject *kw) { return args[0]; }

static Value m_iter_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value out;
    int r = set_iter_next(vm, args[0], &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return vm_raise_value(vm, v_obj(vm->exc_StopIteration));
    return out;
}

static Value m_iter_length_hint(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    SetIterObject *it = (SetIterObject *)AS_OBJ(args[0]);
    return v_int(it->set && it->set->used == it->used ? (int64_t)it->left : 0);
}

// ---------------------------------------------------------------------------

typedef struct MethodDef {
    const char *name;
    NativeFn fn;
} MethodDef;

static int add_methods(EddyVM *vm, TypeObject *t, const MethodDef *m, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (type_add_method(vm, t, m[i].name, m[i].fn, NATIVE_METHOD) < 0) return -1;
    return 0;
}

int set_init_types(EddyVM *vm) {
    static const MethodDef common[] = {
        {"__len__", m_len},
        {"__contains__", m_contains},
        {"__iter__", m_iter},
        {"__repr__", m_repr},
        {"__or__", m_or},
        {"__and__", m_and},
        {"__sub__", m_sub},
        {"__xor__", m_xor},
        {"__ror__", m_ror},
        {"__rand__", m_rand},
        {"__rsub__", m_rsub},
        {"__rxor__", m_rxor},
        {"copy", m_copy},
        {"union", m_union},
        {"intersection", m_intersection},
        {"difference", m_difference},
        {"symmetric_difference", m_symmetric_difference},
        {"issubset", m_issubset},
        {"issuperset", m_issuperset},
        {"isdisjoint", m_isdisjoint},
    };
    static const MethodDef mutating[] = {
        {"__init__", m_init},
        {"__ior__", m_ior},
        {"__iand__", m_iand},
        {"__isub__", m_isub},
        {"__ixor__", m_ixor},
        {"add", m_add},
        {"discard", m_discard},
        {"remove", m_remove},
        {"pop", m_pop},
        {"clear", m_clear},
        {"update", m_update},
        {"intersection_update", m_intersection_update},
        {"difference_update", m_difference_update},
        {"symmetric_difference_update", m_symmetric_difference_update},
    };
    TypeObject *types[2] = {vm->t_set, vm->t_frozenset};
    for (int k = 0; k < 2; k++) {
        TypeObject *t =
            type_new_builtin(vm, types[k], vm->t_object, sizeof(SetObject), TPF_BASETYPE);
        if (!t) return -1;
        t->trace = set_trace;
        t->finalize = set_finalize;
        t->new_ = set_new_slot;
        t->repr = set_repr;
        t->richcompare = set_richcompare;
        t->len = set_len;
        t->contains = set_contains_slot;
        t->iter = set_iter;
        if (add_methods(vm, t, common, sizeof common / sizeof common[0]) < 0) return -1;
        if (k == 0) {
            t->hash = NULL;
            if (add_methods(vm, t, mutating, sizeof mutating / sizeof mutating[0]) < 0) return -1;
        } else {
            t->hash = frozenset_hash;
            if (type_add_method(vm, t, "__hash__", m_hash, NATIVE_METHOD) < 0) return -1;
        }
    }
    TypeObject *it =
        type_new_builtin(vm, vm->t_set_iterator, vm->t_object, sizeof(SetIterObject), 0);
    if (!it) return -1;
    it->trace = iter_trace;
    it->iter = iter_self;
    it->next = set_iter_next;
    static const MethodDef itm[] = {
        {"__iter__", m_iter_self},
        {"__next__", m_iter_next},
        {"__length_hint__", m_iter_length_hint},
    };
    return add_methods(vm, it, itm, sizeof itm / sizeof itm[0]);
}
