"""The enumerations of the domain, importable without the database layer (the CLI starts fast)."""

from enum import StrEnum


class VendorKind(StrEnum):
    managed_workforce = "managed_workforce"
    platform = "platform"
    marketplace = "marketplace"
    in_house = "in_house"
    synthetic_provider = "synthetic_provider"


class LabelKind(StrEnum):
    categorical = "categorical"
    ordinal = "ordinal"
    rating = "rating"
    preference = "preference"  # A, B, tie (and both_bad): procure.labels.pairs


# The labels a preference task type may have (procure.labels.pairs reads files into them).
PREFERENCE_LABELS = ("A", "B", "tie", "both_bad")


class ContractStatus(StrEnum):
    draft = "draft"
    active = "active"
    completed = "completed"
    terminated = "terminated"


class BatchStatus(StrEnum):
    received = "received"
    in_review = "in_review"
    accepted = "accepted"
    rejected = "rejected"
    partially_accepted = "partially_accepted"


class BatchEventKind(StrEnum):
    """What happened to a batch, in its history."""

    recorded = "recorded"
    in_review = "in review"
    decided = "decided"
    re_decided = "re-decided"
    reopened = "reopened"  # a decided batch back to review
    edited = "edited"
    voided = "voided"


class DiscountKind(StrEnum):
    first_batch = "first_batch"  # off every batch of schedule week 1
    flat = "flat"  # off every unit


class Level(StrEnum):
    """Measurement level of labels, for Krippendorff's alpha."""

    nominal = "nominal"
    ordinal = "ordinal"
    interval = "interval"
    ratio = "ratio"


class LabelSource(StrEnum):
    """Where a set of labels comes from."""

    vendor = "vendor"  # a delivered batch's labels
    llm = "llm"  # an LLM run
    gold = "gold"  # gold or reviewed labels


class JobStatus(StrEnum):
    running = "running"
    stopping = "stopping"  # asked to stop; the runner finishes the requests in flight
    stopped = "stopped"  # cancelled, budget reached or interrupted: resumable
    failed = "failed"
    finished = "finished"  # every item answered and the labels stored as an LLM run


class Adapter(StrEnum):
    """Annotation tools whose exports are read through an adapter."""

    label_studio = "label-studio"
    labelbox = "labelbox"
