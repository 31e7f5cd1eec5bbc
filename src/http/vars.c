/* vars.c - variables and compiled values. */
#include "http/vars.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "conf/module.h"
#include "event/reactor.h"
#include "http/basic_auth.h"
#include "http/cond.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/vars_dyn.h"

static struct str vars_dup(struct req *r, const char *s)
{
    char *d = mpool_strdup(&r->pool, s);
    return d ? str_make(d, strlen(d)) : str_make("", 0);
}

static struct str vars_u64(struct req *r, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    return vars_dup(r, buf);
}

static void var_uri(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = r->path;
}

static void var_request_uri(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = r->target;
}

static void var_args(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = r->args;
}

static void var_is_args(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = r->args.len ? STR_LIT("?") : STR_LIT("");
}

static void var_host(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    if (r->host.len > 0 || r->srv == NULL || r->srv->nnames == 0)
        *out = r->host;
    else
        *out = str_make(r->srv->names[0].name, strlen(r->srv->names[0].name));
}

static void var_server_name(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    if (r->srv == NULL || r->srv->nnames == 0)
        *out = STR_LIT("");
    else
        *out = str_make(r->srv->names[0].text, strlen(r->srv->names[0].text));
}

/* $http_user_agent matches "User-Agent": case-insensitive, "_" for "-". */
static bool vars_hdr_match(struct str name, const char *arg, size_t arglen)
{
    if (name.len != arglen)
        return false;
    for (size_t i = 0; i < arglen; i++) {
        char a = (char)tolower((unsigned char)name.p[i]), b = arg[i];
        if (a == '-')
            a = '_';
        if (a != tolower((unsigned char)b))
            return false;
    }
    return true;
}

static void var_http(struct req *r, const struct cval_part *p, struct str *out)
{
    *out = STR_LIT("");
    for (uint32_t i = 0; i < r->nhdrs; i++) {
        if (vars_hdr_match(r->hdrs[i].name, p->arg, p->arglen)) {
            *out = r->hdrs[i].value;
            return;
        }
    }
}

static void var_arg(struct req *r, const struct cval_part *p, struct str *out)
{
    const char *s = r->args.p, *end = r->args.p + r->args.len;
    *out = STR_LIT("");
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(stop - s));
        size_t klen = (size_t)((eq ? eq : stop) - s);
        if (klen == p->arglen && strncasecmp(s, p->arg, klen) == 0) {
            *out = eq ? str_make(eq + 1, (size_t)(stop - eq - 1)) : STR_LIT("");
            return;
        }
        s = stop + 1;
    }
}

static void var_remote_addr(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[64];
    (void)p;
    sockaddr_text(&r->c->peer, false, buf, sizeof(buf));
    *out = vars_dup(r, buf);
}

/* The address's bytes in network order: 4 for IPv4, 16 for IPv6 (the
 * usual key of limit_req_zone and limit_conn_zone); other families get
 * the text, as in nginx. */
static void var_binary_remote_addr(struct req *r, const struct cval_part *p, struct str *out)
{
    const union sockaddr_any *a = &r->c->peer;
    if (a->sa.sa_family == AF_INET6)
        *out = str_make((const char *)&a->sin6.sin6_addr, sizeof(a->sin6.sin6_addr));
    else if (a->sa.sa_family == AF_INET)
        *out = str_make((const char *)&a->sin.sin_addr, sizeof(a->sin.sin_addr));
    else
        var_remote_addr(r, p, out);
}

static void var_remote_port(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[8];
    (void)p;
    if (r->c->peer.sa.sa_family == AF_UNIX) { /* nginx: empty for a unix client */
        *out = STR_LIT("");
        return;
    }
    snprintf(buf, sizeof(buf), "%u", sockaddr_port(&r->c->peer));
    *out = vars_dup(r, buf);
}

static void var_server_port(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[8];
    (void)p;
    if (r->c->local_port == 0) { /* a unix socket has none (nginx: empty) */
        *out = STR_LIT("");
        return;
    }
    snprintf(buf, sizeof(buf), "%u", r->c->local_port);
    *out = vars_dup(r, buf);
}

static void var_scheme(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = str_make(r->c->port->scheme, strlen(r->c->port->scheme));
}

static void var_request_method(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = req_method_name(r);
}

static void var_server_protocol(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[16];
    (void)p;
    snprintf(buf, sizeof(buf), "HTTP/%u.%u", r->http_major, r->http_minor);
    *out = vars_dup(r, buf);
}

static void var_connection(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[24];
    (void)p;
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->c->sk.id);
    *out = vars_dup(r, buf);
}

static void var_connection_requests(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[16];
    (void)p;
    snprintf(buf, sizeof(buf), "%u", r->c->nrequests);
    *out = vars_dup(r, buf);
}

static void var_msec(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[32];
    struct timeval tv;
    (void)p;
    gettimeofday(&tv, NULL);
    snprintf(buf, sizeof(buf), "%ld.%03ld", (long)tv.tv_sec, (long)tv.tv_usec / 1000);
    *out = vars_dup(r, buf);
}

/* A formatted time, kept for the second it is for: one strftime per
 * second instead of one per log line. */
struct vars_clock {
    time_t sec;    /* second the text is for, 0 = none yet */
    char text[64]; /* the formatted time */
};

static void vars_time(struct req *r, struct vars_clock *clk, const char *fmt, struct str *out)
{
    time_t now = time(NULL);
    if (now != clk->sec) {
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(clk->text, sizeof(clk->text), fmt, &tm);
        clk->sec = now;
    }
    *out = vars_dup(r, clk->text);
}

static void var_time_local(struct req *r, const struct cval_part *p, struct str *out)
{
    static struct vars_clock clk;
    (void)p;
    vars_time(r, &clk, "%d/%b/%Y:%H:%M:%S %z", out);
}

static void var_time_iso8601(struct req *r, const struct cval_part *p, struct str *out)
{
    static struct vars_clock clk;
    char buf[64];
    (void)p;
    vars_time(r, &clk, "%Y-%m-%dT%H:%M:%S%z", out);
    /* nginx writes the offset as +00:00 */
    if (out->len >= 5 && out->len + 2 < sizeof(buf)) {
        snprintf(buf, sizeof(buf), "%.*s:%.*s", (int)out->len - 2, out->p, 2,
                 out->p + out->len - 2);
        *out = vars_dup(r, buf);
    }
}

static void var_pid(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[16];
    (void)p;
    snprintf(buf, sizeof(buf), "%d", (int)getpid());
    *out = vars_dup(r, buf);
}

/* Read once per process and lower-cased, as nginx does at startup. */
static void var_hostname(struct req *r, const struct cval_part *p, struct str *out)
{
    static char name[256];
    static size_t len;
    (void)r;
    (void)p;
    if (len == 0 && gethostname(name, sizeof(name) - 1) == 0) {
        for (len = 0; name[len] != '\0'; len++)
            name[len] = (char)tolower((unsigned char)name[len]);
    }
    *out = str_make(name, len);
}

/* ---- the response and its log line ------------------------------------ */

static void var_status(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[8];
    (void)p;
    snprintf(buf, sizeof(buf), "%03d", r->status > 0 && r->status < 1000 ? r->status : 0);
    *out = vars_dup(r, buf);
}

static void var_bytes_sent(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = vars_u64(r, r->bytes_sent);
}

/* Whether the response has a body, as the response writer decides it. */
static bool vars_has_body(const struct req *r)
{
    return r->status >= 200 && r->status != 204 && r->status != 304;
}

/* nginx: bytes sent minus the response head. */
static void var_body_bytes_sent(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = vars_u64(r, r->bytes_sent > r->header_len ? r->bytes_sent - r->header_len : 0);
}

/* Bytes received for the request: head, body and its chunk framing. */
static void var_request_length(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = vars_u64(r, r->request_length);
}

/* $1..$9: what the last matching regex location captured. */
static void var_capture(struct req *r, const struct cval_part *p, struct str *out)
{
    int n = p->arg[0] - '0';
    const struct route_captures *cap = &r->captures;
    *out = STR_LIT("");
    if (n >= cap->n || cap->ovector[2 * n] == (size_t)-1)
        return;
    *out =
        str_make(cap->subject + cap->ovector[2 * n], cap->ovector[2 * n + 1] - cap->ovector[2 * n]);
}

static const struct var_def vars_capture = {"", true, var_capture};

static bool cval_part_is_capture(const struct cval_part *part)
{
    return part->var == &vars_capture;
}

/* The root (or alias) path of the location, evaluated. */
static void var_document_root(struct req *r, const struct cval_part *p, struct str *out)
{
    static int depth; /* a root naming $document_root must not recurse */
    (void)p;
    *out = STR_LIT("");
    if (r->loc == NULL || r->loc->root == NULL || depth > 0)
        return;
    depth++;
    if (cval_eval(r->loc->root, r, out) < 0)
        *out = STR_LIT("");
    depth--;
}

/* Seconds with millisecond resolution, from the loop's cached time like
 * nginx's: both ends are truncated to milliseconds first. */
static void var_request_time(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[32];
    (void)p;
    long long ms = (long long)(ev_now(r->c->sk.rx->loop) * 1000) - (long long)(r->start * 1000);
    if (ms < 0)
        ms = 0;
    snprintf(buf, sizeof(buf), "%lld.%03lld", ms / 1000, ms % 1000);
    *out = vars_dup(r, buf);
}

/* The request line, rebuilt from its parts: the strict parser accepts only
 * single spaces between them, so this is the line as sent. */
static void var_request(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    if (r->target.len == 0) {
        *out = STR_LIT("");
        return;
    }
    struct str m = req_method_sent(r);
    char *line = mpool_printf(&r->pool, "%.*s %.*s HTTP/%u.%u", (int)m.len, m.p, (int)r->target.len,
                              r->target.p, r->http_major, r->http_minor);
    *out = line ? str_make(line, strlen(line)) : STR_LIT("");
}

/* nginx's: the user of a valid Basic Authorization header, whether or
 * not auth_basic checked it. */
static void var_remote_user(struct req *r, const struct cval_part *p, struct str *out)
{
    struct str password;
    (void)p;
    if (basic_auth_credentials(r, out, &password) < 0)
        *out = STR_LIT("");
}

static struct str vars_keep_alive(struct req *r)
{
    const struct loc_conf *loc = resp_loc(r);
    if (!r->keepalive || loc->keepalive_header < 0)
        return STR_LIT("");
    char *v = mpool_printf(&r->pool, "timeout=%ld", loc->keepalive_header);
    return v ? str_make(v, strlen(v)) : STR_LIT("");
}

static struct str vars_last_modified(struct req *r)
{
    char *buf = r->last_modified >= 0 ? mpool_alloc(&r->pool, 40) : NULL;
    if (buf == NULL)
        return STR_LIT("");
    return str_make(buf, cond_http_date(r->last_modified, buf, 40));
}

/* Headers the response writer adds itself rather than from out_hdrs. */
static bool vars_sent_std(struct req *r, struct str name, struct str *out)
{
    if (str_case_eq(name, "content_type"))
        *out = r->content_type;
    else if (str_case_eq(name, "content_length"))
        *out = vars_has_body(r) ? vars_u64(r, r->out.len) : STR_LIT("");
    else if (str_case_eq(name, "last_modified"))
        *out = vars_last_modified(r);
    else if (str_case_eq(name, "connection"))
        *out = r->status == 0 ? STR_LIT("")
               : r->keepalive ? STR_LIT("keep-alive")
                              : STR_LIT("close");
    else if (str_case_eq(name, "keep_alive"))
        *out = vars_keep_alive(r);
    else
        return false;
    return true;
}

static void var_sent_http(struct req *r, const struct cval_part *p, struct str *out)
{
    if (vars_sent_std(r, str_make(p->arg, p->arglen), out))
        return;
    *out = STR_LIT("");
    for (const struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next) {
        if (vars_hdr_match(h->name, p->arg, p->arglen)) {
            *out = h->value;
            return;
        }
    }
}

/* Sorted by name; prefixes ("http_") only match names longer than them, so
 * they never shadow a full name. */
static const struct var_def vars_table[] = {
    {"arg_", true, var_arg},
    {"args", false, var_args},
    {"binary_remote_addr", false, var_binary_remote_addr},
    {"body_bytes_sent", false, var_body_bytes_sent},
    {"bytes_sent", false, var_bytes_sent},
    {"connection", false, var_connection},
    {"connection_requests", false, var_connection_requests},
    {"document_root", false, var_document_root},
    {"document_uri", false, var_uri},
    {"host", false, var_host},
    {"hostname", false, var_hostname},
    {"http_", true, var_http},
    {"is_args", false, var_is_args},
    {"msec", false, var_msec},
    {"pid", false, var_pid},
    {"query_string", false, var_args},
    {"remote_addr", false, var_remote_addr},
    {"remote_port", false, var_remote_port},
    {"remote_user", false, var_remote_user},
    {"request", false, var_request},
    {"request_length", false, var_request_length},
    {"request_method", false, var_request_method},
    {"request_time", false, var_request_time},
    {"request_uri", false, var_request_uri},
    {"scheme", false, var_scheme},
    {"sent_http_", true, var_sent_http},
    {"server_name", false, var_server_name},
    {"server_port", false, var_server_port},
    {"server_protocol", false, var_server_protocol},
    {"status", false, var_status},
    {"time_iso8601", false, var_time_iso8601},
    {"time_local", false, var_time_local},
    {"uri", false, var_uri},
};

static const struct var_def *var_find_in(const struct var_def *table, size_t count,
                                         const char *name, size_t len, const char **arg,
                                         size_t *arglen)
{
    for (size_t i = 0; i < count; i++) {
        const struct var_def *v = &table[i];
        size_t n = strlen(v->name);
        if (!v->is_prefix && n == len && memcmp(v->name, name, len) == 0)
            return v;
        if (v->is_prefix && len > n && memcmp(v->name, name, n) == 0) {
            *arg = name + n;
            *arglen = len - n;
            return v;
        }
    }
    return NULL;
}

/* The core's variables, then each module's ($upstream_*, $ssl_*, ...). */
static const struct var_def *var_find_builtin(const char *name, size_t len, const char **arg,
                                              size_t *arglen)
{
    if (len == 1 && name[0] >= '0' && name[0] <= '9') {
        *arg = name;
        *arglen = 1;
        return &vars_capture;
    }
    const struct var_def *v =
        var_find_in(vars_table, sizeof(vars_table) / sizeof(vars_table[0]), name, len, arg, arglen);
    for (size_t i = 0; v == NULL && i < nmodules; i++)
        if (modules[i]->vars != NULL)
            v = var_find_in(modules[i]->vars, modules[i]->nvars, name, len, arg, arglen);
    return v;
}

bool vars_builtin(const char *name, size_t len)
{
    const char *arg;
    size_t arglen;
    return var_find_builtin(name, len, &arg, &arglen) != NULL;
}

var_set_cb vars_setter(const char *name, size_t len)
{
    for (size_t i = 0; i < nmodules; i++)
        for (size_t j = 0; j < modules[i]->nsets; j++)
            if (strlen(modules[i]->sets[j].name) == len &&
                memcmp(modules[i]->sets[j].name, name, len) == 0)
                return modules[i]->sets[j].set;
    return NULL;
}

/* Built-in names first, then those the configuration in p defines. */
static const struct var_def *var_find(const struct mpool *p, const char *name, size_t len,
                                      const char **arg, size_t *arglen)
{
    const struct var_def *v = var_find_builtin(name, len, arg, arglen);
    return v != NULL ? v : var_dyn_lookup(p, name, len);
}

/* ---- compiled values --------------------------------------------------- */

/* Every variable some value refers to, so that a module can prepare one in
 * advance only when it is used ($realpath_root).  Compiling happens in the
 * master, so the workers inherit the set; a reload only adds to it (a
 * variable no longer used costs a little work, nothing more). */
static const struct var_def *vars_used[64];
static size_t vars_nused;

static void vars_note_use(const struct var_def *v)
{
    for (size_t i = 0; i < vars_nused; i++)
        if (vars_used[i] == v)
            return;
    if (vars_nused < sizeof(vars_used) / sizeof(vars_used[0]))
        vars_used[vars_nused++] = v;
}

bool var_used(const struct var_def *v)
{
    for (size_t i = 0; i < vars_nused; i++)
        if (vars_used[i] == v)
            return true;
    return false;
}

static bool vars_name_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

static struct cval_part *vars_push(struct mpool *p, struct cval *cv, size_t cap)
{
    if (cv->parts == NULL && (cv->parts = mpool_calloc(p, sizeof(*cv->parts) * cap)) == NULL)
        return NULL;
    return &cv->parts[cv->nparts++];
}

/* Reads "$name" or "${name}" at s[i]; sets the name span and the index after. */
static int vars_ref(const char *s, size_t len, size_t *i, size_t *start, size_t *nlen)
{
    size_t j = *i + 1;
    bool brace = j < len && s[j] == '{';
    if (brace)
        j++;
    *start = j;
    while (j < len && vars_name_char(s[j]))
        j++;
    *nlen = j - *start;
    if (brace) {
        if (j >= len || s[j] != '}')
            return -1;
        j++;
    }
    *i = j;
    return *nlen == 0 ? -1 : 0;
}

int cval_compile(struct mpool *p, const char *text, size_t len, struct cval *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->text = mpool_strndup(p, text, len);
    out->len = len;
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += text[i] == '$' ? 2 : 0;
    for (size_t i = 0; i < len;) {
        struct cval_part *part = vars_push(p, out, cap);
        if (part == NULL)
            return snprintf(err, errlen, "out of memory"), -1;
        if (text[i] != '$') {
            const char *dollar = memchr(text + i, '$', len - i);
            size_t n = dollar ? (size_t)(dollar - (text + i)) : len - i;
            part->lit = out->text + i;
            part->len = n;
            i += n;
            continue;
        }
        size_t start, nlen;
        if (vars_ref(text, len, &i, &start, &nlen) < 0)
            return snprintf(err, errlen, "invalid variable name in \"%.*s\"", (int)len, text), -1;
        part->var = var_find(p, text + start, nlen, &part->arg, &part->arglen);
        if (part->var == NULL)
            return snprintf(err, errlen, "unknown \"%.*s\" variable", (int)nlen, text + start), -1;
        part->arg = part->var->is_prefix ? mpool_strndup(p, part->arg, part->arglen) : NULL;
        vars_note_use(part->var);
        out->has_vars = true;
    }
    return 0;
}

/* A part's bytes in the result: a capture through esc, if given. */
static size_t vars_part_len(const struct cval_part *part, struct str v, cval_escape_cb esc)
{
    return esc != NULL && cval_part_is_capture(part) ? esc(v, NULL) : v.len;
}

int cval_eval_captures(const struct cval *cv, struct req *r, cval_escape_cb esc, struct str *out)
{
    if (!cv->has_vars) {
        *out = str_make(cv->text, cv->len);
        return 0;
    }
    struct str vals[cv->nparts];
    size_t total = 0;
    for (size_t i = 0; i < cv->nparts; i++) {
        const struct cval_part *part = &cv->parts[i];
        if (part->var == NULL)
            vals[i] = str_make(part->lit, part->len);
        else
            part->var->get(r, part, &vals[i]);
        total += vars_part_len(part, vals[i], esc);
    }
    char *buf = mpool_alloc(&r->pool, total + 1);
    if (buf == NULL)
        return -1;
    size_t at = 0;
    for (size_t i = 0; i < cv->nparts; i++) {
        if (esc != NULL && cval_part_is_capture(&cv->parts[i])) {
            at += esc(vals[i], buf + at);
            continue;
        }
        memcpy(buf + at, vals[i].p, vals[i].len);
        at += vals[i].len;
    }
    buf[at] = '\0';
    *out = str_make(buf, at);
    return 0;
}

int cval_eval(const struct cval *cv, struct req *r, struct str *out)
{
    return cval_eval_captures(cv, r, NULL, out);
}
