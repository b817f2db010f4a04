// obj_code.c - code objects.
//
// A CodeObject is created blank by code_new() and filled in by the compiler
// (compiler/compile.c). Its C arrays (code, lines, exc_table, cell2arg) are
// owned by the object: the compiler allocates each with
// mem_alloc(vm, n * sizeof(element)) and stores the element count in the
// matching field (ncode, nlines, nexc, ncells), so finalize can give
// mem_free the exact size. Once built a code object is immutable.
#include <string.h>

#include "vm.h"

CodeObject *code_new(EddyVM *vm) {
    // obj_alloc zeroes the object: every array NULL, every count 0.
    return (CodeObject *)obj_alloc(vm, vm->t_code, sizeof(CodeObject));
}

static void code_trace(EddyVM *vm, Obj *self) {
    CodeObject *c = (CodeObject *)self;
    gc_mark_obj(vm, (Obj *)c->consts);
    gc_mark_obj(vm, (Obj *)c->names);
    gc_mark_obj(vm, (Obj *)c->varnames);
    gc_mark_obj(vm, (Obj *)c->cellvars);
    gc_mark_obj(vm, (Obj *)c->freevars);
    gc_mark_obj(vm, (Obj *)c->filename);
    gc_mark_obj(vm, (Obj *)c->name);
    gc_mark_obj(vm, (Obj *)c->qualname);
}

static void code_finalize(EddyVM *vm, Obj *self) {
    CodeObject *c = (CodeObject *)self;
    if (c->code) mem_free(vm, c->code, c->ncode * sizeof(uint32_t));
    if (c->lines) mem_free(vm, c->lines, c->nlines * sizeof(LineEntry));
    if (c->exc_table) mem_free(vm, c->exc_table, c->nexc * sizeof(ExcEntry));
    if (c->cell2arg) mem_free(vm, c->cell2arg, c->ncells * sizeof(int32_t));
    c->code = NULL;
    c->lines = NULL;
    c->exc_table = NULL;
    c->cell2arg = NULL;
}

static Value code_repr(EddyVM *vm, Value self) {
    CodeObject *c = (CodeObject *)AS_OBJ(self);
    StrObject *s = str_format(vm, "<code object %U at %p, file \"%U\", line %d>",
                              c->name ? c->name : vm->names.empty, (void *)c,
                              c->filename ? c->filename : vm->names.empty, (int)c->firstlineno);
    return s ? v_obj(s) : VAL_NULL;
}

static Value str_or_none(StrObject *s) { return s ? v_obj(s) : VAL_NONE; }
static Value tuple_or_empty(EddyVM *vm, TupleObject *t) { return v_obj(t ? t : vm->empty_tuple); }

#define CODE(args) ((CodeObject *)AS_OBJ((args)[0]))

static Value co_name(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return str_or_none(CODE(a)->name);
}
static Value co_qualname(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return str_or_none(CODE(a)->qualname);
}
static Value co_filename(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return str_or_none(CODE(a)->filename);
}
static Value co_firstlineno(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_int(CODE(a)->firstlineno);
}
static Value co_argcount(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_int(CODE(a)->argcount);
}
static Value co_posonlyargcount(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_int(CODE(a)->posonlyargcount);
}
static Value co_kwonlyargcount(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_int(CODE(a)->kwonlyargcount);
}
static Value co_nlocals(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return v_int(CODE(a)->nlocals);
}
static Value co_flags(EddyVM *vm, Value *a, int n, TupleObject *k) { return v_int(CODE(a)->flags); }
static Value co_varnames(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return tuple_or_empty(vm, CODE(a)->varnames);
}
static Value co_cellvars(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return tuple_or_empty(vm, CODE(a)->cellvars);
}
static Value co_freevars(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return tuple_or_empty(vm, CODE(a)->freevars);
}
static Value co_consts(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return tuple_or_empty(vm, CODE(a)->consts);
}
static Value co_names(EddyVM *vm, Value *a, int n, TupleObject *k) {
    return tuple_or_empty(vm, CODE(a)->names);
}

int code_init_type(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_code, vm->t_object, sizeof(CodeObject), 0);
    if (!t) return -1;
    t->trace = code_trace;
    t->finalize = code_finalize;
    t->repr = code_repr;
    static const struct {
        const char *name;
        NativeFn fn;
    } getters[] = {
        {"co_name", co_name},
        {"co_qualname", co_qualname},
        {"co_filename", co_filename},
        {"co_firstlineno", co_firstlineno},
        {"co_argcount", co_argcount},
        {"co_posonlyargcount", co_posonlyargcount},
        {"co_kwonlyargcount", co_kwonlyargcount},
        {"co_nlocals", co_nlocals},
        {"co_flags", co_flags},
        {"co_varnames", co_varnames},
        {"co_cellvars", co_cellvars},
        {"co_freevars", co_freevars},
        {"co_consts", co_consts},
        {"co_names", co_names},
    };
    for (size_t i = 0; i < sizeof(getters) / sizeof(getters[0]); i++)
        if (type_add_getter(vm, t, getters[i].name, getters[i].fn) < 0) return -1;
    return 0;
}
