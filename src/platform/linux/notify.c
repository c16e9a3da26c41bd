/*
 * notify.c - telling a service manager how vtid is doing (platform.h),
 * through libsystemd's sd_notify: it does nothing when NOTIFY_SOCKET is
 * not set, so vtid run by hand or by another supervisor is unaffected.
 */
#include "platform/platform.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

void notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=closing tunnels");
}

void notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

uint64_t notify_watchdog_ms(void)
{
	uint64_t usec = 0;

	/* Half the interval the manager expects, as sd_watchdog_enabled(3)
	 * advises; 0 when there is no watchdog. */
	return sd_watchdog_enabled(0, &usec) > 0 ? usec / 2000 : 0;
}
