// opcodes.h - opcode numbers and instruction encoding, generated from
// opcodes.def. Shared by the compiler, the interpreter and the disassembler.
#ifndef EDDY_OPCODES_H
#define EDDY_OPCODES_H

#include <stdint.h>

typedef enum Opcode {
#define OP(name, caches) OP_##name,
#include "opcodes.def"
#undef OP
    OP__COUNT
} Opcode;

#define INSTR(op, arg) ((uint32_t)(op) | ((uint32_t)(arg) << 8))
#define INSTR_OP(w) ((Opcode)((w)&0xffu))
#define INSTR_ARG(w) ((uint32_t)(w) >> 8)
#define INSTR_ARG_MAX 0xffffffu

// BINARY_OP arguments. BINOP_INPLACE(x) is the augmented-assignment form.
typedef enum BinOp {
    BINOP_ADD = 0,
    BINOP_SUB,
    BINOP_MUL,
    BINOP_MATMUL,
    BINOP_TRUEDIV,
    BINOP_FLOORDIV,
    BINOP_MOD,
    BINOP_POW,
    BINOP_LSHIFT,
    BINOP_RSHIFT,
    BINOP_AND,
    BINOP_OR,
    BINOP_XOR,
    BINOP__COUNT,
} BinOp;

#define BINOP_INPLACE_FLAG 16
#define BINOP_INPLACE(op) ((op) | BINOP_INPLACE_FLAG)

// Inline cache words after each opcode, and opcode names (vm/opcodes.c).
extern const uint8_t opcode_caches[OP__COUNT];
extern const char *const opcode_names[OP__COUNT];

#endif
