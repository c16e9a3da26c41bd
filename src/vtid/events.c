/*
 * events.c - tunnel events as JSON lines (see events.h).
 */
#include "vtid/events.h"

#include <stdio.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/json.h"

static events_sink sink;
static void *sink_arg;

void events_set_sink(events_sink fn, void *arg)
{
	sink = fn;
	sink_arg = arg;
}

void event_emit(const char *event, const char *tunnel, const char *reason, const char *sa)
{
	struct timespec ts;
	struct tm tm;
	char when[96];
	struct buf b;
	struct json j;

	if (!sink)
		return;
	/* Wall-clock time, UTC, with milliseconds: what scripts compare. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(ts.tv_nsec / 1000000) % 1000);
	buf_init(&b);
	json_init(&j, &b);
	json_obj_open(&j, NULL);
	json_str(&j, "time", when);
	json_str(&j, "event", event);
	json_str(&j, "tunnel", tunnel);
	if (reason)
		json_str(&j, "reason", reason);
	if (sa)
		json_str(&j, "sa", sa);
	json_obj_close(&j);
	buf_add_u8(&b, '\n');
	if (!b.bad)
		sink(sink_arg, (const char *)b.data, (unsigned long)b.len);
	buf_free(&b);
}
