/* test_host_bincache.c — host-only tests of SHA-256 and the on-disk program binary
 * cache: standard vectors, keys, round trips, corrupt entries, unwritable places,
 * and where the cache lives. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "bincache.h"
#include "sha256.h"

/* ---- helpers ---------------------------------------------------------------------- */

static void digest_hex_of(const void *data, size_t n, char hex[65])
{
    unsigned char d[SWACL_SHA256_DIGEST_SIZE];
    swacl_sha256_buffer(data, n, d);
    swacl_sha256_hex(d, hex);
}

/* the same message fed in pieces of `piece` bytes, to exercise buffering */
static void digest_hex_in_pieces(const unsigned char *data, size_t n, size_t piece, char hex[65])
{
    unsigned char d[SWACL_SHA256_DIGEST_SIZE];
    swacl_sha256_ctx c;
    swacl_sha256_init(&c);
    for (size_t off = 0; off < n; off += piece)
        swacl_sha256_update(&c, data + off, (n - off < piece) ? n - off : piece);
    swacl_sha256_final(&c, d);
    swacl_sha256_hex(d, hex);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

static char *entry_file(const char *dir, const char *key)
{
    size_t n = strlen(dir) + strlen(key) + 6;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s/%s.bin", dir, key);
    return s;
}

static int path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static void spill(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n > 0)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* rm -rf, making directories writable first (the read-only test leaves one) */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d != NULL) {
            for (struct dirent *e; (e = readdir(d)) != NULL;) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char *child = join(path, e->d_name);
                remove_tree(child);
                free(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void make_key(const char *seed, char key[65])
{
    const char *parts[] = {seed};
    swacl_bincache_key(parts, 1, key);
}

/* a payload with every byte value, odd length so nothing lines up by chance */
static unsigned char payload[1001];

static void fill_payload(void)
{
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (unsigned char)(i * 131u + 7u);
}

/* every test gets a fresh temp directory as its state */
static int make_tmpdir(void **state)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = join((base && base[0]) ? base : "/tmp", "swacl-bincache-XXXXXX");
    if (mkdtemp(tmpl) == NULL) {
        free(tmpl);
        return -1;
    }
    fill_payload();
    *state = tmpl;
    return 0;
}

static int drop_tmpdir(void **state)
{
    remove_tree(*state);
    free(*state);
    return 0;
}

/* ---- SHA-256 -------------------------------------------------------------------- */

static void test_sha256_standard_vectors(void **state)
{
    (void)state;
    static const struct { const char *msg, *hex; } vectors[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
         "opqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char hex[65];
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const unsigned char *m = (const unsigned char *)vectors[i].msg;
        size_t n = strlen(vectors[i].msg);
        digest_hex_of(m, n, hex);
        assert_string_equal(hex, vectors[i].hex);
        for (size_t piece = 1; piece <= 65; piece += 3) {
            digest_hex_in_pieces(m, n, piece, hex);
            assert_string_equal(hex, vectors[i].hex);
        }
    }
    /* the NULL-with-zero-length form the header allows */
    digest_hex_of(NULL, 0, hex);
    assert_string_equal(hex, vectors[0].hex);
}

static void test_sha256_million_a(void **state)
{
    (void)state;
    static const char expect[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    size_t n = 1000000;
    unsigned char *m = malloc(n);
    assert_non_null(m);
    memset(m, 'a', n);
    char hex[65];
    digest_hex_of(m, n, hex);
    assert_string_equal(hex, expect);
    digest_hex_in_pieces(m, n, 997, hex); /* prime piece: every block offset occurs */
    assert_string_equal(hex, expect);
    free(m);
}

/* lengths around the 56-byte point where padding spills into a second block */
static void test_sha256_padding_boundaries(void **state)
{
    (void)state;
    static const struct { size_t n; const char *hex; } cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    };
    unsigned char m[128];
    memset(m, 'a', sizeof m);
    char hex[65];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        digest_hex_of(m, cases[i].n, hex);
        assert_string_equal(hex, cases[i].hex);
        digest_hex_in_pieces(m, cases[i].n, 1, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

/* ---- keys -------------------------------------------------------------------------- */

static void assert_key_shape(const char key[65])
{
    assert_int_equal(strlen(key), 64);
    for (int i = 0; i < 64; i++)
        assert_true((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f'));
}

static void test_key_separates_parts(void **state)
{
    (void)state;
    const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"}, *abc[] = {"abc"};
    const char *a_empty[] = {"a", ""}, *a_null[] = {"a", NULL};
    const char *ab_c_again[] = {"ab", "c"}, *ab_d[] = {"ab", "d"};
    char k1[65], k2[65], k3[65], k4[65], k5[65], k6[65], k7[65];
    swacl_bincache_key(ab_c, 2, k1);
    swacl_bincache_key(a_bc, 2, k2);
    swacl_bincache_key(abc, 1, k3);
    swacl_bincache_key(a_empty, 2, k4);
    swacl_bincache_key(a_empty, 1, k5);
    swacl_bincache_key(a_null, 2, k6);
    swacl_bincache_key(ab_d, 2, k7);
    const char *all[] = {k1, k2, k3, k4, k5, k6, k7};
    for (int i = 0; i < 7; i++) {
        assert_key_shape(all[i]);
        for (int j = i + 1; j < 7; j++)
            assert_string_not_equal(all[i], all[j]);
    }
    /* deterministic: equal parts in another array give the same key */
    char again[65];
    swacl_bincache_key(ab_c_again, 2, again);
    assert_string_equal(again, k1);
    /* no parts at all is still a well-formed key */
    swacl_bincache_key(NULL, 0, again);
    assert_key_shape(again);
}

/* ---- store / load ---------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    const char *root = *state;
    char *dir = join(root, "nested/deeper/cache"); /* parents do not exist yet */
    char key[65];
    make_key("round trip", key);

    assert_int_equal(swacl_bincache_store(dir, key, payload, sizeof payload), 0);
    char *file = entry_file(dir, key);
    assert_true(path_exists(file));
    assert_int_equal(count_entries(dir), 1); /* no temp file left behind */
    size_t file_size;
    free(slurp(file, &file_size));
    assert_int_equal(file_size, SWACL_BINCACHE_HEADER_SIZE + sizeof payload);

    for (int round = 0; round < 2; round++) { /* a hit leaves the entry in place */
        unsigned char *bin = NULL;
        size_t size = 0;
        assert_int_equal(swacl_bincache_load(dir, key, &bin, &size), 1);
        assert_non_null(bin);
        assert_int_equal(size, sizeof payload);
        assert_memory_equal(bin, payload, sizeof payload);
        free(bin);
        assert_true(path_exists(file));
    }

    /* storing again replaces the entry */
    static const unsigned char other[] = {1, 2, 3};
    assert_int_equal(swacl_bincache_store(dir, key, other, sizeof other), 0);
    unsigned char *bin = NULL;
    size_t size = 0;
    assert_int_equal(swacl_bincache_load(dir, key, &bin, &size), 1);
    assert_int_equal(size, sizeof other);
    assert_memory_equal(bin, other, sizeof other);
    free(bin);
    assert_int_equal(count_entries(dir), 1);

    /* a trailing slash on the directory names the same entry */
    char *slashed = join(dir, "");
    assert_int_equal(swacl_bincache_load(slashed, key, &bin, &size), 1);
    free(bin);
    free(slashed);
    free(file);
    free(dir);
}

static void test_miss_and_bad_arguments(void **state)
{
    const char *dir = *state;
    char key[65];
    make_key("never stored", key);
    unsigned char sentinel_byte;
    unsigned char *bin = &sentinel_byte;
    size_t size = 12345;

    assert_int_equal(swacl_bincache_load(dir, key, &bin, &size), 0);
    char *missing = join(dir, "no/such/dir");
    assert_int_equal(swacl_bincache_load(missing, key, &bin, &size), 0);
    assert_false(path_exists(missing)); /* a load creates nothing */
    free(missing);
    assert_ptr_equal(bin, &sentinel_byte);
    assert_int_equal(size, 12345);

    /* keys are file names: only the exact 64-lowercase-hex form is accepted */
    char upper[65], shorter[65];
    strcpy(upper, key);
    for (char *c = upper; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    strcpy(shorter, key);
    shorter[63] = '\0';
    char longer[66];
    snprintf(longer, sizeof longer, "%s0", key);
    const char *bad_keys[] = {upper, shorter, longer, "../../../../tmp/x", "", NULL};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        assert_int_equal(swacl_bincache_store(dir, bad_keys[i], payload, sizeof payload), -1);
        assert_int_equal(swacl_bincache_load(dir, bad_keys[i], &bin, &size), 0);
    }
    assert_int_equal(count_entries(dir), 0);

    assert_int_equal(swacl_bincache_store(NULL, key, payload, sizeof payload), -1);
    assert_int_equal(swacl_bincache_store("", key, payload, sizeof payload), -1);
    assert_int_equal(swacl_bincache_store(dir, key, NULL, sizeof payload), -1);
    assert_int_equal(swacl_bincache_store(dir, key, payload, 0), -1);
    assert_int_equal(swacl_bincache_load(NULL, key, &bin, &size), 0);
    assert_int_equal(swacl_bincache_load(dir, key, NULL, &size), 0);
    assert_int_equal(count_entries(dir), 0);
    assert_ptr_equal(bin, &sentinel_byte);
}

enum mutation {
    FLIP_PAYLOAD_BYTE,
    FLIP_DIGEST_BYTE,
    TRUNCATE_HEADER,
    TRUNCATE_PAYLOAD,
    WRONG_MAGIC,
    WRONG_VERSION,
    ABSURD_SIZE,
    ZERO_SIZE,
    TRAILING_BYTE,
    EMPTY_FILE,
    KEY_INSIDE_DIFFERS,
};

static const struct { enum mutation m; const char *name; } mutations[] = {
    {FLIP_PAYLOAD_BYTE, "flipped payload byte"},
    {FLIP_DIGEST_BYTE, "flipped digest byte"},
    {TRUNCATE_HEADER, "truncated header"},
    {TRUNCATE_PAYLOAD, "truncated payload"},
    {WRONG_MAGIC, "wrong magic"},
    {WRONG_VERSION, "wrong format version"},
    {ABSURD_SIZE, "absurd payload size"},
    {ZERO_SIZE, "zero payload size"},
    {TRAILING_BYTE, "trailing byte"},
    {EMPTY_FILE, "empty file"},
    {KEY_INSIDE_DIFFERS, "entry of another key"},
};

/* header offsets, written out here independently of bincache.c */
enum { AT_VERSION = 8, AT_SIZE = 12, AT_DIGEST = 20, AT_KEY = 52 };

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void test_corrupt_entries_are_deleted(void **state)
{
    const char *dir = *state;
    char key[65], other_key[65];
    make_key("corrupt", key);
    make_key("someone else", other_key);
    char *file = entry_file(dir, key);
    const size_t header = SWACL_BINCACHE_HEADER_SIZE;

    for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
        print_message("mutation: %s\n", mutations[i].name);
        const char *stored_key = mutations[i].m == KEY_INSIDE_DIFFERS ? other_key : key;
        char *stored_file = entry_file(dir, stored_key);
        assert_int_equal(swacl_bincache_store(dir, stored_key, payload, sizeof payload), 0);
        size_t n;
        unsigned char *data = slurp(stored_file, &n);
        assert_int_equal(n, header + sizeof payload);
        /* the untouched entry is valid under its own key: the mutation is what fails it */
        const unsigned char *view;
        size_t view_size;
        assert_int_equal(swacl_bincache_parse(data, n, stored_key, &view, &view_size), 1);
        switch (mutations[i].m) {
        case FLIP_PAYLOAD_BYTE: data[header + 500] ^= 0x01; break;
        case FLIP_DIGEST_BYTE: data[AT_DIGEST + 31] ^= 0x80; break;
        case TRUNCATE_HEADER: n = 10; break;
        case TRUNCATE_PAYLOAD: n -= 1; break;
        case WRONG_MAGIC: data[0] = 'X'; break;
        case WRONG_VERSION: data[AT_VERSION] ^= 0x02; break;
        case ABSURD_SIZE: put_le64(data + AT_SIZE, (uint64_t)1 << 62); break;
        case ZERO_SIZE: put_le64(data + AT_SIZE, 0); break;
        case TRAILING_BYTE: data[n++] = 0; break; /* slurp left one spare byte */
        case EMPTY_FILE: n = 0; break;
        case KEY_INSIDE_DIFFERS: unlink(stored_file); break; /* copied under `key` below */
        }
        spill(file, data, n);
        free(data);
        free(stored_file);

        unsigned char *bin = NULL;
        size_t size = 0;
        assert_int_equal(swacl_bincache_load(dir, key, &bin, &size), 0);
        assert_null(bin);
        assert_false(path_exists(file));
        assert_int_equal(count_entries(dir), 0);
    }

    /* after a bad entry is gone, the rebuilt one is stored and found again */
    assert_int_equal(swacl_bincache_store(dir, key, payload, sizeof payload), 0);
    unsigned char *bin = NULL;
    size_t size = 0;
    assert_int_equal(swacl_bincache_load(dir, key, &bin, &size), 1);
    assert_memory_equal(bin, payload, sizeof payload);
    free(bin);
    free(file);
}

/* The in-memory validator: every single-bit change and every truncation of a
 * valid entry is rejected, and random bytes never pass or crash it. */
static void test_parse_rejects_any_damage(void **state)
{
    const char *dir = *state;
    char key[65];
    make_key("parse", key);
    static const unsigned char small[] = "a small program binary";
    assert_int_equal(swacl_bincache_store(dir, key, small, sizeof small), 0);
    char *file = entry_file(dir, key);
    size_t n;
    unsigned char *data = slurp(file, &n);
    free(file);

    const unsigned char *p = NULL;
    size_t psize = 0;
    assert_int_equal(swacl_bincache_parse(data, n, key, &p, &psize), 1);
    assert_ptr_equal(p, data + SWACL_BINCACHE_HEADER_SIZE);
    assert_int_equal(psize, sizeof small);
    assert_memory_equal(p, small, sizeof small);
    assert_memory_equal(data, "SWACLBIN", 8);
    assert_memory_equal(data + AT_KEY, key, 64);

    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            data[i] ^= (unsigned char)(1u << bit);
            p = NULL;
            if (swacl_bincache_parse(data, n, key, &p, &psize) != 0)
                fail_msg("bit %d of byte %zu flipped and still accepted", bit, i);
            assert_null(p);
            data[i] ^= (unsigned char)(1u << bit);
        }
    }
    for (size_t len = 0; len < n; len++)
        assert_int_equal(swacl_bincache_parse(data, len, key, &p, &psize), 0);
    assert_int_equal(swacl_bincache_parse(NULL, n, key, &p, &psize), 0);
    assert_int_equal(swacl_bincache_parse(data, n, NULL, &p, &psize), 0);
    assert_int_equal(swacl_bincache_parse(data, n, key, NULL, &psize), 0);
    assert_int_equal(swacl_bincache_parse(data, n, key, &p, NULL), 0);

    /* a self-consistent entry with an empty payload is still no program binary */
    unsigned char empty_entry[SWACL_BINCACHE_HEADER_SIZE];
    memcpy(empty_entry, data, sizeof empty_entry);
    put_le64(empty_entry + AT_SIZE, 0);
    swacl_sha256_buffer(NULL, 0, empty_entry + AT_DIGEST);
    assert_int_equal(swacl_bincache_parse(empty_entry, sizeof empty_entry, key, &p, &psize), 0);

    /* random bytes behind a valid magic and version, so the deeper checks run */
    uint32_t rng = 12345u;
    unsigned char noise[512];
    for (int trial = 0; trial < 2000; trial++) {
        size_t len = (size_t)(trial % (int)sizeof noise);
        for (size_t i = 0; i < len; i++) {
            rng = rng * 1664525u + 1013904223u;
            noise[i] = (unsigned char)(rng >> 24);
        }
        if (len >= 12 && trial % 2 == 0)
            memcpy(noise, data, 12);
        assert_int_equal(swacl_bincache_parse(noise, len, key, &p, &psize), 0);
    }
    free(data);
}

/* things under the entry's name that this cache never wrote are misses, not
 * deletions, and must not hang the reader */
static void test_non_regular_entries(void **state)
{
    const char *dir = *state;
    char key[65];
    unsigned char *bin = NULL;
    size_t size = 0;

    make_key("a directory", key);
    char *file = entry_file(dir, key);
    assert_int_equal(mkdir(file, 0755), 0);
    assert_int_equal(swacl_bincache_load(dir, key, &bin, &size), 0);
    assert_true(path_exists(file));
    /* and a store cannot replace a directory */
    assert_int_equal(swacl_bincache_store(dir, key, payload, sizeof payload), -1);
    assert_int_equal(count_entries(dir), 1);
    free(file);

    make_key("a fifo", key);
    file = entry_file(dir, key);
    assert_int_equal(mkfifo(file, 0600), 0);
    assert_int_equal(swacl_bincache_load(dir, key, &bin, &size), 0);
    assert_true(path_exists(file));
    assert_null(bin);
    free(file);
}

static void test_unwritable_under_regular_file(void **state)
{
    const char *root = *state;
    char key[65];
    make_key("unwritable", key);
    char *plain = join(root, "plain-file");
    spill(plain, (const unsigned char *)"x", 1);
    char *below = join(plain, "cache");

    assert_int_equal(swacl_bincache_store(below, key, payload, sizeof payload), -1);
    assert_int_equal(swacl_bincache_store(plain, key, payload, sizeof payload), -1);
    unsigned char *bin = NULL;
    size_t size = 0;
    assert_int_equal(swacl_bincache_load(below, key, &bin, &size), 0);
    assert_int_equal(count_entries(root), 1);
    size_t n;
    free(slurp(plain, &n));
    assert_int_equal(n, 1); /* the file in the way is left alone */
    free(below);
    free(plain);
}

static void test_unwritable_read_only_dir(void **state)
{
    const char *root = *state;
    char *ro = join(root, "read-only");
    assert_int_equal(mkdir(ro, 0700), 0);
    assert_int_equal(chmod(ro, 0500), 0);

    /* root (or CAP_DAC_OVERRIDE) writes through 0500: probe instead of guessing */
    char *probe = join(ro, "probe");
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        close(fd);
        unlink(probe);
        free(probe);
        free(ro);
        print_message("skipping: permission bits do not stop writes here (running as root?)\n");
        skip();
    }
    free(probe);

    char key[65];
    make_key("read-only", key);
    assert_int_equal(swacl_bincache_store(ro, key, payload, sizeof payload), -1);
    assert_int_equal(count_entries(ro), 0);
    char *sub = join(ro, "sub");
    assert_int_equal(swacl_bincache_store(sub, key, payload, sizeof payload), -1);
    assert_false(path_exists(sub));
    free(sub);
    free(ro);
}

/* ---- cache location ---------------------------------------------------------- */

static const char *const location_vars[] = {"SWACL_CACHE", "SWACL_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
#define N_LOCATION_VARS (sizeof location_vars / sizeof location_vars[0])

/* unset means NULL; anything else (including "") is set */
static void set_location_env(const char *cache, const char *cache_dir, const char *xdg, const char *home)
{
    const char *values[N_LOCATION_VARS] = {cache, cache_dir, xdg, home};
    for (size_t i = 0; i < N_LOCATION_VARS; i++) {
        if (values[i] == NULL)
            assert_int_equal(unsetenv(location_vars[i]), 0);
        else
            assert_int_equal(setenv(location_vars[i], values[i], 1), 0);
    }
}

static void test_dir_resolution(void **state)
{
    const char *root = *state;
    char *saved[N_LOCATION_VARS];
    for (size_t i = 0; i < N_LOCATION_VARS; i++) {
        const char *v = getenv(location_vars[i]);
        saved[i] = v ? strdup(v) : NULL;
    }

    static const struct {
        const char *opt, *cache, *cache_dir, *xdg, *home, *expect;
    } cases[] = {
        /* opt       SWACL_CACHE SWACL_CACHE_DIR XDG_CACHE_HOME HOME      expected */
        {"/opt/c", NULL, "/env/c", "/xdg", "/home/u", "/opt/c"},
        {NULL, NULL, "/env/c", "/xdg", "/home/u", "/env/c"},
        {NULL, NULL, NULL, "/xdg", "/home/u", "/xdg/swacl"},
        {NULL, NULL, NULL, "/xdg/", "/home/u", "/xdg/swacl"},
        {NULL, NULL, NULL, NULL, "/home/u", "/home/u/.cache/swacl"},
        {NULL, NULL, NULL, NULL, "/home/u/", "/home/u/.cache/swacl"},
        {NULL, NULL, NULL, NULL, NULL, NULL},
        /* empty counts as unset; a relative XDG_CACHE_HOME is ignored (XDG spec) */
        {"", "", "", "", "/home/u", "/home/u/.cache/swacl"},
        {NULL, NULL, NULL, "relative/cache", "/home/u", "/home/u/.cache/swacl"},
        {NULL, NULL, "relative/ok", "/xdg", "/home/u", "relative/ok"},
        /* the off switch wins over everything, the caller's directory included */
        {"/opt/c", "off", "/env/c", "/xdg", "/home/u", NULL},
        {NULL, "OFF", "/env/c", "/xdg", "/home/u", NULL},
        {NULL, "0", NULL, NULL, "/home/u", NULL},
        {NULL, "1", NULL, NULL, "/home/u", "/home/u/.cache/swacl"},
        {NULL, "on", "/env/c", NULL, NULL, "/env/c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        set_location_env(cases[i].cache, cases[i].cache_dir, cases[i].xdg, cases[i].home);
        char *dir = swacl_bincache_dir(cases[i].opt);
        if (cases[i].expect == NULL) {
            if (dir != NULL)
                fail_msg("case %zu: expected no directory, got \"%s\"", i, dir);
        } else {
            if (dir == NULL)
                fail_msg("case %zu: expected \"%s\", got NULL", i, cases[i].expect);
            if (strcmp(dir, cases[i].expect) != 0)
                fail_msg("case %zu: expected \"%s\", got \"%s\"", i, cases[i].expect, dir);
        }
        free(dir);
    }

    /* resolving a directory creates nothing */
    char *would_be = join(root, "not-created");
    set_location_env(NULL, would_be, NULL, NULL);
    char *dir = swacl_bincache_dir(NULL);
    assert_non_null(dir);
    assert_string_equal(dir, would_be);
    assert_false(path_exists(would_be));
    free(dir);
    free(would_be);

    for (size_t i = 0; i < N_LOCATION_VARS; i++) {
        if (saved[i] != NULL)
            setenv(location_vars[i], saved[i], 1);
        else
            unsetenv(location_vars[i]);
        free(saved[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_standard_vectors),
        cmocka_unit_test(test_sha256_million_a),
        cmocka_unit_test(test_sha256_padding_boundaries),
        cmocka_unit_test(test_key_separates_parts),
        cmocka_unit_test_setup_teardown(test_round_trip, make_tmpdir, drop_tmpdir),
        cmocka_unit_test_setup_teardown(test_miss_and_bad_arguments, make_tmpdir, drop_tmpdir),
        cmocka_unit_test_setup_teardown(test_corrupt_entries_are_deleted, make_tmpdir, drop_tmpdir),
        cmocka_unit_test_setup_teardown(test_parse_rejects_any_damage, make_tmpdir, drop_tmpdir),
        cmocka_unit_test_setup_teardown(test_non_regular_entries, make_tmpdir, drop_tmpdir),
        cmocka_unit_test_setup_teardown(test_unwritable_under_regular_file, make_tmpdir, drop_tmpdir),
        cmocka_unit_test_setup_teardown(test_unwritable_read_only_dir, make_tmpdir, drop_tmpdir),
        cmocka_unit_test_setup_teardown(test_dir_resolution, make_tmpdir, drop_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
