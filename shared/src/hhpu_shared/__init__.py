"""HHPU Platform shared library: contracts and plumbing every service uses the same way.

It holds event contracts, the transactional outbox and inbox, the consumer runner, the
in-process and Kafka transports, settings, errors, authentication of the gateway's identity
assertion, the s.62 audit trail and observability. It never holds a service's own tables.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
