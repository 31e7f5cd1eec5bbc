/* fmt.h - appending text and numbers to a buffer without printf.
 *
 * Response heads are written for every request; printf's format parsing
 * was the largest cost of a small static response. */
#ifndef TP_FMT_H
#define TP_FMT_H

#include <stdint.h>
#include <string.h>

/* Appends n bytes; returns the new end. */
static inline char *fmt_mem(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define fmt_lit(p, s) fmt_mem((p), (s), sizeof(s) - 1)

static inline char *fmt_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* Lower-case hex, no leading zeros. */
static inline char *fmt_hex(char *p, uint64_t v)
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* Exactly `width` digits, zero-padded (v must fit). */
static inline char *fmt_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

#endif
