/* ups_pool.c - a group's idle keep-alive connections in one worker
 * (nginx's ngx_http_upstream_keepalive_module). */
#include "upstream/ups_pool.h"

#include "event/reactor.h"
#include "event/transport.h"
#include "upstream/ups.h"

void ups_pool_init(struct ups_pool *p, const struct ups_group *g)
{
    p->head = p->tail = NULL;
    p->n = 0;
    p->max = (size_t)g->keepalive;
    p->timeout = g->keepalive_timeout;
    p->time = g->keepalive_time;
    p->requests = g->keepalive_requests;
}

void ups_pool_forget(struct ups_conn *uc)
{
    struct ups_pool *p = uc->pool;
    if (uc->prev != NULL)
        uc->prev->next = uc->next;
    else
        p->head = uc->next;
    if (uc->next != NULL)
        uc->next->prev = uc->prev;
    else
        p->tail = uc->prev;
    uc->prev = uc->next = NULL;
    uc->pool = NULL;
    p->n--;
}

/* nginx's ngx_http_upstream_keepalive_close_handler: an idle connection
 * has nothing to say, so readiness means the backend closed it or broke
 * the protocol; either way it cannot carry another request. */
void ups_pool_idle_event(struct ups_conn *uc)
{
    if (uc->sock.tp->probe(&uc->sock) == PROBE_NOTHING)
        return;
    ups_conn_close(uc);
}

static bool ups_pool_reusable(const struct ups_pool *p, const struct ups_conn *uc)
{
    ev_tstamp age = ev_now(uc->sock.rx->loop) - uc->start;
    return p->max > 0 && !uc->sock.rx->draining && uc->requests < (unsigned long)p->requests &&
           age * 1000.0 < (double)p->time;
}

bool ups_pool_put(struct ups_pool *p, struct ups_conn *uc)
{
    if (!ups_pool_reusable(p, uc) ||
        timer_arm(&uc->sock.rx->timers, &uc->sock.timer, p->timeout) < 0) {
        ups_conn_close(uc);
        return false;
    }
    if (p->n == p->max)
        ups_conn_close(p->tail); /* the least recently used makes room */
    uc->user = NULL;
    uc->data = NULL;
    uc->state = UC_IDLE;
    uc->pool = p;
    uc->prev = NULL;
    uc->next = p->head;
    if (p->head != NULL)
        p->head->prev = uc;
    p->head = uc;
    if (p->tail == NULL)
        p->tail = uc;
    p->n++;
    sock_watch(&uc->sock, EV_READ);
    return true;
}

struct ups_conn *ups_pool_get(struct ups_pool *p, const struct ups_addr *addr,
                              const struct ups_conn_user *user, void *data)
{
    return ups_pool_get_tls(p, addr, NULL, user, data);
}

struct ups_conn *ups_pool_get_tls(struct ups_pool *p, const struct ups_addr *addr,
                                  const struct tls_client *tls, const struct ups_conn_user *user,
                                  void *data)
{
    struct ups_conn *uc = p->head;
    while (uc != NULL) {
        struct ups_conn *next = uc->next;
        if (uc->tls != tls || !ups_addr_equal(&uc->addr, addr)) {
            uc = next;
            continue;
        }
        ups_pool_forget(uc);
        /* The close may be waiting in this very loop iteration's events. */
        if (uc->sock.tp->probe(&uc->sock) != PROBE_NOTHING) {
            ups_conn_close(uc);
            uc = next;
            continue;
        }
        timer_disarm(&uc->sock.timer);
        sock_watch(&uc->sock, 0);
        uc->requests++;
        ups_conn_attach(uc, user, data);
        return uc;
    }
    return NULL;
}

void ups_pool_close_all(struct ups_pool *p)
{
    while (p->head != NULL)
        ups_conn_close(p->head);
}
