/* tokenizer.c — SentencePiece-style encode and decode over a GGUF vocabulary
 * (tokenizer.h). Pieces are found through an open-addressing hash table; merging keeps
 * the symbols in a linked list and joins the best-scoring adjacent pair each round. */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE_MARK "\xe2\x96\x81" /* U+2581, how pieces write a space */

struct tokenizer {
    int n;
    gguf_str *piece;
    float *score;
    int32_t *type;
    uint32_t *table; /* id + 1 per slot, 0 = empty; size a power of two */
    uint32_t mask;
    int32_t byte_id[256];
    int32_t bos, eos, unk;
    int add_bos, space_prefix;
    /* control and user-defined pieces, by the first byte of their text with spaces
       marked (sp_text, owned), found whole in the marked text */
    int32_t *special;
    gguf_str *sp_text;
    char *sp_bytes;
    int special_start[257];
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

int32_t tok_find(const tokenizer *t, const char *s, size_t n)
{
    for (uint32_t i = (uint32_t)hash(s, n) & t->mask;; i = (i + 1) & t->mask) {
        const uint32_t e = t->table[i];
        if (!e)
            return -1;
        const gguf_str p = t->piece[e - 1];
        if (p.len == n && memcmp(p.ptr, s, n) == 0)
            return (int32_t)(e - 1);
    }
}

static int fail(char *err, size_t n, const char *msg)
{
    snprintf(err, n, "%s", msg);
    return -1;
}

void tok_free(tokenizer *t)
{
    if (!t)
        return;
    free(t->piece);
    free(t->score);
    free(t->type);
    free(t->table);
    free(t->special);
    free(t->sp_text);
    free(t->sp_bytes);
    free(t);
}

/* the id of key, or dflt */
static int32_t id_of(const gguf_file *f, const char *key, int32_t dflt, int n)
{
    int64_t v;
    return gguf_get_int(f, key, &v) == 0 && v >= 0 && v < n ? (int32_t)v : dflt;
}

int tok_load(const gguf_file *f, tokenizer **out, char *err, size_t err_size)
{
    *out = NULL;
    gguf_str model;
    if (gguf_get_str(f, "tokenizer.ggml.model", &model) != 0 || !gguf_str_is(model, "llama"))
        return fail(err, err_size, "the file has no SentencePiece-style tokenizer "
                                   "(tokenizer.ggml.model \"llama\")");
    const gguf_kv *tokens = gguf_find(f, "tokenizer.ggml.tokens");
    const gguf_kv *scores = gguf_find(f, "tokenizer.ggml.scores");
    const gguf_kv *types = gguf_find(f, "tokenizer.ggml.token_type");
    if (!tokens || tokens->type != GGUF_ARRAY || tokens->v.arr.type != GGUF_STRING ||
        tokens->v.arr.n == 0 || tokens->v.arr.n > (1u << 24))
        return fail(err, err_size, "tokenizer.ggml.tokens is missing or not a string array");
    const uint64_t n = tokens->v.arr.n;
    if (scores && (scores->type != GGUF_ARRAY || scores->v.arr.type != GGUF_F32 || scores->v.arr.n != n))
        return fail(err, err_size, "tokenizer.ggml.scores is not one f32 per token");
    if (types && (types->type != GGUF_ARRAY || types->v.arr.type != GGUF_I32 || types->v.arr.n != n))
        return fail(err, err_size, "tokenizer.ggml.token_type is not one i32 per token");
    tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return fail(err, err_size, "out of memory");
    t->n = (int)n;
    uint32_t cap = 1;
    while (cap < 2 * n)
        cap *= 2;
    t->mask = cap - 1;
    t->piece = malloc(n * sizeof *t->piece);
    t->score = calloc(n, sizeof *t->score);
    t->type = malloc(n * sizeof *t->type);
    t->table = calloc(cap, sizeof *t->table);
    t->special = malloc(n * sizeof *t->special);
    if (!t->piece || !t->score || !t->type || !t->table || !t->special) {
        tok_free(t);
        return fail(err, err_size, "out of memory");
    }
    gguf_array_strings(tokens, t->piece);
    if (scores)
        memcpy(t->score, scores->v.arr.data, n * sizeof(float));
    for (uint64_t i = 0; i < n; i++) {
        t->type[i] = TOK_NORMAL;
        if (types)
            memcpy(&t->type[i], types->v.arr.data + 4 * i, 4);
    }
    /* the table: one probe per piece, to an empty slot or to the same text (a piece that
       appears twice keeps its first id) */
    for (uint64_t i = 0; i < n; i++) {
        const gguf_str p = t->piece[i];
        uint32_t s = (uint32_t)hash(p.ptr, p.len) & t->mask;
        for (; t->table[s]; s = (s + 1) & t->mask) {
            const gguf_str q = t->piece[t->table[s] - 1];
            if (q.len == p.len && memcmp(q.ptr, p.ptr, p.len) == 0)
                break;
        }
        if (!t->table[s])
            t->table[s] = (uint32_t)i + 1;
    }
    t->unk = id_of(f, "tokenizer.ggml.unknown_token_id", -1, t->n);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_id[b] = tok_find(t, name, 6);
    }
    t->bos = id_of(f, "tokenizer.ggml.bos_token_id", -1, t->n);
    t->eos = id_of(f, "tokenizer.ggml.eos_token_id", -1, t->n);
    int64_t v;
    t->add_bos = gguf_get_int(f, "tokenizer.ggml.add_bos_token", &v) == 0 ? v != 0 : 1;
    t->space_prefix = gguf_get_int(f, "tokenizer.ggml.add_space_prefix", &v) == 0 ? v != 0 : 1;
    /* control and user-defined pieces with their spaces marked, by first byte, longest
       first within a byte */
    size_t total = 0;
    int m = 0;
    for (int i = 0; i < t->n; i++)
        if ((t->type[i] == TOK_CONTROL || t->type[i] == TOK_USER) && t->piece[i].len) {
            total += 3 * t->piece[i].len;
            m++;
        }
    t->sp_text = malloc((size_t)(m ? m : 1) * sizeof *t->sp_text);
    t->sp_bytes = malloc(total ? total : 1);
    if (!t->sp_text || !t->sp_bytes) {
        tok_free(t);
        return fail(err, err_size, "out of memory");
    }
    int32_t *ids = t->special; /* in id order first */
    char *w = t->sp_bytes;
    m = 0;
    for (int i = 0; i < t->n; i++) {
        if (!((t->type[i] == TOK_CONTROL || t->type[i] == TOK_USER) && t->piece[i].len))
            continue;
        t->sp_text[m].ptr = w;
        for (size_t k = 0; k < t->piece[i].len; k++) {
            if (t->piece[i].ptr[k] == ' ') {
                memcpy(w, SPACE_MARK, 3);
                w += 3;
            } else {
                *w++ = t->piece[i].ptr[k];
            }
        }
        t->sp_text[m].len = (uint64_t)(w - t->sp_text[m].ptr);
        ids[m++] = i;
    }
    /* sort (id, text) by first byte, then longest first (an insertion sort: a vocabulary
       has a few thousand such pieces, mostly in order already) */
    for (int i = 1; i < m; i++)
        for (int j = i; j > 0; j--) {
            const unsigned char a = (unsigned char)t->sp_text[j].ptr[0];
            const unsigned char b = (unsigned char)t->sp_text[j - 1].ptr[0];
            if (a > b || (a == b && t->sp_text[j].len <= t->sp_text[j - 1].len))
                break;
            const int32_t x = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = x;
            const gguf_str y = t->sp_text[j];
            t->sp_text[j] = t->sp_text[j - 1];
            t->sp_text[j - 1] = y;
        }
    for (int b = 0, k = 0; b <= 256; b++) {
        while (b < 256 && k < m && (unsigned char)t->sp_text[k].ptr[0] < b)
            k++;
        t->special_start[b] = b < 256 ? k : m;
    }
    *out = t;
    return 0;
}

int tok_n_vocab(const tokenizer *t) { return t->n; }
int32_t tok_bos(const tokenizer *t) { return t->bos; }
int32_t tok_eos(const tokenizer *t) { return t->eos; }

/* the special piece starting at s (marked text, at most n bytes), or -1; *len gets its
   marked length */
static int32_t special_at(const tokenizer *t, const char *s, size_t n, size_t *len)
{
    const unsigned char b = (unsigned char)s[0];
    for (int k = t->special_start[b]; k < t->special_start[b + 1]; k++) {
        const gguf_str p = t->sp_text[k];
        if (p.len <= n && memcmp(p.ptr, s, p.len) == 0) {
            *len = p.len;
            return t->special[k];
        }
    }
    return -1;
}

typedef struct symbol {
    size_t start, len;
    int prev, next;
} symbol;

/* bytes of the UTF-8 character starting with byte c (1 for a stray byte) */
static size_t utf8_len(unsigned char c)
{
    return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf8 ? 4 : 1;
}

typedef struct out_ids {
    int32_t *ids;
    int n, max;
} out_ids;

static int emit(out_ids *o, int32_t id)
{
    if (o->n >= o->max)
        return -1;
    o->ids[o->n++] = id;
    return 0;
}

/* BPE over s[0..n) (spaces already marked), appending ids */
static int encode_run(const tokenizer *t, const char *s, size_t n, out_ids *o)
{
    if (n == 0)
        return 0;
    symbol *sym = malloc(n * sizeof *sym);
    if (!sym)
        return -1;
    int count = 0;
    for (size_t i = 0; i < n; count++) {
        size_t l = utf8_len((unsigned char)s[i]);
        if (l > n - i)
            l = n - i;
        sym[count] = (symbol){i, l, count - 1, count + 1};
        i += l;
    }
    sym[count - 1].next = -1;
    for (;;) {
        int best = -1;
        float best_score = 0.0f;
        for (int a = 0; a >= 0 && sym[a].next >= 0; a = sym[a].next) {
            const int b = sym[a].next;
            const int32_t id = tok_find(t, s + sym[a].start, sym[a].len + sym[b].len);
            if (id >= 0 && (best < 0 || t->score[id] > best_score)) {
                best = a;
                best_score = t->score[id];
            }
        }
        if (best < 0)
            break;
        const int b = sym[best].next;
        sym[best].len += sym[b].len;
        sym[best].next = sym[b].next;
        if (sym[b].next >= 0)
            sym[sym[b].next].prev = best;
    }
    int rc = 0;
    for (int a = 0; a >= 0 && rc == 0; a = sym[a].next) {
        const int32_t id = tok_find(t, s + sym[a].start, sym[a].len);
        if (id >= 0) {
            rc = emit(o, id);
            continue;
        }
        /* byte fallback; a byte without a piece is the unknown piece, or dropped when
           the vocabulary has neither (no real model's) */
        for (size_t k = 0; k < sym[a].len && rc == 0; k++) {
            const int32_t bid = t->byte_id[(unsigned char)s[sym[a].start + k]];
            if (bid >= 0 || t->unk >= 0)
                rc = emit(o, bid >= 0 ? bid : t->unk);
        }
    }
    free(sym);
    return rc;
}

int tok_encode(const tokenizer *t, const char *text, size_t len, int add_bos, int32_t *ids,
               int max_ids)
{
    out_ids o = {ids, 0, max_ids};
    if (add_bos && t->add_bos && t->bos >= 0 && emit(&o, t->bos))
        return -1;
    /* spaces marked as U+2581 (3 bytes), with the prefix the model may ask for; a U+2581
       in the text is a space mark too, as in SentencePiece */
    char *s = malloc(3 * len + 4);
    if (!s)
        return -1;
    size_t n = 0;
    if (t->space_prefix && len) {
        memcpy(s, SPACE_MARK, 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(s + n, SPACE_MARK, 3);
            n += 3;
        } else {
            s[n++] = text[i];
        }
    }
    /* control and user-defined pieces are found whole (Gemma writes runs of spaces and
       newlines as user-defined pieces); the runs between them go through BPE */
    size_t run = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t sl = 0;
        const int32_t sp = special_at(t, s + i, n - i, &sl);
        if (sp < 0) {
            i++;
            continue;
        }
        rc = encode_run(t, s + run, i - run, &o);
        if (rc == 0)
            rc = emit(&o, sp);
        i += sl;
        run = i;
    }
    if (rc == 0)
        rc = encode_run(t, s + run, n - run, &o);
    free(s);
    return rc ? -1 : o.n;
}

size_t tok_decode(const tokenizer *t, int32_t id, char *buf, size_t buf_size)
{
    if (id < 0 || id >= t->n || t->type[id] == TOK_CONTROL || buf_size == 0)
        return 0;
    const gguf_str p = t->piece[id];
    if (t->type[id] == TOK_BYTE && p.len == 6) {
        unsigned v;
        if (sscanf(p.ptr + 3, "%2x", &v) == 1) {
            buf[0] = (char)v;
            return 1;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < p.len && n < buf_size; i++) {
        if (i + 3 <= p.len && memcmp(p.ptr + i, SPACE_MARK, 3) == 0) {
            buf[n++] = ' ';
            i += 2;
        } else {
            buf[n++] = p.ptr[i];
        }
    }
    return n;
}
