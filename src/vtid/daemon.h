/*
 * daemon.h - vtid's life cycle: load the configuration, open sockets and
 * interfaces, serve the control socket, reload on SIGHUP, tear everything
 * down on SIGTERM/SIGINT.
 */
#ifndef VTI_DAEMON_H
#define VTI_DAEMON_H

/* Exit statuses (SPEC.md "Programs"). */
enum {
	EXIT_OK = 0,
	EXIT_CONFIG = 1,
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3,
	EXIT_RESTART = 4,	/* stopped for a restart: interfaces kept (vtictl restart) */
};

/* Runs in the foreground until told to stop; returns an exit status. */
int daemon_run(const char *conf_path, const char *socket_override);
/* vtid --check: parse and validate only. */
int daemon_check(const char *conf_path);

#endif
