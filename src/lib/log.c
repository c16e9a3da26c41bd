/*
 * log.c - line-oriented logging to stderr with a per-source rate limiter.
 */
#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define RL_BURST 5		/* lines per window */
#define RL_WINDOW_MS 1000

static int log_level = LOG_INFO;
static const char *const level_names[] = { "error", "warning", "info", "debug" };

void log_set_level(int level)
{
	log_level = level < LOG_ERR ? LOG_ERR : level > LOG_DEBUG ? LOG_DEBUG : level;
}

int log_get_level(void)
{
	return log_level;
}

static uint64_t (*clock_fn)(void);

void clock_set_source(uint64_t (*fn)(void))
{
	clock_fn = fn;
}

uint64_t now_ms(void)
{
	struct timespec ts;

	if (clock_fn)
		return clock_fn();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_v(int level, const char *who, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One fprintf per line so concurrent writers never interleave a line. */
	fprintf(stderr, "%s: %s: %s\n", who ? who : "vtid", level_names[level], line);
}

void log_msg(int level, const char *who, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_v(level, who, fmt, ap);
	va_end(ap);
}

void log_rl(struct ratelimit *rl, int level, const char *who, const char *fmt, ...)
{
	uint64_t now;
	va_list ap;

	if (level > log_level)
		return;
	now = now_ms();
	if (now - rl->window_start_ms >= RL_WINDOW_MS) {
		if (rl->suppressed)
			log_msg(level, who, "%u similar messages suppressed", rl->suppressed);
		rl->window_start_ms = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count >= RL_BURST) {
		rl->suppressed++;
		return;
	}
	rl->count++;
	va_start(ap, fmt);
	log_v(level, who, fmt, ap);
	va_end(ap);
}
