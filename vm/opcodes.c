// opcodes.c - tables generated from opcodes.def.
#include "opcodes.h"

const uint8_t opcode_caches[OP__COUNT] = {
#define OP(name, caches) [OP_##name] = (caches),
#include "opcodes.def"
#undef OP
};

const char *const opcode_names[OP__COUNT] = {
#define OP(name, caches) [OP_##name] = #name,
#include "opcodes.def"
#undef OP
};
