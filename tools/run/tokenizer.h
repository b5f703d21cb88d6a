/* tokenizer.h — the SentencePiece-style tokenizer of GGUF models whose
 * tokenizer.ggml.model is "llama" (Llama, Mistral, Gemma): a vocabulary of pieces with
 * scores and types, spaces written as U+2581, merges chosen by score, and bytes that
 * no piece covers written as <0xXX> byte pieces. Written from the format's description:
 *
 *   encode: text -> spaces become U+2581 (and one is put in front when the model asks
 *           for a space prefix) -> control and user-defined pieces found in the text
 *           stay whole -> the rest starts as one symbol per UTF-8 character, and the
 *           adjacent pair whose joined text is the best-scoring piece merges, again and
 *           again -> a symbol that is no piece falls back to its bytes' pieces
 *   decode: a piece's text with U+2581 as a space; byte pieces give their byte; control
 *           pieces give nothing. */
#ifndef SWACL_TOKENIZER_H
#define SWACL_TOKENIZER_H

#include "gguf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tokenizer tokenizer;

/* token types as GGUF stores them */
enum { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3, TOK_USER = 4, TOK_UNUSED = 5, TOK_BYTE = 6 };

/* Builds the tokenizer from the file's tokenizer.ggml.* keys; 0, or -1 with a reason.
 * The pieces point into the file's mapping: keep the file open while it is used. */
int tok_load(const gguf_file *f, tokenizer **out, char *err, size_t err_size);
void tok_free(tokenizer *t);

/* Encodes len bytes of text (BOS first when add_bos and the model has one); returns
 * the number of ids, or -1 when max_ids is too few (then nothing useful is in ids). */
int tok_encode(const tokenizer *t, const char *text, size_t len, int add_bos, int32_t *ids,
               int max_ids);
/* The bytes token id stands for (UTF-8 may be split across byte pieces: stream them as
 * they come); returns their count, 0 for control pieces and ids out of range. */
size_t tok_decode(const tokenizer *t, int32_t id, char *buf, size_t buf_size);

int tok_n_vocab(const tokenizer *t);
int32_t tok_bos(const tokenizer *t); /* -1 when the model has none */
int32_t tok_eos(const tokenizer *t);
/* the id of a piece given as text, or -1 */
int32_t tok_find(const tokenizer *t, const char *piece, size_t len);

#endif /* SWACL_TOKENIZER_H */
