/*
 * template.h - [template NAME]: one section for many peers (SPEC.md
 * "Templates").  The template registers one IKE policy that admits every
 * peer whose identity it matches; each peer that authenticates gets an
 * instance, a tunnel of its own with the interface NAME<n> (n the same
 * for that identity while the daemon runs), its own IKE connection and
 * Child SAs, and an address from the template's pool.  When an
 * instance's last SA is gone its interface goes.
 */
#ifndef VTI_TEMPLATE_H
#define VTI_TEMPLATE_H

#include <stdbool.h>

#include "conf/conf.h"

struct datapath;
struct ike_ctx;
struct tunnel;
struct tunnel_list;
struct tmpl;

/* Instances join list (the daemon's tunnels) and leave it again. */
struct tmpl *tmpl_create(const struct tunnel_conf *c, struct datapath *dp, struct ike_ctx *ike,
			 struct tunnel_list *list, char *err, size_t errlen);
/* Remove every instance (DELETE to its peer, interface gone) and the
 * template; tell_parent: have the parent let go of the interfaces now
 * (false when vtid stops: the parent removes them all). */
void tmpl_destroy(struct tmpl *tp, bool tell_parent);
const struct tunnel_conf *tmpl_conf(const struct tmpl *tp);
/* Timers: instances whose last SA is gone are removed. */
void tmpl_tick(struct tmpl *tp);
/* For show: the template of an instance (NULL for a [tunnel]) and the
 * identity it was made for, printed. */
const char *tmpl_of(const struct tunnel *t);
void tmpl_peer_id(const struct tunnel *t, char *out, size_t len);

#endif
