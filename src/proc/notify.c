/* notify.c - sd_notify messages. */
#include "proc/notify.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

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

void notify_ready(unsigned gen, const char *last_error, bool mainpid)
{
    char msg[1536], pid[32] = "";
    if (mainpid)
        snprintf(pid, sizeof(pid), "MAINPID=%d\n", (int)getpid());
    if (last_error != NULL && last_error[0] != '\0')
        snprintf(msg, sizeof(msg),
                 "%sREADY=1\nSTATUS=generation %u serving; last reload failed: %s", pid, gen,
                 last_error);
    else
        snprintf(msg, sizeof(msg), "%sREADY=1\nSTATUS=generation %u serving", pid, gen);
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
