/* org.varlink.service (varlink.org, "Service"): GetInfo and GetInterfaceDescription, the
 * descriptions embedded from ipc/\*.varlink at build time. */
#include <errno.h>
#include <string.h>

#include "rpc.h"
#include "rpc_embed.h"

#ifndef USTACK_VERSION
#define USTACK_VERSION "unknown"
#endif

/* The service interface itself, as varlink.org defines it. */
static const char service_description[] =
	"# The Varlink Service Interface is provided by every varlink service. It\n"
	"# describes the service and the interfaces it implements.\n"
	"interface org.varlink.service\n"
	"\n"
	"# Get a list of all the interfaces a service provides and information\n"
	"# about the implementation.\n"
	"method GetInfo() -> (\n"
	"  vendor: string,\n"
	"  product: string,\n"
	"  version: string,\n"
	"  url: string,\n"
	"  interfaces: []string\n"
	")\n"
	"\n"
	"# Get the description of an interface that is implemented by this service.\n"
	"method GetInterfaceDescription(interface: string) -> (description: string)\n"
	"\n"
	"# The requested interface was not found.\n"
	"error InterfaceNotFound (interface: string)\n"
	"\n"
	"# The requested method was not found\n"
	"error MethodNotFound (method: string)\n"
	"\n"
	"# The interface defines the requested method, but the supplied parameters\n"
	"# are not accepted.\n"
	"error InvalidParameter (parameter: string)\n"
	"\n"
	"# The client is denied access\n"
	"error PermissionDenied ()\n"
	"\n"
	"# Method is expected to be called with 'more' set to true, but wasn't\n"
	"error ExpectedMore ()\n";

const char *rpc_interface_description(const char *name)
{
	if (strcmp(name, "org.varlink.service") == 0)
		return service_description;
	for (const struct rpc_embedded_iface *i = rpc_embedded_ifaces; i->name; i++)
		if (strcmp(i->name, name) == 0)
			return i->text;
	return NULL;
}

static int service_get_info(struct rpc_req *req)
{
	struct json_object *p = json_object_new_object(), *ifaces = json_object_new_array();

	if (!p || !ifaces) {
		json_object_put(p);
		json_object_put(ifaces);
		return -ENOMEM;
	}
	json_object_array_add(ifaces, json_object_new_string("org.varlink.service"));
	for (const struct rpc_embedded_iface *i = rpc_embedded_ifaces; i->name; i++)
		json_object_array_add(ifaces, json_object_new_string(i->name));
	json_object_object_add(p, "vendor", json_object_new_string("ustack"));
	json_object_object_add(p, "product", json_object_new_string("ustackd"));
	json_object_object_add(p, "version", json_object_new_string(USTACK_VERSION));
	json_object_object_add(p, "url", json_object_new_string("https://varlink.org"));
	json_object_object_add(p, "interfaces", ifaces);
	rpc_reply(req->client, p, false, NULL, 0);
	return 0;
}

static int service_get_description(struct rpc_req *req)
{
	const char *name, *text;
	struct json_object *p;

	if (varlink_get_string(req->call->params, "interface", &name) < 0)
		return rpc_invalid_param(req, "interface");
	text = rpc_interface_description(name);
	if (!text) {
		p = json_object_new_object();
		if (p)
			json_object_object_add(p, "interface", json_object_new_string(name));
		rpc_error(req->client, "org.varlink.service.InterfaceNotFound", p);
		return 0;
	}
	p = json_object_new_object();
	if (!p)
		return -ENOMEM;
	json_object_object_add(p, "description", json_object_new_string(text));
	rpc_reply(req->client, p, false, NULL, 0);
	return 0;
}

const struct rpc_method rpc_service_methods[] = {
	{ "org.varlink.service.GetInfo", service_get_info, false, false },
	{ "org.varlink.service.GetInterfaceDescription", service_get_description, false, false },
	{ NULL, NULL, false, false },
};
