/* handle.h - what happens to a request once its head is read: server,
 * location, content handler, and internal redirects (error_page,
 * try_files, index). */
#ifndef TP_HANDLE_H
#define TP_HANDLE_H

#include <stdbool.h>

#include "core/str.h"
#include "http/phases.h"

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

/* Applies an error_page entry for status; called by resp_error. */
void handle_error_page(struct req *r, const struct error_page *e, int status);

/* A phase hook that took the request without answering (it waits for a
 * pool job) gives it back: the phase goes on with the next hook, or with
 * the next phase when rc is PHASE_DONE. */
void handle_resume(struct req *r, enum phase_rc rc);

/* A rewrite changed r->path: the location is chosen again and its phases
 * run (nginx's post-rewrite), at most 10 times per request with the
 * internal redirects. */
void handle_relocate(struct req *r);

/* Whether the rewrite hook running is in the server rewrite phase (the
 * server's own directives, before a location is chosen). */
bool handle_phase_is_server(const struct req *r);

#endif
