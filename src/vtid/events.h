/*
 * events.h - what happens to tunnels, as events for `vtictl monitor`
 * (SPEC "Metrics and events"): one JSON object per line with at least
 * "time", "event" and "tunnel", and "reason" for down and dead.
 *
 *   up        carrier on: a Child SA pair is installed
 *   down      carrier off, with the reason
 *   dead      the peer stopped answering (liveness), before "down"
 *   rekey     a Child SA ("sa": "child") or IKE SA ("sa": "ike") replaced
 *   created   an interface made (a tunnel added by a reload)
 *   removed   an interface gone
 *
 * Whoever serves monitors sets the sink; without one events cost nothing.
 */
#ifndef VTI_EVENTS_H
#define VTI_EVENTS_H

typedef void (*events_sink)(void *arg, const char *line, unsigned long len);

void events_set_sink(events_sink fn, void *arg);
/* reason and sa may be NULL. */
void event_emit(const char *event, const char *tunnel, const char *reason, const char *sa);

#endif
