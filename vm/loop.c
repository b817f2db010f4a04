// loop.c - the event loop: ready queue, timer heap, poller, Handle objects.
//
// An iteration (run_once) does what CPython's BaseEventLoop._run_once does,
// in the same order, so programs interleave the same way:
//   1. wait for I/O or until the earliest timer is due (not at all when
//      something is ready or the loop is stopping);
//   2. move every due timer to the ready queue, in heap order (deadline
//      first; see the timer heap for ties);
//   3. run exactly the entries that are ready now; what they schedule runs
//      in the next iteration.
// The wait is an epoll_wait on a descriptor set that holds an eventfd, the
// wake-up channel for completions from other threads (DESIGN.md section 6).
#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "loop.h"

double loop_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

LoopObject *loop_get_running(EddyVM *vm) {
    if (!vm->running_loop) vm_raise(vm, vm->exc_RuntimeError, "no running event loop");
    return vm->running_loop;
}

// ---------------------------------------------------------------------------
// The ready queue: a ring buffer of ReadySlot

// Move the entries to a ring of cap (a power of two, >= ready_len). 0, or
// -1 out of memory with nothing raised.
static int ready_resize(EddyVM *vm, LoopObject *loop, size_t cap) {
    ReadySlot *r = mem_alloc_raw(vm, cap * sizeof(ReadySlot));
    if (!r) return -1;
    for (size_t i = 0; i < loop->ready_len; i++)
        r[i] = loop->ready[(loop->ready_head + i) & (loop->ready_cap - 1)];
    if (loop->ready) mem_free_raw(vm, loop->ready, loop->ready_cap * sizeof(ReadySlot));
    loop->ready = r;
    loop->ready_cap = cap;
    loop->ready_head = 0;
    return 0;
}

// After a burst (100k tasks created at once), give the memory back.
static void ready_shrink(EddyVM *vm, LoopObject *loop) {
    if (loop->ready_cap <= 1024 || loop->ready_len * 8 > loop->ready_cap) return;
    (void)ready_resize(vm, loop, loop->ready_cap / 4); // out of memory: keep the big one
}

_Static_assert(READY_STOP <= READY_KIND_MASK, "ReadyKind fits in a pointer's alignment bits");

int loop_schedule(EddyVM *vm, LoopObject *loop, uint32_t kind, Value a, Value b) {
    if (EDDY_UNLIKELY(!IS_OBJ(a))) {
        // Only a done callback can be any value (add_done_callback(5)): a
        // Handle then, as CPython queues, which fails when it runs.
        return loop_call_soon(vm, loop, a, &b, 1) ? 0 : -1;
    }
    if (loop->ready_len == loop->ready_cap &&
        ready_resize(vm, loop, loop->ready_cap ? loop->ready_cap * 2 : 64) < 0) {
        vm_raise_nomem(vm);
        return -1;
    }
    ReadySlot *e = &loop->ready[(loop->ready_head + loop->ready_len) & (loop->ready_cap - 1)];
    e->a_kind = (uintptr_t)AS_OBJ(a) | kind;
    e->b = IS_OBJ(b) ? AS_OBJ(b) : NULL; // (READY_HANDLE's None is unused)
    loop->ready_len++;
    return 0;
}

static inline Obj *slot_a(const ReadySlot *e) { return (Obj *)(e->a_kind & ~READY_KIND_MASK); }

static ReadyEntry ready_pop(LoopObject *loop) {
    ReadySlot *e = &loop->ready[loop->ready_head];
    ReadyEntry r = {(uint32_t)(e->a_kind & READY_KIND_MASK), v_obj(slot_a(e)),
                    e->b ? v_obj(e->b) : VAL_NULL};
    loop->ready_head = (loop->ready_head + 1) & (loop->ready_cap - 1);
    loop->ready_len--;
    return r;
}

// ---------------------------------------------------------------------------
// Timers: a binary min-heap keyed by the deadline only.
//
// CPython keeps TimerHandles in a heapq list compared by `when` alone, so
// timers with equal deadlines do NOT fire in scheduling order: they come out
// in whatever order heapq's sift-up/sift-down leave them. Programs print
// that order, so these are heapq's exact algorithms (push: append and sift
// towards the root; pop: move the last item to the root, walk the hole down
// along the smaller children to a leaf, then sift back up; heapify), and the
// loop drops cancelled timers by CPython's rule (run_once below).

static void heap_siftdown(TimerEntry *heap, size_t startpos, size_t pos) {
    TimerEntry item = heap[pos];
    while (pos > startpos) {
        size_t parent = (pos - 1) >> 1;
        if (!(item.when < heap[parent].when)) break;
        heap[pos] = heap[parent];
        pos = parent;
    }
    heap[pos] = item;
}

static void heap_siftup(TimerEntry *heap, size_t n, size_t pos) {
    size_t startpos = pos;
    TimerEntry item = heap[pos];
    size_t child = 2 * pos + 1;
    while (child < n) {
        size_t right = child + 1;
        if (right < n && !(heap[child].when < heap[right].when)) child = right;
        heap[pos] = heap[child];
        pos = child;
        child = 2 * pos + 1;
    }
    heap[pos] = item;
    heap_siftdown(heap, startpos, pos);
}

int loop_schedule_at(EddyVM *vm, LoopObject *loop, double when, uint32_t kind, Obj *obj) {
    if (loop->timers_len == loop->timers_cap) {
        size_t cap = loop->timers_cap ? loop->timers_cap * 2 : 32;
        TimerEntry *t = mem_realloc(vm, loop->timers, loop->timers_cap * sizeof(TimerEntry),
                                    cap * sizeof(TimerEntry));
        if (!t) return -1;
        loop->timers = t;
        loop->timers_cap = cap;
    }
    loop->timers[loop->timers_len] = (TimerEntry){when, (uintptr_t)obj | kind};
    heap_siftdown(loop->timers, 0, loop->timers_len++);
    if (kind == READY_HANDLE) ((HandleObject *)obj)->scheduled = true;
    return 0;
}

static TimerEntry timer_pop(LoopObject *loop) {
    TimerEntry last = loop->timers[--loop->timers_len];
    if (loop->timers_len == 0) return last;
    TimerEntry top = loop->timers[0];
    loop->timers[0] = last;
    heap_siftup(loop->timers, loop->timers_len, 0);
    return top;
}

// A timer that will never run: a cancelled TimerHandle, or the timer of a
// sleep whose future is no longer pending (its task was cancelled).
static bool timer_cancelled(const TimerEntry *t) {
    if (timer_kind(t) == READY_HANDLE) return ((HandleObject *)timer_obj(t))->cancelled;
    return sleep_timer_cancelled(v_obj(timer_obj(t)));
}

static void timer_unscheduled(TimerEntry *t) {
    if (timer_kind(t) == READY_HANDLE)
        ((HandleObject *)timer_obj(t))->scheduled = false;
    else
        sleep_timer_unscheduled(v_obj(timer_obj(t)));
}

// CPython's rule: with more than 100 timers of which over half are
// cancelled, rebuild the heap without them (heapify); otherwise pop the
// cancelled ones off the top.
static void drop_cancelled_timers(LoopObject *loop) {
    size_t n = loop->timers_len;
    if (n > 100 && (double)loop->timers_cancelled / (double)n > 0.5) {
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            if (timer_cancelled(&loop->timers[i]))
                timer_unscheduled(&loop->timers[i]);
            else
                loop->timers[j++] = loop->timers[i];
        }
        loop->timers_len = j;
        for (size_t i = j / 2; i-- > 0;) heap_siftup(loop->timers, j, i);
        loop->timers_cancelled = 0;
        return;
    }
    while (loop->timers_len && timer_cancelled(&loop->timers[0])) {
        if (loop->timers_cancelled) loop->timers_cancelled--;
        TimerEntry t = timer_pop(loop);
        timer_unscheduled(&t);
    }
}

// ---------------------------------------------------------------------------
// The poller

static int poller_open(EddyVM *vm, LoopObject *loop) {
    (void)vm;
    if (loop->epoll_fd >= 0) return 0;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll_fd < 0) return 0; // fall back to sleeping
    loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data = {.fd = loop->wake_fd}};
        if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0) {
            close(loop->wake_fd);
            loop->wake_fd = -1;
        }
    }
    return 0;
}

static void poller_close(LoopObject *loop) {
    if (loop->wake_fd >= 0) close(loop->wake_fd);
    if (loop->epoll_fd >= 0) close(loop->epoll_fd);
    loop->wake_fd = loop->epoll_fd = -1;
}

// Wait up to `timeout` seconds (< 0: forever). -1 only for KeyboardInterrupt.
static int poller_wait(EddyVM *vm, LoopObject *loop, double timeout) {
    // Nothing to wait for and nothing registered but the wake-up channel
    // (which nothing writes to yet: Eddy has no threads feeding the loop):
    // skip the system call that CPython's select(0) would make.
    bool skip = timeout == 0 && loop->io_count == 0;
    if (skip) {
        // (no system call)
    } else if (loop->epoll_fd >= 0) {
        int ms = timeout < 0 ? -1 : timeout > 86400.0 ? 86400000 : (int)ceil(timeout * 1e3);
        struct epoll_event events[16];
        int n = epoll_wait(loop->epoll_fd, events, 16, ms);
        if (n < 0 && errno != EINTR) return 0;
        for (int i = 0; i < n; i++) {
            if (events[i].data.fd == loop->wake_fd) {
                uint64_t count;
                ssize_t r = read(loop->wake_fd, &count, sizeof count);
                (void)r;
            }
        }
    } else if (timeout != 0) {
        struct timespec ts;
        double t = timeout < 0 ? 86400.0 : timeout;
        ts.tv_sec = (time_t)t;
        ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
    }
    if (vm->interrupt) {
        vm->interrupt = 0;
        vm_raise_value(vm, v_obj(vm->exc_KeyboardInterrupt));
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Debug mode: creation stacks (CPython's _source_traceback)
//
// A future, task or handle created while its loop is in debug mode
// remembers the stack that created it. The stacks live in a side table keyed
// by the object (open addressing, linear probing, backward-shift deletion)
// rather than in a field of every object: with debug mode off the table is
// empty, and the only cost is one test in the finalizers.

typedef struct SourceTraceback {
    Obj *owner;         // NULL: a free slot
    StackEntry *frames; // innermost first (mem_alloc'ed)
    size_t n;
} SourceTraceback;

static size_t stb_home(Obj *o, size_t cap) {
    uint64_t h = (uint64_t)(uintptr_t)o * 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 32) & (cap - 1);
}

static SourceTraceback *stb_find(EddyVM *vm, Obj *o) {
    if (EDDY_LIKELY(vm->source_tbs_len == 0)) return NULL;
    size_t mask = vm->source_tbs_cap - 1;
    for (size_t i = stb_home(o, vm->source_tbs_cap);; i = (i + 1) & mask) {
        SourceTraceback *e = &vm->source_tbs[i];
        if (e->owner == o) return e;
        if (!e->owner) return NULL;
    }
}

// Keep the table at most half full. 0 / -1 out of memory (nothing raised:
// a raised MemoryError would also ask for a collection at the next safe
// point, and near a memory limit every new future would then collect).
static int stb_reserve(EddyVM *vm) {
    if ((vm->source_tbs_len + 1) * 2 <= vm->source_tbs_cap) return 0;
    size_t cap = vm->source_tbs_cap ? vm->source_tbs_cap * 2 : 64;
    SourceTraceback *t = mem_alloc_raw(vm, cap * sizeof *t);
    if (!t) return -1;
    memset(t, 0, cap * sizeof *t);
    for (size_t i = 0; i < vm->source_tbs_cap; i++) {
        SourceTraceback *e = &vm->source_tbs[i];
        if (!e->owner) continue;
        size_t j = stb_home(e->owner, cap);
        while (t[j].owner) j = (j + 1) & (cap - 1);
        t[j] = *e;
    }
    if (vm->source_tbs) mem_free_raw(vm, vm->source_tbs, vm->source_tbs_cap * sizeof *t);
    vm->source_tbs = t;
    vm->source_tbs_cap = cap;
    return 0;
}

void loop_forget_source_tb_slow(EddyVM *vm, Obj *o) {
    SourceTraceback *e = stb_find(vm, o);
    if (!e) return;
    mem_free(vm, e->frames, e->n * sizeof(StackEntry));
    vm->source_tbs_len--;
    // Move each later entry of the probe run into the hole unless its home
    // slot lies cyclically after the hole (then it must stay where it is).
    size_t mask = vm->source_tbs_cap - 1;
    size_t hole = (size_t)(e - vm->source_tbs);
    for (size_t j = (hole + 1) & mask; vm->source_tbs[j].owner; j = (j + 1) & mask) {
        size_t home = stb_home(vm->source_tbs[j].owner, vm->source_tbs_cap);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            vm->source_tbs[hole] = vm->source_tbs[j];
            hole = j;
        }
    }
    vm->source_tbs[hole].owner = NULL;
}

void loop_record_source_tb(EddyVM *vm, Obj *o, size_t limit) {
    loop_forget_source_tb(vm, o); // Future.__init__ may run again
    size_t n = vm_capture_stack(vm, NULL, NULL, limit);
    if (n == 0) return;
    StackEntry *frames = NULL;
    if (stb_reserve(vm) < 0 || !(frames = mem_alloc_raw(vm, n * sizeof *frames)))
        return; // only a diagnostic
    vm_capture_stack(vm, NULL, frames, n);
    size_t mask = vm->source_tbs_cap - 1;
    size_t i = stb_home(o, vm->source_tbs_cap);
    while (vm->source_tbs[i].owner) i = (i + 1) & mask;
    vm->source_tbs[i] = (SourceTraceback){o, frames, n};
    vm->source_tbs_len++;
}

Value loop_source_tb(EddyVM *vm, Obj *o) {
    SourceTraceback *e = stb_find(vm, o);
    if (!e) return VAL_NONE;
    ListObject *l = vm_stack_summary(vm, e->frames, e->n);
    return l ? v_obj(l) : VAL_NULL;
}

void loop_append_created_at(EddyVM *vm, StrBuf *b, Obj *o) {
    SourceTraceback *e = stb_find(vm, o);
    if (!e) return;
    CodeObject *code = e->frames[0].code;
    strbuf_printf(b, " created at %s:%u", code->filename ? code->filename->data : "None",
                  (unsigned)code_line_of(code, e->frames[0].pc));
}

// o._source_traceback (Future, Task, Handle).
static Value get_source_traceback(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    return loop_source_tb(vm, AS_OBJ(args[0]));
}

// ---------------------------------------------------------------------------
// Errors in callbacks

static bool is_fatal(EddyVM *vm, Value exc) {
    TypeObject *t = vm_type_of(vm, exc);
    return type_is_subtype(t, vm->exc_SystemExit) || type_is_subtype(t, vm->exc_KeyboardInterrupt);
}

int loop_write(EddyVM *vm, Value file, StrObject *s) {
    if (IS_NULL(file) || IS_NONE(file)) {
        StrObject *name = str_intern_cstr(vm, "stderr");
        if (!name) return -1;
        file = dict_get_str(vm->sys->dict, name);
        if (IS_NULL(file) || IS_NONE(file)) return 0; // no sys.stderr: nowhere to write
    }
    StrObject *write = str_intern_cstr(vm, "write");
    Value arg = v_obj(s);
    return write && !IS_NULL(vm_call_method(vm, file, write, &arg, 1)) ? 0 : -1;
}

// A creation stack in the handler's report: the header, then the stack as
// traceback.format_list() prints it, trailing whitespace stripped. 0 / -1.
static int append_creation_stack(EddyVM *vm, StrBuf *b, const char *header, ListObject *stack) {
    StrBuf tb;
    strbuf_init(vm, &tb);
    if (vm_format_stack_summary(vm, &tb, stack) < 0) {
        strbuf_discard(&tb);
        return -1;
    }
    while (tb.len && strchr(" \t\n\r\f\v", tb.data[tb.len - 1])) tb.len--;
    strbuf_append_cstr(b, header);
    strbuf_append(b, tb.data, tb.len);
    strbuf_discard(&tb);
    return 0;
}

// CPython's BaseEventLoop.default_exception_handler: the message, then each
// other key of the context in sorted order as `key: repr(value)` (creation
// stacks formatted), then the exception's traceback.
static int default_exception_handler(EddyVM *vm, LoopObject *loop, DictObject *context) {
    // In debug mode, the creation stack of the handle running now, unless
    // the context has one of its own (CPython adds it to the dict too).
    if (loop && loop->current_handle &&
        IS_NULL(dict_get_str(context, str_intern_cstr(vm, "source_traceback")))) {
        Value tb = loop_source_tb(vm, &loop->current_handle->hdr);
        if (IS_NULL(tb)) return -1;
        if (!IS_NONE(tb) &&
            dict_set_str(vm, context, str_intern_cstr(vm, "handle_traceback"), tb) < 0)
            return -1;
    }
    StrBuf b;
    strbuf_init(vm, &b);
    Value message = dict_get_str(context, str_intern_cstr(vm, "message"));
    if (IS_NULL(message) || !is_str(vm, message) || AS_STR(message)->len == 0)
        strbuf_append_cstr(&b, "Unhandled exception in event loop");
    else
        strbuf_append_str(&b, AS_STR(message));
    ListObject *keys = list_new(vm, 4);
    if (!keys || vm_push_root(vm, v_obj(keys)) < 0) {
        strbuf_discard(&b);
        return -1;
    }
    size_t pos = 0;
    Value k, v;
    while (dict_next(context, &pos, &k, &v)) {
        if (is_str(vm, k) &&
            (strcmp(AS_STR(k)->data, "message") == 0 || strcmp(AS_STR(k)->data, "exception") == 0))
            continue;
        if (list_append(vm, keys, k) < 0) goto fail;
    }
    if (list_sort(vm, keys, VAL_NULL, false) < 0) goto fail;
    for (size_t i = 0; i < keys->len; i++) {
        Value val;
        if (dict_get(vm, context, keys->items[i], &val) <= 0) continue;
        const char *key = is_str(vm, keys->items[i]) ? AS_STR(keys->items[i])->data : "";
        const char *header =
            strcmp(key, "source_traceback") == 0   ? "Object created at (most recent call last):\n"
            : strcmp(key, "handle_traceback") == 0 ? "Handle created at (most recent call last):\n"
                                                   : NULL;
        if (header && is_exact(val, vm->t_list)) {
            strbuf_append_char(&b, '\n');
            strbuf_append_cstr(&b, key);
            strbuf_append_cstr(&b, ": ");
            if (append_creation_stack(vm, &b, header, AS_LIST(val)) < 0) goto fail;
            continue;
        }
        Value r = vm_repr(vm, val);
        if (IS_NULL(r)) goto fail;
        strbuf_append_char(&b, '\n');
        strbuf_append_str(&b, AS_STR(vm_str(vm, keys->items[i])));
        strbuf_append_cstr(&b, ": ");
        strbuf_append_str(&b, AS_STR(r));
    }
    strbuf_append_char(&b, '\n');
    StrObject *text = strbuf_finish(&b);
    vm_pop_roots(vm, 1);
    if (!text) return -1;
    io_flush_std(vm);
    if (loop_write(vm, VAL_NULL, text) < 0) return -1;
    Value exc = dict_get_str(context, str_intern_cstr(vm, "exception"));
    if (!IS_NULL(exc) && is_exception(vm, exc)) {
        io_flush_std(vm);
        vm_print_exception(vm, exc, stderr);
    }
    return 0;
fail:
    vm_pop_roots(vm, 1);
    strbuf_discard(&b);
    return -1;
}

int loop_call_exception_handler(EddyVM *vm, LoopObject *loop, DictObject *context) {
    if (vm_push_root(vm, v_obj(context)) < 0) return -1;
    int rc = 0;
    if (IS_NONE(loop->exception_handler)) {
        rc = default_exception_handler(vm, loop, context);
    } else {
        Value args[2] = {v_obj(loop), v_obj(context)};
        Value r = vm_call(vm, loop->exception_handler, args, 2, NULL);
        if (IS_NULL(r)) {
            // An error in the handler itself goes to the default handler.
            Value exc = vm_err_fetch(vm);
            if (is_fatal(vm, exc)) {
                vm->exc = exc;
                rc = -1;
            } else {
                DictObject *c2 = dict_new(vm);
                if (!c2 || vm_push_root(vm, v_obj(c2)) < 0) {
                    rc = -1;
                } else {
                    if (dict_set_str(vm, c2, str_intern_cstr(vm, "message"),
                                     v_obj(str_from_cstr(vm, "Unhandled error in exception "
                                                             "handler"))) < 0 ||
                        dict_set_str(vm, c2, str_intern_cstr(vm, "exception"), exc) < 0 ||
                        dict_set_str(vm, c2, str_intern_cstr(vm, "context"), v_obj(context)) < 0)
                        rc = -1;
                    else
                        rc = default_exception_handler(vm, loop, c2);
                    vm_pop_roots(vm, 1);
                }
            }
        }
    }
    vm_pop_roots(vm, 1);
    return rc;
}

void loop_report_error(EddyVM *vm, LoopObject *loop, const char *message, Value subject,
                       Value exc) {
    // subject: the handle (key "handle") or a future/task (key "future").
    loop_report_error_key(vm, loop, message, is_future(vm, subject) ? "future" : "handle", subject,
                          exc);
}

void loop_report_error_key(EddyVM *vm, LoopObject *loop, const char *message, const char *key,
                           Value subject, Value exc) {
    DictObject *c = dict_new(vm);
    if (!c || vm_push_root(vm, v_obj(c)) < 0) {
        vm_err_clear(vm);
        return;
    }
    if (dict_set_str(vm, c, str_intern_cstr(vm, "message"), v_obj(str_from_cstr(vm, message))) <
            0 ||
        (!IS_NULL(exc) && dict_set_str(vm, c, str_intern_cstr(vm, "exception"), exc) < 0) ||
        (!IS_NULL(subject) && dict_set_str(vm, c, str_intern_cstr(vm, key), subject) < 0)) {
        vm_pop_roots(vm, 1);
        vm_err_clear(vm);
        return;
    }
    // Debug mode: where the handle, future or task was created (out of
    // memory, the report goes without it).
    if (!IS_NULL(subject) && IS_OBJ(subject)) {
        Value tb = loop_source_tb(vm, AS_OBJ(subject));
        if (IS_NULL(tb) ||
            (!IS_NONE(tb) && dict_set_str(vm, c, str_intern_cstr(vm, "source_traceback"), tb) < 0))
            vm_err_clear(vm);
    }
    if (loop_call_exception_handler(vm, loop, c) < 0 && !is_fatal(vm, vm->exc)) vm_err_clear(vm);
    vm_pop_roots(vm, 1);
}

// ---------------------------------------------------------------------------
// Handles

// How CPython shows a callback: its qualified name, its arguments' reprs,
// and `at file:line` for script functions.
static bool format_callback(EddyVM *vm, StrBuf *b, Value cb, TupleObject *args) {
    Value target = cb;
    if (is_exact(cb, vm->t_method)) target = ((BoundMethodObject *)AS_OBJ(cb))->func;
    Value qn;
    if (vm_getattr_opt(vm, target, vm->names.__qualname__, &qn) > 0 && is_str(vm, qn)) {
        strbuf_append_str(b, AS_STR(qn));
    } else {
        vm_err_clear(vm);
        Value r = vm_repr(vm, cb);
        if (IS_NULL(r)) return false;
        strbuf_append_str(b, AS_STR(r));
    }
    strbuf_append_char(b, '(');
    for (size_t i = 0; args && i < args->len; i++) {
        if (i) strbuf_append_cstr(b, ", ");
        if (!future_reprlib(vm, b, args->items[i])) return false; // reprlib.repr(arg)
    }
    strbuf_append_char(b, ')');
    if (is_exact(target, vm->t_function)) {
        CodeObject *code = ((FunctionObject *)AS_OBJ(target))->code;
        strbuf_printf(b, " at %s:%u", code->filename->data, (unsigned)code->firstlineno);
    }
    return !b->failed;
}

static Value handle_repr(EddyVM *vm, Value self) {
    HandleObject *h = (HandleObject *)AS_OBJ(self);
    StrBuf b;
    strbuf_init(vm, &b);
    strbuf_printf(&b, "<%s", h->is_timer ? "TimerHandle" : "Handle");
    if (h->cancelled) strbuf_append_cstr(&b, " cancelled");
    if (h->is_timer) {
        Value w = float_repr(vm, h->when);
        if (IS_NULL(w)) {
            strbuf_discard(&b);
            return VAL_NULL;
        }
        strbuf_append_cstr(&b, " when=");
        strbuf_append_str(&b, AS_STR(w));
    }
    if (!IS_NULL(h->callback) && !IS_NONE(h->callback)) {
        strbuf_append_char(&b, ' ');
        if (!format_callback(vm, &b, h->callback, h->args)) {
            strbuf_discard(&b);
            return VAL_NULL;
        }
    }
    loop_append_created_at(vm, &b, &h->hdr);
    strbuf_append_char(&b, '>');
    StrObject *s = strbuf_finish(&b);
    return s ? v_obj(s) : VAL_NULL;
}

// "Exception in callback <callback text>" with the handle in the context.
static void report_callback_error(EddyVM *vm, LoopObject *loop, Value handle, Value cb,
                                  TupleObject *args) {
    Value exc = vm_err_fetch(vm);
    if (vm_push_root(vm, exc) < 0) return;
    StrBuf b;
    strbuf_init(vm, &b);
    strbuf_append_cstr(&b, "Exception in callback ");
    StrObject *msg = NULL;
    if (format_callback(vm, &b, cb, args))
        msg = strbuf_finish(&b);
    else
        strbuf_discard(&b);
    vm_err_clear(vm);
    // As in CPython, the handler runs while the error is being handled
    // (sys.exc_info() inside it, __context__ of what it raises).
    Value prev = vm->handled_exc;
    vm->handled_exc = exc;
    loop_report_error(vm, loop, msg ? msg->data : "Exception in callback", handle, exc);
    vm->handled_exc = prev;
    vm_pop_roots(vm, 1);
}

static void handle_trace(EddyVM *vm, Obj *o) {
    HandleObject *h = (HandleObject *)o;
    gc_mark_value(vm, h->callback);
    gc_mark_obj(vm, (Obj *)h->args);
    gc_mark_obj(vm, (Obj *)h->loop);
}

static void handle_finalize(EddyVM *vm, Obj *o) { loop_forget_source_tb(vm, o); }

// Debug mode: record where handle h was created. Handles need a finalizer
// only once one of them has a creation stack, so it is installed then: with
// debug mode off, freeing a handle calls nothing.
static __attribute__((noinline, cold)) void record_handle_tb(EddyVM *vm, HandleObject *h,
                                                             size_t limit) {
    vm->t_handle->finalize = vm->t_timer_handle->finalize = handle_finalize;
    loop_record_source_tb(vm, &h->hdr, limit);
}

static HandleObject *as_handle(Value v) { return (HandleObject *)AS_OBJ(v); }

static Value h_cancel(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "cancel", kw) < 0 || args_count(vm, "cancel", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    HandleObject *h = as_handle(args[0]);
    if (!h->cancelled) {
        if (h->scheduled) h->loop->timers_cancelled++;
        h->cancelled = true;
        h->callback = VAL_NONE;
        h->args = NULL;
    }
    return VAL_NONE;
}

static Value h_cancelled(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(as_handle(args[0])->cancelled);
}

static Value h_when(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_float(as_handle(args[0])->when);
}

static Value h_get_context(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)args, (void)nargs, (void)kw;
    return VAL_NONE;
}

static HandleObject *handle_new(EddyVM *vm, LoopObject *loop, Value cb, Value *args, int nargs,
                                bool timer) {
    TupleObject *t = nargs ? tuple_from(vm, args, (size_t)nargs) : vm->empty_tuple;
    if (!t) return NULL;
    HandleObject *h = (HandleObject *)obj_alloc(vm, timer ? vm->t_timer_handle : vm->t_handle,
                                                sizeof(HandleObject));
    if (!h) return NULL;
    h->callback = cb;
    h->args = t;
    h->loop = loop;
    h->is_timer = timer;
    return h;
}

// ---------------------------------------------------------------------------
// Running

static LoopObject *as_loop(Value v) { return (LoopObject *)AS_OBJ(v); }

// Run one ready entry. -1 only for an exception that must stop the loop.
static int run_entry(EddyVM *vm, LoopObject *loop, ReadyEntry *e) {
    switch (e->kind) {
    case READY_HANDLE: {
        HandleObject *h = as_handle(e->a);
        if (h->cancelled) return 0;
        Value r = vm_call(vm, h->callback, h->args->items, (int)h->args->len, NULL);
        if (IS_NULL(r)) {
            if (is_fatal(vm, vm->exc)) return -1;
            report_callback_error(vm, loop, e->a, h->callback, h->args);
            if (vm_err_occurred(vm)) return -1;
        }
        return 0;
    }
    case READY_TASK_STEP: return task_run_step(vm, (TaskObject *)AS_OBJ(e->a), e->b);
    case READY_TASK_WAKEUP: return task_run_wakeup(vm, (TaskObject *)AS_OBJ(e->a), as_future(e->b));
    case READY_FUTURE_CALLBACK: {
        Value r = vm_call1(vm, e->a, e->b);
        if (IS_NULL(r)) {
            if (is_fatal(vm, vm->exc)) return -1;
            // CPython queues done callbacks as Handles, and the report shows
            // one: make it now (Eddy's queue entry is not an object).
            Value exc = vm_err_fetch(vm);
            if (vm_push_root(vm, exc) < 0) return -1;
            HandleObject *h = handle_new(vm, loop, e->a, &e->b, 1, false);
            vm->exc = exc;
            vm_pop_roots(vm, 1);
            if (!h) return -1;
            if (vm_push_root(vm, v_obj(h)) < 0) return -1;
            report_callback_error(vm, loop, v_obj(h), e->a, h->args);
            vm_pop_roots(vm, 1);
            if (vm_err_occurred(vm)) return -1;
        }
        return 0;
    }
    case READY_SLEEP_TIMER: return sleep_timer_fired(vm, e->a);
    case READY_SLEEP_WAKEUP: return sleep_wakeup(vm, (TaskObject *)AS_OBJ(e->a), e->b);
    case READY_STOP: {
        // run_until_complete's future is done. When it ended with SystemExit
        // or KeyboardInterrupt, run_forever has already returned.
        FutureObject *f = as_future(e->b);
        if (f->state == FUT_FINISHED && f->failed && is_fatal(vm, f->result)) return 0;
        loop->stopping = true;
        return 0;
    }
    }
    return 0;
}

// Debug mode: a step ran longer than slow_callback_duration. CPython's
// message, then (Eddy's addition, for a task) the source lines the step ran
// from and to: the blocking code is between them.
static void report_slow_step(EddyVM *vm, ReadyEntry *e, double dt, CodeObject *from_code,
                             uint32_t from_line) {
    Value what = vm_repr(vm, e->a);
    char secs[32];
    snprintf(secs, sizeof secs, "%.3f", dt);
    StrObject *s =
        IS_NULL(what) ? NULL : str_format(vm, "Executing %U took %s seconds\n", AS_STR(what), secs);
    if (s) {
        io_flush_std(vm);
        (void)loop_write(vm, VAL_NULL, s);
    }
    vm_err_clear(vm);
    if (!from_code) return;
    fflush(stderr);
    fprintf(stderr, "  the step started at %s:%u\n", from_code->filename->data,
            (unsigned)from_line);
    vm_print_source_line(vm, stderr, from_code->filename, from_line, "    ");
    CodeObject *to_code;
    uint32_t to_line;
    if (task_position(vm, (TaskObject *)AS_OBJ(e->a), &to_code, &to_line)) {
        fprintf(stderr, "  and stopped at %s:%u\n", to_code->filename->data, (unsigned)to_line);
        vm_print_source_line(vm, stderr, to_code->filename, to_line, "    ");
    } else {
        fprintf(stderr, "  and ran to the end of the task\n");
    }
    fflush(stderr);
}

static int run_once(EddyVM *vm, LoopObject *loop) {
    drop_cancelled_timers(loop);
    double timeout = -1;
    if (loop->ready_len || loop->stopping) {
        timeout = 0;
    } else if (loop->timers_len) {
        timeout = loop->timers[0].when - loop_time();
        if (!(timeout > 0)) timeout = 0; // a NaN `when` too (CPython's max(0, ...))
    }
    if (poller_wait(vm, loop, timeout) < 0) return -1;
    // Move due timers to the ready queue.
    double end = loop_time() + 1e-9;
    while (loop->timers_len && !(loop->timers[0].when >= end)) { // NaN is due, as in CPython
        TimerEntry t = timer_pop(loop);
        timer_unscheduled(&t);
        if (loop_schedule(vm, loop, timer_kind(&t), v_obj(timer_obj(&t)), VAL_NULL) < 0) return -1;
    }
    size_t ntodo = loop->ready_len;
    for (size_t i = 0; i < ntodo; i++) {
        ReadyEntry e = ready_pop(loop);
        // Keep the entry's values reachable while it runs.
        if (vm_push_root(vm, e.a) < 0 || vm_push_root(vm, e.b) < 0) return -1;
        bool timed = loop->debug;
        double t0 = 0;
        CodeObject *from_code = NULL;
        uint32_t from_line = 0;
        if (timed) {
            if (e.kind == READY_TASK_STEP || e.kind == READY_TASK_WAKEUP ||
                e.kind == READY_SLEEP_WAKEUP)
                task_position(vm, (TaskObject *)AS_OBJ(e.a), &from_code, &from_line);
            if (e.kind == READY_HANDLE) loop->current_handle = as_handle(e.a);
            t0 = loop_time();
        }
        int r = run_entry(vm, loop, &e);
        if (timed) loop->current_handle = NULL;
        if (timed && r == 0) {
            double dt = loop_time() - t0;
            if (dt >= loop->slow_callback_duration)
                report_slow_step(vm, &e, dt, from_code, from_line);
        }
        vm_pop_roots(vm, 2);
        if (r < 0) return -1;
        gc_safepoint(vm);
    }
    ready_shrink(vm, loop);
    return 0;
}

// Can loop start running now? 0, or -1 with CPython's RuntimeError.
static int check_can_run(EddyVM *vm, LoopObject *loop) {
    const char *why = loop->closed       ? "Event loop is closed"
                      : loop->running    ? "This event loop is already running"
                      : vm->running_loop ? "Cannot run the event loop while another loop is running"
                                         : NULL;
    if (!why) return 0;
    vm_raise(vm, vm->exc_RuntimeError, "%s", why);
    return -1;
}

// CPython's _set_coroutine_origin_tracking: while a loop in debug mode
// runs, every new coroutine records DEBUG_STACK_DEPTH (10) frames of where
// it was created (cr_origin, and the "never awaited" warning shows them).
static void set_origin_tracking(EddyVM *vm, LoopObject *loop, bool on) {
    if (on == (loop->origin_saved_depth >= 0)) return;
    if (on) {
        loop->origin_saved_depth = (int32_t)vm->coro_origin_depth;
        vm->coro_origin_depth = 10;
    } else {
        vm->coro_origin_depth = (uint32_t)loop->origin_saved_depth;
        loop->origin_saved_depth = -1;
    }
}

static Value run_forever(EddyVM *vm, LoopObject *loop) {
    if (check_can_run(vm, loop) < 0) return VAL_NULL;
    poller_open(vm, loop);
    loop->running = true;
    vm->running_loop = loop;
    set_origin_tracking(vm, loop, loop->debug);
    int r = 0;
    do {
        r = run_once(vm, loop);
    } while (r == 0 && !loop->stopping);
    set_origin_tracking(vm, loop, false);
    loop->stopping = false;
    loop->running = false;
    vm->running_loop = NULL;
    return r < 0 ? VAL_NULL : VAL_NONE;
}

static Value l_run_forever(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "run_forever", kw) < 0 || args_count(vm, "run_forever", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return run_forever(vm, as_loop(args[0]));
}

// ensure_future(x) for run_until_complete / create_task: a future of this
// loop, a new task for a coroutine, or x.__await__ wrapped. (mod_asyncio.c
// exports the general ensure_future.)
static Value l_run_until_complete(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "run_until_complete", kw) < 0 ||
        args_count(vm, "run_until_complete", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    LoopObject *loop = as_loop(args[0]);
    if (check_can_run(vm, loop) < 0) return VAL_NULL;
    Value fv = args[1];
    bool new_task = false;
    if (!is_future(vm, fv)) {
        if (!task_coro_ok(vm, fv)) {
            if (IS_NULL(type_lookup(vm, vm_type_of(vm, fv), vm->names.__await__)))
                return vm_raise(vm, vm->exc_TypeError,
                                "An asyncio.Future, a coroutine or an awaitable is required");
            // Another awaitable: awaited by a coroutine (ensure_future).
            StrObject *mod = str_intern_cstr(vm, "_asyncio_core");
            Value m = mod ? vm_import(vm, mod, VAL_NONE, 0, NULL) : VAL_NULL;
            if (IS_NULL(m)) return VAL_NULL;
            Value wrap = vm_getattr(vm, m, str_intern_cstr(vm, "_wrap_awaitable"));
            if (IS_NULL(wrap)) return VAL_NULL;
            fv = vm_call1(vm, wrap, fv);
            if (IS_NULL(fv)) return VAL_NULL;
        }
        if (vm_push_root(vm, fv) < 0) return VAL_NULL;
        TaskObject *t = task_new(vm, loop, fv, VAL_NULL);
        vm_pop_roots(vm, 1);
        if (!t) return VAL_NULL;
        fv = v_obj(t);
        new_task = true;
    } else if (as_future(fv)->loop != loop) {
        return vm_raise(vm, vm->exc_ValueError,
                        "The future belongs to a different loop than the one specified as the "
                        "loop argument");
    }
    if (vm_push_root(vm, fv) < 0) return VAL_NULL;
    FutureObject *f = as_future(fv);
    Value result = VAL_NULL;
    // Stop the loop when f is done: a done callback of kind "stop".
    if (f->state == FUT_PENDING) {
        if (future_add_callback(vm, f, v_obj(loop), CB_STOP_LOOP) < 0) goto done;
    } else if (loop_schedule(vm, loop, READY_STOP, v_obj(loop), fv) < 0) {
        goto done;
    }
    Value r = run_forever(vm, loop);
    // Remove the stop callback if it is still there.
    for (uint32_t i = 0; i < f->ncallbacks; i++) {
        FutureCallback one, *cbs = future_callbacks(f, &one);
        if (cbs[i].kind == CB_STOP_LOOP) {
            if (f->callbacks)
                memmove(&f->callbacks[i], &f->callbacks[i + 1],
                        (f->ncallbacks - i - 1) * sizeof(FutureCallback));
            f->ncallbacks--;
            break;
        }
    }
    if (IS_NULL(r)) {
        // An exception stopped the loop (SystemExit, KeyboardInterrupt):
        // CPython marks the future's exception as retrieved.
        if (new_task && f->state == FUT_FINISHED) f->log_traceback = false;
        goto done;
    }
    if (f->state == FUT_PENDING) {
        vm_raise(vm, vm->exc_RuntimeError, "Event loop stopped before Future completed.");
        goto done;
    }
    if (f->state == FUT_CANCELLED) {
        Value exc = future_cancelled_error(vm, f);
        if (!IS_NULL(exc)) vm_raise_value(vm, exc);
        goto done;
    }
    f->log_traceback = false;
    if (f->failed) {
        vm_raise_value(vm, f->result);
        goto done;
    }
    result = f->result;
done:
    vm_pop_roots(vm, 1);
    return result;
}

static Value l_stop(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    // A flag, as in CPython: the current batch of ready callbacks finishes,
    // and a stop() before run_forever() makes it run one iteration.
    as_loop(args[0])->stopping = true;
    return VAL_NONE;
}

static Value l_close(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    LoopObject *loop = as_loop(args[0]);
    if (loop->running)
        return vm_raise(vm, vm->exc_RuntimeError, "Cannot close a running event loop");
    if (loop->closed) return VAL_NONE;
    loop->closed = true;
    loop->ready_len = 0;
    loop->timers_len = 0;
    poller_close(loop);
    // The tasks of this loop that are still pending can never run again:
    // stop keeping them alive, and report them as CPython does when such a
    // task is garbage collected ("Task was destroyed but it is pending!").
    ListObject *stuck = list_new(vm, 0);
    if (!stuck || vm_push_root(vm, v_obj(stuck)) < 0) return VAL_NULL;
    for (size_t i = 0; i < vm->tasks_len; i++)
        if (vm->tasks[i]->fut.loop == loop && list_append(vm, stuck, v_obj(vm->tasks[i])) < 0) {
            vm_pop_roots(vm, 1);
            return VAL_NULL;
        }
    // In creation order (the registry's order changes as tasks finish).
    for (size_t i = 1; i < stuck->len; i++)
        for (size_t j = i; j > 0 && ((TaskObject *)AS_OBJ(stuck->items[j]))->number <
                                        ((TaskObject *)AS_OBJ(stuck->items[j - 1]))->number;
             j--) {
            Value tmp = stuck->items[j];
            stuck->items[j] = stuck->items[j - 1];
            stuck->items[j - 1] = tmp;
        }
    for (size_t i = 0; i < stuck->len; i++)
        task_unregister(vm, (TaskObject *)AS_OBJ(stuck->items[i]));
    for (size_t i = 0; i < stuck->len && !vm_err_occurred(vm); i++)
        loop_report_error_key(vm, loop, "Task was destroyed but it is pending!", "task",
                              stuck->items[i], VAL_NULL);
    vm_pop_roots(vm, 1);
    if (vm_err_occurred(vm)) return VAL_NULL;
    // Eddy reports exceptions nobody retrieved when the loop closes (CPython
    // does it when the future is garbage collected, usually at about the
    // same point: the end of asyncio.run).
    ListObject *u = loop->unretrieved;
    loop->unretrieved = NULL;
    if (u) {
        if (vm_push_root(vm, v_obj(u)) < 0) return VAL_NULL;
        for (size_t i = 0; i < u->len; i++) {
            FutureObject *f = as_future(u->items[i]);
            if (!f->log_traceback) continue;
            f->log_traceback = false;
            StrObject *msg = str_format(vm, "%U exception was never retrieved",
                                        vm_type_of(vm, u->items[i])->name);
            if (!msg) break;
            loop_report_error(vm, loop, msg->data, u->items[i], f->result);
            if (vm_err_occurred(vm)) break;
        }
        vm_pop_roots(vm, 1);
        if (vm_err_occurred(vm)) return VAL_NULL;
    }
    return VAL_NONE;
}

int loop_track_asyncgen(EddyVM *vm, GenObject *g) {
    LoopObject *loop = vm->running_loop;
    if (!loop) return 0;
    if (!loop->asyncgens) {
        loop->asyncgens = list_new(vm, 4);
        if (!loop->asyncgens) return -1;
    }
    ListObject *l = loop->asyncgens;
    // The list holds them strongly (Eddy has no weak references): drop the
    // finished ones whenever it has doubled.
    if (l->len >= 16 && l->len >= 2 * loop->asyncgens_checked) {
        size_t j = 0;
        for (size_t i = 0; i < l->len; i++)
            if (((GenObject *)AS_OBJ(l->items[i]))->state != GEN_CLOSED)
                l->items[j++] = l->items[i];
        l->len = j;
        loop->asyncgens_checked = j;
    }
    return list_append(vm, l, v_obj(g));
}

// loop._take_asyncgens(): the async generators started on this loop that
// have not finished, forgotten by the loop (for shutdown_asyncgens()).
static Value l_take_asyncgens(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    LoopObject *loop = as_loop(args[0]);
    ListObject *out = list_new(vm, 0);
    if (!out) return VAL_NULL;
    ListObject *l = loop->asyncgens;
    loop->asyncgens = NULL;
    loop->asyncgens_checked = 0;
    for (size_t i = 0; l && i < l->len; i++)
        if (((GenObject *)AS_OBJ(l->items[i]))->state != GEN_CLOSED &&
            list_append(vm, out, l->items[i]) < 0)
            return VAL_NULL;
    return v_obj(out);
}

// Threads and executors arrive with the threads work: say so by name.
static Value l_run_in_executor(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)args, (void)nargs, (void)kw;
    return vm_raise(vm, vm->exc_NotImplementedError,
                    "loop.run_in_executor() is not supported yet (threads)");
}

static Value l_is_running(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(as_loop(args[0])->running);
}

static Value l_is_closed(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(as_loop(args[0])->closed);
}

static Value l_time(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)args, (void)nargs, (void)kw;
    return v_float(loop_time());
}

static Value l_get_debug(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_bool(as_loop(args[0])->debug);
}

static Value l_set_debug(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_count(vm, "set_debug", nargs - 1, 1, 1) < 0) return VAL_NULL;
    (void)kw;
    int t = vm_truthy(vm, args[1]);
    if (t < 0) return VAL_NULL;
    LoopObject *loop = as_loop(args[0]);
    loop->debug = t;
    // CPython switches tracking from the next iteration; Eddy at once.
    if (loop->running) set_origin_tracking(vm, loop, t);
    return VAL_NONE;
}

static Value l_slow_get(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return v_float(as_loop(args[0])->slow_callback_duration);
}

static Value l_slow_set(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)nargs, (void)kw;
    double d;
    if (float_from_value(vm, args[1], &d) < 0) return VAL_NULL;
    as_loop(args[0])->slow_callback_duration = d;
    return VAL_NONE;
}

static int check_open(EddyVM *vm, LoopObject *loop) {
    if (!loop->closed) return 0;
    vm_raise(vm, vm->exc_RuntimeError, "Event loop is closed");
    return -1;
}

HandleObject *loop_call_soon(EddyVM *vm, LoopObject *loop, Value cb, Value *args, int nargs) {
    HandleObject *h = handle_new(vm, loop, cb, args, nargs, false);
    if (!h || loop_schedule(vm, loop, READY_HANDLE, v_obj(h), VAL_NONE) < 0) return NULL;
    // CPython's Handle keeps DEBUG_STACK_DEPTH (10) frames counted from
    // inside call_soon, whose two frames it then drops: 8 remain.
    if (loop->debug) record_handle_tb(vm, h, 8);
    return h;
}

// Debug mode's check of a callback given to call_soon / call_at (CPython's
// _check_callback): not a coroutine or coroutine function, and callable.
// 0 / -1 TypeError.
static int check_callback(EddyVM *vm, Value cb, const char *method) {
    Value fn = cb;
    if (is_exact(fn, vm->t_method)) fn = ((BoundMethodObject *)AS_OBJ(fn))->func;
    bool coro_fn = is_exact(fn, vm->t_function) &&
                   (((FunctionObject *)AS_OBJ(fn))->code->flags & CO_COROUTINE);
    if (coro_fn || task_coro_ok(vm, cb)) {
        vm_raise(vm, vm->exc_TypeError, "coroutines cannot be used with %s()", method);
        return -1;
    }
    if (!vm_type_of(vm, cb)->call) {
        vm_raise(vm, vm->exc_TypeError, "a callable object was expected by %s(), got %R", method,
                 cb);
        return -1;
    }
    return 0;
}

// call_soon(callback, *args, context=None)
static Value l_call_soon(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    LoopObject *loop = as_loop(args[0]);
    if (kw && (kw->len != 1 || strcmp(AS_STR(kw->items[0])->data, "context") != 0))
        return vm_raise(vm, vm->exc_TypeError, "call_soon() got an unexpected keyword argument");
    if (nargs < 2)
        return vm_raise(vm, vm->exc_TypeError,
                        "BaseEventLoop.call_soon() missing 1 required positional argument: "
                        "'callback'");
    if (check_open(vm, loop) < 0) return VAL_NULL;
    Value cb = args[1];
    if (loop->debug && check_callback(vm, cb, "call_soon") < 0) return VAL_NULL;
    HandleObject *h = loop_call_soon(vm, loop, cb, args + 2, nargs - 2);
    return h ? v_obj(h) : VAL_NULL;
}

// Inlined into call_later and call_at (as GCC did by itself before debug
// mode's bookkeeping grew it), so `relative` folds away on the hot path.
static inline __attribute__((always_inline)) Value
call_timer(EddyVM *vm, const char *fname, Value *args, int nargs, TupleObject *kw, bool relative) {
    LoopObject *loop = as_loop(args[0]);
    if (kw && (kw->len != 1 || strcmp(AS_STR(kw->items[0])->data, "context") != 0))
        return vm_raise(vm, vm->exc_TypeError, "%s() got an unexpected keyword argument", fname);
    if (nargs < 3)
        return vm_raise(vm, vm->exc_TypeError, "%s() missing required positional arguments", fname);
    if (check_open(vm, loop) < 0) return VAL_NULL;
    double t;
    if (IS_NONE(args[1]))
        return vm_raise(vm, vm->exc_TypeError,
                        relative ? "delay must not be None" : "when cannot be None");
    if (float_from_value(vm, args[1], &t) < 0) {
        // CPython computes loop.time() + delay.
        if (relative && vm_err_matches(vm, vm->exc_TypeError)) {
            vm_err_clear(vm);
            return vm_raise(vm, vm->exc_TypeError,
                            "unsupported operand type(s) for +: 'float' and '%s'",
                            vm_type_name(vm, args[1]));
        }
        return VAL_NULL;
    }
    if (relative) t += loop_time();
    Value cb = args[2];
    // Checked in debug mode only, as CPython (call_later goes through call_at).
    if (loop->debug && check_callback(vm, cb, "call_at") < 0) return VAL_NULL;
    HandleObject *h = handle_new(vm, loop, cb, args + 3, nargs - 3, true);
    if (!h) return VAL_NULL;
    h->when = t;
    // As call_soon; call_later goes through call_at, one frame more.
    if (loop->debug) record_handle_tb(vm, h, relative ? 7 : 8);
    if (loop_schedule_at(vm, loop, t, READY_HANDLE, &h->hdr) < 0) return VAL_NULL;
    return v_obj(h);
}

static Value l_call_later(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return call_timer(vm, "call_later", args, nargs, kw, true);
}

static Value l_call_at(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    return call_timer(vm, "call_at", args, nargs, kw, false);
}

static Value l_create_future(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "create_future", kw) < 0 ||
        args_count(vm, "create_future", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    FutureObject *f = future_new(vm, as_loop(args[0]));
    return f ? v_obj(f) : VAL_NULL;
}

Value loop_create_task(EddyVM *vm, LoopObject *loop, Value coro, Value name, Value context) {
    if (check_open(vm, loop) < 0) return VAL_NULL;
    if (IS_NONE(loop->task_factory)) {
        if (!task_coro_ok(vm, coro))
            return vm_raise(vm, vm->exc_TypeError, "a coroutine was expected, got %R", coro);
        TaskObject *t = task_new(vm, loop, coro, IS_NULL(name) ? VAL_NONE : name);
        return t ? v_obj(t) : VAL_NULL;
    }
    // CPython: factory(loop, coro), with context=... only when one is given;
    // then the name through the task's set_name(), if there is one.
    Value argv[2] = {v_obj(loop), coro};
    Value task = IS_NULL(context) || IS_NONE(context)
                     ? vm_call(vm, loop->task_factory, argv, 2, NULL)
                     : vm_call_kw1(vm, loop->task_factory, argv, 2, "context", context);
    if (IS_NULL(task) || IS_NULL(name) || IS_NONE(name)) return task;
    if (vm_push_root(vm, task) < 0) return VAL_NULL;
    Value set_name;
    StrObject *key = str_intern_cstr(vm, "set_name");
    int r = key ? vm_getattr_opt(vm, task, key, &set_name) : -1;
    if (r > 0 && IS_NULL(vm_call1(vm, set_name, name))) r = -1;
    vm_pop_roots(vm, 1);
    return r < 0 ? VAL_NULL : task;
}

static Value l_create_task(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    static const char *const names[] = {"", "coro", "name", "context"};
    Value a[4];
    if (args_parse(vm, "create_task", args, nargs, kw, names, 4, 2, 2, a) < 0) return VAL_NULL;
    return loop_create_task(vm, as_loop(args[0]), a[1], a[2], a[3]);
}

// loop.shutdown_asyncgens() / shutdown_default_executor(): coroutines
// written in Eddy (stdlib/_asyncio_core.async), called with the loop.
static Value core_coroutine(EddyVM *vm, const char *fn, Value loop) {
    StrObject *modname = str_intern_cstr(vm, "_asyncio_core");
    StrObject *name = str_intern_cstr(vm, fn);
    if (!modname || !name) return VAL_NULL;
    Value m = vm_import(vm, modname, VAL_NONE, 0, NULL);
    if (IS_NULL(m)) return VAL_NULL;
    Value f = vm_getattr(vm, m, name);
    return IS_NULL(f) ? VAL_NULL : vm_call1(vm, f, loop);
}

static Value l_shutdown_asyncgens(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "shutdown_asyncgens", kw) < 0 ||
        args_count(vm, "shutdown_asyncgens", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return core_coroutine(vm, "shutdown_asyncgens", args[0]);
}

static Value l_shutdown_default_executor(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "shutdown_default_executor", kw) < 0 ||
        args_count(vm, "shutdown_default_executor", nargs - 1, 0, 0) < 0)
        return VAL_NULL;
    return core_coroutine(vm, "shutdown_default_executor", args[0]);
}

static Value l_set_task_factory(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "set_task_factory", kw) < 0 ||
        args_count(vm, "set_task_factory", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    Value f = args[1];
    if (!IS_NONE(f) && !vm_type_of(vm, f)->call)
        return vm_raise(vm, vm->exc_TypeError, "task factory must be a callable or None");
    as_loop(args[0])->task_factory = f;
    return VAL_NONE;
}

static Value l_get_task_factory(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return as_loop(args[0])->task_factory;
}

static Value l_get_exception_handler(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    (void)vm, (void)nargs, (void)kw;
    return as_loop(args[0])->exception_handler;
}

static Value l_set_exception_handler(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "set_exception_handler", kw) < 0 ||
        args_count(vm, "set_exception_handler", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    Value h = args[1];
    if (!IS_NONE(h) && !vm_type_of(vm, h)->call)
        return vm_raise(vm, vm->exc_TypeError, "A callable object or None is expected, got %R", h);
    as_loop(args[0])->exception_handler = h;
    return VAL_NONE;
}

static Value l_default_exception_handler(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "default_exception_handler", kw) < 0 ||
        args_count(vm, "default_exception_handler", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    if (!is_exact(args[1], vm->t_dict))
        return vm_raise(vm, vm->exc_TypeError, "context must be a dict");
    return default_exception_handler(vm, as_loop(args[0]), AS_DICT(args[1])) < 0 ? VAL_NULL
                                                                                 : VAL_NONE;
}

static Value l_call_exception_handler(EddyVM *vm, Value *args, int nargs, TupleObject *kw) {
    if (args_no_kw(vm, "call_exception_handler", kw) < 0 ||
        args_count(vm, "call_exception_handler", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    if (!is_exact(args[1], vm->t_dict))
        return vm_raise(vm, vm->exc_TypeError, "context must be a dict");
    return loop_call_exception_handler(vm, as_loop(args[0]), AS_DICT(args[1])) < 0 ? VAL_NULL
                                                                                   : VAL_NONE;
}

static Value loop_repr(EddyVM *vm, Value self) {
    LoopObject *l = as_loop(self);
    StrObject *s = str_format(vm, "<_UnixSelectorEventLoop running=%s closed=%s debug=%s>",
                              l->running ? "True" : "False", l->closed ? "True" : "False",
                              l->debug ? "True" : "False");
    return s ? v_obj(s) : VAL_NULL;
}

static void loop_trace(EddyVM *vm, Obj *o) {
    LoopObject *l = (LoopObject *)o;
    gc_mark_obj(vm, (Obj *)l->dict);
    gc_mark_value(vm, l->exception_handler);
    gc_mark_value(vm, l->task_factory);
    gc_mark_obj(vm, (Obj *)l->unretrieved);
    gc_mark_obj(vm, (Obj *)l->asyncgens);
    for (size_t i = 0; i < l->ready_len; i++) {
        ReadySlot *e = &l->ready[(l->ready_head + i) & (l->ready_cap - 1)];
        gc_mark_obj(vm, slot_a(e));
        gc_mark_obj(vm, e->b);
    }
    for (size_t i = 0; i < l->timers_len; i++) {
        gc_mark_obj(vm, timer_obj(&l->timers[i]));
    }
}

static void loop_finalize(EddyVM *vm, Obj *o) {
    LoopObject *l = (LoopObject *)o;
    if (l->ready) mem_free(vm, l->ready, l->ready_cap * sizeof(ReadySlot));
    if (l->timers) mem_free(vm, l->timers, l->timers_cap * sizeof(TimerEntry));
    l->ready = NULL;
    l->timers = NULL;
    poller_close(l);
}

LoopObject *loop_new(EddyVM *vm, TypeObject *t) {
    size_t size = t->instance_size > sizeof(LoopObject) ? t->instance_size : sizeof(LoopObject);
    LoopObject *l = (LoopObject *)obj_alloc(vm, t, size);
    if (!l) return NULL;
    l->exception_handler = VAL_NONE;
    l->task_factory = VAL_NONE;
    l->slow_callback_duration = 0.1;
    l->epoll_fd = l->wake_fd = -1;
    l->origin_saved_depth = -1;
    // Debug mode from the environment, as CPython's PYTHONASYNCIODEBUG.
    const char *env = getenv("EDDY_ASYNCIO_DEBUG");
    if (!env || !*env) env = getenv("PYTHONASYNCIODEBUG");
    l->debug = env && *env;
    return l;
}

static Value loop_new_slot(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kw) {
    (void)args, (void)nargs, (void)kw;
    LoopObject *l = loop_new(vm, t);
    return l ? v_obj(l) : VAL_NULL;
}

// ---------------------------------------------------------------------------
// Roots and teardown

void loop_mark_roots(EddyVM *vm) {
    gc_mark_obj(vm, (Obj *)vm->running_loop);
    gc_mark_value(vm, vm->event_loop);
    gc_mark_value(vm, vm->current_task);
    gc_mark_obj(vm, (Obj *)vm->exc_CancelledError);
    gc_mark_obj(vm, (Obj *)vm->exc_InvalidStateError);
    for (size_t i = 0; i < vm->tasks_len; i++) gc_mark_obj(vm, (Obj *)vm->tasks[i]);
    // The code objects of the creation stacks (not their owners: the table
    // forgets an entry when its owner is freed).
    for (size_t i = 0; vm->source_tbs_len && i < vm->source_tbs_cap; i++) {
        SourceTraceback *e = &vm->source_tbs[i];
        for (size_t k = 0; e->owner && k < e->n; k++) gc_mark_obj(vm, (Obj *)e->frames[k].code);
    }
}

void loop_free_all(EddyVM *vm) {
    if (vm->tasks) mem_free(vm, vm->tasks, vm->tasks_cap * sizeof(TaskObject *));
    vm->tasks = NULL;
    vm->tasks_len = vm->tasks_cap = 0;
    for (size_t i = 0; i < vm->source_tbs_cap; i++)
        if (vm->source_tbs[i].owner)
            mem_free(vm, vm->source_tbs[i].frames, vm->source_tbs[i].n * sizeof(StackEntry));
    if (vm->source_tbs) mem_free(vm, vm->source_tbs, vm->source_tbs_cap * sizeof(SourceTraceback));
    vm->source_tbs = NULL;
    vm->source_tbs_len = vm->source_tbs_cap = 0;
}

int loop_init_types(EddyVM *vm) {
    TypeObject *t =
        type_new_builtin(vm, vm->t_event_loop, vm->t_object, sizeof(LoopObject), TPF_BASETYPE);
    if (!t) return -1;
    t->module = str_intern_cstr(vm, "asyncio.unix_events");
    if (!t->module) return -1;
    t->dict_offset = (int32_t)offsetof(LoopObject, dict);
    t->trace = loop_trace;
    t->finalize = loop_finalize;
    t->new_ = loop_new_slot;
    t->repr = loop_repr;
    static const struct {
        const char *name;
        NativeFn fn;
    } methods[] = {
        {"run_forever", l_run_forever},
        {"run_until_complete", l_run_until_complete},
        {"stop", l_stop},
        {"close", l_close},
        {"is_running", l_is_running},
        {"is_closed", l_is_closed},
        {"time", l_time},
        {"get_debug", l_get_debug},
        {"set_debug", l_set_debug},
        {"call_soon", l_call_soon},
        {"call_soon_threadsafe", l_call_soon},
        {"call_later", l_call_later},
        {"call_at", l_call_at},
        {"create_future", l_create_future},
        {"create_task", l_create_task},
        {"set_task_factory", l_set_task_factory},
        {"shutdown_asyncgens", l_shutdown_asyncgens},
        {"shutdown_default_executor", l_shutdown_default_executor},
        {"get_task_factory", l_get_task_factory},
        {"get_exception_handler", l_get_exception_handler},
        {"set_exception_handler", l_set_exception_handler},
        {"default_exception_handler", l_default_exception_handler},
        {"call_exception_handler", l_call_exception_handler},
        {"_take_asyncgens", l_take_asyncgens},
        {"run_in_executor", l_run_in_executor},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, NATIVE_METHOD) < 0) return -1;
    if (type_add_property(vm, t, "slow_callback_duration", l_slow_get, l_slow_set) < 0) return -1;

    TypeObject *types[2] = {vm->t_handle, vm->t_timer_handle};
    for (int i = 0; i < 2; i++) {
        t = type_new_builtin(vm, types[i], i ? vm->t_handle : vm->t_object, sizeof(HandleObject),
                             0);
        if (!t) return -1;
        t->module = str_intern_cstr(vm, "asyncio.events");
        if (!t->module) return -1;
        t->trace = handle_trace;
        t->repr = handle_repr;
        if (type_add_method(vm, t, "cancel", h_cancel, NATIVE_METHOD) < 0 ||
            type_add_method(vm, t, "cancelled", h_cancelled, NATIVE_METHOD) < 0 ||
            type_add_method(vm, t, "get_context", h_get_context, NATIVE_METHOD) < 0)
            return -1;
        if (i && type_add_method(vm, t, "when", h_when, NATIVE_METHOD) < 0) return -1;
        if (type_add_getter(vm, t, "_source_traceback", get_source_traceback) < 0) return -1;
    }
    return 0;
}
