/* The ranges the stack accepts for its settings: one source of truth, checked by
 * stack_config_check() and used by the daemon's configuration parser, so that a value the
 * parser takes is one the stack takes, and the error names the setting. */
#ifndef USTACK_STACK_LIMITS_H
#define USTACK_STACK_LIMITS_H

/* RFC 791: every IPv4 module handles 68-byte datagrams; 576 must be reassembled. */
#define STACK_MTU_MIN 68
#define STACK_MTU_MAX 65535 /* the IPv4 total length is 16 bits */

/* IPv4 reassembly (design.md §2: defaults 256 KiB, 16, 10 s) */
/* RFC 791: a 576-byte datagram must fit, in 16 fragments with all its bookkeeping charged
 * (ipv4_reass.h charges real memory, not only payload). */
#define STACK_REASM_BYTES_MIN 2048
#define STACK_REASM_BYTES_MAX (64u * 1024 * 1024)
#define STACK_REASM_FRAGMENTS_MIN 2 /* fewer is no fragmentation at all */
#define STACK_REASM_FRAGMENTS_MAX 8192 /* 64 KiB in 8-byte fragments */
#define STACK_REASM_DATAGRAMS_MAX 65536 /* datagrams held at once; 0 in the config: derived */
#define STACK_REASM_TIMEOUT_S_MIN 1
#define STACK_REASM_TIMEOUT_S_MAX 120 /* RFC 791 suggests 15 s; Linux allows any */

/* The loopback queue (stack/ipv4_loopback.h): datagrams to our own address waiting for
 * the next stack_poll(). Linux queues at most netdev_max_backlog (1000) packets per CPU
 * for lo; the byte bound, bookkeeping included, holds a 256 KiB TCP window (the default
 * buffers, tcp_sndbuf) in 1460-byte segments with their ACKs several times over. */
#define STACK_LOOPBACK_MAX_PKTS 1000
#define STACK_LOOPBACK_MAX_BYTES (2u * 1024 * 1024)

#endif
