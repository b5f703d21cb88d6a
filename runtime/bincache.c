/* bincache.c — the on-disk program binary cache: directory resolution, keys, and
 * the validated entry format described in bincache.h. POSIX, C11 and libxxhash. */
#define _POSIX_C_SOURCE 200809L

#include "bincache.h"
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <xxhash.h>

enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_SIZE = 12,
    OFF_DIGEST = 20,
    OFF_KEY = 36,
    KEY_HEX_LEN = SWACL_BINCACHE_KEY_LEN,
};
_Static_assert(KEY_HEX_LEN == 2 * SWACL_DIGEST_SIZE, "key length");
_Static_assert(OFF_DIGEST + SWACL_DIGEST_SIZE == OFF_KEY, "header layout");
_Static_assert(OFF_KEY + KEY_HEX_LEN == SWACL_BINCACHE_HEADER_SIZE, "header layout");

/* ---- small helpers -------------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Keys become file names, so only the exact form this file writes is accepted:
 * that also rules out path separators and "..". */
static int key_is_valid(const char *key_hex)
{
    if (key_hex == NULL)
        return 0;
    for (int i = 0; i < KEY_HEX_LEN; i++) {
        char ch = key_hex[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0; /* also stops at an early NUL */
    }
    return key_hex[KEY_HEX_LEN] == '\0';
}

/* malloc'd concatenation of up to three strings (b, c may be NULL) */
static char *concat3(const char *a, size_t a_len, const char *b, const char *c)
{
    size_t b_len = b ? strlen(b) : 0, c_len = c ? strlen(c) : 0;
    char *s = malloc(a_len + b_len + c_len + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, a, a_len);
    if (b_len)
        memcpy(s + a_len, b, b_len);
    if (c_len)
        memcpy(s + a_len + b_len, c, c_len);
    s[a_len + b_len + c_len] = '\0';
    return s;
}

/* base + "/" + leaf without doubling a trailing slash of base */
static char *path_join(const char *base, const char *leaf)
{
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    return concat3(base, len, "/", leaf);
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : NULL;
}

static int equals_ignoring_case(const char *s, const char *lower)
{
    for (; *s && *lower; s++, lower++) {
        char ch = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
        if (ch != *lower)
            return 0;
    }
    return *s == '\0' && *lower == '\0';
}

static int cache_disabled_by_env(void)
{
    const char *v = env_nonempty("SWACL_CACHE");
    if (v == NULL)
        return 0;
    return equals_ignoring_case(v, "off") || equals_ignoring_case(v, "0") ||
           equals_ignoring_case(v, "no") || equals_ignoring_case(v, "false");
}

static char *entry_path(const char *dir, const char *key_hex)
{
    char *with_slash = path_join(dir, key_hex);
    if (with_slash == NULL)
        return NULL;
    char *path = concat3(with_slash, strlen(with_slash), ".bin", NULL);
    free(with_slash);
    return path;
}

/* reads until n bytes or end of file; returns the count, or -1 on an I/O error */
static ssize_t read_full(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int write_full(int fd, const unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p: an existing component is fine whatever errno mkdir gives for it
 * (EEXIST, or EACCES/EROFS on some systems for directories we may not modify) */
static int make_dirs(const char *dir)
{
    char *p = concat3(dir, strlen(dir), NULL, NULL);
    if (p == NULL)
        return -1;
    int rc = 0;
    for (char *s = p + 1; rc == 0; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && !is_directory(p))
            rc = -1;
        *s = saved;
        if (saved == '\0')
            break;
    }
    free(p);
    return rc;
}

/* Deletes a bad entry only if the path still names the file that was read: a
 * writer may have renamed a good entry into place meanwhile. */
static void remove_if_unchanged(const char *path, const struct stat *read_st)
{
    struct stat now;
    if (stat(path, &now) == 0 && now.st_dev == read_st->st_dev && now.st_ino == read_st->st_ino)
        (void)unlink(path);
}

/* ---- API ------------------------------------------------------------------------ */

char *swacl_bincache_dir(const char *opt_dir)
{
    if (cache_disabled_by_env())
        return NULL;
    if (opt_dir != NULL && opt_dir[0] != '\0')
        return concat3(opt_dir, strlen(opt_dir), NULL, NULL);
    const char *v = env_nonempty("SWACL_CACHE_DIR");
    if (v != NULL)
        return concat3(v, strlen(v), NULL, NULL);
    /* the XDG base directory spec says relative values are to be ignored */
    v = env_nonempty("XDG_CACHE_HOME");
    if (v != NULL && v[0] == '/')
        return path_join(v, "swacl");
    v = env_nonempty("HOME");
    if (v != NULL)
        return path_join(v, ".cache/swacl");
    return NULL;
}

void swacl_bincache_key(const char *const parts[], int n_parts,
                        char hex_out[SWACL_BINCACHE_KEY_LEN + 1])
{
    static const char domain[] = "swacl-bincache-key-v2";
    static const char hex_digits[] = "0123456789abcdef";
    unsigned char u64[8];

    hex_out[0] = '\0';
    /* the streaming state is opaque in the shared library, so it lives on the heap */
    XXH3_state_t *st = XXH3_createState();
    if (st == NULL || XXH3_128bits_reset(st) != XXH_OK) {
        XXH3_freeState(st);
        return; /* the empty key: no entry is read or written under it */
    }
    if (parts == NULL || n_parts < 0)
        n_parts = 0;
    XXH3_128bits_update(st, domain, sizeof domain - 1);
    put_u64(u64, (uint64_t)n_parts);
    XXH3_128bits_update(st, u64, sizeof u64);
    for (int i = 0; i < n_parts; i++) {
        if (parts[i] == NULL) {
            put_u64(u64, UINT64_MAX);
            XXH3_128bits_update(st, u64, sizeof u64);
            continue;
        }
        size_t len = strlen(parts[i]);
        put_u64(u64, (uint64_t)len);
        XXH3_128bits_update(st, u64, sizeof u64);
        XXH3_128bits_update(st, parts[i], len);
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
    XXH3_freeState(st);
    for (int i = 0; i < SWACL_DIGEST_SIZE; i++) {
        hex_out[2 * i] = hex_digits[c.digest[i] >> 4];
        hex_out[2 * i + 1] = hex_digits[c.digest[i] & 15];
    }
    hex_out[KEY_HEX_LEN] = '\0';
}

int swacl_bincache_parse(const unsigned char *data, size_t n, const char *key_hex,
                         const unsigned char **payload, size_t *payload_size)
{
    if (data == NULL || payload == NULL || payload_size == NULL || !key_is_valid(key_hex))
        return 0;
    if (n < SWACL_BINCACHE_HEADER_SIZE)
        return 0;
    if (memcmp(data + OFF_MAGIC, SWACL_BINCACHE_MAGIC, 8) != 0)
        return 0;
    if (get_u32(data + OFF_VERSION) != SWACL_BINCACHE_FORMAT_VERSION)
        return 0;
    uint64_t size = get_u64(data + OFF_SIZE);
    if (size == 0 || size > SWACL_BINCACHE_MAX_PAYLOAD)
        return 0;
    if ((uint64_t)(n - SWACL_BINCACHE_HEADER_SIZE) != size)
        return 0;
    if (memcmp(data + OFF_KEY, key_hex, KEY_HEX_LEN) != 0)
        return 0;
    unsigned char digest[SWACL_DIGEST_SIZE];
    swacl_digest(data + SWACL_BINCACHE_HEADER_SIZE, (size_t)size, digest);
    if (memcmp(digest, data + OFF_DIGEST, sizeof digest) != 0)
        return 0;
    *payload = data + SWACL_BINCACHE_HEADER_SIZE;
    *payload_size = (size_t)size;
    return 1;
}

int swacl_bincache_load(const char *dir, const char *key_hex, unsigned char **bin, size_t *size)
{
    if (dir == NULL || dir[0] == '\0' || !key_is_valid(key_hex) || bin == NULL || size == NULL)
        return 0;
    char *path = entry_path(dir, key_hex);
    if (path == NULL)
        return 0;
    /* O_NONBLOCK so a FIFO planted under the entry's name cannot hang the open */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        free(path);
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        /* not something this cache wrote: a miss, but not ours to delete */
        close(fd);
        free(path);
        return 0;
    }

    int hit = 0, bad = 0;
    if (st.st_size < (off_t)SWACL_BINCACHE_HEADER_SIZE ||
        (uint64_t)st.st_size > (uint64_t)SWACL_BINCACHE_HEADER_SIZE + SWACL_BINCACHE_MAX_PAYLOAD) {
        bad = 1;
    } else {
        size_t file_size = (size_t)st.st_size;
        unsigned char *data = malloc(file_size);
        ssize_t got = data ? read_full(fd, data, file_size) : -1;
        /* out of memory or an I/O error says nothing about the entry: keep it */
        if (got >= 0) {
            const unsigned char *payload;
            size_t payload_size;
            if (swacl_bincache_parse(data, (size_t)got, key_hex, &payload, &payload_size)) {
                memmove(data, payload, payload_size);
                unsigned char *shrunk = realloc(data, payload_size);
                *bin = shrunk ? shrunk : data;
                *size = payload_size;
                data = NULL;
                hit = 1;
            } else {
                bad = 1;
            }
        }
        free(data);
    }
    if (bad)
        remove_if_unchanged(path, &st);
    close(fd);
    free(path);
    return hit;
}

int swacl_bincache_store(const char *dir, const char *key_hex, const unsigned char *bin,
                         size_t size)
{
    if (dir == NULL || dir[0] == '\0' || !key_is_valid(key_hex) || bin == NULL || size == 0 ||
        size > SWACL_BINCACHE_MAX_PAYLOAD)
        return -1;
    if (make_dirs(dir) != 0)
        return -1;

    unsigned char header[SWACL_BINCACHE_HEADER_SIZE];
    memcpy(header + OFF_MAGIC, SWACL_BINCACHE_MAGIC, 8);
    put_u32(header + OFF_VERSION, SWACL_BINCACHE_FORMAT_VERSION);
    put_u64(header + OFF_SIZE, (uint64_t)size);
    swacl_digest(bin, size, header + OFF_DIGEST);
    memcpy(header + OFF_KEY, key_hex, KEY_HEX_LEN);

    char *path = entry_path(dir, key_hex);
    char *with_slash = path_join(dir, key_hex);
    /* the temp name never ends in ".bin", so readers never open a partial entry */
    char *tmp = with_slash ? concat3(with_slash, strlen(with_slash), ".tmp.XXXXXX", NULL) : NULL;
    free(with_slash);
    int rc = -1;
    if (path != NULL && tmp != NULL) {
        int fd = mkstemp(tmp);
        if (fd >= 0) {
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
            int ok = write_full(fd, header, sizeof header) == 0 && write_full(fd, bin, size) == 0;
            /* close can report a deferred write error (NFS, quota) */
            ok = (close(fd) == 0) && ok;
            if (ok && rename(tmp, path) == 0)
                rc = 0;
            else
                (void)unlink(tmp);
        }
    }
    free(tmp);
    free(path);
    return rc;
}
