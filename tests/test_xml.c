/* test_xml.c — the schema-driven XML engine: recorded COS responses, the SDK's request bodies, round trips, bad input. */
#include "testlib.h"
#include "json.h"
#include "xml.h"

static void *parse_file(const cos_xml_schema *s, const char *name)
{
    size_t len;
    char *text = test_read_data(name, &len);
    CHECK(text != NULL);
    void *obj = NULL;
    cos_error *err = NULL;
    if (text) CHECK_OK(cos_xml_parse(s, text, len, &obj, &err), err);
    free(text);
    return obj;
}

static void test_list_objects(void)
{
    cos_list_objects_result *r = parse_file(&cos_xs_list_objects_result, "xml/list_objects.xml");
    if (!r) return;
    CHECK_STR(r->name, "examplebucket-1250000000");
    CHECK_STR(r->prefix, "doc/");
    CHECK_STR(r->delimiter, "/");
    CHECK_INT(r->max_keys, 2);
    CHECK(r->is_truncated);
    CHECK_STR(r->next_marker, "doc/b c.txt");
    CHECK_INT(r->common_prefixes_count, 1);
    CHECK_STR(r->common_prefixes[0].prefix, "doc/sub/");
    CHECK_INT(r->contents_count, 2);
    CHECK_STR(r->contents[0].key, "doc/a&b.txt");
    CHECK_STR(r->contents[0].etag, "\"1bc39b98bc6e2ab0dbdfa5f3ceb5cd1b\"");
    CHECK_INT(r->contents[0].size, 1048576);
    CHECK_STR(r->contents[0].owner->id, "1250000000");
    CHECK(r->contents[1].size == 5368709120ULL);
    CHECK(r->contents[1].owner == NULL);
    CHECK_STR(r->contents[1].storage_class, "STANDARD_IA");
    /* build with EncodingType=url re-encodes; parsing that gives the same keys */
    cos_buf b = COS_BUF_INIT;
    CHECK(cos_xml_build(&cos_xs_list_objects_result, r, &b, true) == 0);
    CHECK(strstr(b.data, "<Key>doc%2Fa%26b.txt</Key>") != NULL);
    cos_list_objects_result *r2 = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_xml_parse(&cos_xs_list_objects_result, b.data, b.len, (void **)&r2, &err), err);
    if (r2) {
        CHECK_STR(r2->contents[1].key, "doc/b c.txt");
        CHECK_INT(r2->contents_count, 2);
    }
    cos_xml_free(&cos_xs_list_objects_result, r2);
    cos_buf_free(&b);
    cos_xml_free(&cos_xs_list_objects_result, r);
}

static void test_list_buckets_acl_parts(void)
{
    cos_list_buckets_result *lb = parse_file(&cos_xs_list_buckets_result, "xml/list_buckets.xml");
    if (lb) {
        CHECK_INT(lb->buckets_count, 2);
        CHECK_STR(lb->buckets[1].location, "ap-guangzhou");
        CHECK_STR(lb->owner->display_name, "100000000001");
        cos_xml_free(&cos_xs_list_buckets_result, lb);
    }
    cos_access_control_policy *acl = parse_file(&cos_xs_access_control_policy, "xml/acl.xml");
    if (acl) {
        CHECK_INT(acl->grants_count, 2);
        CHECK_STR(acl->grants[0].permission, "FULL_CONTROL");
        CHECK_STR(acl->grants[0].grantee->type, "CanonicalUser");
        CHECK_STR(acl->grants[1].grantee->uri, "http://cam.qcloud.com/groups/global/AllUsers");
        cos_xml_free(&cos_xs_access_control_policy, acl);
    }
    cos_list_parts_result *lp = parse_file(&cos_xs_list_parts_result, "xml/list_parts.xml");
    if (lp) {
        CHECK_INT(lp->parts_count, 2);
        CHECK_INT(lp->parts[1].part_number, 2);
        CHECK_STR(lp->parts[1].etag, "\"bb\"");
        CHECK_INT(lp->next_part_number_marker, 2);
        CHECK(lp->is_truncated);
        cos_xml_free(&cos_xs_list_parts_result, lp);
    }
}

/* The request bodies the official SDK writes (tests/data/xml.json). */
static void test_sdk_bodies(void)
{
    cos_complete_part parts[] = { { 1, "\"e1\"" }, { 2, "\"e2\"" } };
    cos_complete_multipart_upload cm = { parts, 2 };
    cos_object_id objs[] = { { "a.txt", NULL }, { "\xe4\xb8\xad\xe6\x96\x87.txt", NULL }, { "b&c<d>.txt", "v1" } };
    cos_delete_request del = { true, objs, 3 };
    char *origins[] = { "*" }, *methods[] = { "GET", "PUT" }, *headers[] = { "*" }, *expose[] = { "ETag" };
    cos_cors_rule rule = { NULL, origins, 1, methods, 2, headers, 1, expose, 1, 600 };
    cos_cors_configuration cors = { &rule, 1 };
    cos_tag tags[] = { { "k1", "v1" }, { "k2", "v2" } };
    cos_tagging tagging = { tags, 2 };
    cos_versioning_configuration ver = { "Enabled" };
    const struct { const cos_xml_schema *s; const void *obj; } docs[] = {
        { &cos_xs_complete_multipart_upload, &cm }, { &cos_xs_delete_request, &del },
        { &cos_xs_cors_configuration, &cors }, { &cos_xs_tagging, &tagging },
        { &cos_xs_versioning_configuration, &ver } };
    size_t len;
    char *text = test_read_data("xml.json", &len);
    cos_json *j = text ? cos_json_parse(text, len, NULL) : NULL;
    free(text);
    const cos_json *cases = cos_json_get(j, "cases");
    CHECK(cases && cases->count == 5);
    for (size_t i = 0; cases && i < cases->count && i < 5; i++) {
        cos_buf b = COS_BUF_INIT;
        CHECK(cos_xml_build(docs[i].s, docs[i].obj, &b, false) == 0);
        CHECK_STR(b.data, cos_json_get_str(&cases->items[i], "xml"));
        /* and it parses back to the same document */
        void *back = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_xml_parse(docs[i].s, b.data, b.len, &back, &err), err);
        cos_buf b2 = COS_BUF_INIT;
        if (back) cos_xml_build(docs[i].s, back, &b2, false);
        CHECK_STR(b2.data, b.data);
        cos_buf_free(&b2);
        cos_xml_free(docs[i].s, back);
        cos_buf_free(&b);
    }
    cos_json_free(j);
}

static void test_round_trip_configs(void)
{
    cos_tag ftags[] = { { "t", "1" } };
    cos_lifecycle_filter filter = { NULL, ftags, 1, "logs/" };
    cos_lifecycle_transition tr = { 30, NULL, "STANDARD_IA" };
    cos_lifecycle_expiration ex = { 365, NULL, false };
    cos_lifecycle_rule rule = { "r1", &filter, "Enabled", &tr, 1, &ex, 0, 7 };
    cos_lifecycle_configuration lc = { &rule, 1 };
    cos_buf b = COS_BUF_INIT;
    cos_xml_build(&cos_xs_lifecycle_configuration, &lc, &b, false);
    CHECK(strstr(b.data, "<Filter><And><Prefix>logs/</Prefix><Tag><Key>t</Key><Value>1</Value></Tag></And></Filter>") != NULL);
    CHECK(strstr(b.data, "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>") != NULL);
    cos_lifecycle_configuration *back = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_xml_parse(&cos_xs_lifecycle_configuration, b.data, b.len, (void **)&back, &err), err);
    if (back) {
        CHECK_STR(back->rules[0].filter->and_prefix, "logs/");
        CHECK_STR(back->rules[0].filter->tags[0].value, "1");
        CHECK_INT(back->rules[0].transitions[0].days, 30);
        CHECK_INT(back->rules[0].expiration->days, 365);
        CHECK_INT(back->rules[0].abort_incomplete_days, 7);
    }
    cos_xml_free(&cos_xs_lifecycle_configuration, back);
    cos_buf_free(&b);

    char *fields[] = { "Size", "ETag" };
    cos_inventory_configuration inv = { "list1", true, "CSV", "100000000001", "qcs::cos:ap-guangzhou::dst-1250000000",
                                        "inv", "Daily", "img/", "All", fields, 2 };
    cos_xml_build(&cos_xs_inventory_configuration, &inv, &b, false);
    cos_inventory_configuration *inv2 = NULL;
    CHECK_OK(cos_xml_parse(&cos_xs_inventory_configuration, b.data, b.len, (void **)&inv2, &err), err);
    if (inv2) {
        CHECK(inv2->is_enabled);
        CHECK_STR(inv2->destination_bucket, "qcs::cos:ap-guangzhou::dst-1250000000");
        CHECK_INT(inv2->optional_fields_count, 2);
        CHECK_STR(inv2->optional_fields[1], "ETag");
        CHECK_STR(inv2->schedule_frequency, "Daily");
    }
    cos_xml_free(&cos_xs_inventory_configuration, inv2);
    cos_buf_free(&b);

    cos_location_result *loc = NULL;
    const char *l = "<LocationConstraint>ap-chengdu</LocationConstraint>";
    CHECK_OK(cos_xml_parse(&cos_xs_location_result, l, strlen(l), (void **)&loc, &err), err);
    if (loc) CHECK_STR(loc->location, "ap-chengdu");
    cos_xml_free(&cos_xs_location_result, loc);
}

static void test_empty_and_bad(void)
{
    cos_error *err = NULL;
    cos_list_objects_result *r = NULL;
    const char *empty = "<ListBucketResult><Name>b-1</Name><IsTruncated>false</IsTruncated></ListBucketResult>";
    CHECK_OK(cos_xml_parse(&cos_xs_list_objects_result, empty, strlen(empty), (void **)&r, &err), err);
    if (r) {
        CHECK_INT(r->contents_count, 0);
        CHECK(r->contents == NULL);
    }
    cos_xml_free(&cos_xs_list_objects_result, r);
    const char *bad[] = {
        "", "<ListBucketResult><Name>x</Name>", "<a><b></a>", "not xml", "<a>&undefined;</a>",
        "<ListBucketResult><Contents><Key>k</Key></Contents>" /* truncated */ };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *o = (void *)1;
        CHECK(cos_xml_parse(&cos_xs_list_objects_result, bad[i], strlen(bad[i]), &o, &err) == COS_ERR_PARSE);
        CHECK(o == NULL);
        CHECK(err && err->message && strstr(err->message, "XML"));
        cos_error_free(err);
        err = NULL;
    }
    /* deep nesting is refused, not a stack overflow */
    cos_buf deep = COS_BUF_INIT;
    for (int i = 0; i < 200; i++) cos_buf_puts(&deep, "<a>");
    for (int i = 0; i < 200; i++) cos_buf_puts(&deep, "</a>");
    void *o = NULL;
    CHECK(cos_xml_parse(&cos_xs_tagging, deep.data, deep.len, &o, &err) == COS_ERR_PARSE);
    cos_error_free(err);
    err = NULL;
    cos_buf_free(&deep);
    /* CDATA, entities, unknown elements */
    const char *odd = "<Tagging><Junk><x/></Junk><TagSet><Tag><Key><![CDATA[a<b]]></Key><Value>&amp;&#x4e2d;</Value>"
                      "<Extra>1</Extra></Tag></TagSet></Tagging>";
    cos_tagging *t = NULL;
    CHECK_OK(cos_xml_parse(&cos_xs_tagging, odd, strlen(odd), (void **)&t, &err), err);
    if (t) {
        CHECK_INT(t->tags_count, 1);
        CHECK_STR(t->tags[0].key, "a<b");
        CHECK_STR(t->tags[0].value, "&\xe4\xb8\xad");
    }
    cos_xml_free(&cos_xs_tagging, t);
}

static void test_error_body(void)
{
    const char *x = "<?xml version='1.0' encoding='utf-8' ?><Error><Code>SignatureDoesNotMatch</Code>"
                    "<Message>The Signature you specified is invalid.</Message><Resource>b-1.cos/a</Resource>"
                    "<RequestId>NjA=</RequestId><TraceId>OGVm</TraceId><StringToSign>sha1\n1;2\nabc\n</StringToSign></Error>";
    cos_error e = { 0 };
    CHECK(cos_xml_parse_error(x, strlen(x), &e) == 0);
    CHECK_STR(e.code, "SignatureDoesNotMatch");
    CHECK_STR(e.request_id, "NjA=");
    CHECK_STR(e.trace_id, "OGVm");
    CHECK_STR(e.string_to_sign, "sha1\n1;2\nabc\n");
    free(e.code); free(e.message); free(e.resource); free(e.request_id); free(e.trace_id); free(e.string_to_sign);
    cos_error e2 = { 0 };
    CHECK(cos_xml_parse_error("<html>502</html>", 16, &e2) != 0);
    CHECK(cos_xml_parse_error("<Error><Code>X", 14, &e2) != 0);
    CHECK(e2.code == NULL);
}


static void test_listing_samples(void)
{
    cos_list_versions_result *v = parse_file(&cos_xs_list_versions_result, "xml/list_versions.xml");
    if (v) {
        /* EncodingType=url: keys, prefix and markers come back decoded */
        CHECK_STR(v->encoding_type, "url");
        CHECK_STR(v->prefix, "doc/");
        CHECK_STR(v->key_marker, "");
        CHECK_INT(v->max_keys, 3);
        CHECK(v->is_truncated);
        CHECK_STR(v->next_key_marker, "doc/\xe4\xb8\xad\xe6\x96\x87.txt");
        CHECK_STR(v->next_version_id_marker, "MTg0NDUxNTc1NjIzMTQ1MDAwODg");
        CHECK_INT(v->versions_count, 1);
        CHECK_STR(v->versions[0].key, "doc/a+b.txt");
        CHECK(v->versions[0].is_latest);
        CHECK_INT(v->versions[0].size, 30);
        CHECK_STR(v->versions[0].owner->id, "1250000000");
        CHECK_INT(v->delete_markers_count, 1);
        CHECK_STR(v->delete_markers[0].key, "doc/\xe4\xb8\xad\xe6\x96\x87.txt");
        CHECK(!v->delete_markers[0].is_latest);
        CHECK(v->delete_markers[0].etag == NULL);
        CHECK_INT(v->common_prefixes_count, 0);
        cos_xml_free(&cos_xs_list_versions_result, v);
    }
    cos_list_multipart_uploads_result *u = parse_file(&cos_xs_list_multipart_uploads_result, "xml/list_multipart_uploads.xml");
    if (u) {
        CHECK_STR(u->bucket, "examplebucket-1250000000");
        CHECK_STR(u->encoding_type, ""); /* <Encoding-Type/> is read as EncodingType */
        CHECK_STR(u->next_key_marker, "exampleobject");
        CHECK_INT(u->max_uploads, 1);
        CHECK(u->is_truncated);
        CHECK_STR(u->delimiter, "/");
        CHECK_INT(u->uploads_count, 1);
        CHECK_STR(u->uploads[0].storage_class, "STANDARD_IA");
        CHECK_STR(u->uploads[0].initiator->display_name, "100000000011");
        CHECK_STR(u->uploads[0].owner->display_name, "100000000001");
        CHECK_STR(u->uploads[0].initiated, "2020-03-25T10:07:01.000Z");
        CHECK_INT(u->common_prefixes_count, 1);
        CHECK_STR(u->common_prefixes[0].prefix, "logs/");
        cos_xml_free(&cos_xs_list_multipart_uploads_result, u);
    }
    /* <Encoding-Type>url</Encoding-Type> decodes like <EncodingType> */
    const char *enc = "<ListMultipartUploadsResult><Encoding-Type>url</Encoding-Type><Prefix>a%2Fb</Prefix>"
                      "<Upload><Key>a%2Fb%20c</Key></Upload></ListMultipartUploadsResult>";
    cos_error *err = NULL;
    cos_list_multipart_uploads_result *u2 = NULL;
    CHECK_OK(cos_xml_parse(&cos_xs_list_multipart_uploads_result, enc, strlen(enc), (void **)&u2, &err), err);
    if (u2) {
        CHECK_STR(u2->prefix, "a/b");
        CHECK_INT(u2->uploads_count, 1);
        if (u2->uploads_count) CHECK_STR(u2->uploads[0].key, "a/b c");
    }
    cos_xml_free(&cos_xs_list_multipart_uploads_result, u2);
    /* without EncodingType=url nothing is decoded */
    const char *plain = "<ListBucketResult><Contents><Key>a%2Fb</Key></Contents></ListBucketResult>";
    cos_list_objects_result *lo = NULL;
    CHECK_OK(cos_xml_parse(&cos_xs_list_objects_result, plain, strlen(plain), (void **)&lo, &err), err);
    if (lo) CHECK_STR(lo->contents[0].key, "a%2Fb");
    cos_xml_free(&cos_xs_list_objects_result, lo);

    cos_delete_result *d = parse_file(&cos_xs_delete_result, "xml/delete_result.xml");
    if (d) {
        CHECK_INT(d->deleted_count, 2);
        CHECK_STR(d->deleted[0].key, "example-object-1.jpg");
        CHECK(!d->deleted[0].delete_marker);
        CHECK(d->deleted[1].delete_marker);
        CHECK_STR(d->deleted[1].delete_marker_version_id, "MTg0NDUxNTc1NjIzMTQ1MDAwODg");
        CHECK_INT(d->errors_count, 1);
        CHECK_STR(d->errors[0].key, "example-object-3.jpg");
        CHECK_STR(d->errors[0].code, "PathConflict");
        CHECK_STR(d->errors[0].message, "Path conflict.");
        cos_xml_free(&cos_xs_delete_result, d);
    }
}

static void test_config_samples(void)
{
    cos_lifecycle_configuration *lc = parse_file(&cos_xs_lifecycle_configuration, "xml/lifecycle.xml");
    if (lc) {
        CHECK_INT(lc->rules_count, 2);
        cos_lifecycle_rule *r = &lc->rules[0];
        CHECK_STR(r->id, "id1");
        CHECK_STR(r->filter->prefix, "documents/");
        CHECK_STR(r->status, "Enabled");
        CHECK_INT(r->transitions_count, 2);
        CHECK_INT(r->transitions[1].days, 90);
        CHECK_STR(r->transitions[1].storage_class, "ARCHIVE");
        CHECK_INT(r->expiration->days, 3650);
        CHECK_INT(r->noncurrent_expiration_days, 60);
        CHECK_INT(r->abort_incomplete_days, 3);
        r = &lc->rules[1];
        CHECK_STR(r->filter->and_prefix, "logs/");
        CHECK(r->filter->prefix == NULL);
        CHECK_INT(r->filter->tags_count, 2);
        CHECK_STR(r->filter->tags[1].key, "team");
        CHECK_STR(r->expiration->date, "2030-01-01T00:00:00+08:00");
        CHECK_INT(r->transitions_count, 0);
        cos_xml_free(&cos_xs_lifecycle_configuration, lc);
    }
    cos_cors_configuration *cors = parse_file(&cos_xs_cors_configuration, "xml/cors.xml");
    if (cors) {
        CHECK_INT(cors->rules_count, 2);
        CHECK_STR(cors->rules[0].id, "1234");
        CHECK_INT(cors->rules[0].allowed_origins_count, 2);
        CHECK_STR(cors->rules[0].allowed_origins[1], "http://*.example.com");
        CHECK_INT(cors->rules[0].allowed_methods_count, 2);
        CHECK_INT(cors->rules[0].allowed_headers_count, 2);
        CHECK_STR(cors->rules[0].expose_headers[0], "x-cos-meta-test1");
        CHECK_INT(cors->rules[0].max_age_seconds, 500);
        CHECK(cors->rules[1].id == NULL);
        CHECK_INT(cors->rules[1].expose_headers_count, 0);
        cos_xml_free(&cos_xs_cors_configuration, cors);
    }
    cos_replication_configuration *rep = parse_file(&cos_xs_replication_configuration, "xml/replication.xml");
    if (rep) {
        CHECK_STR(rep->role, "qcs::cam::uin/100000000001:uin/100000000001");
        CHECK_INT(rep->rules_count, 1);
        CHECK_STR(rep->rules[0].id, "RuleId_01");
        CHECK_STR(rep->rules[0].prefix, "sevenyou_e1");
        CHECK_STR(rep->rules[0].destination_bucket, "qcs::cos:ap-chengdu::destinationbucket-1250000000");
        CHECK_STR(rep->rules[0].destination_storage_class, "STANDARD");
        cos_xml_free(&cos_xs_replication_configuration, rep);
    }
    cos_website_configuration *web = parse_file(&cos_xs_website_configuration, "xml/website.xml");
    if (web) {
        CHECK_STR(web->index_document, "index.html");
        CHECK_STR(web->error_document, "pages/error.html");
        CHECK_STR(web->redirect_protocol, "https");
        CHECK_INT(web->routing_rules_count, 2);
        CHECK_INT(web->routing_rules[0].condition_http_error_code, 404);
        CHECK_STR(web->routing_rules[0].redirect_replace_key_with, "404.html");
        CHECK_STR(web->routing_rules[1].condition_key_prefix, "docs/");
        CHECK_STR(web->routing_rules[1].redirect_replace_key_prefix_with, "documents/");
        cos_xml_free(&cos_xs_website_configuration, web);
    }
    cos_referer_configuration *ref = parse_file(&cos_xs_referer_configuration, "xml/referer.xml");
    if (ref) {
        CHECK_STR(ref->status, "Enabled");
        CHECK_STR(ref->referer_type, "White-List");
        CHECK_INT(ref->domains_count, 2);
        CHECK_STR(ref->domains[1], "*.qcloud.com");
        CHECK_STR(ref->empty_refer_configuration, "Allow");
        cos_xml_free(&cos_xs_referer_configuration, ref);
    }
    cos_domain_configuration *dom = parse_file(&cos_xs_domain_configuration, "xml/domain.xml");
    if (dom) {
        CHECK_INT(dom->rules_count, 2);
        CHECK_STR(dom->rules[0].name, "www.example.com");
        CHECK_STR(dom->rules[0].forced_replacement, "CNAME");
        CHECK_STR(dom->rules[1].type, "WEBSITE");
        CHECK(dom->rules[1].forced_replacement == NULL);
        cos_xml_free(&cos_xs_domain_configuration, dom);
    }
    cos_origin_configuration *org = parse_file(&cos_xs_origin_configuration, "xml/origin.xml");
    if (org) {
        CHECK_INT(org->rules_count, 1);
        CHECK_INT(org->rules[0].priority, 1);
        CHECK_STR(org->rules[0].origin_type, "Mirror");
        CHECK_STR(org->rules[0].origin_condition_http_status_code, "404");
        CHECK_STR(org->rules[0].origin_condition_prefix, "img/");
        CHECK_STR(org->rules[0].origin_parameter_protocol, "HTTPS");
        CHECK_STR(org->rules[0].origin_info_host, "origin.example.com");
        cos_xml_free(&cos_xs_origin_configuration, org);
    }
    cos_logging_status *log = parse_file(&cos_xs_logging_status, "xml/logging.xml");
    if (log) {
        CHECK_STR(log->target_bucket, "logbucket-1250000000");
        CHECK_STR(log->target_prefix, "mylogs/");
        cos_xml_free(&cos_xs_logging_status, log);
    }
    cos_list_inventory_result *inv = parse_file(&cos_xs_list_inventory_result, "xml/list_inventory.xml");
    if (inv) {
        CHECK_INT(inv->configurations_count, 2);
        cos_inventory_configuration *c = &inv->configurations[0];
        CHECK_STR(c->id, "list1");
        CHECK(c->is_enabled); /* "True", as the COS docs write it */
        CHECK_STR(c->destination_format, "CSV");
        CHECK_STR(c->destination_account_id, "100000000001");
        CHECK_STR(c->destination_bucket, "qcs::cos:ap-guangzhou::examplebucket-1250000000");
        CHECK_STR(c->destination_prefix, "list1");
        CHECK_STR(c->schedule_frequency, "Daily");
        CHECK_STR(c->filter_prefix, "myPrefix");
        CHECK_STR(c->included_object_versions, "All");
        CHECK_INT(c->optional_fields_count, 3);
        CHECK_STR(c->optional_fields[2], "ETag");
        CHECK(!inv->configurations[1].is_enabled);
        CHECK(inv->configurations[1].destination_bucket == NULL);
        CHECK(!inv->is_truncated);
        CHECK_STR(inv->next_continuation_token, "1ueSDFASDF1sdfa");
        cos_xml_free(&cos_xs_list_inventory_result, inv);
    }
    cos_encryption_configuration *enc = parse_file(&cos_xs_encryption_configuration, "xml/encryption.xml");
    if (enc) {
        CHECK_INT(enc->rules_count, 1);
        CHECK_STR(enc->rules[0].sse_algorithm, "cos/kms");
        CHECK_STR(enc->rules[0].kms_master_key_id, "e0ab2e5e-8b44-11ec-8a54-525400d8e6c0");
        cos_xml_free(&cos_xs_encryption_configuration, enc);
    }
    cos_accelerate_configuration *acc = parse_file(&cos_xs_accelerate_configuration, "xml/accelerate.xml");
    if (acc) {
        CHECK_STR(acc->status, "Enabled");
        CHECK_STR(acc->type, "COS");
        cos_xml_free(&cos_xs_accelerate_configuration, acc);
    }
    cos_versioning_configuration *ver = parse_file(&cos_xs_versioning_configuration, "xml/versioning.xml");
    if (ver) {
        CHECK_STR(ver->status, "Suspended");
        cos_xml_free(&cos_xs_versioning_configuration, ver);
    }
    cos_tagging *tg = parse_file(&cos_xs_tagging, "xml/tagging.xml");
    if (tg) {
        CHECK_INT(tg->tags_count, 2);
        CHECK_STR(tg->tags[1].key, "name");
        CHECK_STR(tg->tags[1].value, "xiaoming");
        cos_xml_free(&cos_xs_tagging, tg);
    }
    cos_location_result *loc = parse_file(&cos_xs_location_result, "xml/location.xml");
    if (loc) {
        CHECK_STR(loc->location, "ap-guangzhou");
        cos_xml_free(&cos_xs_location_result, loc);
    }
}

static void test_object_samples(void)
{
    /* CopyPartResult parses with the CopyObjectResult schema (root name not enforced) */
    cos_copy_object_result *cp = parse_file(&cos_xs_copy_object_result, "xml/copy_part.xml");
    if (cp) {
        CHECK_STR(cp->etag, "\"ba82b57cfdfda8bd17ad4e5879ebb4fe\"");
        CHECK_STR(cp->last_modified, "2020-03-25T10:07:38.000Z");
        CHECK_STR(cp->crc64, "16749565679157681890");
        cos_xml_free(&cos_xs_copy_object_result, cp);
    }
    cos_initiate_multipart_result *im = parse_file(&cos_xs_initiate_multipart_result, "xml/initiate_multipart.xml");
    if (im) {
        CHECK_STR(im->bucket, "examplebucket-1250000000");
        CHECK_STR(im->key, "exampleobject");
        CHECK_STR(im->upload_id, "1585130821cbb7df1d11846c073ad648e8f33b087cec2381df437acdc833cf654b9ecc6361");
        cos_xml_free(&cos_xs_initiate_multipart_result, im);
    }
    cos_complete_multipart_result *cm = parse_file(&cos_xs_complete_multipart_result, "xml/complete_multipart.xml");
    if (cm) {
        CHECK_STR(cm->location, "examplebucket-1250000000.cos.ap-beijing.myqcloud.com/exampleobject");
        CHECK_STR(cm->bucket, "examplebucket-1250000000");
        CHECK_STR(cm->key, "exampleobject");
        CHECK_STR(cm->etag, "\"aa259a62513358f69e98e72e59856d88-3\"");
        cos_xml_free(&cos_xs_complete_multipart_result, cm);
    }
    cos_restore_request *rr = parse_file(&cos_xs_restore_request, "xml/restore.xml");
    if (rr) {
        CHECK_INT(rr->days, 7);
        CHECK_STR(rr->tier, "Expedited");
        cos_xml_free(&cos_xs_restore_request, rr);
    }
    /* request bodies, as cos-server reads them */
    cos_delete_request *dr = parse_file(&cos_xs_delete_request, "xml/delete_request.xml");
    if (dr) {
        CHECK(!dr->quiet);
        CHECK_INT(dr->objects_count, 2);
        CHECK_STR(dr->objects[1].key, "b.jpg");
        CHECK_STR(dr->objects[1].version_id, "MTg0");
        CHECK(dr->objects[0].version_id == NULL);
        cos_xml_free(&cos_xs_delete_request, dr);
    }
    cos_complete_multipart_upload *cu = parse_file(&cos_xs_complete_multipart_upload, "xml/complete_request.xml");
    if (cu) {
        CHECK_INT(cu->parts_count, 2);
        CHECK_INT(cu->parts[1].part_number, 2);
        CHECK_STR(cu->parts[1].etag, "\"bb\"");
        cos_xml_free(&cos_xs_complete_multipart_upload, cu);
    }
    /* the ACL grantee type is an xsi:type attribute both ways */
    cos_access_control_policy *acl = parse_file(&cos_xs_access_control_policy, "xml/acl.xml");
    if (acl) {
        cos_buf b = COS_BUF_INIT;
        CHECK(cos_xml_build(&cos_xs_access_control_policy, acl, &b, false) == 0);
        CHECK(strstr(b.data, "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">") != NULL);
        cos_access_control_policy *back = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_xml_parse(&cos_xs_access_control_policy, b.data, b.len, (void **)&back, &err), err);
        if (back) CHECK_STR(back->grants[1].grantee->type, "Group");
        cos_xml_free(&cos_xs_access_control_policy, back);
        cos_buf_free(&b);
        cos_xml_free(&cos_xs_access_control_policy, acl);
    }
}

/* ---- every schema: fill every field, build, parse, build again: same bytes, nothing lost */

typedef struct filler { int next; } filler;

static void fill_struct(filler *fl, const cos_xml_schema *s, void *obj, int depth);

static char *fill_text(filler *fl)
{
    /* a unique marker plus characters that must be escaped */
    return cos_sprintf("#%d# a&b <c> \"q\" 'a' \xe4\xb8\xad", ++fl->next);
}

static void fill_field(filler *fl, const cos_xml_field *f, void *obj, int depth)
{
    char *p = (char *)obj + f->offset;
    size_t *count = (size_t *)((char *)obj + f->count_offset);
    switch (f->type) {
    case COS_XT_STR: *(char **)p = fill_text(fl); break;
    case COS_XT_I64: *(int64_t *)p = -(int64_t)(++fl->next) * 1000000007LL; break;
    case COS_XT_U64: *(uint64_t *)p = 5000000000ULL + (uint64_t)(++fl->next); break;
    case COS_XT_INT: *(int *)p = ++fl->next; break;
    case COS_XT_BOOL: *(bool *)p = true; break;
    case COS_XT_STRUCT:
        if (depth < 6) {
            void *sub = calloc(1, f->sub->size);
            fill_struct(fl, f->sub, sub, depth + 1);
            *(void **)p = sub;
        }
        break;
    case COS_XT_LIST:
        if (depth < 6) {
            char *items = calloc(2, f->sub->size);
            for (int i = 0; i < 2; i++) fill_struct(fl, f->sub, items + (size_t)i * f->sub->size, depth + 1);
            *(void **)p = items;
            *count = 2;
        }
        break;
    case COS_XT_STRLIST: {
        char **items = calloc(2, sizeof *items);
        items[0] = fill_text(fl);
        items[1] = fill_text(fl);
        *(char ***)p = items;
        *count = 2;
        break;
    }
    }
}

static void fill_struct(filler *fl, const cos_xml_schema *s, void *obj, int depth)
{
    for (size_t i = 0; i < s->nfields; i++) fill_field(fl, &s->fields[i], obj, depth);
}

static void round_trip_one(const char *name, const cos_xml_schema *s)
{
    filler fl = { 0 };
    void *obj = calloc(1, s->size);
    fill_struct(&fl, s, obj, 0);
    cos_buf b1 = COS_BUF_INIT, b2 = COS_BUF_INIT;
    CHECK(cos_xml_build(s, obj, &b1, true) == 0);
    /* every string written; the marker survives escaping */
    for (int i = 1; i <= fl.next; i++) {
        char marker[24];
        snprintf(marker, sizeof marker, "#%d#", i);
        if (strstr(b1.data, marker) == NULL) {
            /* a number used this index; check the string form is there instead */
            char u[32], n[32], i64[32];
            snprintf(u, sizeof u, ">%llu<", 5000000000ULL + (unsigned long long)i);
            snprintf(n, sizeof n, ">%d<", i);
            snprintf(i64, sizeof i64, ">%lld<", -(long long)i * 1000000007LL);
            if (!strstr(b1.data, u) && !strstr(b1.data, n) && !strstr(b1.data, i64))
                test_fail(__FILE__, __LINE__, "%s: value %d missing from %s", name, i, b1.data);
        }
    }
    CHECK(strstr(b1.data, "a&amp;b &lt;c&gt; &quot;q&quot; &apos;a&apos;") != NULL);
    void *back = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_xml_parse(s, b1.data, b1.len, &back, &err), err);
    if (back) CHECK(cos_xml_build(s, back, &b2, true) == 0);
    if (!b2.data || strcmp(b1.data, b2.data) != 0)
        test_fail(__FILE__, __LINE__, "%s: round trip differs:\n%s\n%s", name, b1.data, b2.data ? b2.data : "(null)");
    cos_xml_free(s, back);
    cos_xml_free(s, obj);
    cos_buf_free(&b1);
    cos_buf_free(&b2);

    /* and the empty struct builds to a bare root and parses back */
    void *empty = calloc(1, s->size);
    CHECK(cos_xml_build(s, empty, &b1, false) == 0);
    CHECK_OK(cos_xml_parse(s, b1.data, b1.len, &back, &err), err);
    if (back) {
        CHECK(cos_xml_build(s, back, &b2, false) == 0);
        CHECK_STR(b2.data, b1.data);
    }
    cos_xml_free(s, back);
    free(empty);
    cos_buf_free(&b1);
    cos_buf_free(&b2);
}

static void test_every_schema_round_trip(void)
{
    int n = 0;
#define ROUND_TRIP_(x) round_trip_one(#x, &cos_xs_##x); n++;
    COS_XML_SCHEMAS(ROUND_TRIP_)
#undef ROUND_TRIP_
    CHECK_INT(n, 28);
}

static void test_huge_and_odd_text(void)
{
    /* a multi-MiB value: expat delivers it in many pieces */
    size_t big = 4u << 20;
    cos_buf x = COS_BUF_INIT;
    cos_buf_puts(&x, "<Tagging><TagSet><Tag><Key>k</Key><Value>");
    for (size_t i = 0; i < big / 8; i++) cos_buf_puts(&x, "ab&amp;cde");
    cos_buf_puts(&x, "</Value></Tag></TagSet></Tagging>");
    cos_tagging *t = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_xml_parse(&cos_xs_tagging, x.data, x.len, (void **)&t, &err), err);
    if (t) {
        CHECK_INT(strlen(t->tags[0].value), big / 8 * 6); /* "ab&amp;cde" is 6 characters */
        CHECK(strncmp(t->tags[0].value, "ab&cdeab&cde", 12) == 0);
    }
    cos_xml_free(&cos_xs_tagging, t);
    cos_buf_free(&x);
    /* the same document cut at every few bytes must fail cleanly, never crash */
    const char *doc = "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><Contents><Key>a&amp;b</Key>"
                      "<Size>1</Size><Owner><ID>1</ID></Owner></Contents><IsTruncated>true</IsTruncated></ListBucketResult>";
    size_t dl = strlen(doc);
    int failed_cleanly = 0;
    for (size_t cut = 0; cut < dl; cut++) {
        void *o = NULL;
        int rc = cos_xml_parse(&cos_xs_list_objects_result, doc, cut, &o, &err);
        if (rc == COS_ERR_PARSE && o == NULL) failed_cleanly++;
        cos_error_free(err);
        err = NULL;
        cos_xml_free(&cos_xs_list_objects_result, o);
    }
    CHECK_INT(failed_cleanly, dl);
    /* whitespace and comments around values are kept as text only inside leaves */
    const char *ws = "<!-- hi --><VersioningConfiguration>\n  <Status>Enabled</Status>\n</VersioningConfiguration>\n";
    cos_versioning_configuration *v = NULL;
    CHECK_OK(cos_xml_parse(&cos_xs_versioning_configuration, ws, strlen(ws), (void **)&v, &err), err);
    if (v) CHECK_STR(v->status, "Enabled");
    cos_xml_free(&cos_xs_versioning_configuration, v);
    /* a bad number is a parse error, not a silent 0 */
    const char *badnum = "<ListBucketResult><MaxKeys>12x</MaxKeys></ListBucketResult>";
    void *o = NULL;
    int rc = cos_xml_parse(&cos_xs_list_objects_result, badnum, strlen(badnum), &o, &err);
    CHECK(rc == COS_ERR_PARSE);
    CHECK(o == NULL);
    CHECK(err && strstr(err->message, "number"));
    cos_error_free(err);
    err = NULL;
    /* empty number elements are 0, as COS writes <PartNumberMarker/> */
    const char *emptynum = "<ListPartsResult><PartNumberMarker/><MaxParts> 1000 </MaxParts></ListPartsResult>";
    cos_list_parts_result *lp = NULL;
    CHECK_OK(cos_xml_parse(&cos_xs_list_parts_result, emptynum, strlen(emptynum), (void **)&lp, &err), err);
    if (lp) {
        CHECK_INT(lp->part_number_marker, 0);
        CHECK_INT(lp->max_parts, 1000);
    }
    cos_xml_free(&cos_xs_list_parts_result, lp);
    /* entity expansion bombs are refused (no internal DTD entities honoured) */
    const char *bomb = "<!DOCTYPE t [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
                       "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><Tagging><TagSet><Tag><Key>&c;</Key></Tag></TagSet></Tagging>";
    o = NULL;
    rc = cos_xml_parse(&cos_xs_tagging, bomb, strlen(bomb), &o, &err);
    CHECK(rc == COS_ERR_PARSE);
    CHECK(o == NULL);
    cos_error_free(err);
}

int main(void)
{
    RUN(test_list_objects);
    RUN(test_list_buckets_acl_parts);
    RUN(test_sdk_bodies);
    RUN(test_round_trip_configs);
    RUN(test_empty_and_bad);
    RUN(test_error_body);
    RUN(test_listing_samples);
    RUN(test_config_samples);
    RUN(test_object_samples);
    RUN(test_every_schema_round_trip);
    RUN(test_huge_and_odd_text);
    return test_report();
}
