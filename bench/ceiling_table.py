"""The narrow table bench/ceiling_app.py inserts into (created by capture_bench.py --ceiling)."""

TABLE = "bench_ceiling_post"
DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, email varchar(254) NOT NULL, "
    "first_name varchar(100) NOT NULL, company varchar(200) NOT NULL, message text NOT NULL, created_at timestamptz NOT NULL)"
)
