// obj_dict.c - dict, its views (keys/values/items) and their iterators.
//
// Layout (CPython's compact dict): `entries` holds the items in insertion
// order, `index` is an open-addressing table of int32 entry numbers
// (-1 empty, -2 dummy) probed with CPython's perturbation scheme. Both live
// in ONE block: index_cap int32s followed by usable(index_cap) entries, so a
// resize is one allocation. A deleted entry keeps its slot (key V_NULL) until
// the next resize compacts the entries; dummies are never reused, as in 3.11.
//
// Look-ups hash ints and exact strs inline and compare them without calling
// out; any other key goes through vm_hash/vm_eq, which may run script code
// that mutates the dict: after such a call the probe restarts if the table
// or the entry changed (CPython's rule), so a mutating __eq__ cannot crash us.
#include <string.h>

#include "opcodes.h"
#include "vm.h"

#define DICT_MINSIZE 8
#define PERTURB_SHIFT 5
#define IX_EMPTY (-1)
#define IX_DUMMY (-2)
// Set in Obj.obj_flags while the dict's repr is being built ("{...}").
#define DICT_REPR_RUNNING 0x8000u

static inline size_t usable(size_t index_cap) { return (index_cap << 1) / 3; }
static inline size_t block_size(size_t index_cap) {
    return index_cap * sizeof(int32_t) + usable(index_cap) * sizeof(DictEntry);
}

typedef struct DictViewObject {
    Obj hdr;
    DictObject *dict;
} DictViewObject;

typedef struct DictIterObject {
    Obj hdr;
    DictObject *dict; // NULL once exhausted
    size_t pos;       // next entry number
    size_t len;       // dict's len when created ("changed size" detection)
} DictIterObject;

static bool is_dict(Value v) {
    return IS_OBJ(v) && (OBJ_TYPE(AS_OBJ(v))->flags & TPF_DICT_SUBCLASS);
}

// ---------------------------------------------------------------------------
// Hashing

// CPython's hash of an int that fits in int64: the value itself while it is
// below the modulus 2**61-1 (and -1 -> -2); larger ones go to obj_int.c.
static inline int64_t small_int_hash(int64_t i) {
    const int64_t mod = ((int64_t)1 << 61) - 1;
    if (EDDY_LIKELY(i > -mod && i < mod)) return i == -1 ? -2 : i;
    return int_hash(v_int(i));
}

static inline bool is_exact_str(EddyVM *vm, Value v) {
    return IS_OBJ(v) && OBJ_TYPE(AS_OBJ(v)) == vm->t_str;
}

static inline int64_t str_hash_cached(StrObject *s) {
    return s->hash != -1 ? s->hash : str_hash(s);
}

static inline int key_hash(EddyVM *vm, Value key, int64_t *out) {
    if (IS_INT(key)) {
        *out = small_int_hash(AS_INT(key));
        return 0;
    }
    if (is_exact_str(vm, key)) {
        *out = str_hash_cached(AS_STR(key));
        return 0;
    }
    return vm_hash(vm, key, out);
}

static inline bool str_same(StrObject *a, StrObject *b) {
    if (a == b) return true;
    size_t n = a->len;
    // Two distinct interned strs never hold the same bytes.
    if (n != b->len || (a->interned && b->interned)) return false;
    const char *p = a->data, *q = b->data;
    // Short keys (the common case): overlapping word loads, no libc call.
    if (n >= 8 && n <= 16) {
        uint64_t x, y, u, w;
        memcpy(&x, p, 8);
        memcpy(&y, q, 8);
        memcpy(&u, p + n - 8, 8);
        memcpy(&w, q + n - 8, 8);
        return ((x ^ y) | (u ^ w)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t x, y, u, w;
        memcpy(&x, p, 4);
        memcpy(&y, q, 4);
        memcpy(&u, p + n - 4, 4);
        memcpy(&w, q + n - 4, 4);
        return ((x ^ y) | (u ^ w)) == 0;
    }
    return memcmp(p, q, n) == 0;
}

// ---------------------------------------------------------------------------
// Table management

// Allocate a table of index_cap slots (power of two >= 8) and move the live
// entries of d into it in order.
static int resize(EddyVM *vm, DictObject *d, size_t index_cap) {
    size_t size = block_size(index_cap);
    char *block = mem_alloc(vm, size);
    if (!block) return -1;
    int32_t *index = (int32_t *)block;
    DictEntry *entries = (DictEntry *)(block + index_cap * sizeof(int32_t));
    memset(index, 0xff, index_cap * sizeof(int32_t)); // all IX_EMPTY
    size_t mask = index_cap - 1, n = 0;
    for (size_t k = 0; k < d->nentries; k++) {
        DictEntry *e = &d->entries[k];
        if (IS_NULL(e->key)) continue;
        entries[n] = *e;
        size_t perturb = (size_t)e->hash, i = (size_t)e->hash & mask;
        while (index[i] != IX_EMPTY) {
            perturb >>= PERTURB_SHIFT;
            i = (i * 5 + perturb + 1) & mask;
        }
        index[i] = (int32_t)n++;
    }
    if (d->index) mem_free(vm, d->index, block_size(d->index_cap));
    d->index = index;
    d->entries = entries;
    d->index_cap = index_cap;
    d->entry_cap = usable(index_cap);
    d->nentries = n;
    return 0;
}

// Table size for `n` live items plus growth room (CPython's GROWTH_RATE).
static size_t size_for(size_t n) {
    size_t want = n * 3, cap = DICT_MINSIZE;
    while (cap < want) cap <<= 1;
    return cap;
}

static int grow(EddyVM *vm, DictObject *d) {
    if (d->len > (size_t)INT32_MAX / 4) {
        vm_raise_nomem(vm);
        return -1;
    }
    return resize(vm, d, size_for(d->len));
}

// First empty index slot for hash (dummies are skipped, never reused).
static inline size_t find_empty_slot(DictObject *d, int64_t hash) {
    size_t mask = d->index_cap - 1;
    size_t perturb = (size_t)hash, i = (size_t)hash & mask;
    while (d->index[i] != IX_EMPTY) {
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
    return i;
}

// Index slot that holds entry number ix (which must be present).
static size_t find_slot_of(DictObject *d, int64_t hash, size_t ix) {
    size_t mask = d->index_cap - 1;
    size_t perturb = (size_t)hash, i = (size_t)hash & mask;
    while (d->index[i] != (int32_t)ix) {
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
    return i;
}

// Find key: entry number >= 0, -1 absent, -2 error. May run script code.
// *slot gets the index slot the probe ended at: the key's (for delete_at) or,
// when absent, the empty one (for insert_at), so neither probes again.
static int64_t lookup_at(EddyVM *vm, DictObject *d, Value key, int64_t hash, size_t *slot) {
restart:
    if (d->index_cap == 0) return -1;
    size_t mask = d->index_cap - 1;
    size_t perturb = (size_t)hash, i = (size_t)hash & mask;
    for (;;) {
        int32_t ix = d->index[i];
        if (ix == IX_EMPTY) {
            *slot = i;
            return -1;
        }
        if (ix >= 0) {
            DictEntry *e = &d->entries[ix];
            Value ek = e->key;
            if (v_is(ek, key)) goto found;
            if (e->hash == hash) {
                if (ek.tag == key.tag) {
                    if (ek.tag == V_INT) goto next; // distinct small ints
                    if (is_exact_str(vm, ek) && is_exact_str(vm, key)) {
                        if (str_same(AS_STR(ek), AS_STR(key))) goto found;
                        goto next;
                    }
                }
                DictEntry *entries = d->entries;
                int eq = vm_eq(vm, ek, key);
                if (eq < 0) return -2;
                // The comparison ran code: if it changed the table, start over.
                if (d->entries != entries || d->index_cap - 1 != mask ||
                    (size_t)ix >= d->nentries || !v_is(d->entries[ix].key, ek))
                    goto restart;
                if (eq) goto found;
            }
        }
    next:
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
        continue;
    found:
        *slot = i;
        return ix;
    }
}

static inline int64_t lookup(EddyVM *vm, DictObject *d, Value key, int64_t hash) {
    size_t slot;
    return lookup_at(vm, d, key, hash, &slot);
}

// Small-int key: only the tag and value need comparing, except that an
// equal-hash key of another type (True, 1.0, ...) may be equal: defer those
// to the generic path.
static inline int64_t lookup_int(EddyVM *vm, DictObject *d, Value key, int64_t hash, size_t *slot) {
    if (d->index_cap == 0) return -1;
    size_t mask = d->index_cap - 1;
    size_t perturb = (size_t)hash, i = (size_t)hash & mask;
    int64_t k = AS_INT(key);
    for (;;) {
        int32_t ix = d->index[i];
        if (ix == IX_EMPTY) {
            *slot = i;
            return -1;
        }
        if (ix >= 0) {
            DictEntry *e = &d->entries[ix];
            if (e->key.tag == V_INT) {
                if (AS_INT(e->key) == k) {
                    *slot = i;
                    return ix;
                }
            } else if (e->hash == hash && !IS_NULL(e->key)) {
                return lookup_at(vm, d, key, hash, slot);
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
}

// lookup_at with the int fast path.
static inline int64_t lookup_any(EddyVM *vm, DictObject *d, Value key, int64_t hash, size_t *slot) {
    if (IS_INT(key)) return lookup_int(vm, d, key, hash, slot);
    return lookup_at(vm, d, key, hash, slot);
}

// Find an exact-str key without running code (non-str keys never match).
// *slot as for lookup_at.
static inline int64_t lookup_str(EddyVM *vm, DictObject *d, StrObject *key, int64_t hash,
                                 size_t *slot) {
    if (d->index_cap == 0) return -1;
    size_t mask = d->index_cap - 1;
    size_t perturb = (size_t)hash, i = (size_t)hash & mask;
    for (;;) {
        int32_t ix = d->index[i];
        if (ix == IX_EMPTY) {
            *slot = i;
            return -1;
        }
        if (ix >= 0) {
            DictEntry *e = &d->entries[ix];
            if (IS_OBJ(e->key)) {
                Obj *o = AS_OBJ(e->key);
                if (o == (Obj *)key || (e->hash == hash && (o->type->flags & TPF_STR_SUBCLASS) &&
                                        str_same((StrObject *)o, key))) {
                    *slot = i;
                    return ix;
                }
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i * 5 + perturb + 1) & mask;
    }
}

// Append a new entry for a key known to be absent; slot is the empty index
// slot a lookup just found for it (stale only if the table must grow).
static int insert_at(EddyVM *vm, DictObject *d, Value key, int64_t hash, Value v, size_t slot) {
    if (EDDY_UNLIKELY(d->nentries >= d->entry_cap)) {
        if (grow(vm, d) < 0) return -1;
        slot = find_empty_slot(d, hash);
    }
    d->index[slot] = (int32_t)d->nentries;
    DictEntry *e = &d->entries[d->nentries++];
    e->hash = hash;
    e->key = key;
    e->value = v;
    d->len++;
    d->version++;
    return 0;
}

// Append a new entry for a key known to be absent.
static int insert_new(EddyVM *vm, DictObject *d, Value key, int64_t hash, Value v) {
    if (EDDY_UNLIKELY(d->nentries >= d->entry_cap) && grow(vm, d) < 0) return -1;
    return insert_at(vm, d, key, hash, v, find_empty_slot(d, hash));
}

static int set_with_hash(EddyVM *vm, DictObject *d, Value key, int64_t hash, Value v) {
    size_t slot = 0;
    int64_t ix = lookup_any(vm, d, key, hash, &slot);
    if (ix == -2) return -1;
    if (ix >= 0) {
        d->entries[ix].value = v;
        d->version++;
        return 0;
    }
    return insert_at(vm, d, key, hash, v, slot);
}

// Delete entry ix, which index slot `slot` points at.
static void delete_at(DictObject *d, size_t slot, size_t ix) {
    d->index[slot] = IX_DUMMY;
    d->entries[ix].key = VAL_NULL;
    d->entries[ix].value = VAL_NULL;
    d->len--;
    d->version++;
}

static void delete_entry(DictObject *d, int64_t hash, size_t ix) {
    delete_at(d, find_slot_of(d, hash, ix), ix);
}

// ---------------------------------------------------------------------------
// C API

static DictObject *dict_alloc(EddyVM *vm, TypeObject *t) {
    size_t size = t->instance_size > sizeof(DictObject) ? t->instance_size : sizeof(DictObject);
    return (DictObject *)obj_alloc(vm, t, size);
}

DictObject *dict_new(EddyVM *vm) { return dict_alloc(vm, vm->t_dict); }

int dict_get(EddyVM *vm, DictObject *d, Value key, Value *out) {
    int64_t hash;
    if (key_hash(vm, key, &hash) < 0) return -1;
    size_t slot;
    int64_t ix = lookup_any(vm, d, key, hash, &slot);
    if (ix < 0) return ix == -1 ? 0 : -1;
    *out = d->entries[ix].value;
    return 1;
}

int dict_set(EddyVM *vm, DictObject *d, Value key, Value v) {
    int64_t hash;
    if (key_hash(vm, key, &hash) < 0) return -1;
    return set_with_hash(vm, d, key, hash, v);
}

int dict_del(EddyVM *vm, DictObject *d, Value key) {
    int64_t hash;
    if (key_hash(vm, key, &hash) < 0) return -1;
    size_t slot;
    int64_t ix = lookup_any(vm, d, key, hash, &slot);
    if (ix < 0) return ix == -1 ? 0 : -1;
    delete_at(d, slot, (size_t)ix);
    return 1;
}

Value dict_get_str(DictObject *d, StrObject *key) {
    size_t slot;
    int64_t ix = lookup_str(NULL, d, key, str_hash_cached(key), &slot);
    return ix >= 0 ? d->entries[ix].value : VAL_NULL;
}

int dict_set_str(EddyVM *vm, DictObject *d, StrObject *key, Value v) {
    int64_t hash = str_hash_cached(key);
    size_t slot = 0;
    int64_t ix = lookup_str(vm, d, key, hash, &slot);
    if (ix >= 0) {
        d->entries[ix].value = v;
        d->version++;
        return 0;
    }
    return insert_at(vm, d, v_obj(key), hash, v, slot);
}

int dict_del_str(EddyVM *vm, DictObject *d, StrObject *key) {
    int64_t hash = str_hash_cached(key);
    size_t slot;
    int64_t ix = lookup_str(vm, d, key, hash, &slot);
    if (ix < 0) return 0;
    delete_at(d, slot, (size_t)ix);
    return 1;
}

bool dict_next(DictObject *d, size_t *pos, Value *key, Value *value) {
    while (*pos < d->nentries) {
        DictEntry *e = &d->entries[(*pos)++];
        if (!IS_NULL(e->key)) {
            if (key) *key = e->key;
            if (value) *value = e->value;
            return true;
        }
    }
    return false;
}

// Copy d's live entries into the empty dict r (no comparisons needed).
static int copy_into(EddyVM *vm, DictObject *r, DictObject *d) {
    if (d->len == 0) return 0;
    size_t cap = DICT_MINSIZE;
    while (usable(cap) < d->len) cap <<= 1;
    size_t size = block_size(cap);
    char *block = mem_alloc(vm, size);
    if (!block) return -1;
    r->index = (int32_t *)block;
    r->entries = (DictEntry *)(block + cap * sizeof(int32_t));
    r->index_cap = cap;
    r->entry_cap = usable(cap);
    memset(r->index, 0xff, cap * sizeof(int32_t));
    size_t n = 0;
    for (size_t k = 0; k < d->nentries; k++) {
        DictEntry *e = &d->entries[k];
        if (IS_NULL(e->key)) continue;
        r->entries[n] = *e;
        r->index[find_empty_slot(r, e->hash)] = (int32_t)n;
        n++;
    }
    r->nentries = r->len = n;
    r->version++;
    return 0;
}

DictObject *dict_copy(EddyVM *vm, DictObject *d) {
    DictObject *r = dict_new(vm);
    if (!r || copy_into(vm, r, d) < 0) return NULL;
    return r;
}

// Values that may be freed if script code drops them need rooting across
// calls; ints, floats, None, bools and exact strs in a live dict never run code.
static inline bool trivial_key(EddyVM *vm, Value k) { return !IS_OBJ(k) || is_exact_str(vm, k); }

// d.update(other dict): entries carry their hash, so no re-hashing.
static int merge_dict(EddyVM *vm, DictObject *d, DictObject *src) {
    if (d->nentries == 0 && src != d && d->index == NULL) return copy_into(vm, d, src);
    for (size_t k = 0; k < src->nentries; k++) {
        DictEntry *e = &src->entries[k];
        if (IS_NULL(e->key)) continue;
        Value key = e->key, value = e->value;
        if (trivial_key(vm, key)) {
            if (set_with_hash(vm, d, key, e->hash, value) < 0) return -1;
            continue;
        }
        if (vm_push_root(vm, key) < 0) return -1;
        if (vm_push_root(vm, value) < 0) {
            vm_pop_roots(vm, 1);
            return -1;
        }
        int r = set_with_hash(vm, d, key, e->hash, value);
        vm_pop_roots(vm, 2);
        if (r < 0) return -1;
    }
    return 0;
}

// d.update(seq of pairs)
static int merge_pairs(EddyVM *vm, DictObject *d, Value seq) {
    Value it = vm_iter(vm, seq);
    if (IS_NULL(it)) return -1;
    if (vm_push_root(vm, it) < 0) return -1;
    int status = -1;
    for (int64_t n = 0;; n++) {
        Value item;
        int r = vm_next(vm, it, &item);
        if (r < 0) goto done;
        if (r == 0) break;
        Value pair;
        if (is_exact(item, vm->t_tuple) || is_exact(item, vm->t_list)) {
            pair = item;
        } else {
            if (vm_push_root(vm, item) < 0) goto done;
            pair = vm_sequence_to_tuple(vm, item);
            vm_pop_roots(vm, 1);
            if (IS_NULL(pair)) {
                if (vm_err_matches(vm, vm->exc_TypeError)) {
                    vm_err_clear(vm);
                    vm_raise(
                        vm, vm->exc_TypeError,
                        "cannot convert dictionary update sequence element #%lld to a sequence",
                        (long long)n);
                }
                goto done;
            }
        }
        size_t plen = is_exact(pair, vm->t_list) ? AS_LIST(pair)->len : AS_TUPLE(pair)->len;
        const Value *pv = is_exact(pair, vm->t_list) ? AS_LIST(pair)->items : AS_TUPLE(pair)->items;
        if (plen != 2) {
            vm_raise(vm, vm->exc_ValueError,
                     "dictionary update sequence element #%lld has length %zu; 2 is required",
                     (long long)n, plen);
            goto done;
        }
        if (vm_push_root(vm, pair) < 0) goto done;
        r = dict_set(vm, d, pv[0], pv[1]);
        vm_pop_roots(vm, 1);
        if (r < 0) goto done;
    }
    status = 0;
done:
    vm_pop_roots(vm, 1);
    return status;
}

// d.update(mapping with keys()): d[k] = m[k] for k in m.keys()
static int merge_mapping(EddyVM *vm, DictObject *d, Value m) {
    Value keys = vm_call_method(vm, m, vm->names.keys, NULL, 0);
    if (IS_NULL(keys)) return -1;
    if (vm_push_root(vm, keys) < 0) return -1;
    Value it = vm_iter(vm, keys);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) {
        vm_pop_roots(vm, 1);
        return -1;
    }
    int status = -1;
    for (;;) {
        Value k;
        int r = vm_next(vm, it, &k);
        if (r < 0) goto done;
        if (r == 0) break;
        if (vm_push_root(vm, k) < 0) goto done;
        Value v = vm_getitem(vm, m, k);
        if (IS_NULL(v) || vm_push_root(vm, v) < 0) {
            vm_pop_roots(vm, 1);
            goto done;
        }
        r = dict_set(vm, d, k, v);
        vm_pop_roots(vm, 2);
        if (r < 0) goto done;
    }
    status = 0;
done:
    vm_pop_roots(vm, 2);
    return status;
}

// True when v is a dict whose keys() and iteration are the builtin ones, so
// its entries can be copied directly (CPython's PyDict_Merge fast path).
static bool plain_dict(EddyVM *vm, Value v) {
    if (!is_dict(v)) return false;
    TypeObject *t = OBJ_TYPE(AS_OBJ(v));
    if (t == vm->t_dict) return true;
    return t->iter == vm->t_dict->iter &&
           v_is(type_lookup(vm, t, vm->names.keys), type_lookup(vm, vm->t_dict, vm->names.keys));
}

int dict_update(EddyVM *vm, DictObject *d, Value arg) {
    if (plain_dict(vm, arg)) return merge_dict(vm, d, AS_DICT(arg));
    int has_keys = !IS_NULL(type_lookup(vm, vm_type_of(vm, arg), vm->names.keys));
    if (has_keys) return merge_mapping(vm, d, arg);
    return merge_pairs(vm, d, arg);
}

// ---------------------------------------------------------------------------
// GC

static void dict_trace(EddyVM *vm, Obj *o) {
    DictObject *d = (DictObject *)o;
    for (size_t k = 0; k < d->nentries; k++) {
        DictEntry *e = &d->entries[k];
        if (IS_NULL(e->key)) continue;
        gc_mark_value(vm, e->key);
        gc_mark_value(vm, e->value);
    }
}

static void dict_finalize(EddyVM *vm, Obj *o) {
    DictObject *d = (DictObject *)o;
    if (d->index) mem_free(vm, d->index, block_size(d->index_cap));
    d->index = NULL;
    d->entries = NULL;
    d->index_cap = d->entry_cap = d->nentries = d->len = 0;
}

static void clear(EddyVM *vm, DictObject *d) {
    dict_finalize(vm, (Obj *)d);
    d->version++;
}

static void view_trace(EddyVM *vm, Obj *o) { gc_mark_obj(vm, (Obj *)((DictViewObject *)o)->dict); }
static void iter_trace(EddyVM *vm, Obj *o) { gc_mark_obj(vm, (Obj *)((DictIterObject *)o)->dict); }

// ---------------------------------------------------------------------------
// Slots

static Value raise_key_error(EddyVM *vm, Value key) {
    TupleObject *args = tuple_from(vm, &key, 1);
    if (!args) return VAL_NULL;
    Value exc = exc_new(vm, vm->exc_KeyError, args);
    if (IS_NULL(exc)) return VAL_NULL;
    return vm_raise_value(vm, exc);
}

static Value dict_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs,
                           TupleObject *kwnames) {
    DictObject *d = dict_alloc(vm, t);
    return d ? v_obj(d) : VAL_NULL;
}

// Shared by __init__ and update(): positional mapping/pairs, then keywords.
static int update_common(EddyVM *vm, DictObject *d, Value *args, int nargs, TupleObject *kw,
                         const char *fname) {
    if (args_count(vm, fname, nargs, 0, 1) < 0) return -1;
    if (nargs == 1 && dict_update(vm, d, args[0]) < 0) return -1;
    if (kw) {
        for (size_t i = 0; i < kw->len; i++)
            if (dict_set(vm, d, kw->items[i], args[nargs + i]) < 0) return -1;
    }
    return 0;
}

static Value m_init(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (update_common(vm, AS_DICT(args[0]), args + 1, nargs - 1, kw, "dict") < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value dict_repr(EddyVM *vm, Value self) {
    DictObject *d = AS_DICT(self);
    if (d->len == 0) return v_obj(str_from_cstr(vm, "{}"));
    if (d->hdr.obj_flags & DICT_REPR_RUNNING) return v_obj(str_from_cstr(vm, "{...}"));
    if (vm->c_depth >= vm->recursion_limit) {
        return vm_raise(vm, vm->exc_RecursionError,
                        "maximum recursion depth exceeded while getting the repr of an object");
    }
    StrBuf b;
    strbuf_init(vm, &b);
    vm->c_depth++;
    d->hdr.obj_flags |= DICT_REPR_RUNNING;
    size_t roots = 0;
    strbuf_append_char(&b, '{');
    bool first = true;
    for (size_t k = 0; k < d->nentries; k++) {
        DictEntry *e = &d->entries[k];
        if (IS_NULL(e->key)) continue;
        Value key = e->key, value = e->value;
        // Keep the pair alive: a __repr__ may delete it from the dict.
        if (vm_push_root(vm, key) < 0 || (roots++, vm_push_root(vm, value) < 0)) goto fail;
        roots++;
        if (!first) strbuf_append(&b, ", ", 2);
        first = false;
        Value r = vm_repr(vm, key);
        if (IS_NULL(r)) goto fail;
        strbuf_append_str(&b, AS_STR(r));
        strbuf_append(&b, ": ", 2);
        r = vm_repr(vm, value);
        if (IS_NULL(r)) goto fail;
        strbuf_append_str(&b, AS_STR(r));
        vm_pop_roots(vm, 2);
        roots = 0;
    }
    strbuf_append_char(&b, '}');
    d->hdr.obj_flags &= ~DICT_REPR_RUNNING;
    vm->c_depth--;
    StrObject *s = strbuf_finish(&b);
    return s ? v_obj(s) : VAL_NULL;
fail:
    vm_pop_roots(vm, roots);
    d->hdr.obj_flags &= ~DICT_REPR_RUNNING;
    vm->c_depth--;
    strbuf_discard(&b);
    return VAL_NULL;
}

// a == b for dicts: 1/0/-1
static int dict_equal(EddyVM *vm, DictObject *a, DictObject *b) {
    if (a->len != b->len) return 0;
    for (size_t k = 0; k < a->nentries; k++) {
        DictEntry *e = &a->entries[k];
        if (IS_NULL(e->key)) continue;
        Value key = e->key, av = e->value;
        int64_t hash = e->hash;
        if (vm_push_root(vm, key) < 0) return -1;
        if (vm_push_root(vm, av) < 0) {
            vm_pop_roots(vm, 1);
            return -1;
        }
        int64_t ix = lookup(vm, b, key, hash);
        int r;
        if (ix == -2) {
            r = -1;
        } else if (ix == -1) {
            r = 0;
        } else {
            Value bv = b->entries[ix].value;
            r = (IS_INT(av) && IS_INT(bv)) ? AS_INT(av) == AS_INT(bv) : vm_eq(vm, av, bv);
        }
        vm_pop_roots(vm, 2);
        if (r <= 0) return r;
        if (a->len != b->len) return 0;
    }
    return 1;
}

static Value dict_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (!is_dict(a) || !is_dict(b) || (op != CMP_EQ && op != CMP_NE)) return vm->not_implemented;
    if (vm->c_depth >= vm->recursion_limit)
        return vm_raise(vm, vm->exc_RecursionError,
                        "maximum recursion depth exceeded in comparison");
    vm->c_depth++;
    int r = dict_equal(vm, AS_DICT(a), AS_DICT(b));
    vm->c_depth--;
    if (r < 0) return VAL_NULL;
    return v_bool(op == CMP_EQ ? r : !r);
}

static int64_t dict_len(EddyVM *vm, Value self) { return (int64_t)AS_DICT(self)->len; }

static Value dict_getitem(EddyVM *vm, Value self, Value key) {
    DictObject *d = AS_DICT(self);
    int64_t hash;
    if (key_hash(vm, key, &hash) < 0) return VAL_NULL;
    size_t slot;
    int64_t ix = lookup_any(vm, d, key, hash, &slot);
    if (EDDY_LIKELY(ix >= 0)) return d->entries[ix].value;
    if (ix == -2) return VAL_NULL;
    if (OBJ_TYPE(d) != vm->t_dict) {
        Value missing = type_lookup(vm, OBJ_TYPE(d), vm->names.__missing__);
        if (!IS_NULL(missing)) return vm_call_method(vm, self, vm->names.__missing__, &key, 1);
    }
    return raise_key_error(vm, key);
}

static int dict_setitem(EddyVM *vm, Value self, Value key, Value v) {
    DictObject *d = AS_DICT(self);
    if (!IS_NULL(v)) return dict_set(vm, d, key, v);
    int r = dict_del(vm, d, key);
    if (r == 0) {
        raise_key_error(vm, key);
        return -1;
    }
    return r < 0 ? -1 : 0;
}

static int dict_contains(EddyVM *vm, Value self, Value key) {
    int64_t hash;
    if (key_hash(vm, key, &hash) < 0) return -1;
    size_t slot;
    int64_t ix = lookup_any(vm, AS_DICT(self), key, hash, &slot);
    return ix >= 0 ? 1 : ix == -1 ? 0 : -1;
}

// ---------------------------------------------------------------------------
// Iterators

static Value make_iter(EddyVM *vm, TypeObject *t, DictObject *d) {
    DictIterObject *it = (DictIterObject *)obj_alloc(vm, t, sizeof(DictIterObject));
    if (!it) return VAL_NULL;
    it->dict = d;
    it->pos = 0;
    it->len = d->len;
    return v_obj(it);
}

static Value dict_iter(EddyVM *vm, Value self) {
    return make_iter(vm, vm->t_dict_keyiterator, AS_DICT(self));
}

// Advance to the next live entry: 1 found, 0 done, -1 error.
static inline int iter_step(EddyVM *vm, DictIterObject *it, DictEntry **out) {
    DictObject *d = it->dict;
    if (!d) return 0;
    if (EDDY_UNLIKELY(d->len != it->len)) {
        it->dict = NULL;
        vm_raise(vm, vm->exc_RuntimeError, "dictionary changed size during iteration");
        return -1;
    }
    while (it->pos < d->nentries) {
        DictEntry *e = &d->entries[it->pos++];
        if (!IS_NULL(e->key)) {
            *out = e;
            return 1;
        }
    }
    it->dict = NULL;
    return 0;
}

static int keyiter_next(EddyVM *vm, Value self, Value *out) {
    DictEntry *e;
    int r = iter_step(vm, (DictIterObject *)AS_OBJ(self), &e);
    if (r == 1) *out = e->key;
    return r;
}

static int valueiter_next(EddyVM *vm, Value self, Value *out) {
    DictEntry *e;
    int r = iter_step(vm, (DictIterObject *)AS_OBJ(self), &e);
    if (r == 1) *out = e->value;
    return r;
}

static int itemiter_next(EddyVM *vm, Value self, Value *out) {
    DictEntry *e;
    int r = iter_step(vm, (DictIterObject *)AS_OBJ(self), &e);
    if (r == 1) {
        Value pair[2] = {e->key, e->value};
        TupleObject *t = tuple_from(vm, pair, 2);
        if (!t) return -1;
        *out = v_obj(t);
    }
    return r;
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
    DictIterObject *it = (DictIterObject *)AS_OBJ(args[0]);
    if (!it->dict || it->dict->len != it->len) return v_int(0);
    int64_t seen = 0;
    for (size_t k = 0; k < it->pos && k < it->dict->nentries; k++)
        seen += !IS_NULL(it->dict->entries[k].key);
    return v_int((int64_t)it->len - seen);
}

// ---------------------------------------------------------------------------
// Methods

static Value m_getitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__getitem__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    return dict_getitem(vm, args[0], args[1]);
}

static Value m_setitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__setitem__", nargs - 1, 2, 2) < 0) return VAL_NULL;
    return dict_set(vm, AS_DICT(args[0]), args[1], args[2]) < 0 ? VAL_NULL : VAL_NONE;
}

static Value m_delitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__delitem__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    return dict_setitem(vm, args[0], args[1], VAL_NULL) < 0 ? VAL_NULL : VAL_NONE;
}

static Value m_contains(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__contains__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    int r = dict_contains(vm, args[0], args[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}

static Value m_len(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return v_int((int64_t)AS_DICT(args[0])->len);
}

static Value m_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return dict_iter(vm, args[0]);
}

static Value m_repr(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return dict_repr(vm, args[0]);
}

static Value m_get(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (EDDY_UNLIKELY(kw || nargs < 2 || nargs > 3) &&
        (args_no_kw(vm, "get", kw) < 0 || args_count(vm, "get", nargs - 1, 1, 2) < 0))
        return VAL_NULL;
    Value out;
    int r = dict_get(vm, AS_DICT(args[0]), args[1], &out);
    if (r < 0) return VAL_NULL;
    if (r == 0) return nargs > 2 ? args[2] : VAL_NONE;
    return out;
}

static Value m_setdefault(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "setdefault", kw) < 0 || args_count(vm, "setdefault", nargs - 1, 1, 2) < 0)
        return VAL_NULL;
    DictObject *d = AS_DICT(args[0]);
    Value dflt = nargs > 2 ? args[2] : VAL_NONE;
    int64_t hash;
    if (key_hash(vm, args[1], &hash) < 0) return VAL_NULL;
    int64_t ix = lookup(vm, d, args[1], hash);
    if (ix == -2) return VAL_NULL;
    if (ix >= 0) return d->entries[ix].value;
    if (insert_new(vm, d, args[1], hash, dflt) < 0) return VAL_NULL;
    return dflt;
}

static Value m_pop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "pop", kw) < 0 || args_count(vm, "pop", nargs - 1, 1, 2) < 0)
        return VAL_NULL;
    DictObject *d = AS_DICT(args[0]);
    int64_t hash;
    if (key_hash(vm, args[1], &hash) < 0) return VAL_NULL;
    size_t slot;
    int64_t ix = lookup_any(vm, d, args[1], hash, &slot);
    if (ix == -2) return VAL_NULL;
    if (ix == -1) return nargs > 2 ? args[2] : raise_key_error(vm, args[1]);
    Value v = d->entries[ix].value;
    delete_at(d, slot, (size_t)ix);
    return v;
}

static Value m_popitem(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "dict.popitem", nargs - 1, 0, 0) < 0) return VAL_NULL;
    DictObject *d = AS_DICT(args[0]);
    if (d->len == 0) {
        Value msg = v_obj(str_from_cstr(vm, "popitem(): dictionary is empty"));
        if (IS_NULL(msg) || !AS_OBJ(msg)) return VAL_NULL;
        return raise_key_error(vm, msg);
    }
    size_t k = d->nentries;
    while (k > 0 && IS_NULL(d->entries[k - 1].key)) k--;
    DictEntry *e = &d->entries[k - 1];
    Value pair[2] = {e->key, e->value};
    TupleObject *t = tuple_from(vm, pair, 2);
    if (!t) return VAL_NULL;
    delete_entry(d, e->hash, k - 1);
    // Drop the trailing deleted entries so the next popitem is O(1). Their
    // index slots stay dummies, so lower entry_cap by as much: it bounds
    // the used index slots (CPython's dk_usable), keeping empty slots in the
    // index for probes to stop at.
    d->entry_cap -= d->nentries - (k - 1);
    d->nentries = k - 1;
    return v_obj(t);
}

static Value make_view(EddyVM *vm, TypeObject *t, Value dict) {
    DictViewObject *v = (DictViewObject *)obj_alloc(vm, t, sizeof(DictViewObject));
    if (!v) return VAL_NULL;
    v->dict = AS_DICT(dict);
    return v_obj(v);
}

static Value m_keys(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "dict.keys", nargs - 1, 0, 0) < 0) return VAL_NULL;
    return make_view(vm, vm->t_dict_keys, args[0]);
}

static Value m_values(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "dict.values", nargs - 1, 0, 0) < 0) return VAL_NULL;
    return make_view(vm, vm->t_dict_values, args[0]);
}

static Value m_items(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "dict.items", nargs - 1, 0, 0) < 0) return VAL_NULL;
    return make_view(vm, vm->t_dict_items, args[0]);
}

static Value m_update(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (update_common(vm, AS_DICT(args[0]), args + 1, nargs - 1, kw, "update") < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value m_clear(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "dict.clear", nargs - 1, 0, 0) < 0) return VAL_NULL;
    clear(vm, AS_DICT(args[0]));
    return VAL_NONE;
}

static Value m_copy(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "dict.copy", nargs - 1, 0, 0) < 0) return VAL_NULL;
    DictObject *r = dict_copy(vm, AS_DICT(args[0]));
    return r ? v_obj(r) : VAL_NULL;
}

// dict.fromkeys(iterable, value=None): a classmethod, args[0] is the class.
static Value m_fromkeys(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "fromkeys", kw) < 0 || args_count(vm, "fromkeys", nargs - 1, 1, 2) < 0)
        return VAL_NULL;
    Value cls = args[0], value = nargs > 2 ? args[2] : VAL_NONE;
    Value d = vm_call0(vm, cls);
    if (IS_NULL(d) || vm_push_root(vm, d) < 0) return VAL_NULL;
    Value it = vm_iter(vm, args[1]);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) {
        vm_pop_roots(vm, 1);
        return VAL_NULL;
    }
    bool fast = is_exact(d, vm->t_dict);
    Value result = d;
    for (;;) {
        Value k;
        int r = vm_next(vm, it, &k);
        if (r == 0) break;
        // k may be referenced only here while its __hash__/__eq__ run.
        if (r < 0 || vm_push_root(vm, k) < 0) {
            result = VAL_NULL;
            break;
        }
        r = fast ? dict_set(vm, AS_DICT(d), k, value) : vm_setitem(vm, d, k, value);
        vm_pop_roots(vm, 1);
        if (r < 0) {
            result = VAL_NULL;
            break;
        }
    }
    vm_pop_roots(vm, 2);
    return result;
}

static Value m_or(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_dict(args[0]) || !is_dict(args[1])) return vm->not_implemented;
    DictObject *r = dict_copy(vm, AS_DICT(args[0]));
    if (!r || vm_push_root(vm, v_obj(r)) < 0) return VAL_NULL;
    int s = dict_update(vm, r, args[1]);
    vm_pop_roots(vm, 1);
    return s < 0 ? VAL_NULL : v_obj(r);
}

static Value m_ror(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (!is_dict(args[0]) || !is_dict(args[1])) return vm->not_implemented;
    DictObject *r = dict_copy(vm, AS_DICT(args[1]));
    if (!r || vm_push_root(vm, v_obj(r)) < 0) return VAL_NULL;
    int s = dict_update(vm, r, args[0]);
    vm_pop_roots(vm, 1);
    return s < 0 ? VAL_NULL : v_obj(r);
}

static Value m_ior(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (dict_update(vm, AS_DICT(args[0]), args[1]) < 0) return VAL_NULL;
    return args[0];
}

static Value m_reversed(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    DictObject *d = AS_DICT(args[0]);
    ListObject *keys = list_new(vm, d->len);
    if (!keys) return VAL_NULL;
    size_t pos = 0;
    Value k;
    while (dict_next(d, &pos, &k, NULL)) keys->items[keys->len++] = k;
    return vm_call_method(vm, v_obj(keys), vm->names.__reversed__, NULL, 0);
}

// ---------------------------------------------------------------------------
// Views

static int64_t view_len(EddyVM *vm, Value self) {
    return (int64_t)((DictViewObject *)AS_OBJ(self))->dict->len;
}

static Value view_iter(EddyVM *vm, Value self) {
    DictViewObject *v = (DictViewObject *)AS_OBJ(self);
    TypeObject *t = OBJ_TYPE(v) == vm->t_dict_keys     ? vm->t_dict_keyiterator
                    : OBJ_TYPE(v) == vm->t_dict_values ? vm->t_dict_valueiterator
                                                       : vm->t_dict_itemiterator;
    return make_iter(vm, t, v->dict);
}

static int view_contains(EddyVM *vm, Value self, Value item) {
    DictViewObject *v = (DictViewObject *)AS_OBJ(self);
    if (OBJ_TYPE(v) == vm->t_dict_keys) return dict_contains(vm, v_obj(v->dict), item);
    if (OBJ_TYPE(v) == vm->t_dict_items) {
        if (!is_exact(item, vm->t_tuple) || AS_TUPLE(item)->len != 2) return 0;
        Value found;
        int r = dict_get(vm, v->dict, AS_TUPLE(item)->items[0], &found);
        if (r <= 0) return r;
        return vm_eq(vm, found, AS_TUPLE(item)->items[1]);
    }
    // values: linear search
    for (size_t k = 0; k < v->dict->nentries; k++) {
        DictEntry *e = &v->dict->entries[k];
        if (IS_NULL(e->key)) continue;
        int r = vm_eq(vm, e->value, item);
        if (r != 0) return r;
    }
    return 0;
}

static Value view_repr(EddyVM *vm, Value self) {
    DictViewObject *v = (DictViewObject *)AS_OBJ(self);
    Value list = vm_sequence_to_list(vm, self);
    if (IS_NULL(list)) return VAL_NULL;
    if (v->hdr.obj_flags & DICT_REPR_RUNNING) return v_obj(str_from_cstr(vm, "..."));
    v->hdr.obj_flags |= DICT_REPR_RUNNING;
    StrObject *s = str_format(vm, "%s(%R)", OBJ_TYPE(v)->name->data, list);
    v->hdr.obj_flags &= ~DICT_REPR_RUNNING;
    return s ? v_obj(s) : VAL_NULL;
}

static bool is_setlike(EddyVM *vm, Value v) {
    if (!IS_OBJ(v)) return false;
    TypeObject *t = OBJ_TYPE(AS_OBJ(v));
    return type_is_subtype(t, vm->t_set) || type_is_subtype(t, vm->t_frozenset) ||
           t == vm->t_dict_keys || t == vm->t_dict_items;
}

// Every item of a is in b: 1/0/-1.
static int all_contained_in(EddyVM *vm, Value a, Value b) {
    Value it = vm_iter(vm, a);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return -1;
    int result = 1;
    for (;;) {
        Value x;
        int r = vm_next(vm, it, &x);
        if (r < 0) {
            result = -1;
            break;
        }
        if (r == 0) break;
        if (vm_push_root(vm, x) < 0) {
            result = -1;
            break;
        }
        r = vm_contains(vm, b, x);
        vm_pop_roots(vm, 1);
        if (r <= 0) {
            result = r;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return result;
}

static Value view_richcompare(EddyVM *vm, Value a, Value b, int op) {
    if (OBJ_TYPE(AS_OBJ(a)) == vm->t_dict_values || !is_setlike(vm, b)) return vm->not_implemented;
    int64_t la = vm_len(vm, a), lb = vm_len(vm, b);
    if (la < 0 || lb < 0) return VAL_NULL;
    int r;
    switch (op) {
    case CMP_EQ:
    case CMP_NE:
        r = la == lb ? all_contained_in(vm, a, b) : 0;
        if (r < 0) return VAL_NULL;
        return v_bool(op == CMP_EQ ? r : !r);
    case CMP_LT: r = la < lb ? all_contained_in(vm, a, b) : 0; break;
    case CMP_LE: r = la <= lb ? all_contained_in(vm, a, b) : 0; break;
    case CMP_GT: r = la > lb ? all_contained_in(vm, b, a) : 0; break;
    default: r = la >= lb ? all_contained_in(vm, b, a) : 0; break;
    }
    return r < 0 ? VAL_NULL : v_bool(r);
}

// set(a) <method>(b): the shared body of the view set operations.
static Value view_setop(EddyVM *vm, Value a, Value b, const char *method) {
    Value s = set_new(vm, vm->t_set);
    if (IS_NULL(s) || vm_push_root(vm, s) < 0) return VAL_NULL;
    Value result = VAL_NULL;
    StrObject *name = str_intern_cstr(vm, method);
    if (!name) goto done;
    Value it = vm_iter(vm, a);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) goto done;
    for (;;) {
        Value x;
        int r = vm_next(vm, it, &x);
        if (r == 0) break;
        if (r < 0 || vm_push_root(vm, x) < 0) {
            vm_pop_roots(vm, 1);
            goto done;
        }
        r = set_add(vm, s, x);
        vm_pop_roots(vm, 1);
        if (r < 0) {
            vm_pop_roots(vm, 1);
            goto done;
        }
    }
    vm_pop_roots(vm, 1);
    if (!IS_NULL(vm_call_method(vm, s, name, &b, 1))) result = s;
done:
    vm_pop_roots(vm, 1);
    return result;
}

static Value m_view_and(EddyVM *vm, Value *a, int n, TupleObject *kw) {
    return view_setop(vm, a[0], a[1], "intersection_update");
}
static Value m_view_or(EddyVM *vm, Value *a, int n, TupleObject *kw) {
    return view_setop(vm, a[0], a[1], "update");
}
static Value m_view_sub(EddyVM *vm, Value *a, int n, TupleObject *kw) {
    return view_setop(vm, a[0], a[1], "difference_update");
}
static Value m_view_xor(EddyVM *vm, Value *a, int n, TupleObject *kw) {
    return view_setop(vm, a[0], a[1], "symmetric_difference_update");
}
static Value m_view_rand(EddyVM *vm, Value *a, int n, TupleObject *kw) {
    return view_setop(vm, a[1], a[0], "intersection_update");
}
static Value m_view_ror(EddyVM *vm, Value *a, int n, TupleObject *kw) {
    return view_setop(vm, a[1], a[0], "update");
}
static Value m_view_rsub(EddyVM *vm, Value *a, int n, TupleObject *kw) {
    return view_setop(vm, a[1], a[0], "difference_update");
}
static Value m_view_rxor(EddyVM *vm, Value *a, int n, TupleObject *kw) {
    return view_setop(vm, a[1], a[0], "symmetric_difference_update");
}

static Value m_view_isdisjoint(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "isdisjoint", nargs - 1, 1, 1) < 0) return VAL_NULL;
    Value it = vm_iter(vm, args[1]);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return VAL_NULL;
    Value result = VAL_TRUE;
    for (;;) {
        Value x;
        int r = vm_next(vm, it, &x);
        if (r == 0) break;
        if (r > 0) r = view_contains(vm, args[0], x);
        if (r < 0) {
            result = VAL_NULL;
            break;
        }
        if (r) {
            result = VAL_FALSE;
            break;
        }
    }
    vm_pop_roots(vm, 1);
    return result;
}

static Value m_view_len(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return v_int(view_len(vm, args[0]));
}
static Value m_view_iter(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return view_iter(vm, args[0]);
}
static Value m_view_contains(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "__contains__", nargs - 1, 1, 1) < 0) return VAL_NULL;
    int r = view_contains(vm, args[0], args[1]);
    return r < 0 ? VAL_NULL : v_bool(r);
}
static Value m_view_reversed(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    Value list = vm_sequence_to_list(vm, args[0]);
    if (IS_NULL(list)) return VAL_NULL;
    return vm_call_method(vm, list, vm->names.__reversed__, NULL, 0);
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

int dict_init_types(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_dict, vm->t_object, sizeof(DictObject),
                                     TPF_BASETYPE | TPF_DICT_SUBCLASS);
    if (!t) return -1;
    t->trace = dict_trace;
    t->finalize = dict_finalize;
    t->new_ = dict_new_slot;
    t->repr = dict_repr;
    t->richcompare = dict_richcompare;
    t->len = dict_len;
    t->getitem = dict_getitem;
    t->setitem = dict_setitem;
    t->contains = dict_contains;
    t->iter = dict_iter;
    static const MethodDef methods[] = {
        {"__init__", m_init},
        {"__getitem__", m_getitem},
        {"__setitem__", m_setitem},
        {"__delitem__", m_delitem},
        {"__contains__", m_contains},
        {"__len__", m_len},
        {"__iter__", m_iter},
        {"__repr__", m_repr},
        {"__reversed__", m_reversed},
        {"__or__", m_or},
        {"__ror__", m_ror},
        {"__ior__", m_ior},
        {"get", m_get},
        {"setdefault", m_setdefault},
        {"pop", m_pop},
        {"popitem", m_popitem},
        {"keys", m_keys},
        {"values", m_values},
        {"items", m_items},
        {"update", m_update},
        {"clear", m_clear},
        {"copy", m_copy},
    };
    if (add_methods(vm, t, methods, sizeof methods / sizeof methods[0]) < 0) return -1;
    if (type_add_method(vm, t, "fromkeys", m_fromkeys, NATIVE_CLASSMETHOD) < 0) return -1;

    TypeObject *views[3] = {vm->t_dict_keys, vm->t_dict_values, vm->t_dict_items};
    for (int k = 0; k < 3; k++) {
        TypeObject *v = type_new_builtin(vm, views[k], vm->t_object, sizeof(DictViewObject), 0);
        if (!v) return -1;
        v->trace = view_trace;
        v->len = view_len;
        v->iter = view_iter;
        v->contains = view_contains;
        v->repr = view_repr;
        static const MethodDef common[] = {
            {"__len__", m_view_len},
            {"__iter__", m_view_iter},
            {"__contains__", m_view_contains},
            {"__reversed__", m_view_reversed},
        };
        if (add_methods(vm, v, common, sizeof common / sizeof common[0]) < 0) return -1;
        if (views[k] == vm->t_dict_values) continue;
        v->richcompare = view_richcompare;
        static const MethodDef setops[] = {
            {"__and__", m_view_and},   {"__or__", m_view_or},     {"__sub__", m_view_sub},
            {"__xor__", m_view_xor},   {"__rand__", m_view_rand}, {"__ror__", m_view_ror},
            {"__rsub__", m_view_rsub}, {"__rxor__", m_view_rxor}, {"isdisjoint", m_view_isdisjoint},
        };
        if (add_methods(vm, v, setops, sizeof setops / sizeof setops[0]) < 0) return -1;
    }

    TypeObject *iters[3] = {vm->t_dict_keyiterator, vm->t_dict_valueiterator,
                            vm->t_dict_itemiterator};
    int (*nexts[3])(EddyVM *, Value, Value *) = {keyiter_next, valueiter_next, itemiter_next};
    for (int k = 0; k < 3; k++) {
        TypeObject *it = type_new_builtin(vm, iters[k], vm->t_object, sizeof(DictIterObject), 0);
        if (!it) return -1;
        it->trace = iter_trace;
        it->iter = iter_self;
        it->next = nexts[k];
        static const MethodDef itm[] = {
            {"__iter__", m_iter_self},
            {"__next__", m_iter_next},
            {"__length_hint__", m_iter_length_hint},
        };
        if (add_methods(vm, it, itm, sizeof itm / sizeof itm[0]) < 0) return -1;
    }
    return 0;
}
