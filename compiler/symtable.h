// symtable.h - scope analysis (compiler/symtable.c), modelled on CPython's
// symtable: for every module, function, lambda, class and comprehension
// scope, decide whether each name is local, a cell, free, or global.
//
// Everything is allocated in the compilation's Arena; nothing here touches
// VM objects, so the table can be built and thrown away freely.
#ifndef EDDY_SYMTABLE_H
#define EDDY_SYMTABLE_H

#include "ast.h"

typedef enum ScopeKind {
    SCOPE_MODULE,
    SCOPE_FUNCTION, // def and lambda
    SCOPE_CLASS,
    SCOPE_COMPREHENSION, // list/set/dict comprehension, generator expression (functions too)
} ScopeKind;

// Symbol flags collected while walking the tree (CPython's DEF_*).
enum {
    SYM_DEF_GLOBAL = 1 << 0,     // `global` statement
    SYM_DEF_LOCAL = 1 << 1,      // assigned in this scope
    SYM_DEF_PARAM = 1 << 2,      // a parameter
    SYM_DEF_NONLOCAL = 1 << 3,   // `nonlocal` statement
    SYM_USE = 1 << 4,            // read
    SYM_DEF_FREE_CLASS = 1 << 5, // class-level name also free in a method
    SYM_DEF_IMPORT = 1 << 6,
    SYM_DEF_ANNOT = 1 << 7,
    SYM_DEF_COMP_ITER = 1 << 8, // comprehension iteration variable
    SYM_DEF_BOUND = SYM_DEF_LOCAL | SYM_DEF_PARAM | SYM_DEF_IMPORT,
};

// The resolved scope of a name (CPython's LOCAL, GLOBAL_EXPLICIT, ...).
typedef enum SymScope {
    SYM_NONE = 0, // not in this scope's table
    SYM_LOCAL,
    SYM_GLOBAL_EXPLICIT,
    SYM_GLOBAL_IMPLICIT,
    SYM_FREE,
    SYM_CELL,
} SymScope;

typedef struct Symbol {
    const char *name; // mangled name (arena)
    uint32_t flags;   // SYM_*
    SymScope scope;
    Pos directive; // position of the global/nonlocal statement, if any
} Symbol;

typedef struct Scope Scope;
struct Scope {
    ScopeKind kind;
    const char *name; // "f", "C", "<lambda>", "<listcomp>", "top"
    const void *node; // the Stmt or Expr that opened the scope (NULL for the module)
    Scope *parent;
    Pos pos;
    Symbol *syms; // in order of first appearance
    int32_t nsyms, syms_cap;
    int32_t *index; // open-addressing hash of syms (index or -1)
    int32_t index_cap;
    Scope **children;
    int32_t nchildren, children_cap;
    const char *private_name; // enclosing class name, for __mangling
    bool nested;              // inside a function scope
    bool has_free;            // uses free variables
    bool child_free;          // a child has free variables
    bool needs_class_closure; // class: methods use __class__ / super
    bool generator;           // function containing yield / yield from, or a genexpr
    bool coroutine;           // async def (with generator: an async generator)
    bool comp_iter_target;    // while visiting a comprehension's loop target
    int32_t comp_iter_expr;   // >0 while visiting a comprehension's iterable
};

typedef struct SymTable {
    Arena *arena;
    Scope *top;
    Scope *cur;
    // node -> Scope map (open addressing on the node pointer)
    const void **map_keys;
    Scope **map_vals;
    int32_t map_len, map_cap;
    int depth; // recursion guard
    // Error: when failed, err holds a SyntaxError with AST positions
    // (0-based byte columns; the compiler reports them +1, as CPython);
    // nomem is set on arena failure, too_deep on nesting beyond the limit.
    bool failed, nomem, too_deep;
    SyntaxErrorInfo err;
} SymTable;

// Build the table for a module. Returns 0, or -1 with st->failed set.
int symtable_build(SymTable *st, Arena *arena, Module *mod, ParseMode mode);
// The scope opened by a node (FunctionDef, ClassDef, Lambda, comprehension).
Scope *symtable_lookup_scope(SymTable *st, const void *node);
// The symbol for name in scope (name already mangled), or NULL.
Symbol *symtable_lookup(Scope *s, const char *name);
SymScope symtable_scope_of(Scope *s, const char *name);
// CPython's _Py_Mangle: "__x" inside class C becomes "_C__x". Returns name
// itself when no mangling applies; NULL only when out of memory.
const char *symtable_mangle(Arena *arena, const char *private_name, const char *name);

#endif
