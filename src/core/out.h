/* out.h - a response body as a chain of memory and file segments.
 *
 * The writer sends memory with writev and files with sendfile (or pread and
 * write), so a static file never passes through user space when it need
 * not. */
#ifndef TP_OUT_H
#define TP_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/mpool.h"

struct ofile;

enum out_kind {
    OUT_MEM,  /* bytes in memory */
    OUT_FILE, /* a range of an open file */
};

struct out_seg {
    struct out_seg *next; /* next segment */
    enum out_kind kind;   /* what it is */
    const char *p;        /* OUT_MEM: the bytes (must outlive the response) */
    struct ofile *file;   /* OUT_FILE: the file; the request holds a reference */
    off_t off;            /* OUT_FILE: where the range starts */
    size_t len;           /* bytes in this segment */
};

/* A chain of segments; allocated from a request's arena. */
struct out {
    struct out_seg *head;  /* first segment, or NULL */
    struct out_seg **tail; /* where the next one links */
    uint64_t len;          /* total bytes */
};

void out_init(struct out *o);
/* Appends; -1 when the arena is out of memory. */
int out_mem(struct mpool *p, struct out *o, const char *data, size_t len);
int out_file(struct mpool *p, struct out *o, struct ofile *f, off_t off, size_t len);

#endif
