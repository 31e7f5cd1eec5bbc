/* tls_ticket.h - session tickets sealed with keys every worker shares.
 *
 * With ssl_session_ticket_key files, the first file's key seals and every
 * file's key opens: several instances given the same files resume each
 * other's sessions.  Without, keys rotate on a schedule every process
 * follows with no messages: the master draws a 32-byte secret once (it
 * lives as long as the master, so reloads keep tickets valid) and workers
 * inherit it; the key of time slot n = floor(now / period) is
 * HKDF-SHA256(secret, salt = the server's id, info = "turnpike ticket" n),
 * period = ssl_session_timeout.  Slot n seals; n - 1 and n + 1 also open.
 * A ticket made by worker 0 thus resumes on worker 1, no key outlives
 * three periods, and the secret itself never leaves memory.
 *
 * A ticket: key name (16) | IV (12) | length (2) | AES-256-GCM(session) |
 * tag (16); the first 30 bytes are authenticated as additional data. */
#ifndef TP_TLS_TICKET_H
#define TP_TLS_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

struct tls_tickets;
struct tls_tkey;

/* Keys for one context; fixed may be empty.  NULL with the reason in err. */
struct tls_tickets *tls_tickets_new(struct tls_tkey **fixed, size_t nfixed, uint32_t lifetime,
                                    const char *id, char *err, size_t errlen);
void tls_tickets_free(void *tickets);

/* A file's key: name = its first 16 bytes, AES key = HKDF of the rest. */
int tls_tkey_from_file(struct tls_tkey *k, const unsigned char *data, size_t len);
void tls_tkey_free(struct tls_tkey *k);

/* The library's callbacks; p_ticket is a struct tls_tickets. */
int tls_ticket_write(void *p_ticket, const mbedtls_ssl_session *session, unsigned char *start,
                     const unsigned char *end, size_t *tlen, uint32_t *lifetime);
int tls_ticket_parse(void *p_ticket, mbedtls_ssl_session *session, unsigned char *buf, size_t len);

#endif
