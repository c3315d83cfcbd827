/* The interface descriptions embedded at build time (daemon/embed_varlink.py). */
#ifndef USTACKD_RPC_EMBED_H
#define USTACKD_RPC_EMBED_H

struct rpc_embedded_iface {
	const char *name; /* "io.ustack.Stack" */
	const char *text; /* the .varlink file */
};

/* Ended by { NULL, NULL }. */
extern const struct rpc_embedded_iface rpc_embedded_ifaces[];

#endif
