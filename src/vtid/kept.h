/*
 * kept.h - the interfaces a restart keeps (SPEC.md "Programs", vtictl
 * restart): the list the stopping parent writes to <state-dir>/interfaces
 * and the next parent reads at start to adopt those devices again.
 *
 * One device a line: "NAME IFINDEX" for a [tunnel]'s interface, "NAME
 * IFINDEX TYPE HEX" for a template's instance, with the identity (RFC
 * 7296 §3.5 ID type, data in hex) it was made for, so that the peer gets
 * the same interface again.
 */
#ifndef VTI_KEPT_H
#define VTI_KEPT_H

#include <stddef.h>
#include <stdint.h>

#include "ike/policy.h"

#define KEPT_FILE "interfaces"
#define KEPT_MAX_LINE (16 + 12 + 4 + 2 * IKE_ID_MAX + 8)

/* A template instance's peer, as the parent keeps it (len bytes of data). */
struct kept_id {
	uint8_t type;
	uint16_t len;
	uint8_t data[];
};

struct kept_if {
	char name[16];
	int ifindex;
	struct ike_ident id;	/* type 0: not an instance */
};

/* One line (without its newline): 0 with *out filled, or -EINVAL. */
int kept_parse(const char *line, struct kept_if *out);
/* The line for k, newline included, into out[0..len); its length or
 * -ENOSPC. */
int kept_format(const struct kept_if *k, char *out, size_t len);
/* A malloc'd copy of an identity (NULL for type 0 or no memory). */
struct kept_id *kept_id_dup(const struct ike_ident *id);

#endif
