/* fuzz_conf.c - libFuzzer target for the configuration loader.
 *
 * Each input becomes turnpike.conf in a fresh, empty directory that is also
 * the prefix, and conf_load() reads it with error_log "stderr"; whatever it
 * returns is freed.  LeakSanitizer then catches any error path that forgets
 * memory.  Inputs mentioning "include" are skipped so a glob can never read
 * the machine's files, and name resolution is stubbed so "listen some.host"
 * never waits on DNS. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Paths of this process's scratch directory. */
static char fuzz_dir[64];    /* mkdtemp result */
static char fuzz_prefix[80]; /* the same with a trailing "/" */
static char fuzz_file[96];   /* the configuration file inside it */
static FILE *fuzz_null;      /* where conf_dump writes */

/* Only numeric names resolve: a fuzzed host name must not reach DNS.  The
 * executable's definition takes precedence over libc's. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    struct addrinfo *ai;
    struct sockaddr_in *sin;
    (void)service;
    (void)hints;
    if (node == NULL || strcmp(node, "localhost") != 0)
        return EAI_NONAME;
    ai = calloc(1, sizeof(*ai) + sizeof(*sin));
    if (ai == NULL)
        return EAI_MEMORY;
    sin = (struct sockaddr_in *)(ai + 1);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ai->ai_family = AF_INET;
    ai->ai_socktype = SOCK_STREAM;
    ai->ai_addr = (struct sockaddr *)sin;
    ai->ai_addrlen = sizeof(*sin);
    *res = ai;
    return 0;
}

void freeaddrinfo(struct addrinfo *res)
{
    free(res); /* one block, as the stub above allocates it */
}

static void fuzz_cleanup(void)
{
    unlink(fuzz_file);
    rmdir(fuzz_dir);
    if (fuzz_null != NULL)
        fclose(fuzz_null);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz_conf.XXXXXX",
             tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
    if (mkdtemp(fuzz_dir) == NULL) {
        perror("fuzz_conf: mkdtemp");
        exit(1);
    }
    snprintf(fuzz_prefix, sizeof(fuzz_prefix), "%s/", fuzz_dir);
    snprintf(fuzz_file, sizeof(fuzz_file), "%sturnpike.conf", fuzz_prefix);
    fuzz_null = fopen("/dev/null", "w");
    atexit(fuzz_cleanup);
    return 0;
}

static bool fuzz_write(const uint8_t *data, size_t size)
{
    FILE *f = fopen(fuzz_file, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    if (memmem(data, size, "include", 7) != NULL || !fuzz_write(data, size))
        return 0;
    struct conf_paths paths = {
        .prefix = fuzz_prefix,
        .conf_file = fuzz_file,
        .conf_prefix = fuzz_prefix,
        .error_log = "stderr",
        .directives = NULL,
    };
    /* Odd sizes also keep the file text, as -T does, and dump it. */
    bool keep = size % 2 == 1;
    struct conf *c = conf_load(&paths, keep, err, sizeof(err));
    if (c != NULL && keep && fuzz_null != NULL)
        conf_dump(c, fuzz_null);
    conf_free(c);
    return 0;
}
