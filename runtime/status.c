/* status.c — status strings, OpenCL error names and the per-context last-error
 * message (a thread-local slot holds the message of a failed context create). */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char create_error[SWACL_ERR_MSG_MAX];

const char *swacl_status_string(swacl_status s)
{
    switch (s) {
#define SWACL_STATUS_CASE_(name, code, text) \
    case SWACL_##name:                       \
        return text;
        SWACL_STATUS_MAP(SWACL_STATUS_CASE_)
#undef SWACL_STATUS_CASE_
    }
    return "unknown status";
}

const char *swacl_last_error(const swacl_context *ctx)
{
    return ctx ? ctx->err : create_error;
}

swacl_status swacl_fail(swacl_context *ctx, swacl_status s, const char *fmt, ...)
{
    char *dst = ctx ? ctx->err : create_error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, SWACL_ERR_MSG_MAX, fmt, ap);
    va_end(ap);
    return s;
}

const char *swacl_cl_error_name(cl_int err)
{
    switch (err) {
#define CL_NAME_(x) \
    case x:         \
        return #x;
        CL_NAME_(CL_SUCCESS)
        CL_NAME_(CL_DEVICE_NOT_FOUND)
        CL_NAME_(CL_DEVICE_NOT_AVAILABLE)
        CL_NAME_(CL_COMPILER_NOT_AVAILABLE)
        CL_NAME_(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        CL_NAME_(CL_OUT_OF_RESOURCES)
        CL_NAME_(CL_OUT_OF_HOST_MEMORY)
        CL_NAME_(CL_PROFILING_INFO_NOT_AVAILABLE)
        CL_NAME_(CL_MEM_COPY_OVERLAP)
        CL_NAME_(CL_IMAGE_FORMAT_MISMATCH)
        CL_NAME_(CL_IMAGE_FORMAT_NOT_SUPPORTED)
        CL_NAME_(CL_BUILD_PROGRAM_FAILURE)
        CL_NAME_(CL_MAP_FAILURE)
        CL_NAME_(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        CL_NAME_(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        CL_NAME_(CL_COMPILE_PROGRAM_FAILURE)
        CL_NAME_(CL_LINKER_NOT_AVAILABLE)
        CL_NAME_(CL_LINK_PROGRAM_FAILURE)
        CL_NAME_(CL_DEVICE_PARTITION_FAILED)
        CL_NAME_(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
        CL_NAME_(CL_INVALID_VALUE)
        CL_NAME_(CL_INVALID_DEVICE_TYPE)
        CL_NAME_(CL_INVALID_PLATFORM)
        CL_NAME_(CL_INVALID_DEVICE)
        CL_NAME_(CL_INVALID_CONTEXT)
        CL_NAME_(CL_INVALID_QUEUE_PROPERTIES)
        CL_NAME_(CL_INVALID_COMMAND_QUEUE)
        CL_NAME_(CL_INVALID_HOST_PTR)
        CL_NAME_(CL_INVALID_MEM_OBJECT)
        CL_NAME_(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
        CL_NAME_(CL_INVALID_IMAGE_SIZE)
        CL_NAME_(CL_INVALID_SAMPLER)
        CL_NAME_(CL_INVALID_BINARY)
        CL_NAME_(CL_INVALID_BUILD_OPTIONS)
        CL_NAME_(CL_INVALID_PROGRAM)
        CL_NAME_(CL_INVALID_PROGRAM_EXECUTABLE)
        CL_NAME_(CL_INVALID_KERNEL_NAME)
        CL_NAME_(CL_INVALID_KERNEL_DEFINITION)
        CL_NAME_(CL_INVALID_KERNEL)
        CL_NAME_(CL_INVALID_ARG_INDEX)
        CL_NAME_(CL_INVALID_ARG_VALUE)
        CL_NAME_(CL_INVALID_ARG_SIZE)
        CL_NAME_(CL_INVALID_KERNEL_ARGS)
        CL_NAME_(CL_INVALID_WORK_DIMENSION)
        CL_NAME_(CL_INVALID_WORK_GROUP_SIZE)
        CL_NAME_(CL_INVALID_WORK_ITEM_SIZE)
        CL_NAME_(CL_INVALID_GLOBAL_OFFSET)
        CL_NAME_(CL_INVALID_EVENT_WAIT_LIST)
        CL_NAME_(CL_INVALID_EVENT)
        CL_NAME_(CL_INVALID_OPERATION)
        CL_NAME_(CL_INVALID_GL_OBJECT)
        CL_NAME_(CL_INVALID_BUFFER_SIZE)
        CL_NAME_(CL_INVALID_MIP_LEVEL)
        CL_NAME_(CL_INVALID_GLOBAL_WORK_SIZE)
        CL_NAME_(CL_INVALID_PROPERTY)
        CL_NAME_(CL_INVALID_IMAGE_DESCRIPTOR)
        CL_NAME_(CL_INVALID_COMPILER_OPTIONS)
        CL_NAME_(CL_INVALID_LINKER_OPTIONS)
        CL_NAME_(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef CL_NAME_
    default:
        return "CL_UNKNOWN_ERROR";
    }
}

swacl_status swacl_fail_cl(swacl_context *ctx, cl_int err, const char *what)
{
    swacl_status s = (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY ||
                      err == CL_OUT_OF_RESOURCES || err == CL_INVALID_BUFFER_SIZE)
                         ? SWACL_ERR_OUT_OF_MEMORY
                         : SWACL_ERR_OPENCL;
    return swacl_fail(ctx, s, "%s: %s (%d)", what, swacl_cl_error_name(err), (int)err);
}

unsigned swacl_version_number(void) { return SWACL_VERSION_NUMBER; }
const char *swacl_version_string(void) { return SWACL_VERSION_STRING; }
