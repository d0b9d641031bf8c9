/* Test helper: reads a whole file into a NUL-terminated heap buffer (free()).
 * Returns NULL (with a line on stderr) when the file cannot be read. */
#ifndef TLY_TESTS_READ_TEXT_H
#define TLY_TESTS_READ_TEXT_H

#include <stdio.h>
#include <stdlib.h>

static char *read_text(const char *path, size_t *len_out)
{
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        goto failed;
    if (fseek(f, 0, SEEK_END) != 0)
        goto failed;
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto failed;
    text = malloc((size_t)size + 1);
    if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size)
        goto failed;
    text[size] = '\0';
    *len_out = (size_t)size;
    fclose(f);
    return text;

failed:
    fprintf(stderr, "cannot read %s\n", path);
    free(text);
    if (f != NULL)
        fclose(f);
    return NULL;
}

#endif
