/* The classic pcap savefile format (pcap-savefile(5)): the file header and the record
 * header, in one place for the two writers (backends/pcap.c, --pcap; daemon/rpc_capture.c,
 * io.ustack.Stack.Capture). Fields are written in host byte order: readers recognise the
 * order by the magic number. */
#ifndef USTACK_BACKENDS_PCAP_FORMAT_H
#define USTACK_BACKENDS_PCAP_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PCAP_MAGIC_USEC 0xa1b2c3d4u /* microsecond timestamps */
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_LINKTYPE_ETHERNET 1

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec, ts_usec, incl_len, orig_len;
};

static inline struct pcap_file_hdr pcap_file_hdr_of(uint32_t snaplen)
{
	return (struct pcap_file_hdr){
		.magic = PCAP_MAGIC_USEC,
		.version_major = PCAP_VERSION_MAJOR,
		.version_minor = PCAP_VERSION_MINOR,
		.snaplen = snaplen,
		.linktype = PCAP_LINKTYPE_ETHERNET,
	};
}

/* The header of a record of a len-byte frame, cut at snaplen, seen now (CLOCK_REALTIME:
 * pcap timestamps are wall-clock time). */
static inline struct pcap_rec_hdr pcap_rec_hdr_now(size_t len, uint32_t snaplen)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (struct pcap_rec_hdr){
		.ts_sec = (uint32_t)ts.tv_sec,
		.ts_usec = (uint32_t)(ts.tv_nsec / 1000),
		.incl_len = (uint32_t)(len < snaplen ? len : snaplen),
		.orig_len = (uint32_t)len,
	};
}

#endif
