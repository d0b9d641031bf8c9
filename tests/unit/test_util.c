/* common/util's request ids: UUIDv4 form (version and variant bits), and no
 * repeats among many, made on two threads at once. */
#include "common/util.h"
#include "tests/unit/check.h"

#include <pthread.h>
#include <stdlib.h>

#define PER_THREAD 20000

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 37);
}

static void *make_ids(void *arg)
{
    char(*ids)[37] = arg;
    for (int i = 0; i < PER_THREAD; i++)
        tly_uuid_v4(ids[i]);
    return NULL;
}

int main(void)
{
    char(*ids)[37] = calloc(2 * PER_THREAD, 37);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, make_ids, ids + PER_THREAD) == 0);
    make_ids(ids);
    pthread_join(t, NULL);
    int bad = 0;
    for (int i = 0; i < 2 * PER_THREAD; i++) {
        const char *id = ids[i];
        bool variant = id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b';
        if (!tly_is_uuid(id) || id[14] != '4' || !variant || strlen(id) != 36)
            bad++;
    }
    CHECK(bad == 0);
    qsort(ids, 2 * PER_THREAD, 37, cmp_id);
    int repeats = 0;
    for (int i = 1; i < 2 * PER_THREAD; i++)
        repeats += memcmp(ids[i - 1], ids[i], 37) == 0;
    CHECK(repeats == 0);
    free(ids);
    CHECK_DONE();
}
