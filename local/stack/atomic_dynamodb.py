"""DynamoDB applies each conditional write atomically per item; moto checks the condition and then
writes in plain Python, so two threads can both pass the same condition. Serialising moto's item
writes gives the embedded AWS DynamoDB's semantics: exactly one of two concurrent callbacks can
consume a state, exactly one caller takes a refresh lease (tests and the local stack rely on it).
"""

from __future__ import annotations

import functools
import threading

# Reads too: moto copies an item by iterating its dict, which a concurrent write may be changing
# ("dictionary changed size during iteration"); DynamoDB never shows a reader a half-written item.
_WRITES = ("put_item", "delete_item", "update_item", "transact_write_items", "get_item", "query", "scan")
_lock = threading.RLock()
_applied = False


def make_moto_item_writes_atomic() -> None:
    """Idempotent; affects moto's DynamoDB backend in this process only."""
    global _applied  # process-wide by nature: it patches moto's backend class once
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        @functools.wraps(original)
        def serialised(self, *args, __original=original, **kwargs):
            with _lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, serialised)
    _applied = True
