/* conf_table.c - every directive turnpike accepts. */
#include "conf/conf_table.h"

#include "http/alog.h"

#include <string.h>

#define MAIN_F(f) CS_MAIN, offsetof(struct conf, f)
#define LOC_F(f) CS_LOC, offsetof(struct loc_conf, f)
#define CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

const struct conf_cmd conf_cmds[] = {
    /* core, main context */
    {"daemon", CTX_MAIN, ARGS(1), CT_FLAG, MAIN_F(daemon), "on", NULL},
    {"error_log", CTX_MAIN, ARGS(1) | ARGS(2), CUSTOM, conf_set_error_log},
    {"include", CTX_ANY, ARGS(1), CT_PARSER, CS_MAIN, 0, NULL, NULL},
    {"master_process", CTX_MAIN, ARGS(1), CT_FLAG, MAIN_F(master_process), "on", NULL},
    {"pid", CTX_MAIN, ARGS(1), CUSTOM, conf_set_path},
    {"thread_pool", CTX_MAIN, ARGS(2) | ARGS(3), CUSTOM, conf_set_thread_pool},
    {"user", CTX_MAIN, ARGS(1) | ARGS(2), CUSTOM, conf_set_user},
    {"worker_cpu_affinity", CTX_MAIN, ARGS_1MORE | ARGS_MANY, CUSTOM, conf_set_cpu_affinity},
    {"worker_processes", CTX_MAIN, ARGS(1), CUSTOM, conf_set_worker_processes},
    {"worker_rlimit_nofile", CTX_MAIN, ARGS(1), CT_NUM, MAIN_F(worker_rlimit_nofile), NULL, NULL},
    {"worker_shutdown_timeout", CTX_MAIN, ARGS(1), CT_MSEC, MAIN_F(worker_shutdown_timeout), "0",
     NULL},
    /* events */
    {"events", CTX_MAIN, ARGS(0) | ARGS_BLOCK, CUSTOM, conf_set_events},
    {"worker_connections", CTX_EVENTS, ARGS(1), CT_NUM, MAIN_F(worker_connections), "512", NULL},
    /* http core */
    {"http", CTX_MAIN, ARGS(0) | ARGS_BLOCK, CUSTOM, conf_set_http},
    {"server", CTX_HTTP, ARGS(0) | ARGS_BLOCK, CUSTOM, conf_set_server},
    {"location", CTX_SRV | CTX_LOC, ARGS(1) | ARGS(2) | ARGS_BLOCK, CUSTOM, conf_set_location},
    {"listen", CTX_SRV, ARGS_1MORE, CUSTOM, conf_set_listen},
    {"server_name", CTX_SRV, ARGS_1MORE | ARGS_MANY, CUSTOM, conf_set_server_name},
    {"return", CTX_SRV | CTX_LOC, ARGS(1) | ARGS(2), CUSTOM, conf_set_return},
    {"log_format", CTX_HTTP, ARGS_1MORE | ARGS_MANY, CUSTOM, conf_set_log_format},
    {"access_log", HSL, ARGS_1MORE, CUSTOM, conf_set_access_log},
    {"default_type", HSL, ARGS(1), CT_STR, LOC_F(default_type), "text/plain", NULL},
    {"keepalive_timeout", HSL, ARGS(1) | ARGS(2), CT_MSEC, LOC_F(keepalive_timeout), "75s",
     conf_set_keepalive_timeout},
    {"keepalive_requests", HSL, ARGS(1), CT_NUM, LOC_F(keepalive_requests), "1000", NULL},
    {"send_timeout", HSL, ARGS(1), CT_MSEC, LOC_F(send_timeout), "60s", NULL},
    {"client_header_timeout", CTX_HTTP | CTX_SRV, ARGS(1), CT_MSEC, LOC_F(client_header_timeout),
     "60s", NULL},
    {"client_body_timeout", HSL, ARGS(1), CT_MSEC, LOC_F(client_body_timeout), "60s", NULL},
    {"client_header_buffer_size", CTX_HTTP | CTX_SRV, ARGS(1), CT_SIZE,
     LOC_F(client_header_buffer_size), "1k", NULL},
    {"large_client_header_buffers", CTX_HTTP | CTX_SRV, ARGS(2), CT_NUM,
     LOC_F(large_header_buffers), "4", conf_set_large_header_buffers},
    {"client_max_body_size", HSL, ARGS(1), CT_SIZE, LOC_F(client_max_body_size), "1m", NULL},
    {"server_tokens", HSL, ARGS(1), CT_FLAG, LOC_F(server_tokens), "on", NULL},
    {"absolute_redirect", HSL, ARGS(1), CT_FLAG, LOC_F(absolute_redirect), "on", NULL},
    {"port_in_redirect", HSL, ARGS(1), CT_FLAG, LOC_F(port_in_redirect), "on", NULL},
    /* files */
    {"root", HSL, ARGS(1), CUSTOM, conf_set_root},
    {"alias", CTX_LOC, ARGS(1), CUSTOM, conf_set_alias},
    {"index", HSL, ARGS_1MORE | ARGS_MANY, CUSTOM, conf_set_index},
    {"try_files", CTX_SRV | CTX_LOC, (ARGS_1MORE & ~ARGS(1)) | ARGS_MANY, CUSTOM,
     conf_set_try_files},
    {"error_page", HSL, (ARGS_1MORE & ~ARGS(1)) | ARGS_MANY, CUSTOM, conf_set_error_page},
    {"add_header", HSL, ARGS(2) | ARGS(3), CUSTOM, conf_set_add_header},
    {"types", HSL, ARGS(0) | ARGS_BLOCK, CUSTOM, conf_set_types},
    {"autoindex", HSL, ARGS(1), CT_FLAG, LOC_F(autoindex), "off", NULL},
    {"autoindex_format", HSL, ARGS(1), CUSTOM, conf_set_autoindex_format},
    {"disable_symlinks", HSL, ARGS(1), CT_FLAG, LOC_F(disable_symlinks), "off", NULL},
    {"sendfile", HSL, ARGS(1), CT_FLAG, LOC_F(sendfile), "off", NULL},
    {"tcp_nopush", HSL, ARGS(1), CT_FLAG, LOC_F(tcp_nopush), "off", NULL},
    {"tcp_nodelay", HSL, ARGS(1), CT_FLAG, LOC_F(tcp_nodelay), "on", NULL},
    {"etag", HSL, ARGS(1), CT_FLAG, LOC_F(etag), "on", NULL},
    {"if_modified_since", HSL, ARGS(1), CUSTOM, conf_set_if_modified_since},
    {"max_ranges", HSL, ARGS(1), CT_NUM, LOC_F(max_ranges), NULL, NULL},
    {"open_file_cache", HSL, ARGS(1) | ARGS(2), CUSTOM, conf_set_open_file_cache},
    {"open_file_cache_valid", HSL, ARGS(1), CT_MSEC, LOC_F(open_file_cache_valid), "60s", NULL},
    /* gzip */
    {"gzip", HSL, ARGS(1), CT_FLAG, LOC_F(gzip), "off", NULL},
    {"gzip_static", HSL, ARGS(1), CT_FLAG, LOC_F(gzip_static), "off", NULL},
    {"gzip_vary", HSL, ARGS(1), CT_FLAG, LOC_F(gzip_vary), "on", NULL},
    {"gzip_comp_level", HSL, ARGS(1), CT_NUM, LOC_F(gzip_comp_level), "1",
     conf_set_gzip_comp_level},
    {"gzip_min_length", HSL, ARGS(1), CT_SIZE, LOC_F(gzip_min_length), "20", NULL},
    {"gzip_types", HSL, ARGS_1MORE | ARGS_MANY, CUSTOM, conf_set_gzip_types},
};

const size_t conf_ncmds = sizeof(conf_cmds) / sizeof(conf_cmds[0]);

const struct conf_cmd *conf_cmd_find(const char *name)
{
    for (size_t i = 0; i < conf_ncmds; i++)
        if (strcmp(conf_cmds[i].name, name) == 0)
            return &conf_cmds[i];
    return NULL;
}
