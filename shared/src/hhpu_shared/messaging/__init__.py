"""Messaging plumbing: outbox, relay, inbox, consumer runner, Kafka and in-process transports."""
