// compile.c - AST -> code objects.
//
// A close port of CPython 3.11's Python/compile.c code generation onto
// Eddy's bytecode (vm/opcodes.def). Differences that shape this file:
// - Instructions are fixed-size words (no EXTENDED_ARG), so code is emitted
//   straight into one array per code object (compiler/compile_unit.c); jumps
//   name labels that are patched at assembly time.
// - CPython's SETUP_* / POP_BLOCK pseudo-instructions become a compile-time
//   stack of exception handlers: every emitted word records the innermost
//   handler in force, and assembly turns runs of equal handlers into
//   exception-table rows (inner regions naturally come first, and inline
//   copies of `finally` bodies, emitted after POP_BLOCK, are not protected
//   by their own handler).
// - A handler's stack depth is the depth at the instruction where it was
//   set up (plus a fixed adjustment), found by the exact stack-depth pass.
//
// The compiler never runs script code, so no collection happens while it
// holds unrooted constants.
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_unit.h"

// LOAD_GLOBAL's arg&1 form leaves [global NULL] (callable below, as CALL
// expects), saving a PUSH_NULL per call of a global.
#ifndef USE_LOAD_GLOBAL_NULL
#define USE_LOAD_GLOBAL_NULL 1
#endif

// ---------------------------------------------------------------------------
// Blocks (CPython's fblock stack)

static int push_fblock(Compiler *c, FBlockKind kind, int32_t block, int32_t exit,
                       const void *datum) {
    Unit *u = c->u;
    if (u->nfblocks >= MAX_FBLOCKS)
        return unit_error(c, u->loc, "too many statically nested blocks");
    u->fblocks[u->nfblocks++] = (FBlock){kind, block, exit, datum, u->loc};
    return 0;
}

static void pop_fblock(Compiler *c) { c->u->nfblocks--; }

static int visit_stmt(Compiler *c, Stmt *s);
static int visit_expr(Compiler *c, Expr *e);
static int visit_stmts(Compiler *c, StmtList l) {
    for (int32_t i = 0; i < l.len; i++) CHECK(visit_stmt(c, l.items[i]));
    return 0;
}
static int nameop(Compiler *c, const char *name, ExprContext ctx);

// Inside the body of an async def or of an async comprehension (a coroutine
// frame too), not in a nested function or lambda.
static bool in_async_function(Compiler *c) {
    return (c->u->kind == SCOPE_FUNCTION || c->u->kind == SCOPE_COMPREHENSION) &&
           c->u->scope->coroutine;
}

static int compile_yield_from_loop(Compiler *c);
// [x] -> [await x]: GET_AWAITABLE (arg: which protocol produced x, for its
// TypeError) then the `yield from` loop.
static int emit_await(Compiler *c, uint32_t what) {
    CHECK(unit_emit(c, OP_GET_AWAITABLE, what));
    CHECK(unit_emit_const(c, unit_const_none(c)));
    return compile_yield_from_loop(c);
}

static int emit_exit_with_nones(Compiler *c) {
    int32_t k = unit_const_none(c);
    CHECK(unit_emit_const(c, k));
    CHECK(unit_emit_const(c, k));
    CHECK(unit_emit_const(c, k));
    return unit_emit(c, OP_CALL, 2);
}

// Emit the clean-up for leaving a block early (break/continue/return).
static int unwind_fblock(Compiler *c, FBlock *info, bool preserve_tos) {
    switch (info->kind) {
    case FB_WHILE_LOOP:
    case FB_EXCEPTION_HANDLER:
    case FB_EXCEPTION_GROUP_HANDLER: return 0;
    case FB_FOR_LOOP:
        if (preserve_tos) CHECK(unit_emit(c, OP_SWAP, 2));
        return unit_emit(c, OP_POP_TOP, 0);
    case FB_TRY_EXCEPT: unit_pop_handler(c); return 0;
    case FB_FINALLY_TRY: {
        unit_pop_handler(c);
        if (preserve_tos) CHECK(push_fblock(c, FB_POP_VALUE, -1, -1, NULL));
        // The finally body runs inline; its own breaks/returns see the
        // blocks outside this one only.
        CHECK(visit_stmts(c, *(const StmtList *)info->datum));
        if (preserve_tos) pop_fblock(c);
        return 0;
    }
    case FB_FINALLY_END:
        if (preserve_tos) CHECK(unit_emit(c, OP_SWAP, 2));
        CHECK(unit_emit(c, OP_POP_TOP, 0)); // exc
        if (preserve_tos) CHECK(unit_emit(c, OP_SWAP, 2));
        unit_pop_handler(c);
        return unit_emit(c, OP_POP_EXCEPT, 0);
    case FB_WITH: {
        Pos saved = c->u->loc;
        c->u->loc = ((const Stmt *)info->datum)->pos;
        unit_pop_handler(c);
        if (preserve_tos) CHECK(unit_emit(c, OP_SWAP, 2));
        CHECK(emit_exit_with_nones(c));
        if (((const Stmt *)info->datum)->kind == S_ASYNCWITH) CHECK(emit_await(c, 2));
        CHECK(unit_emit(c, OP_POP_TOP, 0));
        c->u->loc = saved;
        return 0;
    }
    case FB_HANDLER_CLEANUP:
        if (info->datum) unit_pop_handler(c);
        if (preserve_tos) CHECK(unit_emit(c, OP_SWAP, 2));
        unit_pop_handler(c);
        CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
        if (info->datum) {
            CHECK(unit_emit_const(c, unit_const_none(c)));
            CHECK(nameop(c, info->datum, CTX_STORE));
            CHECK(nameop(c, info->datum, CTX_DEL));
        }
        return 0;
    case FB_POP_VALUE:
        if (preserve_tos) CHECK(unit_emit(c, OP_SWAP, 2));
        return unit_emit(c, OP_POP_TOP, 0);
    }
    return 0;
}

// The compile-time block and handler stacks, saved around an early exit:
// the code after the exit's jump is still inside those blocks.
typedef struct BlockState {
    int32_t nh, nfblocks;
    int32_t hstack[MAX_HSTACK];
    FBlock fblocks[MAX_FBLOCKS];
} BlockState;

static void save_blocks(Compiler *c, BlockState *b) {
    Unit *u = c->u;
    b->nh = u->nh;
    b->nfblocks = u->nfblocks;
    memcpy(b->hstack, u->hstack, sizeof(int32_t) * (size_t)u->nh);
    memcpy(b->fblocks, u->fblocks, sizeof(FBlock) * (size_t)u->nfblocks);
}

static void restore_blocks(Compiler *c, const BlockState *b) {
    Unit *u = c->u;
    u->nh = b->nh;
    u->nfblocks = b->nfblocks;
    memcpy(u->hstack, b->hstack, sizeof(int32_t) * (size_t)b->nh);
    memcpy(u->fblocks, b->fblocks, sizeof(FBlock) * (size_t)b->nfblocks);
}

// Unwind blocks up to the innermost loop (when loop != NULL, which receives
// a copy of it; *found tells whether there was one) or all of them. The
// caller saves and restores the block state around this.
static int unwind_fblock_stack(Compiler *c, bool preserve_tos, FBlock *loop, bool *found) {
    Unit *u = c->u;
    if (found) *found = false;
    while (u->nfblocks > 0) {
        FBlock top = u->fblocks[u->nfblocks - 1];
        // The clauses' results must all reach the re-raise at the end.
        if (top.kind == FB_EXCEPTION_GROUP_HANDLER)
            return unit_error(c, u->loc,
                              "'break', 'continue' and 'return' cannot appear in an except* block");
        if (loop && (top.kind == FB_WHILE_LOOP || top.kind == FB_FOR_LOOP)) {
            *loop = top;
            *found = true;
            return 0;
        }
        u->nfblocks--;
        CHECK(unwind_fblock(c, &top, preserve_tos));
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Names

static int nameop(Compiler *c, const char *name, ExprContext ctx) {
    Unit *u = c->u;
    if (ctx == CTX_LOAD && strcmp(name, "__debug__") == 0)
        return unit_emit_const(c, unit_add_const(c, (ConstKey){KEY_TRUE, 0, NULL, 0}, VAL_TRUE));
    const char *m = unit_mangle(c, name);
    if (!m) return -1;
    SymScope sc = symtable_scope_of(u->scope, m);
    enum { K_NAME, K_FAST, K_GLOBAL, K_DEREF } kind = K_NAME;
    int32_t idx = -1;
    switch (sc) {
    case SYM_FREE:
        idx = unit_find_in(u->freevars, u->nfrees, m);
        if (idx >= 0) {
            idx += u->ncells;
            kind = K_DEREF;
        }
        break;
    case SYM_CELL:
        idx = unit_find_in(u->cellvars, u->ncells, m);
        if (idx >= 0) kind = K_DEREF;
        break;
    case SYM_LOCAL:
        if (unit_is_function_like(u)) kind = K_FAST;
        break;
    case SYM_GLOBAL_IMPLICIT:
        if (unit_is_function_like(u)) kind = K_GLOBAL;
        break;
    case SYM_GLOBAL_EXPLICIT: kind = K_GLOBAL; break;
    default: break;
    }
    switch (kind) {
    case K_FAST: {
        int32_t k = unit_add_varname(c, m);
        if (k < 0) return -1;
        return unit_emit(c,
                         ctx == CTX_LOAD    ? OP_LOAD_FAST
                         : ctx == CTX_STORE ? OP_STORE_FAST
                                            : OP_DELETE_FAST,
                         (uint32_t)k);
    }
    case K_DEREF:
        if (ctx == CTX_LOAD)
            return unit_emit(c, u->kind == SCOPE_CLASS ? OP_LOAD_CLASSDEREF : OP_LOAD_DEREF,
                             (uint32_t)idx);
        return unit_emit(c, ctx == CTX_STORE ? OP_STORE_DEREF : OP_DELETE_DEREF, (uint32_t)idx);
    case K_GLOBAL: {
        int32_t k = unit_add_name(c, m);
        if (k < 0) return -1;
        if (ctx == CTX_LOAD) return unit_emit(c, OP_LOAD_GLOBAL, (uint32_t)k << 1);
        return unit_emit(c, ctx == CTX_STORE ? OP_STORE_GLOBAL : OP_DELETE_GLOBAL, (uint32_t)k);
    }
    case K_NAME:
    default:
        return unit_emit_name(c,
                              ctx == CTX_LOAD    ? OP_LOAD_NAME
                              : ctx == CTX_STORE ? OP_STORE_NAME
                                                 : OP_DELETE_NAME,
                              m);
    }
}

// ---------------------------------------------------------------------------
// Expressions

static bool has_starred(ExprList l) {
    for (int32_t i = 0; i < l.len; i++)
        if (l.items[i]->kind == E_STARRED) return true;
    return false;
}

// Build a list/tuple/set from elts (some maybe starred), after `pushed`
// items already on the stack (CPython's starunpack_helper).
// A tuple display of constants only becomes one constant, as CPython folds
// it; returns 1 when done, 0 when not applicable, -1 on error.
static int fold_const_tuple(Compiler *c, ExprList elts) {
    int32_t n = elts.len;
    if (n == 0 || n > 256) return 0;
    for (int32_t i = 0; i < n; i++) {
        Expr *e = elts.items[i];
        if (e->kind == E_UNARYOP && e->v.unaryop.op == AST_USUB &&
            e->v.unaryop.operand->kind == E_CONSTANT &&
            ((e->v.unaryop.operand->v.constant.kind == CONST_INT &&
              e->v.unaryop.operand->v.constant.i != INT64_MIN) ||
             e->v.unaryop.operand->v.constant.kind == CONST_FLOAT))
            continue; // a negative number literal
        if (e->kind != E_CONSTANT || e->v.constant.kind == CONST_COMPLEX) return 0;
    }
    TupleObject *t = tuple_new(c->vm, (size_t)n);
    if (!t) return unit_vm_failed(c);
    Unit *u = c->u;
    for (int32_t i = 0; i < n; i++) {
        // Items are made through the constants table (shared, de-duplicated
        // values); they stay in it, which is harmless.
        Expr *e = elts.items[i];
        int32_t k;
        if (e->kind == E_UNARYOP) {
            Constant neg = e->v.unaryop.operand->v.constant;
            neg.i = -neg.i;
            neg.f = -neg.f;
            k = unit_const_from_ast(c, &neg, e->pos);
        } else {
            k = unit_const_from_ast(c, &e->v.constant, e->pos);
        }
        if (k < 0) return -1;
        t->items[i] = u->consts[k];
    }
    CHECK(unit_emit_const(c, unit_const_value(c, v_obj(t))));
    return 1;
}

static int starunpack(Compiler *c, ExprList elts, int32_t pushed, Opcode build, Opcode add,
                      Opcode extend, bool tuple) {
    int32_t n = elts.len;
    if (tuple && pushed == 0) {
        int r = fold_const_tuple(c, elts);
        if (r != 0) return r < 0 ? -1 : 0;
    }
    bool big = n + pushed > STACK_USE_GUARDRAIL;
    bool star = has_starred(elts);
    if (!star && !big) {
        for (int32_t i = 0; i < n; i++) CHECK(visit_expr(c, elts.items[i]));
        return unit_emit(c, tuple ? OP_BUILD_TUPLE : build, (uint32_t)(n + pushed));
    }
    bool built = false;
    if (big) {
        CHECK(unit_emit(c, build, (uint32_t)pushed));
        built = true;
    }
    for (int32_t i = 0; i < n; i++) {
        Expr *e = elts.items[i];
        if (e->kind == E_STARRED) {
            if (!built) {
                CHECK(unit_emit(c, build, (uint32_t)(i + pushed)));
                built = true;
            }
            CHECK(visit_expr(c, e->v.starred.value));
            CHECK(unit_emit(c, extend, 1));
        } else {
            CHECK(visit_expr(c, e));
            if (built) CHECK(unit_emit(c, add, 1));
        }
    }
    if (tuple) CHECK(unit_emit(c, OP_LIST_TO_TUPLE, 0));
    return 0;
}

static int compile_dict(Compiler *c, Expr *e) {
    int32_t n = e->v.dict.len;
    bool unpack = false;
    for (int32_t i = 0; i < n; i++)
        if (!e->v.dict.keys[i]) unpack = true;
    if (!unpack && n * 2 <= STACK_USE_GUARDRAIL) {
        for (int32_t i = 0; i < n; i++) {
            CHECK(visit_expr(c, e->v.dict.keys[i]));
            CHECK(visit_expr(c, e->v.dict.values[i]));
        }
        return unit_emit(c, OP_BUILD_MAP, (uint32_t)n);
    }
    CHECK(unit_emit(c, OP_BUILD_MAP, 0));
    for (int32_t i = 0; i < n; i++) {
        if (!e->v.dict.keys[i]) {
            CHECK(visit_expr(c, e->v.dict.values[i]));
            CHECK(unit_emit(c, OP_DICT_UPDATE, 1));
        } else {
            CHECK(visit_expr(c, e->v.dict.keys[i]));
            CHECK(visit_expr(c, e->v.dict.values[i]));
            CHECK(unit_emit(c, OP_MAP_ADD, 1));
        }
    }
    return 0;
}

static int emit_compare_op(Compiler *c, CmpOpKind op) {
    switch (op) {
    case AST_IS: return unit_emit(c, OP_IS_OP, 0);
    case AST_ISNOT: return unit_emit(c, OP_IS_OP, 1);
    case AST_IN: return unit_emit(c, OP_CONTAINS_OP, 0);
    case AST_NOTIN: return unit_emit(c, OP_CONTAINS_OP, 1);
    default: return unit_emit(c, OP_COMPARE_OP, (uint32_t)op);
    }
}

static int compile_compare(Compiler *c, Expr *e) {
    int32_t n = e->v.compare.comparators.len - 1;
    CHECK(visit_expr(c, e->v.compare.left));
    if (n == 0) {
        CHECK(visit_expr(c, e->v.compare.comparators.items[0]));
        return emit_compare_op(c, e->v.compare.ops[0]);
    }
    int32_t cleanup = unit_new_label(c), end = unit_new_label(c);
    for (int32_t i = 0; i < n; i++) {
        CHECK(visit_expr(c, e->v.compare.comparators.items[i]));
        CHECK(unit_emit(c, OP_SWAP, 2));
        CHECK(unit_emit(c, OP_COPY, 2));
        CHECK(emit_compare_op(c, e->v.compare.ops[i]));
        CHECK(unit_emit_jump(c, OP_JUMP_IF_FALSE_OR_POP, cleanup));
    }
    CHECK(visit_expr(c, e->v.compare.comparators.items[n]));
    CHECK(emit_compare_op(c, e->v.compare.ops[n]));
    CHECK(unit_emit_jump(c, OP_JUMP, end));
    unit_bind_label(c, cleanup);
    CHECK(unit_emit(c, OP_SWAP, 2));
    CHECK(unit_emit(c, OP_POP_TOP, 0));
    unit_bind_label(c, end);
    return 0;
}

// Truthiness of a constant, or -1 when not a constant.
static int const_truth(Expr *e) {
    if (e->kind != E_CONSTANT) return -1;
    const Constant *k = &e->v.constant;
    switch (k->kind) {
    case CONST_NONE:
    case CONST_FALSE: return 0;
    case CONST_TRUE:
    case CONST_ELLIPSIS: return 1;
    case CONST_INT: return k->i != 0;
    case CONST_BIGINT: return 1;
    case CONST_FLOAT: return k->f != 0.0;
    case CONST_STR:
    case CONST_BYTES: return k->len != 0;
    default: return -1;
    }
}

// Jump to label when the truth of e equals cond (CPython's compiler_jump_if).
static int jump_if(Compiler *c, Expr *e, int32_t label, bool cond) {
    Pos saved = c->u->loc;
    c->u->loc = e->pos;
    int rc = 0;
    switch (e->kind) {
    case E_UNARYOP:
        if (e->v.unaryop.op == AST_NOT) {
            rc = jump_if(c, e->v.unaryop.operand, label, !cond);
            goto done;
        }
        break;
    case E_BOOLOP: {
        bool is_or = e->v.boolop.op == BOOL_OR;
        int32_t next = label;
        if (is_or != cond) next = unit_new_label(c);
        int32_t n = e->v.boolop.values.len;
        for (int32_t i = 0; i < n - 1 && rc == 0; i++)
            rc = jump_if(c, e->v.boolop.values.items[i], next, is_or);
        if (rc == 0) rc = jump_if(c, e->v.boolop.values.items[n - 1], label, cond);
        if (next != label) unit_bind_label(c, next);
        goto done;
    }
    case E_IFEXP: {
        int32_t end = unit_new_label(c), next2 = unit_new_label(c);
        if (jump_if(c, e->v.ifexp.test, next2, false) < 0 ||
            jump_if(c, e->v.ifexp.body, label, cond) < 0 || unit_emit_jump(c, OP_JUMP, end) < 0) {
            rc = -1;
            goto done;
        }
        unit_bind_label(c, next2);
        rc = jump_if(c, e->v.ifexp.orelse, label, cond);
        unit_bind_label(c, end);
        goto done;
    }
    case E_COMPARE:
        if (e->v.compare.comparators.len == 1 &&
            (e->v.compare.ops[0] == AST_IS || e->v.compare.ops[0] == AST_ISNOT) &&
            e->v.compare.comparators.items[0]->kind == E_CONSTANT &&
            e->v.compare.comparators.items[0]->v.constant.kind == CONST_NONE) {
            bool is = e->v.compare.ops[0] == AST_IS;
            if (visit_expr(c, e->v.compare.left) < 0) {
                rc = -1;
                goto done;
            }
            c->u->loc = e->pos;
            rc = unit_emit_jump(c, (is == cond) ? OP_POP_JUMP_IF_NONE : OP_POP_JUMP_IF_NOT_NONE,
                                label);
            goto done;
        }
        break;
    default: break;
    }
    {
        int t = const_truth(e);
        if (t >= 0) {
            if ((t != 0) == cond) rc = unit_emit_jump(c, OP_JUMP, label);
            goto done;
        }
    }
    if (visit_expr(c, e) < 0) {
        rc = -1;
        goto done;
    }
    c->u->loc = e->pos;
    rc = unit_emit_jump(c, cond ? OP_POP_JUMP_IF_TRUE : OP_POP_JUMP_IF_FALSE, label);
done:
    c->u->loc = saved;
    return rc;
}

static int compile_boolop(Compiler *c, Expr *e) {
    int32_t end = unit_new_label(c);
    Opcode op = e->v.boolop.op == BOOL_AND ? OP_JUMP_IF_FALSE_OR_POP : OP_JUMP_IF_TRUE_OR_POP;
    int32_t n = e->v.boolop.values.len;
    for (int32_t i = 0; i < n - 1; i++) {
        CHECK(visit_expr(c, e->v.boolop.values.items[i]));
        CHECK(unit_emit_jump(c, op, end));
    }
    CHECK(visit_expr(c, e->v.boolop.values.items[n - 1]));
    unit_bind_label(c, end);
    return 0;
}

// Keyword arguments must be unique (CPython's validate_keywords).
static int check_keywords(Compiler *c, Keyword *kws, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        if (!kws[i].arg) continue;
        for (int32_t j = i + 1; j < n; j++)
            if (kws[j].arg && strcmp(kws[i].arg, kws[j].arg) == 0)
                return unit_error(c, kws[j].pos, "keyword argument repeated: %s", kws[i].arg);
    }
    return 0;
}

// Push the kwargs dict for CALL_EX: named keywords and **mappings merged in
// order, duplicates rejected by DICT_MERGE.
static int compile_kwargs_dict(Compiler *c, Keyword *kws, int32_t n) {
    bool have = false;
    int32_t i = 0;
    while (i < n) {
        if (!kws[i].arg) {
            if (!have) {
                CHECK(unit_emit(c, OP_BUILD_MAP, 0));
                have = true;
            }
            CHECK(visit_expr(c, kws[i].value));
            CHECK(unit_emit(c, OP_DICT_MERGE, 1));
            i++;
            continue;
        }
        int32_t j = i;
        while (j < n && kws[j].arg && j - i < 15) {
            CHECK(unit_emit_const(c, unit_const_str(c, kws[j].arg, strlen(kws[j].arg))));
            CHECK(visit_expr(c, kws[j].value));
            j++;
        }
        CHECK(unit_emit(c, OP_BUILD_MAP, (uint32_t)(j - i)));
        if (have) CHECK(unit_emit(c, OP_DICT_MERGE, 1));
        have = true;
        i = j;
    }
    return 0;
}

static int32_t kwnames_const(Compiler *c, Keyword *kws, int32_t n) {
    TupleObject *t = tuple_new(c->vm, (size_t)n);
    if (!t) return unit_vm_failed(c);
    for (int32_t i = 0; i < n; i++) {
        StrObject *s = str_intern_cstr(c->vm, kws[i].arg);
        if (!s) return unit_vm_failed(c);
        t->items[i] = v_obj(s);
    }
    return unit_const_value(c, v_obj(t));
}

// Arguments of a call whose callable and self_or_NULL (and `pushed` more
// positional arguments) are on the stack.
static int call_helper(Compiler *c, int32_t pushed, ExprList args, Keyword *kws, int32_t nkws) {
    CHECK(check_keywords(c, kws, nkws));
    bool ex = has_starred(args);
    for (int32_t i = 0; i < nkws; i++)
        if (!kws[i].arg) ex = true;
    if (args.len + pushed + nkws * 2 > STACK_USE_GUARDRAIL) ex = true;
    if (!ex) {
        for (int32_t i = 0; i < args.len; i++) CHECK(visit_expr(c, args.items[i]));
        if (nkws) {
            for (int32_t i = 0; i < nkws; i++) CHECK(visit_expr(c, kws[i].value));
            CHECK(unit_emit_const(c, kwnames_const(c, kws, nkws)));
            return unit_emit(c, OP_CALL_KW, (uint32_t)(pushed + args.len + nkws));
        }
        return unit_emit(c, OP_CALL, (uint32_t)(pushed + args.len));
    }
    if (pushed == 0 && args.len == 1 && args.items[0]->kind == E_STARRED) {
        // f(*x): CALL_EX takes x itself (as CPython), so a non-iterable is
        // reported as "f() argument after * must be an iterable".
        CHECK(visit_expr(c, args.items[0]->v.starred.value));
    } else {
        CHECK(starunpack(c, args, pushed, OP_BUILD_LIST, OP_LIST_APPEND, OP_LIST_EXTEND, true));
    }
    if (nkws) CHECK(compile_kwargs_dict(c, kws, nkws));
    return unit_emit(c, OP_CALL_EX, nkws ? 1 : 0);
}

static int compile_call(Compiler *c, Expr *e) {
    Expr *f = e->v.call.func;
    ExprList args = e->v.call.args;
    Keyword *kws = e->v.call.keywords;
    int32_t nkws = e->v.call.nkeywords;
    bool simple = !has_starred(args) && args.len + nkws * 2 < STACK_USE_GUARDRAIL;
    for (int32_t i = 0; i < nkws; i++)
        if (!kws[i].arg) simple = false;
    if (f->kind == E_ATTRIBUTE && f->v.attribute.ctx == CTX_LOAD && simple) {
        // obj.m(...): LOAD_METHOD avoids creating a bound method.
        CHECK(visit_expr(c, f->v.attribute.value));
        Pos saved = c->u->loc;
        c->u->loc = f->pos;
        CHECK(unit_emit_name(c, OP_LOAD_METHOD, unit_mangle(c, f->v.attribute.attr)));
        c->u->loc = saved;
        return call_helper(c, 0, args, kws, nkws);
    }
#if USE_LOAD_GLOBAL_NULL
    if (f->kind == E_NAME && strcmp(f->v.name.id, "__debug__") != 0) {
        // f(...) on a global: LOAD_GLOBAL pushes [f NULL] in one instruction.
        const char *m = unit_mangle(c, f->v.name.id);
        if (!m) return -1;
        SymScope sc = symtable_scope_of(c->u->scope, m);
        if (sc == SYM_GLOBAL_EXPLICIT ||
            (sc == SYM_GLOBAL_IMPLICIT && unit_is_function_like(c->u))) {
            int32_t k = unit_add_name(c, m);
            if (k < 0) return -1;
            c->u->loc = f->pos;
            CHECK(unit_emit(c, OP_LOAD_GLOBAL, ((uint32_t)k << 1) | 1));
            c->u->loc = e->pos;
            return call_helper(c, 0, args, kws, nkws);
        }
    }
#endif
    CHECK(visit_expr(c, f));
    c->u->loc = e->pos;
    CHECK(unit_emit(c, OP_PUSH_NULL, 0));
    return call_helper(c, 0, args, kws, nkws);
}

static int compile_joinedstr(Compiler *c, Expr *e) {
    int32_t n = e->v.joinedstr.values.len;
    if (n == 0) return unit_emit_const(c, unit_const_str(c, "", 0));
    for (int32_t i = 0; i < n; i++) CHECK(visit_expr(c, e->v.joinedstr.values.items[i]));
    if (n == 1 && e->v.joinedstr.values.items[0]->kind == E_FORMATTEDVALUE) return 0;
    if (n == 1) return 0;
    return unit_emit(c, OP_BUILD_STRING, (uint32_t)n);
}

static int compile_formatted(Compiler *c, Expr *e) {
    CHECK(visit_expr(c, e->v.formatted.value));
    uint32_t flags = 0;
    switch (e->v.formatted.conversion) {
    case 's': flags = 1; break;
    case 'r': flags = 2; break;
    case 'a': flags = 3; break;
    default: flags = 0; break;
    }
    if (e->v.formatted.format_spec) {
        CHECK(visit_expr(c, e->v.formatted.format_spec));
        flags |= 4;
    }
    c->u->loc = e->pos;
    return unit_emit(c, OP_FORMAT_VALUE, flags);
}

static int compile_slice(Compiler *c, Expr *e) {
    int32_t n = 2;
    if (e->v.slice.lower)
        CHECK(visit_expr(c, e->v.slice.lower));
    else
        CHECK(unit_emit_const(c, unit_const_none(c)));
    if (e->v.slice.upper)
        CHECK(visit_expr(c, e->v.slice.upper));
    else
        CHECK(unit_emit_const(c, unit_const_none(c)));
    if (e->v.slice.step) {
        CHECK(visit_expr(c, e->v.slice.step));
        n = 3;
    }
    return unit_emit(c, OP_BUILD_SLICE, (uint32_t)n);
}

// MAKE_FUNCTION for a finished code object, with its closure tuple.
static int make_closure(Compiler *c, CodeObject *co, uint32_t flags) {
    Unit *u = c->u;
    if (co->nfrees > 0) {
        for (uint32_t i = 0; i < co->nfrees; i++) {
            const char *name = AS_STR(co->freevars->items[i])->data;
            int32_t arg = -1;
            bool cell = u->kind == SCOPE_CLASS && strcmp(name, "__class__") == 0;
            if (!cell) cell = symtable_scope_of(u->scope, name) == SYM_CELL;
            if (cell) {
                arg = unit_find_in(u->cellvars, u->ncells, name);
            } else {
                arg = unit_find_in(u->freevars, u->nfrees, name);
                if (arg >= 0) arg += u->ncells;
            }
            if (arg < 0)
                return unit_error(c, u->loc, "internal compiler error: closure variable '%s'",
                                  name);
            CHECK(unit_emit(c, OP_LOAD_CLOSURE, (uint32_t)arg));
        }
        CHECK(unit_emit(c, OP_BUILD_TUPLE, co->nfrees));
        flags |= 8;
    }
    CHECK(unit_emit_const(c, unit_const_value(c, v_obj(co))));
    return unit_emit(c, OP_MAKE_FUNCTION, flags);
}

// Positional defaults tuple and kw-only defaults dict; returns MAKE_FUNCTION flags.
static int compile_defaults(Compiler *c, Arguments *a, uint32_t *flags) {
    *flags = 0;
    if (!a) return 0;
    if (a->defaults.len > 0) {
        for (int32_t i = 0; i < a->defaults.len; i++) CHECK(visit_expr(c, a->defaults.items[i]));
        CHECK(unit_emit(c, OP_BUILD_TUPLE, (uint32_t)a->defaults.len));
        *flags |= 1;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < a->nkwonly; i++) {
        if (!a->kw_defaults || !a->kw_defaults[i]) continue;
        const char *m = unit_mangle(c, a->kwonlyargs[i].name);
        if (!m) return -1;
        CHECK(unit_emit_const(c, unit_const_str(c, m, strlen(m))));
        CHECK(visit_expr(c, a->kw_defaults[i]));
        n++;
    }
    if (n) {
        CHECK(unit_emit(c, OP_BUILD_MAP, (uint32_t)n));
        *flags |= 2;
    }
    return 0;
}

static void set_arg_counts(Unit *u, Arguments *a) {
    if (!a) return;
    u->posonlyargcount = (uint32_t)a->nposonly;
    u->argcount = (uint32_t)(a->nposonly + a->nargs);
    u->kwonlyargcount = (uint32_t)a->nkwonly;
    if (a->vararg) u->flags |= CO_VARARGS;
    if (a->kwarg) u->flags |= CO_VARKEYWORDS;
}

static int compile_lambda(Compiler *c, Expr *e) {
    uint32_t flags;
    CHECK(compile_defaults(c, e->v.lambda.args, &flags));
    Scope *scope = symtable_lookup_scope(&c->st, e);
    CHECK(unit_enter(c, scope, SCOPE_FUNCTION, "<lambda>", e->pos, c->u->private_name));
    set_arg_counts(c->u, e->v.lambda.args);
    // None first, so a lambda never has a docstring.
    if (unit_const_none(c) < 0 || visit_expr(c, e->v.lambda.body) < 0 ||
        unit_emit(c, OP_RETURN_VALUE, 0) < 0) {
        unit_leave(c);
        return -1;
    }
    CodeObject *co = unit_assemble(c);
    unit_leave(c);
    if (!co) return -1;
    return make_closure(c, co, flags);
}

static int comprehension_generator(Compiler *c, Expr *e, int32_t gen_index, int32_t depth) {
    Comprehension *gen = &e->v.comp.generators[gen_index];
    int32_t start = unit_new_label(c), if_cleanup = unit_new_label(c), anchor = unit_new_label(c);
    if (gen_index == 0) {
        CHECK(unit_emit(c, OP_LOAD_FAST, 0)); // ".0", the outermost iterator
    } else {
        CHECK(visit_expr(c, gen->iter));
        CHECK(unit_emit(c, gen->is_async ? OP_GET_AITER : OP_GET_ITER, 0));
    }
    depth++;
    unit_bind_label(c, start);
    if (gen->is_async) {
        // As in `async for`: StopAsyncIteration from the await ends this loop.
        CHECK(unit_push_handler(c, anchor, 0, false));
        CHECK(unit_emit(c, OP_GET_ANEXT, 0));
        CHECK(emit_await(c, 3));
        unit_pop_handler(c);
    } else {
        CHECK(unit_emit_jump(c, OP_FOR_ITER, anchor));
    }
    CHECK(visit_expr(c, gen->target));
    for (int32_t i = 0; i < gen->ifs.len; i++)
        CHECK(jump_if(c, gen->ifs.items[i], if_cleanup, false));
    if (gen_index + 1 < e->v.comp.ngenerators) {
        CHECK(comprehension_generator(c, e, gen_index + 1, depth));
    } else {
        switch (e->kind) {
        case E_LISTCOMP:
            CHECK(visit_expr(c, e->v.comp.elt));
            CHECK(unit_emit(c, OP_LIST_APPEND, (uint32_t)(depth + 1)));
            break;
        case E_SETCOMP:
            CHECK(visit_expr(c, e->v.comp.elt));
            CHECK(unit_emit(c, OP_SET_ADD, (uint32_t)(depth + 1)));
            break;
        case E_GENERATOREXP:
            CHECK(visit_expr(c, e->v.comp.elt));
            if (in_async_function(c)) CHECK(unit_emit(c, OP_ASYNC_GEN_WRAP, 0));
            CHECK(unit_emit(c, OP_YIELD_VALUE, 0));
            CHECK(unit_emit(c, OP_POP_TOP, 0));
            break;
        default:
            CHECK(visit_expr(c, e->v.comp.key));
            CHECK(visit_expr(c, e->v.comp.value));
            CHECK(unit_emit(c, OP_MAP_ADD, (uint32_t)(depth + 1)));
            break;
        }
    }
    unit_bind_label(c, if_cleanup);
    CHECK(unit_emit_jump(c, OP_JUMP, start));
    unit_bind_label(c, anchor);
    if (gen->is_async) CHECK(unit_emit(c, OP_END_ASYNC_FOR, 0)); // [aiter exc] -> []
    return 0;
}

// [sub v] -> [result of `yield from`]: send v into sub, pass each value it
// yields out to our resumer, until it returns (opcodes.def, SEND).
static int compile_yield_from_loop(Compiler *c) {
    int32_t send = unit_new_label(c), exit = unit_new_label(c);
    unit_bind_label(c, send);
    CHECK(unit_emit_jump(c, OP_SEND, exit));
    CHECK(unit_emit(c, OP_YIELD_VALUE, 1)); // arg 1: inside yield from (gi_yieldfrom, throw)
    CHECK(unit_emit_jump(c, OP_JUMP, send));
    unit_bind_label(c, exit);
    return 0;
}

static int compile_comprehension(Compiler *c, Expr *e) {
    if (e->v.comp.ngenerators <= 0) return unit_error(c, e->pos, "invalid comprehension");
    Scope *cscope = symtable_lookup_scope(&c->st, e);
    // An async list/set/dict comprehension is a coroutine awaited right here.
    bool awaited = cscope->coroutine && e->kind != E_GENERATOREXP;
    if (awaited && !in_async_function(c))
        return unit_error(c, e->pos,
                          "asynchronous comprehension outside of an asynchronous function");
    const char *name = e->kind == E_LISTCOMP       ? "<listcomp>"
                       : e->kind == E_SETCOMP      ? "<setcomp>"
                       : e->kind == E_GENERATOREXP ? "<genexpr>"
                                                   : "<dictcomp>";
    Scope *scope = symtable_lookup_scope(&c->st, e);
    CHECK(unit_enter(c, scope, SCOPE_COMPREHENSION, name, e->pos, c->u->private_name));
    c->u->argcount = 1;
    Opcode build = e->kind == E_LISTCOMP  ? OP_BUILD_LIST
                   : e->kind == E_SETCOMP ? OP_BUILD_SET
                                          : OP_BUILD_MAP;
    // A generator expression yields its items (its frame became the
    // generator in unit_enter) and returns None.
    bool genexp = e->kind == E_GENERATOREXP;
    if ((genexp ? 0 : unit_emit(c, build, 0)) < 0 || comprehension_generator(c, e, 0, 0) < 0 ||
        (genexp ? unit_emit_const(c, unit_const_none(c)) : 0) < 0 ||
        unit_emit(c, OP_RETURN_VALUE, 0) < 0) {
        unit_leave(c);
        return -1;
    }
    CodeObject *co = unit_assemble(c);
    unit_leave(c);
    if (!co) return -1;
    CHECK(make_closure(c, co, 0));
    // The outermost iterable is evaluated here, in the enclosing scope.
    CHECK(visit_expr(c, e->v.comp.generators[0].iter));
    c->u->loc = e->pos;
    CHECK(unit_emit(c, e->v.comp.generators[0].is_async ? OP_GET_AITER : OP_GET_ITER, 0));
    CHECK(unit_emit(c, OP_CALL, 0)); // [func iter] -> func(iter)
    return awaited ? emit_await(c, 0) : 0;
}

static int visit_store_target(Compiler *c, Expr *e);

// Unpack the top of stack into elts (CPython's unpack_helper + assignment_helper).
static int compile_unpack(Compiler *c, Expr *e, ExprList elts) {
    int32_t n = elts.len;
    bool seen_star = false;
    for (int32_t i = 0; i < n; i++) {
        if (elts.items[i]->kind != E_STARRED) continue;
        if (seen_star) return unit_error(c, e->pos, "multiple starred expressions in assignment");
        if (i >= (1 << 8) || (n - i - 1) >= (1 << 16))
            return unit_error(c, e->pos, "too many expressions in star-unpacking assignment");
        CHECK(unit_emit(c, OP_UNPACK_EX, (uint32_t)(i + ((n - i - 1) << 8))));
        seen_star = true;
    }
    if (!seen_star) CHECK(unit_emit(c, OP_UNPACK_SEQUENCE, (uint32_t)n));
    for (int32_t i = 0; i < n; i++) {
        Expr *t = elts.items[i];
        CHECK(visit_store_target(c, t->kind == E_STARRED ? t->v.starred.value : t));
    }
    return 0;
}

// Store the top of stack into target e.
static int visit_store_target(Compiler *c, Expr *e) {
    Pos saved = c->u->loc;
    c->u->loc = e->pos;
    int rc;
    switch (e->kind) {
    case E_NAME: rc = nameop(c, e->v.name.id, CTX_STORE); break;
    case E_ATTRIBUTE:
        rc = visit_expr(c, e->v.attribute.value);
        c->u->loc = e->pos;
        if (rc == 0) rc = unit_emit_name(c, OP_STORE_ATTR, unit_mangle(c, e->v.attribute.attr));
        break;
    case E_SUBSCRIPT:
        rc = visit_expr(c, e->v.subscript.value);
        if (rc == 0)
            rc = e->v.subscript.slice->kind == E_SLICE ? compile_slice(c, e->v.subscript.slice)
                                                       : visit_expr(c, e->v.subscript.slice);
        c->u->loc = e->pos;
        if (rc == 0) rc = unit_emit(c, OP_STORE_SUBSCR, 0);
        break;
    case E_LIST:
    case E_TUPLE: rc = compile_unpack(c, e, e->v.list.elts); break;
    case E_STARRED:
        rc = unit_error(c, e->pos, "starred assignment target must be in a list or tuple");
        break;
    default: rc = unit_error(c, e->pos, "cannot assign to expression"); break;
    }
    c->u->loc = saved;
    return rc;
}

static int compile_delete(Compiler *c, Expr *e) {
    Pos saved = c->u->loc;
    c->u->loc = e->pos;
    int rc = 0;
    switch (e->kind) {
    case E_NAME: rc = nameop(c, e->v.name.id, CTX_DEL); break;
    case E_ATTRIBUTE:
        rc = visit_expr(c, e->v.attribute.value);
        c->u->loc = e->pos;
        if (rc == 0) rc = unit_emit_name(c, OP_DELETE_ATTR, unit_mangle(c, e->v.attribute.attr));
        break;
    case E_SUBSCRIPT:
        rc = visit_expr(c, e->v.subscript.value);
        if (rc == 0)
            rc = e->v.subscript.slice->kind == E_SLICE ? compile_slice(c, e->v.subscript.slice)
                                                       : visit_expr(c, e->v.subscript.slice);
        c->u->loc = e->pos;
        if (rc == 0) rc = unit_emit(c, OP_DELETE_SUBSCR, 0);
        break;
    case E_LIST:
    case E_TUPLE:
        for (int32_t i = 0; i < e->v.list.elts.len && rc == 0; i++)
            rc = compile_delete(c, e->v.list.elts.items[i]);
        break;
    default: rc = unit_error(c, e->pos, "cannot delete expression"); break;
    }
    c->u->loc = saved;
    return rc;
}

static bool in_function(Compiler *c) {
    for (Unit *u = c->u; u; u = u->parent) {
        if (u->kind == SCOPE_FUNCTION || u->kind == SCOPE_COMPREHENSION) return true;
        break;
    }
    return false;
}

static int visit_expr_inner(Compiler *c, Expr *e) {
    switch (e->kind) {
    case E_BOOLOP: return compile_boolop(c, e);
    case E_NAMEDEXPR:
        CHECK(visit_expr(c, e->v.namedexpr.value));
        CHECK(unit_emit(c, OP_COPY, 1));
        return visit_store_target(c, e->v.namedexpr.target);
    case E_BINOP:
        CHECK(visit_expr(c, e->v.binop.left));
        CHECK(visit_expr(c, e->v.binop.right));
        return unit_emit(c, OP_BINARY_OP, (uint32_t)e->v.binop.op);
    case E_UNARYOP: {
        Expr *o = e->v.unaryop.operand;
        // Fold negative number literals.
        if (e->v.unaryop.op == AST_USUB && o->kind == E_CONSTANT) {
            if (o->v.constant.kind == CONST_INT && o->v.constant.i != INT64_MIN)
                return unit_emit_const(c, unit_const_int(c, -o->v.constant.i));
            if (o->v.constant.kind == CONST_FLOAT) {
                Constant k = o->v.constant;
                k.f = -k.f;
                return unit_emit_const(c, unit_const_from_ast(c, &k, o->pos));
            }
        }
        CHECK(visit_expr(c, o));
        switch (e->v.unaryop.op) {
        case AST_INVERT: return unit_emit(c, OP_UNARY_INVERT, 0);
        case AST_NOT: return unit_emit(c, OP_UNARY_NOT, 0);
        case AST_UADD: return unit_emit(c, OP_UNARY_POSITIVE, 0);
        case AST_USUB: return unit_emit(c, OP_UNARY_NEGATIVE, 0);
        }
        return -1;
    }
    case E_LAMBDA: return compile_lambda(c, e);
    case E_IFEXP: {
        int32_t end = unit_new_label(c), next = unit_new_label(c);
        CHECK(jump_if(c, e->v.ifexp.test, next, false));
        CHECK(visit_expr(c, e->v.ifexp.body));
        CHECK(unit_emit_jump(c, OP_JUMP, end));
        unit_bind_label(c, next);
        CHECK(visit_expr(c, e->v.ifexp.orelse));
        unit_bind_label(c, end);
        return 0;
    }
    case E_DICT: return compile_dict(c, e);
    case E_SET:
        return starunpack(c, e->v.set.elts, 0, OP_BUILD_SET, OP_SET_ADD, OP_SET_UPDATE, false);
    case E_LISTCOMP:
    case E_SETCOMP:
    case E_DICTCOMP:
    case E_GENERATOREXP: return compile_comprehension(c, e);
    case E_AWAIT:
        if (!in_function(c)) return unit_error(c, e->pos, "'await' outside function");
        if (!in_async_function(c)) return unit_error(c, e->pos, "'await' outside async function");
        CHECK(visit_expr(c, e->v.await_.value));
        c->u->loc = e->pos;
        return emit_await(c, 0);
    case E_YIELD:
        if (!in_function(c)) return unit_error(c, e->pos, "'yield' outside function");
        if (e->v.yield.value)
            CHECK(visit_expr(c, e->v.yield.value));
        else
            CHECK(unit_emit_const(c, unit_const_none(c)));
        c->u->loc = e->pos;
        if (in_async_function(c)) CHECK(unit_emit(c, OP_ASYNC_GEN_WRAP, 0)); // an item
        return unit_emit(c, OP_YIELD_VALUE, 0); // leaves the sent value
    case E_YIELDFROM:
        if (!in_function(c)) return unit_error(c, e->pos, "'yield' outside function");
        if (in_async_function(c))
            return unit_error(c, e->pos, "'yield from' inside async function");
        CHECK(visit_expr(c, e->v.yieldfrom.value));
        c->u->loc = e->pos;
        CHECK(unit_emit(c, OP_GET_YIELD_FROM_ITER, 0));
        CHECK(unit_emit_const(c, unit_const_none(c)));
        return compile_yield_from_loop(c);
    case E_COMPARE: return compile_compare(c, e);
    case E_CALL: return compile_call(c, e);
    case E_FORMATTEDVALUE: return compile_formatted(c, e);
    case E_JOINEDSTR: return compile_joinedstr(c, e);
    case E_CONSTANT: return unit_emit_const(c, unit_const_from_ast(c, &e->v.constant, e->pos));
    case E_ATTRIBUTE:
        if (e->v.attribute.ctx != CTX_LOAD) return visit_store_target(c, e);
        CHECK(visit_expr(c, e->v.attribute.value));
        c->u->loc = e->pos;
        return unit_emit_name(c, OP_LOAD_ATTR, unit_mangle(c, e->v.attribute.attr));
    case E_SUBSCRIPT:
        if (e->v.subscript.ctx != CTX_LOAD) return visit_store_target(c, e);
        CHECK(visit_expr(c, e->v.subscript.value));
        if (e->v.subscript.slice->kind == E_SLICE)
            CHECK(compile_slice(c, e->v.subscript.slice));
        else
            CHECK(visit_expr(c, e->v.subscript.slice));
        c->u->loc = e->pos;
        return unit_emit(c, OP_BINARY_SUBSCR, 0);
    case E_STARRED:
        if (e->v.starred.ctx == CTX_STORE)
            return unit_error(c, e->pos, "starred assignment target must be in a list or tuple");
        return unit_error(c, e->pos, "can't use starred expression here");
    case E_NAME: return nameop(c, e->v.name.id, e->v.name.ctx);
    case E_LIST:
        if (e->v.list.ctx == CTX_STORE) return visit_store_target(c, e);
        return starunpack(c, e->v.list.elts, 0, OP_BUILD_LIST, OP_LIST_APPEND, OP_LIST_EXTEND,
                          false);
    case E_TUPLE:
        if (e->v.list.ctx == CTX_STORE) return visit_store_target(c, e);
        return starunpack(c, e->v.list.elts, 0, OP_BUILD_LIST, OP_LIST_APPEND, OP_LIST_EXTEND,
                          true);
    case E_SLICE: return compile_slice(c, e);
    }
    return unit_error(c, e->pos, "internal compiler error: unknown expression");
}

static int visit_expr(Compiler *c, Expr *e) {
    if (c->failed) return -1;
    if (++c->depth > MAX_COMPILE_DEPTH) {
        if (!c->failed) c->failed = c->too_deep = true;
        return -1;
    }
    Pos saved = c->u->loc;
    c->u->loc = e->pos;
    int rc = visit_expr_inner(c, e);
    c->u->loc = saved;
    c->depth--;
    return rc;
}

// ---------------------------------------------------------------------------
// Statements

static const char *docstring_of(StmtList body, size_t *len) {
    if (body.len > 0 && body.items[0]->kind == S_EXPR) {
        Expr *v = body.items[0]->v.expr.value;
        if (v->kind == E_CONSTANT && v->v.constant.kind == CONST_STR) {
            *len = v->v.constant.len;
            return v->v.constant.text ? v->v.constant.text : "";
        }
    }
    return NULL;
}

// Does the body contain an annotated assignment (outside nested scopes)?
static bool find_ann(StmtList body) {
    for (int32_t i = 0; i < body.len; i++) {
        Stmt *s = body.items[i];
        switch (s->kind) {
        case S_ANNASSIGN: return true;
        case S_FOR:
        case S_ASYNCFOR:
            if (find_ann(s->v.for_.body) || find_ann(s->v.for_.orelse)) return true;
            break;
        case S_WHILE:
            if (find_ann(s->v.while_.body) || find_ann(s->v.while_.orelse)) return true;
            break;
        case S_IF:
            if (find_ann(s->v.if_.body) || find_ann(s->v.if_.orelse)) return true;
            break;
        case S_WITH:
        case S_ASYNCWITH:
            if (find_ann(s->v.with.body)) return true;
            break;
        case S_TRY:
        case S_TRYSTAR:
            for (int32_t j = 0; j < s->v.try_.nhandlers; j++)
                if (find_ann(s->v.try_.handlers[j].body)) return true;
            if (find_ann(s->v.try_.body) || find_ann(s->v.try_.finalbody) ||
                find_ann(s->v.try_.orelse))
                return true;
            break;
        default: break;
        }
    }
    return false;
}

// Module and class bodies: annotations dict, docstring -> __doc__, statements.
static int compile_body(Compiler *c, StmtList body) {
    if (find_ann(body)) CHECK(unit_emit(c, OP_SETUP_ANNOTATIONS, 0));
    int32_t first = 0;
    size_t dlen;
    const char *doc = c->mode == PARSE_SINGLE ? NULL : docstring_of(body, &dlen);
    if (doc) {
        c->u->loc = body.items[0]->pos;
        CHECK(unit_emit_const(c, unit_const_str(c, doc, dlen)));
        CHECK(unit_emit_name(c, OP_STORE_NAME, "__doc__"));
        first = 1;
    }
    for (int32_t i = first; i < body.len; i++) CHECK(visit_stmt(c, body.items[i]));
    return 0;
}

static int apply_decorators(Compiler *c, ExprList decorators) {
    for (int32_t i = 0; i < decorators.len; i++) {
        c->u->loc = decorators.items[decorators.len - 1 - i]->pos;
        CHECK(unit_emit(c, OP_CALL, 0)); // [decorator func] -> decorator(func)
    }
    return 0;
}

static int compile_funcdef(Compiler *c, Stmt *s) {
    ExprList decos = s->v.funcdef.decorators;
    for (int32_t i = 0; i < decos.len; i++) CHECK(visit_expr(c, decos.items[i]));
    c->u->loc = s->pos;
    uint32_t flags;
    CHECK(compile_defaults(c, s->v.funcdef.args, &flags));
    Scope *scope = symtable_lookup_scope(&c->st, s);
    Pos first = s->pos;
    if (decos.len > 0) first.line = decos.items[0]->pos.line; // CPython: co_firstlineno
    CHECK(unit_enter(c, scope, SCOPE_FUNCTION, s->v.funcdef.name, s->pos, c->u->private_name));
    c->u->firstlineno = (uint32_t)first.line;
    set_arg_counts(c->u, s->v.funcdef.args);
    StmtList body = s->v.funcdef.body;
    size_t dlen;
    const char *doc = docstring_of(body, &dlen);
    int rc;
    if (doc) {
        rc = unit_const_str(c, doc, dlen);
        c->u->flags |= CO_HAS_DOCSTRING;
    } else {
        rc = unit_const_none(c);
    }
    for (int32_t i = doc ? 1 : 0; i < body.len && rc >= 0; i++) rc = visit_stmt(c, body.items[i]);
    if (rc >= 0) {
        // Falling off the end returns None.
        Pos end = s->pos;
        if (body.len > 0) end = body.items[body.len - 1]->pos;
        c->u->loc = end;
        rc = unit_emit_const(c, unit_const_none(c));
        if (rc >= 0) rc = unit_emit(c, OP_RETURN_VALUE, 0);
    }
    CodeObject *co = rc < 0 ? NULL : unit_assemble(c);
    unit_leave(c);
    if (!co) return -1;
    c->u->loc = s->pos;
    CHECK(make_closure(c, co, flags));
    CHECK(apply_decorators(c, decos));
    c->u->loc = s->pos;
    return nameop(c, s->v.funcdef.name, CTX_STORE);
}

static int compile_classdef(Compiler *c, Stmt *s) {
    ExprList decos = s->v.classdef.decorators;
    for (int32_t i = 0; i < decos.len; i++) CHECK(visit_expr(c, decos.items[i]));
    c->u->loc = s->pos;
    Scope *scope = symtable_lookup_scope(&c->st, s);
    CHECK(unit_enter(c, scope, SCOPE_CLASS, s->v.classdef.name, s->pos, s->v.classdef.name));
    if (decos.len > 0) c->u->firstlineno = (uint32_t)decos.items[0]->pos.line;
    Unit *u = c->u;
    int rc = unit_emit_name(c, OP_LOAD_NAME, "__name__");
    if (rc >= 0) rc = unit_emit_name(c, OP_STORE_NAME, "__module__");
    if (rc >= 0) rc = unit_emit_const(c, unit_const_str(c, u->qualname, strlen(u->qualname)));
    if (rc >= 0) rc = unit_emit_name(c, OP_STORE_NAME, "__qualname__");
    if (rc >= 0) rc = compile_body(c, s->v.classdef.body);
    if (rc >= 0) {
        u->loc = s->pos;
        u->loc.end_line = s->pos.line; // artificial: the class line
        if (scope && scope->needs_class_closure) {
            // Return the __class__ cell so __build_class__ can fill it in.
            int32_t k = unit_find_in(u->cellvars, u->ncells, "__class__");
            rc = unit_emit(c, OP_LOAD_CLOSURE, (uint32_t)(k < 0 ? 0 : k));
            if (rc >= 0) rc = unit_emit(c, OP_COPY, 1);
            if (rc >= 0) rc = unit_emit_name(c, OP_STORE_NAME, "__classcell__");
        } else {
            rc = unit_emit_const(c, unit_const_none(c));
        }
        if (rc >= 0) rc = unit_emit(c, OP_RETURN_VALUE, 0);
    }
    CodeObject *co = rc < 0 ? NULL : unit_assemble(c);
    unit_leave(c);
    if (!co) return -1;
    c->u->loc = s->pos;
    CHECK(unit_emit(c, OP_LOAD_BUILD_CLASS, 0));
    CHECK(unit_emit(c, OP_PUSH_NULL, 0));
    CHECK(make_closure(c, co, 0));
    CHECK(unit_emit_const(c, unit_const_str(c, s->v.classdef.name, strlen(s->v.classdef.name))));
    CHECK(call_helper(c, 2, s->v.classdef.bases, s->v.classdef.keywords, s->v.classdef.nkeywords));
    CHECK(apply_decorators(c, decos));
    c->u->loc = s->pos;
    return nameop(c, s->v.classdef.name, CTX_STORE);
}

static int compile_return(Compiler *c, Stmt *s) {
    if (!unit_is_function_like(c->u)) return unit_error(c, s->pos, "'return' outside function");
    Expr *v = s->v.return_.value;
    if (v && in_async_function(c) && c->u->scope->generator)
        return unit_error(c, s->pos, "'return' with value in async generator");
    bool preserve_tos = v && v->kind != E_CONSTANT;
    if (preserve_tos) CHECK(visit_expr(c, v));
    // CPython unwinds at a constant value's position when it is on the
    // statement's line (it shows in the except* error).
    if (v && !preserve_tos && v->pos.line == s->pos.line) c->u->loc = v->pos;
    BlockState saved;
    save_blocks(c, &saved);
    int rc = unwind_fblock_stack(c, preserve_tos, NULL, NULL);
    c->u->loc = s->pos;
    if (rc >= 0 && !v)
        rc = unit_emit_const(c, unit_const_none(c));
    else if (rc >= 0 && !preserve_tos)
        rc = unit_emit_const(c, unit_const_from_ast(c, &v->v.constant, v->pos));
    if (rc >= 0) rc = unit_emit(c, OP_RETURN_VALUE, 0);
    restore_blocks(c, &saved);
    return rc;
}

static int compile_break_continue(Compiler *c, Stmt *s, bool is_break) {
    FBlock loop = {0};
    bool found = false;
    BlockState saved;
    save_blocks(c, &saved);
    int rc = unwind_fblock_stack(c, false, &loop, &found);
    if (rc >= 0 && !found)
        rc = unit_error(c, s->pos,
                        is_break ? "'break' outside loop" : "'continue' not properly in loop");
    c->u->loc = s->pos;
    if (rc >= 0 && is_break) {
        if (loop.kind == FB_FOR_LOOP) rc = unit_emit(c, OP_POP_TOP, 0); // the iterator
        if (rc >= 0) rc = unit_emit_jump(c, OP_JUMP, loop.exit);
    } else if (rc >= 0) {
        rc = unit_emit_jump(c, OP_JUMP, loop.block);
    }
    restore_blocks(c, &saved);
    return rc;
}

// async for: [aiter]; each step awaits __anext__() under a handler that
// ends the loop on StopAsyncIteration (END_ASYNC_FOR).
static int compile_async_for(Compiler *c, Stmt *s) {
    if (!in_async_function(c)) return unit_error(c, s->pos, "'async for' outside async function");
    int32_t start = unit_new_label(c), handler = unit_new_label(c), end = unit_new_label(c);
    CHECK(visit_expr(c, s->v.for_.iter));
    c->u->loc = s->v.for_.iter->pos;
    CHECK(unit_emit(c, OP_GET_AITER, 0));
    unit_bind_label(c, start);
    CHECK(push_fblock(c, FB_FOR_LOOP, start, end, NULL));
    c->u->loc = s->pos;
    CHECK(unit_push_handler(c, handler, 0, false));
    CHECK(unit_emit(c, OP_GET_ANEXT, 0));
    CHECK(emit_await(c, 3));
    unit_pop_handler(c);
    CHECK(visit_store_target(c, s->v.for_.target));
    CHECK(visit_stmts(c, s->v.for_.body));
    c->u->loc = s->v.for_.iter->pos;
    CHECK(unit_emit_jump(c, OP_JUMP, start));
    pop_fblock(c);
    unit_bind_label(c, handler);
    c->u->loc = s->pos;
    CHECK(unit_emit(c, OP_END_ASYNC_FOR, 0)); // [aiter exc] -> [] or re-raise
    CHECK(visit_stmts(c, s->v.for_.orelse));
    unit_bind_label(c, end);
    return 0;
}

static int compile_for(Compiler *c, Stmt *s) {
    if (s->kind == S_ASYNCFOR) return compile_async_for(c, s);
    int32_t start = unit_new_label(c), cleanup = unit_new_label(c), end = unit_new_label(c);
    CHECK(push_fblock(c, FB_FOR_LOOP, start, end, NULL));
    CHECK(visit_expr(c, s->v.for_.iter));
    c->u->loc = s->v.for_.iter->pos;
    CHECK(unit_emit(c, OP_GET_ITER, 0));
    unit_bind_label(c, start);
    c->u->loc = s->pos; // CPython: errors from __next__ point at the whole `for` statement
    CHECK(unit_emit_jump(c, OP_FOR_ITER, cleanup));
    CHECK(visit_store_target(c, s->v.for_.target));
    CHECK(visit_stmts(c, s->v.for_.body));
    c->u->loc = s->v.for_.iter->pos;
    CHECK(unit_emit_jump(c, OP_JUMP, start));
    unit_bind_label(c, cleanup);
    pop_fblock(c);
    CHECK(visit_stmts(c, s->v.for_.orelse));
    unit_bind_label(c, end);
    return 0;
}

static int compile_while(Compiler *c, Stmt *s) {
    int32_t loop = unit_new_label(c), anchor = unit_new_label(c), end = unit_new_label(c);
    unit_bind_label(c, loop);
    CHECK(push_fblock(c, FB_WHILE_LOOP, loop, end, NULL));
    CHECK(jump_if(c, s->v.while_.test, anchor, false));
    CHECK(visit_stmts(c, s->v.while_.body));
    // A plain backward JUMP: the interpreter's GC / interrupt safe point.
    c->u->loc = s->v.while_.test->pos;
    CHECK(unit_emit_jump(c, OP_JUMP, loop));
    pop_fblock(c);
    unit_bind_label(c, anchor);
    CHECK(visit_stmts(c, s->v.while_.orelse));
    unit_bind_label(c, end);
    return 0;
}

static int compile_if(Compiler *c, Stmt *s) {
    int32_t end = unit_new_label(c);
    int t = const_truth(s->v.if_.test);
    if (t == 1) return visit_stmts(c, s->v.if_.body);
    if (t == 0) return visit_stmts(c, s->v.if_.orelse);
    if (s->v.if_.orelse.len > 0) {
        int32_t next = unit_new_label(c);
        CHECK(jump_if(c, s->v.if_.test, next, false));
        CHECK(visit_stmts(c, s->v.if_.body));
        CHECK(unit_emit_jump(c, OP_JUMP, end));
        unit_bind_label(c, next);
        CHECK(visit_stmts(c, s->v.if_.orelse));
    } else {
        CHECK(jump_if(c, s->v.if_.test, end, false));
        CHECK(visit_stmts(c, s->v.if_.body));
    }
    unit_bind_label(c, end);
    return 0;
}

// The exceptional exit of a with-block; stack [exit lasti prev exc].
static int with_except_finish(Compiler *c, int32_t cleanup) {
    int32_t exit = unit_new_label(c);
    int32_t h = unit_top_handler(c);
    CHECK(unit_emit_jump(c, OP_POP_JUMP_IF_TRUE, exit));
    // Re-raise with the lasti directly under the exception (RERAISE 1).
    CHECK(unit_emit(c, OP_COPY, 3));
    CHECK(unit_emit(c, OP_SWAP, 2));
    CHECK(unit_emit(c, OP_RERAISE, 1));
    unit_pop_handler(c); // cleanup
    unit_bind_label(c, cleanup);
    CHECK(unit_emit(c, OP_COPY, 3));
    CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
    CHECK(unit_emit(c, OP_RERAISE, 1));
    unit_bind_label(c, exit);
    // These run while the cleanup handler is still in force in CPython.
    CHECK(unit_repush_handler(c, h));
    CHECK(unit_emit(c, OP_POP_TOP, 0)); // exc
    unit_pop_handler(c);
    CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
    CHECK(unit_emit(c, OP_POP_TOP, 0)); // lasti
    CHECK(unit_emit(c, OP_POP_TOP, 0)); // exit
    return 0;
}

static int compile_with(Compiler *c, Stmt *s, int32_t pos) {
    bool is_async = s->kind == S_ASYNCWITH;
    if (is_async && !in_async_function(c))
        return unit_error(c, s->pos, "'async with' outside async function");
    WithItem *item = &s->v.with.items[pos];
    int32_t final = unit_new_label(c), exit = unit_new_label(c), cleanup = unit_new_label(c);
    CHECK(visit_expr(c, item->context_expr));
    c->u->loc = s->pos;
    if (is_async) {
        CHECK(unit_emit(c, OP_BEFORE_ASYNC_WITH, 0)); // [aexit awaitable]
        CHECK(emit_await(c, 1));
    } else {
        CHECK(unit_emit(c, OP_BEFORE_WITH, 0));
    }
    // Handler depth: below the __enter__ result, keeping the bound __exit__.
    CHECK(unit_push_handler(c, final, -1, true));
    CHECK(push_fblock(c, FB_WITH, -1, final, s));
    if (item->optional_vars)
        CHECK(visit_store_target(c, item->optional_vars));
    else
        CHECK(unit_emit(c, OP_POP_TOP, 0));
    if (pos + 1 == s->v.with.nitems)
        CHECK(visit_stmts(c, s->v.with.body));
    else
        CHECK(compile_with(c, s, pos + 1));
    unit_pop_handler(c);
    pop_fblock(c);
    c->u->loc = s->pos;
    CHECK(emit_exit_with_nones(c));
    if (is_async) CHECK(emit_await(c, 2));
    CHECK(unit_emit(c, OP_POP_TOP, 0));
    CHECK(unit_emit_jump(c, OP_JUMP, exit));
    // Exceptional exit: stack [exit lasti exc].
    unit_bind_label(c, final);
    CHECK(unit_push_handler(c, cleanup, 0, true));
    CHECK(unit_emit(c, OP_PUSH_EXC_INFO, 0));
    CHECK(unit_emit(c, OP_WITH_EXCEPT_START, 0));
    if (is_async) CHECK(emit_await(c, 2));
    CHECK(with_except_finish(c, cleanup));
    unit_bind_label(c, exit);
    return 0;
}

// The part `try`/`except` and `try`/`except*` share: the body under a
// handler at `except`, the else block, a jump to `end`; then `except` is bound.
static int try_body_and_else(Compiler *c, Stmt *s, int32_t except, int32_t end) {
    CHECK(unit_push_handler(c, except, 0, false));
    CHECK(push_fblock(c, FB_TRY_EXCEPT, -1, -1, NULL));
    CHECK(visit_stmts(c, s->v.try_.body));
    pop_fblock(c);
    unit_pop_handler(c);
    CHECK(visit_stmts(c, s->v.try_.orelse));
    CHECK(unit_emit_jump(c, OP_JUMP, end));
    unit_bind_label(c, except);
    return 0;
}

static int compile_try_except(Compiler *c, Stmt *s) {
    int32_t except = unit_new_label(c), end = unit_new_label(c), cleanup = unit_new_label(c);
    CHECK(try_body_and_else(c, s, except, end));
    // [exc] -> [prev exc]; the cleanup handler keeps prev.
    CHECK(unit_push_handler(c, cleanup, 0, true));
    int32_t hclean = unit_top_handler(c);
    CHECK(unit_emit(c, OP_PUSH_EXC_INFO, 0));
    CHECK(push_fblock(c, FB_EXCEPTION_HANDLER, -1, -1, NULL));
    int32_t n = s->v.try_.nhandlers;
    for (int32_t i = 0; i < n; i++) {
        ExceptHandler *h = &s->v.try_.handlers[i];
        c->u->loc = h->pos;
        if (!h->type && i < n - 1) return unit_error(c, h->pos, "default 'except:' must be last");
        int32_t next = unit_new_label(c);
        if (h->type) {
            CHECK(visit_expr(c, h->type));
            c->u->loc = h->pos;
            CHECK(unit_emit(c, OP_CHECK_EXC_MATCH, 0));
            CHECK(unit_emit_jump(c, OP_POP_JUMP_IF_FALSE, next));
        }
        if (h->name) {
            int32_t cleanup_end = unit_new_label(c);
            CHECK(nameop(c, h->name, CTX_STORE));
            // try: body finally: name = None; del name
            CHECK(unit_push_handler(c, cleanup_end, 0, true));
            CHECK(push_fblock(c, FB_HANDLER_CLEANUP, -1, -1, h->name));
            CHECK(visit_stmts(c, h->body));
            pop_fblock(c);
            c->u->loc = h->pos;
            unit_pop_handler(c);
            unit_pop_handler(c);
            CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
            CHECK(unit_emit_const(c, unit_const_none(c)));
            CHECK(nameop(c, h->name, CTX_STORE));
            CHECK(nameop(c, h->name, CTX_DEL));
            CHECK(unit_emit_jump(c, OP_JUMP, end));
            // Exception inside the handler body: still unbind the name.
            CHECK(unit_repush_handler(c, hclean));
            unit_bind_label(c, cleanup_end);
            CHECK(unit_emit_const(c, unit_const_none(c)));
            CHECK(nameop(c, h->name, CTX_STORE));
            CHECK(nameop(c, h->name, CTX_DEL));
            CHECK(unit_emit(c, OP_RERAISE, 1));
        } else {
            CHECK(unit_emit(c, OP_POP_TOP, 0)); // exc
            CHECK(push_fblock(c, FB_HANDLER_CLEANUP, -1, -1, NULL));
            CHECK(visit_stmts(c, h->body));
            pop_fblock(c);
            c->u->loc = h->pos;
            unit_pop_handler(c);
            CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
            CHECK(unit_emit_jump(c, OP_JUMP, end));
            CHECK(unit_repush_handler(c, hclean));
        }
        unit_bind_label(c, next);
    }
    pop_fblock(c);
    // No handler matched: re-raise, still under the cleanup handler.
    CHECK(unit_emit(c, OP_RERAISE, 0));
    unit_pop_handler(c);
    unit_bind_label(c, cleanup);
    CHECK(unit_emit(c, OP_COPY, 3));
    CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
    CHECK(unit_emit(c, OP_RERAISE, 1));
    unit_bind_label(c, end);
    return 0;
}

// try-except*: each clause handles the part of what remains of the
// exception that its type matches (CHECK_EG_MATCH; a naked exception counts
// as a group of one). What the clauses raise, and what none of them matched,
// is collected in a list and re-raised together at the end
// (PREP_RERAISE_STAR). In the clauses the stack is [prev orig raised rest].
static int compile_try_star(Compiler *c, Stmt *s) {
    int32_t except = unit_new_label(c), end = unit_new_label(c), cleanup = unit_new_label(c);
    int32_t reraise = unit_new_label(c);
    CHECK(try_body_and_else(c, s, except, end));
    // [exc] -> [prev orig [] orig]; the cleanup handler keeps prev.
    CHECK(unit_push_handler(c, cleanup, 0, true));
    CHECK(unit_emit(c, OP_PUSH_EXC_INFO, 0));
    CHECK(push_fblock(c, FB_EXCEPTION_GROUP_HANDLER, -1, -1, NULL));
    CHECK(unit_emit(c, OP_BUILD_LIST, 0));
    CHECK(unit_emit(c, OP_COPY, 2));
    int32_t n = s->v.try_.nhandlers;
    for (int32_t i = 0; i < n; i++) {
        ExceptHandler *h = &s->v.try_.handlers[i];
        int32_t no_match = unit_new_label(c), next = unit_new_label(c);
        int32_t cleanup_end = unit_new_label(c);
        c->u->loc = h->pos;
        CHECK(visit_expr(c, h->type)); // the parser requires a type after except*
        c->u->loc = h->pos;
        CHECK(unit_emit(c, OP_CHECK_EG_MATCH, 0));
        CHECK(unit_emit(c, OP_COPY, 1));
        CHECK(unit_emit_jump(c, OP_POP_JUMP_IF_NONE, no_match));
        if (h->name)
            CHECK(nameop(c, h->name, CTX_STORE));
        else
            CHECK(unit_emit(c, OP_POP_TOP, 0)); // match
        // try: body finally: name = None; del name -- and whatever the body
        // raises joins the list.
        CHECK(unit_push_handler(c, cleanup_end, 0, true));
        CHECK(push_fblock(c, FB_HANDLER_CLEANUP, -1, -1, h->name));
        CHECK(visit_stmts(c, h->body));
        pop_fblock(c);
        unit_pop_handler(c);
        c->u->loc = h->pos;
        if (h->name) {
            CHECK(unit_emit_const(c, unit_const_none(c)));
            CHECK(nameop(c, h->name, CTX_STORE));
            CHECK(nameop(c, h->name, CTX_DEL));
        }
        CHECK(unit_emit_jump(c, OP_JUMP, next));
        // [prev orig raised rest lasti exc]
        unit_bind_label(c, cleanup_end);
        if (h->name) {
            CHECK(unit_emit_const(c, unit_const_none(c)));
            CHECK(nameop(c, h->name, CTX_STORE));
            CHECK(nameop(c, h->name, CTX_DEL));
        }
        CHECK(unit_emit(c, OP_LIST_APPEND, 3));
        CHECK(unit_emit(c, OP_POP_TOP, 0)); // lasti
        CHECK(unit_emit_jump(c, OP_JUMP, next));
        unit_bind_label(c, no_match);
        CHECK(unit_emit(c, OP_POP_TOP, 0)); // None
        unit_bind_label(c, next);
    }
    pop_fblock(c);
    // The unmatched rest (or None) joins the list too: [prev orig raised].
    CHECK(unit_emit(c, OP_LIST_APPEND, 1));
    CHECK(unit_emit(c, OP_PREP_RERAISE_STAR, 0));
    CHECK(unit_emit(c, OP_COPY, 1));
    CHECK(unit_emit_jump(c, OP_POP_JUMP_IF_NOT_NONE, reraise));
    unit_pop_handler(c);
    CHECK(unit_emit(c, OP_POP_TOP, 0));
    CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
    CHECK(unit_emit_jump(c, OP_JUMP, end));
    unit_bind_label(c, reraise);
    CHECK(unit_emit(c, OP_SWAP, 2));
    CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
    CHECK(unit_emit(c, OP_RERAISE, 0));
    unit_bind_label(c, cleanup);
    CHECK(unit_emit(c, OP_COPY, 3));
    CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
    CHECK(unit_emit(c, OP_RERAISE, 1));
    unit_bind_label(c, end);
    return 0;
}

static int compile_try_finally(Compiler *c, Stmt *s) {
    int32_t end = unit_new_label(c), exit = unit_new_label(c), cleanup = unit_new_label(c);
    CHECK(unit_push_handler(c, end, 0, false));
    CHECK(push_fblock(c, FB_FINALLY_TRY, -1, end, &s->v.try_.finalbody));
    if (s->kind == S_TRYSTAR)
        CHECK(compile_try_star(c, s));
    else if (s->v.try_.nhandlers > 0)
        CHECK(compile_try_except(c, s));
    else
        CHECK(visit_stmts(c, s->v.try_.body));
    unit_pop_handler(c);
    pop_fblock(c);
    CHECK(visit_stmts(c, s->v.try_.finalbody));
    CHECK(unit_emit_jump(c, OP_JUMP, exit));
    // Exceptional path: [exc] -> [prev exc], run the body, re-raise.
    unit_bind_label(c, end);
    CHECK(unit_push_handler(c, cleanup, 0, true));
    CHECK(unit_emit(c, OP_PUSH_EXC_INFO, 0));
    CHECK(push_fblock(c, FB_FINALLY_END, -1, -1, NULL));
    CHECK(visit_stmts(c, s->v.try_.finalbody));
    pop_fblock(c);
    CHECK(unit_emit(c, OP_RERAISE, 0));
    unit_pop_handler(c);
    unit_bind_label(c, cleanup);
    CHECK(unit_emit(c, OP_COPY, 3));
    CHECK(unit_emit(c, OP_POP_EXCEPT, 0));
    CHECK(unit_emit(c, OP_RERAISE, 1));
    unit_bind_label(c, exit);
    return 0;
}

static int compile_augassign(Compiler *c, Stmt *s) {
    Expr *t = s->v.augassign.target;
    Pos saved = c->u->loc;
    switch (t->kind) {
    case E_ATTRIBUTE:
        CHECK(visit_expr(c, t->v.attribute.value));
        c->u->loc = t->pos;
        CHECK(unit_emit(c, OP_COPY, 1));
        CHECK(unit_emit_name(c, OP_LOAD_ATTR, unit_mangle(c, t->v.attribute.attr)));
        break;
    case E_SUBSCRIPT:
        CHECK(visit_expr(c, t->v.subscript.value));
        if (t->v.subscript.slice->kind == E_SLICE)
            CHECK(compile_slice(c, t->v.subscript.slice));
        else
            CHECK(visit_expr(c, t->v.subscript.slice));
        c->u->loc = t->pos;
        CHECK(unit_emit(c, OP_COPY, 2));
        CHECK(unit_emit(c, OP_COPY, 2));
        CHECK(unit_emit(c, OP_BINARY_SUBSCR, 0));
        break;
    case E_NAME: CHECK(nameop(c, t->v.name.id, CTX_LOAD)); break;
    default:
        return unit_error(c, t->pos, "'%s' is an illegal expression for augmented assignment",
                          "expression");
    }
    c->u->loc = saved;
    CHECK(visit_expr(c, s->v.augassign.value));
    c->u->loc = s->pos;
    CHECK(unit_emit(c, OP_BINARY_OP, BINOP_INPLACE((uint32_t)s->v.augassign.op)));
    c->u->loc = t->pos;
    switch (t->kind) {
    case E_ATTRIBUTE:
        CHECK(unit_emit(c, OP_SWAP, 2));
        return unit_emit_name(c, OP_STORE_ATTR, unit_mangle(c, t->v.attribute.attr));
    case E_SUBSCRIPT:
        CHECK(unit_emit(c, OP_SWAP, 3));
        CHECK(unit_emit(c, OP_SWAP, 2));
        return unit_emit(c, OP_STORE_SUBSCR, 0);
    default: return nameop(c, t->v.name.id, CTX_STORE);
    }
}

static int compile_annassign(Compiler *c, Stmt *s) {
    Expr *t = s->v.annassign.target;
    if (s->v.annassign.value) {
        CHECK(visit_expr(c, s->v.annassign.value));
        CHECK(visit_store_target(c, t));
    }
    bool module_or_class = c->u->kind == SCOPE_MODULE || c->u->kind == SCOPE_CLASS;
    if (!module_or_class) return 0;
    c->u->loc = s->pos;
    if (t->kind == E_NAME && s->v.annassign.simple) {
        // __annotations__['x'] = annotation
        CHECK(visit_expr(c, s->v.annassign.annotation));
        CHECK(unit_emit_name(c, OP_LOAD_NAME, "__annotations__"));
        const char *m = unit_mangle(c, t->v.name.id);
        if (!m) return -1;
        CHECK(unit_emit_const(c, unit_const_str(c, m, strlen(m))));
        return unit_emit(c, OP_STORE_SUBSCR, 0);
    }
    // Other targets: the annotation is evaluated and dropped.
    CHECK(visit_expr(c, s->v.annassign.annotation));
    return unit_emit(c, OP_POP_TOP, 0);
}

static int compile_import(Compiler *c, Stmt *s) {
    for (int32_t i = 0; i < s->v.import.nnames; i++) {
        Alias *a = &s->v.import.names[i];
        c->u->loc = a->pos;
        CHECK(unit_emit_const(c, unit_const_int(c, 0)));
        CHECK(unit_emit_const(c, unit_const_none(c)));
        CHECK(unit_emit_name(c, OP_IMPORT_NAME, a->name));
        const char *dot = strchr(a->name, '.');
        if (a->asname) {
            if (dot) {
                // import a.b.c as d: walk to the submodule with IMPORT_FROM.
                const char *p = dot + 1;
                for (;;) {
                    const char *q = strchr(p, '.');
                    size_t len = q ? (size_t)(q - p) : strlen(p);
                    const char *attr = arena_strndup(c->arena, p, len);
                    if (!attr) return unit_oom(c);
                    CHECK(unit_emit_name(c, OP_IMPORT_FROM, attr));
                    if (!q) break;
                    CHECK(unit_emit(c, OP_SWAP, 2));
                    CHECK(unit_emit(c, OP_POP_TOP, 0));
                    p = q + 1;
                }
                CHECK(nameop(c, a->asname, CTX_STORE));
                CHECK(unit_emit(c, OP_POP_TOP, 0));
            } else {
                CHECK(nameop(c, a->asname, CTX_STORE));
            }
        } else {
            const char *store = a->name;
            if (dot) {
                store = arena_strndup(c->arena, a->name, (size_t)(dot - a->name));
                if (!store) return unit_oom(c);
            }
            CHECK(nameop(c, store, CTX_STORE));
        }
    }
    return 0;
}

static int compile_importfrom(Compiler *c, Stmt *s) {
    const char *module = s->v.importfrom.module ? s->v.importfrom.module : "";
    int32_t n = s->v.importfrom.nnames;
    if (strcmp(module, "__future__") == 0 && s->v.importfrom.level == 0) {
        static const char *const features[] = {
            "nested_scopes",  "generators",     "division",         "absolute_import",
            "with_statement", "print_function", "unicode_literals", "barry_as_FLUFL",
            "generator_stop", "annotations"};
        for (int32_t i = 0; i < n; i++) {
            Alias *a = &s->v.importfrom.names[i];
            bool ok = false;
            for (size_t k = 0; k < sizeof features / sizeof *features; k++)
                if (strcmp(a->name, features[k]) == 0) ok = true;
            if (strcmp(a->name, "braces") == 0) return unit_error(c, s->pos, "not a chance");
            if (!ok) return unit_error(c, a->pos, "future feature %s is not defined", a->name);
        }
        return 0; // every feature is already on (or has no effect here)
    }
    TupleObject *names = tuple_new(c->vm, (size_t)n);
    if (!names) return unit_vm_failed(c);
    for (int32_t i = 0; i < n; i++) {
        StrObject *str = str_intern_cstr(c->vm, s->v.importfrom.names[i].name);
        if (!str) return unit_vm_failed(c);
        names->items[i] = v_obj(str);
    }
    CHECK(unit_emit_const(c, unit_const_int(c, s->v.importfrom.level)));
    CHECK(unit_emit_const(c, unit_const_value(c, v_obj(names))));
    CHECK(unit_emit_name(c, OP_IMPORT_NAME, module));
    for (int32_t i = 0; i < n; i++) {
        Alias *a = &s->v.importfrom.names[i];
        c->u->loc = a->pos;
        if (strcmp(a->name, "*") == 0) {
            if (c->u->kind != SCOPE_MODULE)
                return unit_error(c, a->pos, "import * only allowed at module level");
            return unit_emit(c, OP_IMPORT_STAR, 0);
        }
        CHECK(unit_emit_name(c, OP_IMPORT_FROM, a->name));
        CHECK(nameop(c, a->asname ? a->asname : a->name, CTX_STORE));
    }
    c->u->loc = s->pos;
    return unit_emit(c, OP_POP_TOP, 0);
}

static int compile_assert(Compiler *c, Stmt *s) {
    int32_t end = unit_new_label(c);
    CHECK(jump_if(c, s->v.assert_.test, end, true));
    c->u->loc = s->pos;
    CHECK(unit_emit(c, OP_LOAD_ASSERTION_ERROR, 0));
    if (s->v.assert_.msg) {
        CHECK(visit_expr(c, s->v.assert_.msg));
        c->u->loc = s->pos;
        CHECK(unit_emit(c, OP_CALL, 0)); // [AssertionError msg] -> AssertionError(msg)
    }
    CHECK(unit_emit(c, OP_RAISE_VARARGS, 1));
    unit_bind_label(c, end);
    return 0;
}

static int visit_stmt_inner(Compiler *c, Stmt *s) {
    switch (s->kind) {
    case S_FUNCTIONDEF:
    case S_ASYNCFUNCTIONDEF: return compile_funcdef(c, s);
    case S_CLASSDEF: return compile_classdef(c, s);
    case S_RETURN: return compile_return(c, s);
    case S_DELETE:
        for (int32_t i = 0; i < s->v.delete_.targets.len; i++)
            CHECK(compile_delete(c, s->v.delete_.targets.items[i]));
        return 0;
    case S_ASSIGN: {
        ExprList t = s->v.assign.targets;
        CHECK(visit_expr(c, s->v.assign.value));
        for (int32_t i = 0; i < t.len; i++) {
            if (i < t.len - 1) CHECK(unit_emit(c, OP_COPY, 1));
            CHECK(visit_store_target(c, t.items[i]));
        }
        return 0;
    }
    case S_AUGASSIGN: return compile_augassign(c, s);
    case S_ANNASSIGN: return compile_annassign(c, s);
    case S_FOR:
    case S_ASYNCFOR: return compile_for(c, s);
    case S_WHILE: return compile_while(c, s);
    case S_IF: return compile_if(c, s);
    case S_WITH:
    case S_ASYNCWITH: return compile_with(c, s, 0);
    case S_MATCH: return unit_error(c, s->pos, "'match' is not supported yet");
    case S_RAISE: {
        uint32_t n = 0;
        if (s->v.raise.exc) {
            CHECK(visit_expr(c, s->v.raise.exc));
            n = 1;
            if (s->v.raise.cause) {
                CHECK(visit_expr(c, s->v.raise.cause));
                n = 2;
            }
        }
        c->u->loc = s->pos;
        return unit_emit(c, OP_RAISE_VARARGS, n);
    }
    case S_TRY:
        if (s->v.try_.finalbody.len > 0) return compile_try_finally(c, s);
        return compile_try_except(c, s);
    case S_TRYSTAR:
        if (s->v.try_.finalbody.len > 0) return compile_try_finally(c, s);
        return compile_try_star(c, s);
    case S_ASSERT: return compile_assert(c, s);
    case S_IMPORT: return compile_import(c, s);
    case S_IMPORTFROM: return compile_importfrom(c, s);
    case S_GLOBAL:
    case S_NONLOCAL:
    case S_PASS: return 0;
    case S_EXPR: {
        Expr *v = s->v.expr.value;
        if (c->mode == PARSE_SINGLE && c->nest_level <= 1) {
            CHECK(visit_expr(c, v));
            c->u->loc = s->pos;
            return unit_emit(c, OP_PRINT_EXPR, 0);
        }
        if (v->kind == E_CONSTANT) {
            // A constant statement does nothing, but imaginary literals are still rejected.
            if (v->v.constant.kind == CONST_COMPLEX)
                return unit_error(c, v->pos, "complex numbers are not supported yet");
            return 0;
        }
        CHECK(visit_expr(c, v));
        c->u->loc = s->pos;
        return unit_emit(c, OP_POP_TOP, 0);
    }
    case S_BREAK: return compile_break_continue(c, s, true);
    case S_CONTINUE: return compile_break_continue(c, s, false);
    }
    return unit_error(c, s->pos, "internal compiler error: unknown statement");
}

static int visit_stmt(Compiler *c, Stmt *s) {
    if (c->failed) return -1;
    if (++c->depth > MAX_COMPILE_DEPTH) {
        if (!c->failed) c->failed = c->too_deep = true;
        return -1;
    }
    c->u->loc = s->pos;
    int rc = visit_stmt_inner(c, s);
    c->depth--;
    if (c->failed) return -1;
    return rc;
}

// ---------------------------------------------------------------------------
// Entry points

Value compile_raise_syntax_error(EddyVM *vm, const SyntaxErrorInfo *info, const char *filename,
                                 const char *src, size_t len) {
    if (info->kind == SYNERR_MEMORY) return vm_raise_nomem(vm);
    if (info->kind == SYNERR_RECURSION)
        return vm_raise(vm, vm->exc_RecursionError,
                        "maximum recursion depth exceeded during compilation");
    TypeObject *t = info->kind == SYNERR_TAB      ? vm->exc_TabError
                    : info->kind == SYNERR_INDENT ? vm->exc_IndentationError
                                                  : vm->exc_SyntaxError;
    Value text = VAL_NONE;
    if (src && info->line > 0) {
        const char *p = src, *end = src + len;
        for (int32_t l = 1; l < info->line && p < end; p++)
            if (*p == '\n') l++;
        if (p < end || (p == end && info->line > 0)) {
            const char *q = p;
            while (q < end && *q != '\n') q++;
            if (q < end) q++; // keep the newline, as CPython does
            StrObject *s = str_decode_utf8(vm, p, (size_t)(q - p));
            if (!s) {
                vm_err_clear(vm);
                s = str_new(vm, "", 0);
                if (!s) return VAL_NULL;
            }
            text = v_obj(s);
        }
    }
    StrObject *msg = str_from_cstr(vm, info->msg);
    StrObject *fname = str_from_cstr(vm, filename ? filename : "<string>");
    if (!msg || !fname) return VAL_NULL;
    TupleObject *loc = tuple_new(vm, 6);
    if (!loc) return VAL_NULL;
    int32_t end_line = info->end_line > 0 ? info->end_line : info->line;
    int32_t end_col = info->end_line > 0 ? info->end_col : info->col;
    loc->items[0] = v_obj(fname);
    loc->items[1] = v_int(info->line);
    loc->items[2] = v_int(info->col);
    loc->items[3] = text;
    loc->items[4] = v_int(end_line);
    loc->items[5] = v_int(end_col);
    TupleObject *args = tuple_new(vm, 2);
    if (!args) return VAL_NULL;
    args->items[0] = v_obj(msg);
    args->items[1] = v_obj(loc);
    Value exc = exc_new(vm, t, args);
    if (IS_NULL(exc)) return VAL_NULL;
    return vm_raise_value(vm, exc);
}

static Value compile_module(Compiler *c, Module *mod) {
    Pos pos = {1, 0, 1, 0};
    if (unit_enter(c, c->st.top, SCOPE_MODULE, "<module>", pos, NULL) < 0) return VAL_NULL;
    int rc = 0;
    if (c->mode == PARSE_EVAL) {
        if (mod->body.len != 1 || mod->body.items[0]->kind != S_EXPR) {
            rc = unit_error(c, pos, "invalid eval input");
        } else {
            rc = visit_expr(c, mod->body.items[0]->v.expr.value);
            if (rc >= 0) rc = unit_emit(c, OP_RETURN_VALUE, 0);
        }
    } else {
        rc = compile_body(c, mod->body);
        if (rc >= 0) {
            if (mod->body.len > 0) {
                Pos last = mod->body.items[mod->body.len - 1]->pos;
                c->u->loc = last;
            }
            rc = unit_emit_const(c, unit_const_none(c));
            if (rc >= 0) rc = unit_emit(c, OP_RETURN_VALUE, 0);
        }
    }
    CodeObject *co = rc < 0 ? NULL : unit_assemble(c);
    unit_leave(c);
    return co ? v_obj(co) : VAL_NULL;
}

Value compile_source(EddyVM *vm, const char *src, size_t len, const char *filename,
                     ParseMode mode) {
    if (!filename) filename = "<string>";
    Arena *arena = arena_new();
    if (!arena) return vm_raise_nomem(vm);
    Value result = VAL_NULL;
    SyntaxErrorInfo perr;
    memset(&perr, 0, sizeof perr);
    Module *mod = parse_source(arena, src, len, mode, &perr);
    if (!mod) {
        if (!vm_err_occurred(vm)) compile_raise_syntax_error(vm, &perr, filename, src, len);
        goto done;
    }
    Compiler *c = arena_alloc(arena, sizeof(Compiler));
    if (!c) {
        vm_raise_nomem(vm);
        goto done;
    }
    c->vm = vm;
    c->arena = arena;
    c->filename = filename;
    c->src = src;
    c->srclen = len;
    c->mode = mode;
    if (symtable_build(&c->st, arena, mod, mode) < 0) {
        if (c->st.nomem) {
            vm_raise_nomem(vm);
        } else if (c->st.too_deep) {
            vm_raise(vm, vm->exc_RecursionError,
                     "maximum recursion depth exceeded during compilation");
        } else {
            SyntaxErrorInfo info = c->st.err;
            info.col = c->st.err.col + 1; // byte offsets, as CPython
            info.end_col = c->st.err.end_line ? c->st.err.end_col + 1 : 0;
            compile_raise_syntax_error(vm, &info, filename, src, len);
        }
        goto done;
    }
    result = compile_module(c, mod);
    if (IS_NULL(result)) {
        if (c->syntax) {
            compile_raise_syntax_error(vm, &c->err, filename, src, len);
        } else if (c->too_deep) {
            vm_raise(vm, vm->exc_RecursionError,
                     "maximum recursion depth exceeded during compilation");
        } else if (!vm_err_occurred(vm)) {
            vm_raise_nomem(vm);
        }
    }
done:
    arena_free(arena);
    return result;
}
