// compile_unit.c - the code generator's back end: one code object under
// construction (instruction buffer, labels, exception handlers, constants
// and name tables) and its assembly into a CodeObject: jump patching, the
// exact stack-depth pass, the line table and the exception table.
//
// Exception handlers replace CPython's SETUP_* / POP_BLOCK pseudo-ops: every
// emitted word records the innermost handler in force, and assembly turns
// runs of equal handlers into exception-table rows (inner regions come out
// first by construction, and inline copies of `finally` bodies, emitted after
// their handler was popped, are not protected by it). A handler's depth is the
// stack depth where it was set up plus a fixed adjustment, found by the
// stack-depth pass.
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_unit.h"

// ---------------------------------------------------------------------------
// Errors

// CPython 3.11 reports the compiler's and symtable's SyntaxError offsets as
// 1-based UTF-8 byte columns (only the parser converts to characters).
int unit_error(Compiler *c, Pos pos, const char *fmt, ...) {
    if (c->failed) return -1;
    c->failed = c->syntax = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err.msg, sizeof c->err.msg, fmt, ap);
    va_end(ap);
    c->err.kind = SYNERR_SYNTAX;
    c->err.line = pos.line;
    c->err.col = pos.col + 1;
    c->err.end_line = pos.end_line;
    c->err.end_col = pos.end_line ? pos.end_col + 1 : 0;
    return -1;
}

int unit_oom(Compiler *c) {
    if (!c->failed) c->failed = c->oom = true;
    return -1;
}

int unit_vm_failed(Compiler *c) {
    if (!c->failed) c->failed = true;
    return -1;
}

// Grow an arena array (the old block is simply abandoned in the arena).
static void *grow(Compiler *c, void *old, int32_t len, int32_t *cap, size_t elem) {
    int32_t ncap = *cap ? *cap * 2 : 16;
    void *n = arena_alloc(c->arena, elem * (size_t)ncap);
    if (!n) {
        unit_oom(c);
        return NULL;
    }
    if (len) memcpy(n, old, elem * (size_t)len);
    *cap = ncap;
    return n;
}

// ---------------------------------------------------------------------------
// String index

static uint32_t hash_bytes(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static int32_t stridx_get(const StrIndex *ix, const char *key) {
    if (ix->cap == 0) return -1;
    uint32_t mask = (uint32_t)ix->cap - 1, i = hash_bytes(key, strlen(key)) & mask;
    while (ix->keys[i]) {
        if (strcmp(ix->keys[i], key) == 0) return ix->vals[i];
        i = (i + 1) & mask;
    }
    return -1;
}

static int stridx_put(Compiler *c, StrIndex *ix, const char *key, int32_t val) {
    if ((ix->len + 1) * 2 > ix->cap) {
        int32_t ncap = ix->cap ? ix->cap * 2 : 32;
        const char **keys = arena_alloc(c->arena, sizeof(char *) * (size_t)ncap);
        int32_t *vals = arena_alloc(c->arena, sizeof(int32_t) * (size_t)ncap);
        if (!keys || !vals) return unit_oom(c);
        for (int32_t i = 0; i < ix->cap; i++) {
            if (!ix->keys[i]) continue;
            uint32_t j = hash_bytes(ix->keys[i], strlen(ix->keys[i])) & (uint32_t)(ncap - 1);
            while (keys[j]) j = (j + 1) & (uint32_t)(ncap - 1);
            keys[j] = ix->keys[i];
            vals[j] = ix->vals[i];
        }
        ix->keys = keys;
        ix->vals = vals;
        ix->cap = ncap;
    }
    uint32_t mask = (uint32_t)ix->cap - 1, i = hash_bytes(key, strlen(key)) & mask;
    while (ix->keys[i]) i = (i + 1) & mask;
    ix->keys[i] = key;
    ix->vals[i] = val;
    ix->len++;
    return 0;
}

// ---------------------------------------------------------------------------
// Emission

static bool is_jump(Opcode op) {
    switch (op) {
    case OP_JUMP:
    case OP_POP_JUMP_IF_FALSE:
    case OP_POP_JUMP_IF_TRUE:
    case OP_POP_JUMP_IF_NONE:
    case OP_POP_JUMP_IF_NOT_NONE:
    case OP_JUMP_IF_FALSE_OR_POP:
    case OP_JUMP_IF_TRUE_OR_POP:
    case OP_FOR_ITER:
    case OP_SEND: return true;
    default: return false;
    }
}

int unit_emit(Compiler *c, Opcode op, uint32_t arg) {
    Unit *u = c->u;
    if (c->failed) return -1;
    if (arg > INSTR_ARG_MAX) return unit_error(c, u->loc, "too many constants or names");
    int32_t n = 1 + opcode_caches[op];
    while (u->ncode + n > u->code_cap) {
        int32_t cap = u->code_cap, cap2 = u->code_cap, cap3 = u->code_cap;
        uint32_t *code = grow(c, u->code, u->ncode, &cap, sizeof(uint32_t));
        Pos *locs = grow(c, u->locs, u->ncode, &cap2, sizeof(Pos));
        int32_t *hidx = grow(c, u->hidx, u->ncode, &cap3, sizeof(int32_t));
        if (!code || !locs || !hidx) return -1;
        u->code = code;
        u->locs = locs;
        u->hidx = hidx;
        u->code_cap = cap;
    }
    if (is_jump(op)) {
        if (u->njumps == u->jumps_cap) {
            int32_t *j = grow(c, u->jumps, u->njumps, &u->jumps_cap, sizeof(int32_t));
            if (!j) return -1;
            u->jumps = j;
        }
        u->jumps[u->njumps++] = u->ncode;
    }
    int32_t h = u->nh ? u->hstack[u->nh - 1] : -1;
    for (int32_t i = 0; i < n; i++) {
        u->code[u->ncode] = i == 0 ? INSTR(op, arg) : 0;
        u->locs[u->ncode] = u->loc;
        u->hidx[u->ncode] = h;
        u->ncode++;
    }
    return 0;
}

int32_t unit_new_label(Compiler *c) {
    Unit *u = c->u;
    if (u->nlabels == u->labels_cap) {
        int32_t *l = grow(c, u->labels, u->nlabels, &u->labels_cap, sizeof(int32_t));
        if (!l) return -1;
        u->labels = l;
    }
    u->labels[u->nlabels] = -1;
    return u->nlabels++;
}

void unit_bind_label(Compiler *c, int32_t label) {
    if (label >= 0) c->u->labels[label] = c->u->ncode;
}

int unit_emit_jump(Compiler *c, Opcode op, int32_t label) {
    if (label < 0) return -1;
    return unit_emit(c, op, (uint32_t)label);
}

// Push an exception handler: code emitted from now on unwinds to `label`.
int unit_push_handler(Compiler *c, int32_t label, int32_t extra, bool lasti) {
    Unit *u = c->u;
    if (label < 0) return -1;
    if (u->nh >= MAX_HSTACK) return unit_error(c, u->loc, "too many statically nested blocks");
    if (u->nhandlers == u->handlers_cap) {
        Handler *h = grow(c, u->handlers, u->nhandlers, &u->handlers_cap, sizeof(Handler));
        if (!h) return -1;
        u->handlers = h;
    }
    u->handlers[u->nhandlers] = (Handler){label, u->ncode, extra, lasti, 0};
    u->hstack[u->nh++] = u->nhandlers++;
    return 0;
}

// Put an existing handler back in force (its region continues).
int unit_repush_handler(Compiler *c, int32_t h) {
    Unit *u = c->u;
    if (u->nh >= MAX_HSTACK) return unit_error(c, u->loc, "too many statically nested blocks");
    u->hstack[u->nh++] = h;
    return 0;
}

int32_t unit_top_handler(Compiler *c) { return c->u->nh ? c->u->hstack[c->u->nh - 1] : -1; }

void unit_pop_handler(Compiler *c) {
    if (c->u->nh > 0) c->u->nh--;
}

// ---------------------------------------------------------------------------
// Constants and names

static uint32_t ckey_hash(const ConstKey *k) {
    uint32_t h = (uint32_t)k->kind * 0x9e3779b9u;
    if (k->s) h ^= hash_bytes(k->s, k->len);
    h ^= (uint32_t)k->i ^ (uint32_t)((uint64_t)k->i >> 32);
    return h * 2654435761u;
}

static bool ckey_eq(const ConstKey *a, const ConstKey *b) {
    if (a->kind != b->kind || a->i != b->i || a->len != b->len) return false;
    if (a->s || b->s) return a->s && b->s && memcmp(a->s, b->s, a->len) == 0;
    return true;
}

static void cindex_insert(Unit *u, int32_t k) {
    uint32_t mask = (uint32_t)u->cindex_cap - 1, i = ckey_hash(&u->ckeys[k]) & mask;
    while (u->cindex[i] >= 0) i = (i + 1) & mask;
    u->cindex[i] = k;
}

// Index of a constant. v is created by the caller only when make != NULL
// says so: pass the key and a value; KEY_UNIQUE constants never de-duplicate.
int32_t unit_add_const(Compiler *c, ConstKey key, Value v) {
    Unit *u = c->u;
    if (IS_NULL(v)) return unit_vm_failed(c);
    if (key.kind != KEY_UNIQUE && u->cindex_cap) {
        uint32_t mask = (uint32_t)u->cindex_cap - 1, i = ckey_hash(&key) & mask;
        while (u->cindex[i] >= 0) {
            if (ckey_eq(&u->ckeys[u->cindex[i]], &key)) return u->cindex[i];
            i = (i + 1) & mask;
        }
    }
    if (u->nconsts == u->consts_cap) {
        int32_t cap2 = u->consts_cap;
        Value *vals = grow(c, u->consts, u->nconsts, &u->consts_cap, sizeof(Value));
        ConstKey *keys = grow(c, u->ckeys, u->nconsts, &cap2, sizeof(ConstKey));
        if (!vals || !keys) return -1;
        u->consts = vals;
        u->ckeys = keys;
    }
    int32_t k = u->nconsts++;
    u->consts[k] = v;
    u->ckeys[k] = key;
    if ((u->nconsts + 1) * 2 > u->cindex_cap) {
        int32_t ncap = u->cindex_cap ? u->cindex_cap * 2 : 32;
        int32_t *idx = arena_alloc(c->arena, sizeof(int32_t) * (size_t)ncap);
        if (!idx) return unit_oom(c);
        memset(idx, 0xff, sizeof(int32_t) * (size_t)ncap);
        u->cindex = idx;
        u->cindex_cap = ncap;
        for (int32_t j = 0; j < u->nconsts; j++)
            if (u->ckeys[j].kind != KEY_UNIQUE) cindex_insert(u, j);
    } else if (key.kind != KEY_UNIQUE) {
        cindex_insert(u, k);
    }
    return k;
}

// Look up a de-duplicated constant before creating its value.
int32_t unit_find_const(Compiler *c, ConstKey key) {
    Unit *u = c->u;
    if (!u->cindex_cap) return -1;
    uint32_t mask = (uint32_t)u->cindex_cap - 1, i = ckey_hash(&key) & mask;
    while (u->cindex[i] >= 0) {
        if (ckey_eq(&u->ckeys[u->cindex[i]], &key)) return u->cindex[i];
        i = (i + 1) & mask;
    }
    return -1;
}

static bool identifier_like(const char *s, size_t len) {
    if (len > 40) return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    return true;
}

int32_t unit_const_none(Compiler *c) {
    return unit_add_const(c, (ConstKey){KEY_NONE, 0, NULL, 0}, VAL_NONE);
}

int32_t unit_const_int(Compiler *c, int64_t i) {
    return unit_add_const(c, (ConstKey){KEY_INT, i, NULL, 0}, v_int(i));
}

int32_t unit_const_str(Compiler *c, const char *s, size_t len) {
    ConstKey key = {KEY_STR, 0, s, len};
    int32_t k = unit_find_const(c, key);
    if (k >= 0) return k;
    StrObject *str = identifier_like(s, len) ? str_intern(c->vm, s, len) : str_new(c->vm, s, len);
    if (!str) return unit_vm_failed(c);
    return unit_add_const(c, key, v_obj(str));
}

int32_t unit_const_value(Compiler *c, Value v) {
    return unit_add_const(c, (ConstKey){KEY_UNIQUE, c->u->nconsts, NULL, 0}, v);
}

int32_t unit_const_from_ast(Compiler *c, const Constant *k, Pos pos) {
    switch (k->kind) {
    case CONST_NONE: return unit_const_none(c);
    case CONST_TRUE: return unit_add_const(c, (ConstKey){KEY_TRUE, 0, NULL, 0}, VAL_TRUE);
    case CONST_FALSE: return unit_add_const(c, (ConstKey){KEY_FALSE, 0, NULL, 0}, VAL_FALSE);
    case CONST_ELLIPSIS:
        return unit_add_const(c, (ConstKey){KEY_ELLIPSIS, 0, NULL, 0}, c->vm->ellipsis);
    case CONST_INT: return unit_const_int(c, k->i);
    case CONST_FLOAT: {
        int64_t bits;
        memcpy(&bits, &k->f, sizeof bits);
        return unit_add_const(c, (ConstKey){KEY_FLOAT, bits, NULL, 0}, v_float(k->f));
    }
    case CONST_BIGINT: {
        ConstKey key = {KEY_BIGINT, 0, k->text, strlen(k->text)};
        int32_t i = unit_find_const(c, key);
        if (i >= 0) return i;
        Value v = int_from_string(c->vm, k->text, strlen(k->text), 0, true);
        if (IS_NULL(v)) return unit_vm_failed(c);
        return unit_add_const(c, key, v);
    }
    case CONST_COMPLEX: return unit_error(c, pos, "complex numbers are not supported yet");
    case CONST_STR: return unit_const_str(c, k->text ? k->text : "", k->len);
    case CONST_BYTES: {
        ConstKey key = {KEY_BYTES, 0, k->text ? k->text : "", k->len};
        int32_t i = unit_find_const(c, key);
        if (i >= 0) return i;
        Value v = bytes_new(c->vm, k->text, k->len);
        if (IS_NULL(v)) return unit_vm_failed(c);
        return unit_add_const(c, key, v);
    }
    }
    return -1;
}

int unit_emit_const(Compiler *c, int32_t k) {
    if (k < 0) return -1;
    return unit_emit(c, OP_LOAD_CONST, (uint32_t)k);
}

int32_t unit_add_name(Compiler *c, const char *name) {
    Unit *u = c->u;
    if (!name) return unit_oom(c);
    int32_t k = stridx_get(&u->names_idx, name);
    if (k >= 0) return k;
    if (u->nnames == u->names_cap) {
        const char **n = grow(c, u->names, u->nnames, &u->names_cap, sizeof(char *));
        if (!n) return -1;
        u->names = n;
    }
    u->names[u->nnames] = name;
    CHECK(stridx_put(c, &u->names_idx, name, u->nnames));
    return u->nnames++;
}

const char *unit_mangle(Compiler *c, const char *name) {
    const char *m = symtable_mangle(c->arena, c->u->private_name, name);
    if (!m) unit_oom(c);
    return m;
}

int unit_emit_name(Compiler *c, Opcode op, const char *name) {
    int32_t k = unit_add_name(c, name);
    if (k < 0) return -1;
    return unit_emit(c, op, (uint32_t)k);
}

int32_t unit_add_varname(Compiler *c, const char *name) {
    Unit *u = c->u;
    int32_t k = stridx_get(&u->varnames_idx, name);
    if (k >= 0) return k;
    if (u->nvarnames == u->varnames_cap) {
        const char **n = grow(c, u->varnames, u->nvarnames, &u->varnames_cap, sizeof(char *));
        if (!n) return -1;
        u->varnames = n;
    }
    u->varnames[u->nvarnames] = name;
    CHECK(stridx_put(c, &u->varnames_idx, name, u->nvarnames));
    return u->nvarnames++;
}

int32_t unit_find_in(const char **arr, int32_t n, const char *name) {
    for (int32_t i = 0; i < n; i++)
        if (strcmp(arr[i], name) == 0) return i;
    return -1;
}

// Build a tuple of interned str from C strings.
static TupleObject *str_tuple(Compiler *c, const char **items, int32_t n) {
    TupleObject *t = tuple_new(c->vm, (size_t)n);
    if (!t) {
        unit_vm_failed(c);
        return NULL;
    }
    for (int32_t i = 0; i < n; i++) {
        StrObject *s = str_intern_cstr(c->vm, items[i]);
        if (!s) {
            unit_vm_failed(c);
            return NULL;
        }
        t->items[i] = v_obj(s);
    }
    return t;
}

// ---------------------------------------------------------------------------
// Units (one per code object)

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool unit_is_function_like(Unit *u) {
    return u->kind == SCOPE_FUNCTION || u->kind == SCOPE_COMPREHENSION;
}

int unit_enter(Compiler *c, Scope *scope, ScopeKind kind, const char *name, Pos pos,
               const char *private_name) {
    if (!scope) return unit_error(c, pos, "internal compiler error: missing scope");
    Unit *u = arena_alloc(c->arena, sizeof(Unit));
    if (!u) return unit_oom(c);
    u->parent = c->u;
    u->scope = scope;
    u->kind = kind;
    u->name = name;
    u->private_name = private_name;
    u->loc = pos;
    u->firstlineno = (uint32_t)(pos.line > 0 ? pos.line : 1);
    c->u = u;
    c->nest_level++;

    // qualname (CPython's compiler_set_qualname)
    Unit *p = u->parent;
    const char *base = NULL;
    if (p && p->kind != SCOPE_MODULE) {
        bool force_global = false;
        if (kind == SCOPE_FUNCTION || kind == SCOPE_CLASS) {
            const char *m = symtable_mangle(c->arena, p->private_name, name);
            if (m && symtable_scope_of(p->scope, m) == SYM_GLOBAL_EXPLICIT) force_global = true;
        }
        if (!force_global) {
            if (p->kind == SCOPE_FUNCTION) {
                size_t n = strlen(p->qualname);
                char *b = arena_alloc(c->arena, n + 10);
                if (!b) return unit_oom(c);
                memcpy(b, p->qualname, n);
                memcpy(b + n, ".<locals>", 10);
                base = b;
            } else {
                base = p->qualname;
            }
        }
    }
    if (base) {
        size_t bn = strlen(base), nn = strlen(name);
        char *q = arena_alloc(c->arena, bn + nn + 2);
        if (!q) return unit_oom(c);
        memcpy(q, base, bn);
        q[bn] = '.';
        memcpy(q + bn + 1, name, nn + 1);
        u->qualname = q;
    } else {
        u->qualname = name;
    }

    // Local variables: parameters first (symbol order), then other locals.
    if (kind == SCOPE_FUNCTION || kind == SCOPE_COMPREHENSION) {
        for (int32_t i = 0; i < scope->nsyms; i++)
            if (scope->syms[i].flags & SYM_DEF_PARAM)
                CHECK(unit_add_varname(c, scope->syms[i].name));
        for (int32_t i = 0; i < scope->nsyms; i++) {
            Symbol *s = &scope->syms[i];
            if (!(s->flags & SYM_DEF_PARAM) && s->scope == SYM_LOCAL)
                CHECK(unit_add_varname(c, s->name));
        }
    }
    // Cells and free variables, sorted by name as CPython does.
    int32_t ncell = 0, nfree = 0;
    for (int32_t i = 0; i < scope->nsyms; i++) {
        Symbol *s = &scope->syms[i];
        if (s->scope == SYM_CELL) ncell++;
        if (s->scope == SYM_FREE || (s->flags & SYM_DEF_FREE_CLASS)) nfree++;
    }
    if (scope->needs_class_closure) ncell++;
    u->cellvars = arena_alloc(c->arena, sizeof(char *) * (size_t)(ncell + 1));
    u->freevars = arena_alloc(c->arena, sizeof(char *) * (size_t)(nfree + 1));
    if (!u->cellvars || !u->freevars) return unit_oom(c);
    if (scope->needs_class_closure) u->cellvars[u->ncells++] = "__class__";
    for (int32_t i = 0; i < scope->nsyms; i++) {
        Symbol *s = &scope->syms[i];
        if (s->scope == SYM_CELL) u->cellvars[u->ncells++] = s->name;
        if (s->scope == SYM_FREE || (s->flags & SYM_DEF_FREE_CLASS))
            u->freevars[u->nfrees++] = s->name;
    }
    qsort(u->cellvars, (size_t)u->ncells, sizeof(char *), cmp_cstr);
    qsort(u->freevars, (size_t)u->nfrees, sizeof(char *), cmp_cstr);
    // A generator's frame moves into its generator object first thing
    // (RETURN_GENERATOR); the first resume pushes None, which POP_TOP drops.
    // An async def is a coroutine built the same way (its frame moves into
    // a coroutine object).
    if ((scope->generator || scope->coroutine) &&
        (kind == SCOPE_FUNCTION || kind == SCOPE_COMPREHENSION)) {
        u->flags |= !scope->coroutine  ? CO_GENERATOR
                    : scope->generator ? CO_ASYNC_GENERATOR
                                       : CO_COROUTINE;
        CHECK(unit_emit(c, OP_RETURN_GENERATOR, 0));
        CHECK(unit_emit(c, OP_POP_TOP, 0));
    }
    return 0;
}

void unit_leave(Compiler *c) {
    c->u = c->u->parent;
    c->nest_level--;
}

// ---------------------------------------------------------------------------
// Assembly

static int stack_effect(uint32_t word, bool jump) {
    Opcode op = INSTR_OP(word);
    int32_t arg = (int32_t)INSTR_ARG(word);
    switch (op) {
    case OP_NOP: return 0;
    case OP_POP_TOP: return -1;
    case OP_PUSH_NULL: return 1;
    case OP_COPY: return 1;
    case OP_SWAP: return 0;
    case OP_LOAD_CONST:
    case OP_LOAD_FAST:
    case OP_LOAD_DEREF:
    case OP_LOAD_CLOSURE:
    case OP_LOAD_CLASSDEREF:
    case OP_LOAD_NAME: return 1;
    case OP_STORE_FAST:
    case OP_STORE_DEREF:
    case OP_STORE_NAME:
    case OP_STORE_GLOBAL: return -1;
    case OP_DELETE_FAST:
    case OP_DELETE_DEREF:
    case OP_DELETE_NAME:
    case OP_DELETE_GLOBAL: return 0;
    case OP_LOAD_GLOBAL: return 1 + (arg & 1);
    case OP_LOAD_ATTR: return 0;
    case OP_STORE_ATTR: return -2;
    case OP_DELETE_ATTR: return -1;
    case OP_LOAD_METHOD: return 1;
    case OP_BINARY_SUBSCR: return -1;
    case OP_STORE_SUBSCR: return -3;
    case OP_DELETE_SUBSCR: return -2;
    case OP_UNARY_NEGATIVE:
    case OP_UNARY_POSITIVE:
    case OP_UNARY_NOT:
    case OP_UNARY_INVERT: return 0;
    case OP_BINARY_OP:
    case OP_COMPARE_OP:
    case OP_IS_OP:
    case OP_CONTAINS_OP: return -1;
    case OP_BUILD_TUPLE:
    case OP_BUILD_LIST:
    case OP_BUILD_SET:
    case OP_BUILD_STRING:
    case OP_BUILD_SLICE: return 1 - arg;
    case OP_BUILD_MAP: return 1 - 2 * arg;
    case OP_LIST_APPEND:
    case OP_SET_ADD:
    case OP_LIST_EXTEND:
    case OP_SET_UPDATE:
    case OP_DICT_UPDATE:
    case OP_DICT_MERGE: return -1;
    case OP_MAP_ADD: return -2;
    case OP_LIST_TO_TUPLE: return 0;
    case OP_FORMAT_VALUE: return (arg & 4) ? -1 : 0;
    case OP_UNPACK_SEQUENCE: return arg - 1;
    case OP_UNPACK_EX: return (arg & 0xff) + (arg >> 8);
    case OP_JUMP: return 0;
    case OP_POP_JUMP_IF_FALSE:
    case OP_POP_JUMP_IF_TRUE:
    case OP_POP_JUMP_IF_NONE:
    case OP_POP_JUMP_IF_NOT_NONE: return -1;
    case OP_JUMP_IF_FALSE_OR_POP:
    case OP_JUMP_IF_TRUE_OR_POP: return jump ? 0 : -1;
    case OP_GET_ITER: return 0;
    case OP_FOR_ITER: return jump ? -1 : 1;
    case OP_MAKE_FUNCTION:
        return -(((arg & 1) != 0) + ((arg & 2) != 0) + ((arg & 4) != 0) + ((arg & 8) != 0));
    case OP_CALL: return -arg - 1;
    case OP_CALL_KW: return -arg - 2;
    case OP_CALL_EX: return -2 - (arg & 1);
    case OP_RETURN_VALUE: return -1;
    case OP_LOAD_BUILD_CLASS: return 1;
    case OP_RAISE_VARARGS: return -arg;
    case OP_RERAISE: return -1;
    case OP_PUSH_EXC_INFO: return 1;
    case OP_POP_EXCEPT: return -1;
    case OP_CHECK_EXC_MATCH: return 0;
    case OP_CHECK_EG_MATCH: return 0;
    case OP_PREP_RERAISE_STAR: return -1;
    case OP_LOAD_ASSERTION_ERROR: return 1;
    case OP_BEFORE_WITH: return 1;
    case OP_WITH_EXCEPT_START: return 1;
    case OP_IMPORT_NAME: return -1;
    case OP_IMPORT_FROM: return 1;
    case OP_IMPORT_STAR: return -1;
    case OP_PRINT_EXPR: return -1;
    case OP_SETUP_ANNOTATIONS: return 0;
    case OP_RETURN_GENERATOR: return 1; // the value sent by the first resume
    case OP_YIELD_VALUE: return 0;      // pops the value; the resume pushes the sent one
    case OP_GET_YIELD_FROM_ITER: return 0;
    case OP_SEND: return jump ? -1 : 0;
    case OP_GET_AWAITABLE:
    case OP_GET_AITER:
    case OP_ASYNC_GEN_WRAP: return 0;
    case OP_GET_ANEXT: return 1;
    case OP_END_ASYNC_FOR: return -2;
    case OP_BEFORE_ASYNC_WITH: return 1;
    default: return 0;
    }
}

static bool no_fallthrough(Opcode op) {
    return op == OP_JUMP || op == OP_RETURN_VALUE || op == OP_RAISE_VARARGS || op == OP_RERAISE;
}

// Exact maximum stack depth by flow over all paths, including exception
// edges. Also fixes each handler's depth.
static int compute_stacksize(Compiler *c, uint32_t *out) {
    Unit *u = c->u;
    int32_t n = u->ncode;
    int32_t *depth = arena_alloc(c->arena, sizeof(int32_t) * (size_t)(n + 1));
    int32_t *work = arena_alloc(c->arena, sizeof(int32_t) * (size_t)(n + 1));
    if (!depth || !work) return unit_oom(c);
    for (int32_t i = 0; i <= n; i++) depth[i] = -1;
    int32_t nwork = 0, maxd = 0;
    depth[0] = 0;
    work[nwork++] = 0;
#define PROPAGATE(target, d)                                                                       \
    do {                                                                                           \
        int32_t t_ = (target), d_ = (d);                                                           \
        if (t_ >= 0 && t_ < n && depth[t_] < 0) {                                                  \
            depth[t_] = d_;                                                                        \
            work[nwork++] = t_;                                                                    \
        }                                                                                          \
    } while (0)
    while (nwork > 0) {
        int32_t pc = work[--nwork];
        int32_t d = depth[pc];
        for (;;) {
            if (d < 0)
                return unit_error(c, u->locs[pc], "internal compiler error: stack underflow");
            if (d > maxd) maxd = d;
            uint32_t w = u->code[pc];
            Opcode op = INSTR_OP(w);
            int32_t h = u->hidx[pc];
            if (h >= 0) {
                Handler *hd = &u->handlers[h];
                int32_t base =
                    (hd->setup_pc < n && depth[hd->setup_pc] >= 0) ? depth[hd->setup_pc] : d;
                hd->depth = base + hd->extra;
                int32_t td = hd->depth + (hd->lasti ? 1 : 0) + 1;
                if (td > maxd) maxd = td;
                PROPAGATE(u->labels[hd->label], td);
            }
            if (is_jump(op)) {
                int32_t jd = d + stack_effect(w, true);
                if (jd > maxd) maxd = jd;
                PROPAGATE((int32_t)INSTR_ARG(w), jd);
            }
            if (no_fallthrough(op)) break;
            int32_t nd = d + stack_effect(w, false);
            int32_t next = pc + 1 + opcode_caches[op];
            if (nd > maxd) maxd = nd;
            if (next >= n) break;
            if (depth[next] >= 0) break;
            depth[next] = nd;
            pc = next;
            d = nd;
        }
    }
#undef PROPAGATE
    // Handlers of unreachable regions keep depth 0.
    for (int32_t i = 0; i < u->nhandlers; i++) {
        Handler *hd = &u->handlers[i];
        if (hd->setup_pc < n && depth[hd->setup_pc] >= 0)
            hd->depth = depth[hd->setup_pc] + hd->extra;
        if (hd->depth < 0) hd->depth = 0;
    }
    *out = (uint32_t)maxd;
    return 0;
}

static bool pos_eq(Pos a, Pos b) {
    return a.line == b.line && a.col == b.col && a.end_line == b.end_line && a.end_col == b.end_col;
}

CodeObject *unit_assemble(Compiler *c) {
    Unit *u = c->u;
    EddyVM *vm = c->vm;
    if (c->failed) return NULL;
    // Resolve jumps.
    for (int32_t i = 0; i < u->njumps; i++) {
        int32_t pc = u->jumps[i];
        uint32_t w = u->code[pc];
        int32_t label = (int32_t)INSTR_ARG(w);
        int32_t target = u->labels[label];
        if (target < 0) {
            unit_error(c, u->locs[pc], "internal compiler error: unbound label");
            return NULL;
        }
        if ((uint32_t)target > INSTR_ARG_MAX) {
            unit_error(c, u->locs[pc], "code object too large");
            return NULL;
        }
        u->code[pc] = INSTR(INSTR_OP(w), (uint32_t)target);
    }
    uint32_t stacksize = 0;
    if (compute_stacksize(c, &stacksize) < 0) return NULL;

    CodeObject *co = code_new(vm);
    if (!co) {
        unit_vm_failed(c);
        return NULL;
    }
    // Bytecode
    co->code = mem_alloc(vm, sizeof(uint32_t) * (size_t)u->ncode);
    if (!co->code) goto vmfail;
    memcpy(co->code, u->code, sizeof(uint32_t) * (size_t)u->ncode);
    co->ncode = (uint32_t)u->ncode;
    // Line table: one row per change of source span.
    uint32_t nrows = 0;
    for (int32_t i = 0; i < u->ncode; i++)
        if (i == 0 || !pos_eq(u->locs[i], u->locs[i - 1])) nrows++;
    if (nrows) {
        co->lines = mem_alloc(vm, sizeof(LineEntry) * nrows);
        if (!co->lines) goto vmfail;
        co->nlines = nrows;
        uint32_t r = 0;
        for (int32_t i = 0; i < u->ncode; i++) {
            if (i != 0 && pos_eq(u->locs[i], u->locs[i - 1])) continue;
            Pos p = u->locs[i];
            co->lines[r++] = (LineEntry){
                (uint32_t)i, (uint32_t)(p.line > 0 ? p.line : 0),
                (uint32_t)(p.end_line > 0 ? p.end_line : 0),
                (uint16_t)(p.col > 0 ? (p.col > 65535 ? 65535 : p.col) : 0),
                (uint16_t)(p.end_col > 0 ? (p.end_col > 65535 ? 65535 : p.end_col) : 0)};
        }
    }
    // Exception table: runs of words with the same innermost handler.
    uint32_t nexc = 0;
    for (int32_t i = 0; i < u->ncode; i++)
        if (u->hidx[i] >= 0 && (i == 0 || u->hidx[i - 1] != u->hidx[i])) nexc++;
    if (nexc) {
        co->exc_table = mem_alloc(vm, sizeof(ExcEntry) * nexc);
        if (!co->exc_table) goto vmfail;
        co->nexc = nexc;
        uint32_t r = 0;
        for (int32_t i = 0; i < u->ncode;) {
            int32_t h = u->hidx[i], j = i;
            while (j < u->ncode && u->hidx[j] == h) j++;
            if (h >= 0) {
                Handler *hd = &u->handlers[h];
                co->exc_table[r++] =
                    (ExcEntry){(uint32_t)i, (uint32_t)j, (uint32_t)u->labels[hd->label],
                               (uint16_t)hd->depth, hd->lasti ? 1 : 0};
            }
            i = j;
        }
    }
    // Constants and names
    co->consts = tuple_new(vm, (size_t)u->nconsts);
    if (!co->consts) goto vmfail;
    for (int32_t i = 0; i < u->nconsts; i++) co->consts->items[i] = u->consts[i];
    if (!(co->names = str_tuple(c, u->names, u->nnames))) return NULL;
    if (!(co->varnames = str_tuple(c, u->varnames, u->nvarnames))) return NULL;
    if (!(co->cellvars = str_tuple(c, u->cellvars, u->ncells))) return NULL;
    if (!(co->freevars = str_tuple(c, u->freevars, u->nfrees))) return NULL;
    // Arguments that are also cells are copied into their cells at entry.
    bool any = false;
    for (int32_t i = 0; i < u->ncells; i++) {
        int32_t k = stridx_get(&u->varnames_idx, u->cellvars[i]);
        if (k >= 0 && (uint32_t)k < u->argcount + u->kwonlyargcount + !!(u->flags & CO_VARARGS) +
                                        !!(u->flags & CO_VARKEYWORDS))
            any = true;
    }
    if (any) {
        co->cell2arg = mem_alloc(vm, sizeof(int32_t) * (size_t)u->ncells);
        if (!co->cell2arg) goto vmfail;
        uint32_t nargs = u->argcount + u->kwonlyargcount + !!(u->flags & CO_VARARGS) +
                         !!(u->flags & CO_VARKEYWORDS);
        for (int32_t i = 0; i < u->ncells; i++) {
            int32_t k = stridx_get(&u->varnames_idx, u->cellvars[i]);
            co->cell2arg[i] = (k >= 0 && (uint32_t)k < nargs) ? k : -1;
        }
    }
    co->argcount = u->argcount;
    co->posonlyargcount = u->posonlyargcount;
    co->kwonlyargcount = u->kwonlyargcount;
    co->nlocals = (uint32_t)u->nvarnames;
    co->ncells = (uint32_t)u->ncells;
    co->nfrees = (uint32_t)u->nfrees;
    co->stacksize = stacksize;
    co->flags = u->flags;
    if (unit_is_function_like(u)) co->flags |= CO_OPTIMIZED | CO_NEWLOCALS;
    if (u->scope->nested) co->flags |= CO_NESTED;
    co->firstlineno = u->firstlineno;
    co->filename = str_from_cstr(vm, c->filename);
    co->name = str_intern_cstr(vm, u->name);
    co->qualname = str_from_cstr(vm, u->qualname);
    if (!co->filename || !co->name || !co->qualname) goto vmfail;
    return co;
vmfail:
    unit_vm_failed(c);
    return NULL;
}
