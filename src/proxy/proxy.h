/* proxy.h - the reverse proxy: proxy_pass's content handler (nginx's
 * ngx_http_proxy_module over ngx_http_upstream).
 *
 * A request goes to a server of an upstream group (or, for proxy_pass
 * with variables, to a name looked up at run time), over a new or kept
 * connection; its response streams back with bounded buffers, and an
 * upgrade (WebSocket) becomes a tunnel.  docs/architecture.md, "The
 * reverse proxy", tells the design; proxy_int.h the state. */
#ifndef TP_PROXY_H
#define TP_PROXY_H

struct req;

/* proxy_pass's handler of a location (loc->content). */
void proxy_content(struct req *r);

#endif
