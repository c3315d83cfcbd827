#include "stats.h"

#include <string.h>

const struct stat_info stat_info[STAT__COUNT] = {
#define STAT_INFO(group, field, desc) { #group, #field, #group #field, desc },
	STATS_LIST(STAT_INFO)
#undef STAT_INFO
};

int stat_lookup(const char *name)
{
	for (int i = 0; i < STAT__COUNT; i++)
		if (strcmp(stat_info[i].name, name) == 0)
			return i;
	return -1;
}
