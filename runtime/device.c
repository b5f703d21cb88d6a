/* device.c — device discovery, capabilities (probed once per device) and
 * selection by $SWACL_DEVICE-style selectors: "P:D", gpu/cpu/accelerator, or a
 * case-insensitive substring of platform, vendor or device name. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void get_str(cl_device_id d, cl_device_info what, char *buf, size_t n)
{
    buf[0] = 0;
    if (clGetDeviceInfo(d, what, n, buf, NULL) != CL_SUCCESS)
        buf[0] = 0;
    buf[n - 1] = 0;
}

static void probe_one(cl_platform_id p, cl_device_id d, swacl_caps *c)
{
    memset(c, 0, sizeof *c);
    c->platform = p;
    c->device = d;
    clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof c->platform_name, c->platform_name, NULL);
    clGetPlatformInfo(p, CL_PLATFORM_VERSION, sizeof c->platform_version, c->platform_version,
                      NULL);
    c->platform_name[sizeof c->platform_name - 1] = 0;
    c->platform_version[sizeof c->platform_version - 1] = 0;
    get_str(d, CL_DEVICE_VENDOR, c->vendor, sizeof c->vendor);
    get_str(d, CL_DEVICE_NAME, c->name, sizeof c->name);
    get_str(d, CL_DEVICE_VERSION, c->device_version, sizeof c->device_version);
    get_str(d, CL_DRIVER_VERSION, c->driver_version, sizeof c->driver_version);

    cl_device_type t = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    c->type = (t & CL_DEVICE_TYPE_GPU)           ? SWACL_DEV_GPU
              : (t & CL_DEVICE_TYPE_CPU)         ? SWACL_DEV_CPU
              : (t & CL_DEVICE_TYPE_ACCELERATOR) ? SWACL_DEV_ACCEL
                                                 : SWACL_DEV_OTHER;
    cl_uint u = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u, &u, NULL);
    c->compute_units = (int)u;
    u = 0;
    clGetDeviceInfo(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof u, &u, NULL);
    c->vec_width = (int)u;
    size_t wg = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    c->max_wg_size = (int)(wg > 65536 ? 65536 : wg);
    cl_ulong ul = 0;
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof ul, &ul, NULL);
    c->local_mem = ul;
    ul = 0;
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof ul, &ul, NULL);
    c->global_mem = ul;
    ul = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ul, &ul, NULL);
    c->max_alloc = ul;
    cl_device_local_mem_type lt = CL_LOCAL;
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_TYPE, sizeof lt, &lt, NULL);
    c->local_mem_is_global = lt == CL_GLOBAL;

    cl_device_fp_config fp = 0;
    clGetDeviceInfo(d, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    c->has_fma = (fp & CL_FP_FMA) != 0;

    size_t ext_size = 0;
    clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &ext_size);
    char *ext = calloc(ext_size + 1, 1);
    if (ext && clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, ext_size, ext, NULL) == CL_SUCCESS) {
        c->has_fp16 = strstr(ext, "cl_khr_fp16") != NULL;
        c->has_fp64 = strstr(ext, "cl_khr_fp64") != NULL;
        c->has_subgroups = strstr(ext, "cl_khr_subgroups") != NULL ||
                           strstr(ext, "cl_intel_subgroups") != NULL;
    }
    free(ext);
}

swacl_status swacl_device_describe(cl_device_id dev, swacl_caps *out, char *msg, size_t msg_size)
{
    cl_platform_id p = NULL;
    cl_int err = clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof p, &p, NULL);
    if (err != CL_SUCCESS) {
        snprintf(msg, msg_size, "not an OpenCL device (%s)", swacl_cl_error_name(err));
        return SWACL_ERR_INVALID_ARGUMENT;
    }
    probe_one(p, dev, out);
    /* its "P:D" selector, where the loader lists it (a sub-device has none) */
    out->platform_index = out->device_index = -1;
    cl_platform_id plats[64];
    cl_uint np = 0;
    if (clGetPlatformIDs(64, plats, &np) != CL_SUCCESS)
        np = 0;
    for (cl_uint pi = 0; pi < np && pi < 64 && out->device_index < 0; pi++) {
        cl_device_id devs[64];
        cl_uint nd = 0;
        if (plats[pi] != p || clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 64, devs, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint di = 0; di < nd && di < 64; di++)
            if (devs[di] == dev) {
                out->platform_index = (int)pi;
                out->device_index = (int)di;
            }
    }
    return SWACL_OK;
}

swacl_status swacl_devices_probe(swacl_caps **out, int *n)
{
    *out = NULL;
    *n = 0;
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: ICD loader without platforms */ || np == 0)
        return SWACL_OK;
    if (err != CL_SUCCESS)
        return SWACL_ERR_OPENCL;
    cl_platform_id *plats = calloc(np, sizeof *plats);
    if (!plats)
        return SWACL_ERR_OUT_OF_MEMORY;
    clGetPlatformIDs(np, plats, NULL);
    swacl_caps *caps = NULL;
    int count = 0;
    for (cl_uint pi = 0; pi < np; pi++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[pi], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || !nd)
            continue;
        cl_device_id *devs = calloc(nd, sizeof *devs);
        swacl_caps *grown = realloc(caps, (size_t)(count + (int)nd) * sizeof *caps);
        if (!devs || !grown) {
            free(devs);
            free(grown ? grown : caps);
            free(plats);
            return SWACL_ERR_OUT_OF_MEMORY;
        }
        caps = grown;
        clGetDeviceIDs(plats[pi], CL_DEVICE_TYPE_ALL, nd, devs, NULL);
        for (cl_uint di = 0; di < nd; di++) {
            probe_one(plats[pi], devs[di], &caps[count]);
            caps[count].platform_index = (int)pi;
            caps[count].device_index = (int)di;
            count++;
        }
        free(devs);
    }
    free(plats);
    *out = caps;
    *n = count;
    return SWACL_OK;
}

static const char *type_name(swacl_devtype t)
{
    switch (t) {
    case SWACL_DEV_GPU: return "gpu";
    case SWACL_DEV_CPU: return "cpu";
    case SWACL_DEV_ACCEL: return "accelerator";
    default: return "other";
    }
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static int matches(const swacl_caps *c, const char *sel)
{
    int p, d;
    char tail;
    if (sscanf(sel, "%d:%d%c", &p, &d, &tail) == 2)
        return c->platform_index == p && c->device_index == d;
    if (!strcmp(sel, "gpu") || !strcmp(sel, "cpu") || !strcmp(sel, "accelerator"))
        return !strcmp(type_name(c->type), sel);
    return contains_nocase(c->platform_name, sel) || contains_nocase(c->vendor, sel) ||
           contains_nocase(c->name, sel);
}

swacl_status swacl_device_select(const char *sel, swacl_caps *out, char *msg, size_t msg_size)
{
    swacl_caps *all;
    int n;
    msg[0] = 0;
    swacl_status s = swacl_devices_probe(&all, &n);
    if (s != SWACL_OK) {
        snprintf(msg, msg_size, "could not list OpenCL platforms (%s)", swacl_status_string(s));
        return s;
    }
    if (n == 0) {
        snprintf(msg, msg_size,
                 "no OpenCL device found (is an ICD installed? e.g. pocl-opencl-icd)");
        return SWACL_ERR_NO_DEVICE;
    }
    int pick = -1;
    if (!sel || !*sel) {
        for (int i = 0; i < n && pick < 0; i++)
            if (all[i].type == SWACL_DEV_GPU)
                pick = i;
        if (pick < 0)
            pick = 0;
    } else {
        for (int i = 0; i < n && pick < 0; i++)
            if (matches(&all[i], sel))
                pick = i;
    }
    if (pick < 0) {
        size_t len = (size_t)snprintf(msg, msg_size, "no device matches \"%s\"; devices:", sel);
        for (int i = 0; i < n && len < msg_size; i++)
            len += (size_t)snprintf(msg + len, msg_size - len, " [%d:%d %s, %s, %s]",
                                    all[i].platform_index, all[i].device_index,
                                    type_name(all[i].type), all[i].platform_name, all[i].name);
        free(all);
        return SWACL_ERR_NO_DEVICE;
    }
    *out = all[pick];
    free(all);
    return SWACL_OK;
}

void swacl_caps_to_info(const swacl_caps *c, swacl_device_info *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->selector, sizeof o->selector, "%d:%d", c->platform_index, c->device_index);
    snprintf(o->platform, sizeof o->platform, "%s", c->platform_name);
    snprintf(o->vendor, sizeof o->vendor, "%s", c->vendor);
    snprintf(o->name, sizeof o->name, "%s", c->name);
    snprintf(o->device_version, sizeof o->device_version, "%s", c->device_version);
    snprintf(o->driver_version, sizeof o->driver_version, "%s", c->driver_version);
    snprintf(o->type, sizeof o->type, "%s", type_name(c->type));
    o->compute_units = c->compute_units;
    o->max_work_group_size = c->max_wg_size;
    o->has_fp16 = c->has_fp16;
    o->has_subgroups = c->has_subgroups;
    o->local_mem_is_global = c->local_mem_is_global;
    o->local_mem_bytes = c->local_mem;
    o->global_mem_bytes = c->global_mem;
    o->max_alloc_bytes = c->max_alloc;
    swacl_params p = swacl_params_for(c);
    snprintf(o->params, sizeof o->params, "%s", p.name);
    swacl_params_describe(&p, o->params_detail, sizeof o->params_detail);
}

swacl_status swacl_devices_list(swacl_device_info *out, int max, int *n_out)
{
    if (!n_out || max < 0 || (max > 0 && !out))
        return SWACL_ERR_INVALID_ARGUMENT;
    swacl_caps *all;
    int n;
    swacl_status s = swacl_devices_probe(&all, &n);
    if (s != SWACL_OK)
        return s;
    for (int i = 0; i < n && i < max; i++)
        swacl_caps_to_info(&all[i], &out[i]);
    free(all);
    *n_out = n;
    return SWACL_OK;
}
