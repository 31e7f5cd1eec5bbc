/* shm_alloc.h - an allocator for memory that several processes share
 * (a zone of core/shm.h), in the manner of nginx's slab allocator.
 *
 * The memory is cut into 4 KB pages.  A request of up to 2 KB takes a slot
 * of a page of its size class (16, 32, ... 2048 bytes); a larger one takes
 * a run of whole pages.  A page whose slots are all free goes back to the
 * free pages, so memory freed by one size can serve another.  Every
 * pointer is absolute: a zone is mapped before the fork, at the same
 * address in every process.  Nothing here locks; the zone's lock must be
 * held. */
#ifndef TP_CORE_SHM_ALLOC_H
#define TP_CORE_SHM_ALLOC_H

#include <stddef.h>

struct shm_slab;

#define SHM_PAGE 4096
#define SHM_SLOT_MAX 2048

/* Lays out an allocator over len bytes at mem (its own state included);
 * NULL when they cannot hold a page. */
struct shm_slab *shm_slab_init(void *mem, size_t len);

/* n bytes aligned to 16 (at least), or NULL when no room is left. */
void *shm_slab_alloc(struct shm_slab *s, size_t n);

/* Gives back what shm_slab_alloc returned (NULL does nothing). */
void shm_slab_free(struct shm_slab *s, void *p);

/* Pages in all, and pages that are free (for tests and checks). */
size_t shm_slab_pages(const struct shm_slab *s);
size_t shm_slab_free_pages(const struct shm_slab *s);

#endif
