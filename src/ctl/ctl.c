/*
 * ctl.c - the control command table (see ctl.h).
 */
#include "ctl/ctl.h"

#include <string.h>

const struct ctl_cmd ctl_cmds[CTL_NCMDS] = {
	[CTL_SHOW] = { "show", "[NAME]", 0, 1, false,
		       "state, SAs and counters of every tunnel or of NAME" },
	[CTL_STATS] = { "stats", "", 0, 0, false,
			"daemon-wide counters (packets that match no tunnel)" },
	[CTL_UP] = { "up", "NAME", 1, 1, true, "start (or restart) the tunnel's SAs now" },
	[CTL_DOWN] = { "down", "NAME", 1, 1, true, "close the tunnel's SAs; carrier goes down" },
	[CTL_REKEY] = { "rekey", "NAME [ike]", 1, 2, true,
			"re-key the tunnel's Child SA (or its IKE SA) now" },
	[CTL_RELOAD] = { "reload", "", 0, 0, true, "re-read the configuration (as SIGHUP)" },
	[CTL_METRICS] = { "metrics", "", 0, 0, false,
			  "every counter in the Prometheus text format" },
	[CTL_MONITOR] = { "monitor", "", 0, 0, false,
			  "events as they happen, one JSON object a line, until interrupted" },
	[CTL_RESTART] = { "restart", "", 0, 0, true,
			  "stop for a restart that keeps the interfaces (exit status 4)" },
};

int ctl_cmd_find(const char *name)
{
	int i;

	for (i = 0; i < CTL_NCMDS; i++)
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return i;
	return -1;
}
