/* fuzz_proxy.c - libFuzzer target for the PROXY protocol parser.
 *
 * Whatever the bytes, pp_parse must not read past them, and what it
 * accepts must be consistent: a length within the input, TLVs inside the
 * header, a version 1 line ending in CRLF, addresses of one family; and a
 * header it accepts must still be accepted when more bytes follow it (the
 * payload), with the same length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/proxy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_require(int ok, const char *what)
{
    if (!ok)
        __builtin_trap();
    (void)what;
}

static void fuzz_check_ok(const uint8_t *buf, size_t size, const struct pp_info *info, size_t len)
{
    fuzz_require(len > 0 && len <= size, "length within the input");
    if (info->version == 1)
        fuzz_require(len >= 2 && buf[len - 2] == '\r' && buf[len - 1] == '\n', "v1 ends in CRLF");
    if (info->tlvs != NULL)
        fuzz_require(info->tlvs >= buf && info->tlvs + info->tlvs_len <= buf + len, "TLVs inside");
    if (!info->local)
        fuzz_require(info->src.sa.sa_family == info->dst.sa.sa_family, "one family");
    const uint8_t *v;
    size_t vlen;
    for (int t = 0; t < 256; t++)
        if (pp_tlv(info, (uint8_t)t, &v, &vlen))
            fuzz_require(v >= buf && v + vlen <= buf + len, "a TLV value inside");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pp_info info;
    size_t len = 0;
    const char *why;
    uint8_t *buf = malloc(size ? size : 1); /* exactly sized: ASan sees any read past it */
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    if (pp_parse(buf, size, &info, &len, &why) == PP_OK) {
        fuzz_check_ok(buf, size, &info, len);
        uint8_t *more = malloc(size + 8);
        if (more != NULL) {
            memcpy(more, buf, size);
            memset(more + size, 'x', 8);
            struct pp_info again;
            size_t len2 = 0;
            fuzz_require(pp_parse(more, size + 8, &again, &len2, &why) == PP_OK && len2 == len,
                         "a payload after the header changes nothing");
            free(more);
        }
    }
    free(buf);
    return 0;
}
