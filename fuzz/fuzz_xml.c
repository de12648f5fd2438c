/* fuzz_xml.c — every response schema's parser on arbitrary bytes (the first byte picks one). */
#include <stdlib.h>
#include "xml.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define COS_XS_PTR_(n) &cos_xs_##n,
static const cos_xml_schema *const SCHEMAS[] = { COS_XML_SCHEMAS(COS_XS_PTR_) };

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1) return 0;
    const cos_xml_schema *s = SCHEMAS[data[0] % (sizeof SCHEMAS / sizeof SCHEMAS[0])];
    void *obj = NULL;
    cos_error *err = NULL;
    if (cos_xml_parse(s, (const char *)data + 1, size - 1, &obj, &err) == 0) {
        cos_buf b = COS_BUF_INIT;
        cos_xml_build(s, obj, &b, true);
        cos_buf_free(&b);
        cos_xml_free(s, obj);
    }
    cos_error_free(err);
    cos_error e = { 0 };
    cos_xml_parse_error((const char *)data + 1, size - 1, &e);
    free(e.code); free(e.message); free(e.request_id); free(e.trace_id);
    free(e.resource); free(e.string_to_sign); free(e.format_string);
    return 0;
}
