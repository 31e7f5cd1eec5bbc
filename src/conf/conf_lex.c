/* conf_lex.c - nginx's configuration tokenizer (ngx_conf_read_token's rules).
 *
 * This is nginx's byte-at-a-time state machine, kept flag for flag so that
 * every odd corner (a "#" inside a word, "${" not opening a block, ")" right
 * after a quote, the line an error is reported on) matches nginx.  The one
 * difference is that the whole input is in memory, so nginx's 4096-byte
 * limit on a single word (an artefact of its read buffer) does not exist. */
#include "conf/conf_lex.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Results of one step of the state machine, besides the enum conf_lex_rc. */
enum conf_lex_step {
    CONF_LEX_NEXT = 100, /* byte consumed: read the next one */
    CONF_LEX_FALL,       /* byte not consumed yet: keep examining it */
};

void conf_lex_init(struct conf_lex *lx, const char *text, size_t len, int line, bool param)
{
    memset(lx, 0, sizeof(*lx));
    lx->text = text;
    lx->len = len;
    lx->line = line;
    lx->param = param;
}

void conf_lex_free(struct conf_lex *lx)
{
    free(lx->words);
    free(lx->buf);
    lx->words = NULL;
    lx->buf = NULL;
    lx->nwords = lx->words_cap = 0;
    lx->buf_len = lx->buf_cap = 0;
}

const char *conf_lex_text(const struct conf_lex *lx, size_t i)
{
    return lx->buf + lx->words[i].off;
}

static bool conf_lex_is_space(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static int conf_lex_fail(struct conf_lex *lx, const char *msg)
{
    snprintf(lx->msg, sizeof(lx->msg), "%s", msg);
    return CONF_LEX_ERROR;
}

/* nginx prints the byte raw; a control or non-ASCII byte is shown as \xNN so
 * the message stays one printable line (and a NUL cannot cut it short). */
static int conf_lex_unexpected(struct conf_lex *lx, unsigned char ch)
{
    if (ch < 0x20 || ch >= 0x7f)
        snprintf(lx->msg, sizeof(lx->msg), "unexpected \"\\x%02x\"", ch);
    else
        snprintf(lx->msg, sizeof(lx->msg), "unexpected \"%c\"", ch);
    return CONF_LEX_ERROR;
}

/* The capacity to grow an array of `cap` elements of `size` bytes to, so it
 * holds `need`; 0 if that would overflow. */
static size_t conf_lex_new_cap(size_t cap, size_t need, size_t size)
{
    size_t n = cap ? cap : 16;

    while (n < need) {
        if (n > SIZE_MAX / 2 / size)
            return 0;
        n *= 2;
    }
    return n;
}

/* Makes room for one more word of up to `n` bytes. */
static int conf_lex_reserve(struct conf_lex *lx, size_t n)
{
    size_t cap;
    void *p;

    if (n >= SIZE_MAX - lx->buf_len)
        return -1;
    if (lx->buf_len + n + 1 > lx->buf_cap) {
        cap = conf_lex_new_cap(lx->buf_cap, lx->buf_len + n + 1, 1);
        if (cap == 0 || (p = realloc(lx->buf, cap)) == NULL)
            return -1;
        lx->buf = p;
        lx->buf_cap = cap;
    }
    if (lx->nwords == lx->words_cap) {
        cap = conf_lex_new_cap(lx->words_cap, lx->nwords + 1, sizeof(*lx->words));
        if (cap == 0 || (p = realloc(lx->words, cap * sizeof(*lx->words))) == NULL)
            return -1;
        lx->words = p;
        lx->words_cap = cap;
    }
    return 0;
}

/* Copies a word, resolving escapes exactly as nginx does: \" \' \\ become the
 * character, \t \r \n the control character, and any other \x stays as the
 * two characters (which is what keeps regexes such as \.php$ intact). */
static size_t conf_lex_unescape(char *dst, const char *src, size_t n)
{
    size_t i = 0, len = 0;

    while (i < n) {
        if (src[i] == '\\' && i + 1 < n) {
            switch (src[i + 1]) {
            case '"':
            case '\'':
            case '\\':
                i++;
                break;
            case 't':
                dst[len++] = '\t';
                i += 2;
                continue;
            case 'r':
                dst[len++] = '\r';
                i += 2;
                continue;
            case 'n':
                dst[len++] = '\n';
                i += 2;
                continue;
            default:
                break;
            }
        }
        dst[len++] = src[i++];
    }
    return len;
}

/* Ends the current word: its text runs from tok.start up to the byte just
 * read, which is the terminator and not part of it. */
static int conf_lex_push(struct conf_lex *lx, bool quoted)
{
    size_t n = lx->pos - 1 - lx->tok.start;
    struct conf_lex_word *w;

    if (conf_lex_reserve(lx, n) != 0)
        return conf_lex_fail(lx, "out of memory");
    w = &lx->words[lx->nwords++];
    w->off = lx->buf_len;
    w->len = conf_lex_unescape(lx->buf + w->off, lx->text + lx->tok.start, n);
    w->quoted = quoted;
    lx->buf[w->off + w->len] = '\0';
    lx->buf_len += w->len + 1;
    return 0;
}

/* Right after a closing quote nginx accepts only a separator, ";", "{", or
 * ")" (which then starts a word of its own, as `if` needs). */
static int conf_lex_after_quote(struct conf_lex *lx, unsigned char ch)
{
    struct conf_lex_tok *t = &lx->tok;

    if (conf_lex_is_space(ch)) {
        t->last_space = true;
        t->need_space = false;
        return CONF_LEX_NEXT;
    }
    if (ch == ';')
        return CONF_LEX_END;
    if (ch == '{')
        return CONF_LEX_BLOCK_START;
    if (ch != ')')
        return conf_lex_unexpected(lx, ch);
    t->last_space = true;
    t->need_space = false;
    return CONF_LEX_FALL;
}

/* A byte between words: a terminator, a comment, or the start of a word. */
static int conf_lex_token_start(struct conf_lex *lx, unsigned char ch)
{
    struct conf_lex_tok *t = &lx->tok;

    t->start = lx->pos - 1;
    if (conf_lex_is_space(ch))
        return CONF_LEX_NEXT;
    switch (ch) {
    case ';':
    case '{':
        if (lx->nwords == 0)
            return conf_lex_unexpected(lx, ch);
        return ch == '{' ? CONF_LEX_BLOCK_START : CONF_LEX_END;
    case '}':
        if (lx->nwords != 0)
            return conf_lex_unexpected(lx, ch);
        return CONF_LEX_BLOCK_DONE;
    case '#':
        t->sharp_comment = true;
        return CONF_LEX_NEXT;
    case '\\':
        t->quoted = true;
        break;
    case '"':
        t->start++;
        t->d_quoted = true;
        break;
    case '\'':
        t->start++;
        t->s_quoted = true;
        break;
    case '$':
        t->variable = true;
        break;
    default:
        break;
    }
    t->last_space = false;
    return CONF_LEX_NEXT;
}

/* A byte inside a word or a quoted string. */
static int conf_lex_in_word(struct conf_lex *lx, unsigned char ch)
{
    struct conf_lex_tok *t = &lx->tok;

    if (ch == '{' && t->variable)
        return CONF_LEX_NEXT;
    t->variable = false;
    if (ch == '\\') {
        t->quoted = true;
        return CONF_LEX_NEXT;
    }
    if (ch == '$') {
        t->variable = true;
        return CONF_LEX_NEXT;
    }
    if (t->d_quoted || t->s_quoted) {
        if (ch != (t->d_quoted ? '"' : '\''))
            return CONF_LEX_NEXT;
        t->d_quoted = t->s_quoted = false;
        t->need_space = true;
        return conf_lex_push(lx, true) == 0 ? CONF_LEX_NEXT : CONF_LEX_ERROR;
    }
    if (!conf_lex_is_space(ch) && ch != ';' && ch != '{')
        return CONF_LEX_NEXT;
    t->last_space = true;
    if (conf_lex_push(lx, false) != 0)
        return CONF_LEX_ERROR;
    if (ch == ';')
        return CONF_LEX_END;
    return ch == '{' ? CONF_LEX_BLOCK_START : CONF_LEX_NEXT;
}

static int conf_lex_byte(struct conf_lex *lx, unsigned char ch)
{
    struct conf_lex_tok *t = &lx->tok;
    int rc;

    if (ch == '\n') {
        lx->line++;
        t->sharp_comment = false;
    }
    if (t->sharp_comment)
        return CONF_LEX_NEXT;
    if (t->quoted) {
        t->quoted = false;
        return CONF_LEX_NEXT;
    }
    if (t->need_space) {
        rc = conf_lex_after_quote(lx, ch);
        if (rc != CONF_LEX_FALL)
            return rc;
    }
    if (t->last_space)
        return conf_lex_token_start(lx, ch);
    return conf_lex_in_word(lx, ch);
}

static int conf_lex_eof(struct conf_lex *lx)
{
    if (lx->nwords == 0 && lx->tok.last_space)
        return CONF_LEX_FILE_DONE;
    if (lx->param)
        return conf_lex_fail(lx, "unexpected end of parameter, expecting \";\"");
    return conf_lex_fail(lx, "unexpected end of file, expecting \";\" or \"}\"");
}

int conf_lex_next(struct conf_lex *lx)
{
    int rc;

    memset(&lx->tok, 0, sizeof(lx->tok));
    lx->tok.last_space = true;
    lx->nwords = 0;
    lx->buf_len = 0;
    lx->msg[0] = '\0';
    for (;;) {
        if (lx->pos >= lx->len)
            return conf_lex_eof(lx);
        rc = conf_lex_byte(lx, (unsigned char)lx->text[lx->pos++]);
        if (rc != CONF_LEX_NEXT)
            return rc;
    }
}
