/* swacl-info — lists the OpenCL devices as swacl sees them: capabilities and the
 * kernel parameter set each would use, marking the default device. With
 * --kernel-options / --kernel-source it prints every build a parameter set can
 * select and the exact text built, so any toolchain can compile them by hand. */
#include "swacl.h"
#include "internal.h" /* the launch planner and kernel sources */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_variant(const char *file, const char *kernel, const char *options, void *user)
{
    (void)user;
    printf("%s %s %s\n", file, kernel, options);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: swacl-info\n"
               "       swacl-info --kernel-options PARAMSET\n"
               "       swacl-info --kernel-source FILE.cl\n"
               "Lists OpenCL devices, their capabilities and swacl's parameter set for each.\n"
               "Pick a device for any swacl program with SWACL_DEVICE=P:D | gpu | cpu |\n"
               "accelerator | <name substring>.\n"
               "--kernel-options prints one line per kernel build the parameter set\n"
               "(gpu-nvidia, gpu-amd, gpu-intel, gpu, cpu, generic; refined as in\n"
               "SWACL_PARAMS by \",key=value\" pairs, e.g. gpu-nvidia,wg_m=16) can select:\n"
               "<file.cl> <kernel> <build options>. --kernel-source prints the text built\n"
               "for FILE.cl. Neither needs a device.\n");
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--kernel-options")) {
        if (swacl_kernel_variants(argv[2], print_variant, NULL) != 0) {
            fprintf(stderr, "swacl-info: no parameter set named '%s'\n", argv[2]);
            return 2;
        }
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--kernel-source")) {
        char *text;
        size_t size;
        if (swacl_program_source(NULL, argv[2], &text, &size) != SWACL_OK) {
            fprintf(stderr, "swacl-info: %s\n", swacl_last_error(NULL));
            return 2;
        }
        fwrite(text, 1, size, stdout);
        free(text);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "swacl-info: unknown arguments (see --help)\n");
        return 2;
    }
    int n = 0;
    swacl_status s = swacl_devices_list(NULL, 0, &n);
    if (s != SWACL_OK) {
        fprintf(stderr, "swacl-info: %s\n", swacl_status_string(s));
        return 1;
    }
    printf("swacl %s: %d OpenCL device%s\n", swacl_version_string(), n, n == 1 ? "" : "s");
    if (n == 0)
        return 1;
    swacl_device_info *devs = calloc((size_t)n, sizeof *devs);
    if (!devs || swacl_devices_list(devs, n, &n) != SWACL_OK)
        return 1;

    char default_sel[16] = "";
    swacl_context *ctx = NULL;
    if (swacl_context_create(NULL, &ctx) == SWACL_OK) {
        swacl_device_info d;
        swacl_context_device_info(ctx, &d);
        snprintf(default_sel, sizeof default_sel, "%s", d.selector);
        swacl_context_destroy(ctx);
    } else {
        printf("default device: none (%s)\n", swacl_last_error(NULL));
    }
    for (int i = 0; i < n; i++) {
        const swacl_device_info *d = &devs[i];
        printf("\n[%s]%s %s\n", d->selector, strcmp(d->selector, default_sel) ? "" : " (default)",
               d->name);
        printf("  platform        %s\n", d->platform);
        printf("  vendor          %s\n", d->vendor);
        printf("  type            %s\n", d->type);
        printf("  version         %s / driver %s\n", d->device_version, d->driver_version);
        printf("  compute units   %d\n", d->compute_units);
        printf("  max work-group  %d\n", d->max_work_group_size);
        printf("  fp16            %s\n", d->has_fp16 ? "yes (cl_khr_fp16)" : "no (vload_half/vstore_half, fp32 math)");
        printf("  subgroups       %s\n", d->has_subgroups ? "yes" : "no");
        printf("  local memory    %llu KiB%s\n", (unsigned long long)(d->local_mem_bytes >> 10),
               d->local_mem_is_global ? " (emulated in global memory)" : "");
        printf("  global memory   %llu MiB, largest allocation %llu MiB\n",
               (unsigned long long)(d->global_mem_bytes >> 20),
               (unsigned long long)(d->max_alloc_bytes >> 20));
        printf("  swacl params    %s: %s\n", d->params, d->params_detail);
    }
    free(devs);
    return 0;
}
