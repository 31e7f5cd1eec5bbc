/* owner.h - a reference count for objects that asynchronous work may outlive.
 *
 * A connection embeds one.  Each pool job takes a reference; closing the
 * connection marks it gone and drops the connection's own reference, and the
 * memory goes only when the last reference does.  That is how a job can
 * finish after its connection closed and still never touch freed memory. */
#ifndef TP_OWNER_H
#define TP_OWNER_H

#include <assert.h>
#include <stdbool.h>

struct owner;
typedef void (*owner_release_cb)(struct owner *o);

struct owner {
    unsigned refs;            /* 1 for the object's own life, +1 per holder */
    bool gone;                /* closed: holders must not touch the object */
    owner_release_cb release; /* called once when refs reaches 0 */
};

static inline void owner_init(struct owner *o, owner_release_cb release)
{
    o->refs = 1;
    o->gone = false;
    o->release = release;
}

static inline void owner_get(struct owner *o)
{
    o->refs++;
}

static inline void owner_put(struct owner *o)
{
    assert(o->refs > 0);
    if (--o->refs == 0)
        o->release(o);
}

/* Mark gone and drop the object's own reference. */
static inline void owner_close(struct owner *o)
{
    assert(!o->gone);
    o->gone = true;
    owner_put(o);
}

#endif
