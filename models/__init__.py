"""SQLAlchemy models: one module per table. Importing this package registers them all on `Base.metadata`."""

from models.ai_copy import AiCopyCache
from models.api_key import ApiKey
from models.base import Base
from models.bulk_job import BulkJob
from models.callback import CallbackAttempt, CallbackStatus
from models.exchange_rate import ExchangeRateRow
from models.import_job import (
    ChunkStatus,
    ImportJob,
    ItemOutcome,
    ItemStatus,
    JobBody,
    JobChunk,
    JobItem,
    JobStatus,
)
from models.listing import Listing
from models.pricing import PriceRecord, PricingProfileRow
from models.product import Product, ProductStatus
from models.rules import RuleRow, RuleTemplateRow
from models.sync_log import SyncLog
from models.webhook import Webhook

__all__ = [
    "AiCopyCache",
    "ApiKey",
    "Base",
    "BulkJob",
    "CallbackAttempt",
    "CallbackStatus",
    "ChunkStatus",
    "ExchangeRateRow",
    "ImportJob",
    "ItemOutcome",
    "ItemStatus",
    "JobBody",
    "JobChunk",
    "JobItem",
    "JobStatus",
    "Listing",
    "PriceRecord",
    "PricingProfileRow",
    "Product",
    "ProductStatus",
    "RuleRow",
    "RuleTemplateRow",
    "SyncLog",
    "Webhook",
]
