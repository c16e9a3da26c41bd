/*
 * test_hwm.c - manual SAs' sequence high-water marks on disk (hwm.h): a
 * numbered table of reservations against one state directory, each with
 * the grant it must get and the mark the key's file must then hold.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/hex.h"
#include "test.h"
#include "vtid/hwm.h"

enum key { KEY_A, KEY_B, KEY_C, KEY_E };	/* KEY_E: an ESN tunnel */

struct step {
	int no;
	enum key key;
	uint64_t from;
	uint32_t block;
	int err;
	uint64_t next, limit;	/* checked when err == 0 */
	uint64_t mark;		/* the file's "next" afterwards; 0: no file */
};

static const struct step steps[] = {
	{ 1, KEY_A, 0, 10, 0, 1, 10, 11 },		/* a new key starts at 1 */
	{ 2, KEY_A, 10, 10, 0, 11, 20, 21 },		/* half way: the next block */
	{ 3, KEY_A, 0, 10, 0, 21, 30, 31 },		/* restart: above the mark */
	{ 4, KEY_B, 0, 10, 0, 1, 10, 11 },		/* another key, its own file */
	{ 5, KEY_A, 0, 10, 0, 31, 40, 41 },		/* ...which left A's alone */
	{ 6, KEY_A, 5, 10, 0, 41, 50, 51 },		/* a stale SA gets new numbers only */
	{ 7, KEY_A, 100, 10, 0, 101, 110, 111 },	/* the SA holds more: never below */
	{ 8, KEY_A, 0, 0, -EINVAL, 0, 0, 111 },		/* bounded blocks */
	{ 9, KEY_A, 0, HWM_BLOCK_MAX + 1, -EINVAL, 0, 0, 111 },
	/* The 32-bit space ends: the last block is cut short, then nothing. */
	{ 10, KEY_B, 0xfffffff0, 100, 0, 0xfffffff1, 0xffffffff, 0x100000000 },
	{ 11, KEY_B, 0, 10, -ENOSPC, 0, 0, 0x100000000 },
	{ 12, KEY_B, 0xffffffff, 10, -ENOSPC, 0, 0, 0x100000000 },
	/* With ESN it goes on. */
	{ 13, KEY_E, 0xfffffff0, 100, 0, 0xfffffff1, 0x100000054, 0x100000055 },
	{ 14, KEY_E, 0, 10, 0, 0x100000055, 0x10000005e, 0x10000005f },
	/* A damaged file is an error, never a fresh start at 1. */
	{ 15, KEY_C, 0, 10, -EBADMSG, 0, 0, 0 },
};

static struct tunnel_conf conf_for(enum key k)
{
	struct tunnel_conf t;
	size_t i;

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "t%d", (int)k);
	t.mode = MODE_MANUAL;
	t.spi_out = 0x2000 + (uint32_t)k;
	CHECK(esp_suite_parse(k == KEY_E ? "aes128gcm16-esn" : "aes128gcm16", &t.esp[0], NULL,
			      0) == 0, "suite");
	t.n_esp = 1;
	t.key_out_len = 20;
	for (i = 0; i < t.key_out_len; i++)
		t.key_out[i] = (uint8_t)(i * 7 + (unsigned)k * 31 + 1);
	return t;
}

/* The "next" line of key k's file, or 0 if there is none. */
static uint64_t file_mark(const char *dir, enum key k)
{
	struct tunnel_conf t = conf_for(k);
	uint8_t fp[HWM_FP_LEN];
	char hexfp[2 * HWM_FP_LEN + 1], path[512], text[1024], *p;
	ssize_t n;
	int fd;

	CHECK(hwm_fingerprint(&t, fp) == 0, "fingerprint");
	hex_encode(fp, sizeof(fp), hexfp);
	snprintf(path, sizeof(path), "%s/%.32s.hwm", dir, hexfp);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	CHECK(strstr(text, hexfp) != NULL, "file holds the whole fingerprint");
	p = strstr(text, "\nnext ");
	return p ? strtoull(p + 6, NULL, 10) : 0;
}

/* Reading the file back never reveals the key. */
static void no_key_in_file(const char *dir)
{
	struct tunnel_conf t = conf_for(KEY_A);
	char hexkey[41], cmd[700];

	hex_encode(t.key_out, t.key_out_len, hexkey);
	snprintf(cmd, sizeof(cmd), "grep -rqi %s %s", hexkey, dir);
	CHECK(system(cmd) != 0, "the key is not in the state directory");
}

static void damage(const char *dir, enum key k)
{
	struct tunnel_conf t = conf_for(k);
	uint8_t fp[HWM_FP_LEN];
	char hexfp[2 * HWM_FP_LEN + 1], path[700];
	int fd;

	CHECK(hwm_fingerprint(&t, fp) == 0, "fingerprint");
	hex_encode(fp, sizeof(fp), hexfp);
	snprintf(path, sizeof(path), "%s/%.32s.hwm", dir, hexfp);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "fingerprint ", 12) == 12 && write(fd, hexfp, 64) == 64 &&
	      write(fd, "\nnext 12x\n", 10) == 10, "damaged file");
	close(fd);
}

int main(void)
{
	char base[] = "/tmp/vti-test-hwm-XXXXXX", dir[600], why[512], cmd[700];
	struct tunnel_conf t;
	struct stat st;
	uint64_t next, limit;
	size_t i;
	int r;

	CHECK(mkdtemp(base) != NULL, "temp dir");
	snprintf(dir, sizeof(dir), "%s/state", base);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];

		if (s->key == KEY_C)
			damage(dir, KEY_C);
		t = conf_for(s->key);
		next = limit = 0;
		r = hwm_reserve(dir, &t, s->from, s->block, &next, &limit, why, sizeof(why));
		CHECK(r == s->err, "step %d: %d, want %d (%s)", s->no, r, s->err, why);
		if (!s->err)
			CHECK(next == s->next && limit == s->limit, "step %d: got %llx..%llx", s->no,
			      (unsigned long long)next, (unsigned long long)limit);
		if (s->err == -ENOSPC || s->err == -EBADMSG)
			CHECK(why[0] != '\0', "step %d: a reason for the log", s->no);
		if (s->key != KEY_C)
			CHECK(file_mark(dir, s->key) == s->mark, "step %d: mark %llu", s->no,
			      (unsigned long long)file_mark(dir, s->key));
		if (i == 0)	/* state-dir was missing: created, private */
			CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "mode %o",
			      st.st_mode & 0777);
	}
	no_key_in_file(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	CHECK(system(cmd) == 0, "clean up");
	return test_done();
}
