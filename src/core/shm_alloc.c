/* shm_alloc.c - pages and size classes in shared memory (shm_alloc.h). */
#include "core/shm_alloc.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#define SLAB_MIN_SHIFT 4 /* 16-byte slots: a free slot's link fits, and so does alignment */
#define SLAB_CLASSES 8   /* 16 .. 2048 */

/* What a page is used for. */
enum slab_kind {
    SLAB_FREE,     /* on the free pages */
    SLAB_SLOTS,    /* cut into slots of one class */
    SLAB_BIG,      /* the first page of a run given whole */
    SLAB_BIG_TAIL, /* a later page of such a run */
};

/* One page's descriptor (kept apart from the pages, so that a page is all
 * usable and a big run is contiguous). */
struct slab_page {
    struct slab_page *prev; /* the list it is on: the free pages, or its class's */
    struct slab_page *next; /* pages with a free slot */
    void *free;             /* first free slot; each free slot holds the next */
    uint32_t run;           /* SLAB_BIG: pages in the run */
    uint16_t used;          /* SLAB_SLOTS: slots in use */
    uint8_t kind;           /* enum slab_kind */
    uint8_t cls;            /* SLAB_SLOTS: its class */
};

struct shm_slab {
    struct slab_page *pages;                /* the descriptors, one per page */
    char *base;                             /* the first page */
    uint32_t npages;                        /* pages in all */
    uint32_t nfree;                         /* pages on the free list */
    struct slab_page free;                  /* sentinel of the free pages */
    struct slab_page partial[SLAB_CLASSES]; /* sentinels: each class's pages with room */
};

static void slab_list_init(struct slab_page *head)
{
    head->prev = head->next = head;
}

static bool slab_list_empty(const struct slab_page *head)
{
    return head->next == head;
}

static void slab_link(struct slab_page *head, struct slab_page *p)
{
    p->next = head->next;
    p->prev = head;
    head->next->prev = p;
    head->next = p;
}

static void slab_unlink(struct slab_page *p)
{
    p->prev->next = p->next;
    p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

static uintptr_t slab_align_up(uintptr_t v, uintptr_t a)
{
    return (v + a - 1) & ~(a - 1);
}

struct shm_slab *shm_slab_init(void *mem, size_t len)
{
    uintptr_t start = slab_align_up((uintptr_t)mem, 16), end = (uintptr_t)mem + len;
    if (end < start + sizeof(struct shm_slab))
        return NULL;
    struct shm_slab *s = (struct shm_slab *)start;
    uintptr_t descs = slab_align_up(start + sizeof(*s), 16);
    if (end < descs)
        return NULL;
    /* Each page costs its bytes and a descriptor; pages start aligned. */
    size_t n = (end - descs) / (SHM_PAGE + sizeof(struct slab_page));
    uintptr_t base = slab_align_up(descs + n * sizeof(struct slab_page), SHM_PAGE);
    while (n > 0 && base + n * SHM_PAGE > end)
        n--;
    if (n == 0)
        return NULL;
    *s = (struct shm_slab){.pages = (struct slab_page *)descs, .base = (char *)base};
    s->npages = (uint32_t)n;
    slab_list_init(&s->free);
    for (int c = 0; c < SLAB_CLASSES; c++)
        slab_list_init(&s->partial[c]);
    for (size_t i = n; i-- > 0;) {
        s->pages[i] = (struct slab_page){.kind = SLAB_FREE};
        slab_link(&s->free, &s->pages[i]);
    }
    s->nfree = (uint32_t)n;
    return s;
}

static char *slab_page_addr(const struct shm_slab *s, const struct slab_page *p)
{
    return s->base + (size_t)(p - s->pages) * SHM_PAGE;
}

static size_t slab_slot_size(int cls)
{
    return (size_t)1 << (SLAB_MIN_SHIFT + cls);
}

static int slab_class_of(size_t n)
{
    int c = 0;
    while (slab_slot_size(c) < n)
        c++;
    return c;
}

static void slab_take_free(struct shm_slab *s, struct slab_page *p)
{
    slab_unlink(p);
    s->nfree--;
}

static void slab_give_free(struct shm_slab *s, struct slab_page *p)
{
    *p = (struct slab_page){.kind = SLAB_FREE};
    slab_link(&s->free, p);
    s->nfree++;
}

/* A free page cut into slots of class cls, all free, on its class's list. */
static struct slab_page *slab_new_slots(struct shm_slab *s, int cls)
{
    if (slab_list_empty(&s->free))
        return NULL;
    struct slab_page *p = s->free.next;
    size_t size = slab_slot_size(cls), count = SHM_PAGE / size;
    char *addr = slab_page_addr(s, p);
    slab_take_free(s, p);
    *p = (struct slab_page){.kind = SLAB_SLOTS, .cls = (uint8_t)cls, .free = addr};
    for (size_t i = 0; i + 1 < count; i++)
        *(void **)(addr + i * size) = addr + (i + 1) * size;
    *(void **)(addr + (count - 1) * size) = NULL;
    slab_link(&s->partial[cls], p);
    return p;
}

static void *slab_alloc_slot(struct shm_slab *s, size_t n)
{
    int cls = slab_class_of(n);
    struct slab_page *p = s->partial[cls].next;
    if (slab_list_empty(&s->partial[cls]) && (p = slab_new_slots(s, cls)) == NULL)
        return NULL;
    void *slot = p->free;
    p->free = *(void **)slot;
    p->used++;
    if (p->free == NULL)
        slab_unlink(p); /* full: nothing to offer until a slot comes back */
    return slot;
}

/* The first run of k free pages, by address: big requests are rare (a
 * key over 2 KB), so a scan costs less than keeping runs sorted. */
static void *slab_alloc_run(struct shm_slab *s, size_t n)
{
    size_t k = (n + SHM_PAGE - 1) / SHM_PAGE, len = 0;
    for (size_t i = 0; i < s->npages; i++) {
        len = s->pages[i].kind == SLAB_FREE ? len + 1 : 0;
        if (len < k)
            continue;
        struct slab_page *first = &s->pages[i + 1 - k];
        for (size_t j = 0; j < k; j++) {
            slab_take_free(s, &first[j]);
            first[j] = (struct slab_page){.kind = j == 0 ? SLAB_BIG : SLAB_BIG_TAIL};
        }
        first->run = (uint32_t)k;
        return slab_page_addr(s, first);
    }
    return NULL;
}

void *shm_slab_alloc(struct shm_slab *s, size_t n)
{
    if (n == 0)
        n = 1;
    return n <= SHM_SLOT_MAX ? slab_alloc_slot(s, n) : slab_alloc_run(s, n);
}

static void slab_free_slot(struct shm_slab *s, struct slab_page *p, void *slot)
{
    assert(p->used > 0);
    bool was_full = p->free == NULL;
    *(void **)slot = p->free;
    p->free = slot;
    p->used--;
    if (p->used == 0) {
        if (!was_full)
            slab_unlink(p);
        slab_give_free(s, p);
    } else if (was_full) {
        slab_link(&s->partial[p->cls], p);
    }
}

void shm_slab_free(struct shm_slab *s, void *ptr)
{
    if (ptr == NULL)
        return;
    size_t i = (size_t)((char *)ptr - s->base) / SHM_PAGE;
    assert((char *)ptr >= s->base && i < s->npages);
    struct slab_page *p = &s->pages[i];
    if (p->kind == SLAB_SLOTS) {
        slab_free_slot(s, p, ptr);
        return;
    }
    assert(p->kind == SLAB_BIG && (char *)ptr == slab_page_addr(s, p));
    uint32_t run = p->run;
    for (uint32_t j = 0; j < run; j++)
        slab_give_free(s, &p[j]);
}

size_t shm_slab_pages(const struct shm_slab *s)
{
    return s->npages;
}

size_t shm_slab_free_pages(const struct shm_slab *s)
{
    return s->nfree;
}
