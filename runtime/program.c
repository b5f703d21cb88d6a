/* program.c — kernel sources (embedded at build time, or read from
 * $SWACL_KERNEL_DIR while developing), program builds per (file, options) with
 * an in-memory cache on the context, backed by the on-disk binary cache. */
#include "bincache.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct swacl_embedded_source {
    const char *name;
    const char *text;
    size_t size;
};
extern const struct swacl_embedded_source swacl_embedded_sources[];

#define SWACL_MAX_KERNELS_PER_PROGRAM 4

struct swacl_program_entry {
    char *key; /* file + '\n' + options */
    cl_program program;
    char *kernel_names[SWACL_MAX_KERNELS_PER_PROGRAM];
    cl_kernel kernels[SWACL_MAX_KERNELS_PER_PROGRAM];
    swacl_program_entry *next;
};

static char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = swacl_malloc((size_t)n + 1))) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = 0;
            *size = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

swacl_status swacl_kernel_source(swacl_context *ctx, const char *name, char **text, size_t *size)
{
    const char *dir = getenv("SWACL_KERNEL_DIR");
    if (dir && *dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        *text = read_file(path, size);
        if (!*text)
            return swacl_fail(ctx, SWACL_ERR_IO, "cannot read kernel source %s", path);
        return SWACL_OK;
    }
    for (const struct swacl_embedded_source *e = swacl_embedded_sources; e->name; e++) {
        if (strcmp(e->name, name) != 0)
            continue;
        *text = swacl_malloc(e->size + 1);
        if (!*text)
            return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
        memcpy(*text, e->text, e->size);
        (*text)[e->size] = 0;
        *size = e->size;
        return SWACL_OK;
    }
    return swacl_fail(ctx, SWACL_ERR_IO, "kernel source %s is not embedded", name);
}

swacl_status swacl_program_source(swacl_context *ctx, const char *file, char **out, size_t *size)
{
    char *common, *body;
    size_t nc, nb;
    swacl_status s = swacl_kernel_source(ctx, "common.h.cl", &common, &nc);
    if (s != SWACL_OK)
        return s;
    s = swacl_kernel_source(ctx, file, &body, &nb);
    if (s != SWACL_OK) {
        free(common);
        return s;
    }
    char *all = swacl_malloc(nc + nb + 2);
    if (!all) {
        free(common);
        free(body);
        return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    memcpy(all, common, nc);
    all[nc] = '\n';
    memcpy(all + nc + 1, body, nb);
    all[nc + nb + 1] = 0;
    free(common);
    free(body);
    *out = all;
    *size = nc + nb + 1;
    return SWACL_OK;
}

static void cache_key(const swacl_context *ctx, const char *src, const char *options,
                      char hex[SWACL_BINCACHE_KEY_LEN + 1])
{
    const swacl_caps *c = &ctx->caps;
    const char *parts[] = {src,       options,           c->platform_name, c->platform_version,
                           c->name,   c->device_version, c->driver_version, SWACL_VERSION_STRING};
    swacl_bincache_key(parts, (int)(sizeof parts / sizeof parts[0]), hex);
}

static swacl_status build_log_fail(swacl_context *ctx, cl_program prog, cl_int err,
                                   const char *file, const char *options)
{
    char log[6000] = "";
    size_t n = 0;
    clGetProgramBuildInfo(prog, ctx->caps.device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, &n);
    log[sizeof log - 1] = 0;
    return swacl_fail(ctx, SWACL_ERR_BUILD, "building %s with \"%s\": %s (%d)\n%s", file,
                      options, swacl_cl_error_name(err), (int)err, log);
}

/* builds from a cached binary if there is a good one, else from source (and caches it) */
static swacl_status build_program(swacl_context *ctx, const char *file, const char *options,
                                  cl_program *out)
{
    char *src = NULL;
    size_t src_size = 0;
    swacl_status s = swacl_program_source(ctx, file, &src, &src_size);
    if (s != SWACL_OK)
        return s;
    if (swacl_fault_hit(SWACL_FAULT_BUILD)) {
        free(src);
        return swacl_fail(ctx, SWACL_ERR_BUILD, "building %s: injected failure", file);
    }
    char key[SWACL_BINCACHE_KEY_LEN + 1];
    cache_key(ctx, src, options, key);
    cl_int err;
    cl_device_id dev = ctx->caps.device;

    unsigned char *bin = NULL;
    size_t bin_size = 0;
    if (ctx->cache_dir && swacl_bincache_load(ctx->cache_dir, key, &bin, &bin_size) == 1) {
        const unsigned char *bins[1] = {bin};
        cl_int bin_status = CL_SUCCESS;
        cl_program prog = clCreateProgramWithBinary(ctx->cl_ctx, 1, &dev, &bin_size, bins,
                                                    &bin_status, &err);
        free(bin);
        if (err == CL_SUCCESS && bin_status == CL_SUCCESS &&
            clBuildProgram(prog, 1, &dev, options, NULL, NULL) == CL_SUCCESS) {
            free(src);
            *out = prog;
            return SWACL_OK;
        }
        if (prog)
            clReleaseProgram(prog);
        /* the driver refused the entry (e.g. updated in place): rebuild from source */
    }

    const char *srcs[1] = {src};
    cl_program prog = clCreateProgramWithSource(ctx->cl_ctx, 1, srcs, &src_size, &err);
    free(src);
    if (err != CL_SUCCESS)
        return swacl_fail_cl(ctx, err, "clCreateProgramWithSource");
    err = clBuildProgram(prog, 1, &dev, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        s = build_log_fail(ctx, prog, err, file, options);
        clReleaseProgram(prog);
        return s;
    }
    if (ctx->cache_dir) {
        size_t n = 0;
        if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL) == CL_SUCCESS &&
            n > 0) {
            unsigned char *b = malloc(n);
            unsigned char *bins[1] = {b};
            if (b && clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) ==
                         CL_SUCCESS)
                swacl_bincache_store(ctx->cache_dir, key, b, n); /* best effort */
            free(b);
        }
    }
    *out = prog;
    return SWACL_OK;
}

swacl_status swacl_get_kernel(swacl_context *ctx, const char *file, const char *options,
                              const char *kernel_name, cl_kernel *out)
{
    size_t klen = strlen(file) + strlen(options) + 2;
    char *key = swacl_malloc(klen);
    if (!key)
        return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    snprintf(key, klen, "%s\n%s", file, options);

    swacl_program_entry *e = ctx->programs;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    if (!e) {
        e = swacl_calloc(1, sizeof *e);
        if (!e) {
            free(key);
            return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
        }
        swacl_status s = build_program(ctx, file, options, &e->program);
        if (s != SWACL_OK) {
            free(e);
            free(key);
            return s;
        }
        e->key = key;
        e->next = ctx->programs;
        ctx->programs = e;
    } else {
        free(key);
    }
    int slot = 0;
    for (; slot < SWACL_MAX_KERNELS_PER_PROGRAM && e->kernel_names[slot]; slot++) {
        if (!strcmp(e->kernel_names[slot], kernel_name)) {
            *out = e->kernels[slot];
            return SWACL_OK;
        }
    }
    if (slot == SWACL_MAX_KERNELS_PER_PROGRAM)
        return swacl_fail(ctx, SWACL_ERR_UNSUPPORTED, "too many kernels from %s", file);
    cl_int err;
    cl_kernel kern = clCreateKernel(e->program, kernel_name, &err);
    if (err != CL_SUCCESS)
        return swacl_fail_cl(ctx, err, "clCreateKernel");
    char *name_copy = swacl_malloc(strlen(kernel_name) + 1);
    if (!name_copy) {
        clReleaseKernel(kern);
        return swacl_fail(ctx, SWACL_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    strcpy(name_copy, kernel_name);
    e->kernel_names[slot] = name_copy;
    e->kernels[slot] = kern;
    *out = kern;
    return SWACL_OK;
}

void swacl_programs_release(swacl_context *ctx)
{
    swacl_program_entry *e = ctx->programs;
    while (e) {
        swacl_program_entry *next = e->next;
        for (int i = 0; i < SWACL_MAX_KERNELS_PER_PROGRAM && e->kernel_names[i]; i++) {
            clReleaseKernel(e->kernels[i]);
            free(e->kernel_names[i]);
        }
        clReleaseProgram(e->program);
        free(e->key);
        free(e);
        e = next;
    }
    ctx->programs = NULL;
}
