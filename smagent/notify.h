/* notify.h: systemd readiness notification (sd_notify) without libsystemd: one datagram
 * to the AF_UNIX socket named by NOTIFY_SOCKET. Main thread only. */
#ifndef SM_SMAGENT_NOTIFY_H
#define SM_SMAGENT_NOTIFY_H

/* Send state ("READY=1", "STOPPING=1", "RELOADING=1", "STATUS=...") when NOTIFY_SOCKET
 * is set; does nothing otherwise. Returns 0 when sent or not asked for, -1 on error. */
int notify_send(const char *state);

#endif
