"""Customer spend features for the credit-risk model, served by the credit_model_v1 service."""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, ValueType
from feast.infra.offline_stores.contrib.postgres_offline_store.postgres_source import (
    PostgreSQLSource,
)
from feast.types import Float64, Int64

customer = Entity(
    name="customer",
    join_keys=["customer_id"],
    value_type=ValueType.INT64,
    owner="bob.jones@corp.com",
)
customer_spend_table = PostgreSQLSource(
    name="customer_spend_table",
    table="features.customer_spend",
    timestamp_field="event_timestamp",
)
customer_spend = FeatureView(
    name="customer_spend",
    entities=[customer],
    ttl=timedelta(days=30),
    schema=[
        Field(name="total_spend", dtype=Float64),
        Field(name="order_count", dtype=Int64),
    ],
    source=customer_spend_table,
    owner="team:ml-risk",
)
credit_model_v1 = FeatureService(
    name="credit_model_v1", features=[customer_spend], owner="bob.jones@corp.com"
)
