/* out.c - a response body as a chain of memory and file segments. */
#include "core/out.h"

void out_init(struct out *o)
{
    o->head = NULL;
    o->tail = &o->head;
    o->len = 0;
}

static struct out_seg *out_append(struct mpool *p, struct out *o, enum out_kind kind, size_t len)
{
    struct out_seg *s = mpool_calloc(p, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->kind = kind;
    s->len = len;
    *o->tail = s;
    o->tail = &s->next;
    o->len += len;
    return s;
}

int out_mem(struct mpool *p, struct out *o, const char *data, size_t len)
{
    struct out_seg *s;
    /* An empty segment would only make the writer issue an empty write. */
    if (len == 0)
        return 0;
    s = out_append(p, o, OUT_MEM, len);
    if (s == NULL)
        return -1;
    s->p = data;
    return 0;
}

int out_file(struct mpool *p, struct out *o, struct ofile *f, off_t off, size_t len)
{
    struct out_seg *s;
    /* sendfile returning 0 means end of file, so never ask it for 0 bytes. */
    if (len == 0)
        return 0;
    s = out_append(p, o, OUT_FILE, len);
    if (s == NULL)
        return -1;
    s->file = f;
    s->off = off;
    return 0;
}
