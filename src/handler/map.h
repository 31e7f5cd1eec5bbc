/* map.h - `map` and `split_clients`: variables whose values depend on
 * another value, with nginx's meaning.
 *
 *   map $source $variable { [hostnames;] [volatile;] default v; key v; ~re v; ~*re v; }
 *   split_clients "$key" $variable { 0.5% a; 20% b; * c; }
 *
 * A map's value is found, in nginx's order, by the exact key (compared
 * without regard to case), the longest "*.x" wildcard, the longest "x.*"
 * wildcard (with `hostnames`), the first matching regex (whose captures
 * the value may use), else the default.  split_clients hashes its key with
 * nginx's MurmurHash2, so a key lands in the bucket nginx would put it in. */
#ifndef TP_HANDLER_MAP_H
#define TP_HANDLER_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "conf/module.h"

struct conf_loader;
struct conf_node;
struct var_dyn;

extern struct module mod_map;
extern struct module mod_split_clients;

/* The variable a map or split_clients block n defines (args[2], which the
 * vars module's prescan registered); NULL with nginx's message otherwise. */
struct var_dyn *map_variable(struct conf_loader *cl, const struct conf_node *n);

/* nginx's ngx_murmur_hash2 (Austin Appleby's MurmurHash2, seed 0). */
uint32_t map_murmur2(const unsigned char *data, size_t len);

#endif
