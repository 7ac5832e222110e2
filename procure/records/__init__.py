"""The system of record: the workspace, vendors, task types, contracts, batches, exchange rates,
the LLM price table and the workspace document; SQLModel tables on SQLite or PostgreSQL, and an
event for every write."""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.records.batches import (
        BatchEdit,
        batch_history,
        edit_batch,
        record_batch,
        void_batch,
    )
    from procure.records.catalog import (
        delete_task_type,
        delete_vendor,
        get_task_type,
        list_task_types,
        list_vendors,
        save_task_type,
        save_vendor,
        set_tie_break,
    )
    from procure.records.contracts import (
        contract_spec,
        delete_contract,
        get_contract,
        list_contracts,
        save_contract,
    )
    from procure.records.decisions import (
        DECIDED,
        decide_batch,
        decided_batches,
        get_batch,
        latest_decision,
        live_batches,
    )
    from procure.records.fx import RateTable
    from procure.records.invoices import (
        InvoiceSpec,
        InvoiceState,
        Reconciliation,
        add_invoice,
        get_invoice,
        mark_paid,
        reconciliations,
        void_invoice,
    )
    from procure.records.llm_prices import delete_price, list_prices, replace_prices, save_price
    from procure.records.models import (
        Batch,
        BatchEvent,
        Contract,
        ContractVersion,
        Invoice,
        LabelSet,
    )
    from procure.records.terms import AmendableTerms, ContractSpec
    from procure.records.transfer import export_document, import_document
    from procure.records.versions import Amendment, VersionView, amendment_timeline
    from procure.records.workspace import (
        Workspace,
        data_version,
        exchange_rates,
        is_empty,
        open_workspace,
        reporting_currency,
        set_exchange_rate,
        set_reporting_currency,
        workspace_exists,
    )

__getattr__, __all__ = lazy_front(__name__)
