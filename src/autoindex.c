/* autoindex.c - placeholder until listings land: answers 403. */
#include "autoindex.h"

#include "req.h"
#include "resp.h"

void autoindex_handle(struct req *r, struct str dir)
{
    (void)dir;
    resp_error(r, 403);
}
