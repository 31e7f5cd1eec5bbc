/* mpool.h - an arena: many allocations, one destructor.
 *
 * A configuration generation lives in one arena, and so does a request
 * between keep-alive resets. */
#ifndef TP_MPOOL_H
#define TP_MPOOL_H

#include <stddef.h>

struct mpool_block;

struct mpool {
    struct mpool_block *head; /* newest block; allocation happens here */
    size_t block_size;        /* size of a normal block's data area */
};

void mpool_init(struct mpool *p, size_t block_size);
/* Returns 16-byte aligned memory, or NULL when malloc fails. */
void *mpool_alloc(struct mpool *p, size_t n);
void *mpool_calloc(struct mpool *p, size_t n);
char *mpool_strndup(struct mpool *p, const char *s, size_t n);
char *mpool_strdup(struct mpool *p, const char *s);
char *mpool_printf(struct mpool *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees every block: the arena is empty and reusable. */
void mpool_reset(struct mpool *p);
#define mpool_destroy mpool_reset

#endif
