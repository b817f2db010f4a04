// loop.h - the event loop, futures and tasks: layouts shared by vm/loop.c
// (the loop, its handles, timers and poller), vm/obj_future.c (Future, Task)
// and stdlib/mod_asyncio.c (the `_asyncio_core` module).
//
// One loop runs at a time per VM (vm->running_loop). Its ready queue is a
// ring of ReadyEntry records, not of Handle objects: the loop's own work
// (a task's step, a task's wake-up by the future it waited on, a future's
// done callback, a sleep's timer) is queued without allocating anything.
// Only loop.call_soon/call_later/call_at create Handle objects, because the
// script gets them back. The order is CPython's in every case: done
// callbacks are queued with call_soon semantics, timers that are due move
// to the ready queue in heap order (loop.c), and each iteration runs
// exactly the entries that were ready when it started.
#ifndef EDDY_LOOP_H
#define EDDY_LOOP_H

#ifndef EDDY_BUILD_CORE
#error "vm/loop.h is internal to the Eddy core"
#endif

#include "vm.h"

typedef struct LoopObject LoopObject;

enum ReadyKind {
    READY_HANDLE,          // a = Handle/TimerHandle: run its callback unless cancelled
    READY_TASK_STEP,       // a = Task, b = exception to throw in, or V_NULL
    READY_TASK_WAKEUP,     // a = Task, b = the future it waited on (done)
    READY_FUTURE_CALLBACK, // a = callable, b = the done future: a(b)
    READY_SLEEP_TIMER,     // a = sleep (obj_future.c): its timer ran
    READY_SLEEP_WAKEUP,    // a = Task, b = the sleep it waited on (done or cancelled)
    READY_STOP,            // stop the loop (run_until_complete's future is done)
};

// An entry as it is run: what it is and its two operands.
typedef struct ReadyEntry {
    uint32_t kind; // ReadyKind
    Value a, b;    // b may be V_NULL
} ReadyEntry;

// An entry as the ring stores it, in 16 bytes (100k tasks starting at once
// fill the ring): both operands are objects, and objects are at least
// 8-byte aligned, which leaves the low bits of a's pointer for the kind.
// (A done callback that is not an object goes through a Handle instead.)
typedef struct ReadySlot {
    uintptr_t a_kind; // (uintptr_t)a | kind
    Obj *b;           // or NULL for V_NULL
} ReadySlot;
#define READY_KIND_MASK ((uintptr_t)7)

// A timer in the loop's min-heap (keyed by `when` alone, as CPython's): the
// ReadyEntry {kind, obj, V_NULL} it queues when due. Timers are Handles or
// sleeps, so one object pointer is enough, with the kind in its alignment
// bits as in ReadySlot (16 bytes a timer).
typedef struct TimerEntry {
    double when;
    uintptr_t obj_kind; // (uintptr_t)obj | kind: READY_HANDLE or READY_SLEEP_TIMER
} TimerEntry;
static inline Obj *timer_obj(const TimerEntry *t) {
    return (Obj *)(t->obj_kind & ~READY_KIND_MASK);
}
static inline uint32_t timer_kind(const TimerEntry *t) {
    return (uint32_t)(t->obj_kind & READY_KIND_MASK);
}

// Handle (call_soon) and TimerHandle (call_later / call_at).
typedef struct HandleObject {
    Obj hdr;
    Value callback;
    TupleObject *args;
    LoopObject *loop;
    double when; // TimerHandle only
    bool cancelled;
    bool is_timer;
    bool scheduled; // in the timer heap
} HandleObject;

struct LoopObject {
    Obj hdr;
    DictObject *dict; // instance attributes (subclasses)
    ReadySlot *ready; // ring buffer
    size_t ready_head, ready_len, ready_cap;
    TimerEntry *timers; // binary min-heap
    size_t timers_len, timers_cap;
    size_t timers_cancelled;    // cancelled timers still in the heap (CPython's count)
    Value exception_handler;    // None or callable(loop, context)
    Value task_factory;         // None or callable(loop, coro): set_task_factory()
    ListObject *asyncgens;      // async generators started while it ran (shutdown_asyncgens)
    size_t asyncgens_checked;   // its length when last pruned of finished ones
    ListObject *unretrieved;    // futures that got an exception: reported at close() if unread
    size_t unretrieved_checked; // its length when last compacted
    double slow_callback_duration;
    int epoll_fd;      // -1 until first needed
    int wake_fd;       // eventfd registered with epoll_fd, -1 until first needed
    uint32_t io_count; // descriptors registered besides wake_fd (none yet: no I/O API)
    // Debug mode: the Handle whose callback runs now, or NULL (for the
    // exception handler's "handle_traceback"; valid while it runs).
    struct HandleObject *current_handle;
    // While it runs in debug mode: the coroutine origin tracking depth to
    // restore when it stops (CPython's _set_coroutine_origin_tracking); -1
    // when it did not turn tracking on.
    int32_t origin_saved_depth;
    bool running, stopping, closed, debug;
};

enum FutureState { FUT_PENDING, FUT_CANCELLED, FUT_FINISHED };

// A done callback: kind CB_CALL calls fn(future) through the ready queue;
// CB_TASK_WAKEUP wakes the task fn (the fast path of `await future`).
enum { CB_CALL, CB_TASK_WAKEUP, CB_STOP_LOOP };
typedef struct FutureCallback {
    Value fn;
    uint32_t kind;
} FutureCallback;

typedef struct FutureObject {
    Obj hdr;
    DictObject *dict;
    LoopObject *loop;
    // Finished: the result, or the exception when `failed` is set.
    // Cancelled: the CancelledError that cancelled a task (raised once by
    // future_cancelled_error, which then forgets it), or V_NULL.
    Value result;
    Value *cancel_message; // the message of cancel(msg); NULL for None (most futures)
    // The done callbacks: the first one inline (cb0, cb0_kind) while it is
    // the only one (callbacks NULL), else all of them in `callbacks`.
    FutureCallback *callbacks;
    Value cb0;
    uint32_t ncallbacks, callbacks_cap;
    uint8_t cb0_kind;   // CB_*
    uint8_t state;      // FutureState
    bool failed;        // finished with an exception (in `result`)
    bool log_traceback; // an exception nobody retrieved yet
    bool blocking;      // _asyncio_future_blocking
    bool is_task;
    bool must_cancel; // Task: cancel() is pending, to be thrown in at the next step
    bool registered;  // Task: in vm->tasks (pending)
} FutureObject;

// f's callbacks as an array: its own, or `one` holding the inline one.
static inline FutureCallback *future_callbacks(FutureObject *f, FutureCallback *one) {
    if (f->callbacks) return f->callbacks;
    *one = (FutureCallback){f->cb0, f->cb0_kind};
    return one;
}

static inline Value future_cancel_message(const FutureObject *f) {
    return f->cancel_message ? *f->cancel_message : VAL_NONE;
}

// A finished future's exception, or V_NULL when it has a result.
static inline Value future_exception(const FutureObject *f) {
    return f->failed ? f->result : VAL_NULL;
}

// Object pointers rather than Values, and the flags in the Future's last
// word: 144 bytes a task (100k sleeping tasks is the sleepers benchmark).
typedef struct TaskObject {
    FutureObject fut;
    Obj *coro;               // NULL until Task.__init__ ran
    StrObject *name;         // NULL: "Task-<number>" made on demand
    Obj *fut_waiter;         // the future (or native sleep) it waits on, or NULL
    uint64_t number;         // for the default name
    uint32_t registry_index; // position in vm->tasks while pending
    int32_t num_cancels_requested;
} TaskObject;

static inline FutureObject *as_future(Value v) { return (FutureObject *)AS_OBJ(v); }
static inline bool is_future(EddyVM *vm, Value v) {
    return IS_OBJ(v) && type_is_subtype(OBJ_TYPE(AS_OBJ(v)), vm->t_future);
}
static inline bool is_task(EddyVM *vm, Value v) {
    return IS_OBJ(v) && type_is_subtype(OBJ_TYPE(AS_OBJ(v)), vm->t_task);
}

// ---------------------------------------------------------------------------
// vm/loop.c
// Queue work for the next iteration (call_soon semantics). 0 / -1 MemoryError.
EDDY_NODISCARD int loop_schedule(EddyVM *vm, LoopObject *loop, uint32_t kind, Value a, Value b);
// A timer firing at `when` (loop time) that queues {kind, obj}. 0 / -1.
EDDY_NODISCARD int loop_schedule_at(EddyVM *vm, LoopObject *loop, double when, uint32_t kind,
                                    Obj *obj);
double loop_time(void);
// The running loop (no error) or NULL.
static inline LoopObject *loop_running(EddyVM *vm) { return vm->running_loop; }
// The running loop, or NULL + RuntimeError "no running event loop".
LoopObject *loop_get_running(EddyVM *vm);
// loop.call_soon(cb, *args): a Handle, queued. NULL + MemoryError.
HandleObject *loop_call_soon(EddyVM *vm, LoopObject *loop, Value cb, Value *args, int nargs);
// file.write(s), sys.stderr's when file is None or V_NULL (nothing without
// a sys.stderr). 0 / -1.
int loop_write(EddyVM *vm, Value file, StrObject *s);
// Report an error from a callback through the loop's exception handler
// (message, exception; the pending exception is consumed).
void loop_report_error(EddyVM *vm, LoopObject *loop, const char *message, Value subject, Value exc);
// The same with the subject under an explicit key ("task", "future", ...).
void loop_report_error_key(EddyVM *vm, LoopObject *loop, const char *message, const char *key,
                           Value subject, Value exc);
// call loop.call_exception_handler(context) semantics with a context dict.
int loop_call_exception_handler(EddyVM *vm, LoopObject *loop, DictObject *context);
LoopObject *loop_new(EddyVM *vm, TypeObject *t);
// loop.create_task(coro, name=, context=) semantics, with the loop's task
// factory if it has one (name / context V_NULL when not given). V_NULL + error.
Value loop_create_task(EddyVM *vm, LoopObject *loop, Value coro, Value name, Value context);
int loop_init_types(EddyVM *vm);
// Debug mode: remember the running stack (at most `limit` frames, innermost
// ones) as the place where o (a future, task or handle) was created, for
// its _source_traceback. Best effort: out of memory it records nothing.
void loop_record_source_tb(EddyVM *vm, Obj *o, size_t limit);
// Forget o's creation stack (its finalizer). No-op with none recorded.
void loop_forget_source_tb_slow(EddyVM *vm, Obj *o);
static inline void loop_forget_source_tb(EddyVM *vm, Obj *o) {
    if (EDDY_UNLIKELY(vm->source_tbs_len != 0)) loop_forget_source_tb_slow(vm, o);
}
// o._source_traceback: a list of (filename, lineno, name, line) tuples,
// outermost first, or None. V_NULL + MemoryError.
Value loop_source_tb(EddyVM *vm, Obj *o);
// Append " created at FILE:LINE" (the innermost frame of o's creation stack)
// to b, as CPython's reprs do in debug mode; nothing if none was recorded.
void loop_append_created_at(EddyVM *vm, StrBuf *b, Obj *o);

// ---------------------------------------------------------------------------
// vm/obj_future.c
FutureObject *future_new(EddyVM *vm, LoopObject *loop);
// Add a done callback of the given kind (CB_*) to a pending future. 0 / -1.
int future_add_callback(EddyVM *vm, FutureObject *f, Value fn, uint32_t kind);
// Complete a pending future (no state check). 0 / -1.
int future_set_result(EddyVM *vm, FutureObject *f, Value v);
int future_set_exception(EddyVM *vm, FutureObject *f, Value exc);
// Future.cancel(msg): true if it was pending.
bool future_cancel(EddyVM *vm, FutureObject *f, Value msg, int *err);
// What a Task can drive (asyncio.iscoroutine): a coroutine, a generator, or
// an object with __await__, send, throw and close (collections.abc.Coroutine).
bool task_coro_ok(EddyVM *vm, Value v);
// A new task running coro on loop, its first step scheduled. NULL + error.
TaskObject *task_new(EddyVM *vm, LoopObject *loop, Value coro, Value name);
// Run one ReadyEntry of kind READY_TASK_STEP / READY_TASK_WAKEUP. 0 / -1
// (-1 only for SystemExit / KeyboardInterrupt, which stop the loop).
int task_run_step(EddyVM *vm, TaskObject *t, Value exc);
// Stop keeping a pending task alive (its loop closed).
void task_unregister(EddyVM *vm, TaskObject *t);
int task_run_wakeup(EddyVM *vm, TaskObject *t, FutureObject *waited);
// Where task t's coroutine stands (its innermost suspended frame): false if
// it has finished. For debug mode's slow-step report.
bool task_position(EddyVM *vm, TaskObject *t, CodeObject **code, uint32_t *line);
// The CancelledError to raise for a cancelled future (CPython's
// _make_cancelled_error). V_NULL + MemoryError.
Value future_cancelled_error(EddyVM *vm, FutureObject *f);
// asyncio.sleep(delay, result=None): a native coroutine-like object.
Value asyncio_sleep(EddyVM *vm, Value *args, int nargs, TupleObject *kw);
// One step of a sleep (send None, or throw exc unless V_NULL): 1 yielded *out,
// 0 returned *out, -1 raised.
int sleep_step(EddyVM *vm, Value sleep, Value exc, Value *out);
// GET_AWAITABLE's check: 0, or -1 + RuntimeError when already awaited.
int sleep_check_awaitable(EddyVM *vm, Value sleep);
// The loop's side of a sleep's timer: READY_SLEEP_TIMER ran, is it
// cancelled, it left the heap.
int sleep_timer_fired(EddyVM *vm, Value sleep);
bool sleep_timer_cancelled(Value sleep);
void sleep_timer_unscheduled(Value sleep);
// READY_SLEEP_WAKEUP: resume task t after its sleep completed or was cancelled.
int sleep_wakeup(EddyVM *vm, TaskObject *t, Value sleep);
// repr(future/task) as CPython prints it.
Value future_repr(EddyVM *vm, Value self);
// Append reprlib.repr(v) (CPython's abbreviated repr) to b. false + error.
bool future_reprlib(EddyVM *vm, StrBuf *b, Value v);
int future_init_types(EddyVM *vm);

#endif
