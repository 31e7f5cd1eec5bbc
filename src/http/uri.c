/* uri.c - request-target parsing and normalization. */
#include "http/uri.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static void uri_split_query(const char *p, size_t len, struct uri_parts *out)
{
    const char *q = memchr(p, '?', len);
    out->path = str_make(p, q ? (size_t)(q - p) : len);
    out->args = q ? str_make(q + 1, len - (size_t)(q - p) - 1) : str_make("", 0);
}

int uri_split(struct str t, struct uri_parts *out)
{
    memset(out, 0, sizeof(*out));
    out->host = str_make("", 0);
    if (t.len > 0 && t.p[0] == '/') {
        uri_split_query(t.p, t.len, out);
        return 0;
    }
    size_t skip;
    if (t.len >= 7 && strncasecmp(t.p, "http://", 7) == 0)
        skip = 7;
    else if (t.len >= 8 && strncasecmp(t.p, "https://", 8) == 0)
        skip = 8;
    else
        return -1;
    const char *h = t.p + skip, *end = t.p + t.len;
    const char *slash = memchr(h, '/', (size_t)(end - h));
    const char *stop = slash ? slash : end;
    const char *q = memchr(h, '?', (size_t)(stop - h));
    if (q != NULL)
        stop = q;
    out->host = str_make(h, (size_t)(stop - h));
    if (out->host.len == 0 || memchr(h, '@', (size_t)(stop - h)) != NULL)
        return -1;
    if (stop == end || *stop == '?') {
        /* "http://h" or "http://h?q": the path is "/". */
        out->path = str_make("/", 1);
        out->args = stop == end ? str_make("", 0) : str_make(stop + 1, (size_t)(end - stop - 1));
        return 0;
    }
    uri_split_query(stop, (size_t)(end - stop), out);
    return 0;
}

static int uri_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Appends one decoded segment to out, handling "." and "..". */
static int uri_segment(char *out, size_t *len, const char *seg, size_t seglen)
{
    if (seglen == 1 && seg[0] == '.')
        return 0;
    if (seglen == 2 && seg[0] == '.' && seg[1] == '.') {
        if (*len == 0)
            return -1; /* above the root */
        while (*len > 0 && out[*len - 1] != '/')
            (*len)--;
        (*len)--; /* the slash before the removed segment */
        return 0;
    }
    out[(*len)++] = '/';
    memcpy(out + *len, seg, seglen);
    *len += seglen;
    return 0;
}

/* Decodes %XX in place into dst; -1 for a bad escape or an encoded NUL. */
static int uri_decode(const char *src, size_t len, char *dst, size_t *outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\0')
            return -1;
        if (src[i] != '%') {
            dst[n++] = src[i];
            continue;
        }
        if (i + 2 >= len)
            return -1;
        int hi = uri_hex((unsigned char)src[i + 1]), lo = uri_hex((unsigned char)src[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -1;
        dst[n++] = (char)(hi * 16 + lo);
        i += 2;
    }
    *outlen = n;
    return 0;
}

/* A trailing "/", "/." or "/.." names a directory: the result keeps a "/". */
static bool uri_ends_dir(const char *dec, size_t dlen)
{
    size_t i = dlen;
    while (i > 0 && dec[i - 1] != '/')
        i--;
    size_t seg = dlen - i;
    return seg == 0 || (seg == 1 && dec[i] == '.') ||
           (seg == 2 && dec[i] == '.' && dec[i + 1] == '.');
}

int uri_normalize(struct mpool *p, struct str raw, bool merge, struct str *out)
{
    size_t dlen, len = 0;
    char *dec = mpool_alloc(p, raw.len + 1), *res = mpool_alloc(p, raw.len + 2);
    if (dec == NULL || res == NULL || raw.len == 0 || raw.p[0] != '/')
        return -1;
    if (uri_decode(raw.p, raw.len, dec, &dlen) < 0)
        return -1;
    for (size_t i = 0; i < dlen;) {
        if (merge)
            while (i < dlen && dec[i] == '/')
                i++;
        else
            i++; /* the one "/" before this segment */
        size_t start = i;
        while (i < dlen && dec[i] != '/')
            i++;
        /* merge_slashes off: "//" holds an empty segment, kept as "/" */
        bool empty_kept = !merge && i == start && i < dlen;
        if ((i > start || empty_kept) && uri_segment(res, &len, dec + start, i - start) < 0)
            return -1;
    }
    if (len == 0 || uri_ends_dir(dec, dlen))
        res[len++] = '/';
    res[len] = '\0';
    *out = str_make(res, len);
    return 0;
}

int uri_host(struct mpool *p, struct str raw, struct str *out)
{
    size_t len = raw.len;
    const char *s = raw.p;
    if (len > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', len);
        if (end == NULL)
            return -1;
        len = (size_t)(end - s) + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon != NULL)
            len = (size_t)(colon - s);
    }
    if (len > 0 && s[len - 1] == '.')
        len--;
    char *h = mpool_alloc(p, len + 1);
    if (h == NULL)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch == '/' || ch == '\\' || ch == '@' || ch >= 0x7f)
            return -1;
        h[i] = (char)tolower(ch);
    }
    h[len] = '\0';
    *out = str_make(h, len);
    return 0;
}

/* nginx's NGX_ESCAPE_URI set (1.21.1 on): controls, space, '"', '#', '%',
 * '<', '>', '?', '\\', '^', '`', '{', '|', '}', DEL and every byte over
 * 0x7f, one bit per byte. */
static const uint32_t uri_escape_set[8] = {
    0xffffffff, 0xd000002d, 0x50000000, 0xb8000001, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
};

static bool uri_escaped(unsigned char c)
{
    return (uri_escape_set[c >> 5] >> (c & 31)) & 1;
}

size_t uri_escape(struct str in, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.p[i];
        if (!uri_escaped(c)) {
            if (out != NULL)
                out[n] = (char)c;
            n++;
            continue;
        }
        if (out != NULL) {
            out[n] = '%';
            out[n + 1] = hex[c >> 4];
            out[n + 2] = hex[c & 15];
        }
        n += 3;
    }
    return n;
}
