/*
 * schemas.c — one table per XML document of the COS API (cos/model.h).
 * These tables are the whole of the XML handling: xml.c parses, builds and
 * frees any document from them. Element order here is the order written.
 */
#include "xml.h"

#define S(T, name, m)      { name, COS_XT_STR, offsetof(T, m), 0, NULL, 0 }
#define SU(T, name, m)     { name, COS_XT_STR, offsetof(T, m), 0, NULL, COS_XF_URLENC }
#define I(T, name, m)      { name, COS_XT_INT, offsetof(T, m), 0, NULL, COS_XF_OMIT_ZERO }
#define U(T, name, m)      { name, COS_XT_U64, offsetof(T, m), 0, NULL, 0 }
#define B(T, name, m)      { name, COS_XT_BOOL, offsetof(T, m), 0, NULL, 0 }
#define BZ(T, name, m)     { name, COS_XT_BOOL, offsetof(T, m), 0, NULL, COS_XF_OMIT_ZERO }
#define ST(T, name, m, s)  { name, COS_XT_STRUCT, offsetof(T, m), 0, &s, 0 }
#define L(T, name, m, s)   { name, COS_XT_LIST, offsetof(T, m), offsetof(T, m##_count), &s, 0 }
#define SL(T, name, m)     { name, COS_XT_STRLIST, offsetof(T, m), offsetof(T, m##_count), NULL, 0 }
#define SCHEMA(var, root, T, fields) \
    const cos_xml_schema var = { root, sizeof(T), fields, sizeof fields / sizeof fields[0] }
#define SUB(var, T, fields) static SCHEMA(var, NULL, T, fields)

/* ---- shared pieces */
static const cos_xml_field owner_f[] = { S(cos_owner, "ID", id), S(cos_owner, "DisplayName", display_name) };
SUB(xs_owner, cos_owner, owner_f);
static const cos_xml_field prefix_f[] = { SU(cos_common_prefix, "Prefix", prefix) };
SUB(xs_prefix, cos_common_prefix, prefix_f);
static const cos_xml_field tag_f[] = { S(cos_tag, "Key", key), S(cos_tag, "Value", value) };
SUB(xs_tag, cos_tag, tag_f);

/* ---- GET Service */
static const cos_xml_field bucket_f[] = {
    S(cos_bucket_info, "Name", name), S(cos_bucket_info, "Location", location),
    S(cos_bucket_info, "CreationDate", creation_date), S(cos_bucket_info, "BucketType", bucket_type) };
SUB(xs_bucket, cos_bucket_info, bucket_f);
static const cos_xml_field list_buckets_f[] = {
    ST(cos_list_buckets_result, "Owner", owner, xs_owner),
    L(cos_list_buckets_result, "Buckets/Bucket", buckets, xs_bucket),
    S(cos_list_buckets_result, "Marker", marker), S(cos_list_buckets_result, "NextMarker", next_marker),
    BZ(cos_list_buckets_result, "IsTruncated", is_truncated) };
SCHEMA(cos_xs_list_buckets_result, "ListAllMyBucketsResult", cos_list_buckets_result, list_buckets_f);

/* ---- GET Bucket */
static const cos_xml_field object_f[] = {
    SU(cos_object_summary, "Key", key), S(cos_object_summary, "LastModified", last_modified),
    S(cos_object_summary, "ETag", etag), U(cos_object_summary, "Size", size),
    ST(cos_object_summary, "Owner", owner, xs_owner), S(cos_object_summary, "StorageClass", storage_class) };
SUB(xs_object, cos_object_summary, object_f);
static const cos_xml_field list_objects_f[] = {
    S(cos_list_objects_result, "Name", name), S(cos_list_objects_result, "EncodingType", encoding_type),
    SU(cos_list_objects_result, "Prefix", prefix), SU(cos_list_objects_result, "Marker", marker),
    { "MaxKeys", COS_XT_INT, offsetof(cos_list_objects_result, max_keys), 0, NULL, 0 },
    SU(cos_list_objects_result, "Delimiter", delimiter), B(cos_list_objects_result, "IsTruncated", is_truncated),
    SU(cos_list_objects_result, "NextMarker", next_marker),
    L(cos_list_objects_result, "CommonPrefixes", common_prefixes, xs_prefix),
    L(cos_list_objects_result, "Contents", contents, xs_object),
    I(cos_list_objects_result, "KeyCount", key_count),
    S(cos_list_objects_result, "ContinuationToken", continuation_token),
    S(cos_list_objects_result, "NextContinuationToken", next_continuation_token),
    SU(cos_list_objects_result, "StartAfter", start_after) };
SCHEMA(cos_xs_list_objects_result, "ListBucketResult", cos_list_objects_result, list_objects_f);

/* ---- GET Bucket versions */
static const cos_xml_field version_f[] = {
    SU(cos_object_version, "Key", key), S(cos_object_version, "VersionId", version_id),
    B(cos_object_version, "IsLatest", is_latest), S(cos_object_version, "LastModified", last_modified),
    S(cos_object_version, "ETag", etag), U(cos_object_version, "Size", size),
    S(cos_object_version, "StorageClass", storage_class), ST(cos_object_version, "Owner", owner, xs_owner) };
SUB(xs_version, cos_object_version, version_f);
static const cos_xml_field list_versions_f[] = {
    S(cos_list_versions_result, "Name", name), S(cos_list_versions_result, "EncodingType", encoding_type),
    SU(cos_list_versions_result, "Prefix", prefix), SU(cos_list_versions_result, "KeyMarker", key_marker),
    S(cos_list_versions_result, "VersionIdMarker", version_id_marker),
    { "MaxKeys", COS_XT_INT, offsetof(cos_list_versions_result, max_keys), 0, NULL, 0 },
    SU(cos_list_versions_result, "Delimiter", delimiter), B(cos_list_versions_result, "IsTruncated", is_truncated),
    SU(cos_list_versions_result, "NextKeyMarker", next_key_marker),
    S(cos_list_versions_result, "NextVersionIdMarker", next_version_id_marker),
    L(cos_list_versions_result, "CommonPrefixes", common_prefixes, xs_prefix),
    L(cos_list_versions_result, "Version", versions, xs_version),
    L(cos_list_versions_result, "DeleteMarker", delete_markers, xs_version) };
SCHEMA(cos_xs_list_versions_result, "ListVersionsResult", cos_list_versions_result, list_versions_f);

static const cos_xml_field location_f[] = { S(cos_location_result, ".", location) };
SCHEMA(cos_xs_location_result, "LocationConstraint", cos_location_result, location_f);

/* ---- ACL */
static const cos_xml_field grantee_f[] = {
    S(cos_grantee, "@xsi:type", type), S(cos_grantee, "ID", id), S(cos_grantee, "DisplayName", display_name),
    S(cos_grantee, "URI", uri) };
SUB(xs_grantee, cos_grantee, grantee_f);
static const cos_xml_field grant_f[] = {
    ST(cos_grant, "Grantee", grantee, xs_grantee), S(cos_grant, "Permission", permission) };
SUB(xs_grant, cos_grant, grant_f);
static const cos_xml_field acl_f[] = {
    ST(cos_access_control_policy, "Owner", owner, xs_owner),
    L(cos_access_control_policy, "AccessControlList/Grant", grants, xs_grant) };
SCHEMA(cos_xs_access_control_policy, "AccessControlPolicy", cos_access_control_policy, acl_f);

/* ---- CORS */
static const cos_xml_field cors_rule_f[] = {
    S(cos_cors_rule, "ID", id), SL(cos_cors_rule, "AllowedOrigin", allowed_origins),
    SL(cos_cors_rule, "AllowedMethod", allowed_methods), SL(cos_cors_rule, "AllowedHeader", allowed_headers),
    SL(cos_cors_rule, "ExposeHeader", expose_headers), I(cos_cors_rule, "MaxAgeSeconds", max_age_seconds) };
SUB(xs_cors_rule, cos_cors_rule, cors_rule_f);
static const cos_xml_field cors_f[] = { L(cos_cors_configuration, "CORSRule", rules, xs_cors_rule) };
SCHEMA(cos_xs_cors_configuration, "CORSConfiguration", cos_cors_configuration, cors_f);

/* ---- tagging */
static const cos_xml_field tagging_f[] = { L(cos_tagging, "TagSet/Tag", tags, xs_tag) };
SCHEMA(cos_xs_tagging, "Tagging", cos_tagging, tagging_f);

/* ---- lifecycle */
static const cos_xml_field lc_filter_f[] = {
    S(cos_lifecycle_filter, "Prefix", prefix), S(cos_lifecycle_filter, "And/Prefix", and_prefix),
    L(cos_lifecycle_filter, "And/Tag", tags, xs_tag) };
SUB(xs_lc_filter, cos_lifecycle_filter, lc_filter_f);
static const cos_xml_field lc_transition_f[] = {
    I(cos_lifecycle_transition, "Days", days), S(cos_lifecycle_transition, "Date", date),
    S(cos_lifecycle_transition, "StorageClass", storage_class) };
SUB(xs_lc_transition, cos_lifecycle_transition, lc_transition_f);
static const cos_xml_field lc_expiration_f[] = {
    I(cos_lifecycle_expiration, "Days", days), S(cos_lifecycle_expiration, "Date", date),
    BZ(cos_lifecycle_expiration, "ExpiredObjectDeleteMarker", expired_object_delete_marker) };
SUB(xs_lc_expiration, cos_lifecycle_expiration, lc_expiration_f);
static const cos_xml_field lc_rule_f[] = {
    S(cos_lifecycle_rule, "ID", id), ST(cos_lifecycle_rule, "Filter", filter, xs_lc_filter),
    S(cos_lifecycle_rule, "Status", status), L(cos_lifecycle_rule, "Transition", transitions, xs_lc_transition),
    ST(cos_lifecycle_rule, "Expiration", expiration, xs_lc_expiration),
    I(cos_lifecycle_rule, "NoncurrentVersionExpiration/NoncurrentDays", noncurrent_expiration_days),
    I(cos_lifecycle_rule, "AbortIncompleteMultipartUpload/DaysAfterInitiation", abort_incomplete_days) };
SUB(xs_lc_rule, cos_lifecycle_rule, lc_rule_f);
static const cos_xml_field lifecycle_f[] = { L(cos_lifecycle_configuration, "Rule", rules, xs_lc_rule) };
SCHEMA(cos_xs_lifecycle_configuration, "LifecycleConfiguration", cos_lifecycle_configuration, lifecycle_f);

static const cos_xml_field versioning_f[] = { S(cos_versioning_configuration, "Status", status) };
SCHEMA(cos_xs_versioning_configuration, "VersioningConfiguration", cos_versioning_configuration, versioning_f);

/* ---- replication */
static const cos_xml_field repl_rule_f[] = {
    S(cos_replication_rule, "ID", id), S(cos_replication_rule, "Status", status),
    S(cos_replication_rule, "Prefix", prefix), S(cos_replication_rule, "Destination/Bucket", destination_bucket),
    S(cos_replication_rule, "Destination/StorageClass", destination_storage_class) };
SUB(xs_repl_rule, cos_replication_rule, repl_rule_f);
static const cos_xml_field replication_f[] = {
    S(cos_replication_configuration, "Role", role), L(cos_replication_configuration, "Rule", rules, xs_repl_rule) };
SCHEMA(cos_xs_replication_configuration, "ReplicationConfiguration", cos_replication_configuration, replication_f);

/* ---- website */
static const cos_xml_field routing_f[] = {
    I(cos_routing_rule, "Condition/HttpErrorCodeReturnedEquals", condition_http_error_code),
    S(cos_routing_rule, "Condition/KeyPrefixEquals", condition_key_prefix),
    S(cos_routing_rule, "Redirect/Protocol", redirect_protocol),
    S(cos_routing_rule, "Redirect/ReplaceKeyWith", redirect_replace_key_with),
    S(cos_routing_rule, "Redirect/ReplaceKeyPrefixWith", redirect_replace_key_prefix_with) };
SUB(xs_routing, cos_routing_rule, routing_f);
static const cos_xml_field website_f[] = {
    S(cos_website_configuration, "IndexDocument/Suffix", index_document),
    S(cos_website_configuration, "RedirectAllRequestsTo/Protocol", redirect_protocol),
    S(cos_website_configuration, "ErrorDocument/Key", error_document),
    L(cos_website_configuration, "RoutingRules/RoutingRule", routing_rules, xs_routing) };
SCHEMA(cos_xs_website_configuration, "WebsiteConfiguration", cos_website_configuration, website_f);

static const cos_xml_field referer_f[] = {
    S(cos_referer_configuration, "Status", status), S(cos_referer_configuration, "RefererType", referer_type),
    SL(cos_referer_configuration, "DomainList/Domain", domains),
    S(cos_referer_configuration, "EmptyReferConfiguration", empty_refer_configuration) };
SCHEMA(cos_xs_referer_configuration, "RefererConfiguration", cos_referer_configuration, referer_f);

static const cos_xml_field domain_rule_f[] = {
    S(cos_domain_rule, "Status", status), S(cos_domain_rule, "Name", name), S(cos_domain_rule, "Type", type),
    S(cos_domain_rule, "ForcedReplacement", forced_replacement) };
SUB(xs_domain_rule, cos_domain_rule, domain_rule_f);
static const cos_xml_field domain_f[] = { L(cos_domain_configuration, "DomainRule", rules, xs_domain_rule) };
SCHEMA(cos_xs_domain_configuration, "DomainConfiguration", cos_domain_configuration, domain_f);

static const cos_xml_field origin_rule_f[] = {
    I(cos_origin_rule, "RulePriority", priority), S(cos_origin_rule, "OriginType", origin_type),
    S(cos_origin_rule, "OriginCondition/HTTPStatusCode", origin_condition_http_status_code),
    S(cos_origin_rule, "OriginCondition/Prefix", origin_condition_prefix),
    S(cos_origin_rule, "OriginParameter/Protocol", origin_parameter_protocol),
    S(cos_origin_rule, "OriginInfo/HostInfo/HostName", origin_info_host) };
SUB(xs_origin_rule, cos_origin_rule, origin_rule_f);
static const cos_xml_field origin_f[] = { L(cos_origin_configuration, "OriginRule", rules, xs_origin_rule) };
SCHEMA(cos_xs_origin_configuration, "OriginConfiguration", cos_origin_configuration, origin_f);

static const cos_xml_field logging_f[] = {
    S(cos_logging_status, "LoggingEnabled/TargetBucket", target_bucket),
    S(cos_logging_status, "LoggingEnabled/TargetPrefix", target_prefix) };
SCHEMA(cos_xs_logging_status, "BucketLoggingStatus", cos_logging_status, logging_f);

/* ---- inventory */
/* COS and S3 name the destination element differently (COSBucketDestination,
 * S3BucketDestination); the rest of the document is the same. */
#define INVENTORY_FIELDS(DEST)                                                                                   \
    S(cos_inventory_configuration, "Id", id), B(cos_inventory_configuration, "IsEnabled", is_enabled),           \
        S(cos_inventory_configuration, "Destination/" DEST "/Format", destination_format),                      \
        S(cos_inventory_configuration, "Destination/" DEST "/AccountId", destination_account_id),               \
        S(cos_inventory_configuration, "Destination/" DEST "/Bucket", destination_bucket),                      \
        S(cos_inventory_configuration, "Destination/" DEST "/Prefix", destination_prefix),                      \
        S(cos_inventory_configuration, "Schedule/Frequency", schedule_frequency),                               \
        S(cos_inventory_configuration, "Filter/Prefix", filter_prefix),                                         \
        S(cos_inventory_configuration, "IncludedObjectVersions", included_object_versions),                     \
        SL(cos_inventory_configuration, "OptionalFields/Field", optional_fields)
static const cos_xml_field inventory_f[] = { INVENTORY_FIELDS("COSBucketDestination") };
SCHEMA(cos_xs_inventory_configuration, "InventoryConfiguration", cos_inventory_configuration, inventory_f);
/* S3's PutBucketInventoryConfiguration */
static const cos_xml_field inventory_s3_f[] = { INVENTORY_FIELDS("S3BucketDestination") };
#undef INVENTORY_FIELDS
SCHEMA(cos_xs_inventory_configuration_s3, "InventoryConfiguration", cos_inventory_configuration, inventory_s3_f);
static const cos_xml_field list_inventory_f[] = {
    L(cos_list_inventory_result, "InventoryConfiguration", configurations, cos_xs_inventory_configuration),
    B(cos_list_inventory_result, "IsTruncated", is_truncated),
    S(cos_list_inventory_result, "ContinuationToken", continuation_token),
    S(cos_list_inventory_result, "NextContinuationToken", next_continuation_token) };
SCHEMA(cos_xs_list_inventory_result, "ListInventoryConfigurationResult", cos_list_inventory_result, list_inventory_f);

static const cos_xml_field accelerate_f[] = {
    S(cos_accelerate_configuration, "Status", status), S(cos_accelerate_configuration, "Type", type) };
SCHEMA(cos_xs_accelerate_configuration, "AccelerateConfiguration", cos_accelerate_configuration, accelerate_f);

static const cos_xml_field enc_rule_f[] = {
    S(cos_encryption_rule, "ApplyServerSideEncryptionByDefault/SSEAlgorithm", sse_algorithm),
    S(cos_encryption_rule, "ApplyServerSideEncryptionByDefault/KMSMasterKeyID", kms_master_key_id) };
SUB(xs_enc_rule, cos_encryption_rule, enc_rule_f);
static const cos_xml_field encryption_f[] = { L(cos_encryption_configuration, "Rule", rules, xs_enc_rule) };
SCHEMA(cos_xs_encryption_configuration, "ServerSideEncryptionConfiguration", cos_encryption_configuration,
       encryption_f);

/* ---- objects */
static const cos_xml_field copy_f[] = {
    S(cos_copy_object_result, "ETag", etag), S(cos_copy_object_result, "LastModified", last_modified),
    S(cos_copy_object_result, "CRC64", crc64), S(cos_copy_object_result, "VersionId", version_id) };
SCHEMA(cos_xs_copy_object_result, "CopyObjectResult", cos_copy_object_result, copy_f);

static const cos_xml_field object_id_f[] = { S(cos_object_id, "Key", key), S(cos_object_id, "VersionId", version_id) };
SUB(xs_object_id, cos_object_id, object_id_f);
static const cos_xml_field delete_req_f[] = {
    B(cos_delete_request, "Quiet", quiet), L(cos_delete_request, "Object", objects, xs_object_id) };
SCHEMA(cos_xs_delete_request, "Delete", cos_delete_request, delete_req_f);

static const cos_xml_field deleted_f[] = {
    S(cos_deleted_object, "Key", key), S(cos_deleted_object, "VersionId", version_id),
    BZ(cos_deleted_object, "DeleteMarker", delete_marker),
    S(cos_deleted_object, "DeleteMarkerVersionId", delete_marker_version_id) };
SUB(xs_deleted, cos_deleted_object, deleted_f);
static const cos_xml_field delete_err_f[] = {
    S(cos_delete_error, "Key", key), S(cos_delete_error, "VersionId", version_id),
    S(cos_delete_error, "Code", code), S(cos_delete_error, "Message", message) };
SUB(xs_delete_err, cos_delete_error, delete_err_f);
static const cos_xml_field delete_res_f[] = {
    L(cos_delete_result, "Deleted", deleted, xs_deleted), L(cos_delete_result, "Error", errors, xs_delete_err) };
SCHEMA(cos_xs_delete_result, "DeleteResult", cos_delete_result, delete_res_f);

static const cos_xml_field restore_f[] = {
    I(cos_restore_request, "Days", days), S(cos_restore_request, "CASJobParameters/Tier", tier) };
SCHEMA(cos_xs_restore_request, "RestoreRequest", cos_restore_request, restore_f);
/* S3's RestoreObject: the same request, the tier under GlacierJobParameters */
static const cos_xml_field restore_s3_f[] = {
    I(cos_restore_request, "Days", days), S(cos_restore_request, "GlacierJobParameters/Tier", tier) };
SCHEMA(cos_xs_restore_request_s3, "RestoreRequest", cos_restore_request, restore_s3_f);

/* ---- multipart */
static const cos_xml_field init_f[] = {
    S(cos_initiate_multipart_result, "Bucket", bucket), S(cos_initiate_multipart_result, "Key", key),
    S(cos_initiate_multipart_result, "UploadId", upload_id) };
SCHEMA(cos_xs_initiate_multipart_result, "InitiateMultipartUploadResult", cos_initiate_multipart_result, init_f);

static const cos_xml_field cpart_f[] = {
    { "PartNumber", COS_XT_INT, offsetof(cos_complete_part, part_number), 0, NULL, 0 },
    S(cos_complete_part, "ETag", etag), S(cos_complete_part, "ChecksumCRC32C", checksum_crc32c) };
SUB(xs_cpart, cos_complete_part, cpart_f);
static const cos_xml_field complete_f[] = { L(cos_complete_multipart_upload, "Part", parts, xs_cpart) };
SCHEMA(cos_xs_complete_multipart_upload, "CompleteMultipartUpload", cos_complete_multipart_upload, complete_f);

static const cos_xml_field complete_res_f[] = {
    S(cos_complete_multipart_result, "Location", location), S(cos_complete_multipart_result, "Bucket", bucket),
    S(cos_complete_multipart_result, "Key", key), S(cos_complete_multipart_result, "ETag", etag),
    S(cos_complete_multipart_result, "ChecksumCRC32C", checksum_crc32c) };
SCHEMA(cos_xs_complete_multipart_result, "CompleteMultipartUploadResult", cos_complete_multipart_result,
       complete_res_f);

static const cos_xml_field upload_f[] = {
    SU(cos_upload_info, "Key", key), S(cos_upload_info, "UploadId", upload_id),
    S(cos_upload_info, "StorageClass", storage_class),
    ST(cos_upload_info, "Initiator", initiator, xs_owner), ST(cos_upload_info, "Owner", owner, xs_owner),
    S(cos_upload_info, "Initiated", initiated) };
SUB(xs_upload, cos_upload_info, upload_f);
static const cos_xml_field list_uploads_f[] = {
    S(cos_list_multipart_uploads_result, "Bucket", bucket),
    S(cos_list_multipart_uploads_result, "EncodingType", encoding_type),
    SU(cos_list_multipart_uploads_result, "KeyMarker", key_marker),
    S(cos_list_multipart_uploads_result, "UploadIdMarker", upload_id_marker),
    SU(cos_list_multipart_uploads_result, "NextKeyMarker", next_key_marker),
    S(cos_list_multipart_uploads_result, "NextUploadIdMarker", next_upload_id_marker),
    { "MaxUploads", COS_XT_INT, offsetof(cos_list_multipart_uploads_result, max_uploads), 0, NULL, 0 },
    B(cos_list_multipart_uploads_result, "IsTruncated", is_truncated),
    SU(cos_list_multipart_uploads_result, "Prefix", prefix),
    SU(cos_list_multipart_uploads_result, "Delimiter", delimiter),
    L(cos_list_multipart_uploads_result, "Upload", uploads, xs_upload),
    L(cos_list_multipart_uploads_result, "CommonPrefixes", common_prefixes, xs_prefix) };
SCHEMA(cos_xs_list_multipart_uploads_result, "ListMultipartUploadsResult", cos_list_multipart_uploads_result,
       list_uploads_f);

static const cos_xml_field part_f[] = {
    { "PartNumber", COS_XT_INT, offsetof(cos_part_info, part_number), 0, NULL, 0 },
    S(cos_part_info, "LastModified", last_modified), S(cos_part_info, "ETag", etag), U(cos_part_info, "Size", size) };
SUB(xs_part, cos_part_info, part_f);
static const cos_xml_field list_parts_f[] = {
    S(cos_list_parts_result, "Bucket", bucket), S(cos_list_parts_result, "EncodingType", encoding_type),
    SU(cos_list_parts_result, "Key", key), S(cos_list_parts_result, "UploadId", upload_id),
    ST(cos_list_parts_result, "Initiator", initiator, xs_owner), ST(cos_list_parts_result, "Owner", owner, xs_owner),
    S(cos_list_parts_result, "StorageClass", storage_class),
    { "PartNumberMarker", COS_XT_INT, offsetof(cos_list_parts_result, part_number_marker), 0, NULL, 0 },
    I(cos_list_parts_result, "NextPartNumberMarker", next_part_number_marker),
    { "MaxParts", COS_XT_INT, offsetof(cos_list_parts_result, max_parts), 0, NULL, 0 },
    B(cos_list_parts_result, "IsTruncated", is_truncated), L(cos_list_parts_result, "Part", parts, xs_part) };
SCHEMA(cos_xs_list_parts_result, "ListPartsResult", cos_list_parts_result, list_parts_f);
