/*
 * ctl.h - the control protocol between vtid and vtictl over a Unix stream
 * socket, and the command table that is the single source of truth for
 * both the daemon's dispatcher and the CLI's usage text.
 *
 * A request is one line: "text|json COMMAND [ARG]\n".  The reply is one
 * status line "CODE MESSAGE\n" followed by the body until the daemon
 * closes the connection.  CODE is one of enum ctl_status and becomes
 * vtictl's exit status.
 */
#ifndef VTI_CTL_H
#define VTI_CTL_H

#include <stdbool.h>
#include <stddef.h>

enum ctl_cmd_id {
	CTL_SHOW, CTL_STATS, CTL_UP, CTL_DOWN, CTL_REKEY, CTL_RELOAD, CTL_METRICS, CTL_MONITOR,
	CTL_RESTART, CTL_NCMDS
};

/* Exit statuses of vtictl; 0-2 follow the usual conventions. */
enum ctl_status {
	CTL_OK = 0,
	CTL_EFAIL = 1,		/* the daemon could not do it; see the message */
	CTL_EUSAGE = 2,
	CTL_ENOTUNNEL = 3,	/* no such tunnel */
	CTL_EPERM = 4,		/* not allowed to talk to / change the daemon */
	CTL_ENODAEMON = 5,	/* no daemon at the socket */
};

struct ctl_cmd {
	const char *name;
	const char *args;	/* usage of the arguments */
	int min_args, max_args;
	bool changes_state;	/* needs root or the control group */
	const char *help;
};

extern const struct ctl_cmd ctl_cmds[CTL_NCMDS];

/* Find a command by name; -1 if unknown. */
int ctl_cmd_find(const char *name);

#define CTL_MAX_REQUEST 256

#endif
