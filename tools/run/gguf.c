/* gguf.c — GGUF reader (gguf.h). Every read goes through a cursor that checks the
 * bytes are there; counts are bounded by what the remaining bytes could hold before
 * anything is allocated for them. */
#define _POSIX_C_SOURCE 200809L
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define DEFAULT_ALIGNMENT 32
#define MAX_NESTING 4

typedef struct cursor {
    const unsigned char *base;
    uint64_t pos, size;
    char *err;
    size_t err_size;
} cursor;

static int fail(cursor *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->err_size, fmt, ap);
    va_end(ap);
    return -1;
}

/* n more bytes must be there */
static int need(cursor *c, uint64_t n, const char *what)
{
    if (c->size - c->pos < n)
        return fail(c, "truncated file: %s at byte %llu needs %llu bytes, %llu left", what,
                    (unsigned long long)c->pos, (unsigned long long)n,
                    (unsigned long long)(c->size - c->pos));
    return 0;
}

static int rd(cursor *c, void *dst, uint64_t n, const char *what)
{
    if (need(c, n, what))
        return -1;
    memcpy(dst, c->base + c->pos, (size_t)n);
    c->pos += n;
    return 0;
}

static int rd_u32(cursor *c, uint32_t *v, const char *what) { return rd(c, v, 4, what); }
static int rd_u64(cursor *c, uint64_t *v, const char *what) { return rd(c, v, 8, what); }

static int rd_str(cursor *c, gguf_str *s, const char *what)
{
    uint64_t len;
    if (rd_u64(c, &len, what) || need(c, len, what))
        return -1;
    s->ptr = (const char *)c->base + c->pos;
    s->len = len;
    c->pos += len;
    return 0;
}

/* bytes of one scalar of type t, 0 for STRING and ARRAY, -1 for an unknown type */
static int scalar_bytes(uint32_t t)
{
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    case GGUF_STRING: case GGUF_ARRAY: return 0;
    default: return -1;
    }
}

/* the fewest bytes one value of type t can take (bounds array counts) */
static uint64_t min_bytes(uint32_t t)
{
    const int b = scalar_bytes(t);
    return b > 0 ? (uint64_t)b : t == GGUF_STRING ? 8 : 12; /* an array: type + count */
}

/* reads one value of type t; fills kv's value when kv is not NULL */
static int rd_value(cursor *c, uint32_t t, gguf_kv *kv, int depth, const char *what)
{
    const int b = scalar_bytes(t);
    if (b < 0)
        return fail(c, "%s: unknown value type %u", what, t);
    if (b > 0) {
        unsigned char raw[8] = {0};
        if (rd(c, raw, (uint64_t)b, what))
            return -1;
        if (!kv)
            return 0;
        switch (t) {
        case GGUF_U8: case GGUF_BOOL: kv->v.u = raw[0]; break;
        case GGUF_I8: kv->v.i = (int8_t)raw[0]; break;
        case GGUF_U16: { uint16_t x; memcpy(&x, raw, 2); kv->v.u = x; break; }
        case GGUF_I16: { int16_t x; memcpy(&x, raw, 2); kv->v.i = x; break; }
        case GGUF_U32: { uint32_t x; memcpy(&x, raw, 4); kv->v.u = x; break; }
        case GGUF_I32: { int32_t x; memcpy(&x, raw, 4); kv->v.i = x; break; }
        case GGUF_F32: { float x; memcpy(&x, raw, 4); kv->v.f = x; break; }
        case GGUF_U64: { uint64_t x; memcpy(&x, raw, 8); kv->v.u = x; break; }
        case GGUF_I64: { int64_t x; memcpy(&x, raw, 8); kv->v.i = x; break; }
        default: { double x; memcpy(&x, raw, 8); kv->v.f = x; break; }
        }
        return 0;
    }
    if (t == GGUF_STRING) {
        gguf_str s;
        if (rd_str(c, &s, what))
            return -1;
        if (kv)
            kv->v.s = s;
        return 0;
    }
    /* an array: element type, count, elements */
    if (depth >= MAX_NESTING)
        return fail(c, "%s: arrays nested deeper than %d", what, MAX_NESTING);
    uint32_t et;
    uint64_t n;
    if (rd_u32(c, &et, what) || rd_u64(c, &n, what))
        return -1;
    if (scalar_bytes(et) < 0)
        return fail(c, "%s: array of unknown type %u", what, et);
    if (n > (c->size - c->pos) / min_bytes(et))
        return fail(c, "%s: %llu array elements cannot fit in the %llu bytes left", what,
                    (unsigned long long)n, (unsigned long long)(c->size - c->pos));
    const uint64_t start = c->pos;
    const int eb = scalar_bytes(et);
    if (eb > 0) {
        if (need(c, n * (uint64_t)eb, what))
            return -1;
        c->pos += n * (uint64_t)eb;
    } else {
        for (uint64_t i = 0; i < n; i++)
            if (rd_value(c, et, NULL, depth + 1, what))
                return -1;
    }
    if (kv) {
        kv->v.arr.type = (gguf_type)et;
        kv->v.arr.n = n;
        kv->v.arr.data = c->base + start;
        kv->v.arr.bytes = c->pos - start;
    }
    return 0;
}

uint64_t ggml_block_elems(uint32_t type)
{
    switch (type) {
    case GGML_F32: case GGML_F16: case GGML_BF16: return 1;
    case GGML_Q4_0: case GGML_Q4_1: case GGML_Q5_0: case GGML_Q5_1: case GGML_Q8_0:
    case GGML_Q8_1: return 32;
    case GGML_Q2_K: case GGML_Q3_K: case GGML_Q4_K: case GGML_Q5_K: case GGML_Q6_K:
    case GGML_Q8_K: return 256;
    default: return 0;
    }
}

uint64_t ggml_block_bytes(uint32_t type)
{
    switch (type) {
    case GGML_F32: return 4;
    case GGML_F16: case GGML_BF16: return 2;
    case GGML_Q4_0: return 18;
    case GGML_Q4_1: return 20;
    case GGML_Q5_0: return 22;
    case GGML_Q5_1: return 24;
    case GGML_Q8_0: return 34;
    case GGML_Q8_1: return 36;
    case GGML_Q2_K: return 84;
    case GGML_Q3_K: return 110;
    case GGML_Q4_K: return 144;
    case GGML_Q5_K: return 176;
    case GGML_Q6_K: return 210;
    case GGML_Q8_K: return 292;
    default: return 0;
    }
}

const char *ggml_type_name(uint32_t type)
{
    switch (type) {
    case GGML_F32: return "F32";
    case GGML_F16: return "F16";
    case GGML_BF16: return "BF16";
    case GGML_Q4_0: return "Q4_0";
    case GGML_Q4_1: return "Q4_1";
    case GGML_Q5_0: return "Q5_0";
    case GGML_Q5_1: return "Q5_1";
    case GGML_Q8_0: return "Q8_0";
    case GGML_Q8_1: return "Q8_1";
    case GGML_Q2_K: return "Q2_K";
    case GGML_Q3_K: return "Q3_K";
    case GGML_Q4_K: return "Q4_K";
    case GGML_Q5_K: return "Q5_K";
    case GGML_Q6_K: return "Q6_K";
    case GGML_Q8_K: return "Q8_K";
    default: return "?";
    }
}

int gguf_str_is(gguf_str s, const char *c)
{
    const size_t n = strlen(c);
    return s.len == n && memcmp(s.ptr, c, n) == 0;
}

static int rd_tensor(cursor *c, gguf_tensor *t, uint64_t index)
{
    char what[64];
    snprintf(what, sizeof what, "tensor info %llu", (unsigned long long)index);
    if (rd_str(c, &t->name, what) || rd_u32(c, &t->n_dims, what))
        return -1;
    if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
        return fail(c, "tensor '%.*s' has %u dimensions (1 to %d allowed)",
                    (int)(t->name.len > 64 ? 64 : t->name.len), t->name.ptr, t->n_dims,
                    GGUF_MAX_DIMS);
    t->n_elems = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t n = 1;
        if (d < t->n_dims && rd_u64(c, &n, what))
            return -1;
        if (n == 0 || n > ((uint64_t)1 << 40) || t->n_elems > UINT64_MAX / n)
            return fail(c, "tensor '%.*s' has a bad dimension %llu",
                        (int)(t->name.len > 64 ? 64 : t->name.len), t->name.ptr,
                        (unsigned long long)n);
        t->dims[d] = n;
        t->n_elems *= n;
    }
    if (rd_u32(c, &t->type, what) || rd_u64(c, &t->offset, what))
        return -1;
    const uint64_t be = ggml_block_elems(t->type), bb = ggml_block_bytes(t->type);
    if (!be)
        return fail(c, "tensor '%.*s' has unknown type %u", (int)(t->name.len > 64 ? 64 : t->name.len),
                    t->name.ptr, t->type);
    if (t->dims[0] % be)
        return fail(c, "tensor '%.*s': its rows (%llu) are not whole %s blocks of %llu",
                    (int)(t->name.len > 64 ? 64 : t->name.len), t->name.ptr,
                    (unsigned long long)t->dims[0], ggml_type_name(t->type), (unsigned long long)be);
    t->n_bytes = t->n_elems / be * bb; /* n_elems < 2^62: no overflow */
    return 0;
}

int gguf_parse(const void *buf, size_t size, gguf_file *f, char *err, size_t err_size)
{
    memset(f, 0, sizeof *f);
    cursor c = {buf, 0, size, err, err_size};
    if (err_size)
        err[0] = '\0';
    uint32_t magic;
    if (!buf || rd_u32(&c, &magic, "header"))
        return buf ? -1 : fail(&c, "no data");
    if (magic != GGUF_MAGIC)
        return fail(&c, "not a GGUF file (magic 0x%08x)", magic);
    if (rd_u32(&c, &f->version, "header") || rd_u64(&c, &f->n_tensors, "header") ||
        rd_u64(&c, &f->n_kv, "header"))
        return -1;
    if (f->version != 2 && f->version != 3)
        return fail(&c, "GGUF version %u is not supported (2 and 3 are)", f->version);
    /* a key/value takes at least 8 + 4 + 1 bytes, a tensor info 8 + 4 + 8 + 4 + 8 */
    if (f->n_kv > (size - c.pos) / 13 || f->n_tensors > (size - c.pos) / 32)
        return fail(&c, "%llu key/values and %llu tensors cannot fit in %zu bytes",
                    (unsigned long long)f->n_kv, (unsigned long long)f->n_tensors, size);
    f->base = buf;
    f->size = size;
    f->kv = calloc(f->n_kv ? (size_t)f->n_kv : 1, sizeof *f->kv);
    f->tensors = calloc(f->n_tensors ? (size_t)f->n_tensors : 1, sizeof *f->tensors);
    if (!f->kv || !f->tensors) {
        gguf_close(f);
        return fail(&c, "out of memory");
    }
    f->alignment = DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kv[i];
        char what[64];
        snprintf(what, sizeof what, "key/value %llu", (unsigned long long)i);
        uint32_t t;
        if (rd_str(&c, &kv->key, what) || rd_u32(&c, &t, what) ||
            rd_value(&c, t, kv, 0, what)) {
            gguf_close(f);
            return -1;
        }
        kv->type = (gguf_type)t;
        if (gguf_str_is(kv->key, "general.alignment")) {
            if (t != GGUF_U32 || kv->v.u == 0 || (kv->v.u & (kv->v.u - 1)) || kv->v.u > 65536) {
                gguf_close(f);
                return fail(&c, "general.alignment must be a power of two up to 65536 (u32)");
            }
            f->alignment = (uint32_t)kv->v.u;
        }
    }
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (rd_tensor(&c, &f->tensors[i], i)) {
            gguf_close(f);
            return -1;
        }
    f->data_offset = (c.pos + f->alignment - 1) / f->alignment * f->alignment;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        const int nl = (int)(t->name.len > 64 ? 64 : t->name.len);
        int bad = 0; /* the message first: closing frees the tensor it names */
        if (t->offset % f->alignment)
            bad = fail(&c, "tensor '%.*s' at offset %llu is not aligned to %u", nl, t->name.ptr,
                       (unsigned long long)t->offset, f->alignment);
        else if (f->data_offset > size || t->offset > size - f->data_offset ||
                 t->n_bytes > size - f->data_offset - t->offset)
            bad = fail(&c, "tensor '%.*s' (%llu bytes at data offset %llu) lies past the end of "
                       "the file (%zu bytes)", nl, t->name.ptr, (unsigned long long)t->n_bytes,
                       (unsigned long long)t->offset, size);
        if (bad) {
            gguf_close(f);
            return -1;
        }
        t->data = f->base + f->data_offset + t->offset;
    }
    return 0;
}

int gguf_open(const char *path, gguf_file *f, char *err, size_t err_size)
{
    memset(f, 0, sizeof *f);
    const int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        snprintf(err, err_size, "%s: %s", path, st.st_size <= 0 ? "empty file" : strerror(errno));
        close(fd);
        return -1;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, err_size, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }
    char why[256];
    if (gguf_parse(map, (size_t)st.st_size, f, why, sizeof why) != 0) {
        munmap(map, (size_t)st.st_size);
        snprintf(err, err_size, "%s: %s", path, why);
        return -1;
    }
    f->mapped = 1;
    return 0;
}

void gguf_close(gguf_file *f)
{
    if (!f)
        return;
    free(f->kv);
    free(f->tensors);
    if (f->mapped && f->base)
        munmap((void *)f->base, f->size);
    memset(f, 0, sizeof *f);
}

const gguf_kv *gguf_find(const gguf_file *f, const char *key)
{
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (gguf_str_is(f->kv[i].key, key))
            return &f->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (gguf_str_is(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

int gguf_get_int(const gguf_file *f, const char *key, int64_t *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv)
        return -1;
    switch (kv->type) {
    case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_BOOL:
        *out = (int64_t)kv->v.u;
        return 0;
    case GGUF_U64:
        if (kv->v.u > INT64_MAX)
            return -1;
        *out = (int64_t)kv->v.u;
        return 0;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64:
        *out = kv->v.i;
        return 0;
    default:
        return -1;
    }
}

int gguf_get_float(const gguf_file *f, const char *key, double *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || (kv->type != GGUF_F32 && kv->type != GGUF_F64))
        return -1;
    *out = kv->v.f;
    return 0;
}

int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out)
{
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv || kv->type != GGUF_STRING)
        return -1;
    *out = kv->v.s;
    return 0;
}

int gguf_array_strings(const gguf_kv *kv, gguf_str *out)
{
    if (!kv || kv->type != GGUF_ARRAY || kv->v.arr.type != GGUF_STRING)
        return -1;
    /* the array was walked once while parsing: every length is known to fit */
    const unsigned char *p = kv->v.arr.data;
    for (uint64_t i = 0; i < kv->v.arr.n; i++) {
        uint64_t len;
        memcpy(&len, p, 8);
        out[i].ptr = (const char *)p + 8;
        out[i].len = len;
        p += 8 + len;
    }
    return 0;
}
