"""Lifecycle events: the table's stream classified into connection changes, published to EventBridge."""
