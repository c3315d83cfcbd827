/* Out-of-order range tracking; see assembler.h. At most ASM_MAX_RANGES ranges, so the
 * linear scans and moves below are bounded by a small constant. */
#include "assembler.h"

#include <errno.h>
#include <string.h>

void asm_init(struct assembler *a)
{
	memset(a, 0, sizeof(*a));
}

int asm_add(struct assembler *a, uint32_t off, uint32_t len)
{
	if (len == 0)
		return 0;
	uint32_t end = off + len;
	if (end < off)
		return -EOVERFLOW;

	/* i: the first range that ends at or after off (overlaps or touches on the left);
	 * j: the last range that starts at or before end. Ranges i..j merge with the new one;
	 * i > j means none does and the new range goes in at i. */
	unsigned i = 0;
	while (i < a->n && a->r[i].end < off)
		i++;
	unsigned j = i;
	while (j < a->n && a->r[j].start <= end)
		j++;
	/* now ranges i..j-1 merge */

	if (j == i) {
		if (a->n == ASM_MAX_RANGES)
			return -ENOSPC; /* checked before any change: the assembler is intact */
		memmove(&a->r[i + 1], &a->r[i], (a->n - i) * sizeof(a->r[0]));
		a->r[i] = (struct asm_range){ off, end, ++a->clock };
		a->n++;
		return 0;
	}

	struct asm_range m = a->r[i];
	if (off < m.start)
		m.start = off;
	if (a->r[j - 1].end > end)
		end = a->r[j - 1].end;
	m.end = end;
	m.stamp = ++a->clock; /* this range holds the most recent segment (RFC 2018 §4) */
	a->r[i] = m;
	unsigned gone = j - i - 1;
	if (gone) {
		memmove(&a->r[i + 1], &a->r[j], (a->n - j) * sizeof(a->r[0]));
		a->n -= gone;
	}
	return 0;
}

uint32_t asm_take_front(struct assembler *a)
{
	if (a->n == 0 || a->r[0].start != 0)
		return 0;
	uint32_t n = a->r[0].end;
	memmove(&a->r[0], &a->r[1], (a->n - 1) * sizeof(a->r[0]));
	a->n--;
	asm_advance(a, n);
	return n;
}

void asm_advance(struct assembler *a, uint32_t n)
{
	for (unsigned k = 0; k < a->n; k++) {
		a->r[k].start -= n;
		a->r[k].end -= n;
	}
}

int asm_sack_blocks(const struct assembler *a, uint32_t base_seq, struct tcp_sack_block *out,
		    int max, bool most_recent_first)
{
	if (max <= 0)
		return 0;
	unsigned idx[ASM_MAX_RANGES];
	for (unsigned k = 0; k < a->n; k++)
		idx[k] = k;
	if (most_recent_first) {
		/* Insertion sort by stamp, newest first; stamps compared in serial number
		 * arithmetic so that the counter may wrap. */
		for (unsigned k = 1; k < a->n; k++) {
			unsigned v = idx[k], m = k;
			while (m > 0 && (int32_t)(a->r[v].stamp - a->r[idx[m - 1]].stamp) > 0) {
				idx[m] = idx[m - 1];
				m--;
			}
			idx[m] = v;
		}
	}
	int cnt = 0;
	for (unsigned k = 0; k < a->n && cnt < max; k++) {
		const struct asm_range *rg = &a->r[idx[k]];
		out[cnt].left = base_seq + rg->start;
		out[cnt].right = base_seq + rg->end;
		cnt++;
	}
	return cnt;
}
