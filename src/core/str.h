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

/* Strips optional whitespace (SP, HTAB) at both ends of a field value. */
static inline struct str str_trim(struct str v)
{
    while (v.len > 0 && (v.p[0] == ' ' || v.p[0] == '\t')) {
        v.p++;
        v.len--;
    }
    while (v.len > 0 && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
        v.len--;
    return v;
}

#endif
