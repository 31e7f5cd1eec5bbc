/* handle.h - what happens to a request once its head is read: server,
 * location, content handler, and internal redirects (error_page,
 * try_files, index). */
#ifndef TP_HANDLE_H
#define TP_HANDLE_H

#include "core/str.h"

struct req;
struct error_page;

/* Routes a request whose head passed every check, and runs it. */
void handle_request(struct req *r);

/* Restarts the request at another URI ("/x?y") or named location ("@x"),
 * as nginx's internal redirect does.  Gives 500 after 10 redirects. */
void handle_redirect(struct req *r, struct str uri);

/* The same for a path that is already decoded and normalized (an index
 * file under $uri): '?', '%' and '#' in it are part of the name.  The
 * strings must live as long as the request. */
void handle_redirect_path(struct req *r, struct str path, struct str args);

/* Runs the location's phases again from its rewrite phase: for a hook
 * that took the request to prepare something in the pool (and declines
 * the second time). */
void handle_resume(struct req *r);

/* Applies an error_page entry for status; called by resp_error. */
void handle_error_page(struct req *r, const struct error_page *e, int status);

#endif
