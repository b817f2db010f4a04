// dis.c - a CPython-dis-like listing of code objects (tests, `eddy --dis`).
//
// Columns: source line (when it changes), ">>" for jump and handler
// targets, word offset, opcode name, argument, and the argument resolved
// (name, constant repr, jump target). Nested code objects follow, each
// under a "Disassembly of <code object ...>" header, as in CPython.
#include <stdio.h>
#include <string.h>

#include "compile.h"
#include "opcodes.h"

static const char *const cmp_names[] = {"<", "<=", "==", "!=", ">", ">="};
static const char *const binop_names[] = {"+",  "-",  "*",  "@", "/", "//", "%",
                                          "**", "<<", ">>", "&", "|", "^"};

static bool has_arg(Opcode op) {
    switch (op) {
    case OP_NOP:
    case OP_POP_TOP:
    case OP_PUSH_NULL:
    case OP_UNARY_NEGATIVE:
    case OP_UNARY_POSITIVE:
    case OP_UNARY_NOT:
    case OP_UNARY_INVERT:
    case OP_BINARY_SUBSCR:
    case OP_STORE_SUBSCR:
    case OP_DELETE_SUBSCR:
    case OP_LIST_TO_TUPLE:
    case OP_GET_ITER:
    case OP_RETURN_VALUE:
    case OP_LOAD_BUILD_CLASS:
    case OP_PUSH_EXC_INFO:
    case OP_POP_EXCEPT:
    case OP_CHECK_EXC_MATCH:
    case OP_CHECK_EG_MATCH:
    case OP_PREP_RERAISE_STAR:
    case OP_LOAD_ASSERTION_ERROR:
    case OP_BEFORE_WITH:
    case OP_WITH_EXCEPT_START:
    case OP_IMPORT_STAR:
    case OP_PRINT_EXPR:
    case OP_SETUP_ANNOTATIONS: return false;
    default: return true;
    }
}

static const char *tuple_name(TupleObject *t, uint32_t i) {
    if (!t || i >= t->len || !IS_OBJ(t->items[i])) return "?";
    return ((StrObject *)AS_OBJ(t->items[i]))->data;
}

static const char *cell_name(CodeObject *co, uint32_t i) {
    if (i < co->ncells) return tuple_name(co->cellvars, i);
    return tuple_name(co->freevars, i - co->ncells);
}

static bool is_code(EddyVM *vm, Value v) { return IS_OBJ(v) && OBJ_TYPE(AS_OBJ(v)) == vm->t_code; }

static void print_value(EddyVM *vm, Value v, FILE *out) {
    if (is_code(vm, v)) {
        CodeObject *c = (CodeObject *)AS_OBJ(v);
        fprintf(out, "<code object %s at %p, file \"%s\", line %u>", c->name ? c->name->data : "?",
                (void *)c, c->filename ? c->filename->data : "?", c->firstlineno);
        return;
    }
    switch (v.tag) {
    case V_NONE: fputs("None", out); return;
    case V_BOOL: fputs(AS_BOOL(v) ? "True" : "False", out); return;
    case V_INT: fprintf(out, "%lld", (long long)AS_INT(v)); return;
    default: break;
    }
    Value r = vm_repr(vm, v);
    if (IS_NULL(r)) {
        vm_err_clear(vm);
        fputs("<?>", out);
        return;
    }
    fwrite(AS_STR(r)->data, 1, AS_STR(r)->len, out);
}

static bool is_jump_op(Opcode op) {
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

static bool is_target(CodeObject *co, uint32_t pc) {
    for (uint32_t i = 0; i < co->ncode; i += 1 + opcode_caches[INSTR_OP(co->code[i])]) {
        Opcode op = INSTR_OP(co->code[i]);
        if (op < OP__COUNT && is_jump_op(op) && INSTR_ARG(co->code[i]) == pc) return true;
        if (op >= OP__COUNT) break;
    }
    for (uint32_t i = 0; i < co->nexc; i++)
        if (co->exc_table[i].handler == pc) return true;
    return false;
}

static void disassemble_one(EddyVM *vm, CodeObject *co, FILE *out) {
    uint32_t last_line = 0;
    uint32_t row = 0;
    for (uint32_t pc = 0; pc < co->ncode;) {
        uint32_t w = co->code[pc];
        Opcode op = INSTR_OP(w);
        uint32_t arg = INSTR_ARG(w);
        if (op >= OP__COUNT) {
            fprintf(out, "%4s %8u <bad opcode %u>\n", "", pc, (unsigned)op);
            pc++;
            continue;
        }
        while (row + 1 < co->nlines && co->lines[row + 1].pc <= pc) row++;
        uint32_t line = (co->nlines && co->lines[row].pc <= pc) ? co->lines[row].line : 0;
        if (line != last_line && line != 0) {
            if (pc != 0) fputc('\n', out);
            fprintf(out, "%4u", line);
            last_line = line;
        } else {
            fputs("    ", out);
        }
        fprintf(out, "    %2s %6u %-24s", is_target(co, pc) ? ">>" : "", pc, opcode_names[op]);
        if (has_arg(op)) {
            fprintf(out, " %6u", arg);
            switch (op) {
            case OP_LOAD_CONST:
                fputs(" (", out);
                if (co->consts && arg < co->consts->len)
                    print_value(vm, co->consts->items[arg], out);
                fputc(')', out);
                break;
            case OP_LOAD_NAME:
            case OP_STORE_NAME:
            case OP_DELETE_NAME:
            case OP_STORE_GLOBAL:
            case OP_DELETE_GLOBAL:
            case OP_LOAD_ATTR:
            case OP_STORE_ATTR:
            case OP_DELETE_ATTR:
            case OP_LOAD_METHOD:
            case OP_IMPORT_NAME:
            case OP_IMPORT_FROM: fprintf(out, " (%s)", tuple_name(co->names, arg)); break;
            case OP_LOAD_GLOBAL:
                fprintf(out, " (%s%s)", (arg & 1) ? "NULL + " : "",
                        tuple_name(co->names, arg >> 1));
                break;
            case OP_LOAD_FAST:
            case OP_STORE_FAST:
            case OP_DELETE_FAST: fprintf(out, " (%s)", tuple_name(co->varnames, arg)); break;
            case OP_LOAD_DEREF:
            case OP_STORE_DEREF:
            case OP_DELETE_DEREF:
            case OP_LOAD_CLOSURE:
            case OP_LOAD_CLASSDEREF: fprintf(out, " (%s)", cell_name(co, arg)); break;
            case OP_COMPARE_OP:
                if (arg < 6) fprintf(out, " (%s)", cmp_names[arg]);
                break;
            case OP_BINARY_OP: {
                uint32_t b = arg & ~(uint32_t)BINOP_INPLACE_FLAG;
                if (b < BINOP__COUNT)
                    fprintf(out, " (%s%s)", binop_names[b], (arg & BINOP_INPLACE_FLAG) ? "=" : "");
                break;
            }
            case OP_IS_OP: fputs(arg ? " (is not)" : " (is)", out); break;
            case OP_CONTAINS_OP: fputs(arg ? " (not in)" : " (in)", out); break;
            case OP_FORMAT_VALUE: {
                static const char *const conv[] = {"", "str", "repr", "ascii"};
                if (arg & 3)
                    fprintf(out, " (%s%s)", conv[arg & 3], (arg & 4) ? ", with format" : "");
                else if (arg & 4)
                    fputs(" (with format)", out);
                break;
            }
            case OP_UNPACK_EX: fprintf(out, " (%u, %u)", arg & 0xff, arg >> 8); break;
            default:
                if (is_jump_op(op)) fprintf(out, " (to %u)", arg);
                break;
            }
        }
        fputc('\n', out);
        pc += 1 + opcode_caches[op];
    }
    if (co->nexc) {
        fputs("ExceptionTable:\n", out);
        for (uint32_t i = 0; i < co->nexc; i++) {
            ExcEntry *e = &co->exc_table[i];
            fprintf(out, "  %u to %u -> %u [%u]%s\n", e->start, e->end, e->handler, e->depth,
                    e->push_lasti ? " lasti" : "");
        }
    }
}

void code_disassemble(EddyVM *vm, CodeObject *code, FILE *out) {
    if (!code) return;
    if (vm->c_depth > 200) return; // absurdly nested code: stop quietly
    vm->c_depth++;
    disassemble_one(vm, code, out);
    for (uint32_t i = 0; code->consts && i < code->consts->len; i++) {
        Value v = code->consts->items[i];
        if (!is_code(vm, v)) continue;
        CodeObject *c = (CodeObject *)AS_OBJ(v);
        fprintf(out, "\nDisassembly of ");
        print_value(vm, v, out);
        fputs(":\n", out);
        code_disassemble(vm, c, out);
    }
    vm->c_depth--;
}
