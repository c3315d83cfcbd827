/* Unit tests of the daemon's pure parts: configuration parsing and the snmp file format. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "snmp_file.h"

static struct ustackd_config c;
static char why[600];

static void setup(void)
{
	config_defaults(&c);
	why[0] = '\0';
}

START_TEST(test_defaults)
{
	char a[INET_ADDRSTRLEN], rd[256];

	ck_assert_int_eq(c.backend, BACKEND_TAP);
	ck_assert_str_eq(c.ifname, "ustack0");
	ck_assert_uint_eq(c.mtu, 1500);
	inet_ntop(AF_INET, &c.stack.addr, a, sizeof(a));
	ck_assert_str_eq(a, "10.203.0.2");
	ck_assert_uint_eq(c.stack.prefix_len, 24);
	ck_assert_str_eq(c.control, "/run/ustackd/ctl.sock");
	ck_assert_str_eq(c.state_dir, "/var/lib/ustackd");
	ck_assert_uint_eq(c.keepalive_idle_s, 7200);
	ck_assert_uint_eq(c.keepalive_interval_s, 75);
	ck_assert_uint_eq(c.keepalive_count, 9);
	ck_assert_uint_eq(c.stack.reasm_max_bytes, 256 * 1024);
	ck_assert_uint_eq(c.stack.reasm_max_fragments, 16);
	ck_assert_uint_eq(c.stack.reasm_timeout_ms, 10000);
	ck_assert_uint_eq(c.kv_map_size_bytes, 1u << 30);
	ck_assert_uint_eq(c.kv_max_value_bytes, 16u << 20);
	ck_assert_int_eq(config_check(&c, why, sizeof(why)), 0);
	config_runtime_dir(&c, rd, sizeof(rd));
	ck_assert_str_eq(rd, "/run/ustackd");
}
END_TEST

START_TEST(test_set_valid)
{
	ck_assert_int_eq(config_set(&c, "backend", "af_xdp", why, sizeof(why)), 0);
	ck_assert_int_eq(c.backend, BACKEND_AF_XDP);
	ck_assert_int_eq(config_set(&c, "queue", "3", why, sizeof(why)), 0);
	ck_assert_uint_eq(c.queue, 3);
	ck_assert_int_eq(config_set(&c, "xdp-mode", "native", why, sizeof(why)), 0);
	ck_assert_int_eq(c.xdp_mode, CONFIG_XDP_NATIVE);
	ck_assert_int_eq(config_set(&c, "address", "192.0.2.10/28", why, sizeof(why)), 0);
	ck_assert_uint_eq(c.stack.prefix_len, 28);
	ck_assert_int_eq(config_set(&c, "gateway", "192.0.2.1", why, sizeof(why)), 0);
	ck_assert_int_eq(config_set(&c, "mac", "02:aa:bb:cc:dd:ee", why, sizeof(why)), 0);
	ck_assert(c.mac_set);
	ck_assert_uint_eq(c.mac.b[5], 0xee);
	ck_assert_int_eq(config_set(&c, "mtu", "3000", why, sizeof(why)), 0); /* af_xdp */
	ck_assert_int_eq(config_set(&c, "wait-interface", "30", why, sizeof(why)), 0);
	ck_assert_uint_eq(c.wait_interface_s, 30);
	ck_assert_int_eq(config_set(&c, "kv-memory", "yes", why, sizeof(why)), 0);
	ck_assert(c.kv_memory);
	ck_assert_int_eq(config_set(&c, "kv-map-size", "2097152", why, sizeof(why)), 0);
	ck_assert_uint_eq(c.kv_map_size_bytes, 2u << 20);
	ck_assert_int_eq(config_set(&c, "kv-max-value", "65536", why, sizeof(why)), 0);
	ck_assert_uint_eq(c.kv_max_value_bytes, 65536);
	ck_assert_int_eq(config_set(&c, "service", "echo:7,discard:9,chargen:19", why,
				    sizeof(why)), 0);
	ck_assert_uint_eq(c.nservices, 3);
	ck_assert_int_eq(c.services[2].kind, SERVICE_CHARGEN);
	ck_assert_uint_eq(c.services[2].port, 19);
	ck_assert_int_eq(config_set(&c, "tcp-keepalive", "60,10,5", why, sizeof(why)), 0);
	ck_assert_uint_eq(c.keepalive_interval_s, 10);
	ck_assert_int_eq(config_set(&c, "reasm-timeout", "30", why, sizeof(why)), 0);
	ck_assert_uint_eq(c.stack.reasm_timeout_ms, 30000);
	ck_assert_int_eq(config_set(&c, "reasm-max-datagrams", "64", why, sizeof(why)), 0);
	ck_assert_uint_eq(c.stack.reasm_max_datagrams, 64);
	ck_assert_int_eq(config_set(&c, "log-level", "warning", why, sizeof(why)), 0);
	ck_assert_int_eq(c.log_level, LOG_LEVEL_WARNING);
	ck_assert_int_eq(config_set(&c, "busy-poll", "50", why, sizeof(why)), 0);
	ck_assert(c.tap_offload); /* the default */
	ck_assert_int_eq(config_set(&c, "tap-offload", "off", why, sizeof(why)), 0);
	ck_assert(!c.tap_offload);
	ck_assert_int_eq(config_set(&c, "tap-offload", "on", why, sizeof(why)), 0);
	ck_assert(c.tap_offload);
	ck_assert_int_eq(config_check(&c, why, sizeof(why)), 0);
}
END_TEST

static const struct {
	const char *key, *value, *msg;
} bad[] = {
	{ "mtu", "67", "out of range" },
	{ "mtu", "", "not a number" },
	{ "mtu", "-1", "not a number" },
	{ "mtu", "1500 ", "not a number" },
	{ "queue", "99999999999999999999", "out of range" },
	{ "address", "10.0.0.1", "A.B.C.D/PREFIX" },
	{ "address", "10.0.0.255/24", "broadcast" },
	{ "address", "224.0.0.1/24", "not a unicast" },
	{ "address", "127.0.0.1/8", "not a unicast" },
	{ "address", "10.0.0.1/0", "prefix" },
	{ "gateway", "10.0.0", "not an IPv4" },
	{ "mac", "02:00:00:00:00", "XX:XX" },
	{ "mac", "00:00:00:00:00:00", "unicast" },
	{ "service", "echo", "NAME:PORT" },
	{ "service", "echo:0", "out of range" },
	{ "service", "time:37", "unknown service" },
	{ "tcp-keepalive", "1,2,3,4", "IDLE_S" },
	{ "tcp-keepalive", "1,2,200", "count" },
	{ "kv-memory", "maybe", "boolean" },
	{ "kv-map-size", "1048575", "out of range" },
	{ "kv-map-size", "1G", "not a number" },
	{ "kv-max-value", "0", "out of range" },
	{ "kv-max-value", "1073741825", "out of range" },
	{ "control", "relative.sock", "absolute" },
	{ "ifname", "a/b", "interface name" },
	{ "ifname", "averyveryverylongname", "longer than" },
	{ "busy-poll", "10001", "out of range" },
	{ "wait-interface", "81", "out of range" },
	{ "tap-offload", "yes", "not on or off" },
	{ "nosuchkey", "1", "unknown key" },
	/* Values are text: logged and shown as given. */
	{ "ifname", "\xff\xfe", "not valid UTF-8" },
	{ "ifname", "eth\xc0\xaf", "not valid UTF-8" },   /* overlong '/' */
	{ "pcap", "/tmp/\xed\xa0\x80", "not valid UTF-8" }, /* a surrogate */
	{ "state-dir", "/var/lib/\x1b[2Jx", "control character" },
	{ "ifname", "a:b", "interface name" }, /* the kernel's rule: no ':' */
};

START_TEST(test_set_invalid)
{
	ck_assert_int_lt(config_set(&c, bad[_i].key, bad[_i].value, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, bad[_i].msg) != NULL, "%s=%s: '%s' lacks '%s'", bad[_i].key,
		      bad[_i].value, why, bad[_i].msg);
	ck_assert_msg(strncmp(why, bad[_i].key, strlen(bad[_i].key)) == 0 ||
			      strcmp(bad[_i].key, "nosuchkey") == 0 ||
			      strcmp(bad[_i].key, "tcp-keepalive") == 0,
		      "message '%s' does not name the key", why);
}
END_TEST

START_TEST(test_check_cross_fields)
{
	ck_assert_int_eq(config_set(&c, "gateway", "10.9.0.1", why, sizeof(why)), 0);
	ck_assert_int_lt(config_check(&c, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "not on the link"));
	setup();
	ck_assert_int_eq(config_set(&c, "queue", "1", why, sizeof(why)), 0);
	ck_assert_int_lt(config_check(&c, why, sizeof(why)), 0);
	setup();
	ck_assert_int_eq(config_set(&c, "kv-map-size", "16777216", why, sizeof(why)), 0);
	ck_assert_int_lt(config_check(&c, why, sizeof(why)), 0); /* the 16 MiB value limit */
	ck_assert_ptr_nonnull(strstr(why, "kv-max-value"));
}
END_TEST

static char *write_tmp(const char *text)
{
	static char path[] = "/tmp/ustackd-test-XXXXXX";
	int fd;

	strcpy(path, "/tmp/ustackd-test-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(test_file)
{
	char *p = write_tmp("# a comment\n\n  mtu = 9000  \nifname=\"tap7\"\n; also a comment\n");

	ck_assert_int_eq(config_load_file(&c, p, why, sizeof(why)), 0);
	ck_assert_uint_eq(c.mtu, 9000);
	ck_assert_str_eq(c.ifname, "tap7");
	unlink(p);
	p = write_tmp("mtu = 1500\nmtu 1400\n");
	ck_assert_int_lt(config_load_file(&c, p, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, ":2: expected 'key = value'"));
	unlink(p);
	p = write_tmp("config = /etc/other\n");
	ck_assert_int_lt(config_load_file(&c, p, why, sizeof(why)), 0);
	unlink(p);
}
END_TEST

/* write_tmp() with a length: the content may hold NUL bytes. */
static char *write_tmp_n(const char *data, size_t len)
{
	static char path[] = "/tmp/ustackd-test-XXXXXX";
	int fd;

	strcpy(path, "/tmp/ustackd-test-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* A NUL byte hid the rest of its line from strlen(): "mtu = 1500\0...mtu = 99999" was
 * read as mtu = 1500, and past 1023 bytes the remainder as a line of its own. */
START_TEST(test_file_nul_byte)
{
	static const char text[] = "mtu = 1500\0garbage\nifname = tap1\n";
	char *p = write_tmp_n(text, sizeof(text) - 1);

	ck_assert_int_lt(config_load_file(&c, p, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, ":1: a NUL byte") != NULL, "%s", why);
	unlink(p);
}
END_TEST

/* An endless file (/dev/zero) ends in an error, not a hang nor an unbounded read. */
START_TEST(test_file_endless)
{
	ck_assert_int_lt(config_load_file(&c, "/dev/zero", why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "/dev/zero:1: a NUL byte") != NULL, "%s", why);
}
END_TEST

START_TEST(test_file_is_directory)
{
	ck_assert_int_eq(config_load_file(&c, "/tmp", why, sizeof(why)), -EISDIR);
	ck_assert_msg(strstr(why, "/tmp: Is a directory") != NULL, "%s", why);
}
END_TEST

START_TEST(test_file_lines)
{
	char big[1100];
	char *p;

	/* A last line without its newline counts; so does one of exactly 1023 bytes. */
	p = write_tmp("ifname = tap2\nmtu = 1400");
	ck_assert_int_eq(config_load_file(&c, p, why, sizeof(why)), 0);
	ck_assert_uint_eq(c.mtu, 1400);
	unlink(p);
	memset(big, ' ', sizeof(big));
	memcpy(big, "mtu = 1300", 10);
	big[1023] = '\0';
	p = write_tmp(big);
	ck_assert_int_eq(config_load_file(&c, p, why, sizeof(why)), 0);
	ck_assert_uint_eq(c.mtu, 1300);
	unlink(p);
	big[1023] = ' ';
	big[1024] = '\n';
	big[1025] = '\0';
	p = write_tmp(big);
	ck_assert_int_lt(config_load_file(&c, p, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, ":1: line too long") != NULL, "%s", why);
	unlink(p);
	/* CRLF line ends, a key given twice (the last wins), a missing '=' */
	p = write_tmp("mtu = 1280\r\nmtu = 1290\r\n");
	ck_assert_int_eq(config_load_file(&c, p, why, sizeof(why)), 0);
	ck_assert_uint_eq(c.mtu, 1290);
	unlink(p);
	p = write_tmp("= 5\n");
	ck_assert_int_lt(config_load_file(&c, p, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "unknown key ''") != NULL, "%s", why);
	unlink(p);
	p = write_tmp("ifname = \xff\n");
	ck_assert_int_lt(config_load_file(&c, p, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, ":1: ifname: the value is not valid UTF-8") != NULL, "%s",
		      why);
	unlink(p);
}
END_TEST

START_TEST(test_args_override_file)
{
	char *p = write_tmp("mtu = 9000\naddress = 10.1.0.5/16\n");
	char *argv[] = { "ustackd", "--config", p, "--mtu", "1280", "--kv-memory", NULL };

	ck_assert_int_eq(config_parse_args(&c, 6, argv), 0);
	ck_assert_uint_eq(c.mtu, 1280);
	ck_assert_uint_eq(c.stack.prefix_len, 16);
	ck_assert(c.kv_memory);
	unlink(p);
}
END_TEST

/* The parser's ranges are the stack's (issue 11 item 10): every value config_set() takes
 * passes the stack's check, and the first value beyond is refused with the key named. */
static const struct {
	const char *key, *last_ok, *first_bad;
} edges[] = {
	{ "reasm-max-bytes", "2048", "2047" },
	{ "reasm-max-bytes", "67108864", "67108865" },
	{ "reasm-max-fragments", "2", "1" },
	{ "reasm-max-fragments", "8192", "8193" },
	{ "reasm-max-datagrams", "1", "0" },
	{ "reasm-max-datagrams", "65536", "65537" },
	{ "reasm-timeout", "1", "0" },
	{ "reasm-timeout", "120", "121" },
};

START_TEST(test_ranges_agree_with_stack)
{
	ck_assert_int_eq(config_set(&c, edges[_i].key, edges[_i].last_ok, why, sizeof(why)), 0);
	ck_assert_msg(config_check(&c, why, sizeof(why)) == 0, "%s = %s: %s", edges[_i].key,
		      edges[_i].last_ok, why);
	ck_assert_msg(config_set(&c, edges[_i].key, edges[_i].first_bad, why, sizeof(why)) < 0,
		      "%s = %s accepted", edges[_i].key, edges[_i].first_bad);
	ck_assert_msg(strstr(why, "out of range") && strncmp(why, edges[_i].key,
							   strlen(edges[_i].key)) == 0,
		      "%s", why);
}
END_TEST

/* A UMEM frame carries 4096 - 256 bytes (XDP_PACKET_HEADROOM): a frame of 3840, MTU 3826. */
START_TEST(test_afxdp_mtu)
{
	ck_assert_int_eq(config_set(&c, "backend", "af_xdp", why, sizeof(why)), 0);
	ck_assert_int_eq(config_set(&c, "mtu", "3826", why, sizeof(why)), 0);
	ck_assert_msg(config_check(&c, why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(config_set(&c, "mtu", "3827", why, sizeof(why)), 0);
	ck_assert_int_lt(config_check(&c, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "mtu: 3827 is too large for af_xdp") != NULL, "%s", why);
	ck_assert_msg(strstr(why, "an MTU of 3826") != NULL, "%s", why);
	/* TAP takes it */
	ck_assert_int_eq(config_set(&c, "backend", "tap", why, sizeof(why)), 0);
	ck_assert_int_eq(config_check(&c, why, sizeof(why)), 0);
}
END_TEST

/* The snmp file is 0644 under any umask (the unit's is 0077), so nstat works as a user. */
START_TEST(test_snmp_file_mode)
{
	char dir[] = "/tmp/ustack-snmp-XXXXXX";
	struct snmp_file sf;
	struct stats s;
	struct stat st;
	mode_t old;

	memset(&s, 0, sizeof(s));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(snmp_file_init(&sf, dir, 64), 0);
	old = umask(077);
	ck_assert_int_eq(snmp_file_update(&sf, &s, true), 0);
	umask(old);
	ck_assert_int_eq(stat(sf.path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	snmp_file_remove(&sf);
	rmdir(dir);
}
END_TEST

START_TEST(test_snmp_format)
{
	struct stats s;
	char buf[16384], *line, *save = NULL, *names = NULL;
	size_t n;
	int pairs = 0;

	memset(&s, 0, sizeof(s));
	s.v[STAT_IpReasmFails] = 42;
	n = snmp_format(buf, sizeof(buf), &s, 64);
	ck_assert_uint_lt(n, sizeof(buf));
	/* Lines come in pairs with the same "Group:" prefix and as many fields. */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!names) {
			names = line;
			continue;
		}
		ck_assert_int_eq(strcspn(names, ":"), strcspn(line, ":"));
		ck_assert_int_eq(strncmp(names, line, strcspn(line, ":")), 0);
		if (strncmp(line, "Ip:", 3) == 0) {
			ck_assert_ptr_nonnull(strstr(names, "Ip: Forwarding DefaultTTL InReceives"));
			ck_assert_ptr_nonnull(strstr(line, "Ip: 2 64 0"));
		}
		names = NULL;
		pairs++;
	}
	ck_assert_int_ge(pairs, 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon_config");
	TCase *tc = tcase_create("config");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_set_valid);
	tcase_add_loop_test(tc, test_set_invalid, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_check_cross_fields);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_file_nul_byte);
	tcase_add_test(tc, test_file_endless);
	tcase_add_test(tc, test_file_is_directory);
	tcase_add_test(tc, test_file_lines);
	tcase_add_test(tc, test_args_override_file);
	tcase_add_test(tc, test_snmp_format);
	tcase_add_loop_test(tc, test_ranges_agree_with_stack, 0,
			    (int)(sizeof(edges) / sizeof(edges[0])));
	tcase_add_test(tc, test_afxdp_mtu);
	tcase_add_test(tc, test_snmp_file_mode);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
