/* append.cl — writes a chunk's K/V rows into the ring slots of their positions
 * (converting to the cache's element type). Only rows that survive the chunk
 * are written: sinks, and the last `span` positions.
 * Global (N_VEC, n_kv_heads, n_rows * n_batch); batch_info, info0 and the k/v views
 * as in attend.cl. */

__kernel void append(__global const io_t *k, __global const io_t *v, __global kv_t *ring_k,
                     __global kv_t *ring_v, __global const int *batch_info, int info0,
                     int n_rows, int n_kv_heads, int n_sink, int span, long k_off, long v_off,
                     int kv_stride)
{
    batch_info += INFO_INTS * info0;
    k += k_off;
    v += v_off;
    const int c = get_global_id(0);
    const int kvh = get_global_id(1);
    const int r = get_global_id(2);
    const int b = r / n_rows, t = r % n_rows; /* n_rows: the launch's largest entry */
    if (t >= INFO_ROWS(b))
        return;
    const int ring_seq = INFO_RING_SEQ(b);
    const int p = INFO_POS0(b) + t;
    const int chunk_end = INFO_POS0(b) + INFO_ROWS(b);
    if (p >= n_sink && p < chunk_end - span)
        return; /* overwritten later in this same chunk */
    const int slot = ring_slot(p, n_sink, span);
    const long src = (long)(INFO_ROW0(b) + t) * kv_stride + (long)kvh * HEAD_DIM;
    const long dst = ring_row(ring_seq, kvh, slot, n_kv_heads, n_sink + span) * HEAD_DIM;
    STORE_KV(LOAD_IO(c, k + src), c, ring_k + dst);
    STORE_KV(LOAD_IO(c, v + src), c, ring_v + dst);
}
