/*
 * pki.h - the PKI files a configuration names (local-cert, local-key, ca,
 * crl), each read and parsed once per distinct content and shared: every
 * tunnel (and, with templates, every peer) naming the same file points at
 * one object.  A configuration holds a reference to each object it uses;
 * an object lives while some configuration holds it, so a tunnel that
 * survives a reload unchanged (same objects) keeps valid pointers.
 *
 * The network process cannot read files: the parent pushes the text of
 * the public ones (certificates, CAs, CRLs) and it is parsed there again;
 * private keys go only to the key-holding process.
 */
#ifndef VTI_PKI_H
#define VTI_PKI_H

#include <stddef.h>
#include <stdint.h>

enum pki_kind { PKI_CERT = 1, PKI_KEY, PKI_CA, PKI_CRL };
#define PKI_SLOTS 4		/* a tunnel's: index kind - 1 */
#define PKI_MAX_TEXT 60000	/* one file (or directory) of PEM */

struct x509_certs;
struct x509_crls;
struct sig_key;

struct pki {
	enum pki_kind kind;
	char path[256];
	uint8_t fp[32];			/* SHA-256 of kind, path and text */
	char *text;			/* PEM; a private key is wiped where unused */
	size_t len;
	unsigned refs;
	struct x509_certs *certs;	/* PKI_CERT (leaf first), PKI_CA */
	struct x509_crls *crls;		/* PKI_CRL */
	struct sig_key *key;		/* PKI_KEY, parsed on first use (pki_key) */
	struct pki *next;
};

/* Read a PEM file, or every file of a directory (sorted by name); a
 * private key must be a regular file readable by its owner only.  0, or
 * -errno and why. */
int pki_read(enum pki_kind kind, const char *path, char **text, size_t *len, char *why,
	     size_t whylen);
/* The shared object for this text (parsed; a reference taken), or NULL
 * and why.  A PKI_KEY with no text stands for a key held elsewhere. */
struct pki *pki_get(enum pki_kind kind, const char *path, const char *text, size_t len,
		    char *why, size_t whylen);
void pki_put(struct pki *p);
/* Wipe and drop every private key's text and parsed key in this
 * process (the network process, after fork: it must hold none). */
void pki_forget_keys(void);
/* The private key of a PKI_KEY (parsed once), or NULL. */
struct sig_key *pki_key(struct pki *p);

#endif
