/* req_job.c - pool jobs tied to a request. */
#include "http/req_job.h"

#include "event/reactor.h"
#include "http/conn.h"
#include "http/req.h"

bool req_job_current(const struct req_job *j)
{
    return j->c->req == j->r && j->c->nrequests == j->nreq;
}

static void req_job_done(struct tpool_job *job)
{
    struct req_job *j = (struct req_job *)job;
    if (req_job_current(j))
        j->done(j);
}

int req_job_submit(struct req *r, struct req_job *j, enum tpool_class cls, tpool_job_cb work,
                   req_job_cb done, tpool_job_cb release)
{
    struct conn *c = r->c;
    j->job.work = work;
    j->job.done = req_job_done;
    j->job.release = release;
    j->job.owner = &c->sk.own;
    j->job.cls = cls;
    j->c = c;
    j->r = r;
    j->nreq = c->nrequests;
    j->conn_id = c->sk.id;
    j->done = done;
    return tpool_submit(c->sk.rx->pool, &j->job);
}
