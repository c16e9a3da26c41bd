/*
 * main.c - vtictl: a thin dispatcher over the control protocol (ctl.h).
 * It checks the command against the shared table, sends one request, and
 * prints the daemon's reply; the exit status is the daemon's status code.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl.h"

static void usage(FILE *f)
{
	int i;

	fprintf(f, "usage: vtictl [-S SOCKET] [-j] COMMAND [ARG]\n\n");
	for (i = 0; i < CTL_NCMDS; i++)
		fprintf(f, "  %-7s %-7s %s\n", ctl_cmds[i].name, ctl_cmds[i].args,
			ctl_cmds[i].help);
	fprintf(f, "\n  -S, --socket PATH  control socket (default /run/vtid.sock)\n"
		   "  -j, --json         JSON output\n");
}

static int connect_daemon(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vtictl: socket path too long: %s\n", path);
		return -CTL_EUSAGE;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("vtictl: socket");
		return -CTL_EFAIL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (errno == EACCES || errno == EPERM) {
		fprintf(stderr, "vtictl: permission denied on %s: run as root or as a member "
			"of the daemon's control group\n", path);
		close(fd);
		return -CTL_EPERM;
	}
	fprintf(stderr, "vtictl: vtid is not running (nothing listens on %s: %s); start it "
		"with 'vtid -c FILE' or point -S at its socket\n", path, strerror(errno));
	close(fd);
	return -CTL_ENODAEMON;
}

/* Read the status line, then relay the body as it comes (monitor's never
 * ends); return the status code. */
static int relay_reply(int fd)
{
	char buf[65536], *nl = NULL;
	size_t got = 0;
	ssize_t n;
	int code;

	while (!nl && got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
		nl = strchr(buf, '\n');
	}
	buf[got] = '\0';
	if (!nl || sscanf(buf, "%d", &code) != 1) {
		fprintf(stderr, "vtictl: no valid reply from vtid\n");
		return CTL_EFAIL;
	}
	*nl = '\0';
	if (code != CTL_OK)
		fprintf(stderr, "vtictl: %s\n", strchr(buf, ' ') ? strchr(buf, ' ') + 1 : buf);
	fputs(nl + 1, stdout);
	fflush(stdout);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);
	}
	return code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = "/run/vtid.sock";
	char req[CTL_MAX_REQUEST];
	int c, id, nargs, fd, code, i, json = 0;
	size_t len;

	while ((c = getopt_long(argc, argv, "+S:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'S': sock = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return CTL_OK;
		default: usage(stderr); return CTL_EUSAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EUSAGE;
	}
	id = ctl_cmd_find(argv[optind]);
	nargs = argc - optind - 1;
	if (id < 0) {
		fprintf(stderr, "vtictl: unknown command '%s'\n\n", argv[optind]);
		usage(stderr);
		return CTL_EUSAGE;
	}
	if (nargs < ctl_cmds[id].min_args || nargs > ctl_cmds[id].max_args) {
		fprintf(stderr, "usage: vtictl %s %s\n", ctl_cmds[id].name, ctl_cmds[id].args);
		return CTL_EUSAGE;
	}
	len = (size_t)snprintf(req, sizeof(req), "%s %s", json ? "json" : "text", ctl_cmds[id].name);
	for (i = 0; i < nargs && len < sizeof(req); i++) {
		if (strpbrk(argv[optind + 1 + i], " \t\n") || !argv[optind + 1 + i][0]) {
			fprintf(stderr, "vtictl: bad argument '%s'\n", argv[optind + 1 + i]);
			return CTL_EUSAGE;
		}
		len += (size_t)snprintf(req + len, sizeof(req) - len, " %s", argv[optind + 1 + i]);
	}
	if (len + 2 > sizeof(req)) {
		fprintf(stderr, "vtictl: request too long\n");
		return CTL_EUSAGE;
	}
	strcat(req, "\n");
	fd = connect_daemon(sock);
	if (fd < 0)
		return -fd;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "vtictl: cannot send to vtid: %s\n", strerror(errno));
		close(fd);
		return CTL_EFAIL;
	}
	code = relay_reply(fd);
	close(fd);
	return code;
}
