/* gguf.h — a reader for GGUF model files (format version 2 and 3), written from the
 * format's description: header, metadata key/values, tensor infos and the aligned
 * tensor data. The file is memory-mapped and every length, count and offset is checked
 * against its size before use; a bad file gives a message, never a crash. No OpenCL.
 *
 * Strings in the file are not NUL-terminated: gguf_str carries a pointer and a length
 * into the mapping, valid until gguf_close. */
#ifndef SWACL_GGUF_H
#define SWACL_GGUF_H

#include <stddef.h>
#include <stdint.h>

typedef enum gguf_type {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
    GGUF_I64 = 11, GGUF_F64 = 12, GGUF_TYPES_
} gguf_type;

/* tensor element types the reader knows (the ggml numbering) */
enum {
    GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q4_1 = 3, GGML_Q5_0 = 6, GGML_Q5_1 = 7,
    GGML_Q8_0 = 8, GGML_Q8_1 = 9, GGML_Q2_K = 10, GGML_Q3_K = 11, GGML_Q4_K = 12,
    GGML_Q5_K = 13, GGML_Q6_K = 14, GGML_Q8_K = 15, GGML_BF16 = 30
};

typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    gguf_type type;
    union {
        uint64_t u;   /* U8 U16 U32 U64 BOOL */
        int64_t i;    /* I8 I16 I32 I64 */
        double f;     /* F32 F64 */
        gguf_str s;   /* STRING */
        struct {
            gguf_type type;             /* element type (not ARRAY) */
            uint64_t n;                 /* elements */
            const unsigned char *data;  /* the first element */
            uint64_t bytes;             /* all of them */
        } arr;
    } v;
} gguf_kv;

#define GGUF_MAX_DIMS 4

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    uint64_t dims[GGUF_MAX_DIMS]; /* dims[0] is the contiguous one; unused ones are 1 */
    uint32_t type;                /* GGML_* */
    uint64_t offset;              /* from the start of the data section */
    uint64_t n_elems, n_bytes;
    const void *data;             /* into the mapping, bounds checked */
} gguf_tensor;

typedef struct gguf_file {
    const unsigned char *base; /* the whole file */
    size_t size;
    int mapped;                /* 1 = base is an mmap of the file (gguf_open) */
    uint32_t version, alignment;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    uint64_t data_offset; /* start of the tensor data */
} gguf_file;

/* Maps and parses a file; 0 on success, else -1 with a one-line reason in err. */
int gguf_open(const char *path, gguf_file *out, char *err, size_t err_size);
/* Parses a file image already in memory (it must outlive *out). */
int gguf_parse(const void *buf, size_t size, gguf_file *out, char *err, size_t err_size);
void gguf_close(gguf_file *f);

/* the key/value or tensor of that name, or NULL */
const gguf_kv *gguf_find(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);
/* typed getters: 0 and *out set when the key exists with a compatible type, else -1
   (integers of any width and sign that fit; floats from F32 or F64) */
int gguf_get_int(const gguf_file *f, const char *key, int64_t *out);
int gguf_get_float(const gguf_file *f, const char *key, double *out);
int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out);
/* the n strings of a STRING array in order, into out[0..n) (n = kv->v.arr.n); 0 on
   success, -1 if the key is not a string array */
int gguf_array_strings(const gguf_kv *kv, gguf_str *out);
/* 1 if s equals the C string c */
int gguf_str_is(gguf_str s, const char *c);

/* elements per block and bytes per block of a tensor type (0, 0 for one the reader
   does not know), and its name ("Q4_K"; "?" when unknown) */
uint64_t ggml_block_elems(uint32_t type);
uint64_t ggml_block_bytes(uint32_t type);
const char *ggml_type_name(uint32_t type);

#endif /* SWACL_GGUF_H */
