/* mpool.c - arena allocator. */
#include "core/mpool.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MPOOL_ALIGN 16

struct mpool_block {
    struct mpool_block *next;                   /* older block */
    size_t size;                                /* bytes in data */
    size_t used;                                /* bytes handed out */
    _Alignas(MPOOL_ALIGN) unsigned char data[]; /* the memory */
};

void mpool_init(struct mpool *p, size_t block_size)
{
    p->head = NULL;
    p->block_size = block_size;
}

static struct mpool_block *mpool_grow(struct mpool *p, size_t n)
{
    size_t size = n > p->block_size ? n : p->block_size;
    struct mpool_block *b = malloc(sizeof(*b) + size);
    if (b == NULL)
        return NULL;
    b->size = size;
    b->used = 0;
    /* An oversized block goes behind the head so the head's free space
     * stays usable for the small allocations that follow. */
    if (n > p->block_size && p->head != NULL) {
        b->next = p->head->next;
        p->head->next = b;
    } else {
        b->next = p->head;
        p->head = b;
    }
    return b;
}

void *mpool_alloc(struct mpool *p, size_t n)
{
    struct mpool_block *b = p->head;
    if (n == 0)
        n = 1;
    n = (n + MPOOL_ALIGN - 1) & ~(size_t)(MPOOL_ALIGN - 1);
    if (b == NULL || b->size - b->used < n) {
        b = mpool_grow(p, n);
        if (b == NULL)
            return NULL;
    }
    void *ptr = b->data + b->used;
    b->used += n;
    return ptr;
}

void *mpool_calloc(struct mpool *p, size_t n)
{
    void *ptr = mpool_alloc(p, n);
    if (ptr != NULL)
        memset(ptr, 0, n);
    return ptr;
}

char *mpool_strndup(struct mpool *p, const char *s, size_t n)
{
    char *d = mpool_alloc(p, n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *mpool_strdup(struct mpool *p, const char *s)
{
    return mpool_strndup(p, s, strlen(s));
}

char *mpool_printf(struct mpool *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = mpool_alloc(p, (size_t)n + 1);
    if (d == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

void mpool_reset(struct mpool *p)
{
    struct mpool_block *b = p->head;
    while (b != NULL) {
        struct mpool_block *next = b->next;
        free(b);
        b = next;
    }
    p->head = NULL;
}
