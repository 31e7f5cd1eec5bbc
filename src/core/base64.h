/* base64.h - RFC 4648 base64, decoded as nginx's ngx_decode_base64 does:
 * the padding may be left out, and the first "=" ends the data. */
#ifndef TP_BASE64_H
#define TP_BASE64_H

#include <stddef.h>

/* The most bytes len characters decode to; encoded length of n bytes. */
#define BASE64_DECODED_MAX(len) (((len) + 3) / 4 * 3)
#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)

/* Decodes src into dst (BASE64_DECODED_MAX(len) bytes); returns the length,
 * or -1 for a character outside the alphabet or a stray final character. */
long base64_decode(const char *src, size_t len, unsigned char *dst);

/* Encodes n bytes into dst (BASE64_ENCODED_LEN(n) bytes, with padding);
 * returns the length. */
size_t base64_encode(const unsigned char *src, size_t n, char *dst);

#endif
