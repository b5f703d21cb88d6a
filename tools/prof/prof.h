/* prof.h — swacl-prof's core library (no device needed): the result store
 * (report -> device -> suite -> row), its JSON/CSV forms, text tables, compare,
 * SVG plots, the workload models (visible pairs, FLOPs, bytes) and the memory planner. */
#ifndef SWACL_PROF_H
#define SWACL_PROF_H

#include "swacl.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bumped when a field changes meaning or disappears; adding fields keeps it
 * (readers ignore keys they do not know). */
#define PROF_FORMAT_VERSION 1

/* ---- the result store ------------------------------------------------------ */

typedef enum prof_status { PROF_OK = 0, PROF_UNSUPPORTED, PROF_SKIPPED, PROF_ERROR } prof_status;
const char *prof_status_name(prof_status s);
/* -1 if text names no status */
int prof_status_parse(const char *text);

/* The field lists below make the structs, the JSON and CSV writers and readers,
 * and compare's lookups: a field added here appears everywhere.
 * T(name, size) text, I(name) integer, N(name) number (NaN = absent, JSON null). */
#define PROF_REPORT_FIELDS(T, I, N)                                                       \
    T(tool, 32)            /* "swacl-prof" */                                             \
    T(library_version, 32) /* swacl_version_string() of the library that ran */           \
    T(git_revision, 64)    /* source revision swacl-prof was built from, or "unknown" */  \
    T(created, 32)         /* UTC, ISO 8601 */                                            \
    T(host, 64)                                                                           \
    T(mode, 16)            /* "quick" or "full" */                                        \
    T(command, 512)

#define PROF_DEVICE_FIELDS(T, I, N)                                                       \
    T(selector, 16) T(name, 128) T(vendor, 128) T(platform, 128)                          \
    T(type, 16)            /* gpu, cpu, accelerator, other */                             \
    T(device_version, 128) T(driver_version, 128)                                         \
    I(compute_units) I(has_fp16)                                                          \
    N(global_mem_bytes)                                                                   \
    T(params, 64)          /* swacl's kernel parameter set for this device */

#define PROF_ROW_FIELDS(T, I, N)                                                          \
    T(name, 96)            /* key inside its suite; the same on every device */           \
    T(status, 12)          /* ok, unsupported, skipped, error */                          \
    T(reason, 256)         /* why, when not ok */                                         \
    T(shape, 32)                                                                          \
    I(n_heads) I(n_kv_heads) I(head_dim) I(window) I(n_sink)                              \
    I(n_tokens)            /* prefill: sequence length; decode: context per sequence */   \
    I(batch)               /* decode: sequences per step */                               \
    T(kv_dtype, 8)                                                                        \
    I(verified)            /* 1 = output checked against swacl_reference_attention */    \
    N(max_err)             /* largest |out - reference| of that check */                  \
    T(check, 128)          /* the instances that check ran */                             \
    I(samples) I(reps)                                                                    \
    T(unit, 12)            /* limits rows: unit of value */                               \
    N(value) N(value_min) N(value_max)                                                    \
    N(time_ms) N(time_min_ms) N(time_max_ms) /* kernel time per operation */              \
    N(wall_ms)             /* enqueue + finish, per operation */                          \
    N(gflops)              /* useful: 4 * head_dim * n_heads * visible pairs */           \
    N(bytes)               /* modelled minimum traffic per operation */                   \
    N(gbs) N(tokens_per_s)                                                                \
    N(pct_bw)              /* gbs / device read bandwidth, % */                           \
    N(pct_sgemm)           /* gflops / device CLBlast SGEMM rate, % */                    \
    N(speedup_naive)       /* naive baseline time / this time */                          \
    N(speedup_gemm)        /* CLBlast GEMM baseline time / this time */

#define PROF_STRUCT_T_(name, size) char name[size];
#define PROF_STRUCT_I_(name) int name;
#define PROF_STRUCT_N_(name) double name;

typedef struct prof_row {
    PROF_ROW_FIELDS(PROF_STRUCT_T_, PROF_STRUCT_I_, PROF_STRUCT_N_)
} prof_row;

typedef struct prof_suite {
    char name[24]; /* limits, prefill, chunked, decode, naive, gemm */
    prof_row *rows;
    int n_rows, cap_rows;
} prof_suite;

typedef struct prof_device {
    PROF_DEVICE_FIELDS(PROF_STRUCT_T_, PROF_STRUCT_I_, PROF_STRUCT_N_)
    prof_suite *suites;
    int n_suites, cap_suites;
} prof_device;

typedef struct prof_report {
    int format_version;
    PROF_REPORT_FIELDS(PROF_STRUCT_T_, PROF_STRUCT_I_, PROF_STRUCT_N_)
    prof_device *devices;
    int n_devices, cap_devices;
    char source[256]; /* file it was read from (not serialised) */
} prof_report;

/* Field descriptors generated from the lists, for generic writers and readers. */
typedef enum prof_field_kind { PROF_FIELD_TEXT, PROF_FIELD_INT, PROF_FIELD_NUM } prof_field_kind;
typedef struct prof_field {
    const char *name;
    prof_field_kind kind;
    size_t offset, size;
} prof_field;
extern const prof_field prof_report_fields[], prof_device_fields[], prof_row_fields[];
extern const int prof_n_report_fields, prof_n_device_fields, prof_n_row_fields;
/* formats a field as text ("" for an absent number); numbers round-trip exactly */
void prof_field_format(const prof_field *f, const void *obj, char *buf, size_t size);

/* Allocation failures print a message and exit: this is a command-line tool. */
void *prof_xrealloc(void *p, size_t n);
void prof_strlcpy(char *dst, const char *src, size_t size);

prof_report *prof_report_new(void);
void prof_report_free(prof_report *r);
prof_device *prof_report_add_device(prof_report *r);
/* the suite of that name, added at the end if missing */
prof_suite *prof_device_suite(prof_device *d, const char *name);
const prof_suite *prof_device_find_suite(const prof_device *d, const char *name);
/* a new row: numbers absent, integers 0, status "ok" */
prof_row *prof_suite_add_row(prof_suite *s, const char *name);
const prof_row *prof_suite_find_row(const prof_suite *s, const char *name);
void prof_row_init(prof_row *row, const char *name);
void prof_row_set_status(prof_row *row, prof_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
prof_status prof_row_status(const prof_row *row);

/* The one figure compare and plot show for a row: limits rows their value,
 * timed rows their time. *higher_is_better says which way is faster. */
/* the device's measured read bandwidth (GB/s) and best CLBlast SGEMM rate
 * (GFLOP/s) from its limits rows; NaN when not measured */
double prof_device_read_gbs(const prof_device *d);
double prof_device_sgemm_gflops(const prof_device *d);

int prof_row_primary(const char *suite, const prof_row *row, double *value, const char **unit,
                     int *higher_is_better);

/* ---- files ----------------------------------------------------------------- */

/* JSON is the record (compare and show read it back); CSV is an export only:
 * one line per row with format_version, report fields, device fields, suite, row fields */
int prof_json_write(const prof_report *r, FILE *out);
int prof_csv_write(const prof_report *r, FILE *out);
/* NULL on failure with a reason in err (line and column for syntax errors) */
prof_report *prof_json_parse(const char *text, char *err, size_t err_size);
/* the same from a file; err names the file */
prof_report *prof_json_read_file(const char *path, char *err, size_t err_size);
/* whole file into a NUL-terminated malloc'd buffer; NULL with errno set on failure */
char *prof_read_text_file(const char *path, size_t *len);

/* ---- text output ------------------------------------------------------------ */

typedef struct prof_table {
    int n_cols, n_rows, cap_cells, next_cell;
    char **cells; /* row-major; row 0 is the header */
    const char *right; /* per column: 'r' right-aligned, 'l' left */
} prof_table;
void prof_table_init(prof_table *t, int n_cols, const char *const *headers, const char *align);
void prof_table_cell(prof_table *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void prof_table_print(const prof_table *t, FILE *out, const char *indent);
void prof_table_free(prof_table *t);

/* number in a short human form ("12.3", "1.23k"), "-" when absent */
void prof_fmt_num(char *buf, size_t size, double v);
void prof_fmt_bytes(char *buf, size_t size, double bytes);

/* every device of a report: its limits, then the attention and baseline rows */
void prof_report_print(const prof_report *r, FILE *out);

/* Devices of one or more reports side by side: every (suite, row) of any of
 * them, each device's primary figure, and its ratio to the first device's
 * (> 1 means faster or more). Returns the number of devices shown. */
int prof_compare_print(prof_report *const *reports, int n_reports, FILE *out);

/* SVG: time (metric "time") or GB/s ("gbs") against sequence length (prefill,
 * chunked) and batch (decode), one panel per suite, one line per device and
 * configuration. 0 = ok. */
int prof_plot_svg(prof_report *const *reports, int n_reports, const char *metric, FILE *out);

/* ---- workloads ------------------------------------------------------------- */

typedef struct prof_shape {
    char name[32];
    int n_heads, n_kv_heads, head_dim, window, n_sink;
    float softcap;
    int sink_logits; /* 1 = learned per-head sink logits (gpt-oss) */
    int dilation;    /* > 1: a dilated window of W keys spread over W * dilation */
} prof_shape;

/* named shapes: laptop, laptop-d4, mistral, gemma2, gptoss, tiny. 0 = found */
int prof_shape_preset(const char *name, prof_shape *out);
const char *prof_shape_preset_names(void);
/* "name:heads/kv_heads/head_dim/window" or a preset name. 0 = ok */
int prof_shape_parse(const char *spec, prof_shape *out, char *err, size_t err_size);
/* cfg for a shape: fp32 q/k/v/out, cache storage kv; sink_store holds n_heads floats */
void prof_shape_config(const prof_shape *s, swacl_dtype kv, float *sink_store,
                       swacl_attn_config *cfg);

/* positions a window spans back: W * D (0 for full attention) */
int prof_reach(const swacl_attn_config *cfg);
/* keys visible to the query at position i of a sequence of n_total tokens (§1) */
int64_t prof_visible_keys(const swacl_attn_config *cfg, int64_t i, int64_t n_total);
/* sum over queries q_begin .. q_end-1 */
double prof_visible_pairs(const swacl_attn_config *cfg, int64_t q_begin, int64_t q_end,
                          int64_t n_total);
/* useful FLOPs: 4 * head_dim * n_heads * pairs (QK^T and PV, multiply + add) */
double prof_attention_flops(const swacl_attn_config *cfg, double pairs);
/* Modelled minimum device traffic in bytes: inputs read once, output written once,
 * cached keys/values read once per launch that needs them. */
double prof_bytes_oneshot(const swacl_attn_config *cfg, int64_t n);
double prof_bytes_chunked(const swacl_attn_config *cfg, int64_t n, int64_t chunk);
double prof_bytes_decode(const swacl_attn_config *cfg, int batch, int64_t pos);
size_t prof_dtype_size(swacl_dtype t);
const char *prof_dtype_name(swacl_dtype t);

/* ---- memory planner -------------------------------------------------------- */

typedef struct prof_model {
    char name[32];
    int n_layers;
    int alternate;   /* 1 = layers alternate SWA (even) / full (odd); 0 = all SWA */
    int n_heads, n_kv_heads, head_dim, window, n_sink, dilation;
    int sink_logits; /* learned sink logits: no memory, noted for completeness */
    swacl_dtype kv_dtype;
    char note[96];
} prof_model;

int prof_model_preset(const char *name, prof_model *out);
/* "mistral-7b mixtral-8x7b gemma2-9b gpt-oss-20b" */
const char *prof_model_preset_names(void);
/* KV bytes of one sequence of `context` tokens through swacl_cache_plan_bytes;
 * full_attention = 1 plans every layer with W = 0 instead */
swacl_status prof_model_kv_bytes(const prof_model *m, int full_attention, int64_t context,
                                 uint64_t *bytes);
/* tokens that can influence the last one: layers x (W - 1) x D + 1 for a pure
 * SWA stack (capped at context); the context itself when any layer is full */
int64_t prof_model_receptive_field(const prof_model *m, int64_t context);
/* "1K" = 1024, "1M" = 1048576, or a plain number; -1 if invalid */
int64_t prof_parse_count(const char *text);
/* the planner's table for each model at each context; 0 = ok, else the failing status */
int prof_memory_print(const prof_model *models, int n_models, const int64_t *contexts,
                      int n_contexts, FILE *out);

#endif /* SWACL_PROF_H */
