// lexer.c - tokens, INDENT/DEDENT, literal validation and string escapes.
//
// Modelled on CPython's Parser/tokenizer.c so that token boundaries, the
// indentation rules (tabs to multiples of 8, checked against tabs-as-1 for
// TabError) and the error messages and columns match python3.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lexer.h"

void lexer_error(SyntaxErrorInfo *err, SyntaxErrorKind kind, int32_t line, int32_t col,
                 int32_t end_line, int32_t end_col, const char *fmt, ...) {
    if (err->msg[0]) return; // the first error wins
    err->kind = kind;
    err->line = line;
    err->col = col;
    err->end_line = end_line;
    err->end_col = end_col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (!err->msg[0]) snprintf(err->msg, sizeof err->msg, "invalid syntax");
}

void lexer_init(Lexer *lx, const char *src, size_t len, SyntaxErrorInfo *err) {
    memset(lx, 0, sizeof *lx);
    lx->src = lx->cur = lx->line_start = src;
    lx->end = src + len;
    lx->line = 1;
    lx->at_bol = true;
    lx->err = err;
}

void lexer_init_sub(Lexer *lx, const char *src, size_t len, int32_t line, int32_t col,
                    SyntaxErrorInfo *err) {
    lexer_init(lx, src, len, err);
    lx->sub = true;
    lx->at_bol = false;
    lx->line_offset = line - 1;
    lx->col_offset = col;
}

bool lexer_is_ident_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_char(unsigned char c) {
    return lexer_is_ident_start(c) || (c >= '0' && c <= '9');
}

static int32_t col_of(Lexer *lx, const char *p) {
    return (int32_t)(p - lx->line_start) + (lx->line == 1 ? lx->col_offset : 0);
}

static int32_t cur_line(Lexer *lx) { return lx->line + lx->line_offset; }

// Error at byte p of the current line; CPython's offsets are 1-based.
static bool error_at(Lexer *lx, const char *p, const char *msg) {
    int32_t c = col_of(lx, p) + 1;
    lexer_error(lx->err, SYNERR_SYNTAX, cur_line(lx), c, cur_line(lx), c, "%s", msg);
    return false;
}

// Decode one UTF-8 code point at p (already validated by the parser).
static uint32_t utf8_decode(const char *p, const char *end, int *n) {
    unsigned char c = (unsigned char)p[0];
    if (c < 0x80 || p + 1 >= end) {
        *n = 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0) {
        *n = 2;
        return ((c & 0x1Fu) << 6) | (p[1] & 0x3F);
    }
    if ((c & 0xF0) == 0xE0 && p + 2 < end) {
        *n = 3;
        return ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3F);
    }
    if (p + 3 < end) {
        *n = 4;
        return ((c & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3F);
    }
    *n = 1;
    return c;
}

// Rough XID test for non-ASCII code points: letters of the scripts people
// write identifiers in are accepted; punctuation, symbols and spaces of the
// common blocks are not (CPython says "invalid character" for those).
static bool unicode_ident_ok(uint32_t cp) {
    if (cp < 0x80) return is_ident_char((unsigned char)cp);
    if (cp == 0xD7 || cp == 0xF7) return false;
    if (cp >= 0xA0 && cp <= 0xBF) return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
    if (cp >= 0x2000 && cp <= 0x2BFF) {
        // General punctuation, super/subscripts, currency, arrows, math, box drawing...
        return (cp >= 0x2070 && cp <= 0x209F && cp != 0x2070) || (cp >= 0x2100 && cp <= 0x214F);
    }
    if (cp >= 0x3000 && cp <= 0x303F) return cp == 0x3005 || cp == 0x3006 || cp == 0x3007;
    if (cp >= 0xFF00 && cp <= 0xFF0F) return false;
    if (cp >= 0x1F000 && cp <= 0x1FAFF) return false; // emoji and pictographs
    if (cp >= 0xE000 && cp <= 0xF8FF) return false;   // private use
    if (cp == 0xFEFF) return false;
    return true;
}

static const struct {
    const char *word;
    TokKind kind;
} keywords[] = {
    {"False", TK_FALSE},
    {"None", TK_NONE},
    {"True", TK_TRUE},
    {"and", TK_AND},
    {"as", TK_AS},
    {"assert", TK_ASSERT},
    {"async", TK_ASYNC},
    {"await", TK_AWAIT},
    {"break", TK_BREAK},
    {"class", TK_CLASS},
    {"continue", TK_CONTINUE},
    {"def", TK_DEF},
    {"del", TK_DEL},
    {"elif", TK_ELIF},
    {"else", TK_ELSE},
    {"except", TK_EXCEPT},
    {"finally", TK_FINALLY},
    {"for", TK_FOR},
    {"from", TK_FROM},
    {"global", TK_GLOBAL},
    {"if", TK_IF},
    {"import", TK_IMPORT},
    {"in", TK_IN},
    {"is", TK_IS},
    {"lambda", TK_LAMBDA},
    {"nonlocal", TK_NONLOCAL},
    {"not", TK_NOT},
    {"or", TK_OR},
    {"pass", TK_PASS},
    {"raise", TK_RAISE},
    {"return", TK_RETURN},
    {"try", TK_TRY},
    {"while", TK_WHILE},
    {"with", TK_WITH},
    {"yield", TK_YIELD},
};

static TokKind keyword_kind(const char *s, size_t n) {
    if (n < 2 || n > 8) return TK_NAME;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        if (keywords[i].word[0] == s[0] && strlen(keywords[i].word) == n &&
            memcmp(keywords[i].word, s, n) == 0)
            return keywords[i].kind;
    }
    return TK_NAME;
}

// ---------------------------------------------------------------------------
// Numbers

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Digits with single underscores between them. Returns false (error set)
// on `1_` or `1__0`.
static bool decimal_tail(Lexer *lx) {
    for (;;) {
        while (lx->cur < lx->end && is_digit(*lx->cur)) lx->cur++;
        if (lx->cur >= lx->end || *lx->cur != '_') return true;
        lx->cur++;
        if (lx->cur >= lx->end || !is_digit(*lx->cur)) {
            return error_at(lx, lx->cur - 1, "invalid decimal literal");
        }
    }
}

// After a number, an identifier character is an error except for the
// keywords CPython still allows there (`1if x else y`, `0x1for`...).
static bool verify_end(Lexer *lx, const char *start, const char *kind) {
    if (lx->cur >= lx->end || !is_ident_char((unsigned char)*lx->cur)) return true;
    static const char *const ok[] = {"and", "else", "for", "if", "in", "is", "not", "or"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t n = strlen(ok[i]);
        if ((size_t)(lx->end - lx->cur) >= n && memcmp(lx->cur, ok[i], n) == 0) return true;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "invalid %s literal", kind);
    return error_at(lx, start, msg);
}

static bool lex_number(Lexer *lx) {
    const char *start = lx->cur;
    char c = *lx->cur;
    if (c == '0' && lx->cur + 1 < lx->end) {
        char x = lx->cur[1] | 0x20;
        if (x == 'x' || x == 'o' || x == 'b') {
            const char *kind = x == 'x' ? "hexadecimal" : x == 'o' ? "octal" : "binary";
            lx->cur += 2;
            bool any = false;
            for (;;) {
                if (lx->cur < lx->end && *lx->cur == '_') lx->cur++;
                const char *d = lx->cur;
                while (lx->cur < lx->end) {
                    char ch = *lx->cur;
                    bool ok = x == 'x'
                                  ? (is_digit(ch) || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f'))
                              : x == 'o' ? (ch >= '0' && ch <= '7')
                                         : (ch == '0' || ch == '1');
                    if (!ok) break;
                    lx->cur++;
                }
                if (lx->cur == d) {
                    if (lx->cur < lx->end && is_digit(*lx->cur)) {
                        char msg[64];
                        snprintf(msg, sizeof msg, "invalid digit '%c' in %s literal", *lx->cur,
                                 kind);
                        return error_at(lx, lx->cur, msg);
                    }
                    char msg[64];
                    snprintf(msg, sizeof msg, "invalid %s literal", kind);
                    return error_at(lx, lx->cur - 1, msg);
                }
                any = true;
                if (lx->cur >= lx->end || *lx->cur != '_') break;
            }
            (void)any;
            if (lx->cur < lx->end && is_digit(*lx->cur)) {
                char msg[64];
                snprintf(msg, sizeof msg, "invalid digit '%c' in %s literal", *lx->cur, kind);
                return error_at(lx, lx->cur, msg);
            }
            return verify_end(lx, start, kind);
        }
    }
    bool is_float = false;
    if (c == '.') {
        is_float = true;
    } else if (c == '0') {
        // Zeros only, unless this turns out to be a float.
        bool nonzero = false;
        while (lx->cur < lx->end && (*lx->cur == '0' || *lx->cur == '_')) {
            if (*lx->cur == '_' && (lx->cur + 1 >= lx->end || !is_digit(lx->cur[1])))
                return error_at(lx, lx->cur + 1, "invalid decimal literal");
            lx->cur++;
        }
        const char *zeros_end = lx->cur;
        if (lx->cur < lx->end && is_digit(*lx->cur)) {
            nonzero = true;
            if (!decimal_tail(lx)) return false;
        }
        char n = lx->cur < lx->end ? *lx->cur : 0;
        if (nonzero && n != '.' && (n | 0x20) != 'e' && (n | 0x20) != 'j') {
            lexer_error(lx->err, SYNERR_SYNTAX, cur_line(lx), col_of(lx, start) + 1, cur_line(lx),
                        col_of(lx, zeros_end) + 1,
                        "leading zeros in decimal integer literals are not permitted; "
                        "use an 0o prefix for octal integers");
            return false;
        }
    } else {
        if (!decimal_tail(lx)) return false;
    }
    if (lx->cur < lx->end && *lx->cur == '.') {
        is_float = true;
        lx->cur++;
        if (lx->cur < lx->end && is_digit(*lx->cur) && !decimal_tail(lx)) return false;
    }
    if (lx->cur < lx->end && (*lx->cur | 0x20) == 'e') {
        const char *e = lx->cur;
        lx->cur++;
        if (lx->cur < lx->end && (*lx->cur == '+' || *lx->cur == '-')) {
            lx->cur++;
            if (lx->cur >= lx->end || !is_digit(*lx->cur))
                return error_at(lx, lx->cur, "invalid decimal literal");
        } else if (lx->cur >= lx->end || !is_digit(*lx->cur)) {
            // `1else`: the 'e' starts a keyword, not an exponent
            lx->cur = e;
            return verify_end(lx, start, "decimal");
        }
        if (!decimal_tail(lx)) return false;
        is_float = true;
    }
    if (lx->cur < lx->end && (*lx->cur | 0x20) == 'j') {
        lx->cur++;
        return verify_end(lx, start, "imaginary");
    }
    (void)is_float;
    return verify_end(lx, start, "decimal");
}

// ---------------------------------------------------------------------------
// Strings

static bool is_string_prefix(const char *s, size_t n) {
    if (n == 0 || n > 2) return false;
    char a = s[0] | 0x20, b = n == 2 ? (s[1] | 0x20) : 0;
    if (n == 1) return a == 'r' || a == 'u' || a == 'b' || a == 'f';
    return (a == 'r' && (b == 'b' || b == 'f')) || (b == 'r' && (a == 'b' || a == 'f'));
}

static bool lex_string(Lexer *lx, Token *t) {
    char q = *lx->cur;
    const char *qstart = lx->cur;
    int32_t start_line = lx->line;
    int32_t start_col = col_of(lx, t->start);
    bool triple = lx->end - lx->cur >= 3 && lx->cur[1] == q && lx->cur[2] == q;
    lx->cur += triple ? 3 : 1;
    (void)qstart;
    for (;;) {
        if (lx->cur >= lx->end) {
            // Report where the literal started, and the line of its last character.
            int32_t detected = cur_line(lx);
            if (lx->cur > lx->src && lx->cur[-1] == '\n' && detected > start_line + lx->line_offset)
                detected--;
            lexer_error(lx->err, SYNERR_SYNTAX, start_line + lx->line_offset, start_col + 1,
                        start_line + lx->line_offset, start_col + 1,
                        triple ? "unterminated triple-quoted string literal (detected at line %d)"
                               : "unterminated string literal (detected at line %d)",
                        (int)detected);
            lx->err->incomplete = triple;
            return false;
        }
        char c = *lx->cur;
        if (c == q) {
            if (!triple) {
                lx->cur++;
                break;
            }
            if (lx->end - lx->cur >= 3 && lx->cur[1] == q && lx->cur[2] == q) {
                lx->cur += 3;
                break;
            }
            lx->cur++;
        } else if (c == '\\') {
            lx->cur++;
            if (lx->cur < lx->end) {
                if (*lx->cur == '\n' || *lx->cur == '\r') {
                    if (*lx->cur == '\r' && lx->cur + 1 < lx->end && lx->cur[1] == '\n') lx->cur++;
                    lx->cur++;
                    lx->line++;
                    lx->line_start = lx->cur;
                } else {
                    lx->cur++;
                }
            }
        } else if (c == '\n' || c == '\r') {
            if (!triple) {
                lexer_error(lx->err, SYNERR_SYNTAX, start_line + lx->line_offset, start_col + 1,
                            start_line + lx->line_offset, start_col + 1,
                            "unterminated string literal (detected at line %d)",
                            (int)(start_line + lx->line_offset));
                return false;
            }
            if (c == '\r' && lx->cur + 1 < lx->end && lx->cur[1] == '\n') lx->cur++;
            lx->cur++;
            lx->line++;
            lx->line_start = lx->cur;
        } else {
            lx->cur++;
        }
    }
    t->kind = TK_STRING;
    return true;
}

// ---------------------------------------------------------------------------
// Indentation

// Measure the indentation of the line at lx->cur. Returns 1 when a token
// must be emitted (INDENT/DEDENT pending), 0 when nothing changes, -1 on error.
static int measure_indent(Lexer *lx) {
    for (;;) {
        int32_t col = 0, altcol = 0, cont_col = 0, cont_altcol = 0;
        const char *p = lx->cur;
        for (; p < lx->end; p++) {
            if (*p == ' ') {
                col++;
                altcol++;
            } else if (*p == '\t') {
                col = (col / 8 + 1) * 8;
                altcol++;
            } else if (*p == '\f') {
                col = altcol = 0;
            } else if (*p == '\\' && p + 1 < lx->end && (p[1] == '\n' || p[1] == '\r')) {
                // Indentation cannot be split over lines with backslashes: as
                // in CPython, the first backslash's column decides (when it is
                // not 0), and the scan goes on into the next physical line.
                if (!cont_col) {
                    cont_col = col;
                    cont_altcol = altcol;
                }
                p++;
                if (*p == '\r' && p + 1 < lx->end && p[1] == '\n') p++;
                lx->line++;
                lx->line_start = p + 1;
                if (p + 1 >= lx->end) {
                    lexer_error(lx->err, SYNERR_SYNTAX, cur_line(lx) - 1,
                                (int32_t)(p - lx->cur) + 1, cur_line(lx) - 1, 0,
                                "unexpected EOF while parsing");
                    lx->err->incomplete = true;
                    return -1;
                }
            } else
                break;
        }
        if (cont_col) {
            col = cont_col;
            altcol = cont_altcol;
        }
        lx->cur = p;
        // Blank lines and comment-only lines do not count.
        if (p < lx->end && (*p == '#' || *p == '\n' || *p == '\r')) {
            while (p < lx->end && *p != '\n' && *p != '\r') p++;
            if (p < lx->end) {
                if (*p == '\r' && p + 1 < lx->end && p[1] == '\n') p++;
                p++;
                lx->line++;
                lx->line_start = p;
                lx->cur = p;
                continue;
            }
            lx->cur = p;
            return 0;
        }
        if (p >= lx->end) return 0; // EOF: dedents are produced by the EOF path
        int32_t top = lx->indstack[lx->indent], alttop = lx->altindstack[lx->indent];
        if (col == top) {
            if (altcol != alttop) goto tab_error;
            return 0;
        }
        if (col > top) {
            if (lx->indent + 1 >= LEXER_MAX_INDENT) {
                lexer_error(lx->err, SYNERR_INDENT, cur_line(lx), 1, cur_line(lx), 0,
                            "too many levels of indentation");
                return -1;
            }
            if (altcol <= alttop) goto tab_error;
            lx->indent++;
            lx->indstack[lx->indent] = col;
            lx->altindstack[lx->indent] = altcol;
            lx->pending = -1;
            return 1;
        }
        int32_t n = 0;
        while (lx->indent > 0 && col < lx->indstack[lx->indent]) {
            lx->indent--;
            n++;
        }
        if (col != lx->indstack[lx->indent]) {
            // CPython points past the end of the offending line.
            const char *e = p;
            while (e < lx->end && *e != '\n') e++;
            int32_t c = (int32_t)(e - lx->line_start) + 1;
            lexer_error(lx->err, SYNERR_INDENT, cur_line(lx), c, cur_line(lx), -1,
                        "unindent does not match any outer indentation level");
            return -1;
        }
        if (altcol != lx->altindstack[lx->indent]) goto tab_error;
        lx->pending = n;
        return 1;
    }
tab_error:
    lexer_error(lx->err, SYNERR_TAB, cur_line(lx), 1, cur_line(lx), 0,
                "inconsistent use of tabs and spaces in indentation");
    return -1;
}

// ---------------------------------------------------------------------------
// Tokens

static void finish(Lexer *lx, Token *t, TokKind kind) {
    t->kind = kind;
    t->level = lx->level;
    t->len = (int32_t)(lx->cur - t->start);
    t->end_line = cur_line(lx);
    t->end_col = col_of(lx, lx->cur);
}

static void empty_token(Lexer *lx, Token *t, TokKind kind) {
    t->kind = kind;
    t->level = lx->level;
    t->start = lx->cur;
    t->len = 0;
    t->line = t->end_line = cur_line(lx);
    t->col = t->end_col = col_of(lx, lx->cur);
}

static bool open_bracket(Lexer *lx, Token *t, char c) {
    if (lx->level >= LEXER_MAX_PARENS) {
        return error_at(lx, t->start, "too many nested parentheses");
    }
    lx->paren[lx->level] = c;
    lx->paren_line[lx->level] = cur_line(lx);
    lx->paren_col[lx->level] = col_of(lx, t->start);
    lx->level++;
    return true;
}

static bool close_bracket(Lexer *lx, Token *t, char c) {
    if (lx->level == 0) {
        char msg[32];
        snprintf(msg, sizeof msg, "unmatched '%c'", c);
        return error_at(lx, t->start, msg);
    }
    lx->level--;
    char o = lx->paren[lx->level];
    if ((o == '(' && c != ')') || (o == '[' && c != ']') || (o == '{' && c != '}')) {
        char msg[128];
        if (lx->paren_line[lx->level] != cur_line(lx)) {
            snprintf(msg, sizeof msg,
                     "closing parenthesis '%c' does not match opening parenthesis '%c' on line %d",
                     c, o, (int)lx->paren_line[lx->level]);
        } else {
            snprintf(msg, sizeof msg,
                     "closing parenthesis '%c' does not match opening parenthesis '%c'", c, o);
        }
        return error_at(lx, t->start, msg);
    }
    return true;
}

bool lexer_next(Lexer *lx, Token *t) {
    if (lx->err->msg[0]) return false;
    if (lx->pending > 0) {
        lx->pending--;
        empty_token(lx, t, TK_DEDENT);
        return true;
    }
    if (lx->pending < 0) {
        lx->pending = 0;
        empty_token(lx, t, TK_INDENT);
        return true;
    }
again:
    if (lx->at_bol && lx->level == 0 && !lx->sub) {
        lx->at_bol = false;
        int r = measure_indent(lx);
        if (r < 0) return false;
        if (r > 0) return lexer_next(lx, t);
    }
    // Skip spaces, comments and line continuations.
    for (;;) {
        while (lx->cur < lx->end && (*lx->cur == ' ' || *lx->cur == '\t' || *lx->cur == '\f'))
            lx->cur++;
        if (lx->cur < lx->end && *lx->cur == '#') {
            while (lx->cur < lx->end && *lx->cur != '\n' && *lx->cur != '\r') lx->cur++;
        }
        if (lx->cur < lx->end && *lx->cur == '\\') {
            const char *b = lx->cur;
            lx->cur++;
            if (lx->cur < lx->end && *lx->cur == '\r') lx->cur++;
            if (lx->cur < lx->end && *lx->cur == '\n')
                lx->cur++;
            else if (lx->cur[-1] != '\r') {
                if (lx->cur >= lx->end) {
                    lexer_error(lx->err, SYNERR_SYNTAX, cur_line(lx), col_of(lx, b) + 2,
                                cur_line(lx), 0, "unexpected EOF while parsing");
                    lx->err->incomplete = true;
                    return false;
                }
                lexer_error(lx->err, SYNERR_SYNTAX, cur_line(lx), col_of(lx, b) + 2, cur_line(lx),
                            0, "unexpected character after line continuation character");
                return false;
            }
            lx->line++;
            lx->line_start = lx->cur;
            if (lx->cur >= lx->end) {
                lexer_error(lx->err, SYNERR_SYNTAX, cur_line(lx), 0, cur_line(lx), 0,
                            "unexpected EOF while parsing");
                lx->err->incomplete = true;
                return false;
            }
            continue;
        }
        break;
    }
    t->start = lx->cur;
    t->line = cur_line(lx);
    t->col = col_of(lx, lx->cur);
    if (lx->bad_line_start && lx->cur >= lx->bad_line_start) {
        lexer_error(lx->err, SYNERR_SYNTAX, cur_line(lx), lx->bad_col + 1, cur_line(lx), 0, "%s",
                    lx->bad_msg);
        return false;
    }
    if (lx->cur >= lx->end) {
        if (lx->sub) {
            empty_token(lx, t, TK_EOF);
            return true;
        }
        // The last line may lack its newline; then come the DEDENTs.
        if (lx->seen_token_on_line) {
            lx->seen_token_on_line = false;
            empty_token(lx, t, TK_NEWLINE);
            return true;
        }
        if (lx->indent > 0) {
            lx->indent--;
            empty_token(lx, t, TK_DEDENT);
            return true;
        }
        empty_token(lx, t, TK_EOF);
        return true;
    }
    unsigned char c = (unsigned char)*lx->cur;
    if (c == '\n' || c == '\r') {
        const char *nl = lx->cur;
        if (c == '\r' && lx->cur + 1 < lx->end && lx->cur[1] == '\n') lx->cur++;
        lx->cur++;
        bool emit = lx->level == 0 && !lx->sub && lx->seen_token_on_line;
        if (emit) {
            t->kind = TK_NEWLINE;
            t->level = 0;
            t->len = (int32_t)(lx->cur - nl);
            t->end_line = t->line;
            t->end_col = t->col + 1;
        }
        lx->line++;
        lx->line_start = lx->cur;
        if (lx->level == 0 && !lx->sub) lx->at_bol = true;
        if (emit) {
            lx->seen_token_on_line = false;
            return true;
        }
        goto again;
    }
    lx->seen_token_on_line = true;
    if (lexer_is_ident_start(c)) {
        const char *s = lx->cur;
        while (lx->cur < lx->end && is_ident_char((unsigned char)*lx->cur)) {
            if ((unsigned char)*lx->cur >= 0x80) {
                int n;
                uint32_t cp = utf8_decode(lx->cur, lx->end, &n);
                if (!unicode_ident_ok(cp)) {
                    if (lx->cur == s) {
                        char msg[64];
                        snprintf(msg, sizeof msg, "invalid character '%.*s' (U+%04X)", n, lx->cur,
                                 (unsigned)cp);
                        return error_at(lx, lx->cur, msg);
                    }
                    break;
                }
                lx->cur += n;
            } else {
                lx->cur++;
            }
        }
        size_t n = (size_t)(lx->cur - s);
        if (lx->cur < lx->end && (*lx->cur == '"' || *lx->cur == '\'') && is_string_prefix(s, n)) {
            if (!lex_string(lx, t)) return false;
            finish(lx, t, TK_STRING);
            return true;
        }
        finish(lx, t, keyword_kind(s, n));
        return true;
    }
    if (is_digit((char)c) || (c == '.' && lx->cur + 1 < lx->end && is_digit(lx->cur[1]))) {
        if (!lex_number(lx)) return false;
        finish(lx, t, TK_NUMBER);
        return true;
    }
    if (c == '"' || c == '\'') {
        if (!lex_string(lx, t)) return false;
        finish(lx, t, TK_STRING);
        return true;
    }
    // Operators: longest match.
    const char *p = lx->cur;
    char c1 = p + 1 < lx->end ? p[1] : 0, c2 = p + 2 < lx->end ? p[2] : 0;
    TokKind k = TK_ERRORTOKEN;
    int n = 1;
    switch (c) {
    case '(': k = TK_LPAR; break;
    case ')': k = TK_RPAR; break;
    case '[': k = TK_LSQB; break;
    case ']': k = TK_RSQB; break;
    case '{': k = TK_LBRACE; break;
    case '}': k = TK_RBRACE; break;
    case ',': k = TK_COMMA; break;
    case ';': k = TK_SEMI; break;
    case '~': k = TK_TILDE; break;
    case ':':
        if (c1 == '=') {
            k = TK_COLONEQUAL;
            n = 2;
        } else
            k = TK_COLON;
        break;
    case '+':
        if (c1 == '=') {
            k = TK_PLUSEQUAL;
            n = 2;
        } else
            k = TK_PLUS;
        break;
    case '-':
        if (c1 == '=') {
            k = TK_MINEQUAL;
            n = 2;
        } else if (c1 == '>') {
            k = TK_RARROW;
            n = 2;
        } else
            k = TK_MINUS;
        break;
    case '*':
        if (c1 == '*') {
            if (c2 == '=') {
                k = TK_DOUBLESTAREQUAL;
                n = 3;
            } else {
                k = TK_DOUBLESTAR;
                n = 2;
            }
        } else if (c1 == '=') {
            k = TK_STAREQUAL;
            n = 2;
        } else
            k = TK_STAR;
        break;
    case '/':
        if (c1 == '/') {
            if (c2 == '=') {
                k = TK_DOUBLESLASHEQUAL;
                n = 3;
            } else {
                k = TK_DOUBLESLASH;
                n = 2;
            }
        } else if (c1 == '=') {
            k = TK_SLASHEQUAL;
            n = 2;
        } else
            k = TK_SLASH;
        break;
    case '|':
        if (c1 == '=') {
            k = TK_VBAREQUAL;
            n = 2;
        } else
            k = TK_VBAR;
        break;
    case '&':
        if (c1 == '=') {
            k = TK_AMPEREQUAL;
            n = 2;
        } else
            k = TK_AMPER;
        break;
    case '^':
        if (c1 == '=') {
            k = TK_CIRCUMFLEXEQUAL;
            n = 2;
        } else
            k = TK_CIRCUMFLEX;
        break;
    case '%':
        if (c1 == '=') {
            k = TK_PERCENTEQUAL;
            n = 2;
        } else
            k = TK_PERCENT;
        break;
    case '@':
        if (c1 == '=') {
            k = TK_ATEQUAL;
            n = 2;
        } else
            k = TK_AT;
        break;
    case '=':
        if (c1 == '=') {
            k = TK_EQEQUAL;
            n = 2;
        } else
            k = TK_EQUAL;
        break;
    case '!':
        if (c1 == '=') {
            k = TK_NOTEQUAL;
            n = 2;
        }
        break;
    case '<':
        if (c1 == '<') {
            if (c2 == '=') {
                k = TK_LEFTSHIFTEQUAL;
                n = 3;
            } else {
                k = TK_LEFTSHIFT;
                n = 2;
            }
        } else if (c1 == '=') {
            k = TK_LESSEQUAL;
            n = 2;
        } else if (c1 == '>') {
            k = TK_NOTEQUAL;
            n = 2;
        } // `<>` : the parser rejects it
        else
            k = TK_LESS;
        break;
    case '>':
        if (c1 == '>') {
            if (c2 == '=') {
                k = TK_RIGHTSHIFTEQUAL;
                n = 3;
            } else {
                k = TK_RIGHTSHIFT;
                n = 2;
            }
        } else if (c1 == '=') {
            k = TK_GREATEREQUAL;
            n = 2;
        } else
            k = TK_GREATER;
        break;
    case '.':
        if (c1 == '.' && c2 == '.') {
            k = TK_ELLIPSIS;
            n = 3;
        } else
            k = TK_DOT;
        break;
    default:
        if (c >= 0x80) {
            int m;
            uint32_t cp = utf8_decode(p, lx->end, &m);
            char msg[64];
            snprintf(msg, sizeof msg, "invalid character '%.*s' (U+%04X)", m, p, (unsigned)cp);
            return error_at(lx, p, msg);
        }
        if (c < 0x20 || c == 0x7f) {
            char msg[64];
            snprintf(msg, sizeof msg, "invalid non-printable character U+%04X", (unsigned)c);
            return error_at(lx, p, msg);
        }
        break;
    }
    lx->cur += n;
    if (k == TK_LPAR || k == TK_LSQB || k == TK_LBRACE) {
        if (!open_bracket(lx, t, (char)c)) return false;
    } else if (k == TK_RPAR || k == TK_RSQB || k == TK_RBRACE) {
        if (!lx->sub || lx->level > 0) {
            if (!close_bracket(lx, t, (char)c)) return false;
        }
    }
    finish(lx, t, k);
    return true;
}

// ---------------------------------------------------------------------------
// String escapes

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static size_t utf8_encode(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool lexer_decode_string(const char *s, size_t len, bool raw, bool bytes, char *out, size_t *outlen,
                         SyntaxErrorInfo *err, int32_t line, int32_t col) {
    size_t o = 0;
    const char *end = s + len;
    if (bytes) {
        for (const char *p = s; p < end; p++) {
            if ((unsigned char)*p >= 0x80) {
                lexer_error(err, SYNERR_SYNTAX, line, col + 1, line, col + 1,
                            "bytes can only contain ASCII literal characters");
                return false;
            }
        }
    }
    if (raw) {
        memcpy(out, s, len);
        *outlen = len;
        return true;
    }
    // Positions in CPython's "(unicode error)" messages count characters
    // from the start of the literal body.
    for (const char *p = s; p < end;) {
        if (*p != '\\') {
            if (*p == '\r') {
                // Newlines inside literals are normalised to \n.
                out[o++] = '\n';
                p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
                continue;
            }
            out[o++] = *p++;
            continue;
        }
        const char *esc = p;
        p++;
        if (p >= end) {
            out[o++] = '\\';
            break;
        }
        char c = *p++;
        switch (c) {
        case '\n': break;
        case '\r':
            if (p < end && *p == '\n') p++;
            break;
        case '\\': out[o++] = '\\'; break;
        case '\'': out[o++] = '\''; break;
        case '"': out[o++] = '"'; break;
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'v': out[o++] = '\v'; break;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
            uint32_t v = (uint32_t)(c - '0');
            for (int i = 0; i < 2 && p < end && *p >= '0' && *p <= '7'; i++)
                v = v * 8 + (uint32_t)(*p++ - '0');
            if (bytes)
                out[o++] = (char)(v & 0xFF);
            else
                o += utf8_encode(out + o, v);
            break;
        }
        case 'x':
        case 'u':
        case 'U': {
            int n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            if (bytes && c != 'x') {
                out[o++] = '\\';
                out[o++] = c;
                break;
            }
            uint32_t v = 0;
            int i = 0;
            for (; i < n && p < end && hexval(*p) >= 0; i++) v = v * 16 + (uint32_t)hexval(*p++);
            if (i < n) {
                size_t a = (size_t)(esc - s), b = (size_t)(p - s) - 1;
                const char *what = c == 'x'   ? "truncated \\xXX escape"
                                   : c == 'u' ? "truncated \\uXXXX escape"
                                              : "truncated \\UXXXXXXXX escape";
                if (a == b || p >= end) b = (size_t)(p - s) - 1;
                lexer_error(err, SYNERR_SYNTAX, line, col + 1, line, col + 1,
                            "(%s error) '%s' codec can't decode bytes in position %zu-%zu: %s",
                            bytes ? "value" : "unicode", bytes ? "bytes" : "unicodeescape", a, b,
                            what);
                if (bytes)
                    snprintf(err->msg, sizeof err->msg,
                             "(value error) invalid \\x escape at position %zu", a);
                return false;
            }
            if (bytes) {
                out[o++] = (char)v;
                break;
            }
            if (v > 0x10FFFF) {
                lexer_error(err, SYNERR_SYNTAX, line, col + 1, line, col + 1,
                            "(unicode error) 'unicodeescape' codec can't decode bytes in "
                            "position %zu-%zu: illegal Unicode character",
                            (size_t)(esc - s), (size_t)(p - s) - 1);
                return false;
            }
            o += utf8_encode(out + o, v);
            break;
        }
        case 'N':
            if (!bytes) {
                lexer_error(err, SYNERR_SYNTAX, line, col + 1, line, col + 1,
                            "(unicode error) \\N{...} escapes are not supported by Eddy yet");
                return false;
            }
            out[o++] = '\\';
            out[o++] = c;
            break;
        default:
            // Unknown escapes keep their backslash (a DeprecationWarning in CPython).
            out[o++] = '\\';
            p--;
            break;
        }
    }
    *outlen = o;
    return true;
}
