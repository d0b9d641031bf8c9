/* ingest/catalog.c's cache: (tenant, name, publisher) keys compared in full,
 * growth past its first table, and starting over when full.
 * (integration.software_diff and the fault tests use it against
 * PostgreSQL.) */
#include "ingest/catalog.h"
#include "tests/unit/check.h"

#include <stdio.h>

static const char T1[] = "11111111-1111-4111-8111-111111111111";
static const char T2[] = "22222222-2222-4222-8222-222222222222";

static int64_t get(const tly_catalog_t *c, const char *t, const char *name, const char *pub)
{
    return tly_catalog_get(c, t, name, strlen(name), pub, strlen(pub));
}

static void put(tly_catalog_t *c, const char *t, const char *name, const char *pub, int64_t id)
{
    tly_catalog_put(c, t, name, strlen(name), pub, strlen(pub), id);
}

int main(void)
{
    tly_catalog_t *c = tly_catalog_new(1000);
    put(c, T1, "Google Chrome", "Google LLC", 7);
    CHECK(get(c, T1, "Google Chrome", "Google LLC") == 7);
    CHECK(get(c, T2, "Google Chrome", "Google LLC") == 0); /* another tenant's */
    CHECK(get(c, T1, "Google Chrome", "") == 0);
    CHECK(get(c, T1, "Google ChromeGoogle LLC", "") == 0); /* name and publisher kept apart */
    CHECK(get(c, T1, "Google Chrom", "eGoogle LLC") == 0);
    put(c, T1, "", "", 3); /* empty name and publisher are a key too */
    CHECK(get(c, T1, "", "") == 3);
    put(c, T1, "Google Chrome", "Google LLC", 8); /* replaced, not added */
    CHECK(get(c, T1, "Google Chrome", "Google LLC") == 8);
    CHECK(tly_catalog_size(c) == 2);

    /* Growth: every entry is still found after the table doubled many times. */
    char name[32];
    for (int i = 0; i < 900; i++) {
        snprintf(name, sizeof name, "Program %d", i);
        put(c, i % 2 ? T1 : T2, name, "Contoso", 100 + i);
    }
    CHECK(tly_catalog_size(c) == 902);
    int found = 0;
    for (int i = 0; i < 900; i++) {
        snprintf(name, sizeof name, "Program %d", i);
        found += get(c, i % 2 ? T1 : T2, name, "Contoso") == 100 + i;
    }
    CHECK(found == 900);

    /* Full: it starts over, and the entry that did not fit is the one kept. */
    for (int i = 900; i < 1000 - 2; i++) {
        snprintf(name, sizeof name, "Program %d", i);
        put(c, T1, name, "Contoso", 100 + i);
    }
    CHECK(tly_catalog_size(c) == 1000);
    put(c, T1, "One more", "Fabrikam", 5);
    CHECK(tly_catalog_size(c) == 1);
    CHECK(get(c, T1, "One more", "Fabrikam") == 5);
    CHECK(get(c, T1, "Google Chrome", "Google LLC") == 0);

    tly_catalog_clear(c);
    CHECK(tly_catalog_size(c) == 0);
    CHECK(get(c, T1, "One more", "Fabrikam") == 0);
    tly_catalog_free(c);
    CHECK_DONE();
}
