/* passwd.h - checking a password against a hash in one of the formats
 * nginx's auth_basic_user_file reads:
 *
 *   crypt(3)    $2y$ / $2b$ (bcrypt), $6$ (SHA-512), $5$ (SHA-256), $1$
 *               (MD5), $y$ (yescrypt), DES: whatever libcrypt knows
 *   $apr1$      Apache's MD5 (Poul-Henning Kamp's MD5-crypt, another magic)
 *   {PLAIN}     the password itself
 *   {SHA}       base64(SHA-1(password))
 *   {SSHA}      base64(SHA-1(password salt) salt)
 *
 * These are CPU work (bcrypt takes tens of milliseconds by design): call
 * them on a pool thread, never on the loop. */
#ifndef TP_HANDLER_PASSWD_H
#define TP_HANDLER_PASSWD_H

#include <stddef.h>

enum passwd_rc {
    PASSWD_MATCH,    /* the password is right */
    PASSWD_MISMATCH, /* it is not */
    PASSWD_ERROR,    /* the hash could not be computed (out of memory) */
};

/* Compares password (len bytes) with the stored hash (NUL-terminated), in
 * time that does not depend on where they differ. */
enum passwd_rc passwd_check(const char *password, size_t len, const char *stored);

/* Apache's $apr1$ hash of password with the salt of `setting` into out
 * (at least 6 + 8 + 1 + 22 + 1 bytes); exposed for the unit test. */
void passwd_apr1(const char *password, size_t len, const char *setting, char *out);

#endif
