/* fault.c — test-only fault injection: make the N-th OpenCL allocation, enqueue,
 * program build or host allocation fail. Compiled in only with
 * SWACL_FAULT_INJECTION; armed through $SWACL_FAULT="kind:N" (kind = cl_alloc,
 * enqueue, build, host_alloc; N counts from 1 over the whole process) or
 * swacl_fault_arm(). Inert (never fails) when not armed; the installed library has
 * none of it (internal.h folds swacl_fault_hit to 0). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#ifdef SWACL_FAULT_INJECTION
static long fault_target[SWACL_FAULT_KINDS_];
static long fault_count[SWACL_FAULT_KINDS_];
static int fault_env_read;

static const char *const fault_names[SWACL_FAULT_KINDS_] = {"cl_alloc", "enqueue", "build",
                                                             "host_alloc"};

int swacl_fault_arm(int kind, long n)
{
    fault_env_read = 1;
    for (int i = 0; i < SWACL_FAULT_KINDS_; i++) {
        fault_target[i] = 0;
        fault_count[i] = 0;
    }
    if (kind >= 0 && kind < SWACL_FAULT_KINDS_)
        fault_target[kind] = n;
    return 1;
}

long swacl_fault_count(int kind)
{
    return (kind >= 0 && kind < SWACL_FAULT_KINDS_) ? fault_count[kind] : 0;
}

static void fault_read_env(void)
{
    fault_env_read = 1;
    const char *e = getenv("SWACL_FAULT");
    if (!e)
        return;
    for (int i = 0; i < SWACL_FAULT_KINDS_; i++) {
        size_t len = strlen(fault_names[i]);
        if (strncmp(e, fault_names[i], len) == 0 && e[len] == ':')
            fault_target[i] = strtol(e + len + 1, NULL, 10);
    }
}

int swacl_fault_hit(swacl_fault_kind kind)
{
    if (!fault_env_read)
        fault_read_env();
    long n = ++fault_count[kind];
    return fault_target[kind] > 0 && n == fault_target[kind];
}
#endif

void *swacl_malloc(size_t n)
{
    if (swacl_fault_hit(SWACL_FAULT_HOST_ALLOC))
        return NULL;
    return malloc(n ? n : 1);
}

void *swacl_calloc(size_t n, size_t size)
{
    if (swacl_fault_hit(SWACL_FAULT_HOST_ALLOC))
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}
