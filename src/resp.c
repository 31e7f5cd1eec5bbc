/* resp.c - response heads, error pages, and keep-alive decisions. */
#include "resp.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conn.h"
#include "req.h"
#include "version.h"
#include "worker.h"

/* A status code and its reason phrase. */
struct resp_status {
    int code;           /* status code */
    const char *reason; /* reason phrase */
};

static const struct resp_status resp_statuses[] = {
    {100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"}, {201, "Created"},
    {202, "Accepted"}, {204, "No Content"}, {206, "Partial Content"},
    {301, "Moved Permanently"}, {302, "Moved Temporarily"}, {303, "See Other"},
    {304, "Not Modified"}, {307, "Temporary Redirect"}, {308, "Permanent Redirect"},
    {400, "Bad Request"}, {401, "Unauthorized"}, {402, "Payment Required"}, {403, "Forbidden"},
    {404, "Not Found"}, {405, "Not Allowed"}, {406, "Not Acceptable"},
    {408, "Request Time-out"}, {409, "Conflict"}, {410, "Gone"}, {411, "Length Required"},
    {412, "Precondition Failed"}, {413, "Request Entity Too Large"},
    {414, "Request-URI Too Large"}, {415, "Unsupported Media Type"},
    {416, "Requested Range Not Satisfiable"}, {421, "Misdirected Request"},
    {429, "Too Many Requests"}, {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
    {503, "Service Temporarily Unavailable"}, {504, "Gateway Time-out"},
    {505, "HTTP Version Not Supported"}, {507, "Insufficient Storage"},
};

const char *resp_reason(int status)
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

static bool resp_keepalive(const struct req *r, const struct loc_conf *loc)
{
    const struct conn *c = r->c;
    return r->keepalive && !c->w->draining && loc->keepalive_timeout > 0 &&
           c->nrequests < (uint32_t)loc->keepalive_requests;
}

/* Writes the head into the request's arena. */
static struct str resp_head(struct req *r, const struct loc_conf *loc)
{
    char *buf, *p;
    size_t cap = 512 + r->content_type.len;
    for (const struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next)
        cap += h->name.len + h->value.len + 4;
    if ((buf = mpool_alloc(&r->pool, cap)) == NULL)
        return str_make(NULL, 0);
    const char *reason = resp_reason(r->status);
    p = buf + sprintf(buf, "HTTP/1.1 %d%s%s\r\nServer: %s\r\nDate: %s\r\n", r->status,
                      reason ? " " : "", reason ? reason : "",
                      loc->server_tokens ? TP_NAME "/" TP_VERSION : TP_NAME, worker_date(r->c->w));
    if (r->content_type.len)
        p += sprintf(p, "Content-Type: %.*s\r\n", (int)r->content_type.len, r->content_type.p);
    if (r->status >= 200 && r->status != 204 && r->status != 304)
        p += sprintf(p, "Content-Length: %zu\r\n", r->body.len);
    p += sprintf(p, "Connection: %s\r\n", r->keepalive ? "keep-alive" : "close");
    if (r->keepalive && loc->keepalive_header >= 0)
        p += sprintf(p, "Keep-Alive: timeout=%ld\r\n", loc->keepalive_header);
    for (const struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next)
        p += sprintf(p, "%.*s: %.*s\r\n", (int)h->name.len, h->name.p, (int)h->value.len,
                     h->value.p);
    memcpy(p, "\r\n", 2);
    return str_make(buf, (size_t)(p + 2 - buf));
}

void resp_send(struct req *r)
{
    struct conn *c = r->c;
    const struct loc_conf *loc = resp_loc(r);
    r->keepalive = resp_keepalive(r, loc);
    struct str head = resp_head(r, loc);
    if (head.p == NULL) {
        conn_close(c);
        return;
    }
    c->out[0].iov_base = (void *)head.p;
    c->out[0].iov_len = head.len;
    c->out[1].iov_base = (void *)r->body.p;
    c->out[1].iov_len = resp_has_body(r) ? r->body.len : 0;
    conn_send(c);
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

void resp_error(struct req *r, int status)
{
    const struct loc_conf *loc = resp_loc(r);
    const char *reason = resp_reason(status);
    r->status = status;
    r->body = str_make("", 0);
    if (resp_error_closes(status))
        r->keepalive = false;
    if (reason != NULL && status >= 300) {
        const char *sig = loc->server_tokens ? TP_NAME "/" TP_VERSION : TP_NAME;
        char *page = mpool_printf(&r->pool,
                                  "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
                                  "<center><h1>%d %s</h1></center>\r\n<hr><center>%s</center>\r\n"
                                  "</body>\r\n</html>\r\n",
                                  status, reason, status, reason, sig);
        if (page != NULL) {
            r->body = str_make(page, strlen(page));
            r->content_type = STR_LIT("text/html");
        }
    }
    resp_send(r);
}
