"""SQLAlchemy models: one module per table. Importing this package registers them all on `Base.metadata`."""

from models.base import Base
from models.bulk_job import BulkJob
from models.import_job import ImportJob, ItemOutcome, ItemStatus, JobItem, JobStatus
from models.product import Product, ProductStatus
from models.sync_log import SyncLog
from models.webhook import Webhook

__all__ = [
    "Base",
    "BulkJob",
    "ImportJob",
    "ItemOutcome",
    "ItemStatus",
    "JobItem",
    "JobStatus",
    "Product",
    "ProductStatus",
    "SyncLog",
    "Webhook",
]
