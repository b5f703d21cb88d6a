/* fault_sweep.c — fails each OpenCL allocation, enqueue, program build and host
 * allocation of a whole cache run in turn and checks every failure is clean.
 *
 * The run: context → cache → chunked prefills → batched decodes → copy →
 * save/restore → destroy. Each failure must give the right status and a message,
 * leave no OpenCL object behind (host leaks are ASan's and valgrind's), and leave
 * every sequence decoding exactly as the reference says. */
#include "internal.h" /* swacl_fault_arm, swacl_fault_count */
#include "relutil.h"
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 2
#define N_SEQS 3
#define MAX_CHUNK 3
#define MAX_TOKENS 8 /* per step: prefill length or decode batch */

static const char *const kind_names[SWACL_FAULT_KINDS_] = {"cl_alloc", "enqueue", "build",
                                                            "host_alloc"};
/* what a failure of each kind must be reported as */
static const swacl_status kind_status[SWACL_FAULT_KINDS_] = {
    SWACL_ERR_OUT_OF_MEMORY, SWACL_ERR_OPENCL, SWACL_ERR_BUILD, SWACL_ERR_OUT_OF_MEMORY};

typedef enum step_kind { ST_CONTEXT, ST_CACHE, ST_PREFILL, ST_DECODE, ST_COPY, ST_SAVE,
                         ST_RESTORE } step_kind;

typedef struct step {
    step_kind kind;
    int layer;
    int seq; /* PREFILL, SAVE: the sequence; COPY: source; RESTORE: destination */
    int n;   /* PREFILL: tokens; DECODE: batch of sequences n-1 .. 0; COPY: destination */
} step;

/* Sequence 0 is prefilled first and every later fault must leave it intact;
 * prefills run in chunks of MAX_CHUNK, decodes batch sequences in reverse. */
static const step full_steps[] = {
    {ST_CONTEXT, 0, 0, 0},  {ST_CACHE, 0, 0, 0},   {ST_PREFILL, 0, 0, 7},
    {ST_PREFILL, 1, 0, 7},  {ST_PREFILL, 0, 1, 5}, {ST_PREFILL, 1, 1, 5},
    {ST_DECODE, 0, 0, 2},   {ST_DECODE, 1, 0, 2},  {ST_COPY, 0, 0, 2},
    {ST_DECODE, 0, 0, 3},   {ST_DECODE, 1, 0, 3},  {ST_SAVE, 0, 1, 0},
    {ST_RESTORE, 0, 2, 0},  {ST_DECODE, 0, 0, 3},  {ST_DECODE, 1, 0, 3},
};
/* Every call once with one token at a time on the window layer alone: the
 * fewest kernel builds (one attend, one append), for runs under valgrind. */
static const step small_steps[] = {
    {ST_CONTEXT, 0, 0, 0}, {ST_CACHE, 0, 0, 0},  {ST_PREFILL, 0, 0, 1}, {ST_PREFILL, 0, 1, 1},
    {ST_DECODE, 0, 0, 2},  {ST_COPY, 0, 0, 2},   {ST_DECODE, 0, 0, 3},  {ST_SAVE, 0, 1, 0},
    {ST_RESTORE, 0, 2, 0}, {ST_DECODE, 0, 0, 3},
};

typedef struct script {
    const step *steps;
    int n_steps;
    int n_layers; /* the cache's first n_layers layers of layer_configs() */
} script;
static const script full_script = {full_steps, sizeof full_steps / sizeof full_steps[0], 2};
static const script small_script = {small_steps, sizeof small_steps / sizeof small_steps[0], 1};

static const char *const step_names[] = {"context create", "cache create", "prefill", "decode",
                                         "sequence copy", "sequence save", "sequence restore"};

/* How the tokens a failed step may have left behind are judged. */
typedef enum pending_rule {
    PENDING_NONE,
    PENDING_PREFIX,  /* any prefix of `next` from the old length on, in whole chunks */
    PENDING_WHOLE    /* the old history, all of `next`, or forgotten (0 tokens) */
} pending_rule;

typedef struct world {
    swacl_context *ctx;
    cl_context cl; /* retained: its reference count after teardown reveals leaks */
    swacl_cache *cache;
    int n_layers;
    swacl_attn_config layers[MAX_LAYERS];
    float sink_logits[2];
    rel_history hist[MAX_LAYERS][N_SEQS]; /* what each sequence holds */
    rel_history next[MAX_LAYERS][N_SEQS]; /* what it holds if the current step succeeds */
    pending_rule rule[MAX_LAYERS][N_SEQS];
    int chunk_base[MAX_LAYERS][N_SEQS];
    rel_history saved[MAX_LAYERS]; /* the blob's sequence */
    unsigned char *blob;
    size_t blob_size;
    tu_rng rng;
    int verify;   /* compare outputs with the reference as they come */
    int problems; /* anything wrong, printed as found */
} world;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void problem(world *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  problem: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    w->problems++;
}

static void layer_configs(world *w)
{
    w->sink_logits[0] = 0.25f;
    w->sink_logits[1] = -0.5f;
    swacl_attn_config *swa = &w->layers[0], *full = &w->layers[1];
    memset(w->layers, 0, sizeof w->layers);
    /* a sliding-window layer with a sink, learned sink logits and an fp16 cache */
    swa->n_heads = 2;
    swa->n_kv_heads = 1;
    swa->head_dim = 32;
    swa->window = 4;
    swa->n_sink = 1;
    swa->sink_logits = w->sink_logits;
    swa->kv_dtype = SWACL_F16;
    /* a full-attention layer whose keys are turned inside the cache */
    full->n_heads = 2;
    full->n_kv_heads = 1;
    full->head_dim = 32;
    full->rope = SWACL_ROPE_IN_CACHE;
}

/* checks one output row against the reference for the sequence's newest token */
static void check_row(world *w, int layer, int seq, const void *q_row, const void *got)
{
    const swacl_attn_config *cfg = &w->layers[layer];
    const size_t n = (size_t)cfg->n_heads * cfg->head_dim;
    float want[2 * 32];
    char what[96];
    snprintf(what, sizeof what, "layer %d sequence %d position %d", layer, seq,
             w->hist[layer][seq].len - 1);
    if (rel_expected_row(cfg, &w->hist[layer][seq], q_row, want) != SWACL_OK) {
        problem(w, "reference failed for %s", what);
        return;
    }
    if (tu_compare(got, want, n, cfg->dtype, tu_tolerance(cfg->dtype, cfg->kv_dtype), what).n_bad)
        problem(w, "%s: output differs from the reference", what);
}

static void set_pending(world *w, int layer, int seq, pending_rule rule, const rel_history *next)
{
    w->rule[layer][seq] = rule;
    w->chunk_base[layer][seq] = w->hist[layer][seq].len;
    rel_history_copy(&w->next[layer][seq], next);
}

static swacl_status do_prefill(world *w, const step *s)
{
    const swacl_attn_config *cfg = &w->layers[s->layer];
    const size_t q_row = (size_t)cfg->n_heads * cfg->head_dim;
    const size_t kv_row = (size_t)cfg->n_kv_heads * cfg->head_dim;
    float q[MAX_TOKENS * 64], k[MAX_TOKENS * 32], v[MAX_TOKENS * 32], out[MAX_TOKENS * 64];
    tu_fill_f32(&w->rng, q, (size_t)s->n * q_row);
    tu_fill_f32(&w->rng, k, (size_t)s->n * kv_row);
    tu_fill_f32(&w->rng, v, (size_t)s->n * kv_row);
    rel_history *h = &w->hist[s->layer][s->seq];
    rel_history next = {0};
    rel_history_copy(&next, h);
    for (int t = 0; t < s->n; t++)
        rel_history_set(&next, next.len, k + t * kv_row, v + t * kv_row);
    set_pending(w, s->layer, s->seq, PENDING_PREFIX, &next);
    rel_history_free(&next);

    const swacl_status st = swacl_prefill_host(w->cache, s->layer, s->seq, s->n, q, k, v, out);
    if (st != SWACL_OK)
        return st;
    for (int t = 0; t < s->n; t++) {
        rel_history_set(h, h->len, k + t * kv_row, v + t * kv_row);
        if (w->verify)
            check_row(w, s->layer, s->seq, q + t * q_row, out + t * q_row);
    }
    return st;
}

static swacl_status do_decode(world *w, int layer, int n_seqs)
{
    const swacl_attn_config *cfg = &w->layers[layer];
    const size_t q_row = (size_t)cfg->n_heads * cfg->head_dim;
    const size_t kv_row = (size_t)cfg->n_kv_heads * cfg->head_dim;
    float q[N_SEQS * 64], k[N_SEQS * 32], v[N_SEQS * 32], out[N_SEQS * 64];
    int seqs[N_SEQS];
    tu_fill_f32(&w->rng, q, (size_t)n_seqs * q_row);
    tu_fill_f32(&w->rng, k, (size_t)n_seqs * kv_row);
    tu_fill_f32(&w->rng, v, (size_t)n_seqs * kv_row);
    for (int r = 0; r < n_seqs; r++) {
        seqs[r] = n_seqs - 1 - r;
        rel_history next = {0};
        rel_history_copy(&next, &w->hist[layer][seqs[r]]);
        rel_history_set(&next, next.len, k + r * kv_row, v + r * kv_row);
        set_pending(w, layer, seqs[r], PENDING_PREFIX, &next);
        rel_history_free(&next);
    }
    const swacl_status st = swacl_decode_host(w->cache, layer, n_seqs, seqs, q, k, v, out);
    if (st != SWACL_OK)
        return st;
    for (int r = 0; r < n_seqs; r++) {
        rel_history *h = &w->hist[layer][seqs[r]];
        rel_history_set(h, h->len, k + r * kv_row, v + r * kv_row);
        if (w->verify)
            check_row(w, layer, seqs[r], q + r * q_row, out + r * q_row);
    }
    return st;
}

static swacl_status do_step(world *w, const step *s)
{
    swacl_status st;
    switch (s->kind) {
    case ST_CONTEXT:
        w->ctx = (swacl_context *)w; /* must come back NULL on failure */
        st = swacl_context_create(NULL, &w->ctx);
        if (st == SWACL_OK) {
            w->cl = swacl_context_cl_context(w->ctx);
            clRetainContext(w->cl);
        } else if (w->ctx) {
            problem(w, "failed swacl_context_create left *out set");
            w->ctx = NULL;
        }
        return st;
    case ST_CACHE: {
        swacl_cache_options opt;
        memset(&opt, 0, sizeof opt);
        opt.n_layers = w->n_layers;
        opt.layers = w->layers;
        opt.max_seqs = N_SEQS;
        opt.max_context = 32;
        opt.max_chunk = MAX_CHUNK;
        w->cache = (swacl_cache *)w; /* must come back NULL on failure */
        st = swacl_cache_create(w->ctx, &opt, &w->cache);
        if (st != SWACL_OK && w->cache) {
            problem(w, "failed swacl_cache_create left *out set");
            w->cache = NULL;
        }
        return st;
    }
    case ST_PREFILL:
        return do_prefill(w, s);
    case ST_DECODE:
        return do_decode(w, s->layer, s->n);
    case ST_COPY:
        for (int l = 0; l < w->n_layers; l++)
            set_pending(w, l, s->n, PENDING_WHOLE, &w->hist[l][s->seq]);
        st = swacl_cache_seq_copy(w->cache, s->seq, s->n);
        if (st == SWACL_OK)
            for (int l = 0; l < w->n_layers; l++)
                rel_history_copy(&w->hist[l][s->n], &w->hist[l][s->seq]);
        return st;
    case ST_SAVE: {
        size_t need = 0;
        if ((st = swacl_cache_seq_save(w->cache, s->seq, NULL, 0, &need)) != SWACL_OK)
            return st;
        free(w->blob);
        w->blob = malloc(need);
        w->blob_size = need;
        if ((st = swacl_cache_seq_save(w->cache, s->seq, w->blob, need, &need)) != SWACL_OK)
            return st;
        for (int l = 0; l < w->n_layers; l++)
            rel_history_copy(&w->saved[l], &w->hist[l][s->seq]);
        return st;
    }
    case ST_RESTORE:
        for (int l = 0; l < w->n_layers; l++)
            set_pending(w, l, s->seq, PENDING_WHOLE, &w->saved[l]);
        st = swacl_cache_seq_restore(w->cache, s->seq, w->blob, w->blob_size);
        if (st == SWACL_OK)
            for (int l = 0; l < w->n_layers; l++)
                rel_history_copy(&w->hist[l][s->seq], &w->saved[l]);
        return st;
    }
    return SWACL_ERR_INVALID_ARGUMENT;
}

/* After a failed step: every sequence's position must be one the failed step
 * could have left (unchanged for the sequences it did not touch); the host
 * model takes it over, and one decode of every sequence at every layer must
 * then match the reference. */
static void check_cache_after_failure(world *w)
{
    for (int l = 0; l < w->n_layers; l++)
        for (int s = 0; s < N_SEQS; s++) {
            int64_t pos = -1;
            if (swacl_cache_seq_pos(w->cache, l, s, &pos) != SWACL_OK) {
                problem(w, "swacl_cache_seq_pos: no position for layer %d sequence %d", l, s);
                continue;
            }
            rel_history *h = &w->hist[l][s], *next = &w->next[l][s];
            const int old = h->len;
            int ok = pos == old;
            if (!ok && w->rule[l][s] == PENDING_PREFIX)
                ok = pos > old && pos <= next->len &&
                     ((pos - w->chunk_base[l][s]) % MAX_CHUNK == 0 || pos == next->len);
            if (!ok && w->rule[l][s] == PENDING_WHOLE)
                ok = pos == 0 || pos == next->len;
            if (!ok) {
                problem(w, "layer %d sequence %d at position %lld after the failure (held %d "
                           "before, the step would have made %d)", l, s, (long long)pos, old,
                        next->len);
                return;
            }
            if (pos == 0) {
                rel_history_truncate(h, 0);
            } else if (pos != old) {
                rel_history_copy(h, next);
                rel_history_truncate(h, (int)pos);
            }
        }
    for (int l = 0; l < w->n_layers; l++) {
        const int verify = w->verify;
        w->verify = 1;
        const swacl_status st = do_decode(w, l, N_SEQS);
        w->verify = verify;
        if (st != SWACL_OK) {
            problem(w, "decode after the failure: %s: %s", swacl_status_string(st),
                    swacl_last_error(w->ctx));
        }
    }
}

static void teardown(world *w)
{
    swacl_cache_destroy(w->cache);
    swacl_context_destroy(w->ctx);
    if (w->cl) {
        /* every buffer, program and queue holds its context (kernels hold their
           program, events their queue): only our own reference may be left */
        cl_uint refs = 0;
        const double give_up = rel_now() + 2.0;
        for (;;) {
            clGetContextInfo(w->cl, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, NULL);
            /* a driver thread may still be dropping what finished commands held */
            if (refs == 1 || rel_now() > give_up)
                break;
            rel_sleep_ms(1);
        }
        if (refs != 1) {
            problem(w, "%u OpenCL objects still hold the context after destroy", refs - 1);
        }
        clReleaseContext(w->cl);
    }
    for (int l = 0; l < w->n_layers; l++) {
        for (int s = 0; s < N_SEQS; s++) {
            rel_history_free(&w->hist[l][s]);
            rel_history_free(&w->next[l][s]);
        }
        rel_history_free(&w->saved[l]);
    }
    free(w->blob);
}

typedef struct outcome {
    int failed_step;      /* index into script, or -1 when every step succeeded */
    swacl_status status;  /* of the failed step */
    long hits_before, hits_after; /* the armed kind's count around the failed step */
    long calls[SWACL_FAULT_KINDS_]; /* of every kind, over the whole script */
    int problems;
} outcome;

/* One run of a script with fault `kind` armed at call n (n = 0: none). */
static outcome run_script(const script *sc, int kind, long n, int verify)
{
    world w;
    memset(&w, 0, sizeof w);
    w.rng = tu_rng_seed(0xfa17u + (uint64_t)n);
    w.verify = verify;
    layer_configs(&w);
    w.n_layers = sc->n_layers;
    for (int l = 0; l < w.n_layers; l++) {
        rel_history_init(&w.saved[l], &w.layers[l]);
        for (int s = 0; s < N_SEQS; s++) {
            rel_history_init(&w.hist[l][s], &w.layers[l]);
            rel_history_init(&w.next[l][s], &w.layers[l]);
        }
    }
    outcome o;
    memset(&o, 0, sizeof o);
    o.failed_step = -1;
    swacl_fault_arm(kind, n);
    for (int i = 0; i < sc->n_steps; i++) {
        for (int l = 0; l < w.n_layers; l++)
            for (int s = 0; s < N_SEQS; s++)
                w.rule[l][s] = PENDING_NONE; /* only this step may change anything */
        const long before = swacl_fault_count(kind);
        const swacl_status st = do_step(&w, &sc->steps[i]);
        if (st == SWACL_OK)
            continue;
        o.failed_step = i;
        o.status = st;
        o.hits_before = before;
        o.hits_after = swacl_fault_count(kind);
        swacl_fault_arm(SWACL_FAULT_KINDS_, 0); /* nothing fails from here on */
        const char *msg = swacl_last_error(sc->steps[i].kind == ST_CONTEXT ? NULL : w.ctx);
        if (!msg || !msg[0])
            problem(&w, "%s failed without a message", step_names[sc->steps[i].kind]);
        if (w.cache)
            check_cache_after_failure(&w);
        break;
    }
    for (int k = 0; k < SWACL_FAULT_KINDS_; k++)
        o.calls[k] = swacl_fault_count(k);
    teardown(&w);
    swacl_fault_arm(SWACL_FAULT_KINDS_, 0);
    o.problems = w.problems;
    return o;
}

/* checks one faulted run; returns 1 when it behaved */
static int judge(const script *sc, int kind, long n, const outcome *o)
{
    const char *k = kind_names[kind];
    if (o->failed_step < 0) {
        printf("%s #%ld: every step succeeded: the injected failure was swallowed\n", k, n);
        return 0;
    }
    const char *where = step_names[sc->steps[o->failed_step].kind];
    int ok = o->problems == 0;
    if (!(o->hits_before < n && o->hits_after >= n)) {
        printf("%s #%ld: %s failed with %s, but not from the injected fault (calls %ld..%ld)\n",
               k, n, where, swacl_status_string(o->status), o->hits_before, o->hits_after);
        ok = 0;
    } else if (o->status != kind_status[kind]) {
        printf("%s #%ld: %s returned %s, expected %s\n", k, n, where,
               swacl_status_string(o->status), swacl_status_string(kind_status[kind]));
        ok = 0;
    }
    if (o->problems)
        printf("%s #%ld: %d problem(s) after %s failed (listed above)\n", k, n, o->problems,
               where);
    return ok;
}

int main(int argc, char **argv)
{
    int once = 0, sweep_kind[SWACL_FAULT_KINDS_] = {0}, any_kind = 0;
    const script *sc = &full_script;
    for (int a = 1; a < argc; a++) {
        int known = 0;
        if (!strcmp(argv[a], "--once"))
            known = once = 1;
        if (!strcmp(argv[a], "--small")) {
            known = 1;
            sc = &small_script;
        }
        for (int k = 0; k < SWACL_FAULT_KINDS_; k++)
            if (!strcmp(argv[a], kind_names[k]))
                known = sweep_kind[k] = any_kind = 1;
        if (!known) {
            fprintf(stderr, "usage: rel_fault_sweep [--once] [--small] [cl_alloc|enqueue|build|host_alloc]...\n"
                            "  --once   one run without faults, checked against the reference\n"
                            "  --small  the one-layer, one-token script (fewest kernel builds)\n");
            return 2;
        }
    }
    if (!swacl_fault_arm(SWACL_FAULT_KINDS_, 0)) {
        printf("skipped: fault injection is not compiled in (SWACL_FAULT_INJECTION=OFF)\n");
        return 77;
    }
    swacl_context *probe = NULL;
    const swacl_status ps = swacl_context_create(NULL, &probe);
    if (ps == SWACL_ERR_NO_DEVICE) {
        printf("skipped: no OpenCL device (%s)\n", swacl_last_error(NULL));
        return 77;
    }
    swacl_context_destroy(probe);

    /* the clean run, checked against the reference (and filling the kernel cache) */
    outcome o = run_script(sc, SWACL_FAULT_KINDS_, 0, 1);
    if (o.failed_step >= 0 || o.problems) {
        printf("the run without faults failed at %s: %s\n",
               o.failed_step >= 0 ? step_names[sc->steps[o.failed_step].kind] : "(no step)",
               swacl_status_string(o.status));
        return 1;
    }
    printf("clean run: %d steps match the reference\n", sc->n_steps);
    if (once)
        return 0;

    /* fault points: the calls of each kind one clean run makes (no reference
       checks here, so only the library's own calls are counted) */
    long points[SWACL_FAULT_KINDS_];
    o = run_script(sc, SWACL_FAULT_KINDS_, 0, 0);
    for (int k = 0; k < SWACL_FAULT_KINDS_; k++)
        points[k] = o.calls[k];

    long injected = 0;
    int failed = 0;
    for (int k = 0; k < SWACL_FAULT_KINDS_; k++) {
        if (any_kind && !sweep_kind[k])
            continue;
        int bad = 0;
        for (long n = 1; n <= points[k]; n++) {
            const outcome r = run_script(sc, k, n, 0);
            bad += !judge(sc, k, n, &r);
            injected++;
        }
        printf("%-10s %4ld fault points, %d misbehaved\n", kind_names[k], points[k], bad);
        fflush(stdout);
        if (points[k] == 0) {
            printf("%s: a clean run makes no such call: nothing was tested\n", kind_names[k]);
            bad++;
        }
        failed += bad;
    }
    printf("summary: %ld fault points injected, %d misbehaved\n", injected, failed);
    return failed ? 1 : 0;
}
