/* limit_zone.h - what limit_req and limit_conn share: their zones
 * (limit_req_zone, limit_conn_zone: a key and a shared memory zone), the
 * parsing of "zone=name:size", the log levels and status range of their
 * directives, and the clock every worker reads alike. */
#ifndef TP_HANDLER_LIMIT_ZONE_H
#define TP_HANDLER_LIMIT_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf_shm.h"
#include "conf/conf_table.h"
#include "core/str.h"
#include "http/vars.h"

struct req;

/* One limit_req_zone or limit_conn_zone. */
struct limit_zone {
    struct cval key;      /* what is counted: a value with variables */
    int64_t rate;         /* limit_req: thousandths of a request per second */
    struct conf_shm *shm; /* its shared memory (shm->data is this) */
};

/* Reads "zone=name:size" into name and size, with nginx's messages
 * (invalid zone size, too small). */
int limit_zone_arg(struct conf_loader *cl, const struct conf_node *n, const char *arg,
                   struct str *name, size_t *size);

/* Declares the zone of a zone directive with its key (already compiled in
 * lz->key), as nginx's "already bound to key" check wants it. */
int limit_zone_declare(struct conf_loader *cl, const struct conf_node *n,
                       const struct conf_cmd *cmd, struct str name, size_t size,
                       const struct conf_shm_kind *kind, struct limit_zone *lz);

/* nginx's message for a reload that binds a kept zone to another key;
 * `what` is "limit_req" or "limit_conn_zone", as nginx words it. */
int limit_zone_reuse(const char *what, const struct conf_shm *d, const char *old, char *err,
                     size_t errlen);

/* The key of lz for r (*key empty: not counted); -1 when out of memory. */
int limit_zone_key(const struct limit_zone *lz, struct req *r, struct str *key);

/* The level of a "limiting" line for limit_*_log_level, and nginx's one
 * level lower for a "delaying" line. */
extern const struct conf_enum limit_log_levels[];
long limit_log_lower(long level);

/* limit_req_status and limit_conn_status: 400 to 599. */
extern const struct conf_range limit_status_range;

/* Setters for those generic entries (CT_NUM, CT_ENUM) in nginx's words,
 * which name neither the value nor the directive: "value must be between
 * 400 and 599", "invalid value "debug"". */
int limit_set_status(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd);
int limit_set_level(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd);

/* Milliseconds of CLOCK_MONOTONIC, the one clock all workers share. */
uint64_t limit_now_ms(void);

#endif
