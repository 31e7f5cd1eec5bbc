/* stream_vars.c - the stream context's variables and compiled strings. */
#include "stream/stream_vars.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf_table.h"
#include "event/pp_wait.h"
#include "event/reactor.h"
#include "stream/stream.h"
#include "stream/stream_sess.h"
#include "tls/tls_conn.h"
#include "tls/tls_info.h"

static struct str svar_text(char *buf, int n)
{
    return n > 0 ? str_make(buf, (size_t)(n < SVAR_BUF ? n : SVAR_BUF - 1)) : STR_LIT("");
}

static struct str svar_cstr(const char *s)
{
    return s != NULL ? str_make(s, strlen(s)) : STR_LIT("");
}

static void sv_addr(const union sockaddr_any *a, char *buf, struct str *out)
{
    *out = svar_text(buf, (int)sockaddr_text(a, false, buf, SVAR_BUF));
}

static void sv_port(const union sockaddr_any *a, char *buf, struct str *out)
{
    unsigned port = sockaddr_port(a);
    *out = port != 0 ? svar_text(buf, snprintf(buf, SVAR_BUF, "%u", port)) : STR_LIT("");
}

/* ---- the connection ------------------------------------------------------------- */

static void sv_remote_addr(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_addr(&s->peer, b, o);
}

static void sv_remote_port(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_port(&s->peer, b, o);
}

static void sv_realip_addr(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_addr(&s->conn_peer, b, o);
}

static void sv_realip_port(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_port(&s->conn_peer, b, o);
}

static void sv_server_addr(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_addr(&s->local, b, o);
}

static void sv_server_port(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_port(&s->local, b, o);
}

static void sv_u64(uint64_t v, char *b, struct str *o)
{
    *o = svar_text(b, snprintf(b, SVAR_BUF, "%llu", (unsigned long long)v));
}

static void sv_bytes_sent(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_u64(s->sent, b, o);
}

static void sv_bytes_received(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_u64(s->received, b, o);
}

static void sv_upstream_bytes_sent(const struct stream_sess *s, struct str a, char *b,
                                   struct str *o)
{
    sv_u64(s->up_sent, b, o);
}

static void sv_upstream_bytes_received(const struct stream_sess *s, struct str a, char *b,
                                       struct str *o)
{
    sv_u64(s->up_received, b, o);
}

static void sv_session_time(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    double t = ev_now(s->sk.rx->loop) - s->start;
    *o = svar_text(b, snprintf(b, SVAR_BUF, "%.3f", t > 0 ? t : 0.));
}

static void sv_status(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = svar_text(b, snprintf(b, SVAR_BUF, "%03d", s->status));
}

static void sv_upstream_addr(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = svar_cstr(s->up_addrs);
}

static void sv_upstream_connect_time(const struct stream_sess *s, struct str a, char *b,
                                     struct str *o)
{
    *o = svar_cstr(s->up_times);
}

static void sv_connection(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_u64(s->sk.id, b, o);
}

static void sv_protocol(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = STR_LIT("TCP");
}

static void sv_pid(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = svar_text(b, snprintf(b, SVAR_BUF, "%d", (int)getpid()));
}

static void sv_msec(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    *o = svar_text(b, snprintf(b, SVAR_BUF, "%ld.%03ld", (long)tv.tv_sec, (long)tv.tv_usec / 1000));
}

static void sv_strftime(const char *fmt, char *b, struct str *o)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    *o = svar_text(b, (int)strftime(b, SVAR_BUF, fmt, &tm));
}

static void sv_time_local(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    sv_strftime("%d/%b/%Y:%H:%M:%S %z", b, o);
}

static void sv_hostname(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    if (gethostname(b, SVAR_BUF - 1) < 0)
        b[0] = '\0';
    b[SVAR_BUF - 1] = '\0';
    for (char *p = b; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    *o = svar_cstr(b);
}

/* ---- the PROXY header that came --------------------------------------------------- */

static const struct pp_info *sv_pp(const struct stream_sess *s)
{
    return s->pp != NULL && !s->pp->info.local ? &s->pp->info : NULL;
}

static void sv_pp_addr(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = STR_LIT("");
    if (sv_pp(s) != NULL)
        sv_addr(&sv_pp(s)->src, b, o);
}

static void sv_pp_port(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = STR_LIT("");
    if (sv_pp(s) != NULL)
        sv_port(&sv_pp(s)->src, b, o);
}

static void sv_pp_server_addr(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = STR_LIT("");
    if (sv_pp(s) != NULL)
        sv_addr(&sv_pp(s)->dst, b, o);
}

static void sv_pp_server_port(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = STR_LIT("");
    if (sv_pp(s) != NULL)
        sv_port(&sv_pp(s)->dst, b, o);
}

static void sv_pp_tlv(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    if (s->pp == NULL || !pp_tlv_named(&s->pp->info, a, b, o))
        *o = STR_LIT("");
}

/* ---- TLS --------------------------------------------------------------------------- */

static struct tls_conn *sv_tls(const struct stream_sess *s)
{
    return tls_conn_of(&s->sk);
}

static void sv_ssl_protocol(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = sv_tls(s) ? svar_cstr(tls_info_protocol(sv_tls(s))) : STR_LIT("");
}

static void sv_ssl_cipher(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = sv_tls(s) ? svar_cstr(tls_info_cipher(sv_tls(s))) : STR_LIT("");
}

static void sv_ssl_server_name(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = sv_tls(s) ? svar_cstr(tls_info_server_name(sv_tls(s))) : STR_LIT("");
}

static void sv_ssl_alpn(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = sv_tls(s) ? svar_cstr(tls_info_alpn(sv_tls(s))) : STR_LIT("");
}

static void sv_ssl_reused(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = !sv_tls(s) ? STR_LIT("") : tls_info_reused(sv_tls(s)) ? STR_LIT("r") : STR_LIT(".");
}

static void sv_ssl_verify(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = STR_LIT("");
    if (sv_tls(s) != NULL) {
        tls_info_client_verify(sv_tls(s), b, SVAR_BUF);
        *o = svar_cstr(b);
    }
}

static void sv_ssl_s_dn(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = sv_tls(s) ? svar_text(b, tls_info_client_dn(sv_tls(s), false, b, SVAR_BUF)) : STR_LIT("");
}

static void sv_ssl_i_dn(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = sv_tls(s) ? svar_text(b, tls_info_client_dn(sv_tls(s), true, b, SVAR_BUF)) : STR_LIT("");
}

static void sv_ssl_serial(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o = sv_tls(s) ? svar_text(b, tls_info_client_serial(sv_tls(s), b, SVAR_BUF)) : STR_LIT("");
}

static void sv_ssl_fingerprint(const struct stream_sess *s, struct str a, char *b, struct str *o)
{
    *o =
        sv_tls(s) ? svar_text(b, tls_info_client_fingerprint(sv_tls(s), b, SVAR_BUF)) : STR_LIT("");
}

static const struct svar svars[] = {
    {"bytes_received", false, sv_bytes_received},
    {"bytes_sent", false, sv_bytes_sent},
    {"connection", false, sv_connection},
    {"hostname", false, sv_hostname},
    {"msec", false, sv_msec},
    {"pid", false, sv_pid},
    {"protocol", false, sv_protocol},
    {"proxy_protocol_addr", false, sv_pp_addr},
    {"proxy_protocol_port", false, sv_pp_port},
    {"proxy_protocol_server_addr", false, sv_pp_server_addr},
    {"proxy_protocol_server_port", false, sv_pp_server_port},
    {"proxy_protocol_tlv_", true, sv_pp_tlv},
    {"realip_remote_addr", false, sv_realip_addr},
    {"realip_remote_port", false, sv_realip_port},
    {"remote_addr", false, sv_remote_addr},
    {"remote_port", false, sv_remote_port},
    {"server_addr", false, sv_server_addr},
    {"server_port", false, sv_server_port},
    {"session_time", false, sv_session_time},
    {"ssl_alpn_protocol", false, sv_ssl_alpn},
    {"ssl_cipher", false, sv_ssl_cipher},
    {"ssl_client_fingerprint", false, sv_ssl_fingerprint},
    {"ssl_client_i_dn", false, sv_ssl_i_dn},
    {"ssl_client_s_dn", false, sv_ssl_s_dn},
    {"ssl_client_serial", false, sv_ssl_serial},
    {"ssl_client_verify", false, sv_ssl_verify},
    {"ssl_protocol", false, sv_ssl_protocol},
    {"ssl_server_name", false, sv_ssl_server_name},
    {"ssl_session_reused", false, sv_ssl_reused},
    {"status", false, sv_status},
    {"time_local", false, sv_time_local},
    {"upstream_addr", false, sv_upstream_addr},
    {"upstream_bytes_received", false, sv_upstream_bytes_received},
    {"upstream_bytes_sent", false, sv_upstream_bytes_sent},
    {"upstream_connect_time", false, sv_upstream_connect_time},
};

/* ---- compiling -------------------------------------------------------------------------- */

static const struct svar *svar_find(struct str name, struct str *arg)
{
    for (size_t i = 0; i < sizeof(svars) / sizeof(svars[0]); i++) {
        size_t n = strlen(svars[i].name);
        if (svars[i].prefix ? name.len > n && strncasecmp(name.p, svars[i].name, n) == 0
                            : str_case_eq(name, svars[i].name)) {
            *arg = str_make(name.p + n, name.len - n);
            return &svars[i];
        }
    }
    return NULL;
}

static struct svar_part *svar_push(struct mpool *p, struct svar_fmt *f)
{
    return conf_push(p, &f->parts, &f->nparts, sizeof(struct svar_part));
}

static bool svar_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The variable at text[i] ('$'): its name's span, braces included. */
static int svar_name(const char *text, size_t i, size_t len, struct str *name, size_t *end)
{
    size_t j = i + 1;
    if (j < len && text[j] == '{') {
        const char *close = memchr(text + j, '}', len - j);
        if (close == NULL)
            return -1;
        *name = str_make(text + j + 1, (size_t)(close - text - j - 1));
        *end = (size_t)(close - text) + 1;
        return name->len > 0 ? 0 : -1;
    }
    while (j < len && svar_name_char(text[j]))
        j++;
    *name = str_make(text + i + 1, j - i - 1);
    *end = j;
    return name->len > 0 ? 0 : -1;
}

int svar_compile(struct mpool *p, const char *text, struct svar_fmt *out, char *err, size_t errlen)
{
    size_t len = strlen(text);
    /* The parse tree goes when loading ends: literals point into a copy. */
    if ((text = mpool_strdup(p, text)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < len;) {
        struct svar_part *part = svar_push(p, out);
        if (part == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (text[i] != '$') {
            const char *dollar = memchr(text + i, '$', len - i);
            size_t stop = dollar != NULL ? (size_t)(dollar - text) : len;
            part->lit = str_make(text + i, stop - i);
            i = stop;
            continue;
        }
        struct str name;
        size_t end;
        if (svar_name(text, i, len, &name, &end) < 0) {
            snprintf(err, errlen, "invalid variable name in \"%s\"", text);
            return -1;
        }
        if ((part->var = svar_find(name, &part->arg)) == NULL) {
            snprintf(err, errlen, "unknown \"%.*s\" variable", (int)name.len, name.p);
            return -1;
        }
        i = end;
    }
    return 0;
}

int svar_append(struct mpool *p, struct svar_fmt *a, const struct svar_fmt *b)
{
    for (size_t i = 0; i < b->nparts; i++) {
        struct svar_part *part = svar_push(p, a);
        if (part == NULL)
            return -1;
        *part = b->parts[i];
    }
    return 0;
}

struct str svar_part_value(const struct svar_part *part, const struct stream_sess *s, char *buf)
{
    struct str v;
    if (part->var == NULL)
        return part->lit;
    part->var->get(s, part->arg, buf, &v);
    return v;
}

size_t svar_eval(const struct svar_fmt *f, const struct stream_sess *s, char *dst, size_t cap)
{
    char buf[SVAR_BUF];
    size_t at = 0;
    for (size_t i = 0; i < f->nparts && at < cap; i++) {
        struct str v = svar_part_value(&f->parts[i], s, buf);
        size_t n = v.len < cap - at ? v.len : cap - at;
        memcpy(dst + at, v.p, n);
        at += n;
    }
    return at;
}
