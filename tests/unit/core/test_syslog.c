/* test_syslog.c - syslog: destinations as nginx parses them, and the
 * RFC 3164 messages it sends (received here on a loopback UDP socket). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/syslog.h"

static void test_defaults(void **state)
{
    struct syslog_dest d;
    char err[256];
    (void)state;
    assert_int_equal(syslog_parse("server=127.0.0.1", &d, err, sizeof(err)), 0);
    assert_int_equal(d.facility, 23); /* local7 */
    assert_int_equal(d.severity, 6);  /* info */
    assert_string_equal(d.tag, "turnpike");
    assert_false(d.nohostname);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&d.addr;
    assert_int_equal(ntohs(sin->sin_port), 514);
    assert_int_equal(syslog_parse("server=[::1]:1514,facility=auth,severity=notice,tag=T_1,"
                                  "nohostname",
                                  &d, err, sizeof(err)),
                     0);
    assert_int_equal(d.addr.ss_family, AF_INET6);
    assert_int_equal(d.facility, 4);
    assert_int_equal(d.severity, 5);
    assert_string_equal(d.tag, "T_1");
    assert_true(d.nohostname);
}

static void expect_error(const char *spec, const char *msg)
{
    struct syslog_dest d;
    char err[256];
    assert_int_equal(syslog_parse(spec, &d, err, sizeof(err)), -1);
    assert_string_equal(err, msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("facility=local0", "no syslog server specified");
    expect_error("server=127.0.0.1,server=::1", "duplicate syslog \"server\"");
    expect_error("server=127.0.0.1,facility=x", "unknown syslog facility \"x\"");
    expect_error("server=127.0.0.1,facility=user,facility=mail", "duplicate syslog \"facility\"");
    expect_error("server=127.0.0.1,severity=err", "unknown syslog severity \"err\"");
    expect_error("server=127.0.0.1,tag=a.b",
                 "syslog \"tag\" only allows alphanumeric characters and underscore");
    expect_error("server=127.0.0.1,tag=123456789012345678901234567890123",
                 "syslog tag length exceeds 32");
    expect_error("server=127.0.0.1,other", "unknown syslog parameter \"other\"");
    expect_error("server=127.0.0.1:0", "invalid port in syslog server \"127.0.0.1:0\"");
}

static void test_message(void **state)
{
    struct syslog_dest d;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    char spec[64], err[256], got[512];
    regex_t re;
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    snprintf(spec, sizeof(spec), "server=127.0.0.1:%u,facility=local3,tag=t", ntohs(sin.sin_port));
    assert_int_equal(syslog_parse(spec, &d, err, sizeof(err)), 0);
    assert_int_equal(syslog_open(&d, err, sizeof(err)), 0);
    syslog_send(&d, 3, "a line", 6);
    ssize_t n = recv(fd, got, sizeof(got) - 1, 0);
    assert_true(n > 0);
    got[n] = '\0';
    /* <PRI> is local3 (19) * 8 + error (3); the date is "Mmm dd hh:mm:ss". */
    assert_int_equal(regcomp(&re,
                             "^<155>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} "
                             "[^ ]+ t: a line$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, got, 0, NULL, 0), 0);
    regfree(&re);
    syslog_close(&d);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
