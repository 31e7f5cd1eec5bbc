/* basic_auth.c - Basic credentials of a request (see basic_auth.h). */
#include "http/basic_auth.h"

#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "http/req.h"

int basic_auth_credentials(struct req *r, struct str *user, struct str *password)
{
    const struct str *h = req_header(r, "Authorization");
    if (h == NULL || h->len < 6 || strncasecmp(h->p, "Basic ", 6) != 0)
        return -1;
    struct str enc = str_make(h->p + 6, h->len - 6);
    while (enc.len > 0 && enc.p[0] == ' ') {
        enc.p++;
        enc.len--;
    }
    char *dec = enc.len > 0 ? mpool_alloc(&r->pool, BASE64_DECODED_MAX(enc.len) + 1) : NULL;
    long n = dec != NULL ? base64_decode(enc.p, enc.len, (unsigned char *)dec) : -1;
    if (n < 0)
        return -1;
    dec[n] = '\0';
    const char *colon = memchr(dec, ':', (size_t)n);
    if (colon == NULL || colon == dec)
        return -1;
    *user = str_make(dec, (size_t)(colon - dec));
    *password = str_make(colon + 1, (size_t)n - user->len - 1);
    return 0;
}
