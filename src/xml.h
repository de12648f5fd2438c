/*
 * xml.h — schema-driven XML: one table per document type drives parsing
 * (expat, straight into the structs of cos/model.h), building (request
 * bodies, and cos-server's responses) and freeing. Adding a document type is
 * adding a struct and its schema, no code.
 */
#ifndef COS_XML_H
#define COS_XML_H

#include <stddef.h>
#include "util.h"
#include "cos/model.h"

typedef enum cos_xml_type {
    COS_XT_STR,      /* char *                                             */
    COS_XT_I64,      /* int64_t                                            */
    COS_XT_U64,      /* uint64_t                                           */
    COS_XT_INT,      /* int                                                */
    COS_XT_BOOL,     /* bool: "true"/"false" (also "1"/"0" on input)       */
    COS_XT_STRUCT,   /* pointer to a sub-struct (sub schema), NULL if absent */
    COS_XT_LIST,     /* array of sub-structs: T *items + size_t count       */
    COS_XT_STRLIST   /* array of strings: char **items + size_t count       */
} cos_xml_type;

/* Field flags. */
#define COS_XF_OMIT_ZERO 1u  /* when building, skip a numeric/bool field that is 0/false */
#define COS_XF_URLENC    2u  /* value is URL-encoded when EncodingType=url: decoded on parse */

typedef struct cos_xml_schema cos_xml_schema;

/*
 * Field names (cos_xml_field.name):
 *   "Key"              a child element.
 *   "TagSet/Tag"       a path through container elements that have no struct
 *                      of their own: the containers are flattened away, e.g.
 *                      <TagSet><Tag/>..</TagSet> fills cos_tagging.tags. When
 *                      building, consecutive fields sharing a container share
 *                      one container element; an empty list writes no
 *                      container.
 *   "."                the text of the element itself (<LocationConstraint>).
 *   "@xsi:type"        an attribute, written on the element of the struct
 *                      (with its xmlns:xsi declaration); on input matched by
 *                      local name, whatever the prefix.
 * <Encoding-Type> (the spelling of some COS docs) is read as <EncodingType>.
 *
 * EncodingType=url: when a parsed document has EncodingType "url", every
 * COS_XF_URLENC string is URL-decoded after parsing, so callers always see
 * plain keys. When building, if the struct's encoding_type is "url", the
 * builder encodes those fields itself: cos-server stores plain keys and must
 * NOT pre-encode them.
 */
typedef struct cos_xml_field {
    const char *name;              /* element name or path, see above */
    cos_xml_type type;
    size_t offset;                 /* offsetof the value (or the items pointer) */
    size_t count_offset;           /* LIST/STRLIST: offsetof the size_t count */
    const cos_xml_schema *sub;     /* STRUCT/LIST: schema of the element */
    unsigned flags;
} cos_xml_field;

struct cos_xml_schema {
    const char *root;              /* root element name when this is a document */
    size_t size;                   /* sizeof the struct */
    const cos_xml_field *fields;
    size_t nfields;
};

/* Parse a document whose root is schema->root (any root name accepted if NULL).
 * *out is a new struct (free with cos_xml_free). Unknown elements are skipped.
 * Returns 0, or COS_ERR_PARSE with a message (malformed or truncated XML). */
int cos_xml_parse(const cos_xml_schema *schema, const char *xml, size_t len, void **out, cos_error **err);

/* Append the document (with <?xml ...?> declaration only if decl) to out. */
int cos_xml_build(const cos_xml_schema *schema, const void *obj, cos_buf *out, bool decl);

/* Free a struct made by cos_xml_parse (or filled the same way: every string malloc'd). */
void cos_xml_free(const cos_xml_schema *schema, void *obj);

/* Append text with &<>"' escaped. */
int cos_xml_escape(cos_buf *out, const char *s, size_t len);

/* Parse a COS <Error> body into e (code, message, request_id, trace_id,
 * resource, string_to_sign, format_string); 0 if it was an <Error>. */
int cos_xml_parse_error(const char *xml, size_t len, cos_error *e);

/* The schema of every document type of cos/model.h: cos_xs_<name> for struct cos_<name>,
 * e.g. cos_xs_list_objects_result, cos_xs_cors_configuration. */
#define COS_XML_SCHEMAS(X) \
    X(list_buckets_result) X(list_objects_result) X(list_versions_result) X(location_result) \
    X(access_control_policy) X(cors_configuration) X(tagging) X(lifecycle_configuration) \
    X(versioning_configuration) X(replication_configuration) X(website_configuration) \
    X(referer_configuration) X(domain_configuration) X(origin_configuration) X(logging_status) \
    X(inventory_configuration) X(list_inventory_result) X(accelerate_configuration) \
    X(encryption_configuration) X(copy_object_result) X(delete_request) X(delete_result) \
    X(restore_request) X(initiate_multipart_result) X(complete_multipart_upload) \
    X(complete_multipart_result) X(list_multipart_uploads_result) X(list_parts_result)

#define COS_XS_DECLARE_(n) extern const cos_xml_schema cos_xs_##n;
COS_XML_SCHEMAS(COS_XS_DECLARE_)
#undef COS_XS_DECLARE_
/* The S3 dialect's documents where S3 names an element differently:
 * RestoreRequest (GlacierJobParameters), InventoryConfiguration (S3BucketDestination). */
extern const cos_xml_schema cos_xs_restore_request_s3;
extern const cos_xml_schema cos_xs_inventory_configuration_s3;

#endif
