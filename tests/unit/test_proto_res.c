/* test_proto_res.c - the resource fields of the wire (doc/protocol.md,
 * "Resources"): a task's CORES..RANKS_PER_NODE and SLOT, an engine's
 * registration CORES, CPUSET, GPU_NAMES, MEM_SHARE, the SLOT string
 * syntax, and the C API that sets a task's resources. */
#include "config.h"

#include "../../src/client/client.h"
#include "test_proto.h"

static const char *slot_a = "3 node1 0-3,8 cuda:0,cuda:1 4294967296";
static const char *slot_b = "12 node1 - - 0";

static void test_task_res (void)
{
    const char *argv[] = {"true", NULL};
    const char *slots[] = {slot_a, slot_b, NULL};
    zpar_proto_task_t t = {.h = H,
                           .kind = ZPAR_TASK_COMMAND,
                           .argv = argv,
                           .argc = 1,
                           .cores = 4,
                           .gpus = 2,
                           .memory = 1ull << 33,
                           .ranks = 8,
                           .nodes = 2,
                           .ranks_per_node = 4,
                           .slots = slots,
                           .nslots = 2};
    zpar_proto_task_t d;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_error_t err = {{0}};

    ok (zpar__proto_task_encode (m, &t) == 0, "resource task: encodes");
    check_all ("resource task", m, re_task);
    ok (zpar__proto_task_decode (m, &d, &err) == 0, "resource task: decodes");
    ok (d.cores == 4 && d.gpus == 2 && d.memory == 1ull << 33 && d.ranks == 8 && d.nodes == 2 &&
            d.ranks_per_node == 4,
        "resource task: cores, gpus, memory, ranks, nodes, ranks per node");
    ok (d.nslots == 2 && !strcmp (d.slots[0], slot_a) && !strcmp (d.slots[1], slot_b) &&
            d.slots[2] == NULL,
        "resource task: slots in order, NULL-terminated");
    ok (zpar__proto_task_has_res (&d), "resource task: has resources");
    zpar__proto_task_clear (&d);

    /* the field numbers are the contract */
    ok (ZPAR_F_CORES == 110 && ZPAR_F_GPUS == 111 && ZPAR_F_MEMORY == 112 && ZPAR_F_RANKS == 113 &&
            ZPAR_F_NODES == 114 && ZPAR_F_RANKS_PER_NODE == 115 && ZPAR_F_SLOT == 116 &&
            ZPAR_F_CPUSET == 117 && ZPAR_F_GPU_NAMES == 118 && ZPAR_F_MEM_SHARE == 119,
        "field numbers 110..119");
    ok (!strcmp (zpar__msg_field_name (ZPAR_F_SLOT), "slot") &&
            !strcmp (zpar__msg_field_name (ZPAR_F_RANKS_PER_NODE), "ranks_per_node"),
        "field names");

    /* no resource field: nothing on the wire, the defaults decoded */
    memset (&t, 0, sizeof (t));
    t.kind = ZPAR_TASK_COMMAND;
    t.argv = argv;
    t.argc = 1;
    ok (zpar__proto_task_encode (m, &t) == 0 && m->nfields == 2, "plain task: no resource field");
    ok (zpar__proto_task_decode (m, &d, &err) == 0 && d.cores == 0 && d.nslots == 0 &&
            d.slots == NULL && !zpar__proto_task_has_res (&d),
        "plain task: defaults");
    zpar__proto_task_clear (&d);
    t.cores = 1;
    ok (zpar__proto_task_encode (m, &t) == 0 && zpar__proto_task_decode (m, &d, &err) == 0 &&
            !zpar__proto_task_has_res (&d),
        "cores: 1 is no resource task");
    zpar__proto_task_clear (&d);

    /* nodes without ranks */
    t.cores = 0;
    t.nodes = 2;
    ok (zpar__proto_task_encode (m, &t) == 0 && zpar__proto_task_decode (m, &d, &err) < 0 &&
            errno == EPROTO && strstr (err.text, "without ranks"),
        "nodes without ranks is malformed (%s)", err.text);
    t.nodes = 0;

    /* a malformed slot makes the task malformed */
    {
        static const char *bad[] = {
            "",
            "0 node1 - - 0",
            "4294967296 node1 - - 0",
            "3 node1 - - ",
            "3 node1 - -  0",
            "3  node1 - - 0",
            "3 node1 3-1 - 0",
            "3 node1 0-3,2 - 0",
            "3 node1 0,,1 - 0",
            "3 node1 a - 0",
            "3 node1 - cuda - 0",
            "3 node1 - cuda:x 0",
            "3 node1 - cuda:0, 0",
            "3 node1 - CUDA:0 0",
            "3 node1 - - 18446744073709551616",
            "3 node1 - - 1 extra",
            "3 node\t1 - - 0",
            "03 node1 - - 0",
        };
        int all = 1;
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
            const char *one[] = {bad[i]};
            t.slots = one;
            t.nslots = 1;
            if (!(zpar__proto_task_encode (m, &t) == 0 &&
                  zpar__proto_task_decode (m, &d, &err) < 0 && errno == EPROTO)) {
                diag ("slot \"%s\" accepted", bad[i]);
                all = 0;
                zpar__proto_task_clear (&d);
            }
        }
        ok (all, "every one of %zu malformed slots is rejected", sizeof (bad) / sizeof (bad[0]));
        t.slots = NULL;
        t.nslots = 0;
    }
    zpar__msg_destroy (m);
}

static void test_slot (void)
{
    zpar_proto_slot_t s, back;
    char buf[ZPAR_SLOT_MAX];
    zpar_error_t err = {{0}};
    int n;

    ok (zpar__proto_slot_parse (slot_a, &s, &err) == 0 && s.engine.v == 3 &&
            !strcmp (s.host, "node1") && !strcmp (s.cpuset, "0-3,8") &&
            !strcmp (s.gpus, "cuda:0,cuda:1") && s.mem == 4294967296ull,
        "slot: parses");
    n = zpar__proto_slot_format (&s, buf, sizeof (buf));
    ok (n == (int)strlen (slot_a) && !strcmp (buf, slot_a), "slot: formats back to the same text");
    ok (zpar__proto_slot_parse ("4294967295 h-1.x 0 rocm:7 18446744073709551615", &s, &err) == 0 &&
            s.engine.v == UINT32_MAX && s.mem == UINT64_MAX && !strcmp (s.gpus, "rocm:7"),
        "slot: extremes");
    ok (zpar__proto_slot_format (&s, buf, 10) < 0 && errno == ENOSPC, "slot: ENOSPC");
    back = s;
    back.engine.v = 0;
    ok (zpar__proto_slot_format (&back, buf, sizeof (buf)) < 0 && errno == EINVAL,
        "slot: engine 0 is not formatted");
    back = s;
    strcpy (back.host, "a b");
    ok (zpar__proto_slot_format (&back, buf, sizeof (buf)) < 0 && errno == EINVAL,
        "slot: a host with a space is not formatted");
    back = s;
    strcpy (back.cpuset, "1-0");
    ok (zpar__proto_slot_format (&back, buf, sizeof (buf)) < 0 && errno == EINVAL,
        "slot: a bad cpuset is not formatted");
    ok (zpar__proto_cpuset_ok ("0") && zpar__proto_cpuset_ok ("0-1,4,6-7") &&
            !zpar__proto_cpuset_ok ("") && !zpar__proto_cpuset_ok ("0-1,1") &&
            !zpar__proto_cpuset_ok ("0-") && !zpar__proto_cpuset_ok ("-1"),
        "cpuset syntax");
    ok (zpar__proto_gpus_ok ("-") && zpar__proto_gpus_ok ("cuda:0,rocm:1") &&
            !zpar__proto_gpus_ok ("cuda:") && !zpar__proto_gpus_ok (":1") &&
            !zpar__proto_gpus_ok ("cuda:0 "),
        "GPU list syntax");
}

static void test_reg_res (void)
{
    zpar_proto_reg_engine_t r = {.h = H,
                                 .host = "node1",
                                 .pid = 42,
                                 .rank = 0,
                                 .cores = 4,
                                 .cpuset = "0-3",
                                 .gpu_names = "cuda:0",
                                 .mem_share = 1ull << 32,
                                 .node_mem = 1ull << 34};
    zpar_proto_reg_engine_t d;
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_error_t err = {{0}};

    ok (zpar__proto_reg_engine_encode (m, &r) == 0, "registration with resources: encodes");
    check_all ("registration with resources", m, re_reg_engine);
    ok (zpar__proto_reg_engine_decode (m, &d, &err) == 0 && d.cores == 4 &&
            !strcmp (d.cpuset, "0-3") && !strcmp (d.gpu_names, "cuda:0") &&
            d.mem_share == 1ull << 32 && d.node_mem == 1ull << 34,
        "registration: cores, cpuset, GPUs, memory share, node memory");
    zpar__proto_reg_engine_clear (&d);
    r.cpuset = "3-0";
    ok (zpar__proto_reg_engine_encode (m, &r) < 0 && errno == EINVAL,
        "registration: a bad cpuset is not encoded");
    r.cpuset = "0-3";
    zpar__msg_add_str (m, ZPAR_F_CPUSET, "x");
    ok (zpar__proto_reg_engine_encode (m, &r) == 0, "registration encodes again");
    {
        /* a malformed cpuset or GPU list on the wire */
        zpar_msg_t *c = zpar__msg_create (ZPAR_MSG_NONE);
        int rej = 1;
        for (size_t i = 0; i < m->nfields; i++) {
            zpar_msg_t *x;
            if (m->fields[i].key == ZPAR_F_CPUSET)
                x = with_field (m, i, "3-0", 3);
            else if (m->fields[i].key == ZPAR_F_GPU_NAMES)
                x = with_field (m, i, "cuda", 4);
            else
                continue;
            rej &= x && rejected (x);
            zpar__msg_destroy (x);
        }
        ok (rej, "registration: a malformed cpuset or GPU list is rejected");
        zpar__msg_destroy (c);
    }
    /* absent: the defaults */
    memset (&r, 0, sizeof (r));
    r.rank = -1;
    ok (zpar__proto_reg_engine_encode (m, &r) == 0 &&
            zpar__proto_reg_engine_decode (m, &d, &err) == 0 && d.cores == 0 && !d.cpuset &&
            !d.gpu_names && d.mem_share == 0 && zpar__msg_count (m, ZPAR_F_CORES) == 0,
        "registration without resources: nothing sent, nothing decoded");
    zpar__proto_reg_engine_clear (&d);
    zpar__msg_destroy (m);
}

static void test_api (void)
{
    const char *argv[] = {"true", NULL};
    zpar_task_t *t = zpar_task_command (argv);
    zpar_resources_t r = {.cores = 4, .gpus = 1, .memory = 1u << 30};
    zpar_msg_t *m = zpar__msg_create (ZPAR_MSG_NONE);

    ok (zpar_task_set_resources (t, &r) == 0 && t->p.cores == 4 && t->p.gpus == 1 &&
            t->p.memory == 1u << 30 && t->p.ranks == 0,
        "zpar_task_set_resources: cores, gpus, memory");
    ok (zpar__proto_task_encode (m, &t->p) == 0 && zpar__msg_u64_or (m, ZPAR_F_CORES, 0) == 4 &&
            zpar__msg_u64_or (m, ZPAR_F_GPUS, 0) == 1,
        "zpar_task_set_resources: on the wire");
    r = (zpar_resources_t){.ranks = 8, .nodes = 2, .ranks_per_node = 4};
    ok (zpar_task_set_resources (t, &r) == 0 && t->p.ranks == 8 && t->p.nodes == 2 &&
            t->p.ranks_per_node == 4 && t->p.cores == 0,
        "zpar_task_set_resources: MPI");
    r = (zpar_resources_t){.cores = 1};
    ok (zpar_task_set_resources (t, &r) == 0 && t->p.cores == 0 && t->p.ranks == 0,
        "zpar_task_set_resources: one core is the default (nothing on the wire)");
    r = (zpar_resources_t){.nodes = 2};
    ok (zpar_task_set_resources (t, &r) < 0 && errno == EINVAL, "nodes without ranks: EINVAL");
    r = (zpar_resources_t){.cores = 65537};
    ok (zpar_task_set_resources (t, &r) < 0 && errno == EINVAL, "too many cores: EINVAL");
    r = (zpar_resources_t){.gpus = 4097};
    ok (zpar_task_set_resources (t, &r) < 0 && errno == EINVAL, "too many GPUs: EINVAL");
    ok (zpar_task_set_resources (NULL, &r) < 0 && errno == EINVAL, "NULL task: EINVAL");
    ok (zpar_task_set_resources (t, NULL) == 0 && t->p.gpus == 0, "NULL: back to one core");
    zpar_task_destroy (t);
    zpar__msg_destroy (m);
}

static void test_text (void)
{
    static const struct {
        const char *text;
        uint64_t bytes;
    } sizes[] = {{"0", 0},
                 {"512", 512},
                 {"4K", 4096},
                 {"4k", 4096},
                 {"4KiB", 4096},
                 {"4kb", 4096},
                 {"3M", 3u << 20},
                 {"2G", 2ull << 30},
                 {"2GB", 2ull << 30},
                 {"1T", 1ull << 40},
                 {"16777215T", 16777215ull << 40}};
    static const char *bad[] = {"", "G", "-1", "1.5G", "2Q", "2GiBs", "16777216T", " 1", "1 "};
    zpar_resources_t r = {0};
    zpar_error_t err = {{0}};
    int all = 1;
    for (size_t i = 0; i < sizeof (sizes) / sizeof (sizes[0]); i++)
        if (zpar_resources_set (&r, "memory", sizes[i].text, &err) < 0 ||
            r.memory != sizes[i].bytes) {
            diag ("memory '%s' -> %llu", sizes[i].text, (unsigned long long)r.memory);
            all = 0;
        }
    ok (all, "memory sizes: bytes, K M G T in powers of 1024, KiB/kb spellings");
    all = 1;
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
        if (zpar_resources_set (&r, "memory", bad[i], &err) == 0 || errno != EINVAL) {
            diag ("memory '%s' accepted", bad[i]);
            all = 0;
        }
    ok (all, "bad sizes refused (%s)", err.text);
    ok (zpar_resources_set (&r, "cores", "8", &err) == 0 && r.cores == 8 &&
            zpar_resources_set (&r, "ranks-per-node", "4", &err) == 0 && r.ranks_per_node == 4 &&
            zpar_resources_set (&r, "ranks_per_node", "2", &err) == 0 && r.ranks_per_node == 2,
        "whole numbers");
    ok (zpar_resources_set (&r, "cores", "65537", &err) < 0 && strstr (err.text, "cores") &&
            zpar_resources_set (&r, "gpus", "x", &err) < 0 &&
            zpar_resources_set (&r, "cpus", "1", &err) < 0 && strstr (err.text, "unknown"),
        "out of range, junk and unknown keys refused (%s)", err.text);
}

int main (void)
{
    test_task_res ();
    test_slot ();
    test_reg_res ();
    test_api ();
    test_text ();
    return done_testing ();
}
