/* resp.c - response heads, error pages, and keep-alive decisions. */
#include "http/resp.h"

#include <stdio.h>
#include <string.h>

#include "conf/module.h"
#include "core/fmt.h"
#include "core/version.h"
#include "event/reactor.h"
#include "http/cond.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/handle.h"
#include "http/phases.h"
#include "http/req.h"

/* A status code and its reason phrase. */
struct resp_status {
    int code;           /* status code */
    const char *reason; /* reason phrase */
};

static const struct resp_status resp_statuses[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Moved Temporarily"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Time-out"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Request Entity Too Large"},
    {414, "Request-URI Too Large"},
    {415, "Unsupported Media Type"},
    {416, "Requested Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Temporarily Unavailable"},
    {504, "Gateway Time-out"},
    {505, "HTTP Version Not Supported"},
    {507, "Insufficient Storage"},
};

static const char *resp_reason(int status)
{
    for (size_t i = 0; i < sizeof(resp_statuses) / sizeof(resp_statuses[0]); i++)
        if (resp_statuses[i].code == status)
            return resp_statuses[i].reason;
    return NULL;
}

const struct loc_conf *resp_loc(const struct req *r)
{
    return r->loc != NULL ? r->loc : r->c->addr->default_srv->loc;
}

static bool resp_has_body(const struct req *r)
{
    return r->method != HTTP_HEAD && r->status != 204 && r->status != 304 && r->status >= 200;
}

/* nginx sends "100 Continue" when it discards a body the client still
 * waits to send, so that the client sends it and the connection stays
 * usable; never before an error response (ngx_http_special_response_handler
 * marks the expectation tested), where the body is discarded if it comes. */
static bool resp_continue_due(const struct req *r)
{
    return r->expect_continue && !r->body_done && r->body == NULL && !r->no_continue &&
           r->c->buf_len <= r->head_len;
}

static bool resp_keepalive(const struct req *r, const struct loc_conf *loc)
{
    const struct conn *c = r->c;
    return r->keepalive && !c->sk.rx->draining && loc->keepalive_timeout > 0 &&
           c->nrequests < (uint32_t)loc->keepalive_requests;
}

bool resp_headers_apply(int status)
{
    switch (status) {
    case 200:
    case 201:
    case 204:
    case 206:
    case 301:
    case 302:
    case 303:
    case 304:
    case 307:
    case 308:
        return true;
    default:
        return false;
    }
}

static void resp_add_headers(struct req *r, const struct loc_conf *loc)
{
    bool applies = resp_headers_apply(r->status);
    for (size_t i = 0; i < loc->nadd_headers; i++) {
        const struct add_header *h = &loc->add_headers[i];
        struct str value;
        if ((!applies && !h->always) || cval_eval(&h->value, r, &value) < 0 || value.len == 0)
            continue;
        req_add_header(r, h->name, value);
    }
}

/* Room for the head, and for a first chunk's size line right after it. */
static size_t resp_head_size(const struct req *r)
{
    size_t cap = 512 + sizeof(r->chunk_line) + r->content_type.len + r->status_line.len;
    for (const struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next)
        cap += h->name.len + h->value.len + 4;
    return cap;
}

/* A proxied response keeps its upstream's reason phrase, as nginx's. */
static char *resp_status_line(char *p, const struct req *r)
{
    const char *reason = resp_reason(r->status);
    p = fmt_lit(p, "HTTP/1.1 ");
    p = fmt_digits(p, (unsigned)r->status, 3);
    if (r->status_line.len > 0) {
        *p++ = ' ';
        p = fmt_mem(p, r->status_line.p, r->status_line.len);
    } else if (reason != NULL) {
        *p++ = ' ';
        p = fmt_mem(p, reason, strlen(reason));
    }
    return fmt_lit(p, "\r\n");
}

static char *resp_header(char *p, const char *name, size_t nlen, struct str value)
{
    p = fmt_mem(p, name, nlen);
    p = fmt_lit(p, ": ");
    p = fmt_mem(p, value.p, value.len);
    return fmt_lit(p, "\r\n");
}

#define RESP_HEADER(p, name, value) resp_header((p), (name), sizeof(name) - 1, (value))

/* server_tokens: off, on, or build (nginx's build name, when configure
 * was given one). */
static struct str resp_server_name(const struct loc_conf *loc)
{
    static const struct str names[] = {STR_LIT(TP_NAME), STR_LIT(TP_NAME "/" TP_VERSION),
                                       STR_LIT(TP_VERSION_BUILD)};
    return names[loc->server_tokens >= 0 && loc->server_tokens <= 2 ? loc->server_tokens : 1];
}

/* Status line and the headers nginx writes itself, in nginx's order. */
static char *resp_head_core(struct req *r, const struct loc_conf *loc, char *p)
{
    p = resp_status_line(p, r);
    if (!r->own_server)
        p = RESP_HEADER(p, "Server", resp_server_name(loc));
    const char *date = reactor_date(r->c->sk.rx);
    if (!r->own_date)
        p = RESP_HEADER(p, "Date", str_make(date, strlen(date)));
    if (r->content_type.len)
        p = RESP_HEADER(p, "Content-Type", r->content_type);
    if (r->status >= 200 && r->status != 204 && r->status != 304 && r->resp_length >= 0) {
        p = fmt_lit(p, "Content-Length: ");
        p = fmt_u64(p, (uint64_t)r->resp_length);
        p = fmt_lit(p, "\r\n");
    } else if (r->resp_chunked) {
        p = fmt_lit(p, "Transfer-Encoding: chunked\r\n");
    }
    if (r->last_modified >= 0) {
        p = fmt_lit(p, "Last-Modified: ");
        p += cond_http_date(r->last_modified, p, 40);
        p = fmt_lit(p, "\r\n");
    }
    if (r->status == 101)
        p = fmt_lit(p, "Connection: upgrade\r\n");
    else
        p = r->keepalive ? fmt_lit(p, "Connection: keep-alive\r\n")
                         : fmt_lit(p, "Connection: close\r\n");
    if (r->keepalive && loc->keepalive_header >= 0) {
        p = fmt_lit(p, "Keep-Alive: timeout=");
        p = fmt_u64(p, (uint64_t)loc->keepalive_header);
        p = fmt_lit(p, "\r\n");
    }
    return p;
}

/* Writes the head into the request's arena. */
static struct str resp_head(struct req *r, const struct loc_conf *loc)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char *buf = mpool_alloc(&r->pool, resp_head_size(r) + sizeof(cont));
    if (buf == NULL)
        return str_make(NULL, 0);
    char *p = buf;
    if (resp_continue_due(r))
        p = fmt_mem(p, cont, sizeof(cont) - 1);
    p = resp_head_core(r, loc, p);
    for (const struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next)
        p = resp_header(p, h->name.p, h->name.len, h->value);
    p = fmt_lit(p, "\r\n");
    return str_make(buf, (size_t)(p - buf));
}

/* After an error_page redirect the status is the error's unless "=code". */
static void resp_final_status(struct req *r)
{
    if (r->err_status == 0 || r->status_override == 0)
        return;
    r->status = r->status_override > 0 ? r->status_override : r->err_status;
}

#define RESP_MAX_FILTERS 16

/* The modules' response and head filters in module order, gathered once
 * (the modules are fixed when the program is linked). */
static struct {
    resp_filter_cb filters[RESP_MAX_FILTERS]; /* in order */
    unsigned n;                               /* how many */
    head_filter_cb heads[RESP_MAX_FILTERS];   /* in order */
    unsigned nheads;                          /* how many */
    bool built;                               /* gathered */
} resp_filters;

static void resp_gather(void)
{
    for (size_t i = 0; i < nmodules; i++) {
        const struct http_hooks *h = modules[i]->http;
        if (h != NULL && h->resp_filter != NULL && resp_filters.n < RESP_MAX_FILTERS)
            resp_filters.filters[resp_filters.n++] = h->resp_filter;
        if (h != NULL && h->head_filter != NULL && resp_filters.nheads < RESP_MAX_FILTERS)
            resp_filters.heads[resp_filters.nheads++] = h->head_filter;
    }
    resp_filters.built = true;
}

/* The headers a response gets from its location once its status is
 * known, in nginx's filter order: the modules' head filters (expires,
 * charset), then add_header, all before the response filters, so that
 * gzip_proxied sees the Expires and Cache-Control they give.  Once per
 * response: resp_error takes back what they added (resp_unfilter). */
static void resp_head_filters(struct req *r)
{
    if (!resp_filters.built)
        resp_gather();
    if (r->head_filtered)
        return;
    struct resp_hdr **mark = r->out_tail;
    resp_final_status(r);
    r->head_filtered = true;
    *mark = NULL;
    for (unsigned i = 0; r->loc != NULL && i < resp_filters.nheads; i++)
        resp_filters.heads[i](r);
    resp_add_headers(r, resp_loc(r));
    r->head_first = *mark;
}

/* A response that becomes an error page loses the headers its location
 * gave it (expires, add_header), which the error's status decides anew:
 * the list is cut where the first of them is (found by identity, since a
 * filter may have unlinked headers before it).  A header they replaced
 * (expires over an upstream's Cache-Control) does not come back. */
static void resp_unfilter(struct req *r)
{
    if (!r->head_filtered)
        return;
    r->head_filtered = false;
    for (struct resp_hdr **pp = &r->out_hdrs; r->head_first != NULL && *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == r->head_first) {
            *pp = NULL;
            r->out_tail = pp;
            return;
        }
    }
}

/* One that takes the response sends it again through resp_send when it is
 * ready. */
static bool resp_filtered(struct req *r)
{
    if (!resp_filters.built)
        resp_gather();
    for (unsigned i = 0; i < resp_filters.n; i++)
        if (resp_filters.filters[i](r) == FILTER_TAKEN)
            return true;
    return false;
}

/* A body of unknown length goes chunked to an HTTP/1.1 client; to an
 * HTTP/1.0 one, the close of the connection ends it. */
static void resp_frame(struct req *r)
{
    r->resp_body = resp_has_body(r);
    bool http11 = r->http_major > 1 || (r->http_major == 1 && r->http_minor >= 1);
    r->resp_chunked = r->resp_body && r->resp_length < 0 && http11;
    if (r->resp_body && r->resp_length < 0 && !http11)
        r->keepalive = false;
}

/* Status, framing and headers are final: the head is made.  Like nginx's
 * header filter, Last-Modified goes only with 200, 206 and 304 (an error
 * page served from a file does not date the error). */
static int resp_begin(struct req *r)
{
    const struct loc_conf *loc = resp_loc(r);
    resp_final_status(r);
    if (r->status != 200 && r->status != 206 && r->status != 304)
        r->last_modified = -1;
    r->keepalive = resp_keepalive(r, loc);
    resp_frame(r);
    resp_head_filters(r); /* a response made without resp_send or resp_start */
    r->resp_head = resp_head(r, loc);
    if (r->resp_head.p == NULL)
        return -1;
    r->header_len = r->resp_head.len;
    r->resp_started = true;
    return 0;
}

void resp_send(struct req *r)
{
    resp_head_filters(r);
    if (resp_filtered(r))
        return;
    r->resp_length = (int64_t)r->out.len;
    if (resp_begin(r) < 0) {
        conn_close(r->c);
        return;
    }
    resp_write(r, r->out.head, true);
}

int resp_start(struct req *r, const struct resp_gen *gen)
{
    r->gen = gen;
    resp_head_filters(r);
    if (resp_begin(r) < 0) {
        conn_close(r->c);
        return -1;
    }
    return 0;
}

static uint64_t resp_chain_len(const struct out_seg *s)
{
    uint64_t n = 0;
    for (; s != NULL; s = s->next)
        n += s->len;
    return n;
}

/* The chunk's size line goes right after the head on the first piece
 * (the head has room for it), else in the request's own small buffer. */
static struct str resp_chunk_head(struct req *r, uint64_t len)
{
    char *line = r->resp_head.len ? (char *)r->resp_head.p + r->resp_head.len : r->chunk_line;
    char *p = fmt_hex(line, len);
    p = fmt_lit(p, "\r\n");
    size_t n = (size_t)(p - line);
    return r->resp_head.len ? str_make(r->resp_head.p, r->resp_head.len + n)
                            : str_make(r->chunk_line, n);
}

void resp_write(struct req *r, struct out_seg *chain, bool last)
{
    static const struct str crlf = STR_LIT("\r\n");
    static const struct str crlf_end = STR_LIT("\r\n0\r\n\r\n");
    static const struct str end = STR_LIT("0\r\n\r\n");
    struct str head = r->resp_head, tail = {"", 0};
    if (!r->resp_body)
        chain = NULL;
    uint64_t len = resp_chain_len(chain);
    if (r->resp_chunked && len > 0) {
        head = resp_chunk_head(r, len);
        tail = last ? crlf_end : crlf;
    } else if (r->resp_chunked && last) {
        tail = end;
    }
    r->resp_head = str_make("", 0);
    r->resp_last = last;
    conn_send(r->c, head, chain, tail, last);
}

void resp_proceed(struct req *r)
{
    if (r->gen != NULL && r->gen->proceed != NULL)
        r->gen->proceed(r);
}

static bool resp_error_closes(int status)
{
    switch (status) {
    case 400:
    case 408:
    case 413:
    case 414:
    case 431:
    case 500:
    case 501:
    case 505:
        return true;
    default:
        return false;
    }
}

static const struct error_page *resp_error_page(const struct req *r, int status)
{
    if (r->srv == NULL || r->loc == NULL || r->error_page_used)
        return NULL;
    for (size_t i = 0; i < r->loc->nerror_pages; i++)
        if (r->loc->error_pages[i].code == status)
            return &r->loc->error_pages[i];
    return NULL;
}

void resp_error(struct req *r, int status)
{
    if (r->resp_started) {
        /* The head has gone: all that is left is to cut the response. */
        conn_close(r->c);
        return;
    }
    const struct error_page *e = resp_error_page(r, status);
    resp_unfilter(r);
    r->no_continue = true;
    if (resp_error_closes(status))
        r->keepalive = false;
    if (e != NULL) {
        handle_error_page(r, e, status);
        return;
    }
    const struct loc_conf *loc = resp_loc(r);
    const char *reason = resp_reason(status);
    r->status = status;
    r->status_line = str_make("", 0);
    r->own_server = r->own_date = false;
    r->err_status = 0;
    r->last_modified = -1;
    r->content_type = str_make("", 0);
    /* The built-in page is not the file the validators and the encoding
     * described (nginx's ngx_http_send_special_response clears them, and
     * its page never carries a gzip_static file's encoding). */
    req_del_header(r, "ETag");
    req_del_header(r, "Accept-Ranges");
    req_del_header(r, "Content-Encoding");
    out_init(&r->out);
    if (reason != NULL && status >= 300 && status != 304) {
        struct str sig = resp_server_name(loc);
        char *page = mpool_printf(&r->pool,
                                  "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
                                  "<center><h1>%d %s</h1></center>\r\n<hr><center>%.*s</center>"
                                  "\r\n</body>\r\n</html>\r\n",
                                  status, reason, status, reason, (int)sig.len, sig.p);
        if (page != NULL) {
            req_set_body(r, str_make(page, strlen(page)));
            r->content_type = STR_LIT("text/html");
        }
    }
    resp_send(r);
}

/* The host of an absolute redirect: with server_name_in_redirect the
 * server's first name (nginx's cscf->server_name, without a leading dot),
 * else the request's. */
static struct str resp_redirect_host(const struct req *r, const struct loc_conf *loc)
{
    if (!http_extra(loc)->server_name_in_redirect || r->srv == NULL)
        return r->host;
    const char *name = r->srv->nnames > 0 ? r->srv->names[0].text : "";
    name += name[0] == '.';
    return str_make(name, strlen(name));
}

/* absolute_redirect: "/path" becomes "scheme://host[:port]/path", the host
 * taken from the request or the server (server_name_in_redirect), the
 * scheme and the port the listener's. */
struct str resp_absolute(struct req *r, struct str url)
{
    const struct loc_conf *loc = resp_loc(r);
    if (!loc->absolute_redirect || url.len == 0 || url.p[0] != '/')
        return url;
    bool by_name = http_extra(loc)->server_name_in_redirect && r->srv != NULL;
    struct str host = resp_redirect_host(r, loc);
    char addr[64];
    if (host.len == 0 && !by_name && r->srv != NULL && r->srv->nnames > 0 &&
        r->srv->names[0].len > 0 && r->srv->names[0].kind == NK_EXACT)
        host = str_make(r->srv->names[0].text, strlen(r->srv->names[0].text));
    if (host.len == 0 && !by_name) {
        /* No Host and no name: the address the client connected to. */
        union sockaddr_any local;
        socklen_t len = sizeof(local);
        if (getsockname(sock_fd(&r->c->sk), &local.sa, &len) == 0) {
            size_t n = sockaddr_text(&local, false, addr + 1, sizeof(addr) - 2);
            bool v6 = local.sa.sa_family == AF_INET6;
            addr[0] = '[';
            if (v6)
                addr[n + 1] = ']';
            host = v6 ? str_make(addr, n + 2) : str_make(addr + 1, n);
        }
    }
    char port[8] = "";
    const struct conf_port *lp = r->c->port;
    if (loc->port_in_redirect && r->c->local_port != lp->default_port && r->c->local_port != 0)
        snprintf(port, sizeof(port), ":%u", r->c->local_port);
    char *abs = mpool_printf(&r->pool, "%s://%.*s%s%.*s", lp->scheme, (int)host.len, host.p, port,
                             (int)url.len, url.p);
    return abs != NULL ? str_make(abs, strlen(abs)) : url;
}
