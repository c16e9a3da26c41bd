/*
 * pki.c - PKI files read once and shared (see pki.h).
 */
#include "conf/pki.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/cipher.h"
#include "crypto/prf.h"
#include "crypto/sig.h"
#include "crypto/x509.h"
#include "lib/buf.h"

static struct pki *cache;	/* every object some configuration holds */

static int read_one(int dfd, const char *name, bool private_key, struct buf *out, char *why,
		    size_t whylen)
{
	char chunk[4096];
	struct stat st;
	ssize_t n;
	/* O_NONBLOCK: a FIFO named by mistake must not hang the load. */
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
			(private_key ? O_NOFOLLOW : 0));

	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, whylen, "not a regular file");
		return -EINVAL;
	}
	if (private_key && (st.st_mode & 077)) {
		close(fd);
		snprintf(why, whylen, "readable by group or others (mode %04o); run chmod 600",
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && out->len <= PKI_MAX_TEXT)
		buf_add(out, chunk, (size_t)n);
	close(fd);
	wipe(chunk, sizeof(chunk));
	if (n < 0 || out->bad) {
		snprintf(why, whylen, "cannot read");
		return -EIO;
	}
	buf_add_u8(out, '\n');	/* files joined never run one PEM block into the next */
	return 0;
}

static int read_dir(const char *path, struct buf *out, char *why, size_t whylen)
{
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort), i, r = 0, dfd;

	if (n < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -errno;
	}
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < n; i++) {
		if (!r && names[i]->d_name[0] != '.' && dfd >= 0)
			r = read_one(dfd, names[i]->d_name, false, out, why, whylen);
		free(names[i]);
	}
	free(names);
	if (dfd < 0)
		return -errno;
	close(dfd);
	return r;
}

int pki_read(enum pki_kind kind, const char *path, char **text, size_t *len, char *why,
	     size_t whylen)
{
	struct buf b;
	struct stat st;
	int r;

	*text = NULL;
	*len = 0;
	buf_init(&b);
	if ((kind == PKI_CA || kind == PKI_CRL) && !stat(path, &st) && S_ISDIR(st.st_mode))
		r = read_dir(path, &b, why, whylen);
	else
		r = read_one(AT_FDCWD, path, kind == PKI_KEY, &b, why, whylen);
	if (!r && b.len > PKI_MAX_TEXT) {
		snprintf(why, whylen, "larger than %d bytes", PKI_MAX_TEXT);
		r = -EFBIG;
	}
	if (!r && !(*text = malloc(b.len + 1)))
		r = -ENOMEM;
	if (!r) {
		memcpy(*text, b.data, b.len);
		(*text)[b.len] = '\0';
		*len = b.len;
	}
	buf_free(&b);
	return r;
}

static void fingerprint(enum pki_kind kind, const char *path, const char *text, size_t len,
			uint8_t fp[32])
{
	uint8_t k = (uint8_t)kind, out[PRF_MAX];
	struct chunk c[3] = { { &k, 1 }, { (const uint8_t *)path, strlen(path) + 1 },
			      { (const uint8_t *)text, len } };

	if (prf(PRF_HMAC_SHA2_256, (const uint8_t *)"vti pki", 7, c, 3, out))
		memset(out, 0, sizeof(out));
	memcpy(fp, out, 32);
	wipe(out, sizeof(out));
}

static void pki_free(struct pki *p)
{
	if (!p)
		return;
	x509_certs_free(p->certs);
	x509_crls_free(p->crls);
	sig_key_free(p->key);
	if (p->text) {
		wipe(p->text, p->len);
		free(p->text);
	}
	free(p);
}

static int parse(struct pki *p, char *why, size_t whylen)
{
	switch (p->kind) {
	case PKI_CERT:
	case PKI_CA:
		if (x509_certs_pem(p->text, p->len, &p->certs)) {
			snprintf(why, whylen, "no PEM certificate, or one that does not parse");
			return -EINVAL;
		}
		if (p->kind == PKI_CERT && x509_certs_key(p->certs) == X509_KEY_NONE) {
			snprintf(why, whylen, "key type not supported (RSA, ECDSA P-256/P-384/P-521, "
				 "Ed25519)");
			return -ENOTSUP;
		}
		return 0;
	case PKI_CRL:
		if (x509_crls_pem(p->text, p->len, &p->crls)) {
			snprintf(why, whylen, "no PEM CRL, or one that does not parse");
			return -EINVAL;
		}
		return 0;
	case PKI_KEY:
		return 0;	/* parsed where it is used (pki_key) */
	}
	return -EINVAL;
}

struct pki *pki_get(enum pki_kind kind, const char *path, const char *text, size_t len,
		    char *why, size_t whylen)
{
	uint8_t fp[32];
	struct pki *p;

	fingerprint(kind, path, text, len, fp);
	for (p = cache; p; p = p->next)
		if (p->kind == kind && !memcmp(p->fp, fp, 32)) {
			p->refs++;
			return p;
		}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->text = malloc(len + 1))) {
		free(p);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	p->kind = kind;
	snprintf(p->path, sizeof(p->path), "%s", path);
	memcpy(p->fp, fp, 32);
	memcpy(p->text, text, len);
	p->text[len] = '\0';
	p->len = len;
	if ((kind != PKI_KEY || len) && parse(p, why, whylen)) {
		pki_free(p);
		return NULL;
	}
	p->refs = 1;
	p->next = cache;
	cache = p;
	return p;
}

void pki_put(struct pki *p)
{
	struct pki **pp;

	if (!p || --p->refs)
		return;
	for (pp = &cache; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pki_free(p);
}

void pki_forget_keys(void)
{
	struct pki *p;

	for (p = cache; p; p = p->next)
		if (p->kind == PKI_KEY) {
			wipe(p->text, p->len);
			p->len = 0;
			sig_key_free(p->key);
			p->key = NULL;
		}
}

struct sig_key *pki_key(struct pki *p)
{
	if (p && p->kind == PKI_KEY && !p->key && p->len)
		sig_key_pem(p->text, p->len, &p->key);
	return p ? p->key : NULL;
}
