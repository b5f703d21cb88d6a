/* relutil.h — what the reliability programs share: host copies of the tokens a
 * cached sequence holds, and the output the reference says its next query gets. */
#ifndef SWACL_RELUTIL_H
#define SWACL_RELUTIL_H

#include "swacl.h"

#include <stddef.h>

/* The K and V rows of one sequence at one layer, position by position, in the
 * layer's io dtype (exactly the bytes handed to the library). */
typedef struct rel_history {
    size_t row_bytes; /* one token's K (or V) row: n_kv_heads * head_dim elements */
    int len, cap;
    unsigned char *k, *v;
} rel_history;

void rel_history_init(rel_history *h, const swacl_attn_config *cfg);
void rel_history_free(rel_history *h);
/* sets token `pos` (growing the history; earlier tokens must exist) and
 * forgets any tokens after it */
void rel_history_set(rel_history *h, int pos, const void *k_row, const void *v_row);
void rel_history_truncate(rel_history *h, int len);
void rel_history_copy(rel_history *dst, const rel_history *src);

/* Output row ([n_heads][head_dim] of cfg->dtype) of the query q_row at position
 * h->len - 1 of a cached sequence: tu_cached_expected (testutil.h) over the
 * whole history, RoPE in cache included. */
swacl_status rel_expected_row(const swacl_attn_config *cfg, const rel_history *h,
                              const void *q_row, void *out_row);

/* seconds on a monotonic clock */
double rel_now(void);
void rel_sleep_ms(int ms);

#endif /* SWACL_RELUTIL_H */
