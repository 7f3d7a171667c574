"""devstack/moto_patches.py: the fast item size is moto's own number."""

from __future__ import annotations

from decimal import Decimal

import pytest
from moto.dynamodb.models.dynamo_type import DynamoType

from devstack.moto_patches import _size

VALUES = [
    {"S": "Zoë"},
    {"N": "12.50"},
    {"B": b"\x00\x01\x02"},
    {"BOOL": True},
    {"NULL": True},
    {"SS": ["a", "bé"]},
    {"NS": ["1", "22.5"]},
    {"BS": [b"ab", b"c"]},
    {"L": [{"S": "x"}, {"N": "3"}, {"M": {"k": {"S": "v"}}}]},
    {
        "M": {
            "fields": {
                "M": {
                    "city": {
                        "M": {
                            "value": {"S": "Köln"},
                            "source": {"S": "talent.ats"},
                            "observed_at": {"S": "2026-11-01T09:00:00+00:00"},
                        }
                    },
                    "skills": {"L": [{"S": "sql"}, {"S": "python"}]},
                    "score": {"N": str(Decimal("0.5"))},
                }
            }
        }
    },
]


@pytest.mark.parametrize("value", VALUES, ids=[next(iter(v)) for v in VALUES])
def test_fast_size_equals_motos_size(value: dict) -> None:
    wrapped = DynamoType(value)
    motos = getattr(DynamoType.size, "_original", DynamoType.size)  # even when patched here
    assert _size(wrapped) == motos(wrapped)
