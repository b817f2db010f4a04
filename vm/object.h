// object.h - the common object header, type objects, and the layouts of the
// core builtin objects that several files must see.
//
// Every heap object starts with Obj. Objects are allocated with obj_alloc()
// (vm/gc.c), which links them into the VM's all-objects list; the collector
// (precise mark-sweep, gray stack) finds children through type->trace and
// releases owned C memory through type->finalize.
//
// A type's private layout (BigInt digits, dict index, range fields, ...)
// lives in its own obj_<type>.c; only layouts other files must touch are here.
#ifndef EDDY_OBJECT_H
#define EDDY_OBJECT_H

#ifndef EDDY_BUILD_CORE
#error "vm/object.h is internal to the Eddy core"
#endif

#include "value.h"

typedef struct EddyVM EddyVM;
typedef struct TypeObject TypeObject;
typedef struct StrObject StrObject;
typedef struct TupleObject TupleObject;
typedef struct DictObject DictObject;

typedef struct Obj {
    TypeObject *type;
    // Unused. It keeps the header at 24 bytes: with a 16-byte header the
    // interpreter measured slower (fib +10%, 4% more instructions in
    // interp_run, from the objects' changed field layout).
    void *reserved;
    uint8_t gc_marked;  // set during mark
    uint8_t gc_pinned;  // 1: never collected (static singletons, interned strings)
    uint16_t obj_flags; // free for the type's own use
    uint32_t size;      // bytes allocated for the object itself (set by obj_alloc)
} Obj;

// ---------------------------------------------------------------------------
// Native function signature ("vectorcall"). args[0..nargs) are positional;
// when kwnames != NULL it is a tuple of k str names and their values follow
// at args[nargs .. nargs+k). For methods, args[0] is self. Returns the result,
// or V_NULL with an exception pending. args are rooted by the caller.
typedef Value (*NativeFn)(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames);

// Rich comparison operators (CPython's order).
enum { CMP_LT = 0, CMP_LE, CMP_EQ, CMP_NE, CMP_GT, CMP_GE };

// Type flags.
enum {
    TPF_HEAPTYPE = 1u << 0, // created by a `class` statement
    TPF_BASETYPE = 1u << 1, // may be subclassed
    TPF_ABSTRACT = 1u << 2, // cannot be instantiated directly
    // Dead instances get early_finalize before anything of that collection
    // is freed (vm/gc.c), so it may still read the objects they point to.
    // Every instance must be registered with gc_track when allocated.
    TPF_EARLY_FINALIZE = 1u << 3,
    // Fast "is subclass of builtin X" bits, inherited by subclasses
    // (CPython's Py_TPFLAGS_*_SUBCLASS).
    TPF_INT_SUBCLASS = 1u << 8,
    TPF_STR_SUBCLASS = 1u << 9,
    TPF_TUPLE_SUBCLASS = 1u << 10,
    TPF_LIST_SUBCLASS = 1u << 11,
    TPF_DICT_SUBCLASS = 1u << 12,
    TPF_EXC_SUBCLASS = 1u << 13, // BaseException and below
    TPF_TYPE_SUBCLASS = 1u << 14,
};

// A type object. Builtin types are created at VM start-up (vm/vm.c calls each
// <type>_init_type()); script classes are created by type_new_class().
//
// Slots: NULL means "not supported" (the generic code in vm/ops.c raises the
// CPython TypeError). Slots are inherited from the base at creation. For a
// script class, type_new_class() installs shim slots for every dunder the
// class (or a base) defines in its dict, so C code always goes through slots
// and script code through dict look-ups of the same dunder names. Setting a
// dunder attribute on a class later updates the slot (type_setattr).
//
// Binary/unary arithmetic is NOT a slot: vm_binary_op() looks up __add__ /
// __radd__ etc. by name in the MRO; builtin numeric types register native
// __add__ etc. in their dicts. The interpreter fast-paths int/float/str.
struct TypeObject {
    Obj hdr;
    StrObject *name;        // "int", "MyClass"
    StrObject *qualname;    // "Outer.MyClass"
    StrObject *module;      // "builtins", "__main__"; may be NULL
    TypeObject *base;       // first base (object's base is NULL)
    TupleObject *bases;     // tuple of TypeObject
    TupleObject *mro;       // C3 linearisation, starts with this type
    DictObject *dict;       // attributes and methods
    uint32_t flags;         // TPF_*
    uint32_t version;       // changes whenever this type's or a base's dict changes (caches)
    uint32_t instance_size; // bytes allocated for an instance
    int32_t dict_offset;    // offset of the DictObject* __dict__ field; 0 = none
    TypeObject *layout;     // the builtin type whose C layout instances have

    void (*trace)(EddyVM *vm, Obj *self);    // mark children (gc_mark_*)
    void (*finalize)(EddyVM *vm, Obj *self); // free owned C memory; no allocation
    // __new__: allocate (and for immutables, initialise) an instance of t.
    Value (*new_)(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kwnames);
    Value (*repr)(EddyVM *vm, Value self);
    Value (*str)(EddyVM *vm, Value self);                       // NULL: use repr
    int (*hash)(EddyVM *vm, Value self, int64_t *out);          // 0 ok, -1 error
    Value (*richcompare)(EddyVM *vm, Value a, Value b, int op); // may return NotImplemented
    int (*truthy)(EddyVM *vm, Value self); // 1/0, -1 error; NULL: use len, else true
    Value (*getattr)(EddyVM *vm, Value self, StrObject *name);        // NULL + AttributeError
    int (*setattr)(EddyVM *vm, Value self, StrObject *name, Value v); // v V_NULL: delete; 0/-1
    Value (*call)(EddyVM *vm, Value self, Value *args, int nargs, TupleObject *kwnames);
    Value (*iter)(EddyVM *vm, Value self);
    int (*next)(EddyVM *vm, Value self, Value *out); // 1 item, 0 exhausted (no exception), -1 error
    int64_t (*len)(EddyVM *vm, Value self);          // -1 error
    Value (*getitem)(EddyVM *vm, Value self, Value key);
    int (*setitem)(EddyVM *vm, Value self, Value key, Value v); // v V_NULL: delete; 0/-1
    int (*contains)(EddyVM *vm, Value self, Value item);        // 1/0, -1 error; NULL: iterate
    // Descriptor protocol. descr_get(descr, obj, owner): obj is V_NULL when
    // accessed on the class. descr_set present => data descriptor.
    Value (*descr_get)(EddyVM *vm, Value descr, Value obj, TypeObject *owner);
    int (*descr_set)(EddyVM *vm, Value descr, Value obj, Value v); // v V_NULL: delete
    // TPF_EARLY_FINALIZE: called on a dead instance while every object is
    // still intact. Must not allocate VM objects nor run script code.
    void (*early_finalize)(EddyVM *vm, Obj *self);
};

// ---------------------------------------------------------------------------
// str: immutable UTF-8, NUL-terminated, hash cached. (vm/obj_str.c)
struct StrObject {
    Obj hdr;
    int64_t hash;  // -1 until computed
    size_t len;    // bytes, excluding the NUL
    size_t ncp;    // code points
    bool ascii;    // len == ncp: O(1) indexing
    bool interned; // the one interned copy of these bytes
    char data[];   // len bytes + NUL
};

// tuple: fixed length, immutable once built. (vm/obj_tuple.c)
struct TupleObject {
    Obj hdr;
    size_t len;
    Value items[];
};

// list (vm/obj_list.c)
typedef struct ListObject {
    Obj hdr;
    size_t len, cap;
    Value *items;
} ListObject;

// dict: insertion-ordered, compact entries + open-addressing index.
// Fields are private to vm/obj_dict.c except `len`.
typedef struct DictEntry {
    int64_t hash;
    Value key; // V_NULL: deleted entry
    Value value;
} DictEntry;

struct DictObject {
    Obj hdr;
    size_t len;       // live items
    size_t nentries;  // used entry slots (live + deleted)
    size_t entry_cap; // capacity of entries
    size_t index_cap; // power of two; 0 when the dict is empty and unindexed
    DictEntry *entries;
    int32_t *index;   // -1 empty, -2 dummy, else entry number
    uint32_t version; // bumped on every mutation (global look-up caches)
};

// A closure cell (vm/obj_func.c)
typedef struct CellObject {
    Obj hdr;
    Value value; // V_NULL: empty
} CellObject;

// Code object flags (CPython's CO_* meanings).
enum {
    CO_OPTIMIZED = 0x1, // locals are fast slots (function body)
    CO_NEWLOCALS = 0x2,
    CO_VARARGS = 0x4,
    CO_VARKEYWORDS = 0x8,
    CO_NESTED = 0x10,
    CO_GENERATOR = 0x20,
    CO_COROUTINE = 0x80,
    CO_ASYNC_GENERATOR = 0x200,
    // compile.c: consts[0] is the function's docstring (MAKE_FUNCTION sets __doc__ from it;
    // without the flag the function's doc is None).
    CO_HAS_DOCSTRING = 0x4000000,
};

// One line-table row: instructions from `pc` up to the next row's pc come
// from source span (line, col) .. (end_line, end_col); cols are 0-based
// UTF-8 byte offsets as in CPython's co_positions(). line 0 = no location.
typedef struct LineEntry {
    uint32_t pc;
    uint32_t line, end_line;
    uint16_t col, end_col;
} LineEntry;

// One exception-table row: an exception raised by an instruction at pc in
// [start, end) unwinds the value stack to `depth` entries (relative to the
// frame's stack base), pushes the lasti (as int) if `push_lasti`, pushes
// the exception, and jumps to `handler`. Rows are searched in order and the
// first containing pc wins; the compiler emits inner regions before outer.
typedef struct ExcEntry {
    uint32_t start, end, handler;
    uint16_t depth;
    uint16_t push_lasti;
} ExcEntry;

// A code object: immutable once built (vm/obj_code.c). Bytecode is an array
// of 32-bit words: opcode in the low 8 bits, argument in the high 24 bits
// (INSTR_OP / INSTR_ARG in vm/opcodes.h). Opcodes with inline caches are
// followed by that many extra zero-initialised words (vm/opcodes.def).
//
// Fast-locals layout ("localsplus"): [0, nlocals) are the local variables
// named in varnames (positional args first, then kw-only args, then *args,
// then **kwargs, then other locals); [nlocals, nlocals+ncells) hold the
// cells of cellvars; then nfrees cells for freevars (copied from the
// function's closure). The operand stack follows.
typedef struct CodeObject {
    Obj hdr;
    uint32_t *code;
    uint32_t ncode; // words
    TupleObject *consts;
    TupleObject *names;    // global / attribute / import names (str)
    TupleObject *varnames; // local names (str), nlocals of them
    TupleObject *cellvars; // (str)
    TupleObject *freevars; // (str)
    // For each cellvar that is also an argument: its local index, else -1.
    // The interpreter copies such args into their cells at frame entry.
    int32_t *cell2arg; // ncells entries, or NULL when no cellvar is an arg
    uint32_t argcount; // positional args, including positional-only
    uint32_t posonlyargcount;
    uint32_t kwonlyargcount;
    uint32_t nlocals, ncells, nfrees;
    uint32_t stacksize; // max operand stack depth
    uint32_t flags;     // CO_*
    uint32_t firstlineno;
    LineEntry *lines;
    uint32_t nlines;
    ExcEntry *exc_table;
    uint32_t nexc;
    StrObject *filename;
    StrObject *name;
    StrObject *qualname;
} CodeObject;

// A script function (vm/obj_func.c)
typedef struct FunctionObject {
    Obj hdr;
    CodeObject *code;
    DictObject *globals;
    DictObject *builtins;   // globals["__builtins__"] resolved at creation
    TupleObject *defaults;  // may be NULL
    DictObject *kwdefaults; // may be NULL
    TupleObject *closure;   // tuple of CellObject, len == code->nfrees; may be NULL
    StrObject *name;
    StrObject *qualname;
    StrObject *module; // globals["__name__"] at creation; may be NULL
    DictObject *dict;  // function attributes; created lazily
    Value doc;         // V_NONE if none
} FunctionObject;

// A builtin function or method (vm/obj_func.c). self is V_NULL for a plain
// function or an unbound method descriptor stored in a type dict; accessing
// such a descriptor on an instance creates a BoundMethodObject.
typedef struct NativeFunctionObject {
    Obj hdr;
    const char *name; // static string
    NativeFn fn;
    Value self;        // bound receiver (module functions: V_NULL)
    TypeObject *owner; // for methods: the type that defines it, else NULL
    uint32_t flags;    // NATIVE_* below
} NativeFunctionObject;

enum {
    NATIVE_METHOD = 1u << 0,      // descriptor: binds self when fetched from an instance
    NATIVE_CLASSMETHOD = 1u << 1, // binds the class instead
    NATIVE_STATIC = 1u << 2,      // never binds
};

// obj.method bound to its receiver (vm/obj_func.c)
typedef struct BoundMethodObject {
    Obj hdr;
    Value self;
    Value func;
} BoundMethodObject;

// A module (vm/import.c)
typedef struct ModuleObject {
    Obj hdr;
    StrObject *name;
    DictObject *dict;
} ModuleObject;

// An instance of a plain script class whose layout is `object`.
typedef struct InstanceObject {
    Obj hdr;
    DictObject *dict; // may be NULL until the first attribute is set
} InstanceObject;

// An exception instance (vm/obj_exc.c). Subclasses defined in scripts keep
// this layout plus a __dict__ (dict field).
typedef struct ExceptionObject {
    Obj hdr;
    DictObject *dict;
    TupleObject *args;
    Value traceback; // TracebackObject or None
    Value cause;     // __cause__: exception or None
    Value context;   // __context__: exception or None
    bool suppress_context;
    Value notes;      // __notes__ list or V_NULL
    Value suggestion; // NameError raised by the VM: the "Did you mean" name (str) or V_NULL
} ExceptionObject;

// A traceback entry, CPython's linked list: newest frame last when printed.
// (vm/error.c)
typedef struct TracebackObject {
    Obj hdr;
    struct TracebackObject *next; // towards the frame that raised
    CodeObject *code;
    uint32_t pc; // instruction index of the failing instruction
} TracebackObject;

#define OBJ_TYPE(o) (((Obj *)(o))->type)

#endif
