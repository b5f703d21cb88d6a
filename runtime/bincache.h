/* bincache.h — the on-disk cache of built OpenCL program binaries, so a program
 * is compiled once per (source, options, device, driver, library) and not per run.
 *
 * Location (swacl_bincache_dir): the caller's directory, else $SWACL_CACHE_DIR,
 * else $XDG_CACHE_HOME/swacl (absolute values only, as the XDG spec says), else
 * $HOME/.cache/swacl. SWACL_CACHE=off (or 0, no, false) turns caching off
 * everywhere, whatever the caller asked, so a user can rule the cache out when
 * chasing a driver problem. Empty variables count as unset.
 *
 * Key: XXH3-128 of the caller's parts (kernel source, build options, platform
 * name+version, device name+version, driver version, library version), hashed as
 *     "swacl-bincache-key-v2" | u64 n_parts | for each part: u64 length, bytes
 * with little-endian u64s; a NULL part hashes as length 2^64-1 and no bytes. The
 * length prefixes keep ("ab","c") and ("a","bc") apart. Written as 32 lowercase
 * hex digits of the canonical (big-endian) hash; the entry's file is
 * <dir>/<key>.bin. XXH3 is no cryptographic hash: the key tells builds apart, it
 * does not authenticate the directory's contents.
 *
 * File format, version 2 (integers little-endian):
 *     offset  size  field
 *          0     8  magic "SWACLBIN"
 *          8     4  format version (2)
 *         12     8  payload size in bytes, 1 .. SWACL_BINCACHE_MAX_PAYLOAD
 *         20    16  XXH3-128 of the payload, canonical (big-endian) form
 *         36    32  the key, lowercase hex, as in the file name
 *         68     …  payload (the program binary), exactly `payload size` bytes
 * An entry is valid only if every field checks out and the file ends right after
 * the payload. The key inside catches files copied or renamed under another key.
 * An entry of another format version is a bad entry: a miss, deleted like any
 * other. Version 1 entries (SHA-256 keys: 64-digit names) are never looked up
 * again; they stay until the directory is cleared.
 *
 * Concurrency: writers build a private temp file (mkstemp) in the directory and
 * rename() it into place, so readers see an old entry or a whole new one, never
 * a half-written one. A reader that finds a bad entry deletes it (the caller then
 * rebuilds and stores a fresh one). No fsync: a torn entry after a crash is just
 * a bad entry. Nothing here prints, exits or keeps global state. */
#ifndef SWACL_BINCACHE_H
#define SWACL_BINCACHE_H

#include <stddef.h>

#define SWACL_BINCACHE_MAGIC "SWACLBIN"
#define SWACL_BINCACHE_FORMAT_VERSION 2u
#define SWACL_BINCACHE_HEADER_SIZE 68u
/* hex digits of a key; buffers for one take SWACL_BINCACHE_KEY_LEN + 1 chars */
#define SWACL_BINCACHE_KEY_LEN 32
/* no real program binary comes near this; larger sizes mean a corrupt file */
#define SWACL_BINCACHE_MAX_PAYLOAD ((size_t)1 << 30)

/* Cache directory, malloc'd (caller frees), or NULL when caching is off or no
 * location can be found. Creates nothing. */
char *swacl_bincache_dir(const char *opt_dir);

/* Key of an entry from n_parts strings (NULL entries allowed), as
 * SWACL_BINCACHE_KEY_LEN hex digits plus NUL. When host memory runs out the key
 * is the empty string, which load and store refuse: a miss, and nothing stored. */
void swacl_bincache_key(const char *const parts[], int n_parts,
                        char hex_out[SWACL_BINCACHE_KEY_LEN + 1]);

/* Reads <dir>/<key_hex>.bin. Returns 1 on a hit with *bin malloc'd (caller frees)
 * and *size set; 0 on a miss, leaving *bin and *size untouched. A truncated,
 * corrupt or foreign entry is deleted and counts as a miss. */
int swacl_bincache_load(const char *dir, const char *key_hex, unsigned char **bin, size_t *size);

/* Writes <dir>/<key_hex>.bin atomically, creating dir and its parents (0755) when
 * missing. Returns 0, or -1 on any failure (nothing is left behind). */
int swacl_bincache_store(const char *dir, const char *key_hex, const unsigned char *bin,
                         size_t size);

/* Validates a whole entry held in memory against key_hex. Returns 1 and points
 * *payload into data (borrowed, not copied) when valid, else 0 and leaves the
 * outputs untouched. Safe on any content and any n. */
int swacl_bincache_parse(const unsigned char *data, size_t n, const char *key_hex,
                         const unsigned char **payload, size_t *payload_size);

#endif /* SWACL_BINCACHE_H */
