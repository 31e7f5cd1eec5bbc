/* auth_basic.c - auth_basic and auth_basic_user_file, with nginx's
 * meaning, in the access phase (combined with allow/deny as `satisfy`
 * says, handler/access.h).
 *
 * As nginx does, the user file is read for every request that brings
 * credentials, so it may change without a reload; the reading and the
 * hashing (a bcrypt check costs tens of milliseconds on purpose) run as one
 * job in the pool's hashing class, and the request waits for it: the
 * worker goes on serving everything else. */
#include "handler/auth_basic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_table.h"
#include "handler/access.h"
#include "handler/passwd.h"
#include "http/basic_auth.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/handle.h"
#include "http/req.h"
#include "http/req_job.h"
#include "http/resp.h"

/* The module's part of a level. */
struct auth_loc {
    struct cval *realm;     /* auth_basic; a value of "off" turns it off */
    struct cval *user_file; /* auth_basic_user_file, its path made full */
    bool realm_set;         /* auth_basic was given at this level */
    bool file_set;          /* auth_basic_user_file was given at this level */
};

/* What the pool's job found. */
enum auth_result {
    AUTH_OK,         /* the user is there and the password right */
    AUTH_MISMATCH,   /* the password is wrong */
    AUTH_NO_USER,    /* the user is not in the file */
    AUTH_NO_FILE,    /* the file does not exist: 403, as in nginx */
    AUTH_FILE_ERROR, /* it could not be opened or read: 500 */
    AUTH_ERROR,      /* the hash could not be computed: 500 */
};

/* The job that reads the user file and checks the password. */
struct auth_job {
    struct req_job rj;       /* the request's part; first */
    char *path;              /* the user file */
    char *user;              /* the user, NUL-terminated */
    char *password;          /* the password (len bytes), cleared when released */
    size_t len;              /* its length */
    enum auth_result result; /* what work found */
    int err;                 /* errno of a failed open or read */
};

static const struct auth_loc *auth_of(const struct req *r)
{
    return loc_part(r->loc, &mod_auth_basic);
}

/* ---- the pool's part ---------------------------------------------------------- */

/* nginx's reading of a line "user:hash[:comment]": lines starting with
 * "#" are comments; the hash ends at a CR, an LF or a ":". */
static const char *auth_line_hash(char *line, const char *user, size_t ulen)
{
    if (line[0] == '#' || line[0] == '\r' || strncmp(line, user, ulen) != 0 || line[ulen] != ':')
        return NULL;
    char *hash = line + ulen + 1;
    hash[strcspn(hash, "\r\n:")] = '\0';
    return hash;
}

static void auth_work(struct tpool_job *job)
{
    struct auth_job *j = (struct auth_job *)job;
    FILE *f = fopen(j->path, "re");
    char *line = NULL;
    size_t cap = 0, ulen = strlen(j->user);
    if (f == NULL) {
        j->err = errno;
        j->result = j->err == ENOENT ? AUTH_NO_FILE : AUTH_FILE_ERROR;
        return;
    }
    j->result = AUTH_NO_USER;
    while (getline(&line, &cap, f) >= 0) {
        const char *hash = auth_line_hash(line, j->user, ulen);
        if (hash == NULL)
            continue;
        enum passwd_rc rc = passwd_check(j->password, j->len, hash);
        j->result = rc == PASSWD_MATCH      ? AUTH_OK
                    : rc == PASSWD_MISMATCH ? AUTH_MISMATCH
                                            : AUTH_ERROR;
        break;
    }
    if (ferror(f) && j->result == AUTH_NO_USER) {
        j->err = errno;
        j->result = AUTH_FILE_ERROR;
    }
    if (line != NULL)
        explicit_bzero(line, cap);
    free(line);
    fclose(f);
}

static void auth_release(struct tpool_job *job)
{
    struct auth_job *j = (struct auth_job *)job;
    if (j->password != NULL)
        explicit_bzero(j->password, j->len);
    free(j->password);
    free(j->user);
    free(j->path);
    free(j);
}

/* ---- the loop's part ------------------------------------------------------------- */

/* 401 with the challenge, or, under satisfy any, a refusal kept for the
 * end of the phase. */
static enum phase_rc auth_challenge(struct req *r)
{
    struct str realm;
    if (cval_eval(auth_of(r)->realm, r, &realm) < 0) {
        resp_error(r, 500);
        return PHASE_TAKEN;
    }
    char *v = mpool_printf(&r->pool, "Basic realm=\"%.*s\"", (int)realm.len, realm.p);
    if (v == NULL || req_add_header(r, STR_LIT("WWW-Authenticate"), str_make(v, strlen(v))) < 0) {
        resp_error(r, 500);
        return PHASE_TAKEN;
    }
    return access_refuse(r, 401);
}

/* The job's verdict, as the access phase goes on from it. */
static enum phase_rc auth_verdict(struct req *r, const struct auth_job *j)
{
    switch (j->result) {
    case AUTH_OK:
        return access_grant(r);
    case AUTH_MISMATCH:
        conn_logf(r->c, LL_ERR, 0, "user \"%s\": password mismatch", j->user);
        return auth_challenge(r);
    case AUTH_NO_USER:
        conn_logf(r->c, LL_ERR, 0, "user \"%s\" was not found in \"%s\"", j->user, j->path);
        return auth_challenge(r);
    case AUTH_NO_FILE:
        conn_logf(r->c, LL_ERR, j->err, "open() \"%s\" failed", j->path);
        return access_refuse(r, 403);
    case AUTH_FILE_ERROR:
        conn_logf(r->c, LL_CRIT, j->err, "open() \"%s\" failed", j->path);
        break;
    case AUTH_ERROR:
        conn_logf(r->c, LL_CRIT, 0, "checking the password of user \"%s\" failed", j->user);
        break;
    }
    resp_error(r, 500);
    return PHASE_TAKEN;
}

static void auth_done(struct req_job *rj)
{
    enum phase_rc rc = auth_verdict(rj->r, (const struct auth_job *)rj);
    if (rc != PHASE_TAKEN)
        handle_resume(rj->r, rc);
}

static enum phase_rc auth_submit(struct req *r, struct str user, struct str password,
                                 struct str path)
{
    struct auth_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->path = strndup(path.p, path.len)) == NULL ||
        (j->user = strndup(user.p, user.len)) == NULL ||
        (j->password = malloc(password.len ? password.len : 1)) == NULL) {
        if (j != NULL)
            auth_release(&j->rj.job);
        resp_error(r, 500);
        return PHASE_TAKEN;
    }
    memcpy(j->password, password.p, password.len);
    j->len = password.len;
    if (req_job_submit(r, &j->rj, TPOOL_HASH, auth_work, auth_done, auth_release) < 0) {
        auth_release(&j->rj.job);
        resp_error(r, 503);
    }
    return PHASE_TAKEN;
}

static enum phase_rc auth_phase(struct req *r)
{
    const struct auth_loc *al = auth_of(r);
    struct str realm, user, password, path;
    if (al->realm == NULL || al->user_file == NULL)
        return PHASE_DECLINED;
    if (cval_eval(al->realm, r, &realm) < 0 || cval_eval(al->user_file, r, &path) < 0) {
        resp_error(r, 500);
        return PHASE_TAKEN;
    }
    if (str_eq(realm, "off"))
        return PHASE_DECLINED;
    if (basic_auth_credentials(r, &user, &password) < 0) {
        conn_logf(r->c, LL_INFO, 0, "no user/password was provided for basic authentication");
        return auth_challenge(r);
    }
    return auth_submit(r, user, password, path);
}

/* ---- configuration --------------------------------------------------------------- */

static int auth_set_realm(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    struct auth_loc *al = cl->part(cl, &mod_auth_basic);
    if (al->realm_set)
        return conf_err_dup(cl, n, cmd);
    al->realm_set = true;
    if ((al->realm = mpool_calloc(cl->pool, sizeof(*al->realm))) == NULL)
        return conf_err_nomem(cl, n);
    return conf_cval(cl, n, &n->args[1], al->realm);
}

/* A relative path is the configuration directory's, as nginx has it
 * (even one that starts with a variable). */
static int auth_set_user_file(struct conf_loader *cl, const struct conf_node *n,
                              const struct conf_cmd *cmd)
{
    struct auth_loc *al = cl->part(cl, &mod_auth_basic);
    const char *path = n->args[1].s;
    if (al->file_set)
        return conf_err_dup(cl, n, cmd);
    al->file_set = true;
    char *full = conf_full_path(cl->pool, cl->conf->paths.conf_prefix, path);
    if (full == NULL || (al->user_file = mpool_calloc(cl->pool, sizeof(*al->user_file))) == NULL)
        return conf_err_nomem(cl, n);
    struct conf_arg a = {.s = full, .len = strlen(full)};
    return conf_cval(cl, n, &a, al->user_file);
}

static void auth_merge(const void *from, void *to)
{
    const struct auth_loc *parent = from;
    struct auth_loc *child = to;
    if (!child->realm_set)
        child->realm = parent->realm;
    if (!child->file_set)
        child->user_file = parent->user_file;
}

#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd auth_cmds[] = {
    {"auth_basic", HSL, ARGS(1), CT_CUSTOM, CS_MAIN, 0, NULL, auth_set_realm, NULL},
    {"auth_basic_user_file", HSL, ARGS(1), CT_CUSTOM, CS_MAIN, 0, NULL, auth_set_user_file, NULL},
};

static const struct http_hooks auth_hooks = {.access = auth_phase};

struct module mod_auth_basic = {
    .name = "http_auth_basic",
    .cmds = auth_cmds,
    .ncmds = sizeof(auth_cmds) / sizeof(auth_cmds[0]),
    .part_size = sizeof(struct auth_loc),
    .part_merge = auth_merge,
    .http = &auth_hooks,
};
