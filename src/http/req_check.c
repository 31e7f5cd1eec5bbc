/* req_check.c - request strictness beyond http-parser 2.9.4.
 *
 * Three independent checks, each cheap enough for every request:
 *  - the raw head bytes, scanned once, because http-parser forgives a CR
 *    followed by any byte, obs-fold, whitespace before a colon and control
 *    bytes in values;
 *  - what the parsed head means (version, Host, framing, request-target);
 *  - chunked framing over raw body bytes, streamed, because http-parser's
 *    chunk extension parsing skips whatever it does not understand.  The
 *    same machine decodes chunked bodies (http-parser does not): it takes
 *    a bare LF as a line end, as nginx does, where http-parser refuses it.
 * Where two parsers could disagree on where a message ends, a smuggled
 * request hides; every rule here is about removing such disagreements.
 * Accepting a bare LF is safe for that reason too: CR LF and LF end a line
 * alike here, a lone CR never does, and turnpike never forwards a client's
 * framing bytes (the proxy frames the body anew). */
#include "http/req_check.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/req.h"
#include "core/str.h"

#define REQ_CHECK_MAX_SIZE_DIGITS 15  /* 15 hex digits: a chunk size stays below 2^60 */
#define REQ_CHECK_MAX_CL_DIGITS 18    /* 18 decimal digits: a length stays below 2^63 */
#define REQ_CHECK_MAX_CHUNK_LINE 4096 /* a chunk-size line with its extensions */
#define REQ_CHECK_MAX_TRAILERS 16384  /* the whole trailer section */

/* Why a request is refused, in the words of nginx's error log (so that
 * log watchers written for nginx keep working). */
#define WHY_METHOD "client sent invalid method"
#define WHY_REQUEST "client sent invalid request"
#define WHY_VERSION "client sent invalid version"
#define WHY_HEADER_LINE "client sent invalid header line"
#define WHY_HOST "client sent invalid host header"
#define WHY_HOST_DUP "client sent duplicate host header"
#define WHY_HOST_MISSING "client sent HTTP/1.1 request without \"Host\" header"
#define WHY_HOST_IN_LINE "client sent invalid host in request line"
#define WHY_CONNECT "client sent CONNECT method"
#define WHY_DUP_LINE "client sent duplicate header line"
#define WHY_TE_10 "client sent HTTP/1.0 request with \"Transfer-Encoding\" header"
#define WHY_TE_AND_CL                                                                              \
    "client sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time"
#define WHY_TE_UNKNOWN "client sent unknown \"Transfer-Encoding\""
#define WHY_TE_INVALID "client sent invalid \"Transfer-Encoding\""
#define WHY_CL "client sent invalid \"Content-Length\" header"

/* ---- character classes (RFC 9110 5.6.2, 5.5; RFC 9112 3.2) ----------------- */

static bool req_check_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP and HTAB: what a field value (or trailer) may hold. */
static bool req_check_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A request-target byte: no space, no control; obs-text (raw UTF-8) is
 * tolerated as nginx does, since clients do send it. */
static bool req_check_target_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

static bool req_check_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static bool req_check_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int req_check_hex(unsigned char c)
{
    if (req_check_digit(c))
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* ---- the raw head -------------------------------------------------------- */

/* A cursor over the head; each scanner advances it or fails. */
struct req_check_cur {
    const unsigned char *p;   /* next byte */
    const unsigned char *end; /* one past the last byte */
};

static bool req_check_take(struct req_check_cur *c, unsigned char ch)
{
    if (c->p == c->end || *c->p != ch)
        return false;
    c->p++;
    return true;
}

/* Advances over a run of bytes in a class; returns how many. */
static size_t req_check_span(struct req_check_cur *c, bool (*in_class)(unsigned char))
{
    const unsigned char *start = c->p;
    while (c->p < c->end && in_class(*c->p))
        c->p++;
    return (size_t)(c->p - start);
}

/* A line end: CRLF, or a bare LF (RFC 9112 2.2 lets a recipient take
 * it, and nginx and http-parser both do).  A CR must be followed by LF: a
 * bare CR is where parsers disagree on where a line ends. */
static bool req_check_eol(struct req_check_cur *c)
{
    size_t cr = c->p < c->end && *c->p == '\r';
    if (c->end - c->p <= (ptrdiff_t)cr || c->p[cr] != '\n')
        return false;
    c->p += cr + 1;
    return true;
}

/* At a line end, or the start of one (the blank line ending the head). */
static bool req_check_at_eol(const struct req_check_cur *c)
{
    return c->p < c->end && (*c->p == '\r' || *c->p == '\n');
}

/* "HTTP/" DIGIT "." DIGIT: one digit each, so "HTTP/1.10" cannot be read as
 * 1.1 by one parser and 1.10 by another. */
static bool req_check_http_version(struct req_check_cur *c)
{
    if (c->end - c->p < 8 || memcmp(c->p, "HTTP/", 5) != 0)
        return false;
    if (!req_check_digit(c->p[5]) || c->p[6] != '.' || !req_check_digit(c->p[7]))
        return false;
    c->p += 8;
    return true;
}

/* method SP request-target SP HTTP-version EOL, single spaces only.  A
 * line without a version (HTTP/0.9) fails here.  Returns the reason for a
 * refusal, or NULL. */
static const char *req_check_request_line(struct req_check_cur *c)
{
    if (req_check_span(c, req_check_tchar) == 0 || !req_check_take(c, ' '))
        return WHY_METHOD;
    if (req_check_span(c, req_check_target_char) == 0 || !req_check_take(c, ' '))
        return WHY_REQUEST;
    return req_check_http_version(c) && req_check_eol(c) ? NULL : WHY_REQUEST;
}

/* field-name ":" value EOL.  A line starting with SP or HTAB (obs-fold, or
 * whitespace before the first header) has an empty name and fails, as does
 * whitespace between the name and the colon. */
static bool req_check_field_line(struct req_check_cur *c)
{
    if (req_check_span(c, req_check_tchar) == 0 || !req_check_take(c, ':'))
        return false;
    req_check_span(c, req_check_value_char);
    return req_check_eol(c);
}

/* A refusal: the status, with its reason for the error log. */
static int req_check_refuse(const char **why, const char *reason, int status)
{
    *why = reason;
    return status;
}

int req_check_head(const char *buf, size_t len, const char **why)
{
    struct req_check_cur c = {(const unsigned char *)buf, (const unsigned char *)buf + len};
    /* RFC 9112 2.2: empty lines before the request line are ignored (a
     * client's stray CRLF after a body); http-parser skips them too. */
    while (req_check_eol(&c))
        ;
    const char *bad = req_check_request_line(&c);
    if (bad != NULL)
        return req_check_refuse(why, bad, 400);
    while (c.p < c.end && !req_check_at_eol(&c))
        if (!req_check_field_line(&c))
            return req_check_refuse(why, WHY_HEADER_LINE, 400);
    /* The blank line must end exactly where the parser said the head
     * ends; anything else means the two disagree. */
    if (!req_check_eol(&c))
        return req_check_refuse(why, WHY_HEADER_LINE, 400);
    return c.p == c.end ? 0 : req_check_refuse(why, WHY_REQUEST, 400);
}

/* ---- what the head means -------------------------------------------------- */

/* The headers that decide framing and routing, gathered in one pass. */
struct req_check_seen {
    bool te_prefix;  /* a longer name starting with "Transfer-Encoding" */
    struct str host; /* last Host value, OWS-trimmed */
    struct str te;   /* last Transfer-Encoding value, as received */
    struct str cl;   /* last Content-Length value, OWS-trimmed */
    unsigned nhost;  /* Host lines */
    unsigned nte;    /* Transfer-Encoding lines */
    unsigned ncl;    /* Content-Length lines */
};

static struct str req_check_trim(struct str s)
{
    while (s.len > 0 && req_check_ows((unsigned char)s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && req_check_ows((unsigned char)s.p[s.len - 1]))
        s.len--;
    return s;
}

static void req_check_gather(const struct req *r, struct req_check_seen *seen)
{
    memset(seen, 0, sizeof(*seen));
    for (uint32_t i = 0; i < r->nhdrs; i++) {
        const struct req_hdr *h = &r->hdrs[i];
        if (str_case_eq(h->name, "Host")) {
            seen->host = req_check_trim(h->value);
            seen->nhost++;
        } else if (str_case_eq(h->name, "Transfer-Encoding")) {
            seen->te = h->value; /* untrimmed: req_check_sem_codings looks for HTAB */
            seen->nte++;
        } else if (str_case_eq(h->name, "Content-Length")) {
            seen->cl = req_check_trim(h->value);
            seen->ncl++;
        } else if (h->name.len > 17 && strncasecmp(h->name.p, "Transfer-Encoding", 17) == 0) {
            seen->te_prefix = true;
        }
    }
}

/* reg-name characters (RFC 3986 unreserved and sub-delims).  '%' is left
 * out: no client percent-encodes a host, and a decoded host could then hold
 * '/' or ".." when it names a directory. */
static bool req_check_regname_char(unsigned char c)
{
    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        return true;
    return c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL;
}

/* A reg-name or IPv4 address: no empty label except a single trailing dot
 * (which routing strips), so ".." can never reach a path built from $host. */
static bool req_check_regname(struct str h)
{
    if (h.len == 0 || h.p[0] == '.')
        return false;
    for (size_t i = 0; i < h.len; i++) {
        unsigned char c = (unsigned char)h.p[i];
        if (!req_check_regname_char(c) || (c == '.' && i > 0 && h.p[i - 1] == '.'))
            return false;
    }
    return true;
}

/* "[" IPv6address "]"; IPvFuture and zone identifiers are refused. */
static bool req_check_ipv6_literal(struct str h)
{
    char text[INET6_ADDRSTRLEN];
    struct in6_addr addr;
    if (h.len < 3 || h.p[0] != '[' || h.p[h.len - 1] != ']' || h.len - 2 >= sizeof(text))
        return false;
    memcpy(text, h.p + 1, h.len - 2);
    text[h.len - 2] = '\0';
    return inet_pton(AF_INET6, text, &addr) == 1;
}

/* 1 to 5 digits, at most 65535. */
static bool req_check_port(struct str p)
{
    unsigned long v = 0;
    if (p.len == 0 || p.len > 5)
        return false;
    for (size_t i = 0; i < p.len; i++) {
        if (!req_check_digit((unsigned char)p.p[i]))
            return false;
        v = v * 10 + (unsigned long)(p.p[i] - '0');
    }
    return v <= 65535;
}

/* host [":" port], for Host and for an absolute-form authority.  No '@'
 * (userinfo), '/', space or control byte gets through either branch. */
static bool req_check_authority(struct str a)
{
    const char *colon;
    if (a.len > 0 && a.p[0] == '[') {
        const char *close = memchr(a.p, ']', a.len);
        if (close == NULL)
            return false;
        colon = close + 1 < a.p + a.len ? close + 1 : NULL;
        if (colon != NULL && *colon != ':')
            return false;
    } else {
        colon = memchr(a.p, ':', a.len);
    }
    size_t hlen = colon ? (size_t)(colon - a.p) : a.len;
    struct str host = str_make(a.p, hlen);
    if (colon != NULL && !req_check_port(str_make(colon + 1, a.len - hlen - 1)))
        return false;
    return host.len > 0 && host.p[0] == '[' ? req_check_ipv6_literal(host)
                                            : req_check_regname(host);
}

static int req_check_sem_version(const struct req *r, const char **why)
{
    if (r->http_major == 1 && (r->http_minor == 0 || r->http_minor == 1))
        return 0;
    /* HTTP/0.9 has no headers to frame or route by: a malformed request,
     * not a version we could answer in. */
    if (r->http_major == 0 && r->http_minor == 9)
        return req_check_refuse(why, WHY_REQUEST, 400);
    return req_check_refuse(why, WHY_VERSION, 505);
}

/* Host is required in 1.1 and never allowed twice: two Hosts let a proxy
 * in front route by one while we route by the other. */
static int req_check_sem_host(const struct req *r, const struct req_check_seen *seen,
                              const char **why)
{
    if (seen->nhost > 1)
        return req_check_refuse(why, WHY_HOST_DUP, 400);
    if (seen->nhost == 0)
        return r->http_minor == 1 ? req_check_refuse(why, WHY_HOST_MISSING, 400) : 0;
    return req_check_authority(seen->host) ? 0 : req_check_refuse(why, WHY_HOST, 400);
}

static bool req_check_prefix_case(struct str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len >= n && strncasecmp(s.p, lit, n) == 0;
}

/* absolute-form: "http://" or "https://" authority [path-abempty] ["?" query]. */
static int req_check_sem_absolute(struct str t, const char **why)
{
    size_t skip = req_check_prefix_case(t, "http://")    ? 7
                  : req_check_prefix_case(t, "https://") ? 8
                                                         : 0;
    if (skip == 0)
        return req_check_refuse(why, WHY_REQUEST, 400);
    struct str rest = str_make(t.p + skip, t.len - skip);
    size_t n = 0;
    while (n < rest.len && rest.p[n] != '/' && rest.p[n] != '?')
        n++;
    if (req_check_authority(str_make(rest.p, n)))
        return 0;
    return req_check_refuse(why, WHY_HOST_IN_LINE, 400);
}

/* origin-form or absolute-form; "*" only for OPTIONS; never a fragment
 * (no form has one, and a '#' would be cut by some parsers, not others). */
static int req_check_sem_target(const struct req *r, const char **why)
{
    struct str t = r->target;
    /* We are not a forward proxy: CONNECT and authority-form have no use. */
    if (r->method == HTTP_CONNECT)
        return req_check_refuse(why, WHY_CONNECT, 400);
    if (t.len == 0 || memchr(t.p, '#', t.len) != NULL)
        return req_check_refuse(why, WHY_REQUEST, 400);
    if (t.p[0] == '/')
        return 0;
    if (str_eq(t, "*"))
        return r->method == HTTP_OPTIONS ? 0 : req_check_refuse(why, WHY_REQUEST, 400);
    return req_check_sem_absolute(t, why);
}

/* Splits off the next comma-separated element, OWS-trimmed. */
static struct str req_check_next_elem(struct str *list)
{
    const char *comma = memchr(list->p, ',', list->len);
    size_t n = comma ? (size_t)(comma - list->p) : list->len;
    struct str e = req_check_trim(str_make(list->p, n));
    list->p += comma ? n + 1 : n;
    list->len -= comma ? n + 1 : n;
    return e;
}

/* The coding list must end in exactly one "chunked" (otherwise the body's
 * end is unknowable: 400).  Any coding before it is one we do not decode:
 * 501.  Empty elements are refused rather than skipped.  HTAB is legal OWS,
 * but http-parser 2.9.4 then does not frame the body as chunked, and the
 * two must never disagree on where a body ends. */
static int req_check_sem_codings(struct str te, const char **why)
{
    bool other = false;
    struct str list = te;
    if (memchr(te.p, '\t', te.len) != NULL)
        return req_check_refuse(why, WHY_TE_INVALID, 400);
    for (;;) {
        bool last = memchr(list.p, ',', list.len) == NULL;
        struct str e = req_check_next_elem(&list);
        bool chunked = str_case_eq(e, "chunked");
        if (e.len == 0 || (chunked && !last) || (last && !chunked))
            return req_check_refuse(why, WHY_TE_INVALID, 400);
        if (last)
            return other ? req_check_refuse(why, WHY_TE_UNKNOWN, 501) : 0;
        other = true;
    }
}

static bool req_check_content_length(struct str cl)
{
    if (cl.len == 0 || cl.len > REQ_CHECK_MAX_CL_DIGITS)
        return false;
    for (size_t i = 0; i < cl.len; i++)
        if (!req_check_digit((unsigned char)cl.p[i]))
            return false;
    return true;
}

/* A Transfer-Encoding, with the reasons nginx gives for each refusal. */
static int req_check_sem_te(const struct req *r, const struct req_check_seen *seen,
                            const char **why)
{
    /* A 1.0 recipient may not know chunked, so a 1.0 message with
     * Transfer-Encoding is framed differently along the chain. */
    if (r->http_minor == 0)
        return req_check_refuse(why, WHY_TE_10, 400);
    if (seen->nte > 1)
        return req_check_refuse(why, WHY_DUP_LINE, 400);
    if (seen->ncl > 0)
        return req_check_refuse(why, WHY_TE_AND_CL, 400);
    return req_check_sem_codings(seen->te, why);
}

/* Exactly one way to find the body's end, written exactly one way. */
static int req_check_sem_framing(const struct req *r, const struct req_check_seen *seen,
                                 const char **why)
{
    /* http-parser 2.9.4 flags Transfer-Encoding as soon as a name's first
     * 17 bytes match, so "Transfer-Encodingx" clears its chunked flag and
     * makes it refuse the body: a header we would ignore changes framing. */
    if (seen->te_prefix)
        return req_check_refuse(why, WHY_HEADER_LINE, 400);
    if (seen->nte > 0)
        return req_check_sem_te(r, seen, why);
    if (seen->ncl > 1) /* nginx refuses duplicates even when they agree */
        return req_check_refuse(why, WHY_DUP_LINE, 400);
    if (seen->ncl == 1 && !req_check_content_length(seen->cl))
        return req_check_refuse(why, WHY_CL, 400);
    return 0;
}

int req_check_semantics(const struct req *r, const char **why)
{
    struct req_check_seen seen;
    int status = req_check_sem_version(r, why);
    if (status != 0)
        return status;
    req_check_gather(r, &seen);
    /* Every 400 comes before the only 501, so an unknown coding never
     * masks a malformed request. */
    if ((status = req_check_sem_target(r, why)) != 0 ||
        (status = req_check_sem_host(r, &seen, why)) != 0)
        return status;
    if ((status = req_check_sem_framing(r, &seen, why)) != 0)
        return status;
    /* Whatever we accept, the parser must frame the same way: a
     * Transfer-Encoding it did not take as chunked (odd whitespace, say)
     * would leave the two disagreeing about where the body ends. */
    if (req_header(r, "Transfer-Encoding") != NULL && !r->chunked)
        return req_check_refuse(why, WHY_TE_INVALID, 400);
    return 0;
}

/* ---- chunked framing -------------------------------------------------------- */

/* RFC 9112 7.1:
 *   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext  = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
 *   last-chunk = 1*("0") [ chunk-ext ] CRLF
 *   trailer-section = *( field-line CRLF ), then CRLF
 * where every CRLF may also be a bare LF (RFC 9112 2.2, as nginx reads
 * chunked framing); a CR not followed by LF is an error. */
enum chunk_check_state {
    CK_SIZE_FIRST,  /* the first hex digit of a size */
    CK_SIZE,        /* more hex digits */
    CK_EXT_BWS,     /* BWS before ";" */
    CK_EXT_NAME0,   /* BWS before an extension name, or its first byte */
    CK_EXT_NAME,    /* inside a name */
    CK_EXT_NAME_WS, /* BWS after a name, before "=" */
    CK_EXT_VAL0,    /* BWS after "=", or the value's first byte */
    CK_EXT_TOKEN,   /* inside a token value */
    CK_EXT_QUOTED,  /* inside a quoted-string */
    CK_EXT_QPAIR,   /* after a backslash in a quoted-string */
    CK_EXT_QEND,    /* after the closing quote */
    CK_SIZE_LF,     /* CR seen at the end of the size line */
    CK_SIZE_EOL,    /* the size line ended (not a resting state) */
    CK_DATA,        /* chunk data */
    CK_DATA_CR,     /* the CR after the data */
    CK_DATA_LF,     /* the LF after the data */
    CK_TRAILER0,    /* a trailer line's first byte, or the final CR */
    CK_TRAILER,     /* inside a trailer's name */
    CK_TRAILER_VAL, /* inside a trailer's value */
    CK_TRAILER_LF,  /* CR seen at the end of a trailer line */
    CK_FINAL_LF,    /* CR of the final empty line seen */
    CK_END,         /* the message ended */
    CK_ERROR,       /* a violation was seen; stays here */
};

void chunk_check_init(struct chunk_check *cc)
{
    memset(cc, 0, sizeof(*cc));
    cc->state = CK_SIZE_FIRST;
}

/* Where a size line's extensions go after a complete element. */
static int chunk_check_ext_after(unsigned char c)
{
    if (req_check_ows(c))
        return CK_EXT_BWS;
    if (c == ';')
        return CK_EXT_NAME0;
    if (c == '\n')
        return CK_SIZE_EOL;
    return c == '\r' ? CK_SIZE_LF : CK_ERROR;
}

/* A chunk-size line: size digits, then extensions.  While in the size,
 * `digits` counts hex digits; afterwards it counts the line's bytes so an
 * endless extension cannot hold the connection. */
static int chunk_check_size_line(struct chunk_check *cc, unsigned char c)
{
    int hex = req_check_hex(c);
    if (++cc->digits > REQ_CHECK_MAX_CHUNK_LINE)
        return CK_ERROR;
    switch (cc->state) {
    case CK_SIZE_FIRST:
    case CK_SIZE:
        if (hex >= 0) {
            if (cc->digits > REQ_CHECK_MAX_SIZE_DIGITS)
                return CK_ERROR;
            cc->remaining = cc->remaining * 16 + (uint64_t)hex;
            return CK_SIZE;
        }
        return cc->state == CK_SIZE ? chunk_check_ext_after(c) : CK_ERROR;
    case CK_EXT_BWS:
        return req_check_ows(c) ? CK_EXT_BWS : c == ';' ? CK_EXT_NAME0 : CK_ERROR;
    case CK_EXT_NAME0:
        return req_check_ows(c) ? CK_EXT_NAME0 : req_check_tchar(c) ? CK_EXT_NAME : CK_ERROR;
    case CK_EXT_NAME:
        if (req_check_tchar(c))
            return CK_EXT_NAME;
        if (req_check_ows(c))
            return CK_EXT_NAME_WS;
        return c == '=' ? CK_EXT_VAL0 : chunk_check_ext_after(c);
    case CK_EXT_NAME_WS:
        /* BWS after a name may only lead to "=" or the next ";". */
        if (req_check_ows(c))
            return CK_EXT_NAME_WS;
        return c == '=' ? CK_EXT_VAL0 : c == ';' ? CK_EXT_NAME0 : CK_ERROR;
    default:
        return CK_ERROR;
    }
}

/* An extension's value: token or quoted-string (RFC 9110 5.6.4). */
static int chunk_check_ext_value(struct chunk_check *cc, unsigned char c)
{
    if (++cc->digits > REQ_CHECK_MAX_CHUNK_LINE)
        return CK_ERROR;
    switch (cc->state) {
    case CK_EXT_VAL0:
        if (req_check_ows(c))
            return CK_EXT_VAL0;
        return c == '"' ? CK_EXT_QUOTED : req_check_tchar(c) ? CK_EXT_TOKEN : CK_ERROR;
    case CK_EXT_TOKEN:
        return req_check_tchar(c) ? CK_EXT_TOKEN : chunk_check_ext_after(c);
    case CK_EXT_QUOTED:
        if (c == '"')
            return CK_EXT_QEND;
        if (c == '\\')
            return CK_EXT_QPAIR;
        return req_check_value_char(c) ? CK_EXT_QUOTED : CK_ERROR;
    case CK_EXT_QPAIR:
        return req_check_value_char(c) ? CK_EXT_QUOTED : CK_ERROR;
    case CK_EXT_QEND:
        return chunk_check_ext_after(c);
    default:
        return CK_ERROR;
    }
}

/* The LF ending a size line starts the data, or the trailers after "0". */
static int chunk_check_size_lf(struct chunk_check *cc, unsigned char c)
{
    if (c != '\n')
        return CK_ERROR;
    cc->digits = 0;
    return cc->remaining > 0 ? CK_DATA : CK_TRAILER0;
}

/* Trailer fields follow the header rules; `remaining` (free once the last
 * chunk is read) counts the section's bytes against a cap. */
static int chunk_check_trailer(struct chunk_check *cc, unsigned char c)
{
    if (++cc->remaining > REQ_CHECK_MAX_TRAILERS)
        return CK_ERROR;
    switch (cc->state) {
    case CK_TRAILER0:
        if (c == '\n')
            return CK_END;
        return c == '\r' ? CK_FINAL_LF : req_check_tchar(c) ? CK_TRAILER : CK_ERROR;
    case CK_TRAILER:
        return req_check_tchar(c) ? CK_TRAILER : c == ':' ? CK_TRAILER_VAL : CK_ERROR;
    case CK_TRAILER_VAL:
        if (req_check_value_char(c))
            return CK_TRAILER_VAL;
        return c == '\r' ? CK_TRAILER_LF : c == '\n' ? CK_TRAILER0 : CK_ERROR;
    case CK_TRAILER_LF:
        return c == '\n' ? CK_TRAILER0 : CK_ERROR;
    default:
        return CK_ERROR;
    }
}

/* One byte outside chunk data; returns the next state. */
static int chunk_check_step(struct chunk_check *cc, unsigned char c)
{
    switch (cc->state) {
    case CK_EXT_VAL0:
    case CK_EXT_TOKEN:
    case CK_EXT_QUOTED:
    case CK_EXT_QPAIR:
    case CK_EXT_QEND:
        return chunk_check_ext_value(cc, c);
    case CK_SIZE_LF:
        return chunk_check_size_lf(cc, c);
    case CK_DATA_CR:
        return c == '\r' ? CK_DATA_LF : c == '\n' ? CK_SIZE_FIRST : CK_ERROR;
    case CK_DATA_LF:
        return c == '\n' ? CK_SIZE_FIRST : CK_ERROR;
    case CK_TRAILER0:
    case CK_TRAILER:
    case CK_TRAILER_VAL:
    case CK_TRAILER_LF:
        return chunk_check_trailer(cc, c);
    case CK_FINAL_LF:
        return c == '\n' ? CK_END : CK_ERROR;
    default:
        return chunk_check_size_line(cc, c);
    }
}

/* A size line that ended in a bare LF goes where its CRLF would. */
static int chunk_check_byte(struct chunk_check *cc, unsigned char c)
{
    int next = chunk_check_step(cc, c);
    return next == CK_SIZE_EOL ? chunk_check_size_lf(cc, '\n') : next;
}

ssize_t chunk_check_next(struct chunk_check *cc, const char *p, size_t len, struct str *data)
{
    size_t i = 0;
    *data = str_make(p, 0);
    while (i < len && !cc->done) {
        if (cc->state == CK_ERROR)
            return -1;
        if (cc->state == CK_DATA) {
            /* Data is taken in bulk: only its length matters here. */
            size_t n = len - i < cc->remaining ? len - i : (size_t)cc->remaining;
            cc->remaining -= n;
            *data = str_make(p + i, n);
            if (cc->remaining == 0)
                cc->state = CK_DATA_CR;
            return (ssize_t)(i + n);
        }
        cc->state = chunk_check_byte(cc, (unsigned char)p[i++]);
        cc->done = cc->state == CK_END;
        if (cc->state == CK_SIZE_FIRST) {
            cc->remaining = 0;
            cc->digits = 0;
        }
    }
    return cc->state == CK_ERROR ? -1 : (ssize_t)i;
}

ssize_t chunk_check_feed(struct chunk_check *cc, const char *p, size_t len)
{
    size_t i = 0;
    struct str data;
    while (i < len && !cc->done) {
        ssize_t n = chunk_check_next(cc, p + i, len - i, &data);
        if (n < 0)
            return -1;
        i += (size_t)n;
    }
    return cc->state == CK_ERROR ? -1 : (ssize_t)i;
}
