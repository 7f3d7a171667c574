"""Builds the lake's services from the settings, once per process."""

from __future__ import annotations

from functools import lru_cache

from ..adapters.lake_keys import LakeKeys
from ..settings import get_settings
from .transform import LakeTransform


@lru_cache(maxsize=1)
def lake_transform() -> LakeTransform:
    return LakeTransform(keys=LakeKeys(get_settings().table_name))
