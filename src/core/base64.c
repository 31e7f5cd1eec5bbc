/* base64.c - base64 (see base64.h). */
#include "core/base64.h"

static const char base64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

long base64_decode(const char *src, size_t len, unsigned char *dst)
{
    unsigned long bits = 0;
    size_t n = 0, out = 0;
    for (size_t i = 0; i < len && src[i] != '='; i++, n++) {
        int v = base64_value((unsigned char)src[i]);
        if (v < 0)
            return -1;
        bits = bits << 6 | (unsigned)v;
        if (n % 4 == 3) {
            dst[out++] = (unsigned char)(bits >> 16);
            dst[out++] = (unsigned char)(bits >> 8);
            dst[out++] = (unsigned char)bits;
            bits = 0;
        }
    }
    if (n % 4 == 1)
        return -1;
    if (n % 4 == 2)
        dst[out++] = (unsigned char)(bits >> 4);
    if (n % 4 == 3) {
        dst[out++] = (unsigned char)(bits >> 10);
        dst[out++] = (unsigned char)(bits >> 2);
    }
    return (long)out;
}

size_t base64_encode(const unsigned char *src, size_t n, char *dst)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned long bits = (unsigned long)src[i] << 16;
        if (i + 1 < n)
            bits |= (unsigned long)src[i + 1] << 8;
        if (i + 2 < n)
            bits |= src[i + 2];
        dst[out++] = base64_chars[bits >> 18 & 63];
        dst[out++] = base64_chars[bits >> 12 & 63];
        dst[out++] = i + 1 < n ? base64_chars[bits >> 6 & 63] : '=';
        dst[out++] = i + 2 < n ? base64_chars[bits & 63] : '=';
    }
    return out;
}
