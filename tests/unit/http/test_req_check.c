/* test_req_check.c - the strictness table: requests http-parser 2.9.4
 * accepts (or half-accepts) that turnpike must refuse, next to good requests
 * that must go through, so the table also proves there are no false
 * positives.
 *
 * Every row runs the way conn.c runs a request: the real http-parser with
 * the real req_parser_settings (through req_parse_head, which lets methods
 * http-parser does not know through as nginx does) fills a struct req,
 * then req_check_head over the raw head, req_check_semantics over the
 * parsed one, and chunk_check over a chunked body.  Each row records which
 * layer refused it and whether http-parser alone would have accepted the
 * message: the rows marked ALONE_OK are the holes these checks close, and
 * accepted rows marked ALONE_BAD are what turnpike takes that http-parser
 * would not (bare LF in chunked framing, methods nginx knows).  Each
 * refusal also names the reason the error log gives, in nginx's words; a
 * row refused by http-parser gets the status and reason the connection
 * derives from the parser's error.  Every row is also run with bare LF
 * line ends, and must mean the same.  `test_req_check --rows` prints the
 * table for tests/integration/test_http_lf.py.  Add a row for every new
 * case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/conn.h"
#include "http/req.h"
#include "http/req_check.h"

/* Which check refused a request. */
enum layer {
    BY_NONE,   /* accepted */
    BY_PARSER, /* http-parser itself */
    BY_HEAD,   /* req_check_head */
    BY_SEM,    /* req_check_semantics */
    BY_CHUNK,  /* chunk_check */
};

/* Whether http-parser on its own takes the whole message. */
enum alone {
    ALONE_OK,  /* yes: only our checks stand in the way */
    ALONE_BAD, /* no: the parser refuses it too */
};

struct row {
    const char *name; /* what the row proves */
    const char *raw;  /* the request's bytes, NULs allowed */
    size_t len;       /* their number */
    int status;       /* expected answer; 0 = accepted */
    enum layer by;    /* the layer expected to refuse it */
    enum alone alone; /* what http-parser alone does with it */
    const char *why;  /* the error log's reason for a refusal, NULL if accepted */
};

#define ROW(name, raw, status, by, alone, why)                                                     \
    {                                                                                              \
        name, raw, sizeof(raw) - 1, status, by, alone, why                                         \
    }

/* nginx's words for each refusal (ngx_http_request.c, ngx_http_parse.c). */
#define OK NULL
#define W_METHOD "client sent invalid method"
#define W_REQUEST "client sent invalid request"
#define W_VERSION "client sent invalid version"
#define W_LINE "client sent invalid header line"
#define W_HOST "client sent invalid host header"
#define W_HOST_DUP "client sent duplicate host header"
#define W_NO_HOST "client sent HTTP/1.1 request without \"Host\" header"
#define W_HOST_LINE "client sent invalid host in request line"
#define W_CONNECT "client sent CONNECT method"
#define W_DUP "client sent duplicate header line"
#define W_TE_10 "client sent HTTP/1.0 request with \"Transfer-Encoding\" header"
#define W_TE_CL "client sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time"
#define W_TE_UNKNOWN "client sent unknown \"Transfer-Encoding\""
#define W_TE_BAD "client sent invalid \"Transfer-Encoding\""
#define W_CL "client sent invalid \"Content-Length\" header"
#define W_CHUNKED "client sent invalid chunked body"
#define H11 " HTTP/1.1\r\nHost: a\r\n"
#define CHUNKED "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

/* clang-format off */
static const struct row rows[] = {
    /* ---- good requests: no false positives ---- */
    ROW("simple GET", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("GET with query and headers", "GET /a/b.html?x=1&y=%20 HTTP/1.1\r\nHost: example.com\r\n"
        "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("absolute-form", "GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("absolute-form, https, port, upper-case scheme",
        "GET HTTPS://Example.COM:8443/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("absolute-form without a path", "GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("absolute-form with only a query", "DELETE http://a?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("absolute-form with an IPv6 authority",
        "GET http://[::1]:8080/ HTTP/1.1\r\nHost: a\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("OPTIONS with a path", "OPTIONS /x" H11 "\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("HEAD", "HEAD /x" H11 "\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("POST with Content-Length", "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
        "hello", 0, BY_NONE, ALONE_OK, OK),
    ROW("Content-Length: 0 on GET", "GET /" H11 "Content-Length: 0\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("Content-Length with leading zeros", "PUT /f" H11 "Content-Length: 005\r\n\r\nhello",
        0, BY_NONE, ALONE_OK, OK),
    ROW("Content-Length with OWS", "PUT /f" H11 "Content-Length:  5 \r\n\r\nhello",
        0, BY_NONE, ALONE_OK, OK),
    ROW("chunked POST", CHUNKED "5\r\nhello\r\n0\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("chunked POST, several chunks, upper-case hex", CHUNKED "A\r\n0123456789\r\n"
        "1\r\nx\r\n000\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("chunked with extensions and a trailer", CHUNKED "5;name=value;q=\"a \\\"b\\\"\"\r\n"
        "hello\r\n1 ; x ; y = z\r\n!\r\n0;last\r\nX-Sum: 1\r\nX-Empty:\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("chunked, empty body", CHUNKED "0\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("Transfer-Encoding in another case, with OWS",
        "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  Chunked  \r\n\r\n0\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("HTTP/1.0 with Host", "GET / HTTP/1.0\r\nHost: example.com\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("HTTP/1.0 POST with Content-Length", "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
        0, BY_NONE, ALONE_OK, OK),
    ROW("Host with a port", "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("IPv4 Host", "GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("IPv6 Host with a port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("IPv6 Host", "GET / HTTP/1.1\r\nHost: [2001:db8::ffff:1.2.3.4]\r\n\r\n", 0, BY_NONE,
        ALONE_OK, OK),
    ROW("Host with a trailing dot", "GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n", 0, BY_NONE,
        ALONE_OK, OK),
    ROW("Host with surrounding OWS", "GET / HTTP/1.1\r\nHost: \t example.com \t\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("Host with '_', '~' and '-'", "GET / HTTP/1.1\r\nHost: my_host~1.ex-ample\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("host is case-insensitive", "GET / HTTP/1.1\r\nHOST: a\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("empty line before the request line", "\r\n\r\nGET /" H11 "\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("HTAB in a field value", "GET /" H11 "X-A: a\tb\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("obs-text in the target and a value", "GET /caf\xc3\xa9" H11 "X: \xc3\xa9\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("empty field value", "GET /" H11 "X-Empty:\r\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("every tchar in a field name", "GET /" H11 "X-!#$%&'*+.^_`|~: v\r\n\r\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("sub-delims and ':' in the target", "GET /a;b=c,d:e@f!$&'()*+?q=/?" H11 "\r\n",
        0, BY_NONE, ALONE_OK, OK),

    /* ---- Transfer-Encoding ---- */
    ROW("duplicate Transfer-Encoding lines", "POST /" H11 "Transfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, BY_SEM, ALONE_OK, W_DUP),
    ROW("Transfer-Encoding split over two lines", "POST /" H11 "Transfer-Encoding: gzip\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, BY_SEM, ALONE_OK, W_DUP),
    ROW("chunked twice in one list", "POST /" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n"
        "0\r\n\r\n", 400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("coding list not ending in chunked: gzip", "POST /" H11 "Transfer-Encoding: gzip\r\n\r\n",
        400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("coding list not ending in chunked: chunked, gzip", "POST /" H11
        "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("coding list not ending in chunked: identity", "POST /" H11
        "Transfer-Encoding: identity\r\n\r\n", 400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("chunked with a parameter", "POST /" H11 "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n",
        400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("chunked followed by a tab (found by fuzzing)", "POST /" H11
        "Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n", 400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("chunked with a prefix", "POST /" H11 "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("empty list element before chunked", "POST /" H11 "Transfer-Encoding: , chunked\r\n\r\n"
        "0\r\n\r\n", 400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("empty list element after chunked", "POST /" H11 "Transfer-Encoding: chunked,\r\n\r\n"
        "0\r\n\r\n", 400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("empty Transfer-Encoding", "POST /" H11 "Transfer-Encoding:\r\n\r\n", 400, BY_SEM,
        ALONE_BAD, W_TE_BAD),
    ROW("HTAB after chunked (http-parser would not frame it)", "POST /" H11
        "Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n", 400, BY_SEM, ALONE_BAD, W_TE_BAD),
    ROW("HTAB inside the coding list", "POST /" H11
        "Transfer-Encoding: gzip\t,chunked\r\n\r\n0\r\n\r\n", 400, BY_SEM, ALONE_OK, W_TE_BAD),
    ROW("unknown coding before chunked: gzip", "POST /" H11 "Transfer-Encoding: gzip, chunked\r\n"
        "\r\n0\r\n\r\n", 501, BY_SEM, ALONE_OK, W_TE_UNKNOWN),
    ROW("unknown coding before chunked: deflate", "POST /" H11
        "Transfer-Encoding: deflate,chunked\r\n\r\n0\r\n\r\n", 501, BY_SEM, ALONE_OK, W_TE_UNKNOWN),
    ROW("malformed request beats unknown coding", "POST / HTTP/1.1\r\n"
        "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400, BY_SEM, ALONE_OK, W_NO_HOST),
    ROW("a name starting with Transfer-Encoding", "POST /" H11 "Transfer-Encodingx: chunked\r\n"
        "\r\n", 400, BY_SEM, ALONE_BAD, W_LINE),
    ROW("such a name after a real Transfer-Encoding", "POST /" H11 "Transfer-Encoding: chunked\r\n"
        "Transfer-Encoding-Extra:\r\n\r\n0\r\n\r\n", 400, BY_SEM, ALONE_BAD, W_LINE),
    ROW("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n", 400, BY_SEM, ALONE_OK, W_TE_10),
    ROW("Transfer-Encoding and Content-Length", "POST /" H11 "Transfer-Encoding: chunked\r\n"
        "Content-Length: 5\r\n\r\n0\r\n\r\n", 400, BY_PARSER, ALONE_BAD, W_TE_CL),
    ROW("Content-Length and Transfer-Encoding", "POST /" H11 "Content-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, BY_PARSER, ALONE_BAD, W_TE_CL),
    ROW("vertical tab after chunked", "POST /" H11 "Transfer-Encoding: chunked\x0b\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_LINE),

    /* ---- obs-fold, whitespace before a colon or the first header ---- */
    ROW("obs-fold with SP", "GET /" H11 "X-A: a\r\n b\r\n\r\n", 400, BY_HEAD, ALONE_OK, W_LINE),
    ROW("obs-fold with HTAB", "GET /" H11 "X-A: a\r\n\tb\r\n\r\n", 400, BY_HEAD, ALONE_OK, W_LINE),
    ROW("obs-fold hiding Transfer-Encoding", "POST /" H11 "X: y\r\n Transfer-Encoding: chunked\r\n"
        "\r\n0\r\n\r\n", 400, BY_HEAD, ALONE_OK, W_LINE),
    ROW("whitespace line before the first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        400, BY_HEAD, ALONE_OK, W_LINE),
    ROW("HTAB line before the first header", "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("whitespace-only line before the first header", "GET / HTTP/1.1\r\n \r\nHost: a\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("SP before a colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, BY_HEAD, ALONE_OK, W_LINE),
    ROW("HTAB before a colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("SP before the colon of Transfer-Encoding", "POST /" H11
        "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, BY_HEAD, ALONE_OK, W_LINE),
    ROW("SP inside a field name", "GET /" H11 "X A: b\r\n\r\n", 400, BY_HEAD, ALONE_OK, W_LINE),

    /* ---- chunk framing ---- */
    ROW("bare LF ending a chunk extension", CHUNKED "5;a=b\nhello\r\n0\r\n\r\n", 0, BY_NONE,
        ALONE_OK, OK),
    ROW("bare LF inside a quoted extension", CHUNKED "5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_OK, W_CHUNKED),
    ROW("control byte in a chunk extension", CHUNKED "5;a\x01" "b\r\nhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_OK, W_CHUNKED),
    ROW("NUL in a quoted extension", CHUNKED "5;a=\"\0\"\r\nhello\r\n0\r\n\r\n", 400, BY_CHUNK,
        ALONE_OK, W_CHUNKED),
    ROW("bare CR in a chunk extension", CHUNKED "5;a\rb\r\nhello\r\n0\r\n\r\n", 400, BY_CHUNK,
        ALONE_BAD, W_CHUNKED),
    ROW("extension without a name", CHUNKED "5;=x\r\nhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_OK, W_CHUNKED),
    ROW("extension with an empty value", CHUNKED "5;a=\r\nhello\r\n0\r\n\r\n", 400, BY_CHUNK,
        ALONE_OK, W_CHUNKED),
    ROW("unterminated quoted extension", CHUNKED "5;a=\"x\r\nhello\r\n0\r\n\r\n", 400, BY_CHUNK,
        ALONE_OK, W_CHUNKED),
    ROW("bare LF after a chunk size", CHUNKED "5\nhello\r\n0\r\n\r\n",
        0, BY_NONE, ALONE_BAD, OK),
    ROW("bare LF after chunk data", CHUNKED "5\r\nhello\n0\r\n\r\n",
        0, BY_NONE, ALONE_BAD, OK),
    ROW("bare LF everywhere in chunked framing", "POST /up HTTP/1.1\nHost: a\n"
        "Transfer-Encoding: chunked\n\n5;x=y\nhello\n1\n!\n0\nX-T: 1\n\n",
        0, BY_NONE, ALONE_OK, OK),
    ROW("bare CR after chunk data", CHUNKED "5\r\nhello\r0\r\n\r\n",
        400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("bare CR ending a chunk size", CHUNKED "5\rhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("bare CR ending a trailer", CHUNKED "0\r\nX: a\rY: b\r\n\r\n",
        400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("CR CR ending the message", CHUNKED "0\r\n\r\r", 400, BY_CHUNK, ALONE_OK, W_CHUNKED),
    ROW("data longer than its size", CHUNKED "5\r\nhelloX\r\n0\r\n\r\n", 400, BY_CHUNK,
        ALONE_BAD, W_CHUNKED),
    ROW("chunk size of 16 hex digits", CHUNKED "0000000000000005\r\nhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_OK, W_CHUNKED),
    ROW("chunk size overflowing 64 bits", CHUNKED "10000000000000005\r\nhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("negative chunk size", CHUNKED "-5\r\nhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("chunk size with 0x", CHUNKED "0x5\r\nhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("space after a chunk size", CHUNKED "5 \r\nhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_OK, W_CHUNKED),
    ROW("space before a chunk size", CHUNKED " 5\r\nhello\r\n0\r\n\r\n",
        400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("empty chunk size", CHUNKED "\r\nhello\r\n0\r\n\r\n", 400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("trailer with obs-fold", CHUNKED "0\r\nX: a\r\n b\r\n\r\n",
        400, BY_CHUNK, ALONE_OK, W_CHUNKED),
    ROW("trailer with SP before the colon", CHUNKED "0\r\nX : a\r\n\r\n",
        400, BY_CHUNK, ALONE_OK, W_CHUNKED),
    ROW("trailer ending in bare LF", CHUNKED "0\r\nX: a\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("trailer with a control byte", CHUNKED "0\r\nX: a\x01\r\n\r\n",
        400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("trailer without a colon", CHUNKED "0\r\nX\r\n\r\n", 400, BY_CHUNK, ALONE_BAD, W_CHUNKED),
    ROW("bare LF ending the last chunk", CHUNKED "0\n\r\n", 0, BY_NONE, ALONE_BAD, OK),
    ROW("bare LF ending the message", CHUNKED "0\r\n\n", 0, BY_NONE, ALONE_OK, OK),
    /* Debian builds http-parser with HTTP_PARSER_STRICT=0: after a CR in
     * these places it takes any byte as the LF, and any two bytes after
     * chunk data as the CRLF. */
    ROW("any byte after CR ending a size line", CHUNKED "5\rXhello\r\n0\r\n\r\n", 400, 
        BY_CHUNK, ALONE_OK, W_CHUNKED),
    ROW("any two bytes after chunk data", CHUNKED "5\r\nhelloXY0\r\n\r\n", 400, BY_CHUNK,
        ALONE_OK, W_CHUNKED),
    ROW("any byte after the final CR", CHUNKED "0\r\n\rX", 400, BY_CHUNK, ALONE_OK, W_CHUNKED),

    /* ---- HTTP/0.9 and versions ---- */
    ROW("HTTP/0.9 request line", "GET /\r\n\r\n", 400, BY_HEAD, ALONE_OK, W_REQUEST),
    ROW("HTTP/0.9 request line with headers", "GET /\r\nHost: a\r\n\r\n",
        400, BY_HEAD, ALONE_OK, W_REQUEST),
    ROW("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, BY_SEM, ALONE_OK, W_VERSION),
    ROW("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, BY_SEM, ALONE_OK, W_VERSION),
    ROW("HTTP/0.8", "GET / HTTP/0.8\r\n\r\n", 505, BY_SEM, ALONE_OK, W_VERSION),
    ROW("HTTP/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, BY_SEM, ALONE_OK, W_VERSION),
    ROW("HTTP/0.9 spelled out", "GET / HTTP/0.9\r\n\r\n", 400, BY_SEM, ALONE_OK, W_REQUEST),
    ROW("two-digit minor version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 505, BY_PARSER,
        ALONE_BAD, W_VERSION),
    ROW("two-digit major version", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 505, BY_PARSER,
        ALONE_BAD, W_VERSION),
    ROW("lower-case protocol name", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, BY_PARSER,
        ALONE_BAD, W_REQUEST),

    /* ---- Host ---- */
    ROW("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400, BY_SEM, ALONE_OK, W_NO_HOST),
    ROW("missing Host with absolute-form", "GET http://a/ HTTP/1.1\r\n\r\n", 400, BY_SEM,
        ALONE_OK, W_NO_HOST),
    ROW("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host of only whitespace", "GET / HTTP/1.1\r\nHost:  \t \r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("empty Host in HTTP/1.0", "GET / HTTP/1.0\r\nHost:\r\n\r\n", 400, BY_SEM, ALONE_OK, W_HOST),
    ROW("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST_DUP),
    ROW("duplicate identical Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, BY_SEM,
        ALONE_OK, W_HOST_DUP),
    ROW("duplicate Host in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST_DUP),
    ROW("Host with a space inside", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host with HTAB inside", "GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host with userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host with a backslash", "GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host with a percent escape", "GET / HTTP/1.1\r\nHost: a%2fb\r\n\r\n", 400, BY_SEM,
        ALONE_OK, W_HOST),
    ROW("Host with '..'", "GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", 400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host of '..'", "GET / HTTP/1.1\r\nHost: ..\r\n\r\n", 400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host starting with a dot", "GET / HTTP/1.1\r\nHost: .a\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host with a non-numeric port", "GET / HTTP/1.1\r\nHost: a:x\r\n\r\n", 400, BY_SEM,
        ALONE_OK, W_HOST),
    ROW("Host with an empty port", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host with a port over 65535", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400, BY_SEM,
        ALONE_OK, W_HOST),
    ROW("Host with two ports", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("Host of only a port", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("unclosed IPv6 Host", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("invalid IPv6 Host", "GET / HTTP/1.1\r\nHost: [zz::1]\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),
    ROW("IPv6 Host with a zone", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", 400, BY_SEM,
        ALONE_OK, W_HOST),
    ROW("IPv6 Host with junk after ']'", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400, BY_SEM,
        ALONE_OK, W_HOST),
    ROW("unbracketed IPv6 Host", "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_HOST),

    /* ---- NUL, bare CR, bare LF and control bytes in the head ---- */
    ROW("NUL in a field value", "GET /" H11 "X: a\0b\r\n\r\n", 400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("NUL in a field name", "GET /" H11 "X\0Y: b\r\n\r\n", 400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("NUL in the target", "GET /a\0b" H11 "\r\n", 400, BY_PARSER, ALONE_BAD, W_REQUEST),
    ROW("NUL before the request line", "\0GET /" H11 "\r\n", 400, BY_PARSER, ALONE_BAD, W_METHOD),
    ROW("bare CR in a field value", "GET /" H11 "X: a\rb\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("bare CR ending a header", "GET /" H11 "X: a\rY: b\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("bare CR ending the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400, BY_PARSER,
        ALONE_BAD, W_REQUEST),
    ROW("bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 0, BY_NONE,
        ALONE_OK, OK),
    ROW("bare LF ending a header", "GET /" H11 "X: a\n\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("bare LF ending the head", "GET /" H11 "\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("only bare LFs", "GET / HTTP/1.1\nHost: a\n\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("HTTP/1.0 with bare LFs", "GET / HTTP/1.0\n\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("bare LF ending an empty value", "GET /" H11 "X:\n\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("obs-fold after a bare LF", "GET /" H11 "X-A: a\n b\n\n", 400, BY_HEAD, ALONE_OK,
        W_LINE),
    ROW("bare CR then bare LF", "GET / HTTP/1.1\r\rHost: a\n\n", 400, BY_PARSER, ALONE_BAD,
        W_REQUEST),
    ROW("bare CR before the request line", "\rGET /" H11 "\r\n", 400, BY_HEAD, ALONE_OK,
        W_METHOD),
    ROW("bare CR ending the head after bare LFs", "GET / HTTP/1.1\nHost: a\n\rX", 400, BY_HEAD,
        ALONE_OK, W_LINE),
    ROW("any byte after the head's final CR", "GET /" H11 "\rX", 400, BY_HEAD, ALONE_OK, W_LINE),
    ROW("CR CR ending a chunked head", "POST /" H11 "Transfer-Encoding: chunked\r\n\r\r5\r\n"
        "hello\r\n0\r\n\r\n", 400, BY_HEAD, ALONE_OK, W_LINE),
    ROW("bare LF before the request line", "\nGET /" H11 "\r\n", 0, BY_NONE, ALONE_OK, OK),
    ROW("control byte in a field value", "GET /" H11 "X: a\x01" "b\r\n\r\n", 400, BY_PARSER,
        ALONE_BAD, W_LINE),
    ROW("DEL in a field value", "GET /" H11 "X: a\x7f" "b\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("ESC in a field value", "GET /" H11 "X: \x1b[31m\r\n\r\n", 400, BY_HEAD, ALONE_OK, W_LINE),
    ROW("form feed in a field value", "GET /" H11 "X: a\fb\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("control byte in the Host value", "GET / HTTP/1.1\r\nHost: a\x02\r\n\r\n", 400, BY_PARSER,
        ALONE_BAD, W_LINE),
    ROW("control byte in the target", "GET /a\x01" "b" H11 "\r\n",
        400, BY_PARSER, ALONE_BAD, W_REQUEST),
    ROW("DEL in the target", "GET /a\x7f" "b" H11 "\r\n", 400, BY_PARSER, ALONE_BAD, W_REQUEST),
    ROW("HTAB in the target", "GET /a\tb" H11 "\r\n", 400, BY_HEAD, ALONE_OK, W_REQUEST),

    /* ---- request-line shape ---- */
    ROW("two spaces after the method", "GET  /" H11 "\r\n", 400, BY_HEAD, ALONE_OK, W_REQUEST),
    ROW("two spaces before the version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, BY_HEAD,
        ALONE_OK, W_REQUEST),
    ROW("HTAB after the method", "GET\t/" H11 "\r\n", 400, BY_PARSER, ALONE_BAD, W_METHOD),
    ROW("space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 505, BY_PARSER,
        ALONE_BAD, W_VERSION),
    ROW("lower-case method", "get /" H11 "\r\n", 400, BY_PARSER, ALONE_BAD, W_METHOD),
    ROW("unknown method (405 in a static location)", "FOO /" H11 "\r\n", 0, BY_NONE, ALONE_BAD,
        OK),
    ROW("unknown method sharing a known one's start", "GETX /" H11 "\r\n", 0, BY_NONE,
        ALONE_BAD, OK),
    ROW("unknown method with '_' and '-'", "X_Y-Z /" H11 "Content-Length: 2\r\n\r\nhi", 0,
        BY_NONE, ALONE_BAD, OK),
    ROW("unknown method after an empty line", "\r\nFOO /" H11 "\r\n", 0, BY_NONE, ALONE_BAD,
        OK),
    ROW("method with a digit", "FO0 /" H11 "\r\n", 400, BY_PARSER, ALONE_BAD, W_METHOD),
    ROW("method with a lower-case letter", "FOo /" H11 "\r\n", 400, BY_PARSER, ALONE_BAD,
        W_METHOD),
    ROW("unknown method with a tab", "FOO\t/" H11 "\r\n", 400, BY_PARSER, ALONE_BAD, W_METHOD),

    /* ---- request-target forms ---- */
    ROW("'*' with GET", "GET *" H11 "\r\n", 400, BY_SEM, ALONE_OK, W_REQUEST),
    ROW("'*' with POST", "POST *" H11 "Content-Length: 0\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_REQUEST),
    ROW("'*/x' with OPTIONS", "OPTIONS */x" H11 "\r\n", 400, BY_SEM, ALONE_OK, W_REQUEST),
    ROW("CONNECT in authority-form", "CONNECT a:443" H11 "\r\n", 400, BY_SEM, ALONE_OK, W_CONNECT),
    ROW("authority-form with GET", "GET a:443" H11 "\r\n", 400, BY_PARSER, ALONE_BAD, W_REQUEST),
    ROW("relative target", "GET a/b" H11 "\r\n", 400, BY_PARSER, ALONE_BAD, W_REQUEST),
    ROW("absolute-form with userinfo", "GET http://u@a/" H11 "\r\n",
        400, BY_SEM, ALONE_OK, W_HOST_LINE),
    ROW("absolute-form with a bad port", "GET http://a:x/" H11 "\r\n", 400, BY_SEM,
        ALONE_OK, W_HOST_LINE),
    ROW("absolute-form with an empty authority", "GET http:///a" H11 "\r\n", 400, BY_SEM,
        ALONE_OK, W_HOST_LINE),
    ROW("absolute-form with a bad host", "GET http://a..b/" H11 "\r\n",
        400, BY_SEM, ALONE_OK, W_HOST_LINE),
    ROW("absolute-form with another scheme", "GET ftp://a/" H11 "\r\n",
        400, BY_SEM, ALONE_OK, W_REQUEST),
    ROW("absolute-form, scheme without '//'", "GET http:a/" H11 "\r\n", 400, BY_PARSER,
        ALONE_BAD, W_REQUEST),
    ROW("fragment in the target", "GET /a#b" H11 "\r\n", 400, BY_SEM, ALONE_OK, W_REQUEST),

    /* ---- Content-Length ---- */
    ROW("duplicate equal Content-Length", "POST /" H11 "Content-Length: 5\r\n"
        "Content-Length: 5\r\n\r\nhello", 400, BY_PARSER, ALONE_BAD, W_DUP),
    ROW("duplicate different Content-Length", "POST /" H11 "Content-Length: 5\r\n"
        "Content-Length: 6\r\n\r\nhello!", 400, BY_PARSER, ALONE_BAD, W_DUP),
    ROW("Content-Length list", "POST /" H11 "Content-Length: 5, 5\r\n\r\nhello", 400, BY_PARSER,
        ALONE_BAD, W_CL),
    ROW("non-numeric Content-Length", "POST /" H11 "Content-Length: five\r\n\r\n", 400, 
        BY_PARSER, ALONE_BAD, W_CL),
    ROW("signed Content-Length", "POST /" H11 "Content-Length: +5\r\n\r\nhello", 400, BY_PARSER,
        ALONE_BAD, W_CL),
    ROW("empty Content-Length", "POST /" H11 "Content-Length:\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_CL),
    ROW("Content-Length past 64 bits", "POST /" H11 "Content-Length: 99999999999999999999\r\n\r\n",
        400, BY_PARSER, ALONE_BAD, W_CL),
    ROW("Content-Length of 19 digits", "POST /" H11 "Content-Length: 1000000000000000000\r\n\r\n",
        400, BY_SEM, ALONE_OK, W_CL),

    /* ---- field names ---- */
    ROW("empty field name", "GET /" H11 ": x\r\n\r\n", 400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("'(' in a field name", "GET /" H11 "X(y): z\r\n\r\n", 400, BY_PARSER, ALONE_BAD, W_LINE),
    ROW("obs-text in a field name", "GET /" H11 "X\xc3\xa9: z\r\n\r\n", 400, BY_PARSER,
        ALONE_BAD, W_LINE),
};
/* clang-format on */

/* What one row did. */
struct outcome {
    int status;       /* 0 or the refusal */
    enum layer by;    /* who refused */
    enum alone alone; /* http-parser on its own */
    const char *why;  /* the reason logged, or NULL */
};

static const char *layer_name(enum layer by)
{
    static const char *const names[] = {"none", "parser", "head", "semantics", "chunk"};
    return names[by];
}

/* Header views, as the connection sets them once the head is complete. */
static void set_views(struct req *r, const char *buf)
{
    r->target = str_make(buf + r->target_span.off, r->target_span.len);
    for (uint32_t i = 0; i < r->nhdrs; i++) {
        struct req_hdr *h = &r->hdrs[i];
        h->name = str_make(buf + h->name_span.off, h->name_span.len);
        h->value = str_make(buf + h->value_span.off, h->value_span.len);
    }
}

/* The body of a chunked request must be consumed exactly to its end. */
static struct outcome judge_body(struct conn *c, size_t head_len, size_t len)
{
    struct chunk_check cc;
    chunk_check_init(&cc);
    ssize_t n = chunk_check_feed(&cc, c->buf + head_len, len - head_len);
    if (n < 0)
        return (struct outcome){400, BY_CHUNK, ALONE_OK, W_CHUNKED};
    assert_true(cc.done);
    assert_int_equal(n, len - head_len);
    return (struct outcome){0, BY_NONE, ALONE_OK, NULL};
}

static struct outcome judge(struct conn *c, size_t len)
{
    struct req *r = c->req;
    uint32_t n = 0;
    enum http_errno e = req_parse_head(r, c->buf, (uint32_t)len, &n);
    if (e != HPE_PAUSED) {
        assert_int_not_equal(e, HPE_OK); /* a row with an incomplete head */
        /* The status and reason the connection gives http-parser's error. */
        int status = req_refuse_parse(r, e);
        return (struct outcome){status, BY_PARSER, ALONE_OK, r->refusal};
    }
    /* The parser pauses with the head's last byte still unread: the LF, or
     * (http-parser is built non-strict) whatever byte followed the final
     * CR.  The head passed to the check must include that byte. */
    assert_true(n < len);
    size_t head_len = n + 1;
    set_views(r, c->buf);
    const char *why = NULL;
    int status = req_check_head(c->buf, head_len, &why);
    if (status != 0)
        return (struct outcome){status, BY_HEAD, ALONE_OK, why};
    status = req_check_semantics(r, &why);
    if (status != 0)
        return (struct outcome){status, BY_SEM, ALONE_OK, why};
    if (req_header(r, "Transfer-Encoding") != NULL)
        return judge_body(c, head_len, len);
    return (struct outcome){0, BY_NONE, ALONE_OK, NULL};
}

/* http-parser on its own: does it take the whole message without error? */
static int alone_complete(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

static enum alone parser_alone(const char *buf, size_t len)
{
    http_parser_settings s = {.on_message_complete = alone_complete};
    http_parser p;
    http_parser_init(&p, HTTP_REQUEST);
    http_parser_execute(&p, &s, buf, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&p);
    return e == HPE_OK || e == HPE_PAUSED ? ALONE_OK : ALONE_BAD;
}

/* Runs raw bytes the way conn.c does, from an exactly sized buffer so that
 * ASan sees any read past the request. */
static struct outcome run_request(const char *raw, size_t len)
{
    struct conn c;
    memset(&c, 0, sizeof(c));
    c.buf = malloc(len);
    assert_non_null(c.buf);
    memcpy(c.buf, raw, len);
    c.buf_len = c.buf_cap = (uint32_t)len;
    c.req = req_new(&c);
    assert_non_null(c.req);
    http_parser_init(&c.req->parser, HTTP_REQUEST);
    c.req->parser.data = &c;
    c.req->line_max = 8192;
    struct outcome o = judge(&c, len);
    o.alone = parser_alone(c.buf, len);
    req_free(c.req);
    free(c.buf);
    return o;
}

/* The row with every CRLF written as a bare LF (a client that writes
 * plain "\n"), in a buffer of its own; *len is its length. */
static char *lf_variant(const char *raw, size_t rlen, size_t *len)
{
    char *out = malloc(rlen + 1);
    size_t n = 0;
    assert_non_null(out);
    for (size_t i = 0; i < rlen; i++)
        if (!(raw[i] == '\r' && i + 1 < rlen && raw[i + 1] == '\n'))
            out[n++] = raw[i];
    *len = n;
    return out;
}

static void test_table(void **state)
{
    unsigned failed = 0, gaps = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *w = &rows[i];
        struct outcome o = run_request(w->raw, w->len);
        bool why_ok = o.why == NULL ? w->why == NULL : w->why != NULL && !strcmp(o.why, w->why);
        if (o.status != w->status || o.by != w->by || o.alone != w->alone || !why_ok) {
            print_error("row %zu \"%s\": got %d by %s (parser alone %s, \"%s\"), want %d by %s "
                        "(%s, \"%s\")\n",
                        i, w->name, o.status, layer_name(o.by), o.alone == ALONE_OK ? "ok" : "bad",
                        o.why ? o.why : "-", w->status, layer_name(w->by),
                        w->alone == ALONE_OK ? "ok" : "bad", w->why ? w->why : "-");
            failed++;
        }
        gaps += w->status != 0 && w->alone == ALONE_OK;
    }
    print_message("%zu rows, %u that http-parser alone accepts\n", sizeof(rows) / sizeof(rows[0]),
                  gaps);
    assert_int_equal(failed, 0);
    assert_true(sizeof(rows) / sizeof(rows[0]) >= 60);
}

/* Every row means the same with bare LF line ends: the same answer for
 * the same reason.  A bare CR stays a bare CR, so every row refused for
 * one still is. */
static void test_table_lf(void **state)
{
    unsigned failed = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *w = &rows[i];
        size_t len;
        char *raw = lf_variant(w->raw, w->len, &len);
        struct outcome o = run_request(raw, len);
        bool why_ok = o.why == NULL ? w->why == NULL : w->why != NULL && !strcmp(o.why, w->why);
        if (o.status != w->status || !why_ok) {
            print_error("row %zu \"%s\" with LF: got %d (\"%s\"), want %d (\"%s\")\n", i,
                        w->name, o.status, o.why ? o.why : "-", w->status, w->why ? w->why : "-");
            failed++;
        }
        free(raw);
    }
    assert_int_equal(failed, 0);
}

/* `test_req_check --rows` prints the table for the integration test that
 * sends every row to a real server: "status<TAB>name<TAB>hex bytes". */
static void print_rows(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *w = &rows[i];
        printf("%d\t%s\t", w->status, w->name);
        for (size_t k = 0; k < w->len; k++)
            printf("%02x", (unsigned char)w->raw[k]);
        printf("\n");
    }
}

/* ---- req_check_head on its own ---------------------------------------------- */

/* Heads as the caller might pass them, without a parser in front. */
static void test_head_direct(void **state)
{
    static const struct {
        const char *raw; /* head bytes */
        size_t len;      /* their number */
        int status;      /* expected */
    } cases[] = {
#define HEAD(raw, status) {raw, sizeof(raw) - 1, status}
        HEAD("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0),
        HEAD("GET / HTTP/1.1\r\n\r\n", 0),
        HEAD("\r\nGET / HTTP/1.1\r\n\r\n", 0),
        HEAD("", 400),
        HEAD("\r\n", 400),
        HEAD("\r\n\r\n", 400),
        HEAD("GET / HTTP/1.1\r\n", 400),                 /* no blank line */
        HEAD("GET / HTTP/1.1\r\nHost: a\r\n", 400),      /* no blank line */
        HEAD("GET / HTTP/1.1\r\nHost: a\r\n\r", 400),    /* the final LF cut off */
        HEAD("GET / HTTP/1.1\r\n\r\nGET", 400),          /* bytes past the head */
        HEAD("GET / HTTP/1.1\r\n\r\n\r\n", 400),         /* a second blank line */
        HEAD("GET / HTTP/1.\r\n\r\n", 400),              /* short version */
        HEAD("GET / HTTP/1.1", 400),                     /* cut in the request line */
        HEAD("GET / HTTPS/1.1\r\n\r\n", 400),            /* another protocol */
        HEAD(" GET / HTTP/1.1\r\n\r\n", 400),            /* leading space */
        HEAD("GET /\x80\xff HTTP/1.1\r\n\r\n", 0),       /* obs-text in the target */
        HEAD("GET / HTTP/1.1\r\nX:\x80\xff\r\n\r\n", 0), /* obs-text in a value */
        HEAD("GET / HTTP/1.1\r\nX:\r\r\n\r\n", 400),     /* bare CR at a line's end */
#undef HEAD
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *copy = malloc(cases[i].len + 1); /* exactly sized for ASan */
        assert_non_null(copy);
        memcpy(copy, cases[i].raw, cases[i].len);
        const char *why = NULL;
        int status = req_check_head(copy, cases[i].len, &why);
        assert_true(status == 0 || why != NULL);
        if (status != cases[i].status)
            print_error("head case %zu: got %d\n", i, status);
        assert_int_equal(status, cases[i].status);
        free(copy);
    }
}

/* Every byte value in a field value: HTAB, SP..0x7e and obs-text pass. */
static void test_head_every_byte(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        char head[] = "GET / HTTP/1.1\r\nX: a?b\r\n\r\n";
        char *q = strchr(head, '?');
        *q = (char)b;
        bool ok = b == '\t' || (b >= 0x20 && b != 0x7f);
        const char *why = NULL;
        if (req_check_head(head, sizeof(head) - 1, &why) != (ok ? 0 : 400))
            fail_msg("byte 0x%02x in a value", b);
    }
}

/* ---- chunk_check on its own ------------------------------------------------ */

/* Feeds body in two pieces split at `at`; returns the bytes consumed, or -1. */
static ssize_t feed_split(const char *body, size_t len, size_t at)
{
    struct chunk_check cc;
    chunk_check_init(&cc);
    ssize_t a = chunk_check_feed(&cc, body, at);
    if (a < 0)
        return -1;
    if (cc.done) {
        assert_int_equal(chunk_check_feed(&cc, body + at, len - at), 0);
        return a;
    }
    assert_int_equal(a, at); /* an unfinished message takes every byte */
    ssize_t b = chunk_check_feed(&cc, body + at, len - at);
    return b < 0 ? -1 : a + b;
}

/* Feeds one byte at a time; returns the bytes consumed, or -1. */
static ssize_t feed_bytes(const char *body, size_t len)
{
    struct chunk_check cc;
    chunk_check_init(&cc);
    size_t total = 0;
    for (size_t i = 0; i < len && !cc.done; i++) {
        ssize_t n = chunk_check_feed(&cc, body + i, 1);
        if (n < 0)
            return -1;
        total += (size_t)n;
    }
    return cc.done ? (ssize_t)total : -2;
}

/* Bodies, each followed by what comes after the message. */
static const struct {
    const char *body; /* bytes as received */
    size_t len;       /* their number */
    ssize_t consumed; /* bytes of the message, or -1 for a violation */
} bodies[] = {
#define BODY(b, consumed)                                                                          \
    {                                                                                              \
        b, sizeof(b) - 1, consumed                                                                 \
    }
    BODY("0\r\n\r\n", 5),
    BODY("0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 5),
    BODY("5\r\nhello\r\n0\r\n\r\nPOST /", 15),
    BODY("5;a=b;c=\"d;e\\\"f\"\r\nhello\r\n0\r\nT: v\r\nU:\r\n\r\nX", 40),
    BODY("3\r\n\r\n\r\r\n0\r\n\r\n", 13), /* data may hold CR and LF */
    BODY("fffffffffffffff\r\n", -2),      /* 15 digits: fine, just unfinished */
    BODY("1000000000000000\r\n", -1),     /* 16 digits */
    BODY("5;a=b\nhello\r\n0\r\n\r\n", 18),
    BODY("5\r\nhello\r\n0\r\n\n", 14),
    BODY("5\r\nhello\r\n0\r\nX: y\n\r\n", 20),
    BODY("5\nhello\n0\n\nGET", 11), /* bare LF everywhere */
    BODY("0\r\n\r\r\n", -1),
    BODY("5\rhello\r\n0\r\n\r\n", -1),   /* bare CR after a size */
    BODY("5\r\nhello\r0\r\n\r\n", -1),   /* bare CR after data */
    BODY("0\r\nX: y\rZ: w\r\n\r\n", -1), /* bare CR ending a trailer */
#undef BODY
};

static void test_chunk_every_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        const char *b = bodies[i].body;
        size_t len = bodies[i].len;
        ssize_t want = bodies[i].consumed;
        for (size_t at = 0; at <= len; at++) {
            ssize_t got = feed_split(b, len, at);
            /* -2 (unfinished) shows up here as every byte consumed */
            if (got != (want == -2 ? (ssize_t)len : want))
                fail_msg("body %zu split at %zu: got %zd, want %zd", i, at, got, want);
        }
        assert_int_equal(feed_bytes(b, len), want);
    }
}

/* Decodes body split at `at`, appending the data to out; returns the
 * bytes consumed, or -1. */
static ssize_t decode_split(const char *body, size_t len, size_t at, char *out, size_t *olen)
{
    struct chunk_check cc;
    size_t i = 0;
    chunk_check_init(&cc);
    *olen = 0;
    while (i < len && !cc.done) {
        size_t end = i < at ? at : len;
        struct str data;
        ssize_t n = chunk_check_next(&cc, body + i, end - i, &data);
        if (n < 0)
            return -1;
        memcpy(out + *olen, data.p, data.len);
        *olen += data.len;
        i += (size_t)n;
    }
    return (ssize_t)i;
}

/* The decoder hands over exactly the data, whatever the line ends and
 * however the bytes arrive. */
static void test_chunk_decode(void **state)
{
    static const char body[] = "5\nhello\r\n6;a=b\n world\n1\r\n\n\n0\nT: x\n\nNEXT";
    char out[64];
    (void)state;
    for (size_t at = 0; at <= sizeof(body) - 1; at++) {
        size_t olen;
        ssize_t n = decode_split(body, sizeof(body) - 1, at, out, &olen);
        if (n != (ssize_t)(sizeof(body) - 1 - 4) || olen != 12 || memcmp(out, "hello world\n", 12))
            fail_msg("split at %zu: consumed %zd, data \"%.*s\"", at, n, (int)olen, out);
    }
}

/* Extension lines: "5" + ext + CRLF, then data, last chunk and end. */
static void test_chunk_extensions(void **state)
{
    static const struct {
        const char *ext; /* what follows the size */
        bool ok;         /* whether it is valid */
    } exts[] = {
        {";a", true},
        {";a=b", true},
        {"; a = b ;c", true},
        {"\t;\ta\t=\t\"b\"", true},
        {";a=\"\"", true},
        {";a=\"x\\\\y\"", true},
        {";a=\"x\\\"y\"", true},
        {";a=\"\xc3\xa9\"", true},
        {";a=b;c=d;e", true},
        {";a=\"b\";c", true},
        {";a=\"b\" ;c", true},
        {";", false},
        {";;a", false},
        {";a=", false},
        {";a= ", false},
        {";=b", false},
        {";a b", false},
        {";a ", false},
        {" ", false},
        {" a", false},
        {";a=b c", false},
        {";a=\"b\"c", false},
        {";a=\"b", false},
        {";a=\"b\x01\"", false},
        {";a=\"b\\\x01\"", false},
        {";a=\"b\x7f\"", false},
        {";a=b\x7f", false},
        {";a\x0b", false},
        {";a=b\rc", false},
        {";a=@", false},
        {";a@=b", false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        char body[128];
        int n = snprintf(body, sizeof(body), "5%s\r\nhello\r\n0\r\n\r\n", exts[i].ext);
        ssize_t want = exts[i].ok ? n : -1;
        for (size_t at = 0; at <= (size_t)n; at++)
            if (feed_split(body, (size_t)n, at) != want)
                fail_msg("extension \"%s\" split at %zu", exts[i].ext, at);
    }
}

/* What follows the message belongs to the next request, however the
 * bytes arrive. */
static void test_chunk_pipelined(void **state)
{
    static const char two[] = "4\r\nwiki\r\n0\r\nX: 1\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
    struct chunk_check cc;
    (void)state;
    chunk_check_init(&cc);
    assert_int_equal(chunk_check_feed(&cc, two, sizeof(two) - 1), 20);
    assert_true(cc.done);
    assert_int_equal(chunk_check_feed(&cc, two + 20, sizeof(two) - 1 - 20), 0);
    /* the message's last byte in its own read */
    chunk_check_init(&cc);
    assert_int_equal(chunk_check_feed(&cc, two, 19), 19);
    assert_false(cc.done);
    assert_int_equal(chunk_check_feed(&cc, two + 19, sizeof(two) - 1 - 19), 1);
    assert_true(cc.done);
}

/* A violation sticks; limits stop endless size lines and trailers. */
static void test_chunk_errors_and_limits(void **state)
{
    struct chunk_check cc;
    char big[20000];
    (void)state;
    chunk_check_init(&cc);
    assert_int_equal(chunk_check_feed(&cc, "x", 1), -1);
    assert_int_equal(chunk_check_feed(&cc, "0\r\n\r\n", 5), -1);
    assert_int_equal(chunk_check_feed(&cc, "", 0), -1);

    /* an extension line of 5000 bytes */
    memset(big, 'a', sizeof(big));
    memcpy(big, "1;", 2);
    chunk_check_init(&cc);
    assert_int_equal(chunk_check_feed(&cc, big, 5000), -1);
    /* trailers adding up past 16 KiB */
    chunk_check_init(&cc);
    assert_int_equal(chunk_check_feed(&cc, "0\r\n", 3), 3);
    size_t n = 0;
    for (; n + 10 <= sizeof(big); n += 10)
        memcpy(big + n, "X-T: 123\r\n", 10);
    assert_int_equal(chunk_check_feed(&cc, big, n), -1);
    /* a large chunk skipped in pieces */
    chunk_check_init(&cc);
    assert_int_equal(chunk_check_feed(&cc, "4e20\r\n", 6), 6);
    memset(big, 'z', sizeof(big));
    assert_int_equal(chunk_check_feed(&cc, big, sizeof(big)), sizeof(big));
    assert_int_equal(chunk_check_feed(&cc, "\r\n0\r\n\r\n", 7), 7);
    assert_true(cc.done);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--rows") == 0) {
        print_rows();
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_lf),
        cmocka_unit_test(test_head_direct),
        cmocka_unit_test(test_head_every_byte),
        cmocka_unit_test(test_chunk_every_split),
        cmocka_unit_test(test_chunk_decode),
        cmocka_unit_test(test_chunk_extensions),
        cmocka_unit_test(test_chunk_pipelined),
        cmocka_unit_test(test_chunk_errors_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
