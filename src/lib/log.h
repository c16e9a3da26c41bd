/*
 * log.h - one line per event on stderr: "NAME: level: message", where NAME
 * is the tunnel the event concerns or "vtid".  Per-packet events go through
 * a rate limiter so that a flood of bad packets cannot flood the log.
 */
#ifndef VTI_LOG_H
#define VTI_LOG_H

#include <stdint.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct ratelimit {
	uint64_t window_start_ms;
	unsigned count;
	unsigned suppressed;
};

void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* At most a few lines a second per limiter; reports how many it dropped. */
void log_rl(struct ratelimit *rl, int level, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
uint64_t now_ms(void);	/* CLOCK_MONOTONIC */
/* Tests drive time themselves; NULL restores the monotonic clock. */
void clock_set_source(uint64_t (*fn)(void));

#define log_err(who, ...)   log_msg(LOG_ERR, who, __VA_ARGS__)
#define log_warn(who, ...)  log_msg(LOG_WARN, who, __VA_ARGS__)
#define log_info(who, ...)  log_msg(LOG_INFO, who, __VA_ARGS__)
#define log_debug(who, ...) log_msg(LOG_DEBUG, who, __VA_ARGS__)

#endif
