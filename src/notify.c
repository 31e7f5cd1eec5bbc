/* notify.c - sd_notify messages. */
#include "notify.h"

#include <stdio.h>
#include <time.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static void notify_send(const char *msg)
{
#ifdef HAVE_SYSTEMD
    sd_notify(0, msg);
#else
    (void)msg;
#endif
}

void notify_ready(unsigned gen, const char *last_error)
{
    char msg[512];
    if (last_error != NULL && last_error[0] != '\0')
        snprintf(msg, sizeof(msg), "READY=1\nSTATUS=generation %u serving; last reload failed: %s",
                 gen, last_error);
    else
        snprintf(msg, sizeof(msg), "READY=1\nSTATUS=generation %u serving", gen);
    notify_send(msg);
}

void notify_reloading(void)
{
    char msg[128];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    notify_send(msg);
}

void notify_stopping(void)
{
    notify_send("STOPPING=1\nSTATUS=stopping");
}
