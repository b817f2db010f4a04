// compile_unit.h - the code generator's shared state (compiler/compile.c,
// compiler/compile_unit.c). Internal to the compiler.
//
// A Unit is one code object under construction: its instruction words with
// a source span and an exception handler per word, labels, the block stack
// for break/continue/return, and its constants and name tables. The
// Compiler holds the unit stack, the symbol table and the first error.
// Everything is allocated in the compilation arena.
#ifndef EDDY_COMPILE_UNIT_H
#define EDDY_COMPILE_UNIT_H

#include "compile.h"
#include "opcodes.h"
#include "symtable.h"

enum {
    MAX_FBLOCKS = 20,         // CPython's CO_MAXBLOCKS
    MAX_HSTACK = 64,          // handlers in force; <= 2 per fblock plus slack
    STACK_USE_GUARDRAIL = 30, // above this many items, build containers incrementally
    MAX_COMPILE_DEPTH = 2000, // C recursion guard
};

typedef enum FBlockKind {
    FB_WHILE_LOOP,
    FB_FOR_LOOP,
    FB_TRY_EXCEPT,
    FB_FINALLY_TRY,
    FB_FINALLY_END,
    FB_WITH,
    FB_HANDLER_CLEANUP,
    FB_POP_VALUE,
    FB_EXCEPTION_HANDLER,
    FB_EXCEPTION_GROUP_HANDLER, // the except* clauses: no break/continue/return out of them
} FBlockKind;

typedef struct FBlock {
    FBlockKind kind;
    int32_t block;     // loops: the `continue` target
    int32_t exit;      // loops: the `break` target
    const void *datum; // FINALLY_TRY: StmtList*; HANDLER_CLEANUP: name; WITH: Stmt*
    Pos pos;
} FBlock;

// An exception handler: instructions emitted while it is in force unwind to
// it. depth = depth at setup_pc + extra (found by the stack-depth pass).
typedef struct Handler {
    int32_t label;
    int32_t setup_pc;
    int32_t extra;
    bool lasti;
    int32_t depth;
} Handler;

// String -> index map (arena).
typedef struct StrIndex {
    const char **keys;
    int32_t *vals;
    int32_t cap, len;
} StrIndex;

// Constant de-duplication key.
typedef struct ConstKey {
    int kind; // KEY_*
    int64_t i;
    const char *s;
    size_t len;
} ConstKey;

enum {
    KEY_NONE,
    KEY_TRUE,
    KEY_FALSE,
    KEY_ELLIPSIS,
    KEY_INT,
    KEY_FLOAT,
    KEY_STR,
    KEY_BYTES,
    KEY_BIGINT,
    KEY_UNIQUE
};

typedef struct Unit {
    struct Unit *parent;
    Scope *scope;
    ScopeKind kind;
    const char *name;
    const char *qualname;
    const char *private_name;
    Pos loc; // location given to emitted instructions

    uint32_t *code;
    Pos *locs;
    int32_t *hidx; // handler index per word, -1 none
    int32_t ncode, code_cap;
    int32_t *labels; // label -> word index, -1 unbound
    int32_t nlabels, labels_cap;
    int32_t *jumps; // word indexes of jump instructions (arg = label)
    int32_t njumps, jumps_cap;
    Handler *handlers;
    int32_t nhandlers, handlers_cap;
    int32_t hstack[MAX_HSTACK];
    int32_t nh;
    FBlock fblocks[MAX_FBLOCKS];
    int32_t nfblocks;

    Value *consts;
    ConstKey *ckeys;
    int32_t nconsts, consts_cap;
    int32_t *cindex; // hash of ckeys
    int32_t cindex_cap;
    const char **names;
    int32_t nnames, names_cap;
    StrIndex names_idx;
    const char **varnames;
    int32_t nvarnames, varnames_cap;
    StrIndex varnames_idx;
    const char **cellvars;
    int32_t ncells;
    const char **freevars;
    int32_t nfrees;

    uint32_t argcount, posonlyargcount, kwonlyargcount, flags;
    uint32_t firstlineno;
} Unit;

typedef struct Compiler {
    EddyVM *vm;
    Arena *arena;
    SymTable st;
    const char *filename;
    const char *src;
    size_t srclen;
    ParseMode mode;
    Unit *u;
    int nest_level;
    int depth;
    bool failed;   // an error is recorded (see below)
    bool syntax;   // ... it is a SyntaxError in err
    bool oom;      // ... arena exhausted (MemoryError to raise)
    bool too_deep; // ... RecursionError to raise
    // otherwise a VM exception is already pending
    SyntaxErrorInfo err;
} Compiler;

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((x) < 0) return -1;                                                                    \
    } while (0)

// ---------------------------------------------------------------------------
// compile_unit.c

// Record a SyntaxError at pos (the first error wins); always returns -1.
int unit_error(Compiler *c, Pos pos, const char *fmt, ...) EDDY_PRINTF(3, 4);
int unit_oom(Compiler *c);       // arena exhausted: MemoryError; returns -1
int unit_vm_failed(Compiler *c); // a VM exception is pending; returns -1

// Emission. Every word records the current location and innermost handler.
int unit_emit(Compiler *c, Opcode op, uint32_t arg);
int32_t unit_new_label(Compiler *c);              // -1 on failure
void unit_bind_label(Compiler *c, int32_t label); // the label is the next word
int unit_emit_jump(Compiler *c, Opcode op, int32_t label);
// Exception handlers in force: push a new one (its depth is the stack depth
// at this point plus extra), re-push one whose region continues, pop.
int unit_push_handler(Compiler *c, int32_t label, int32_t extra, bool lasti);
int unit_repush_handler(Compiler *c, int32_t h);
int32_t unit_top_handler(Compiler *c);
void unit_pop_handler(Compiler *c);

// Constants (de-duplicated by ConstKey; KEY_UNIQUE never) and names.
int32_t unit_add_const(Compiler *c, ConstKey key, Value v);
int32_t unit_find_const(Compiler *c, ConstKey key);
int32_t unit_const_none(Compiler *c);
int32_t unit_const_int(Compiler *c, int64_t i);
int32_t unit_const_str(Compiler *c, const char *s, size_t len);
int32_t unit_const_value(Compiler *c, Value v);
int32_t unit_const_from_ast(Compiler *c, const Constant *k, Pos pos);
int unit_emit_const(Compiler *c, int32_t k); // k < 0: propagates the error
int32_t unit_add_name(Compiler *c, const char *name);
const char *unit_mangle(Compiler *c, const char *name); // NULL when out of memory
int unit_emit_name(Compiler *c, Opcode op, const char *name);
int32_t unit_add_varname(Compiler *c, const char *name);
int32_t unit_find_in(const char **arr, int32_t n, const char *name);
bool unit_is_function_like(Unit *u);

// Open a unit for scope (qualname, varnames, cellvars, freevars computed);
// close it; turn the current unit into a CodeObject (NULL on error).
int unit_enter(Compiler *c, Scope *scope, ScopeKind kind, const char *name, Pos pos,
               const char *private_name);
void unit_leave(Compiler *c);
CodeObject *unit_assemble(Compiler *c);

#endif
