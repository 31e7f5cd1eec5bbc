/* ret.h - the `return` directive's handler. */
#ifndef TP_RET_H
#define TP_RET_H

struct req;
struct ret_conf;

/* Answers r as `return` says: a redirect, a body, a built-in page, or (444)
 * closing the connection without a response. */
void ret_handle(struct req *r, const struct ret_conf *ret);

#endif
