/* conf_http.c - http, server, location, listen, server_name, return. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf_table.h"

void *conf_push(struct mpool *p, void *arrp, size_t *n, size_t size)
{
    void **arr = arrp;
    size_t count = *n;
    if (count == 0 || (count >= 4 && (count & (count - 1)) == 0)) {
        size_t cap = count == 0 ? 4 : count * 2;
        void *grown = mpool_calloc(p, cap * size);
        if (grown == NULL)
            return NULL;
        if (count != 0)
            memcpy(grown, *arr, count * size);
        *arr = grown;
    }
    char *slot = (char *)*arr + count * size;
    memset(slot, 0, size);
    *n = count + 1;
    return slot;
}

int conf_set_http(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    if (cl->conf->http != NULL)
        return conf_err(cl, n, "\"%s\" directive is duplicate", cmd->name);
    struct http_conf *h = mpool_calloc(cl->pool, sizeof(*h));
    if (h == NULL || (h->loc = conf_loc_new(cl)) == NULL)
        return conf_err(cl, n, "out of memory");
    cl->conf->http = h;
    cl->loc = h->loc;
    return conf_block(cl, n->child, CTX_HTTP);
}

int conf_set_server(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct http_conf *h = cl->conf->http;
    struct srv_conf **slot = conf_push(cl->pool, &h->servers, &h->nservers, sizeof(*slot));
    struct srv_conf *s = mpool_calloc(cl->pool, sizeof(*s));
    if (slot == NULL || s == NULL || (s->loc = conf_loc_new(cl)) == NULL)
        return conf_err(cl, n, "out of memory");
    *slot = s;
    s->file = conf_file_name(cl, n);
    s->line = n->line;
    cl->srv = s;
    cl->loc = s->loc;
    int rc = conf_block(cl, n->child, CTX_SRV);
    cl->srv = NULL;
    cl->loc = h->loc;
    return rc;
}

/* ---- location -------------------------------------------------------- */

/* Compiles a regex for a location or server name; nginx's error text. */
static int conf_regex(struct conf_loader *cl, const struct conf_node *n, const char *re,
                      bool caseless, struct pcre2_real_code_8 **out)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                     caseless ? PCRE2_CASELESS : 0, &errcode, &erroff, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        return conf_err(cl, n, "pcre2_compile() failed: %s in \"%s\" at \"%s\"", (char *)msg, re,
                        re + erroff);
    }
    /* The code lives as long as the configuration: freed with it. */
    if (conf_regex_keep(cl, code) < 0) {
        pcre2_code_free(code);
        return conf_err(cl, n, "out of memory");
    }
    *out = code;
    return 0;
}

/* Splits `location [mod] uri` into match kind and path. */
static int conf_location_kind(struct conf_loader *cl, const struct conf_node *n,
                              enum loc_match *kind, const char **path, bool *caseless)
{
    const char *mod = n->nargs == 3 ? n->args[1].s : NULL;
    const char *a = n->args[1].s;
    *kind = LM_PREFIX;
    *caseless = false;
    *path = n->args[n->nargs - 1].s;
    if (mod == NULL && a[0] == '=' && a[1] != '\0') {
        *kind = LM_EXACT;
        *path = a + 1;
        return 0;
    }
    if (mod == NULL && a[0] == '@') {
        *kind = LM_NAMED;
        return 0;
    }
    if (mod == NULL && a[0] == '~' && a[1] != '\0') {
        *kind = LM_REGEX;
        *caseless = a[1] == '*';
        *path = a + 1 + *caseless;
        return 0;
    }
    if (mod == NULL)
        return 0;
    if (strcmp(mod, "=") == 0)
        *kind = LM_EXACT;
    else if (strcmp(mod, "^~") == 0)
        *kind = LM_PREFIX_NOREGEX;
    else if (strcmp(mod, "~") == 0 || strcmp(mod, "~*") == 0) {
        *kind = LM_REGEX;
        *caseless = mod[1] == '*';
    } else
        return conf_err(cl, n, "invalid location modifier \"%s\"", mod);
    return 0;
}

/* nginx's rules for nesting, and no two locations alike at one level. */
static int conf_location_check(struct conf_loader *cl, const struct conf_node *n,
                               const struct loc_conf *loc, const struct loc_conf *parent,
                               struct loc_conf *const *list, size_t count)
{
    if (parent != NULL && parent->match == LM_EXACT)
        return conf_err(cl, n, "location \"%s\" cannot be inside the exact location \"%s\"",
                        loc->name, parent->name);
    if (parent != NULL && parent->match == LM_NAMED)
        return conf_err(cl, n, "location \"%s\" cannot be inside the named location \"%s\"",
                        loc->name, parent->name);
    if (loc->match == LM_NAMED && parent != NULL)
        return conf_err(cl, n, "named location \"%s\" can be on the server level only", loc->name);
    if (parent != NULL && parent->match == LM_EXACT)
        return conf_err(cl, n, "location \"%s\" cannot be inside the exact location \"%s\"",
                        loc->name, parent->name);
    if (parent != NULL && loc->match != LM_REGEX && parent->match != LM_REGEX &&
        strncmp(loc->name, parent->name, parent->name_len) != 0)
        return conf_err(cl, n, "location \"%s\" is outside location \"%s\"", loc->name,
                        parent->name);
    for (size_t i = 0; i < count; i++) {
        const struct loc_conf *o = list[i];
        if ((o->match == LM_EXACT) == (loc->match == LM_EXACT) &&
            (o->match == LM_REGEX) == (loc->match == LM_REGEX) && strcmp(o->name, loc->name) == 0)
            return conf_err(cl, n, "duplicate location \"%s\"", loc->name);
    }
    return 0;
}

int conf_set_location(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    enum loc_match kind;
    const char *path;
    bool caseless;
    if (conf_location_kind(cl, n, &kind, &path, &caseless) < 0)
        return -1;
    struct loc_conf *loc = conf_loc_new(cl);
    if (loc == NULL)
        return conf_err(cl, n, "out of memory");
    loc->match = kind;
    loc->name = mpool_strdup(cl->pool, path);
    loc->name_len = strlen(path);
    loc->file = conf_file_name(cl, n);
    loc->line = n->line;
    if (kind == LM_REGEX && conf_regex(cl, n, path, caseless, &loc->regex) < 0)
        return -1;
    struct loc_conf *parent = cl->ctx == CTX_LOC ? cl->loc : NULL;
    struct loc_conf ***list = parent ? &parent->children : &cl->srv->locs;
    size_t *count = parent ? &parent->nchildren : &cl->srv->nlocs;
    if (kind == LM_NAMED && parent == NULL) {
        list = &cl->srv->named;
        count = &cl->srv->nnamed;
    }
    if (conf_location_check(cl, n, loc, parent, *list, *count) < 0)
        return -1;
    struct loc_conf **slot = conf_push(cl->pool, list, count, sizeof(*slot));
    if (slot == NULL)
        return conf_err(cl, n, "out of memory");
    *slot = loc;
    struct loc_conf *saved = cl->loc;
    cl->loc = loc;
    int rc = conf_block(cl, n->child, CTX_LOC);
    cl->loc = saved;
    return rc;
}

/* ---- listen ---------------------------------------------------------- */

static int conf_port(const char *s, unsigned *port)
{
    long v;
    if (conf_parse_num(s, &v) < 0 || v < 1 || v > 65535)
        return -1;
    *port = (unsigned)v;
    return 0;
}

/* Splits "host:port", "[v6]:port", "port" or "host" into host and port. */
static int conf_listen_split(char *buf, const char **host, unsigned *port)
{
    char *colon;
    *port = 80;
    *host = "*";
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (end == NULL || (end[1] != '\0' && end[1] != ':'))
            return -1;
        *end = '\0';
        *host = buf + 1;
        return end[1] == ':' ? conf_port(end + 2, port) : 0;
    }
    colon = strrchr(buf, ':');
    if (colon != NULL) {
        *colon = '\0';
        *host = buf;
        return conf_port(colon + 1, port);
    }
    if (strspn(buf, "0123456789") == strlen(buf))
        return conf_port(buf, port);
    *host = buf;
    return 0;
}

static struct listen_conf *conf_listen_add(struct conf_loader *cl, const struct conf_node *n,
                                           const union sockaddr_any *a)
{
    struct srv_conf *s = cl->srv;
    struct listen_conf *l = conf_push(cl->pool, &s->listens, &s->nlistens, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->addr = *a;
    sockaddr_text(a, true, l->text, sizeof(l->text));
    l->backlog = -1;
    l->file = conf_file_name(cl, n);
    l->line = n->line;
    return l;
}

/* Resolves host (numeric or a name) and adds one listen per address. */
static int conf_listen_addrs(struct conf_loader *cl, const struct conf_node *n, const char *host,
                             unsigned port, size_t *first)
{
    union sockaddr_any a;
    memset(&a, 0, sizeof(a));
    *first = cl->srv->nlistens;
    if (strcmp(host, "*") == 0 || inet_pton(AF_INET, host, &a.sin.sin_addr) == 1) {
        a.sin.sin_family = AF_INET;
        a.sin.sin_port = htons(port);
        return conf_listen_add(cl, n, &a) ? 0 : conf_err(cl, n, "out of memory");
    }
    if (inet_pton(AF_INET6, host, &a.sin6.sin6_addr) == 1) {
        a.sin6.sin6_family = AF_INET6;
        a.sin6.sin6_port = htons(port);
        return conf_listen_add(cl, n, &a) ? 0 : conf_err(cl, n, "out of memory");
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return conf_err(cl, n, "host not found in \"%s\" of the \"listen\" directive",
                        n->args[1].s);
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        memset(&a, 0, sizeof(a));
        memcpy(&a, ai->ai_addr, ai->ai_addrlen);
        a.sin.sin_port = htons(port); /* same offset in sin6 */
        if (conf_listen_add(cl, n, &a) == NULL)
            break;
    }
    freeaddrinfo(res);
    return ai == NULL ? 0 : conf_err(cl, n, "out of memory");
}

static int conf_listen_param(struct conf_loader *cl, const struct conf_node *n, const char *p,
                             struct listen_conf *l)
{
    long v;
    if (strcmp(p, "default_server") == 0 || strcmp(p, "default") == 0) {
        l->default_server = true;
    } else if (strcmp(p, "reuseport") == 0) {
        /* Every listen socket is SO_REUSEPORT, one per worker: accepted. */
    } else if (strncmp(p, "backlog=", 8) == 0) {
        if (conf_parse_num(p + 8, &v) < 0 || v < 1)
            return conf_err(cl, n, "invalid backlog \"%s\"", p + 8);
        l->backlog = (int)v;
    } else if (strcmp(p, "ssl") == 0 || strcmp(p, "http2") == 0 ||
               strcmp(p, "proxy_protocol") == 0) {
        return conf_err(cl, n, "the \"%s\" parameter of \"listen\" is not supported yet", p);
    } else {
        return conf_err(cl, n, "invalid parameter \"%s\"", p);
    }
    return 0;
}

int conf_set_listen(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    char buf[256];
    const char *host;
    unsigned port;
    size_t first;
    if (strncmp(n->args[1].s, "unix:", 5) == 0)
        return conf_err(cl, n, "unix domain sockets are not supported in \"%s\"", cmd->name);
    snprintf(buf, sizeof(buf), "%s", n->args[1].s);
    if (conf_listen_split(buf, &host, &port) < 0)
        return conf_err(cl, n, "invalid port in \"%s\" of the \"listen\" directive", n->args[1].s);
    if (conf_listen_addrs(cl, n, host, port, &first) < 0)
        return -1;
    for (size_t i = first; i < cl->srv->nlistens; i++) {
        struct listen_conf *l = &cl->srv->listens[i];
        for (size_t j = 2; j < n->nargs; j++)
            if (conf_listen_param(cl, n, n->args[j].s, l) < 0)
                return -1;
        for (size_t j = 0; j < i; j++)
            if (sockaddr_equal(&cl->srv->listens[j].addr, &l->addr))
                return conf_err(cl, n, "a duplicate listen %s", l->text);
    }
    return 0;
}

/* ---- server_name ------------------------------------------------------ */

static int conf_name_parse(struct conf_loader *cl, const struct conf_node *n, const char *text,
                           struct server_name *sn)
{
    size_t len = strlen(text);
    char *lower = mpool_strdup(cl->pool, text);
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)tolower((unsigned char)lower[i]);
    sn->text = mpool_strdup(cl->pool, text);
    sn->kind = NK_EXACT;
    sn->name = lower;
    sn->len = len;
    if (text[0] == '~') {
        sn->kind = NK_REGEX;
        if (text[1] == '\0')
            return conf_err(cl, n, "empty regex in server name \"%s\"", text);
        /* Host is lower-cased, so a pattern with capitals matches
         * case-insensitively, as in nginx. */
        bool caseless = strpbrk(text + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL;
        return conf_regex(cl, n, text + 1, caseless, &sn->regex);
    }
    if (strchr(text, '/') != NULL || (strchr(text, '*') && len < 2))
        return conf_err(cl, n, "server name \"%s\" is invalid", text);
    if (strncmp(lower, "*.", 2) == 0 || lower[0] == '.') {
        sn->kind = NK_WILD_HEAD;
        sn->dot_also_bare = lower[0] == '.';
        sn->name = lower + (lower[0] == '*'); /* keep the dot: ".example.com" */
        sn->len = strlen(sn->name);
    } else if (len > 2 && strcmp(lower + len - 2, ".*") == 0) {
        sn->kind = NK_WILD_TAIL;
        sn->len = len - 1; /* "www.example." */
        lower[sn->len] = '\0';
    }
    if (strchr(sn->name, '*') != NULL)
        return conf_err(cl, n, "invalid server name or wildcard \"%s\"", text);
    return 0;
}

int conf_set_server_name(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    struct srv_conf *s = cl->srv;
    for (size_t i = 1; i < n->nargs; i++) {
        struct server_name *sn = conf_push(cl->pool, &s->names, &s->nnames, sizeof(*sn));
        if (sn == NULL)
            return conf_err(cl, n, "out of memory");
        if (conf_name_parse(cl, n, n->args[i].s, sn) < 0)
            return -1;
    }
    return 0;
}

/* ---- return and keepalive_timeout --------------------------------------- */

static bool conf_is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
           strncmp(s, "$scheme", 7) == 0;
}

int conf_set_return(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct loc_conf *loc = cl->loc;
    long code;
    const char *text = NULL;
    if (loc->ret != NULL)
        return conf_err(cl, n, "\"%s\" directive is duplicate", cmd->name);
    struct ret_conf *r = mpool_calloc(cl->pool, sizeof(*r));
    if (r == NULL)
        return conf_err(cl, n, "out of memory");
    if (conf_parse_num(n->args[1].s, &code) == 0 && code <= 999) {
        r->code = (int)code;
        text = n->nargs == 3 ? n->args[2].s : NULL;
    } else if (n->nargs == 2 && conf_is_url(n->args[1].s)) {
        r->code = 302;
        text = n->args[1].s;
    } else {
        return conf_err(cl, n, "invalid return code \"%s\"", n->args[1].s);
    }
    if (text != NULL) {
        char msg[256];
        if (cval_compile(cl->pool, text, strlen(text), &r->text, msg, sizeof(msg)) < 0)
            return conf_err(cl, n, "%s", msg);
        r->has_text = true;
    }
    loc->ret = r;
    return 0;
}

int conf_set_keepalive_timeout(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd)
{
    struct loc_conf *loc = cl->loc;
    long header;
    if (loc->keepalive_timeout != -1)
        return conf_err(cl, n, "\"%s\" directive is duplicate", cmd->name);
    if (conf_parse_msec(n->args[1].s, &loc->keepalive_timeout) < 0)
        return conf_err(cl, n, "invalid value \"%s\" in \"%s\" directive", n->args[1].s, cmd->name);
    if (n->nargs == 3) {
        /* nginx reads the header timeout in seconds: no "ms". */
        if (strstr(n->args[2].s, "ms") != NULL || conf_parse_msec(n->args[2].s, &header) < 0)
            return conf_err(cl, n, "invalid value \"%s\" in \"%s\" directive", n->args[2].s,
                            cmd->name);
        loc->keepalive_header = header / 1000;
    }
    return 0;
}

/* `large_client_header_buffers number size`: a request line or a header
 * line may be up to size, the whole head up to number * size. */
int conf_set_large_header_buffers(struct conf_loader *cl, const struct conf_node *n,
                                  const struct conf_cmd *cmd)
{
    struct loc_conf *loc = cl->loc;
    long num, size;
    if (loc->large_header_buffers != -1)
        return conf_err(cl, n, "\"%s\" directive is duplicate", cmd->name);
    if (conf_parse_num(n->args[1].s, &num) < 0 || num < 1 || num > 1024)
        return conf_err(cl, n, "invalid value \"%s\" in \"%s\" directive", n->args[1].s, cmd->name);
    if (conf_parse_size(n->args[2].s, &size) < 0 || size < 16 || size > 1024 * 1024 / num)
        return conf_err(cl, n, "invalid value \"%s\" in \"%s\" directive", n->args[2].s, cmd->name);
    loc->large_header_buffers = num;
    loc->large_header_buffer_size = size;
    return 0;
}
