/* phases.h - how http modules take part in a request, nginx's phases.
 *
 * A module's descriptor points at one struct http_hooks.  Once the head is
 * read, the request runs through the phases in order, and in each phase
 * through the modules that have a hook there, in the order of modules[]:
 *
 *   server rewrite (the server's own level) -> find location ->
 *   rewrite -> preaccess -> access -> precontent -> content
 *
 * A hook either declines (the next one runs) or takes the request: it
 * then answers it, now or later, through resp_send / resp_error / an
 * internal redirect.  The content phase runs the location's own content
 * handler (loc->content, set by a directive such as proxy_pass) and only
 * without one the modules' content hooks. */
#ifndef TP_HTTP_PHASES_H
#define TP_HTTP_PHASES_H

struct req;

enum phase_rc {
    PHASE_DECLINED, /* not for this hook: go on */
    PHASE_TAKEN,    /* the hook answers the request (or will: handle_resume) */
    PHASE_DONE,     /* the phase is decided: skip its other hooks (satisfy any) */
};

typedef enum phase_rc (*phase_cb)(struct req *r);

/* What a response filter did with the response about to be sent. */
enum filter_rc {
    FILTER_NEXT,  /* leave it: go on to the next filter and the head */
    FILTER_TAKEN, /* it will send the response again itself (resp_send) */
};

typedef enum filter_rc (*resp_filter_cb)(struct req *r);

/* Adjusts the headers of a response, whole or streamed, once its status is
 * known (expires, charset): it may run again for the same response when
 * that becomes an error page, so it must give the same result twice. */
typedef void (*head_filter_cb)(struct req *r);

struct http_hooks {
    phase_cb rewrite;           /* server and location rewrite phases */
    phase_cb preaccess;         /* may it go on now (limit_req, limit_conn) */
    phase_cb access;            /* may the client have it */
    phase_cb precontent;        /* try_files */
    phase_cb content;           /* answers when the location has no handler of its own */
    resp_filter_cb resp_filter; /* sees every response before its head is made */
    head_filter_cb head_filter; /* sees every response's headers, before resp_filter */
};

#endif
