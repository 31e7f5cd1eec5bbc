/* conf_lex.h - nginx's configuration tokenizer (ngx_conf_read_token's rules).
 *
 * Each call to conf_lex_next() reads one directive's words, up to and
 * including the ";", "{" or "}" that ends them.  The input is a buffer with an
 * explicit length, so NUL bytes are ordinary characters. */
#ifndef TP_CONF_LEX_H
#define TP_CONF_LEX_H

#include <stdbool.h>
#include <stddef.h>

/* What conf_lex_next() found. */
enum conf_lex_rc {
    CONF_LEX_ERROR = -1,  /* syntax error or no memory: see msg */
    CONF_LEX_END,         /* words terminated by ";" */
    CONF_LEX_BLOCK_START, /* words terminated by "{" */
    CONF_LEX_BLOCK_DONE,  /* a "}" with no words before it */
    CONF_LEX_FILE_DONE,   /* end of input between directives */
};

/* One word of the current directive, escapes already resolved. */
struct conf_lex_word {
    size_t off;  /* offset of its text in conf_lex.buf */
    size_t len;  /* length of its text (NUL bytes included) */
    bool quoted; /* it was written in single or double quotes */
};

/* State of the token being read; nginx's flags of the same names. */
struct conf_lex_tok {
    size_t start;       /* input offset where the current word's text begins */
    bool last_space;    /* between words: the next byte may start a token */
    bool need_space;    /* a quote just closed: only a separator may follow */
    bool sharp_comment; /* inside a "#" comment, until the end of the line */
    bool variable;      /* just after "$": a "{" is part of the word */
    bool quoted;        /* just after a backslash: the next byte is literal */
    bool s_quoted;      /* inside '...' */
    bool d_quoted;      /* inside "..." */
};

/* A tokenizer over one input. */
struct conf_lex {
    const char *text;            /* the input (not owned) */
    size_t len;                  /* length of the input */
    size_t pos;                  /* offset of the next byte to read */
    int line;                    /* current line: the first one + newlines read */
    bool param;                  /* input is -g text, not a file */
    struct conf_lex_tok tok;     /* state of the token being read */
    struct conf_lex_word *words; /* words of the current directive */
    size_t nwords;               /* number of entries used in words */
    size_t words_cap;            /* number of entries allocated in words */
    char *buf;                   /* the words' text, each NUL-terminated */
    size_t buf_len;              /* bytes used in buf */
    size_t buf_cap;              /* bytes allocated in buf */
    char msg[64];                /* the error message, without its location */
};

/* Prepares `lx` to read `text` (kept, not copied), starting at `line`. */
void conf_lex_init(struct conf_lex *lx, const char *text, size_t len, int line, bool param);

/* Reads the next directive's words; returns an enum conf_lex_rc.  The words
 * stay valid until the next call. */
int conf_lex_next(struct conf_lex *lx);

/* Text of word `i` of the current directive (NUL-terminated). */
const char *conf_lex_text(const struct conf_lex *lx, size_t i);

void conf_lex_free(struct conf_lex *lx);

#endif
