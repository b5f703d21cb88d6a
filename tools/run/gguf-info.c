/* gguf-info.c — what a GGUF file holds, as swacl-run's reader sees it: the header,
 * every key/value (long arrays summarised) and every tensor (type, shape, bytes).
 * --check also dequantises every tensor and counts values that are not finite;
 * --dump NAME OUT writes one tensor dequantised to OUT as raw float32;
 * --tokenize TEXT prints TEXT's token ids (BOS first) and the text they decode to.
 * Usage: swacl-gguf-info FILE.gguf [--check | --dump NAME OUT | --tokenize TEXT].
 * Exit status 1 on a bad file. */
#include "gguf.h"
#include "quant.h"
#include "tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_value(const gguf_kv *kv)
{
    switch (kv->type) {
    case GGUF_STRING:
        printf("\"%.*s\"", (int)(kv->v.s.len > 120 ? 120 : kv->v.s.len), kv->v.s.ptr);
        break;
    case GGUF_F32: case GGUF_F64: printf("%g", kv->v.f); break;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: printf("%lld", (long long)kv->v.i); break;
    case GGUF_ARRAY: printf("[%llu x type %d]", (unsigned long long)kv->v.arr.n, (int)kv->v.arr.type); break;
    default: printf("%llu", (unsigned long long)kv->v.u); break;
    }
}

int main(int argc, char **argv)
{
    const int dump = argc == 5 && !strcmp(argv[2], "--dump");
    const int tokenize = argc == 4 && !strcmp(argv[2], "--tokenize");
    if (argc < 2 || (argc == 3 && strcmp(argv[2], "--check")) || (argc == 4 && !tokenize) ||
        (argc == 5 && !dump) || argc > 5) {
        fprintf(stderr,
                "usage: swacl-gguf-info FILE.gguf [--check | --dump NAME OUT | --tokenize TEXT]\n");
        return 2;
    }
    gguf_file f;
    char err[512];
    if (gguf_open(argv[1], &f, err, sizeof err) != 0) {
        fprintf(stderr, "swacl-gguf-info: %s\n", err);
        return 1;
    }
    if (tokenize) {
        tokenizer *tk;
        const size_t len = strlen(argv[3]);
        int32_t *ids = malloc((len + 2) * sizeof *ids);
        int n = -1;
        if (ids && tok_load(&f, &tk, err, sizeof err) == 0) {
            n = tok_encode(tk, argv[3], len, 1, ids, (int)len + 2);
            for (int i = 0; i < n; i++)
                printf("%s%d", i ? " " : "", ids[i]);
            printf("\n");
            for (int i = 0; i < n; i++) {
                char piece[256];
                fwrite(piece, 1, tok_decode(tk, ids[i], piece, sizeof piece), stdout);
            }
            printf("\n");
            tok_free(tk);
        } else {
            fprintf(stderr, "swacl-gguf-info: %s\n", ids ? err : "out of memory");
        }
        free(ids);
        gguf_close(&f);
        return n < 0;
    }
    if (dump) {
        const gguf_tensor *t = gguf_find_tensor(&f, argv[3]);
        float *x = t ? malloc((size_t)t->n_elems * sizeof *x) : NULL;
        FILE *fp = x ? fopen(argv[4], "wb") : NULL;
        const int ok = fp && quant_dequantize(t->type, t->data, t->n_elems, x) == 0 &&
                       fwrite(x, sizeof *x, (size_t)t->n_elems, fp) == (size_t)t->n_elems;
        if (fp)
            fclose(fp);
        if (!ok)
            fprintf(stderr, "swacl-gguf-info: cannot dump %s to %s\n", argv[3], argv[4]);
        free(x);
        gguf_close(&f);
        return ok ? 0 : 1;
    }
    printf("%s: GGUF v%u, %llu key/values, %llu tensors, alignment %u, %zu bytes\n", argv[1],
           f.version, (unsigned long long)f.n_kv, (unsigned long long)f.n_tensors, f.alignment,
           f.size);
    for (uint64_t i = 0; i < f.n_kv; i++) {
        printf("  %.*s = ", (int)f.kv[i].key.len, f.kv[i].key.ptr);
        print_value(&f.kv[i]);
        printf("\n");
    }
    uint64_t bytes = 0, bad = 0, checked = 0;
    for (uint64_t i = 0; i < f.n_tensors; i++) {
        const gguf_tensor *t = &f.tensors[i];
        printf("  tensor %-40.*s %-5s [%llu", (int)t->name.len, t->name.ptr, ggml_type_name(t->type),
               (unsigned long long)t->dims[0]);
        for (uint32_t d = 1; d < t->n_dims; d++)
            printf(" x %llu", (unsigned long long)t->dims[d]);
        printf("] %llu bytes\n", (unsigned long long)t->n_bytes);
        bytes += t->n_bytes;
        if (argc == 3 && quant_supported(t->type)) {
            float *x = malloc((size_t)t->n_elems * sizeof *x);
            if (!x || quant_dequantize(t->type, t->data, t->n_elems, x) != 0) {
                fprintf(stderr, "swacl-gguf-info: cannot dequantise %.*s\n", (int)t->name.len,
                        t->name.ptr);
                free(x);
                gguf_close(&f);
                return 1;
            }
            for (uint64_t e = 0; e < t->n_elems; e++)
                bad += !isfinite(x[e]);
            checked++;
            free(x);
        }
    }
    printf("%llu bytes of tensor data", (unsigned long long)bytes);
    if (argc == 3)
        printf("; %llu tensors dequantised, %llu values not finite", (unsigned long long)checked,
               (unsigned long long)bad);
    printf("\n");
    gguf_close(&f);
    return bad ? 1 : 0;
}
