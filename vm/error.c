// error.c - raising exceptions, tracebacks, and printing them the way
// CPython 3.11 does.
//
// The pending exception lives in vm->exc (an exception instance, or V_NULL).
// Raising while another exception is being handled (vm->handled_exc) sets
// the new exception's __context__, as CPython's _PyErr_SetObject does.
// Traceback entries are (code, pc) pairs linked outermost-first, added by
// the interpreter as the exception passes through each frame.
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "opcodes.h"

// ---------------------------------------------------------------------------
// Raising

static ExceptionObject *as_exc(EddyVM *vm, Value v) {
    return is_exception(vm, v) ? (ExceptionObject *)AS_OBJ(v) : NULL;
}

static bool is_none_or_null(Value v) { return IS_NULL(v) || IS_NONE(v); }

// Implicit chaining: exc.__context__ = the exception being handled, cutting
// any path from that context back to exc so no new cycle appears.
static void set_context(EddyVM *vm, Value exc) {
    Value handled = vm->handled_exc;
    if (is_none_or_null(handled) || v_is(handled, exc)) return;
    ExceptionObject *e = as_exc(vm, exc);
    if (!e || !as_exc(vm, handled)) return;
    ExceptionObject *o = as_exc(vm, handled), *slow = o;
    bool toggle = false;
    for (;;) {
        Value ctx = o->context;
        ExceptionObject *c = as_exc(vm, ctx);
        if (!c) break;
        if (v_is(ctx, exc)) {
            o->context = VAL_NONE;
            break;
        }
        o = c;
        if (o == slow) break; // a pre-existing cycle: every member was checked
        if (toggle) slow = as_exc(vm, slow->context);
        toggle = !toggle;
        if (!slow) break;
    }
    e->context = handled;
}

Value vm_raise(EddyVM *vm, TypeObject *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    StrObject *msg = str_vformat(vm, fmt, ap);
    va_end(ap);
    if (!msg) return VAL_NULL; // formatting raised (MemoryError, failing repr)
    Value exc = exc_new_msg(vm, t, msg);
    if (IS_NULL(exc)) return VAL_NULL;
    set_context(vm, exc);
    vm->exc = exc;
    return VAL_NULL;
}

Value vm_raise_value(EddyVM *vm, Value exc) {
    if (is_exception_type(vm, exc)) {
        Value inst = vm_call0(vm, exc);
        if (IS_NULL(inst)) return VAL_NULL;
        if (!is_exception(vm, inst))
            return vm_raise(vm, vm->exc_TypeError,
                            "calling %R should have returned an instance of BaseException, not %s",
                            exc, vm_type_name(vm, inst));
        exc = inst;
    } else if (!is_exception(vm, exc)) {
        return vm_raise(vm, vm->exc_TypeError, "exceptions must derive from BaseException");
    }
    set_context(vm, exc);
    vm->exc = exc;
    return VAL_NULL;
}

Value vm_raise_nomem(EddyVM *vm) {
    // No allocation here: the preallocated instance, with a fresh traceback.
    ExceptionObject *e = as_exc(vm, vm->memory_error);
    if (e) {
        e->traceback = VAL_NONE;
        e->context = VAL_NONE;
        e->cause = VAL_NONE;
    }
    vm->exc = vm->memory_error;
    // The heap may be full of garbage: collect at the next safe point so a
    // handler (or the next run) finds memory again.
    vm->gc_requested = true;
    return VAL_NULL;
}

bool vm_err_occurred(EddyVM *vm) { return !IS_NULL(vm->exc); }

bool vm_err_matches(EddyVM *vm, TypeObject *t) {
    if (IS_NULL(vm->exc)) return false;
    return type_is_subtype(vm_type_of(vm, vm->exc), t);
}

Value vm_err_fetch(EddyVM *vm) {
    Value e = vm->exc;
    vm->exc = VAL_NULL;
    return e;
}

void vm_err_clear(EddyVM *vm) { vm->exc = VAL_NULL; }

// ---------------------------------------------------------------------------
// Line tables

const LineEntry *code_location_of(const CodeObject *code, uint32_t pc) {
    if (!code || !code->lines || code->nlines == 0) return NULL;
    // The last row whose pc <= the instruction's.
    uint32_t lo = 0, hi = code->nlines;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (code->lines[mid].pc <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? NULL : &code->lines[lo - 1];
}

uint32_t code_line_of(const CodeObject *code, uint32_t pc) {
    const LineEntry *e = code_location_of(code, pc);
    return e ? e->line : 0;
}

// ---------------------------------------------------------------------------
// Traceback objects

static void traceback_trace(EddyVM *vm, Obj *self) {
    TracebackObject *tb = (TracebackObject *)self;
    gc_mark_obj(vm, (Obj *)tb->next);
    gc_mark_obj(vm, (Obj *)tb->code);
}

void vm_traceback_add(EddyVM *vm, CodeObject *code, uint32_t pc) {
    ExceptionObject *e = as_exc(vm, vm->exc);
    if (!e || !code) return;
    Value saved = vm->exc;
    TracebackObject *tb =
        (TracebackObject *)obj_alloc(vm, vm->t_traceback, sizeof(TracebackObject));
    if (!tb) {
        // Out of memory: keep the original exception, just without this entry.
        vm->exc = saved;
        return;
    }
    Value old = e->traceback;
    tb->next = is_exact(old, vm->t_traceback) ? (TracebackObject *)AS_OBJ(old) : NULL;
    tb->code = code;
    tb->pc = pc;
    e->traceback = v_obj(tb);
}

static TracebackObject *tb_self(Value *args) { return (TracebackObject *)AS_OBJ(args[0]); }

static Value tb_get_next(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    TracebackObject *tb = tb_self(args);
    return tb->next ? v_obj(tb->next) : VAL_NONE;
}

static Value tb_get_lineno(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    TracebackObject *tb = tb_self(args);
    return v_int(code_line_of(tb->code, tb->pc));
}

static Value tb_get_lasti(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return v_int((int64_t)tb_self(args)->pc);
}

static Value tb_get_frame(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    // A frame object that records the entry's place (f_code, f_lineno).
    TracebackObject *tb = tb_self(args);
    return frame_detached(vm, tb->code, tb->pc);
}

static Value tb_get_code(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return v_obj(tb_self(args)->code);
}

int traceback_init_type(EddyVM *vm) {
    TypeObject *t = type_new_builtin(vm, vm->t_traceback, vm->t_object, sizeof(TracebackObject), 0);
    if (!t) return -1;
    t->trace = traceback_trace;
    if (type_add_getter(vm, t, "tb_next", tb_get_next) < 0 ||
        type_add_getter(vm, t, "tb_lineno", tb_get_lineno) < 0 ||
        type_add_getter(vm, t, "tb_lasti", tb_get_lasti) < 0 ||
        type_add_getter(vm, t, "tb_frame", tb_get_frame) < 0 ||
        type_add_getter(vm, t, "tb_code", tb_get_code) < 0)
        return -1;
    return 0;
}

// ---------------------------------------------------------------------------
// Printing

#define TB_RECURSIVE_CUTOFF 3
#define TB_LIMIT 1000

// Source text of one file, cached for the duration of one print.
typedef struct SourceCache {
    StrObject *filename; // file the buffer holds (NULL: none)
    char *owned;         // buffer read from disk (mem_alloc'ed), or NULL
    size_t owned_size;
    const char *data; // the text (owned or a str in vm->source_cache)
    size_t len;
    bool missing; // filename could not be read
} SourceCache;

static void source_cache_reset(EddyVM *vm, SourceCache *sc) {
    if (sc->owned) mem_free_raw(vm, sc->owned, sc->owned_size);
    memset(sc, 0, sizeof *sc);
}

static bool source_load(EddyVM *vm, SourceCache *sc, StrObject *filename) {
    if (sc->filename && str_eq(sc->filename, filename)) return !sc->missing;
    source_cache_reset(vm, sc);
    sc->filename = filename;
    if (vm->source_cache) {
        Value src = dict_get_str(vm->source_cache, filename);
        if (is_str(vm, src)) {
            sc->data = AS_STR(src)->data;
            sc->len = AS_STR(src)->len;
            return true;
        }
    }
    sc->missing = true;
    if (filename->len == 0 || filename->data[0] == '<') return false;
    FILE *fp = fopen(filename->data, "rb");
    if (!fp) return false;
    size_t cap = 4096, len = 0;
    char *buf = mem_alloc_raw(vm, cap);
    while (buf) {
        if (len == cap) {
            char *nb = mem_alloc_raw(vm, cap * 2);
            if (nb) memcpy(nb, buf, len);
            mem_free_raw(vm, buf, cap);
            buf = nb;
            cap *= 2;
            if (!buf) break;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        if (n == 0) break;
        len += n;
    }
    fclose(fp);
    if (!buf) return false;
    // Raw allocation: printing must work even when the memory limit is hit.
    sc->owned = buf;
    sc->owned_size = cap;
    sc->data = buf;
    sc->len = len;
    sc->missing = false;
    return true;
}

static void source_free(EddyVM *vm, SourceCache *sc) { source_cache_reset(vm, sc); }

// Line `lineno` (1-based) without its line ending; false if absent.
static bool source_line(const SourceCache *sc, uint32_t lineno, const char **out, size_t *len) {
    if (!sc->data || lineno == 0) return false;
    const char *p = sc->data, *end = sc->data + sc->len;
    for (uint32_t l = 1; l < lineno; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return false;
        p = nl + 1;
    }
    if (p >= end && lineno > 1) return false;
    const char *e = memchr(p, '\n', (size_t)(end - p));
    if (!e) e = end;
    if (e > p && e[-1] == '\r') e--;
    *out = p;
    *len = (size_t)(e - p);
    return true;
}

static size_t utf8_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) c++;
    return c;
}

static bool is_ident_byte(unsigned char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\f'; }

enum { PREC_OR = 1, PREC_XOR, PREC_AND, PREC_SHIFT, PREC_ARITH, PREC_TERM, PREC_POW };

// Locate the operator of a binary operation, or the brackets of a
// subscript, spanning the whole segment s[0..n) (CPython 3.11's anchors for
// BinOp and Subscript nodes). Byte offsets [*left, *right) within the
// segment. A small scanner stands in for the parser: the VM never parses.
static bool find_anchors(const char *s, size_t n, size_t *left, size_t *right) {
    static const char *const keywords[] = {"and", "or",  "not",   "if",    "else",  "lambda", "in",
                                           "is",  "for", "await", "yield", "async", NULL};
    int depth = 0;
    bool prev_operand = false, leading_unary = false, any_token = false;
    size_t best_pos = 0, best_len = 0;
    int best_prec = 0;
    size_t trailer_open = 0, last_open_top = (size_t)-1;
    bool trailer_pending = false, ends_with_subscript = false;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (is_space((char)c) || c == '\n' || c == '\r' || c == '\\') {
            i++;
            continue;
        }
        bool first = !any_token;
        any_token = true;
        if (depth == 0) ends_with_subscript = false;
        // Strings (with an optional prefix).
        size_t j = i;
        while (j < n && j - i < 2 && strchr("rRbBuUfF", s[j]) && s[j]) j++;
        if (j < n && (s[j] == '\'' || s[j] == '"') &&
            (j == i || !is_ident_byte((unsigned char)s[i]) || strchr("rRbBuUfF", s[i]))) {
            char q = s[j];
            bool triple = j + 2 < n && s[j + 1] == q && s[j + 2] == q;
            j += triple ? 3 : 1;
            while (j < n) {
                if (s[j] == '\\') {
                    j += 2;
                    continue;
                }
                if (s[j] == q) {
                    if (!triple) {
                        j++;
                        break;
                    }
                    if (j + 2 < n && s[j + 1] == q && s[j + 2] == q) {
                        j += 3;
                        break;
                    }
                }
                j++;
            }
            i = j;
            if (depth == 0) prev_operand = true;
            continue;
        }
        if ((c >= '0' && c <= '9') ||
            (c == '.' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')) {
            bool hex = c == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X');
            i++;
            while (i < n) {
                char d = s[i];
                if (is_ident_byte((unsigned char)d) || d == '.') {
                    i++;
                } else if ((d == '+' || d == '-') && !hex && (s[i - 1] == 'e' || s[i - 1] == 'E')) {
                    i++;
                } else {
                    break;
                }
            }
            if (depth == 0) prev_operand = true;
            continue;
        }
        if (is_ident_byte(c)) {
            size_t st = i;
            while (i < n && is_ident_byte((unsigned char)s[i])) i++;
            if (depth == 0) {
                for (int k = 0; keywords[k]; k++)
                    if (strlen(keywords[k]) == i - st && !memcmp(keywords[k], s + st, i - st))
                        return false;
                prev_operand = true;
            }
            continue;
        }
        if (c == '(' || c == '[' || c == '{') {
            if (depth == 0 && c == '[' && prev_operand) {
                trailer_open = i;
                trailer_pending = true;
            } else if (depth == 0) {
                trailer_pending = false;
            }
            if (depth == 0) last_open_top = i;
            depth++;
            i++;
            continue;
        }
        if (c == ')' || c == ']' || c == '}') {
            depth--;
            i++;
            if (depth < 0) return false;
            if (depth == 0) {
                prev_operand = true;
                ends_with_subscript = c == ']' && trailer_pending && last_open_top == trailer_open;
                trailer_pending = false;
            }
            continue;
        }
        if (depth > 0) {
            i++;
            continue;
        }
        if (c == '#') return false;
        // Operators at the top level.
        size_t len = 1;
        int prec = 0;
        char c2 = i + 1 < n ? s[i + 1] : 0;
        switch (c) {
        case '*':
            if (c2 == '*')
                len = 2, prec = PREC_POW;
            else
                prec = PREC_TERM;
            break;
        case '/':
            if (c2 == '/') len = 2;
            prec = PREC_TERM;
            break;
        case '%':
        case '@': prec = PREC_TERM; break;
        case '+':
        case '-':
            if (c == '-' && c2 == '>') return false;
            prec = PREC_ARITH;
            break;
        case '<':
        case '>':
            if (c2 == c)
                len = 2, prec = PREC_SHIFT;
            else
                return false; // comparison
            break;
        case '&': prec = PREC_AND; break;
        case '^': prec = PREC_XOR; break;
        case '|': prec = PREC_OR; break;
        case '~': prec = 0; break;
        case '.':
            prev_operand = false;
            i++;
            continue;
        default: return false; // = , : ; ! and anything else: not a lone BinOp/Subscript
        }
        if (c2 == '=' && len == 1 && c != '~') return false; // augmented assignment
        if (prec && prev_operand) {
            bool better = !best_prec || prec < best_prec || (prec == best_prec && prec != PREC_POW);
            if (better) {
                best_prec = prec;
                best_pos = i;
                best_len = len;
            }
        } else if (c == '+' || c == '-' || c == '~') {
            if (first) leading_unary = true;
        } else {
            return false;
        }
        prev_operand = false;
        i += len;
    }
    if (depth != 0) return false;
    if (best_prec) {
        // `-x ** 2` is a unary minus applied to a power.
        if (leading_unary && best_prec == PREC_POW) return false;
        *left = best_pos;
        *right = best_pos + best_len;
        return true;
    }
    if (ends_with_subscript && !leading_unary) {
        *left = trailer_open;
        *right = n;
        while (*right > 0 && (is_space(s[*right - 1]) || s[*right - 1] == '\n')) (*right)--;
        return true;
    }
    return false;
}

static void print_spaces(FILE *out, size_t n) {
    for (size_t i = 0; i < n; i++) fputc(' ', out);
}

// One "  File ..., line N, in name" entry with its source line and carets,
// each line starting with `prefix` (the indent and margin of an exception
// inside a group, else "").
static void print_tb_entry(EddyVM *vm, FILE *out, SourceCache *sc, CodeObject *code, uint32_t pc,
                           const char *prefix) {
    const LineEntry *loc = code_location_of(code, pc);
    uint32_t lineno = loc ? loc->line : 0;
    const char *fname = code->filename ? code->filename->data : "<unknown>";
    const char *name = code->name ? code->name->data : "<unknown>";
    fprintf(out, "%s  File \"%s\", line %u, in %s\n", prefix, fname, lineno, name);
    if (!code->filename || !lineno || !source_load(vm, sc, code->filename)) return;
    const char *line;
    size_t len;
    if (!source_line(sc, lineno, &line, &len)) return;
    size_t indent = 0;
    while (indent < len && is_space(line[indent])) indent++;
    if (indent == len) return; // blank line: CPython prints nothing
    fputs(prefix, out);
    fputs("    ", out);
    fwrite(line + indent, 1, len - indent, out);
    fputc('\n', out);

    if (loc->end_line < loc->line) return;
    if (loc->end_line == loc->line && loc->col == 0 && loc->end_col == 0) return; // no columns
    size_t col = loc->col < len ? loc->col : len;
    size_t end_col;
    bool anchors = false;
    size_t left = 0, right = 0;
    if (loc->end_line == loc->line) {
        end_col = loc->end_col < len ? loc->end_col : len;
        if (end_col < col) return;
        anchors = find_anchors(line + col, end_col - col, &left, &right);
    } else {
        // Multi-line: highlight to the last non-blank character of the first line.
        end_col = len;
        while (end_col > col && (is_space(line[end_col - 1]) || line[end_col - 1] == '\n'))
            end_col--;
    }
    size_t start_c = utf8_chars(line, col);
    size_t end_c = utf8_chars(line, end_col);
    size_t stripped_len = utf8_chars(line, len) - indent;
    if (!anchors && end_c - start_c == stripped_len) return;
    if (start_c < indent) start_c = indent;
    size_t left_c = anchors ? utf8_chars(line, col + left) : 0;
    size_t right_c = anchors ? utf8_chars(line, col + right) : 0;
    fputs(prefix, out);
    fputs("    ", out);
    print_spaces(out, start_c - indent);
    for (size_t i = start_c; i < end_c; i++) {
        char ch = '^';
        if (anchors && (i < left_c || i >= right_c)) ch = '~';
        fputc(ch, out);
    }
    fputc('\n', out);
}

void vm_print_source_line(EddyVM *vm, FILE *out, StrObject *filename, uint32_t lineno,
                          const char *prefix) {
    if (!filename || !lineno) return;
    SourceCache sc;
    memset(&sc, 0, sizeof sc);
    const char *line;
    size_t len;
    if (source_load(vm, &sc, filename) && source_line(&sc, lineno, &line, &len)) {
        // The warnings module prints line.strip().
        while (len > 0 && (is_space(*line) || *line == '\r')) line++, len--;
        while (len > 0 && (is_space(line[len - 1]) || line[len - 1] == '\r')) len--;
        if (len > 0) {
            fputs(prefix, out);
            fwrite(line, 1, len, out);
            fputc('\n', out);
        }
    }
    source_free(vm, &sc);
}

// ---------------------------------------------------------------------------
// Captured stacks (coroutine.cr_origin, asyncio debug mode)

size_t vm_capture_stack(EddyVM *vm, Frame *from, StackEntry *out, size_t max) {
    size_t n = 0;
    for (Frame *f = from ? from : vm_current_frame(vm); f && n < max; f = f->prev) {
        CodeObject *code = f->code;
        // instr is the instruction each frame is executing (a caller's CALL
        // or SEND): synced before anything that can run native code.
        uint32_t pc = 0;
        if (f->instr && f->instr >= code->code && f->instr < code->code + code->ncode)
            pc = (uint32_t)(f->instr - code->code);
        if (out) out[n] = (StackEntry){code, pc};
        n++;
    }
    return n;
}

// Line `lineno` of the cached file, stripped as str.strip() does; false if
// there is none.
static bool source_line_stripped(EddyVM *vm, SourceCache *sc, StrObject *filename, uint32_t lineno,
                                 const char **out, size_t *len) {
    if (!filename || !lineno || !source_load(vm, sc, filename) ||
        !source_line(sc, lineno, out, len))
        return false;
    const char *line = *out;
    size_t n = *len;
    while (n > 0 && (is_space(*line) || *line == '\r')) line++, n--;
    while (n > 0 && (is_space(line[n - 1]) || line[n - 1] == '\r')) n--;
    *out = line;
    *len = n;
    return true;
}

ListObject *vm_stack_summary(EddyVM *vm, const StackEntry *stack, size_t n) {
    // Allocation never collects, so nothing here needs rooting.
    ListObject *l = list_new(vm, n);
    if (!l) return NULL;
    SourceCache sc;
    memset(&sc, 0, sizeof sc);
    for (size_t i = n; i-- > 0;) {
        CodeObject *code = stack[i].code;
        uint32_t lineno = code_line_of(code, stack[i].pc);
        const char *text = "";
        size_t len = 0;
        source_line_stripped(vm, &sc, code->filename, lineno, &text, &len);
        StrObject *line = str_new(vm, text, len);
        Value items[4] = {code->filename ? v_obj(code->filename) : VAL_NONE, v_int(lineno),
                          code->name ? v_obj(code->name) : VAL_NONE, line ? v_obj(line) : VAL_NULL};
        TupleObject *t = line ? tuple_from(vm, items, 4) : NULL;
        if (!t || list_append(vm, l, v_obj(t)) < 0) {
            l = NULL;
            break;
        }
    }
    source_free(vm, &sc);
    return l;
}

// One item of a stack summary as (filename, lineno, name, line), unpacked
// the way `filename, lineno, name, line = frame` does. 0 / -1.
static int summary_item(EddyVM *vm, Value item, Value out[4]) {
    if (!is_exact(item, vm->t_tuple) && !is_exact(item, vm->t_list)) {
        vm_raise(vm, vm->exc_TypeError, "cannot unpack non-iterable %s object",
                 vm_type_name(vm, item));
        return -1;
    }
    bool tuple = is_exact(item, vm->t_tuple);
    size_t n = tuple ? ((TupleObject *)AS_OBJ(item))->len : ((ListObject *)AS_OBJ(item))->len;
    Value *items =
        tuple ? ((TupleObject *)AS_OBJ(item))->items : ((ListObject *)AS_OBJ(item))->items;
    if (n != 4) {
        if (n > 4)
            vm_raise(vm, vm->exc_ValueError, "too many values to unpack (expected 4)");
        else
            vm_raise(vm, vm->exc_ValueError, "not enough values to unpack (expected 4, got %zu)",
                     n);
        return -1;
    }
    memcpy(out, items, 4 * sizeof(Value));
    return 0;
}

int vm_format_stack_summary(EddyVM *vm, StrBuf *b, ListObject *summary) {
    // traceback.StackSummary.format(): "[Previous line repeated N more
    // times]" replaces the fourth and later repeats of the same entry.
    SourceCache sc;
    memset(&sc, 0, sizeof sc);
    StrObject *last = NULL; // the previous entry's "File" line
    long count = 0;
    int rc = -1;
    if (vm_push_root(vm, v_obj(summary)) < 0) return -1;
    size_t roots = 1;
    for (size_t i = 0; i < summary->len; i++) {
        Value it[4];
        if (summary_item(vm, summary->items[i], it) < 0) goto done;
        Value file = vm_str(vm, it[0]);
        if (IS_NULL(file) || vm_push_root(vm, file) < 0) goto done;
        roots++;
        Value lineno = vm_str(vm, it[1]);
        if (IS_NULL(lineno) || vm_push_root(vm, lineno) < 0) goto done;
        roots++;
        Value name = vm_str(vm, it[2]);
        if (IS_NULL(name)) goto done;
        StrObject *head = str_format(vm, "  File \"%U\", line %U, in %U\n", AS_STR(file),
                                     AS_STR(lineno), AS_STR(name));
        vm_pop_roots(vm, 2);
        roots -= 2;
        if (!head) goto done;
        if (!last || !str_eq(last, head)) {
            if (count > TB_RECURSIVE_CUTOFF) {
                long more = count - TB_RECURSIVE_CUTOFF;
                strbuf_printf(b, "  [Previous line repeated %ld more time%s]\n", more,
                              more > 1 ? "s" : "");
            }
            if (last) vm_pop_roots(vm, 1), roots--;
            last = head;
            if (vm_push_root(vm, v_obj(head)) < 0) goto done;
            roots++;
            count = 0;
        }
        if (++count > TB_RECURSIVE_CUTOFF) continue;
        strbuf_append_str(b, head);
        // The line as given; None means "look it up" (FrameSummary.line).
        const char *text = NULL;
        size_t len = 0;
        if (IS_NONE(it[3])) {
            int64_t ln = IS_INT(it[1]) ? AS_INT(it[1]) : 0;
            if (is_str(vm, it[0]) && ln > 0 && ln <= UINT32_MAX)
                source_line_stripped(vm, &sc, AS_STR(it[0]), (uint32_t)ln, &text, &len);
        } else {
            Value line = vm_str(vm, it[3]);
            if (IS_NULL(line)) goto done;
            text = AS_STR(line)->data;
            len = AS_STR(line)->len;
            while (len > 0 && (is_space(*text) || *text == '\r' || *text == '\n')) text++, len--;
            while (len > 0 &&
                   (is_space(text[len - 1]) || text[len - 1] == '\r' || text[len - 1] == '\n'))
                len--;
        }
        if (len) {
            strbuf_append_cstr(b, "    ");
            strbuf_append(b, text, len);
            strbuf_append_char(b, '\n');
        }
    }
    if (count > TB_RECURSIVE_CUTOFF) {
        long more = count - TB_RECURSIVE_CUTOFF;
        strbuf_printf(b, "  [Previous line repeated %ld more time%s]\n", more, more > 1 ? "s" : "");
    }
    rc = b->failed ? -1 : 0;
done:
    vm_pop_roots(vm, roots);
    source_free(vm, &sc);
    return rc;
}

// The traceback under `header`; the entries start with `prefix`, but the
// "[Previous line repeated ...]" lines do not (as in CPython 3.11).
static void print_traceback(EddyVM *vm, FILE *out, TracebackObject *tb, const char *header,
                            const char *prefix) {
    size_t depth = 0;
    for (TracebackObject *t = tb; t; t = t->next) depth++;
    while (tb && depth > TB_LIMIT) {
        depth--;
        tb = tb->next;
    }
    fputs(header, out);
    SourceCache sc;
    memset(&sc, 0, sizeof sc);
    StrObject *last_file = NULL, *last_name = NULL;
    uint32_t last_line = 0;
    bool have_last = false;
    long cnt = 0;
    for (; tb; tb = tb->next) {
        CodeObject *code = tb->code;
        uint32_t line = code_line_of(code, tb->pc);
        bool same = have_last && last_line == line &&
                    ((last_file && code->filename && str_eq(last_file, code->filename)) ||
                     (!last_file && !code->filename)) &&
                    ((last_name && code->name && str_eq(last_name, code->name)) ||
                     (!last_name && !code->name));
        if (!same) {
            if (cnt > TB_RECURSIVE_CUTOFF) {
                long more = cnt - TB_RECURSIVE_CUTOFF;
                fprintf(out, "  [Previous line repeated %ld more time%s]\n", more,
                        more > 1 ? "s" : "");
            }
            last_file = code->filename;
            last_name = code->name;
            last_line = line;
            have_last = true;
            cnt = 0;
        }
        cnt++;
        if (cnt <= TB_RECURSIVE_CUTOFF) print_tb_entry(vm, out, &sc, code, tb->pc, prefix);
    }
    if (cnt > TB_RECURSIVE_CUTOFF) {
        long more = cnt - TB_RECURSIVE_CUTOFF;
        fprintf(out, "  [Previous line repeated %ld more time%s]\n", more, more > 1 ? "s" : "");
    }
    source_free(vm, &sc);
}

// An attribute of exc as a Value (V_NULL if absent; errors swallowed).
static Value exc_attr(EddyVM *vm, Value exc, const char *name) {
    StrObject *s = str_intern_cstr(vm, name);
    if (!s) {
        vm_err_clear(vm);
        return VAL_NULL;
    }
    Value v;
    int r = vm_getattr_opt(vm, exc, s, &v);
    if (r <= 0) {
        vm_err_clear(vm);
        return VAL_NULL;
    }
    return v;
}

static int64_t int_attr(EddyVM *vm, Value exc, const char *name, int64_t dflt) {
    Value v = exc_attr(vm, exc, name);
    return IS_INT(v) ? AS_INT(v) : dflt;
}

// The "  File ..., line N\n    text\n    ^^^" block of a SyntaxError (CPython's
// print_error_text). Returns the message to print after "SyntaxError: ".
// Inside a group only the "File" line gets the margin (`prefix`), as in
// CPython 3.11.
static Value print_syntax_error(EddyVM *vm, FILE *out, Value exc, const char *prefix) {
    Value msg = exc_attr(vm, exc, "msg");
    Value filename, text;
    int64_t lineno, offset, end_lineno, end_offset;
    if (!IS_NULL(msg)) {
        filename = exc_attr(vm, exc, "filename");
        lineno = int_attr(vm, exc, "lineno", 0);
        offset = int_attr(vm, exc, "offset", -1);
        end_lineno = int_attr(vm, exc, "end_lineno", lineno);
        end_offset = int_attr(vm, exc, "end_offset", -1);
        text = exc_attr(vm, exc, "text");
    } else {
        // No attributes: SyntaxError(msg, (filename, lineno, offset, text,
        // end_lineno, end_offset)) as CPython's constructor takes them.
        TupleObject *a = ((ExceptionObject *)AS_OBJ(exc))->args;
        if (!a || a->len < 2 || !is_exact(a->items[1], vm->t_tuple)) return VAL_NULL;
        TupleObject *d = AS_TUPLE(a->items[1]);
        if (d->len < 4) return VAL_NULL;
        msg = a->items[0];
        filename = d->items[0];
        lineno = IS_INT(d->items[1]) ? AS_INT(d->items[1]) : 0;
        offset = IS_INT(d->items[2]) ? AS_INT(d->items[2]) : -1;
        text = d->items[3];
        end_lineno = d->len > 4 && IS_INT(d->items[4]) ? AS_INT(d->items[4]) : lineno;
        end_offset = d->len > 5 && IS_INT(d->items[5]) ? AS_INT(d->items[5]) : -1;
    }
    // CPython uses the end position for SyntaxError itself only; its
    // subclasses (IndentationError, TabError) get a single caret.
    if (vm_type_of(vm, exc) != vm->exc_SyntaxError) {
        end_lineno = lineno;
        end_offset = -1;
    }
    if (vm_push_root(vm, msg) < 0) {
        vm_err_clear(vm);
        return VAL_NULL;
    }
    fprintf(out, "%s  File \"%s\", line %lld\n", prefix,
            is_str(vm, filename) ? AS_STR(filename)->data : "<string>", (long long)lineno);
    if (is_str(vm, text)) {
        const char *t = AS_STR(text)->data;
        int64_t line_size = (int64_t)AS_STR(text)->len;
        if (end_lineno > lineno) end_offset = line_size;
        if (end_offset > line_size + 1) end_offset = line_size + 1;
        int64_t carets = (end_offset > 0 && end_offset > offset) ? end_offset - offset : 1;
        offset--;
        while (*t == ' ' || *t == '\t' || *t == '\f') {
            t++;
            offset--;
        }
        int64_t len = (int64_t)strlen(t);
        if (len > 0 && t[len - 1] == '\n') len--;
        if (offset > len) offset = len;
        for (;;) {
            const char *nl = strchr(t, '\n');
            if (!nl) break;
            int64_t inl = nl - t;
            if (inl >= offset) break;
            inl++;
            t += inl;
            len -= inl;
            offset -= inl;
        }
        fputs("    ", out);
        fputs(t, out);
        if (t[len] != '\n') fputc('\n', out);
        if (offset >= 0) {
            fputs("    ", out);
            print_spaces(out, (size_t)offset);
            for (int64_t k = 0; k < carets; k++) fputc('^', out);
            fputc('\n', out);
        }
    }
    vm_pop_roots(vm, 1);
    return msg;
}

// One exception without its chain: traceback, then "Type: message", notes.

// ---------------------------------------------------------------------------
// "Did you mean" suggestions, with CPython 3.11's costs and limits so the
// same typo gets the same hint.

enum { SUGGEST_MAX_ITEMS = 750, SUGGEST_MAX_LEN = 40, MOVE_COST = 2, CASE_COST = 1 };

static size_t substitution_cost(char a, char b) {
    if ((a & 31) != (b & 31)) return MOVE_COST;
    if (a == b) return 0;
    if (a >= 'A' && a <= 'Z') a += 'a' - 'A';
    if (b >= 'A' && b <= 'Z') b += 'a' - 'A';
    return a == b ? CASE_COST : MOVE_COST;
}

static size_t levenshtein(const char *a, size_t na, const char *b, size_t nb, size_t max_cost) {
    // Common affixes cost nothing.
    while (na && nb && a[0] == b[0]) a++, b++, na--, nb--;
    while (na && nb && a[na - 1] == b[nb - 1]) na--, nb--;
    if (na == 0 || nb == 0) return (na + nb) * MOVE_COST;
    if (na > SUGGEST_MAX_LEN || nb > SUGGEST_MAX_LEN) return max_cost + 1;
    if (nb < na) {
        const char *t = a;
        a = b, b = t;
        size_t tn = na;
        na = nb, nb = tn;
    }
    if ((nb - na) * MOVE_COST > max_cost) return max_cost + 1;
    size_t row[SUGGEST_MAX_LEN];
    for (size_t i = 0; i < na; i++) row[i] = (i + 1) * MOVE_COST;
    size_t result = 0;
    for (size_t bi = 0; bi < nb; bi++) {
        size_t distance = result = bi * MOVE_COST;
        size_t minimum = SIZE_MAX;
        for (size_t i = 0; i < na; i++) {
            size_t substitute = distance + substitution_cost(b[bi], a[i]);
            distance = row[i];
            size_t insert_delete = (result < distance ? result : distance) + MOVE_COST;
            result = insert_delete < substitute ? insert_delete : substitute;
            row[i] = result;
            if (result < minimum) minimum = result;
        }
        if (minimum > max_cost) return max_cost + 1;
    }
    return result;
}

StrObject *error_suggest(StrObject *name, const Value *candidates, size_t n) {
    if (n >= SUGGEST_MAX_ITEMS) return NULL;
    StrObject *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!IS_OBJ(candidates[i]) || !(OBJ_TYPE(AS_OBJ(candidates[i]))->flags & TPF_STR_SUBCLASS))
            continue;
        StrObject *item = AS_STR(candidates[i]);
        if (str_eq(item, name)) continue;
        size_t max_distance = (name->len + item->len + 3) * MOVE_COST / 6;
        if (best_distance - 1 < max_distance) max_distance = best_distance - 1;
        size_t d = levenshtein(name->data, name->len, item->data, item->len, max_distance);
        if (d > max_distance) continue;
        if (!best || d < best_distance) {
            best = item;
            best_distance = d;
        }
    }
    return best;
}

// The keys of a dict as a candidate array (borrowed from the dict's entries
// through a scratch buffer of at most SUGGEST_MAX_ITEMS).
static StrObject *suggest_from_dict(StrObject *name, DictObject *d) {
    if (!d || d->len >= SUGGEST_MAX_ITEMS) return NULL;
    Value keys[SUGGEST_MAX_ITEMS];
    size_t n = 0, pos = 0;
    Value k, v;
    while (n < SUGGEST_MAX_ITEMS && dict_next(d, &pos, &k, &v)) keys[n++] = k;
    return error_suggest(name, keys, n);
}

Value vm_raise_name_error(EddyVM *vm, StrObject *name, struct Frame *frame) {
    vm_raise(vm, vm->exc_NameError, "name '%U' is not defined", name);
    Value exc = vm->exc;
    if (!is_exception(vm, exc)) return VAL_NULL;
    vm->exc = VAL_NULL;
    if (vm_setattr(vm, exc, vm->names.name, v_obj(name)) < 0) vm_err_clear(vm);
    // As CPython: the frame's local names, then its globals, then builtins.
    StrObject *s = NULL;
    if (frame && frame->code && frame->code->varnames)
        s = error_suggest(name, frame->code->varnames->items, frame->code->varnames->len);
    if (!s && frame) s = suggest_from_dict(name, frame->globals);
    if (!s && frame) s = suggest_from_dict(name, frame->builtins);
    if (s) ((ExceptionObject *)AS_OBJ(exc))->suggestion = v_obj(s);
    vm->exc = exc;
    return VAL_NULL;
}

// The hint for an AttributeError carrying `name` and `obj`: the closest name
// in dir(obj). NULL when there is none (errors are swallowed: printing a
// traceback must not fail).
static StrObject *attribute_suggestion(EddyVM *vm, Value exc) {
    ExceptionObject *e = (ExceptionObject *)AS_OBJ(exc);
    if (!e->dict) return NULL;
    Value name = dict_get_str(e->dict, vm->names.name);
    StrObject *objkey = str_intern_cstr(vm, "obj");
    if (!objkey) {
        vm_err_clear(vm);
        return NULL;
    }
    Value obj = dict_get_str(e->dict, objkey);
    if (!is_str(vm, name) || IS_NULL(obj)) return NULL;
    Value dir = dict_get_str(vm->builtins_dict, str_intern_cstr(vm, "dir"));
    if (IS_NULL(dir)) return NULL;
    Value names = vm_call1(vm, dir, obj);
    if (IS_NULL(names) || !is_exact(names, vm->t_list)) {
        vm_err_clear(vm);
        return NULL;
    }
    return error_suggest(AS_STR(name), AS_LIST(names)->items, AS_LIST(names)->len);
}

// State of one vm_print_exception(): where we are in the boxes drawn around
// the members of exception groups (CPython's exception_print_context).
typedef struct PrintCtx {
    FILE *out;
    int group_depth;  // 0 outside any group; each level indents by 2 and adds "| "
    bool need_close;  // the innermost open box still needs its bottom line
    int nesting;      // C recursion through chains and groups
    ListObject *seen; // exceptions already printed (chaining stops at them)
} PrintCtx;

enum { MAX_GROUP_WIDTH = 15, MAX_GROUP_DEPTH = 10, MAX_PRINT_NESTING = 256 };

// The indent and margin that start each line at the current depth.
static void line_prefix(const PrintCtx *ctx, char *buf, size_t size) {
    int indent = 2 * ctx->group_depth;
    if ((size_t)indent + 3 > size) indent = (int)size - 3;
    memset(buf, ' ', (size_t)indent);
    strcpy(buf + indent, ctx->group_depth ? "| " : "");
}

static void write_margin(const PrintCtx *ctx) {
    char prefix[64];
    line_prefix(ctx, prefix, sizeof prefix);
    fputs(prefix, ctx->out);
}

// A note, line by line behind the margin.
static void print_note(const PrintCtx *ctx, StrObject *s) {
    const char *p = s->data, *end = s->data + s->len;
    if (p == end) {
        fputc('\n', ctx->out);
        return;
    }
    do {
        const char *nl = p;
        while (nl < end && *nl != '\n' && *nl != '\r') nl++;
        if (nl < end) nl += (*nl == '\r' && nl + 1 < end && nl[1] == '\n') ? 2 : 1;
        write_margin(ctx);
        fwrite(p, 1, (size_t)(nl - p), ctx->out);
        p = nl;
    } while (p < end);
    fputc('\n', ctx->out);
}

static void print_notes(EddyVM *vm, const PrintCtx *ctx, Value notes) {
    FILE *out = ctx->out;
    if (IS_NULL(notes)) return;
    TypeObject *nt = vm_type_of(vm, notes);
    // Any sequence (even a str: one note per character) is a list of notes.
    bool sequence = (nt->flags & (TPF_LIST_SUBCLASS | TPF_TUPLE_SUBCLASS)) != 0;
    if (!sequence && nt->getitem && !(nt->flags & TPF_DICT_SUBCLASS)) {
        notes = vm_sequence_to_tuple(vm, notes);
        if (IS_NULL(notes) || vm_push_root(vm, notes) < 0) {
            vm_err_clear(vm);
            return;
        }
        print_notes(vm, ctx, notes);
        vm_pop_roots(vm, 1);
        return;
    }
    if (!sequence) {
        write_margin(ctx);
        Value r = vm_repr(vm, notes);
        if (is_str(vm, r)) {
            fwrite(AS_STR(r)->data, 1, AS_STR(r)->len, out);
        } else {
            vm_err_clear(vm);
            fputs("<__notes__ repr() failed>", out);
        }
        fputc('\n', out);
        return;
    }
    // Re-read the length each time: a note's __str__ may change the list.
    for (size_t i = 0;; i++) {
        size_t len = (nt->flags & TPF_LIST_SUBCLASS) ? AS_LIST(notes)->len : AS_TUPLE(notes)->len;
        if (i >= len) break;
        Value n =
            (nt->flags & TPF_LIST_SUBCLASS) ? AS_LIST(notes)->items[i] : AS_TUPLE(notes)->items[i];
        Value s = is_str(vm, n) ? n : vm_str(vm, n);
        if (IS_NULL(s) || !is_str(vm, s)) {
            vm_err_clear(vm);
            fputs("<note str() failed>\n", out);
            continue;
        }
        print_note(ctx, AS_STR(s));
    }
}

// How an exception's type is named on its last traceback line: the module
// (NULL for builtins and __main__) and the qualified name.
static const char *exc_type_module(TypeObject *t) {
    if (!t->module) return "<unknown>";
    const char *m = t->module->data;
    return strcmp(m, "builtins") == 0 || strcmp(m, "__main__") == 0 ? NULL : m;
}
static const char *exc_type_qualname(TypeObject *t) {
    StrObject *qn = t->qualname ? t->qualname : t->name;
    return qn ? qn->data : "<unknown>";
}

void vm_format_exception_only(EddyVM *vm, StrBuf *b, Value exc) {
    TypeObject *t = vm_type_of(vm, exc);
    const char *module = exc_type_module(t);
    if (module) strbuf_printf(b, "%s.", module);
    strbuf_append_cstr(b, exc_type_qualname(t));
    Value s = vm_str(vm, exc);
    if (IS_NULL(s) || !is_str(vm, s)) {
        vm_err_clear(vm);
        strbuf_append_cstr(b, ": <exception str() failed>");
    } else if (AS_STR(s)->len > 0) {
        strbuf_append_cstr(b, ": ");
        strbuf_append_str(b, AS_STR(s));
    }
}

// One exception: its traceback, the "Type: message" line and its notes.
static void print_one(EddyVM *vm, PrintCtx *ctx, Value exc) {
    FILE *out = ctx->out;
    ExceptionObject *e = (ExceptionObject *)AS_OBJ(exc);
    TypeObject *t = vm_type_of(vm, exc);
    char prefix[64];
    line_prefix(ctx, prefix, sizeof prefix);
    if (is_exact(e->traceback, vm->t_traceback)) {
        bool group = type_is_subtype(t, vm->exc_BaseExceptionGroup);
        char header[128];
        snprintf(header, sizeof header, "%.*s%s%s", 2 * ctx->group_depth, prefix,
                 !ctx->group_depth                ? ""
                 : group && ctx->group_depth == 1 ? "+ "
                                                  : "| ",
                 group ? "Exception Group Traceback (most recent call last):\n"
                       : "Traceback (most recent call last):\n");
        print_traceback(vm, out, (TracebackObject *)AS_OBJ(e->traceback), header, prefix);
    }
    Value value = exc;
    if (type_is_subtype(t, vm->exc_SyntaxError)) {
        Value msg = print_syntax_error(vm, out, exc, prefix);
        if (!IS_NULL(msg)) value = msg;
    }
    fputs(prefix, out);
    const char *module = exc_type_module(t);
    if (module) fprintf(out, "%s.", module);
    fputs(exc_type_qualname(t), out);
    if (!IS_NONE(value)) {
        Value s = vm_str(vm, value);
        if (IS_NULL(s) || !is_str(vm, s)) {
            vm_err_clear(vm);
            fputs(": <exception str() failed>", out);
        } else if (AS_STR(s)->len > 0) {
            fputs(": ", out);
            fwrite(AS_STR(s)->data, 1, AS_STR(s)->len, out);
        }
    }
    StrObject *hint = NULL;
    if (type_is_subtype(t, vm->exc_NameError) && is_str(vm, e->suggestion))
        hint = AS_STR(e->suggestion);
    else if (type_is_subtype(t, vm->exc_AttributeError))
        hint = attribute_suggestion(vm, exc);
    if (hint) fprintf(out, ". Did you mean: '%s'?", hint->data);
    fputc('\n', out);
    print_notes(vm, ctx, e->notes);
}

static bool seen_before(PrintCtx *ctx, Value exc) {
    if (!ctx->seen) return false;
    for (size_t i = 0; i < ctx->seen->len; i++)
        if (v_is(ctx->seen->items[i], exc)) return true;
    return false;
}

static void print_recursive(EddyVM *vm, PrintCtx *ctx, Value exc);

// A cause or context, then the sentence that links it to what follows.
static void print_chained(EddyVM *vm, PrintCtx *ctx, Value exc, const char *message) {
    bool need_close = ctx->need_close;
    print_recursive(vm, ctx, exc);
    ctx->need_close = need_close;
    write_margin(ctx);
    fputc('\n', ctx->out);
    write_margin(ctx);
    fputs(message, ctx->out);
    write_margin(ctx);
    fputc('\n', ctx->out);
}

// A group: its own traceback and message, then each member in a numbered
// box; at most MAX_GROUP_WIDTH members and MAX_GROUP_DEPTH levels are shown.
static void print_group(EddyVM *vm, PrintCtx *ctx, Value exc) {
    FILE *out = ctx->out;
    if (ctx->group_depth > MAX_GROUP_DEPTH) {
        write_margin(ctx);
        fprintf(out, "... (max_group_depth is %d)\n", MAX_GROUP_DEPTH);
        return;
    }
    if (ctx->group_depth == 0) ctx->group_depth++;
    print_one(vm, ctx, exc);
    ExceptionObject *e = (ExceptionObject *)AS_OBJ(exc);
    Value excs = VAL_NULL;
    if (e->dict) {
        StrObject *k = str_intern_cstr(vm, "exceptions");
        if (k) excs = dict_get_str(e->dict, k);
        vm_err_clear(vm);
    }
    size_t count = 0;
    if (IS_OBJ(excs) && (OBJ_TYPE(AS_OBJ(excs))->flags & TPF_TUPLE_SUBCLASS))
        count = AS_TUPLE(excs)->len;
    size_t shown = count <= MAX_GROUP_WIDTH ? count : MAX_GROUP_WIDTH + 1;
    ctx->need_close = false;
    for (size_t i = 0; i < shown; i++) {
        bool last = i == shown - 1, truncated = i >= MAX_GROUP_WIDTH;
        if (last) ctx->need_close = true; // a nested last group may close for us
        print_spaces(out, 2 * (size_t)ctx->group_depth);
        if (truncated)
            fprintf(out, "%s+---------------- ... ----------------\n", i == 0 ? "+-" : "  ");
        else
            fprintf(out, "%s+---------------- %zu ----------------\n", i == 0 ? "+-" : "  ", i + 1);
        ctx->group_depth++;
        if (!truncated) {
            print_recursive(vm, ctx, AS_TUPLE(excs)->items[i]);
        } else {
            size_t more = count - MAX_GROUP_WIDTH;
            write_margin(ctx);
            fprintf(out, "and %zu more exception%s\n", more, more > 1 ? "s" : "");
        }
        if (last && ctx->need_close) {
            print_spaces(out, 2 * (size_t)ctx->group_depth);
            fputs("+------------------------------------\n", out);
            ctx->need_close = false;
        }
        ctx->group_depth--;
    }
    if (ctx->group_depth == 1) ctx->group_depth--;
}

// exc after its cause or (unsuppressed) context, each printed only once.
static void print_recursive(EddyVM *vm, PrintCtx *ctx, Value exc) {
    if (!is_exception(vm, exc)) {
        write_margin(ctx);
        fprintf(ctx->out, "TypeError: print_exception(): Exception expected for value, %s found\n",
                vm_type_name(vm, exc));
        return;
    }
    ctx->nesting++;
    ExceptionObject *e = (ExceptionObject *)AS_OBJ(exc);
    if (ctx->seen && list_append(vm, ctx->seen, exc) < 0) {
        vm_err_clear(vm);
        ctx->seen = NULL; // out of memory: print without chaining
    }
    // Past MAX_PRINT_NESTING links the older part of a chain is left out.
    if (ctx->seen && ctx->nesting < MAX_PRINT_NESTING) {
        if (!is_none_or_null(e->cause)) {
            if (is_exception(vm, e->cause) && !seen_before(ctx, e->cause))
                print_chained(vm, ctx, e->cause,
                              "The above exception was the direct cause of the following "
                              "exception:\n");
        } else if (!is_none_or_null(e->context) && !e->suppress_context) {
            if (is_exception(vm, e->context) && !seen_before(ctx, e->context))
                print_chained(vm, ctx, e->context,
                              "During handling of the above exception, another exception "
                              "occurred:\n");
        }
    }
    if (type_is_subtype(vm_type_of(vm, exc), vm->exc_BaseExceptionGroup))
        print_group(vm, ctx, exc);
    else
        print_one(vm, ctx, exc);
    ctx->nesting--;
}

void vm_print_exception(EddyVM *vm, Value exc, FILE *out) {
    if (!is_exception(vm, exc)) {
        fprintf(out, "TypeError: print_exception(): Exception expected for value, %s found\n",
                vm_type_name(vm, exc));
        return;
    }
    // Printing may run script code (__str__), so keep the state reachable
    // and set the pending exception aside.
    Value pending = vm->exc;
    vm->exc = VAL_NULL;
    size_t nroots = 0;
    if (vm_push_root(vm, exc) == 0) nroots++;
    if (vm_push_root(vm, pending) == 0) nroots++;
    vm_err_clear(vm);
    PrintCtx ctx = {out, 0, false, 0, list_new(vm, 0)};
    if (ctx.seen && vm_push_root(vm, v_obj(ctx.seen)) == 0)
        nroots++;
    else
        ctx.seen = NULL;
    vm_err_clear(vm);
    print_recursive(vm, &ctx, exc);
    fflush(out);
    vm_pop_roots(vm, nroots);
    vm->exc = pending;
}
