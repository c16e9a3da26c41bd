/*
 * hwm.c - manual SAs' sequence high-water marks on disk (see hwm.h).
 *
 * A mark file holds text, so that an operator can read it:
 *
 *   # vtid: every ESP sequence number sent under this key-out is below next
 *   fingerprint <64 hex digits>
 *   tunnel <name>
 *   spi 0x<spi-out>
 *   next <decimal>
 *
 * Only "fingerprint" and "next" are read back.  A file that cannot be
 * read or parsed is an error, never a fresh start at 1: starting again
 * is exactly the nonce reuse the file exists to prevent.
 */
#include "vtid/hwm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/cipher.h"
#include "crypto/prf.h"
#include "lib/hex.h"

#define NAME_HEX 32		/* file name: the fingerprint's first 16 bytes */
#define FILE_MAX 1024

int hwm_fingerprint(const struct tunnel_conf *t, uint8_t fp[HWM_FP_LEN])
{
	static const char label[] = "vti manual SA sequence high-water mark";
	struct chunk c = { (const uint8_t *)label, sizeof(label) - 1 };

	if (!t->key_out_len)
		return -EINVAL;
	return prf(PRF_HMAC_SHA2_256, t->key_out, t->key_out_len, &c, 1, fp) < 0 ? -EIO : 0;
}

/* The last number the key may carry: RFC 4303 §3.3.3, no cycling.  With
 * ESN the very last one is kept back so that "next" always fits. */
static uint64_t seq_space(const struct tunnel_conf *t)
{
	return t->esp[0].esn ? UINT64_MAX - 1 : UINT32_MAX;
}

static int dir_error(const char *what, const char *dir, char *why, size_t whylen)
{
	int e = errno;

	snprintf(why, whylen, "cannot %s state-dir %s: %s", what, dir, strerror(e));
	return -e;
}

static int open_dir(const char *dir, char *why, size_t whylen)
{
	int fd, r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return dir_error("create", dir, why, whylen);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return dir_error("open", dir, why, whylen);
	/* Two daemons sharing a directory and a key must not both read the
	 * same mark and hand out the same block. */
	if (flock(fd, LOCK_EX) < 0) {
		r = dir_error("lock", dir, why, whylen);
		close(fd);
		return r;
	}
	return fd;
}

/* *next from text, if its fingerprint is fphex; -EBADMSG otherwise. */
static int parse_mark(char *text, const char *fphex, uint64_t *next)
{
	char *line, *save = NULL, *end;
	bool fp_ok = false, have_next = false;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "fingerprint ", 12)) {
			fp_ok = !strcmp(line + 12, fphex);
		} else if (!strncmp(line, "next ", 5)) {
			if (line[5] < '0' || line[5] > '9')
				return -EBADMSG;
			errno = 0;
			*next = strtoull(line + 5, &end, 10);
			if (errno || *end || *next == 0)
				return -EBADMSG;
			have_next = true;
		}
	}
	return fp_ok && have_next ? 0 : -EBADMSG;
}

/* The stored mark: 1 when this key has no file yet. */
static int read_mark(int dfd, const char *name, const char *fphex, uint64_t *next)
{
	char text[FILE_MAX + 1];
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0 && errno == ENOENT) {
		*next = 1;
		return 0;
	}
	if (fd < 0)
		return -errno;
	n = read(fd, text, FILE_MAX);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r)
		return r;
	if (n == FILE_MAX)
		return -EBADMSG;
	text[n] = '\0';
	return parse_mark(text, fphex, next);
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replace the mark atomically and durably: it is on disk before the
 * caller hands out any number below it. */
static int write_mark(int dfd, const char *name, const char *fphex, const struct tunnel_conf *t,
		      uint64_t next)
{
	char tmp[NAME_HEX + 16], text[FILE_MAX];
	int fd, r, n;

	snprintf(tmp, sizeof(tmp), "%.*s.tmp", NAME_HEX, name);
	n = snprintf(text, sizeof(text),
		     "# vtid: every ESP sequence number sent under this key-out is below next\n"
		     "# (SPEC.md \"Staying up\").  Do not edit; remove only with the key.\n"
		     "fingerprint %s\ntunnel %s\nspi 0x%08x\nnext %llu\n", fphex, t->name,
		     t->spi_out, (unsigned long long)next);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, text, (size_t)n);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (!r && fsync(dfd) < 0)
		r = -errno;
	if (r)
		unlinkat(dfd, tmp, 0);
	return r;
}

int hwm_reserve(const char *dir, const struct tunnel_conf *t, uint64_t from, uint32_t block,
		uint64_t *next, uint64_t *limit, char *why, size_t whylen)
{
	uint8_t fp[HWM_FP_LEN];
	char fphex[2 * HWM_FP_LEN + 1], name[NAME_HEX + 8];
	uint64_t max = seq_space(t), mark = 0, base, last;
	int dfd = -1, r;

	why[0] = '\0';
	if (block == 0 || block > HWM_BLOCK_MAX)
		return -EINVAL;
	r = hwm_fingerprint(t, fp);
	if (r < 0)
		goto out;
	hex_encode(fp, sizeof(fp), fphex);
	snprintf(name, sizeof(name), "%.*s.hwm", NAME_HEX, fphex);
	dfd = open_dir(dir, why, whylen);
	if (dfd < 0) {
		r = dfd;
		goto out;
	}
	r = read_mark(dfd, name, fphex, &mark);
	if (r < 0) {
		snprintf(why, whylen, "%s/%s: %s", dir, name, r == -EBADMSG ?
			 "damaged; the key must be changed (keep the file until then)" :
			 strerror(-r));
		goto out;
	}
	/* Continue above the mark, and above anything the SA already holds:
	 * the mark only ever grows. */
	base = mark;
	if (from >= max) {
		base = max + 1;
	} else if (from + 1 > base) {
		base = from + 1;
	}
	if (base > max) {
		snprintf(why, whylen, "key-out has used all %llu sequence numbers; change key-out "
			 "(and the peer's key-in)", (unsigned long long)max);
		r = -ENOSPC;
		goto out;
	}
	last = max - base < block - 1 ? max : base + block - 1;
	r = write_mark(dfd, name, fphex, t, last + 1);
	if (r < 0) {
		snprintf(why, whylen, "cannot write %s/%s: %s", dir, name, strerror(-r));
		goto out;
	}
	*next = base;
	*limit = last;
out:
	if (dfd >= 0)
		close(dfd);	/* and the lock with it */
	wipe(fp, sizeof(fp));
	return r;
}
