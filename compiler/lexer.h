// lexer.h - source text -> tokens (compiler/lexer.c).
//
// The lexer is pulled one token at a time by the parser, so a lexical error
// late in a file is reported only if the parser gets that far (as CPython's
// tokenizer does). It produces INDENT/DEDENT/NEWLINE like CPython's
// tokenizer, tracks open brackets (for "'(' was never closed" and the
// nesting limit) and validates number and string literals; their values are
// decoded by the parser with the helpers at the end of this header.
#ifndef EDDY_LEXER_H
#define EDDY_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ast.h"

typedef enum TokKind {
    TK_EOF,
    TK_NEWLINE,
    TK_INDENT,
    TK_DEDENT,
    TK_NAME,
    TK_NUMBER,
    TK_STRING,
    TK_ERRORTOKEN, // a character that starts no token ('$', '?', '!'): the parser says "invalid
                   // syntax"
    // operators
    TK_LPAR,
    TK_RPAR,
    TK_LSQB,
    TK_RSQB,
    TK_LBRACE,
    TK_RBRACE,
    TK_COLON,
    TK_COMMA,
    TK_SEMI,
    TK_PLUS,
    TK_MINUS,
    TK_STAR,
    TK_SLASH,
    TK_VBAR,
    TK_AMPER,
    TK_LESS,
    TK_GREATER,
    TK_EQUAL,
    TK_DOT,
    TK_PERCENT,
    TK_EQEQUAL,
    TK_NOTEQUAL,
    TK_LESSEQUAL,
    TK_GREATEREQUAL,
    TK_TILDE,
    TK_CIRCUMFLEX,
    TK_LEFTSHIFT,
    TK_RIGHTSHIFT,
    TK_DOUBLESTAR,
    TK_PLUSEQUAL,
    TK_MINEQUAL,
    TK_STAREQUAL,
    TK_SLASHEQUAL,
    TK_PERCENTEQUAL,
    TK_AMPEREQUAL,
    TK_VBAREQUAL,
    TK_CIRCUMFLEXEQUAL,
    TK_LEFTSHIFTEQUAL,
    TK_RIGHTSHIFTEQUAL,
    TK_DOUBLESTAREQUAL,
    TK_DOUBLESLASH,
    TK_DOUBLESLASHEQUAL,
    TK_AT,
    TK_ATEQUAL,
    TK_RARROW,
    TK_ELLIPSIS,
    TK_COLONEQUAL,
    // keywords (hard keywords only; match/case/_ stay names)
    TK_FALSE,
    TK_NONE,
    TK_TRUE,
    TK_AND,
    TK_AS,
    TK_ASSERT,
    TK_ASYNC,
    TK_AWAIT,
    TK_BREAK,
    TK_CLASS,
    TK_CONTINUE,
    TK_DEF,
    TK_DEL,
    TK_ELIF,
    TK_ELSE,
    TK_EXCEPT,
    TK_FINALLY,
    TK_FOR,
    TK_FROM,
    TK_GLOBAL,
    TK_IF,
    TK_IMPORT,
    TK_IN,
    TK_IS,
    TK_LAMBDA,
    TK_NONLOCAL,
    TK_NOT,
    TK_OR,
    TK_PASS,
    TK_RAISE,
    TK_RETURN,
    TK_TRY,
    TK_WHILE,
    TK_WITH,
    TK_YIELD,
    TK_COUNT
} TokKind;

typedef struct Token {
    TokKind kind;
    const char *start; // into the source; NAME/NUMBER/STRING text is [start, start+len)
    int32_t len;
    int32_t line, col, end_line, end_col; // 1-based lines, 0-based byte columns
    int32_t level; // open brackets after this token (as CPython's token level)
} Token;

enum { LEXER_MAX_PARENS = 200, LEXER_MAX_INDENT = 100 };

typedef struct Lexer {
    const char *src, *end, *cur;
    const char *line_start; // start of the current physical line
    int32_t line;
    int32_t line_offset, col_offset; // added to positions (f-string sub-lexers)
    bool at_bol;                     // at the start of a logical line: measure indentation
    bool sub;                        // f-string expression: no NEWLINE/INDENT, acts as inside '('
    bool seen_token_on_line;         // a logical line has started (for the final NEWLINE)
    int32_t pending;                 // >0: DEDENTs still to emit; <0: INDENT to emit
    int32_t indent, indstack[LEXER_MAX_INDENT], altindstack[LEXER_MAX_INDENT];
    int32_t level; // open brackets
    char paren[LEXER_MAX_PARENS];
    int32_t paren_line[LEXER_MAX_PARENS], paren_col[LEXER_MAX_PARENS];
    bool cont_line; // the last line ended with a backslash
    bool done;
    // The first byte that is not valid UTF-8 (found up front, reported
    // lazily when the lexer reaches its line, as CPython decodes by line).
    const char *bad_line_start;
    int32_t bad_col;
    char bad_msg[160];
    SyntaxErrorInfo *err;
} Lexer;

// Start lexing src[0..len). err receives the first lexical error.
void lexer_init(Lexer *lx, const char *src, size_t len, SyntaxErrorInfo *err);
// A lexer for an f-string replacement field's text; positions are shifted to
// where the text sits in the file.
void lexer_init_sub(Lexer *lx, const char *src, size_t len, int32_t line, int32_t col,
                    SyntaxErrorInfo *err);
// Next token; false with *err filled on a lexical error.
bool lexer_next(Lexer *lx, Token *t);

// Fill *err (kind, msg, 1-based col) unless an error is already recorded.
void lexer_error(SyntaxErrorInfo *err, SyntaxErrorKind kind, int32_t line, int32_t col,
                 int32_t end_line, int32_t end_col, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

// Decode the escapes of a string literal body (no quotes/prefix). raw: keep
// backslashes; bytes: result is bytes (only ASCII allowed in the source).
// Writes at most len bytes into out (escapes never lengthen: \N is
// rejected) and stores the length in *outlen. Returns false with *err
// filled (line/col locate the literal).
bool lexer_decode_string(const char *s, size_t len, bool raw, bool bytes, char *out, size_t *outlen,
                         SyntaxErrorInfo *err, int32_t line, int32_t col);

// Is the text [s, s+len) a complete identifier with valid UTF-8?
bool lexer_is_ident_start(unsigned char c);

#endif
