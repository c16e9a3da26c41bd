/*
 * test_conf.c - the configuration parser: a complete good file, then one
 * case per error message, each with the line it must point at.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "crypto/x509.h"
#include "ike/policy.h"
#include "vtid/tunnel.h"
#include "test.h"

#include "certs.h"

#define K20 "000102030405060708090a0b0c0d0e0f10111213"
#define K20B "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00112233"
/* K20 again, spelt with colons. */
#define K20C "00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13"
/* A valid manual tunnel in 9 lines; a case's extra line is line 10. */
#define T "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\n" \
	  "esp = aes128gcm16\nspi-in = 0x1001\nspi-out = 0x2001\n"               \
	  "key-in = 0x" K20 "\nkey-out = 0x" K20B "\n"

/* An IKE tunnel, 4 lines. */
#define I "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\npsk = longenough1\n"
/* 32 bytes: the shortest PPK accepted (RFC 8784 §6: 256 bits). */
#define K32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static const char good[] =
	"# a full file\n"
	"[daemon]\n"
	"socket = /run/x.sock   # comment after a value\n"
	"port = 500\n"
	"natt-port = 4500\n"
	"state-dir = /var/lib/vti-test\n"
	"initiate-rate = 1000\n"
	"busy-poll = 1000\n"
	"\n"
	"[tunnel sti15]\n"
	"local = 2001:db8::1\n"
	"remote = 2001:db8::2\n"
	"address = 10.255.0.1/30, fd00:255::1/64\n"
	"mtu = 1400\n"
	"mode = manual\n"
	"esp = aes256-sha512-esn\n"
	"spi-in = 4097\n"
	"spi-out = 0x2001\n"
	"key-in = 0x" K20 K20 K20 K20 "000102030405060708090a0b0c0d0e0f\n"
	"key-out = 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14:15:16:17:"
	"18:19:1a:1b:1c:1d:1e:1f:20:21:22:23:24:25:26:27:28:29:2a:2b:2c:2d:2e:2f:30:31:32:33:"
	"34:35:36:37:38:39:3a:3b:3c:3d:3e:3f:40:41:42:43:44:45:46:47:48:49:4a:4b:4c:4d:4e:4f:"
	"50:51:52:53:54:55:56:57:58:59:5a:5b:5c:5d:5e:5f\n"
	"local-ts = 10.0.0.0/8\n"
	"remote-ts = 0.0.0.0/0, ::/0\n"
	"encap = yes\n"
	"replay-window = 4096\n"
	"psk = secret#with#hash\n"
	"start = no\n"
	"dpd = 10\n";

static void good_file(void)
{
	struct conf c;
	struct buf e;
	const struct tunnel_conf *t;

	buf_init(&e);
	CHECK(conf_parse("good", good, sizeof(good) - 1, &c, &e) == 0, "errors: %s", buf_str(&e));
	CHECK(strcmp(c.d.socket, "/run/x.sock") == 0, "socket '%s'", c.d.socket);
	CHECK(strcmp(c.d.state_dir, "/var/lib/vti-test") == 0, "state-dir '%s'", c.d.state_dir);
	CHECK(c.d.initiate_rate == 1000, "initiate-rate %u", c.d.initiate_rate);
	CHECK(c.d.busy_poll_us == 1000, "busy-poll %u", c.d.busy_poll_us);
	t = conf_find(&c, "sti15");
	CHECK(t != NULL, "tunnel found");
	if (t) {
		CHECK(t->n_addrs == 2 && t->addrs[0].len == 30 && t->addrs[1].len == 64, "addrs");
		CHECK(t->mode == MODE_MANUAL && t->spi_in == 4097 && t->spi_out == 0x2001, "spis");
		CHECK(t->esp[0].encr == ENCR_AES_CBC && t->esp[0].key_bits == 256 &&
		      t->esp[0].integ == AUTH_HMAC_SHA2_512_256 && t->esp[0].esn, "esp");
		CHECK(t->key_in_len == 96 && t->key_out_len == 96, "keys %zu", t->key_in_len);
		CHECK(t->key_out[95] == 0x5f, "colon-separated key");
		CHECK(t->n_local_ts == 1 && t->n_remote_ts == 2, "selectors");
		CHECK(t->encap == ENCAP_MODE_YES && t->replay_window == 4096, "encap, window");
		CHECK(t->psk_len == 16 && memcmp(t->psk, "secret#with#hash", 16) == 0,
		      "a '#' inside a value is not a comment");
		CHECK(!t->start && t->dpd == 10 && t->dpd_timeout == 30, "dpd-timeout = 3 x dpd");
		CHECK(t->has_secret, "secret noted");
	}
	conf_free(&c);
	buf_free(&e);
}

struct bad {
	const char *text;
	const char *msg;	/* expected substring */
	unsigned line;
};

static char long_line[5000];

static const struct bad bads[] = {
	{ "[daemon]\nsocket = relative\n", "socket must be an absolute path", 2 },
	{ "[daemon]\nport = 70000\n", "port must be a port number", 2 },
	{ "[daemon]\nnatt-port = x\n", "natt-port must be a port number", 2 },
	{ "[daemon]\ngroup = " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "group must be a group name", 2 },
	{ "[daemon]\nuser = " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "user must be a user name", 2 },
	{ "[daemon]\nport = 4500\n", "port and natt-port must differ", 2 },
	{ "[daemon]\ncookie-threshold = -1\n", "cookie-threshold must be 0-100000", 2 },
	{ "[daemon]\ninitiate-rate = 0\n", "initiate-rate must be 1-100000", 2 },
	{ "[daemon]\ninitiate-rate = 100001\n", "initiate-rate must be 1-100000", 2 },
	{ "[daemon]\ninitiate-rate = fast\n", "initiate-rate must be 1-100000", 2 },
	{ "[daemon]\nbusy-poll = 1001\n", "busy-poll must be 0-1000 microseconds", 2 },
	{ "[daemon]\nxdp-sockets = 0\n", "xdp-sockets must be 1-16 sockets", 2 },
	{ "[daemon]\nxdp-sockets = 17\n", "xdp-sockets must be 1-16 sockets", 2 },
	{ "[daemon]\nxdp-sockets = many\n", "xdp-sockets must be 1-16 sockets", 2 },
	{ "[daemon]\nbusy-poll = -1\n", "busy-poll must be 0-1000 microseconds", 2 },
	{ "[daemon]\nbusy-poll = 50us\n", "busy-poll must be 0-1000 microseconds", 2 },
	{ "[daemon]\nstate-dir = var/lib/vti\n", "state-dir must be an absolute path", 2 },
	{ "[daemon]\n[daemon]\n", "second [daemon] section", 2 },
	{ "[bogus]\n", "unknown section [bogus]", 1 },
	{ "[tunnel a/b]\n", "is not a valid interface name", 1 },
	{ "[tunnel abcdefghijklmnop]\n", "is not a valid interface name", 1 },
	{ T "[tunnel t0]\n", "tunnel t0 is defined twice (first at line 1)", 10 },
	{ T "just words\n", "expected 'key = value'", 10 },
	{ "local = 1.2.3.4\n", "outside of a [daemon] or [tunnel NAME] section", 1 },
	{ T "colour = blue\n", "unknown key 'colour' in [tunnel]", 10 },
	{ "[daemon]\nsockett = /x\n", "unknown key 'sockett' in [daemon]", 2 },
	{ T "local = 192.0.2.9\n", "'local' given twice (first at line 2)", 10 },
	{ T "mtu =\n", "'mtu' has no value", 10 },
	{ T "[tunnel\n", "section header must be [name] alone", 10 },
	{ T "[tunnel x] junk\n", "section header must be [name] alone", 10 },
	{ "[tunnel t0]\nlocal = 192.0.2.300\n", "local: '192.0.2.300' is not an IPv4 or IPv6", 2 },
	{ "[tunnel t0]\nremote = peer\n", "remote: 'peer' is not an IPv4 or IPv6 address (or 'any')",
	  2 },
	{ T "local-id = " "x123456789x123456789x123456789x123456789x123456789x123456789"
	  "x123456789x123456789x123456789x123456789x123456789x123456789x123456789x123456789"
	  "x123456789x123456789x123456789x123456789x123456789x123456789x123456789x123456789"
	  "x123456789x123456789x123456789x123456789\n", "local-id must be 1 to 255", 10 },
	{ T "psk = 0xzz\n", "psk: bad hex", 10 },
	{ T "psk = short\n", "psk is 5 bytes; use at least 8", 10 },
	{ T "psk-file = /nonexistent/vti.psk\n", "psk-file /nonexistent/vti.psk: No such file", 10 },
	{ T "psk-file = /\n", "psk-file /: not a regular file", 10 },
	{ T "psk = longenough1\npsk-file = /nonexistent\n", "give psk or psk-file, not both", 11 },
	{ T "address = 10.0.0.1\n", "address: '10.0.0.1' is not ADDRESS/PREFIXLEN", 10 },
	{ T "address = 1.1.1.1/8,1.1.1.2/8,1.1.1.3/8,1.1.1.4/8,1.1.1.5/8,1.1.1.6/8,1.1.1.7/8,"
	    "1.1.1.8/8,1.1.1.9/8\n", "address: give 1 to 8 addresses", 10 },
	{ T "mtu = 100\n", "mtu must be 576-65535, not '100'", 10 },
	{ T "pool = 10.0.0.0/24\n", "mode = manual has no IKE to ask for or hand out", 10 },
	{ T "address = auto\n", "mode = manual has no IKE to ask for or hand out", 10 },
	{ I "pool = 10.0.0.0/31\n", "the prefix length must be 8-30 for IPv4", 5 },
	{ I "pool = fd00::/127\n", "8-126 for IPv6", 5 },
	{ I "pool = 10.0.0.0/24, 10.1.0.0/24\n", "pool: one prefix per address family", 5 },
	{ I "pool = 10.0.0.0/24, fd00::/64, 10.1.0.0/16\n", "give one IPv4 and/or one IPv6", 5 },
	{ I "pool = 10.0.0.1\n", "pool: '10.0.0.1' is not PREFIX/LEN", 5 },
	{ I "address = auto\npool = 10.0.0.0/24\n", "(address = auto) cannot also hand them out",
	  6 },
	{ I "address = auto, 10.0.0.1/24\n", "address: 'auto' is not ADDRESS/PREFIXLEN", 5 },
	{ "[template abcdefghijk]\n", "template name 'abcdefghijk' is too long", 1 },
	{ "[template br]\nlocal = 192.0.2.1\nremote = any\npsk = longenough1\nstart = yes\n",
	  "template br: a template waits for its peers", 5 },
	{ "[template br]\nlocal = 192.0.2.1\nremote = any\npsk = longenough1\n"
	  "address = auto\n", "template br: address = auto asks a peer", 5 },
	{ "[template br]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\n",
	  "template br: mode = manual has no peers", 4 },
	{ "[template br]\nlocal = 192.0.2.1\nremote = any\npsk = longenough1\n"
	  "[tunnel br7]\nlocal = 192.0.2.1\nremote = 192.0.2.2\npsk = longenough1\n",
	  "tunnel br7 has the name of an interface of template br (line 1)", 5 },
	{ "[template br]\ncolour = blue\n", "unknown key 'colour' in [template]", 2 },
	{ "[template br]\nlocal = 192.0.2.1\nremote = any\npsk = longenough1\n"
	  "[template br1]\nlocal = 192.0.2.1\nremote = any\npsk = longenough1\n",
	  "template br1 has the name of an interface of template br (line 1)", 5 },
	{ T "remote-port = 0\n", "remote-port must be a port number", 10 },
	{ T "address = fd00::1/64\nmtu = 1000\n", "IPv6 needs mtu >= 1280", 11 },
	{ "[tunnel t0]\nesp = aes128gcm16,aes128gcm16,aes128gcm16,aes128gcm16,aes128gcm16,"
	  "aes128gcm16,aes128gcm16,aes128gcm16,aes128gcm16\n", "esp: give 1 to 8 proposals", 2 },
	{ "[tunnel t0]\nesp = des\n", "esp: unknown ESP cipher 'des'", 2 },
	{ "[tunnel t0]\nesp = aes128gcm16-sha256\n", "an AEAD cipher takes no integrity", 2 },
	{ "[tunnel t0]\nesp = aes128\n", "AES-CBC needs an integrity algorithm (e.g. aes128-sha256)",
	  2 },
	{ "[tunnel t0]\nesp = aes128-sha256-modp2048x\n", "unknown keyword 'modp2048x'", 2 },
	{ "[tunnel t0]\nesp = aes128-sha256-sha384\n", "more than one integrity algorithm", 2 },
	{ "[tunnel t0]\nesp = -\n", "esp: empty ESP proposal", 2 },
	{ "[tunnel t0]\nesp = aes128gcm16-x25519-ecp256\n", "more than one key exchange", 2 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\nesp = aes128gcm16-x25519\n"
	  "spi-in = 0x1001\nspi-out = 0x2001\nkey-in = 0x" K20 "\nkey-out = 0x" K20B "\n",
	  "manual keys have no key exchange", 5 },
	{ T "local-ts = 10.0.0.0/33\n", "local-ts: '10.0.0.0/33' is not a prefix", 10 },
	{ T "remote-ts = ,\n", "remote-ts: give 1 to 16 prefixes", 10 },
	{ T "encap = maybe\n", "encap must be auto, yes or no, not 'maybe'", 10 },
	{ T "start = perhaps\n", "start must be yes or no", 10 },
	{ T "fragmentation = sometimes\n", "fragmentation must be yes or no, not 'sometimes'",
	  10 },
	{ T "dpd = 5000\n", "dpd must be 0-3600 seconds", 10 },
	{ T "dpd-timeout = 2\n", "dpd-timeout must be 3-86400 seconds", 10 },
	{ T "ike-lifetime = 10\n", "ike-lifetime must be 60-604800 seconds", 10 },
	{ T "esp-lifetime = 1y\n", "esp-lifetime must be 60-604800 seconds", 10 },
	{ T "replay-window = 32\n", "replay-window must be 64-65536 packets", 10 },
	{ "[tunnel t0]\nmode = auto\n", "mode must be ike or manual", 2 },
	{ "[tunnel t0]\nspi-in = 255\n", "spi-in must be 256-4294967295", 2 },
	{ "[tunnel t0]\nspi-out = 0x100000000\n", "spi-out must be 256-4294967295", 2 },
	{ "[tunnel t0]\nkey-in = 0x123\n", "key-in must be hex", 2 },
	{ "[tunnel t0]\nkey-out = nothex\n", "key-out must be hex", 2 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\n",
	  "mode = manual needs spi-in", 1 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\n",
	  "mode = manual needs key-out", 1 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\nesp = aes128gcm16, "
	  "aes256gcm16\nspi-in = 0x1001\nspi-out = 0x2001\nkey-in = 0x" K20 "\nkey-out = 0x" K20B "\n",
	  "mode = manual takes exactly one esp proposal", 5 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = any\nmode = manual\nesp = aes128gcm16\n"
	  "spi-in = 0x1001\nspi-out = 0x2001\nkey-in = 0x" K20 "\nkey-out = 0x" K20B "\n",
	  "mode = manual needs a remote address, not 'any'", 3 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\nesp = aes256gcm16\n"
	  "spi-in = 0x1001\nspi-out = 0x2001\nkey-in = 0x" K20 "\nkey-out = 0x" K20B "\n",
	  "key-in is 20 bytes but aes256gcm16 needs 36", 8 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\nesp = aes256gcm16\n"
	  "spi-in = 0x1001\nspi-out = 0x2001\nkey-in = 0x" K20 "\nkey-out = 0x" K20B "\n",
	  "key-out is 20 bytes but aes256gcm16 needs 36", 9 },
	{ "[tunnel t0]\nremote = 192.0.2.2\n", "tunnel t0: local address missing", 1 },
	{ "[tunnel t0]\nlocal = 192.0.2.2\n", "tunnel t0: remote address missing", 1 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 2001:db8::2\n", "different address families", 3 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = ike\n",
	  "tunnel t0: mode = ike needs psk or psk-file", 1 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\npsk = 12345678\n"
	  "ike = aes128gcm16-prfsha256-x448\n", "ike: unknown IKE algorithm 'x448'", 5 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\npsk = 12345678\n"
	  "ike = aes128gcm16-prfsha256\n", "needs a cipher and a key exchange", 5 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\npsk = 12345678\n"
	  "ike = aes128gcm16-x25519\n", "an AEAD proposal needs a prf", 5 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\npsk = 12345678\n"
	  "ike = aes128-x25519\n", "AES-CBC needs an integrity algorithm", 5 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\npsk = 12345678\n"
	  "ike = aes128gcm16-sha256-prfsha256-x25519\n", "an AEAD cipher takes no integrity", 5 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\npsk = 12345678\n"
	  "local-id = @#zz\n", "local-id is not a valid identity", 5 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = any\npsk = 12345678\n",
	  "remote = any can only wait for the peer; set start = no", 3 },
	{ T "[tunnel t1]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\n"
	  "esp = aes128gcm16\nspi-in = 0x1001\nspi-out = 0x2002\n"
	  "key-in = 0x" K20 "\nkey-out = 0x" K20B "\n", "spi-in 0x1001 is already used by tunnel t0",
	  15 },
	/* One key both ways: both directions' nonces count from 1 under it. */
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\nesp = aes128gcm16\n"
	  "spi-in = 0x1001\nspi-out = 0x2001\nkey-in = 0x" K20 "\nkey-out = 0x" K20 "\n",
	  "tunnel t0: key-out equals key-in; each direction needs its own key", 9 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\n"
	  "esp = chacha20poly1305\nspi-in = 0x1001\nspi-out = 0x2001\nkey-out = " K20C
	  ":00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f\nkey-in = 0x" K20
	  "000102030405060708090a0b0c0d0e0f\n",
	  "tunnel t0: key-out equals key-in; each direction needs its own key", 8 },
	{ "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nmode = manual\n"
	  "esp = aes128-sha256\nspi-in = 0x1001\nspi-out = 0x2001\nkey-out = 0x" K20 K20
	  "0001020304050607\nkey-in = 0x" K20 K20 "0001020304050607\n",
	  "tunnel t0: key-out equals key-in; each direction needs its own key", 8 },
	/* RFC 8784 post-quantum preshared keys */
	{ I "ppk-id = p1\nppk = 0x0011\n", "ppk must be 0x followed by the hex of 32 to 256", 6 },
	{ I "ppk-id = p1\nppk = 0x" K32 "zz\n", "ppk must be 0x followed by the hex", 6 },
	{ I "ppk-id = p1\nppk = a-pass-phrase-longer-than-32-bytes-is-no-ppk\n",
	  "ppk must be 0x followed by the hex of 32", 6 },
	{ I "ppk-id = p1\nppk = 0x" K32 "\nppk-file = /nonexistent\n",
	  "give ppk or ppk-file, not both", 7 },
	{ I "ppk-file = /nonexistent/vti.ppk\n", "ppk-file /nonexistent/vti.ppk: No such file", 5 },
	{ I "ppk-file = /\n", "ppk-file /: not a regular file", 5 },
	{ I "ppk = 0x" K32 "\n", "tunnel t0: ppk needs ppk-id", 5 },
	{ I "ppk-id = p1\n", "tunnel t0: ppk-id needs ppk or ppk-file", 5 },
	{ I "ppk-required = yes\n", "tunnel t0: ppk-required needs ppk-id and ppk", 5 },
	{ I "ppk-required = maybe\n", "ppk-required must be yes or no, not 'maybe'", 5 },
	{ I "ppk-id = " "x123456789x123456789x123456789x123456789x123456789x123456789"
	  "x123456789x123456789x123456789x123456789x123456789x123456789x123456789x123456789"
	  "x123456789x123456789x123456789x123456789x123456789x123456789x123456789x123456789"
	  "x123456789x123456789x123456789x12345\n", "ppk-id must be 1 to 255", 5 },
	{ T "ppk-id = p1\nppk = 0x" K32 "\n", "tunnel t0: a PPK is for mode = ike", 10 },
	{ long_line, "line longer than 4095 bytes", 1 },
	{ NULL, "NUL byte in line", 10 },
};

static void bad_files(void)
{
	size_t i;

	memset(long_line, 'x', sizeof(long_line) - 1);
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char want[256], text[8192];
		const char *src = bads[i].text;
		size_t len;
		struct conf c;
		struct buf e;

		if (src) {
			len = strlen(src);
			memcpy(text, src, len);
		} else {	/* the NUL byte case */
			len = strlen(T);
			memcpy(text, T, len);
			memcpy(text + len, "mtu = 1\0" "400\n", 13);
			len += 13;
		}
		buf_init(&e);
		CHECK(conf_parse("f.conf", text, len, &c, &e) > 0, "case %zu (%s): no error", i + 1,
		      bads[i].msg);
		snprintf(want, sizeof(want), "f.conf:%u: ", bads[i].line);
		CHECK(strstr(buf_str(&e), want) != NULL && strstr(buf_str(&e), bads[i].msg) != NULL,
		      "case %zu: want '%s%s', got:\n%s", i + 1, want, bads[i].msg, buf_str(&e));
		conf_free(&c);
		buf_free(&e);
	}
}

/* Secrets are refused in files that others can read. */
static void file_modes(void)
{
	char path[] = "/tmp/vti-test-conf-XXXXXX";
	char psk[] = "/tmp/vti-test-psk-XXXXXX";
	char text[512];
	struct conf c;
	struct buf e;
	int fd = mkstemp(path), pfd = mkstemp(psk);

	CHECK(fd >= 0 && pfd >= 0, "temp files");
	CHECK(write(fd, T, strlen(T)) == (ssize_t)strlen(T), "write");
	CHECK(write(pfd, "a-file-secret\n", 14) == 14, "write");
	close(fd);
	close(pfd);

	chmod(path, 0600);
	buf_init(&e);
	CHECK(conf_load(path, &c, &e) == 0, "0600 with keys is fine: %s", buf_str(&e));
	conf_free(&c);
	buf_reset(&e);

	chmod(path, 0644);
	CHECK(conf_load(path, &c, &e) == 1 && strstr(buf_str(&e), "readable by group or others "
						    "(mode 0644); run chmod 600"),
	      "0644 with keys refused: %s", buf_str(&e));
	conf_free(&c);
	buf_reset(&e);

	snprintf(text, sizeof(text), T "psk-file = %s\n", psk);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "rewrite");
	close(fd);
	chmod(path, 0600);
	chmod(psk, 0640);
	CHECK(conf_load(path, &c, &e) == 1 && strstr(buf_str(&e), "is readable by group or others "
						    "(mode 0640)"),
	      "group-readable psk-file refused: %s", buf_str(&e));
	conf_free(&c);
	buf_reset(&e);
	chmod(psk, 0600);
	CHECK(conf_load(path, &c, &e) == 0 && c.n == 1 && c.t[0].psk_len == 13 &&
	      memcmp(c.t[0].psk, "a-file-secret", 13) == 0, "psk-file read, newline trimmed: %s",
	      buf_str(&e));
	conf_free(&c);
	buf_reset(&e);

	CHECK(conf_load("/nonexistent/vtid.conf", &c, &e) == 1 &&
	      strstr(buf_str(&e), "/nonexistent/vtid.conf: cannot open"), "missing file");
	conf_free(&c);
	buf_free(&e);
	unlink(path);
	unlink(psk);
}

static void reload_equality(void)
{
	struct conf a, b;
	struct buf e;

	buf_init(&e);
	CHECK(conf_parse("a", T, strlen(T), &a, &e) == 0, "a");
	CHECK(conf_parse("b", "\n\n" T, strlen(T) + 2, &b, &e) == 0, "b");
	CHECK(tunnel_conf_equal(&a.t[0], &b.t[0]), "moved but unchanged is equal");
	b.t[0].mtu = 1300;
	CHECK(!tunnel_conf_equal(&a.t[0], &b.t[0]), "changed mtu is not");
	conf_free(&a);
	conf_free(&b);
	buf_free(&e);
}

/* A remote-id that does not parse (the parser refuses it; a tunnel
 * pushed by the parent is not parsed again) admits no peer, never any:
 * the policy says so. */
static void policy_fail_closed(void)
{
	struct tunnel_conf t;
	struct ike_policy pol;
	struct ike_policy_ids ids;

	memset(&t, 0, sizeof(t));
	strcpy(t.name, "t");
	strcpy(t.remote_id, "@");
	tunnel_conf_policy(&t, &pol, &ids);
	CHECK(pol.remote_id_bad && !pol.remote_id->type, "an unreadable remote-id admits nobody");
	strcpy(t.remote_id, "peer.example");
	tunnel_conf_policy(&t, &pol, &ids);
	CHECK(!pol.remote_id_bad && pol.remote_id->type, "a readable one is the peer's");
}

/* RFC 7296 §3.15 keys: address = auto asks, a pool gives. */
static void config_payload_keys(void)
{
	static const char text[] = I "address = auto\n"
		"[tunnel t1]\nlocal = 192.0.2.1\nremote = 192.0.2.3\npsk = longenough1\n"
		"address = 10.128.0.1/17\npool = 10.128.1.9/17, fd00:128::/64\n";
	const struct tunnel_conf *t;
	struct ike_policy pol;
	struct ike_policy_ids ids;
	struct conf c;
	struct buf e;

	buf_init(&e);
	CHECK(conf_parse("mem", text, strlen(text), &c, &e) == 0, "parses: %s", buf_str(&e));
	t = conf_find(&c, "t0");
	CHECK(t && t->address_auto && t->n_addrs == 0 && t->n_pool == 0, "address = auto");
	if (t) {
		tunnel_conf_policy(t, &pol, &ids);
		CHECK(pol.want_address && !pol.gives_address, "t0's policy asks");
	}
	t = conf_find(&c, "t1");
	CHECK(t && !t->address_auto && t->n_pool == 2 && t->pool[0].len == 17 &&
	      t->pool[0].addr.a[2] == 0 && t->pool[0].addr.a[3] == 0 && t->pool[1].len == 64,
	      "pool: two families, host bits cleared");
	if (t) {
		tunnel_conf_policy(t, &pol, &ids);
		CHECK(!pol.want_address && pol.gives_address, "t1's policy gives");
	}
	conf_free(&c);
	buf_free(&e);
}

/* [template NAME]: its interfaces NAME<n> belong to it; names that only
 * look alike do not. */
static void template_sections(void)
{
	static const char text[] =
		"[template br]\nlocal = 192.0.2.1\nremote = any\nremote-id = *.example\n"
		"psk = longenough1\n"
		"[tunnel brx]\nlocal = 192.0.2.1\nremote = 192.0.2.2\npsk = longenough1\n";
	static const struct {
		const char *ifname, *owner;
	} cases[] = {
		{ "br0", "br" }, { "br17", "br" }, { "br99999", "br" }, { "br100000", NULL },
		{ "br007", NULL }, { "br", NULL }, { "brx", "brx" }, { "br1x", NULL }, { "b1", NULL },
	};
	const struct tunnel_conf *t;
	struct ike_policy pol;
	struct ike_policy_ids ids;
	struct conf c;
	struct buf e;
	size_t i;

	buf_init(&e);
	CHECK(conf_parse("mem", text, strlen(text), &c, &e) == 0, "parses: %s", buf_str(&e));
	t = conf_find(&c, "br");
	CHECK(t && t->is_template && !t->start, "a template, waiting");
	if (t) {
		tunnel_conf_policy(t, &pol, &ids);
		CHECK(pol.is_template && pol.remote_id_glob && !pol.initiate, "its policy");
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = conf_owner(&c, cases[i].ifname);
		CHECK(cases[i].owner ? t && !strcmp(t->name, cases[i].owner) : !t, "%s: owner %s",
		      cases[i].ifname, t ? t->name : "none");
	}
	conf_free(&c);
	buf_free(&e);
}

/* fragmentation = yes|no (RFC 7383), on unless said otherwise, and into
 * the IKE policy. */
static void fragmentation_key(void)
{
	static const struct {
		const char *line;
		bool on;
	} rows[] = {
		{ "", true },
		{ "fragmentation = yes\n", true },
		{ "fragmentation = no\n", false },
		{ "fragmentation = true\n", true },
		{ "fragmentation = off\n", false },
	};
	char text[256];
	unsigned i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ike_policy pol;
		struct ike_policy_ids ids;
		struct conf c;
		struct buf e;
		int r;

		snprintf(text, sizeof(text), "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\n"
			 "psk = fragmentation-test\n%s", rows[i].line);
		buf_init(&e);
		r = conf_parse("frag", text, strlen(text), &c, &e);
		CHECK(r == 0, "'%s': %s", rows[i].line, buf_str(&e));
		if (!r) {
			tunnel_conf_policy(&c.t[0], &pol, &ids);
			CHECK(c.t[0].fragmentation == rows[i].on && pol.fragmentation == rows[i].on,
			      "'%s': fragmentation %s", rows[i].line, rows[i].on ? "on" : "off");
			conf_free(&c);
		}
		buf_free(&e);
	}
}

/* [daemon] busy-poll: microseconds, the default when absent, 0 turns it
 * off; xdp-sockets, 4 when absent; crypto-threads, 1 when absent, up to
 * 16; out of range refused. */
static void busy_poll_key(void)
{
	static const struct {
		const char *text;
		unsigned us, socks, threads;	/* threads 0: refused */
	} rows[] = {
		{ "", BUSY_POLL_DEFAULT, XDP_SOCKETS_DEFAULT, 1 },
		{ "[daemon]\n", BUSY_POLL_DEFAULT, XDP_SOCKETS_DEFAULT, 1 },
		{ "[daemon]\nbusy-poll = 0\n", 0, XDP_SOCKETS_DEFAULT, 1 },
		{ "[daemon]\nbusy-poll = 1\n", 1, XDP_SOCKETS_DEFAULT, 1 },
		{ "[daemon]\nbusy-poll = 100\n", 100, XDP_SOCKETS_DEFAULT, 1 },
		{ "[daemon]\nbusy-poll = 1000\n", 1000, XDP_SOCKETS_DEFAULT, 1 },
		{ "[daemon]\nxdp-sockets = 1\n", BUSY_POLL_DEFAULT, 1, 1 },
		{ "[daemon]\nxdp-sockets = 16\n", BUSY_POLL_DEFAULT, 16, 1 },
		{ "[daemon]\ncrypto-threads = 1\n", BUSY_POLL_DEFAULT, XDP_SOCKETS_DEFAULT, 1 },
		{ "[daemon]\ncrypto-threads = 2\n", BUSY_POLL_DEFAULT, XDP_SOCKETS_DEFAULT, 2 },
		{ "[daemon]\ncrypto-threads = 16\n", BUSY_POLL_DEFAULT, XDP_SOCKETS_DEFAULT, 16 },
		{ "[daemon]\ncrypto-threads = 0\n", 0, 0, 0 },
		{ "[daemon]\ncrypto-threads = 17\n", 0, 0, 0 },
		{ "[daemon]\ncrypto-threads = two\n", 0, 0, 0 },
	};
	unsigned i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct conf c;
		struct buf e;
		int r;

		buf_init(&e);
		r = conf_parse("busy", rows[i].text, strlen(rows[i].text), &c, &e);
		CHECK((r == 0) == (rows[i].threads != 0), "'%s': %s", rows[i].text, buf_str(&e));
		if (!r) {
			CHECK(c.d.busy_poll_us == rows[i].us, "'%s': busy-poll %u", rows[i].text,
			      c.d.busy_poll_us);
			CHECK(c.d.xdp_sockets == rows[i].socks, "'%s': xdp-sockets %u", rows[i].text,
			      c.d.xdp_sockets);
			CHECK(c.d.crypto_threads == rows[i].threads, "'%s': crypto-threads %u",
			      rows[i].text, c.d.crypto_threads);
			conf_free(&c);
		}
		buf_free(&e);
	}
}

/* [daemon] esp-path: auto (the default), socket or xdp; anything else
 * refused. */
static void esp_path_key(void)
{
	static const struct {
		const char *text;
		int path;	/* enum esp_path; -1: refused */
	} rows[] = {
		{ "", ESP_PATH_AUTO },
		{ "[daemon]\nesp-path = auto\n", ESP_PATH_AUTO },
		{ "[daemon]\nesp-path = socket\n", ESP_PATH_SOCKET },
		{ "[daemon]\nesp-path = xdp\n", ESP_PATH_XDP },
		{ "[daemon]\nesp-path = XDP\n", -1 },
		{ "[daemon]\nesp-path = af_xdp\n", -1 },
		{ "[daemon]\nesp-path = packet\n", -1 },
		{ "[daemon]\nesp-path = Socket\n", -1 },
		{ "[daemon]\nesp-path =\n", -1 },
	};
	unsigned i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct conf c;
		struct buf e;
		int r;

		buf_init(&e);
		r = conf_parse("esp-path", rows[i].text, strlen(rows[i].text), &c, &e);
		CHECK((r == 0) == (rows[i].path >= 0), "'%s': %d, %s", rows[i].text, r,
		      buf_str(&e));
		if (!r) {
			CHECK((int)c.d.esp_path == rows[i].path, "'%s': path %d", rows[i].text,
			      (int)c.d.esp_path);
			conf_free(&c);
		} else {
			CHECK(strstr(buf_str(&e), "esp-path:1") || strstr(buf_str(&e), "esp-path:2"),
			      "'%s': error at its line: %s", rows[i].text, buf_str(&e));
		}
		buf_free(&e);
	}
}

/* RFC 8784: a PPK goes into the configuration, its identity into the
 * policy, never its value; a ppk-file must be private like a psk-file. */
static void ppk_conf(void)
{
	static const char text[] = I "ppk-id = site-ppk-2026\nppk = 0x" K32 "\n"
				   "ppk-required = yes\n";
	char ppk[] = "/tmp/vti-test-ppk-XXXXXX", t2[512];
	struct ike_policy pol;
	struct ike_policy_ids ids;
	struct conf c;
	struct buf e;
	int fd;

	buf_init(&e);
	CHECK(conf_parse("p", text, strlen(text), &c, &e) == 0 && c.t[0].ppk_len == 32 &&
	      c.t[0].ppk[31] == 0x1f && c.t[0].ppk_required && c.t[0].has_secret,
	      "ppk parsed: %s", buf_str(&e));
	tunnel_conf_policy(&c.t[0], &pol, &ids);
	CHECK(pol.ppk_id_len == 13 && !memcmp(pol.ppk_id, "site-ppk-2026", 13) && pol.ppk_required,
	      "the policy has the PPK's identity and the requirement");
	conf_free(&c);
	fd = mkstemp(ppk);
	CHECK(fd >= 0 && write(fd, "0x" K32 "\n", 67) == 67, "write ppk file");
	close(fd);
	snprintf(t2, sizeof(t2), I "ppk-id = p\nppk-file = %s\n", ppk);
	chmod(ppk, 0644);
	buf_reset(&e);
	CHECK(conf_parse("p", t2, strlen(t2), &c, &e) == 1 &&
	      strstr(buf_str(&e), "not a regular file private to its owner (mode 0644)"),
	      "readable ppk-file refused: %s", buf_str(&e));
	conf_free(&c);
	chmod(ppk, 0600);
	buf_reset(&e);
	CHECK(conf_parse("p", t2, strlen(t2), &c, &e) == 0 && c.t[0].ppk_len == 32 &&
	      !c.t[0].ppk_required, "ppk-file read: %s", buf_str(&e));
	tunnel_conf_policy(&c.t[0], &pol, &ids);
	CHECK(pol.ppk_id_len == 1 && !pol.ppk_required, "optional PPK in the policy");
	conf_free(&c);
	/* Raw bytes (here with a NUL and a newline in them), or too few. */
	fd = open(ppk, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "\0\n" K32, 34) == 34, "write raw ppk file");
	close(fd);
	buf_reset(&e);
	CHECK(conf_parse("p", t2, strlen(t2), &c, &e) == 0 && c.t[0].ppk_len == 34 &&
	      c.t[0].ppk[0] == 0 && c.t[0].ppk[1] == '\n' && c.t[0].ppk[33] == 'f',
	      "raw ppk-file read as it is: %s", buf_str(&e));
	conf_free(&c);
	fd = open(ppk, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, K32, 31) == 31, "write short ppk file");
	close(fd);
	buf_reset(&e);
	CHECK(conf_parse("p", t2, strlen(t2), &c, &e) == 1 &&
	      strstr(buf_str(&e), "p:6: ppk-file") && strstr(buf_str(&e), "it has 31 bytes"),
	      "short raw ppk-file refused: %s", buf_str(&e));
	conf_free(&c);
	buf_free(&e);
	unlink(ppk);
}

/* local-cert, local-key, ca, crl: files that must load, a key that
 * matches, and one object per file however many tunnels name it.  In a
 * row's text %C is a certificate, %K its key, %O another key, %W its key
 * readable by others. */
struct pki_row {
	const char *lines;	/* after local/remote (lines 1-3) */
	const char *msg;	/* NULL: no error */
	unsigned line;
};

static const struct pki_row pki_rows[] = {
	{ "local-cert = %C\nlocal-key = %K\nca = %C\n", NULL, 0 },
	{ "psk = 12345678\nca = %C\n", NULL, 0 },
	{ "local-cert = %C\nlocal-key = %K\nca = %C\nremote-id = \"C=CH, O=vti test, CN=*\"\n",
	  NULL, 0 },
	{ "local-cert = %C\nca = %C\n", "local-cert and local-key go together", 4 },
	{ "local-key = %K\npsk = 12345678\n", "local-cert and local-key go together", 4 },
	{ "local-cert = %C\nlocal-key = %O\nca = %C\n",
	  "does not match the certificate's public key", 5 },
	{ "local-cert = %C\nlocal-key = %W\nca = %C\n", "readable by group or others", 5 },
	{ "local-cert = /nonexistent.pem\n", "local-cert /nonexistent.pem: No such file", 4 },
	{ "local-cert = %K\n", "no PEM certificate", 4 },
	{ "local-cert = %C\nlocal-key = %K\n", "give ca (to verify the peer's certificate) or psk",
	  4 },
	{ "psk = 12345678\ncrl = %C\n", "no PEM CRL", 5 },
	{ "psk = 12345678\nca = %C\nca = %C\n", "'ca' given twice", 6 },
	{ "psk = 12345678\nremote-id = \"C=CH, XX=1\"\n", "remote-id is not a valid identity", 5 },
};

static void write_file(char *path, const char *text, mode_t mode)
{
	int fd = mkstemp(path);

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "%s", path);
	if (fd >= 0)
		close(fd);
	chmod(path, mode);
}

static void expand(const char *in, char *out, size_t max, const char *const files[4])
{
	size_t n = 0;

	for (; *in && n + 300 < max; in++) {
		const char *f = NULL;

		if (in[0] == '%' && strchr("CKOW", in[1]))
			f = files[strchr("CKOW", in[1]) - "CKOW"];
		if (f) {
			n += (size_t)snprintf(out + n, max - n, "%s", f);
			in++;
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

static void pki_files(void)
{
	char cert[] = "/tmp/vti-test-cert-XXXXXX", key[] = "/tmp/vti-test-key-XXXXXX";
	char other[] = "/tmp/vti-test-other-XXXXXX", open_key[] = "/tmp/vti-test-wkey-XXXXXX";
	const char *const files[4] = { cert, key, other, open_key };
	char text[4096], lines[2048], want[300];
	struct ike_policy pol;
	struct ike_policy_ids ids;
	struct conf c;
	struct buf e;
	size_t i;
	int n;

	write_file(cert, UNIT_CERT, 0644);
	write_file(key, UNIT_KEY, 0600);
	write_file(other, OTHER_KEY, 0600);
	write_file(open_key, UNIT_KEY, 0644);
	buf_init(&e);
	for (i = 0; i < sizeof(pki_rows) / sizeof(pki_rows[0]); i++) {
		expand(pki_rows[i].lines, lines, sizeof(lines), files);
		snprintf(text, sizeof(text), "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\n%s",
			 lines);
		buf_reset(&e);
		n = conf_parse("f.conf", text, strlen(text), &c, &e);
		if (!pki_rows[i].msg) {
			CHECK(n == 0, "row %zu: %s", i + 1, buf_str(&e));
		} else {
			snprintf(want, sizeof(want), "f.conf:%u: ", pki_rows[i].line);
			CHECK(n > 0 && strstr(buf_str(&e), want) && strstr(buf_str(&e), pki_rows[i].msg),
			      "row %zu: want '%s%s', got:\n%s", i + 1, want, pki_rows[i].msg,
			      buf_str(&e));
		}
		if (!n && i == 0) {
			tunnel_conf_policy(&c.t[0], &pol, &ids);
			CHECK(pol.authby == IKE_AUTHBY_CERT && pol.cert && pol.ca && !pol.psk &&
			      pol.key_type == X509_KEY_ED25519, "row 1: policy signs with the cert");
			CHECK(pol.local_id->type == ID_DER_ASN1_DN, "row 1: local-id is the subject");
		}
		if (!n && i == 2) {
			tunnel_conf_policy(&c.t[0], &pol, &ids);
			CHECK(pol.remote_id_glob && pol.remote_id->type == ID_DER_ASN1_DN &&
			      !memcmp(pol.remote_id->data, "C=CH, O=vti test, CN=*", 22),
			      "row 3: a DN pattern, unquoted");
		}
		conf_free(&c);
	}
	/* A directory of CA files (and a file in it that is no certificate
	 * fails it, naming nothing else). */
	{
		char dir[] = "/tmp/vti-test-ca-XXXXXX", f1[600], f2[600];
		int fd;

		CHECK(mkdtemp(dir) != NULL, "temp dir");
		snprintf(f1, sizeof(f1), "%s/a.pem", dir);
		snprintf(f2, sizeof(f2), "%s/b.pem", dir);
		fd = open(f1, O_WRONLY | O_CREAT, 0644);
		CHECK(fd >= 0 && write(fd, UNIT_CERT, strlen(UNIT_CERT)) > 0, "ca file");
		close(fd);
		snprintf(text, sizeof(text), "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\n"
			 "psk = 12345678\nca = %s\n", dir);
		buf_reset(&e);
		CHECK(conf_parse("f.conf", text, strlen(text), &c, &e) == 0 &&
		      x509_certs_count(c.t[0].pki[PKI_CA - 1]->certs) == 1, "ca = a directory: %s",
		      buf_str(&e));
		conf_free(&c);
		fd = open(f2, O_WRONLY | O_CREAT, 0644);
		CHECK(fd >= 0 && write(fd, UNIT_CERT, strlen(UNIT_CERT)) > 0, "second ca file");
		close(fd);
		buf_reset(&e);
		CHECK(conf_parse("f.conf", text, strlen(text), &c, &e) == 0 &&
		      x509_certs_count(c.t[0].pki[PKI_CA - 1]->certs) == 2, "two files: %s",
		      buf_str(&e));
		conf_free(&c);
		unlink(f1);
		unlink(f2);
		rmdir(dir);
	}
	/* Two tunnels naming the same files share one object of each. */
	snprintf(text, sizeof(text), "[tunnel t0]\nlocal = 192.0.2.1\nremote = 192.0.2.2\n"
		 "local-cert = %s\nlocal-key = %s\nca = %s\n[tunnel t1]\nlocal = 192.0.2.1\n"
		 "remote = 192.0.2.3\nlocal-cert = %s\nlocal-key = %s\nca = %s\n", cert, key, cert,
		 cert, key, cert);
	buf_reset(&e);
	CHECK(conf_parse("f.conf", text, strlen(text), &c, &e) == 0, "%s", buf_str(&e));
	CHECK(c.n_pki == 3 && c.t[0].pki[PKI_CA - 1] == c.t[1].pki[PKI_CA - 1] &&
	      c.t[0].pki[PKI_CERT - 1] == c.t[1].pki[PKI_CERT - 1], "3 objects for 2 tunnels (%zu)",
	      c.n_pki);
	conf_free(&c);
	buf_free(&e);
	unlink(cert);
	unlink(key);
	unlink(other);
	unlink(open_key);
}

/* An interface has IPv6 when both selectors admit some, or it has an IPv6
 * address or pool (tunnel_conf_ipv6); whether it has is part of the
 * interface, so a change re-creates it (tunnel_same_interface). */
static void ipv6_or_not(void)
{
	static const struct {
		const char *keys;
		bool v6;
		bool same_as_before;	/* the row before it: the same interface */
	} rows[] = {
		{ "", true, false },	/* default selectors: 0.0.0.0/0, ::/0 */
		{ "local-ts = 0.0.0.0/0\nremote-ts = 0.0.0.0/0\n", false, false },
		{ "local-ts = 0.0.0.0/0, ::/0\nremote-ts = 10.0.0.0/8\n", false, true },
		{ "local-ts = ::/0\nremote-ts = fd00::/8\n", true, false },
		{ "local-ts = 0.0.0.0/0\nremote-ts = 0.0.0.0/0\naddress = fd00::1/64\n", true, false },
		{ "local-ts = 0.0.0.0/0\nremote-ts = 0.0.0.0/0\npool = fd00:1::/64\n", true, false },
	};
	char text[512];
	struct conf c[2];
	struct buf e;
	size_t i;

	buf_init(&e);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(text, sizeof(text), "[tunnel t]\nlocal = 192.0.2.1\nremote = 192.0.2.2\n"
			 "psk = longenough1\n%s", rows[i].keys);
		CHECK(conf_parse("mem", text, strlen(text), &c[0], &e) == 0, "row %zu: %s", i + 1,
		      buf_str(&e));
		CHECK(tunnel_conf_ipv6(&c[0].t[0]) == rows[i].v6, "row %zu: IPv6 %s", i + 1,
		      rows[i].v6 ? "on" : "off");
		if (i > 0) {
			snprintf(text, sizeof(text), "[tunnel t]\nlocal = 192.0.2.1\n"
				 "remote = 192.0.2.2\npsk = longenough1\n%s", rows[i - 1].keys);
			CHECK(conf_parse("mem", text, strlen(text), &c[1], &e) == 0, "row %zu", i);
			CHECK(tunnel_same_interface(&c[0].t[0], &c[1].t[0]) ==
			      rows[i].same_as_before, "rows %zu and %zu: %s interface", i, i + 1,
			      rows[i].same_as_before ? "the same" : "another");
			conf_free(&c[1]);
		}
		conf_free(&c[0]);
	}
	buf_free(&e);
}

int main(void)
{
	ipv6_or_not();
	pki_files();
	good_file();
	bad_files();
	file_modes();
	reload_equality();
	policy_fail_closed();
	config_payload_keys();
	template_sections();
	fragmentation_key();
	busy_poll_key();
	esp_path_key();
	ppk_conf();
	return test_done();
}
