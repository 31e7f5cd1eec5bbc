/* str.h - a length-counted view of bytes it does not own. */
#ifndef TP_STR_H
#define TP_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

struct str {
    const char *p; /* first byte; need not be NUL-terminated */
    size_t len;    /* number of bytes */
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

static inline struct str str_make(const char *p, size_t len)
{
    return (struct str){p, len};
}

static inline bool str_eq(struct str a, const char *lit)
{
    size_t n = strlen(lit);
    return a.len == n && memcmp(a.p, lit, n) == 0;
}

static inline bool str_case_eq(struct str a, const char *lit)
{
    size_t n = strlen(lit);
    return a.len == n && strncasecmp(a.p, lit, n) == 0;
}

#endif
