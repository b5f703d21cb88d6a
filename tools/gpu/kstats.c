/* kstats.c — what the device's own OpenCL compiler makes of each kernel build: reads
 * `swacl-info --kernel-options SET` lines ("file kernel options") on stdin, builds each on the
 * device and prints one row per line: registers and spill bytes from the build log (NVIDIA
 * prints them for -cl-nv-verbose), the kernel's private and local memory, and the largest
 * work-group the compiled kernel can run, against the one attend_tiled is launched with.
 *
 * Usage: swacl-info --kernel-options gpu-nvidia | kstats [EXTRA_BUILD_OPTIONS]
 * Device: the first GPU whose name contains $KSTATS_DEVICE (default: the first GPU, else the
 * first device). A row fails on a build error, spills, a stack frame or private memory, or a
 * work-group limit below the launch's. Exit status: 0 every row passed, 1 some failed, 2 no
 * device. KSTATS_SHOW=N also prints the first N builds' compiler messages and the directives
 * of the binary the driver returns. Built and run by tools/gpu/run-nvidia.sh against
 * libswacl_internal.a (for the sources). */
#define CL_TARGET_OPENCL_VERSION 120
#include "internal.h" /* swacl_program_source */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cl_device_id pick_device(void)
{
    cl_platform_id plats[16];
    cl_uint np = 0;
    if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS)
        return NULL;
    const char *want = getenv("KSTATS_DEVICE");
    cl_device_id any = NULL;
    for (cl_uint i = 0; i < np && i < 16; i++) {
        cl_device_id devs[16];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint j = 0; j < nd && j < 16; j++) {
            char name[256] = "";
            cl_device_type type = 0;
            clGetDeviceInfo(devs[j], CL_DEVICE_NAME, sizeof name, name, NULL);
            clGetDeviceInfo(devs[j], CL_DEVICE_TYPE, sizeof type, &type, NULL);
            if (!any)
                any = devs[j];
            if ((type & CL_DEVICE_TYPE_GPU) && (!want || strstr(name, want)))
                return devs[j];
            if (want && strstr(name, want))
                return devs[j];
        }
    }
    return want ? NULL : any;
}

/* the value of -DNAME=N in options, or 0 */
static long opt_value(const char *options, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "-D%s=", name);
    const char *at = strstr(options, key);
    return at ? strtol(at + strlen(key), NULL, 10) : 0;
}

/* the number written just before `phrase` in [from, to), or -1 */
static long number_before(const char *from, const char *to, const char *phrase)
{
    const char *at = strstr(from, phrase);
    if (!at || (to && at >= to))
        return -1;
    const char *p = at;
    while (p > from && p[-1] == ' ')
        p--;
    while (p > from && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return (p[0] >= '0' && p[0] <= '9') ? strtol(p, NULL, 10) : -1;
}

/* NVIDIA's verbose log for one kernel: "Compiling entry function 'K'", then
   "N bytes stack frame, S bytes spill stores, L bytes spill loads" and "Used R registers" */
static void parse_log(const char *log, const char *kernel, long *regs, long *spill, long *stack)
{
    char key[160];
    snprintf(key, sizeof key, "entry function '%s'", kernel);
    const char *at = strstr(log, key);
    if (!at)
        return;
    const char *next = strstr(at + strlen(key), "entry function '");
    *stack = number_before(at, next, "bytes stack frame");
    const long st = number_before(at, next, "bytes spill stores");
    const long ld = number_before(at, next, "bytes spill loads");
    *spill = st >= 0 && ld >= 0 ? st + ld : -1;
    const char *u = strstr(at, "Used ");
    if (u && (!next || u < next))
        sscanf(u, "Used %ld registers", regs);
}

/* the lines of text that contain any of the words, each indented with a tag */
static void show_lines(const char *tag, const char *text, size_t size, const char *const *words)
{
    const char *end = text + size;
    for (const char *l = text; l < end && *l;) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        const size_t len = nl ? (size_t)(nl - l) : strlen(l);
        for (const char *const *w = words; *w; w++) {
            const size_t wl = strlen(*w);
            int hit = 0;
            for (size_t i = 0; i + wl <= len && !hit; i++)
                hit = memcmp(l + i, *w, wl) == 0;
            if (hit) {
                printf("    %s| %.*s\n", tag, (int)len, l);
                break;
            }
        }
        l = nl ? nl + 1 : end;
    }
}

/* KSTATS_SHOW=N: the first N builds' compiler messages and the directives of the binary the
   driver returns (PTX on NVIDIA: how it passes the work-group size to ptxas) */
static void show_build(cl_program prog, const char *log)
{
    static int shown;
    const char *env = getenv("KSTATS_SHOW");
    if (!env || shown >= atoi(env))
        return;
    shown++;
    static const char *const log_words[] = {"ptxas", "bytes", "registers", NULL};
    if (log)
        show_lines("log", log, strlen(log), log_words);
    size_t bin_size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof bin_size, &bin_size, NULL) !=
            CL_SUCCESS ||
        !bin_size)
        return;
    unsigned char *bin = malloc(bin_size + 1);
    if (bin && clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS) {
        bin[bin_size] = 0;
        static const char *const bin_words[] = {".entry", "reqntid", "maxntid", "maxnreg",
                                                "minnctapersm", ".target", ".version", NULL};
        show_lines("bin", (const char *)bin, bin_size, bin_words);
    }
    free(bin);
}

int main(int argc, char **argv)
{
    const char *extra = argc > 1 ? argv[1] : "";
    cl_device_id dev = pick_device();
    if (!dev) {
        fprintf(stderr, "kstats: no OpenCL device\n");
        return 2;
    }
    char dname[256] = "";
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof dname, dname, NULL);
    cl_int err;
    cl_context cx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    if (!cx) {
        fprintf(stderr, "kstats: clCreateContext failed (%d)\n", err);
        return 2;
    }
    printf("# kstats on %s, extra options \"%s\"\n", dname, extra);
    printf("%-13s %5s %6s %6s %8s %7s %7s  %-6s %s\n", "kernel", "regs", "spill", "stack",
           "private", "local", "wg/need", "result", "options");
    char line[2048];
    int rows = 0, failed = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char file[128], kernel[128];
        int used = 0;
        if (line[0] == '#' || sscanf(line, "%127s %127s %n", file, kernel, &used) < 2)
            continue;
        const char *options = line + used;
        char *text = NULL;
        size_t size = 0;
        rows++;
        if (swacl_program_source(NULL, file, &text, &size) != SWACL_OK) {
            printf("%-13s no source %s\n", kernel, file);
            failed++;
            continue;
        }
        char opts[2300];
        snprintf(opts, sizeof opts, "%s %s", options, extra);
        const char *src = text;
        cl_program prog = clCreateProgramWithSource(cx, 1, &src, &size, &err);
        free(text);
        cl_int built = prog ? clBuildProgram(prog, 1, &dev, opts, NULL, NULL) : err;
        size_t log_size = 0;
        char *log = NULL;
        if (prog && clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size) ==
                        CL_SUCCESS &&
            (log = calloc(log_size + 1, 1)))
            clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, log_size, log, NULL);
        cl_kernel k = built == CL_SUCCESS ? clCreateKernel(prog, kernel, &err) : NULL;
        /* the options without what every build shares */
        const char *shown = strstr(options, "-DHEAD_DIM=");
        if (!k) {
            printf("%-13s %5s %6s %6s %8s %7s %7s  %-6s %s\n", kernel, "-", "-", "-", "-", "-",
                   "-", "FAIL", shown ? shown : options);
            if (log)
                printf("    build log: %.600s\n", log);
            failed++;
        } else {
            cl_ulong priv = 0, local = 0;
            size_t wg = 0;
            clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_PRIVATE_MEM_SIZE, sizeof priv, &priv, NULL);
            clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
            clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
            long regs = -1, spill = -1, stack = -1;
            if (log)
                parse_log(log, kernel, &regs, &spill, &stack);
            const long need = strcmp(kernel, "attend_tiled") == 0
                                  ? opt_value(options, "WG_M") * opt_value(options, "WG_N")
                                  : 0;
            const int bad = priv > 0 || spill > 0 || stack > 0 || (need > 0 && (long)wg < need);
            char wgs[32];
            snprintf(wgs, sizeof wgs, need ? "%zu/%ld" : "%zu", wg, need);
            char r[16], sp[16], stk[16];
            snprintf(r, sizeof r, regs >= 0 ? "%ld" : "-", regs);
            snprintf(sp, sizeof sp, spill >= 0 ? "%ld" : "-", spill);
            snprintf(stk, sizeof stk, stack >= 0 ? "%ld" : "-", stack);
            printf("%-13s %5s %6s %6s %8llu %7llu %7s  %-6s %s\n", kernel, r, sp, stk,
                   (unsigned long long)priv, (unsigned long long)local, wgs, bad ? "FAIL" : "ok",
                   shown ? shown : options);
            failed += bad;
            show_build(prog, log);
            clReleaseKernel(k);
        }
        free(log);
        if (prog)
            clReleaseProgram(prog);
        fflush(stdout);
    }
    clReleaseContext(cx);
    printf("# kstats: %d rows, %d failed\n", rows, failed);
    return failed ? 1 : 0;
}
