/*
 * main.c - vtid: command line (SPEC.md "Programs").
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "vtid/daemon.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vtid [-c FILE] [-S SOCKET] [-v]...   run in the foreground\n"
		"       vtid --check -c FILE                 validate FILE and exit\n"
		"  -c, --config FILE   configuration (default /etc/vti/vtid.conf)\n"
		"  -S, --socket PATH   control socket (default from FILE, /run/vtid.sock)\n"
		"  -v, --verbose       more log detail (repeat for debug)\n"
		"  -q, --quiet         errors and warnings only\n"
		"      --version       print the version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "check", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = "/etc/vti/vtid.conf", *sock = NULL;
	int c, level = LOG_INFO;
	int check = 0;

	while ((c = getopt_long(argc, argv, "c:S:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'S': sock = optarg; break;
		case 'v': level++; break;
		case 'q': level = LOG_WARN; break;
		case 'C': check = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("vtid %s\n", VTI_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vtid: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	log_set_level(level);
	if (check)
		return daemon_check(conf);
	return daemon_run(conf, sock);
}
