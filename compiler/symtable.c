// symtable.c - scope analysis, a port of CPython 3.11's Python/symtable.c.
//
// Pass 1 walks the AST and records, per scope, every name with flags
// (assigned, parameter, used, global, nonlocal, ...). Pass 2 (analyze_block)
// resolves each name to LOCAL / CELL / FREE / GLOBAL_EXPLICIT /
// GLOBAL_IMPLICIT with CPython's rules: class bodies do not make names
// visible to nested functions, comprehensions are function scopes whose
// outermost iterable is evaluated outside, and a walrus in a comprehension
// binds in the nearest enclosing function (or module).
//
// Everything lives in the compilation arena; errors are recorded in st->err
// with AST positions (0-based byte columns) for the compiler to convert.
#include <stdio.h>
#include <string.h>

#include "symtable.h"

// Deep enough for any sane program, small enough for the C stack.
enum { SYMTABLE_MAX_DEPTH = 2000 };

// ---------------------------------------------------------------------------
// Small string sets for the analysis pass (arena allocated).

#define SET_TOMB ((const char *)1)

typedef struct NameSet {
    const char **slots;
    int32_t cap, len, used; // used counts tombstones too
} NameSet;

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static bool set_contains(const NameSet *set, const char *name) {
    if (!set || set->cap == 0) return false;
    uint32_t mask = (uint32_t)set->cap - 1, i = hash_str(name) & mask;
    for (;;) {
        const char *k = set->slots[i];
        if (!k) return false;
        if (k != SET_TOMB && strcmp(k, name) == 0) return true;
        i = (i + 1) & mask;
    }
}

static int set_add(SymTable *st, NameSet *set, const char *name);

static int set_grow(SymTable *st, NameSet *set) {
    int32_t ncap = set->cap ? set->cap * 2 : 16;
    while (set->len * 2 >= ncap) ncap *= 2;
    NameSet n = {arena_alloc(st->arena, sizeof(char *) * (size_t)ncap), ncap, 0, 0};
    if (!n.slots) {
        st->nomem = st->failed = true;
        return -1;
    }
    for (int32_t i = 0; i < set->cap; i++) {
        const char *k = set->slots[i];
        if (k && k != SET_TOMB && set_add(st, &n, k) < 0) return -1;
    }
    *set = n;
    return 0;
}

static int set_add(SymTable *st, NameSet *set, const char *name) {
    if ((set->used + 1) * 2 > set->cap && set_grow(st, set) < 0) return -1;
    if (set_contains(set, name)) return 0;
    uint32_t mask = (uint32_t)set->cap - 1, i = hash_str(name) & mask;
    while (set->slots[i] && set->slots[i] != SET_TOMB) i = (i + 1) & mask;
    if (!set->slots[i]) set->used++;
    set->slots[i] = name;
    set->len++;
    return 0;
}

static void set_discard(NameSet *set, const char *name) {
    if (!set || set->cap == 0) return;
    uint32_t mask = (uint32_t)set->cap - 1, i = hash_str(name) & mask;
    for (;;) {
        const char *k = set->slots[i];
        if (!k) return;
        if (k != SET_TOMB && strcmp(k, name) == 0) {
            set->slots[i] = SET_TOMB;
            set->len--;
            return;
        }
        i = (i + 1) & mask;
    }
}

static int set_update(SymTable *st, NameSet *dst, const NameSet *src) {
    if (!src) return 0;
    for (int32_t i = 0; i < src->cap; i++) {
        const char *k = src->slots[i];
        if (k && k != SET_TOMB && set_add(st, dst, k) < 0) return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Errors

static int error_at(SymTable *st, Pos pos, const char *fmt, const char *name) {
    st->failed = true;
    st->err.kind = SYNERR_SYNTAX;
    snprintf(st->err.msg, sizeof st->err.msg, fmt, name ? name : "");
    st->err.line = pos.line;
    st->err.col = pos.col;
    st->err.end_line = pos.end_line;
    st->err.end_col = pos.end_col;
    return -1;
}

static int nomem(SymTable *st) {
    st->nomem = st->failed = true;
    return -1;
}

// ---------------------------------------------------------------------------
// Name mangling (CPython's _Py_Mangle)

const char *symtable_mangle(Arena *arena, const char *private_name, const char *name) {
    if (!private_name || name[0] != '_' || name[1] != '_') return name;
    size_t nlen = strlen(name);
    // Don't mangle __dunder__ or dotted names (import a.__b).
    if ((nlen >= 2 && name[nlen - 1] == '_' && name[nlen - 2] == '_') || strchr(name, '.'))
        return name;
    while (*private_name == '_') private_name++;
    if (!*private_name) return name; // class name made of underscores only
    size_t plen = strlen(private_name);
    char *out = arena_alloc(arena, 1 + plen + nlen + 1);
    if (!out) return NULL;
    out[0] = '_';
    memcpy(out + 1, private_name, plen);
    memcpy(out + 1 + plen, name, nlen + 1);
    return out;
}

// ---------------------------------------------------------------------------
// Scopes and symbols

Symbol *symtable_lookup(Scope *s, const char *name) {
    if (!s || s->index_cap == 0) return NULL;
    uint32_t mask = (uint32_t)s->index_cap - 1, i = hash_str(name) & mask;
    for (;;) {
        int32_t k = s->index[i];
        if (k < 0) return NULL;
        if (strcmp(s->syms[k].name, name) == 0) return &s->syms[k];
        i = (i + 1) & mask;
    }
}

SymScope symtable_scope_of(Scope *s, const char *name) {
    Symbol *sym = symtable_lookup(s, name);
    return sym ? sym->scope : SYM_NONE;
}

static void index_insert(Scope *s, int32_t k) {
    uint32_t mask = (uint32_t)s->index_cap - 1, i = hash_str(s->syms[k].name) & mask;
    while (s->index[i] >= 0) i = (i + 1) & mask;
    s->index[i] = k;
}

static Symbol *symbol_add(SymTable *st, Scope *s, const char *name) {
    if (s->nsyms == s->syms_cap) {
        int32_t ncap = s->syms_cap ? s->syms_cap * 2 : 16;
        Symbol *n = arena_alloc(st->arena, sizeof(Symbol) * (size_t)ncap);
        if (!n) return NULL;
        if (s->nsyms) memcpy(n, s->syms, sizeof(Symbol) * (size_t)s->nsyms);
        s->syms = n;
        s->syms_cap = ncap;
    }
    if ((s->nsyms + 1) * 2 > s->index_cap) {
        int32_t ncap = s->index_cap ? s->index_cap * 2 : 32;
        int32_t *idx = arena_alloc(st->arena, sizeof(int32_t) * (size_t)ncap);
        if (!idx) return NULL;
        memset(idx, 0xff, sizeof(int32_t) * (size_t)ncap);
        s->index = idx;
        s->index_cap = ncap;
        for (int32_t k = 0; k < s->nsyms; k++) index_insert(s, k);
    }
    Symbol *sym = &s->syms[s->nsyms];
    memset(sym, 0, sizeof *sym);
    sym->name = name;
    index_insert(s, s->nsyms++);
    return sym;
}

static int map_put(SymTable *st, const void *key, Scope *val) {
    if ((st->map_len + 1) * 2 > st->map_cap) {
        int32_t ncap = st->map_cap ? st->map_cap * 2 : 32;
        const void **keys = arena_alloc(st->arena, sizeof(void *) * (size_t)ncap);
        Scope **vals = arena_alloc(st->arena, sizeof(Scope *) * (size_t)ncap);
        if (!keys || !vals) return nomem(st);
        for (int32_t i = 0; i < st->map_cap; i++) {
            if (!st->map_keys[i]) continue;
            uint32_t j =
                (uint32_t)(((uintptr_t)st->map_keys[i] >> 4) * 2654435761u) & (uint32_t)(ncap - 1);
            while (keys[j]) j = (j + 1) & (uint32_t)(ncap - 1);
            keys[j] = st->map_keys[i];
            vals[j] = st->map_vals[i];
        }
        st->map_keys = keys;
        st->map_vals = vals;
        st->map_cap = ncap;
    }
    uint32_t mask = (uint32_t)st->map_cap - 1;
    uint32_t j = (uint32_t)(((uintptr_t)key >> 4) * 2654435761u) & mask;
    while (st->map_keys[j]) j = (j + 1) & mask;
    st->map_keys[j] = key;
    st->map_vals[j] = val;
    st->map_len++;
    return 0;
}

Scope *symtable_lookup_scope(SymTable *st, const void *node) {
    if (st->map_cap == 0) return NULL;
    uint32_t mask = (uint32_t)st->map_cap - 1;
    uint32_t j = (uint32_t)(((uintptr_t)node >> 4) * 2654435761u) & mask;
    while (st->map_keys[j]) {
        if (st->map_keys[j] == node) return st->map_vals[j];
        j = (j + 1) & mask;
    }
    return NULL;
}

static int enter_scope(SymTable *st, ScopeKind kind, const char *name, const void *node, Pos pos) {
    Scope *s = arena_alloc(st->arena, sizeof(Scope));
    if (!s) return nomem(st);
    s->kind = kind;
    s->name = name;
    s->node = node;
    s->pos = pos;
    s->parent = st->cur;
    if (st->cur) {
        Scope *p = st->cur;
        s->private_name = p->private_name;
        s->nested = p->nested || p->kind == SCOPE_FUNCTION || p->kind == SCOPE_COMPREHENSION;
        if (p->nchildren == p->children_cap) {
            int32_t ncap = p->children_cap ? p->children_cap * 2 : 8;
            Scope **n = arena_alloc(st->arena, sizeof(Scope *) * (size_t)ncap);
            if (!n) return nomem(st);
            if (p->nchildren) memcpy(n, p->children, sizeof(Scope *) * (size_t)p->nchildren);
            p->children = n;
            p->children_cap = ncap;
        }
        p->children[p->nchildren++] = s;
    }
    if (node && map_put(st, node, s) < 0) return -1;
    st->cur = s;
    return 0;
}

static void exit_scope(SymTable *st) { st->cur = st->cur->parent; }

// Record a definition or use of name in scope s (CPython's symtable_add_def_helper).
static int add_def_in(SymTable *st, Scope *s, const char *name, uint32_t flag, Pos pos) {
    const char *mangled = symtable_mangle(st->arena, st->cur->private_name, name);
    if (!mangled) return nomem(st);
    Symbol *sym = symtable_lookup(s, mangled);
    uint32_t val;
    if (sym) {
        if ((flag & SYM_DEF_PARAM) && (sym->flags & SYM_DEF_PARAM))
            return error_at(st, pos, "duplicate argument '%s' in function definition", name);
        val = sym->flags | flag;
    } else {
        val = flag;
    }
    if (s->comp_iter_target) {
        if (val & (SYM_DEF_GLOBAL | SYM_DEF_NONLOCAL))
            return error_at(st, pos,
                            "comprehension inner loop cannot rebind assignment expression "
                            "target '%s'",
                            name);
        val |= SYM_DEF_COMP_ITER;
    }
    if (!sym && !(sym = symbol_add(st, s, mangled))) return nomem(st);
    sym->flags = val;
    if (flag & SYM_DEF_GLOBAL) {
        // A global declaration anywhere also marks the module-level symbol.
        Symbol *g = symtable_lookup(st->top, mangled);
        if (!g && !(g = symbol_add(st, st->top, mangled))) return nomem(st);
        g->flags |= SYM_DEF_GLOBAL;
    }
    return 0;
}

static int add_def(SymTable *st, const char *name, uint32_t flag, Pos pos) {
    return add_def_in(st, st->cur, name, flag, pos);
}

static uint32_t lookup_flags(SymTable *st, const char *name) {
    const char *mangled = symtable_mangle(st->arena, st->cur->private_name, name);
    Symbol *sym = mangled ? symtable_lookup(st->cur, mangled) : NULL;
    return sym ? sym->flags : 0;
}

static void record_directive(SymTable *st, Scope *s, const char *name, Pos pos) {
    const char *mangled = symtable_mangle(st->arena, st->cur->private_name, name);
    Symbol *sym = mangled ? symtable_lookup(s, mangled) : NULL;
    if (sym && sym->directive.line == 0) sym->directive = pos; // the first one is reported
}

// ---------------------------------------------------------------------------
// Pass 1: the walk

static int visit_stmts(SymTable *st, StmtList body);
static int visit_expr(SymTable *st, Expr *e);

static int visit_exprs(SymTable *st, ExprList l) {
    for (int32_t i = 0; i < l.len; i++)
        if (l.items[i] && visit_expr(st, l.items[i]) < 0) return -1;
    return 0;
}

static int visit_opt(SymTable *st, Expr *e) { return e ? visit_expr(st, e) : 0; }

static int visit_params(SymTable *st, Arg *args, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        if (add_def(st, args[i].name, SYM_DEF_PARAM, args[i].pos) < 0) return -1;
    return 0;
}

static int visit_arguments(SymTable *st, Arguments *a) {
    if (!a) return 0;
    if (visit_params(st, a->posonlyargs, a->nposonly) < 0) return -1;
    if (visit_params(st, a->args, a->nargs) < 0) return -1;
    if (visit_params(st, a->kwonlyargs, a->nkwonly) < 0) return -1;
    if (a->vararg && add_def(st, a->vararg->name, SYM_DEF_PARAM, a->vararg->pos) < 0) return -1;
    if (a->kwarg && add_def(st, a->kwarg->name, SYM_DEF_PARAM, a->kwarg->pos) < 0) return -1;
    return 0;
}

// Defaults and annotations are evaluated in the enclosing scope.
static int visit_defaults_annotations(SymTable *st, Arguments *a, Expr *returns) {
    if (a) {
        if (visit_exprs(st, a->defaults) < 0) return -1;
        for (int32_t i = 0; i < a->nkwonly; i++)
            if (a->kw_defaults && visit_opt(st, a->kw_defaults[i]) < 0) return -1;
        Arg *groups[3] = {a->posonlyargs, a->args, a->kwonlyargs};
        int32_t counts[3] = {a->nposonly, a->nargs, a->nkwonly};
        for (int g = 0; g < 3; g++)
            for (int32_t i = 0; i < counts[g]; i++)
                if (visit_opt(st, groups[g][i].annotation) < 0) return -1;
        if (a->vararg && visit_opt(st, a->vararg->annotation) < 0) return -1;
        if (a->kwarg && visit_opt(st, a->kwarg->annotation) < 0) return -1;
    }
    return visit_opt(st, returns);
}

static int visit_alias(SymTable *st, Alias *a) {
    const char *name = a->asname ? a->asname : a->name;
    if (strcmp(name, "*") == 0) {
        if (st->cur->kind != SCOPE_MODULE)
            return error_at(st, a->pos, "import * only allowed at module level", NULL);
        return 0;
    }
    if (!a->asname) {
        const char *dot = strchr(name, '.');
        if (dot) {
            name = arena_strndup(st->arena, name, (size_t)(dot - name));
            if (!name) return nomem(st);
        }
    }
    return add_def(st, name, SYM_DEF_IMPORT, a->pos);
}

static int visit_global(SymTable *st, Stmt *s, bool nonlocal) {
    for (int32_t i = 0; i < s->v.global.nnames; i++) {
        const char *name = s->v.global.names[i];
        if (nonlocal && st->cur->kind == SCOPE_MODULE)
            return error_at(st, s->pos, "nonlocal declaration not allowed at module level", NULL);
        uint32_t cur = lookup_flags(st, name);
        if (cur & (SYM_DEF_PARAM | SYM_DEF_LOCAL | SYM_USE | SYM_DEF_ANNOT)) {
            const char *msg;
            if (cur & SYM_DEF_PARAM)
                msg = nonlocal ? "name '%s' is parameter and nonlocal"
                               : "name '%s' is parameter and global";
            else if (cur & SYM_USE)
                msg = nonlocal ? "name '%s' is used prior to nonlocal declaration"
                               : "name '%s' is used prior to global declaration";
            else if (cur & SYM_DEF_ANNOT)
                msg = nonlocal ? "annotated name '%s' can't be nonlocal"
                               : "annotated name '%s' can't be global";
            else
                msg = nonlocal ? "name '%s' is assigned to before nonlocal declaration"
                               : "name '%s' is assigned to before global declaration";
            return error_at(st, s->pos, msg, name);
        }
        if (add_def(st, name, nonlocal ? SYM_DEF_NONLOCAL : SYM_DEF_GLOBAL, s->pos) < 0) return -1;
        record_directive(st, st->cur, name, s->pos);
    }
    return 0;
}

static int visit_stmt(SymTable *st, Stmt *s) {
    if (++st->depth > SYMTABLE_MAX_DEPTH) {
        st->too_deep = st->failed = true;
        return -1;
    }
    int rc = 0;
    switch (s->kind) {
    case S_FUNCTIONDEF:
    case S_ASYNCFUNCTIONDEF:
        if (add_def(st, s->v.funcdef.name, SYM_DEF_LOCAL, s->pos) < 0) goto fail;
        if (visit_defaults_annotations(st, s->v.funcdef.args, s->v.funcdef.returns) < 0) goto fail;
        if (visit_exprs(st, s->v.funcdef.decorators) < 0) goto fail;
        if (enter_scope(st, SCOPE_FUNCTION, s->v.funcdef.name, s, s->pos) < 0) goto fail;
        st->cur->coroutine = s->kind == S_ASYNCFUNCTIONDEF;
        if (visit_arguments(st, s->v.funcdef.args) < 0) goto fail;
        if (visit_stmts(st, s->v.funcdef.body) < 0) goto fail;
        exit_scope(st);
        break;
    case S_CLASSDEF: {
        if (add_def(st, s->v.classdef.name, SYM_DEF_LOCAL, s->pos) < 0) goto fail;
        if (visit_exprs(st, s->v.classdef.bases) < 0) goto fail;
        for (int32_t i = 0; i < s->v.classdef.nkeywords; i++)
            if (visit_expr(st, s->v.classdef.keywords[i].value) < 0) goto fail;
        if (visit_exprs(st, s->v.classdef.decorators) < 0) goto fail;
        if (enter_scope(st, SCOPE_CLASS, s->v.classdef.name, s, s->pos) < 0) goto fail;
        st->cur->private_name = s->v.classdef.name;
        if (visit_stmts(st, s->v.classdef.body) < 0) goto fail;
        exit_scope(st);
        break;
    }
    case S_RETURN: rc = visit_opt(st, s->v.return_.value); break;
    case S_DELETE: rc = visit_exprs(st, s->v.delete_.targets); break;
    case S_ASSIGN:
        if (visit_exprs(st, s->v.assign.targets) < 0) goto fail;
        rc = visit_expr(st, s->v.assign.value);
        break;
    case S_AUGASSIGN:
        if (visit_expr(st, s->v.augassign.target) < 0) goto fail;
        rc = visit_expr(st, s->v.augassign.value);
        break;
    case S_ANNASSIGN: {
        Expr *t = s->v.annassign.target;
        if (t->kind == E_NAME) {
            uint32_t cur = lookup_flags(st, t->v.name.id);
            if ((cur & (SYM_DEF_GLOBAL | SYM_DEF_NONLOCAL)) && st->cur != st->top &&
                s->v.annassign.simple) {
                error_at(st, s->pos,
                         (cur & SYM_DEF_GLOBAL) ? "annotated name '%s' can't be global"
                                                : "annotated name '%s' can't be nonlocal",
                         t->v.name.id);
                goto fail;
            }
            if (s->v.annassign.simple) {
                if (add_def(st, t->v.name.id, SYM_DEF_ANNOT | SYM_DEF_LOCAL, t->pos) < 0) goto fail;
            } else if (s->v.annassign.value) {
                if (add_def(st, t->v.name.id, SYM_DEF_LOCAL, t->pos) < 0) goto fail;
            }
        } else if (visit_expr(st, t) < 0) {
            goto fail;
        }
        if (visit_expr(st, s->v.annassign.annotation) < 0) goto fail;
        rc = visit_opt(st, s->v.annassign.value);
        break;
    }
    case S_FOR:
    case S_ASYNCFOR:
        if (visit_expr(st, s->v.for_.target) < 0 || visit_expr(st, s->v.for_.iter) < 0 ||
            visit_stmts(st, s->v.for_.body) < 0 || visit_stmts(st, s->v.for_.orelse) < 0)
            goto fail;
        break;
    case S_WHILE:
        if (visit_expr(st, s->v.while_.test) < 0 || visit_stmts(st, s->v.while_.body) < 0 ||
            visit_stmts(st, s->v.while_.orelse) < 0)
            goto fail;
        break;
    case S_IF:
        if (visit_expr(st, s->v.if_.test) < 0 || visit_stmts(st, s->v.if_.body) < 0 ||
            visit_stmts(st, s->v.if_.orelse) < 0)
            goto fail;
        break;
    case S_WITH:
    case S_ASYNCWITH:
        for (int32_t i = 0; i < s->v.with.nitems; i++) {
            if (visit_expr(st, s->v.with.items[i].context_expr) < 0) goto fail;
            if (visit_opt(st, s->v.with.items[i].optional_vars) < 0) goto fail;
        }
        rc = visit_stmts(st, s->v.with.body);
        break;
    case S_MATCH: break; // rejected by the compiler
    case S_RAISE:
        if (visit_opt(st, s->v.raise.exc) < 0 || visit_opt(st, s->v.raise.cause) < 0) goto fail;
        break;
    case S_TRY:
    case S_TRYSTAR:
        if (visit_stmts(st, s->v.try_.body) < 0 || visit_stmts(st, s->v.try_.orelse) < 0) goto fail;
        for (int32_t i = 0; i < s->v.try_.nhandlers; i++) {
            ExceptHandler *h = &s->v.try_.handlers[i];
            if (visit_opt(st, h->type) < 0) goto fail;
            if (h->name && add_def(st, h->name, SYM_DEF_LOCAL, h->pos) < 0) goto fail;
            if (visit_stmts(st, h->body) < 0) goto fail;
        }
        rc = visit_stmts(st, s->v.try_.finalbody);
        break;
    case S_ASSERT:
        if (visit_expr(st, s->v.assert_.test) < 0 || visit_opt(st, s->v.assert_.msg) < 0) goto fail;
        break;
    case S_IMPORT:
        for (int32_t i = 0; i < s->v.import.nnames; i++)
            if (visit_alias(st, &s->v.import.names[i]) < 0) goto fail;
        break;
    case S_IMPORTFROM:
        for (int32_t i = 0; i < s->v.importfrom.nnames; i++)
            if (visit_alias(st, &s->v.importfrom.names[i]) < 0) goto fail;
        break;
    case S_GLOBAL: rc = visit_global(st, s, false); break;
    case S_NONLOCAL: rc = visit_global(st, s, true); break;
    case S_EXPR: rc = visit_expr(st, s->v.expr.value); break;
    case S_PASS:
    case S_BREAK:
    case S_CONTINUE: break;
    }
    st->depth--;
    return rc;
fail:
    st->depth--;
    return -1;
}

static int visit_stmts(SymTable *st, StmtList body) {
    for (int32_t i = 0; i < body.len; i++)
        if (visit_stmt(st, body.items[i]) < 0) return -1;
    return 0;
}

// A walrus inside a comprehension binds in the nearest enclosing function
// or module scope (CPython's symtable_extend_namedexpr_scope).
static int extend_namedexpr_scope(SymTable *st, Expr *target) {
    const char *name = target->v.name.id;
    for (Scope *s = st->cur; s; s = s->parent) {
        if (s->kind == SCOPE_COMPREHENSION) {
            const char *mangled = symtable_mangle(st->arena, st->cur->private_name, name);
            Symbol *sym = mangled ? symtable_lookup(s, mangled) : NULL;
            if (sym && (sym->flags & SYM_DEF_COMP_ITER))
                return error_at(st, target->pos,
                                "assignment expression cannot rebind comprehension iteration "
                                "variable '%s'",
                                name);
            continue;
        }
        if (s->kind == SCOPE_FUNCTION) {
            const char *mangled = symtable_mangle(st->arena, st->cur->private_name, name);
            Symbol *sym = mangled ? symtable_lookup(s, mangled) : NULL;
            uint32_t flag =
                (sym && (sym->flags & SYM_DEF_GLOBAL)) ? SYM_DEF_GLOBAL : SYM_DEF_NONLOCAL;
            if (add_def(st, name, flag, target->pos) < 0) return -1;
            record_directive(st, st->cur, name, target->pos);
            return add_def_in(st, s, name, SYM_DEF_LOCAL, target->pos);
        }
        if (s->kind == SCOPE_MODULE) {
            if (add_def(st, name, SYM_DEF_GLOBAL, target->pos) < 0) return -1;
            record_directive(st, st->cur, name, target->pos);
            return add_def_in(st, s, name, SYM_DEF_GLOBAL, target->pos);
        }
        return error_at(st, target->pos,
                        "assignment expression within a comprehension cannot be used in a "
                        "class body",
                        NULL);
    }
    return 0;
}

static int visit_comprehension(SymTable *st, Expr *e, const char *scope_name, Expr *elt,
                               Expr *value) {
    Comprehension *gens = e->v.comp.generators;
    if (e->v.comp.ngenerators <= 0) return 0;
    // The outermost iterable is evaluated in the enclosing scope.
    st->cur->comp_iter_expr++;
    int rc = visit_expr(st, gens[0].iter);
    st->cur->comp_iter_expr--;
    if (rc < 0) return -1;
    if (enter_scope(st, SCOPE_COMPREHENSION, scope_name, e, e->pos) < 0) return -1;
    st->cur->generator = e->kind == E_GENERATOREXP;
    for (int32_t i = 0; i < e->v.comp.ngenerators; i++)
        if (gens[i].is_async) st->cur->coroutine = true;
    // ...and passed in as the implicit argument ".0".
    if (add_def(st, ".0", SYM_DEF_PARAM, e->pos) < 0) return -1;
    st->cur->comp_iter_target = true;
    rc = visit_expr(st, gens[0].target);
    st->cur->comp_iter_target = false;
    if (rc < 0 || visit_exprs(st, gens[0].ifs) < 0) return -1;
    for (int32_t i = 1; i < e->v.comp.ngenerators; i++) {
        st->cur->comp_iter_target = true;
        rc = visit_expr(st, gens[i].target);
        st->cur->comp_iter_target = false;
        if (rc < 0) return -1;
        st->cur->comp_iter_expr++;
        rc = visit_expr(st, gens[i].iter);
        st->cur->comp_iter_expr--;
        if (rc < 0 || visit_exprs(st, gens[i].ifs) < 0) return -1;
    }
    if (value && visit_expr(st, value) < 0) return -1;
    if (elt && visit_expr(st, elt) < 0) return -1;
    // An async list/set/dict comprehension is awaited where it is used.
    bool awaited = st->cur->coroutine && !st->cur->generator;
    exit_scope(st);
    if (awaited && st->cur->kind == SCOPE_COMPREHENSION) st->cur->coroutine = true;
    return 0;
}

static int visit_expr(SymTable *st, Expr *e) {
    if (++st->depth > SYMTABLE_MAX_DEPTH) {
        st->too_deep = st->failed = true;
        return -1;
    }
    int rc = 0;
    switch (e->kind) {
    case E_BOOLOP: rc = visit_exprs(st, e->v.boolop.values); break;
    case E_NAMEDEXPR:
        if (st->cur->comp_iter_expr > 0) {
            rc = error_at(st, e->pos,
                          "assignment expression cannot be used in a comprehension iterable "
                          "expression",
                          NULL);
            break;
        }
        if (st->cur->kind == SCOPE_COMPREHENSION && e->v.namedexpr.target->kind == E_NAME &&
            extend_namedexpr_scope(st, e->v.namedexpr.target) < 0) {
            rc = -1;
            break;
        }
        if (visit_expr(st, e->v.namedexpr.value) < 0)
            rc = -1;
        else
            rc = visit_expr(st, e->v.namedexpr.target);
        break;
    case E_BINOP:
        if (visit_expr(st, e->v.binop.left) < 0)
            rc = -1;
        else
            rc = visit_expr(st, e->v.binop.right);
        break;
    case E_UNARYOP: rc = visit_expr(st, e->v.unaryop.operand); break;
    case E_LAMBDA: {
        Arguments *a = e->v.lambda.args;
        if (a) {
            if (visit_exprs(st, a->defaults) < 0) goto fail;
            for (int32_t i = 0; i < a->nkwonly; i++)
                if (a->kw_defaults && visit_opt(st, a->kw_defaults[i]) < 0) goto fail;
        }
        if (enter_scope(st, SCOPE_FUNCTION, "<lambda>", e, e->pos) < 0) goto fail;
        if (visit_arguments(st, a) < 0 || visit_expr(st, e->v.lambda.body) < 0) goto fail;
        exit_scope(st);
        break;
    }
    case E_IFEXP:
        if (visit_expr(st, e->v.ifexp.test) < 0 || visit_expr(st, e->v.ifexp.body) < 0 ||
            visit_expr(st, e->v.ifexp.orelse) < 0)
            goto fail;
        break;
    case E_DICT:
        for (int32_t i = 0; i < e->v.dict.len; i++) {
            if (visit_opt(st, e->v.dict.keys[i]) < 0) goto fail;
            if (visit_expr(st, e->v.dict.values[i]) < 0) goto fail;
        }
        break;
    case E_SET: rc = visit_exprs(st, e->v.set.elts); break;
    case E_LISTCOMP: rc = visit_comprehension(st, e, "<listcomp>", e->v.comp.elt, NULL); break;
    case E_SETCOMP: rc = visit_comprehension(st, e, "<setcomp>", e->v.comp.elt, NULL); break;
    case E_GENERATOREXP: rc = visit_comprehension(st, e, "<genexpr>", e->v.comp.elt, NULL); break;
    case E_DICTCOMP:
        rc = visit_comprehension(st, e, "<dictcomp>", e->v.comp.key, e->v.comp.value);
        break;
    case E_AWAIT:
        // An await inside a comprehension makes it a coroutine (3.11).
        if (st->cur->kind == SCOPE_COMPREHENSION) st->cur->coroutine = true;
        rc = visit_opt(st, e->v.await_.value);
        break;
    case E_YIELD:
    case E_YIELDFROM:
        if (st->cur->kind == SCOPE_COMPREHENSION) {
            const char *n = st->cur->name;
            rc = error_at(st, e->pos, "'yield' inside %s",
                          strcmp(n, "<listcomp>") == 0   ? "list comprehension"
                          : strcmp(n, "<setcomp>") == 0  ? "set comprehension"
                          : strcmp(n, "<dictcomp>") == 0 ? "dict comprehension"
                                                         : "generator expression");
            break;
        }
        // The compiler reports yield outside a function; here it makes one a generator.
        if (st->cur->kind == SCOPE_FUNCTION) st->cur->generator = true;
        rc = visit_opt(st, e->kind == E_YIELD ? e->v.yield.value : e->v.yieldfrom.value);
        break;
    case E_COMPARE:
        if (visit_expr(st, e->v.compare.left) < 0) goto fail;
        rc = visit_exprs(st, e->v.compare.comparators);
        break;
    case E_CALL:
        if (visit_expr(st, e->v.call.func) < 0 || visit_exprs(st, e->v.call.args) < 0) goto fail;
        for (int32_t i = 0; i < e->v.call.nkeywords; i++)
            if (visit_expr(st, e->v.call.keywords[i].value) < 0) goto fail;
        break;
    case E_FORMATTEDVALUE:
        if (visit_expr(st, e->v.formatted.value) < 0) goto fail;
        rc = visit_opt(st, e->v.formatted.format_spec);
        break;
    case E_JOINEDSTR: rc = visit_exprs(st, e->v.joinedstr.values); break;
    case E_CONSTANT: break;
    case E_ATTRIBUTE: rc = visit_expr(st, e->v.attribute.value); break;
    case E_SUBSCRIPT:
        if (visit_expr(st, e->v.subscript.value) < 0) goto fail;
        rc = visit_expr(st, e->v.subscript.slice);
        break;
    case E_STARRED: rc = visit_expr(st, e->v.starred.value); break;
    case E_NAME:
        if (e->v.name.ctx == CTX_LOAD) {
            rc = add_def(st, e->v.name.id, SYM_USE, e->pos);
            // super() needs the implicit __class__ cell of the enclosing class
            // (comprehensions are function scopes here, as in CPython 3.11).
            if (rc == 0 &&
                (st->cur->kind == SCOPE_FUNCTION || st->cur->kind == SCOPE_COMPREHENSION) &&
                strcmp(e->v.name.id, "super") == 0)
                rc = add_def(st, "__class__", SYM_USE, e->pos);
        } else {
            rc = add_def(st, e->v.name.id, SYM_DEF_LOCAL, e->pos);
        }
        break;
    case E_LIST:
    case E_TUPLE: rc = visit_exprs(st, e->v.list.elts); break;
    case E_SLICE:
        if (visit_opt(st, e->v.slice.lower) < 0 || visit_opt(st, e->v.slice.upper) < 0 ||
            visit_opt(st, e->v.slice.step) < 0)
            goto fail;
        break;
    }
    st->depth--;
    return rc;
fail:
    st->depth--;
    return -1;
}

// ---------------------------------------------------------------------------
// Pass 2: analysis (CPython's analyze_block and friends)

static int analyze_name(SymTable *st, Scope *s, Symbol *sym, NameSet *bound, NameSet *local,
                        NameSet *free, NameSet *global) {
    const char *name = sym->name;
    uint32_t flags = sym->flags;
    if (flags & SYM_DEF_GLOBAL) {
        if (flags & SYM_DEF_NONLOCAL)
            return error_at(st, sym->directive, "name '%s' is nonlocal and global", name);
        sym->scope = SYM_GLOBAL_EXPLICIT;
        if (set_add(st, global, name) < 0) return -1;
        if (bound) set_discard(bound, name);
        return 0;
    }
    if (flags & SYM_DEF_NONLOCAL) {
        if (!set_contains(bound, name))
            return error_at(st, sym->directive, "no binding for nonlocal '%s' found", name);
        sym->scope = SYM_FREE;
        s->has_free = true;
        return set_add(st, free, name);
    }
    if (flags & SYM_DEF_BOUND) {
        sym->scope = SYM_LOCAL;
        if (set_add(st, local, name) < 0) return -1;
        set_discard(global, name);
        return 0;
    }
    if (set_contains(bound, name)) {
        sym->scope = SYM_FREE;
        s->has_free = true;
        return set_add(st, free, name);
    }
    if (set_contains(global, name)) {
        sym->scope = SYM_GLOBAL_IMPLICIT;
        return 0;
    }
    if (s->nested) s->has_free = true;
    sym->scope = SYM_GLOBAL_IMPLICIT;
    return 0;
}

static int analyze_block(SymTable *st, Scope *s, NameSet *bound, NameSet *free, NameSet *global) {
    if (++st->depth > SYMTABLE_MAX_DEPTH) {
        st->too_deep = st->failed = true;
        return -1;
    }
    NameSet local = {0}, newbound = {0}, newglobal = {0}, newfree = {0}, allfree = {0};
    bool is_class = s->kind == SCOPE_CLASS;
    bool is_func = s->kind == SCOPE_FUNCTION || s->kind == SCOPE_COMPREHENSION;
    if (is_class) {
        // The class namespace has no effect on names visible in nested
        // functions: children see what the class itself sees.
        if (set_update(st, &newglobal, global) < 0) return -1;
        if (bound && set_update(st, &newbound, bound) < 0) return -1;
    }
    int32_t n = s->nsyms; // update_symbols may append; analyze only the originals
    for (int32_t i = 0; i < n; i++)
        if (analyze_name(st, s, &s->syms[i], bound, &local, free, global) < 0) return -1;
    if (!is_class) {
        if (is_func && set_update(st, &newbound, &local) < 0) return -1;
        if (bound && set_update(st, &newbound, bound) < 0) return -1;
        if (set_update(st, &newglobal, global) < 0) return -1;
    } else {
        if (set_add(st, &newbound, "__class__") < 0) return -1;
    }
    for (int32_t i = 0; i < s->nchildren; i++) {
        Scope *c = s->children[i];
        NameSet cbound = {0}, cfree = {0}, cglobal = {0};
        if (set_update(st, &cbound, &newbound) < 0 || set_update(st, &cglobal, &newglobal) < 0)
            return -1;
        if (analyze_block(st, c, &cbound, &cfree, &cglobal) < 0) return -1;
        if (set_update(st, &allfree, &cfree) < 0) return -1;
        if (c->has_free || c->child_free) s->child_free = true;
    }
    if (set_update(st, &newfree, &allfree) < 0) return -1;
    if (is_func) {
        // Locals that children close over become cells.
        for (int32_t i = 0; i < s->nsyms; i++) {
            Symbol *sym = &s->syms[i];
            if (sym->scope == SYM_LOCAL && set_contains(&newfree, sym->name)) {
                sym->scope = SYM_CELL;
                set_discard(&newfree, sym->name);
            }
        }
    } else if (is_class && set_contains(&newfree, "__class__")) {
        set_discard(&newfree, "__class__");
        s->needs_class_closure = true;
    }
    // Record free variables of children that pass through this scope.
    for (int32_t i = 0; i < newfree.cap; i++) {
        const char *name = newfree.slots[i];
        if (!name || name == SET_TOMB) continue;
        Symbol *sym = symtable_lookup(s, name);
        if (sym) {
            if (is_class && (sym->flags & (SYM_DEF_BOUND | SYM_DEF_GLOBAL)))
                sym->flags |= SYM_DEF_FREE_CLASS;
            continue;
        }
        if (bound && !set_contains(bound, name)) continue; // a global
        if (!(sym = symbol_add(st, s, name))) return nomem(st);
        sym->scope = SYM_FREE;
    }
    if (set_update(st, free, &newfree) < 0) return -1;
    st->depth--;
    return 0;
}

int symtable_build(SymTable *st, Arena *arena, Module *mod, ParseMode mode) {
    memset(st, 0, sizeof *st);
    st->arena = arena;
    Pos pos = {1, 0, 1, 0};
    if (enter_scope(st, SCOPE_MODULE, "top", NULL, pos) < 0) return -1;
    st->top = st->cur;
    (void)mode;
    if (visit_stmts(st, mod->body) < 0) return -1;
    st->depth = 0;
    NameSet free = {0}, global = {0};
    if (analyze_block(st, st->top, NULL, &free, &global) < 0) return -1;
    return 0;
}
