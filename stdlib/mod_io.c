// mod_io.c - file objects: open(), and sys.stdin / stdout / stderr.
//
// One C layout serves text files (TextIOWrapper) and binary files
// (BufferedReader, and its Writer/Random forms, which share the type): a raw
// fd with our own read and write buffers, no stdio. Text is UTF-8.
//
// Buffering follows CPython: a write goes into the buffer, which is flushed
// when it fills, on flush()/close(), when the object dies, and - for
// line-buffered streams (a tty, and stderr always) - at each newline.
// io_flush_std() flushes the VM's own std streams at exit.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"

#define IO_BUFSIZE 8192

typedef struct FileObject {
    Obj hdr;
    int fd;
    bool closed;
    bool readable, writable;
    bool binary;
    bool closefd;        // close the fd when closed / collected
    bool line_buffering; // flush at each newline
    bool eof;            // the last read returned 0 bytes
    bool translate;      // text read with newline=None: "\r\n" and "\r" become "\n"
    Value name;          // str path or int fd
    StrObject *mode;     // as given to open(), e.g. "r", "wb"
    StrObject *encoding; // text files: the encoding name shown; NULL for binary
    char *wbuf;          // pending writes
    size_t wlen, wcap;
    char *rbuf; // read-ahead: rbuf[rpos .. rlen) not consumed yet
    size_t rpos, rlen, rcap;
} FileObject;

// ---------------------------------------------------------------------------
// Errors

// The OSError subclass for err with args (errno, strerror[, filename]);
// filename is a str/bytes Value or V_NULL.
static Value raise_oserror_value(EddyVM *vm, int err, Value filename) {
    TypeObject *t = vm->exc_OSError;
    switch (err) {
    case ENOENT: t = vm->exc_FileNotFoundError; break;
    case EEXIST: t = vm->exc_FileExistsError; break;
    case EISDIR: t = vm->exc_IsADirectoryError; break;
    case ENOTDIR: t = vm->exc_NotADirectoryError; break;
    case EACCES:
    case EPERM: t = vm->exc_PermissionError; break;
    case EINTR: t = vm->exc_InterruptedError; break;
    case EAGAIN: t = vm->exc_BlockingIOError; break;
    case EPIPE:
    case ESHUTDOWN: t = vm->exc_BrokenPipeError; break;
    case ECHILD: t = vm->exc_ChildProcessError; break;
    case ECONNREFUSED: t = vm->exc_ConnectionRefusedError; break;
    case ECONNRESET: t = vm->exc_ConnectionResetError; break;
    case ECONNABORTED: t = vm->exc_ConnectionAbortedError; break;
    case ESRCH: t = vm->exc_ProcessLookupError; break;
    case ETIMEDOUT: t = vm->exc_TimeoutError; break;
    default: break;
    }
    StrObject *msg = str_from_cstr(vm, strerror(err));
    if (!msg) return VAL_NULL;
    Value items[3] = {v_int(err), v_obj(msg), filename};
    size_t n = IS_NULL(filename) ? 2 : 3;
    // Through the class's constructor, which stores errno / strerror /
    // filename and keeps args == (errno, strerror) as CPython does.
    Value exc = vm_call(vm, v_obj(t), items, (int)n, NULL);
    if (IS_NULL(exc)) return VAL_NULL;
    return vm_raise_value(vm, exc);
}

Value io_raise_oserror(EddyVM *vm, int err, const char *filename) {
    Value f = VAL_NULL;
    if (filename) {
        StrObject *s = str_decode_utf8(vm, filename, strlen(filename));
        if (!s) return VAL_NULL;
        f = v_obj(s);
    }
    return raise_oserror_value(vm, err, f);
}

static Value raise_closed(EddyVM *vm) {
    return vm_raise(vm, vm->exc_ValueError, "I/O operation on closed file.");
}

// Raise with the file's name as the filename, or none for fds.
static Value raise_file_error(EddyVM *vm, FileObject *f, int err) {
    return raise_oserror_value(vm, err, is_int(vm, f->name) ? VAL_NULL : f->name);
}

// ---------------------------------------------------------------------------
// Raw buffer management

static bool is_file(EddyVM *vm, Value v) {
    return IS_OBJ(v) &&
           (OBJ_TYPE(AS_OBJ(v)) == vm->t_textio || OBJ_TYPE(AS_OBJ(v)) == vm->t_bufferedio ||
            type_is_subtype(OBJ_TYPE(AS_OBJ(v)), vm->t_textio) ||
            type_is_subtype(OBJ_TYPE(AS_OBJ(v)), vm->t_bufferedio));
}

// Write all of buf to the fd; errno-style status (0 ok).
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t r = write(fd, buf, len);
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        buf += r;
        len -= (size_t)r;
    }
    return 0;
}

// Flush pending writes without raising (finalizers, exit). Returns errno or 0.
static int flush_raw(FileObject *f) {
    if (f->wlen == 0 || f->fd < 0) return 0;
    int err = write_all(f->fd, f->wbuf, f->wlen);
    f->wlen = 0;
    return err;
}

static int file_flush_buffer(EddyVM *vm, FileObject *f) {
    int err = flush_raw(f);
    if (err) {
        raise_file_error(vm, f, err);
        return -1;
    }
    return 0;
}

// Drop read-ahead so the fd offset matches what the script has consumed.
static void drop_readahead(FileObject *f) {
    if (f->rlen > f->rpos) lseek(f->fd, -(off_t)(f->rlen - f->rpos), SEEK_CUR);
    f->rpos = f->rlen = 0;
}

static int buffer_write(EddyVM *vm, FileObject *f, const char *data, size_t len) {
    if (f->rlen > 0) drop_readahead(f);
    if (f->wlen + len > f->wcap) {
        if (f->wlen > 0 && file_flush_buffer(vm, f) < 0) return -1;
        if (len >= IO_BUFSIZE) {
            // Large writes bypass the buffer.
            int err = write_all(f->fd, data, len);
            if (err) {
                raise_file_error(vm, f, err);
                return -1;
            }
            return 0;
        }
        if (!f->wbuf) {
            f->wbuf = mem_alloc(vm, IO_BUFSIZE);
            if (!f->wbuf) return -1;
            f->wcap = IO_BUFSIZE;
        }
    }
    memcpy(f->wbuf + f->wlen, data, len);
    f->wlen += len;
    if (f->line_buffering && memchr(data, '\n', len)) return file_flush_buffer(vm, f);
    return 0;
}

// Read more bytes into the read-ahead buffer. 1 got data, 0 EOF, -1 error.
static int fill(EddyVM *vm, FileObject *f) {
    if (f->wlen > 0 && file_flush_buffer(vm, f) < 0) return -1;
    if (f->rpos > 0) {
        memmove(f->rbuf, f->rbuf + f->rpos, f->rlen - f->rpos);
        f->rlen -= f->rpos;
        f->rpos = 0;
    }
    if (f->rcap - f->rlen < IO_BUFSIZE / 2) {
        size_t ncap = f->rcap ? f->rcap * 2 : IO_BUFSIZE;
        char *nb = mem_realloc(vm, f->rbuf, f->rcap, ncap);
        if (!nb) return -1;
        f->rbuf = nb;
        f->rcap = ncap;
    }
    for (;;) {
        ssize_t r = read(f->fd, f->rbuf + f->rlen, f->rcap - f->rlen);
        if (r < 0) {
            if (errno == EINTR) {
                // A signal: stop for the host's interrupt, else retry (PEP 475).
                if (vm->interrupt) {
                    vm->interrupt = 0;
                    vm_raise_value(vm, v_obj(vm->exc_KeyboardInterrupt));
                    return -1;
                }
                continue;
            }
            raise_file_error(vm, f, errno);
            return -1;
        }
        if (r == 0) {
            f->eof = true;
            return 0;
        }
        f->rlen += (size_t)r;
        return 1;
    }
}

// Take n bytes from the read-ahead as a str or bytes.
static Value take(EddyVM *vm, FileObject *f, size_t n) {
    const char *p = f->rbuf ? f->rbuf + f->rpos : "";
    Value r;
    if (f->binary) {
        r = bytes_new(vm, p, n);
    } else if (f->translate && n > 0 && memchr(p, '\r', n)) {
        // Universal newlines (CPython's default for text files).
        char *tmp = mem_alloc(vm, n);
        if (!tmp) return VAL_NULL;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '\r') {
                tmp[m++] = '\n';
                if (i + 1 < n && p[i + 1] == '\n') i++;
            } else {
                tmp[m++] = p[i];
            }
        }
        StrObject *s = str_decode_utf8(vm, tmp, m);
        mem_free(vm, tmp, n);
        r = s ? v_obj(s) : VAL_NULL;
    } else {
        StrObject *s = str_decode_utf8(vm, p, n);
        r = s ? v_obj(s) : VAL_NULL;
    }
    if (!IS_NULL(r)) f->rpos += n;
    return r;
}

// io.UnsupportedOperation (a subclass of OSError and ValueError, created by
// the io module); plain OSError if that module cannot be loaded.
static void raise_unsupported(EddyVM *vm, const char *msg) {
    StrObject *io = str_intern_cstr(vm, "io");
    StrObject *cls_name = str_intern_cstr(vm, "UnsupportedOperation");
    if (!io || !cls_name) return;
    Value m = vm_import(vm, io, VAL_NONE, 0, NULL);
    Value cls = VAL_NULL;
    if (!IS_NULL(m) && vm_getattr_opt(vm, m, cls_name, &cls) > 0 && is_type(vm, cls)) {
        vm_raise(vm, AS_TYPE(cls), "%s", msg);
        return;
    }
    vm_err_clear(vm);
    vm_raise(vm, vm->exc_OSError, "%s", msg);
}

static int check_readable(EddyVM *vm, FileObject *f) {
    if (f->closed) {
        raise_closed(vm);
        return -1;
    }
    if (!f->readable) {
        raise_unsupported(vm, "not readable");
        return -1;
    }
    return 0;
}

static int check_writable(EddyVM *vm, FileObject *f) {
    if (f->closed) {
        raise_closed(vm);
        return -1;
    }
    if (!f->writable) {
        raise_unsupported(vm, "not writable");
        return -1;
    }
    return 0;
}

// Length in bytes of the first `nchars` UTF-8 characters of buf[0..len), or
// of all the complete characters when there are fewer.
static size_t utf8_prefix(const char *buf, size_t len, int64_t nchars) {
    size_t i = 0;
    while (i < len && nchars > 0) {
        unsigned char c = (unsigned char)buf[i];
        size_t w = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (i + w > len) return i;
        i += w;
        nchars--;
    }
    return i;
}

static size_t utf8_count(const char *buf, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)buf[i] & 0xC0) != 0x80) n++;
    return n;
}

// read(n): n < 0 reads to EOF. n counts characters (text) or bytes.
static Value file_read_n(EddyVM *vm, FileObject *f, int64_t n) {
    if (n < 0) {
        while (true) {
            int r = fill(vm, f);
            if (r < 0) return VAL_NULL;
            if (r == 0) break;
        }
        return take(vm, f, f->rlen - f->rpos);
    }
    for (;;) {
        size_t avail = f->rlen - f->rpos;
        const char *p = f->rbuf ? f->rbuf + f->rpos : "";
        size_t need = f->binary ? (size_t)n : utf8_prefix(p, avail, n);
        bool enough = f->binary ? avail >= (size_t)n : (int64_t)utf8_count(p, need) >= n;
        if (enough) return take(vm, f, need);
        int r = fill(vm, f);
        if (r < 0) return VAL_NULL;
        if (r == 0) return take(vm, f, f->rlen - f->rpos);
    }
}

// readline(limit): up to and including '\n'.
static Value file_readline_n(EddyVM *vm, FileObject *f, int64_t limit) {
    size_t scanned = 0;
    for (;;) {
        size_t avail = f->rlen - f->rpos;
        const char *p = f->rbuf ? f->rbuf + f->rpos : "";
        const char *nl = avail > scanned ? memchr(p + scanned, '\n', avail - scanned) : NULL;
        if (limit >= 0) {
            size_t cut = f->binary ? (size_t)limit : utf8_prefix(p, avail, limit);
            if (nl && (size_t)(nl - p) < cut) return take(vm, f, (size_t)(nl - p) + 1);
            if ((f->binary && avail >= (size_t)limit) ||
                (!f->binary && (int64_t)utf8_count(p, cut) >= limit))
                return take(vm, f, cut);
        } else if (nl) {
            return take(vm, f, (size_t)(nl - p) + 1);
        }
        scanned = avail;
        int r = fill(vm, f);
        if (r < 0) return VAL_NULL;
        if (r == 0) return take(vm, f, f->rlen - f->rpos);
    }
}

// ---------------------------------------------------------------------------
// Object life cycle

static void file_trace(EddyVM *vm, Obj *self) {
    FileObject *f = (FileObject *)self;
    gc_mark_value(vm, f->name);
    gc_mark_obj(vm, (Obj *)f->mode);
    gc_mark_obj(vm, (Obj *)f->encoding);
}

static void file_finalize(EddyVM *vm, Obj *self) {
    FileObject *f = (FileObject *)self;
    if (!f->closed) {
        flush_raw(f);
        if (f->closefd && f->fd >= 0) close(f->fd);
        f->closed = true;
    }
    if (f->wbuf) mem_free(vm, f->wbuf, f->wcap);
    if (f->rbuf) mem_free(vm, f->rbuf, f->rcap);
    f->wbuf = f->rbuf = NULL;
    f->wcap = f->rcap = 0;
}

static FileObject *file_alloc(EddyVM *vm, bool binary) {
    FileObject *f =
        (FileObject *)obj_alloc(vm, binary ? vm->t_bufferedio : vm->t_textio, sizeof(FileObject));
    if (!f) return NULL;
    f->fd = -1;
    f->name = VAL_NONE;
    f->closed = true;
    return f;
}

Value io_open_fd(EddyVM *vm, int fd, const char *name, const char *mode) {
    FileObject *f = file_alloc(vm, false);
    if (!f) return VAL_NULL;
    StrObject *n = str_from_cstr(vm, name);
    StrObject *m = str_from_cstr(vm, mode);
    StrObject *enc = str_from_cstr(vm, "utf-8");
    if (!n || !m || !enc) return VAL_NULL;
    f->fd = fd;
    f->closed = false;
    f->name = v_obj(n);
    f->mode = m;
    f->encoding = enc;
    f->readable = mode[0] == 'r';
    f->writable = mode[0] != 'r';
    f->closefd = false;
    // CPython: stdout is line-buffered only on a terminal; stderr always.
    f->line_buffering = fd == 2 || isatty(fd);
    return v_obj(f);
}

void io_flush_std(EddyVM *vm) {
    if (!vm->sys) return;
    static const char *const names[] = {"__stdout__", "__stderr__"};
    for (int i = 0; i < 2; i++) {
        StrObject *key = str_intern_cstr(vm, names[i]);
        if (!key) {
            vm_err_clear(vm);
            continue;
        }
        Value v = dict_get_str(vm->sys->dict, key);
        if (!IS_NULL(v) && is_file(vm, v)) flush_raw((FileObject *)AS_OBJ(v));
    }
    // A script may have replaced sys.stdout with another file object.
    Value cur = dict_get_str(vm->sys->dict, vm->names.stdout);
    if (!IS_NULL(cur) && is_file(vm, cur)) flush_raw((FileObject *)AS_OBJ(cur));
}

// Fast path for print(): append UTF-8 text to a file object's buffer.
// Returns 1 handled, 0 not a text file (use .write), -1 error.
int io_write_text(EddyVM *vm, Value file, const char *data, size_t len) {
    if (!IS_OBJ(file) || OBJ_TYPE(AS_OBJ(file)) != vm->t_textio) return 0;
    FileObject *f = (FileObject *)AS_OBJ(file);
    if (check_writable(vm, f) < 0) return -1;
    return buffer_write(vm, f, data, len) < 0 ? -1 : 1;
}

// Fast path for print(flush=True) / input(): 1 flushed, 0 not ours, -1 error.
int io_flush_file(EddyVM *vm, Value file) {
    if (!IS_OBJ(file) || OBJ_TYPE(AS_OBJ(file)) != vm->t_textio) return 0;
    FileObject *f = (FileObject *)AS_OBJ(file);
    if (f->closed) {
        raise_closed(vm);
        return -1;
    }
    return file_flush_buffer(vm, f) < 0 ? -1 : 1;
}

// Fast path for input(): read a line from a text file object. Returns the
// line (with its newline; "" at EOF), V_NULL on error, or VAL_NONE when the
// object is not ours.
Value io_readline_text(EddyVM *vm, Value file) {
    if (!IS_OBJ(file) || OBJ_TYPE(AS_OBJ(file)) != vm->t_textio) return VAL_NONE;
    FileObject *f = (FileObject *)AS_OBJ(file);
    if (check_readable(vm, f) < 0) return VAL_NULL;
    return file_readline_n(vm, f, -1);
}

// ---------------------------------------------------------------------------
// open()

static Value file_open(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    static const char *const names[] = {"file",   "mode",    "buffering", "encoding",
                                        "errors", "newline", "closefd",   "opener"};
    Value a[8];
    if (args_parse(vm, "open", args, nargs, kwnames, names, 8, 8, 1, a) < 0) return VAL_NULL;
    Value file = a[0];
    const char *mode = "r";
    StrObject *mode_str = NULL;
    if (!IS_NULL(a[1])) {
        if (!is_str(vm, a[1]))
            return vm_raise(vm, vm->exc_TypeError, "open() argument 'mode' must be str, not %T",
                            a[1]);
        mode_str = AS_STR(a[1]);
        mode = mode_str->data;
    }
    if (!IS_NULL(a[2])) {
        int64_t b;
        if (vm_index_i64(vm, a[2], &b) < 0) return VAL_NULL;
    }
    if (!IS_NULL(a[3]) && !IS_NONE(a[3]) && !is_str(vm, a[3]))
        return vm_raise(vm, vm->exc_TypeError,
                        "open() argument 'encoding' must be str or None, not %T", a[3]);
    // Parse the mode as CPython's _io.open does.
    int creating = 0, reading = 0, writing = 0, appending = 0, updating = 0, text = 0, binary = 0;
    for (const char *p = mode; *p; p++) {
        int *flag;
        switch (*p) {
        case 'x': flag = &creating; break;
        case 'r': flag = &reading; break;
        case 'w': flag = &writing; break;
        case 'a': flag = &appending; break;
        case '+': flag = &updating; break;
        case 't': flag = &text; break;
        case 'b': flag = &binary; break;
        default: flag = NULL; break;
        }
        if (!flag || *flag) return vm_raise(vm, vm->exc_ValueError, "invalid mode: '%s'", mode);
        *flag = 1;
    }
    if (text && binary)
        return vm_raise(vm, vm->exc_ValueError, "can't have text and binary mode at once");
    if (creating + reading + writing + appending != 1)
        return vm_raise(vm, vm->exc_ValueError,
                        "must have exactly one of create/read/write/append mode");
    if (binary && !IS_NULL(a[3]) && !IS_NONE(a[3]))
        return vm_raise(vm, vm->exc_ValueError, "binary mode doesn't take an encoding argument");
    if (binary && !IS_NULL(a[4]) && !IS_NONE(a[4]))
        return vm_raise(vm, vm->exc_ValueError, "binary mode doesn't take an errors argument");
    if (binary && !IS_NULL(a[5]) && !IS_NONE(a[5]))
        return vm_raise(vm, vm->exc_ValueError, "binary mode doesn't take a newline argument");
    bool closefd = true;
    if (!IS_NULL(a[6])) {
        int t = vm_truthy(vm, a[6]);
        if (t < 0) return VAL_NULL;
        closefd = t;
    }

    int flags = O_CLOEXEC;
    if (updating)
        flags |= O_RDWR;
    else if (reading)
        flags |= O_RDONLY;
    else
        flags |= O_WRONLY;
    if (writing) flags |= O_CREAT | O_TRUNC;
    if (appending) flags |= O_CREAT | O_APPEND;
    if (creating) flags |= O_CREAT | O_EXCL;

    int fd;
    if (is_int(vm, file) && !IS_BOOL(file)) {
        int64_t n;
        if (int_to_i64(vm, file, &n) < 0) return VAL_NULL;
        if (n < 0 || n > INT32_MAX)
            return vm_raise(vm, vm->exc_ValueError, "negative file descriptor");
        fd = (int)n;
    } else if (is_str(vm, file) || is_bytes(vm, file)) {
        const char *path;
        if (is_str(vm, file)) {
            path = AS_STR(file)->data;
            if (strlen(path) != AS_STR(file)->len)
                return vm_raise(vm, vm->exc_ValueError, "embedded null byte");
        } else {
            size_t blen;
            path = (const char *)bytes_data(file, &blen);
            if (strlen(path) != blen) return vm_raise(vm, vm->exc_ValueError, "embedded null byte");
        }
        if (!closefd)
            return vm_raise(vm, vm->exc_ValueError, "Cannot use closefd=False with file name");
        do {
            fd = open(path, flags, 0666);
        } while (fd < 0 && errno == EINTR && !vm->interrupt);
        if (fd < 0 && errno == EINTR) {
            vm->interrupt = 0;
            return vm_raise_value(vm, v_obj(vm->exc_KeyboardInterrupt));
        }
        if (fd < 0) return raise_oserror_value(vm, errno, file);
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            close(fd);
            return raise_oserror_value(vm, EISDIR, file);
        }
    } else {
        return vm_raise(vm, vm->exc_TypeError, "expected str, bytes or os.PathLike object, not %T",
                        file);
    }

    FileObject *f = file_alloc(vm, binary);
    if (!f) {
        if (closefd) close(fd);
        return VAL_NULL;
    }
    f->fd = fd;
    f->closed = false;
    f->closefd = closefd;
    f->binary = binary;
    f->readable = reading || updating;
    f->writable = writing || appending || creating || updating;
    f->name = file;
    if (!mode_str) {
        mode_str = str_from_cstr(vm, mode);
        if (!mode_str) return VAL_NULL;
    }
    f->mode = mode_str;
    if (!binary) {
        if (!IS_NULL(a[3]) && !IS_NONE(a[3])) {
            f->encoding = AS_STR(a[3]);
        } else {
            f->encoding = str_from_cstr(vm, "UTF-8");
            if (!f->encoding) return VAL_NULL;
        }
        f->line_buffering = isatty(fd);
        f->translate = IS_NULL(a[5]) || IS_NONE(a[5]);
    }
    return v_obj(f);
}

// ---------------------------------------------------------------------------
// Methods

static FileObject *self_file(EddyVM *vm, Value self, const char *method) {
    if (!is_file(vm, self)) {
        vm_raise(vm, vm->exc_TypeError, "descriptor '%s' requires a file object but received '%T'",
                 method, self);
        return NULL;
    }
    return (FileObject *)AS_OBJ(self);
}

// An optional size argument: None or missing means -1.
static int size_arg(EddyVM *vm, Value v, int64_t *out) {
    *out = -1;
    if (IS_NULL(v) || IS_NONE(v)) return 0;
    return vm_index_i64(vm, v, out);
}

static Value m_read(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "read");
    if (!f || args_no_kw(vm, "read", kwnames) < 0 || args_count(vm, "read", nargs - 1, 0, 1) < 0)
        return VAL_NULL;
    int64_t n;
    if (size_arg(vm, nargs > 1 ? args[1] : VAL_NULL, &n) < 0) return VAL_NULL;
    if (check_readable(vm, f) < 0) return VAL_NULL;
    return file_read_n(vm, f, n);
}

static Value m_readline(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "readline");
    if (!f || args_no_kw(vm, "readline", kwnames) < 0 ||
        args_count(vm, "readline", nargs - 1, 0, 1) < 0)
        return VAL_NULL;
    int64_t n;
    if (size_arg(vm, nargs > 1 ? args[1] : VAL_NULL, &n) < 0) return VAL_NULL;
    if (check_readable(vm, f) < 0) return VAL_NULL;
    return file_readline_n(vm, f, n);
}

static bool line_empty(EddyVM *vm, FileObject *f, Value line) {
    if (f->binary) {
        size_t len;
        bytes_data(line, &len);
        return len == 0;
    }
    return AS_STR(line)->len == 0;
}

static Value m_readlines(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "readlines");
    if (!f || args_no_kw(vm, "readlines", kwnames) < 0 ||
        args_count(vm, "readlines", nargs - 1, 0, 1) < 0)
        return VAL_NULL;
    int64_t hint;
    if (size_arg(vm, nargs > 1 ? args[1] : VAL_NULL, &hint) < 0) return VAL_NULL;
    if (check_readable(vm, f) < 0) return VAL_NULL;
    ListObject *l = list_new(vm, 0);
    if (!l) return VAL_NULL;
    int64_t total = 0;
    for (;;) {
        Value line = file_readline_n(vm, f, -1);
        if (IS_NULL(line)) return VAL_NULL;
        if (line_empty(vm, f, line)) break;
        if (list_append(vm, l, line) < 0) return VAL_NULL;
        size_t blen = 0;
        if (f->binary) bytes_data(line, &blen);
        total += f->binary ? (int64_t)blen : (int64_t)AS_STR(line)->ncp;
        if (hint > 0 && total >= hint) break;
    }
    return v_obj(l);
}

static Value write_one(EddyVM *vm, FileObject *f, Value data) {
    if (f->binary) {
        if (!is_bytes(vm, data))
            return vm_raise(vm, vm->exc_TypeError, "a bytes-like object is required, not '%T'",
                            data);
        size_t len;
        const uint8_t *p = bytes_data(data, &len);
        if (buffer_write(vm, f, (const char *)p, len) < 0) return VAL_NULL;
        return v_int((int64_t)len);
    }
    if (!is_str(vm, data))
        return vm_raise(vm, vm->exc_TypeError, "write() argument must be str, not %T", data);
    StrObject *s = AS_STR(data);
    if (buffer_write(vm, f, s->data, s->len) < 0) return VAL_NULL;
    return v_int((int64_t)s->ncp);
}

static Value m_write(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "write");
    if (!f || args_no_kw(vm, "write", kwnames) < 0 || args_count(vm, "write", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    if (check_writable(vm, f) < 0) return VAL_NULL;
    return write_one(vm, f, args[1]);
}

static Value m_writelines(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "writelines");
    if (!f || args_no_kw(vm, "writelines", kwnames) < 0 ||
        args_count(vm, "writelines", nargs - 1, 1, 1) < 0)
        return VAL_NULL;
    if (check_writable(vm, f) < 0) return VAL_NULL;
    Value it = vm_iter(vm, args[1]);
    if (IS_NULL(it)) return VAL_NULL;
    if (vm_push_root(vm, it) < 0) return VAL_NULL;
    Value item, result = VAL_NONE;
    int r;
    while ((r = vm_next(vm, it, &item)) > 0) {
        if (check_writable(vm, f) < 0 || IS_NULL(write_one(vm, f, item))) {
            result = VAL_NULL;
            break;
        }
    }
    if (r < 0) result = VAL_NULL;
    vm_pop_roots(vm, 1);
    return result;
}

static Value m_flush(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "flush");
    if (!f || args_count(vm, "flush", nargs - 1, 0, 0) < 0) return VAL_NULL;
    if (f->closed) return raise_closed(vm);
    if (file_flush_buffer(vm, f) < 0) return VAL_NULL;
    return VAL_NONE;
}

static Value m_close(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "close");
    if (!f || args_count(vm, "close", nargs - 1, 0, 0) < 0) return VAL_NULL;
    if (f->closed) return VAL_NONE;
    int err = flush_raw(f);
    f->closed = true;
    if (f->closefd && f->fd >= 0 && close(f->fd) < 0 && !err) err = errno;
    if (err) return raise_file_error(vm, f, err);
    return VAL_NONE;
}

static Value m_fileno(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "fileno");
    if (!f || args_count(vm, "fileno", nargs - 1, 0, 0) < 0) return VAL_NULL;
    if (f->closed) return raise_closed(vm);
    return v_int(f->fd);
}

static Value m_isatty(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "isatty");
    if (!f || args_count(vm, "isatty", nargs - 1, 0, 0) < 0) return VAL_NULL;
    if (f->closed) return raise_closed(vm);
    return v_bool(isatty(f->fd));
}

static Value m_readable(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "readable");
    if (!f) return VAL_NULL;
    if (f->closed) return raise_closed(vm);
    return v_bool(f->readable);
}

static Value m_writable(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "writable");
    if (!f) return VAL_NULL;
    if (f->closed) return raise_closed(vm);
    return v_bool(f->writable);
}

static Value m_seekable(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "seekable");
    if (!f) return VAL_NULL;
    if (f->closed) return raise_closed(vm);
    return v_bool(lseek(f->fd, 0, SEEK_CUR) >= 0);
}

static Value m_seek(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "seek");
    if (!f || args_no_kw(vm, "seek", kwnames) < 0 || args_count(vm, "seek", nargs - 1, 1, 2) < 0)
        return VAL_NULL;
    int64_t off, whence = 0;
    if (vm_index_i64(vm, args[1], &off) < 0) return VAL_NULL;
    if (nargs > 2 && vm_index_i64(vm, args[2], &whence) < 0) return VAL_NULL;
    if (f->closed) return raise_closed(vm);
    if (whence < 0 || whence > 2)
        return vm_raise(vm, vm->exc_ValueError, "invalid whence (%lld, should be 0, 1 or 2)",
                        (long long)whence);
    if (!f->binary && whence != 0 && off != 0) {
        return vm_raise(vm, vm->exc_OSError, "can't do nonzero %s-relative seeks",
                        whence == 1 ? "cur" : "end");
    }
    if (file_flush_buffer(vm, f) < 0) return VAL_NULL;
    if (whence == 1) drop_readahead(f);
    f->rpos = f->rlen = 0;
    f->eof = false;
    off_t r = lseek(f->fd, (off_t)off, (int)whence);
    if (r < 0) return raise_file_error(vm, f, errno);
    return v_int((int64_t)r);
}

static Value m_tell(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "tell");
    if (!f || args_count(vm, "tell", nargs - 1, 0, 0) < 0) return VAL_NULL;
    if (f->closed) return raise_closed(vm);
    off_t r = lseek(f->fd, 0, SEEK_CUR);
    if (r < 0) return raise_file_error(vm, f, errno);
    return v_int((int64_t)r + (int64_t)f->wlen - (int64_t)(f->rlen - f->rpos));
}

static Value m_truncate(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "truncate");
    if (!f || args_count(vm, "truncate", nargs - 1, 0, 1) < 0) return VAL_NULL;
    if (check_writable(vm, f) < 0 || file_flush_buffer(vm, f) < 0) return VAL_NULL;
    int64_t size;
    if (nargs > 1 && !IS_NONE(args[1])) {
        if (vm_index_i64(vm, args[1], &size) < 0) return VAL_NULL;
    } else {
        drop_readahead(f);
        size = (int64_t)lseek(f->fd, 0, SEEK_CUR);
    }
    if (ftruncate(f->fd, (off_t)size) < 0) return raise_file_error(vm, f, errno);
    return v_int(size);
}

static Value m_enter(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "__enter__");
    if (!f) return VAL_NULL;
    if (f->closed) return raise_closed(vm);
    return args[0];
}

static Value m_exit(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    Value r = m_close(vm, args, 1, NULL);
    return IS_NULL(r) ? r : VAL_NONE;
}

static Value g_closed(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "closed");
    return f ? v_bool(f->closed) : VAL_NULL;
}

static Value g_name(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "name");
    return f ? f->name : VAL_NULL;
}

static Value g_mode(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "mode");
    if (!f) return VAL_NULL;
    if (f->binary) {
        // BufferedReader.mode is the raw FileIO's: "rb", "wb", "rb+", ...
        const char *m = f->mode->data;
        bool plus = strchr(m, '+') != NULL;
        char c = strchr(m, 'r') ? 'r' : strchr(m, 'w') ? 'w' : strchr(m, 'a') ? 'a' : 'x';
        StrObject *s = str_format(vm, "%cb%s", c, plus ? "+" : "");
        if (c == 'w' && plus) s = str_from_cstr(vm, "rb+");
        return s ? v_obj(s) : VAL_NULL;
    }
    return v_obj(f->mode);
}

static Value g_encoding(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "encoding");
    if (!f) return VAL_NULL;
    if (!f->encoding)
        return vm_raise(vm, vm->exc_AttributeError, "'%T' object has no attribute 'encoding'",
                        args[0]);
    return v_obj(f->encoding);
}

static Value g_line_buffering(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    FileObject *f = self_file(vm, args[0], "line_buffering");
    return f ? v_bool(f->line_buffering) : VAL_NULL;
}

static Value file_repr(EddyVM *vm, Value self) {
    FileObject *f = (FileObject *)AS_OBJ(self);
    StrObject *s;
    if (f->binary) {
        const char *kind = "BufferedReader";
        if (f->readable && f->writable)
            kind = "BufferedRandom";
        else if (f->writable)
            kind = "BufferedWriter";
        s = str_format(vm, "<_io.%s name=%R>", kind, f->name);
    } else {
        s = str_format(vm, "<_io.TextIOWrapper name=%R mode=%R encoding=%R>", f->name,
                       v_obj(f->mode), v_obj(f->encoding));
    }
    return s ? v_obj(s) : VAL_NULL;
}

static Value file_iter(EddyVM *vm, Value self) {
    FileObject *f = (FileObject *)AS_OBJ(self);
    if (f->closed) return raise_closed(vm);
    return self;
}

static int file_next(EddyVM *vm, Value self, Value *out) {
    FileObject *f = (FileObject *)AS_OBJ(self);
    if (check_readable(vm, f) < 0) return -1;
    Value line = file_readline_n(vm, f, -1);
    if (IS_NULL(line)) return -1;
    if (line_empty(vm, f, line)) return 0;
    *out = line;
    return 1;
}

static int init_file_type(EddyVM *vm, TypeObject *t, bool text) {
    if (!type_new_builtin(vm, t, vm->t_object, sizeof(FileObject), 0)) return -1;
    StrObject *mod = str_intern_cstr(vm, "_io");
    if (!mod) return -1;
    t->module = mod;
    t->trace = file_trace;
    t->finalize = file_finalize;
    t->repr = file_repr;
    t->iter = file_iter;
    t->next = file_next;
    static const struct {
        const char *name;
        NativeFn fn;
    } methods[] = {
        {"read", m_read},
        {"readline", m_readline},
        {"readlines", m_readlines},
        {"write", m_write},
        {"writelines", m_writelines},
        {"flush", m_flush},
        {"close", m_close},
        {"fileno", m_fileno},
        {"isatty", m_isatty},
        {"readable", m_readable},
        {"writable", m_writable},
        {"seekable", m_seekable},
        {"seek", m_seek},
        {"tell", m_tell},
        {"truncate", m_truncate},
        {"__enter__", m_enter},
        {"__exit__", m_exit},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, NATIVE_METHOD) < 0) return -1;
    }
    if (type_add_getter(vm, t, "closed", g_closed) < 0 ||
        type_add_getter(vm, t, "name", g_name) < 0 || type_add_getter(vm, t, "mode", g_mode) < 0)
        return -1;
    if (text && (type_add_getter(vm, t, "encoding", g_encoding) < 0 ||
                 type_add_getter(vm, t, "line_buffering", g_line_buffering) < 0))
        return -1;
    return 0;
}

// ---------------------------------------------------------------------------
// io.StringIO: an in-memory text file. The text is kept as UTF-8 bytes; the
// position is a byte offset on a character boundary (or past the end, where
// a write pads with NULs), and tell()/seek() convert to character counts.

typedef struct StringIOObject {
    Obj hdr;
    char *data;
    size_t len, cap;
    size_t pos;
    bool closed;
} StringIOObject;

static void stringio_finalize(EddyVM *vm, Obj *self) {
    StringIOObject *s = (StringIOObject *)self;
    if (s->data) mem_free(vm, s->data, s->cap);
    s->data = NULL;
    s->cap = s->len = 0;
}

static int sio_reserve(EddyVM *vm, StringIOObject *s, size_t need) {
    if (need <= s->cap) return 0;
    size_t ncap = s->cap ? s->cap : 64;
    while (ncap < need) ncap *= 2;
    char *nd = mem_realloc(vm, s->data, s->cap, ncap);
    if (!nd) return -1;
    s->data = nd;
    s->cap = ncap;
    return 0;
}

static StringIOObject *self_sio(EddyVM *vm, Value self, const char *method, bool check_closed) {
    if (!IS_OBJ(self) || !type_is_subtype(OBJ_TYPE(AS_OBJ(self)), vm->t_stringio)) {
        vm_raise(vm, vm->exc_TypeError,
                 "descriptor '%s' for '_io.StringIO' objects doesn't apply to a '%T' object",
                 method, self);
        return NULL;
    }
    StringIOObject *s = (StringIOObject *)AS_OBJ(self);
    if (check_closed && s->closed) {
        vm_raise(vm, vm->exc_ValueError, "I/O operation on closed file");
        return NULL;
    }
    return s;
}

// Character index of the current position.
static int64_t sio_tell(StringIOObject *s) {
    if (s->pos <= s->len) return (int64_t)utf8_count(s->data ? s->data : "", s->pos);
    return (int64_t)utf8_count(s->data ? s->data : "", s->len) + (int64_t)(s->pos - s->len);
}

static int sio_write_str(EddyVM *vm, StringIOObject *s, StrObject *str) {
    if (str->len == 0) return 0;
    if (s->pos > s->len) {
        // Writing past the end pads the gap with NUL characters.
        if (sio_reserve(vm, s, s->pos) < 0) return -1;
        memset(s->data + s->len, 0, s->pos - s->len);
        s->len = s->pos;
    }
    // Overwrite as many characters as are written (their widths may differ).
    size_t end = s->pos + utf8_prefix(s->data + s->pos, s->len - s->pos, (int64_t)str->ncp);
    size_t newlen = s->len - (end - s->pos) + str->len;
    if (sio_reserve(vm, s, newlen + 1) < 0) return -1;
    memmove(s->data + s->pos + str->len, s->data + end, s->len - end);
    memcpy(s->data + s->pos, str->data, str->len);
    s->len = newlen;
    s->pos += str->len;
    return 0;
}

static Value sio_take(EddyVM *vm, StringIOObject *s, size_t n) {
    StrObject *r = str_new(vm, s->data ? s->data + s->pos : "", n);
    if (!r) return VAL_NULL;
    s->pos += n;
    return v_obj(r);
}

static Value stringio_new(EddyVM *vm, TypeObject *t, Value *args, int nargs, TupleObject *kwnames) {
    static const char *const names[] = {"initial_value", "newline"};
    Value a[2];
    if (args_parse(vm, "StringIO", args, nargs, kwnames, names, 2, 2, 0, a) < 0) return VAL_NULL;
    if (!IS_NULL(a[0]) && !IS_NONE(a[0]) && !is_str(vm, a[0]))
        return vm_raise(vm, vm->exc_TypeError, "initial_value must be str or None, not %T", a[0]);
    StringIOObject *s = (StringIOObject *)obj_alloc(vm, t, t->instance_size);
    if (!s) return VAL_NULL;
    if (!IS_NULL(a[0]) && !IS_NONE(a[0])) {
        if (sio_write_str(vm, s, AS_STR(a[0])) < 0) return VAL_NULL;
        s->pos = 0;
    }
    return v_obj(s);
}

static Value sio_write(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "write", nargs - 1, 1, 1) < 0) return VAL_NULL;
    StringIOObject *s = self_sio(vm, args[0], "write", true);
    if (!s) return VAL_NULL;
    if (!is_str(vm, args[1]))
        return vm_raise(vm, vm->exc_TypeError, "string argument expected, got '%T'", args[1]);
    if (sio_write_str(vm, s, AS_STR(args[1])) < 0) return VAL_NULL;
    return v_int((int64_t)AS_STR(args[1])->ncp);
}

static Value sio_writelines(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "writelines", nargs - 1, 1, 1) < 0) return VAL_NULL;
    if (!self_sio(vm, args[0], "writelines", true)) return VAL_NULL;
    Value it = vm_iter(vm, args[1]);
    if (IS_NULL(it) || vm_push_root(vm, it) < 0) return VAL_NULL;
    Value item, result = VAL_NONE;
    int r;
    while ((r = vm_next(vm, it, &item)) > 0) {
        Value pair[2] = {args[0], item};
        if (IS_NULL(sio_write(vm, pair, 2, NULL))) {
            result = VAL_NULL;
            break;
        }
    }
    if (r < 0) result = VAL_NULL;
    vm_pop_roots(vm, 1);
    return result;
}

static Value sio_getvalue(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    StringIOObject *s = self_sio(vm, args[0], "getvalue", true);
    if (!s || args_count(vm, "getvalue", nargs - 1, 0, 0) < 0) return VAL_NULL;
    StrObject *r = str_new(vm, s->data ? s->data : "", s->len);
    return r ? v_obj(r) : VAL_NULL;
}

static Value sio_read(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    StringIOObject *s = self_sio(vm, args[0], "read", true);
    if (!s || args_count(vm, "read", nargs - 1, 0, 1) < 0) return VAL_NULL;
    int64_t n;
    if (size_arg(vm, nargs > 1 ? args[1] : VAL_NULL, &n) < 0) return VAL_NULL;
    if (s->pos >= s->len) return v_obj(vm->names.empty);
    size_t avail = s->len - s->pos;
    return sio_take(vm, s, n < 0 ? avail : utf8_prefix(s->data + s->pos, avail, n));
}

static Value sio_readline_n(EddyVM *vm, StringIOObject *s, int64_t limit) {
    if (s->pos >= s->len) return v_obj(vm->names.empty);
    size_t avail = s->len - s->pos;
    const char *p = s->data + s->pos;
    size_t cut = limit < 0 ? avail : utf8_prefix(p, avail, limit);
    const char *nl = memchr(p, '\n', cut);
    return sio_take(vm, s, nl ? (size_t)(nl - p) + 1 : cut);
}

static Value sio_readline(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    StringIOObject *s = self_sio(vm, args[0], "readline", true);
    if (!s || args_count(vm, "readline", nargs - 1, 0, 1) < 0) return VAL_NULL;
    int64_t n;
    if (size_arg(vm, nargs > 1 ? args[1] : VAL_NULL, &n) < 0) return VAL_NULL;
    return sio_readline_n(vm, s, n);
}

static Value sio_readlines(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    StringIOObject *s = self_sio(vm, args[0], "readlines", true);
    if (!s || args_count(vm, "readlines", nargs - 1, 0, 1) < 0) return VAL_NULL;
    ListObject *l = list_new(vm, 0);
    if (!l) return VAL_NULL;
    while (s->pos < s->len) {
        Value line = sio_readline_n(vm, s, -1);
        if (IS_NULL(line) || list_append(vm, l, line) < 0) return VAL_NULL;
    }
    return v_obj(l);
}

static Value sio_tell_m(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    StringIOObject *s = self_sio(vm, args[0], "tell", true);
    if (!s || args_count(vm, "tell", nargs - 1, 0, 0) < 0) return VAL_NULL;
    return v_int(sio_tell(s));
}

static Value sio_seek(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    if (args_count(vm, "seek", nargs - 1, 1, 2) < 0) return VAL_NULL;
    StringIOObject *s = self_sio(vm, args[0], "seek", true);
    if (!s) return VAL_NULL;
    int64_t off, whence = 0;
    if (vm_index_i64(vm, args[1], &off) < 0) return VAL_NULL;
    if (nargs > 2 && vm_index_i64(vm, args[2], &whence) < 0) return VAL_NULL;
    if (whence < 0 || whence > 2)
        return vm_raise(vm, vm->exc_ValueError, "Invalid whence (%lld, should be 0, 1 or 2)",
                        (long long)whence);
    if (whence == 0 && off < 0)
        return vm_raise(vm, vm->exc_ValueError, "Negative seek position %lld", (long long)off);
    if (whence != 0 && off != 0)
        return vm_raise(vm, vm->exc_OSError, "Can't do nonzero cur-relative seeks");
    if (whence == 1) return v_int(sio_tell(s));
    if (whence == 2) {
        s->pos = s->len;
        return v_int(sio_tell(s));
    }
    size_t b = utf8_prefix(s->data ? s->data : "", s->len, off);
    int64_t chars = (int64_t)utf8_count(s->data ? s->data : "", b);
    s->pos = b + (size_t)(off - chars); // past the end: one byte per missing char
    return v_int(off);
}

static Value sio_truncate(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    StringIOObject *s = self_sio(vm, args[0], "truncate", true);
    if (!s || args_count(vm, "truncate", nargs - 1, 0, 1) < 0) return VAL_NULL;
    int64_t size = sio_tell(s);
    if (nargs > 1 && !IS_NONE(args[1])) {
        if (vm_index_i64(vm, args[1], &size) < 0) return VAL_NULL;
        if (size < 0)
            return vm_raise(vm, vm->exc_ValueError, "Negative size value %lld", (long long)size);
    }
    size_t b = utf8_prefix(s->data ? s->data : "", s->len, size);
    if (b < s->len) s->len = b;
    return v_int(size);
}

static Value sio_close(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    StringIOObject *s = self_sio(vm, args[0], "close", false);
    if (!s) return VAL_NULL;
    s->closed = true;
    return VAL_NONE;
}

static Value sio_true_if_open(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return self_sio(vm, args[0], "readable", true) ? VAL_TRUE : VAL_NULL;
}

static Value sio_false_if_open(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return self_sio(vm, args[0], "isatty", true) ? VAL_FALSE : VAL_NULL;
}

static Value sio_flush(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return self_sio(vm, args[0], "flush", true) ? VAL_NONE : VAL_NULL;
}

static Value sio_enter(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return self_sio(vm, args[0], "__enter__", true) ? args[0] : VAL_NULL;
}

static Value sio_exit(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return sio_close(vm, args, 1, NULL);
}

static Value sio_closed(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    StringIOObject *s = self_sio(vm, args[0], "closed", false);
    return s ? v_bool(s->closed) : VAL_NULL;
}

static Value sio_iter(EddyVM *vm, Value self) {
    if (((StringIOObject *)AS_OBJ(self))->closed)
        return vm_raise(vm, vm->exc_ValueError, "I/O operation on closed file");
    return self;
}

static int sio_next(EddyVM *vm, Value self, Value *out) {
    StringIOObject *s = (StringIOObject *)AS_OBJ(self);
    if (s->closed) {
        vm_raise(vm, vm->exc_ValueError, "I/O operation on closed file");
        return -1;
    }
    if (s->pos >= s->len) return 0;
    Value line = sio_readline_n(vm, s, -1);
    if (IS_NULL(line)) return -1;
    *out = line;
    return 1;
}

static int init_stringio_type(EddyVM *vm) {
    TypeObject *t =
        type_new_builtin(vm, vm->t_stringio, vm->t_object, sizeof(StringIOObject), TPF_BASETYPE);
    if (!t) return -1;
    StrObject *mod = str_intern_cstr(vm, "_io");
    if (!mod) return -1;
    t->module = mod;
    t->finalize = stringio_finalize;
    t->new_ = stringio_new;
    t->iter = sio_iter;
    t->next = sio_next;
    static const struct {
        const char *name;
        NativeFn fn;
    } methods[] = {
        {"write", sio_write},           {"writelines", sio_writelines},
        {"getvalue", sio_getvalue},     {"read", sio_read},
        {"readline", sio_readline},     {"readlines", sio_readlines},
        {"tell", sio_tell_m},           {"seek", sio_seek},
        {"truncate", sio_truncate},     {"close", sio_close},
        {"readable", sio_true_if_open}, {"writable", sio_true_if_open},
        {"seekable", sio_true_if_open}, {"isatty", sio_false_if_open},
        {"flush", sio_flush},           {"__enter__", sio_enter},
        {"__exit__", sio_exit},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (type_add_method(vm, t, methods[i].name, methods[i].fn, NATIVE_METHOD) < 0) return -1;
    }
    return type_add_getter(vm, t, "closed", sio_closed);
}

int io_init_types(EddyVM *vm) {
    if (init_file_type(vm, vm->t_textio, true) < 0) return -1;
    if (init_file_type(vm, vm->t_bufferedio, false) < 0) return -1;
    if (init_stringio_type(vm) < 0) return -1;
    return 0;
}

// The io module: open(), the file classes, StringIO, UnsupportedOperation.
int io_module_init(EddyVM *vm, ModuleObject *m) {
    // io.open is builtins.open (the same object, as in CPython).
    StrObject *open_name = str_intern_cstr(vm, "open");
    if (!open_name) return -1;
    Value open_fn = vm->builtins_dict ? dict_get_str(vm->builtins_dict, open_name) : VAL_NULL;
    if (!IS_NULL(open_fn)) {
        if (module_add_value(vm, m, "open", open_fn) < 0) return -1;
    } else if (module_add_function(vm, m, "open", file_open) < 0) {
        return -1;
    }
    if (module_add_value(vm, m, "TextIOWrapper", v_obj(vm->t_textio)) < 0 ||
        module_add_value(vm, m, "BufferedReader", v_obj(vm->t_bufferedio)) < 0 ||
        module_add_value(vm, m, "StringIO", v_obj(vm->t_stringio)) < 0 ||
        module_add_value(vm, m, "SEEK_SET", v_int(0)) < 0 ||
        module_add_value(vm, m, "SEEK_CUR", v_int(1)) < 0 ||
        module_add_value(vm, m, "SEEK_END", v_int(2)) < 0 ||
        module_add_value(vm, m, "DEFAULT_BUFFER_SIZE", v_int(IO_BUFSIZE)) < 0)
        return -1;
    // class UnsupportedOperation(OSError, ValueError), as in CPython.
    Value bases_items[2] = {v_obj(vm->exc_OSError), v_obj(vm->exc_ValueError)};
    TupleObject *bases = tuple_from(vm, bases_items, 2);
    DictObject *ns = dict_new(vm);
    StrObject *name = str_intern_cstr(vm, "UnsupportedOperation");
    StrObject *modname = str_intern_cstr(vm, "io");
    if (!bases || !ns || !name || !modname) return -1;
    if (dict_set_str(vm, ns, vm->names.__module__, v_obj(modname)) < 0) return -1;
    if (vm_push_root(vm, v_obj(ns)) < 0) return -1;
    if (vm_push_root(vm, v_obj(bases)) < 0) {
        vm_pop_roots(vm, 1);
        return -1;
    }
    TypeObject *cls = type_new_class(vm, vm->t_type, name, bases, ns);
    vm_pop_roots(vm, 2);
    if (!cls) return -1;
    return module_add_value(vm, m, "UnsupportedOperation", v_obj(cls));
}

// The builtin open(), bound by builtins_init.
Value io_builtin_open(EddyVM *vm, Value *args, int nargs, TupleObject *kwnames) {
    return file_open(vm, args, nargs, kwnames);
}
