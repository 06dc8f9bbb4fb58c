"""File names a person can read and every file system accepts."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]+')


def safe_file_name(text: str) -> str:
    return _UNSAFE.sub("-", text).strip(" .")[:180]
