"""docs/openapi.json is the document generated from the resolver (`make openapi`)."""

from __future__ import annotations

import json
import re

from scripts.export_openapi import TARGET, document


def test_the_committed_openapi_document_is_current():
    assert TARGET.is_file(), "docs/openapi.json is missing: run `make openapi`"
    assert TARGET.read_text(encoding="utf-8") == document(), (
        "docs/openapi.json is out of date: run `make openapi` and commit the result"
    )


def test_the_careers_site_routes_are_documented_with_their_errors():
    paths = json.loads(document())["paths"]
    content = paths["/content/{slot}"]["get"]
    track = paths["/track"]["post"]
    assert set(content["responses"]) == {"200", "401", "404"}
    assert set(track["responses"]) == {"202", "400", "401", "413", "415"}
    for operation in (content, track):
        assert {"linkToken": []} in operation["security"] and {} in operation["security"]
        for status, response in operation["responses"].items():
            schema = response["content"]["application/json"]["schema"]["$ref"]
            assert schema.endswith("/ErrorBody") == status.startswith("4")
    assert (
        track["requestBody"]["content"]["application/json"]["schema"]["discriminator"][
            "propertyName"
        ]
        == "type"
    )


def test_the_batch_content_route_and_the_blocks_data_are_documented():
    document_ = json.loads(document())
    batch = document_["paths"]["/content"]["get"]
    single = document_["paths"]["/content/{slot}"]["get"]
    assert set(batch["responses"]) == {"200", "400", "401", "404"}
    assert batch["security"] == single["security"]  # the same optional link token
    [slots] = batch["parameters"]
    assert (slots["name"], slots["in"], slots["required"]) == ("slots", "query", True)
    ok = batch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/ContentBatchResponse")
    schemas = document_["components"]["schemas"]
    item = schemas["ContentBatchResponse"]["properties"]["slots"]["items"]["$ref"]
    assert item.endswith("/ContentBlockResponse")
    block = schemas["ContentBlockResponse"]
    assert "data" in block["required"]
    assert set(schemas["ContentBlockData"]["properties"]) == {
        "title",
        "text",
        "actions",
        "jobs",
        "events",
        "missed_event",
    }
    assert {"id", "title", "url"} <= set(schemas["BlockJob"]["properties"])
    assert {"id", "name", "starts_at", "when", "url"} <= set(schemas["BlockEvent"]["properties"])


def test_the_document_passes_a_standard_openapi_validator():
    """Client generators and gateways import it only when it is a valid document (every
    $ref resolves, every schema is well formed)."""
    from openapi_spec_validator import validate

    validate(json.loads(document()))


def test_every_reference_in_the_document_resolves():
    text = document()
    schemas = json.loads(text)["components"]["schemas"]
    for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
        assert name in schemas, f"#/components/schemas/{name} is referred to but not defined"
