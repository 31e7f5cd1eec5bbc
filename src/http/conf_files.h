/* conf_files.h - the http core module's directives for files (within the
 * module: conf_http.c's table names them). */
#ifndef TP_HTTP_CONF_FILES_H
#define TP_HTTP_CONF_FILES_H

#include "conf/conf_table.h"

struct loc_conf;

extern const struct conf_enum conf_ims_words[];

int conf_set_root(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_alias(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_try_files(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_error_page(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_add_header(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_types(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_open_file_cache(struct conf_loader *, const struct conf_node *,
                             const struct conf_cmd *);

void conf_files_merge(const struct loc_conf *parent, struct loc_conf *child);
int conf_files_defaults(struct conf_loader *cl, struct loc_conf *loc);

#endif
