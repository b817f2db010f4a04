// arena.c - bump allocator for the AST.
//
// The parser allocates thousands of small nodes that all die together when
// compilation ends, so they come from big chunks and are freed in one go.
// This file is plain C on purpose: the compiler front end has no VM.
#include <stdlib.h>
#include <string.h>

#include "ast.h"

enum { ARENA_CHUNK = 64 * 1024, ARENA_ALIGN = 16 };

typedef struct Chunk {
    struct Chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} Chunk;

struct Arena {
    Chunk *head;
};

Arena *arena_new(void) { return calloc(1, sizeof(Arena)); }

void arena_free(Arena *a) {
    if (!a) return;
    Chunk *c = a->head;
    while (c) {
        Chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *arena_alloc(Arena *a, size_t size) {
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (size == 0) size = ARENA_ALIGN;
    Chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        // Big requests get a chunk of their own, pushed behind the current
        // one so the current chunk's free space stays usable.
        size_t cap = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
        Chunk *n = malloc(sizeof(Chunk) + cap);
        if (!n) return NULL;
        n->size = cap;
        n->used = 0;
        if (c && cap != ARENA_CHUNK) {
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t len) {
    char *p = arena_alloc(a, len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
