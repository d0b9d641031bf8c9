# Writes a C file defining one file's bytes as a NUL-terminated string:
#   const char NAME[]; const size_t NAME_len;   (length without the NUL)
# Inputs: IN (the file), OUT (the .c file), NAME (the C identifier).
file(READ ${IN} data HEX)
string(LENGTH "${data}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" data "${data}")
string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){64})" "\\1\"\n    \"" data "${data}")
file(WRITE ${OUT} "#include <stddef.h>\n\nextern const char ${NAME}[];\nextern const size_t ${NAME}_len;\n"
     "const char ${NAME}[] =\n    \"${data}\";\nconst size_t ${NAME}_len = ${len};\n")
