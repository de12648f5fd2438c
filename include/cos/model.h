/**
 * @file model.h
 * @brief the XML documents of the COS API as plain C structs.
 *
 * Results (cos_result.output.*) own every string and array they hold and are
 * released with the result. Inputs (cos_request.input.*) are borrowed.
 * Conventions: element names in snake_case; text as char*; numbers as
 * integers; repeated elements as `T *x; size_t x_count;`. Container
 * elements (`<TagSet>`, `<Buckets>`, `<AccessControlList>`) are flattened into the
 * list they hold.
 */
#ifndef COS_MODEL_H
#define COS_MODEL_H

#include "cos/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Owner or initiator of a bucket, object or upload. */
typedef struct cos_owner {
    char *id;              /**< ID, e.g. "qcs::cam::uin/100000000001:uin/100000000001" */
    char *display_name;    /**< DisplayName */
} cos_owner;

/** One bucket of GET Service. */
typedef struct cos_bucket_info {
    char *name;            /**< Name, "examplebucket-1250000000" */
    char *location;        /**< Location (region) */
    char *creation_date;   /**< CreationDate, ISO 8601 */
    char *bucket_type;     /**< BucketType ("cos") */
} cos_bucket_info;

/** GET Service: ListAllMyBucketsResult. */
typedef struct cos_list_buckets_result {
    cos_owner *owner;              /**< Owner */
    cos_bucket_info *buckets;      /**< Buckets/Bucket */
    size_t buckets_count;          /**< number of buckets */
    char *marker;                  /**< Marker */
    char *next_marker;             /**< NextMarker */
    bool is_truncated;             /**< IsTruncated */
} cos_list_buckets_result;

/** An object of a listing (Contents). */
typedef struct cos_object_summary {
    char *key;             /**< Key (decoded when EncodingType=url) */
    char *last_modified;   /**< LastModified, ISO 8601 */
    char *etag;            /**< ETag, quoted */
    uint64_t size;         /**< Size in bytes */
    cos_owner *owner;      /**< Owner */
    char *storage_class;   /**< StorageClass */
} cos_object_summary;

/** A CommonPrefixes entry. */
typedef struct cos_common_prefix {
    char *prefix;          /**< Prefix (decoded when EncodingType=url) */
} cos_common_prefix;

/** GET Bucket: ListBucketResult. */
typedef struct cos_list_objects_result {
    char *name;                        /**< Name (bucket) */
    char *encoding_type;               /**< EncodingType */
    char *prefix;                      /**< Prefix */
    char *marker;                      /**< Marker */
    int max_keys;                      /**< MaxKeys */
    char *delimiter;                   /**< Delimiter */
    bool is_truncated;                 /**< IsTruncated */
    char *next_marker;                 /**< NextMarker */
    cos_common_prefix *common_prefixes;/**< CommonPrefixes */
    size_t common_prefixes_count;      /**< number of common prefixes */
    cos_object_summary *contents;      /**< Contents */
    size_t contents_count;             /**< number of objects */
    /* ListObjectsV2 (list-type=2, the S3 dialect's listing iterator) */
    int key_count;                     /**< KeyCount */
    char *continuation_token;          /**< ContinuationToken (as sent) */
    char *next_continuation_token;     /**< NextContinuationToken: pass as continuation-token for the next page */
    char *start_after;                 /**< StartAfter */
} cos_list_objects_result;

/** A Version or DeleteMarker of ListVersionsResult. */
typedef struct cos_object_version {
    char *key;             /**< Key */
    char *version_id;      /**< VersionId */
    bool is_latest;        /**< IsLatest */
    char *last_modified;   /**< LastModified */
    char *etag;            /**< ETag (versions only) */
    uint64_t size;         /**< Size (versions only) */
    char *storage_class;   /**< StorageClass */
    cos_owner *owner;      /**< Owner */
} cos_object_version;

/** GET Bucket object versions: ListVersionsResult. */
typedef struct cos_list_versions_result {
    char *name;                        /**< Name */
    char *encoding_type;               /**< EncodingType */
    char *prefix;                      /**< Prefix */
    char *key_marker;                  /**< KeyMarker */
    char *version_id_marker;           /**< VersionIdMarker */
    int max_keys;                      /**< MaxKeys */
    char *delimiter;                   /**< Delimiter */
    bool is_truncated;                 /**< IsTruncated */
    char *next_key_marker;             /**< NextKeyMarker */
    char *next_version_id_marker;      /**< NextVersionIdMarker */
    cos_common_prefix *common_prefixes;/**< CommonPrefixes */
    size_t common_prefixes_count;      /**< count */
    cos_object_version *versions;      /**< Version */
    size_t versions_count;             /**< count */
    cos_object_version *delete_markers;/**< DeleteMarker */
    size_t delete_markers_count;       /**< count */
} cos_list_versions_result;

/** GET Bucket location: LocationConstraint. */
typedef struct cos_location_result {
    char *location;        /**< the region, e.g. "ap-guangzhou" */
} cos_location_result;

/** A grantee of an ACL grant. */
typedef struct cos_grantee {
    char *type;            /**< xsi:type when known ("CanonicalUser", "Group") */
    char *id;              /**< ID */
    char *display_name;    /**< DisplayName */
    char *uri;             /**< URI (groups) */
} cos_grantee;

/** One ACL grant. */
typedef struct cos_grant {
    cos_grantee *grantee;  /**< Grantee */
    char *permission;      /**< Permission: READ, WRITE, FULL_CONTROL, READ_ACP, WRITE_ACP */
} cos_grant;

/** Bucket or object ACL: AccessControlPolicy. */
typedef struct cos_access_control_policy {
    cos_owner *owner;      /**< Owner */
    cos_grant *grants;     /**< AccessControlList/Grant */
    size_t grants_count;   /**< count */
} cos_access_control_policy;

/** One CORS rule. */
typedef struct cos_cors_rule {
    char *id;                       /**< ID */
    char **allowed_origins;         /**< AllowedOrigin */
    size_t allowed_origins_count;   /**< count */
    char **allowed_methods;         /**< AllowedMethod */
    size_t allowed_methods_count;   /**< count */
    char **allowed_headers;         /**< AllowedHeader */
    size_t allowed_headers_count;   /**< count */
    char **expose_headers;          /**< ExposeHeader */
    size_t expose_headers_count;    /**< count */
    int max_age_seconds;            /**< MaxAgeSeconds */
} cos_cors_rule;

/** Bucket CORS: CORSConfiguration. */
typedef struct cos_cors_configuration {
    cos_cors_rule *rules;  /**< CORSRule */
    size_t rules_count;    /**< count */
} cos_cors_configuration;

/** A tag. */
typedef struct cos_tag {
    char *key;             /**< Key */
    char *value;           /**< Value */
} cos_tag;

/** Bucket or object tags: Tagging. */
typedef struct cos_tagging {
    cos_tag *tags;         /**< TagSet/Tag */
    size_t tags_count;     /**< count */
} cos_tagging;

/** Lifecycle rule filter. */
typedef struct cos_lifecycle_filter {
    char *prefix;          /**< Prefix */
    cos_tag *tags;         /**< And/Tag */
    size_t tags_count;     /**< count */
    char *and_prefix;      /**< And/Prefix */
} cos_lifecycle_filter;

/** A storage-class transition. */
typedef struct cos_lifecycle_transition {
    int days;              /**< Days */
    char *date;            /**< Date */
    char *storage_class;   /**< StorageClass */
} cos_lifecycle_transition;

/** An expiration. */
typedef struct cos_lifecycle_expiration {
    int days;                      /**< Days */
    char *date;                    /**< Date */
    bool expired_object_delete_marker; /**< ExpiredObjectDeleteMarker */
} cos_lifecycle_expiration;

/** One lifecycle rule. */
typedef struct cos_lifecycle_rule {
    char *id;                                  /**< ID */
    cos_lifecycle_filter *filter;              /**< Filter */
    char *status;                              /**< Status: Enabled / Disabled */
    cos_lifecycle_transition *transitions;     /**< Transition */
    size_t transitions_count;                  /**< count */
    cos_lifecycle_expiration *expiration;      /**< Expiration */
    int noncurrent_expiration_days;            /**< NoncurrentVersionExpiration/NoncurrentDays */
    int abort_incomplete_days;                 /**< AbortIncompleteMultipartUpload/DaysAfterInitiation */
} cos_lifecycle_rule;

/** Bucket lifecycle: LifecycleConfiguration. */
typedef struct cos_lifecycle_configuration {
    cos_lifecycle_rule *rules; /**< Rule */
    size_t rules_count;        /**< count */
} cos_lifecycle_configuration;

/** Bucket versioning: VersioningConfiguration. */
typedef struct cos_versioning_configuration {
    char *status;          /**< Status: Enabled / Suspended */
} cos_versioning_configuration;

/** One replication rule. */
typedef struct cos_replication_rule {
    char *id;                       /**< ID */
    char *status;                   /**< Status */
    char *prefix;                   /**< Prefix */
    char *destination_bucket;       /**< Destination/Bucket ("qcs::cos:REGION::BUCKET") */
    char *destination_storage_class;/**< Destination/StorageClass */
} cos_replication_rule;

/** Bucket replication: ReplicationConfiguration. */
typedef struct cos_replication_configuration {
    char *role;                     /**< Role */
    cos_replication_rule *rules;    /**< Rule */
    size_t rules_count;             /**< count */
} cos_replication_configuration;

/** One website routing rule. */
typedef struct cos_routing_rule {
    int condition_http_error_code;      /**< Condition/HttpErrorCodeReturnedEquals */
    char *condition_key_prefix;         /**< Condition/KeyPrefixEquals */
    char *redirect_protocol;            /**< Redirect/Protocol */
    char *redirect_replace_key_with;    /**< Redirect/ReplaceKeyWith */
    char *redirect_replace_key_prefix_with; /**< Redirect/ReplaceKeyPrefixWith */
} cos_routing_rule;

/** Bucket static website: WebsiteConfiguration. */
typedef struct cos_website_configuration {
    char *index_document;           /**< IndexDocument/Suffix */
    char *error_document;           /**< ErrorDocument/Key */
    char *redirect_protocol;        /**< RedirectAllRequestsTo/Protocol */
    cos_routing_rule *routing_rules;/**< RoutingRules/RoutingRule */
    size_t routing_rules_count;     /**< count */
} cos_website_configuration;

/** Bucket hotlink protection: RefererConfiguration. */
typedef struct cos_referer_configuration {
    char *status;                   /**< Status: Enabled / Disabled */
    char *referer_type;             /**< RefererType: Black-List / White-List */
    char **domains;                 /**< DomainList/Domain */
    size_t domains_count;           /**< count */
    char *empty_refer_configuration;/**< EmptyReferConfiguration: Allow / Deny */
} cos_referer_configuration;

/** One custom domain. */
typedef struct cos_domain_rule {
    char *status;              /**< Status */
    char *name;                /**< Name */
    char *type;                /**< Type: REST / WEBSITE */
    char *forced_replacement;  /**< ForcedReplacement */
} cos_domain_rule;

/** Bucket custom domains: DomainConfiguration. */
typedef struct cos_domain_configuration {
    cos_domain_rule *rules;    /**< DomainRule */
    size_t rules_count;        /**< count */
} cos_domain_configuration;

/** One origin-pull rule. */
typedef struct cos_origin_rule {
    int priority;              /**< RulePriority */
    char *origin_type;         /**< OriginType: Proxy / Mirror */
    char *origin_condition_http_status_code; /**< OriginCondition/HTTPStatusCode */
    char *origin_condition_prefix;           /**< OriginCondition/Prefix */
    char *origin_parameter_protocol;         /**< OriginParameter/Protocol */
    char *origin_info_host;                  /**< OriginInfo/HostInfo/HostName */
} cos_origin_rule;

/** Bucket origin pull: OriginConfiguration. */
typedef struct cos_origin_configuration {
    cos_origin_rule *rules;    /**< OriginRule */
    size_t rules_count;        /**< count */
} cos_origin_configuration;

/** Bucket access logging: BucketLoggingStatus. */
typedef struct cos_logging_status {
    char *target_bucket;       /**< LoggingEnabled/TargetBucket; NULL = logging off */
    char *target_prefix;       /**< LoggingEnabled/TargetPrefix */
} cos_logging_status;

/** Bucket inventory: InventoryConfiguration. */
typedef struct cos_inventory_configuration {
    char *id;                      /**< Id */
    bool is_enabled;               /**< IsEnabled */
    char *destination_format;      /**< Destination/COSBucketDestination/Format: CSV */
    char *destination_account_id;  /**< Destination/COSBucketDestination/AccountId */
    char *destination_bucket;      /**< Destination/COSBucketDestination/Bucket */
    char *destination_prefix;      /**< Destination/COSBucketDestination/Prefix */
    char *schedule_frequency;      /**< Schedule/Frequency: Daily / Weekly */
    char *filter_prefix;           /**< Filter/Prefix */
    char *included_object_versions;/**< IncludedObjectVersions: All / Current */
    char **optional_fields;        /**< OptionalFields/Field */
    size_t optional_fields_count;  /**< count */
} cos_inventory_configuration;

/** List bucket inventories: ListInventoryConfigurationResult. */
typedef struct cos_list_inventory_result {
    cos_inventory_configuration *configurations; /**< InventoryConfiguration */
    size_t configurations_count;                 /**< count */
    bool is_truncated;                           /**< IsTruncated */
    char *continuation_token;                    /**< ContinuationToken */
    char *next_continuation_token;               /**< NextContinuationToken */
} cos_list_inventory_result;

/** Global acceleration: AccelerateConfiguration. */
typedef struct cos_accelerate_configuration {
    char *status;          /**< Status: Enabled / Suspended */
    char *type;            /**< Type: COS */
} cos_accelerate_configuration;

/** One default-encryption rule. */
typedef struct cos_encryption_rule {
    char *sse_algorithm;       /**< ApplyServerSideEncryptionByDefault/SSEAlgorithm: AES256, SM4, cos/kms */
    char *kms_master_key_id;   /**< ApplyServerSideEncryptionByDefault/KMSMasterKeyID */
} cos_encryption_rule;

/** Default encryption: ServerSideEncryptionConfiguration. */
typedef struct cos_encryption_configuration {
    cos_encryption_rule *rules; /**< Rule */
    size_t rules_count;         /**< count */
} cos_encryption_configuration;

/** PUT Object - Copy and Upload Part - Copy: CopyObjectResult / CopyPartResult. */
typedef struct cos_copy_object_result {
    char *etag;            /**< ETag */
    char *last_modified;   /**< LastModified */
    char *crc64;           /**< CRC64 (decimal string) */
    char *version_id;      /**< VersionId */
} cos_copy_object_result;

/** An object to delete. */
typedef struct cos_object_id {
    char *key;             /**< Key */
    char *version_id;      /**< VersionId */
} cos_object_id;

/** DELETE Multiple Objects request: Delete. */
typedef struct cos_delete_request {
    bool quiet;            /**< Quiet: report only failures */
    cos_object_id *objects;/**< Object */
    size_t objects_count;  /**< count (at most 1000) */
} cos_delete_request;

/** One deleted object. */
typedef struct cos_deleted_object {
    char *key;                     /**< Key */
    char *version_id;              /**< VersionId */
    bool delete_marker;            /**< DeleteMarker */
    char *delete_marker_version_id;/**< DeleteMarkerVersionId */
} cos_deleted_object;

/** One failed deletion. */
typedef struct cos_delete_error {
    char *key;             /**< Key */
    char *version_id;      /**< VersionId */
    char *code;            /**< Code */
    char *message;         /**< Message */
} cos_delete_error;

/** DELETE Multiple Objects result: DeleteResult. */
typedef struct cos_delete_result {
    cos_deleted_object *deleted;   /**< Deleted */
    size_t deleted_count;          /**< count */
    cos_delete_error *errors;      /**< Error */
    size_t errors_count;           /**< count */
} cos_delete_result;

/** POST Object restore: RestoreRequest. */
typedef struct cos_restore_request {
    int days;              /**< Days */
    char *tier;            /**< CASJobParameters/Tier (GlacierJobParameters/Tier in the S3 dialect):
                                Expedited, Standard, Bulk */
} cos_restore_request;

/** Initiate Multipart Upload: InitiateMultipartUploadResult. */
typedef struct cos_initiate_multipart_result {
    char *bucket;          /**< Bucket */
    char *key;             /**< Key */
    char *upload_id;       /**< UploadId */
} cos_initiate_multipart_result;

/** One part of CompleteMultipartUpload. */
typedef struct cos_complete_part {
    int part_number;       /**< PartNumber */
    char *etag;            /**< ETag */
    char *checksum_crc32c; /**< ChecksumCRC32C (S3 dialect): the part's x-amz-checksum-crc32c, for an
                                upload created with x-amz-checksum-algorithm CRC32C; NULL: none */
} cos_complete_part;

/** Complete Multipart Upload request: CompleteMultipartUpload. */
typedef struct cos_complete_multipart_upload {
    cos_complete_part *parts; /**< Part, in ascending part number */
    size_t parts_count;       /**< count */
} cos_complete_multipart_upload;

/** Complete Multipart Upload result: CompleteMultipartUploadResult. */
typedef struct cos_complete_multipart_result {
    char *location;        /**< Location */
    char *bucket;          /**< Bucket */
    char *key;             /**< Key */
    char *etag;            /**< ETag */
    char *checksum_crc32c; /**< ChecksumCRC32C (S3 dialect): the composite "base64-N", when the upload
                                was created with CRC32C */
} cos_complete_multipart_result;

/** One in-progress multipart upload. */
typedef struct cos_upload_info {
    char *key;             /**< Key */
    char *upload_id;       /**< UploadId */
    char *storage_class;   /**< StorageClass */
    cos_owner *initiator;  /**< Initiator */
    cos_owner *owner;      /**< Owner */
    char *initiated;       /**< Initiated, ISO 8601 */
} cos_upload_info;

/** List Multipart Uploads: ListMultipartUploadsResult. */
typedef struct cos_list_multipart_uploads_result {
    char *bucket;                  /**< Bucket */
    char *encoding_type;           /**< EncodingType */
    char *key_marker;              /**< KeyMarker */
    char *upload_id_marker;        /**< UploadIdMarker */
    char *next_key_marker;         /**< NextKeyMarker */
    char *next_upload_id_marker;   /**< NextUploadIdMarker */
    int max_uploads;               /**< MaxUploads */
    bool is_truncated;             /**< IsTruncated */
    char *prefix;                  /**< Prefix */
    char *delimiter;               /**< Delimiter */
    cos_upload_info *uploads; /**< Upload */
    size_t uploads_count;          /**< count */
    cos_common_prefix *common_prefixes; /**< CommonPrefixes */
    size_t common_prefixes_count;  /**< count */
} cos_list_multipart_uploads_result;

/** One uploaded part. */
typedef struct cos_part_info {
    int part_number;       /**< PartNumber */
    char *last_modified;   /**< LastModified */
    char *etag;            /**< ETag */
    uint64_t size;         /**< Size */
} cos_part_info;

/** List Parts: ListPartsResult. */
typedef struct cos_list_parts_result {
    char *bucket;                  /**< Bucket */
    char *encoding_type;           /**< EncodingType */
    char *key;                     /**< Key */
    char *upload_id;               /**< UploadId */
    cos_owner *initiator;          /**< Initiator */
    cos_owner *owner;              /**< Owner */
    char *storage_class;           /**< StorageClass */
    int part_number_marker;        /**< PartNumberMarker */
    int next_part_number_marker;   /**< NextPartNumberMarker */
    int max_parts;                 /**< MaxParts */
    bool is_truncated;             /**< IsTruncated */
    cos_part_info *parts;          /**< Part */
    size_t parts_count;            /**< count */
} cos_list_parts_result;

#ifdef __cplusplus
}
#endif
#endif
