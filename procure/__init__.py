"""procure: contracts, deliveries, label quality and the economics of buying AI training data."""

__version__ = "0.1.0"
