/* fuzz_gguf.c — arbitrary bytes as a GGUF file for gguf_parse (tools/run/gguf.c), which
 * must stay inside them; the dequantisation of every tensor it accepts; and, when the
 * file carries a vocabulary, the tokenizer on the input's own bytes as text. */
#include "gguf.h"
#include "quant.h"
#include "tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the file in a block of exactly its size, so any overread is caught */
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    gguf_file f;
    char err[256];
    if (gguf_parse(copy, size, &f, err, sizeof err) == 0) {
        for (uint64_t i = 0; i < f.n_tensors; i++) {
            const gguf_tensor *t = &f.tensors[i];
            if (!quant_supported(t->type) || t->n_elems > (1u << 16))
                continue;
            float *out = malloc((size_t)t->n_elems * sizeof(float));
            if (out && quant_dequantize(t->type, t->data, t->n_elems, out) != 0)
                abort(); /* a tensor the reader accepted must convert */
            free(out);
        }
        for (uint64_t i = 0; i < f.n_kv; i++)
            if (f.kv[i].type == GGUF_ARRAY && f.kv[i].v.arr.type == GGUF_STRING) {
                gguf_str *s = malloc((size_t)f.kv[i].v.arr.n * sizeof *s + 1);
                if (s && gguf_array_strings(&f.kv[i], s) != 0)
                    abort();
                free(s);
            }
        tokenizer *tk;
        if (tok_load(&f, &tk, err, sizeof err) == 0) {
            const size_t len = size < 256 ? size : 256;
            int32_t ids[512];
            const int n = tok_encode(tk, (const char *)copy, len, 1, ids, 512);
            for (int i = 0; i < n; i++) {
                char piece[64];
                if (ids[i] < 0 || ids[i] >= tok_n_vocab(tk))
                    abort();
                tok_decode(tk, ids[i], piece, sizeof piece);
            }
            tok_free(tk);
        }
        gguf_close(&f);
    }
    free(copy);
    return 0;
}
