/* req_job.h - a pool job on behalf of one request.
 *
 * The job holds its connection (a socket reference), so the connection's
 * memory outlives it; its result is handed over only if the request it was
 * for is still the connection's current one.  A request that ended (the
 * client went, a timeout) simply never hears back, and the job's release
 * frees what it made. */
#ifndef TP_HTTP_REQ_JOB_H
#define TP_HTTP_REQ_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tpool.h"

struct conn;
struct req;
struct req_job;

typedef void (*req_job_cb)(struct req_job *j);

struct req_job {
    struct tpool_job job; /* the pool's part; first, so the pool's pointer is ours */
    struct conn *c;       /* the request's connection, held by the job */
    struct req *r;        /* the request; touched only while current */
    uint32_t nreq;        /* which request of the connection it was */
    uint64_t conn_id;     /* for log lines written after the request ended */
    req_job_cb done;      /* loop thread, only while the request is current */
};

/* Fills j's request part and queues it: work runs in the pool, done on the
 * loop (only for a current request), release always, last.  Returns -1
 * when the queue is full; then nothing was queued and nothing is called. */
int req_job_submit(struct req *r, struct req_job *j, enum tpool_class cls, tpool_job_cb work,
                   req_job_cb done, tpool_job_cb release);

/* The request this job was for is still being served. */
bool req_job_current(const struct req_job *j);

#endif
