/* autoindex_fmt.h - the server-independent half of directory listings:
 * reading a directory, nginx's sort order, its escapes, and its HTML and
 * JSON layouts (ngx_http_autoindex_module of nginx 1.22, byte for byte).
 *
 * The code lives in autoindex.c's "listing" section; this header exposes it
 * to the unit tests without widening autoindex.h, the handler's interface.
 * Nothing here touches a request, a connection or the loop, so all of it
 * may run on a pool thread. */
#ifndef TP_AUTOINDEX_FMT_H
#define TP_AUTOINDEX_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/log.h"
#include "core/str.h"

/* Names longer than this are cut in the HTML listing (nginx's
 * NGX_HTTP_AUTOINDEX_NAME_LEN); shorter ones are padded to it. */
#define AUTOINDEX_NAME_LEN 50

/* What an entry is, from stat (or lstat when the target is missing). */
enum autoindex_type {
    AUTOINDEX_FILE,  /* a regular file: JSON gives its size */
    AUTOINDEX_DIR,   /* a directory: listed first, with a trailing "/" */
    AUTOINDEX_OTHER, /* anything else, a dangling symlink included */
};

/* One directory entry. */
struct autoindex_entry {
    char *name;               /* file name, NUL-terminated, malloc'd */
    size_t len;               /* its length in bytes */
    enum autoindex_type type; /* kind */
    time_t mtime;             /* modification time */
    off_t size;               /* size in bytes */
};

/* The entries of one directory. */
struct autoindex_list {
    struct autoindex_entry *v; /* entries, malloc'd */
    size_t n;                  /* how many */
    size_t cap;                /* allocated */
};

/* A growing output buffer whose failure is sticky, so a formatter can
 * append freely and check once at the end. */
struct autoindex_buf {
    char *p;     /* bytes, malloc'd (not NUL-terminated) */
    size_t len;  /* bytes used */
    size_t cap;  /* bytes allocated */
    bool failed; /* an allocation failed; the contents are incomplete */
};

/* How reading a directory ended. */
enum autoindex_read_rc {
    AUTOINDEX_READ_OK,     /* the list is complete */
    AUTOINDEX_OPEN_FAILED, /* opendir failed; see autoindex_open_status */
    AUTOINDEX_READ_FAILED, /* readdir, stat or memory failed midway: 500 */
};

/* Reports one failed call as nginx logs it, e.g. call "stat" and the path
 * it was given.  Runs on the reading thread. */
typedef void (*autoindex_log_cb)(void *arg, enum log_level level, int err, const char *call,
                                 const char *path);

/* Reads directory `dir` (NUL-terminated, with or without a trailing "/")
 * into `l`, which must be zeroed: names starting with "." are left out,
 * symlinks are followed, a link whose target is missing or loops is listed
 * as itself, and an entry stat refuses (EACCES) is left out.  Failures go to
 * `log`; *err gets the errno of AUTOINDEX_OPEN_FAILED.  The caller frees
 * `l` with autoindex_list_free whatever the result. */
enum autoindex_read_rc autoindex_read(const char *dir, struct autoindex_list *l,
                                      autoindex_log_cb log, void *arg, int *err);
void autoindex_list_free(struct autoindex_list *l);

/* The status for an opendir errno: 404, 403 or 500. */
int autoindex_open_status(int err);

/* Directories first, then names by strcmp (nginx's cmp_entries). */
void autoindex_sort(struct autoindex_entry *v, size_t n);

/* The escapes nginx applies; each writes to dst, which must hold the worst
 * case (3, 6 and 6 bytes per input byte), and returns the bytes written. */
/* href: everything but ALPHA DIGIT "-" "." "_" "~" as %XX (upper case). */
size_t autoindex_escape_uri(char *dst, const char *src, size_t n);
/* text: < > & " as entities; all other bytes as they are. */
size_t autoindex_escape_html(char *dst, const char *src, size_t n);
/* JSON string: \" \\ \b \f \n \r \t, other bytes below 0x20 as \u00XX. */
size_t autoindex_escape_json(char *dst, const char *src, size_t n);

/* "14-Nov-2023 22:13" in GMT into buf (cap >= 32); returns its length. */
size_t autoindex_html_date(time_t t, char *buf, size_t cap);

/* How the HTML page shows sizes, dates and names. */
struct autoindex_opts {
    bool rounded; /* autoindex_exact_size off: "12K", "3M", "1G" */
    long gmtoff;  /* autoindex_localtime on: the zone's offset now, in seconds (else 0) */
    bool utf8;    /* the page's charset is utf-8: names are counted in characters */
};

/* The whole HTML page for `uri` (the decoded path, e.g. "/pub/"); opts
 * NULL means nginx's defaults (exact sizes, GMT, names counted in bytes). */
void autoindex_html(struct autoindex_buf *b, struct str uri, const struct autoindex_entry *v,
                    size_t n, const struct autoindex_opts *opts);

/* nginx's size column for autoindex_exact_size off: " 1234", "  12K"
 * (rounded half up), written into buf (cap >= 16); returns its length. */
size_t autoindex_html_size(int64_t size, char *buf, size_t cap);
/* The JSON array (autoindex_format json). */
void autoindex_json(struct autoindex_buf *b, const struct autoindex_entry *v, size_t n);

void autoindex_buf_free(struct autoindex_buf *b);

#endif
