/* static.h - serving files: root/alias mapping, index, try_files,
 * conditional and range requests, and directory listings. */
#ifndef TP_STATIC_H
#define TP_STATIC_H

#include "core/str.h"

struct req;
struct loc_conf;

/* Serves r->path from the location's root or alias. */
void static_handle(struct req *r);

/* try_files: the first candidate that exists is served under its own URI;
 * otherwise the last parameter's URI or =code. */
void static_try_files(struct req *r);

/* The status for a failed open: 404 for a missing path, 403 for a refused
 * one (permissions, a symlink under disable_symlinks), else 500. */
int static_errno_status(int err);

#endif
