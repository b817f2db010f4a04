// value.h - the value representation.
//
// A Value is a 16-byte tagged union passed by value everywhere (Lua 5.4's
// TValue). None, bool, small int and float live unboxed; everything else is a
// pointer to a heap object with the common header in object.h.
//
// Invariants:
// - An int whose value fits in int64_t is ALWAYS a V_INT. Only ints outside
//   that range are heap BigIntObjects (obj_int.c normalises every result), so
//   two equal ints always have the same representation class.
// - V_NULL is "no value". It is never visible to scripts. It means:
//     * a function returning Value returned V_NULL => an exception is pending
//       on the VM (CPython's NULL-return convention);
//     * an unbound local / empty slot / "not found" in internal tables.
//   Functions that can both "not find" and "fail" return int instead
//   (1 found, 0 not found, -1 error) and write the value through a pointer.
#ifndef EDDY_VALUE_H
#define EDDY_VALUE_H

#ifndef EDDY_BUILD_CORE
#error "vm/value.h is internal to the Eddy core"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct Obj;

typedef enum ValueTag {
    V_NULL = 0, // no value / error sentinel (see above)
    V_NONE,
    V_BOOL,
    V_INT,   // as.i: an int that fits in int64_t
    V_FLOAT, // as.f
    V_OBJ,   // as.o: heap object (str, BigInt, list, ...)
} ValueTag;

typedef struct Value {
    ValueTag tag;
    union {
        bool b;
        int64_t i;
        double f;
        struct Obj *o;
    } as;
} Value;

#define VAL_NULL ((Value){.tag = V_NULL, .as = {.i = 0}})
#define VAL_NONE ((Value){.tag = V_NONE, .as = {.i = 0}})
#define VAL_TRUE ((Value){.tag = V_BOOL, .as = {.b = true}})
#define VAL_FALSE ((Value){.tag = V_BOOL, .as = {.b = false}})

static inline Value v_bool(bool b) {
    Value v = {.tag = V_BOOL, .as = {.i = 0}};
    v.as.b = b;
    return v;
}
static inline Value v_int(int64_t i) { return (Value){.tag = V_INT, .as = {.i = i}}; }
static inline Value v_float(double f) {
    Value v = {.tag = V_FLOAT, .as = {.i = 0}};
    v.as.f = f;
    return v;
}
static inline Value v_obj(void *o) {
    Value v = {.tag = V_OBJ, .as = {.i = 0}};
    v.as.o = (struct Obj *)o;
    return v;
}

#define IS_NULL(v) ((v).tag == V_NULL)
#define IS_NONE(v) ((v).tag == V_NONE)
#define IS_BOOL(v) ((v).tag == V_BOOL)
#define IS_INT(v) ((v).tag == V_INT) // small int only; see is_int() in vm.h
#define IS_FLOAT(v) ((v).tag == V_FLOAT)
#define IS_OBJ(v) ((v).tag == V_OBJ)

#define AS_BOOL(v) ((v).as.b)
#define AS_INT(v) ((v).as.i)
#define AS_FLOAT(v) ((v).as.f)
#define AS_OBJ(v) ((v).as.o)

// Identity (Python's `is`): same tag and same payload. Floats compare by
// bits, which is what `is` means for unboxed floats.
static inline bool v_is(Value a, Value b) {
    if (a.tag != b.tag) return false;
    switch (a.tag) {
    case V_NULL:
    case V_NONE: return true;
    case V_BOOL: return a.as.b == b.as.b;
    default: return a.as.i == b.as.i;
    }
}

#endif
