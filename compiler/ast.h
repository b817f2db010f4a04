// ast.h - the abstract syntax tree, modelled on CPython's Python.asdl.
//
// All nodes, arrays and strings live in one Arena (compiler/arena.c) that is
// freed in one go after compilation; the tree never holds VM objects.
// Identifiers and string literal contents are NUL-terminated UTF-8 copies in
// the arena. Positions are 1-based lines and 0-based UTF-8 byte columns,
// exactly as CPython's ast module reports them (lineno, col_offset,
// end_lineno, end_col_offset).
//
// compiler/parser.c builds it; compiler/symtable.c and compiler/compile.c read
// it; compiler/ast_dump.c prints it in the format of CPython's
// ast.dump(tree, include_attributes=False) for tests.
#ifndef EDDY_AST_H
#define EDDY_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// ---------------------------------------------------------------------------
// Arena
typedef struct Arena Arena;
Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t size); // zeroed; NULL when out of memory
char *arena_strndup(Arena *a, const char *s, size_t len);

typedef struct Pos {
    int32_t line, col, end_line, end_col;
} Pos;

typedef struct Expr Expr;
typedef struct Stmt Stmt;

typedef struct ExprList {
    Expr **items;
    int32_t len;
} ExprList;
typedef struct StmtList {
    Stmt **items;
    int32_t len;
} StmtList;

// ---------------------------------------------------------------------------
// Operators (values match compiler needs; names as in CPython's ast module)
typedef enum BoolOpKind { BOOL_AND, BOOL_OR } BoolOpKind;
typedef enum OperatorKind {
    // Same numbering as BINOP_* in vm/opcodes.h so codegen can pass it through.
    AST_ADD = 0,
    AST_SUB,
    AST_MULT,
    AST_MATMULT,
    AST_DIV,
    AST_FLOORDIV,
    AST_MOD,
    AST_POW,
    AST_LSHIFT,
    AST_RSHIFT,
    AST_BITAND,
    AST_BITOR,
    AST_BITXOR,
} OperatorKind;
typedef enum UnaryOpKind { AST_INVERT, AST_NOT, AST_UADD, AST_USUB } UnaryOpKind;
typedef enum CmpOpKind {
    // The first six match CMP_* in vm/object.h.
    AST_LT = 0,
    AST_LTE,
    AST_EQ,
    AST_NOTEQ,
    AST_GT,
    AST_GTE,
    AST_IS,
    AST_ISNOT,
    AST_IN,
    AST_NOTIN,
} CmpOpKind;
typedef enum ExprContext { CTX_LOAD, CTX_STORE, CTX_DEL } ExprContext;

// ---------------------------------------------------------------------------
// Constants carried by the tree (converted to VM values by compile.c).
typedef enum ConstKind {
    CONST_NONE,
    CONST_TRUE,
    CONST_FALSE,
    CONST_ELLIPSIS,
    CONST_INT,     // fits in int64: .i
    CONST_BIGINT,  // does not fit: .text holds the literal's digits (underscores
                   //   removed, prefix such as 0x kept) for int_from_string(base 0)
    CONST_FLOAT,   // .f
    CONST_COMPLEX, // imaginary literal: .f is the imaginary part (unsupported in the VM for now)
    CONST_STR,     // .text/.len: UTF-8 (may contain NUL bytes)
    CONST_BYTES,   // .text/.len: raw bytes
} ConstKind;

typedef struct Constant {
    ConstKind kind;
    int64_t i;
    double f;
    const char *text;
    size_t len;
} Constant;

typedef struct Comprehension {
    Expr *target;
    Expr *iter;
    ExprList ifs;
    bool is_async;
} Comprehension;

typedef struct Keyword {
    const char *arg; // NULL for **kwargs
    Expr *value;
    Pos pos;
} Keyword;

typedef struct Arg {
    const char *name;
    Expr *annotation; // may be NULL
    Pos pos;
} Arg;

typedef struct Arguments {
    Arg *posonlyargs;
    int32_t nposonly;
    Arg *args;
    int32_t nargs;
    Arg *vararg; // may be NULL
    Arg *kwonlyargs;
    int32_t nkwonly;
    Expr **kw_defaults; // nkwonly entries; NULL entry = no default
    Arg *kwarg;         // may be NULL
    ExprList defaults;  // defaults for the LAST len positional (posonly + args) parameters
} Arguments;

// ---------------------------------------------------------------------------
// Expressions
typedef enum ExprKind {
    E_BOOLOP,
    E_NAMEDEXPR,
    E_BINOP,
    E_UNARYOP,
    E_LAMBDA,
    E_IFEXP,
    E_DICT,
    E_SET,
    E_LISTCOMP,
    E_SETCOMP,
    E_DICTCOMP,
    E_GENERATOREXP,
    E_AWAIT,
    E_YIELD,
    E_YIELDFROM,
    E_COMPARE,
    E_CALL,
    E_FORMATTEDVALUE,
    E_JOINEDSTR,
    E_CONSTANT,
    E_ATTRIBUTE,
    E_SUBSCRIPT,
    E_STARRED,
    E_NAME,
    E_LIST,
    E_TUPLE,
    E_SLICE,
} ExprKind;

struct Expr {
    ExprKind kind;
    Pos pos;
    union {
        struct {
            BoolOpKind op;
            ExprList values;
        } boolop;
        struct {
            Expr *target;
            Expr *value;
        } namedexpr;
        struct {
            Expr *left;
            OperatorKind op;
            Expr *right;
        } binop;
        struct {
            UnaryOpKind op;
            Expr *operand;
        } unaryop;
        struct {
            Arguments *args;
            Expr *body;
        } lambda;
        struct {
            Expr *test;
            Expr *body;
            Expr *orelse;
        } ifexp;
        // keys[i] == NULL means `**values[i]`
        struct {
            Expr **keys;
            Expr **values;
            int32_t len;
        } dict;
        struct {
            ExprList elts;
        } set;
        // listcomp, setcomp, generatorexp use elt; dictcomp uses key/value
        struct {
            Expr *elt;
            Expr *key;
            Expr *value;
            Comprehension *generators;
            int32_t ngenerators;
        } comp;
        struct {
            Expr *value;
        } await_;
        struct {
            Expr *value;
        } yield; // value may be NULL
        struct {
            Expr *value;
        } yieldfrom;
        struct {
            Expr *left;
            CmpOpKind *ops;
            ExprList comparators;
        } compare;
        struct {
            Expr *func;
            ExprList args;
            Keyword *keywords;
            int32_t nkeywords;
        } call;
        // conversion: -1 none, 's', 'r', 'a'. format_spec: a JoinedStr or NULL.
        struct {
            Expr *value;
            int conversion;
            Expr *format_spec;
        } formatted;
        struct {
            ExprList values;
        } joinedstr; // Constant(str) and FormattedValue parts
        Constant constant;
        struct {
            Expr *value;
            const char *attr;
            ExprContext ctx;
        } attribute;
        struct {
            Expr *value;
            Expr *slice;
            ExprContext ctx;
        } subscript;
        struct {
            Expr *value;
            ExprContext ctx;
        } starred;
        struct {
            const char *id;
            ExprContext ctx;
        } name;
        struct {
            ExprList elts;
            ExprContext ctx;
        } list; // also tuple
        struct {
            Expr *lower;
            Expr *upper;
            Expr *step;
        } slice; // each may be NULL
    } v;
};

// ---------------------------------------------------------------------------
// Statements
typedef struct ExceptHandler {
    Expr *type;       // may be NULL (bare except)
    const char *name; // may be NULL
    StmtList body;
    Pos pos;
} ExceptHandler;

typedef struct WithItem {
    Expr *context_expr;
    Expr *optional_vars; // may be NULL
} WithItem;

typedef struct Alias {
    const char *name;   // dotted name for `import a.b`, or "*"
    const char *asname; // may be NULL
    Pos pos;
} Alias;

typedef enum StmtKind {
    S_FUNCTIONDEF,
    S_ASYNCFUNCTIONDEF,
    S_CLASSDEF,
    S_RETURN,
    S_DELETE,
    S_ASSIGN,
    S_AUGASSIGN,
    S_ANNASSIGN,
    S_FOR,
    S_ASYNCFOR,
    S_WHILE,
    S_IF,
    S_WITH,
    S_ASYNCWITH,
    S_MATCH,
    S_RAISE,
    S_TRY,
    S_TRYSTAR,
    S_ASSERT,
    S_IMPORT,
    S_IMPORTFROM,
    S_GLOBAL,
    S_NONLOCAL,
    S_EXPR,
    S_PASS,
    S_BREAK,
    S_CONTINUE,
} StmtKind;

struct Stmt {
    StmtKind kind;
    Pos pos;
    union {
        // FunctionDef and AsyncFunctionDef
        struct {
            const char *name;
            Arguments *args;
            StmtList body;
            ExprList decorators;
            Expr *returns;
        } funcdef;
        struct {
            const char *name;
            ExprList bases;
            Keyword *keywords;
            int32_t nkeywords;
            StmtList body;
            ExprList decorators;
        } classdef;
        struct {
            Expr *value;
        } return_; // value may be NULL
        struct {
            ExprList targets;
        } delete_;
        struct {
            ExprList targets;
            Expr *value;
        } assign; // a = b = value: targets [a, b]
        struct {
            Expr *target;
            OperatorKind op;
            Expr *value;
        } augassign;
        struct {
            Expr *target;
            Expr *annotation;
            Expr *value;
            bool simple;
        } annassign; // value may be NULL
        struct {
            Expr *target;
            Expr *iter;
            StmtList body;
            StmtList orelse;
        } for_; // also AsyncFor
        struct {
            Expr *test;
            StmtList body;
            StmtList orelse;
        } while_;
        struct {
            Expr *test;
            StmtList body;
            StmtList orelse;
        } if_; // elif = orelse holding one If
        struct {
            WithItem *items;
            int32_t nitems;
            StmtList body;
        } with; // also AsyncWith
        struct {
            Expr *exc;
            Expr *cause;
        } raise; // both may be NULL
        // Try and TryStar
        struct {
            StmtList body;
            ExceptHandler *handlers;
            int32_t nhandlers;
            StmtList orelse;
            StmtList finalbody;
        } try_;
        struct {
            Expr *test;
            Expr *msg;
        } assert_;
        struct {
            Alias *names;
            int32_t nnames;
        } import;
        struct {
            const char *module;
            Alias *names;
            int32_t nnames;
            int32_t level;
        } importfrom; // module may be NULL
        struct {
            const char **names;
            int32_t nnames;
        } global; // also Nonlocal
        struct {
            Expr *value;
        } expr;
    } v;
};

typedef struct Module {
    StmtList body;
} Module;

// ---------------------------------------------------------------------------
// Parsing (compiler/parser.c)

typedef enum ParseMode {
    PARSE_FILE,   // a module
    PARSE_SINGLE, // one interactive statement (REPL): expression statements print
    PARSE_EVAL,   // a single expression (eval()); Module holds one S_EXPR
} ParseMode;

// A syntax error found by the lexer or parser. msg is CPython's wording
// ("invalid syntax", "unexpected indent", "'(' was never closed", ...).
// kind selects the exception: SyntaxError, IndentationError or TabError.
// SYNERR_MEMORY and SYNERR_RECURSION report source nested too deeply, as
// CPython does: right-nested forms (unary operators, **, lambda, ternary)
// overflow its parser (MemoryError); left-nested chains (a.b.c..., f()()...,
// 1+1+1...) overflow its compiler ("RecursionError: maximum recursion depth
// exceeded during compilation").
typedef enum SyntaxErrorKind {
    SYNERR_SYNTAX,
    SYNERR_INDENT,
    SYNERR_TAB,
    SYNERR_MEMORY,
    SYNERR_RECURSION
} SyntaxErrorKind;
typedef struct SyntaxErrorInfo {
    SyntaxErrorKind kind;
    char msg[256];
    int32_t line, col;         // 1-based line, 1-based column (CPython's offset)
    int32_t end_line, end_col; // 0 if unknown
    bool incomplete;           // REPL: input ended inside an open block/bracket/string
} SyntaxErrorInfo;

// Parse UTF-8 source. Returns the module, or NULL with *err filled in
// (including for invalid UTF-8, which CPython reports as a SyntaxError,
// and for nesting too deep, "too many nested parentheses"). Never crashes
// and never recurses without a depth limit.
Module *parse_source(Arena *arena, const char *src, size_t len, ParseMode mode,
                     SyntaxErrorInfo *err);

// Print the tree like CPython's ast.dump(tree) (no attributes, no indent).
// Returns a malloc'ed string; NULL on out of memory.
char *ast_dump(const Module *m, ParseMode mode);

#endif
