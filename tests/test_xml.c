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

int main(void)
{
    RUN(test_list_objects);
    RUN(test_list_buckets_acl_parts);
    RUN(test_sdk_bodies);
    RUN(test_round_trip_configs);
    RUN(test_empty_and_bad);
    RUN(test_error_body);
    return test_report();
}
