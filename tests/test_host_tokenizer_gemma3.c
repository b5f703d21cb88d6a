/* test_host_tokenizer_gemma3.c — the tokenizer on the shipped model's vocabulary gives
 * the ids Hugging Face transformers gives (tests/data/gemma3_tokens.tsv, made by
 * tools/run/make_token_fixtures.py), and decoding them gives the text back. Skipped
 * (exit 77) without the model (tools/run/get-gemma3-270m.sh fetches it). */
#include "gguf.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *model = SWACL_MODEL_DIR "/gemma-3-270m-q4_k_m.gguf";
    FILE *probe = fopen(model, "rb");
    if (!probe) {
        printf("skipped: no %s (tools/run/get-gemma3-270m.sh fetches it)\n", model);
        return 77;
    }
    fclose(probe);
    gguf_file f;
    char err[512];
    tokenizer *t;
    if (gguf_open(model, &f, err, sizeof err) != 0 || tok_load(&f, &t, err, sizeof err) != 0) {
        printf("FAIL: %s\n", err);
        return 1;
    }
    FILE *fx = fopen(SWACL_TEST_DATA "/gemma3_tokens.tsv", "r");
    if (!fx) {
        printf("FAIL: no fixture file\n");
        return 1;
    }
    static char line[1 << 16];
    int cases = 0, failed = 0;
    while (fgets(line, sizeof line, fx)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        /* the text from its hex */
        char text[4096];
        size_t len = 0;
        for (const char *h = line; h[0] && h[1] && len < sizeof text; h += 2) {
            unsigned v;
            sscanf(h, "%2x", &v);
            text[len++] = (char)v;
        }
        int32_t want[1024], got[1024];
        int n_want = 0;
        for (char *p = tab + 1, *end; n_want < 1024; p = end) {
            const long v = strtol(p, &end, 10);
            if (end == p)
                break;
            want[n_want++] = (int32_t)v;
        }
        const int n = tok_encode(t, text, len, 1, got, 1024);
        cases++;
        if (n != n_want || memcmp(got, want, (size_t)n * sizeof *got)) {
            failed++;
            printf("FAIL: \"%.*s\": got", (int)len, text);
            for (int i = 0; i < n; i++)
                printf(" %d", got[i]);
            printf("; transformers gives");
            for (int i = 0; i < n_want; i++)
                printf(" %d", want[i]);
            printf("\n");
            continue;
        }
        char back[8192];
        size_t blen = 0;
        for (int i = 0; i < n; i++)
            blen += tok_decode(t, got[i], back + blen, sizeof back - blen);
        /* control pieces decode to nothing, and U+2581 to a space: compare with the text
           changed so */
        char plain[4096];
        size_t plen = 0;
        for (size_t i = 0; i < len;) {
            size_t skip = 0;
            static const char *const controls[] = {"<start_of_turn>", "<end_of_turn>", "<bos>"};
            for (size_t c = 0; c < 3 && !skip; c++)
                if (!strncmp(text + i, controls[c], strlen(controls[c])))
                    skip = strlen(controls[c]);
            if (skip) {
                i += skip;
            } else if (!strncmp(text + i, "\xe2\x96\x81", 3)) { /* U+2581 is a space mark */
                plain[plen++] = ' ';
                i += 3;
            } else {
                plain[plen++] = text[i++];
            }
        }
        if (blen != plen || memcmp(back, plain, plen)) {
            failed++;
            printf("FAIL: \"%.*s\" decodes to \"%.*s\"\n", (int)len, text, (int)blen, back);
        }
    }
    fclose(fx);
    tok_free(t);
    gguf_close(&f);
    printf("%d strings, %d failed\n", cases, failed);
    return failed || cases == 0;
}
